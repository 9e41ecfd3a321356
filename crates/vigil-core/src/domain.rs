//! Domain newtypes parsed at the boundary so the rest of the code holds only valid values.

use std::fmt;
use std::num::NonZeroU32;

/// Why a domain value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A monitor name must be usable in URLs, metrics and file names.
    #[error("invalid monitor name `{0}`: use 1-64 characters from a-z, A-Z, 0-9, `-`, `_` and `.`")]
    MonitorName(String),
    /// Thresholds count checks, so zero makes no sense.
    #[error("threshold must be at least 1, got {0}")]
    Threshold(i64),
}

/// The unique name of a monitor, e.g. `fitpay-api`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MonitorName(String);

impl MonitorName {
    pub fn parse(name: &str) -> Result<Self, DomainError> {
        let valid =
            !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if valid {
            Ok(MonitorName(name.to_owned()))
        } else {
            Err(DomainError::MonitorName(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MonitorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many checks in a row it takes to change a monitor's state; at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold(NonZeroU32);

impl Threshold {
    pub fn new(value: i64) -> Result<Self, DomainError> {
        u32::try_from(value).ok().and_then(NonZeroU32::new).map(Threshold).ok_or(DomainError::Threshold(value))
    }

    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold(NonZeroU32::MIN.saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monitor_names_are_validated() {
        assert!(MonitorName::parse("fitpay-api").is_ok());
        assert!(MonitorName::parse("a.b_c-1").is_ok());
        assert!(MonitorName::parse("").is_err());
        assert!(MonitorName::parse("has space").is_err());
        assert!(MonitorName::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn thresholds_are_at_least_one() {
        assert_eq!(Threshold::default().get(), 2);
        assert_eq!(Threshold::new(1).map(Threshold::get), Ok(1));
        assert_eq!(Threshold::new(0), Err(DomainError::Threshold(0)));
        assert_eq!(Threshold::new(-3), Err(DomainError::Threshold(-3)));
    }
}
