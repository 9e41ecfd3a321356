//! The common JSON log line read in one pass over its bytes, without serde: an object whose
//! keys have no escapes and whose wanted values are strings without escapes, numbers,
//! booleans or null. Values it skips may be anything valid (escapes, nested objects and
//! arrays); they are checked as serde_json checks them when it skips a value.
//!
//! It answers only when it is sure of serde's answer. Anything else — a byte below 0x20
//! anywhere, an escape in a key or in a wanted string, an object it would have to descend
//! into, any syntax it does not accept — makes it give up (`None`) and leaves the line to
//! the serde walk, which then decides, errors and partial extractions included. A test
//! checks on mutated lines that whenever it answers, the walk answers the same.

use super::Wanted;
use crate::eval::pipeline::{is_clean, sanitize};

/// The wanted labels of a JSON object line, appended to `out`; `None` (with `out` as it
/// was) when the line is not one this reader is sure of.
pub(super) fn extract(line: &str, wanted: Wanted<'_>, out: &mut Vec<(String, String)>) -> Option<()> {
    let before = out.len();
    let result = read(line, wanted, |name, start, end| out.push((name.to_owned(), line[start..end].to_owned())));
    if result.is_none() {
        out.truncate(before);
    }
    result
}

/// Reads `line`, handing each wanted label's name (sanitized) and the span of its value
/// in the line (empty for null) to `found`; `None` when the line is not one this reader is
/// sure of (what `found` was given is then to be forgotten).
pub(super) fn read(line: &str, wanted: Wanted<'_>, found: impl FnMut(&str, usize, usize)) -> Option<()> {
    Reader { bytes: line.as_bytes(), at: 0 }.object(line, wanted, found)
}

