use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use motorbase_core::records::delete;

use crate::error::ApiResult;
use crate::extract::Ctx;
use crate::AppState;

/// `DELETE /api/collections/{c}/records/{id}` under the deleteRule, with cascades.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path((collection, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    delete(&state.backend, &collection, &id, ctx).await?;
    Ok(StatusCode::NO_CONTENT)
}
