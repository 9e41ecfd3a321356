//! Timestamps (Unix milliseconds) and the duration syntax of the config (`500ms`, `5s`, `10m`, `24h`).

use std::fmt;
use std::time::Duration;

/// A point in time as milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(millis))
    }

    pub fn saturating_sub(self, duration: Duration) -> Timestamp {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(millis))
    }

    /// Reads RFC 3339 with `Z` or a `±HH:MM` offset, fractions optional
    /// (`2026-11-22T11:00:00.5+01:00`).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let text = text.trim();
        let (base, offset_minutes) = if let Some(base) = text.strip_suffix('Z').or_else(|| text.strip_suffix('z')) {
            (base, 0)
        } else {
            let split = text.len().checked_sub(6)?;
            let (base, offset) = text.split_at(split);
            let sign = match offset.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hours: i64 = offset.get(1..3)?.parse().ok()?;
            let minutes: i64 = offset.get(4..6)?.parse().ok()?;
            (base, sign * (hours * 60 + minutes))
        };
        let utc = humantime::parse_rfc3339_weak(base).ok()?;
        let millis = i64::try_from(utc.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis()).ok()?;
        Some(Timestamp(millis - offset_minutes * 60_000))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-22T10:00:00.000Z`.
    pub fn to_rfc3339(self) -> String {
        let system_time = if self.0 >= 0 {
            std::time::UNIX_EPOCH + Duration::from_millis(self.0.unsigned_abs())
        } else {
            std::time::UNIX_EPOCH - Duration::from_millis(self.0.unsigned_abs())
        };
        humantime::format_rfc3339_millis(system_time).to_string()
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

/// Reads what [`Timestamp`] writes (RFC 3339), or Unix milliseconds.
impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Written {
            Millis(i64),
            Text(String),
        }
        match Written::deserialize(deserializer)? {
            Written::Millis(millis) => Ok(Timestamp(millis)),
            Written::Text(text) => {
                Timestamp::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp `{text}`")))
            }
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Why a duration literal was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text was empty.
    #[error("empty duration, expected e.g. `500ms`, `5s`, `10m` or `24h`")]
    Empty,
    /// The text did not match `<number><unit>`.
    #[error("invalid duration `{0}`, expected a whole number and a unit (ms, s, m, h, d), e.g. `5s`")]
    Invalid(String),
    /// The value does not fit.
    #[error("duration `{0}` is too large")]
    Overflow(String),
}

/// Parses `500ms`, `5s`, `10m`, `24h`, `7d` and sums such as `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let invalid = || DurationError::Invalid(text.to_owned());
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| DurationError::Overflow(text.to_owned()))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_millis: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(unit_millis)
            .and_then(|millis| total.checked_add(millis))
            .ok_or_else(|| DurationError::Overflow(text.to_owned()))?;
    }
    Ok(Duration::from_millis(total))
}

/// Formats a duration for people: `3h 2m 5s`, `850ms`, `0s`.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1_000 {
        return format!("{millis}ms");
    }
    let seconds = duration.as_secs();
    let (days, hours, minutes, secs) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60, seconds % 60);
    let mut parts = Vec::new();
    for (value, unit) in [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")] {
        if value > 0 {
            parts.push(format!("{value}{unit}"));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_documented() {
        let cases: &[(&str, Result<u64, ()>)] = &[
            ("500ms", Ok(500)),
            ("5s", Ok(5_000)),
            ("10m", Ok(600_000)),
            ("24h", Ok(86_400_000)),
            ("7d", Ok(604_800_000)),
            ("1h30m", Ok(5_400_000)),
            (" 2s ", Ok(2_000)),
            ("", Err(())),
            ("5", Err(())),
            ("s", Err(())),
            ("5 s", Err(())),
            ("-5s", Err(())),
            ("5sec", Err(())),
            ("1.5s", Err(())),
            ("99999999999999999999s", Err(())),
        ];
        for (text, expected) in cases {
            let actual = parse_duration(text).map(|d| d.as_millis() as u64).map_err(|_| ());
            assert_eq!(&actual, expected, "parse_duration({text:?})");
        }
    }

    #[test]
    fn durations_format_for_people() {
        assert_eq!(format_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(format_duration(Duration::from_secs(0)), "0ms");
        assert_eq!(format_duration(Duration::from_secs(3 * 3600 + 125)), "3h 2m 5s");
        assert_eq!(format_duration(Duration::from_secs(86_400 + 60)), "1d 1m");
    }

    #[test]
    fn timestamps_format_as_rfc3339() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(1_700_000_000_123).to_rfc3339(), "2023-11-14T22:13:20.123Z");
    }
}
