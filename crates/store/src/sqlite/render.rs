//! Renders dialect-neutral queries into SQLite SQL. Every value becomes a bound parameter; every
//! identifier has passed [`valid_identifier`] and is double-quoted.

use crate::error::StoreError;
use crate::query::{CmpOp, Cond, Leaf, Link, Operand, Path, Select, SortKey, Value};
use crate::schema::valid_identifier;

/// SQL text under construction with its positional parameters.
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Value>,
    aliases: usize,
}

impl Default for Sql {
    /// Room for a typical statement up front: growing the text from empty reallocated it four
    /// times per query.
    fn default() -> Sql {
        Sql {
            text: String::with_capacity(512),
            params: Vec::with_capacity(4),
            aliases: 0,
        }
    }
}

pub(crate) fn quote(name: &str) -> Result<String, StoreError> {
    let mut s = String::with_capacity(name.len() + 2);
    push_quoted(&mut s, name)?;
    Ok(s)
}

/// [`quote`] appended to `sql` in place: statement text is built once per request, and a
/// `String` per column name added up (a tenth of a list request's allocations).
pub(crate) fn push_quoted(sql: &mut String, name: &str) -> Result<(), StoreError> {
    if !valid_identifier(name) {
        return Err(StoreError::InvalidIdentifier(name.to_string()));
    }
    sql.push('"');
    sql.push_str(name);
    sql.push('"');
    Ok(())
}

/// `{prefix}"name"{suffix}` for each name, comma-separated (column lists).
pub(crate) fn push_columns<'a>(
    sql: &mut String,
    names: impl IntoIterator<Item = &'a str>,
    prefix: &str,
    suffix: &str,
) -> Result<(), StoreError> {
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(prefix);
        push_quoted(sql, name)?;
        sql.push_str(suffix);
    }
    Ok(())
}

/// Quotes a JSON path key list into a `$."a"."b"[0]` path string (bound as a parameter).
fn json_path(keys: &[String]) -> String {
    let mut p = String::from("$");
    for k in keys {
        if !k.is_empty() && k.chars().all(|c| c.is_ascii_digit()) {
            p.push_str(&format!("[{k}]"));
        } else {
            p.push_str(&format!(
                ".\"{}\"",
                k.replace('\\', "\\\\").replace('"', "\\\"")
            ));
        }
    }
    p
}

/// PocketBase's NULL handling preference of an operand in `=` and `!=` comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fallback {
    /// Empty text and NULL count as equal (`COALESCE` forms).
    Auto,
    /// Compared as is (`IS` / `IS NOT`): JSON values, `geoDistance()`.
    Disabled,
    /// Never treated as a known value (`strftime()`).
    Enforced,
}

/// An operand rendered into SQL, with what PocketBase's comparison rules look at.
#[derive(Debug, Clone)]
struct Term {
    sql: String,
    /// Bound parameters in order, each marked whether it is a value of the filter (rather than,
    /// say, a JSON path): PocketBase's rules look only at those.
    params: Vec<(Value, bool)>,
    fallback: Fallback,
    /// The SQL is a literal NULL or empty text.
    empty_literal: bool,
    /// The SQL is a literal boolean (`1` / `0`).
    bool_literal: bool,
}

impl Term {
    fn expr(sql: String, params: Vec<(Value, bool)>, fallback: Fallback) -> Term {
        Term {
            sql,
            params,
            fallback,
            empty_literal: false,
            bool_literal: false,
        }
    }

    fn value(v: &Value) -> Term {
        match v {
            Value::Null => Term {
                empty_literal: true,
                ..Term::expr("NULL".into(), vec![], Fallback::Auto)
            },
            Value::Bool(b) => Term {
                bool_literal: true,
                ..Term::expr(if *b { "1" } else { "0" }.into(), vec![], Fallback::Auto)
            },
            other => Term::expr("?".into(), vec![(other.clone(), true)], Fallback::Auto),
        }
    }

    /// The value of a multi-match subquery row (`alias.v`).
    fn item(alias: &str, fallback: Fallback) -> Term {
        Term::expr(format!("{alias}.v"), vec![], fallback)
    }

    fn values(&self) -> impl Iterator<Item = &Value> {
        self.params
            .iter()
            .filter(|(_, value)| *value)
            .map(|(v, _)| v)
    }

    fn has_empty_param(&self) -> bool {
        self.values().any(Value::is_empty)
    }

    /// Known to be NULL or empty text.
    fn is_empty(&self) -> bool {
        self.empty_literal
            || (self.fallback == Fallback::Auto
                && self.values().count() == 1
                && self.has_empty_param())
    }

