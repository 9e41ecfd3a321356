//! Rotations across time zones and daylight-saving changes, layers with restrictions,
//! overrides, and the final schedule against asking minute by minute.

use jiff::civil::date;

use super::*;

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("time zone")
}

/// Milliseconds of a UTC date and time.
fn utc(year: i16, month: i8, day: i8, hour: i8, minute: i8) -> i64 {
    TimeZone::UTC.to_timestamp(date(year, month, day).at(hour, minute, 0, 0)).expect("utc").as_millisecond()
}

/// Milliseconds of a local date and time in `zone` (compatible disambiguation).
fn local(name: &str, year: i16, month: i8, day: i8, hour: i8, minute: i8) -> i64 {
    zone(name).to_timestamp(date(year, month, day).at(hour, minute, 0, 0)).expect("local").as_millisecond()
}

fn layer(members: &[&str], turn: Turn, start: i64, zone_name: &str) -> Layer {
    Layer { members: members.iter().map(|name| (*name).to_owned()).collect(), turn, start, zone: zone(zone_name), restrictions: Vec::new() }
}

fn who(schedule: &Schedule, at: i64) -> Option<String> {
    schedule.who(&[], at).map(|on_call| on_call.person)
}

/// Each case: a one-layer schedule, and (moment, who is on call).
#[test]
fn rotations_hand_off_at_their_local_time_through_daylight_saving() {
    const DAY: Turn = Turn::Days(1);
    const WEEK: Turn = Turn::Days(7);
    type Case = (&'static str, Layer, Vec<(i64, &'static str)>);
    let cases: Vec<Case> = vec![
        (
            "weekly, Monday 09:00 UTC",
            layer(&["alice", "bob"], WEEK, utc(2026, 11, 30, 9, 0), "UTC"),
            vec![
                (utc(2026, 11, 30, 9, 0), "alice"),
                (utc(2026, 12, 7, 8, 59), "alice"),
                (utc(2026, 12, 7, 9, 0), "bob"),
                (utc(2026, 12, 14, 9, 0), "alice"),
                // Before the start: the turns before it, counted back.
                (utc(2026, 11, 30, 8, 59), "bob"),
                (utc(2025, 12, 1, 12, 0), "alice"),
            ],
        ),
        (
            "daily 09:00 Berlin: 08:00 UTC in winter, 07:00 UTC after the spring change",
            layer(&["alice", "bob", "carol"], DAY, local("Europe/Berlin", 2026, 3, 27, 9, 0), "Europe/Berlin"),
            vec![
                (utc(2026, 3, 27, 8, 0), "alice"),
                (utc(2026, 3, 28, 7, 59), "alice"),
                (utc(2026, 3, 28, 8, 0), "bob"),
                // Sunday 29 March: clocks go from 02:00 to 03:00; 09:00 is 07:00 UTC.
                (utc(2026, 3, 29, 6, 59), "bob"),
                (utc(2026, 3, 29, 7, 0), "carol"),
                (utc(2026, 3, 30, 7, 0), "alice"),
            ],
        ),
        (
            "daily 09:00 New York around the autumn change (01:00-02:00 twice)",
            layer(&["alice", "bob"], DAY, local("America/New_York", 2026, 10, 31, 9, 0), "America/New_York"),
            vec![
                (utc(2026, 10, 31, 13, 0), "alice"),
                (utc(2026, 11, 1, 13, 59), "alice"),
                (utc(2026, 11, 1, 14, 0), "bob"),
                (utc(2026, 11, 2, 14, 0), "alice"),
            ],
        ),
        (
            "daily 02:30 New York: on 8 March 2026 02:30 does not exist, the handoff is at 03:30",
            layer(&["alice", "bob"], DAY, local("America/New_York", 2026, 3, 7, 2, 30), "America/New_York"),
            vec![
                (utc(2026, 3, 7, 7, 30), "alice"),
                (utc(2026, 3, 8, 7, 29), "alice"),
                (utc(2026, 3, 8, 7, 30), "bob"),
                (utc(2026, 3, 9, 6, 29), "bob"),
                (utc(2026, 3, 9, 6, 30), "alice"),
            ],
        ),
        (
            "12h turns count elapsed time: across the change they hand off an hour off the clock",
            layer(&["alice", "bob"], Turn::Fixed(12 * 3_600_000), local("Europe/Berlin", 2026, 3, 28, 9, 0), "Europe/Berlin"),
            vec![
                (utc(2026, 3, 28, 8, 0), "alice"),
                (utc(2026, 3, 28, 20, 0), "bob"),
                (utc(2026, 3, 29, 8, 0), "alice"),
                (utc(2026, 3, 29, 7, 59), "bob"),
            ],
        ),
        (
            "weekly from Sunday 18:00 Sydney",
            layer(&["a", "b", "c"], WEEK, local("Australia/Sydney", 2026, 4, 5, 18, 0), "Australia/Sydney"),
            vec![
                (local("Australia/Sydney", 2026, 4, 5, 18, 0), "a"),
                (local("Australia/Sydney", 2026, 4, 12, 17, 59), "a"),
                (local("Australia/Sydney", 2026, 4, 12, 18, 0), "b"),
                (local("Australia/Sydney", 2026, 4, 26, 18, 0), "a"),
            ],
        ),
    ];
    for (name, layer, expected) in cases {
        let schedule = Schedule { layers: vec![layer], overrides: Vec::new() };
        for (at, person) in expected {
            assert_eq!(who(&schedule, at).as_deref(), Some(person), "{name}: at {}", jiff::Timestamp::from_millisecond(at).expect("at"));
        }
    }
}

