//! `POST /api/batch`: `{"requests": [{method, url, headers, body}]}` as JSON, or as a multipart
//! form whose `@jsonPayload` holds that JSON and whose files are named `requests.N.field`. Each
//! request is routed to a record write and runs with the caller's identity and its own rules;
//! the first failure rolls everything back and is reported with its own response inside
//! PocketBase's `batch_request_failed` shape.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use motorbase_core::batch::{run, BatchAction, BatchError, BatchWrite};
use motorbase_core::error::{ErrorData, FieldError, FieldErrors};
use motorbase_core::files::Upload;
use motorbase_core::rules::RequestCtx;
use serde::Deserialize;
use serde_json::{json, Map, Value as Json_};

use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_json_object, read_multipart, serde_urlencoded_pairs, Ctx};
use crate::records::write_options;
use crate::AppState;

/// PocketBase's batch body limit when the setting is 0.
const DEFAULT_MAX_BODY: usize = 128 << 20;
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

#[derive(Deserialize)]
struct BatchBody {
    #[serde(default)]
    requests: Vec<SubRequest>,
}

#[derive(Deserialize)]
struct SubRequest {
    #[serde(default)]
    method: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    headers: Map<String, Json_>,
    #[serde(default)]
    body: Option<Map<String, Json_>>,
}

pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    req: Request,
) -> ApiResult<Response> {
    let settings = state.backend.settings();
    let batch = settings.get("batch").cloned().unwrap_or(Json_::Null);
    let num = |k: &str| batch.get(k).and_then(Json_::as_f64).unwrap_or(0.0);
    if batch.get("enabled").and_then(Json_::as_bool) != Some(true) {
        return Err(ApiError::forbidden("Batch requests are not allowed."));
    }
    let max_body = match num("maxBodySize") {
        n if n > 0.0 => n as usize,
        _ => DEFAULT_MAX_BODY,
    };
    let (fields, files) = read_body(req, &state, max_body).await?;
    let parsed: BatchBody = serde_json::from_value(Json_::Object(fields)).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Failed to read the submitted batch data.",
        )
    })?;
    validate(&parsed, num("maxRequests") as usize)?;
    let mut uploads: Vec<Vec<Upload>> = vec![vec![]; parsed.requests.len()];
    for mut f in files {
        // `requests.N.field`: the file belongs to request N, under `field`.
        let Some((n, key)) = f
            .key
            .strip_prefix("requests.")
            .and_then(|rest| rest.split_once('.'))
        else {
            continue;
        };
        if let Some(list) = n.parse::<usize>().ok().and_then(|n| uploads.get_mut(n)) {
            f.key = key.to_string();
            list.push(f);
        }
    }
    let writes = parsed
        .requests
        .into_iter()
        .zip(uploads)
        .map(|(r, files)| route(r, files, &ctx))
        .collect();
    let timeout = match num("timeout") {
        t if t > 0.0 => Duration::from_secs_f64(t),
        _ => Duration::from_secs(u32::MAX as u64),
    };
    match run(&state.backend, writes, timeout).await {
        Ok(results) => {
            let out: Vec<Json_> = results
                .into_iter()
                .map(|r| match r {
                    Some(body) => json!({"status": 200, "body": body}),
                    None => json!({"status": 204, "body": null}),
                })
                .collect();
            Ok(Json(Json_::Array(out)).into_response())
        }
        Err(BatchError::Request { index, error }) => {
            let inner = ApiError::from(error);
            let response = json!({
                "status": inner.status.as_u16(),
                "message": inner.message,
                "data": inner.data,
            });
            let body = json!({
                "status": 400,
                "message": "Batch transaction failed.",
                "data": {"requests": {index.to_string(): {
                    "code": "batch_request_failed",
                    "message": "Batch request failed.",
                    "response": response,
                }}},
            });
            Ok((StatusCode::BAD_REQUEST, Json(body)).into_response())
        }
        Err(BatchError::Other(e)) => Err(e.into()),
    }
}

