//! Running a log query's pipeline on one line: line filters, parsers, label filters.
//!
//! Parsers add labels; a parser that cannot read the line sets `__error__` (as Loki
//! does) and the line goes on, so `| __error__ = ""` can drop it. Extracted labels that
//! collide with stream labels get the suffix `_extracted`.

use std::collections::{BTreeMap, BTreeSet};

use super::json::{extract, Names, Wanted};
use crate::ast::*;
use crate::lexer::{parse_bytes, parse_duration_seconds};

/// Labels of a line: stream labels plus extracted ones, sorted.
pub type Labels = BTreeMap<String, String>;

pub const ERROR_LABEL: &str = "__error__";

/// A compiled pipeline.
#[derive(Debug, Clone)]
pub struct Pipeline {
    selector: Vec<Matcher>,
    stages: Vec<CompiledStage>,
    /// Labels later stages and the aggregation read; parsers extract only these.
    /// `None`: all of them.
    wanted: Option<Names>,
    /// Implied line filters: see [`implied_needles`].
    needles: Vec<(String, memchr::memmem::Finder<'static>)>,
}

#[derive(Debug, Clone)]
enum CompiledStage {
    LineFilter(LineFilter),
    Json(Vec<(String, Vec<JsonStep>)>),
    Logfmt { strict: bool, keep_empty: bool, params: Vec<(String, String)> },
    Pattern(Vec<PatternPart>),
    Regexp(regex::Regex),
    LabelFilter(LabelFilter),
}

#[derive(Debug, Clone, PartialEq)]
enum JsonStep {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone, PartialEq)]
enum PatternPart {
    Literal(String),
    Capture(Option<String>),
}

impl Pipeline {
    /// A pipeline whose parsers extract every label.
    pub fn new(log: &LogExpr) -> Pipeline {
        Pipeline::extracting(log, None)
    }

    /// A pipeline whose parsers extract only `wanted` labels (all when `None`).
    pub fn extracting(log: &LogExpr, wanted: Option<BTreeSet<String>>) -> Pipeline {
        let stages = log
            .stages
            .iter()
            .map(|stage| match stage {
                Stage::LineFilter(filter) => CompiledStage::LineFilter(filter.clone()),
                Stage::Json { params } => {
                    CompiledStage::Json(params.iter().map(|(label, path)| (label.clone(), json_path(path))).collect())
                }
                Stage::Logfmt { strict, keep_empty, params } => {
                    CompiledStage::Logfmt { strict: *strict, keep_empty: *keep_empty, params: params.clone() }
                }
                Stage::Pattern(pattern) => CompiledStage::Pattern(pattern_parts(pattern)),
                Stage::Regexp(pattern) => {
                    CompiledStage::Regexp(regex::Regex::new(pattern).unwrap_or_else(|_| unreachable!("validated by the parser")))
                }
                Stage::LabelFilter(filter) => CompiledStage::LabelFilter(filter.clone()),
            })
            .collect();
        Pipeline { selector: log.selector.clone(), stages, wanted: wanted.map(Names::new), needles: implied_needles(&log.stages) }
    }

    /// The same pipeline without implied line filters, to check they change nothing, and
    /// how many there were.
    #[cfg(test)]
    pub(crate) fn without_implied_filters(mut self) -> (Pipeline, usize) {
        let count = self.needles.len();
        self.needles.clear();
        (self, count)
    }

    /// Whether a stream with these labels is selected at all.
    pub fn selects(&self, stream: &Labels) -> bool {
        self.selector.iter().all(|matcher| matcher.matches(stream.get(&matcher.name).map_or("", String::as_str)))
    }

    /// Runs the stages; returns the line's labels, or `None` when a filter drops it.
    pub fn process(&self, stream: &Labels, line: &str) -> Option<Labels> {
        self.process_with(stream, line, &mut false)
    }

