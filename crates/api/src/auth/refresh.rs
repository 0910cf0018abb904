use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use serde_json::Value;

use super::{auth_collection, auth_response};
use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;
use crate::AppState;

/// `POST /api/collections/{c}/auth-refresh`: a new token for the caller, who must belong to `c`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = auth_collection(&state, &collection)?;
    let Some(auth) = ctx.auth.clone() else {
        return Err(ApiError::unauthorized());
    };
    if auth.collection.id != c.id {
        // PocketBase's wording, which names the collection the token belongs to.
        return Err(ApiError::forbidden(&format!(
            "The request requires auth record from {} collection.",
            auth.collection.name
        )));
    }
    auth_response(&c, auth.record, ctx)
}