/// The length of the JSON number `bytes` start with, if they start with one.
pub(super) fn number_length(bytes: &[u8]) -> Option<usize> {
    let mut reader = Reader { bytes, at: 0 };
    matches!(reader.peek()?, b'-' | b'0'..=b'9').then_some(())?;
    reader.number()?;
    Some(reader.at)
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The bytes of `word` equal to `byte`, as their high bits; the lowest one is exact
/// (a borrow can only mark bytes above a true match).
#[inline]
fn matches(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Where the first `"` or `\` is, eight bytes at a time.
#[inline]
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let word = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
        let found = matches(word, b'"') | matches(word, b'\\');
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    bytes[at..].iter().position(|byte| *byte == b'"' || *byte == b'\\').map(|found| at + found)
}

/// Whether any byte is below 0x20, eight at a time.
fn has_control_byte(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        // Exact for "any": a byte below 0x20 borrows, and no byte at or above it can be
        // marked unless one below it was.
        found |= word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    }
    found != 0 || chunks.remainder().iter().any(|byte| *byte < 0x20)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// What a value was, for deciding what to keep.
enum Value {
    /// A string without escapes: the text between its quotes.
    Plain(usize, usize),
    /// A string with escapes.
    Escaped,
    /// A number, `true`, `false`: the text as written.
    Literal(usize, usize),
    Null,
    Object,
    Array,
}

impl Reader<'_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    #[inline]
    fn whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn object(&mut self, line: &str, wanted: Wanted<'_>, mut found: impl FnMut(&str, usize, usize)) -> Option<()> {
        // A control byte may be inside a string (serde refuses it there) or whitespace
        // (tab, newline): leave both to serde.
        if has_control_byte(self.bytes) {
            return None;
        }
        self.whitespace();
        self.expect(b'{')?;
        self.whitespace();
        if self.peek()? == b'}' {
            self.at += 1;
        } else {
            loop {
                self.expect(b'"')?;
                let (key_start, key_end, escaped) = self.string()?;
                if escaped {
                    return None;
                }
                self.whitespace();
                self.expect(b':')?;
                self.whitespace();
                let value = self.value()?;
                let key = &line[key_start..key_end];
                let name = if is_clean(key) { std::borrow::Cow::Borrowed(key) } else { std::borrow::Cow::Owned(sanitize(key)) };
                let keep = wanted.keeps(&name);
                if matches!(value, Value::Object) && wanted.descends(&name) {
                    // The walk would read the labels inside it.
                    return None;
                }
                if keep {
                    match value {
                        Value::Plain(start, end) | Value::Literal(start, end) => found(&name, start, end),
                        Value::Null => found(&name, self.at, self.at),
                        Value::Escaped => return None,
                        Value::Object | Value::Array => {}
                    }
                }
                self.whitespace();
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        self.whitespace();
                    }
                    b'}' => {
                        self.at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.whitespace();
        (self.at == self.bytes.len()).then_some(())
    }

    /// After an opening quote: the string's span and whether it has escapes (each one
    /// valid); the reader is past the closing quote.
    #[inline]
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.at;
        let mut escaped = false;
        loop {
            self.at += quote_or_backslash(&self.bytes[self.at..])?;
            if self.bytes[self.at] == b'"' {
                let end = self.at;
                self.at += 1;
                return Some((start, end, escaped));
            }
            escaped = true;
            self.at += 1;
            match self.peek()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                b'u' => {
                    let hex = self.bytes.get(self.at + 1..self.at + 5)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.at += 5;
                }
                _ => return None,
            }
        }
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'"' => {
                self.at += 1;
                let (start, end, escaped) = self.string()?;
                Some(if escaped { Value::Escaped } else { Value::Plain(start, end) })
            }
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                self.number()?;
                Some(Value::Literal(start, self.at))
            }
            b't' => self.word(b"true").map(|(start, end)| Value::Literal(start, end)),
            b'f' => self.word(b"false").map(|(start, end)| Value::Literal(start, end)),
            b'n' => self.word(b"null").map(|_| Value::Null),
            b'{' => self.skip_nested().map(|()| Value::Object),
            b'[' => self.skip_nested().map(|()| Value::Array),
            _ => None,
        }
    }

    fn word(&mut self, word: &[u8]) -> Option<(usize, usize)> {
        let start = self.at;
        self.bytes.get(start..start + word.len()).filter(|found| *found == word)?;
        self.at += word.len();
        Some((start, self.at))
    }

    /// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek()? {
            b'0' => {
                self.at += 1;
                if self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                    return None;
                }
            }
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                return None;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if !self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
                return None;
            }
            self.digits();
        }
        Some(())
    }

    #[inline]
    fn digits(&mut self) {
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// Skips an object or array (any depth, as serde skips one: without a depth limit),
    /// checking its syntax.
    fn skip_nested(&mut self) -> Option<()> {
        // Each open frame: true for an object.
        let mut frames: Vec<bool> = Vec::new();
        loop {
            // At a value (or the first item of a frame just opened).
            match self.peek()? {
                b'{' | b'[' => {
                    let object = self.peek()? == b'{';
                    self.at += 1;
                    frames.push(object);
                    self.whitespace();
                    let close = if object { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.at += 1;
                        frames.pop();
                    } else {
                        if object {
                            self.key()?;
                        }
                        continue;
                    }
                }
                _ => {
                    self.value_flat()?;
                }
            }
            // After a value: a comma and the next item, or the frame's end.
            loop {
                let Some(&object) = frames.last() else { return Some(()) };
                self.whitespace();
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        self.whitespace();
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if object => {
                        self.at += 1;
                        frames.pop();
                    }
                    b']' if !object => {
                        self.at += 1;
                        frames.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// A key and its colon inside a skipped object; the reader is at its value after.
    fn key(&mut self) -> Option<()> {
        self.expect(b'"')?;
        self.string()?;
        self.whitespace();
        self.expect(b':')?;
        self.whitespace();
        Some(())
    }

    /// A value that is not an object or array.
    fn value_flat(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' | b'[' => None,
            _ => self.value().map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{has_control_byte, quote_or_backslash};

    /// The eight-at-a-time scans against a byte-by-byte look, at every length and offset.
    #[test]
    fn word_scans_find_what_a_byte_loop_finds() {
        let mut state = 9u64;
        for _ in 0..20_000 {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let length = (state >> 59) as usize + 1;
            let bytes: Vec<u8> = (0..length)
                .map(|i| {
                    let pick = (state >> (i % 50)) as u8;
                    [b'a', b'"', b'\\', 0x1f, 0x20, 0x7f, 0x80, 0xff, b'z', pick][usize::from(pick % 10)]
                })
                .collect();
            assert_eq!(quote_or_backslash(&bytes), bytes.iter().position(|b| *b == b'"' || *b == b'\\'), "{bytes:?}");
            assert_eq!(has_control_byte(&bytes), bytes.iter().any(|b| *b < 0x20), "{bytes:?}");
        }
    }
}
