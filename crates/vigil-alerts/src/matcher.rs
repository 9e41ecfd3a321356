//! Label matchers with Alertmanager's meaning and syntax: `=`, `!=`, `=~`, `!~`;
//! regexes anchored at both ends; a missing label matches as the empty string; values
//! quoted (Go's escapes, UTF-8 only) or unquoted; the `{...}` form or a bare list.
//! [`parse`] follows Alertmanager's UTF-8 matcher parser (`matcher/parse`), its error
//! messages and columns included.

use std::collections::BTreeMap;
use std::fmt;

/// How a matcher compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum MatchType {
    Equal,
    NotEqual,
    Regexp,
    NotRegexp,
}

impl MatchType {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regexp => "=~",
            MatchType::NotRegexp => "!~",
        }
    }
}

/// One matcher.
#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub kind: MatchType,
    pub value: String,
    regex: Option<regex::Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        (&self.name, self.kind, &self.value) == (&other.name, other.kind, &other.value)
    }
}

impl Eq for Matcher {}

impl Matcher {
    /// A matcher; a regex is compiled anchored, `^(?:VALUE)$`.
    pub fn new(kind: MatchType, name: &str, value: &str) -> Result<Matcher, String> {
        let regex = match kind {
            MatchType::Regexp | MatchType::NotRegexp => Some(regex::Regex::new(&format!("^(?:{value})$")).map_err(|error| {
                // The regex crate's message spans lines; its last line says why.
                let text = error.to_string();
                let why = text.lines().last().unwrap_or_default().trim_start_matches("error: ").to_owned();
                format!("invalid regular expression `{value}`: {why}")
            })?),
            _ => None,
        };
        Ok(Matcher { name: name.to_owned(), kind, value: value.to_owned(), regex })
    }

    /// Whether `value` (the label's, or "" when the label is missing) matches.
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.kind, &self.regex) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regexp, Some(regex)) => regex.is_match(value),
            (MatchType::NotRegexp, Some(regex)) => !regex.is_match(value),
            _ => false,
        }
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_value(labels.get(&self.name).map_or("", String::as_str))
    }
}

/// Prints as Alertmanager does: `name="value"`, the name quoted when it holds a
/// reserved character.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.chars().any(is_reserved) {
            write!(f, "{}{}{}", go_quote(&self.name), self.kind.as_str(), go_quote(&self.value))
        } else {
            let escaped = self.value.replace('\\', "\\\\").replace('\n', "\\n").replace('"', "\\\"");
            write!(f, "{}{}\"{escaped}\"", self.name, self.kind.as_str())
        }
    }
}

/// All must match.
pub fn all_match(matchers: &[Matcher], labels: &BTreeMap<String, String>) -> bool {
    matchers.iter().all(|matcher| matcher.matches(labels))
}

/// `{a="1",b!="2"}`, as Alertmanager prints a list (route keys use it).
pub fn to_string(matchers: &[Matcher]) -> String {
    let inner: Vec<String> = matchers.iter().map(ToString::to_string).collect();
    format!("{{{}}}", inner.join(","))
}

/// Alertmanager's order of matchers: by name, then value, then type.
pub fn sort(matchers: &mut [Matcher]) {
    matchers.sort_by(|a, b| (&a.name, &a.value, a.kind).cmp(&(&b.name, &b.value, b.kind)));
}

fn is_reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

/// Go's `strconv.Quote`, for the characters labels hold.
fn go_quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// --- parsing ----------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Eof,
    OpenBrace,
    CloseBrace,
    Comma,
    Equals,
    NotEquals,
    Matches,
    NotMatches,
    Quoted,
    Unquoted,
}

#[derive(Debug, Clone)]
struct Token<'a> {
    kind: Kind,
    value: &'a str,
    /// Columns in runes, as Alertmanager counts them.
    start: usize,
    end: usize,
}

struct Lexer<'a> {
    input: &'a str,
    /// Byte offsets of the token start and the cursor.
    start: usize,
    pos: usize,
    width: usize,
    column: usize,
    cols: usize,
}

impl<'a> Lexer<'a> {
    fn next(&mut self) -> Option<char> {
        let c = self.input[self.pos..].chars().next();
        self.width = c.map_or(0, char::len_utf8);
        if let Some(c) = c {
            self.pos += c.len_utf8();
            self.cols += 1;
        }
        c
    }

    fn rewind(&mut self) {
        self.pos -= self.width;
        if self.width > 0 {
            self.cols -= 1;
        }
    }

