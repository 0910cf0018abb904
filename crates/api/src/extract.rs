//! Extractors that speak PocketBase's error format: the caller's identity and request context,
//! and request bodies (JSON or multipart form).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use motorbase_core::files::Upload;
use motorbase_core::rules::RequestCtx;
use serde_json::{Map, Value as Json};

use crate::error::ApiError;
use crate::AppState;

/// Upper bound of a request body (PocketBase's default).
pub const MAX_BODY: usize = 32 << 20;

/// The request context the rules see: caller, method, headers and query.
pub struct Ctx(pub RequestCtx);

impl FromRequestParts<Arc<AppState>> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let auth = match parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        {
            Some(h) if !h.trim().is_empty() => {
                motorbase_core::auth::authenticate(&state.backend, h).await
            }
            _ => None,
        };
        // Tell the request log who the verified caller is.
        if let (Some(a), Some(slot)) = (
            &auth,
            parts.extensions.get::<crate::request_log::AuthSlot>(),
        ) {
            if let Ok(mut s) = slot.0.lock() {
                *s = Some((a.collection.name.clone(), a.id().to_string()));
            }
        }
        let mut headers = Map::new();
        let superuser = auth.as_ref().is_some_and(|a| a.collection.is_superusers());
        if superuser || state.backend.schema().reads_request_headers() {
            for (k, v) in &parts.headers {
                if let Ok(s) = v.to_str() {
                    // Header names arrive lowercase already (`HeaderName`).
                    headers.insert(k.as_str().replace('-', "_"), Json::String(s.to_string()));
                }
            }
        }
        let mut query = Map::new();
        if let Some(q) = parts.uri.query() {
            // Last one wins, as in `serde_urlencoded_pairs`.
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                query.insert(k.into_owned(), Json::String(v.into_owned()));
            }
        }
        Ok(Ctx(RequestCtx {
            auth,
            method: parts.method.as_str().to_string(),
            headers,
            query,
            body: Map::new(),
            context: "default".into(),
        }))
    }
}

/// Decodes `a=1&b=2` query pairs (percent and `+` decoding; the last of a repeated name wins).
pub fn serde_urlencoded_pairs(q: &str) -> HashMap<String, String> {
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A JSON object body, or a form's text fields as one (repeated names become lists). File parts
/// of a multipart form are left out: see [`RecordBody`] for the endpoints that take files.
pub struct Body(pub Map<String, Json>);

impl FromRequest<Arc<AppState>> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        RecordBody::from_request(req, state)
            .await
            .map(|b| Body(b.fields))
    }
}

/// A record write's body: its fields (JSON, urlencoded or multipart, where `@jsonPayload` holds
/// JSON fields) and the files of a multipart form.
pub struct RecordBody {
    pub fields: Map<String, Json>,
    pub files: Vec<Upload>,
}

impl FromRequest<Arc<AppState>> for RecordBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let ctype = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_lowercase();
        if ctype.starts_with("multipart/form-data") {
            let mp = Multipart::from_request(req, state)
                .await
                .map_err(|_| ApiError::bad_request())?;
            return read_multipart(mp).await;
        }
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large.")
            })?;
        let fields = if ctype.starts_with("application/x-www-form-urlencoded") {
            form_fields(&bytes)
        } else if ctype.starts_with("text/plain") {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "Unsupported Content-Type.",
            ));
        } else {
            parse_json_object(&bytes)?
        };
        Ok(RecordBody {
            fields,
            files: vec![],
        })
    }
}

/// Reads a multipart form: text parts as fields, `@jsonPayload` merged in, file parts (those
/// with a file name) as uploads under their part name.
pub async fn read_multipart(mut mp: Multipart) -> Result<RecordBody, ApiError> {
    let mut fields = Map::new();
    let mut files = vec![];
    while let Some(field) = mp.next_field().await.map_err(|_| ApiError::bad_request())? {
        let name = field.name().unwrap_or("").to_string();
        if let Some(filename) = field.file_name().map(str::to_string) {
            let bytes = field.bytes().await.map_err(|_| ApiError::bad_request())?;
            files.push(Upload {
                key: name,
                filename,
                bytes,
            });
            continue;
        }
        let text = field.text().await.map_err(|_| ApiError::bad_request())?;
        if name == "@jsonPayload" {
            if let Ok(Json::Object(o)) = serde_json::from_str::<Json>(&text) {
                fields.extend(o);
            }
            continue;
        }
        push_value(&mut fields, name, Json::String(text));
    }
    Ok(RecordBody { fields, files })
}

/// A urlencoded form as an object; a repeated name becomes a list.
fn form_fields(bytes: &Bytes) -> Map<String, Json> {
    let text = String::from_utf8_lossy(bytes);
    let mut map = Map::new();
    let uri: Option<axum::http::Uri> = format!("/?{text}").parse().ok();
    let pairs = uri
        .and_then(|u| axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&u).ok())
        .map(|q| q.0)
        .unwrap_or_default();
    for (name, value) in pairs {
        push_value(&mut map, name, Json::String(value));
    }
    map
}

fn push_value(map: &mut Map<String, Json>, name: String, value: Json) {
    match map.get_mut(&name) {
        Some(Json::Array(a)) => a.push(value),
        Some(prev) => {
            let first = prev.take();
            *prev = Json::Array(vec![first, value]);
        }
        None => {
            map.insert(name, value);
        }
    }
}

/// An empty body is an empty object; anything but a JSON object is a 400.
pub fn parse_json_object(bytes: &Bytes) -> Result<Map<String, Json>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(o)) => Ok(o),
        _ => Err(ApiError::bad_request()),
    }
}

/// Any JSON body (collections and settings take whole documents).
pub struct JsonBody(pub Json);

impl FromRequest<Arc<AppState>> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &Arc<AppState>) -> Result<Self, ApiError> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY)
            .await
            .map_err(|_| {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request entity too large.")
            })?;
        parse_json_object(&bytes).map(|o| JsonBody(Json::Object(o)))
    }
}

/// Query parameters as a plain map.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(QueryMap(
            parts
                .uri
                .query()
                .map(serde_urlencoded_pairs)
                .unwrap_or_default(),
        ))
    }
}

impl Ctx {
    /// Refuses callers that are not superusers (401 when anonymous, 403 otherwise), as
    /// PocketBase does for the collections and settings APIs.
    pub fn require_superuser(&self) -> Result<(), ApiError> {
        match &self.0.auth {
            None => Err(ApiError::unauthorized()),
            Some(_) if !self.0.is_superuser() => Err(ApiError::forbidden(
                "The authorized record is not allowed to perform this action.",
            )),
            Some(_) => Ok(()),
        }
    }
}
