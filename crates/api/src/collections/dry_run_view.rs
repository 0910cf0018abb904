use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use motorbase_core::collections::view::dry_run_view;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

/// `POST /api/collections/meta/dry-run-view` `{"query": "SELECT ..."}`: the fields a view
/// collection over the query would have and a sample of its rows; 400 with SQLite's reason for
/// a query that is not a single reading SELECT. Nothing is written.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let JsonBody(body) = body
        .map_err(|e| e.reword_bad_request("An error occurred while loading the submitted data."))?;
    let query = match body.get("query") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "An error occurred while loading the submitted data.",
            ))
        }
    };
    let result = dry_run_view(&state.backend, query).await?;
    Ok(Json(serde_json::to_value(result).unwrap_or(Value::Null)))
}
