//! Evaluating parsed conditions against the facts of one check.

use std::cell::OnceCell;
use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;

use super::parse::parse_number;
use super::{Comparator, Condition, Function, Operand, PathSegment, Placeholder};
use crate::time::Timestamp;

/// What one check observed; the input of evaluation.
#[derive(Debug, Clone, Copy)]
pub struct CheckFacts<'a> {
    pub connected: bool,
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
    /// The condition with its resolved values, e.g. `[STATUS] (500) == 200`.
    pub resolved: String,
}

/// Evaluates every condition; the body is parsed as JSON at most once.
pub fn evaluate(conditions: &[Condition], facts: &CheckFacts<'_>) -> Vec<ConditionResult> {
    let context = Context { facts, json: OnceCell::new() };
    conditions.iter().map(|condition| context.evaluate(condition)).collect()
}

struct Context<'f, 'a> {
    facts: &'f CheckFacts<'a>,
    json: OnceCell<Option<Value>>,
}

/// A resolved operand: a value, or nothing when the check did not produce it.
type Resolved = Option<Value>;

impl Context<'_, '_> {
    fn evaluate(&self, condition: &Condition) -> ConditionResult {
        let left = self.resolve(&condition.left);
        let right = self.resolve(&condition.right);
        let success = match &condition.right {
            Operand::Pattern(pattern) => {
                let matched = left.as_ref().is_some_and(|value| glob_match(pattern, &display(value)));
                matched == (condition.comparator == Comparator::Equal)
            }
            Operand::Any(items) => {
                let matched = items.iter().any(|item| equal(&left, &Some(Value::String(item.clone())), None));
                matched == (condition.comparator == Comparator::Equal)
            }
            _ => compare(&left, condition.comparator, &right, literal_number(&condition.right).or(literal_number(&condition.left))),
        };
        let resolved =
            format!("{} {} {}", describe(&condition.left, &left), condition.comparator.as_str(), describe(&condition.right, &right));
        ConditionResult { success, resolved }
    }

    fn resolve(&self, operand: &Operand) -> Resolved {
        match operand {
            Operand::Placeholder { placeholder, function } => self.resolve_placeholder(placeholder, *function),
            Operand::Literal { text, .. } => Some(Value::String(text.clone())),
            Operand::Pattern(_) | Operand::Any(_) => None,
        }
    }

    fn resolve_placeholder(&self, placeholder: &Placeholder, function: Function) -> Resolved {
        let value = match placeholder {
            Placeholder::Status => self.facts.status.map(Value::from),
            Placeholder::ResponseTime => Some(Value::from(self.facts.response_time.as_millis() as u64)),
            Placeholder::Connected => Some(Value::Bool(self.facts.connected)),
            Placeholder::Ip => self.facts.ip.map(|ip| Value::String(ip.to_string())),
            Placeholder::CertificateExpiration => {
                self.facts.certificate_expires_at.map(|expires| Value::from(expires.0 - self.facts.now.0))
            }
            Placeholder::Body(path) if path.is_empty() => Some(Value::String(String::from_utf8_lossy(self.facts.body).into_owned())),
            Placeholder::Body(path) => self.json().and_then(|json| walk(json, path)).cloned(),
        };
        match function {
            Function::None => value,
            Function::Has => Some(Value::Bool(value.is_some())),
            Function::Len => value.map(|value| {
                let length = match &value {
                    Value::Array(items) => items.len(),
                    Value::Object(fields) => fields.len(),
                    Value::String(text) => text.chars().count(),
                    other => other.to_string().chars().count(),
                };
                Value::from(length)
            }),
        }
    }

    fn json(&self) -> Option<&Value> {
        self.json.get_or_init(|| serde_json::from_slice(self.facts.body).ok()).as_ref()
    }
}

fn walk<'v>(mut value: &'v Value, path: &[PathSegment]) -> Option<&'v Value> {
    for segment in path {
        value = match segment {
            PathSegment::Key(key) => value.as_object()?.get(key)?,
            PathSegment::Index(index) => value.as_array()?.get(*index)?,
        };
    }
    Some(value)
}

fn literal_number(operand: &Operand) -> Option<f64> {
    match operand {
        Operand::Literal { number, .. } => *number,
        _ => None,
    }
}

fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => parse_number(text),
        _ => None,
    }
}

/// Equality: numbers compare as numbers when both sides are numeric (so `0x1F == 31`,
/// `"200" == 200`), booleans against `true`/`false`, anything else as text.
fn equal(left: &Resolved, right: &Resolved, literal: Option<f64>) -> bool {
    let (Some(left), Some(right)) = (left, right) else { return false };
    let right_number = literal.or_else(|| as_number(right));
    if let (Some(a), Some(b)) = (as_number(left), right_number) {
        return a == b;
    }
    display(left) == display(right)
}

fn compare(left: &Resolved, comparator: Comparator, right: &Resolved, literal: Option<f64>) -> bool {
    match comparator {
        Comparator::Equal => equal(left, right, literal),
        Comparator::NotEqual => !equal(left, right, literal),
        _ => {
            let number = |side: &Resolved, fallback: Option<f64>| side.as_ref().and_then(as_number).map(Some).unwrap_or(fallback);
            let (Some(a), Some(b)) = (number(left, None), number(right, literal)) else { return false };
            match comparator {
                Comparator::Less => a < b,
                Comparator::LessOrEqual => a <= b,
                Comparator::Greater => a > b,
                _ => a >= b,
            }
        }
    }
}

fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// How an operand reads in a result: placeholders show their resolved value in parentheses.
fn describe(operand: &Operand, resolved: &Resolved) -> String {
    const MAX: usize = 100;
    match operand {
        Operand::Placeholder { placeholder, function } => {
            let name = placeholder_text(placeholder);
            let name = match function {
                Function::None => name,
                Function::Len => format!("len({name})"),
                Function::Has => format!("has({name})"),
            };
            let value = match resolved {
                Some(value) => {
                    let text = display(value);
                    if text.chars().count() > MAX {
                        format!("{}…", text.chars().take(MAX).collect::<String>())
                    } else {
                        text
                    }
                }
                None => "missing".to_owned(),
            };
            format!("{name} ({value})")
        }
        Operand::Literal { text, .. } => text.clone(),
        Operand::Pattern(pattern) => format!("pat({pattern})"),
        Operand::Any(items) => format!("any({})", items.join(", ")),
    }
}

fn placeholder_text(placeholder: &Placeholder) -> String {
    match placeholder {
        Placeholder::Status => "[STATUS]".to_owned(),
        Placeholder::ResponseTime => "[RESPONSE_TIME]".to_owned(),
        Placeholder::Connected => "[CONNECTED]".to_owned(),
        Placeholder::Ip => "[IP]".to_owned(),
        Placeholder::CertificateExpiration => "[CERTIFICATE_EXPIRATION]".to_owned(),
        Placeholder::Body(path) => {
            let mut text = "[BODY]".to_owned();
            for segment in path {
                match segment {
                    PathSegment::Key(key) => {
                        text.push('.');
                        text.push_str(key);
                    }
                    PathSegment::Index(index) => text.push_str(&format!("[{index}]")),
                }
            }
            text
        }
    }
}

/// Glob match where `*` matches any run of characters, as in Gatus' `pat()`.
fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(position) => rest = &rest[position + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}
