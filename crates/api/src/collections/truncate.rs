use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use motorbase_core::collections::truncate_collection;

use crate::error::ApiResult;
use crate::extract::Ctx;
use crate::AppState;

/// `DELETE /api/collections/{idOrName}/truncate`: removes every record.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    ctx.require_superuser()?;
    truncate_collection(&state.backend, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
