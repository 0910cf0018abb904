//! Turns a request body into a record's new field values: applies modifiers (`views+`, `tags-`),
//! casts input as PocketBase does, and checks every field's options. Pure: no I/O; the checks
//! that need the database (relations exist, uniqueness) happen in the write transaction.

use serde_json::{json, Map, Value as Json};

use crate::collections::{Collection, Field, FieldType};
use crate::error::{ErrorData, FieldError, FieldErrors};
use crate::files::{sniff, StagedFile};
use crate::util::{format_time, generate_from_pattern, random_alnum, random_lower};

/// Default upper bound of a text field whose `max` is 0, as PocketBase applies it.
const TEXT_DEFAULT_MAX: usize = 5000;
const JSON_DEFAULT_MAX: usize = 1 << 20;
const EDITOR_DEFAULT_MAX: usize = 5 << 20;
/// Default upper bound of one uploaded file when a file field's `maxSize` is 0.
const FILE_DEFAULT_MAX: u64 = 5 << 20;

/// The outcome of validation: the record as it will be stored, plus what still needs work.
#[derive(Debug, Default)]
pub struct Draft {
    /// Every field's final value (the whole record).
    pub record: Map<String, Json>,
    /// The fields whose stored value changes.
    pub changed: Vec<String>,
    /// A new password, still to be hashed.
    pub new_password: Option<String>,
    /// Relation ids to be checked for existence, per field: (field, target collection id, ids).
    pub relations: Vec<(String, String, Vec<String>)>,
    /// Stored names of the uploads the record now references (to be written).
    pub new_files: Vec<String>,
    /// Names of files the record stops referencing (to be deleted after the commit).
    pub removed_files: Vec<String>,
}

pub struct Input<'a> {
    pub collection: &'a Collection,
    /// The stored record on update; `None` on create.
    pub existing: Option<&'a Map<String, Json>>,
    pub body: &'a Map<String, Json>,
    /// Superusers and those passing an auth collection's manageRule.
    pub manager: bool,
    /// Files uploaded with the request, already named.
    pub uploads: &'a [StagedFile],
}

fn fe(code: &str, msg: impl Into<String>) -> FieldError {
    FieldError::new(code, msg)
}

fn min_text(min: usize) -> FieldError {
    fe(
        "validation_min_text_constraint",
        format!("Must be at least {min} character(s)."),
    )
    .with_params(json!({"min": min}))
}

fn max_text(max: usize) -> FieldError {
    fe(
        "validation_max_text_constraint",
        format!("Must be no more than {max} character(s)."),
    )
    .with_params(json!({"max": max}))
}

pub fn compile_pattern(p: &str) -> Option<regex::Regex> {
    regex::Regex::new(p).ok()
}

/// Casts input to text as PocketBase does: scalars are stringified, lists and objects are blank.
fn as_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// Casts input to a number as PocketBase does: unparseable values become 0, not errors.
fn as_number(v: &Json) -> Result<f64, FieldError> {
    Ok(match v {
        Json::Number(n) => n.as_f64().filter(|f| f.is_finite()).unwrap_or(0.0),
        Json::Bool(true) => 1.0,
        Json::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .unwrap_or(0.0),
        _ => 0.0,
    })
}

fn as_bool(v: &Json) -> bool {
    match v {
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => matches!(s.trim(), "1" | "t" | "T" | "true" | "TRUE" | "True"),
        _ => false,
    }
}

/// A list from a multi-value input: arrays as they are, a single string as one item.
fn as_list(v: &Json) -> Vec<String> {
    match v {
        Json::Null => vec![],
        Json::Array(a) => a.iter().map(as_text).filter(|s| !s.is_empty()).collect(),
        Json::String(s) if s.is_empty() => vec![],
        Json::String(s) => {
            // Multipart forms may send a JSON array as text.
            if s.starts_with('[') {
                if let Ok(Json::Array(a)) = serde_json::from_str::<Json>(s) {
                    return a.iter().map(as_text).filter(|s| !s.is_empty()).collect();
                }
            }
            vec![s.clone()]
        }
        other => vec![as_text(other)],
    }
}

