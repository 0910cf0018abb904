//! View collections: the fields a `viewQuery` yields, inferred as PocketBase infers them, and
//! the dry run that checks a query before it is saved.
//!
//! Field types come from a loose reading of the SELECT list: `id` is the record id, `count(...)`
//! and integer casts are integers, `total(...)` and real casts numbers, text and bool casts
//! text and bools, a column read from a collection keeps that field's definition (its `id` is
//! a relation to it), anything else is JSON.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use motorbase_store::{valid_identifier, StoreError, ViewColumn};
use regex::Regex;
use serde_json::{json, Value as Json};

use super::field::{field_id, Field, FieldType};
use super::model::Collection;
use super::Schema;
use crate::error::{CoreError, FieldError, Result};
use crate::Backend;

/// How many rows a dry run shows.
const SAMPLE_SIZE: u64 = 10;
/// Longest view query accepted by the dry run (PocketBase's limit).
pub const MAX_QUERY_LENGTH: usize = 5000;

/// The reason given for a query without an `id` column.
pub const MISSING_ID: &str =
    "missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one)";

/// Why a view query cannot be used; the text PocketBase would show after "Invalid query - ".
#[derive(Debug, Clone, PartialEq)]
pub struct ViewError(pub String);

impl From<StoreError> for ViewError {
    fn from(e: StoreError) -> Self {
        ViewError(e.to_string())
    }
}

/// A column or table of the query as written: `original [AS] alias`.
#[derive(Debug, Clone, PartialEq)]
struct Identifier {
    original: String,
    alias: String,
}

/// Splits `s` on any of `seps` outside quotes and parentheses; tokens are trimmed of other
/// whitespace and empty ones dropped. With `keep`, each token keeps the separator that ended it.
fn split_top(s: &str, seps: &[char], keep: bool) -> std::result::Result<Vec<String>, ViewError> {
    let mut out = vec![];
    let mut buf = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    let push = |buf: &mut String, out: &mut Vec<String>| {
        let t = buf
            .trim_matches(|c: char| c.is_whitespace() && !seps.contains(&c))
            .to_string();
        if !t.is_empty() {
            out.push(t);
        }
        buf.clear();
    };
    for c in s.chars() {
        if prev != '\\' {
            match (c, quote) {
                ('(', None) => depth += 1,
                (')', None) if depth > 0 => depth -= 1,
                ('\'' | '"' | '`', None) => quote = Some(c),
                (q, Some(open)) if q == open => quote = None,
                _ => {}
            }
        }
        prev = c;
        if seps.contains(&c) && depth == 0 && quote.is_none() {
            if keep {
                buf.push(c);
            }
            push(&mut buf, &mut out);
            continue;
        }
        buf.push(c);
    }
    if depth > 0 || quote.is_some() {
        return Err(ViewError(format!(
            "unbalanced parenthesis or quoted expression: {buf:?}"
        )));
    }
    push(&mut buf, &mut out);
    Ok(out)
}

/// The patterns of the loose reading. Case-insensitive ones are matched against an ASCII
/// lowercase copy of the text (same byte offsets), as the regex build has no Unicode case
/// tables.
fn regexes() -> &'static [Option<Regex>; 4] {
    static RE: OnceLock<[Option<Regex>; 4]> = OnceLock::new();
    RE.get_or_init(|| {
        let re = |s: &str| Regex::new(s).ok();
        [
            re(r"(?m)(/\*[\s\S]*?\*/)|(--.+$)"),
            re(r"(?m)\s+(full\s+outer\s+join|left\s+outer\s+join|right\s+outer\s+join|full\s+join|cross\s+join|inner\s+join|outer\s+join|left\s+join|right\s+join|join)\s+?"),
            re(r"(?m)\s+(where|group\s+by|having|order|limit|with)\s+?"),
            re(r"(?s)^cast\s*\(.*\s+as\s+(\w+)\s*\)$"),
        ]
    })
}

