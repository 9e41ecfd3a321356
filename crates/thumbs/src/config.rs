//! `thumbs.yaml`, with Vigil's conventions: kebab-case keys, unknown keys rejected,
//! `${VAR}` for secrets, every error as `FILE:LINE:COLUMN: message`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use vigil_config::{ConfigErrors, Loader, Secret, Spanned};

use crate::image::{Fit, Format, Limits};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    /// Where originals land: `file:///path` or `s3://bucket/prefix`.
    input: Spanned<String>,
    /// Where thumbnails go: `file:///path` or `s3://bucket/prefix`; not the input.
    output: Spanned<String>,
    /// An S3-compatible endpoint instead of AWS's, e.g. `http://127.0.0.1:9000`.
    endpoint: Option<Spanned<String>>,
    /// S3 region. Default `us-east-1` (or `AWS_REGION`).
    region: Option<String>,
    /// HTTP address for `/img`, `/events/s3`, `/metrics`, `/healthz`, `/readyz`.
    /// Default `127.0.0.1:8090`.
    listen: Option<Spanned<String>>,
    /// The job queue: `sqlite://PATH`. Default `thumbs.db` beside the config.
    queue: Option<Spanned<String>>,
    /// The sizes made for every input.
    #[serde(default)]
    sizes: Vec<RawSize>,
    /// `jpeg`, `webp`, `png` or `same` (the input's: GIF becomes PNG). Default `same`.
    format: Option<Spanned<String>>,
    /// JPEG and WebP quality, 1-100. Default 80.
    quality: Option<Spanned<i64>>,
    /// How often every input is checked for missing outputs. Default `5m`.
    scan_interval: Option<Spanned<String>>,
    /// HMAC-SHA256 key of `/img` URLs; use `${VAR}`.
    signing_key: Option<String>,
    /// Serve `/img` without a signature. Default false.
    allow_unsigned: Option<bool>,
    /// Images processed at once. Default: one per CPU.
    workers: Option<Spanned<i64>>,
    /// A job (fetch, decode, every size, store) taking longer is retried. Default `60s`.
    job_timeout: Option<Spanned<String>>,
    /// Attempts before a job whose errors look temporary goes to the dead-letter queue.
    /// Default 8.
    max_attempts: Option<Spanned<i64>>,
    /// Inputs over this many pixels are refused (from the header). Default 50000000.
    max_pixels: Option<Spanned<i64>>,
    /// Inputs over this many bytes are refused. Default 64 MiB.
    max_input_bytes: Option<Spanned<i64>>,
    /// Keep the colour profile's numbers instead of converting to sRGB. Default false.
    keep_profile: Option<bool>,
    /// The on-the-fly cache: a folder and its size. Default `cache` beside the config, 1 GiB.
    cache: Option<RawCache>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawSize {
    /// Names the output folder: `NAME/KEY.EXT`.
    name: Spanned<String>,
    width: Spanned<i64>,
    /// Default: the width's share of the input's aspect.
    height: Option<Spanned<i64>>,
    /// `contain` (default), `cover` or `fill`.
    fit: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCache {
    dir: Option<String>,
    /// Bytes. Default 1073741824.
    max_bytes: Option<Spanned<i64>>,
}

/// A bucket URL, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketUrl {
    File(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl BucketUrl {
    pub fn parse(text: &str) -> Result<BucketUrl, String> {
        if let Some(path) = text.strip_prefix("file://") {
            if !path.starts_with('/') {
                return Err(format!("`{text}`: file URLs need an absolute path, e.g. file:///srv/images"));
            }
            return Ok(BucketUrl::File(PathBuf::from(path.trim_end_matches('/'))));
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(format!("`{text}`: no bucket name"));
            }
            return Ok(BucketUrl::S3 { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() });
        }
        Err(format!("`{text}` is not a bucket URL, expected file:///PATH or s3://BUCKET/PREFIX"))
    }

    /// Whether two buckets overlap: the same place, or one inside the other.
    pub fn overlaps(&self, other: &BucketUrl) -> bool {
        let nested =
            |a: &str, b: &str| a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/")) || a.is_empty() || b.is_empty();
        match (self, other) {
            (BucketUrl::File(a), BucketUrl::File(b)) => a.starts_with(b) || b.starts_with(a),
            (BucketUrl::S3 { bucket: a, prefix: pa }, BucketUrl::S3 { bucket: b, prefix: pb }) => a == b && nested(pa, pb),
            _ => false,
        }
    }
}

/// One size made for every input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Size {
    pub name: String,
    pub width: u32,
    pub height: Option<u32>,
    pub fit: Fit,
}

