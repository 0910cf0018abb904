//! Rules and client filters: PocketBase filter text plus the request's context, compiled into a
//! dialect-neutral condition with every value bound.

mod macros;

use std::sync::Arc;

use motorbase_filter::{
    self as filter, Comparison, Expr, Ident, Modifier, OpKind, Operand as FOperand,
};
use motorbase_store::{CmpOp, Cond, Hop, Leaf, Link, Operand, Path, Value};
use serde_json::{Map, Value as Json};
use thiserror::Error;

use crate::collections::{Collection, FieldType, Schema};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct AuthInfo {
    pub collection: Arc<Collection>,
    /// The full stored record, hidden fields included (never sent as is).
    pub record: Map<String, Json>,
}

impl AuthInfo {
    pub fn id(&self) -> &str {
        self.record.get("id").and_then(Json::as_str).unwrap_or("")
    }
}

/// What `@request.*` can see.
#[derive(Debug, Clone, Default)]
pub struct RequestCtx {
    pub auth: Option<AuthInfo>,
    pub method: String,
    /// Empty unless a collection rule reads `@request.headers` or the caller is a superuser
    /// ([`crate::collections::Schema::reads_request_headers`]).
    pub headers: Map<String, Json>,
    pub query: Map<String, Json>,
    pub body: Map<String, Json>,
    pub context: String,
}

impl RequestCtx {
    pub fn is_superuser(&self) -> bool {
        self.auth
            .as_ref()
            .is_some_and(|a| a.collection.is_superusers())
    }
}

#[derive(Debug, Error)]
pub enum RuleError {
    #[error("{0}")]
    Parse(#[from] filter::ParseError),
    #[error("unknown field {0:?}")]
    UnknownField(String),
    #[error("only superusers may filter by @request fields")]
    RequestFieldForbidden,
    #[error("only superusers may filter by @collection fields")]
    CollectionFieldForbidden,
    #[error("{0} is not supported yet")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
}

/// How a filter is being compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A collection rule run for a request.
    Rule,
    /// A client's `filter` (or `sort`) parameter: hidden fields and, for non-superusers,
    /// `@request.*` are refused.
    Client,
    /// Validating a rule when a collection is saved: any `@request` path is accepted.
    Check,
}

/// How many relations a path may go through (PocketBase's limit).
const MAX_NESTED_RELATIONS: usize = 6;

pub struct Compiler<'a> {
    pub schema: &'a Schema,
    pub ctx: &'a RequestCtx,
    pub mode: Mode,
    /// Conditions the current comparison must also meet (set while resolving its paths).
    guards: std::cell::RefCell<Vec<Path>>,
    /// The collection each `@collection` alias stands for in this filter.
    aliases: std::cell::RefCell<Vec<(String, String)>>,
}

impl<'a> Compiler<'a> {
    pub fn new(schema: &'a Schema, ctx: &'a RequestCtx, mode: Mode) -> Self {
        Compiler {
            schema,
            ctx,
            mode,
            guards: Default::default(),
            aliases: Default::default(),
        }
    }

    /// Client filters of non-superusers see only what the caller may see.
    fn restricted(&self) -> bool {
        self.mode == Mode::Client && !self.ctx.is_superuser()
    }
}

/// Validates a rule's syntax and field names against the collection.
pub fn check(schema: &Schema, collection: &Collection, rule: &str) -> Result<(), RuleError> {
    let ctx = RequestCtx::default();
    let c = Compiler::new(schema, &ctx, Mode::Check);
    c.compile(collection, rule).map(|_| ())
}

fn json_to_value(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(0.0))),
        Json::String(s) => Value::Text(s.clone()),
        other => Value::Text(other.to_string()),
    }
}

