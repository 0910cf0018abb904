//! The syntax tree of PocketBase's filter and sort languages. Positions are byte offsets into the
//! source text so that errors (and the dashboard) can point at the offending character.

/// A half-open byte range `[start, end)` in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// A filter expression: comparisons joined by `&&` / `||`, grouped by parentheses.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(Comparison),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub left: Operand,
    pub op: Op,
    pub right: Operand,
    pub span: Span,
}

/// The comparison operator; `any` is the `?` prefix ("at least one item matches").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op {
    pub kind: OpKind,
    pub any: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    NotLike,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A quoted string with escapes already resolved.
    Str(String, Span),
    Num(f64, Span),
    Bool(bool, Span),
    Null(Span),
    /// `{:name}` placeholder, resolved against the caller's parameters.
    Param(String, Span),
    /// A field path or macro: `title`, `author.name`, `@request.auth.id`, `@now`,
    /// `@collection.users:alias.email`, `tags:length`.
    Ident(Ident),
    /// A function call such as `strftime('%Y', created)` or `geoDistance(a, b, c, d)`.
    Func {
        name: String,
        args: Vec<Operand>,
        span: Span,
    },
}

/// A dotted identifier. `path` holds the segments split on `.`; a segment may carry an
/// `:alias` suffix (only meaningful after `@collection`), kept verbatim in the segment.
/// A trailing known modifier (`:isset`, `:changed`, `:length`, `:each`, `:lower`) is split off
/// into `modifier`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub path: Vec<String>,
    pub modifier: Option<Modifier>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modifier {
    Isset,
    Changed,
    Length,
    Each,
    Lower,
}

/// One term of a `sort` parameter: `-created` is descending, `@random` and `@rowid` are special.
#[derive(Debug, Clone, PartialEq)]
pub struct SortTerm {
    pub ident: Ident,
    pub desc: bool,
}

impl Operand {
    pub fn span(&self) -> Span {
        match self {
            Operand::Str(_, s)
            | Operand::Num(_, s)
            | Operand::Bool(_, s)
            | Operand::Null(s)
            | Operand::Param(_, s)
            | Operand::Func { span: s, .. } => *s,
            Operand::Ident(i) => i.span,
        }
    }
}

impl Modifier {
    /// Maps the text after the last `:` of an identifier to a modifier; anything else
    /// (such as a `@collection` alias) is not a modifier and stays in the path.
    pub fn from_suffix(suffix: &str) -> Option<Modifier> {
        match suffix {
            "isset" => Some(Modifier::Isset),
            "changed" => Some(Modifier::Changed),
            "length" => Some(Modifier::Length),
            "each" => Some(Modifier::Each),
            "lower" => Some(Modifier::Lower),
            _ => None,
        }
    }

    /// The modifier as written in a filter, without the leading `:`.
    pub fn as_str(self) -> &'static str {
        match self {
            Modifier::Isset => "isset",
            Modifier::Changed => "changed",
            Modifier::Length => "length",
            Modifier::Each => "each",
            Modifier::Lower => "lower",
        }
    }
}
