//! Conditions in Gatus syntax, e.g. `[STATUS] == 200` or `[BODY].status == OK`, with
//! Gatus' meaning: every operand resolves to text, `==` compares integers (any base) as
//! numbers and everything else as text, `pat()` and `any()` may stand on either side,
//! ordering compares durations, integers and truncated floats, and a value that is not
//! there reads `(INVALID)`.
//!
//! Conditions are parsed once, when the config loads, into [`Condition`]. What Gatus
//! accepts but can never mean (an operator it does not have, an ordering comparison
//! against text, an unknown placeholder, a malformed path or pattern) is a parse error
//! here. Evaluation is pure: it takes the facts of one check and returns, for each
//! condition, whether it held and the condition with its resolved values, e.g.
//! `[STATUS] (500) == 200`, written as Gatus writes it.

mod eval;
mod golang;
mod jsonpath;
mod parse;
mod pattern;
#[cfg(test)]
mod tests;

use std::fmt;

pub use eval::{evaluate, CheckFacts, ConditionResult};

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    raw: String,
    left: Operand,
    operator: Operator,
    right: Operand,
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        parse::parse(text)
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether either side reads the check (a placeholder): `1 == 2` does not, so its
    /// result never depends on the response.
    pub fn reads_response(&self) -> bool {
        matches!(self.left.kind, OperandKind::Placeholder { .. }) || matches!(self.right.kind, OperandKind::Placeholder { .. })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The operators, in the order Gatus looks for them.
const OPERATORS: &str = "== != <= >= > <";

/// Why a condition was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    /// No operator was found.
    #[error("condition `{0}` has no operator, expected one of {OPERATORS} with a space on each side")]
    NoOperator(String),
    /// Something that looks like an operator but is not one of Gatus'.
    #[error("condition `{condition}`: `{found}` is not an operator, expected one of {OPERATORS} with a space on each side")]
    UnknownOperator { condition: String, found: String },
    /// An operator without a space on each side, which Gatus does not see.
    #[error("condition `{condition}`: put a space on each side of `{operator}`, as Gatus requires")]
    NeedsSpaces { condition: String, operator: &'static str },
    /// The operator appears more than once.
    #[error("condition `{condition}` has more than one `{operator}`")]
    MoreThanOneOperator { condition: String, operator: &'static str },
    /// One side of the comparison is empty.
    #[error("condition `{0}` has an empty side")]
    EmptySide(String),
    /// A placeholder that Vigil does not know.
    #[error("unknown placeholder `{0}`, expected [STATUS], [BODY], [RESPONSE_TIME], [CONNECTED], [IP] or [CERTIFICATE_EXPIRATION]")]
    UnknownPlaceholder(String),
    /// A Gatus placeholder that Vigil does not provide.
    #[error("placeholder `{0}` is not supported by Vigil")]
    UnsupportedPlaceholder(String),
    /// A malformed JSON path after `[BODY]`.
    #[error("invalid JSON path `{0}`, expected e.g. `[BODY].data[0].id`")]
    InvalidPath(String),
    /// A malformed `pat()` glob.
    #[error("`{pattern}`: {reason}")]
    BadPattern { pattern: String, reason: &'static str },
    /// A function used where it cannot work.
    #[error("{0}")]
    Misplaced(String),
    /// An ordering comparison against something that is not a number or a duration.
    #[error("`{operator}` needs a number or a duration on the other side, got `{literal}`")]
    NotANumber { operator: &'static str, literal: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    LessOrEqual,
    GreaterOrEqual,
    Greater,
    Less,
}

impl Operator {
    /// In the order Gatus tries them: the first one found splits the condition.
    const ALL: [Operator; 6] =
        [Operator::Equal, Operator::NotEqual, Operator::LessOrEqual, Operator::GreaterOrEqual, Operator::Greater, Operator::Less];

    fn as_str(self) -> &'static str {
        match self {
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::Less => "<",
            Operator::LessOrEqual => "<=",
            Operator::Greater => ">",
            Operator::GreaterOrEqual => ">=",
        }
    }

    fn is_ordering(self) -> bool {
        !matches!(self, Operator::Equal | Operator::NotEqual)
    }
}

/// One side of a condition, with its text as written (results show it).
#[derive(Debug, Clone, PartialEq)]
struct Operand {
    text: String,
    kind: OperandKind,
}

#[derive(Debug, Clone, PartialEq)]
enum OperandKind {
    Placeholder {
        placeholder: Placeholder,
        function: Function,
    },
    /// Text that stands for itself; `pat(..)` and `any(..)` are literals too, as in Gatus.
    Literal,
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
    /// The whole body, or the value at a JSON path in it.
    Body(Option<Vec<jsonpath::Key>>),
    Connected,
    Ip,
    CertificateExpiration,
}
