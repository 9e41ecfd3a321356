//! Recursive-descent parser: log queries, pipelines and metric queries, with
//! Prometheus-style operator precedence.

use std::time::Duration;

use crate::ast::*;
use crate::lexer::{tokenize, Spanned, Token};
use crate::ParseError;

/// The longest range a rule may keep (each window is 600 buckets of range/600).
pub const MAX_RANGE: Duration = Duration::from_secs(366 * 86_400);

/// Features of full LogQL outside Vigil's subset, rejected by name.
const UNSUPPORTED: &[&str] = &[
    "line_format",
    "label_format",
    "decolorize",
    "drop",
    "keep",
    "unpack",
    "distinct",
    "offset",
    "label_replace",
    "absent_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "rate_counter",
    "sort",
    "sort_desc",
    "vector",
    "stddev",
    "stdvar",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
];

/// Parses a label set as Loki's push API writes it: `{app="api", env="prod"}`.
pub(crate) fn parse_labels(text: &str) -> Result<std::collections::BTreeMap<String, String>, ParseError> {
    let tokens = tokenize(text)?;
    let end_column = text.chars().count() + 1;
    let mut parser = Parser { tokens, position: 0, end_column };
    parser.expect(Token::LBrace, "`{`")?;
    let mut labels = std::collections::BTreeMap::new();
    while !parser.peek_is(&Token::RBrace) {
        let (name, _) = parser.expect_ident("a label name")?;
        parser.expect(Token::Eq, "`=`")?;
        let (value, _) = parser.expect_string("a quoted value")?;
        labels.insert(name, value);
        if !parser.peek_is(&Token::Comma) {
            break;
        }
        parser.position += 1;
    }
    parser.expect(Token::RBrace, "`,` or `}`")?;
    if parser.position < parser.tokens.len() {
        return Err(parser.error_here("the end of the label set"));
    }
    Ok(labels)
}

pub(crate) fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(text)?;
    let end_column = text.chars().count() + 1;
    let mut parser = Parser { tokens, position: 0, end_column };
    if parser.tokens.is_empty() {
        return Err(ParseError::new(1, "empty expression"));
    }
    let expr = if parser.peek_is(&Token::LBrace) {
        let log = parser.log_expr(false)?;
        if let Some(spanned) = parser.peek_spanned() {
            let message = match spanned.token {
                Token::LBracket => "a range `[..]` belongs inside a range aggregation such as count_over_time({...} [5m])".to_owned(),
                _ if binary_op(&spanned.token).is_some() => {
                    "a log query cannot be compared or combined; aggregate it first, e.g. count_over_time({...} [5m]) > 5".to_owned()
                }
                ref other => format!("unexpected {} after the log query", other.describe()),
            };
            return Err(ParseError::new(spanned.column, message));
        }
        Expr::Log(log)
    } else {
        let metric = parser.metric_expr(0)?;
        if let Some(spanned) = parser.peek_spanned() {
            return Err(parser.unexpected_or_unsupported(spanned, "an operator or the end of the expression"));
        }
        Expr::Metric(metric)
    };
    Ok(expr)
}

struct Parser {
    tokens: Vec<Spanned>,
    position: usize,
    end_column: usize,
}

fn binary_op(token: &Token) -> Option<(BinaryOp, u8)> {
    Some(match token {
        Token::EqEq => (BinaryOp::Equal, 3),
        Token::NotEq => (BinaryOp::NotEqual, 3),
        Token::Lt => (BinaryOp::Less, 3),
        Token::Le => (BinaryOp::LessOrEqual, 3),
        Token::Gt => (BinaryOp::Greater, 3),
        Token::Ge => (BinaryOp::GreaterOrEqual, 3),
        Token::Plus => (BinaryOp::Add, 4),
        Token::Minus => (BinaryOp::Subtract, 4),
        Token::Star => (BinaryOp::Multiply, 5),
        Token::Slash => (BinaryOp::Divide, 5),
        Token::Percent => (BinaryOp::Modulo, 5),
        Token::Caret => (BinaryOp::Power, 6),
        _ => return None,
    })
}

