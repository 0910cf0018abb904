//! Renames of collections and fields carried into the rules and indexes that mention them, so
//! that renaming a field does not leave rules pointing at a name that no longer exists.
//!
//! A rule is rewritten by resolving each identifier against the schema as it was before the
//! rename and replacing only the segments that named the renamed collection or field; any
//! other text of the rule (spacing, comments, strings) stays as written.

use std::collections::HashMap;

use motorbase_filter::{self as filter, Comparison, Expr, Ident, Operand};
use motorbase_store::IndexDef;
use serde_json::Value as Json;

use super::field::FieldType;
use super::index::parse_index;
use super::model::Collection;
use super::Schema;

/// The renames one save makes: collection ids to their new names, and (collection id, field
/// id) to the fields' new names.
#[derive(Debug, Default, Clone)]
pub struct Renames {
    collections: HashMap<String, String>,
    fields: HashMap<(String, String), String>,
}

impl Renames {
    /// What changed between the stored and the new definition of one collection.
    pub fn between(old: &Collection, new: &Collection) -> Self {
        let mut r = Renames::default();
        if old.name != new.name {
            r.collections.insert(old.id.clone(), new.name.clone());
        }
        for f in &new.fields {
            if let Some(prev) = old.fields.iter().find(|o| o.id == f.id) {
                if prev.name != f.name {
                    r.fields
                        .insert((old.id.clone(), prev.id.clone()), f.name.clone());
                }
            }
        }
        r
    }

    pub fn is_empty(&self) -> bool {
        self.collections.is_empty() && self.fields.is_empty()
    }

    fn field(&self, c: &Collection, name: &str) -> Option<&String> {
        let f = c.field(name)?;
        self.fields.get(&(c.id.clone(), f.id.clone()))
    }

    /// Rewrites the rules of `c` (resolved against `old_schema`, the schema before the
    /// renames); true when one changed.
    pub fn rewrite_rules(&self, c: &mut Collection, old_schema: &Schema) -> bool {
        let Some(base) = old_schema.get(&c.id) else {
            return false;
        };
        let mut changed = false;
        let mut fix = |rule: &mut Option<String>| {
            if let Some(text) = rule.as_deref() {
                if let Some(new) = self.rewrite(text, &base, old_schema) {
                    *rule = Some(new);
                    changed = true;
                }
            }
        };
        fix(&mut c.list_rule);
        fix(&mut c.view_rule);
        fix(&mut c.create_rule);
        fix(&mut c.update_rule);
        fix(&mut c.delete_rule);
        for path in [&["manageRule"][..], &["authRule"], &["mfa", "rule"]] {
            let mut slot = c.options.get_mut(path[0]);
            for key in &path[1..] {
                slot = slot.and_then(|v| v.get_mut(*key));
            }
            if let Some(v) = slot {
                let mut rule = v.as_str().map(str::to_string);
                let before = rule.clone();
                fix(&mut rule);
                if rule != before {
                    *v = rule.map(Json::String).unwrap_or(Json::Null);
                }
            }
        }
        changed
    }

    /// The rule text with renamed segments replaced, or `None` when nothing in it changes.
    fn rewrite(&self, text: &str, base: &Collection, schema: &Schema) -> Option<String> {
        let expr = filter::parse_filter(text).ok()??;
        let mut edits: Vec<(usize, usize, String)> = vec![];
        let mut idents = vec![];
        collect_idents(&expr, &mut idents);
        for id in idents {
            self.ident_edits(text, id, base, schema, &mut edits);
        }
        if edits.is_empty() {
            return None;
        }
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut out = text.to_string();
        for (start, end, replacement) in edits {
            out.replace_range(start..end, &replacement);
        }
        Some(out)
    }

