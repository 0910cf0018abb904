//! Creating, changing and removing collections: validate the definition, then apply the table
//! changes and store the definition in one transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use motorbase_store::{
    valid_identifier, ColumnDef, Reader, SchemaChange, StoreError, Value, WriteTx,
};
use serde_json::{json, Map, Value as Json};

use super::defaults::{auth_options, auth_system_fields, default_indexes, id_field};
use super::field::{field_id, Field, FieldType};
use super::index::parse_index;
use super::model::{Collection, CollectionType};
use super::rename::{self, Renames};
use super::view::{view_fields, ViewError, MISSING_ID};
use super::Schema;
use crate::error::{CoreError, ErrorData, FieldError, FieldErrors, Result};
use crate::rules;
use crate::util::now;
use crate::Backend;

/// Field and collection names the API itself uses.
const RESERVED_FIELD_NAMES: &[&str] = &[
    "expand",
    "collectionId",
    "collectionName",
    "password_confirm",
];

fn err(code: &str, msg: &str) -> ErrorData {
    ErrorData::Field(FieldError::new(code, msg))
}

fn column(f: &Field) -> ColumnDef {
    ColumnDef {
        name: f.name.clone(),
        kind: f.column_kind(),
        default: f.zero_column(),
    }
}

/// Reads the writable parts of a collection definition from a request body onto `c`.
fn apply_input(c: &mut Collection, input: &Map<String, Json>, errors: &mut FieldErrors) {
    if let Some(v) = input.get("name") {
        c.name = v.as_str().unwrap_or("").trim().to_string();
    }
    let rule = |v: &Json| -> Option<String> { v.as_str().map(str::to_string) };
    for (key, slot) in [
        ("listRule", &mut c.list_rule),
        ("viewRule", &mut c.view_rule),
        ("createRule", &mut c.create_rule),
        ("updateRule", &mut c.update_rule),
        ("deleteRule", &mut c.delete_rule),
    ] {
        if let Some(v) = input.get(key) {
            *slot = rule(v);
        }
    }
    if let Some(v) = input.get("indexes") {
        match serde_json::from_value::<Vec<String>>(v.clone()) {
            Ok(ix) => c.indexes = ix,
            Err(_) => {
                errors.insert(
                    "indexes".into(),
                    err("validation_invalid_indexes", "Invalid indexes."),
                );
            }
        }
    }
    if c.kind == CollectionType::View {
        if let Some(v) = input.get("viewQuery") {
            c.options.insert(
                "viewQuery".into(),
                Json::String(v.as_str().unwrap_or("").to_string()),
            );
        }
    }
    if c.kind == CollectionType::Auth {
        for (k, v) in input {
            if c.options.contains_key(k) {
                let mut v = v.clone();
                if k == "oauth2" {
                    crate::auth::oauth2::config::prepare_update(c.options.get(k), &mut v);
                }
                merge_option(c.options.entry(k.clone()).or_insert(Json::Null), &v);
            }
        }
        crate::auth::oauth2::config::check(&c.options, errors);
    }
}

