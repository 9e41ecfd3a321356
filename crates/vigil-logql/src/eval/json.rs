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
    /// A set of names with the lengths they have, so most keys are turned away by their
    /// length alone.
    Names(&'a Names),
}

/// Wanted label names, made quick to ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    set: BTreeSet<String>,
    /// The same names in order, for [`Names::index`].
    list: Vec<String>,
    /// Bit `n` for a name of `n` bytes (bit 63 for 63 and more).
    lengths: u64,
}

impl Names {
    pub fn new(set: BTreeSet<String>) -> Names {
        let lengths = set.iter().fold(0, |lengths, name| lengths | length_bit(name));
        Names { list: set.iter().cloned().collect(), set, lengths }
    }

    pub fn set(&self) -> &BTreeSet<String> {
        &self.set
    }

    /// The names, each at its [`Names::index`].
    pub fn list(&self) -> &[String] {
        &self.list
    }

    #[inline]
    fn contains(&self, name: &str) -> bool {
        self.index(name).is_some()
    }

    /// Where `name` is among the names: length, then first and last byte, before
    /// comparing whole names.
    #[inline]
    pub fn index(&self, name: &str) -> Option<usize> {
        let (bytes, last) = (name.as_bytes(), name.len().wrapping_sub(1));
        if self.lengths & length_bit(name) == 0 {
            return None;
        }
        // Names are short: a byte loop beats a call to memcmp.
        self.list.iter().position(|wanted| {
            let wanted = wanted.as_bytes();
            wanted.len() == bytes.len()
                && wanted.first() == bytes.first()
                && wanted.get(last) == bytes.get(last)
                && wanted.iter().zip(bytes).all(|(a, b)| a == b)
        })
    }
}

/// A wanted label found in a line: its index among the [`Names`] and its value's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub name: usize,
    pub start: usize,
    pub end: usize,
}

/// The wanted labels of the usual JSON line as spans of it, without allocating; `None`
/// (with `out` as it was) when the line needs serde's walk ([`extract`]).
pub fn extract_spans(line: &str, names: &Names, out: &mut Vec<Span>) -> Option<()> {
    let before = out.len();
    let result = fast::read(line, Wanted::Names(names), |name, start, end| {
        if let Some(name) = names.index(name) {
            out.push(Span { name, start, end });
        }
    });
    if result.is_none() {
        out.truncate(before);
    }
    result
}

#[inline]
fn length_bit(name: &str) -> u64 {
    1 << name.len().min(63)
}

impl Wanted<'_> {
    #[inline]
    fn keeps(&self, name: &str) -> bool {
        match self {
            Wanted::All => true,
            Wanted::Names(names) => names.contains(name),
            // A rule reads a handful of labels: comparing lengths first beats the tree.
            Wanted::Only(names) if names.len() <= 8 => names.iter().any(|wanted| wanted.len() == name.len() && wanted == name),
            Wanted::Only(names) => names.contains(name),
        }
    }

    /// Whether any wanted label lies below the object `prefix`.
    fn descends(&self, prefix: &str) -> bool {
        let below = |name: &String| name.len() > prefix.len() + 1 && name.starts_with(prefix) && name.as_bytes()[prefix.len()] == b'_';
        match self {
            Wanted::All => true,
            Wanted::Only(names) => names.iter().any(below),
            Wanted::Names(names) => names.set.iter().any(below),
        }
    }
}

mod fast;

/// Extracts the wanted labels of a JSON object line into `out`; false when the line is
/// not a JSON object (with the labels read before the error, as Loki keeps them).
pub fn extract(line: &str, wanted: Wanted<'_>, out: &mut Vec<(String, String)>) -> bool {
    fast::extract(line, wanted, out).is_some() || walk(line, wanted, out)
}

/// [`extract`] by serde_json's walk: every line, errors and partial extractions as serde
/// reads them.
fn walk(line: &str, wanted: Wanted<'_>, out: &mut Vec<(String, String)>) -> bool {
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let ok = Object { prefix: String::new(), wanted, out, stop_at: None }.deserialize(&mut deserializer).is_ok();
    ok && deserializer.end().is_ok()
}

