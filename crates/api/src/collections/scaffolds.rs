use axum::Json;
use motorbase_core::collections::scaffolds;
use serde_json::Value;

use crate::error::ApiResult;
use crate::extract::Ctx;

/// `GET /api/collections/meta/scaffolds`: a blank definition of each collection type.
pub async fn handler(ctx: Ctx) -> ApiResult<Json<Value>> {
    ctx.require_superuser()?;
    Ok(Json(scaffolds()))
}
