//! `GET /api/files/{collection}/{recordId}/{filename}`: the file is found through the record's
//! field value (never by joining the URL onto a path) and served with headers that keep an
//! uploaded page or SVG from running script on this origin.

use std::ops::Range;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use motorbase_core::files::{locate, open, sniff};

use crate::error::{ApiError, ApiResult};
use crate::extract::QueryMap;
use crate::AppState;

/// Served files may not run script, load anything or be framed into the app.
const SANDBOX: &str = "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox";
const CACHE: &str = "max-age=2592000, stale-while-revalidate=86400";

/// Types a browser may show in place; everything else downloads.
const INLINE: &[&str] = &[
    "image/png",
    "image/jpg",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/x-icon",
    "image/bmp",
    "video/webm",
    "video/mp4",
    "video/3gpp",
    "video/quicktime",
    "video/x-ms-wmv",
    "audio/basic",
    "audio/aiff",
    "audio/mpeg",
    "audio/midi",
    "audio/mp3",
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-mpeg",
    "audio/x-m4a",
    "audio/aac",
    "application/pdf",
    "application/x-pdf",
];

pub async fn handler(
    State(state): State<Arc<AppState>>,
    Path((collection, record_id, filename)): Path<(String, String, String)>,
    QueryMap(q): QueryMap,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    let at = locate(
        &state.backend,
        &collection,
        &record_id,
        &filename,
        get("token"),
    )
    .await?;
    let file = open(&state.backend, &at, get("thumb")).await?;
    let download = !matches!(
        get("download"),
        "" | "0" | "false" | "f" | "False" | "FALSE"
    );
    let inline = !download && INLINE.contains(&sniff::essence(&file.mime).as_str());
    let disposition = format!(
        "{}; filename=\"{}\"",
        if inline { "inline" } else { "attachment" },
        file.name
    );
    let mut out = HeaderMap::new();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(name, v);
        }
    };
    set(header::CONTENT_DISPOSITION, &disposition);
    set(header::CONTENT_SECURITY_POLICY, SANDBOX);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::CACHE_CONTROL, CACHE);
    set(header::CONTENT_TYPE, &file.mime);
    let size = file.meta.size;
    if not_modified_since(&headers, file.meta.modified) {
        out.remove(header::CONTENT_TYPE);
        out.insert(header::LAST_MODIFIED, http_date(file.meta.modified));
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => None,
        Some(spec) => match parse_range(spec, size) {
            RangeAsk::Whole => None,
            RangeAsk::Part(r) => Some(r),
            RangeAsk::Unsatisfiable => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    out.insert(header::CONTENT_RANGE, v);
                }
                return Ok((StatusCode::RANGE_NOT_SATISFIABLE, out).into_response());
            }
        },
    };
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::LAST_MODIFIED, http_date(file.meta.modified));
    let (status, len) = match &range {
        Some(r) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {}-{}/{size}", r.start, r.end - 1))
            {
                out.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, r.end - r.start)
        }
        None => (StatusCode::OK, size),
    };
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let body = if len == 0 {
        Body::empty()
    } else {
        let stream = file
            .store
            .stream(&file.key, range)
            .await
            .map_err(|e| ApiError::from(motorbase_core::CoreError::from(e)))?;
        Body::from_stream(stream)
    };
    Ok((status, out, body).into_response())
}

fn http_date(t: DateTime<Utc>) -> HeaderValue {
    HeaderValue::from_str(&t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or(HeaderValue::from_static(""))
}

/// `If-Modified-Since` at or after the file's time (to the second).
fn not_modified_since(headers: &HeaderMap, modified: DateTime<Utc>) -> bool {
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| DateTime::parse_from_rfc2822(s).ok())
        .is_some_and(|since| modified.timestamp() <= since.timestamp())
}

#[derive(Debug, PartialEq)]
enum RangeAsk {
    Whole,
    Part(Range<u64>),
    Unsatisfiable,
}

/// One `bytes=` range (`a-b`, `a-`, `-n`); several ranges or a malformed header serve the whole
/// file, a range past the end is unsatisfiable.
fn parse_range(spec: &str, size: u64) -> RangeAsk {
    let Some(set) = spec.trim().strip_prefix("bytes=") else {
        return RangeAsk::Whole;
    };
    if set.contains(',') {
        return RangeAsk::Whole;
    }
    let Some((a, b)) = set.trim().split_once('-') else {
        return RangeAsk::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let num = |s: &str| s.parse::<u64>().ok();
    let range = match (a.is_empty(), b.is_empty()) {
        (true, false) => match num(b) {
            Some(0) => return RangeAsk::Unsatisfiable,
            Some(n) => size.saturating_sub(n)..size,
            None => return RangeAsk::Whole,
        },
        (false, _) => {
            let Some(start) = num(a) else {
                return RangeAsk::Whole;
            };
            let end = if b.is_empty() {
                size
            } else {
                match num(b) {
                    Some(e) if e >= start => (e + 1).min(size),
                    _ => return RangeAsk::Whole,
                }
            };
            if start >= size {
                return RangeAsk::Unsatisfiable;
            }
            start..end
        }
        (true, true) => return RangeAsk::Whole,
    };
    if range.is_empty() {
        RangeAsk::Unsatisfiable
    } else {
        RangeAsk::Part(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=2-5", 11), RangeAsk::Part(2..6));
        assert_eq!(parse_range("bytes=2-", 11), RangeAsk::Part(2..11));
        assert_eq!(parse_range("bytes=-3", 11), RangeAsk::Part(8..11));
        assert_eq!(parse_range("bytes=5-100", 11), RangeAsk::Part(5..11));
        assert_eq!(parse_range("bytes=50-60", 11), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,3-4", 11), RangeAsk::Whole);
        assert_eq!(parse_range("items=0-1", 11), RangeAsk::Whole);
        assert_eq!(parse_range("bytes=5-2", 11), RangeAsk::Whole);
    }
}