fn number_json(f: f64) -> Json {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        json!(f as i64)
    } else {
        json!(f)
    }
}

/// Parses the date forms PocketBase accepts into its stored format; `None` if unparseable.
pub fn normalize_date(s: &str) -> Option<String> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(format_time(t.with_timezone(&Utc)));
    }
    let trimmed = s.trim_end_matches('Z').trim_end_matches(" UTC");
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(trimmed, f) {
            return Some(format_time(t.and_utc()));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d") {
        return Some(format_time(d.and_hms_opt(0, 0, 0)?.and_utc()));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%z") {
        return Some(format_time(t.with_timezone(&Utc)));
    }
    None
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

/// The host of a URL, with or without a scheme.
fn url_host(s: &str) -> &str {
    let rest = s.split_once("://").map_or(s, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    host.split(':').next().unwrap_or("")
}

/// Accepts what PocketBase's URL check accepts: an optional scheme and a host that is a domain
/// name, `localhost` or an IP address; no whitespace.
fn valid_url(s: &str) -> bool {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    if let Some((scheme, _)) = s.split_once("://") {
        let mut cs = scheme.chars();
        if !cs.next().is_some_and(|c| c.is_ascii_alphabetic())
            || !cs.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            return false;
        }
    }
    let host = url_host(s);
    if host.is_empty() || host.starts_with('.') || host.ends_with('-') {
        return false;
    }
    let is_ip =
        host.parse::<std::net::IpAddr>().is_ok() || (host.starts_with('[') && host.ends_with(']'));
    is_ip
        || host.eq_ignore_ascii_case("localhost")
        || (host.contains('.')
            && host.split('.').all(|label| {
                !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            }))
}

fn domain_of(email: &str) -> String {
    email
        .rsplit_once('@')
        .map(|(_, d)| d.to_lowercase())
        .unwrap_or_default()
}

/// The body's value under `{before}{name}{after}` (a modifier key such as `tags+`), found
/// without building that key: this runs three times per field on every write.
fn modifier<'a>(
    body: &'a Map<String, Json>,
    before: &str,
    name: &str,
    after: &str,
) -> Option<&'a Json> {
    body.iter()
        .find(|(k, _)| {
            k.len() == before.len() + name.len() + after.len()
                && k.starts_with(before)
                && k.ends_with(after)
                && k[before.len()..k.len() - after.len()] == *name
        })
        .map(|(_, v)| v)
}

/// Applies `field`, `field+`, `+field` and `field-` from the body to the current value.
fn incoming(
    f: &Field,
    current: &Json,
    body: &Map<String, Json>,
) -> Result<Option<Json>, FieldError> {
    let n = f.name.as_str();
    let set = body.get(n);
    let append = modifier(body, "", n, "+");
    let prepend = modifier(body, "+", n, "");
    let remove = modifier(body, "", n, "-");
    if set.is_none() && append.is_none() && prepend.is_none() && remove.is_none() {
        return Ok(None);
    }
    let mut value = set.cloned().unwrap_or_else(|| current.clone());
    if f.kind == FieldType::Number {
        let mut x = as_number(&value)?;
        if let Some(a) = append {
            x += as_number(a)?;
        }
        if let Some(r) = remove {
            x -= as_number(r)?;
        }
        return Ok(Some(number_json(x)));
    }
    if matches!(
        f.kind,
        FieldType::Select | FieldType::Relation | FieldType::File
    ) {
        let mut list = as_list(&value);
        if let Some(p) = prepend {
            let mut front = as_list(p);
            front.append(&mut list);
            list = front;
        }
        if let Some(a) = append {
            list.extend(as_list(a));
        }
        if let Some(r) = remove {
            let gone = as_list(r);
            list.retain(|x| !gone.contains(x));
        }
        value = json!(list);
    }
    Ok(Some(value))
}

