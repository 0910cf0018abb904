//! Parser over the token stream. `||` is the loosest level and `&&` the next, so
//! `a || b && c` groups as `a || (b && c)` like SQL and PocketBase.

use crate::ast::{Comparison, Expr, Ident, Modifier, Operand, SortTerm, Span};
use crate::lexer::{tokenize, tokenize_range, Token, TokenKind};
use crate::{ParseError, MAX_FILTER_EXPRS, MAX_FUNC_DEPTH, MAX_SORT_FIELD_LENGTH, MAX_SORT_TERMS};

pub(crate) fn parse_filter(src: &str) -> Result<Option<Expr>, ParseError> {
    let tokens = tokenize(src)?;
    if tokens.is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        src,
        tokens,
        idx: 0,
        exprs: 0,
    };
    let expr = parser.expr()?;
    if let Some(tok) = parser.peek() {
        let message = if tok.kind == TokenKind::RParen {
            "unmatched ')'".to_string()
        } else {
            format!("unexpected {} after expression", tok.describe(src))
        };
        return Err(ParseError::new(message, tok.span.start));
    }
    Ok(Some(expr))
}

pub(crate) fn parse_sort(src: &str) -> Result<Vec<SortTerm>, ParseError> {
    if src.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut terms = Vec::new();
    let mut seg_start = 0;
    for segment in src.split(',') {
        let seg_end = seg_start + segment.len();
        terms.push(sort_term(src, seg_start, seg_end)?);
        if terms.len() > MAX_SORT_TERMS {
            return Err(ParseError::new(
                format!("too many sort fields (max {MAX_SORT_TERMS})"),
                seg_start,
            ));
        }
        seg_start = seg_end + 1;
    }
    Ok(terms)
}

fn sort_term(src: &str, seg_start: usize, seg_end: usize) -> Result<SortTerm, ParseError> {
    let segment = &src[seg_start..seg_end];
    let trimmed = segment.trim();
    let term_start = seg_start + (segment.len() - segment.trim_start().len());
    let term_end = term_start + trimmed.len();
    if trimmed.is_empty() {
        return Err(ParseError::new("empty sort field", term_start));
    }
    let (desc, sign_len) = match trimmed.as_bytes().first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let start = term_start + sign_len;
    let mut tokens = tokenize_range(src, start, term_end)?.into_iter();
    let ident = match tokens.next() {
        // The field must follow the sign directly: `- views` is not a valid term.
        Some(tok) if tok.span.start != start => {
            return Err(ParseError::new(
                "expected a sort field right after the sign",
                start,
            ))
        }
        Some(Token {
            kind: TokenKind::Ident { raw, call: false },
            span,
        }) => {
            if raw.len() > MAX_SORT_FIELD_LENGTH {
                return Err(ParseError::new(
                    format!("sort field too long (max {MAX_SORT_FIELD_LENGTH} bytes)"),
                    span.start,
                ));
            }
            make_ident(&raw, span)?
        }
        Some(tok) => {
            return Err(ParseError::new(
                format!("expected a sort field, found {}", tok.describe(src)),
                tok.span.start,
            ))
        }
        None => return Err(ParseError::new("expected a sort field", start)),
    };
    if let Some(tok) = tokens.next() {
        return Err(ParseError::new(
            format!("unexpected {} in sort field", tok.describe(src)),
            tok.span.start,
        ));
    }
    if ident.span.end != term_end {
        // Only a `//` comment can be left over here; sort fields don't take comments.
        return Err(ParseError::new(
            "unexpected text in sort field",
            ident.span.end,
        ));
    }
    Ok(SortTerm { ident, desc })
}

