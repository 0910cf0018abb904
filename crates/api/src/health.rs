use axum::Json;
use serde_json::{json, Value};

/// `GET /api/health`, answered as PocketBase does.
pub async fn health() -> Json<Value> {
    Json(json!({"message": "API is healthy.", "code": 200, "data": {}}))
}
