//! Dialect-neutral queries. Core resolves names against the schema; the store decides how a
//! path through relations or a multi-valued column becomes SQL.

/// A bound value. Never pasted into SQL text.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Value {
    /// True for the values PocketBase treats as "empty" in comparisons (`''` and `null`).
    pub fn is_empty(&self) -> bool {
        matches!(self, Value::Null) || matches!(self, Value::Text(s) if s.is_empty())
    }
}

/// How a column's content is stored, which decides how it is decoded into JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Number,
    Bool,
    /// JSON text; decoded into a JSON value (NULL stays null).
    Json,
}

/// How a hop reaches the related rows from the current one.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    /// `column` of the current row holds the related row's id (a JSON list of ids when `list`).
    Forward { column: String, list: bool },
    /// `column` of the related row holds the current row's id (a JSON list of ids when `list`):
    /// PocketBase's back-relation `table_via_column`.
    Back { column: String, list: bool },
    /// Every row of the table (PocketBase's `@collection.name[:alias]`). Hops of one condition
    /// with the same `name` stand for the same row.
    All { name: String },
}

/// One step from a table to related rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Hop {
    pub link: Link,
    /// Whether the step can reach several rows (any-of / all-of semantics apply).
    pub multi: bool,
    pub table: String,
    /// A condition the related row must also meet (the related collection's rule for the
    /// caller), evaluated with the related row as its root.
    pub cond: Option<Box<Cond>>,
}

impl Hop {
    /// A hop through a relation column of the current row.
    pub fn forward(column: &str, list: bool, table: &str) -> Self {
        Hop {
            link: Link::Forward {
                column: column.to_string(),
                list,
            },
            multi: list,
            table: table.to_string(),
            cond: None,
        }
    }
}

/// What a path ends on, in the last table reached.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    /// A plain column.
    Column(String),
    /// A JSON column, looked into by keys (`meta.kind`, `items.0.name`).
    JsonPath(String, Vec<String>),
    /// Each element of a JSON array column (multi-select, multi-relation, multi-file): any-of /
    /// all-of semantics apply.
    Each(String),
    /// The number of elements of a JSON array column (`tags:length`).
    Length(String),
}

/// A field reference from the queried table, possibly through relations.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub hops: Vec<Hop>,
    pub leaf: Leaf,
}

impl Path {
    pub fn column(name: &str) -> Self {
        Path {
            hops: vec![],
            leaf: Leaf::Column(name.to_string()),
        }
    }
    /// A path is multi-valued when it crosses a multi relation or ends on each item of an array.
    pub fn is_multi(&self) -> bool {
        self.hops.iter().any(|h| h.multi) || matches!(self.leaf, Leaf::Each(_))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Value),
    Path(Path),
    Lower(Box<Operand>),
    /// `strftime(format[, value, modifiers...])`: a date formatted (NULL for an empty or
    /// invalid date).
    Strftime(Vec<Operand>),
    /// `geoDistance(lonA, latA, lonB, latB)`: the Haversine distance in kilometres. Over
    /// multi-valued paths it is true when any combination matches (no all-of check).
    GeoDistance(Box<[Operand; 4]>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    NotLike,
}

/// A condition tree. `any` on a comparison asks that at least one item of a multi-valued operand
/// match; without it every item must (PocketBase's `?=` versus `=`).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    True,
    False,
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        left: Operand,
        op: CmpOp,
        right: Operand,
        any: bool,
    },
    /// The row's id is one of these (expand, cascades).
    IdIn(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    By { operand: Operand, desc: bool },
    Random,
    RowId { desc: bool },
}

/// A read of rows from one table.
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub table: String,
    pub columns: Vec<(String, ColumnKind)>,
    pub filter: Cond,
    pub sort: Vec<SortKey>,
    pub limit: Option<u64>,
    pub offset: u64,
}

/// A decoded row: one JSON value per selected column, in order.
pub type Row = Vec<serde_json::Value>;