/// Validates an identifier and splits it into path segments plus an optional modifier.
pub(crate) fn make_ident(raw: &str, span: Span) -> Result<Ident, ParseError> {
    let invalid = || ParseError::new(format!("invalid identifier '{raw}'"), span.start);
    if raw == "@" || raw == "_" {
        return Err(invalid());
    }
    let mut path: Vec<String> = raw.split('.').map(str::to_string).collect();
    let mut modifier = None;
    if let Some(last) = path.last_mut() {
        if let Some((head, suffix)) = last.rsplit_once(':') {
            modifier = Modifier::from_suffix(suffix);
            if modifier.is_some() {
                *last = head.to_string();
            }
        }
    }
    // Empty segments come from `a..b`, `a.` or `a:`; PocketBase rejects those too.
    let bad_segment = |s: &String| s.is_empty() || s.split(':').any(str::is_empty);
    if path.iter().any(bad_segment) {
        return Err(invalid());
    }
    Ok(Ident {
        path,
        modifier,
        span,
    })
}

struct Parser<'a> {
    src: &'a str,
    tokens: Vec<Token>,
    idx: usize,
    /// Comparisons seen so far, checked against `MAX_FILTER_EXPRS`.
    exprs: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.idx)
    }

    fn next(&mut self) -> Option<Token> {
        let tok = self.tokens.get(self.idx).cloned();
        if tok.is_some() {
            self.idx += 1;
        }
        tok
    }

    fn eof(&self, expected: &str) -> ParseError {
        ParseError::new(
            format!("unexpected end of input, expected {expected}"),
            self.src.len(),
        )
    }

    /// Parses `&&`/`||` chains and groups with explicit stacks rather than recursion, so
    /// thousands of nested parentheses (legal within the length limit) cannot overflow the
    /// stack. Stops before the first token that cannot continue the expression.
    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut frames = vec![Frame::new(None)];
        loop {
            // Expecting a primary: either a comparison or an opening parenthesis.
            let Some(tok) = self.peek() else {
                return Err(self.eof("an expression"));
            };
            if tok.kind == TokenKind::LParen {
                let open = tok.span.start;
                self.idx += 1;
                if let Some(close) = self.peek().filter(|t| t.kind == TokenKind::RParen) {
                    return Err(ParseError::new("empty parentheses", close.span.start));
                }
                frames.push(Frame::new(Some(open)));
                continue;
            }
            let mut current = Expr::Cmp(self.comparison()?);

            // After a primary: fold it in, then close groups until a join or the end.
            loop {
                let Some(frame) = frames.last_mut() else {
                    return Ok(current);
                };
                frame.push_and(current);
                match self.peek().map(|t| (&t.kind, t.span.start)) {
                    Some((TokenKind::And, _)) => {
                        self.idx += 1;
                        break;
                    }
                    Some((TokenKind::Or, _)) => {
                        self.idx += 1;
                        frame.flush_or();
                        break;
                    }
                    Some((TokenKind::RParen, pos)) if frame.open.is_some() => {
                        self.idx += 1;
                        current = self.finish(frames.pop(), pos)?;
                    }
                    _ => {
                        if let Some(open) = frame.open {
                            return Err(match self.peek() {
                                Some(other) => ParseError::new(
                                    format!(
                                        "expected ')' or a join operator, found {}",
                                        other.describe(self.src)
                                    ),
                                    other.span.start,
                                ),
                                None => self.eof(&format!("')' to close '(' at position {open}")),
                            });
                        }
                        let pos = self.peek().map_or(self.src.len(), |t| t.span.start);
                        return self.finish(frames.pop(), pos);
                    }
                }
            }
        }
    }

    /// Turns a completed frame into its expression. A frame always holds at least one
    /// primary by the time it is finished; the error only guards that invariant.
    fn finish(&self, frame: Option<Frame>, pos: usize) -> Result<Expr, ParseError> {
        frame
            .and_then(Frame::into_expr)
            .ok_or_else(|| ParseError::new("expected an expression", pos))
    }

    fn comparison(&mut self) -> Result<Comparison, ParseError> {
        let left = self.operand("an expression", 0)?;
        let start = left.span().start;
        self.exprs += 1;
        if self.exprs > MAX_FILTER_EXPRS {
            return Err(ParseError::new(
                format!("too many expressions (max {MAX_FILTER_EXPRS})"),
                start,
            ));
        }
        let op = match self.next() {
            Some(Token {
                kind: TokenKind::Op(op),
                ..
            }) => op,
            Some(other) => {
                return Err(ParseError::new(
                    format!(
                        "expected a comparison operator, found {}",
                        other.describe(self.src)
                    ),
                    other.span.start,
                ))
            }
            None => return Err(self.eof("a comparison operator")),
        };
        let right = self.operand("a right operand", 0)?;
        let end = right.span().end;
        Ok(Comparison {
            left,
            op,
            right,
            span: Span { start, end },
        })
    }

    /// Parses one operand; `expected` names what was wanted, for error messages, and `depth`
    /// counts the enclosing function calls.
    fn operand(&mut self, expected: &str, depth: usize) -> Result<Operand, ParseError> {
        let Some(tok) = self.next() else {
            return Err(self.eof(expected));
        };
        let span = tok.span;
        Ok(match tok.kind {
            TokenKind::Str(s) => Operand::Str(s, span),
            TokenKind::Num(n) => Operand::Num(n, span),
            TokenKind::Bool(b) => Operand::Bool(b, span),
            TokenKind::Null => Operand::Null(span),
            TokenKind::Param(p) => Operand::Param(p, span),
            TokenKind::Ident { raw, call: false } => Operand::Ident(make_ident(&raw, span)?),
            TokenKind::Ident { raw, call: true } => {
                if depth >= MAX_FUNC_DEPTH {
                    return Err(ParseError::new(
                        format!("too deeply nested function calls (max {MAX_FUNC_DEPTH})"),
                        span.start,
                    ));
                }
                self.call(raw, span, depth + 1)?
            }
            _ => {
                return Err(ParseError::new(
                    format!("expected {expected}, found {}", tok.describe(self.src)),
                    span.start,
                ))
            }
        })
    }

    /// Parses `name(arg, ...)`; the lexer guarantees the next token is `(`.
    fn call(&mut self, name: String, name_span: Span, depth: usize) -> Result<Operand, ParseError> {
        self.idx += 1; // the '(' right after the name
        let mut args = Vec::new();
        let finish = |end: usize, name: String, args: Vec<Operand>| Operand::Func {
            name,
            args,
            span: Span {
                start: name_span.start,
                end,
            },
        };
        if let Some(close) = self.peek().filter(|t| t.kind == TokenKind::RParen) {
            let end = close.span.end;
            self.idx += 1;
            return Ok(finish(end, name, args));
        }
        loop {
            args.push(self.operand("a function argument", depth)?);
            match self.next() {
                Some(Token {
                    kind: TokenKind::Comma,
                    ..
                }) => {}
                Some(Token {
                    kind: TokenKind::RParen,
                    span,
                }) => return Ok(finish(span.end, name, args)),
                Some(other) => {
                    return Err(ParseError::new(
                        format!(
                            "expected ',' or ')' in call to {name}, found {}",
                            other.describe(self.src)
                        ),
                        other.span.start,
                    ))
                }
                None => {
                    return Err(self.eof(&format!(
                        "')' to close call to {name} at position {}",
                        name_span.start
                    )))
                }
            }
        }
    }
}

/// One level of grouping while parsing: the `||` chain finished so far and the `&&` chain
/// being built; `open` is the position of the `(` that started it (`None` at top level).
struct Frame {
    open: Option<usize>,
    ors: Option<Expr>,
    ands: Option<Expr>,
}

impl Frame {
    fn new(open: Option<usize>) -> Self {
        Frame {
            open,
            ors: None,
            ands: None,
        }
    }

    fn push_and(&mut self, e: Expr) {
        self.ands = Some(match self.ands.take() {
            Some(l) => Expr::And(Box::new(l), Box::new(e)),
            None => e,
        });
    }

    fn flush_or(&mut self) {
        if let Some(r) = self.ands.take() {
            self.ors = Some(match self.ors.take() {
                Some(l) => Expr::Or(Box::new(l), Box::new(r)),
                None => r,
            });
        }
    }

    fn into_expr(mut self) -> Option<Expr> {
        self.flush_or();
        self.ors
    }
}
