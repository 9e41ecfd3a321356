//! The pure part of Vigil's alert lifecycle, with Alertmanager's semantics: label
//! matchers (`matcher.rs`), the routing tree (`route.rs`), inhibition (`inhibit.rs`)
//! and the group timers and dedup that decide when a notification goes (`group.rs`). No IO; anything that
//! depends on time takes the time as an argument. Alertmanager's own test cases are
//! ported as tables in `tests.rs` and `tests_inhibit.rs`.

pub mod group;
pub mod inhibit;
pub mod matcher;
pub mod route;

pub use matcher::{MatchType, Matcher};
pub use route::{GroupBy, Route, RouteOptions, RouteSpec};

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