/// A follow-the-sun schedule: a UTC weekly base layer, a business-hours layer over it in
/// Berlin on weekdays, an override over both.
#[test]
fn later_layers_cover_their_hours_and_overrides_cover_everything() {
    let mut business = layer(&["berlin-1", "berlin-2"], Turn::Days(1), local("Europe/Berlin", 2026, 12, 7, 9, 0), "Europe/Berlin");
    // Monday to Friday, 09:00-17:00 local.
    business.restrictions = (0..5).map(|day| Restriction { start: day * 1_440 + 9 * 60, end: day * 1_440 + 17 * 60 }).collect();
    let schedule = Schedule {
        layers: vec![layer(&["alice", "bob"], Turn::Days(7), utc(2026, 12, 7, 0, 0), "UTC"), business],
        overrides: vec![Override { person: "carol".into(), from: utc(2026, 12, 9, 12, 0), to: utc(2026, 12, 9, 14, 0) }],
    };
    let cases = [
        (utc(2026, 12, 7, 7, 59), Some("alice"), None),
        (utc(2026, 12, 7, 8, 0), Some("berlin-1"), Some(1)),
        (utc(2026, 12, 7, 15, 59), Some("berlin-1"), Some(1)),
        (utc(2026, 12, 7, 16, 0), Some("alice"), Some(0)),
        (utc(2026, 12, 8, 8, 0), Some("berlin-2"), Some(1)),
        (utc(2026, 12, 9, 12, 0), Some("carol"), None),
        (utc(2026, 12, 9, 14, 0), Some("berlin-1"), Some(1)),
        (utc(2026, 12, 12, 10, 0), Some("alice"), Some(0)),
        (utc(2026, 12, 14, 10, 0), Some("berlin-2"), Some(1)),
        (utc(2026, 12, 19, 10, 0), Some("bob"), Some(0)),
    ];
    let runtime = [Override { person: "dave".into(), from: utc(2026, 12, 12, 9, 0), to: utc(2026, 12, 12, 11, 0) }];
    for (at, person, layer) in cases {
        let on_call = schedule.who(&[], at);
        assert_eq!(on_call.as_ref().map(|found| found.person.as_str()), person, "at {at}");
        if let (Some(on_call), Some(layer)) = (on_call, layer) {
            assert_eq!(on_call.layer, Some(layer), "at {at}");
        }
    }
    // An override given at run time beats the config.
    assert_eq!(schedule.who(&runtime, utc(2026, 12, 12, 10, 0)).map(|on_call| on_call.person).as_deref(), Some("dave"));
    // Nobody covers a restricted-only schedule outside its hours.
    let only_business = Schedule { layers: vec![schedule.layers[1].clone()], overrides: Vec::new() };
    assert_eq!(who(&only_business, utc(2026, 12, 12, 10, 0)), None);
}

/// The final schedule, joined stretch by stretch, says what asking every minute says.
#[test]
fn shifts_agree_with_asking_every_minute() {
    let mut business = layer(&["b1", "b2", "b3"], Turn::Days(1), local("America/New_York", 2026, 3, 2, 9, 0), "America/New_York");
    business.restrictions = vec![Restriction { start: 9 * 60, end: 17 * 60 }, Restriction { start: 4 * 1_440 + 18 * 60, end: 9 * 60 }];
    let schedule = Schedule {
        layers: vec![layer(&["a1", "a2"], Turn::Fixed(8 * 3_600_000), utc(2026, 3, 1, 3, 0), "UTC"), business],
        overrides: vec![Override { person: "o".into(), from: utc(2026, 3, 8, 6, 30), to: utc(2026, 3, 8, 8, 15) }],
    };
    // Two weeks around New York's spring change (8 March).
    let (from, to) = (utc(2026, 3, 2, 0, 0), utc(2026, 3, 16, 0, 0));
    let shifts = schedule.shifts(&[], from, to);
    assert!(shifts.windows(2).all(|pair| pair[0].to <= pair[1].from), "in order, not overlapping");
    let mut at = from;
    while at < to {
        let expected = schedule.who(&[], at);
        let found = shifts.iter().find(|shift| shift.from <= at && at < shift.to);
        assert_eq!(
            found.map(|shift| (&shift.person, shift.layer)),
            expected.as_ref().map(|on_call| (&on_call.person, on_call.layer)),
            "at {at}"
        );
        at += MINUTE;
    }
    assert!(shifts.len() > 30, "{}", shifts.len());
}

#[test]
fn overlapping_overrides_are_found() {
    let item = |from: i64, to: i64| Override { person: "x".into(), from, to };
    assert_eq!(overlapping(&[item(0, 10), item(10, 20), item(5, 6), item(30, 40), item(35, 36)]), [(0, 2), (3, 4)]);
}