    /// The replacements one identifier needs: byte ranges of the source and their new text.
    fn ident_edits(
        &self,
        src: &str,
        id: &Ident,
        base: &Collection,
        schema: &Schema,
        edits: &mut Vec<(usize, usize, String)>,
    ) {
        // Byte offset of each path segment within the source.
        let raw = &src[id.span.start..id.span.end.min(src.len())];
        let mut offsets = vec![];
        let mut at = id.span.start;
        for seg in raw.split('.') {
            offsets.push(at);
            at += seg.len() + 1;
        }
        let seg_at = |i: usize| offsets.get(i).copied();
        let mut edit = |i: usize, from: usize, len: usize, new: &str| {
            if let Some(start) = seg_at(i) {
                edits.push((start + from, start + from + len, new.to_string()));
            }
        };
        let path = &id.path;
        let (mut cur, start) = match path[0].as_str() {
            "@collection" => {
                let Some(seg) = path.get(1) else { return };
                let name = seg.split(':').next().unwrap_or(seg);
                let Some(c) = schema.get(name) else { return };
                if let Some(new) = self.collections.get(&c.id) {
                    edit(1, 0, name.len(), new);
                }
                (c, 2)
            }
            "@request" if path.get(1).map(String::as_str) == Some("body") => {
                (std::sync::Arc::new(base.clone()), 2)
            }
            p if p.starts_with('@') => return,
            _ => (std::sync::Arc::new(base.clone()), 0),
        };
        for (i, seg) in path.iter().enumerate().skip(start) {
            if let Some(f) = cur.field(seg) {
                if let Some(new) = self.field(&cur, seg) {
                    edit(i, 0, seg.len(), new);
                }
                match f.kind {
                    FieldType::Relation => match schema.get(f.opt_str("collectionId")) {
                        Some(next) => cur = next,
                        None => return,
                    },
                    _ => return,
                }
                continue;
            }
            // A back-relation: `collection_via_field`.
            let Some((name, field)) = seg.rsplit_once("_via_") else {
                return;
            };
            let Some(back) = schema.get(name) else { return };
            if let Some(new) = self.collections.get(&back.id) {
                edit(i, 0, name.len(), new);
            }
            if let Some(new) = self.field(&back, field) {
                edit(i, name.len() + "_via_".len(), field.len(), new);
            }
            cur = back;
        }
    }

    /// Rewrites the index statements of `c` (its stored version is `old`): the table's and the
    /// columns' new names. Statements that mention neither are kept as written.
    pub fn rewrite_indexes(&self, c: &mut Collection, old: &Collection) {
        let renamed_columns: HashMap<String, String> = old
            .fields
            .iter()
            .filter_map(|f| {
                self.fields
                    .get(&(old.id.clone(), f.id.clone()))
                    .map(|new| (f.name.to_lowercase(), new.clone()))
            })
            .collect();
        let table_renamed = self.collections.contains_key(&old.id);
        for sql in c.indexes.iter_mut() {
            let Ok(mut ix) = parse_index(sql) else {
                continue;
            };
            let mut changed = false;
            if table_renamed && ix.table.eq_ignore_ascii_case(&old.name) {
                ix.table = c.name.clone();
                changed = true;
            }
            for col in ix.columns.iter_mut() {
                if let Some(new) = renamed_columns.get(&col.name.to_lowercase()) {
                    col.name = new.clone();
                    changed = true;
                }
            }
            if let Some(w) = ix.where_not_empty.as_mut() {
                if let Some(new) = renamed_columns.get(&w.to_lowercase()) {
                    *w = new.clone();
                    changed = true;
                }
            }
            if changed {
                *sql = index_text(&ix);
            }
        }
    }
}

fn collect_idents<'a>(e: &'a Expr, out: &mut Vec<&'a Ident>) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            collect_idents(a, out);
            collect_idents(b, out);
        }
        Expr::Cmp(Comparison { left, right, .. }) => {
            operand_idents(left, out);
            operand_idents(right, out);
        }
    }
}

fn operand_idents<'a>(o: &'a Operand, out: &mut Vec<&'a Ident>) {
    match o {
        Operand::Ident(id) => out.push(id),
        Operand::Func { args, .. } => args.iter().for_each(|a| operand_idents(a, out)),
        _ => {}
    }
}