    /// [`Pipeline::process`] that also says whether a parser could not read the line
    /// (`__error__` set), kept or dropped afterwards.
    pub fn process_with(&self, stream: &Labels, line: &str, parse_error: &mut bool) -> Option<Labels> {
        if !self.needles.is_empty() && memchr::memchr(b'\\', line.as_bytes()).is_none() {
            // Without a backslash a JSON line has no escapes, so a string value it holds
            // is in its text verbatim: a line without the needle cannot pass the filter.
            let absent = |(name, needle): &(String, memchr::memmem::Finder<'static>)| {
                !stream.contains_key(name) && needle.find(line.as_bytes()).is_none()
            };
            if self.needles.iter().any(absent) {
                return None;
            }
        }
        let mut labels = stream.clone();
        for stage in &self.stages {
            match stage {
                CompiledStage::LineFilter(filter) => {
                    if !line_filter(filter, line) {
                        return None;
                    }
                }
                CompiledStage::Json(params) if params.is_empty() => {
                    let wanted = self.wanted.as_ref().map_or(Wanted::All, Wanted::Names);
                    let mut extracted = Vec::new();
                    if !extract(line, wanted, &mut extracted) {
                        labels.insert(ERROR_LABEL.to_owned(), "JSONParserErr".to_owned());
                    }
                    for (name, value) in extracted {
                        insert_owned(&mut labels, stream, name, value);
                    }
                }
                CompiledStage::Json(params) => json_stage(params, line, stream, &mut labels),
                CompiledStage::Logfmt { strict, keep_empty, params } => {
                    logfmt_stage(*strict, *keep_empty, params, line, stream, &mut labels)
                }
                CompiledStage::Pattern(parts) => {
                    if let Some(captures) = match_pattern(parts, line) {
                        for (name, value) in captures {
                            insert(&mut labels, stream, name, value.to_owned());
                        }
                    }
                }
                CompiledStage::Regexp(regex) => {
                    if let Some(captures) = regex.captures(line) {
                        for name in regex.capture_names().flatten() {
                            if let Some(value) = captures.name(name) {
                                insert(&mut labels, stream, name, value.as_str().to_owned());
                            }
                        }
                    }
                }
                CompiledStage::LabelFilter(filter) => {
                    if !label_filter(filter, &mut labels) {
                        return None;
                    }
                }
            }
            if matches!(stage, CompiledStage::Json(_) | CompiledStage::Logfmt { .. }) && labels.contains_key(ERROR_LABEL) {
                *parse_error = true;
            }
        }
        Some(labels)
    }
}

/// Line filters implied by `| json | name = "value"`: `(name, "\"value\"")` pairs, each
/// a quoted string that a line must contain to pass, unless it has a backslash (escapes
/// could spell the value otherwise) or its stream has the label `name` (the filter then
/// reads the stream's label). Only before any other parser, and only for values that no
/// JSON number, boolean or null turns into, so the label can only come from a string.
pub(crate) fn implied_needles(stages: &[Stage]) -> Vec<(String, memchr::memmem::Finder<'static>)> {
    fn equalities(filter: &LabelFilter, out: &mut Vec<(String, memchr::memmem::Finder<'static>)>) {
        match filter {
            LabelFilter::And(left, right) => {
                equalities(left, out);
                equalities(right, out);
            }
            LabelFilter::Match(matcher) if matcher.op == MatchOp::Equal && !matcher.name.starts_with("__") => {
                let value = &matcher.value;
                let string_only = !value.is_empty()
                    && value.parse::<f64>().is_err()
                    && !matches!(value.as_str(), "true" | "false")
                    && !value.chars().any(|c| c == '"' || c == '\\' || c.is_control());
                if string_only {
                    let needle = format!("\"{value}\"");
                    out.push((matcher.name.clone(), memchr::memmem::Finder::new(needle.as_bytes()).into_owned()));
                }
            }
            _ => {}
        }
    }
    let mut needles = Vec::new();
    let mut json = false;
    for stage in stages {
        match stage {
            Stage::LineFilter(_) => {}
            Stage::Json { params } if params.is_empty() && !json => json = true,
            Stage::LabelFilter(filter) if json => equalities(filter, &mut needles),
            _ => break,
        }
    }
    needles
}

pub(crate) fn line_filter(filter: &LineFilter, line: &str) -> bool {
    match filter.op {
        LineFilterOp::Contains => filter.patterns.iter().any(|pattern| line.contains(pattern.as_str())),
        LineFilterOp::NotContains => !filter.patterns.iter().any(|pattern| line.contains(pattern.as_str())),
        LineFilterOp::Matches => filter.regexes.iter().any(|regex| regex.is_match(line)),
        LineFilterOp::NotMatches => !filter.regexes.iter().any(|regex| regex.is_match(line)),
    }
}

/// Label names keep `[a-zA-Z0-9_]`; anything else becomes `_` (`@timestamp` is
/// `_timestamp`), and a leading digit gets a `_` before it.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn insert(labels: &mut Labels, stream: &Labels, name: &str, value: String) {
    insert_owned(labels, stream, if is_clean(name) { name.to_owned() } else { sanitize(name) }, value);
}

