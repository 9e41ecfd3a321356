//! Input and output buckets: a local folder or an S3-compatible bucket, through
//! `object_store`. Keys are paths relative to the bucket's prefix (`photos/cat.jpg`).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
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
    /// Anything else: the store is down, refused, timed out. Worth a retry.
    #[error("{0}")]
    Unavailable(String),
}

/// One bucket. Cheap to clone.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    prefix: String,
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
                Ok(Bucket { store: Arc::new(store), prefix: String::new(), url: format!("file://{}", path.display()) })
            }
            BucketUrl::S3 { bucket, prefix } => {
                let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket).with_region(&config.region);
                if let Some(endpoint) = &config.endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                let store = builder.build()?;
                Ok(Bucket { store: Arc::new(store), prefix: prefix.clone(), url: format!("s3://{bucket}/{prefix}") })
            }
        }
    }

    fn path(&self, key: &str) -> StorePath {
        if self.prefix.is_empty() {
            StorePath::from(key)
        } else {
            StorePath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// The key of a full object path in this bucket, if it is inside the prefix.
    pub fn key_of(&self, full: &str) -> Option<String> {
        let full = full.trim_start_matches('/');
        if self.prefix.is_empty() {
            return Some(full.to_owned());
        }
        full.strip_prefix(&self.prefix).and_then(|rest| rest.strip_prefix('/')).filter(|key| !key.is_empty()).map(str::to_owned)
    }

    /// Every key, with its size.
    pub async fn list(&self) -> Result<Vec<(String, u64)>, BucketError> {
        let prefix = (!self.prefix.is_empty()).then(|| StorePath::from(self.prefix.as_str()));
        let objects: Vec<_> = self.store.list(prefix.as_ref()).try_collect().await.map_err(unavailable)?;
        Ok(objects.into_iter().filter_map(|meta| self.key_of(meta.location.as_ref()).map(|key| (key, meta.size))).collect())
    }

    /// The object at `key`, refused without downloading when over `limit` bytes.
    pub async fn get(&self, key: &str, limit: u64) -> Result<Bytes, BucketError> {
        let path = self.path(key);
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
        let meta = self.store.head(&self.path(key)).await.map_err(|error| not_found_or(error, key))?;
        let version = meta.e_tag.clone().unwrap_or_else(|| format!("{}-{}", meta.size, meta.last_modified.timestamp_millis()));
        Ok((meta.size, version))
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), BucketError> {
        self.store.put(&self.path(key), PutPayload::from(bytes)).await.map(|_| ()).map_err(unavailable)
    }

    pub async fn exists(&self, key: &str) -> Result<bool, BucketError> {
        match self.store.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(unavailable(error)),
        }
    }
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
