//! `POST /loki/api/v1/push`, Loki's push API, so Promtail, Grafana Alloy, Vector and
//! Fluent Bit ship to Vigil unchanged:
//! - protobuf (`application/x-protobuf`), Snappy block-compressed, as Loki's clients send;
//! - JSON: `{"streams":[{"stream":{"app":"api"},"values":[["<unix ns>","line"], ...]}]}`,
//!   plain or with `Content-Encoding: gzip` or `deflate`.
//!
//! Decoding only; `http::intake` reads the body and answers: malformed bodies get 400
//! with the reason, bodies over the limit (before or after decompression) 413, a full
//! engine queue 429 (clients retry).

use std::collections::BTreeMap;
use std::io::Read;

use serde::Deserialize;

use super::{LogBatch, LogStream};

/// Largest accepted push body, compressed or not.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Largest body after decompression.
pub const MAX_DECODED_BYTES: usize = 64 * 1024 * 1024;

/// Why a push was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// 400: the body cannot be read.
    Malformed(String),
    /// 413: the body is larger than allowed once decompressed.
    TooLarge,
    /// 415: an encoding Vigil does not read.
    Unsupported(String),
}

#[derive(Deserialize)]
struct PushRequest<'a> {
    #[serde(borrow)]
    streams: Vec<PushStream<'a>>,
}

#[derive(Deserialize)]
struct PushStream<'a> {
    stream: BTreeMap<String, String>,
    #[serde(borrow)]
    values: Vec<PushEntry<'a>>,
}

/// `[timestamp, line]` or `[timestamp, line, structured metadata]`; the timestamp is
/// borrowed from the body when it has no escapes (always, in practice).
#[derive(Deserialize)]
struct PushEntry<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>, String, #[serde(default)] serde::de::IgnoredAny);

/// Loki's `logproto.PushRequest`, the fields Vigil reads.
#[derive(Clone, PartialEq, prost::Message)]
struct ProtoPushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<ProtoStream>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoStream {
    /// `{app="api", env="prod"}`
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<ProtoEntry>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoEntry {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<ProtoTimestamp>,
    #[prost(string, tag = "2")]
    line: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProtoTimestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// Undoes `Content-Encoding` (gzip, deflate, snappy), bounded by [`MAX_DECODED_BYTES`].
pub fn decompress<'b>(content_encoding: Option<&str>, body: &'b [u8]) -> Result<std::borrow::Cow<'b, [u8]>, PushError> {
    Ok(match content_encoding.map(str::trim).filter(|encoding| !encoding.is_empty() && *encoding != "identity") {
        None => std::borrow::Cow::Borrowed(body),
        Some("gzip") => std::borrow::Cow::Owned(inflate(flate2::read::GzDecoder::new(body))?),
        Some("deflate") => std::borrow::Cow::Owned(inflate(flate2::read::ZlibDecoder::new(body))?),
        Some("snappy") => std::borrow::Cow::Owned(unsnappy(body)?),
        Some(other) => {
            return Err(PushError::Unsupported(format!("content encoding `{other}` is not supported; use gzip, deflate or snappy")))
        }
    })
}

/// Decodes a push body by its content type and encoding.
pub fn decode(content_type: &str, content_encoding: Option<&str>, body: &[u8]) -> Result<LogBatch, PushError> {
    let body = decompress(content_encoding, body)?;
    if content_type.starts_with("application/x-protobuf") {
        // Loki's clients Snappy-compress protobuf bodies without saying so in a header.
        let raw = if content_encoding.is_some_and(|encoding| encoding == "snappy") { body.into_owned() } else { unsnappy(&body)? };
        parse_protobuf(&raw)
    } else {
        parse_json(&body)
    }
}

fn inflate(reader: impl Read) -> Result<Vec<u8>, PushError> {
    let mut out = Vec::new();
    let limit = MAX_DECODED_BYTES as u64 + 1;
    #[allow(clippy::disallowed_methods, reason = "bounded by take(MAX_DECODED_BYTES + 1)")]
    reader.take(limit).read_to_end(&mut out).map_err(|error| PushError::Malformed(format!("cannot decompress body: {error}")))?;
    if out.len() > MAX_DECODED_BYTES {
        return Err(PushError::TooLarge);
    }
    Ok(out)
}

