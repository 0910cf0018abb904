//! `GET /_/` and `GET /_/{*path}`: the dashboard's files from `ui/`, compiled into the binary so
//! a single file is the whole product. Paths without an extension are client routes and get
//! `index.html`; a missing file with an extension is PocketBase's "File not found." 404.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use include_dir::{include_dir, Dir, File};

use crate::error::ApiError;

static UI: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../ui");

const INDEX: &str = "index.html";

/// The page may load only its own scripts, styles and API; images may also be data or blob
/// URLs (previews of files about to be uploaded).
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; \
                   base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

/// `GET /_`: PocketBase redirects to the dashboard's root.
pub async fn redirect() -> Redirect {
    Redirect::temporary("/_/")
}

/// `GET /_/`.
pub async fn index(headers: HeaderMap) -> Response {
    serve(INDEX, &headers)
}

/// `GET /_/{*path}`.
pub async fn handler(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let path = path.trim_start_matches('/');
    if UI.get_file(path).is_some() {
        return serve(path, &headers);
    }
    let last = path.rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        return ApiError::new(StatusCode::NOT_FOUND, "File not found.").into_response();
    }
    serve(INDEX, &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(file) = UI.get_file(path) else {
        return ApiError::new(StatusCode::NOT_FOUND, "File not found.").into_response();
    };
    let etag = etag_of(path, file);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        file.contents().into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // Files keep their names across releases (there is no build step to hash them), so the
    // browser revalidates every time; an unchanged file costs a 304.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The install link's token sits in the URL fragment; never pass the URL on.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    resp
}

/// A strong validator per file, computed once from its bytes.
fn etag_of(path: &str, file: &File<'static>) -> String {
    static TAGS: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        let mut tags = HashMap::new();
        collect_tags(&UI, &mut tags);
        tags
    });
    tags.get(path).cloned().unwrap_or_else(|| tag(file))
}

fn collect_tags(dir: &'static Dir<'static>, tags: &mut HashMap<&'static str, String>) {
    for f in dir.files() {
        if let Some(p) = f.path().to_str() {
            tags.insert(p, tag(f));
        }
    }
    for d in dir.dirs() {
        collect_tags(d, tags);
    }
}

fn tag(file: &File<'static>) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    file.contents().hash(&mut h);
    format!("\"{:016x}-{:x}\"", h.finish(), file.contents().len())
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "webp" => "image/webp",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