/// The validated config.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub input: BucketUrl,
    pub output: BucketUrl,
    pub endpoint: Option<String>,
    pub region: String,
    pub listen: SocketAddr,
    pub queue: String,
    pub sizes: Vec<Size>,
    /// `None`: the input's format.
    pub format: Option<Format>,
    pub quality: u8,
    pub scan_interval: Duration,
    pub signing_key: Option<Secret>,
    pub allow_unsigned: bool,
    pub workers: usize,
    pub job_timeout: Duration,
    pub max_attempts: u32,
    pub limits: Limits,
    pub keep_profile: bool,
    pub cache_dir: PathBuf,
    pub cache_max_bytes: u64,
}

pub fn load_file(path: &Path) -> Result<Config, ConfigErrors> {
    load_str(path, &vigil_config::read_file(path)?, &|name| std::env::var(name).ok())
}

pub fn load_str(path: &Path, text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    let mut loader = Loader::new(path);
    let config = loader.parse(text, lookup).and_then(|root| {
        let raw: RawConfig = loader.deserialize(&root)?;
        validate(&mut loader, raw)
    });
    loader.finish(config).map(|config| Config { path: path.to_owned(), ..config })
}

fn validate(loader: &mut Loader, raw: RawConfig) -> Option<Config> {
    let mut bucket = |url: &Spanned<String>| match BucketUrl::parse(url) {
        Ok(bucket) => Some(bucket),
        Err(message) => {
            loader.error(Some(url.span()), message);
            None
        }
    };
    let (input, output) = (bucket(&raw.input), bucket(&raw.output));
    if let (Some(input), Some(output)) = (&input, &output) {
        if input.overlaps(output) {
            loader.error(
                Some(raw.output.span()),
                "output and input overlap: every thumbnail written would land in the input and be thumbnailed again",
            );
        }
    }
    let endpoint =
        raw.endpoint.as_ref().and_then(|endpoint| loader.http_url(endpoint)).map(|url| url.to_string().trim_end_matches('/').to_owned());
    let listen = match &raw.listen {
        Some(listen) => {
            listen.parse().map_err(|_| loader.error(Some(listen.span()), format!("invalid listen address `{}`", listen.as_str()))).ok()?
        }
        None => SocketAddr::from(([127, 0, 0, 1], 8090)),
    };
    let queue = match &raw.queue {
        Some(queue) if queue.starts_with("sqlite:") => queue.as_str().to_owned(),
        Some(queue) => {
            loader.error(Some(queue.span()), format!("unsupported queue `{}`, expected sqlite://PATH", queue.as_str()));
            String::new()
        }
        None => format!("sqlite://{}", loader.dir().join("thumbs.db").display()),
    };
    let mut sizes: Vec<Size> = Vec::new();
    for size in &raw.sizes {
        let valid_name = !size.name.is_empty() && size.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            loader.error(Some(size.name.span()), format!("invalid size name `{}`: letters, digits, `-`, `_`", size.name.as_str()));
        }
        if sizes.iter().any(|seen| seen.name == *size.name) {
            loader.error(Some(size.name.span()), format!("duplicate size name `{}`", size.name.as_str()));
        }
        let mut dimension = |value: &Spanned<i64>| match u32::try_from(**value) {
            Ok(pixels) if (1..=16_384).contains(&pixels) => pixels,
            _ => {
                loader.error(Some(value.span()), format!("{} is not a size in pixels (1-16384)", **value));
                1
            }
        };
        let width = dimension(&size.width);
        let height = size.height.as_ref().map(&mut dimension);
        let fit = match &size.fit {
            None => Fit::Contain,
            Some(fit) => Fit::parse(fit).unwrap_or_else(|| {
                loader.error(Some(fit.span()), format!("unknown fit `{}`, expected `contain`, `cover` or `fill`", fit.as_str()));
                Fit::Contain
            }),
        };
        sizes.push(Size { name: size.name.as_str().to_owned(), width, height, fit });
    }
    if sizes.is_empty() {
        loader.error(Some(raw.input.span()), "no `sizes`: add at least one, e.g. sizes: [{name: small, width: 256}]");
    }
    let format = match raw.format.as_ref().map(|format| (format.as_str(), format.span())) {
        None | Some(("same", _)) => None,
        Some((text, span)) => Format::parse(text).or_else(|| {
            loader.error(Some(span), format!("unknown format `{text}`, expected `jpeg`, `webp`, `png` or `same`"));
            None
        }),
    };
    let quality = match &raw.quality {
        Some(quality) => u8::try_from(**quality).ok().filter(|q| (1..=100).contains(q)).unwrap_or_else(|| {
            loader.error(Some(quality.span()), format!("quality must be 1-100, got {}", **quality));
            80
        }),
        None => 80,
    };
    let signing_key = raw.signing_key.filter(|key| !key.is_empty()).map(Secret::new);
    let allow_unsigned = raw.allow_unsigned.unwrap_or(false);
    let workers = match &raw.workers {
        Some(_) => loader.positive(raw.workers.as_ref(), 1, "workers") as usize,
        None => std::thread::available_parallelism().map_or(2, usize::from),
    };
    let mut limits = Limits::default();
    let mut bytes = |value: &Option<Spanned<i64>>, default: u64, what: &str| match value {
        Some(value) if **value >= 1 => **value as u64,
        Some(value) => {
            loader.error(Some(value.span()), format!("{what} must be at least 1"));
            default
        }
        None => default,
    };
    limits.max_pixels = bytes(&raw.max_pixels, limits.max_pixels, "max-pixels");
    limits.max_input_bytes = bytes(&raw.max_input_bytes, limits.max_input_bytes, "max-input-bytes");
    let cache_max_bytes = bytes(&raw.cache.as_ref().and_then(|cache| cache.max_bytes.clone()), 1 << 30, "cache.max-bytes");
    let cache_dir =
        raw.cache.as_ref().and_then(|cache| cache.dir.clone()).map_or_else(|| loader.dir().join("cache"), |dir| loader.dir().join(dir));
    Some(Config {
        path: PathBuf::new(),
        input: input?,
        output: output?,
        endpoint,
        region: raw.region.or_else(|| std::env::var("AWS_REGION").ok()).unwrap_or_else(|| "us-east-1".to_owned()),
        listen,
        queue,
        sizes,
        format,
        quality,
        scan_interval: loader.duration(raw.scan_interval.as_ref(), Duration::from_secs(300)),
        signing_key,
        allow_unsigned,
        workers,
        job_timeout: loader.duration(raw.job_timeout.as_ref(), Duration::from_secs(60)),
        max_attempts: loader.positive(raw.max_attempts.as_ref(), 8, "max-attempts"),
        limits,
        keep_profile: raw.keep_profile.unwrap_or(false),
        cache_dir,
        cache_max_bytes,
    })
}

