//! Conditions in Gatus syntax, e.g. `[STATUS] == 200` or `[BODY].status == OK`.
//!
//! Conditions are parsed once, when the config loads, into [`Condition`]; anything that
//! could only fail later (an ordering comparison against text, an unknown placeholder)
//! is a parse error. Evaluation is pure: it takes the facts of one check and returns,
//! for each condition, whether it held and the condition with its resolved values,
//! e.g. `[STATUS] (500) == 200`.

mod eval;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;

pub use eval::{evaluate, CheckFacts, ConditionResult};

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    raw: String,
    left: Operand,
    comparator: Comparator,
    right: Operand,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        parse::parse(text)
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Why a condition was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// No comparator was found.
    #[error("condition `{0}` has no comparator, expected one of == != < <= > >=")]
    NoComparator(String),
    /// One side of the comparison is empty.
    #[error("condition `{0}` has an empty side")]
    EmptySide(String),
    /// A placeholder that Vigil does not know.
    #[error("unknown placeholder `{0}`, expected [STATUS], [BODY], [RESPONSE_TIME], [CONNECTED], [IP] or [CERTIFICATE_EXPIRATION]")]
    UnknownPlaceholder(String),
    /// A malformed JSON path after `[BODY]`.
    #[error("invalid JSON path `{0}`, expected e.g. `[BODY].data[0].id`")]
    InvalidPath(String),
    /// Neither side refers to the check.
    #[error("condition `{0}` has no placeholder such as [STATUS] or [BODY]")]
    NoPlaceholder(String),
    /// A function used where it cannot work.
    #[error("{0}")]
    Misplaced(String),
    /// An ordering comparison against something that is not a number.
    #[error("`{comparator}` needs a number on the other side, got `{literal}`")]
    NotANumber { comparator: &'static str, literal: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparator {
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

impl Comparator {
    fn as_str(self) -> &'static str {
        match self {
            Comparator::Equal => "==",
            Comparator::NotEqual => "!=",
            Comparator::Less => "<",
            Comparator::LessOrEqual => "<=",
            Comparator::Greater => ">",
            Comparator::GreaterOrEqual => ">=",
        }
    }

    fn is_ordering(self) -> bool {
        !matches!(self, Comparator::Equal | Comparator::NotEqual)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Placeholder {
        placeholder: Placeholder,
        function: Function,
    },
    /// A literal; numbers and durations are pre-parsed for ordering comparisons.
    Literal {
        text: String,
        number: Option<f64>,
    },
    /// `pat(*glob*)`: `*` matches any run of characters.
    Pattern(String),
    /// `any(a, b, c)`: equal to one of them.
    Any(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    None,
    Len,
    Has,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Placeholder {
    Status,
    ResponseTime,
    Body(Vec<PathSegment>),
    Connected,
    Ip,
    CertificateExpiration,
}

impl Placeholder {
    /// Placeholders whose value is a duration in milliseconds, so `300ms` or `48h`
    /// literals may stand against them.
    fn is_duration(&self) -> bool {
        matches!(self, Placeholder::ResponseTime | Placeholder::CertificateExpiration)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PathSegment {
    Key(String),
    Index(usize),
}