    fn emit(&mut self, kind: Kind) -> Token<'a> {
        let token = Token { kind, value: &self.input[self.start..self.pos], start: self.column, end: self.cols };
        self.start = self.pos;
        self.column = self.cols;
        token
    }

    fn here(&self) -> &'a str {
        &self.input[self.start..self.pos]
    }

    fn scan(&mut self) -> Result<Token<'a>, String> {
        while let Some(c) = self.next() {
            match c {
                '{' => return Ok(self.emit(Kind::OpenBrace)),
                '}' => return Ok(self.emit(Kind::CloseBrace)),
                ',' => return Ok(self.emit(Kind::Comma)),
                '=' | '!' => {
                    self.rewind();
                    return self.operator();
                }
                '"' => {
                    self.rewind();
                    return self.quoted();
                }
                c if !is_reserved(c) => {
                    self.rewind();
                    while let Some(c) = self.next() {
                        if is_reserved(c) {
                            self.rewind();
                            break;
                        }
                    }
                    return Ok(self.emit(Kind::Unquoted));
                }
                c if c.is_whitespace() => {
                    self.start = self.pos;
                    self.column = self.cols;
                }
                _ => return Err(format!("{}:{}: {}: invalid input", self.column, self.cols, self.here())),
            }
        }
        Ok(Token { kind: Kind::Eof, value: "", start: self.column, end: self.cols })
    }

    fn accept(&mut self, wanted: char) -> bool {
        if self.next() == Some(wanted) {
            return true;
        }
        self.rewind();
        false
    }

    fn expected(&self, expected: &str) -> String {
        if self.pos >= self.input.len() {
            format!("{}:{}: unexpected end of input, expected one of '{expected}'", self.column, self.cols)
        } else {
            format!("{}:{}: {}: expected one of '{expected}'", self.column, self.cols, self.here())
        }
    }

    fn operator(&mut self) -> Result<Token<'a>, String> {
        if self.accept('!') {
            if self.accept('=') {
                return Ok(self.emit(Kind::NotEquals));
            }
            if self.accept('~') {
                return Ok(self.emit(Kind::NotMatches));
            }
            return Err(self.expected("=~"));
        }
        if self.accept('=') {
            if self.accept('~') {
                return Ok(self.emit(Kind::Matches));
            }
            return Ok(self.emit(Kind::Equals));
        }
        Err(self.expected("!="))
    }

    fn quoted(&mut self) -> Result<Token<'a>, String> {
        if !self.accept('"') {
            return Err(self.expected("\""));
        }
        let mut escaped = false;
        while let Some(c) = self.next() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                self.rewind();
                break;
            }
        }
        if !self.accept('"') {
            return Err(format!("{}:{}: {}: missing end \"", self.column, self.cols, self.here()));
        }
        Ok(self.emit(Kind::Quoted))
    }

    fn peek(&mut self) -> Result<Token<'a>, String> {
        let saved = (self.start, self.pos, self.width, self.column, self.cols);
        let token = self.scan();
        (self.start, self.pos, self.width, self.column, self.cols) = saved;
        token
    }
}

/// Go's `strconv.Unquote` of a double-quoted string, then a UTF-8 check.
fn unquote(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    let hex = |chars: &mut std::str::Chars<'_>, count: usize| -> Option<u32> {
        let digits: String = chars.by_ref().take(count).collect();
        (digits.len() == count).then(|| u32::from_str_radix(&digits, 16).ok()).flatten()
    };
    while let Some(c) = chars.next() {
        match c {
            '"' | '\n' => return None,
            '\\' => match chars.next()? {
                'a' => bytes.push(0x07),
                'b' => bytes.push(0x08),
                'f' => bytes.push(0x0c),
                'n' => bytes.push(b'\n'),
                'r' => bytes.push(b'\r'),
                't' => bytes.push(b'\t'),
                'v' => bytes.push(0x0b),
                '\\' => bytes.push(b'\\'),
                '"' => bytes.push(b'"'),
                'x' => bytes.push(u8::try_from(hex(&mut chars, 2)?).ok()?),
                'u' => bytes.extend(char::from_u32(hex(&mut chars, 4)?)?.to_string().bytes()),
                'U' => bytes.extend(char::from_u32(hex(&mut chars, 8)?)?.to_string().bytes()),
                first @ '0'..='7' => {
                    let rest: String = chars.by_ref().take(2).collect();
                    let digits = format!("{first}{rest}");
                    if digits.len() != 3 {
                        return None;
                    }
                    bytes.push(u8::try_from(u32::from_str_radix(&digits, 8).ok()?).ok()?);
                }
                _ => return None,
            },
            c => bytes.extend(c.to_string().bytes()),
        }
    }
    String::from_utf8(bytes).ok()
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    open_brace: bool,
    matchers: Vec<Matcher>,
}

/// What a step of the parser does next.
enum Step {
    Matcher,
    EndOfMatcher,
    Comma,
    CloseBrace,
    Eof,
    Done,
}

impl<'a> Parser<'a> {
    fn expect_peek(&mut self, kinds: &[Kind]) -> Result<Result<Token<'a>, &'static str>, String> {
        let token = self.lexer.peek()?;
        if token.kind == Kind::Eof {
            return Ok(Err("end of input"));
        }
        if !kinds.contains(&token.kind) {
            return Err(format!("{}:{}: unexpected {}", token.start, token.end, token.value));
        }
        Ok(Ok(token))
    }

