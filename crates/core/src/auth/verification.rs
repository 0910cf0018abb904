//! Proving that an account's address is its owner's: a mail with a verification token, and
//! its confirmation.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::error::{AuthError, AuthResult, FormErrors};
use super::lookup::{find_by_token, is_verified, save_changes, text};
use super::mails::{requesting_account, resend_key, send_token_throttled, Template, RESEND_AFTER};
use super::token::{self, TokenKind};
use crate::collections::Collection;
use crate::hooks::{AuthEvent, AuthEventKind};
use crate::Backend;

/// The refusal that comes before the body is read: superusers are always verified.
pub fn precheck(c: &Collection) -> AuthResult<()> {
    if c.is_superusers() {
        return Err(AuthError::BadRequest(
            "All superusers are verified by default.".into(),
        ));
    }
    Ok(())
}

/// Mails a verification token to the account with `email`, if there is one and it is not
/// verified yet. Answers the same either way.
pub async fn request(backend: &Arc<Backend>, c: &Arc<Collection>, email: &str) -> AuthResult<()> {
    precheck(c)?;
    let Some((record, key)) = requesting_account(backend, c, email, "verification").await? else {
        return Ok(());
    };
    backend
        .hooks
        .trigger_auth(&AuthEvent::new(AuthEventKind::RequestVerification, c).record(&record))?;
    if is_verified(&record) {
        return Ok(());
    }
    send_token_throttled(
        backend,
        c,
        &record,
        TokenKind::Verification,
        Template::Verification,
        key,
        RESEND_AFTER,
    )
}

/// Marks the token's account verified.
pub async fn confirm(backend: &Arc<Backend>, c: &Arc<Collection>, token: &str) -> AuthResult<()> {
    precheck(c)?;
    let mut errors = FormErrors::default();
    let mut found = None;
    if token.is_empty() {
        errors.required("token");
    } else if token::peek(token)
        .and_then(|cl| cl.email)
        .is_none_or(|e| e.is_empty())
    {
        errors.add(
            "token",
            "validation_invalid_token_claims",
            "Missing email token claim.",
        );
    } else {
        match find_by_token(backend, token, TokenKind::Verification).await {
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
            Some((_, record, claims))
                if claims.email.as_deref() != Some(text(&record, "email")) =>
            {
                errors.add(
                    "token",
                    "validation_token_email_mismatch",
                    "The record email doesn't match with the requested token claims.",
                )
            }
            Some((_, record, _)) => found = Some(record),
        }
    }
    errors.finish()?;
    let Some(record) = found else {
        return Err(AuthError::BadRequest(
            "Invalid or expired verification token.".into(),
        ));
    };
    backend
        .hooks
        .trigger_auth(&AuthEvent::new(AuthEventKind::ConfirmVerification, c).record(&record))?;
    let id = text(&record, "id").to_string();
    if !is_verified(&record) {
        let mut changes = Map::new();
        changes.insert("verified".into(), Json::Bool(true));
        // Without password sign-in a verified account gets an unknown password, so a password
        // set by whoever registered the address first cannot be used later (pre-hijacking).
        if !c.password_auth_enabled() {
            let pw = crate::util::random_alnum(30);
            changes.insert("password".into(), Json::String(pw.clone()));
            changes.insert("passwordConfirm".into(), Json::String(pw));
        }
        save_changes(backend, c, &id, changes)
            .await
            .map_err(|e| reword(e, "An error occurred while saving the verified state."))?;
    }
    backend
        .auth
        .cooldowns
        .clear(&resend_key("verification", c, &id));
    Ok(())
}

/// A failed save keeps its field errors under the flow's own message.
pub(crate) fn reword(e: crate::CoreError, message: &str) -> AuthError {
    match e {
        crate::CoreError::Validation { data, .. } => {
            AuthError::Core(crate::CoreError::validation(message, data))
        }
        other => AuthError::Core(other),
    }
}