/// Replaces the matches of `re` (found in the ASCII lowercase copy when `fold`) with `with`.
fn replace(text: &str, re: &Option<Regex>, with: &str, fold: bool) -> String {
    let Some(re) = re else {
        return text.to_string();
    };
    let haystack = if fold {
        text.to_ascii_lowercase()
    } else {
        text.to_string()
    };
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(&haystack) {
        out.push_str(&text[last..m.start()]);
        out.push_str(with);
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

/// Strips `` ` `` `"` `[` `]` `;` (and `extra`) around each dotted part of a name.
fn trim_identifier(raw: &str, extra: &[char]) -> String {
    raw.split('.')
        .map(|p| p.trim_matches(|c: char| "`\"[];".contains(c) || extra.contains(&c)))
        .collect::<Vec<_>>()
        .join(".")
}

fn identifiers(part: &str) -> std::result::Result<Vec<Identifier>, ViewError> {
    let mut out = vec![];
    for raw in split_top(part, &[','], false)? {
        let parts = split_top(&raw, &[' ', '\n', '\t'], false)?;
        let (original, alias) = match parts.as_slice() {
            [o, a_s, a] if a_s.eq_ignore_ascii_case("as") => (o.clone(), a.clone()),
            [_, other, _] => {
                return Err(ViewError(format!(
                    "invalid identifier part - expected \"as\", got {other}"
                )))
            }
            [o, a] => (o.clone(), a.clone()),
            [o] => (o.clone(), o.rsplit('.').next().unwrap_or(o).to_string()),
            _ => {
                return Err(ViewError(format!(
                    "invalid identifier parts [{}]",
                    parts.join(" ")
                )))
            }
        };
        out.push(Identifier {
            original: trim_identifier(&original, &[]),
            alias: trim_identifier(&alias, &['\'']),
        });
    }
    Ok(out)
}

/// The selected columns and the tables (FROM, then JOINs) of a query, read loosely.
fn parse_query(query: &str) -> std::result::Result<(Vec<Identifier>, Vec<Identifier>), ViewError> {
    let [comments, joins, discards, _] = regexes();
    let s = query.trim().trim_matches(';');
    let s = replace(s, comments, " ", false);
    let s = replace(&s, joins, " __pb_join__ ", true);
    let s = replace(&s, discards, " __pb_discard__ ", true);
    #[derive(PartialEq, Clone, Copy)]
    enum Part {
        None,
        Select,
        From,
        Join,
    }
    let (mut select, mut from, mut join) = (String::new(), String::new(), String::new());
    let mut part = Part::None;
    let mut skip = false;
    for token in split_top(&s, &[',', ' ', '\n', '\t'], true)? {
        let word = token.trim().to_lowercase();
        match word.as_str() {
            "select" => {
                skip = false;
                part = Part::Select;
            }
            "distinct" => {}
            "from" => {
                skip = false;
                part = Part::From;
            }
            "__pb_join__" => {
                skip = false;
                if part == Part::Join {
                    join.push(',');
                }
                part = Part::Join;
            }
            "__pb_discard__" => skip = true,
            _ => {
                if part == Part::Join && word == "on" {
                    skip = true;
                }
                let target = match part {
                    Part::Select => &mut select,
                    Part::From => &mut from,
                    Part::Join => &mut join,
                    Part::None => continue,
                };
                if !skip {
                    target.push(' ');
                    target.push_str(&token);
                }
            }
        }
    }
    let mut tables = identifiers(&from)?;
    tables.extend(identifiers(&join)?);
    Ok((identifiers(&select)?, tables))
}

/// The id field of a view: text, required, its values never generated.
fn view_id_field() -> Field {
    let mut f = Field::new(
        "id",
        FieldType::Text,
        json!({"pattern": "^[a-z0-9]+$", "primaryKey": true, "required": true}),
    );
    f.system = true;
    f.id = field_id(FieldType::Text, "id");
    f
}

fn typed(name: &str, kind: FieldType, options: Json) -> Field {
    let mut f = Field::new(name, kind, options);
    f.id = field_id(kind, name);
    f
}

/// A column nothing more is known of: JSON.
fn default_field(name: &str) -> Field {
    if name == "id" {
        return view_id_field();
    }
    typed(name, FieldType::Json, json!({"maxSize": 1}))
}

/// The field a selected column becomes.
fn infer(
    col: &Identifier,
    by_alias: &HashMap<String, Arc<Collection>>,
    main: Option<&str>,
) -> Field {
    let lower = col.original.to_lowercase();
    if col.alias == "id" {
        return view_id_field();
    }
    if lower.starts_with("count(") {
        return typed(&col.alias, FieldType::Number, json!({"onlyInt": true}));
    }
    if lower.starts_with("total(") {
        return typed(&col.alias, FieldType::Number, json!({}));
    }
    let cast = regexes()[3]
        .as_ref()
        .and_then(|re| re.captures(&lower))
        .and_then(|c| c.get(1));
    if let Some(cast) = cast {
        match cast.as_str() {
            "real" | "decimal" | "numeric" => {
                return typed(&col.alias, FieldType::Number, json!({}))
            }
            "int" | "integer" => {
                return typed(&col.alias, FieldType::Number, json!({"onlyInt": true}))
            }
            "text" => return typed(&col.alias, FieldType::Text, json!({})),
            "boolean" | "bool" => return typed(&col.alias, FieldType::Bool, json!({})),
            _ => {}
        }
    }
    let parts: Vec<&str> = col.original.split('.').collect();
    let (field_name, collection) = match parts.as_slice() {
        [table, field] => (*field, by_alias.get(*table)),
        _ => (parts[0], main.and_then(|m| by_alias.get(m))),
    };
    let Some(collection) = collection else {
        return default_field(&col.alias);
    };
    let Some(source) = collection
        .fields
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(field_name))
    else {
        return default_field(&col.alias);
    };
    if field_name.eq_ignore_ascii_case("id") {
        return typed(
            &col.alias,
            FieldType::Relation,
            json!({"collectionId": collection.id, "maxSelect": 1}),
        );
    }
    let mut clone = source.clone();
    clone.name = col.alias.clone();
    clone.id = format!("_clone_{}", crate::util::random_alnum(4));
    clone
}

/// The fields of a view over `columns` (as SQLite describes the query) for `query`.
pub fn view_fields(
    schema: &Schema,
    query: &str,
    columns: &[ViewColumn],
) -> std::result::Result<Vec<Field>, ViewError> {
    let (selected, tables) = parse_query(query)?;
    if selected.iter().any(|c| c.alias == "*") {
        return Err(ViewError(
            "wildcard columns (*) are not supported - manually type the collection field names you want the view query to have".into(),
        ));
    }
    let mut by_alias = HashMap::new();
    for t in tables.iter().filter(|t| !t.alias.contains('(')) {
        if let Some(c) = schema.all().find(|c| c.name == t.original) {
            by_alias.insert(t.alias.clone(), c.clone());
        }
    }
    let main = tables.first().map(|t| t.alias.as_str());
    let mut fields = vec![];
    for column in columns {
        let field = match selected.iter().find(|c| c.alias == column.name) {
            Some(col) => infer(col, &by_alias, main),
            None => default_field(&column.name),
        };
        fields.push(field);
    }
    if !columns.iter().any(|c| c.name == "id") {
        return Err(ViewError(MISSING_ID.into()));
    }
    for (i, f) in fields.iter().enumerate() {
        if !valid_identifier(&f.name) {
            return Err(ViewError(format!(
                "invalid field {:?} ({i}): name: Must be in a valid format",
                f.name
            )));
        }
    }
    Ok(fields)
}

/// What the dry run answers: the fields a query yields and a few of its rows.
#[derive(Debug, serde::Serialize)]
pub struct DryRun {
    pub fields: Vec<Field>,
    pub sample: Vec<Json>,
}

/// `POST /api/collections/meta/dry-run-view`: checks a query (nothing is written) and shows
/// what a view collection over it would be.
pub async fn dry_run_view(backend: &Backend, query: &str) -> Result<DryRun> {
    if query.trim().is_empty() {
        return Err(CoreError::field(
            "An error occurred while validating the submitted data.",
            "query",
            FieldError::required(),
        ));
    }
    if query.chars().count() > MAX_QUERY_LENGTH {
        return Err(CoreError::field(
            "An error occurred while validating the submitted data.",
            "query",
            FieldError::new(
                "validation_length_out_of_range",
                format!("The length must be between 0 and {MAX_QUERY_LENGTH}."),
            )
            .with_params(json!({"max": MAX_QUERY_LENGTH, "min": 0})),
        ));
    }
    let schema = backend.schema();
    let query = query.to_string();
    let invalid =
        |e: ViewError| CoreError::BadRequest(format!("Invalid view query. Raw error: \n{}.", e.0));
    let (fields, rows) = backend
        .store
        .read(move |r| -> std::result::Result<_, ViewError> {
            let columns = r.view_columns(&query)?;
            let fields = view_fields(&schema, &query, &columns)?;
            let temp = Collection {
                fields: fields.clone(),
                ..sample_collection()
            };
            let rows =
                r.view_sample(&query, &crate::records::record_columns(&temp), SAMPLE_SIZE)?;
            Ok((fields, rows))
        })
        .await
        .map_err(invalid)?;
    let temp = Collection {
        fields: fields.clone(),
        ..sample_collection()
    };
    let mut ids = std::collections::HashSet::new();
    let mut sample = vec![];
    for row in rows {
        let rec = crate::records::row_to_map(&temp, row);
        let id = rec
            .get("id")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string();
        if id.is_empty() {
            return Err(invalid(ViewError(
                "the query could return records with empty or invalid ids".into(),
            )));
        }
        if !ids.insert(id) {
            return Err(invalid(ViewError(
                "the query could return records with non-unique ids".into(),
            )));
        }
        sample.push(Json::Object(rec));
    }
    Ok(DryRun { fields, sample })
}

/// The stand-in collection a dry run's rows are read as.
fn sample_collection() -> Collection {
    Collection {
        id: format!("pbc_{}", rand::random::<u32>()),
        list_rule: None,
        view_rule: None,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: format!("temp_view_{}", crate::util::random_alnum(5)),
        kind: super::model::CollectionType::View,
        fields: vec![],
        indexes: vec![],
        created: String::new(),
        updated: String::new(),
        system: false,
        options: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(names: &[&str]) -> Vec<ViewColumn> {
        names
            .iter()
            .map(|n| ViewColumn {
                name: n.to_string(),
                decl_type: None,
            })
            .collect()
    }

    fn posts() -> Collection {
        let mut c = sample_collection();
        c.name = "posts".into();
        c.id = "pbc_posts".into();
        c.fields = vec![
            view_id_field(),
            Field::new("title", FieldType::Text, json!({})),
            Field::new("views", FieldType::Number, json!({})),
        ];
        c
    }

    #[test]
    fn patterns_compile() {
        assert!(regexes().iter().all(Option::is_some));
    }

    #[test]
    fn parses_columns_and_tables_loosely() {
        let (cols, tables) = parse_query(
            "SELECT p.id, p.title AS t, count(c.id) n /* note */ FROM posts p LEFT JOIN comments c ON c.post = p.id WHERE p.views > 1 GROUP BY p.id;",
        )
        .unwrap();
        let pairs: Vec<(&str, &str)> = cols
            .iter()
            .map(|c| (c.original.as_str(), c.alias.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![("p.id", "id"), ("p.title", "t"), ("count(c.id)", "n")]
        );
        let tables: Vec<(&str, &str)> = tables
            .iter()
            .map(|c| (c.original.as_str(), c.alias.as_str()))
            .collect();
        assert_eq!(tables, vec![("posts", "p"), ("comments", "c")]);
        assert!(parse_query("select id, views * 2 as x from posts").is_err());
    }

    #[test]
    fn infers_types_as_pocketbase() {
        let schema = Schema::new(vec![posts()]);
        let q = "select p.id, p.title, count(*) as n, cast(views as int) v, (views * 2) x, p.id as pid from posts p";
        let fields =
            view_fields(&schema, q, &cols(&["id", "title", "n", "v", "x", "pid"])).unwrap();
        let kinds: Vec<(&str, FieldType)> =
            fields.iter().map(|f| (f.name.as_str(), f.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("id", FieldType::Text),
                ("title", FieldType::Text),
                ("n", FieldType::Number),
                ("v", FieldType::Number),
                ("x", FieldType::Json),
                ("pid", FieldType::Relation),
            ]
        );
        assert!(fields[1].id.starts_with("_clone_"));
        assert_eq!(fields[5].opt_str("collectionId"), "pbc_posts");
        assert!(view_fields(&schema, "select title from posts", &cols(&["title"])).is_err());
        assert!(view_fields(&schema, "select * from posts", &cols(&["id"])).is_err());
    }
}
