use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use motorbase_core::error::{FieldError, FieldErrors};
use motorbase_core::files::test_s3;
use motorbase_core::CoreError;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

/// `POST /api/settings/test/s3` with `{"filesystem": "storage" | "backups"}`: writes and deletes
/// a small file with the saved S3 settings, so a superuser learns whether they work.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<StatusCode> {
    ctx.require_superuser()?;
    let JsonBody(body) = body?;
    let filesystem = body.get("filesystem").and_then(Value::as_str).unwrap_or("");
    let invalid = match filesystem {
        "storage" | "backups" => None,
        "" => Some(FieldError::required()),
        _ => Some(FieldError::new(
            "validation_in_invalid",
            "Must be a valid value.",
        )),
    };
    if let Some(e) = invalid {
        let mut data = FieldErrors::new();
        data.insert(
            "filesystem".into(),
            motorbase_core::error::ErrorData::Field(e),
        );
        return Err(CoreError::validation("Failed to test the S3 filesystem.", data).into());
    }
    test_s3(&state.backend.settings(), filesystem).await?;
    Ok(StatusCode::NO_CONTENT)
}
