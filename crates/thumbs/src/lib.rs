//! thumbs: images that land in an input bucket get resized copies in an output bucket
//! through a durable queue, and any size is served on the fly over HTTP.
//!
//! Read top to bottom: `config` (thumbs.yaml), `buckets` (file or S3), `queue` (the
//! durable job queue), `image` (the pixel pipeline: bytes in, thumbnail out), `service`
//! (the worker and discovery), `http` (`/img`, S3 events, metrics), `cache`, `sign`,
//! `run` (wiring and shutdown), `commands` (the CLI), `bench`.

pub mod bench;
pub mod buckets;
pub mod cache;
pub mod commands;
pub mod config;
pub mod http;
pub mod image;
pub mod metrics;
pub mod queue;
pub mod run;
pub mod service;
pub mod sign;