impl Config {
    /// The output key of `input_key` at `size`: `SIZE/KEY.EXT`, the same every time, so
    /// doing a job again overwrites the same files with the same bytes.
    pub fn output_key(&self, input_key: &str, size: &Size) -> String {
        let format = self.output_format(input_key);
        let stem = match input_key.rsplit_once('.') {
            Some((stem, extension)) if !stem.is_empty() && !extension.contains('/') => stem,
            _ => input_key,
        };
        format!("{}/{stem}.{}", size.name, format.extension())
    }

    /// The format written for `input_key`: the configured one, or for `same` the one its
    /// extension names (GIF: PNG; unknown: JPEG).
    pub fn output_format(&self, input_key: &str) -> Format {
        self.format.unwrap_or_else(|| {
            let extension = input_key.rsplit_once('.').map(|(_, extension)| extension.to_ascii_lowercase()).unwrap_or_default();
            match extension.as_str() {
                "png" | "gif" => Format::Png,
                "webp" => Format::Webp,
                _ => Format::Jpeg,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        load_str(Path::new("/etc/thumbs/thumbs.yaml"), text, &|name| (name == "KEY").then(|| "k3y".to_owned()))
            .map_err(|errors| errors.to_string())
    }

    #[test]
    fn a_valid_config_loads_with_defaults() {
        let config = load("input: file:///srv/in\noutput: s3://thumbs/out/\nsigning-key: ${KEY}\nsizes:\n  - {name: small, width: 256}\n  - {name: square, width: 300, height: 300, fit: cover}\n").expect("valid");
        assert_eq!(config.input, BucketUrl::File("/srv/in".into()));
        assert_eq!(config.output, BucketUrl::S3 { bucket: "thumbs".into(), prefix: "out".into() });
        assert_eq!(config.queue, "sqlite:///etc/thumbs/thumbs.db");
        assert_eq!(config.cache_dir, Path::new("/etc/thumbs/cache"));
        assert_eq!((config.quality, config.format, config.allow_unsigned), (80, None, false));
        assert_eq!(config.signing_key.as_ref().map(Secret::expose), Some("k3y"));
        assert_eq!(config.output_key("photos/cat.JPEG", &config.sizes[0]), "small/photos/cat.jpg");
        assert_eq!(config.output_key("anim.gif", &config.sizes[1]), "square/anim.png");
        assert_eq!(config.output_key("dir.v2/noext", &config.sizes[0]), "small/dir.v2/noext.jpg");
        assert!(!format!("{config:?}").contains("k3y"));
    }

    #[test]
    fn errors_are_located() {
        let sizes = "sizes:\n  - {name: small, width: 256}\n";
        let cases: &[(&str, &str)] = &[
            (&format!("input: file:///srv/img\noutput: file:///srv/img\n{sizes}"), "thumbs.yaml:2:9: output and input overlap"),
            (&format!("input: s3://b/in\noutput: s3://b/in/thumbs\n{sizes}"), "thumbs.yaml:2:9: output and input overlap"),
            (&format!("input: ftp://x\noutput: file:///o\n{sizes}"), "thumbs.yaml:1:8: `ftp://x` is not a bucket URL"),
            (&format!("input: file:///i\noutput: file:///o\nformat: gif\n{sizes}"), "thumbs.yaml:3:9: unknown format `gif`"),
            ("input: file:///i\noutput: file:///o\nsizes:\n  - {name: s, width: 0}\n", "thumbs.yaml:4:22: 0 is not a size in pixels"),
            (
                "input: file:///i\noutput: file:///o\nsizes:\n  - {name: s, width: 9, fit: stretch}\n",
                "thumbs.yaml:4:30: unknown fit `stretch`",
            ),
            ("input: file:///i\noutput: file:///o\n", "thumbs.yaml:1:8: no `sizes`"),
            (&format!("input: file:///i\noutput: file:///o\ncolour: red\n{sizes}"), "thumbs.yaml:3:1: unknown key `colour`"),
            (&format!("input: file:///i\noutput: file:///o\nquality: 101\n{sizes}"), "thumbs.yaml:3:10: quality must be 1-100"),
        ];
        for (text, expected) in cases {
            let error = load(text).expect_err(text);
            assert!(error.starts_with(&format!("/etc/thumbs/{expected}")), "{text}\nexpected {expected}\nactual   {error}");
        }
    }
}
