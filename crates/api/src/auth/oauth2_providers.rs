use axum::Json;
use motorbase_core::auth::oauth2::providers::SPECS;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::extract::Ctx;

/// `GET /api/collections/meta/oauth2-providers`: the providers a collection can enable
/// (superusers only, for the dashboard).
pub async fn handler(ctx: Ctx) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    let mut specs: Vec<_> = SPECS.iter().collect();
    specs.sort_by_key(|s| s.order);
    Ok(Json(Value::Array(
        specs
            .into_iter()
            .map(|s| json!({"name": s.name, "displayName": s.display_name, "logo": ""}))
            .collect(),
    )))
}
