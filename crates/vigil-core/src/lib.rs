//! Pure core of Vigil: time and clock, domain types, conditions, hysteresis, uptime,
//! SLO burn rates and budgets, the remediation guard pipeline, incidents (on-call
//! schedules, escalation timing, severities and response statistics), rate limits, and
//! how URLs print without their credentials.
//!
//! Nothing in this crate does IO or sleeps (but [`clock::SystemClock`], the one clock
//! that reads and waits on the system's time). Every function takes its inputs and the
//! current time and returns a decision, so tests drive it with a [`clock::TestClock`].

pub mod auth;
pub mod clock;
pub mod condition;
pub mod domain;
pub mod escalation;
pub mod guards;
pub mod healthcheck;
pub mod hysteresis;
pub mod incident;
pub mod oncall;
pub mod ratelimit;
pub mod redact;
pub mod slo;
pub mod statuspage;
pub mod time;
pub mod uptime;

pub use clock::{Clock, SystemClock, TestClock};
pub use domain::{MonitorName, Threshold};
pub use hysteresis::{Health, MonitorState, Transition};
pub use time::{parse_duration, Timestamp};