/// Inserts an extracted label whose name is already sanitized.
fn insert_owned(labels: &mut Labels, stream: &Labels, name: String, value: String) {
    let name = if stream.contains_key(&name) { format!("{name}_extracted") } else { name };
    labels.insert(name, value);
}

/// Bytes a label name may hold as they are: `[a-zA-Z0-9_]`.
static CLEAN: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = (byte as u8).is_ascii_alphanumeric() || byte == b'_' as usize;
        byte += 1;
    }
    table
};

#[inline]
pub(crate) fn is_clean(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.first().is_some_and(u8::is_ascii_digit) && bytes.iter().all(|byte| CLEAN[usize::from(*byte)])
}

fn json_path(path: &str) -> Vec<JsonStep> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').unwrap_or(after.len());
            let inner = after[..end].trim();
            match inner.parse::<usize>() {
                Ok(index) => steps.push(JsonStep::Index(index)),
                Err(_) => steps.push(JsonStep::Key(inner.trim_matches('"').to_owned())),
            }
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            if end > 0 {
                steps.push(JsonStep::Key(rest_trimmed[..end].to_owned()));
            }
            rest = &rest_trimmed[end..];
        }
    }
    steps
}

fn json_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        serde_json::Value::Null => Some(String::new()),
        _ => None,
    }
}

fn json_stage(params: &[(String, Vec<JsonStep>)], line: &str, stream: &Labels, labels: &mut Labels) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
        labels.insert(ERROR_LABEL.to_owned(), "JSONParserErr".to_owned());
        return;
    };
    for (label, steps) in params {
        let mut current = Some(&value);
        for step in steps {
            current = current.and_then(|value| match step {
                JsonStep::Key(key) => value.get(key),
                JsonStep::Index(index) => value.get(index),
            });
        }
        let text = current.and_then(|value| json_text(value).or_else(|| Some(value.to_string()))).unwrap_or_default();
        insert(labels, stream, label, text);
    }
}

fn logfmt_stage(strict: bool, keep_empty: bool, params: &[(String, String)], line: &str, stream: &Labels, labels: &mut Labels) {
    let mut pairs = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
        let key_start = i;
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b' ' {
            i += 1;
        }
        let key = &line[key_start..i];
        if key.is_empty() {
            if i < bytes.len() {
                if strict {
                    labels.insert(ERROR_LABEL.to_owned(), "LogfmtParserErr".to_owned());
                    return;
                }
                i += 1;
            }
            continue;
        }
        let value = if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            if i < bytes.len() && bytes[i] == b'"' {
                let mut value = String::new();
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' if i + 1 < bytes.len() => {
                            value.push(bytes[i + 1] as char);
                            i += 2;
                        }
                        b'"' => {
                            i += 1;
                            closed = true;
                            break;
                        }
                        _ => {
                            let ch = line[i..].chars().next().unwrap_or(' ');
                            value.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                if !closed && strict {
                    labels.insert(ERROR_LABEL.to_owned(), "LogfmtParserErr".to_owned());
                    return;
                }
                value
            } else {
                let start = i;
                while i < bytes.len() && bytes[i] != b' ' {
                    i += 1;
                }
                line[start..i].to_owned()
            }
        } else {
            String::new()
        };
        pairs.push((key, value));
    }
    if params.is_empty() {
        for (key, value) in pairs {
            if keep_empty || !value.is_empty() {
                insert(labels, stream, key, value);
            }
        }
    } else {
        for (label, key) in params {
            if let Some((_, value)) = pairs.iter().rev().find(|(candidate, _)| candidate == key) {
                insert(labels, stream, label, value.clone());
            }
        }
    }
}

