//! Choosing a new password through a mailed token.

use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::error::{AuthError, AuthResult, FormErrors};
use super::lookup::{find_by_token, is_verified, save_changes, text};
use super::mails::{requesting_account, resend_key, send_token_throttled, Template, RESEND_AFTER};
use super::token::TokenKind;
use super::verification::reword;
use crate::collections::Collection;
use crate::error::FieldError;
use crate::hooks::{AuthEvent, AuthEventKind};
use crate::Backend;

/// The refusal that comes before the body is read: password sign-in must be on.
pub fn precheck(c: &Collection) -> AuthResult<()> {
    if !c.password_auth_enabled() {
        return Err(AuthError::BadRequest(
            "The collection is not configured to allow password authentication.".into(),
        ));
    }
    Ok(())
}

/// Mails a reset token to the account with `email`, if there is one. Answers the same either way.
pub async fn request(backend: &Arc<Backend>, c: &Arc<Collection>, email: &str) -> AuthResult<()> {
    precheck(c)?;
    let Some((record, key)) = requesting_account(backend, c, email, "password-reset").await? else {
        return Ok(());
    };
    backend
        .hooks
        .trigger_auth(&AuthEvent::new(AuthEventKind::RequestPasswordReset, c).record(&record))?;
    send_token_throttled(
        backend,
        c,
        &record,
        TokenKind::PasswordReset,
        Template::PasswordReset,
        key,
        RESEND_AFTER,
    )
}

/// Sets the token's account's password. The new password rotates the token key, which revokes
/// this token and every session.
pub async fn confirm(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    token: &str,
    password: &str,
    password_confirm: &str,
) -> AuthResult<()> {
    let mut errors = FormErrors::default();
    let mut found = None;
    if token.is_empty() {
        errors.required("token");
    } else {
        match find_by_token(backend, token, TokenKind::PasswordReset).await {
            None => errors.add(
                "token",
                "validation_invalid_token",
                "Invalid or expired token.",
            ),
            Some((tc, _, _)) if tc.id != c.id => errors.add(
                "token",
                "validation_token_collection_mismatch",
                "The provided token is for different auth collection.",
            ),
            Some(found_) => found = Some(found_),
        }
    }
    // The field's own rules apply when saving; this is PocketBase's form-level check.
    let min = c
        .field("password")
        .and_then(|f| f.opt_f64("min"))
        .filter(|m| *m > 0.0)
        .unwrap_or(1.0) as usize;
    let len = password.chars().count();
    if password.is_empty() {
        errors.required("password");
    } else if len < min || len > 255 {
        errors.add_error(
            "password",
            FieldError::new(
                "validation_length_out_of_range",
                format!("The length must be between {min} and 255."),
            )
            .with_params(json!({"max": 255, "min": min})),
        );
    }
    if password_confirm.is_empty() {
        errors.required("passwordConfirm");
    } else if password_confirm != password {
        errors.add(
            "passwordConfirm",
            "validation_values_mismatch",
            "Values don't match.",
        );
    }
    errors.finish()?;
    let Some((_, record, claims)) = found else {
        return Err(AuthError::BadRequest(
            "Invalid or expired password reset token.".into(),
        ));
    };
    backend
        .hooks
        .trigger_auth(&AuthEvent::new(AuthEventKind::ConfirmPasswordReset, c).record(&record))?;
    let mut changes = Map::new();
    changes.insert("password".into(), Json::String(password.to_string()));
    changes.insert("passwordConfirm".into(), Json::String(password.to_string()));
    // The mail reached the address the account still has, which proves it.
    if !is_verified(&record) && claims.email.as_deref() == Some(text(&record, "email")) {
        changes.insert("verified".into(), Json::Bool(true));
    }
    let id = text(&record, "id").to_string();
    save_changes(backend, c, &id, changes)
        .await
        .map_err(|e| reword(e, "Failed to set new password."))?;
    backend
        .auth
        .cooldowns
        .clear(&resend_key("password-reset", c, &id));
    Ok(())
}
