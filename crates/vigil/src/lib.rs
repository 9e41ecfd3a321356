//! Vigil: probes, state, notifications and the record, in one binary.
//!
//! The pipeline reads top to bottom: `probes` observe, `monitor` schedules checks and
//! turns them into state, `logs` takes lines in and `rules` turns them into alerts (and
//! `slos` into burn-rate alerts),
//! `alerts` is the one lifecycle every detector's alerts take (routing, grouping,
//! silences, inhibition; it also takes alerts from Alertmanager and Prometheus); `effects` is what every decision sets in
//! motion: `notifiers` deliver through the store's outbox and `actions` remediate
//! through guards; `http` serves health, metrics and intake, `commands` are the CLI;
//! `node` is who this process is among nodes sharing a store.

pub mod actions;
pub mod alerts;
pub mod auth;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod effects;
pub mod http;
pub mod incidents;
pub mod logs;
pub mod metrics;
pub mod monitor;
pub mod node;
pub mod notifiers;
pub use vigil_probes as probes;
pub mod rules;
pub mod run;
pub mod slos;
pub mod statuspage;
pub mod subscriptions;
pub mod telemetry;