/// The body's fields and files, within the batch's own size limit.
async fn read_body(
    req: Request,
    state: &Arc<AppState>,
    max_body: usize,
) -> ApiResult<(Map<String, Json_>, Vec<Upload>)> {
    let too_large = || ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large.");
    let unreadable = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "Failed to read the submitted batch data.",
        )
    };
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.to_lowercase().starts_with("multipart/form-data"));
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, max_body)
        .await
        .map_err(|_| too_large())?;
    if multipart {
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let mp = Multipart::from_request(req, state)
            .await
            .map_err(|_| unreadable())?;
        let body = read_multipart(mp).await.map_err(|_| unreadable())?;
        return Ok((body.fields, body.files));
    }
    let fields = parse_json_object(&bytes).map_err(|_| unreadable())?;
    Ok((fields, vec![]))
}

fn nested(map: BTreeMap<String, ErrorData>) -> ErrorData {
    ErrorData::Nested(map)
}

/// PocketBase's checks of the batch itself, before anything runs.
fn validate(body: &BatchBody, max_requests: usize) -> ApiResult<()> {
    let invalid = |data: FieldErrors| ApiError {
        status: StatusCode::BAD_REQUEST,
        message: "Invalid batch request data.".into(),
        data,
    };
    let mut data = FieldErrors::new();
    if body.requests.is_empty() {
        data.insert("requests".into(), ErrorData::Field(FieldError::required()));
        return Err(invalid(data));
    }
    if body.requests.len() > max_requests {
        data.insert(
            "requests".into(),
            ErrorData::Field(
                FieldError::new(
                    "validation_length_too_long",
                    format!("The length must be no more than {max_requests}."),
                )
                .with_params(json!({"max": max_requests, "min": 0})),
            ),
        );
        return Err(invalid(data));
    }
    let mut per_request = BTreeMap::new();
    for (i, r) in body.requests.iter().enumerate() {
        let mut errs = BTreeMap::new();
        if r.method.is_empty() {
            errs.insert("method".into(), ErrorData::Field(FieldError::required()));
        } else if !METHODS.contains(&r.method.to_uppercase().as_str()) {
            errs.insert(
                "method".into(),
                ErrorData::Field(FieldError::new(
                    "validation_in_invalid",
                    "Must be a valid value.",
                )),
            );
        }
        if r.url.is_empty() {
            errs.insert("url".into(), ErrorData::Field(FieldError::required()));
        }
        if !errs.is_empty() {
            per_request.insert(i.to_string(), nested(errs));
        }
    }
    if !per_request.is_empty() {
        data.insert("requests".into(), nested(per_request));
        return Err(invalid(data));
    }
    Ok(())
}

/// Routes one request to a record write, with the caller's identity and the request's own
/// method, headers and query for its rules.
fn route(r: SubRequest, uploads: Vec<Upload>, outer: &RequestCtx) -> BatchWrite {
    let method = r.method.to_uppercase();
    let (path, query) = r.url.split_once('?').unwrap_or((r.url.as_str(), ""));
    let q = serde_urlencoded_pairs(query);
    let segments: Vec<&str> = path
        .strip_prefix("/api/collections/")
        .map(|rest| rest.split('/').collect())
        .unwrap_or_default();
    let action = match (method.as_str(), segments.as_slice()) {
        ("POST", [c, "records"]) => Some((c.to_string(), BatchAction::Create)),
        ("PUT", [c, "records"]) => Some((c.to_string(), BatchAction::Upsert)),
        ("PATCH", [c, "records", id]) if !id.is_empty() => {
            Some((c.to_string(), BatchAction::Update(id.to_string())))
        }
        ("DELETE", [c, "records", id]) if !id.is_empty() => {
            Some((c.to_string(), BatchAction::Delete(id.to_string())))
        }
        _ => None,
    };
    let mut ctx = outer.clone();
    ctx.method = method;
    for (k, v) in r.headers {
        ctx.headers.insert(k.to_lowercase().replace('-', "_"), v);
    }
    ctx.query = q
        .iter()
        .map(|(k, v)| (k.clone(), Json_::String(v.clone())))
        .collect();
    let (collection, action) = action.unwrap_or((String::new(), BatchAction::Refused));
    BatchWrite {
        collection,
        action,
        body: r.body.unwrap_or_default(),
        uploads,
        opts: write_options(&q),
        ctx,
    }
}
