//! Selective JSON extraction: walks a line once and keeps only the labels asked for,
//! skipping every other value without building it. Nested objects flatten to
//! `parent_child` names; arrays are skipped (as Loki's `json` stage does).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
    let mut out = Vec::with_capacity(1);
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let _ = Object { prefix: String::new(), wanted: Wanted::Only(names), out: &mut out, stop_at: Some(1) }.deserialize(&mut deserializer);
    out.pop()
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
            map.next_value_seed(Field { name, wanted: self.wanted, out: &mut *self.out })?;
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

struct Field<'n, 'w, 'o> {
    name: Cow<'n, str>,
    wanted: Wanted<'w>,
    out: &'o mut Vec<(String, String)>,
}

impl Field<'_, '_, '_> {
    fn keep(self, value: impl FnOnce() -> String) {
        if self.wanted.keeps(&self.name) {
            self.out.push((self.name.into_owned(), value()));
        }
    }
}

impl<'de> DeserializeSeed<'de> for Field<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Field<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_str<E>(self, value: &str) -> Result<(), E> {
        self.keep(|| value.to_owned());
        Ok(())
    }
    fn visit_bool<E>(self, value: bool) -> Result<(), E> {
        self.keep(|| value.to_string());
        Ok(())
    }
    fn visit_i64<E>(self, value: i64) -> Result<(), E> {
        self.keep(|| value.to_string());
        Ok(())
    }
    fn visit_u64<E>(self, value: u64) -> Result<(), E> {
        self.keep(|| value.to_string());
        Ok(())
    }
    fn visit_f64<E>(self, value: f64) -> Result<(), E> {
        self.keep(|| value.to_string());
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.keep(String::new);
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.wanted.descends(&self.name) {
            return Object { prefix: self.name.into_owned(), wanted: self.wanted, out: self.out, stop_at: None }.visit_map(map);
        }
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
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
        let mut dashed = Vec::new();
        let wanted = BTreeSet::from(["user_agent".to_owned()]);
        assert!(extract(r#"{"user-agent":"curl"}"#, Wanted::Only(&wanted), &mut dashed));
        assert_eq!(dashed, [("user_agent".into(), "curl".into())]);
    }
}
