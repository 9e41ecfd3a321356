//! Tokens of LogQL with their positions. `#` starts a comment that runs to the end of
//! the line.

use crate::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Ident(String),
    /// A quoted string, unescaped (`"..."` with escapes, or `` `...` `` raw).
    Str(String),
    /// A bare number, e.g. `5`, `0.99`.
    Number(f64),
    /// A number with a duration unit, e.g. `10m`, `250ms`, `1h30m`; in seconds.
    Duration(f64),
    /// A number with a byte unit, e.g. `2.5KiB`, `10MB`; in bytes.
    Bytes(f64),
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Pipe,
    /// `|=`
    PipeExact,
    /// `|~`
    PipeMatch,
    /// `|>` and `!>`, Loki's pattern line filters: recognised only to be rejected clearly.
    PipePattern,
    NotPattern,
    /// `!=`
    NotEq,
    /// `!~`
    NotMatch,
    /// `=`
    Eq,
    /// `=~`
    Match,
    /// `==`
    EqEq,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    /// `@`, `offset` and the like are recognised only to be rejected clearly.
    At,
}

impl Token {
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Ident(name) => format!("`{name}`"),
            Token::Str(text) => format!("string {text:?}"),
            Token::Number(n) => format!("number {n}"),
            Token::Duration(_) => "a duration".to_owned(),
            Token::Bytes(_) => "a byte size".to_owned(),
            other => format!("`{}`", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Token::LBrace => "{",
            Token::RBrace => "}",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Comma => ",",
            Token::Pipe => "|",
            Token::PipeExact => "|=",
            Token::PipeMatch => "|~",
            Token::PipePattern => "|>",
            Token::NotPattern => "!>",
            Token::NotEq => "!=",
            Token::NotMatch => "!~",
            Token::Eq => "=",
            Token::Match => "=~",
            Token::EqEq => "==",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Slash => "/",
            Token::Percent => "%",
            Token::Caret => "^",
            Token::At => "@",
            Token::Ident(_) | Token::Str(_) | Token::Number(_) | Token::Duration(_) | Token::Bytes(_) => "",
        }
    }
}

/// A token and the 1-based column (in characters) where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub token: Token,
    pub column: usize,
}

pub(crate) fn tokenize(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let column_of = |index: usize| index + 1;
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        let column = column_of(i);
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let mut push = |token: Token, width: usize, i: &mut usize| {
            tokens.push(Spanned { token, column });
            *i += width;
        };
        match c {
            c if c.is_whitespace() => i += 1,
            '#' => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
            }
            '{' => push(Token::LBrace, 1, &mut i),
            '}' => push(Token::RBrace, 1, &mut i),
            '(' => push(Token::LParen, 1, &mut i),
            ')' => push(Token::RParen, 1, &mut i),
            '[' => push(Token::LBracket, 1, &mut i),
            ']' => push(Token::RBracket, 1, &mut i),
            ',' => push(Token::Comma, 1, &mut i),
            '+' => push(Token::Plus, 1, &mut i),
            '*' => push(Token::Star, 1, &mut i),
            '/' => push(Token::Slash, 1, &mut i),
            '%' => push(Token::Percent, 1, &mut i),
            '^' => push(Token::Caret, 1, &mut i),
            '@' => push(Token::At, 1, &mut i),
            '-' => push(Token::Minus, 1, &mut i),
            '|' => match next {
                Some('=') => push(Token::PipeExact, 2, &mut i),
                Some('~') => push(Token::PipeMatch, 2, &mut i),
                Some('>') => push(Token::PipePattern, 2, &mut i),
                _ => push(Token::Pipe, 1, &mut i),
            },
            '!' => match next {
                Some('=') => push(Token::NotEq, 2, &mut i),
                Some('~') => push(Token::NotMatch, 2, &mut i),
                Some('>') => push(Token::NotPattern, 2, &mut i),
                _ => return Err(ParseError::new(column, "unexpected `!`, expected `!=` or `!~`")),
            },
            '=' => match next {
                Some('=') => push(Token::EqEq, 2, &mut i),
                Some('~') => push(Token::Match, 2, &mut i),
                _ => push(Token::Eq, 1, &mut i),
            },
            '<' => match next {
                Some('=') => push(Token::Le, 2, &mut i),
                _ => push(Token::Lt, 1, &mut i),
            },
            '>' => match next {
                Some('=') => push(Token::Ge, 2, &mut i),
                _ => push(Token::Gt, 1, &mut i),
            },
            '"' => {
                let (value, end) = quoted(&chars, i)?;
                push(Token::Str(value), end - i, &mut i);
            }
            '`' => {
                let start = i + 1;
                let end = (start..chars.len())
                    .find(|&j| chars[j].1 == '`')
                    .ok_or_else(|| ParseError::new(column, "unterminated raw string, expected a closing `"))?;
                let value: String = chars[start..end].iter().map(|&(_, c)| c).collect();
                push(Token::Str(value), end + 1 - i, &mut i);
            }
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let end = (i..chars.len())
                    .find(|&j| !(chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '.' || chars[j].1 == 'µ'))
                    .unwrap_or(chars.len());
                let word: String = chars[i..end].iter().map(|&(_, c)| c).collect();
                let token = number_token(&word)
                    .ok_or_else(|| ParseError::new(column, format!("invalid number, duration or byte size `{word}`")))?;
                push(token, end - i, &mut i);
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = (i..chars.len())
                    .find(|&j| !(chars[j].1.is_ascii_alphanumeric() || chars[j].1 == '_' || chars[j].1 == '.'))
                    .unwrap_or(chars.len());
                let word: String = chars[i..end].iter().map(|&(_, c)| c).collect();
                push(Token::Ident(word), end - i, &mut i);
            }
            other => return Err(ParseError::new(column, format!("unexpected character `{other}`"))),
        }
    }
    Ok(tokens)
}

