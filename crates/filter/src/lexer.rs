//! Tokenizer for the filter language. Works on bytes because every token character is ASCII;
//! non-ASCII text is only legal inside quoted strings.

use crate::ast::{Op, OpKind, Span};
use crate::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TokenKind {
    /// Raw identifier text; `call` is set when `(` follows with no whitespace in between,
    /// which is what distinguishes `strftime(...)` from a field followed by a group.
    Ident {
        raw: String,
        call: bool,
    },
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
    Param(String),
    Op(Op),
    And,
    Or,
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

impl Token {
    /// Human-readable token description for error messages.
    pub fn describe(&self, src: &str) -> String {
        let text = src.get(self.span.start..self.span.end).unwrap_or("");
        format!("'{text}'")
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'@'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'@')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Splits `src[start..end]` into tokens; positions stay absolute so that callers lexing a
/// slice (the sort parser) still report offsets into the original input.
pub(crate) fn tokenize_range(
    src: &str,
    start: usize,
    end: usize,
) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        src,
        bytes: &src.as_bytes()[..end],
        pos: start,
    };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, ParseError> {
    tokenize_range(src, 0, src.len())
}

struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.pos + offset).copied()
    }

    /// Skips whitespace and `//` line comments (PocketBase's fexpr accepts both between tokens).
    fn skip_trivia(&mut self) {
        loop {
            match self.peek() {
                Some(b) if is_space(b) => self.pos += 1,
                Some(b'/') if self.peek_at(1) == Some(b'/') => {
                    while let Some(b) = self.peek() {
                        if b == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn next_token(&mut self) -> Result<Option<Token>, ParseError> {
        self.skip_trivia();
        let start = self.pos;
        let Some(b) = self.peek() else {
            return Ok(None);
        };
        let kind = match b {
            b'(' => self.single(TokenKind::LParen),
            b')' => self.single(TokenKind::RParen),
            b',' => self.single(TokenKind::Comma),
            b'\'' | b'"' => self.string()?,
            b'{' => self.param()?,
            b'&' | b'|' => self.join(b)?,
            b'-' if self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) => self.number()?,
            b'0'..=b'9' => self.number()?,
            b'=' | b'!' | b'>' | b'<' | b'~' | b'?' => self.operator()?,
            b if is_ident_start(b) => self.ident(),
            _ => return Err(self.unknown_char()),
        };
        Ok(Some(Token {
            kind,
            span: Span {
                start,
                end: self.pos,
            },
        }))
    }

    fn single(&mut self, kind: TokenKind) -> TokenKind {
        self.pos += 1;
        kind
    }

    fn unknown_char(&self) -> ParseError {
        let ch = self.src[self.pos..].chars().next().unwrap_or('?');
        ParseError::new(format!("unexpected character {ch:?}"), self.pos)
    }

    fn string(&mut self) -> Result<TokenKind, ParseError> {
        let start = self.pos;
        let quote = self.src.as_bytes()[start] as char;
        let end = self.bytes.len();
        let mut out = String::new();
        let mut chars = self.src[start + 1..end].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos = start + 1 + i + c.len_utf8();
                return Ok(TokenKind::Str(out));
            }
            if c == '\\' {
                // PocketBase's escapes: \\ \' \" \n \t \r; any other pair is kept as written.
                match chars.next() {
                    Some((_, e @ ('\\' | '\'' | '"'))) => out.push(e),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, other)) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => break,
                }
            } else {
                out.push(c);
            }
        }
        Err(ParseError::new("unterminated string", start))
    }

    fn param(&mut self) -> Result<TokenKind, ParseError> {
        let start = self.pos;
        let invalid = || ParseError::new("invalid placeholder, expected {:name}", start);
        if self.peek_at(1) != Some(b':') {
            return Err(invalid());
        }
        self.pos += 2;
        let name_start = self.pos;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        if self.pos == name_start || self.peek() != Some(b'}') {
            return Err(invalid());
        }
        let name = self.src[name_start..self.pos].to_string();
        self.pos += 1;
        Ok(TokenKind::Param(name))
    }

    fn join(&mut self, b: u8) -> Result<TokenKind, ParseError> {
        if self.peek_at(1) != Some(b) {
            let expected = if b == b'&' { "&&" } else { "||" };
            return Err(ParseError::new(
                format!(
                    "unexpected character {:?}, did you mean '{expected}'?",
                    b as char
                ),
                self.pos,
            ));
        }
        self.pos += 2;
        Ok(if b == b'&' {
            TokenKind::And
        } else {
            TokenKind::Or
        })
    }

    fn number(&mut self) -> Result<TokenKind, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        self.digits();
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(ParseError::new("invalid number", start));
            }
        }
        // `12abc` or `1.2.3` are typos, not a number followed by something else.
        if self.peek().is_some_and(is_ident_char) {
            return Err(ParseError::new("invalid number", start));
        }
        self.src[start..self.pos]
            .parse::<f64>()
            .map(TokenKind::Num)
            .map_err(|_| ParseError::new("invalid number", start))
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - from
    }

    fn operator(&mut self) -> Result<TokenKind, ParseError> {
        let start = self.pos;
        let any = self.peek() == Some(b'?');
        if any {
            self.pos += 1;
        }
        let (kind, len) = match (self.peek(), self.peek_at(1)) {
            (Some(b'='), _) => (OpKind::Eq, 1),
            (Some(b'!'), Some(b'=')) => (OpKind::Neq, 2),
            (Some(b'!'), Some(b'~')) => (OpKind::NotLike, 2),
            (Some(b'>'), Some(b'=')) => (OpKind::Gte, 2),
            (Some(b'>'), _) => (OpKind::Gt, 1),
            (Some(b'<'), Some(b'=')) => (OpKind::Lte, 2),
            (Some(b'<'), _) => (OpKind::Lt, 1),
            (Some(b'~'), _) => (OpKind::Like, 1),
            _ => return Err(ParseError::new("invalid operator", start)),
        };
        self.pos += len;
        Ok(TokenKind::Op(Op { kind, any }))
    }

    fn ident(&mut self) -> TokenKind {
        let start = self.pos;
        while self.peek().is_some_and(is_ident_char) {
            self.pos += 1;
        }
        let raw = &self.src[start..self.pos];
        // PocketBase falls back to these literals case-insensitively. They are never
        // callable, so `true(` lexes as a literal followed by a stray '('.
        if raw.eq_ignore_ascii_case("true") {
            return TokenKind::Bool(true);
        }
        if raw.eq_ignore_ascii_case("false") {
            return TokenKind::Bool(false);
        }
        if raw.eq_ignore_ascii_case("null") {
            return TokenKind::Null;
        }
        let call = self.peek() == Some(b'(');
        TokenKind::Ident {
            raw: raw.to_string(),
            call,
        }
    }
}
