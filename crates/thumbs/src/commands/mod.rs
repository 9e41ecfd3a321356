//! The command line. Exit codes: 0 success, 1 failure, 2 bad usage or config.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// thumbs makes thumbnails: images that land in an input bucket get resized copies in an
/// output bucket through a durable queue, and any size is served on the fly over HTTP.
#[derive(Debug, Parser)]
#[command(name = "thumbs", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
        /// Write the thumbnails to this folder.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("THUMBS_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Bench { dir, width, threads, quality, rounds, ssim, out } => {
            crate::bench::run(&crate::bench::BenchOptions { dir, width, threads, quality, rounds, ssim, out })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
