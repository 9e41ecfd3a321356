//! Probes: one check of one target, returning what was observed, and when it failed
//! why (`failure.rs`: a stable code and a sentence). Probes never decide health;
//! conditions do that, in `vigil-core`.

pub mod diagnose;
pub mod failure;
pub mod http;
pub mod tcp;
mod tls;

pub use failure::{FailureCode, ProbeFailure, Progress};

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use vigil_core::condition::CheckFacts;
use vigil_core::Timestamp;

pub use self::http::{HttpClient, HttpRequest};

/// Time spent in each phase of a check; a phase that did not happen is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Timings {
    #[serde(serialize_with = "opt_millis")]
    pub dns: Option<Duration>,
    #[serde(serialize_with = "opt_millis")]
    pub connect: Option<Duration>,
    #[serde(serialize_with = "opt_millis")]
    pub tls: Option<Duration>,
    #[serde(serialize_with = "opt_millis")]
    pub first_byte: Option<Duration>,
}

fn opt_millis<S: serde::Serializer>(duration: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => serializer.serialize_f64(duration.as_secs_f64() * 1000.0),
        None => serializer.serialize_none(),
    }
}

/// What one check observed.
#[derive(Debug, Clone, Default)]
pub struct ProbeResult {
    pub connected: bool,
    pub status: Option<u16>,
    /// The body, capped at [`http::MAX_BODY_BYTES`].
    pub body: Bytes,
    pub body_truncated: bool,
    pub response_time: Duration,
    pub timings: Timings,
    pub address: Option<SocketAddr>,
    pub certificate_expires_at: Option<Timestamp>,
    /// Why the check could not complete, e.g. `tcp.refused: nothing listens on ...`.
    pub failure: Option<ProbeFailure>,
    /// The response headers that say who answered and when to retry: `server`, `via`,
    /// `retry-after` (lowercase names, first value each).
    pub headers: Vec<(String, String)>,
}

impl ProbeResult {
    pub fn facts(&self, now: Timestamp) -> CheckFacts<'_> {
        CheckFacts {
            connected: self.connected,
            status: self.status,
            body: &self.body,
            response_time: self.response_time,
            ip: self.address.map(|address| address.ip()),
            certificate_expires_at: self.certificate_expires_at,
            now,
        }
    }

    /// How far the check got (for what a timeout means).
    pub fn progress(&self, https: bool) -> Progress {
        match (self.address, self.timings.connect, self.timings.tls, self.timings.first_byte) {
            (None, ..) => Progress::Resolving,
            (Some(address), None, ..) => Progress::Connecting(address),
            (Some(address), Some(_), None, _) if https => Progress::Handshaking(address),
            (Some(address), Some(_), _, None) => Progress::Waiting(address),
            (Some(address), ..) => Progress::Reading(address),
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.address.map(|address| address.ip())
    }
}
