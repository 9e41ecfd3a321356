//! The public status page's words and numbers, in Atlassian Statuspage's vocabulary: a
//! component's status from its monitors, its open incidents and maintenance; the page's
//! overall indicator; an incident's impact; and uptime per day.

use crate::hysteresis::Health;
use crate::incident::Severity;
use crate::time::Timestamp;
use crate::uptime::{compute, Coverage, StateChange};

/// A component's status, worst last (maintenance aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    /// Statuspage's API name.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    /// In words, for people.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }
}

/// What an incident's severity means to the public (Statuspage's `impact`).
pub fn impact(severity: Severity) -> &'static str {
    match severity {
        Severity::Sev1 => "critical",
        Severity::Sev2 => "major",
        Severity::Sev3 => "minor",
    }
}

/// A component's status: from its monitors (all down: major outage; some: partial;
/// unknown ones count as neither), made worse by the open incidents affecting it
/// (SEV-1 major, SEV-2 partial, SEV-3 degraded), and under maintenance when a maintenance
/// window covers it and nothing is worse.
pub fn component_status(monitors: &[Health], incidents: &[Severity], maintenance: bool) -> ComponentStatus {
    let down = monitors.iter().filter(|health| **health == Health::Down).count();
    let known = monitors.iter().filter(|health| **health != Health::Unknown).count();
    let from_monitors = match down {
        0 => ComponentStatus::Operational,
        down if down == known => ComponentStatus::MajorOutage,
        _ => ComponentStatus::PartialOutage,
    };
    let from_incidents = incidents
        .iter()
        .map(|severity| match severity {
            Severity::Sev1 => ComponentStatus::MajorOutage,
            Severity::Sev2 => ComponentStatus::PartialOutage,
            Severity::Sev3 => ComponentStatus::DegradedPerformance,
        })
        .max()
        .unwrap_or(ComponentStatus::Operational);
    let worst = from_monitors.max(from_incidents);
    if maintenance && worst <= ComponentStatus::UnderMaintenance {
        ComponentStatus::UnderMaintenance
    } else {
        worst
    }
}

/// The page's overall `status`: Statuspage's `indicator` and `description`.
pub fn page_status(components: &[ComponentStatus]) -> (&'static str, &'static str) {
    match components.iter().copied().max().unwrap_or(ComponentStatus::Operational) {
        ComponentStatus::MajorOutage => ("critical", "Major System Outage"),
        ComponentStatus::PartialOutage => ("major", "Partial System Outage"),
        ComponentStatus::DegradedPerformance => ("minor", "Minor Service Outage"),
        ComponentStatus::UnderMaintenance => ("maintenance", "Service Under Maintenance"),
        ComponentStatus::Operational => ("none", "All Systems Operational"),
    }
}

const DAY: i64 = 86_400_000;

/// Uptime (percent, `None` when nothing of the day is known) of each of the `days` UTC
/// days ending with the one holding `now`, oldest first; the current day counts up to
/// `now`. `changes` must be sorted and include the last change before the first day.
pub fn daily_uptime(changes: &[StateChange], coverage: &[Coverage], days: u32, now: Timestamp) -> Vec<Option<f64>> {
    let today = now.0.div_euclid(DAY) * DAY;
    (0..i64::from(days))
        .rev()
        .map(|back| {
            let start = today - back * DAY;
            let end = (start + DAY).min(now.0);
            (end > start).then(|| compute(changes, coverage, Timestamp(start), Timestamp(end)).uptime_percent).flatten()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    #[test]
    fn component_status_table() {
        use Health::{Down, Unknown, Up};
        let cases: &[(&[Health], &[Severity], bool, ComponentStatus)] = &[
            (&[Up, Up], &[], false, Operational),
            (&[Up, Down], &[], false, PartialOutage),
            (&[Down, Down], &[], false, MajorOutage),
            (&[Down, Unknown], &[], false, MajorOutage),
            (&[Unknown], &[], false, Operational),
            (&[Up], &[Severity::Sev3], false, DegradedPerformance),
            (&[Up], &[Severity::Sev3, Severity::Sev1], false, MajorOutage),
            (&[Up, Down], &[Severity::Sev3], false, PartialOutage),
            (&[Up], &[], true, UnderMaintenance),
            (&[Down], &[], true, MajorOutage),
            (&[Up], &[Severity::Sev2], true, PartialOutage),
        ];
        for (monitors, incidents, maintenance, expected) in cases {
            assert_eq!(component_status(monitors, incidents, *maintenance), *expected, "{monitors:?} {incidents:?} {maintenance}");
        }
    }

    #[test]
    fn the_worst_component_sets_the_page() {
        assert_eq!(page_status(&[]), ("none", "All Systems Operational"));
        assert_eq!(page_status(&[Operational, UnderMaintenance]), ("maintenance", "Service Under Maintenance"));
        assert_eq!(page_status(&[DegradedPerformance, UnderMaintenance]), ("minor", "Minor Service Outage"));
        assert_eq!(page_status(&[PartialOutage, Operational]), ("major", "Partial System Outage"));
        assert_eq!(page_status(&[PartialOutage, MajorOutage]), ("critical", "Major System Outage"));
    }

    #[test]
    fn days_split_at_utc_midnight() {
        // Watched from day 0 on; down from 06:00 to 12:00 of day 1; now is 12:00 of day 2.
        let change = |at: i64, health| StateChange { at: Timestamp(at), health };
        let changes = [change(0, Health::Up), change(DAY + DAY / 4, Health::Down), change(DAY + DAY / 2, Health::Up)];
        let coverage = [Coverage { start: Timestamp(0), end: Timestamp(3 * DAY) }];
        let days = daily_uptime(&changes, &coverage, 4, Timestamp(2 * DAY + DAY / 2));
        assert_eq!(days, [None, Some(100.0), Some(75.0), Some(100.0)], "the day before watching is unknown");
    }
}