/// Checks and normalises one field's value; returns the stored JSON value.
fn check_field(f: &Field, v: Json, creating: bool) -> Result<Json, FieldError> {
    let required = f.required();
    match f.kind {
        FieldType::Text | FieldType::Editor => {
            let mut s = as_text(&v);
            if f.kind == FieldType::Text && s.is_empty() && creating {
                if let Some(g) = generate_from_pattern(f.opt_str("autogeneratePattern")) {
                    s = g;
                }
            }
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(json!(""))
                };
            }
            if f.kind == FieldType::Editor {
                let max = f
                    .opt_f64("maxSize")
                    .filter(|m| *m > 0.0)
                    .map_or(EDITOR_DEFAULT_MAX, |m| m as usize);
                if s.len() > max {
                    return Err(fe(
                        "validation_content_size_limit",
                        format!("The maximum allowed content size is {max} bytes."),
                    )
                    .with_params(json!({"maxSize": max})));
                }
                return Ok(json!(s));
            }
            check_length(f, &s)?;
            let pattern = f.opt_str("pattern");
            if !pattern.is_empty() && !compile_pattern(pattern).is_some_and(|r| r.is_match(&s)) {
                return Err(fe("validation_invalid_format", "Invalid value format."));
            }
            Ok(json!(s))
        }
        FieldType::Number => {
            let x = as_number(&v)?;
            if x == 0.0 && required {
                return Err(FieldError::required());
            }
            if f.opt_bool("onlyInt") && x.fract() != 0.0 {
                return Err(fe(
                    "validation_only_int_constraint",
                    "Decimal numbers are not allowed.",
                ));
            }
            // An unset optional number (0) is not held to min and max.
            if x != 0.0 || required {
                if let Some(min) = f.opt_f64("min") {
                    if x < min {
                        return Err(fe(
                            "validation_min_number_constraint",
                            format!("Must be greater or equal than {}.", number_json(min)),
                        )
                        .with_params(json!({"min": number_json(min)})));
                    }
                }
                if let Some(max) = f.opt_f64("max") {
                    if x > max {
                        return Err(fe(
                            "validation_max_number_constraint",
                            format!("Must be less or equal than {}.", number_json(max)),
                        )
                        .with_params(json!({"max": number_json(max)})));
                    }
                }
            }
            Ok(number_json(x))
        }
        FieldType::Bool => {
            let b = as_bool(&v);
            if required && !b {
                return Err(FieldError::required());
            }
            Ok(json!(b))
        }
        FieldType::Email => {
            let s = as_text(&v);
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(json!(""))
                };
            }
            if !valid_email(&s) {
                return Err(fe("validation_is_email", "Must be a valid email address."));
            }
            let d = domain_of(&s);
            let only = f.opt_strs("onlyDomains");
            if !only.is_empty() && !only.iter().any(|o| o.eq_ignore_ascii_case(&d)) {
                return Err(fe(
                    "validation_email_domain_not_allowed",
                    "Email domain is not allowed.",
                ));
            }
            if f.opt_strs("exceptDomains")
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&d))
            {
                return Err(fe(
                    "validation_email_domain_not_allowed",
                    "Email domain is not allowed.",
                ));
            }
            Ok(json!(s))
        }
        FieldType::Url => {
            let s = as_text(&v);
            if s.is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(json!(""))
                };
            }
            if !valid_url(&s) {
                return Err(fe("validation_invalid_url", "Must be a valid url."));
            }
            let host = url_host(&s).to_lowercase();
            let only = f.opt_strs("onlyDomains");
            if (!only.is_empty() && !only.iter().any(|o| o.eq_ignore_ascii_case(&host)))
                || f.opt_strs("exceptDomains")
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(&host))
            {
                return Err(fe(
                    "validation_url_domain_not_allowed",
                    "URL domain is not allowed.",
                ));
            }
            Ok(json!(s))
        }
        FieldType::Date => {
            let s = as_text(&v);
            if s.trim().is_empty() {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(json!(""))
                };
            }
            // Unparseable dates are blanked, as PocketBase's cast does.
            let Some(d) = normalize_date(&s) else {
                return if required {
                    Err(FieldError::required())
                } else {
                    Ok(json!(""))
                };
            };
            let (min, max) = (f.opt_str("min"), f.opt_str("max"));
            if !min.is_empty() && normalize_date(min).is_some_and(|m| d < m) {
                return Err(fe(
                    "validation_min_date_constraint",
                    format!("Must be no earlier than {min}."),
                ));
            }
            if !max.is_empty() && normalize_date(max).is_some_and(|m| d > m) {
                return Err(fe(
                    "validation_max_date_constraint",
                    format!("Must be no later than {max}."),
                ));
            }
            Ok(json!(d))
        }
        FieldType::Select | FieldType::Relation | FieldType::File => {
            let mut list = as_list(&v);
            let mut seen = std::collections::HashSet::new();
            list.retain(|x| seen.insert(x.clone()));
            if !f.is_multi() && list.len() > 1 {
                // A single-value field keeps the last value given, as PocketBase does.
                list = list.split_off(list.len() - 1);
            }
            if list.is_empty() && required {
                return Err(FieldError::required());
            }
            if f.kind == FieldType::File {
                // The file checks need the old value and the uploads: see `check_files`.
                return Ok(if f.is_multi() {
                    json!(list)
                } else {
                    json!(list.into_iter().next().unwrap_or_default())
                });
            }
            if f.kind == FieldType::Select {
                let values = f.opt_strs("values");
                if let Some(bad) = list.iter().find(|x| !values.contains(x)) {
                    return Err(
                        fe("validation_invalid_value", format!("Invalid value {bad}."))
                            .with_params(json!({"value": bad})),
                    );
                }
            }
            let max = f.max_select().max(1);
            if list.len() > max {
                return Err(fe(
                    "validation_too_many_values",
                    format!("Select no more than {max}."),
                )
                .with_params(json!({"maxSelect": max})));
            }
            if f.kind == FieldType::Relation {
                let min = f.opt_f64("minSelect").unwrap_or(0.0) as usize;
                if !list.is_empty() && list.len() < min {
                    return Err(fe(
                        "validation_not_enough_values",
                        format!("Select at least {min}."),
                    )
                    .with_params(json!({"minSelect": min})));
                }
            }
            Ok(if f.is_multi() {
                json!(list)
            } else {
                json!(list.into_iter().next().unwrap_or_default())
            })
        }
        FieldType::Json => {
            // Text that is itself JSON is stored as that JSON (forms send everything as text).
            let v = match v {
                Json::String(s) => serde_json::from_str::<Json>(&s).unwrap_or(Json::String(s)),
                other => other,
            };
            let size = serde_json::to_string(&v).map(|s| s.len()).unwrap_or(0);
            let max = f
                .opt_f64("maxSize")
                .filter(|m| *m > 0.0)
                .map_or(JSON_DEFAULT_MAX, |m| m as usize);
            if size > max {
                return Err(fe(
                    "validation_json_size_limit",
                    format!("The maximum allowed JSON size is {max} bytes."),
                )
                .with_params(json!({"maxSize": max})));
            }
            let empty = match &v {
                Json::Null => true,
                Json::String(s) => s.is_empty(),
                Json::Array(a) => a.is_empty(),
                Json::Object(o) => o.is_empty(),
                _ => false,
            };
            if required && empty {
                return Err(FieldError::required());
            }
            Ok(v)
        }
        FieldType::GeoPoint => {
            let obj = match v {
                Json::Object(o) => o,
                Json::String(s) => match serde_json::from_str::<Json>(&s) {
                    Ok(Json::Object(o)) => o,
                    _ => Map::new(),
                },
                _ => Map::new(),
            };
            let coord = |k: &str| {
                obj.get(k)
                    .map(as_number)
                    .transpose()
                    .map(|x| x.unwrap_or(0.0))
            };
            let (lon, lat) = (coord("lon")?, coord("lat")?);
            if !(-90.0..=90.0).contains(&lat) {
                return Err(fe(
                    "validation_invalid_latitude",
                    "Latitude must be between -90 and 90 degrees.",
                ));
            }
            if !(-180.0..=180.0).contains(&lon) {
                return Err(fe(
                    "validation_invalid_longitude",
                    "Longitude must be between -180 and 180 degrees.",
                ));
            }
            if required && lon == 0.0 && lat == 0.0 {
                return Err(FieldError::required());
            }
            Ok(json!({"lon": number_json(lon), "lat": number_json(lat)}))
        }
        FieldType::Autodate | FieldType::Password => Ok(v),
    }
}