    /// Known to hold something other than NULL or empty text.
    fn is_known(&self) -> bool {
        self.fallback != Fallback::Enforced
            && (self.bool_literal
                || (self.values().next().is_some()
                    && !self.has_empty_param()
                    && !self.empty_literal))
    }

    /// The same operand as the other side of a multi-match check sees it.
    fn auto(&self) -> Term {
        Term {
            fallback: Fallback::Auto,
            ..self.clone()
        }
    }
}

/// What a join was registered for; the same key under the same parent is the same join.
#[derive(Debug, Clone, PartialEq)]
enum JoinKey {
    Hop { link: Link, table: String },
    Each { column: String },
}

#[derive(Debug, Clone)]
struct JoinNode {
    parent: Option<usize>,
    key: JoinKey,
    alias: String,
    /// The json_each alias of back-relation lists.
    each: Option<String>,
    cond: Option<Box<Cond>>,
}

/// The LEFT JOINs one condition reads its related rows through. As in PocketBase, every
/// mention of the same path (or `@collection` alias) reads the same joined row, and a row with
/// nothing to join still gets one row of NULLs.
struct Joins {
    root: String,
    nodes: Vec<JoinNode>,
    /// Whether hops' conditions (the related collections' rules) apply.
    with_conds: bool,
}

/// `json_each` over a column, a value that is not a JSON array counting as a one-item array.
fn each_source(col: &str) -> String {
    format!(
        "json_each(CASE WHEN iif(json_valid({col}), json_type({col}) = 'array', FALSE) THEN {col} ELSE json_array({col}) END)"
    )
}

/// The number of items of a JSON array column (a non-array non-empty value counts as one).
fn array_length(col: &str) -> String {
    format!(
        "json_array_length(CASE WHEN iif(json_valid({col}), json_type({col}) = 'array', FALSE) THEN {col} ELSE (CASE WHEN {col} = '' OR {col} IS NULL THEN json_array() ELSE json_array({col}) END) END)"
    )
}

impl Joins {
    fn new(root: &str, with_conds: bool) -> Self {
        Joins {
            root: root.to_string(),
            nodes: vec![],
            with_conds,
        }
    }

    fn find(&self, parent: Option<usize>, key: &JoinKey) -> Option<usize> {
        self.nodes
            .iter()
            .position(|n| n.parent == parent && &n.key == key)
    }

    fn ensure(
        &mut self,
        sql: &mut Sql,
        parent: Option<usize>,
        key: JoinKey,
        cond: Option<Box<Cond>>,
    ) -> usize {
        if let Some(i) = self.find(parent, &key) {
            return i;
        }
        let list = matches!(
            key,
            JoinKey::Hop {
                link: Link::Back { list: true, .. },
                ..
            }
        );
        let (alias, each) = match key {
            JoinKey::Each { .. } => (sql.alias("_e"), None),
            _ => (sql.alias("_t"), list.then(|| sql.alias("_e"))),
        };
        self.nodes.push(JoinNode {
            parent,
            key,
            alias,
            each,
            cond: if self.with_conds { cond } else { None },
        });
        self.nodes.len() - 1
    }

    /// Registers the joins `path` reads through; returns the alias its leaf is read from.
    fn register(&mut self, sql: &mut Sql, path: &Path) -> String {
        let mut parent = None;
        for hop in &path.hops {
            if let Link::Forward { column, list: true } = &hop.link {
                // The items of a relation list are the same join as `column:each`.
                let key = JoinKey::Each {
                    column: column.clone(),
                };
                parent = Some(self.ensure(sql, parent, key, None));
            }
            let key = JoinKey::Hop {
                link: hop.link.clone(),
                table: hop.table.clone(),
            };
            parent = Some(self.ensure(sql, parent, key, hop.cond.clone()));
        }
        if let Leaf::Each(column) = &path.leaf {
            let key = JoinKey::Each {
                column: column.clone(),
            };
            let node = self.ensure(sql, parent, key, None);
            return self.nodes[node].alias.clone();
        }
        self.alias_of(parent)
    }

    fn alias_of(&self, node: Option<usize>) -> String {
        node.map_or_else(|| self.root.clone(), |i| self.nodes[i].alias.clone())
    }