fn pattern_parts(pattern: &str) -> Vec<PatternPart> {
    let mut parts = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('<') {
        let Some(end) = rest[start..].find('>').map(|end| start + end) else { break };
        let name = &rest[start + 1..end];
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            // Not a capture: keep the text as a literal.
            parts.push(PatternPart::Literal(rest[..end + 1].to_owned()));
            rest = &rest[end + 1..];
            continue;
        }
        if start > 0 {
            parts.push(PatternPart::Literal(rest[..start].to_owned()));
        }
        parts.push(PatternPart::Capture((name != "_").then(|| name.to_owned())));
        rest = &rest[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(PatternPart::Literal(rest.to_owned()));
    }
    parts
}

/// Matches captures lazily up to the next literal; the last capture takes the rest.
fn match_pattern<'l>(parts: &'l [PatternPart], line: &'l str) -> Option<Vec<(&'l str, &'l str)>> {
    let mut captures = Vec::new();
    let mut rest = line;
    let mut index = 0;
    while index < parts.len() {
        match &parts[index] {
            PatternPart::Literal(literal) => rest = rest.strip_prefix(literal.as_str())?,
            PatternPart::Capture(name) => {
                let (value, after) = match parts.get(index + 1) {
                    Some(PatternPart::Literal(next)) => {
                        let end = rest.find(next.as_str())?;
                        (&rest[..end], &rest[end..])
                    }
                    _ => (rest, ""),
                };
                if let Some(name) = name {
                    captures.push((name.as_str(), value));
                }
                rest = after;
            }
        }
        index += 1;
    }
    Some(captures)
}

/// Where a label filter reads labels, and where it records that a value could not be
/// converted.
pub(crate) trait LabelView {
    fn label(&self, name: &str) -> Option<&str>;
    fn set_filter_error(&mut self);

    /// Label `name` read as the kind of `value` (its number is ignored): `None` without
    /// the label, `Some(None)` when its text is not such a value.
    #[allow(clippy::option_option, reason = "no label vs. a label that does not convert, as Loki tells them apart")]
    fn converted(&mut self, name: &str, value: &Value) -> Option<Option<f64>> {
        self.label(name).map(|text| convert(text, value))
    }
}

/// The usual number label (`"status": 503`): up to 15 ASCII digits, which a float holds
/// exactly, so this is what parsing it as one gives.
#[inline]
fn plain_integer(text: &str) -> Option<f64> {
    if text.is_empty() || text.len() > 15 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0')) as f64)
}

/// A label's text as a number, a duration (seconds) or a byte size, as `value` is.
pub(crate) fn convert(text: &str, value: &Value) -> Option<f64> {
    match value {
        Value::Number(_) => plain_integer(text).or_else(|| text.trim().parse::<f64>().ok()),
        Value::Duration(_) => parse_duration_seconds(text.trim()),
        Value::Bytes(_) => parse_bytes(text.trim()),
    }
}

impl LabelView for Labels {
    fn label(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }

    fn set_filter_error(&mut self) {
        self.insert(ERROR_LABEL.to_owned(), "LabelFilterErr".to_owned());
    }
}

/// Evaluates a label filter; a value that cannot be converted for a numeric comparison
/// sets `__error__` and keeps the line, as in Loki.
pub fn label_filter(filter: &LabelFilter, labels: &mut Labels) -> bool {
    filter_view(filter, labels)
}

pub(crate) fn filter_view(filter: &LabelFilter, labels: &mut impl LabelView) -> bool {
    match filter {
        LabelFilter::And(left, right) => filter_view(left, labels) && filter_view(right, labels),
        LabelFilter::Or(left, right) => filter_view(left, labels) || filter_view(right, labels),
        LabelFilter::Match(matcher) => matcher.matches(labels.label(&matcher.name).unwrap_or("")),
        LabelFilter::Compare { name, op, value } => {
            let Some(actual) = labels.converted(name, value) else { return false };
            let (Value::Number(expected) | Value::Duration(expected) | Value::Bytes(expected)) = *value;
            let Some(actual) = actual else {
                labels.set_filter_error();
                return true;
            };
            match op {
                CompareOp::Equal => actual == expected,
                CompareOp::NotEqual => actual != expected,
                CompareOp::Less => actual < expected,
                CompareOp::LessOrEqual => actual <= expected,
                CompareOp::Greater => actual > expected,
                CompareOp::GreaterOrEqual => actual >= expected,
            }
        }
    }
}
