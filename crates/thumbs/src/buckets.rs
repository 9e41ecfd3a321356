//! Input and output buckets: a local folder or an S3-compatible bucket, through
//! `object_store`. Keys are object names relative to the bucket's prefix, as they are
//! (`photos/写真 1#.jpg`), never percent-encoded: this module is the one boundary where
//! a key becomes an `object_store` path (`Path::parse`, which takes names as they are)
//! and a listed path a key. A name a path cannot hold (a control character, an empty
//! segment) is refused as [`BucketError::InvalidKey`], and listing skips and reports it.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload};

use crate::config::{BucketUrl, Config};

/// Why a bucket operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BucketError {
    /// The object is not there (deleted since it was seen).
    #[error("{0} not found")]
    NotFound(String),
    /// Over the input size limit, seen from its metadata before downloading.
    #[error("{key} is {size} bytes, more than the limit of {limit}")]
    TooLarge { key: String, size: u64, limit: u64 },
    /// A name no object path can hold: a control character, an empty segment, `.`.
    #[error("invalid key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },
    /// Anything else: the store is down, refused, timed out. Worth a retry.
    #[error("{0}")]
    Unavailable(String),
}

/// What a listing found: every key with its size, and the names it could not read.
#[derive(Debug, Default)]
pub struct Listing {
    pub objects: Vec<(String, u64)>,
    /// Why each unreadable object was skipped (its name is in the reason).
    pub skipped: Vec<String>,
}

/// One bucket. Cheap to clone.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    /// A local bucket's folder: listed directly, since `object_store`'s local listing
    /// ends at the first name it cannot hold.
    root: Option<std::path::PathBuf>,
    /// The URL, for logs.
    pub url: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("url", &self.url).finish_non_exhaustive()
    }
}

