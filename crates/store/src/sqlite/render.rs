//! Renders dialect-neutral queries into SQLite SQL. Every value becomes a bound parameter; every
//! identifier has passed [`valid_identifier`] and is double-quoted.

use crate::error::StoreError;
use crate::query::{CmpOp, Cond, Leaf, Operand, Path, Select, SortKey, Value};
use crate::schema::valid_identifier;

/// SQL text under construction with its positional parameters.
#[derive(Default)]
pub(crate) struct Sql {
    pub text: String,
    pub params: Vec<Value>,
    aliases: usize,
}

pub(crate) fn quote(name: &str) -> Result<String, StoreError> {
    if valid_identifier(name) {
        Ok(format!("\"{name}\""))
    } else {
        Err(StoreError::InvalidIdentifier(name.to_string()))
    }
}

/// The FROM items and join conditions a multi-valued path needs, plus its leaf expression.
struct Chain {
    from: Vec<String>,
    /// Join conditions with their parameters, in the order they are written.
    conds: Vec<(String, Vec<Value>)>,
    leaf: String,
    leaf_params: Vec<Value>,
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

/// A JSON array column made safe for json_each: non-JSON text counts as an empty array.
fn as_array(col: &str) -> String {
    format!("(CASE WHEN json_valid({col}) AND json_type({col}) = 'array' THEN {col} ELSE '[]' END)")
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

    /// Renders a leaf of `alias` into an expression; `Each` only inside a chain.
    fn leaf_expr(&mut self, alias: &str, leaf: &Leaf) -> Result<(String, Vec<Value>), StoreError> {
        Ok(match leaf {
            Leaf::Column(c) => (format!("{alias}.{}", quote(c)?), vec![]),
            Leaf::JsonPath(c, keys) => (
                format!("json_extract({alias}.{}, ?)", quote(c)?),
                vec![Value::Text(json_path(keys))],
            ),
            Leaf::Length(c) => (
                format!(
                    "json_array_length({})",
                    as_array(&format!("{alias}.{}", quote(c)?))
                ),
                vec![],
            ),
            Leaf::Each(c) => (format!("{alias}.{}", quote(c)?), vec![]),
        })
    }

    /// A single-valued path as a scalar expression (nested subqueries through relations).
    fn scalar_path(&mut self, alias: &str, path: &Path) -> Result<(), StoreError> {
        match path.hops.split_first() {
            None => {
                let (e, params) = self.leaf_expr(alias, &path.leaf)?;
                self.push_with_params(&e, params);
            }
            Some((hop, rest)) => {
                let t = self.alias("_t");
                self.text.push_str("(SELECT ");
                self.scalar_path(
                    &t,
                    &Path {
                        hops: rest.to_vec(),
                        leaf: path.leaf.clone(),
                    },
                )?;
                let join = match &hop.column {
                    Some(c) => format!("{t}.\"id\" = {alias}.{}", quote(c)?),
                    None => "1".to_string(),
                };
                self.text
                    .push_str(&format!(" FROM {} {t} WHERE {join}", quote(&hop.table)?));
                if let Some(c) = &hop.cond {
                    self.text.push_str(" AND ");
                    self.cond(&t, c)?;
                }
                self.text.push_str(" LIMIT 1)");
            }
        }
        Ok(())
    }

    /// Renders a condition on its own, sharing this query's alias numbering.
    fn fragment(&mut self, root: &str, c: &Cond) -> Result<(String, Vec<Value>), StoreError> {
        let mut sub = Sql {
            aliases: self.aliases,
            ..Sql::default()
        };
        sub.cond(root, c)?;
        self.aliases = sub.aliases;
        Ok((sub.text, sub.params))
    }

    /// Splices an expression containing `?` placeholders with their parameters.
    fn push_with_params(&mut self, expr: &str, params: Vec<Value>) {
        self.text.push_str(expr);
        self.params.extend(params);
    }

    /// A multi-valued path as FROM items, join conditions and a leaf expression (whose
    /// parameters are bound wherever the leaf is written).
    fn chain(&mut self, root: &str, path: &Path) -> Result<Chain, StoreError> {
        let mut leaf_params = vec![];
        let mut from = vec![];
        let mut conds = vec![];
        let mut prev = root.to_string();
        for hop in &path.hops {
            let t = self.alias("_t");
            let Some(column) = &hop.column else {
                from.push(format!("{} {t}", quote(&hop.table)?));
                if let Some(c) = &hop.cond {
                    conds.push(self.fragment(&t, c)?);
                }
                prev = t;
                continue;
            };
            let col = format!("{prev}.{}", quote(column)?);
            if hop.multi {
                let j = self.alias("_j");
                from.push(format!("json_each({}) {j}", as_array(&col)));
                from.push(format!("{} {t}", quote(&hop.table)?));
                conds.push((format!("{t}.\"id\" = {j}.value"), vec![]));
            } else {
                from.push(format!("{} {t}", quote(&hop.table)?));
                conds.push((format!("{t}.\"id\" = {col}"), vec![]));
            }
            if let Some(c) = &hop.cond {
                conds.push(self.fragment(&t, c)?);
            }
            prev = t;
        }
        let leaf = match &path.leaf {
            Leaf::Each(c) => {
                let j = self.alias("_j");
                from.push(format!(
                    "json_each({}) {j}",
                    as_array(&format!("{prev}.{}", quote(c)?))
                ));
                format!("{j}.value")
            }
            other => {
                let (e, params) = self.leaf_expr(&prev, other)?;
                leaf_params.extend(params);
                e
            }
        };
        Ok(Chain {
            from,
            conds,
            leaf,
            leaf_params,
        })
    }

    pub fn cond(&mut self, root: &str, c: &Cond) -> Result<(), StoreError> {
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
                    self.cond(root, item)?;
                }
                self.text.push(')');
            }
            Cond::Not(inner) => {
                self.text.push_str("NOT (");
                self.cond(root, inner)?;
                self.text.push(')');
            }
            Cond::Cmp {
                left,
                op,
                right,
                any,
            } => self.comparison(root, left, *op, right, *any)?,
            Cond::IdIn(ids) => {
                if ids.is_empty() {
                    self.text.push('0');
                    return Ok(());
                }
                self.text.push_str(&format!("{root}.\"id\" IN ("));
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
        root: &str,
        left: &Operand,
        op: CmpOp,
        right: &Operand,
        any: bool,
    ) -> Result<(), StoreError> {
        let lm = multi_path(left);
        let rm = multi_path(right);
        if lm.is_none() && rm.is_none() {
            return self.simple_cmp(root, left, op, right, &Substitute::default());
        }
        // Each multi-valued operand ranges over its items, or over one NULL when it has none
        // (the rows PocketBase's LEFT JOINs produce).
        let mut chains: [Option<Chain>; 2] = [None, None];
        for (slot, p) in chains.iter_mut().zip([lm, rm]) {
            if let Some(p) = p {
                *slot = Some(self.chain(root, p)?);
            }
        }
        let [l, r] = &chains;
        let null = || Some(("NULL".to_string(), vec![]));
        let leaf = |c: &Option<Chain>| c.as_ref().map(|c| (c.leaf.clone(), c.leaf_params.clone()));
        let mut cases: Vec<(Vec<&Chain>, Substitute)> = vec![];
        if let (Some(lc), Some(rc)) = (l, r) {
            cases.push((
                vec![lc, rc],
                Substitute {
                    left: leaf(l),
                    right: leaf(r),
                },
            ));
        }
        if let Some(lc) = l {
            cases.push((
                vec![lc],
                Substitute {
                    left: leaf(l),
                    right: r.as_ref().and_then(|_| null()),
                },
            ));
        }
        if let Some(rc) = r {
            cases.push((
                vec![rc],
                Substitute {
                    left: l.as_ref().and_then(|_| null()),
                    right: leaf(r),
                },
            ));
        }
        let nulls = Substitute {
            left: l.as_ref().and_then(|_| null()),
            right: r.as_ref().and_then(|_| null()),
        };
        self.text.push_str("(CASE");
        for (used, subst) in &cases {
            self.text.push_str(" WHEN ");
            for (i, c) in used.iter().enumerate() {
                if i > 0 {
                    self.text.push_str(" AND ");
                }
                self.text.push_str("EXISTS (");
                self.items(&[c])?;
                self.text.push(')');
            }
            self.text.push_str(if any {
                " THEN EXISTS ("
            } else {
                " THEN NOT EXISTS ("
            });
            let has_where = self.items(used)?;
            self.text
                .push_str(if has_where { " AND " } else { " WHERE " });
            if any {
                self.simple_cmp(root, left, op, right, subst)?;
            } else {
                self.text.push_str("NOT IFNULL(");
                self.simple_cmp(root, left, op, right, subst)?;
                self.text.push_str(", 0)");
            }
            self.text.push(')');
        }
        self.text.push_str(" ELSE IFNULL(");
        self.simple_cmp(root, left, op, right, &nulls)?;
        self.text.push_str(", 0) END)");
        Ok(())
    }

