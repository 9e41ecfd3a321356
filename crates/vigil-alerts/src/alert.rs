//! What an alert is to the lifecycle: its label set's fingerprint (Prometheus's, so
//! Vigil's API gives the ids Alertmanager would), and flap detection.

use std::collections::BTreeMap;

const FNV_OFFSET: u64 = 14_695_981_039_346_656_037;
const FNV_PRIME: u64 = 1_099_511_628_211;
/// Prometheus's separator byte between names and values.
const SEPARATOR: u8 = 0xff;

fn fnv_add(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// The fingerprint of a label set, as Prometheus's `LabelSet.Fingerprint` computes it
/// (FNV-1a over each name and value in name order, each followed by 0xff).
pub fn fingerprint(labels: &BTreeMap<String, String>) -> u64 {
    labels.iter().fold(FNV_OFFSET, |hash, (name, value)| {
        let hash = fnv_add(fnv_add(hash, name.as_bytes()), &[SEPARATOR]);
        fnv_add(fnv_add(hash, value.as_bytes()), &[SEPARATOR])
    })
}

/// A fingerprint as Alertmanager prints it: 16 hex digits.
pub fn fingerprint_hex(labels: &BTreeMap<String, String>) -> String {
    format!("{:016x}", fingerprint(labels))
}

/// Reads a printed fingerprint back.
pub fn parse_fingerprint(text: &str) -> Option<u64> {
    u64::from_str_radix(text, 16).ok()
}

/// Flap detection: an alert whose state changed more than `max_changes` times within
/// `window_ms` is flapping, and stays so until it has changed no more than that within
/// a whole window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flapping {
    pub max_changes: usize,
    pub window_ms: i64,
}

impl Flapping {
    /// Whether an alert that changed state at `changes` (any order) flaps at `now_ms`.
    pub fn is_flapping(&self, changes: &[i64], now_ms: i64) -> bool {
        let since = now_ms.saturating_sub(self.window_ms);
        changes.iter().filter(|at| **at > since && **at <= now_ms).count() > self.max_changes
    }
}