fn unsnappy(body: &[u8]) -> Result<Vec<u8>, PushError> {
    let length = snap::raw::decompress_len(body).map_err(|error| PushError::Malformed(format!("invalid snappy body: {error}")))?;
    if length > MAX_DECODED_BYTES {
        return Err(PushError::TooLarge);
    }
    snap::raw::Decoder::new().decompress_vec(body).map_err(|error| PushError::Malformed(format!("invalid snappy body: {error}")))
}

fn parse_protobuf(body: &[u8]) -> Result<LogBatch, PushError> {
    let request = <ProtoPushRequest as prost::Message>::decode(body)
        .map_err(|error| PushError::Malformed(format!("invalid protobuf push body: {error}")))?;
    let mut batch = LogBatch::default();
    for stream in request.streams {
        let labels = vigil_logql::parse_labels(&stream.labels)
            .map_err(|error| PushError::Malformed(format!("invalid stream labels `{}`: {error}", stream.labels)))?;
        let entries = stream
            .entries
            .into_iter()
            .map(|entry| {
                let at = entry.timestamp.map_or(0, |ts| ts.seconds.saturating_mul(1000) + i64::from(ts.nanos) / 1_000_000);
                (at, entry.line)
            })
            .collect();
        batch.streams.push(LogStream { labels, entries });
    }
    Ok(batch)
}

/// Parses a JSON push body into a batch.
pub fn parse_json(body: &[u8]) -> Result<LogBatch, PushError> {
    let request: PushRequest = serde_json::from_slice(body).map_err(|error| PushError::Malformed(format!("invalid push body: {error}")))?;
    let mut batch = LogBatch::default();
    for stream in request.streams {
        let mut entries = Vec::with_capacity(stream.values.len());
        for PushEntry(timestamp, line, _) in stream.values {
            let nanos: i128 = timestamp
                .trim()
                .parse()
                .map_err(|_| PushError::Malformed(format!("invalid timestamp `{timestamp}`, expected Unix nanoseconds as a string")))?;
            let millis =
                i64::try_from(nanos / 1_000_000).map_err(|_| PushError::Malformed(format!("timestamp `{timestamp}` is out of range")))?;
            entries.push((millis, line));
        }
        batch.streams.push(LogStream { labels: stream.stream, entries });
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_push_bodies_parse_or_say_why_not() {
        let body = br#"{"streams":[{"stream":{"app":"api"},"values":[["1700000000123456789","a"],["1700000000200000000","b",{"trace_id":"x"}]]}]}"#;
        let batch = parse_json(body).expect("valid");
        assert_eq!(batch.lines(), 2);
        assert_eq!(batch.streams[0].entries[0], (1_700_000_000_123, "a".to_owned()));
        assert_eq!(batch.streams[0].labels["app"], "api");
        let cases: &[(&[u8], &str)] = &[
            (b"{", "invalid push body"),
            (br#"{"streams":[{"stream":{},"values":[["soon","a"]]}]}"#, "invalid timestamp `soon`"),
            (br#"{"streams":[{"values":[]}]}"#, "invalid push body: missing field `stream`"),
        ];
        for (body, message) in cases {
            match parse_json(body) {
                Err(PushError::Malformed(error)) => assert!(error.starts_with(message), "{error}"),
                other => panic!("expected a malformed body, got {other:?}"),
            }
        }
    }

    #[test]
    fn compressed_bodies_are_bounded() {
        let bomb = vec![b' '; MAX_DECODED_BYTES + 10];
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, &bomb).expect("compress");
        let gzipped = encoder.finish().expect("finish");
        assert!(gzipped.len() < MAX_BODY_BYTES, "small on the wire");
        assert_eq!(decode("application/json", Some("gzip"), &gzipped).err(), Some(PushError::TooLarge));
        assert!(matches!(decode("application/json", Some("br"), b"x"), Err(PushError::Unsupported(_))));
        assert!(matches!(decode("application/x-protobuf", None, b"not snappy"), Err(PushError::Malformed(_))));
    }
}
