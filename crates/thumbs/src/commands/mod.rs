//! The command line. Exit codes: 0 success, 1 failure, 2 bad usage or config.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vigil_core::{Clock, SystemClock};

use crate::config::Config;

/// thumbs makes thumbnails: images that land in an input bucket get resized copies in an
/// output bucket through a durable queue, and any size is served on the fly over HTTP.
#[derive(Debug, Parser)]
#[command(name = "thumbs", version, about, long_about = None)]
pub struct Cli {
    /// Log format on stderr: text, or json (one object per line, fields at the top level,
    /// for log pipelines and Vigil's rules).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "THUMBS_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file.
    #[arg(short = 'c', long = "config", default_value = "thumbs.yaml", env = "THUMBS_CONFIG")]
    pub path: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run until SIGINT or SIGTERM: watch the input, work the queue, serve /img.
    Run {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Validate the config; print every error as FILE:LINE:COLUMN: message and exit 2.
    Check {
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Queue every input whose thumbnails are missing (as the periodic scan does), with
    /// progress; a running `thumbs run` picks them up.
    Backfill {
        #[command(flatten)]
        config: ConfigArg,
        /// Queue every input, even those with all their thumbnails.
        #[arg(long)]
        all: bool,
    },
    /// The dead-letter queue: jobs that failed for good, with why.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Print an /img path with its signature, e.g. thumbs sign '/img/photos/cat.jpg?w=300'.
    Sign {
        /// The path and query to sign.
        url: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Time thumbnails of every image in DIR: images/s, input MB/s, peak RSS, and with
    /// --ssim the quality against a Lanczos3 resize of the full image.
    Bench {
        /// A folder of .jpg, .png, .gif or .webp files.
        dir: PathBuf,
        /// Output width in pixels (height keeps the aspect).
        #[arg(long, default_value_t = 256)]
        width: u32,
        /// Threads working at once (images are shared out one at a time).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// JPEG quality of the thumbnails.
        #[arg(long, default_value_t = 80)]
        quality: u8,
        /// Passes over the folder; the median is reported.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Also report SSIM against a Lanczos3 reference.
        #[arg(long)]
        ssim: bool,
        /// Also report the SSIM of another tool's thumbnails in this folder (same file
        /// names, .jpg), against the same reference.
        #[arg(long)]
        compare: Vec<PathBuf>,
        /// Write the thumbnails to this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Each dead job: id, input key, reason and error.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Put a dead job (or --all) back in the queue.
    Replay {
        /// The job id, from `thumbs dlq list`.
        id: Option<i64>,
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Delete every dead job.
    Purge {
        #[command(flatten)]
        config: ConfigArg,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("THUMBS_LOG").unwrap_or_else(|_| "info".into());
    match cli.log_format {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init(),
        LogFormat::Json => tracing_subscriber::fmt().json().flatten_event(true).with_env_filter(filter).with_writer(std::io::stderr).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(execute(cli.command))
}

async fn execute(command: Command) -> ExitCode {
    match command {
        Command::Bench { dir, width, threads, quality, rounds, ssim, compare, out } => {
            let options =
                crate::bench::BenchOptions { dir, width, threads, quality, rounds, ssim: ssim || !compare.is_empty(), compare, out };
            report(
                tokio::task::spawn_blocking(move || crate::bench::run(&options))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|result| result),
            )
        }
        Command::Check { config } => match load(&config.path) {
            Ok(config) => {
                println!(
                    "{}: ok ({} sizes, input {:?}, output {:?})",
                    config.path.display(),
                    config.sizes.len(),
                    config.input,
                    config.output
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run { config } => match load(&config.path) {
            Ok(config) => report(run(config).await),
            Err(code) => code,
        },
        Command::Backfill { config, all } => match load(&config.path) {
            Ok(config) => report(backfill(config, all).await),
            Err(code) => code,
        },
        Command::Sign { url, config } => match load(&config.path) {
            Ok(config) => match &config.signing_key {
                Some(key) => {
                    println!("{}", crate::sign::sign_url(key.expose().as_bytes(), &url));
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("error: {} has no signing-key", config.path.display());
                    ExitCode::from(2)
                }
            },
            Err(code) => code,
        },
        Command::Dlq(command) => {
            let path = match &command {
                DlqCommand::List { config, .. } | DlqCommand::Replay { config, .. } | DlqCommand::Purge { config } => config.path.clone(),
            };
            match load(&path) {
                Ok(config) => report(dlq(config, command).await),
                Err(code) => code,
            }
        }
    }
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    crate::config::load_file(path).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(2)
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

async fn run(config: Config) -> anyhow::Result<()> {
    let running = crate::run::start(config, Arc::new(SystemClock)).await?;
    shutdown_signal().await;
    tracing::info!("stopping: no new jobs; finishing the ones in flight");
    running.stop().await
}

async fn backfill(config: Config, all: bool) -> anyhow::Result<()> {
    let service = crate::service::Service::open(config, Arc::new(SystemClock)).await?;
    let listing = service.input.list().await?;
    for skipped in &listing.skipped {
        eprintln!("skipped: {skipped}");
    }
    let inputs = listing.objects;
    let outputs: std::collections::HashSet<String> =
        if all { Default::default() } else { service.output.list().await?.objects.into_iter().map(|(key, _)| key).collect() };
    let progress = std::io::stderr().is_terminal();
    let mut queued = 0usize;
    for (index, (key, _)) in inputs.iter().enumerate() {
        if crate::service::ignored(key) {
            continue;
        }
        let missing = all || service.config.sizes.iter().any(|size| !outputs.contains(&service.config.output_key(key, size)));
        if missing {
            service.queue.enqueue(key, SystemClock.now(), SystemClock.now()).await?;
            queued += 1;
        }
        if progress && (index % 100 == 0 || index + 1 == inputs.len()) {
            eprint!(
                "\r{:5.1}%  {} of {} inputs, {queued} queued ",
                (index + 1) as f64 * 100.0 / inputs.len() as f64,
                index + 1,
                inputs.len()
            );
        }
    }
    if progress {
        eprintln!();
    }
    println!("{queued} of {} inputs queued; a running `thumbs run` processes them", inputs.len());
    if !listing.skipped.is_empty() {
        println!("{} skipped: their names cannot be object keys (see above); rename them", listing.skipped.len());
    }
    Ok(())
}

async fn dlq(config: Config, command: DlqCommand) -> anyhow::Result<()> {
    let queue = crate::queue::Queue::open(&config.queue).await?;
    match command {
        DlqCommand::List { json, .. } => {
            let dead = queue.dead_letters(10_000).await?;
            for letter in &dead {
                if json {
                    println!("{}", serde_json::to_string(letter)?);
                } else {
                    println!(
                        "#{:<6} {}  {:<12} {}  (after {} attempts, {})",
                        letter.id, letter.key, letter.reason, letter.error, letter.attempts, letter.at
                    );
                }
            }
            if dead.is_empty() && !json {
                println!("the dead-letter queue is empty");
            }
        }
        DlqCommand::Replay { id, all, .. } => {
            anyhow::ensure!(id.is_some() || all, "name a job id, or --all");
            let replayed = queue.replay(id, SystemClock.now()).await?;
            anyhow::ensure!(replayed > 0 || all, "no dead job {}", id.unwrap_or_default());
            println!("{replayed} jobs back in the queue");
        }
        DlqCommand::Purge { .. } => println!("{} dead jobs deleted", queue.purge().await?),
    }
    queue.close().await;
    Ok(())
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
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
