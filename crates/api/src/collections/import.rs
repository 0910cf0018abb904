use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use motorbase_core::collections::import_collections;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

/// `PUT /api/collections/import` `{"collections": [...], "deleteMissing": false}`: saves every
/// definition in one transaction (204), or none of them (400 naming the collection that
/// failed).
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<StatusCode> {
    ctx.require_superuser()?;
    let JsonBody(body) = body
        .map_err(|e| e.reword_bad_request("An error occurred while loading the submitted data."))?;
    let well_formed = body.is_object()
        && body
            .get("collections")
            .is_none_or(|c| c.is_null() || c.is_array())
        && body
            .get("deleteMissing")
            .is_none_or(|d| d.is_null() || d.is_boolean());
    if !well_formed {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "An error occurred while loading the submitted data.",
        ));
    }
    import_collections(&state.backend, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}
