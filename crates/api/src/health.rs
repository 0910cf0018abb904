use std::sync::Arc;

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

use crate::extract::Ctx;
use crate::AppState;

/// `GET /api/health`, answered as PocketBase does; superusers also see how the caller's
/// address was read.
pub async fn health(
    State(_state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Json<Value> {
    let data = if ctx.0.is_superuser() {
        let proxy = [
            "x-forwarded-for",
            "x-real-ip",
            "cf-connecting-ip",
            "fly-client-ip",
        ]
        .into_iter()
        .find(|h| headers.contains_key(*h))
        .unwrap_or("");
        // Backups are not implemented yet, so none can be made.
        json!({"canBackup": false, "realIP": peer.ip().to_string(), "possibleProxyHeader": proxy})
    } else {
        json!({})
    };
    Json(json!({"message": "API is healthy.", "code": 200, "data": data}))
}
