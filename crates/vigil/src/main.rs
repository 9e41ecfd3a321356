//! The `vigil` binary: parses the command line, sets up logging (and, for `vigil run`
//! with `telemetry.otlp-endpoint`, traces), runs a command.

use std::process::ExitCode;

use clap::Parser;
use vigil::cli::{Cli, Command, LogFormat};

/// mimalloc: memory freed on another thread than the one that allocated it (a pushed
/// line decoded by the HTTP intake and dropped by the rule engine) goes back without
/// the lock glibc's arenas take (futex wake-ups were 7 % of `bench loki`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let entered = runtime.enter();
    // `vigil run` reads its config once, here: `telemetry:` decides how logging starts.
    let loaded = match &cli.command {
        Command::Run { config, .. } => Some(vigil::commands::load_config(&config.path)),
        _ => None,
    };
    let telemetry = loaded.as_ref().and_then(|loaded| loaded.as_ref().ok()).map(|config| &config.telemetry);
    let traces = match vigil::telemetry::init(matches!(cli.log_format, LogFormat::Json), telemetry) {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    drop(entered);
    let code = match (cli.command, loaded) {
        (Command::Run { dry_run, .. }, Some(Ok(config))) => runtime.block_on(vigil::commands::run_loaded(config, dry_run)),
        // Its located errors are printed already.
        (_, Some(Err(code))) => code,
        (command, _) => runtime.block_on(vigil::commands::execute(command)),
    };
    if let Some(traces) = traces {
        traces.shutdown();
    }
    code
}