impl Parser {
    fn peek_spanned(&self) -> Option<Spanned> {
        self.tokens.get(self.position).cloned()
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position).map(|spanned| &spanned.token)
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.tokens.get(self.position + offset).map(|spanned| &spanned.token)
    }

    fn peek_is(&self, token: &Token) -> bool {
        self.peek() == Some(token)
    }

    fn peek_ident(&self, name: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(ident)) if ident == name)
    }

    fn column(&self) -> usize {
        self.tokens.get(self.position).map_or(self.end_column, |spanned| spanned.column)
    }

    fn advance(&mut self) -> Option<Spanned> {
        let spanned = self.tokens.get(self.position).cloned();
        self.position += usize::from(spanned.is_some());
        spanned
    }

    fn error_here(&self, expected: &str) -> ParseError {
        match self.peek_spanned() {
            Some(spanned) => self.unexpected_or_unsupported(spanned, expected),
            None => ParseError::new(self.end_column, format!("unexpected end of expression, expected {expected}")),
        }
    }

    fn unexpected_or_unsupported(&self, spanned: Spanned, expected: &str) -> ParseError {
        match &spanned.token {
            Token::Ident(name) if UNSUPPORTED.contains(&name.as_str()) => unsupported(spanned.column, name),
            Token::At => unsupported(spanned.column, "@"),
            other => ParseError::new(spanned.column, format!("unexpected {}, expected {expected}", other.describe())),
        }
    }

    fn expect(&mut self, token: Token, expected: &str) -> Result<usize, ParseError> {
        if self.peek_is(&token) {
            let column = self.column();
            self.position += 1;
            Ok(column)
        } else {
            Err(self.error_here(expected))
        }
    }

    fn expect_string(&mut self, expected: &str) -> Result<(String, usize), ParseError> {
        match self.peek_spanned() {
            Some(Spanned { token: Token::Str(value), column }) => {
                self.position += 1;
                Ok((value, column))
            }
            _ => Err(self.error_here(expected)),
        }
    }

    fn expect_ident(&mut self, expected: &str) -> Result<(String, usize), ParseError> {
        match self.peek_spanned() {
            Some(Spanned { token: Token::Ident(name), column }) => {
                self.position += 1;
                Ok((name, column))
            }
            _ => Err(self.error_here(expected)),
        }
    }

    // ---- log queries ----

    fn log_expr(&mut self, in_range: bool) -> Result<LogExpr, ParseError> {
        let brace = self.expect(Token::LBrace, "`{` to start a stream selector")?;
        let mut selector = Vec::new();
        loop {
            if self.peek_is(&Token::RBrace) && !selector.is_empty() {
                break;
            }
            selector.push(self.matcher("a label name")?);
            if !self.peek_is(&Token::Comma) {
                break;
            }
            self.position += 1;
        }
        self.expect(Token::RBrace, "`,` or `}`")?;
        let selects_something = selector.iter().any(|matcher| match matcher.op {
            MatchOp::Equal => !matcher.value.is_empty(),
            MatchOp::Regex => !matcher.matches(""),
            MatchOp::NotEqual | MatchOp::NotRegex => false,
        });
        if !selects_something {
            return Err(ParseError::new(
                brace,
                "a stream selector needs at least one `=` or `=~` matcher that cannot match an empty value, e.g. {app=\"api\"}",
            ));
        }
        let stages = self.stages(in_range)?;
        Ok(LogExpr { selector, stages })
    }

    /// Line filters and `|` stages, up to `| unwrap` (inside a range aggregation) or the
    /// first token that continues no pipeline.
    fn stages(&mut self, in_range: bool) -> Result<Vec<Stage>, ParseError> {
        let mut stages = Vec::new();
        loop {
            match self.peek() {
                Some(Token::PipeExact | Token::PipeMatch | Token::NotEq | Token::NotMatch) => stages.push(self.line_filter()?),
                Some(Token::PipePattern | Token::NotPattern) => {
                    let Some(spanned) = self.peek_spanned() else { break };
                    return Err(unsupported(spanned.column, spanned.token.describe().trim_matches('`')));
                }
                Some(Token::Pipe) => {
                    if matches!(self.peek_at(1), Some(Token::Ident(name)) if name == "unwrap") {
                        if in_range {
                            break;
                        }
                        let column = self.tokens[self.position + 1].column;
                        return Err(ParseError::new(
                            column,
                            "`unwrap` is only allowed inside a range aggregation such as sum_over_time({...} | unwrap x [5m])",
                        ));
                    }
                    self.position += 1;
                    stages.push(self.stage()?);
                }
                _ => break,
            }
        }
        Ok(stages)
    }

    /// Errors when `ip("...")`, Loki's address filter, stands where a string was expected.
    fn reject_ip_filter(&self) -> Result<(), ParseError> {
        if self.peek_ident("ip") && self.peek_at(1) == Some(&Token::LParen) {
            return Err(unsupported(self.column(), "ip()"));
        }
        Ok(())
    }

    fn matcher(&mut self, expected_name: &str) -> Result<Matcher, ParseError> {
        let (name, _) = self.expect_ident(expected_name)?;
        let op = match self.advance().map(|spanned| spanned.token) {
            Some(Token::Eq | Token::EqEq) => MatchOp::Equal,
            Some(Token::NotEq) => MatchOp::NotEqual,
            Some(Token::Match) => MatchOp::Regex,
            Some(Token::NotMatch) => MatchOp::NotRegex,
            _ => {
                self.position -= 1;
                return Err(self.error_here("one of = != =~ !~"));
            }
        };
        let (value, column) = self.expect_string("a quoted value")?;
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => Some(compile(&format!("^(?:{value})$"), column)?),
            _ => None,
        };
        Ok(Matcher { name, op, value, regex })
    }

    fn line_filter(&mut self) -> Result<Stage, ParseError> {
        let op = match self.advance().map(|spanned| spanned.token) {
            Some(Token::PipeExact) => LineFilterOp::Contains,
            Some(Token::NotEq) => LineFilterOp::NotContains,
            Some(Token::PipeMatch) => LineFilterOp::Matches,
            _ => LineFilterOp::NotMatches,
        };
        let mut patterns = Vec::new();
        let mut regexes = Vec::new();
        loop {
            self.reject_ip_filter()?;
            let (pattern, column) = self.expect_string("a quoted pattern")?;
            if matches!(op, LineFilterOp::Matches | LineFilterOp::NotMatches) {
                regexes.push(compile(&literal_trailing_backslash(&pattern), column)?);
            }
            patterns.push(pattern);
            // `or` continues the filter only when a string follows; otherwise it is not ours.
            if self.peek_ident("or") && matches!(self.peek_at(1), Some(Token::Str(_))) {
                self.position += 1;
                continue;
            }
            if self.peek_ident("or") && matches!(self.peek_at(1), Some(Token::Ident(name)) if name == "ip") {
                self.position += 1;
                self.reject_ip_filter()?;
            }
            break;
        }
        Ok(Stage::LineFilter(LineFilter { op, patterns, regexes }))
    }

    fn stage(&mut self) -> Result<Stage, ParseError> {
        let Some(Spanned { token, column }) = self.peek_spanned() else {
            return Err(self.error_here("a parser or a label filter after `|`"));
        };
        match token {
            Token::Ident(name) if name == "json" => {
                self.position += 1;
                Ok(Stage::Json { params: self.extraction_params()? })
            }
            Token::Ident(name) if name == "logfmt" => {
                self.position += 1;
                let (mut strict, mut keep_empty) = (false, false);
                while self.peek_is(&Token::Minus) && self.peek_at(1) == Some(&Token::Minus) {
                    let flag_column = self.column();
                    self.position += 2;
                    let (flag, _) = self.expect_ident("`strict` or `keep-empty` after `--`")?;
                    match flag.as_str() {
                        "strict" => strict = true,
                        "keep" if self.peek_is(&Token::Minus) && matches!(self.peek_at(1), Some(Token::Ident(e)) if e == "empty") => {
                            self.position += 2;
                            keep_empty = true;
                        }
                        _ => return Err(ParseError::new(flag_column, "unknown logfmt flag, expected --strict or --keep-empty")),
                    }
                }
                Ok(Stage::Logfmt { strict, keep_empty, params: self.extraction_params()? })
            }
            Token::Ident(name) if name == "pattern" => {
                self.position += 1;
                let (pattern, pattern_column) = self.expect_string("a quoted pattern such as \"<ip> <_> <status>\"")?;
                if !pattern.contains('<') {
                    return Err(ParseError::new(pattern_column, "a pattern needs at least one capture such as <status>"));
                }
                Ok(Stage::Pattern(pattern))
            }
            Token::Ident(name) if name == "regexp" => {
                self.position += 1;
                let (pattern, pattern_column) = self.expect_string("a quoted regular expression with named groups")?;
                let regex = compile(&pattern, pattern_column)?;
                if regex.capture_names().flatten().next().is_none() {
                    return Err(ParseError::new(pattern_column, "a regexp stage needs at least one named group such as (?P<status>\\d+)"));
                }
                Ok(Stage::Regexp(pattern))
            }
            Token::Ident(name) if UNSUPPORTED.contains(&name.as_str()) => Err(unsupported(column, &name)),
            Token::Ident(_) | Token::LParen => Ok(Stage::LabelFilter(self.label_filter_or()?)),
            _ => Err(self.error_here("json, logfmt, pattern, regexp or a label filter after `|`")),
        }
    }

    /// `a="path", b` after json/logfmt: comma-separated, each `label` or `label="expr"`.
    fn extraction_params(&mut self) -> Result<Vec<(String, String)>, ParseError> {
        let mut params = Vec::new();
        while let Some(Token::Ident(_)) = self.peek() {
            let (label, _) = self.expect_ident("a label name")?;
            let expression = if self.peek_is(&Token::Eq) {
                self.position += 1;
                self.expect_string("a quoted field expression")?.0
            } else {
                label.clone()
            };
            params.push((label, expression));
            if !self.peek_is(&Token::Comma) {
                break;
            }
            self.position += 1;
        }
        Ok(params)
    }

    fn label_filter_or(&mut self) -> Result<LabelFilter, ParseError> {
        let mut left = self.label_filter_and()?;
        while self.peek_ident("or") {
            self.position += 1;
            let right = self.label_filter_and()?;
            left = LabelFilter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn label_filter_and(&mut self) -> Result<LabelFilter, ParseError> {
        let mut left = self.label_filter_sequence()?;
        while self.peek_ident("and") {
            self.position += 1;
            let right = self.label_filter_sequence()?;
            left = LabelFilter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `a, REST` and `a REST` (filters side by side) mean `a and (REST)`, whatever REST
    /// holds: in Loki's grammar neither has a precedence, so everything after them is
    /// taken first (`a, b or c` is `a and (b or c)`).
    fn label_filter_sequence(&mut self) -> Result<LabelFilter, ParseError> {
        let first = self.label_filter_primary()?;
        let juxtaposed = match self.peek() {
            Some(Token::Comma) => {
                self.position += 1;
                true
            }
            Some(Token::LParen) => true,
            Some(Token::Ident(name)) if name != "and" && name != "or" => {
                matches!(
                    self.peek_at(1),
                    Some(
                        Token::Eq
                            | Token::EqEq
                            | Token::NotEq
                            | Token::Match
                            | Token::NotMatch
                            | Token::Lt
                            | Token::Le
                            | Token::Gt
                            | Token::Ge
                    )
                )
            }
            _ => false,
        };
        if !juxtaposed {
            return Ok(first);
        }
        let rest = self.label_filter_or()?;
        Ok(LabelFilter::And(Box::new(first), Box::new(rest)))
    }

    fn label_filter_primary(&mut self) -> Result<LabelFilter, ParseError> {
        if self.peek_is(&Token::LParen) {
            self.position += 1;
            let inner = self.label_filter_or()?;
            self.expect(Token::RParen, "`)` to close the label filter")?;
            return Ok(inner);
        }
        let (name, _) = self.expect_ident("a label name")?;
        let Some(Spanned { token: op_token, .. }) = self.advance() else {
            return Err(self.error_here("a comparison operator"));
        };
        self.reject_ip_filter()?;
        // `counter > -1`, `latency > -1s`: a sign belongs to the number after it.
        let negative =
            self.peek_is(&Token::Minus) && matches!(self.peek_at(1), Some(Token::Number(_) | Token::Duration(_) | Token::Bytes(_)));
        self.position += usize::from(negative);
        let sign = if negative { -1.0 } else { 1.0 };
        let value = self.advance();
        let compare = |op| match value.as_ref().map(|spanned| &spanned.token) {
            Some(Token::Number(n)) => Some(Ok(LabelFilter::Compare { name: name.clone(), op, value: Value::Number(sign * *n) })),
            Some(Token::Duration(s)) => Some(Ok(LabelFilter::Compare { name: name.clone(), op, value: Value::Duration(sign * *s) })),
            Some(Token::Bytes(b)) => Some(Ok(LabelFilter::Compare { name: name.clone(), op, value: Value::Bytes(sign * *b) })),
            _ => None,
        };
        let string_op = match op_token {
            Token::Eq | Token::EqEq => Some(MatchOp::Equal),
            Token::NotEq => Some(MatchOp::NotEqual),
            Token::Match => Some(MatchOp::Regex),
            Token::NotMatch => Some(MatchOp::NotRegex),
            _ => None,
        };
        let compare_op = match op_token {
            Token::Eq | Token::EqEq => Some(CompareOp::Equal),
            Token::NotEq => Some(CompareOp::NotEqual),
            Token::Lt => Some(CompareOp::Less),
            Token::Le => Some(CompareOp::LessOrEqual),
            Token::Gt => Some(CompareOp::Greater),
            Token::Ge => Some(CompareOp::GreaterOrEqual),
            _ => None,
        };
        if let (Some(op), Some(Spanned { token: Token::Str(text), column })) = (string_op, value.as_ref()) {
            let regex = match op {
                MatchOp::Regex | MatchOp::NotRegex => Some(compile(&format!("^(?:{text})$"), *column)?),
                _ => None,
            };
            return Ok(LabelFilter::Match(Matcher { name, op, value: text.clone(), regex }));
        }
        if let Some(filter) = compare_op.and_then(compare) {
            return filter;
        }
        self.position -= usize::from(value.is_some()) + 1 + usize::from(negative);
        match compare_op.or(string_op.map(|_| CompareOp::Equal)) {
            Some(_) => {
                self.position += 1;
                Err(self.error_here("a quoted string, a number, a duration such as 3s or a byte size such as 2.5KiB"))
            }
            None => Err(self.error_here("one of = != =~ !~ == < <= > >=")),
        }
    }

    // ---- metric queries ----

    fn metric_expr(&mut self, min_precedence: u8) -> Result<MetricExpr, ParseError> {
        let mut left = self.metric_operand()?;
        loop {
            let Some((op, precedence)) = self.peek().and_then(binary_op) else {
                if let Some(Token::Ident(name)) = self.peek() {
                    if matches!(name.as_str(), "and" | "or" | "unless") {
                        return Err(unsupported(self.column(), name));
                    }
                }
                break;
            };
            if precedence < min_precedence {
                break;
            }
            self.position += 1;
            let return_bool = op.is_comparison() && self.peek_ident("bool");
            self.position += usize::from(return_bool);
            if let Some(Token::Ident(name)) = self.peek() {
                if matches!(name.as_str(), "on" | "ignoring" | "group_left" | "group_right") {
                    return Err(unsupported(self.column(), name));
                }
            }
            // `^` is right-associative; the rest are left-associative.
            let next_min = if op == BinaryOp::Power { precedence } else { precedence + 1 };
            let right = self.metric_expr(next_min)?;
            left = MetricExpr::Binary { op, return_bool, left: Box::new(left), right: Box::new(right) };
        }
        Ok(left)
    }

    fn metric_operand(&mut self) -> Result<MetricExpr, ParseError> {
        let Some(Spanned { token, column }) = self.peek_spanned() else {
            return Err(self.error_here("a metric expression"));
        };
        match token {
            Token::Number(n) => {
                self.position += 1;
                Ok(MetricExpr::Number(n))
            }
            Token::Minus if matches!(self.peek_at(1), Some(Token::Number(_))) => {
                self.position += 1;
                let Some(Token::Number(n)) = self.advance().map(|spanned| spanned.token) else { unreachable!("checked above") };
                Ok(MetricExpr::Number(-n))
            }
            Token::LParen => {
                self.position += 1;
                let inner = self.metric_expr(0)?;
                self.expect(Token::RParen, "`)`")?;
                Ok(inner)
            }
            Token::LBrace => Err(ParseError::new(
                column,
                "a log query cannot be used here; wrap it in a range aggregation such as count_over_time({...} [5m])",
            )),
            Token::Ident(name) => {
                if let Some(function) = RangeFunction::parse(&name) {
                    self.position += 1;
                    return self.range_aggregation(function, column);
                }
                if let Some(op) = VectorOp::parse(&name) {
                    self.position += 1;
                    return self.vector_aggregation(op);
                }
                if UNSUPPORTED.contains(&name.as_str()) {
                    return Err(unsupported(column, &name));
                }
                Err(ParseError::new(column, format!("unknown function `{name}`")))
            }
            _ => Err(self.error_here("a number, `(`, a range aggregation or a vector aggregation")),
        }
    }

    fn range_aggregation(&mut self, function: RangeFunction, column: usize) -> Result<MetricExpr, ParseError> {
        self.expect(Token::LParen, "`(` after the function name")?;
        let parameter = if function == RangeFunction::QuantileOverTime {
            let phi = self.number("the quantile, e.g. 0.99")?;
            if !(0.0..=1.0).contains(&phi) {
                return Err(ParseError::new(column, format!("quantile must be between 0 and 1, got {phi}")));
            }
            self.expect(Token::Comma, "`,` after the quantile")?;
            Some(phi)
        } else {
            None
        };
        let (log, unwrap, range) = match self.log_range(function)? {
            (log, unwrap, Some(range)) => (log, unwrap, range),
            _ => return Err(self.error_here("`[` and a range such as [5m]")),
        };
        if function.needs_unwrap() && unwrap.is_none() {
            return Err(ParseError::new(column, "this function needs `| unwrap LABEL` before the range"));
        }
        self.expect(Token::RParen, "`)` to close the range aggregation")?;
        let grouping = if self.peek_ident("by") || self.peek_ident("without") {
            if !function.allows_grouping() {
                return Err(ParseError::new(
                    self.column(),
                    format!("grouping not allowed for {} aggregation; group with sum by (...) (...) instead", function.name()),
                ));
            }
            Some(self.grouping()?)
        } else {
            None
        };
        Ok(MetricExpr::Range(RangeAggregation { function, parameter, log, unwrap, range, grouping }))
    }

    /// The log range of a range aggregation, in each order Loki accepts:
    /// `{..} PIPELINE [| unwrap ..] [5m]`, the older `{..} [5m] PIPELINE [| unwrap ..]`,
    /// and either in parentheses, with the range inside or after them
    /// (`({..} |= "x")[5m]`). The range is `None` when it is still to come.
    fn log_range(&mut self, function: RangeFunction) -> Result<(LogExpr, Option<Unwrap>, Option<Duration>), ParseError> {
        if self.peek_is(&Token::LParen) {
            self.position += 1;
            let (log, unwrap, range) = self.log_range(function)?;
            self.expect(Token::RParen, "`)` to close the log query")?;
            if range.is_some() {
                return Ok((log, unwrap, range));
            }
            let range = self.range()?;
            let unwrap = match unwrap {
                None if log.stages.is_empty() => self.maybe_unwrap(function)?,
                unwrap => unwrap,
            };
            return Ok((log, unwrap, Some(range)));
        }
        let mut log = self.log_expr(true)?;
        let mut unwrap = self.maybe_unwrap(function)?;
        if !self.peek_is(&Token::LBracket) {
            return Ok((log, unwrap, None));
        }
        let range = self.range()?;
        if unwrap.is_none() && log.stages.is_empty() {
            log.stages = self.stages(true)?;
            unwrap = self.maybe_unwrap(function)?;
        }
        Ok((log, unwrap, Some(range)))
    }

    /// `| unwrap ...` when it comes next.
    fn maybe_unwrap(&mut self, function: RangeFunction) -> Result<Option<Unwrap>, ParseError> {
        if !(self.peek_is(&Token::Pipe) && matches!(self.peek_at(1), Some(Token::Ident(name)) if name == "unwrap")) {
            return Ok(None);
        }
        let unwrap_column = self.tokens[self.position + 1].column;
        self.position += 2;
        if !function.allows_unwrap() {
            return Err(ParseError::new(unwrap_column, "`unwrap` has no effect here: this function counts lines or bytes"));
        }
        Ok(Some(self.unwrap()?))
    }

    /// `[5m]`: a positive range of at most [`MAX_RANGE`], not followed by `offset` or `@`.
    fn range(&mut self) -> Result<Duration, ParseError> {
        self.expect(Token::LBracket, "`[` and a range such as [5m]")?;
        let column = self.column();
        let range = match self.advance() {
            Some(Spanned { token: Token::Duration(seconds), .. }) if seconds > 0.0 => seconds,
            _ => {
                self.position -= 1;
                return Err(self.error_here("a positive duration such as 5m"));
            }
        };
        if range > MAX_RANGE.as_secs_f64() {
            return Err(ParseError::new(column, "a range longer than 366d is not supported"));
        }
        self.expect(Token::RBracket, "`]`")?;
        if self.peek_ident("offset") || self.peek_is(&Token::At) {
            return Err(self.error_here(""));
        }
        Ok(Duration::from_secs_f64(range))
    }

    fn unwrap(&mut self) -> Result<Unwrap, ParseError> {
        let (first, _) = self.expect_ident("a label to unwrap")?;
        let (label, conversion) = match first.as_str() {
            "duration" | "duration_seconds" | "bytes" if self.peek_is(&Token::LParen) => {
                self.position += 1;
                let (label, _) = self.expect_ident("a label name")?;
                self.expect(Token::RParen, "`)`")?;
                (label, if first == "bytes" { Conversion::Bytes } else { Conversion::Duration })
            }
            _ => (first, Conversion::Number),
        };
        let mut filters = Vec::new();
        while self.peek_is(&Token::Pipe) {
            self.position += 1;
            filters.push(self.label_filter_or()?);
        }
        Ok(Unwrap { label, conversion, filters })
    }

    fn vector_aggregation(&mut self, op: VectorOp) -> Result<MetricExpr, ParseError> {
        let mut grouping = if self.peek_ident("by") || self.peek_ident("without") { Some(self.grouping()?) } else { None };
        self.expect(Token::LParen, "`(` after the aggregation")?;
        let parameter = if matches!(op, VectorOp::Topk | VectorOp::Bottomk) {
            let column = self.column();
            let k = self.number("k, a whole number")?;
            if k < 1.0 || k.fract() != 0.0 {
                return Err(ParseError::new(column, format!("k must be a whole number of at least 1, got {k}")));
            }
            self.expect(Token::Comma, "`,` after k")?;
            Some(k)
        } else {
            None
        };
        let inner = self.metric_expr(0)?;
        self.expect(Token::RParen, "`)` to close the aggregation")?;
        if grouping.is_none() && (self.peek_ident("by") || self.peek_ident("without")) {
            grouping = Some(self.grouping()?);
        }
        Ok(MetricExpr::Vector(VectorAggregation { op, parameter, grouping, inner: Box::new(inner) }))
    }

    fn grouping(&mut self) -> Result<Grouping, ParseError> {
        let (keyword, _) = self.expect_ident("`by` or `without`")?;
        self.expect(Token::LParen, "`(` and label names")?;
        let mut labels = Vec::new();
        while !self.peek_is(&Token::RParen) {
            labels.push(self.expect_ident("a label name")?.0);
            if !self.peek_is(&Token::Comma) {
                break;
            }
            self.position += 1;
        }
        self.expect(Token::RParen, "`,` or `)`")?;
        Ok(Grouping { without: keyword == "without", labels })
    }

    fn number(&mut self, expected: &str) -> Result<f64, ParseError> {
        match self.peek() {
            Some(Token::Number(n)) => {
                let n = *n;
                self.position += 1;
                Ok(n)
            }
            _ => Err(self.error_here(expected)),
        }
    }
}

fn unsupported(column: usize, feature: &str) -> ParseError {
    ParseError::new(column, format!("`{feature}` is not supported by Vigil's LogQL subset"))
}

/// A raw string may end in a lone `\` (`` |~ `error\` ``, which Loki's parser accepts);
/// as a regex that would escape nothing, so it stands for a backslash.
fn literal_trailing_backslash(pattern: &str) -> std::borrow::Cow<'_, str> {
    let trailing = pattern.bytes().rev().take_while(|byte| *byte == b'\\').count();
    if trailing % 2 == 1 {
        std::borrow::Cow::Owned(format!("{pattern}\\"))
    } else {
        std::borrow::Cow::Borrowed(pattern)
    }
}

fn compile(pattern: &str, column: usize) -> Result<regex::Regex, ParseError> {
    regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().map_err(|error| {
        ParseError::new(column, format!("invalid regular expression: {}", error.to_string().lines().last().unwrap_or("syntax error")))
    })
}
