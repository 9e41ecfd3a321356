//! thumbs: images that land in an input bucket get resized copies in an output bucket
//! through a durable queue, and any size is served on the fly over HTTP.
//!
//! Read top to bottom: `image` is the pixel pipeline (pure: bytes in, thumbnail out),
//! `bench` measures it.

pub mod bench;
pub mod commands;
pub mod image;
