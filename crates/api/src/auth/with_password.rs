use std::sync::Arc;

use axum::extract::{Path, State};
use axum::Json;
use motorbase_core::auth::{auth_with_password, missing};
use serde_json::Value;

use super::{auth_collection, auth_response};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx};
use crate::AppState;

/// `POST /api/collections/{c}/auth-with-password` `{identity, password[, identityField]}`.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    Ctx(ctx): Ctx,
    Path(collection): Path<String>,
    body: Result<Body, ApiError>,
) -> ApiResult<Json<Value>> {
    let c = auth_collection(&state, &collection)?;
    let Body(body) = body
        .map_err(|e| e.reword_bad_request("An error occurred while loading the submitted data."))?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (identity, password) = (text("identity"), text("password"));
    let field = body
        .get("identityField")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let mut invalid: Vec<&str> = [("identity", &identity), ("password", &password)]
        .into_iter()
        .filter(|(_, v)| v.is_empty())
        .map(|(k, _)| k)
        .collect();
    if field.is_some_and(|f| !c.identity_fields().iter().any(|x| x == f)) {
        invalid.push("identityField");
    }
    if !invalid.is_empty() {
        return Err(missing(&invalid).into());
    }
    let full = auth_with_password(&state.backend, &c, &identity, &password, field).await?;
    auth_response(&c, full, ctx)
}
