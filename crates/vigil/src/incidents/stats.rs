//! `vigil incidents stats`: counts by severity and service, and the response times as
//! median and 90th percentile (nearest rank):
//! - MTTA, time to acknowledge: from the trigger (the first alert's start, or the
//!   opening of an incident opened by hand) to the first acknowledgement;
//! - MTTR, time to resolve: from the trigger to the resolution;
//! - MTTD, time to detect: from the first sign (a monitor's first failed check) to the
//!   trigger;
//!
//! resolved incidents split by how: by remediation (an action on one of its alerts
//! ran successfully before they resolved), by a human (someone resolved it), or on their
//! own (the alerts cleared and the severity resolves itself); and the escalations that
//! reached their last step without an acknowledgement.

use std::collections::BTreeMap;
use std::time::Duration;

use vigil_core::incident::{percentiles, Percentiles};
use vigil_core::time::format_duration;
use vigil_store::IncidentFacts;

/// A median and a p90.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Times {
    pub count: usize,
    pub median_ms: i64,
    pub p90_ms: i64,
}

impl From<Percentiles> for Times {
    fn from(value: Percentiles) -> Times {
        Times { count: value.count, median_ms: value.median, p90_ms: value.p90 }
    }
}

/// The statistics of some incidents.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Stats {
    pub incidents: usize,
    pub open: usize,
    pub by_severity: BTreeMap<String, usize>,
    pub by_service: BTreeMap<String, usize>,
    pub mtta: Option<Times>,
    pub mttr: Option<Times>,
    pub mttd: Option<Times>,
    /// Resolved incidents by how: `remediation`, `human`, `self`.
    pub resolved_by: BTreeMap<String, usize>,
    /// MTTR of each of those.
    pub mttr_by: BTreeMap<String, Times>,
    pub escalations_exhausted: usize,
}

/// How a resolved incident ended.
pub fn resolved_how(facts: &IncidentFacts) -> Option<&'static str> {
    let by = facts.record.resolved_by.as_deref()?;
    Some(if facts.remediated {
        "remediation"
    } else if by == "vigil" {
        "self"
    } else {
        "human"
    })
}

pub fn compute(facts: &[IncidentFacts]) -> Stats {
    let mut stats = Stats {
        incidents: facts.len(),
        open: facts.iter().filter(|facts| facts.record.is_open()).count(),
        by_severity: BTreeMap::new(),
        by_service: BTreeMap::new(),
        mtta: None,
        mttr: None,
        mttd: None,
        resolved_by: BTreeMap::new(),
        mttr_by: BTreeMap::new(),
        escalations_exhausted: facts.iter().filter(|facts| facts.exhausted).count(),
    };
    let (mut mtta, mut mttr, mut mttd) = (Vec::new(), Vec::new(), Vec::new());
    let mut mttr_by: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for facts in facts {
        let record = &facts.record;
        *stats.by_severity.entry(record.severity.as_str().to_owned()).or_default() += 1;
        *stats.by_service.entry(record.service.clone().unwrap_or_else(|| "(none)".to_owned())).or_default() += 1;
        let trigger = record.triggered_at.0;
        if let Some(at) = record.acknowledged_at {
            mtta.push((at.0 - trigger).max(0));
        }
        if let Some(at) = record.resolved_at {
            let took = (at.0 - trigger).max(0);
            mttr.push(took);
            if let Some(how) = resolved_how(facts) {
                *stats.resolved_by.entry(how.to_owned()).or_default() += 1;
                mttr_by.entry(how).or_default().push(took);
            }
        }
        if let Some(at) = record.first_signal_at {
            mttd.push((trigger - at.0).max(0));
        }
    }
    stats.mtta = percentiles(&mtta).map(Times::from);
    stats.mttr = percentiles(&mttr).map(Times::from);
    stats.mttd = percentiles(&mttd).map(Times::from);
    stats.mttr_by = mttr_by.into_iter().filter_map(|(how, times)| Some((how.to_owned(), percentiles(&times)?.into()))).collect();
    stats
}

fn shown(times: Option<&Times>) -> String {
    match times {
        Some(times) => format!(
            "median {}, p90 {} (of {})",
            format_duration(Duration::from_millis(times.median_ms.max(0) as u64)),
            format_duration(Duration::from_millis(times.p90_ms.max(0) as u64)),
            times.count
        ),
        None => "no data".to_owned(),
    }
}

