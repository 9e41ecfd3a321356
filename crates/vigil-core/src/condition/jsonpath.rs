//! `[BODY].a.b[0]` paths, parsed when the config loads and walked the way Gatus' own
//! `jsonpath.Eval` walks them, so a value and its `len()` are what Gatus gives: a string
//! as itself (length in bytes), an object as minified JSON, an array as Go prints it
//! (`[a b]`, length = elements), numbers and booleans as Go prints them; `null`, a
//! missing key or index, or a key under a string is no value (`(INVALID)`).

use serde_json::Value;

use super::golang;

/// One step of a path: a key with the indices after it (`data[0][1]`), or indices
/// alone at the root (`[0]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    name: String,
    indices: Vec<usize>,
}

/// Parses the text after `[BODY]` (`.a.b[0]`, `[0].id`); `None` when it is not a path.
pub(super) fn parse(text: &str) -> Option<Vec<Key>> {
    let path = text.strip_prefix('.').unwrap_or(text);
    if path.is_empty() || (!text.starts_with('.') && !text.starts_with('[')) {
        return None;
    }
    let mut keys = Vec::new();
    for part in split_outside_brackets(path) {
        let name_end = part.find('[').unwrap_or(part.len());
        let (name, mut rest) = part.split_at(name_end);
        if name.contains(']') {
            return None;
        }
        let mut indices = Vec::new();
        while let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let index = &after[..end];
            if index.is_empty() || !index.bytes().all(|byte| byte.is_ascii_digit()) {
                return None;
            }
            indices.push(index.parse().ok()?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() || (name.is_empty() && indices.is_empty()) {
            return None;
        }
        keys.push(Key { name: name.to_owned(), indices });
    }
    Some(keys)
}

fn split_outside_brackets(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (index, byte) in path.bytes().enumerate() {
        match byte {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b'.' if depth == 0 => {
                parts.push(&path[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&path[start..]);
    parts
}

/// The value at `keys` in `root` as text, and its length; `None` when there is none.
pub(super) fn walk(keys: &[Key], root: &Value) -> Option<(String, usize)> {
    let (key, rest) = keys.split_first()?;
    let value = extract(key, root)?;
    match value {
        Value::Null => None,
        Value::Object(_) if !rest.is_empty() => walk(rest, value),
        object @ Value::Object(_) => {
            let text = golang::marshal(object);
            let length = text.len();
            Some((text, length))
        }
        Value::String(_) if !rest.is_empty() => None,
        Value::String(text) => Some((text.clone(), text.len())),
        // Gatus stops at an array or a scalar even when the path goes on.
        array @ Value::Array(items) => Some((golang::format_value(array), items.len())),
        scalar => {
            let text = golang::format_value(scalar);
            let length = text.len();
            Some((text, length))
        }
    }
}

fn extract<'v>(key: &Key, value: &'v Value) -> Option<&'v Value> {
    if key.indices.is_empty() {
        return match value {
            // Gatus hands back an array whatever key is asked of it.
            Value::Array(_) => Some(value),
            Value::Object(fields) => fields.get(&key.name),
            scalar => Some(scalar),
        };
    }
    let mut current = if key.name.is_empty() { value } else { value.as_object()?.get(&key.name)? };
    for index in &key.indices {
        current = current.as_array()?.get(*index)?;
    }
    Some(current)
}

/// `len([BODY])`: the number of elements of a JSON array body, else the body's length
/// in bytes.
pub(super) fn body_length(body: &[u8]) -> usize {
    if body.first() == Some(&b'[') && body.last() == Some(&b']') {
        if let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) {
            return items.len();
        }
        return String::from_utf8_lossy(body).trim().len();
    }
    body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path, a body, and the value with its length (`None`: an error in Gatus, no
    /// value here).
    type WalkCase<'a> = (&'a str, &'a str, Option<(&'a str, usize)>);

    /// Ported from TwiN/gatus `jsonpath/jsonpath_test.go`.
    #[test]
    fn walk_table() {
        let cases: &[WalkCase<'_>] = &[
            ("key", r#"{"key": "value"}"#, Some(("value", 5))),
            ("key", "invalid data", None),
            ("key", "{}", None),
            ("long.simple.walk", r#"{"long": {"simple": {"walk": "value"}}}"#, Some(("value", 5))),
            ("ids[1].id", r#"{"ids": [{"id": 1}, {"id": 2}]}"#, Some(("2", 1))),
            ("ids[0]", r#"{"ids": [1, 2]}"#, Some(("1", 1))),
            ("[1]", "[1, 2]", Some(("2", 1))),
            ("[0]", r#"[{"id": 1}, {"id": 2}]"#, Some((r#"{"id":1}"#, 8))),
            ("[0].id", r#"[{"id": 1}, {"id": 2}]"#, Some(("1", 1))),
            ("[5].id", r#"[{"id": 1}, {"id": 2}]"#, None),
            ("data.ids[0].id", r#"{"data": {"ids": [{"id": 1}, {"id": 2}, {"id": 3}]}}"#, Some(("1", 1))),
            ("[3][2]", "[[1, 2], [3, 4], [], [5, 6, 7]]", Some(("7", 1))),
            ("data[1][1]", r#"{"data": [["a", "b", "c"], ["d", "eeeee", "f"]]}"#, Some(("eeeee", 5))),
            ("data[0].apps[1].name", r#"{"data": [{"apps": [{"name":"app1"}, {"name":"app2"}, {"name":"app3"}]}]}"#, Some(("app2", 4))),
            ("data[0].apps[1].name", r#"{"data": [{"apps": []}]}"#, None),
            ("data.name.invalid", r#"{"data": {"name": "john"}}"#, None),
            ("balance", r#"{"balance": "123.40000000000005"}"#, Some(("123.40000000000005", 18))),
            ("balance", r#"{"balance": 123.40000000000005}"#, Some(("123.40000000000005", 18))),
            // Beyond Gatus' table: what its walk does with other shapes.
            ("data", r#"{"data": ["hello", "world", "Whatever"]}"#, Some(("[hello world Whatever]", 3))),
            ("data", r#"{"data": null}"#, None),
            ("items[0]", r#"{"items": [null, null]}"#, None),
            ("data", "null", None),
            ("[0].name", r#"{"statusCode": 500}"#, None),
            ("count", r#"{"count": 1000000}"#, Some(("1e+06", 5))),
            ("a", r#"{"a": {"z": 1, "b": "<"}}"#, Some((r#"{"b":"\u003c","z":1}"#, 20))),
            ("adult", r#"{"adult":true}"#, Some(("true", 4))),
        ];
        for (path, body, expected) in cases {
            let keys = parse(&format!(".{path}")).unwrap_or_else(|| panic!("{path} should parse"));
            let value: Option<Value> = serde_json::from_str(body).ok();
            let got = value.as_ref().and_then(|value| walk(&keys, value));
            let expected = expected.map(|(text, length)| (text.to_owned(), length));
            assert_eq!(got, expected, "{path} on {body}");
        }
    }

    /// Paths Gatus would only ever resolve to `(INVALID)` are config errors here.
    #[test]
    fn invalid_paths() {
        for text in ["status", ".", ".a..b", ".a.", ".ids[wat]", ".data[-1]", ".a[0", ".a]b", "[]"] {
            assert_eq!(parse(text), None, "{text}");
        }
        assert_eq!(
            parse("[0].id"),
            Some(vec![Key { name: String::new(), indices: vec![0] }, Key { name: "id".to_owned(), indices: vec![] }])
        );
    }

    #[test]
    fn body_length_follows_gatus() {
        assert_eq!(body_length(br#"[{"id": 1}, {"id": 2}, {"id": 3}]"#), 3);
        assert_eq!(body_length(br#"{"name": "john.doe"}"#), 20);
        assert_eq!(body_length(b"john.doe"), 8);
        assert_eq!(body_length(b"[not json]"), 10);
    }
}
