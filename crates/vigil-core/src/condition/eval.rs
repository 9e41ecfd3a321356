//! Evaluating parsed conditions against the facts of one check, as Gatus does: each
//! side resolves to text, then `==`/`!=` compare (with `pat()` and `any()` on either
//! side) and the orderings compare numbers, and the result is written with the
//! resolved values in parentheses.

use std::cell::OnceCell;
use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;

use super::parse::call_argument;
use super::{golang, jsonpath, pattern};
use super::{Condition, Function, Operand, OperandKind, Operator, Placeholder};
use crate::time::Timestamp;

/// What one check observed; the input of evaluation.
#[derive(Debug, Clone, Copy)]
pub struct CheckFacts<'a> {
    pub connected: bool,
    /// `None` without a response; Gatus reads it as 0.
    pub status: Option<u16>,
    pub body: &'a [u8],
    pub response_time: Duration,
    pub ip: Option<IpAddr>,
    pub certificate_expires_at: Option<Timestamp>,
    pub now: Timestamp,
}

/// The outcome of one condition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConditionResult {
    pub success: bool,
    /// The condition with its resolved values, e.g. `[STATUS] (500) == 200`: Gatus'
    /// text with `resolve-successful-conditions` on.
    pub resolved: String,
}

/// Evaluates every condition; the body is parsed as JSON at most once.
pub fn evaluate(conditions: &[Condition], facts: &CheckFacts<'_>) -> Vec<ConditionResult> {
    let context = Context { facts, json: OnceCell::new() };
    conditions.iter().map(|condition| context.evaluate(condition)).collect()
}

/// Longest resolved value kept in a result; Gatus keeps all of it, but results go into
/// notifications and the store.
const MAX_SHOWN: usize = 100;
/// How much of a value is shown beside a `pat()`, as Gatus does.
const MAX_SHOWN_BESIDE_PATTERN: usize = 25;
const INVALID: &str = "(INVALID)";

struct Context<'f, 'a> {
    facts: &'f CheckFacts<'a>,
    json: OnceCell<Option<Value>>,
}

impl Context<'_, '_> {
    fn evaluate(&self, condition: &Condition) -> ConditionResult {
        let left = self.resolve(&condition.left);
        let right = self.resolve(&condition.right);
        let operator = condition.operator;
        let (success, left, right) = if operator.is_ordering() {
            let (a, b) = (number(&left), number(&right));
            let success = match operator {
                Operator::Less => a < b,
                Operator::LessOrEqual => a <= b,
                Operator::Greater => a > b,
                _ => a >= b,
            };
            (success, shown_number(&condition.left.text, a), shown_number(&condition.right.text, b))
        } else {
            (is_equal(&left, &right) == (operator == Operator::Equal), left, right)
        };
        let resolved = prettify(&condition.left.text, left, operator.as_str(), &condition.right.text, right);
        ConditionResult { success, resolved }
    }

    fn resolve(&self, operand: &Operand) -> String {
        let OperandKind::Placeholder { placeholder, function } = &operand.kind else { return operand.text.clone() };
        let facts = self.facts;
        let value = match placeholder {
            Placeholder::Status => facts.status.unwrap_or(0).to_string(),
            Placeholder::ResponseTime => facts.response_time.as_millis().to_string(),
            Placeholder::Connected => facts.connected.to_string(),
            Placeholder::Ip => facts.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            Placeholder::CertificateExpiration => {
                facts.certificate_expires_at.map(|expires| expires.0 - facts.now.0).unwrap_or(0).to_string()
            }
            Placeholder::Body(None) => {
                let body = String::from_utf8_lossy(facts.body).trim().to_owned();
                return match function {
                    Function::None => body,
                    Function::Has => (!body.is_empty()).to_string(),
                    Function::Len => jsonpath::body_length(facts.body).to_string(),
                };
            }
            Placeholder::Body(Some(keys)) => {
                let found = self.json().and_then(|json| jsonpath::walk(keys, json));
                return match (function, found) {
                    (Function::Has, found) => found.is_some().to_string(),
                    (_, None) => format!("{} {INVALID}", operand.text),
                    (Function::Len, Some((_, length))) => length.to_string(),
                    (Function::None, Some((text, _))) => text,
                };
            }
        };
        match function {
            Function::None => value,
            Function::Has => (!value.is_empty()).to_string(),
            Function::Len => value.len().to_string(),
        }
    }