/// Reads a double-quoted string starting at `start`; returns the value and the index
/// after the closing quote.
fn quoted(chars: &[(usize, char)], start: usize) -> Result<(String, usize), ParseError> {
    let mut value = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i].1 {
            '"' => return Ok((value, i + 1)),
            '\\' => {
                let escaped = chars.get(i + 1).map(|&(_, c)| c).ok_or_else(|| ParseError::new(i + 1, "unterminated escape"))?;
                match escaped {
                    'n' => value.push('\n'),
                    't' => value.push('\t'),
                    'r' => value.push('\r'),
                    '\\' => value.push('\\'),
                    '"' => value.push('"'),
                    // Regex escapes such as `\d` or `\.` pass through for the regex engine.
                    other => {
                        value.push('\\');
                        value.push(other);
                    }
                }
                i += 2;
            }
            c => {
                value.push(c);
                i += 1;
            }
        }
    }
    Err(ParseError::new(start + 1, "unterminated string, expected a closing `\"`"))
}

/// `5` → number; `10m`, `1h30m`, `250ms`, `1.5s` → duration; `2.5KiB`, `10MB` → bytes.
pub(crate) fn number_token(word: &str) -> Option<Token> {
    if let Ok(number) = word.parse::<f64>() {
        return number.is_finite().then_some(Token::Number(number));
    }
    if let Some(seconds) = parse_duration_seconds(word) {
        return Some(Token::Duration(seconds));
    }
    parse_bytes(word).map(Token::Bytes)
}

/// Go/Prometheus-style durations: one or more `<number><unit>`, units ns us µs ms s m h d w y.
/// A leading `-` or `+` is read too, as Go's `time.ParseDuration` does for label values.
pub fn parse_duration_seconds(word: &str) -> Option<f64> {
    let (sign, mut rest) = match word.as_bytes().first() {
        Some(b'-') => (-1.0, &word[1..]),
        Some(b'+') => (1.0, &word[1..]),
        _ => (1.0, word),
    };
    let mut total = 0.0;
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86_400.0,
            "w" => 604_800.0,
            "y" => 31_536_000.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
    }
    Some(sign * total).filter(|seconds| seconds.is_finite())
}

/// Byte sizes as go-humanize reads them, case-insensitive: `B`, `kB`/`KB` (1000),
/// `KiB` (1024), up to `EB`/`EiB`.
pub fn parse_bytes(word: &str) -> Option<f64> {
    let number_len = word.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(word.len());
    let number: f64 = word[..number_len].parse().ok()?;
    let unit = word[number_len..].to_ascii_lowercase();
    let scale = match unit.as_str() {
        "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "tb" | "t" => 1e12,
        "pb" | "p" => 1e15,
        "eb" | "e" => 1e18,
        "kib" | "ki" => 1024.0,
        "mib" | "mi" => 1024.0f64.powi(2),
        "gib" | "gi" => 1024.0f64.powi(3),
        "tib" | "ti" => 1024.0f64.powi(4),
        "pib" | "pi" => 1024.0f64.powi(5),
        "eib" | "ei" => 1024.0f64.powi(6),
        _ => return None,
    };
    Some(number * scale)
}