impl Compiler<'_> {
    /// Compiles filter text; empty text is "always true".
    pub fn compile(&self, collection: &Collection, src: &str) -> Result<Cond, RuleError> {
        match filter::parse_filter(src)? {
            None => Ok(Cond::True),
            Some(e) => self.expr(collection, &e),
        }
    }

    fn expr(&self, c: &Collection, e: &Expr) -> Result<Cond, RuleError> {
        Ok(match e {
            Expr::And(a, b) => Cond::And(vec![self.expr(c, a)?, self.expr(c, b)?]),
            Expr::Or(a, b) => Cond::Or(vec![self.expr(c, a)?, self.expr(c, b)?]),
            Expr::Cmp(cmp) => self.comparison(c, cmp)?,
        })
    }

    fn comparison(&self, c: &Collection, cmp: &Comparison) -> Result<Cond, RuleError> {
        let op = match cmp.op.kind {
            OpKind::Eq => CmpOp::Eq,
            OpKind::Neq => CmpOp::Neq,
            OpKind::Gt => CmpOp::Gt,
            OpKind::Gte => CmpOp::Gte,
            OpKind::Lt => CmpOp::Lt,
            OpKind::Lte => CmpOp::Lte,
            OpKind::Like => CmpOp::Like,
            OpKind::NotLike => CmpOp::NotLike,
        };
        if let Some(cond) = self.changed_comparison(c, cmp, op)? {
            return Ok(cond);
        }
        self.guards.borrow_mut().clear();
        let left = self.operand(c, &cmp.left)?;
        let right = self.operand(c, &cmp.right)?;
        let cmp = Cond::Cmp {
            left,
            op,
            right,
            any: cmp.op.any,
        };
        let guards: Vec<Path> = self.guards.borrow_mut().drain(..).collect();
        if guards.is_empty() {
            return Ok(cmp);
        }
        let mut all = vec![cmp];
        // Checked on the joined row the comparison reads (no all-of check), as PocketBase does.
        all.extend(guards.into_iter().map(|g| Cond::Cmp {
            left: Operand::Path(g),
            op: CmpOp::Eq,
            right: Operand::Value(Value::Bool(true)),
            any: true,
        }));
        Ok(Cond::And(all))
    }

    /// `@request.body.f:changed = true|false`: the body sets `f` to something other than the
    /// stored value. Only meaningful against a bool literal.
    fn changed_comparison(
        &self,
        c: &Collection,
        cmp: &Comparison,
        op: CmpOp,
    ) -> Result<Option<Cond>, RuleError> {
        let is_changed = |o: &FOperand| match o {
            FOperand::Ident(id) if id.modifier == Some(Modifier::Changed) => Some(id.clone()),
            _ => None,
        };
        let (id, other) = match (is_changed(&cmp.left), is_changed(&cmp.right)) {
            (Some(id), None) => (id, &cmp.right),
            (None, Some(id)) => (id, &cmp.left),
            (None, None) => return Ok(None),
            _ => {
                return Err(RuleError::Invalid(
                    ":changed can be compared only with true or false".into(),
                ))
            }
        };
        let FOperand::Bool(want, _) = other else {
            return Err(RuleError::Invalid(
                ":changed can be compared only with true or false".into(),
            ));
        };
        if id.path.len() != 3 || id.path[0] != "@request" || id.path[1] != "body" {
            return Err(RuleError::Invalid(
                ":changed applies only to @request.body fields".into(),
            ));
        }
        if self.mode == Mode::Client && !self.ctx.is_superuser() {
            return Err(RuleError::RequestFieldForbidden);
        }
        let name = &id.path[2];
        let field = c
            .field(name)
            .ok_or_else(|| RuleError::UnknownField(id.path.join(".")))?;
        let changed = match self.ctx.body.get(name.as_str()) {
            None => Cond::False,
            Some(v) => {
                let value = match v {
                    Json::Array(_) | Json::Object(_) => Value::Text(v.to_string()),
                    other => json_to_value(other),
                };
                Cond::Not(Box::new(Cond::Cmp {
                    left: Operand::Path(Path::column(&field.name)),
                    op: CmpOp::Eq,
                    right: Operand::Value(value),
                    any: false,
                }))
            }
        };
        let positive = match op {
            CmpOp::Eq => *want,
            CmpOp::Neq => !*want,
            _ => return Err(RuleError::Invalid(":changed supports only = and !=".into())),
        };
        Ok(Some(if positive {
            changed
        } else {
            Cond::Not(Box::new(changed))
        }))
    }

    fn operand(&self, c: &Collection, o: &FOperand) -> Result<Operand, RuleError> {
        Ok(match o {
            FOperand::Str(s, _) => Operand::Value(Value::Text(s.clone())),
            // PocketBase binds every number as a float (so `title = 10` compares with '10.0').
            FOperand::Num(n, _) => Operand::Value(Value::Float(*n)),
            FOperand::Bool(b, _) => Operand::Value(Value::Bool(*b)),
            FOperand::Null(_) => Operand::Value(Value::Null),
            FOperand::Param(name, _) => {
                return Err(RuleError::Invalid(format!(
                    "unresolved placeholder {{:{name}}}"
                )))
            }
            FOperand::Func { name, args, .. } if name == "strftime" => self.strftime(c, args)?,
            FOperand::Func { name, args, .. } if name == "geoDistance" => {
                self.geo_distance(c, args)?
            }
            FOperand::Func { name, .. } => {
                return Err(RuleError::Invalid(format!("unknown function {name}()")))
            }
            FOperand::Ident(id) => self.ident(c, id)?,
        })
    }

    /// `strftime(format[, time value[, modifiers...]])`, as PocketBase accepts it: a format
    /// string, then a string, number or field, then modifier strings (10 arguments at most).
    fn strftime(&self, c: &Collection, args: &[FOperand]) -> Result<Operand, RuleError> {
        if args.is_empty() || args.len() > 10 {
            return Err(RuleError::Invalid(
                "strftime() takes 1 to 10 arguments".into(),
            ));
        }
        let valid = args.iter().enumerate().all(|(i, a)| match (i, a) {
            (0, FOperand::Str(..)) => true,
            (1, FOperand::Str(..) | FOperand::Ident(_) | FOperand::Num(..)) => true,
            (i, FOperand::Str(..)) => i > 1,
            _ => false,
        });
        if !valid {
            return Err(RuleError::Invalid(
                "strftime() takes a format string, a time value and modifier strings".into(),
            ));
        }
        let args = args
            .iter()
            .map(|a| self.operand(c, a))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Operand::Strftime(args))
    }

    /// `geoDistance(lonA, latA, lonB, latB)`: numbers or fields.
    fn geo_distance(&self, c: &Collection, args: &[FOperand]) -> Result<Operand, RuleError> {
        let [a, b, d, e] = args else {
            return Err(RuleError::Invalid("geoDistance() takes 4 arguments".into()));
        };
        let mut out = vec![];
        for arg in [a, b, d, e] {
            if !matches!(arg, FOperand::Ident(_) | FOperand::Num(..)) {
                return Err(RuleError::Invalid(
                    "geoDistance() takes numbers or fields".into(),
                ));
            }
            out.push(self.operand(c, arg)?);
        }
        let args: [Operand; 4] = out
            .try_into()
            .map_err(|_| RuleError::Invalid("geoDistance() takes 4 arguments".into()))?;
        Ok(Operand::GeoDistance(Box::new(args)))
    }

    fn ident(&self, c: &Collection, id: &Ident) -> Result<Operand, RuleError> {
        let first = id.path[0].as_str();
        if first.starts_with('@') {
            return self.macro_or_request(id);
        }
        let mut path = self.field_path(c, &id.path, id.modifier)?;
        if id.modifier == Some(Modifier::Lower) {
            if let Leaf::JsonPath(_, keys) = &mut path.leaf {
                // PocketBase 0.40 folds the modifier into the last JSON key (`kind:lower` looks
                // up `kindlower`); kept for identical results.
                if let Some(last) = keys.last_mut() {
                    last.push_str("lower");
                    return Ok(Operand::Path(path));
                }
            }
            return Ok(Operand::Lower(Box::new(Operand::Path(path))));
        }
        Ok(Operand::Path(path))
    }

    fn macro_or_request(&self, id: &Ident) -> Result<Operand, RuleError> {
        let first = id.path[0].as_str();
        if first == "@request" {
            if self.mode == Mode::Client && !self.ctx.is_superuser() {
                return Err(RuleError::RequestFieldForbidden);
            }
            return self.request_value(id).map(Operand::Value);
        }
        if first == "@collection" {
            if self.restricted() {
                return Err(RuleError::CollectionFieldForbidden);
            }
            return self.collection_join(id).map(Operand::Path);
        }
        if id.path.len() == 1 {
            if let Some(v) = macros::date_macro(first) {
                return Ok(Operand::Value(v));
            }
        }
        Err(RuleError::UnknownField(id.path.join(".")))
    }

    /// `@collection.name[:alias].field...`: any row of another collection. Mentions with the
    /// same alias (or, without one, of the same collection) in one condition are the same row.
    fn collection_join(&self, id: &Ident) -> Result<Path, RuleError> {
        let unknown = || RuleError::UnknownField(id.path.join("."));
        let seg = id.path.get(1).ok_or_else(unknown)?;
        let (name, alias) = match seg.split_once(':') {
            Some((n, a)) if !a.is_empty() => (n, Some(a)),
            Some((n, _)) => (n, None),
            None => (seg.as_str(), None),
        };
        let target = self.schema.get(name).ok_or_else(unknown)?;
        if id.path.len() < 3 {
            return Err(unknown());
        }
        let inner = self.field_path(&target, &id.path[2..], id.modifier)?;
        let join_name = match alias {
            Some(a) => {
                let mut aliases = self.aliases.borrow_mut();
                match aliases.iter().find(|(known, _)| known == a) {
                    Some((_, other)) if *other != target.name => {
                        return Err(RuleError::Invalid(format!(
                            "@collection alias {a:?} already stands for {other}"
                        )))
                    }
                    Some(_) => {}
                    None => aliases.push((a.to_string(), target.name.clone())),
                }
                format!(":{a}")
            }
            None => target.name.clone(),
        };
        let mut hops = vec![Hop {
            link: Link::All { name: join_name },
            multi: true,
            table: target.name.clone(),
            cond: self.hop_rule(&target)?,
        }];
        hops.extend(inner.hops);
        Ok(Path {
            hops,
            leaf: inner.leaf,
        })
    }

    fn request_value(&self, id: &Ident) -> Result<Value, RuleError> {
        let path: Vec<&str> = id.path.iter().skip(1).map(String::as_str).collect();
        let ctx = self.ctx;
        let lookup = |map: &Map<String, Json>, key: &str| -> Value {
            match id.modifier {
                Some(Modifier::Isset) => Value::Bool(map.contains_key(key)),
                Some(Modifier::Length) => Value::Int(
                    map.get(key)
                        .and_then(Json::as_array)
                        .map_or(0, |a| a.len() as i64),
                ),
                Some(Modifier::Lower) => match map.get(key) {
                    Some(Json::String(s)) => Value::Text(s.to_lowercase()),
                    Some(v) => json_to_value(v),
                    None => Value::Null,
                },
                _ => map.get(key).map(json_to_value).unwrap_or(Value::Null),
            }
        };
        match path.as_slice() {
            ["method"] => Ok(Value::Text(ctx.method.clone())),
            ["context"] => Ok(Value::Text(if ctx.context.is_empty() {
                "default".into()
            } else {
                ctx.context.clone()
            })),
            ["auth", field] => Ok(match &ctx.auth {
                Some(a) => match *field {
                    "collectionId" => Value::Text(a.collection.id.clone()),
                    "collectionName" => Value::Text(a.collection.name.clone()),
                    f => lookup(&a.record, f),
                },
                None => Value::Null,
            }),
            ["body", field] => Ok(lookup(&ctx.body, field)),
            ["query", field] => Ok(lookup(&ctx.query, field)),
            ["headers", field] => Ok(lookup(&ctx.headers, &field.to_lowercase())),
            _ if self.mode == Mode::Check => Ok(Value::Null),
            _ => Err(RuleError::UnknownField(id.path.join("."))),
        }
    }

    /// A client's filter may only reach related records the caller could list; a collection
    /// whose list rule is locked cannot be reached at all.
    fn hop_rule(&self, target: &Collection) -> Result<Option<Box<Cond>>, RuleError> {
        if self.mode != Mode::Client || self.ctx.is_superuser() {
            return Ok(None);
        }
        match target.rule(crate::collections::RuleKind::List) {
            None => Err(RuleError::Invalid(format!(
                "the fields of {} can be filtered only by superusers",
                target.name
            ))),
            Some("") => Ok(None),
            Some(text) => Ok(Some(Box::new(
                Compiler::new(self.schema, self.ctx, Mode::Rule).compile(target, text)?,
            ))),
        }
    }

    /// `comments_via_post` from `cur`: the rows of `comments` whose relation `post` holds the
    /// current row's id.
    fn back_relation(
        &self,
        cur: &Collection,
        seg: &str,
        unknown: &dyn Fn() -> RuleError,
    ) -> Result<(Hop, Arc<Collection>), RuleError> {
        let (name, field_name) = seg.rsplit_once("_via_").ok_or_else(unknown)?;
        let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid(name) || !valid(field_name) {
            return Err(unknown());
        }
        let back = self.schema.get(name).ok_or_else(unknown)?;
        let field = back
            .field(field_name)
            .filter(|f| f.kind == FieldType::Relation)
            .ok_or_else(unknown)?;
        if field.hidden && self.mode == Mode::Client && !self.ctx.is_superuser() {
            return Err(unknown());
        }
        if field.opt_str("collectionId") != cur.id {
            return Err(unknown());
        }
        let list = field.is_multi();
        let unique = back.indexes.iter().any(|sql| {
            crate::collections::index::parse_index(sql).is_ok_and(|ix| {
                ix.unique
                    && ix.columns.len() == 1
                    && ix.columns[0].name.eq_ignore_ascii_case(&field.name)
            })
        });
        let hop = Hop {
            link: Link::Back {
                column: field.name.clone(),
                list,
            },
            multi: list || !unique,
            table: back.name.clone(),
            cond: self.hop_rule(&back)?,
        };
        Ok((hop, back))
    }

    /// Resolves `a.b.c` through relations and JSON, ending on a column or on each array item.
    pub fn field_path(
        &self,
        c: &Collection,
        segs: &[String],
        modifier: Option<Modifier>,
    ) -> Result<Path, RuleError> {
        let mut hops = vec![];
        let mut cur: Arc<Collection> = Arc::new(c.clone());
        for (i, seg) in segs.iter().enumerate() {
            let last = i + 1 == segs.len();
            let Some(field) = cur.field(seg) else {
                if last || i >= MAX_NESTED_RELATIONS {
                    return Err(RuleError::UnknownField(segs.join(".")));
                }
                let unknown = || RuleError::UnknownField(segs.join("."));
                let (hop, back) = self.back_relation(&cur, seg, &unknown)?;
                hops.push(hop);
                cur = back;
                continue;
            };
            let superuser_filter = self.mode == Mode::Client && self.ctx.is_superuser();
            let hidden = field.hidden || field.kind == FieldType::Password;
            if hidden
                && !superuser_filter
                && (self.mode == Mode::Client || field.kind == FieldType::Password)
            {
                return Err(RuleError::UnknownField(segs.join(".")));
            }
            if self.restricted() && cur.is_auth() && field.name == "email" {
                // Others' emails are filterable only where their owners made them visible.
                self.guards.borrow_mut().push(Path {
                    hops: hops.clone(),
                    leaf: Leaf::Column("emailVisibility".into()),
                });
            }
            if last {
                let leaf = match modifier {
                    // On single-valued fields PocketBase ignores :length and :each.
                    Some(Modifier::Length) if field.is_multi() => Leaf::Length(field.name.clone()),
                    Some(Modifier::Isset) | Some(Modifier::Changed) => {
                        return Err(RuleError::Invalid(
                            "this modifier applies only to @request.body fields".into(),
                        ))
                    }
                    // A bare multi-valued field is its stored JSON list; `:each` looks at items.
                    Some(Modifier::Each) if field.is_multi() => Leaf::Each(field.name.clone()),
                    // A JSON field compares by its value, not its text.
                    _ if field.kind == FieldType::Json => {
                        Leaf::JsonPath(field.name.clone(), vec![])
                    }
                    _ => Leaf::Column(field.name.clone()),
                };
                return Ok(Path { hops, leaf });
            }
            // A single `rel.id` is the stored reference itself: no join (as PocketBase
            // resolves it).
            if field.kind == FieldType::Relation
                && !field.is_multi()
                && i + 2 == segs.len()
                && segs[i + 1] == "id"
            {
                return Ok(Path {
                    hops,
                    leaf: Leaf::Column(field.name.clone()),
                });
            }
            match field.kind {
                FieldType::Relation if i < MAX_NESTED_RELATIONS => {
                    let target = self
                        .schema
                        .get(field.opt_str("collectionId"))
                        .or_else(|| {
                            (field.opt_str("collectionId") == c.id).then(|| Arc::new(c.clone()))
                        })
                        .ok_or_else(|| RuleError::UnknownField(segs.join(".")))?;
                    let mut hop = Hop::forward(&field.name, field.is_multi(), &target.name);
                    hop.cond = self.hop_rule(&target)?;
                    hops.push(hop);
                    cur = target;
                }
                FieldType::Json | FieldType::GeoPoint => {
                    let keys = segs[i + 1..].to_vec();
                    return Ok(Path {
                        hops,
                        leaf: Leaf::JsonPath(field.name.clone(), keys),
                    });
                }
                _ => return Err(RuleError::UnknownField(segs.join("."))),
            }
        }
        Err(RuleError::UnknownField(segs.join(".")))
    }
}