    /// `expect_peek`, then consumes the token; an end of input is an error.
    fn expect(&mut self, kinds: &[Kind], what: &str) -> Result<Token<'a>, String> {
        match self.expect_peek(kinds) {
            Ok(Ok(token)) => {
                self.lexer.scan()?;
                Ok(token)
            }
            Ok(Err(eof)) => Err(format!("{eof}: {what}")),
            Err(error) => Err(format!("{error}: {what}")),
        }
    }

    fn open_brace(&mut self) -> Result<Step, String> {
        let first = self.lexer.peek()?;
        if first.kind == Kind::Eof {
            return Ok(Step::Eof);
        }
        if first.kind == Kind::OpenBrace {
            self.open_brace = true;
            self.lexer.scan()?;
        }
        let next = self.lexer.peek()?;
        Ok(match next.kind {
            Kind::Eof | Kind::CloseBrace => Step::CloseBrace,
            _ => Step::Matcher,
        })
    }

    fn close_brace(&mut self) -> Result<Step, String> {
        let token = self.lexer.peek()?;
        let close = token.kind == Kind::CloseBrace;
        if close {
            self.lexer.scan()?;
        }
        if self.open_brace && !close {
            let reason = if token.kind == Kind::Eof {
                "end of input".to_owned()
            } else {
                format!("{}:{}: unexpected {}", token.start, token.end, token.value)
            };
            return Err(format!("0:{}: {reason}: expected close brace", self.lexer.cols));
        }
        if !self.open_brace && close {
            return Err(format!("0:{}: }}: expected opening brace", self.lexer.cols));
        }
        Ok(Step::Eof)
    }

    fn matcher(&mut self) -> Result<Step, String> {
        let name = self.expect(&[Kind::Quoted, Kind::Unquoted], "expected label name")?;
        let name_text = self.text(&name)?;
        let operator = self.expect(
            &[Kind::Equals, Kind::NotEquals, Kind::Matches, Kind::NotMatches],
            "expected an operator such as '=', '!=', '=~' or '!~'",
        )?;
        let kind = match operator.kind {
            Kind::Equals => MatchType::Equal,
            Kind::NotEquals => MatchType::NotEqual,
            Kind::Matches => MatchType::Regexp,
            _ => MatchType::NotRegexp,
        };
        let value = self.expect(&[Kind::Unquoted, Kind::Quoted], "expected label value")?;
        let value_text = self.text(&value)?;
        let matcher = Matcher::new(kind, &name_text, &value_text).map_err(|error| format!("failed to create matcher: {error}"))?;
        self.matchers.push(matcher);
        Ok(Step::EndOfMatcher)
    }

    fn text(&self, token: &Token<'_>) -> Result<String, String> {
        match token.kind {
            Kind::Quoted => unquote(token.value).ok_or_else(|| format!("{}:{}: {}: invalid input", token.start, token.end, token.value)),
            _ => Ok(token.value.to_owned()),
        }
    }

    fn end_of_matcher(&mut self) -> Result<Step, String> {
        match self.expect_peek(&[Kind::Comma, Kind::CloseBrace]) {
            Ok(Ok(token)) if token.kind == Kind::Comma => Ok(Step::Comma),
            Ok(_) => Ok(Step::CloseBrace),
            Err(error) => Err(format!("{error}: expected a comma or close brace")),
        }
    }

    fn comma(&mut self) -> Result<Step, String> {
        self.expect(&[Kind::Comma], "expected a comma")?;
        match self.expect_peek(&[Kind::CloseBrace, Kind::Unquoted, Kind::Quoted]) {
            Ok(Ok(token)) if token.kind == Kind::CloseBrace => Ok(Step::CloseBrace),
            Ok(Ok(_)) => Ok(Step::Matcher),
            Ok(Err(_)) => Ok(Step::CloseBrace),
            Err(error) => Err(format!("{error}: expected a matcher or close brace after comma")),
        }
    }

    fn eof(&mut self) -> Result<Step, String> {
        let token = self.lexer.scan().map_err(|error| format!("{error}: expected end of input"))?;
        if token.kind != Kind::Eof {
            return Err(format!("{}:{}: {}: expected end of input", token.start, token.end, token.value));
        }
        Ok(Step::Done)
    }
}

/// Parses a list of matchers: `{a="1", b=~"x.*"}`, `a=1,b!=2`, or nothing.
pub fn parse(input: &str) -> Result<Vec<Matcher>, String> {
    let lexer = Lexer { input, start: 0, pos: 0, width: 0, column: 0, cols: 0 };
    let mut parser = Parser { lexer, open_brace: false, matchers: Vec::new() };
    let mut step = parser.open_brace();
    loop {
        step = match step? {
            Step::Matcher => parser.matcher(),
            Step::EndOfMatcher => parser.end_of_matcher(),
            Step::Comma => parser.comma(),
            Step::CloseBrace => parser.close_brace(),
            Step::Eof => parser.eof(),
            Step::Done => return Ok(parser.matchers),
        };
    }
}

/// Parses exactly one matcher.
pub fn parse_one(input: &str) -> Result<Matcher, String> {
    let mut matchers = parse(input)?;
    match matchers.len() {
        1 => Ok(matchers.remove(0)),
        0 => Err("no matchers".to_owned()),
        count => Err(format!("expected 1 matcher, found {count}")),
    }
}
