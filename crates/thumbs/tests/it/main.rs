//! thumbs end to end: local buckets with hostile files, signed URLs and the cache, a
//! restart mid-queue, memory under hostile files, and the S3 path against moto.

mod helpers;
mod local;
mod memory;
mod restart;
mod s3;