    /// `(SELECT 1) _x LEFT JOIN ...`: one row per combination of joined rows (at least one).
    fn render_from(&self, sql: &mut Sql) -> Result<String, StoreError> {
        let mut out = format!("(SELECT 1) {}", sql.alias("_x"));
        for n in &self.nodes {
            let p = self.alias_of(n.parent);
            let a = &n.alias;
            match &n.key {
                JoinKey::Each { column } => {
                    let col = format!("{p}.{}", quote(column)?);
                    out.push_str(&format!(" LEFT JOIN {} {a}", each_source(&col)));
                }
                JoinKey::Hop { link, table } => {
                    let t = quote(table)?;
                    let e = n.each.as_deref().unwrap_or("_e");
                    match link {
                        Link::Forward {
                            column,
                            list: false,
                        } => out.push_str(&format!(
                            " LEFT JOIN {t} {a} ON {a}.\"id\" = {p}.{}",
                            quote(column)?
                        )),
                        // The parent is the json_each join of the list.
                        Link::Forward { list: true, .. } => {
                            out.push_str(&format!(" LEFT JOIN {t} {a} ON {a}.\"id\" = {p}.value"))
                        }
                        Link::Back {
                            column,
                            list: false,
                        } => out.push_str(&format!(
                            " LEFT JOIN {t} {a} ON {a}.{} = {p}.\"id\"",
                            quote(column)?
                        )),
                        Link::Back { column, list: true } => {
                            let col = format!("{a}.{}", quote(column)?);
                            out.push_str(&format!(
                                " LEFT JOIN {t} {a} ON {p}.\"id\" IN (SELECT {e}.value FROM {} {e})",
                                each_source(&col)
                            ));
                        }
                        Link::All { .. } => out.push_str(&format!(" LEFT JOIN {t} {a}")),
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Calls `f` on every path an operand reads.
fn operand_paths<'a>(o: &'a Operand, f: &mut dyn FnMut(&'a Path)) {
    match o {
        Operand::Value(_) => {}
        Operand::Path(p) => f(p),
        Operand::Lower(inner) => operand_paths(inner, f),
        Operand::Strftime(args) => args.iter().for_each(|a| operand_paths(a, f)),
        Operand::GeoDistance(args) => args.iter().for_each(|a| operand_paths(a, f)),
    }
}

/// Calls `f` on every path a condition reads (not those of hops' own conditions).
fn cond_paths<'a>(c: &'a Cond, f: &mut dyn FnMut(&'a Path)) {
    match c {
        Cond::True | Cond::False | Cond::IdIn(_) => {}
        Cond::And(items) | Cond::Or(items) => items.iter().for_each(|i| cond_paths(i, f)),
        Cond::Not(inner) => cond_paths(inner, f),
        Cond::Cmp { left, right, .. } => {
            operand_paths(left, f);
            operand_paths(right, f);
        }
    }
}

/// The path of `path = 'non-empty value'` (either side) when every hop is a single-valued
/// forward relation and the leaf a plain column: a comparison a missing related row fails.
fn semi_join_path(c: &Cond) -> Option<&Path> {
    let Cond::Cmp {
        left,
        op: CmpOp::Eq,
        right,
        ..
    } = c
    else {
        return None;
    };
    let (path, value) = match (left, right) {
        (Operand::Path(p), Operand::Value(v)) | (Operand::Value(v), Operand::Path(p)) => (p, v),
        _ => return None,
    };
    let single_forward =
        |h: &crate::query::Hop| !h.multi && matches!(h.link, Link::Forward { list: false, .. });
    (!value.is_empty()
        && !path.hops.is_empty()
        && path.hops.iter().all(single_forward)
        && matches!(path.leaf, Leaf::Column(_)))
    .then_some(path)
}

fn needs_joins(c: &Cond) -> bool {
    let mut any = false;
    cond_paths(c, &mut |p| {
        any |= !p.hops.is_empty() || matches!(p.leaf, Leaf::Each(_));
    });
    any
}

/// The path an all-of check ranges over, if the operand is multi-valued (`geoDistance()` never
/// is: it matches when any combination does).
fn multi_path(o: &Operand) -> Option<&Path> {
    match o {
        Operand::Path(p) if p.is_multi() => Some(p),
        Operand::Lower(inner) => multi_path(inner),
        Operand::Strftime(args) => args.iter().find_map(multi_path),
        _ => None,
    }
}

impl Sql {
    fn bind(&mut self, v: Value) {
        self.text.push('?');
        self.params.push(v);
    }

    fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    /// Writes a rendered operand.
    fn put(&mut self, t: &Term) {
        self.text.push_str(&t.sql);
        self.params.extend(t.params.iter().map(|(v, _)| v.clone()));
    }

    /// A leaf of the row at `alias`, as SQL.
    fn leaf_term(&mut self, alias: &str, leaf: &Leaf) -> Result<Term, StoreError> {
        Ok(match leaf {
            Leaf::Column(c) => Term::expr(format!("{alias}.{}", quote(c)?), vec![], Fallback::Auto),
            Leaf::JsonPath(c, keys) => {
                let col = format!("{alias}.{}", quote(c)?);
                let mut wrapped = vec!["pb".to_string()];
                wrapped.extend(keys.iter().cloned());
                Term::expr(
                    format!("(CASE WHEN json_valid({col}) THEN json_extract({col}, ?) ELSE json_extract(json_object('pb', {col}), ?) END)"),
                    vec![
                        (Value::Text(json_path(keys)), false),
                        (Value::Text(json_path(&wrapped)), false),
                    ],
                    Fallback::Disabled,
                )
            }
            Leaf::Length(c) => Term::expr(
                array_length(&format!("{alias}.{}", quote(c)?)),
                vec![],
                Fallback::Auto,
            ),
            // `alias` is the json_each join of the items.
            Leaf::Each(_) => Term::expr(format!("{alias}.value"), vec![], Fallback::Auto),
        })
    }

    /// Renders an operand reading its paths through `joins` (which must have them registered).
    fn term(&mut self, o: &Operand, joins: &mut Joins) -> Result<Term, StoreError> {
        Ok(match o {
            Operand::Value(v) => Term::value(v),
            Operand::Path(p) => {
                let alias = joins.register(self, p);
                self.leaf_term(&alias, &p.leaf)?
            }
            Operand::Lower(inner) => {
                let t = self.term(inner, joins)?;
                Term {
                    sql: format!("LOWER({})", t.sql),
                    empty_literal: false,
                    bool_literal: false,
                    ..t
                }
            }
            Operand::Strftime(args) => {
                let mut sqls = vec![];
                let mut params = vec![];
                for a in args {
                    let t = self.term(a, joins)?;
                    sqls.push(t.sql);
                    params.extend(t.params);
                }
                Term::expr(
                    format!("strftime({})", sqls.join(", ")),
                    params,
                    Fallback::Enforced,
                )
            }
            Operand::GeoDistance(args) => {
                let [lon_a, lat_a, lon_b, lat_b] = &**args;
                let lon_a = self.term(lon_a, joins)?;
                let lat_a = self.term(lat_a, joins)?;
                let lon_b = self.term(lon_b, joins)?;
                let lat_b = self.term(lat_b, joins)?;
                // Written in the order the parameters are bound.
                let parts = [
                    ("(6371 * acos(cos(radians(", &lat_a),
                    (")) * cos(radians(", &lat_b),
                    (")) * cos(radians(", &lon_b),
                    (") - radians(", &lon_a),
                    (")) + sin(radians(", &lat_a),
                    (")) * sin(radians(", &lat_b),
                ];
                let mut sql = String::new();
                let mut params = vec![];
                for (text, t) in parts {
                    sql.push_str(text);
                    sql.push_str(&t.sql);
                    params.extend(t.params.iter().cloned());
                }
                sql.push_str("))))");
                Term::expr(sql, params, Fallback::Disabled)
            }
        })
    }

    /// Renders a condition on the row at `root`. Conditions reading related rows are evaluated
    /// as PocketBase does: over the LEFT JOINs of every relation they mention (one shared join
    /// per path), true when some combination of joined rows makes them true; a comparison
    /// without `?` on a multi-valued operand must also hold for every one of its items.
    pub fn cond(&mut self, root: &str, c: &Cond) -> Result<(), StoreError> {
        // Most conditions (a view by id, a rule on the record's own fields) reach no other
        // table: what follows would sort their parts into four lists to find that out.
        if !needs_joins(c) {
            return self.expr(c, &mut Joins::new(root, false));
        }
        let items: Vec<&Cond> = match c {
            Cond::And(items) => items.iter().collect(),
            other => vec![other],
        };
        let (joined, plain): (Vec<&Cond>, Vec<&Cond>) =
            items.into_iter().partition(|c| needs_joins(c));
        // Equality through single-valued forward relations reads at most one related row per
        // record, so `col IN (SELECT id FROM related WHERE ...)` answers exactly as the LEFT
        // JOIN form does, and SQLite runs it once instead of once per record.
        let (semi, joined): (Vec<&Cond>, Vec<&Cond>) = joined
            .into_iter()
            .partition(|c| semi_join_path(c).is_some());
        if !semi.is_empty() {
            self.text.push('(');
            for (i, item) in semi.iter().enumerate() {
                if i > 0 {
                    self.text.push_str(" AND ");
                }
                self.semi_join(root, item)?;
            }
            if plain.is_empty() && joined.is_empty() {
                self.text.push(')');
                return Ok(());
            }
            self.text.push_str(" AND ");
            let rest: Vec<Cond> = plain
                .iter()
                .chain(joined.iter())
                .map(|c| (*c).clone())
                .collect();
            self.cond(root, &Cond::And(rest))?;
            self.text.push(')');
            return Ok(());
        }
        if joined.is_empty() {
            let mut none = Joins::new(root, false);
            return self.expr(c, &mut none);
        }
        self.text.push('(');
        for item in &plain {
            let mut none = Joins::new(root, false);
            self.expr(item, &mut none)?;
            self.text.push_str(" AND ");
        }
        let mut joins = Joins::new(root, true);
        for item in &joined {
            cond_paths(item, &mut |p| {
                joins.register(self, p);
            });
        }
        let from = joins.render_from(self)?;
        self.text
            .push_str(&format!("EXISTS (SELECT 1 FROM {from} WHERE "));
        for (i, item) in joined.iter().enumerate() {
            if i > 0 {
                self.text.push_str(" AND ");
            }
            self.expr(item, &mut joins)?;
        }
        // The related collections' rules hold for every row joined (PocketBase adds them once
        // per join, next to the whole condition); a missing related row passes.
        let guarded: Vec<(String, Box<Cond>)> = joins
            .nodes
            .iter()
            .filter_map(|n| n.cond.clone().map(|c| (n.alias.clone(), c)))
            .collect();
        for (alias, rule) in guarded {
            self.text.push_str(&format!(
                " AND ({alias}.\"id\" = '' OR {alias}.\"id\" IS NULL OR "
            ));
            self.cond(&alias, &rule)?;
            self.text.push(')');
        }
        self.text.push_str("))");
        Ok(())
    }

    /// `root.col IN (SELECT t."id" FROM related t WHERE [rule AND] ...)`, nested per hop, ending
    /// with the comparison on the last related row (see [`semi_join_path`]).
    fn semi_join(&mut self, root: &str, c: &Cond) -> Result<(), StoreError> {
        let (
            Some(path),
            Cond::Cmp {
                left,
                op,
                right,
                any,
            },
        ) = (semi_join_path(c), c)
        else {
            return Err(StoreError::Other("not a semi-join comparison".into()));
        };
        let mut parent = root.to_string();
        for hop in &path.hops {
            let Link::Forward { column, .. } = &hop.link else {
                return Err(StoreError::Other("not a forward relation".into()));
            };
            let alias = self.alias("_s");
            self.text.push_str(&format!(
                "{parent}.{} IN (SELECT {alias}.\"id\" FROM {} {alias} WHERE ",
                quote(column)?,
                quote(&hop.table)?
            ));
            if let Some(rule) = hop.cond.as_deref().filter(|r| !matches!(r, Cond::True)) {
                self.text.push('(');
                self.cond(&alias, rule)?;
                self.text.push_str(") AND ");
            }
            parent = alias;
        }
        let here = |o: &Operand| match o {
            Operand::Path(p) => Operand::Path(Path {
                hops: vec![],
                leaf: p.leaf.clone(),
            }),
            other => other.clone(),
        };
        let last = Cond::Cmp {
            left: here(left),
            op: *op,
            right: here(right),
            any: *any,
        };
        self.cond(&parent, &last)?;
        for _ in &path.hops {
            self.text.push(')');
        }
        Ok(())
    }

    /// A condition whose paths read through `joins`.
    fn expr(&mut self, c: &Cond, joins: &mut Joins) -> Result<(), StoreError> {
        match c {
            Cond::True => self.text.push('1'),
            Cond::False => self.text.push('0'),
            Cond::And(items) | Cond::Or(items) => {
                if items.is_empty() {
                    self.text
                        .push_str(if matches!(c, Cond::And(_)) { "1" } else { "0" });
                    return Ok(());
                }
                let sep = if matches!(c, Cond::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                self.text.push('(');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(sep);
                    }
                    self.expr(item, joins)?;
                }
                self.text.push(')');
            }
            Cond::Not(inner) => {
                self.text.push_str("NOT (");
                self.expr(inner, joins)?;
                self.text.push(')');
            }
            Cond::Cmp {
                left,
                op,
                right,
                any,
            } => self.comparison(left, *op, right, *any, joins)?,
            Cond::IdIn(ids) => {
                if ids.is_empty() {
                    self.text.push('0');
                    return Ok(());
                }
                self.text.push_str(&joins.root);
                self.text.push_str(".\"id\" IN (");
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        self.text.push_str(", ");
                    }
                    self.bind(Value::Text(id.clone()));
                }
                self.text.push(')');
            }
        }
        Ok(())
    }

    fn comparison(
        &mut self,
        left: &Operand,
        op: CmpOp,
        right: &Operand,
        any: bool,
        joins: &mut Joins,
    ) -> Result<(), StoreError> {
        let l = self.term(left, joins)?;
        let r = self.term(right, joins)?;
        let (lm, rm) = if any {
            (None, None)
        } else {
            (multi_path(left), multi_path(right))
        };
        if lm.is_none() && rm.is_none() {
            return self.simple_cmp(&l, op, &r);
        }
        self.text.push('(');
        self.simple_cmp(&l, op, &r)?;
        self.text.push_str(" AND NOT EXISTS (SELECT 1 FROM ");
        let root = joins.root.clone();
        // Every item of the multi-valued side(s), each read through joins of its own.
        let side = |sql: &mut Sql, o: &Operand| -> Result<String, StoreError> {
            let mut own = Joins::new(&root, false);
            let t = sql.term(o, &mut own)?;
            let from = own.render_from(sql)?;
            let alias = sql.alias("_m");
            sql.text.push_str("(SELECT ");
            sql.put(&t);
            sql.text.push_str(&format!(" AS v FROM {from}) {alias}"));
            Ok(alias)
        };
        let (li, ri) = match (lm, rm) {
            (Some(_), Some(_)) => {
                let la = side(self, left)?;
                self.text.push_str(" LEFT JOIN ");
                let ra = side(self, right)?;
                (Term::item(&la, l.fallback), Term::item(&ra, r.fallback))
            }
            (Some(_), None) => {
                let la = side(self, left)?;
                (Term::item(&la, l.fallback), r.auto())
            }
            _ => {
                let ra = side(self, right)?;
                (l.auto(), Term::item(&ra, r.fallback))
            }
        };
        self.text.push_str(" WHERE NOT (");
        self.simple_cmp(&li, op, &ri)?;
        self.text.push_str(")))");
        Ok(())
    }

    /// One comparison of two rendered operands, with PocketBase's empty-versus-NULL rules.
    fn simple_cmp(&mut self, l: &Term, op: CmpOp, r: &Term) -> Result<(), StoreError> {
        let empty = Term::expr("''".into(), vec![], Fallback::Auto);
        match op {
            CmpOp::Eq | CmpOp::Neq => {
                let eq = op == CmpOp::Eq;
                let (op_sql, concat, null_sql) = if eq {
                    (" = ", " OR ", " IS NULL")
                } else {
                    (" IS NOT ", " AND ", " IS NOT NULL")
                };
                if l.fallback == Fallback::Disabled || r.fallback == Fallback::Disabled {
                    self.put(l);
                    self.text.push_str(if eq { " IS " } else { " IS NOT " });
                    self.put(r);
                    return Ok(());
                }
                let (le, re) = (l.is_empty(), r.is_empty());
                if le && re {
                    self.text.push_str(if eq { "1" } else { "0" });
                } else if l.is_known() || r.is_known() {
                    self.put(if le { &empty } else { l });
                    self.text.push_str(op_sql);
                    self.put(if re { &empty } else { r });
                } else if le || re {
                    let o = if le { r } else { l };
                    self.text.push('(');
                    if le {
                        self.text.push_str("''");
                        self.text.push_str(op_sql);
                        self.put(o);
                    } else {
                        self.put(o);
                        self.text.push_str(op_sql);
                        self.text.push_str("''");
                    }
                    self.text.push_str(concat);
                    self.put(o);
                    self.text.push_str(null_sql);
                    self.text.push(')');
                } else {
                    self.text.push_str("COALESCE(");
                    self.put(l);
                    self.text.push_str(", '')");
                    self.text.push_str(op_sql);
                    self.text.push_str("COALESCE(");
                    self.put(r);
                    self.text.push_str(", '')");
                }
            }
            CmpOp::Gt | CmpOp::Gte | CmpOp::Lt | CmpOp::Lte => {
                let sym = match op {
                    CmpOp::Gt => " > ",
                    CmpOp::Gte => " >= ",
                    CmpOp::Lt => " < ",
                    _ => " <= ",
                };
                self.put(l);
                self.text.push_str(sym);
                self.put(r);
            }
            CmpOp::Like | CmpOp::NotLike => {
                self.put(l);
                self.text.push_str(if op == CmpOp::Like {
                    " LIKE "
                } else {
                    " NOT LIKE "
                });
                if r.values().next().is_none() {
                    // Another column (or a literal): "contains".
                    self.text.push_str("('%' || ");
                    self.put(r);
                    self.text.push_str(" || '%')");
                } else {
                    self.text.push_str(&r.sql);
                    self.params.extend(r.params.iter().map(|(v, value)| {
                        if *value {
                            like_pattern(v)
                        } else {
                            v.clone()
                        }
                    }));
                }
                self.text.push_str(" ESCAPE '\\'");
            }
        }
        Ok(())
    }

    /// A path as one value for sorting: through relations to the first related row (in stored
    /// order), the first item of a list.
    fn scalar_path(&mut self, alias: &str, path: &Path) -> Result<(), StoreError> {
        let Some((hop, rest)) = path.hops.split_first() else {
            if let Leaf::Each(c) = &path.leaf {
                let e = self.alias("_e");
                let col = format!("{alias}.{}", quote(c)?);
                self.text.push_str(&format!(
                    "(SELECT {e}.value FROM {} {e} LIMIT 1)",
                    each_source(&col)
                ));
                return Ok(());
            }
            let t = self.leaf_term(alias, &path.leaf)?;
            self.put(&t);
            return Ok(());
        };
        let t = self.alias("_t");
        let e = self.alias("_e");
        let table = quote(&hop.table)?;
        self.text.push_str("(SELECT ");
        self.scalar_path(
            &t,
            &Path {
                hops: rest.to_vec(),
                leaf: path.leaf.clone(),
            },
        )?;
        let from = match &hop.link {
            Link::Forward {
                column,
                list: false,
            } => format!(
                " FROM {table} {t} WHERE {t}.\"id\" = {alias}.{}",
                quote(column)?
            ),
            Link::Forward { column, list: true } => format!(
                " FROM {} {e} JOIN {table} {t} ON {t}.\"id\" = {e}.value WHERE 1",
                each_source(&format!("{alias}.{}", quote(column)?))
            ),
            Link::Back {
                column,
                list: false,
            } => format!(
                " FROM {table} {t} WHERE {t}.{} = {alias}.\"id\"",
                quote(column)?
            ),
            Link::Back { column, list: true } => format!(
                " FROM {table} {t} WHERE {alias}.\"id\" IN (SELECT {e}.value FROM {} {e})",
                each_source(&format!("{t}.{}", quote(column)?))
            ),
            Link::All { .. } => format!(" FROM {table} {t} WHERE 1"),
        };
        self.text.push_str(&from);
        if let Some(c) = &hop.cond {
            self.text.push_str(" AND ");
            self.cond(&t, c)?;
        }
        self.text.push_str(" LIMIT 1)");
        Ok(())
    }

    /// The rows `q` asks for; with `from = (rowid, offset)` the same page found by starting at
    /// that rowid (inclusive, in the query's rowid order) and skipping `offset` rows from there.
    pub fn select_from(&mut self, q: &Select, from: Option<(i64, u64)>) -> Result<(), StoreError> {
        self.text.push_str("SELECT ");
        push_columns(
            &mut self.text,
            q.columns.iter().map(|(c, _)| c.as_str()),
            "_r.",
            "",
        )?;
        self.text.push_str(" FROM ");
        push_quoted(&mut self.text, &q.table)?;
        self.text.push_str(" _r WHERE (");
        self.cond("_r", &q.filter)?;
        self.text.push(')');
        let mut offset = q.offset;
        if let Some((rowid, rest)) = from {
            let desc = matches!(q.sort.as_slice(), [SortKey::RowId { desc: true }]);
            self.text.push_str(if desc {
                " AND _r.rowid <= "
            } else {
                " AND _r.rowid >= "
            });
            self.bind(Value::Int(rowid));
            offset = rest;
        }
        self.order(&q.sort)?;
        if let Some(limit) = q.limit {
            self.text.push_str(" LIMIT ");
            self.bind(Value::Int(limit as i64));
            self.text.push_str(" OFFSET ");
            self.bind(Value::Int(offset as i64));
        }
        Ok(())
    }

    /// The rowids of the rows matching `filter`, in rowid order.
    pub fn rowids(&mut self, table: &str, filter: &Cond, desc: bool) -> Result<(), StoreError> {
        self.text.push_str(&format!(
            "SELECT _r.rowid FROM {} _r WHERE (",
            quote(table)?
        ));
        self.cond("_r", filter)?;
        self.text.push_str(if desc {
            ") ORDER BY _r.rowid DESC"
        } else {
            ") ORDER BY _r.rowid ASC"
        });
        Ok(())
    }

    pub fn delete_where(&mut self, table: &str, filter: &Cond) -> Result<(), StoreError> {
        self.text
            .push_str(&format!("DELETE FROM {} AS _r WHERE ", quote(table)?));
        self.cond("_r", filter)
    }

    pub fn count(&mut self, table: &str, filter: &Cond) -> Result<(), StoreError> {
        self.text
            .push_str(&format!("SELECT COUNT(*) FROM {} _r WHERE ", quote(table)?));
        self.cond("_r", filter)
    }

    /// `SELECT 1 FROM (SELECT ? AS "a", ? AS "b") _r WHERE cond`: a condition checked against a
    /// row that is not (or no longer) in its table, such as a deleted record.
    pub fn row_matches(
        &mut self,
        row: &[(String, Value)],
        filter: &Cond,
    ) -> Result<(), StoreError> {
        self.text.push_str("SELECT 1 FROM (SELECT ");
        for (i, (name, v)) in row.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(v.clone());
            self.text.push_str(&format!(" AS {}", quote(name)?));
        }
        self.text.push_str(") _r WHERE ");
        self.cond("_r", filter)?;
        self.text.push_str(" LIMIT 1");
        Ok(())
    }

    /// A sort key: paths through relations or lists sort by their first value.
    fn sort_operand(&mut self, o: &Operand) -> Result<(), StoreError> {
        match o {
            Operand::Path(p) => self.scalar_path("_r", p),
            Operand::Lower(inner) => {
                self.text.push_str("LOWER(");
                self.sort_operand(inner)?;
                self.text.push(')');
                Ok(())
            }
            other => {
                let mut none = Joins::new("_r", false);
                let t = self.term(other, &mut none)?;
                self.put(&t);
                Ok(())
            }
        }
    }

    fn order(&mut self, sort: &[SortKey]) -> Result<(), StoreError> {
        for (i, key) in sort.iter().enumerate() {
            self.text.push_str(if i == 0 { " ORDER BY " } else { ", " });
            match key {
                SortKey::Random => self.text.push_str("RANDOM()"),
                SortKey::RowId { desc } => self.text.push_str(if *desc {
                    "_r.rowid DESC"
                } else {
                    "_r.rowid ASC"
                }),
                SortKey::By { operand, desc } => {
                    self.sort_operand(operand)?;
                    self.text.push_str(if *desc { " DESC" } else { " ASC" });
                }
            }
        }
        Ok(())
    }
}

/// Whether `s` has a `ch` not preceded by a backslash.
fn contains_unescaped(s: &str, ch: char) -> bool {
    let mut prev = None;
    for c in s.chars() {
        if c == ch && prev != Some('\\') {
            return true;
        }
        prev = Some(c);
    }
    false
}

/// Puts a backslash before each of `chars` that has none yet (a backslash before one of them
/// counts as its escape).
fn escape_unescaped(s: &str, chars: &[char]) -> String {
    let rs: Vec<char> = s.chars().collect();
    let mut out = Vec::with_capacity(rs.len() * 2);
    let mut pending = false;
    for i in (0..rs.len()).rev() {
        if pending {
            if rs[i] != '\\' {
                out.push('\\');
            }
            pending = false;
        } else {
            pending = chars.contains(&rs[i]);
        }
        out.push(rs[i]);
        if i == 0 && pending {
            out.push('\\');
        }
    }
    out.into_iter().rev().collect()
}

/// PocketBase's `~`: text without its own unescaped `%` matches anywhere (its other wildcards
/// escaped); text with one is a pattern as given. `~ null` matches nothing.
fn like_pattern(v: &Value) -> Value {
    let s = match v {
        Value::Null => return Value::Null,
        Value::Bool(b) => (if *b { "1" } else { "0" }).to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(s) => s.clone(),
    };
    if contains_unescaped(&s, '%') {
        Value::Text(s)
    } else {
        Value::Text(format!("%{}%", escape_unescaped(&s, &['\\', '%', '_'])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_paths_are_quoted() {
        assert_eq!(
            json_path(&["a".into(), "0".into(), "b\"c".into()]),
            "$.\"a\"[0].\"b\\\"c\""
        );
    }

    #[test]
    fn like_patterns() {
        let t = |s: &str| Value::Text(s.to_string());
        for (input, want) in [
            ("a_b", "%a\\_b%"),
            ("ab%", "ab%"),
            ("\\%", "%\\%%"),
            ("a\\_b", "%a\\_b%"),
            ("back\\slash", "%back\\\\slash%"),
            ("_", "%\\_%"),
        ] {
            assert_eq!(like_pattern(&t(input)), t(want), "{input}");
        }
        assert_eq!(like_pattern(&Value::Null), Value::Null);
    }

    #[test]
    fn identifiers_are_refused_when_unsafe() {
        assert!(quote("posts").is_ok());
        assert!(quote("posts\"; DROP").is_err());
        assert!(quote("1abc").is_err());
    }
}
