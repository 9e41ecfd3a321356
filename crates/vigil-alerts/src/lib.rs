//! The pure part of Vigil's alert lifecycle, with Alertmanager's semantics: label
//! matchers (`matcher.rs`), the routing tree (`route.rs`), inhibition (`inhibit.rs`),
//! named time intervals (`interval.rs`), silences (`silence.rs`), fingerprints and
//! flapping (`alert.rs`) and the group timers and dedup that decide
//! when a notification goes (`group.rs`). No IO but reading the system's time zone
//! database for a `location`; anything that depends on time takes the time as an
//! argument. Alertmanager's own test cases are
//! ported as tables in `tests.rs`, `tests_inhibit.rs` and `tests_interval.rs`.

pub mod alert;
pub mod group;
pub mod inhibit;
pub mod interval;
pub mod matcher;
pub mod route;
pub mod silence;

pub use alert::{fingerprint, fingerprint_hex, Flapping};
pub use matcher::{MatchType, Matcher};
pub use route::{GroupBy, Route, RouteOptions, RouteSpec};
pub use silence::{Silence, SilenceState};

impl Matcher {
    /// A `match-re:` entry of the older syntax: Alertmanager keeps its value anchored,
    /// `^(?:VALUE)$`, which is how it prints in route keys.
    pub fn match_re(name: &str, value: &str) -> Result<Matcher, String> {
        Matcher::new(MatchType::Regexp, name, &format!("^(?:{value})$"))
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_inhibit;
#[cfg(test)]
mod tests_interval;
#[cfg(test)]
mod tests_silence;
