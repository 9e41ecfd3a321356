//! Incidents in words and numbers: severities with their definitions, statuses, roles,
//! when a stakeholder update is due, and the response-time statistics (MTTA, MTTR, MTTD:
//! median and 90th percentile by the nearest-rank method).

use std::fmt;

/// How bad an incident is, by its impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Sev1,
    Sev2,
    Sev3,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Sev1, Severity::Sev2, Severity::Sev3];

    /// `SEV-1`, `sev1`, `SEV1` or `1`.
    pub fn parse(text: &str) -> Option<Severity> {
        let text = text.trim().to_ascii_uppercase();
        match text.trim_start_matches("SEV").trim_start_matches('-') {
            "1" => Some(Severity::Sev1),
            "2" => Some(Severity::Sev2),
            "3" => Some(Severity::Sev3),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Sev1 => "SEV-1",
            Severity::Sev2 => "SEV-2",
            Severity::Sev3 => "SEV-3",
        }
    }

    /// What it means, by impact.
    pub fn definition(self) -> &'static str {
        match self {
            Severity::Sev1 => "critical: the service is down or losing data for many users; all hands, updates every 15 minutes",
            Severity::Sev2 => "major: a core function is degraded or down for some users; the on-call team, updates every 30 minutes",
            Severity::Sev3 => "minor: limited impact or a workaround exists; handled in working hours",
        }
    }
}

impl serde::Serialize for Severity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What a route or receiver says about the alerts it takes: open (or join) an incident,
/// or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentSetting {
    Open(IncidentRule),
    Off,
}

/// How an alert opens an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRule {
    pub severity: Severity,
    /// The service it is about; by default the alert's `service` label (or its name).
    pub service: Option<String>,
    /// The escalation policy that pages for it; by default `incidents.default-escalation`.
    pub escalation: Option<String>,
}

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl Status {
    pub fn parse(text: &str) -> Option<Status> {
        match text.trim().to_ascii_lowercase().as_str() {
            "investigating" => Some(Status::Investigating),
            "identified" => Some(Status::Identified),
            "monitoring" => Some(Status::Monitoring),
            "resolved" => Some(Status::Resolved),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Investigating => "investigating",
            Status::Identified => "identified",
            Status::Monitoring => "monitoring",
            Status::Resolved => "resolved",
        }
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Status {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A role in an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Commander,
    Communicator,
    Scribe,
    Responder,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text.trim().to_ascii_lowercase().as_str() {
            "commander" | "ic" | "incident-commander" => Some(Role::Commander),
            "communicator" | "comms" => Some(Role::Communicator),
            "scribe" => Some(Role::Scribe),
            "responder" => Some(Role::Responder),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::Communicator => "communicator",
            Role::Scribe => "scribe",
            Role::Responder => "responder",
        }
    }
}

impl serde::Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// How often stakeholders hear about an incident of one severity: the first update
/// within `first` of opening, then every `every` (milliseconds); `None`: no cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    pub first: Option<i64>,
    pub every: Option<i64>,
}

impl Cadence {
    /// The defaults: SEV-1 within 5 minutes then every 15, SEV-2 within 5 then every 30,
    /// SEV-3 none.
    pub fn default_for(severity: Severity) -> Cadence {
        const MINUTE: i64 = 60_000;
        match severity {
            Severity::Sev1 => Cadence { first: Some(5 * MINUTE), every: Some(15 * MINUTE) },
            Severity::Sev2 => Cadence { first: Some(5 * MINUTE), every: Some(30 * MINUTE) },
            Severity::Sev3 => Cadence { first: None, every: None },
        }
    }

    /// When the next update is due for an incident opened at `opened`, given the last
    /// update sent (if any).
    pub fn next_due(&self, opened: i64, last_update: Option<i64>) -> Option<i64> {
        match last_update {
            None => self.first.map(|first| opened.saturating_add(first)),
            Some(last) => self.every.map(|every| last.saturating_add(every)),
        }
    }
}

/// Median and 90th percentile of some durations (milliseconds), nearest rank: the
/// smallest value with at least that share of the values at or below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    pub count: usize,
    pub median: i64,
    pub p90: i64,
}

/// The percentiles of `durations`; `None` when there are none.
pub fn percentiles(durations: &[i64]) -> Option<Percentiles> {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    let rank = |share: usize| {
        // ceil(share / 100 × n), at least 1.
        let rank = (share * sorted.len()).div_ceil(100).max(1);
        sorted[rank - 1]
    };
    (!sorted.is_empty()).then(|| Percentiles { count: sorted.len(), median: rank(50), p90: rank(90) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_read_back() {
        for severity in Severity::ALL {
            assert_eq!(Severity::parse(severity.as_str()), Some(severity));
        }
        assert_eq!(Severity::parse("sev2"), Some(Severity::Sev2));
        assert_eq!(Severity::parse("3"), Some(Severity::Sev3));
        assert_eq!(Severity::parse("SEV-4"), None);
        assert_eq!(Status::parse("Identified"), Some(Status::Identified));
        assert_eq!(Role::parse("IC"), Some(Role::Commander));
        assert_eq!(Role::parse("owner"), None);
    }

    #[test]
    fn updates_come_at_the_cadence() {
        const MINUTE: i64 = 60_000;
        let sev1 = Cadence::default_for(Severity::Sev1);
        assert_eq!(sev1.next_due(0, None), Some(5 * MINUTE));
        assert_eq!(sev1.next_due(0, Some(4 * MINUTE)), Some(19 * MINUTE));
        assert_eq!(Cadence::default_for(Severity::Sev2).next_due(0, Some(MINUTE)), Some(31 * MINUTE));
        assert_eq!(Cadence::default_for(Severity::Sev3).next_due(0, None), None);
    }

    /// Nearest rank, on small and tied samples.
    #[test]
    fn percentiles_by_nearest_rank() {
        type Case = (&'static [i64], Option<(usize, i64, i64)>);
        let cases: &[Case] = &[
            (&[], None),
            (&[7], Some((1, 7, 7))),
            (&[4, 1, 3, 2], Some((4, 2, 4))),
            (&[10, 20, 30, 40, 50, 60, 70, 80, 90, 100], Some((10, 50, 90))),
            (&[5, 5, 5, 100], Some((4, 5, 100))),
            (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], Some((11, 6, 10))),
        ];
        for (durations, expected) in cases {
            let found = percentiles(durations).map(|found| (found.count, found.median, found.p90));
            assert_eq!(found, *expected, "{durations:?}");
        }
    }
}
