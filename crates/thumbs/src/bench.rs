//! `thumbs bench DIR`: thumbnails of every image in a folder, timed, on one thread or
//! several, with images/s, input MB/s, peak RSS and SSIM against a Lanczos3 reference.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;

use crate::image::{self, Fit, Format, Limits, Spec};

pub struct BenchOptions {
    pub dir: PathBuf,
    pub width: u32,
    pub threads: usize,
    pub quality: u8,
    /// Passes over the folder; the median is reported.
    pub rounds: usize,
    /// Also compute SSIM against a Lanczos3 resize of the fully decoded image.
    pub ssim: bool,
    /// Other tools' thumbnails (same file names, .jpg), scored against the same reference.
    pub compare: Vec<PathBuf>,
    /// Where to write the thumbnails (for comparing them), if anywhere.
    pub out: Option<PathBuf>,
}

pub fn run(options: &BenchOptions) -> anyhow::Result<()> {
    let files = images_in(&options.dir)?;
    anyhow::ensure!(!files.is_empty(), "no .jpg, .jpeg, .png, .gif or .webp files in {}", options.dir.display());
    let inputs: Vec<(PathBuf, Vec<u8>)> =
        files.into_iter().map(|path| std::fs::read(&path).map(|bytes| (path, bytes))).collect::<Result<_, _>>()?;
    let input_bytes: usize = inputs.iter().map(|(_, bytes)| bytes.len()).sum();
    let spec = Spec {
        width: options.width,
        height: None,
        fit: Fit::Contain,
        format: Some(Format::Jpeg),
        quality: options.quality,
        keep_profile: false,
    };
    let limits = Limits::default();
    let threads = options.threads.max(1);
    let mut rates = Vec::new();
    for _ in 0..options.rounds.max(1) {
        let next = AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, bytes)) = inputs.get(index) else { break };
                    match image::thumbnail(bytes, &spec, &limits) {
                        Ok(thumbnail) => {
                            if let Some(out) = &options.out {
                                let name = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
                                let _ = std::fs::write(out.join(format!("{name}.jpg")), &thumbnail.bytes);
                            }
                        }
                        Err(error) => eprintln!("{}: {error}", path.display()),
                    }
                });
            }
        });
        rates.push(inputs.len() as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!(
        "thumbs bench: {} images ({:.1} MB) from {} to {} px wide, JPEG q{}, {threads} thread(s), {} round(s)",
        inputs.len(),
        input_bytes as f64 / 1e6,
        options.dir.display(),
        options.width,
        options.quality,
        rates.len()
    );
    println!(
        "  {:.1} images/s (median; min {:.1}, max {:.1}), {:.1} input MB/s, peak RSS {:.0} MB (of which {:.0} MB are the inputs, held in memory)",
        median,
        rates[0],
        rates[rates.len() - 1],
        median * input_bytes as f64 / inputs.len() as f64 / 1e6,
        peak_rss_mb(),
        input_bytes as f64 / (1024.0 * 1024.0)
    );
    if options.ssim {
        let mut ours = Vec::new();
        let mut theirs: Vec<Vec<f64>> = vec![Vec::new(); options.compare.len()];
        for (path, bytes) in &inputs {
            let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
            let result = (|| -> anyhow::Result<()> {
                let thumbnail = image::thumbnail(bytes, &spec, &limits)?;
                let mine = image::jpeg::decode(&thumbnail.bytes, 8, false, &limits)?.image.into_pixels()?;
                let reference = image::reference(bytes, &spec, &limits, mine.width, mine.height)?;
                ours.push(image::ssim::ssim(&mine, &reference).context("sizes differ")?);
                for (index, dir) in options.compare.iter().enumerate() {
                    let other = std::fs::read(dir.join(format!("{stem}.jpg")))?;
                    let other = image::jpeg::decode(&other, 8, false, &limits)?.image.into_pixels()?;
                    let reference = image::reference(bytes, &spec, &limits, other.width, other.height)?;
                    theirs[index].push(image::ssim::ssim(&other, &reference).context("sizes differ")?);
                }
                Ok(())
            })();
            if let Err(error) = result {
                eprintln!("{}: {error:#}", path.display());
            }
        }
        let summary = |scores: &mut Vec<f64>| {
            scores.sort_by(f64::total_cmp);
            (scores.iter().sum::<f64>() / scores.len().max(1) as f64, scores.first().copied().unwrap_or(0.0), scores.len())
        };
        let (mean, min, count) = summary(&mut ours);
        println!("  SSIM against a Lanczos3 resize of the full decode: mean {mean:.5}, min {min:.4} ({count} images)");
        for (dir, scores) in options.compare.iter().zip(theirs.iter_mut()) {
            let (mean, min, count) = summary(scores);
            println!("  SSIM of {}: mean {mean:.5}, min {min:.4} ({count} images)", dir.display());
        }
    }
    println!(
        "reproduce: cargo build --release -p thumbs && target/release/thumbs bench {} --width {} --threads {threads}{}",
        options.dir.display(),
        options.width,
        if options.ssim { " --ssim" } else { "" }
    );
    Ok(())
}

fn images_in(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .and_then(|ext| ext.to_str())
                .is_some_and(|ext| matches!(ext.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png" | "gif" | "webp"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Peak resident set size of this process, in MB (0 where `/proc` is not there).
pub fn peak_rss_mb() -> f64 {
    process_peak_rss_mb("self").unwrap_or(0.0)
}

/// Peak resident set size of process `pid` (or `self`), in MB, from `/proc` (Linux).
pub fn process_peak_rss_mb(pid: &str) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}
