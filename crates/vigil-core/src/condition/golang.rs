//! The parts of Go's standard library whose behaviour Gatus' results depend on: how
//! `strconv.ParseInt(s, 0, 64)` and `time.ParseDuration` read numbers and durations, how
//! `fmt`'s `%v` and `encoding/json` print the values of a decoded JSON body, and
//! `Duration.String`. Conditions resolve values to text and compare them the way Gatus
//! does, so these decide `len()`, equality and ordering.

use serde_json::Value;

/// `strconv.ParseInt(text, 0, 64)`: an optional sign, then decimal, `0x` hex, `0o` or a
/// leading `0` octal, or `0b` binary, with `_` allowed between digits.
pub(super) fn parse_int(text: &str) -> Option<i64> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.get(..2).map(str::to_ascii_lowercase);
    let (radix, digits, prefixed) = match lower.as_deref() {
        Some("0x") => (16, &body[2..], true),
        Some("0o") => (8, &body[2..], true),
        Some("0b") => (2, &body[2..], true),
        _ if body.len() > 1 && body.starts_with('0') => (8, &body[1..], true),
        _ => (10, body, false),
    };
    if !underscores_ok(digits, prefixed) {
        return None;
    }
    let mut magnitude: u64 = 0;
    let mut any_digit = false;
    for character in digits.chars() {
        if character == '_' {
            continue;
        }
        let digit = character.to_digit(radix)?;
        magnitude = magnitude.checked_mul(u64::from(radix))?.checked_add(u64::from(digit))?;
        any_digit = true;
    }
    if !any_digit {
        return None;
    }
    if negative {
        if magnitude > i64::MIN.unsigned_abs() {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(magnitude))
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go allows `_` only between digits, or right after a base prefix.
fn underscores_ok(digits: &str, prefixed: bool) -> bool {
    if !digits.contains('_') {
        return true;
    }
    let bytes = digits.as_bytes();
    bytes.iter().enumerate().all(|(index, &byte)| {
        if byte != b'_' {
            return true;
        }
        let before_ok = if index == 0 { prefixed } else { bytes[index - 1] != b'_' };
        let after_ok = bytes.get(index + 1).is_some_and(|next| *next != b'_');
        before_ok && after_ok
    })
}

/// `strconv.ParseFloat(text, 64)` for the forms a response or a config holds: decimal
/// with an optional fraction and exponent, `inf` and `nan`.
pub(super) fn parse_float(text: &str) -> Option<f64> {
    if text.is_empty() || text.contains('_') {
        return None;
    }
    text.parse::<f64>().ok()
}

/// `time.ParseDuration`: a sequence of decimal numbers with units (`ns`, `us`, `µs`,
/// `ms`, `s`, `m`, `h`), e.g. `1h30m`, `1.5s`, `-300ms`; `0` alone is zero. Nanoseconds.
pub(super) fn parse_duration(text: &str) -> Option<i64> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let integer_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (integer, after) = rest.split_at(integer_end);
        let (fraction, after) = match after.strip_prefix('.') {
            Some(after_dot) => {
                let end = after_dot.find(|c: char| !c.is_ascii_digit()).unwrap_or(after_dot.len());
                after_dot.split_at(end)
            }
            None => ("", after),
        };
        if integer.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_end = after.find(|c: char| c == '.' || c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_end);
        let scale: u64 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: u64 = if integer.is_empty() { 0 } else { integer.parse().ok()? };
        let mut value = whole.checked_mul(scale)?;
        // The fraction's digits beyond what a u64 holds cannot change the result.
        let mut numerator: u64 = 0;
        let mut denominator: u64 = 1;
        for digit in fraction.bytes() {
            if denominator > u64::MAX / 10 / scale.max(1) {
                break;
            }
            numerator = numerator * 10 + u64::from(digit - b'0');
            denominator *= 10;
        }
        value = value.checked_add(((numerator as u128 * scale as u128) / denominator as u128) as u64)?;
        total = total.checked_add(value)?;
        rest = after;
    }
    if negative {
        if total > i64::MIN.unsigned_abs() {
            return None;
        }
        Some(0i64.wrapping_sub_unsigned(total))
    } else {
        i64::try_from(total).ok()
    }
}

/// `time.Duration(nanos).String()`, e.g. `1h30m0s`, `2.5s`, `300ms`, `0s`.
pub(super) fn format_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let magnitude = nanos.unsigned_abs();
    if magnitude < 1_000_000_000 {
        let (unit, per) = match magnitude {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("\u{b5}s", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{sign}{}{unit}", fixed_fraction(magnitude, per));
    }
    let hours = magnitude / 3_600_000_000_000;
    let minutes = magnitude / 60_000_000_000 % 60;
    let seconds = fixed_fraction(magnitude % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{sign}{seconds}s"),
        (0, _) => format!("{sign}{minutes}m{seconds}s"),
        _ => format!("{sign}{hours}h{minutes}m{seconds}s"),
    }
}

/// `value / per` with its fraction's trailing zeros removed.
fn fixed_fraction(value: u64, per: u64) -> String {
    let whole = value / per;
    let fraction = value % per;
    if fraction == 0 {
        return whole.to_string();
    }
    let width = per.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// `fmt`'s `%v` of a float64: `strconv.FormatFloat(f, 'g', -1, 64)`, the shortest
/// digits that read back, in exponent form when the decimal exponent is below -4 or at
/// least 6 (so a million prints as `1e+06`, as in Go).
pub(super) fn format_float(value: f64) -> String {
    let (negative, digits, exponent) = shortest_digits(value);
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        format!("{sign}{}", exponent_form(&digits, exponent))
    } else {
        format!("{sign}{}", plain_form(&digits, exponent))
    }
}

/// `encoding/json`'s float64: plain decimal, or exponent form below 1e-6 and from 1e21.
fn json_float(value: f64) -> String {
    let (negative, digits, exponent) = shortest_digits(value);
    let sign = if negative { "-" } else { "" };
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-6..1e21).contains(&magnitude) {
        let mut text = exponent_form(&digits, exponent);
        // Go writes e-07 as e-7 here.
        if let Some(position) = text.find("e-0") {
            text.remove(position + 2);
        }
        format!("{sign}{text}")
    } else {
        format!("{sign}{}", plain_form(&digits, exponent))
    }
}

