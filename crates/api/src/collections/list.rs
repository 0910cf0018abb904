use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::collections::public_json;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::extract::{Ctx, QueryMap};
use crate::AppState;

/// `GET /api/collections`: paged like records (`page`, `perPage`).
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    QueryMap(q): QueryMap,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let schema = state.backend.schema();
    let all: Vec<Value> = schema.all().map(|c| public_json(c)).collect();
    let per_page = q
        .get("perPage")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(30)
        .min(1000);
    let page = q
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    Ok(Json(json!({
        "page": page,
        "perPage": per_page,
        "totalItems": total,
        "totalPages": total.div_ceil(per_page),
        "items": items,
    })))
}
