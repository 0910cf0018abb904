//! Application settings: PocketBase's sections, stored as one JSON document in `_params`.

use motorbase_store::{Cond, Operand, Path, Select, StoreError, Value};
use serde_json::{json, Map, Value as Json};

use crate::error::{CoreError, ErrorData, FieldError, FieldErrors, Result};
use crate::Backend;

const PARAMS_KEY: &str = "settings";

/// Secrets that are stored but never returned.
const SECRET_PATHS: &[(&str, &str)] = &[("smtp", "password"), ("s3", "secret")];

pub fn defaults() -> Json {
    json!({
        "meta": {"appName": "Acme", "appURL": "http://localhost:8090", "senderName": "Support", "senderAddress": "support@example.com", "hideControls": false},
        "logs": {"maxDays": 5, "minLevel": 0, "logIP": true, "logAuthId": false},
        "smtp": {"enabled": false, "host": "smtp.example.com", "port": 587, "username": "", "password": "", "authMethod": "", "tls": false, "localName": ""},
        "s3": {"enabled": false, "bucket": "", "region": "", "endpoint": "", "accessKey": "", "secret": "", "forcePathStyle": false},
        "batch": {"enabled": false, "maxRequests": 50, "timeout": 3, "maxBodySize": 0},
        "rateLimits": {"enabled": false, "excludedIPs": [], "rules": [
            {"label": "*:auth", "audience": "", "duration": 3, "maxRequests": 2},
            {"label": "*:create", "audience": "", "duration": 5, "maxRequests": 20},
            {"label": "/api/batch", "audience": "", "duration": 1, "maxRequests": 3},
            {"label": "/api/", "audience": "", "duration": 10, "maxRequests": 300}
        ]},
        "trustedProxy": {"headers": [], "useLeftmostIP": false},
        "superuserIPs": []
    })
}

