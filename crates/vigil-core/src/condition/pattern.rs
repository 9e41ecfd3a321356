//! `pat()` matching as Gatus does it: Go's `filepath.Match` (`*`, `?`, `[a-z]`, `[^x]`,
//! `\` escapes) after every `/` is removed from both the pattern and the text, so `*`
//! matches any run of characters. A malformed pattern never matches in Gatus; Vigil
//! rejects it when the config loads ([`check`]).

/// Whether `text` matches `pattern`.
pub(super) fn matches(pattern: &str, text: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let pattern: Vec<u8> = pattern.bytes().filter(|byte| *byte != b'/').collect();
    let text: Vec<u8> = text.bytes().filter(|byte| *byte != b'/').collect();
    glob(&pattern, &text).unwrap_or(false)
}

/// `Err` with the reason when `pattern` is malformed (an unclosed `[`, a trailing `\`).
pub(super) fn check(pattern: &str) -> Result<(), &'static str> {
    let pattern: Vec<u8> = pattern.bytes().filter(|byte| *byte != b'/').collect();
    let mut rest = &pattern[..];
    while !rest.is_empty() {
        let (_, chunk, after) = scan_chunk(rest);
        match_chunk(chunk, b"")?;
        rest = after;
    }
    Ok(())
}

const BAD: &str = "malformed pattern: a `[` without its `]`, an empty class, or a trailing `\\`";

/// Go's `filepath.Match` on bytes (no separators are left by the caller).
fn glob(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, &'static str> {
    'chunks: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(true);
        }
        match match_chunk(chunk, name) {
            Ok(Some(after)) if after.is_empty() || !pattern.is_empty() => {
                name = after;
                continue;
            }
            Err(error) => return Err(error),
            _ => {}
        }
        if star {
            for skip in 1..=name.len() {
                if let Some(after) = match_chunk(chunk, &name[skip..])? {
                    if pattern.is_empty() && !after.is_empty() {
                        continue;
                    }
                    name = after;
                    continue 'chunks;
                }
            }
        }
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            match_chunk(chunk, b"")?;
            pattern = rest;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// Splits off leading stars and the chunk up to the next star outside a class.
fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let Some(rest) = pattern.strip_prefix(b"*") {
        pattern = rest;
        star = true;
    }
    let mut in_class = false;
    let mut index = 0;
    while index < pattern.len() {
        match pattern[index] {
            b'\\' if index + 1 < pattern.len() => index += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'*' if !in_class => break,
            _ => {}
        }
        index += 1;
    }
    (star, &pattern[..index], &pattern[index..])
}

/// Matches one chunk at the start of `text`: `Some(rest)` on a match. Like Go, it reads
/// the whole chunk even after a mismatch, so a malformed chunk is always reported.
fn match_chunk<'t>(mut chunk: &[u8], mut text: &'t [u8]) -> Result<Option<&'t [u8]>, &'static str> {
    let mut failed = false;
    while let Some(&first) = chunk.first() {
        if text.is_empty() {
            failed = true;
        }
        match first {
            b'[' => {
                let mut character = '\u{fffd}';
                if !failed {
                    let (decoded, width) = decode(text);
                    character = decoded;
                    text = &text[width..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut ranges = 0;
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (low, after) = class_char(chunk)?;
                    chunk = after;
                    let mut high = low;
                    if chunk.first() == Some(&b'-') {
                        let (value, after) = class_char(&chunk[1..])?;
                        high = value;
                        chunk = after;
                    }
                    if low <= character && character <= high {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    let (_, width) = decode(text);
                    text = &text[width..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if first == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BAD);
                    }
                }
                if !failed {
                    if chunk[0] != text[0] {
                        failed = true;
                    }
                    text = &text[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok((!failed).then_some(text))
}

/// One character of a class, `\` escapes allowed; a class must go on after it.
fn class_char(chunk: &[u8]) -> Result<(char, &[u8]), &'static str> {
    let mut chunk = match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BAD),
        Some(b'\\') => &chunk[1..],
        Some(_) => chunk,
    };
    if chunk.is_empty() {
        return Err(BAD);
    }
    let (character, width) = decode(chunk);
    if character == '\u{fffd}' && width == 1 {
        return Err(BAD);
    }
    chunk = &chunk[width..];
    if chunk.is_empty() {
        return Err(BAD);
    }
    Ok((character, chunk))
}

/// The first UTF-8 character of `bytes` and its width; an invalid byte reads as U+FFFD
/// of width 1, as Go's `utf8.DecodeRuneInString`.
fn decode(bytes: &[u8]) -> (char, usize) {
    for width in 1..=bytes.len().min(4) {
        if let Ok(text) = std::str::from_utf8(&bytes[..width]) {
            if let Some(character) = text.chars().next() {
                return (character, width);
            }
        }
    }
    ('\u{fffd}', 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ported from TwiN/gatus `pattern/pattern_test.go`, with Go's `filepath.Match`
    /// classes and escapes added.
    #[test]
    fn match_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "livingroom_123", true),
            ("**", "livingroom_123", true),
            ("living*", "livingroom_123", true),
            ("*living*", "livingroom_123", true),
            ("*123", "livingroom_123", true),
            ("*_*", "livingroom_123", true),
            ("living*_*3", "livingroom_123", true),
            ("living*room_*3", "livingroom_123", true),
            ("*vin*om*2*", "livingroom_123", true),
            ("livingroom_123", "livingroom_123", true),
            ("*livingroom_123*", "livingroom_123", true),
            ("*test*", "\\test", true),
            ("livingroom", "livingroom_123", false),
            ("livingroom123", "livingroom_123", false),
            ("what", "livingroom_123", false),
            ("*what*", "livingroom_123", false),
            ("*.*", "livingroom_123", false),
            ("room*123", "livingroom_123", false),
            ("10.*", "10.0.0.0", true),
            ("4*", "404", true),
            ("4*", "200", false),
            ("*<div id=\"user\">john.doe</div>*", "<body><div id=\"user\">john.doe</div></body>", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[a-c]x", "bx", true),
            ("[^a-c]x", "bx", false),
            ("[^a-c]x", "dx", true),
            ("\\*x", "*x", true),
            ("\\*x", "ax", false),
            ("*a*b", "xaxbxb", true),
            ("*a*b", "xaxbxc", false),
            ("[", "[", false),
            ("ü*", "über", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(matches(pattern, text), *expected, "pat({pattern}) on {text:?}");
        }
    }

    #[test]
    fn malformed_patterns_are_reported() {
        for pattern in ["[", "[a-", "x[]", "abc\\", "*[z"] {
            assert!(check(pattern).is_err(), "{pattern}");
        }
        for pattern in ["*", "a?c", "[a-c]*", "\\[x\\]", "*<div id=\"user\">john.doe</div>*"] {
            assert_eq!(check(pattern), Ok(()), "{pattern}");
        }
    }
}