    /// `SELECT 1 FROM <items of the chains> [WHERE <their joins>]`; true when a WHERE was written.
    fn items(&mut self, chains: &[&Chain]) -> Result<bool, StoreError> {
        let from: Vec<&str> = chains
            .iter()
            .flat_map(|c| c.from.iter().map(String::as_str))
            .collect();
        self.text
            .push_str(&format!("SELECT 1 FROM {}", from.join(", ")));
        let mut first = true;
        for (text, params) in chains.iter().flat_map(|c| c.conds.iter()) {
            self.text.push_str(if first { " WHERE " } else { " AND " });
            self.push_with_params(text, params.clone());
            first = false;
        }
        Ok(!first)
    }

    fn operand(
        &mut self,
        root: &str,
        o: &Operand,
        slot: Option<&(String, Vec<Value>)>,
    ) -> Result<(), StoreError> {
        match o {
            Operand::Value(v) => self.bind(v.clone()),
            Operand::Path(p) => match slot {
                Some((expr, params)) if p.is_multi() => self.push_with_params(expr, params.clone()),
                _ => self.scalar_path(root, p)?,
            },
            Operand::Lower(inner) => {
                self.text.push_str("LOWER(");
                self.operand(root, inner, slot)?;
                self.text.push(')');
            }
            Operand::Strftime(format, value) => {
                self.text.push_str("strftime(");
                self.operand(root, format, slot)?;
                self.text.push_str(", ");
                self.operand(root, value, slot)?;
                self.text.push(')');
            }
        }
        Ok(())
    }