/// The shortest round-tripping digits of `value` and its decimal exponent
/// (`d.ddd × 10^exponent`).
fn shortest_digits(value: f64) -> (bool, String, i32) {
    let text = format!("{:e}", value.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    (value.is_sign_negative(), digits, exponent.parse().unwrap_or(0))
}

fn exponent_form(digits: &str, exponent: i32) -> String {
    let (first, rest) = digits.split_at(1);
    let mantissa = if rest.is_empty() { first.to_owned() } else { format!("{first}.{rest}") };
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

fn plain_form(digits: &str, exponent: i32) -> String {
    let point = exponent + 1;
    if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    }
}

/// `fmt.Sprintf("%v", v)` of a value decoded into Go's `interface{}`: numbers as
/// float64, arrays as `[a b]`, objects as `map[k:v]` with sorted keys, null as `<nil>`.
pub(super) fn format_value(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&format_float(number.as_f64().unwrap_or(0.0))),
        Value::String(text) => out.push_str(text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push_str("map[");
            for (index, (key, item)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write_value(out, item);
            }
            out.push(']');
        }
    }
}

/// `json.Marshal` of a decoded value: minified, keys sorted, `<`, `>` and `&` escaped.
pub(super) fn marshal(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&json_float(number.as_f64().unwrap_or(0.0))),
        Value::String(text) => write_json_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (index, (key, item)) in fields.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_json_string(out, key);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

fn write_json_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            '<' | '>' | '&' | '\0'..='\u{1f}' => {
                let byte = character as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(byte >> 4)] as char);
                out.push(HEX[usize::from(byte & 0xF)] as char);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_int_table() {
        let cases: &[(&str, Option<i64>)] = &[
            ("200", Some(200)),
            ("-3", Some(-3)),
            ("+7", Some(7)),
            ("0x1F", Some(31)),
            ("0XC0ff33", Some(12_648_243)),
            ("0b0010", Some(2)),
            ("0o17", Some(15)),
            ("017", Some(15)),
            ("0", Some(0)),
            ("1_000", Some(1000)),
            ("0x_1F", Some(31)),
            ("1__0", None),
            ("_1", None),
            ("1_", None),
            ("0x", None),
            ("08", None),
            ("1.5", None),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("", None),
            ("-", None),
            ("abc", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_int(text), *expected, "{text}");
        }
    }

    #[test]
    fn parse_duration_table() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("0s", Some(0)),
            ("1s", Some(1_000_000_000)),
            ("500ms", Some(500_000_000)),
            ("1.5s", Some(1_500_000_000)),
            (".5s", Some(500_000_000)),
            ("1h30m", Some(5_400_000_000_000)),
            ("48h", Some(172_800_000_000_000)),
            ("-2m", Some(-120_000_000_000)),
            ("300us", Some(300_000)),
            ("300\u{b5}s", Some(300_000)),
            ("10ns", Some(10)),
            ("500", None),
            ("1d", None),
            ("s", None),
            (".s", None),
            ("", None),
            ("9999999999h", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), *expected, "{text}");
        }
    }

    #[test]
    fn format_duration_table() {
        let second = 1_000_000_000i64;
        let cases: &[(i64, &str)] = &[
            (0, "0s"),
            (336 * 3600 * second, "336h0m0s"),
            (5400 * second, "1h30m0s"),
            (3615 * second, "1h0m15s"),
            (90 * second, "1m30s"),
            (2_500_000_000, "2.5s"),
            (300_000_000, "300ms"),
            (1_500, "1.5\u{b5}s"),
            (-24 * 3600 * second, "-24h0m0s"),
        ];
        for (nanos, expected) in cases {
            assert_eq!(format_duration(*nanos), *expected, "{nanos}");
        }
    }

    #[test]
    fn format_float_table() {
        let cases: &[(f64, &str)] = &[
            (18.0, "18"),
            (0.5, "0.5"),
            (123.40000000000005, "123.40000000000005"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (100000000.0, "1e+08"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (1e21, "1e+21"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_float(*value), *expected, "{value}");
        }
    }

    #[test]
    fn json_marshal_matches_go() {
        let value: Value =
            serde_json::from_str(r#"{"b":[1,2.5,1e21,1e-7,1000000],"a":"<x & y>","c":null,"d":{"z":true},"e":"line\nnext\u0001"}"#)
                .expect("valid JSON");
        assert_eq!(
            marshal(&value),
            r#"{"a":"\u003cx \u0026 y\u003e","b":[1,2.5,1e+21,1e-7,1000000],"c":null,"d":{"z":true},"e":"line\nnext\u0001"}"#
        );
        assert_eq!(format_value(&value), "map[a:<x & y> b:[1 2.5 1e+21 1e-07 1e+06] c:<nil> d:map[z:true] e:line\nnext\u{1}]");
    }
}
