//! Integration tests through the real `vigil` binary, a real SMTP server (aiosmtpd) and,
//! where installed, a throwaway PostgreSQL cluster.

mod alertmanager;
mod api;
mod aws;
mod backtest;
mod browser;
mod cli;
mod clocked;
mod delivery;
mod diagnose;
mod helpers;
mod incidents;
mod intake;
mod logs;
mod monitor;
mod netns;
mod probes;
mod remediation;
mod routes;
mod slo;
mod status;
mod telemetry;
mod tidy;
mod webhook;
