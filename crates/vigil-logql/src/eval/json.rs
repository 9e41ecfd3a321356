//! Selective JSON extraction: walks a line once and keeps only the labels asked for,
//! skipping every other value without building it. Nested objects flatten to
//! `parent_child` names; arrays are skipped (as Loki's `json` stage does); numbers and
//! booleans keep the text they were written with.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::pipeline::{is_clean, sanitize};

/// Which labels to keep: all, or a set of names.
#[derive(Debug, Clone, Copy)]
pub enum Wanted<'a> {
    All,
    Only(&'a BTreeSet<String>),
}

impl Wanted<'_> {
    fn keeps(&self, name: &str) -> bool {
        match self {
            Wanted::All => true,
            // A rule reads a handful of labels: comparing lengths first beats the tree.
            Wanted::Only(names) if names.len() <= 8 => names.iter().any(|wanted| wanted.len() == name.len() && wanted == name),
            Wanted::Only(names) => names.contains(name),
        }
    }

    /// Whether any wanted label lies below the object `prefix`.
    fn descends(&self, prefix: &str) -> bool {
        match self {
            Wanted::All => true,
            Wanted::Only(names) => {
                names.iter().any(|name| name.len() > prefix.len() + 1 && name.starts_with(prefix) && name.as_bytes()[prefix.len()] == b'_')
            }
        }
    }
}

/// Extracts the wanted labels of a JSON object line into `out`; false when the line is
/// not a JSON object.
pub fn extract(line: &str, wanted: Wanted<'_>, out: &mut Vec<(String, String)>) -> bool {
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let ok = Object { prefix: String::new(), wanted, out, stop_at: None }.deserialize(&mut deserializer).is_ok();
    ok && deserializer.end().is_ok()
}

/// Like [`extract`] for a set of names, but stops reading at the first of them found
/// (in `order` of preference only among those seen so far); the rest of the line is not
/// read, so it is not validated either. For metadata such as the event time, which is
/// usually the first field.
pub fn first_of(line: &str, names: &BTreeSet<String>) -> Option<(String, String)> {
    if let Some(found) = leading_field(line, names) {
        return found;
    }
    let mut out = Vec::with_capacity(1);
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let _ = Object { prefix: String::new(), wanted: Wanted::Only(names), out: &mut out, stop_at: Some(1) }.deserialize(&mut deserializer);
    out.pop()
}

/// The common layout, `{"ts": VALUE, ...`, read without walking the object: the first
/// key, if it is plain (no escapes, already a clean label name) and wanted, and its value
/// parsed alone. `None` when the line does not start that way (the caller walks it);
/// `Some(None)` when the value is not one a label holds (an object or array: the walk
/// would skip it) or is broken.
#[allow(clippy::option_option, reason = "not applicable vs. applicable but empty, as documented")]
fn leading_field(line: &str, names: &BTreeSet<String>) -> Option<Option<(String, String)>> {
    let rest = line.strip_prefix('{')?.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    let key = &rest[..end];
    if key.contains('\\') || !is_clean(key) || !names.contains(key) {
        return None;
    }
    let value = rest[end + 1..].trim_start().strip_prefix(':')?;
    let raw = <&RawValue as serde::Deserialize>::deserialize(&mut serde_json::Deserializer::from_str(value)).ok()?;
    match value_text(raw.get()) {
        Ok(Some(text)) => Some(Some((key.to_owned(), text))),
        // An object or array: the walk skips it and looks further.
        Ok(None) => None,
        Err(_) => Some(None),
    }
}

/// A wanted value's text as written: strings unescaped (sliced when they have no
/// escapes), numbers and booleans keep their spelling (as Loki does, nothing is
/// formatted back from a float), null is empty; `None` for objects and arrays.
fn value_text(text: &str) -> Result<Option<String>, serde_json::Error> {
    Ok(match text.as_bytes().first() {
        Some(b'{' | b'[') | None => None,
        Some(b'"') => Some(match text.get(1..text.len() - 1).filter(|inner| !inner.contains('\\')) {
            Some(inner) => inner.to_owned(),
            None => serde_json::from_str::<String>(text)?,
        }),
        Some(b'n') => Some(String::new()),
        Some(_) => Some(text.to_owned()),
    })
}

/// Reads one top-level field as text (strings as they are, numbers and booleans printed).
pub fn field(line: &str, name: &str) -> Option<String> {
    let names = BTreeSet::from([name.to_owned()]);
    let mut out = Vec::with_capacity(1);
    let mut deserializer = serde_json::Deserializer::from_str(line);
    Object { prefix: String::new(), wanted: Wanted::Only(&names), out: &mut out, stop_at: None }.deserialize(&mut deserializer).ok()?;
    out.pop().map(|(_, value)| value)
}