/// Merges an auth option object into the stored one, keeping keys (like secrets) not given.
fn merge_option(target: &mut Json, patch: &Json) {
    match (target, patch) {
        (Json::Object(t), Json::Object(p)) => {
            for (k, v) in p {
                merge_option(t.entry(k.clone()).or_insert(Json::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

/// Parses the `fields` list of a request, matching fields to `old` ones by id (then by name).
fn parse_fields(input: &Json, old: &[Field], errors: &mut FieldErrors) -> Result<Vec<Field>> {
    let Some(list) = input.as_array() else {
        errors.insert(
            "fields".into(),
            err("validation_invalid_fields", "Invalid fields."),
        );
        return Ok(vec![]);
    };
    let mut out = vec![];
    for raw in list {
        match serde_json::from_value::<Field>(raw.clone()) {
            Ok(mut f) => {
                f.name = f.name.trim().to_string();
                let existing = old
                    .iter()
                    .find(|o| !f.id.is_empty() && o.id == f.id)
                    .or_else(|| old.iter().find(|o| f.id.is_empty() && o.name == f.name));
                if let Some(o) = existing {
                    f.id = o.id.clone();
                    f.system = o.system;
                }
                f.fill_defaults();
                out.push(f);
            }
            Err(_) => {
                return Err(CoreError::BadRequest(
                    "Failed to load the submitted data due to invalid formatting.".into(),
                ))
            }
        }
    }
    Ok(out)
}

/// Puts the system fields first (id, then auth fields) and gives new fields their ids.
fn ensure_system_fields(c: &mut Collection) {
    let mut required: Vec<Field> = vec![id_field()];
    if c.kind == CollectionType::Auth {
        required.extend(auth_system_fields());
    }
    let mut fields = vec![];
    for sys in required {
        match c.fields.iter().position(|f| f.name == sys.name) {
            Some(pos) => {
                let mut f = c.fields.remove(pos);
                f.system = true;
                f.kind = sys.kind;
                if f.id.is_empty() {
                    f.id = sys.id.clone();
                }
                fields.push(f);
            }
            None => fields.push(sys),
        }
    }
    fields.append(&mut c.fields);
    let mut used: HashSet<String> = fields
        .iter()
        .filter(|f| !f.id.is_empty())
        .map(|f| f.id.clone())
        .collect();
    for f in &mut fields {
        if f.id.is_empty() {
            let mut id = field_id(f.kind, &f.name);
            while used.contains(&id) {
                id = format!(
                    "{}{}",
                    field_id(f.kind, &f.name),
                    crate::util::random_lower(4)
                );
            }
            used.insert(id.clone());
            f.id = id;
        }
    }
    c.fields = fields;
}

/// Validates a complete definition against the schema it will join.
fn validate(c: &Collection, old: Option<&Collection>, schema: &Schema, errors: &mut FieldErrors) {
    if c.name.is_empty() {
        errors.insert("name".into(), ErrorData::Field(FieldError::required()));
    } else if c.name.len() > 255 {
        errors.insert(
            "name".into(),
            ErrorData::Field(
                FieldError::new(
                    "validation_length_out_of_range",
                    "The length must be between 1 and 255.",
                )
                .with_params(json!({"max": 255, "min": 1})),
            ),
        );
    } else if !valid_identifier(&c.name) {
        errors.insert(
            "name".into(),
            err("validation_match_invalid", "Must be in a valid format."),
        );
    } else if let Some(other) = schema.get(&c.name) {
        if old.is_none_or(|o| o.id != other.id) {
            errors.insert(
                "name".into(),
                err(
                    "validation_collection_name_exists",
                    "Collection name must be unique (case insensitive).",
                ),
            );
        }
    }
    if old.is_none() && schema.get(&c.id).is_some() {
        errors.insert(
            "id".into(),
            err("validation_not_unique", "Value must be unique."),
        );
    }
    if let Some(o) = old {
        if o.kind != c.kind {
            errors.insert(
                "type".into(),
                err(
                    "validation_collection_type_change",
                    "Changing the collection type is not allowed.",
                ),
            );
        }
        for f in &c.fields {
            if let Some(prev) = o.fields.iter().find(|p| p.id == f.id) {
                if prev.kind != f.kind {
                    errors.insert(
                        "fields".into(),
                        err(
                            "validation_field_type_change",
                            &format!("The type of field {:?} cannot be changed.", prev.name),
                        ),
                    );
                }
            }
        }
        for f in o.fields.iter().filter(|f| f.system) {
            if !c.fields.iter().any(|n| n.id == f.id && n.name == f.name) {
                errors.insert(
                    "fields".into(),
                    err(
                        "validation_system_field_change",
                        &format!("System field {:?} cannot be removed or renamed.", f.name),
                    ),
                );
            }
        }
    }
    let mut names = HashSet::new();
    let mut field_errors = std::collections::BTreeMap::new();
    for (i, f) in c.fields.iter().enumerate() {
        let mut fe = std::collections::BTreeMap::new();
        if f.name.is_empty() {
            fe.insert("name".to_string(), ErrorData::Field(FieldError::required()));
        } else if !valid_identifier(&f.name) || f.name.contains("_via_") {
            fe.insert(
                "name".to_string(),
                err("validation_match_invalid", "Must be in a valid format."),
            );
        } else if RESERVED_FIELD_NAMES.contains(&f.name.as_str()) {
            fe.insert(
                "name".to_string(),
                err("validation_not_in_invalid", "Must not be in list."),
            );
        } else if !names.insert(f.name.to_lowercase()) {
            fe.insert(
                "name".to_string(),
                err(
                    "validation_duplicated_field_name",
                    "Duplicated or invalid field name.",
                ),
            );
        }
        if f.kind == FieldType::Relation {
            let target = f.opt_str("collectionId");
            if target.is_empty() {
                fe.insert(
                    "collectionId".to_string(),
                    ErrorData::Field(FieldError::required()),
                );
            } else if target != c.id && schema.get(target).is_none() {
                fe.insert(
                    "collectionId".to_string(),
                    err(
                        "validation_field_relation_missing_collection",
                        "The relation collection doesn't exist.",
                    ),
                );
            }
        }
        if f.kind == FieldType::Select && f.opt_strs("values").is_empty() {
            fe.insert(
                "values".to_string(),
                ErrorData::Field(FieldError::required()),
            );
        }
        if f.kind == FieldType::Password && c.kind != CollectionType::Auth {
            fe.insert(
                "type".to_string(),
                err(
                    "validation_invalid_type",
                    "Password fields are only for auth collections.",
                ),
            );
        }
        if f.kind == FieldType::Text
            && !f.opt_str("pattern").is_empty()
            && crate::records::compile_pattern(f.opt_str("pattern")).is_none()
        {
            fe.insert(
                "pattern".to_string(),
                err("validation_invalid_regex", "Invalid regular expression."),
            );
        }
        if !fe.is_empty() {
            field_errors.insert(i.to_string(), ErrorData::Nested(fe));
        }
    }
    if !field_errors.is_empty() {
        errors.insert("fields".into(), ErrorData::Nested(field_errors));
    }
    let mut index_errors = std::collections::BTreeMap::new();
    for (i, sql) in c.indexes.iter().enumerate() {
        let problem = match parse_index(sql) {
            Err(e) => Some(e),
            Ok(ix) if !valid_identifier(&ix.name) => Some("invalid index name".into()),
            Ok(ix) => ix
                .columns
                .iter()
                .chain(ix.where_not_empty.iter().map(|_| &ix.columns[0]))
                .find(|col| !c.fields.iter().any(|f| f.name == col.name))
                .map(|col| format!("unknown column {:?}", col.name)),
        };
        if let Some(p) = problem {
            index_errors.insert(
                i.to_string(),
                err(
                    "validation_invalid_index_expression",
                    &format!("Invalid CREATE INDEX expression: {p}."),
                ),
            );
        }
    }
    if !index_errors.is_empty() {
        errors.insert("indexes".into(), ErrorData::Nested(index_errors));
    }
}

/// Checks each rule compiles against the collection as it will be.
fn validate_rules(c: &Collection, schema: &Schema, errors: &mut FieldErrors) {
    let mut rules_to_check = vec![
        ("listRule", c.list_rule.as_deref()),
        ("viewRule", c.view_rule.as_deref()),
        ("createRule", c.create_rule.as_deref()),
        ("updateRule", c.update_rule.as_deref()),
        ("deleteRule", c.delete_rule.as_deref()),
    ];
    if c.kind == CollectionType::Auth {
        rules_to_check.push((
            "manageRule",
            c.options.get("manageRule").and_then(Json::as_str),
        ));
        rules_to_check.push(("authRule", c.options.get("authRule").and_then(Json::as_str)));
    }
    for (key, rule) in rules_to_check {
        if let Some(rule) = rule {
            if let Err(e) = rules::check(schema, c, rule) {
                errors.insert(
                    key.into(),
                    err("validation_invalid_rule", &format!("Invalid rule. {e}")),
                );
            }
        }
    }
}

/// A schema snapshot without the collection `id`.
pub(super) fn schema_without(schema: &Schema, id: &str) -> Schema {
    Schema::new(
        schema
            .all()
            .filter(|o| o.id != id)
            .map(|o| (**o).clone())
            .collect(),
    )
}

/// A schema snapshot with `c` in place of its old version (so rules may refer to itself).
pub(super) fn schema_with(schema: &Schema, c: &Collection) -> Schema {
    let mut all: Vec<Collection> = schema
        .all()
        .filter(|o| o.id != c.id)
        .map(|o| (**o).clone())
        .collect();
    all.push(c.clone());
    Schema::new(all)
}

/// Rebuilds the indexes of the collection's table, renaming the target table to its name.
fn index_changes(c: &Collection) -> Vec<SchemaChange> {
    c.indexes
        .iter()
        .filter_map(|sql| parse_index(sql).ok())
        .map(|mut ix| {
            ix.table = c.name.clone();
            SchemaChange::CreateIndex(ix)
        })
        .collect()
}

/// Creates the indexes; a failure (say, a unique index over duplicate data) becomes that
/// index's field error.
fn apply_indexes(
    tx: &motorbase_store::WriteTx,
    indexes: &[SchemaChange],
    message: &str,
) -> Result<()> {
    for (i, ch) in indexes.iter().enumerate() {
        if let Err(e) = tx.apply(ch) {
            let name = match ch {
                SchemaChange::CreateIndex(ix) => ix.name.clone(),
                _ => String::new(),
            };
            let mut nested = std::collections::BTreeMap::new();
            nested.insert(
                i.to_string(),
                err(
                    "validation_invalid_index_expression",
                    &format!("Failed to create index {name} - {e}."),
                ),
            );
            let mut data = FieldErrors::new();
            data.insert("indexes".into(), ErrorData::Nested(nested));
            return Err(CoreError::validation(message, data));
        }
    }
    Ok(())
}

fn name_exists() -> CoreError {
    CoreError::field(
        "Failed to create collection.",
        "name",
        FieldError::new(
            "validation_collection_name_exists",
            "Collection name must be unique (case insensitive).",
        ),
    )
}

fn drop_indexes(c: &Collection) -> Vec<SchemaChange> {
    c.indexes
        .iter()
        .filter_map(|sql| parse_index(sql).ok())
        .map(|ix| SchemaChange::DropIndex { name: ix.name })
        .collect()
}

pub(crate) fn definition_row(c: &Collection) -> Result<Vec<(String, Value)>> {
    let data = serde_json::to_string(c).map_err(|e| CoreError::Internal(e.to_string()))?;
    let kind = serde_json::to_value(c.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Ok(vec![
        ("id".into(), Value::Text(c.id.clone())),
        ("name".into(), Value::Text(c.name.clone())),
        ("type".into(), Value::Text(kind)),
        ("system".into(), Value::Bool(c.system)),
        ("created".into(), Value::Text(c.created.clone())),
        ("updated".into(), Value::Text(c.updated.clone())),
        ("data".into(), Value::Text(data)),
    ])
}

fn unique_to_validation(e: StoreError) -> CoreError {
    match e {
        StoreError::Unique { .. } => CoreError::field(
            "Failed to create collection.",
            "name",
            FieldError::new(
                "validation_collection_name_exists",
                "Collection name must be unique (case insensitive).",
            ),
        ),
        other => CoreError::Store(other),
    }
}

fn type_name(kind: CollectionType) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A brand-new definition from a request body (or an imported one).
pub(super) fn draft_new(obj: &Map<String, Json>, errors: &mut FieldErrors) -> Result<Collection> {
    let kind = match obj.get("type").and_then(Json::as_str).unwrap_or("base") {
        "base" => CollectionType::Base,
        "auth" => CollectionType::Auth,
        "view" => CollectionType::View,
        _ => {
            return Err(CoreError::field(
                "Failed to create collection.",
                "type",
                FieldError::new("validation_in_invalid", "Must be a valid value."),
            ))
        }
    };
    let t = now();
    let id = obj
        .get("id")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("pbc_{}", rand::random::<u32>()));
    let mut c = Collection {
        id,
        list_rule: None,
        view_rule: None,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: String::new(),
        kind,
        fields: vec![],
        indexes: vec![],
        created: t.clone(),
        updated: t,
        system: false,
        options: match kind {
            CollectionType::Auth => auth_options(),
            CollectionType::View => {
                let mut o = Map::new();
                o.insert("viewQuery".into(), Json::String(String::new()));
                o
            }
            CollectionType::Base => Map::new(),
        },
    };
    if !valid_identifier(&c.id) {
        errors.insert("id".into(), err("validation_invalid_id", "Invalid id."));
    }
    apply_input(&mut c, obj, errors);
    if kind != CollectionType::View {
        if let Some(f) = obj.get("fields") {
            c.fields = parse_fields(f, &[], errors)?;
        }
        ensure_system_fields(&mut c);
    }
    if kind == CollectionType::Auth && !obj.contains_key("indexes") {
        c.indexes = default_indexes(&c.id, &c.name);
    }
    Ok(c)
}

/// A stored definition with a request body's changes applied.
pub(super) fn draft_update(
    old: &Collection,
    obj: &Map<String, Json>,
    errors: &mut FieldErrors,
) -> Result<Collection> {
    let mut c = old.clone();
    if let Some(t) = obj.get("type").and_then(Json::as_str) {
        if t != type_name(c.kind) {
            errors.insert(
                "type".into(),
                err(
                    "validation_collection_type_change",
                    "Changing the collection type is not allowed.",
                ),
            );
        }
    }
    apply_input(&mut c, obj, errors);
    if c.kind != CollectionType::View {
        if let Some(f) = obj.get("fields") {
            c.fields = parse_fields(f, &old.fields, errors)?;
        }
        ensure_system_fields(&mut c);
    }
    if old.is_superusers() && c.name != old.name {
        errors.insert(
            "name".into(),
            err(
                "validation_collection_system_name_change",
                "System collection name cannot be changed.",
            ),
        );
    }
    Ok(c)
}

/// What a view collection may not have: write rules (views are read-only) and indexes.
fn validate_view(c: &Collection, errors: &mut FieldErrors) {
    for (key, rule) in [
        ("createRule", &c.create_rule),
        ("updateRule", &c.update_rule),
        ("deleteRule", &c.delete_rule),
    ] {
        if rule.is_some() {
            errors.insert(key.into(), err("validation_nil", "Must be blank."));
        }
    }
    if !c.indexes.is_empty() {
        errors.insert(
            "indexes".into(),
            err(
                "validation_indexes_not_supported",
                "View collections don't support indexes.",
            ),
        );
    }
}

/// A view's fields, from its query as SQLite reads it through `r` (which sees the tables of
/// the transaction). Fields that keep their name and type keep their id.
fn infer_view_fields(
    r: &Reader,
    schema: &Schema,
    c: &mut Collection,
    old: Option<&Collection>,
    errors: &mut FieldErrors,
) {
    let query = c
        .options
        .get("viewQuery")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    if query.trim().is_empty() {
        errors.insert("fields".into(), ErrorData::Field(FieldError::required()));
        errors.insert("viewQuery".into(), ErrorData::Field(FieldError::required()));
        return;
    }
    let inferred = r
        .view_columns(&query)
        .map_err(ViewError::from)
        .and_then(|columns| view_fields(schema, &query, &columns));
    match inferred {
        Ok(mut fields) => {
            for f in fields.iter_mut() {
                if let Some(prev) = old
                    .into_iter()
                    .flat_map(|o| o.fields.iter())
                    .find(|p| p.name == f.name && p.kind == f.kind)
                {
                    f.id = prev.id.clone();
                }
            }
            c.fields = fields;
        }
        Err(ViewError(reason)) => {
            // Without an id the fields exist but lack their primary key; otherwise there are none.
            let fields_error = if reason == MISSING_ID {
                FieldError::new(
                    "validation_missing_primary_key",
                    "Missing or invalid \"id\" PK field.",
                )
            } else {
                FieldError::required()
            };
            errors.insert("fields".into(), ErrorData::Field(fields_error));
            let mut reason: String = reason.chars().take(500).collect();
            if !reason.ends_with('.') {
                reason.push('.');
            }
            errors.insert(
                "viewQuery".into(),
                err(
                    "validation_invalid_view_query",
                    &format!("Invalid query - {reason}"),
                ),
            );
        }
    }
}

/// Validates a draft against the schema it will join (views read their query through `r`).
pub(super) fn check_draft(
    r: &Reader,
    c: &mut Collection,
    old: Option<&Collection>,
    schema: &Schema,
    errors: &mut FieldErrors,
) {
    let mut view_errors = FieldErrors::new();
    if c.kind == CollectionType::View {
        validate_view(c, &mut view_errors);
        if view_errors.is_empty() && errors.is_empty() {
            infer_view_fields(r, schema, c, old, errors);
        }
    }
    validate(c, old, schema, errors);
    // What views may not have is said in its own words.
    errors.extend(view_errors);
    if errors.is_empty() {
        validate_rules(c, &schema_with(schema, c), errors);
    }
}

/// The table (or view) changes that turn `old` into `c`.
fn table_changes(c: &Collection, old: Option<&Collection>) -> Vec<SchemaChange> {
    let query = || {
        c.options
            .get("viewQuery")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let Some(old) = old else {
        return vec![if c.kind == CollectionType::View {
            SchemaChange::CreateView {
                name: c.name.clone(),
                query: query(),
            }
        } else {
            SchemaChange::CreateTable {
                table: c.name.clone(),
                columns: c.columns().map(column).collect(),
            }
        }];
    };
    if c.kind == CollectionType::View {
        return vec![
            SchemaChange::DropView {
                name: old.name.clone(),
            },
            SchemaChange::CreateView {
                name: c.name.clone(),
                query: query(),
            },
        ];
    }
    let mut changes = drop_indexes(old);
    if old.name != c.name {
        changes.push(SchemaChange::RenameTable {
            from: old.name.clone(),
            to: c.name.clone(),
        });
    }
    let new_by_id: HashMap<&str, &Field> = c.fields.iter().map(|f| (f.id.as_str(), f)).collect();
    for f in old.columns() {
        match new_by_id.get(f.id.as_str()) {
            None => changes.push(SchemaChange::DropColumn {
                table: c.name.clone(),
                column: f.name.clone(),
            }),
            Some(n) if n.column_kind() != f.column_kind() => {
                // Only the multiplicity of select/relation/file fields can change the storage shape
                // (type changes are refused in validation).
                changes.push(SchemaChange::ChangeMultiplicity {
                    table: c.name.clone(),
                    column: f.name.clone(),
                    to_multi: n.is_multi(),
                });
                if n.name != f.name {
                    changes.push(SchemaChange::RenameColumn {
                        table: c.name.clone(),
                        from: f.name.clone(),
                        to: n.name.clone(),
                    });
                }
            }
            Some(n) if n.name != f.name => changes.push(SchemaChange::RenameColumn {
                table: c.name.clone(),
                from: f.name.clone(),
                to: n.name.clone(),
            }),
            Some(_) => {}
        }
    }
    let old_ids: HashSet<&str> = old.fields.iter().map(|f| f.id.as_str()).collect();
    for f in c.columns().filter(|f| !old_ids.contains(f.id.as_str())) {
        changes.push(SchemaChange::AddColumn {
            table: c.name.clone(),
            column: column(f),
        });
    }
    changes
}

/// Applies a checked definition inside the write transaction: its table changes, its indexes
/// and its stored row.
pub(super) fn store_definition(
    tx: &WriteTx,
    c: &Collection,
    old: Option<&Collection>,
    message: &str,
) -> Result<()> {
    let renamed = old.is_none_or(|o| !o.name.eq_ignore_ascii_case(&c.name));
    if renamed && tx.table_exists(&c.name)? {
        return Err(name_exists());
    }
    for ch in table_changes(c, old) {
        tx.apply(&ch).map_err(|e| match e {
            StoreError::InvalidView(reason) => CoreError::field(
                message,
                "viewQuery",
                FieldError::new(
                    "validation_invalid_view_query",
                    format!("Invalid query - {reason}."),
                ),
            ),
            other => CoreError::Store(other),
        })?;
    }
    apply_indexes(tx, &index_changes(c), message)?;
    let row = definition_row(c)?;
    match old {
        None => tx.insert("_collections", &row),
        Some(_) => tx.update("_collections", &c.id, &row[1..]).map(|_| ()),
    }
    .map_err(unique_to_validation)
}

/// Saves `c` and carries its renames into every rule and index that mentions the old names.
fn save_with_renames(
    tx: &WriteTx,
    schema: &Schema,
    mut c: Collection,
    old: Option<&Collection>,
    mut errors: FieldErrors,
    message: &str,
) -> Result<Collection> {
    let mut others = vec![];
    if let Some(o) = old {
        let renames = Renames::between(o, &c);
        if !renames.is_empty() {
            renames.rewrite_rules(&mut c, schema);
            renames.rewrite_indexes(&mut c, o);
            others = rename::rewrite_others(&renames, schema, &c.id);
        }
    }
    // The schema as the other collections will be once their rules are rewritten.
    let mut snapshot: Option<Schema> = None;
    for other in &others {
        snapshot = Some(schema_with(snapshot.as_ref().unwrap_or(schema), other));
    }
    check_draft(
        tx,
        &mut c,
        old,
        snapshot.as_ref().unwrap_or(schema),
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(CoreError::validation(message, errors));
    }
    store_definition(tx, &c, old, message)?;
    let mut after = schema_with(snapshot.as_ref().unwrap_or(schema), &c);
    for mut other in others {
        other.updated = now();
        let row = definition_row(&other)?;
        tx.update("_collections", &other.id, &row[1..])?;
        after = schema_with(&after, &other);
    }
    if old.is_some() {
        refresh_views(tx, &after, &c.id)?;
    }
    Ok(c)
}

/// Re-reads the fields of the views over a changed collection (a cloned field follows its
/// source). A view whose query no longer reads is left as it is, to be fixed by its owner.
fn refresh_views(tx: &WriteTx, schema: &Schema, changed_id: &str) -> Result<()> {
    let views: Vec<Arc<Collection>> = schema
        .all()
        .filter(|v| v.kind == CollectionType::View && v.id != changed_id)
        .cloned()
        .collect();
    for view in views {
        let mut fresh = (*view).clone();
        let mut errors = FieldErrors::new();
        infer_view_fields(tx, schema, &mut fresh, Some(&view), &mut errors);
        if !errors.is_empty() {
            tracing::warn!(view = %view.name, ?errors, "a view no longer reads after a collection change");
            continue;
        }
        let same = fresh.fields.len() == view.fields.len()
            && fresh
                .fields
                .iter()
                .zip(&view.fields)
                .all(|(a, b)| a.name == b.name && a.kind == b.kind && a.options == b.options);
        if !same {
            fresh.updated = now();
            let row = definition_row(&fresh)?;
            tx.update("_collections", &fresh.id, &row[1..])?;
        }
    }
    Ok(())
}

pub async fn create_collection(backend: &Backend, input: &Json) -> Result<Arc<Collection>> {
    let obj = input
        .as_object()
        .ok_or_else(CoreError::generic_bad_request)?;
    let message = "Failed to create collection.";
    let mut errors = FieldErrors::new();
    let c = draft_new(obj, &mut errors)?;
    let schema = backend.schema();
    let id = c.id.clone();
    backend
        .store
        .write(move |tx| save_with_renames(tx, &schema, c, None, errors, message).map(|_| ()))
        .await?;
    backend.reload_schema().await?;
    backend.schema().get(&id).ok_or_else(CoreError::not_found)
}

pub async fn update_collection(
    backend: &Backend,
    id_or_name: &str,
    input: &Json,
) -> Result<Arc<Collection>> {
    let schema = backend.schema();
    let old = schema.get(id_or_name).ok_or_else(CoreError::not_found)?;
    let obj = input
        .as_object()
        .ok_or_else(CoreError::generic_bad_request)?;
    let message = "Failed to update collection.";
    let mut errors = FieldErrors::new();
    let mut c = draft_update(&old, obj, &mut errors)?;
    c.updated = now();
    let id = c.id.clone();
    backend
        .store
        .write(move |tx| save_with_renames(tx, &schema, c, Some(&old), errors, message).map(|_| ()))
        .await?;
    backend.reload_schema().await?;
    backend.schema().get(&id).ok_or_else(CoreError::not_found)
}

/// Another collection with a relation to `c`: while there is one, `c` cannot go.
fn referenced_by<'a>(schema: &'a Schema, c: &Collection) -> Option<&'a Arc<Collection>> {
    schema
        .all()
        .find(|o| o.id != c.id && o.relations_to(&c.id).next().is_some())
}

/// Drops a collection's table (or view) and its definition inside the write transaction.
pub(super) fn drop_collection(tx: &WriteTx, c: &Collection) -> std::result::Result<(), StoreError> {
    tx.apply(&if c.kind == CollectionType::View {
        SchemaChange::DropView {
            name: c.name.clone(),
        }
    } else {
        SchemaChange::DropTable {
            table: c.name.clone(),
        }
    })?;
    tx.delete("_collections", &c.id)?;
    Ok(())
}

pub async fn delete_collection(backend: &Backend, id_or_name: &str) -> Result<()> {
    let schema = backend.schema();
    let c = schema.get(id_or_name).ok_or_else(CoreError::not_found)?;
    if c.system || c.is_superusers() {
        return Err(CoreError::BadRequest("Failed to delete collection.".into()));
    }
    if let Some(other) = referenced_by(&schema, &c) {
        return Err(CoreError::BadRequest(format!(
            "Failed to delete collection probably due to existing reference in {}.",
            other.name
        )));
    }
    let dropped = c.clone();
    backend
        .store
        .write(move |tx| drop_collection(tx, &c))
        .await?;
    remove_files(backend, &dropped).await;
    backend.reload_schema().await
}

/// Removes a collection's stored files once its records are gone. The database change is
/// already committed, so a failure here only leaves orphan files behind (and is logged).
async fn remove_files(backend: &Backend, c: &Collection) {
    if !c.fields.iter().any(|f| f.kind == FieldType::File) {
        return;
    }
    let removed = match backend.files.current(&backend.settings()) {
        Ok(store) => store.delete_prefix(&c.id).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = removed {
        tracing::warn!(collection = %c.name, error = %e, "could not remove the collection's files");
    }
}

pub async fn truncate_collection(backend: &Backend, id_or_name: &str) -> Result<()> {
    let c = backend
        .schema()
        .get(id_or_name)
        .ok_or_else(CoreError::not_found)?;
    if c.is_superusers() {
        return Err(CoreError::BadRequest(
            "The superusers collection cannot be truncated.".into(),
        ));
    }
    if c.kind == CollectionType::View {
        return Err(CoreError::BadRequest(
            "View collections cannot be truncated since they don't store their own records.".into(),
        ));
    }
    let schema = backend.schema();
    let emptied = c.clone();
    backend
        .store
        .write(move |tx| crate::records::truncate(tx, &schema, &c))
        .await?;
    remove_files(backend, &emptied).await;
    Ok(())
}

/// Output form: token secrets never leave the server.
pub fn public_json(c: &Collection) -> Json {
    let mut v = serde_json::to_value(c).unwrap_or(json!({}));
    crate::auth::oauth2::config::hide_secrets(&mut v);
    if let Some(obj) = v.as_object_mut() {
        for key in [
            "authToken",
            "passwordResetToken",
            "emailChangeToken",
            "verificationToken",
            "fileToken",
        ] {
            if let Some(t) = obj.get_mut(key).and_then(Json::as_object_mut) {
                t.remove("secret");
            }
        }
    }
    v
}
