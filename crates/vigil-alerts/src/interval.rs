//! Named time intervals, with Alertmanager's meaning and messages
//! (`timeinterval/timeinterval.go`): an interval holds a time when every field it
//! sets does — times of day (start inclusive, end exclusive, `24:00` allowed),
//! weekdays, days of the month (negative ones count from the month's end, clamped to
//! the month), months, years — read in its `location` (default UTC). A name holds a
//! time when any of its intervals does.

use jiff::tz::TimeZone;

/// One entry of a named interval's list.
#[derive(Debug, Clone, Default)]
pub struct TimeInterval {
    /// Minutes of the day, `[start, end)`.
    pub times: Option<Vec<(i32, i32)>>,
    /// Sunday = 0 .. Saturday = 6, inclusive.
    pub weekdays: Option<Vec<(i32, i32)>>,
    /// 1..31 or -31..-1, inclusive.
    pub days_of_month: Option<Vec<(i32, i32)>>,
    /// 1..12, inclusive.
    pub months: Option<Vec<(i32, i32)>>,
    pub years: Option<Vec<(i32, i32)>>,
    pub location: Option<TimeZone>,
}

const WEEKDAYS: [&str; 7] = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
const MONTHS: [&str; 12] =
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];

fn number(text: &str) -> Result<i32, String> {
    text.parse::<i32>().map_err(|_| format!("strconv.Atoi: parsing {text:?}: invalid syntax"))
}

/// `a:b` or `a`, lower-cased, each side read by `member`.
fn range(text: &str, member: impl Fn(&str) -> Result<i32, String>) -> Result<(i32, i32), String> {
    let text = text.to_lowercase();
    match text.split_once(':') {
        Some((start, end)) => {
            if end.contains(':') {
                return Err(format!("couldn't parse range {text}, invalid format"));
            }
            Ok((member(start)?, member(end)?))
        }
        None => {
            let value = member(&text)?;
            Ok((value, value))
        }
    }
}

/// `monday:friday`, `saturday`.
pub fn weekdays(text: &str) -> Result<(i32, i32), String> {
    let (begin, end) = range(text, |name| {
        WEEKDAYS.iter().position(|day| *day == name).map(|index| index as i32).ok_or_else(|| format!("{name} is not a valid weekday"))
    })?;
    if begin > end {
        return Err("start day cannot be before end day".to_owned());
    }
    Ok((begin, end))
}

/// `1:5`, `-3:-1`, `15`.
pub fn days_of_month(text: &str) -> Result<(i32, i32), String> {
    let (begin, end) = range(text, number)?;
    for day in [begin, end] {
        if day == 0 || !(-31..=31).contains(&day) {
            return Err(format!("{day} is not a valid day of the month: out of range"));
        }
    }
    if begin < 0 && end > 0 {
        return Err("end day must be negative if start day is negative".to_owned());
    }
    let check = |day: i32| if day < 0 { 28 + day } else { day };
    if check(begin) > check(end) {
        return Err(format!("end day {end} is always before start day {begin}"));
    }
    Ok((begin, end))
}

/// `january:march`, `12`.
pub fn months(text: &str) -> Result<(i32, i32), String> {
    let (begin, end) = range(text, |name| match MONTHS.iter().position(|month| *month == name) {
        Some(index) => Ok(index as i32 + 1),
        None => name.parse::<i32>().map_err(|_| format!("{name} is not a valid month")),
    })?;
    if !(1..=12).contains(&begin) || !(1..=12).contains(&end) {
        return Err(format!("{} is not a valid month: out of range", if (1..=12).contains(&begin) { end } else { begin }));
    }
    if begin > end {
        return Err(format!("end month {} is before start month {}", MONTHS[(end - 1) as usize], MONTHS[(begin - 1) as usize]));
    }
    Ok((begin, end))
}

/// `2020:2022`.
pub fn years(text: &str) -> Result<(i32, i32), String> {
    let (begin, end) = range(text, number)?;
    if begin > end {
        return Err(format!("end year {end} is before start year {begin}"));
    }
    Ok((begin, end))
}

fn minutes(text: &str) -> Result<i32, String> {
    let valid = text == "24:00"
        || (text.len() == 5
            && text.as_bytes()[2] == b':'
            && text[..2].parse::<i32>().is_ok_and(|hours| (0..24).contains(&hours))
            && text[..2].bytes().all(|byte| byte.is_ascii_digit())
            && text[3..].bytes().all(|byte| byte.is_ascii_digit())
            && text[3..].parse::<i32>().is_ok_and(|minutes| (0..60).contains(&minutes)));
    if !valid {
        return Err(format!("couldn't parse timestamp {text}, invalid format"));
    }
    Ok(number(&text[..2])? * 60 + number(&text[3..])?)
}

/// `start-time`/`end-time` of a `times` entry.
pub fn time_range(start: Option<&str>, end: Option<&str>) -> Result<(i32, i32), String> {
    let (Some(start), Some(end)) = (start.filter(|text| !text.is_empty()), end.filter(|text| !text.is_empty())) else {
        return Err("both start and end times must be provided".to_owned());
    };
    let (start, end) = (minutes(start)?, minutes(end)?);
    if start >= end {
        return Err("start time cannot be equal or greater than end time".to_owned());
    }
    Ok((start, end))
}

/// A `location:` name from the system's time zone database (`Europe/Berlin`, `UTC`,
/// `Local` for this machine's).
pub fn location(name: &str) -> Result<TimeZone, String> {
    if name == "Local" {
        return Ok(TimeZone::system());
    }
    TimeZone::get(name).map_err(|_| format!("unknown time zone {name}"))
}

fn within(ranges: &Option<Vec<(i32, i32)>>, test: impl Fn(i32, i32) -> bool) -> bool {
    ranges.as_ref().is_none_or(|ranges| ranges.iter().any(|(begin, end)| test(*begin, *end)))
}

impl TimeInterval {
    /// Whether the instant `at_ms` (milliseconds since the epoch) lies in it.
    pub fn contains(&self, at_ms: i64) -> bool {
        let Ok(instant) = jiff::Timestamp::from_millisecond(at_ms) else { return false };
        let zone = self.location.clone().unwrap_or(TimeZone::UTC);
        let local = instant.to_zoned_datetime(zone);
        let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
        let day = i32::from(local.day());
        let days_in_month = i32::from(local.date().days_in_month());
        within(&self.times, |start, end| minute >= start && minute < end)
            && within(&self.days_of_month, |begin, end| {
                let begin = if begin < 0 { days_in_month + begin + 1 } else { begin };
                let end = if end < 0 { days_in_month + end + 1 } else { end };
                begin <= days_in_month
                    && day >= begin.clamp(-days_in_month, days_in_month)
                    && day <= end.clamp(-days_in_month, days_in_month)
            })
            && within(&self.months, |begin, end| (begin..=end).contains(&i32::from(local.month())))
            && within(&self.weekdays, |begin, end| (begin..=end).contains(&i32::from(local.weekday().to_sunday_zero_offset())))
            && within(&self.years, |begin, end| (begin..=end).contains(&i32::from(local.year())))
    }
}

/// Whether any of a name's intervals holds `at_ms`.
pub fn any_contains(intervals: &[TimeInterval], at_ms: i64) -> bool {
    intervals.iter().any(|interval| interval.contains(at_ms))
}