/// The statistics as text.
pub fn text(stats: &Stats, days: u32) -> String {
    let mut out = format!("Incidents in the last {days} days: {} ({} open)\n", stats.incidents, stats.open);
    let list = |map: &BTreeMap<String, usize>| map.iter().map(|(name, count)| format!("{name} {count}")).collect::<Vec<_>>().join(", ");
    out.push_str(&format!("  by severity: {}\n", list(&stats.by_severity)));
    out.push_str(&format!("  by service:  {}\n", list(&stats.by_service)));
    out.push_str(&format!("MTTA (trigger → first acknowledgement): {}\n", shown(stats.mtta.as_ref())));
    out.push_str(&format!("MTTR (trigger → resolved):              {}\n", shown(stats.mttr.as_ref())));
    out.push_str(&format!("MTTD (first sign → alert):              {}\n", shown(stats.mttd.as_ref())));
    for how in ["remediation", "human", "self"] {
        let count = stats.resolved_by.get(how).copied().unwrap_or(0);
        let label = match how {
            "remediation" => "resolved by remediation",
            "human" => "resolved by a human",
            _ => "resolved on their own",
        };
        out.push_str(&format!("  {label}: {count}; MTTR {}\n", shown(stats.mttr_by.get(how))));
    }
    out.push_str(&format!("Escalations that reached their last step: {}\n", stats.escalations_exhausted));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::incident::{Severity, Status};
    use vigil_core::Timestamp;
    use vigil_store::IncidentRecord;

    const MINUTE: i64 = 60_000;

    fn facts(service: &str, triggered: i64, ack: Option<i64>, resolved: Option<(i64, &str)>, remediated: bool) -> IncidentFacts {
        IncidentFacts {
            record: IncidentRecord {
                id: 1,
                title: "t".to_owned(),
                severity: Severity::Sev2,
                status: if resolved.is_some() { Status::Resolved } else { Status::Investigating },
                service: Some(service.to_owned()),
                escalation: None,
                opened_at: Timestamp(triggered),
                opened_by: "alert:x".to_owned(),
                triggered_at: Timestamp(triggered),
                first_signal_at: Some(Timestamp(triggered - MINUTE)),
                acknowledged_at: ack.map(Timestamp),
                acknowledged_by: ack.map(|_| "alice".to_owned()),
                resolved_at: resolved.map(|(at, _)| Timestamp(at)),
                resolved_by: resolved.map(|(_, by)| by.to_owned()),
                alerts_firing: 0,
                alerts_resolved_at: None,
                last_update_at: None,
                update_reminded_at: None,
                confirm_reminded_at: None,
                last_activity_at: Timestamp(triggered),
            },
            exhausted: false,
            remediated,
        }
    }

    /// Hand-checked: acknowledgements after 2, 4, 6 and 30 minutes have a median of 4
    /// (nearest rank: the 2nd of 4) and a p90 of 30 (the 4th).
    #[test]
    fn response_times_are_nearest_rank_percentiles() {
        let all = [
            facts("api", 0, Some(2 * MINUTE), Some((10 * MINUTE, "alice")), false),
            facts("api", 0, Some(4 * MINUTE), Some((20 * MINUTE, "vigil")), true),
            facts("web", 0, Some(6 * MINUTE), Some((40 * MINUTE, "vigil")), false),
            facts("web", 0, Some(30 * MINUTE), None, false),
        ];
        let stats = compute(&all);
        assert_eq!((stats.incidents, stats.open), (4, 1));
        assert_eq!(stats.mtta, Some(Times { count: 4, median_ms: 4 * MINUTE, p90_ms: 30 * MINUTE }));
        assert_eq!(stats.mttr, Some(Times { count: 3, median_ms: 20 * MINUTE, p90_ms: 40 * MINUTE }));
        assert_eq!(stats.mttd, Some(Times { count: 4, median_ms: MINUTE, p90_ms: MINUTE }));
        let by: Vec<(&str, usize)> = stats.resolved_by.iter().map(|(how, count)| (how.as_str(), *count)).collect();
        assert_eq!(by, [("human", 1), ("remediation", 1), ("self", 1)]);
        assert_eq!(stats.mttr_by["remediation"].median_ms, 20 * MINUTE);
        assert_eq!(stats.by_service["web"], 2);
        assert!(text(&stats, 30).contains("median 4m, p90 30m (of 4)"), "{}", text(&stats, 30));
    }

    #[test]
    fn no_incidents_no_times() {
        let stats = compute(&[]);
        assert_eq!((stats.mtta, stats.mttr, stats.mttd), (None, None, None));
        assert!(text(&stats, 7).contains("no data"));
    }
}
