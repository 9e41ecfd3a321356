//! Alertmanager's `timeinterval/timeinterval_test.go` (timeIntervalTestCases,
//! timeStringTestCases, the yamlUnmarshal errors), ported as tables.

use crate::interval::{days_of_month, location, months, time_range, weekdays, years, TimeInterval};

/// Go's "02 Jan 06 15:04 -0700" (RFC 822 with a numeric zone), as milliseconds.
fn at(text: &str) -> i64 {
    let text = if text.as_bytes()[1] == b' ' { format!("0{text}") } else { text.to_owned() };
    jiff::fmt::strtime::parse("%d %b %y %H:%M %z", &text)
        .and_then(|parsed| parsed.to_timestamp())
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .as_millisecond()
}

fn interval(setup: impl FnOnce(&mut TimeInterval)) -> TimeInterval {
    let mut interval = TimeInterval::default();
    setup(&mut interval);
    interval
}

#[test]
fn intervals_hold_the_times_alertmanager_says_they_hold() {
    let cases: Vec<(TimeInterval, &[&str], &[&str])> = vec![
        (TimeInterval::default(), &["02 Jan 06 15:04 +0000", "03 Jan 07 10:04 +0000", "04 Jan 06 09:04 +0000"], &[]),
        (
            interval(|i| {
                i.times = Some(vec![(540, 1020)]);
                i.weekdays = Some(vec![(1, 5)]);
            }),
            &["04 May 20 15:04 +0000", "05 May 20 10:04 +0000", "09 Jun 20 09:04 +0000"],
            &["03 May 20 15:04 +0000", "04 May 20 08:59 +0000", "05 May 20 05:00 +0000"],
        ),
        (
            interval(|i| {
                i.days_of_month = Some(vec![(4, 6)]);
                i.months = Some(vec![(4, 4)]);
                i.years = Some(vec![(2020, 2020)]);
            }),
            &["04 Apr 20 15:04 +0000", "05 Apr 20 00:00 +0000", "06 Apr 20 23:05 +0000"],
            &["03 May 18 15:04 +0000", "03 Apr 20 23:59 +0000", "04 Jun 20 23:59 +0000", "06 Apr 19 23:59 +0000", "07 Apr 20 00:00 +0000"],
        ),
        (
            interval(|i| i.days_of_month = Some(vec![(-3, -1)])),
            &["31 Jan 20 15:04 +0000", "30 Jan 20 15:04 +0000", "29 Jan 20 15:04 +0000", "30 Jun 20 00:00 +0000", "29 Feb 20 23:05 +0000"],
            &[
                "03 May 18 15:04 +0000",
                "27 Jan 20 15:04 +0000",
                "03 Apr 20 23:59 +0000",
                "04 Jun 20 23:59 +0000",
                "06 Apr 19 23:59 +0000",
                "07 Apr 20 00:00 +0000",
                "01 Mar 20 00:00 +0000",
            ],
        ),
        (
            interval(|i| {
                i.months = Some(vec![(6, 6)]);
                i.days_of_month = Some(vec![(-31, 31)]);
            }),
            &["30 Jun 20 00:00 +0000", "01 Jun 20 00:00 +0000"],
            &["31 May 20 00:00 +0000", "1 Jul 20 00:00 +0000"],
        ),
        (
            interval(|i| {
                i.times = Some(vec![(540, 1020)]);
                i.weekdays = Some(vec![(1, 5)]);
                i.location = location("Australia/Sydney").ok();
            }),
            &["06 Apr 21 13:00 +1000"],
            &["06 Apr 21 13:00 +0000"],
        ),
        (
            interval(|i| {
                i.times = Some(vec![(540, 1020)]);
                i.weekdays = Some(vec![(1, 5)]);
                i.months = Some(vec![(11, 11)]);
                i.location = location("Australia/Sydney").ok();
            }),
            &["01 Nov 21 09:00 +1100", "31 Oct 21 22:00 +0000"],
            &["31 Oct 21 21:00 +0000"],
        ),
        (
            interval(|i| {
                i.days_of_month = Some(vec![(-1, -1)]);
                i.location = location("America/New_York").ok();
            }),
            &["31 Mar 21 12:00 -0400"],
            &["30 Mar 21 12:00 -0400"],
        ),
    ];
    if location("Australia/Sydney").is_err() {
        panic!("the system's time zone database is needed (Debian's tzdata)");
    }
    for (index, (interval, inside, outside)) in cases.iter().enumerate() {
        for time in *inside {
            assert!(interval.contains(at(time)), "case {index}: {time} should be inside");
        }
        for time in *outside {
            assert!(!interval.contains(at(time)), "case {index}: {time} should be outside");
        }
    }
}

