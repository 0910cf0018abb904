use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::records::update;
use serde_json::Value;

use super::write_options;
use crate::error::ApiResult;
use crate::extract::{Body, Ctx, QueryMap};
use crate::AppState;

/// `PATCH /api/collections/{c}/records/{id}` under the updateRule.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
    QueryMap(q): QueryMap,
    Body(body): Body,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        update(
            &state.backend,
            &collection,
            &id,
            body,
            write_options(&q),
            ctx,
        )
        .await?,
    ))
}