    fn json(&self) -> Option<&Value> {
        self.json.get_or_init(|| serde_json::from_slice(self.facts.body).ok()).as_ref()
    }
}

/// Gatus' equality: a `pat()` on one side matches the other; an `any()` on one side
/// holds when one of its items is the other; otherwise integers (any base) compare as
/// numbers and everything else as text.
fn is_equal(first: &str, second: &str) -> bool {
    let (mut first, mut second) = (first, second);
    let first_call = first.ends_with(')');
    let second_call = second.ends_with(')');
    if first_call || second_call {
        let first_pattern = call_argument(first, "pat");
        let second_pattern = call_argument(second, "pat");
        match (first_pattern, second_pattern) {
            (Some(glob), None) => return pattern::matches(glob, second),
            (None, Some(glob)) => return pattern::matches(glob, first),
            (Some(a), Some(b)) => (first, second) = (a, b),
            (None, None) => {}
        }
        let in_list = |list: &str, item: &str| list.split(',').any(|option| option.trim() == item);
        match (call_argument(first, "any"), call_argument(second, "any")) {
            (Some(list), None) => return in_list(list, second),
            (None, Some(list)) => return in_list(list, first),
            _ => {}
        }
    }
    match (golang::parse_int(first), golang::parse_int(second)) {
        (Some(a), Some(b)) => a == b,
        _ => first == second,
    }
}

/// Gatus' number for ordering: a non-zero duration in milliseconds, an integer, a
/// float truncated toward zero, or 0 for anything else (a missing value included).
fn number(text: &str) -> i64 {
    if let Some(nanos) = golang::parse_duration(text).filter(|nanos| *nanos != 0) {
        return nanos / 1_000_000;
    }
    golang::parse_int(text).or_else(|| golang::parse_float(text).map(|value| value as i64)).unwrap_or(0)
}

/// How an ordered value is shown: as a duration beside a duration or a certificate's
/// expiry, else as an integer.
fn shown_number(parameter: &str, value: i64) -> String {
    if parameter == "[CERTIFICATE_EXPIRATION]" || golang::parse_duration(parameter).is_some() {
        short_duration(value)
    } else {
        value.to_string()
    }
}

/// Milliseconds as Gatus shows them: whole seconds, `336h` rather than `336h0m0s`.
/// (Gatus' own trimming also turns `30s` into `3`; Vigil trims whole zero units only.)
fn short_duration(millis: i64) -> String {
    let nanos = millis.saturating_mul(1_000_000);
    let mut text = golang::format_duration(nanos - nanos % 1_000_000_000);
    if text.ends_with("m0s") {
        text.truncate(text.len() - 2);
        if text.ends_with("h0m") {
            text.truncate(text.len() - 2);
        }
    }
    text
}

fn prettify(left_parameter: &str, mut left: String, operator: &str, right_parameter: &str, mut right: String) -> String {
    if call_argument(left_parameter, "pat").is_some() && right.len() > MAX_SHOWN_BESIDE_PATTERN {
        right = truncated(&right, MAX_SHOWN_BESIDE_PATTERN);
    }
    if call_argument(right_parameter, "pat").is_some() && left.len() > MAX_SHOWN_BESIDE_PATTERN {
        left = truncated(&left, MAX_SHOWN_BESIDE_PATTERN);
    }
    format!("{} {operator} {}", side(left_parameter, left), side(right_parameter, right))
}

/// A side as Gatus writes it: the parameter, then its value in parentheses when it
/// resolved to something else; an invalid value is already `PARAMETER (INVALID)`.
fn side(parameter: &str, resolved: String) -> String {
    if resolved == parameter || resolved.strip_prefix(parameter).and_then(|rest| rest.strip_prefix(' ')) == Some(INVALID) {
        return resolved;
    }
    let shown = if resolved.chars().count() > MAX_SHOWN { truncated(&resolved, MAX_SHOWN) } else { resolved };
    format!("{parameter} ({shown})")
}

fn truncated(text: &str, characters: usize) -> String {
    format!("{}...(truncated)", text.chars().take(characters).collect::<String>())
}
