use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::records::create;
use serde_json::Value;

use super::write_options;
use crate::error::ApiResult;
use crate::extract::{Body, Ctx, QueryMap};
use crate::AppState;

/// `POST /api/collections/{c}/records` (JSON or multipart form) under the createRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    QueryMap(q): QueryMap,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        create(&state.backend, &collection, body, write_options(&q), ctx).await?,
    ))
}