impl Bucket {
    /// Opens `url`; a local folder is created if missing. S3 credentials come from the
    /// environment (`AWS_ACCESS_KEY_ID`, ...).
    pub fn open(url: &BucketUrl, config: &Config) -> anyhow::Result<Bucket> {
        match url {
            BucketUrl::File(path) => {
                std::fs::create_dir_all(path).map_err(|error| anyhow::anyhow!("creating {}: {error}", path.display()))?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(path)?;
                Ok(Bucket {
                    store: Arc::new(store),
                    prefix: String::new(),
                    root: Some(path.clone()),
                    url: format!("file://{}", path.display()),
                })
            }
            BucketUrl::S3 { bucket, prefix } => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).with_region(&config.region);
                if let Some(endpoint) = &config.endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                let store = builder.build()?;
                Ok(Bucket { store: Arc::new(store), prefix: prefix.clone(), root: None, url: format!("s3://{bucket}/{prefix}") })
            }
        }
    }

    fn path(&self, key: &str) -> Result<StorePath, BucketError> {
        let full = if self.prefix.is_empty() { key.to_owned() } else { format!("{}/{key}", self.prefix) };
        StorePath::parse(&full).map_err(|error| BucketError::InvalidKey { key: key.to_owned(), reason: error.to_string() })
    }

    /// The key of a full object path in this bucket, if it is inside the prefix.
    pub fn key_of(&self, full: &str) -> Option<String> {
        let full = full.trim_start_matches('/');
        if self.prefix.is_empty() {
            return Some(full.to_owned());
        }
        full.strip_prefix(&self.prefix).and_then(|rest| rest.strip_prefix('/')).filter(|key| !key.is_empty()).map(str::to_owned)
    }

    /// Every key, with its size; objects whose names no key can hold are skipped and
    /// reported, so one bad name never hides the rest.
    pub async fn list(&self) -> Result<Listing, BucketError> {
        if let Some(root) = self.root.clone() {
            return tokio::task::spawn_blocking(move || list_folder(&root))
                .await
                .map_err(|error| BucketError::Unavailable(format!("listing failed: {error}")))?;
        }
        let prefix = match self.prefix.as_str() {
            "" => None,
            prefix => Some(StorePath::parse(prefix).map_err(|error| BucketError::Unavailable(format!("invalid prefix: {error}")))?),
        };
        let mut listing = Listing::default();
        let mut objects = self.store.list(prefix.as_ref());
        while let Some(object) = objects.next().await {
            match object {
                Ok(meta) => listing.objects.extend(self.key_of(meta.location.as_ref()).map(|key| (key, meta.size))),
                Err(object_store::Error::InvalidPath { source }) => listing.skipped.push(source.to_string()),
                Err(error) => return Err(unavailable(error)),
            }
        }
        Ok(listing)
    }

    /// The object at `key`, refused without downloading when over `limit` bytes.
    pub async fn get(&self, key: &str, limit: u64) -> Result<Bytes, BucketError> {
        let path = self.path(key)?;
        let meta = self.store.head(&path).await.map_err(|error| not_found_or(error, key))?;
        if meta.size > limit {
            return Err(BucketError::TooLarge { key: key.to_owned(), size: meta.size, limit });
        }
        let result = self.store.get(&path).await.map_err(|error| not_found_or(error, key))?;
        result.bytes().await.map_err(|error| not_found_or(error, key))
    }

    /// The object's size and a version string that changes when its content does
    /// (its ETag, or size and modification time).
    pub async fn head(&self, key: &str) -> Result<(u64, String), BucketError> {
        let meta = self.store.head(&self.path(key)?).await.map_err(|error| not_found_or(error, key))?;
        let version = meta.e_tag.clone().unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.timestamp_millis()));
        Ok((meta.size, version))
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BucketError> {
        self.store.put(&self.path(key)?, PutPayload::from(bytes)).await.map(|_| ()).map_err(unavailable)
    }

    pub async fn exists(&self, key: &str) -> Result<bool, BucketError> {
        match self.store.head(&self.path(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }
}

/// Every file under `root` (following links, at most [`MAX_FOLDER_DEPTH`] deep), by
/// key; `object_store`'s temporary upload files (`name#123`) are not objects.
fn list_folder(root: &std::path::Path) -> Result<Listing, BucketError> {
    const MAX_FOLDER_DEPTH: usize = 32;
    let mut listing = Listing::default();
    let mut folders = vec![(root.to_owned(), String::new(), 0usize)];
    while let Some((folder, key_prefix, depth)) = folders.pop() {
        let entries = match std::fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(error) if folder == root => return Err(BucketError::Unavailable(format!("listing {}: {error}", root.display()))),
            Err(error) => {
                listing.skipped.push(format!("{}: {error}", folder.display()));
                continue;
            }
        };
        for entry in entries {
            let entry = entry.map_err(|error| BucketError::Unavailable(format!("listing {}: {error}", folder.display())))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                listing.skipped.push(format!("{}: the name is not UTF-8", entry.path().display()));
                continue;
            };
            let key = format!("{key_prefix}{name}");
            let Ok(metadata) = std::fs::metadata(entry.path()) else { continue };
            if metadata.is_dir() {
                if depth < MAX_FOLDER_DEPTH {
                    folders.push((entry.path(), format!("{key}/"), depth + 1));
                }
                continue;
            }
            if is_upload_in_progress(&name) {
                continue;
            }
            match StorePath::parse(&key) {
                Ok(_) => listing.objects.push((key, metadata.len())),
                Err(_) => listing.skipped.push(format!("{key:?}: not a valid object key (a control character, or an empty part)")),
            }
        }
    }
    listing.objects.sort();
    Ok(listing)
}

/// `object_store` writes a local object as `NAME#DIGITS` first, then renames it.
fn is_upload_in_progress(name: &str) -> bool {
    name.rsplit_once('#').is_some_and(|(_, suffix)| !suffix.is_empty() && suffix.bytes().all(|byte| byte.is_ascii_digit()))
}

fn unavailable(error: object_store::Error) -> BucketError {
    BucketError::Unavailable(error.to_string())
}

fn not_found_or(error: object_store::Error, key: &str) -> BucketError {
    match error {
        object_store::Error::NotFound { .. } => BucketError::NotFound(key.to_owned()),
        other => unavailable(other),
    }
}