#[test]
fn times_of_day_parse_as_alertmanager_parses_them() {
    type Case = (Option<&'static str>, Option<&'static str>, Result<(i32, i32), &'static str>);
    let cases: &[Case] = &[
        (Some("00:00"), Some("24:00"), Ok((0, 1440))),
        (Some("01:35"), Some("17:39"), Ok((95, 1059))),
        (Some("09:35"), Some("09:39"), Ok((575, 579))),
        (Some("17:31"), Some("17:31"), Err("start time cannot be equal or greater than end time")),
        (Some("12:30"), Some("24:01"), Err("couldn't parse timestamp 24:01, invalid format")),
        (Some("09:30"), Some("07:41"), Err("start time cannot be equal or greater than end time")),
        (Some("24:00"), Some("17:41"), Err("start time cannot be equal or greater than end time")),
        (Some("14:03"), None, Err("both start and end times must be provided")),
        (Some("01:99"), Some("02:00"), Err("couldn't parse timestamp 01:99, invalid format")),
        (Some("00:00"), Some("99:99"), Err("couldn't parse timestamp 99:99, invalid format")),
    ];
    for (start, end, expected) in cases {
        assert_eq!(time_range(*start, *end), expected.map_err(str::to_owned), "{start:?}-{end:?}");
    }
}

#[test]
fn ranges_parse_with_alertmanagers_messages() {
    type Parse = fn(&str) -> Result<(i32, i32), String>;
    type Case = (Parse, &'static str, Result<(i32, i32), &'static str>);
    let cases: &[Case] = &[
        (weekdays, "monday:friday", Ok((1, 5))),
        (weekdays, "Saturday", Ok((6, 6))),
        (weekdays, "friday:monday", Err("start day cannot be before end day")),
        (weekdays, "blurgsday:flurgsday", Err("blurgsday is not a valid weekday")),
        (weekdays, "1:3", Err("1 is not a valid weekday")),
        (weekdays, "-2:-1", Err("-2 is not a valid weekday")),
        (days_of_month, "0", Err("0 is not a valid day of the month: out of range")),
        (days_of_month, "-50:-20", Err("-50 is not a valid day of the month: out of range")),
        (days_of_month, "1:50", Err("50 is not a valid day of the month: out of range")),
        (days_of_month, "-15:5", Err("end day must be negative if start day is negative")),
        (days_of_month, "10:-25", Err("end day -25 is always before start day 10")),
        (days_of_month, "-3:-1", Ok((-3, -1))),
        (days_of_month, "1:-1", Ok((1, -1))),
        (months, "january:march", Ok((1, 3))),
        (months, "12", Ok((12, 12))),
        (months, "martius:june", Err("martius is not a valid month")),
        (months, "march:junius", Err("junius is not a valid month")),
        (months, "december:january", Err("end month january is before start month december")),
        (years, "2020:2022", Ok((2020, 2022))),
        (years, "2022:2020", Err("end year 2020 is before start year 2022")),
        (years, "a:b:c", Err("couldn't parse range a:b:c, invalid format")),
    ];
    for (parse, text, expected) in cases {
        assert_eq!(parse(text), expected.map_err(str::to_owned), "{text}");
    }
    assert_eq!(location("Mars/Olympus").err().as_deref(), Some("unknown time zone Mars/Olympus"));
}

#[test]
fn routes_are_muted_inside_mute_intervals_and_outside_active_ones() {
    use std::collections::BTreeMap;
    let weekend = interval(|i| i.weekdays = Some(vec![(0, 0), (6, 6)]));
    let office = interval(|i| {
        i.times = Some(vec![(540, 1020)]);
        i.weekdays = Some(vec![(1, 5)]);
    });
    let intervals: BTreeMap<String, Vec<TimeInterval>> =
        [("weekends".to_owned(), vec![weekend]), ("office".to_owned(), vec![office])].into_iter().collect();
    let options = |mute: &[&str], active: &[&str]| crate::RouteOptions {
        mute_time_intervals: mute.iter().map(|name| (*name).to_owned()).collect(),
        active_time_intervals: active.iter().map(|name| (*name).to_owned()).collect(),
        ..crate::RouteOptions::default()
    };
    let saturday = at("02 May 20 12:00 +0000");
    let monday_noon = at("04 May 20 12:00 +0000");
    let monday_night = at("04 May 20 22:00 +0000");
    assert_eq!(options(&["weekends"], &[]).muted_at(&intervals, saturday).as_deref(), Some("muted during `weekends`"));
    assert_eq!(options(&["weekends"], &[]).muted_at(&intervals, monday_noon), None);
    assert_eq!(options(&[], &["office"]).muted_at(&intervals, monday_noon), None);
    assert_eq!(options(&[], &["office"]).muted_at(&intervals, monday_night).as_deref(), Some("outside its active time intervals (office)"));
}
