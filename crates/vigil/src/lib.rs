//! Vigil: probes, state, notifications and the record, in one binary.
//!
//! The pipeline reads top to bottom: `probes` observe, `monitor` schedules checks and
//! turns them into state, `logs` takes lines in and `rules` turns them into alerts, `notifiers` deliver through the store's outbox, `http` serves
//! health and metrics, `commands` are the CLI.

pub mod aws;
pub mod cli;
pub mod commands;
pub mod demo;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod monitor;
pub mod notifiers;
pub mod probes;
pub mod rules;
pub mod run;
