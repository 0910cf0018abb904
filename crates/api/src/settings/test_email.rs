use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use motorbase_core::auth::mails::{send, Template};
use motorbase_core::error::{ErrorData, FieldError, FieldErrors};
use motorbase_core::CoreError;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody};
use crate::AppState;

const FAILED: &str = "Failed to send the test email.";

/// `POST /api/settings/test/email` `{email, template[, collection]}`: renders one of an auth
/// collection's mail templates for a sample account and sends it to `email` with the saved
/// SMTP settings, so a superuser learns whether mail works.
pub async fn handler(
    State(state): State<Arc<AppState>>,
    ctx: Ctx,
    body: Result<JsonBody, ApiError>,
) -> ApiResult<StatusCode> {
    ctx.require_superuser()?;
    let JsonBody(body) = body?;
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (email, template) = (text("email"), text("template"));
    let collection = match text("collection") {
        c if c.is_empty() => "_superusers".to_string(),
        c => c,
    };
    let mut errors = FieldErrors::new();
    let mut error = |field: &str, e: FieldError| {
        errors.insert(field.to_string(), ErrorData::Field(e));
    };
    if email.is_empty() {
        error("email", FieldError::required());
    } else if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        error(
            "email",
            FieldError::new("validation_is_email", "Must be a valid email address."),
        );
    }
    let which = match template.as_str() {
        "verification" => Some(Template::Verification),
        "password-reset" => Some(Template::PasswordReset),
        "email-change" => Some(Template::EmailChange),
        "otp" => Some(Template::Otp),
        "login-alert" => Some(Template::AuthAlert),
        "" => {
            error("template", FieldError::required());
            None
        }
        _ => {
            error(
                "template",
                FieldError::new("validation_in_invalid", "Must be a valid value."),
            );
            None
        }
    };
    let c = state
        .backend
        .schema()
        .get(&collection)
        .filter(|c| c.is_auth());
    if c.is_none() {
        error(
            "collection",
            FieldError::new(
                "validation_invalid_auth_collection",
                "Must be a valid auth collection id or name.",
            ),
        );
    }
    let (Some(c), Some(which), true) = (c, which, errors.is_empty()) else {
        return Err(CoreError::validation(FAILED, errors).into());
    };
    // A sample account: the template's placeholders show what a real mail would carry.
    let sample = json!({"id": "sampleaccount00", "email": email, "collectionId": c.id, "collectionName": c.name});
    let record = sample.as_object().cloned().unwrap_or_default();
    let extra = [
        ("{TOKEN}", "a-sample-token"),
        ("{OTP}", "123456"),
        ("{OTP_ID}", "sampleotpid0000"),
        ("{ALERT_INFO}", "a sample sign-in"),
    ];
    send(&state.backend, &c, &record, which, Some(&email), &extra)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("{FAILED} Raw error: \n{e}."),
            )
        })?;
    Ok(StatusCode::NO_CONTENT)
}
