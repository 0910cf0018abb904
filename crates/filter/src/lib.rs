//! Parser for PocketBase's `filter` and `sort` query languages (also used by API rules).
//!
//! Pure and dependency free: it only turns text into the [`ast`] types; resolving fields,
//! macros and parameters against a schema happens in the crates that use it.
#![forbid(unsafe_code)]

pub mod ast;
mod lexer;
mod parser;

#[cfg(test)]
mod tests;

pub use ast::*;

use std::fmt;

/// Longest accepted filter, in bytes (PocketBase `search.MaxFilterLength`, checked with Go's
/// byte-based `len`). Bounds parsing work on untrusted query strings.
pub const MAX_FILTER_LENGTH: usize = 3500;

/// Most comparisons allowed in one filter (PocketBase `search.DefaultFilterExprLimit`).
pub const MAX_FILTER_EXPRS: usize = 200;

/// Most terms allowed in one `sort` parameter (PocketBase `search.DefaultSortExprLimit`).
pub const MAX_SORT_TERMS: usize = 8;

/// Deepest allowed nesting of function calls, e.g. `a(b(c(x)))` is the maximum (fexpr's
/// `maxFuncDepth`, which PocketBase uses). Also keeps the recursive operand parser shallow.
pub const MAX_FUNC_DEPTH: usize = 3;

/// Longest accepted sort field name, in bytes (PocketBase `search.MaxSortFieldLength`).
pub const MAX_SORT_FIELD_LENGTH: usize = 255;

/// A syntax error; `position` is a byte offset into the source so callers can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub position: usize,
}

impl ParseError {
    pub fn new(message: impl Into<String>, position: usize) -> Self {
        ParseError {
            message: message.into(),
            position,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

impl std::error::Error for ParseError {}

/// Parses a filter expression. Blank input (or only comments) means "no filter" and gives
/// `Ok(None)`, matching PocketBase which skips an empty `filter` parameter.
pub fn parse_filter(src: &str) -> Result<Option<Expr>, ParseError> {
    if src.len() > MAX_FILTER_LENGTH {
        return Err(ParseError::new(
            format!("filter is too long (max {MAX_FILTER_LENGTH} bytes)"),
            MAX_FILTER_LENGTH,
        ));
    }
    parser::parse_filter(src)
}

/// Parses a `sort` parameter such as `-created,title`. Blank input gives no terms.
pub fn parse_sort(src: &str) -> Result<Vec<SortTerm>, ParseError> {
    parser::parse_sort(src)
}
