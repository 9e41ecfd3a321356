//! Parsing condition text into a [`Condition`], the way Gatus splits it: the first of
//! ` == `, ` != `, ` <= `, ` >= `, ` > `, ` < ` found (spaces included) divides the two
//! sides, and each side is a placeholder (case-insensitive, maybe inside `len()` or
//! `has()`) or a literal.

use super::golang;
use super::{jsonpath, pattern};
use super::{Condition, ConditionError, Function, Operand, OperandKind, Operator, Placeholder};

pub(super) fn parse(text: &str) -> Result<Condition, ConditionError> {
    let raw = text.trim().to_owned();
    let Some(operator) = Operator::ALL.into_iter().find(|operator| raw.contains(&spaced(*operator))) else {
        return Err(operator_error(&raw));
    };
    let parts: Vec<&str> = raw.split(&spaced(operator)).collect();
    if parts.len() > 2 {
        return Err(ConditionError::MoreThanOneOperator { condition: raw, operator: operator.as_str() });
    }
    let (left_text, right_text) = (parts[0].trim(), parts[1].trim());
    if left_text.is_empty() || right_text.is_empty() {
        return Err(ConditionError::EmptySide(raw));
    }
    let left = parse_operand(left_text)?;
    let right = parse_operand(right_text)?;
    validate(Condition { raw, left, operator, right })
}

fn spaced(operator: Operator) -> String {
    format!(" {} ", operator.as_str())
}

/// Says what is wrong when no operator with spaces around it was found.
fn operator_error(raw: &str) -> ConditionError {
    let is_operator_char = |c: char| matches!(c, '=' | '!' | '<' | '>' | '?' | '~');
    let known = |text: &str| Operator::ALL.into_iter().find(|operator| operator.as_str() == text);
    for token in raw.split_whitespace() {
        if token.chars().all(is_operator_char) {
            return match known(token) {
                // A known operator standing alone can only be at either end.
                Some(_) => ConditionError::EmptySide(raw.to_owned()),
                None => ConditionError::UnknownOperator { condition: raw.to_owned(), found: token.to_owned() },
            };
        }
    }
    let Some(start) = raw.find(is_operator_char) else { return ConditionError::NoOperator(raw.to_owned()) };
    let run: String = raw[start..].chars().take_while(|c| is_operator_char(*c)).collect();
    match known(&run) {
        Some(operator) => ConditionError::NeedsSpaces { condition: raw.to_owned(), operator: operator.as_str() },
        None => ConditionError::UnknownOperator { condition: raw.to_owned(), found: run },
    }
}

fn parse_operand(text: &str) -> Result<Operand, ConditionError> {
    let operand = |kind| Ok(Operand { text: text.to_owned(), kind });
    for (name, function) in [("len", Function::Len), ("has", Function::Has)] {
        if let Some(inner) = call_argument(text, name) {
            if !inner.starts_with('[') {
                return Err(ConditionError::Misplaced(format!("`{text}`: {name}() takes a placeholder such as [BODY].items")));
            }
            return operand(OperandKind::Placeholder { placeholder: parse_placeholder(inner)?, function });
        }
    }
    if let Some(glob) = call_argument(text, "pat") {
        pattern::check(glob).map_err(|reason| ConditionError::BadPattern { pattern: text.to_owned(), reason })?;
        return operand(OperandKind::Literal);
    }
    if looks_like_placeholder(text) {
        return operand(OperandKind::Placeholder { placeholder: parse_placeholder(text)?, function: Function::None });
    }
    operand(OperandKind::Literal)
}

/// `[NAME]...` where NAME is letters and underscores; other bracketed text (`[1,2]`)
/// is a literal, as in Gatus.
fn looks_like_placeholder(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('[') else { return false };
    let name_end = rest.find(']').unwrap_or(rest.len());
    name_end > 0 && rest[..name_end].bytes().all(|byte| byte.is_ascii_alphabetic() || byte == b'_')
}

/// The argument of `name(...)` when `text` is such a call, as Gatus reads one: the
/// prefix `name(` and a `)` at the very end.
pub(super) fn call_argument<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')
}

fn parse_placeholder(text: &str) -> Result<Placeholder, ConditionError> {
    let end = text.find(']').ok_or_else(|| ConditionError::UnknownPlaceholder(text.to_owned()))?;
    let (name, rest) = text.split_at(end + 1);
    let placeholder = match name.to_ascii_uppercase().as_str() {
        "[STATUS]" => Placeholder::Status,
        "[RESPONSE_TIME]" => Placeholder::ResponseTime,
        "[BODY]" if rest.is_empty() => Placeholder::Body(None),
        "[BODY]" => {
            return jsonpath::parse(rest)
                .map(|keys| Placeholder::Body(Some(keys)))
                .ok_or_else(|| ConditionError::InvalidPath(rest.to_owned()))
        }
        "[CONNECTED]" => Placeholder::Connected,
        "[IP]" => Placeholder::Ip,
        "[CERTIFICATE_EXPIRATION]" => Placeholder::CertificateExpiration,
        "[DOMAIN_EXPIRATION]" | "[DNS_RCODE]" | "[CONTEXT]" => return Err(ConditionError::UnsupportedPlaceholder(name.to_owned())),
        _ => return Err(ConditionError::UnknownPlaceholder(name.to_owned())),
    };
    if !rest.is_empty() {
        return Err(ConditionError::InvalidPath(text.to_owned()));
    }
    Ok(placeholder)
}

/// Refuses what Gatus would accept but could never mean: ordering pat()/any(), a
/// boolean or an address, or ordering against text (Gatus reads that as 0).
fn validate(condition: Condition) -> Result<Condition, ConditionError> {
    let operator = condition.operator;
    if !operator.is_ordering() {
        return Ok(condition);
    }
    let raw = &condition.raw;
    for side in [&condition.left, &condition.right] {
        match &side.kind {
            OperandKind::Literal if is_call(&side.text) => {
                return Err(ConditionError::Misplaced(format!("`{raw}`: pat() and any() work only with == and !=")));
            }
            OperandKind::Literal if !is_numeric(&side.text) => {
                return Err(ConditionError::NotANumber { operator: operator.as_str(), literal: side.text.clone() });
            }
            OperandKind::Placeholder { function: Function::Has, .. }
            | OperandKind::Placeholder { placeholder: Placeholder::Connected | Placeholder::Ip, function: Function::None } => {
                return Err(ConditionError::Misplaced(format!("`{raw}`: `{}` cannot order this value", operator.as_str())));
            }
            _ => {}
        }
    }
    Ok(condition)
}

fn is_call(text: &str) -> bool {
    call_argument(text, "pat").is_some() || call_argument(text, "any").is_some()
}

/// What Gatus' ordering reads as a number: a duration, an integer, or a float.
fn is_numeric(text: &str) -> bool {
    golang::parse_duration(text).is_some() || golang::parse_int(text).is_some() || golang::parse_float(text).is_some()
}