struct Object<'w, 'o> {
    prefix: String,
    wanted: Wanted<'w>,
    out: &'o mut Vec<(String, String)>,
    /// Stop (with an error the caller ignores) once this many labels are out.
    stop_at: Option<usize>,
}

impl<'de> DeserializeSeed<'de> for Object<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Object<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key)? {
            // Names are sanitized here, so wanted names match what later stages see; a
            // clean top-level key (the common case) is used as it is, without allocating.
            let name: Cow<'_, str> = match (self.prefix.is_empty(), is_clean(&key)) {
                (true, true) => Cow::Borrowed(&*key),
                (true, false) => Cow::Owned(sanitize(&key)),
                (false, _) => Cow::Owned(format!("{}_{}", self.prefix, sanitize(&key))),
            };
            let keep = self.wanted.keeps(&name);
            let descend = !keep && self.wanted.descends(&name);
            if !keep && !descend {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let raw: &'de RawValue = map.next_value()?;
            let text = raw.get();
            if text.starts_with('{') && (descend || keep && self.wanted.descends(&name)) {
                let mut inner = serde_json::Deserializer::from_str(text);
                Object { prefix: name.into_owned(), wanted: self.wanted, out: &mut *self.out, stop_at: None }
                    .deserialize(&mut inner)
                    .map_err(serde::de::Error::custom)?;
            } else if keep {
                if let Some(value) = value_text(text).map_err(serde::de::Error::custom)? {
                    self.out.push((name.into_owned(), value));
                }
            }
            if self.stop_at.is_some_and(|stop_at| self.out.len() >= stop_at) {
                return Err(serde::de::Error::custom("found"));
            }
        }
        Ok(())
    }
}

struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Cow<'de, str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(value))
    }
    fn visit_str<E>(self, value: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_only_what_is_wanted() {
        let line = r#"{"path":"/x","nested":{"a":1,"b":{"c":true}},"list":[1,{"x":2}],"n":null,"f":1.5,"skip":"me"}"#;
        let mut all = Vec::new();
        assert!(extract(line, Wanted::All, &mut all));
        let names: Vec<&str> = all.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["path", "nested_a", "nested_b_c", "n", "f", "skip"]);
        let wanted = BTreeSet::from(["path".to_owned(), "nested_b_c".to_owned(), "f".to_owned()]);
        let mut some = Vec::new();
        assert!(extract(line, Wanted::Only(&wanted), &mut some));
        assert_eq!(some, [("path".into(), "/x".into()), ("nested_b_c".into(), "true".into()), ("f".into(), "1.5".into())]);
        assert!(!extract("not json", Wanted::All, &mut Vec::new()));
        assert!(!extract(r#"{"a":1} trailing"#, Wanted::All, &mut Vec::new()));
        assert_eq!(field(r#"{"ts":1795341600.5,"x":"y"}"#, "ts").as_deref(), Some("1795341600.5"));
        assert_eq!(field(r#"{"x":"y"}"#, "ts"), None);
        let names = BTreeSet::from(["ts".to_owned(), "time".to_owned()]);
        assert_eq!(first_of(r#"{"time":"a","ts":"b"} garbage"#, &names), Some(("time".into(), "a".into())));
        // The leading-field shortcut and the walk agree on every layout.
        for line in [
            r#"{ "ts" : 12.5 ,"x":1}"#,
            r#"{"ts":"2026-12-01T00:00:00Z"}"#,
            r#"{"ts":"a"b"}"#,
            r#"{"ts":null,"time":"t"}"#,
            r#"{"ts":{"nested":1},"time":"t"}"#,
            r#"{"ts":"escaped key","time":"t"}"#,
            r#"{"x":1,"ts":2}"#,
            r#"{"ts":"unterminated}"#,
            r#"{"ts":}"#,
        ] {
            let mut walked = Vec::new();
            let _ = Object { prefix: String::new(), wanted: Wanted::Only(&names), out: &mut walked, stop_at: Some(1) }
                .deserialize(&mut serde_json::Deserializer::from_str(line));
            assert_eq!(first_of(line, &names), walked.pop(), "{line}");
        }
        let mut spelled = Vec::new();
        assert!(extract(r#"{"n":1.0,"e":1e3,"s":"a\"b\u0041","t":true}"#, Wanted::All, &mut spelled));
        assert_eq!(
            spelled,
            [("n".into(), "1.0".into()), ("e".into(), "1e3".into()), ("s".into(), "a\"bA".into()), ("t".into(), "true".into())]
        );
        let mut dashed = Vec::new();
        let wanted = BTreeSet::from(["user_agent".to_owned()]);
        assert!(extract(r#"{"user-agent":"curl"}"#, Wanted::Only(&wanted), &mut dashed));
        assert_eq!(dashed, [("user_agent".into(), "curl".into())]);
    }
}
