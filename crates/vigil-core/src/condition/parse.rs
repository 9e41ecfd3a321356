//! Parsing condition text into a [`Condition`].

use super::{Comparator, Condition, ConditionError, Function, Operand, PathSegment, Placeholder};
use crate::time::parse_duration;

pub(super) fn parse(text: &str) -> Result<Condition, ConditionError> {
    let raw = text.trim().to_owned();
    let (position, comparator) = find_comparator(&raw).ok_or_else(|| ConditionError::NoComparator(raw.clone()))?;
    let left_text = raw[..position].trim();
    let right_text = raw[position + comparator.as_str().len()..].trim();
    if left_text.is_empty() || right_text.is_empty() {
        return Err(ConditionError::EmptySide(raw));
    }
    let left = parse_operand(left_text)?;
    let right = parse_operand(right_text)?;
    let condition = Condition { raw, left, comparator, right };
    validate(condition)
}

/// Finds the first comparator outside parentheses, preferring two-character ones.
fn find_comparator(text: &str) -> Option<(usize, Comparator)> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    for (index, &byte) in bytes.iter().enumerate() {
        match byte {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            b'=' | b'!' | b'<' | b'>' => {
                let next = bytes.get(index + 1).copied();
                let comparator = match (byte, next) {
                    (b'=', Some(b'=')) => Comparator::Equal,
                    (b'!', Some(b'=')) => Comparator::NotEqual,
                    (b'<', Some(b'=')) => Comparator::LessOrEqual,
                    (b'>', Some(b'=')) => Comparator::GreaterOrEqual,
                    (b'<', _) => Comparator::Less,
                    (b'>', _) => Comparator::Greater,
                    _ => continue,
                };
                return Some((index, comparator));
            }
            _ => {}
        }
    }
    None
}

fn parse_operand(text: &str) -> Result<Operand, ConditionError> {
    if let Some(inner) = call_argument(text, "len") {
        return Ok(Operand::Placeholder { placeholder: parse_placeholder(inner)?, function: Function::Len });
    }
    if let Some(inner) = call_argument(text, "has") {
        return Ok(Operand::Placeholder { placeholder: parse_placeholder(inner)?, function: Function::Has });
    }
    if let Some(inner) = call_argument(text, "pat") {
        return Ok(Operand::Pattern(inner.to_owned()));
    }
    if let Some(inner) = call_argument(text, "any") {
        return Ok(Operand::Any(inner.split(',').map(|item| item.trim().to_owned()).collect()));
    }
    if text.starts_with('[') {
        return Ok(Operand::Placeholder { placeholder: parse_placeholder(text)?, function: Function::None });
    }
    Ok(Operand::Literal { text: text.to_owned(), number: None })
}

fn call_argument<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')').map(str::trim)
}

fn parse_placeholder(text: &str) -> Result<Placeholder, ConditionError> {
    let end = text.find(']').ok_or_else(|| ConditionError::UnknownPlaceholder(text.to_owned()))?;
    let (name, rest) = text.split_at(end + 1);
    let placeholder = match name {
        "[STATUS]" => Placeholder::Status,
        "[RESPONSE_TIME]" => Placeholder::ResponseTime,
        "[BODY]" => Placeholder::Body(parse_path(rest)?),
        "[CONNECTED]" => Placeholder::Connected,
        "[IP]" => Placeholder::Ip,
        "[CERTIFICATE_EXPIRATION]" => Placeholder::CertificateExpiration,
        _ => return Err(ConditionError::UnknownPlaceholder(name.to_owned())),
    };
    if !rest.is_empty() && !matches!(placeholder, Placeholder::Body(_)) {
        return Err(ConditionError::InvalidPath(text.to_owned()));
    }
    Ok(placeholder)
}

/// Parses `.a.b[0].c` (also `[0]` first) into segments.
fn parse_path(path: &str) -> Result<Vec<PathSegment>, ConditionError> {
    let invalid = || ConditionError::InvalidPath(path.to_owned());
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after_dot) = rest.strip_prefix('.') {
            let end = after_dot.find(['.', '[']).unwrap_or(after_dot.len());
            let key = &after_dot[..end];
            if key.is_empty() {
                return Err(invalid());
            }
            segments.push(PathSegment::Key(key.to_owned()));
            rest = &after_dot[end..];
        } else if let Some(after_bracket) = rest.strip_prefix('[') {
            let end = after_bracket.find(']').ok_or_else(invalid)?;
            let index = after_bracket[..end].trim().parse().map_err(|_| invalid())?;
            segments.push(PathSegment::Index(index));
            rest = &after_bracket[end + 1..];
        } else {
            return Err(invalid());
        }
    }
    Ok(segments)
}

fn validate(mut condition: Condition) -> Result<Condition, ConditionError> {
    let raw = condition.raw.clone();
    let comparator = condition.comparator;
    if matches!(condition.left, Operand::Pattern(_) | Operand::Any(_)) {
        return Err(ConditionError::Misplaced(format!("`{raw}`: pat() and any() belong on the right side")));
    }
    if comparator.is_ordering() && matches!(condition.right, Operand::Pattern(_) | Operand::Any(_)) {
        return Err(ConditionError::Misplaced(format!("`{raw}`: pat() and any() work only with == and !=")));
    }
    let placeholder = match (&condition.left, &condition.right) {
        (Operand::Placeholder { placeholder, function }, _) | (_, Operand::Placeholder { placeholder, function }) => {
            (placeholder.clone(), *function)
        }
        _ => return Err(ConditionError::NoPlaceholder(raw)),
    };
    let duration_literals = placeholder.1 == Function::None && placeholder.0.is_duration();
    if comparator.is_ordering() {
        let orderable = !matches!(placeholder, (_, Function::Has) | (Placeholder::Connected | Placeholder::Ip, Function::None));
        if !orderable {
            return Err(ConditionError::Misplaced(format!("`{raw}`: `{}` cannot order this value", comparator.as_str())));
        }
    }
    for side in [&mut condition.left, &mut condition.right] {
        let Operand::Literal { text, number } = side else { continue };
        *number = parse_number(text)
            .or_else(|| duration_literals.then(|| parse_duration(text).ok().map(|duration| duration.as_millis() as f64)).flatten());
        if comparator.is_ordering() && number.is_none() {
            return Err(ConditionError::NotANumber { comparator: comparator.as_str(), literal: text.clone() });
        }
    }
    Ok(condition)
}

/// Parses numbers the way Gatus does: decimal, `0x` hex, `0b` binary, `0o` octal, with an
/// optional sign; decimals with a fraction or exponent as floats.
pub(super) fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let radix_value = |prefix_lower: &str, prefix_upper: &str, radix: u32| {
        digits
            .strip_prefix(prefix_lower)
            .or_else(|| digits.strip_prefix(prefix_upper))
            .map(|body| i64::from_str_radix(body, radix).ok().map(|value| value as f64))
    };
    let magnitude =
        radix_value("0x", "0X", 16).or_else(|| radix_value("0b", "0B", 2)).or_else(|| radix_value("0o", "0O", 8)).unwrap_or_else(|| {
            let decimal = digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
            decimal.then(|| digits.parse::<f64>().ok()).flatten().filter(|value| value.is_finite())
        })?;
    Some(if negative { -magnitude } else { magnitude })
}