/// The body with each upload's stored name added under the key it came with (`docs`, `docs+`,
/// `+docs`), after any names sent as text under the same key, as PocketBase merges them.
fn with_uploads(body: &Map<String, Json>, uploads: &[StagedFile]) -> Map<String, Json> {
    let mut out = body.clone();
    for u in uploads {
        let mut list = out.get(&u.key).map(as_list).unwrap_or_default();
        list.push(u.name.clone());
        out.insert(u.key.clone(), json!(list));
    }
    out
}

/// A file field's final names against its old ones and the uploads, in PocketBase's order:
/// names that are neither kept nor uploaded, too many files, then each upload's size and type.
fn check_files(
    f: &Field,
    names: &[String],
    old: &[String],
    uploads: &[StagedFile],
) -> Result<(), FieldError> {
    let upload = |n: &String| uploads.iter().find(|u| u.field == f.name && &u.name == n);
    let invalid: Vec<&str> = names
        .iter()
        .filter(|n| !old.contains(n) && upload(n).is_none())
        .map(String::as_str)
        .collect();
    if !invalid.is_empty() {
        return Err(fe(
            "validation_invalid_file",
            format!("Invalid new files: [{}].", invalid.join(" ")),
        )
        .with_params(json!({"invalidFiles": invalid})));
    }
    let max = f.max_select().max(1);
    if names.len() > max {
        return Err(fe(
            "validation_too_many_files",
            format!("The maximum allowed files is {max}."),
        )
        .with_params(json!({"maxSelect": max})));
    }
    let max_size = f
        .opt_f64("maxSize")
        .filter(|m| *m > 0.0)
        .map_or(FILE_DEFAULT_MAX, |m| m as u64);
    let mime_types = f.opt_strs("mimeTypes");
    for u in names.iter().filter_map(upload) {
        if u.bytes.len() as u64 > max_size {
            return Err(fe(
                "validation_file_size_limit",
                format!(
                    "Failed to upload {} - the maximum allowed file size is {max_size} bytes.",
                    u.original
                ),
            )
            .with_params(json!({"file": u.original, "maxSize": max_size})));
        }
        if !mime_types.is_empty() && !sniff::is_one_of(&u.mime, &mime_types) {
            return Err(fe(
                "validation_invalid_mime_type",
                format!(
                    "\"{}\" mime type must be one of: {}.",
                    u.name,
                    mime_types.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A text field's `min` and `max` in characters (`max` 0 means PocketBase's default 5000).
fn check_length(f: &Field, s: &str) -> Result<(), FieldError> {
    let len = s.chars().count();
    let min = f.opt_f64("min").unwrap_or(0.0) as usize;
    let max = f
        .opt_f64("max")
        .filter(|m| *m > 0.0)
        .map_or(TEXT_DEFAULT_MAX, |m| m as usize);
    if len < min {
        return Err(min_text(min));
    }
    if len > max {
        return Err(max_text(max));
    }
    Ok(())
}

/// A client-chosen id: the id field's length, then its pattern.
fn check_id(f: &Field, id: &str) -> Result<(), FieldError> {
    check_length(f, id)?;
    let pattern_ok = compile_pattern(f.opt_str("pattern")).is_none_or(|r| r.is_match(id));
    if !pattern_ok || !id.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
        return Err(fe("validation_invalid_format", "Invalid value format."));
    }
    Ok(())
}

/// A new password (with its confirmation) from the body; errors go to `errors`.
fn check_password(
    f: &Field,
    input: &Input,
    creating: bool,
    errors: &mut FieldErrors,
) -> Option<String> {
    let pw = input.body.get(&f.name).map(as_text).unwrap_or_default();
    let confirm = input
        .body
        .get("passwordConfirm")
        .map(as_text)
        .unwrap_or_default();
    if pw.is_empty() {
        if creating && f.required() {
            errors.insert(f.name.clone(), ErrorData::Field(FieldError::required()));
            errors.insert(
                "passwordConfirm".into(),
                ErrorData::Field(FieldError::required()),
            );
        }
        return None;
    }
    let min = f.opt_f64("min").filter(|m| *m > 0.0).unwrap_or(8.0) as usize;
    // bcrypt's limit, which PocketBase keeps; argon2 has none but the contract stays the same.
    let max = f.opt_f64("max").filter(|m| *m > 0.0).unwrap_or(71.0) as usize;
    let len = pw.chars().count();
    if len < min {
        errors.insert(f.name.clone(), ErrorData::Field(min_text(min)));
    } else if pw.len() > max {
        errors.insert(
            f.name.clone(),
            ErrorData::Field(
                fe(
                    "validation_max_text_constraint",
                    format!("Must be less than {max} character(s)."),
                )
                .with_params(json!({"max": max})),
            ),
        );
    }
    if confirm.is_empty() {
        errors.insert(
            "passwordConfirm".into(),
            ErrorData::Field(FieldError::required()),
        );
    } else if confirm != pw {
        errors.insert(
            "passwordConfirm".into(),
            ErrorData::Field(fe("validation_values_mismatch", "Values don't match.")),
        );
    }
    if !creating
        && !input.manager
        && input
            .body
            .get("oldPassword")
            .map(as_text)
            .unwrap_or_default()
            .is_empty()
    {
        errors.insert(
            "oldPassword".into(),
            ErrorData::Field(FieldError::required()),
        );
    }
    Some(pw)
}

/// Validates the body against the collection and builds the record as it will be stored.
pub fn prepare(input: &Input) -> Result<Draft, FieldErrors> {
    let c = input.collection;
    let creating = input.existing.is_none();
    let mut errors = FieldErrors::new();
    let mut draft = Draft::default();
    let now = crate::util::now();
    let with_files;
    let body = if input.uploads.is_empty() {
        input.body
    } else {
        with_files = with_uploads(input.body, input.uploads);
        &with_files
    };

    for f in &c.fields {
        let current = input
            .existing
            .and_then(|e| e.get(&f.name).cloned())
            .unwrap_or_else(|| f.zero_json());
        match (f.kind, f.name.as_str()) {
            (_, "id") => {
                let given = input.body.get("id").map(as_text).filter(|s| !s.is_empty());
                let id = match (creating, given) {
                    (true, Some(id)) => {
                        if let Err(e) = check_id(f, &id) {
                            errors.insert("id".into(), ErrorData::Field(e));
                        }
                        id
                    }
                    (true, None) => generate_from_pattern(f.opt_str("autogeneratePattern"))
                        .unwrap_or_else(|| random_lower(15)),
                    (false, given) => {
                        let id = as_text(&current);
                        if given.is_some_and(|g| g != id) {
                            errors.insert(
                                "id".into(),
                                ErrorData::Field(fe(
                                    "validation_pk_change",
                                    "The record primary key cannot be changed.",
                                )),
                            );
                        }
                        id
                    }
                };
                draft.record.insert("id".into(), json!(id));
                continue;
            }
            (FieldType::Autodate, name) => {
                let set =
                    (creating && f.opt_bool("onCreate")) || (!creating && f.opt_bool("onUpdate"));
                if set {
                    draft.record.insert(name.into(), json!(now));
                    draft.changed.push(name.into());
                } else {
                    draft.record.insert(name.into(), current);
                }
                continue;
            }
            (FieldType::Password, name) => {
                draft.record.insert(name.into(), current.clone());
                let mut pw_errors = FieldErrors::new();
                if let Some(pw) = check_password(f, input, creating, &mut pw_errors) {
                    draft.new_password = Some(pw);
                    draft.changed.push(name.into());
                }
                if !pw_errors.is_empty() {
                    // PocketBase reports password problems alone, before any other field's.
                    return Err(pw_errors);
                }
                continue;
            }
            (_, "tokenKey") if c.is_auth() => {
                let key = if creating || draft.new_password.is_some() {
                    draft.changed.push("tokenKey".into());
                    json!(random_alnum(50))
                } else {
                    current
                };
                draft.record.insert("tokenKey".into(), key);
                continue;
            }
            (_, "verified") if c.is_auth() && !input.manager => {
                // Only managers may change whether an account is verified.
                if input
                    .body
                    .get("verified")
                    .is_some_and(|v| as_bool(v) != as_bool(&current))
                {
                    errors.insert(
                        "verified".into(),
                        ErrorData::Field(fe("validation_values_mismatch", "Values don't match.")),
                    );
                }
                draft.record.insert("verified".into(), current);
                continue;
            }
            _ => {}
        }
        let value = match incoming(f, &current, body) {
            Ok(v) => v,
            Err(e) => {
                errors.insert(f.name.clone(), ErrorData::Field(e));
                continue;
            }
        };
        let changed = value.is_some();
        let candidate = value.unwrap_or(current);
        // Fields not sent are checked too, so a required field cannot stay empty.
        match check_field(f, candidate, creating) {
            Ok(v) => {
                if f.kind == FieldType::Relation && changed {
                    let ids = match &v {
                        Json::Array(a) => a.iter().map(as_text).collect(),
                        Json::String(s) if !s.is_empty() => vec![s.clone()],
                        _ => vec![],
                    };
                    if !ids.is_empty() {
                        draft.relations.push((
                            f.name.clone(),
                            f.opt_str("collectionId").to_string(),
                            ids,
                        ));
                    }
                }
                if f.kind == FieldType::File {
                    let old = input
                        .existing
                        .and_then(|e| e.get(&f.name))
                        .map(as_list)
                        .unwrap_or_default();
                    let names = as_list(&v);
                    if let Err(e) = check_files(f, &names, &old, input.uploads) {
                        errors.insert(f.name.clone(), ErrorData::Field(e));
                        continue;
                    }
                    draft
                        .new_files
                        .extend(names.iter().filter(|n| !old.contains(n)).cloned());
                    draft
                        .removed_files
                        .extend(old.into_iter().filter(|n| !names.contains(n)));
                }
                if changed || creating {
                    draft.changed.push(f.name.clone());
                }
                draft.record.insert(f.name.clone(), v);
            }
            Err(e) => {
                errors.insert(f.name.clone(), ErrorData::Field(e));
            }
        }
    }
    // The token key must change with the password even though it comes earlier in field order.
    if draft.new_password.is_some() && !draft.changed.iter().any(|c| c == "tokenKey") && c.is_auth()
    {
        draft
            .record
            .insert("tokenKey".into(), json!(random_alnum(50)));
        draft.changed.push("tokenKey".into());
    }
    if errors.is_empty() {
        Ok(draft)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_normalise() {
        for (input, want) in [
            ("2024-01-02", "2024-01-02 00:00:00.000Z"),
            ("2024-01-02T03:04:05Z", "2024-01-02 03:04:05.000Z"),
            ("2024-01-02 03:04:05", "2024-01-02 03:04:05.000Z"),
            ("2024-01-02 03:04:05.123Z", "2024-01-02 03:04:05.123Z"),
            ("2024-01-02T03:04:05+02:00", "2024-01-02 01:04:05.000Z"),
        ] {
            assert_eq!(normalize_date(input).as_deref(), Some(want), "{input}");
        }
        assert!(normalize_date("yesterday").is_none());
    }

    #[test]
    fn emails_and_urls() {
        assert!(valid_email("a@example.com"));
        assert!(!valid_email("a@b"));
        assert!(!valid_email("not an email"));
        assert!(valid_url("https://example.com/x?y=1"));
        assert!(valid_url("example.com"));
        assert!(valid_url("ftp://example.com/x"));
        assert!(!valid_url("not a url"));
        assert!(!valid_url("http://"));
    }
}
