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

/// Flap detection. An alert flaps once it has changed state (fired or resolved) more
/// than `max_changes` times within `window_ms`; it stays flapping until it has held one
/// state for `settle_ms`. Changes exactly `window_ms` apart are not in one window;
/// a hold of exactly `settle_ms` settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flapping {
    pub max_changes: usize,
    pub window_ms: i64,
    pub settle_ms: i64,
}

impl Flapping {
    /// Whether an alert that changed state at `changes` (any order) is flapping at
    /// `now_ms`. Only changes up to `now_ms` count.
    pub fn is_flapping(&self, changes: &[i64], now_ms: i64) -> bool {
        let mut times: Vec<i64> = changes.iter().copied().filter(|at| *at <= now_ms).collect();
        times.sort_unstable();
        let Some(&last) = times.last() else { return false };
        if now_ms - last >= self.settle_ms {
            return false;
        }
        // The unsettled run: the changes since the last hold of `settle_ms`.
        let run_start = times.windows(2).rposition(|pair| pair[1] - pair[0] >= self.settle_ms).map_or(0, |index| index + 1);
        // Flapping if, at any change of the run, the window ending there held too many.
        let mut first = 0;
        for (index, &at) in times.iter().enumerate() {
            while at - times[first] >= self.window_ms {
                first += 1;
            }
            if index >= run_start && index + 1 - first > self.max_changes {
                return true;
            }
        }
        false
    }
}