/// Like [`extract`] for a set of names, but stops reading at the first of them found
/// (in `order` of preference only among those seen so far); the rest of the line is not
/// read, so it is not validated either. For metadata such as the event time, which is
/// usually the first field.
/// The usual line's field is borrowed from it, nothing allocated.
pub fn first_of<'a>(line: &'a str, names: &BTreeSet<String>) -> Option<(Cow<'a, str>, Cow<'a, str>)> {
    if let Some(found) = leading_field(line, names) {
        return found;
    }
    let mut out = Vec::with_capacity(1);
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let _ = Object { prefix: String::new(), wanted: Wanted::Only(names), out: &mut out, stop_at: Some(1) }.deserialize(&mut deserializer);
    out.pop().map(|(name, value)| (Cow::Owned(name), Cow::Owned(value)))
}

/// The common layout, `{"ts": VALUE, ...`, read without walking the object: the first
/// key, if it is plain (no escapes, already a clean label name) and wanted, and its value
/// parsed alone. `None` when the line does not start that way (the caller walks it);
/// `Some(None)` when the value is not one a label holds (an object or array: the walk
/// would skip it) or is broken.
#[allow(clippy::option_option, reason = "not applicable vs. applicable but empty, as documented")]
fn leading_field<'a>(line: &'a str, names: &BTreeSet<String>) -> Option<Option<(Cow<'a, str>, Cow<'a, str>)>> {
    let rest = line.strip_prefix('{')?.trim_start().strip_prefix('"')?;
    let end = memchr::memchr(b'"', rest.as_bytes())?;
    let key = &rest[..end];
    if key.contains('\\') || !is_clean(key) || !Wanted::Only(names).keeps(key) {
        return None;
    }
    let value = rest[end + 1..].trim_start().strip_prefix(':')?;
    // The usual event time, a number, read as serde would read it (its grammar), without it.
    let number = value.trim_start_matches([' ', '\t', '\n', '\r']);
    if let Some(length) = fast::number_length(number.as_bytes()) {
        return Some(Some((Cow::Borrowed(key), Cow::Borrowed(&number[..length]))));
    }
    let raw = <&RawValue as serde::Deserialize>::deserialize(&mut serde_json::Deserializer::from_str(value)).ok()?;
    match value_text(raw.get()) {
        Ok(Some(text)) => Some(Some((Cow::Borrowed(key), Cow::Owned(text)))),
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

    /// Lines a log holds, the unusual too: escapes, nesting, every kind of number and
    /// literal, whitespace, unicode, duplicate and odd keys.
    const LINES: &[&str] = &[
        r#"{"ts":1795341600.824,"level":"info","method":"GET","path":"/api/data","status":200,"duration":"3.839s","bytes":17759,"client":"10.0.48.94"}"#,
        r#"{"path":"/api/data","status":500,"duration":"4s","method":"POST","bytes":2048}"#,
        r#"{"path":"\/api\/data","status":503,"ua":"say \"hi\"\u00e9\n"}"#,
        r#"{"req":{"path":"/x","headers":{"a":[1,2,{"b":null}]}},"status":-0.5e-3,"ok":true,"no":false,"n":null}"#,
        r#"{ "a" : 1 , "b" : [ ] , "c" : { } , "d" : "" }"#,
        r#"{}"#,
        r#"{"list":[1,"two",[3,[4,{"five":5}]],true,null],"x":1E+10,"y":0,"z":-7}"#,
        r#"{"@timestamp":"2026","user-agent":"curl","1st":"x","é":"ü","":"empty","a b":"c"}"#,
        r#"{"path":"/a","path":"/b","status":1}"#,
        r#"{"nested":{"a":1,"b":{"c":true}},"nested_a":"flat"}"#,
        r#"{"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","request_id":"0ed904759531985d"}"#,
        "{\"tab\":\"a\tb\"}",
        "{\"k\":1}\n",
    ];

    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, bound: usize) -> usize {
            self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((self.0 >> 33) as usize) % bound.max(1)
        }
    }

    /// Whenever the fast reader answers, serde's walk answers the same; on lines mutated
    /// byte by byte (JSON's own characters inserted, bytes dropped or doubled), with
    /// every kind of wanted set.
    #[test]
    fn the_fast_reader_answers_only_as_the_walk_does() {
        let sets: Vec<BTreeSet<String>> = vec![
            ["path", "status", "duration"].iter().map(|name| (*name).to_owned()).collect(),
            ["nested_a", "nested_b_c", "req_path", "list", "ts"].iter().map(|name| (*name).to_owned()).collect(),
            ["_timestamp", "user_agent", "_1st", "_", "a_b", "", "n", "ok", "x"].iter().map(|name| (*name).to_owned()).collect(),
            (0..12).map(|i| format!("k{i}")).chain(["a".to_owned(), "k".to_owned()]).collect(),
        ];
        let names: Vec<Names> = sets.iter().cloned().map(Names::new).collect();
        let inserts =
            ["{", "}", "[", "]", "\"", ":", ",", "\\", " ", "0", "1", "-", ".", "e", "E", "+", "t", "n", "u", "a", "\t", "\u{1}", "é"];
        let mut random = Lcg(17);
        let (mut answered, mut total) = (0, 0);
        for line in LINES {
            let mut variants = vec![(*line).to_owned()];
            for _ in 0..400 {
                let mut text: Vec<char> = line.chars().collect();
                for _ in 0..1 + random.below(3) {
                    let at = random.below(text.len() + 1);
                    match random.below(4) {
                        0 if at < text.len() => {
                            text.remove(at);
                        }
                        1 if at < text.len() => {
                            let doubled = text[at];
                            text.insert(at, doubled);
                        }
                        _ => {
                            let insert: Vec<char> = inserts[random.below(inserts.len())].chars().collect();
                            for (offset, c) in insert.into_iter().enumerate() {
                                text.insert(at + offset, c);
                            }
                        }
                    }
                }
                variants.push(text.into_iter().collect());
            }
            for variant in &variants {
                for wanted in sets.iter().map(Wanted::Only).chain(names.iter().map(Wanted::Names)).chain([Wanted::All]) {
                    total += 1;
                    let mut fast_out = vec![("before".to_owned(), "x".to_owned())];
                    let Some(()) = fast::extract(variant, wanted, &mut fast_out) else {
                        assert_eq!(fast_out.len(), 1, "{variant}: what it gave up on is taken back");
                        continue;
                    };
                    answered += 1;
                    let mut walked = vec![("before".to_owned(), "x".to_owned())];
                    assert!(walk(variant, wanted, &mut walked), "{variant}: the walk refuses what the fast reader read ({wanted:?})");
                    assert_eq!(fast_out, walked, "{variant} ({wanted:?})");
                }
            }
        }
        assert!(answered * 10 > total, "the fast reader should answer a fair share: {answered} of {total}");
        // The usual access log line is its case.
        let mut out = Vec::new();
        assert_eq!(fast::extract(LINES[0], Wanted::Only(&sets[0]), &mut out), Some(()));
        assert_eq!(out, [("path".into(), "/api/data".into()), ("status".into(), "200".into()), ("duration".into(), "3.839s".into())]);
    }

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
            r#"{"ts":-0.5e3,"x":1}"#,
            r#"{"ts": 	1795341600.824}"#,
            r#"{"ts":01,"time":"t"}"#,
            r#"{"ts":1.,"time":"t"}"#,
            r#"{"ts":-,"time":"t"}"#,
            r#"{"ts":12abc}"#,
        ] {
            let mut walked = Vec::new();
            let _ = Object { prefix: String::new(), wanted: Wanted::Only(&names), out: &mut walked, stop_at: Some(1) }
                .deserialize(&mut serde_json::Deserializer::from_str(line));
            let first = first_of(line, &names).map(|(name, value)| (name.into_owned(), value.into_owned()));
            assert_eq!(first, walked.pop(), "{line}");
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