/// Merges `patch` into `target` section by section, key by key.
fn merge(target: &mut Json, patch: &Json) {
    match (target, patch) {
        (Json::Object(t), Json::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

pub async fn load(backend: &Backend) -> Result<Json> {
    let q = Select {
        table: "_params".into(),
        columns: vec![("value".into(), motorbase_store::ColumnKind::Json)],
        filter: Cond::Cmp {
            left: Operand::Path(Path::column("id")),
            op: motorbase_store::CmpOp::Eq,
            right: Operand::Value(Value::Text(PARAMS_KEY.into())),
            any: false,
        },
        sort: vec![],
        limit: Some(1),
        offset: 0,
    };
    let stored = backend
        .store
        .read(move |r| -> std::result::Result<_, StoreError> {
            Ok(r.select(&q)?.into_iter().next())
        })
        .await?;
    let mut s = defaults();
    if let Some(row) = stored {
        if let Some(v) = row.into_iter().next() {
            merge(&mut s, &v);
        }
    }
    Ok(s)
}

/// What a superuser sees: secrets blanked.
pub fn public(settings: &Json) -> Json {
    let mut s = settings.clone();
    for (section, key) in SECRET_PATHS {
        if let Some(obj) = s.get_mut(*section).and_then(Json::as_object_mut) {
            obj.remove(*key);
        }
    }
    s
}

fn nested_err(errors: &mut FieldErrors, section: &str, key: &str, e: FieldError) {
    let entry = errors
        .entry(section.to_string())
        .or_insert_with(|| ErrorData::Nested(Default::default()));
    if let ErrorData::Nested(m) = entry {
        m.insert(key.to_string(), ErrorData::Field(e));
    }
}

fn no_less_than_zero() -> FieldError {
    FieldError::new(
        "validation_min_greater_equal_than_required",
        "Must be no less than 0.",
    )
    .with_params(json!({"threshold": 0}))
}

/// Whether every setting keeps the JSON type its default has (a number stays a number...).
fn same_shape(default: &Json, value: &Json) -> bool {
    match (default, value) {
        (Json::Object(d), Json::Object(v)) => d
            .iter()
            .all(|(k, dv)| v.get(k).is_none_or(|vv| same_shape(dv, vv))),
        (Json::Object(_), _) => false,
        (Json::String(_), Json::String(_))
        | (Json::Bool(_), Json::Bool(_))
        | (Json::Number(_), Json::Number(_)) => true,
        (Json::Array(_), Json::Array(_)) => true,
        _ => false,
    }
}

fn validate(s: &Json) -> FieldErrors {
    let mut errors = FieldErrors::new();
    let str_of = |sec: &str, k: &str| {
        s.get(sec)
            .and_then(|x| x.get(k))
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let num_of = |sec: &str, k: &str| s.get(sec).and_then(|x| x.get(k)).and_then(Json::as_f64);
    if str_of("meta", "appName").trim().is_empty() {
        nested_err(&mut errors, "meta", "appName", FieldError::required());
    }
    let url = str_of("meta", "appURL");
    if url.trim().is_empty() {
        nested_err(&mut errors, "meta", "appURL", FieldError::required());
    } else if !(url.starts_with("http://") || url.starts_with("https://")) {
        nested_err(
            &mut errors,
            "meta",
            "appURL",
            FieldError::new("validation_is_url", "Must be a valid URL."),
        );
    }
    let sender = str_of("meta", "senderAddress");
    if sender.is_empty() {
        nested_err(&mut errors, "meta", "senderAddress", FieldError::required());
    } else if !sender.contains('@') {
        nested_err(
            &mut errors,
            "meta",
            "senderAddress",
            FieldError::new("validation_is_email", "Must be a valid email address."),
        );
    }
    if s.get("smtp")
        .and_then(|x| x.get("enabled"))
        .and_then(Json::as_bool)
        == Some(true)
    {
        if str_of("smtp", "host").trim().is_empty() {
            nested_err(&mut errors, "smtp", "host", FieldError::required());
        }
        match num_of("smtp", "port") {
            Some(p) if p > 0.0 && p < 65536.0 => {}
            _ => nested_err(&mut errors, "smtp", "port", FieldError::required()),
        }
    }
    if s.get("s3")
        .and_then(|x| x.get("enabled"))
        .and_then(Json::as_bool)
        == Some(true)
    {
        for k in ["bucket", "region", "endpoint", "accessKey", "secret"] {
            if str_of("s3", k).trim().is_empty() {
                nested_err(&mut errors, "s3", k, FieldError::required());
            }
        }
    }
    for (k, min) in [("maxRequests", 0.0), ("timeout", 0.0), ("maxBodySize", 0.0)] {
        if num_of("batch", k).is_some_and(|v| v < min) {
            nested_err(&mut errors, "batch", k, no_less_than_zero());
        }
    }
    if s.get("batch")
        .and_then(|x| x.get("enabled"))
        .and_then(Json::as_bool)
        == Some(true)
        && num_of("batch", "maxRequests").unwrap_or(0.0) <= 0.0
    {
        nested_err(&mut errors, "batch", "maxRequests", FieldError::required());
    }
    if num_of("logs", "maxDays").is_some_and(|v| v < 0.0) {
        nested_err(&mut errors, "logs", "maxDays", no_less_than_zero());
    }
    if let Some(rules) = s
        .get("rateLimits")
        .and_then(|r| r.get("rules"))
        .and_then(Json::as_array)
    {
        for r in rules {
            let bad = r
                .get("label")
                .and_then(Json::as_str)
                .is_none_or(str::is_empty)
                || r.get("duration")
                    .and_then(Json::as_f64)
                    .is_none_or(|d| d <= 0.0)
                || r.get("maxRequests")
                    .and_then(Json::as_f64)
                    .is_none_or(|d| d <= 0.0);
            if bad {
                nested_err(
                    &mut errors,
                    "rateLimits",
                    "rules",
                    FieldError::new(
                        "validation_invalid_rate_limit_rule",
                        "Invalid rate limit rule.",
                    ),
                );
            }
        }
    }
    errors
}

/// Applies a PATCH: known sections only, merged, validated, stored.
pub async fn update(backend: &Backend, patch: &Json) -> Result<Json> {
    let patch = patch
        .as_object()
        .ok_or_else(CoreError::generic_bad_request)?;
    let mut s = load(backend).await?;
    let known: Map<String, Json> = patch
        .iter()
        .filter(|(k, _)| defaults().get(k.as_str()).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    merge(&mut s, &Json::Object(known));
    if !same_shape(&defaults(), &s) {
        return Err(CoreError::BadRequest(
            "An error occurred while loading the submitted data.".into(),
        ));
    }
    let errors = validate(&s);
    if !errors.is_empty() {
        return Err(CoreError::validation(
            "An error occurred while saving the new settings.",
            errors,
        ));
    }
    let text = s.to_string();
    backend
        .store
        .write(move |tx| -> std::result::Result<(), StoreError> {
            let row = [("value".to_string(), Value::Text(text.clone()))];
            if !tx.update("_params", PARAMS_KEY, &row)? {
                tx.insert(
                    "_params",
                    &[
                        ("id".into(), Value::Text(PARAMS_KEY.into())),
                        row[0].clone(),
                    ],
                )?;
            }
            Ok(())
        })
        .await?;
    // New rules start with fresh counts.
    if backend.settings().get("rateLimits") != s.get("rateLimits") {
        backend.auth.windows.reset();
    }
    backend.set_settings(s.clone());
    Ok(s)
}
