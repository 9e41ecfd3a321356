//! The subcommands. Each returns its exit code: 0 success, 1 failure at run time (or an
//! unhealthy probe), 2 bad usage or config.

mod actions;
mod alerts;
mod backtest;
mod bench;
mod bench_actions;
mod bench_alerts;
mod bench_incidents;
mod bench_logs;
mod bench_slos;
mod bench_status;
mod bench_ui;
mod diagnose;
pub mod incidents;
mod lint_terraform;
mod probe;
pub(crate) mod record;
mod routes;
mod slo;
mod tokens;

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use vigil_config::Config;
use vigil_core::SystemClock;

use crate::cli::{
    ActionItemCommand, ActionsCommand, AlertsCommand, BenchCommand, Command, ImportCommand, IncidentCommand, IncidentsCommand, LintCommand,
    OncallCommand, RoutesCommand, RulesCommand, SilenceCommand, SloCommand, TokenCommand,
};

pub const USAGE_ERROR: u8 = 2;

pub async fn execute(command: Command) -> ExitCode {
    match command {
        Command::Run { config, dry_run } => match load_config(&config.path) {
            Ok(config) => run_loaded(config, dry_run).await,
            Err(code) => code,
        },
        Command::Actions(command) => {
            let path = match &command {
                ActionsCommand::List { config, .. }
                | ActionsCommand::History { config, .. }
                | ActionsCommand::Pause { config }
                | ActionsCommand::Resume { config }
                | ActionsCommand::Approve { config, .. }
                | ActionsCommand::Reset { config, .. } => config.path.clone(),
            };
            match load_config(&path) {
                Ok(config) => report(actions::actions(&config, command).await),
                Err(code) => code,
            }
        }
        Command::Silence(command) => {
            let path = match &command {
                SilenceCommand::Add { config, .. } | SilenceCommand::List { config, .. } | SilenceCommand::Expire { config, .. } => {
                    config.path.clone()
                }
            };
            match load_config(&path) {
                Ok(config) => report(actions::silence(&config, command).await),
                Err(code) => code,
            }
        }
        Command::Alerts(command) => {
            let path = match &command {
                AlertsCommand::List { config, .. } | AlertsCommand::Show { config, .. } => config.path.clone(),
            };
            match load_config(&path) {
                Ok(config) => report(alerts::execute(&config, command).await),
                Err(code) => code,
            }
        }
        Command::Incidents(command) => {
            let path = match &command {
                IncidentsCommand::List { config, .. } | IncidentsCommand::Stats { config, .. } => config.path.clone(),
            };
            match load_config(&path) {
                Ok(config) => report(incidents::incidents(&config, command).await),
                Err(code) => code,
            }
        }
        Command::Incident(command) => {
            let path = match &command {
                IncidentCommand::Open { config, .. }
                | IncidentCommand::Show { config, .. }
                | IncidentCommand::Ack { config, .. }
                | IncidentCommand::Resolve { config, .. }
                | IncidentCommand::Assign { config, .. }
                | IncidentCommand::Note { config, .. }
                | IncidentCommand::Update { config, .. }
                | IncidentCommand::Severity { config, .. }
                | IncidentCommand::ActionItem(
                    ActionItemCommand::Add { config, .. } | ActionItemCommand::List { config, .. } | ActionItemCommand::Done { config, .. },
                ) => config.path.clone(),
            };
            match load_config(&path) {
                Ok(config) => report(incidents::incident(&config, command).await),
                Err(code) => code,
            }
        }
        Command::Oncall(command) => {
            let path = match &command {
                OncallCommand::Who { config, .. }
                | OncallCommand::Override { config, .. }
                | OncallCommand::Overrides { config, .. }
                | OncallCommand::RemoveOverride { config, .. }
                | OncallCommand::Shifts { config, .. } => config.path.clone(),
            };
            match load_config(&path) {
                Ok(config) => report(incidents::oncall(&config, command).await),
                Err(code) => code,
            }
        }
        Command::Postmortem { id, config, format } => match load_config(&config.path) {
            Ok(config) => report(incidents::postmortem(&config, id, format).await),
            Err(code) => code,
        },
        Command::Openapi => match serde_json::to_string_pretty(&crate::http::openapi::document()) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(error) => report(Err(error.into())),
        },
        Command::Token(command) => {
            let path = match &command {
                TokenCommand::Create { config, .. }
                | TokenCommand::List { config, .. }
                | TokenCommand::Revoke { config, .. }
                | TokenCommand::Audit { config, .. } => config.path.clone(),
            };
            match load_config(&path) {
                Ok(config) => report(tokens::execute(&config, command).await),
                Err(code) => code,
            }
        }
        Command::IamPolicy { config } => match load_config(&config.path) {
            Ok(config) => report(actions::iam_policy(&config)),
            Err(code) => code,
        },
        Command::Check { config } => match load_config(&config.path) {
            Ok(config) => {
                for warning in &config.warnings {
                    eprintln!("warning: {warning}");
                }
                println!(
                    "{}: ok ({} monitors, {} rules, {} actions, {} notifiers)",
                    config.path.display(),
                    config.monitors.len(),
                    config.rules.len(),
                    config.actions.len(),
                    config.notifiers.len()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Probe { url, conditions, timeout, method, headers, body, no_follow, insecure, json } => {
            let options =
                probe::ProbeOptions { url, conditions, timeout, method, headers, body, follow_redirects: !no_follow, insecure, json };
            probe::execute(options).await
        }
        Command::Diagnose(args) => diagnose::execute(&args).await,
        Command::History { monitor, config, limit, json } => match load_config(&config.path) {
            Ok(config) => report(record::history(&config, &monitor, limit, json).await),
            Err(code) => code,
        },
        Command::Uptime { monitor, config, days, json } => match load_config(&config.path) {
            Ok(config) => report(record::uptime(&config, monitor.as_deref(), days, json).await),
            Err(code) => code,
        },
        Command::Demo(args) => report(crate::demo::run(args).await),
        Command::Rules(RulesCommand::Lint { expr }) => lint(&expr),
        Command::Lint(LintCommand::Terraform { dir, json }) => lint_terraform::execute(&dir, json),
        Command::Import(command) => {
            type Translate = fn(&str) -> Result<vigil_config::import::Imported, String>;
            let (file, translate): (_, Translate) = match command {
                ImportCommand::Alertmanager { file } => (file, vigil_config::import::alertmanager),
                ImportCommand::Openslo { file } => (file, vigil_config::import::openslo),
            };
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(error) => {
                    eprintln!("error: cannot read {}: {error}", file.display());
                    return ExitCode::from(USAGE_ERROR);
                }
            };
            match translate(&text) {
                Ok(imported) => {
                    print!("{}", imported.yaml);
                    for note in &imported.notes {
                        eprintln!("note: {note}");
                    }
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("error: {}: {error}", file.display());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Routes(command) => {
            let path = match &command {
                RoutesCommand::Test { config, .. } | RoutesCommand::Show { config } => config.path.clone(),
            };
            match load_config(&path) {
                Ok(config) => routes::execute(&config, command),
                Err(code) => code,
            }
        }
        Command::Slo(SloCommand::List { config, json }) => match load_config(&config.path) {
            Ok(config) => {
                print!("{}", slo::list(&config, json));
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Slo(SloCommand::Report { config, json }) => match load_config(&config.path) {
            Ok(config) => report(slo::report(&config, json).await),
            Err(code) => code,
        },
        Command::Slo(SloCommand::History { name, config, since, every, json }) => match load_config(&config.path) {
            Ok(config) => {
                let parse = |text: Option<String>, flag: &str| {
                    text.map(|text| vigil_core::parse_duration(&text).map_err(|error| anyhow::anyhow!("{flag}: {error}"))).transpose()
                };
                match (parse(since, "--since"), parse(every, "--every")) {
                    (Ok(since), Ok(every)) => report(slo::history(&config, &name, since, every, json).await),
                    (Err(error), _) | (_, Err(error)) => {
                        eprintln!("error: {error}");
                        ExitCode::from(USAGE_ERROR)
                    }
                }
            }
            Err(code) => code,
        },
        Command::Slo(SloCommand::Backtest { input, timestamp_field, labels, config, slo: only, since, json }) => {
            let since = match since.map(|text| vigil_core::parse_duration(&text)).transpose() {
                Ok(since) => since,
                Err(error) => {
                    eprintln!("error: --since: {error}");
                    return ExitCode::from(USAGE_ERROR);
                }
            };
            let replay = input.map(|input| crate::cli::ReplayArgs { input, timestamp_field, labels });
            report(slo::backtest(slo::SloBacktestOptions { config: config.path, slo: only, json, replay, since }).await)
        }
        Command::Backtest { replay, config, rule, json } => {
            let options = backtest::BacktestOptions { config: config.path, rule, json, replay };
            report(tokio::task::spawn_blocking(move || backtest::run(options)).await.map_err(anyhow::Error::from).and_then(|result| result))
        }
        Command::Bench(BenchCommand::Target { port }) => report(bench::target(port).await),
        Command::Bench(BenchCommand::Loki { lines, batch, connections, slos }) => {
            report(bench_logs::loki(lines, batch.max(1), connections.max(1), slos).await)
        }
        Command::Bench(BenchCommand::Rules { alerts, groups }) => report(bench_logs::rules(alerts.max(1), groups.max(1)).await),
        Command::Bench(BenchCommand::Actions { alerts }) => report(bench_actions::actions(alerts.max(1)).await),
        Command::Bench(BenchCommand::Incidents { incidents, schedules }) => {
            report(bench_incidents::incidents(incidents.clamp(1, 100_000), schedules.clamp(1, 10_000)).await)
        }
        Command::Bench(BenchCommand::Api { monitors, rate, duration }) => match vigil_core::parse_duration(&duration) {
            Ok(duration) => report(bench_ui::api(monitors.clamp(1, 100_000), rate.clamp(1, 10_000), duration).await),
            Err(error) => {
                eprintln!("error: --duration: {error}");
                ExitCode::from(USAGE_ERROR)
            }
        },
        Command::Bench(BenchCommand::Ui { monitors, days, reads }) => {
            report(bench_ui::ui(monitors.clamp(1, 100_000), days.clamp(1, 90), reads.clamp(1, 1_000)).await)
        }
        Command::Bench(BenchCommand::Status { components, days }) => {
            report(bench_status::status(components.clamp(1, 10_000), days.clamp(1, 366)).await)
        }
        Command::Bench(BenchCommand::Slos { slos, days }) => report(bench_slos::slos(slos.max(1), days.clamp(1, 90)).await),
        Command::Bench(BenchCommand::Alerts { alerts, reads, synchronous }) => {
            report(bench_alerts::alerts(bench_alerts::AlertBench { alerts: alerts.max(1), reads: reads.max(1), synchronous }).await)
        }
        Command::Bench(BenchCommand::Probes { monitors, interval, duration, threads, max_concurrent, target_cpus }) => {
            let parse = |text: &str, flag: &str| vigil_core::parse_duration(text).map_err(|error| anyhow::anyhow!("{flag}: {error}"));
            let options = match (parse(&interval, "--interval"), parse(&duration, "--duration")) {
                (Ok(interval), Ok(duration)) => bench::ProbeBench { monitors, interval, duration, threads, max_concurrent, target_cpus },
                (Err(error), _) | (_, Err(error)) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(USAGE_ERROR);
                }
            };
            // The bench builds its own runtime (one thread by default), away from this one.
            let outcome = tokio::task::spawn_blocking(move || bench::probes(options)).await;
            report(outcome.map_err(anyhow::Error::from).and_then(|result| result))
        }
    }
}

/// `vigil rules lint`: parse, and point at the problem.
fn lint(expr: &str) -> ExitCode {
    let text = if expr == "-" {
        let mut text = String::new();
        #[allow(clippy::disallowed_methods, reason = "bounded by take(1 MiB)")]
        if let Err(error) = std::io::Read::read_to_string(&mut std::io::Read::take(std::io::stdin(), 1 << 20), &mut text) {
            eprintln!("error: reading standard input: {error}");
            return ExitCode::from(USAGE_ERROR);
        }
        text
    } else {
        expr.to_owned()
    };
    match vigil_logql::parse(&text) {
        Ok(vigil_logql::Expr::Log(_)) => {
            println!("ok: log query");
            ExitCode::SUCCESS
        }
        Ok(vigil_logql::Expr::Metric(_)) => {
            println!("ok: metric query");
            ExitCode::SUCCESS
        }
        Err(error) => {
            // Positions count characters from the start; show the line, a caret, and
            // `line L, column C` when the expression spans lines.
            let mut column = error.column;
            let lines: Vec<&str> = text.split('\n').collect();
            for (index, line) in lines.iter().enumerate() {
                let width = line.chars().count() + 1;
                if column <= width || index + 1 == lines.len() {
                    eprintln!("{line}\n{}^", " ".repeat(column.saturating_sub(1)));
                    if lines.len() > 1 {
                        eprintln!("error: line {}, column {column}: {}", index + 1, error.message);
                    } else {
                        eprintln!("error: {error}");
                    }
                    break;
                }
                column -= width;
            }
            ExitCode::FAILURE
        }
    }
}

/// Loads the config, printing every located error.
pub fn load_config(path: &Path) -> Result<Config, ExitCode> {
    vigil_config::load_file(path).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(USAGE_ERROR)
    })
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// `vigil run [--dry-run]` with its config already loaded (the binary reads it before
/// logging starts, for `telemetry:`).
pub async fn run_loaded(mut config: Config, dry_run: bool) -> ExitCode {
    config.remediation.dry_run |= dry_run;
    report(run(config).await)
}

/// `vigil run`: until SIGINT or SIGTERM.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let running = crate::run::start(config, Arc::new(SystemClock)).await?;
    shutdown_signal().await;
    running.stop().await
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