    fn simple_cmp(
        &mut self,
        root: &str,
        left: &Operand,
        op: CmpOp,
        right: &Operand,
        subst: &Substitute,
    ) -> Result<(), StoreError> {
        let l_empty = matches!(left, Operand::Value(v) if v.is_empty());
        let r_empty = matches!(right, Operand::Value(v) if v.is_empty());
        let l_known = matches!(left, Operand::Value(v) if !v.is_empty());
        let r_known = matches!(right, Operand::Value(v) if !v.is_empty());
        let sl = subst.left.as_ref();
        let sr = subst.right.as_ref();
        match op {
            CmpOp::Eq | CmpOp::Neq if is_json(left) || is_json(right) => {
                // JSON values compare as they are (PocketBase: no '' for missing keys).
                self.operand(root, left, sl)?;
                self.text
                    .push_str(if op == CmpOp::Eq { " IS " } else { " IS NOT " });
                self.operand(root, right, sr)?;
            }
            CmpOp::Eq | CmpOp::Neq => {
                let eq = op == CmpOp::Eq;
                if l_empty && r_empty {
                    self.text.push_str(if eq { "1" } else { "0" });
                } else if l_known || r_known {
                    self.operand(root, left, sl)?;
                    self.text.push_str(if eq { " = " } else { " IS NOT " });
                    self.operand(root, right, sr)?;
                } else if l_empty || r_empty {
                    let (o, s) = if l_empty { (right, sr) } else { (left, sl) };
                    self.text.push('(');
                    self.operand(root, o, s)?;
                    self.text
                        .push_str(if eq { " = '' OR " } else { " != '' AND " });
                    self.operand(root, o, s)?;
                    self.text
                        .push_str(if eq { " IS NULL)" } else { " IS NOT NULL)" });
                } else {
                    self.text.push_str("COALESCE(");
                    self.operand(root, left, sl)?;
                    self.text.push_str(if eq {
                        ", '') = COALESCE("
                    } else {
                        ", '') IS NOT COALESCE("
                    });
                    self.operand(root, right, sr)?;
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
                self.operand(root, left, sl)?;
                self.text.push_str(sym);
                self.operand(root, right, sr)?;
            }
            CmpOp::Like | CmpOp::NotLike => {
                self.operand(root, left, sl)?;
                self.text.push_str(if op == CmpOp::Like {
                    " LIKE "
                } else {
                    " NOT LIKE "
                });
                match right {
                    Operand::Value(v) => self.bind(like_pattern(v)),
                    other => {
                        self.text.push_str("('%' || ");
                        self.operand(root, other, sr)?;
                        self.text.push_str(" || '%')");
                    }
                }
                self.text.push_str(" ESCAPE '\\'");
            }
        }
        Ok(())
    }

    pub fn select(&mut self, q: &Select) -> Result<(), StoreError> {
        let table = quote(&q.table)?;
        let cols = q
            .columns
            .iter()
            .map(|(c, _)| quote(c).map(|c| format!("_r.{c}")))
            .collect::<Result<Vec<_>, _>>()?;
        self.text.push_str(&format!(
            "SELECT {} FROM {table} _r WHERE ",
            cols.join(", ")
        ));
        self.cond("_r", &q.filter)?;
        self.order(&q.sort)?;
        if let Some(limit) = q.limit {
            self.text.push_str(" LIMIT ");
            self.bind(Value::Int(limit as i64));
            self.text.push_str(" OFFSET ");
            self.bind(Value::Int(q.offset as i64));
        }
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
                    self.operand("_r", operand, None)?;
                    self.text.push_str(if *desc { " DESC" } else { " ASC" });
                }
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Substitute {
    left: Option<(String, Vec<Value>)>,
    right: Option<(String, Vec<Value>)>,
}

fn multi_path(o: &Operand) -> Option<&Path> {
    match o {
        Operand::Path(p) if p.is_multi() => Some(p),
        Operand::Lower(inner) => multi_path(inner),
        Operand::Strftime(format, value) => multi_path(format).or_else(|| multi_path(value)),
        _ => None,
    }
}

fn is_json(o: &Operand) -> bool {
    match o {
        Operand::Path(p) => matches!(p.leaf, Leaf::JsonPath(..)),
        Operand::Lower(inner) => is_json(inner),
        Operand::Value(_) | Operand::Strftime(..) => false,
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