/// An index statement written back from its parts, as PocketBase writes them.
pub fn index_text(ix: &IndexDef) -> String {
    let cols: Vec<String> = ix
        .columns
        .iter()
        .map(|c| {
            format!(
                "`{}`{}{}",
                c.name,
                if c.nocase { " COLLATE NOCASE" } else { "" },
                if c.desc { " DESC" } else { "" }
            )
        })
        .collect();
    let mut sql = format!(
        "CREATE {}INDEX `{}` ON `{}` ({})",
        if ix.unique { "UNIQUE " } else { "" },
        ix.name,
        ix.table,
        cols.join(", ")
    );
    if let Some(w) = &ix.where_not_empty {
        sql.push_str(&format!(" WHERE `{w}` != ''"));
    }
    sql
}

/// Rewrites every other collection's rules for renames made to one collection; returns the
/// collections that changed.
pub fn rewrite_others(renames: &Renames, old_schema: &Schema, saved_id: &str) -> Vec<Collection> {
    if renames.is_empty() {
        return vec![];
    }
    old_schema
        .all()
        .filter(|c| c.id != saved_id)
        .filter_map(|c| {
            let mut copy = (**c).clone();
            renames.rewrite_rules(&mut copy, old_schema).then_some(copy)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::field::Field;
    use crate::collections::model::CollectionType;
    use serde_json::json;

    fn coll(id: &str, name: &str, fields: Vec<Field>) -> Collection {
        Collection {
            id: id.into(),
            list_rule: None,
            view_rule: None,
            create_rule: None,
            update_rule: None,
            delete_rule: None,
            name: name.into(),
            kind: CollectionType::Base,
            fields,
            indexes: vec![],
            created: String::new(),
            updated: String::new(),
            system: false,
            options: Default::default(),
        }
    }

    fn field(id: &str, name: &str, kind: FieldType, opts: Json) -> Field {
        let mut f = Field::new(name, kind, opts);
        f.id = id.into();
        f
    }

    #[test]
    fn rewrites_paths_that_name_the_renamed_field_only() {
        let posts = coll(
            "p",
            "posts",
            vec![
                field("f1", "title", FieldType::Text, json!({})),
                field(
                    "f2",
                    "author",
                    FieldType::Relation,
                    json!({"collectionId": "u"}),
                ),
            ],
        );
        let users = coll(
            "u",
            "users",
            vec![field("f3", "name", FieldType::Text, json!({}))],
        );
        let schema = Schema::new(vec![posts.clone(), users.clone()]);
        let mut renamed_users = users.clone();
        renamed_users.name = "people".into();
        renamed_users.fields[0].name = "fullName".into();
        let renames = Renames::between(&users, &renamed_users);

        let mut p = posts.clone();
        p.list_rule = Some(
            "author.name = 'name' && title != \"\" && @collection.users.name ?= title || posts_via_author.id = '' || @request.body.author.name != ''".into(),
        );
        assert!(renames.rewrite_rules(&mut p, &schema));
        assert_eq!(
            p.list_rule.as_deref(),
            Some("author.fullName = 'name' && title != \"\" && @collection.people.fullName ?= title || posts_via_author.id = '' || @request.body.author.fullName != ''")
        );

        let mut u = renamed_users.clone();
        u.view_rule = Some("name != '' && posts_via_author.title ?~ name".into());
        u.indexes = vec!["CREATE INDEX idx_n ON users (name)".into()];
        assert!(renames.rewrite_rules(&mut u, &schema));
        assert_eq!(
            u.view_rule.as_deref(),
            Some("fullName != '' && posts_via_author.title ?~ fullName")
        );
        renames.rewrite_indexes(&mut u, &users);
        assert_eq!(
            u.indexes,
            vec!["CREATE INDEX `idx_n` ON `people` (`fullName`)".to_string()]
        );
    }
}
