//! The LogQL subset Vigil evaluates, parsed into an AST.
//!
//! Parsing is strict: anything outside the subset (for example `line_format` or
//! `offset`) is rejected with a message naming the feature, never misparsed, and every
//! error carries the 1-based column where it was found.

mod ast;
pub mod eval;
mod lexer;
#[cfg(test)]
mod loki_tests;
mod parser;
#[cfg(test)]
mod tests;

pub use ast::*;
pub use lexer::{parse_bytes, parse_duration_seconds};

/// Parses a LogQL expression (a log query or a metric query).
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    parser::parse(text)
}

/// Parses a stream's label set as Loki's push API writes it: `{app="api", env="prod"}`.
pub fn parse_labels(text: &str) -> Result<std::collections::BTreeMap<String, String>, ParseError> {
    parser::parse_labels(text)
}

/// A located parse error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ParseError {
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> ParseError {
        ParseError { column, message: message.into() }
    }
}
