//! thumbs end to end: local buckets with hostile files, signed URLs and the cache, a
//! restart mid-queue, and the S3 path against moto.

mod helpers;
mod local;
mod restart;
mod s3;
