//! Moving an account to a new address: the owner asks, the new address receives a token, and
//! the change happens when the token comes back with the account's password.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::error::{check_email, AuthError, AuthResult, FormErrors};
use super::lookup::{find_by_email, find_by_token, save_changes, text};
use super::mails::{send, Template};
use super::password;
use super::token::{self, Extra, TokenKind};
use super::verification::reword;
use crate::collections::Collection;
use crate::hooks::{AuthEvent, AuthEventKind};
use crate::rules::AuthInfo;
use crate::Backend;

/// The refusal of a confirmation that comes before the body is read.
pub fn precheck_confirm(c: &Collection) -> AuthResult<()> {
    if c.is_superusers() {
        return Err(AuthError::BadRequest(
            "All superusers can change their emails directly.".into(),
        ));
    }
    Ok(())
}

/// The refusals of a request that come before the body is read: the caller must be signed in
/// to `c`, and not as a superuser.
pub fn precheck_request<'a>(
    c: &Collection,
    caller: Option<&'a AuthInfo>,
) -> AuthResult<&'a AuthInfo> {
    let Some(caller) = caller else {
        return Err(AuthError::Unauthorized(
            "The request requires valid record authorization token.".into(),
        ));
    };
    if caller.collection.id != c.id {
        return Err(AuthError::Forbidden(format!(
            "The request requires auth record from {} collection.",
            caller.collection.name
        )));
    }
    precheck_confirm(c)?;
    Ok(caller)
}

/// Mails a confirmation token to `new_email` for the signed-in caller.
pub async fn request(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    caller: Option<&AuthInfo>,
    new_email: &str,
) -> AuthResult<()> {
    let caller = precheck_request(c, caller)?;
    let record = &caller.record;
    let mut errors = FormErrors::default();
    check_email(&mut errors, "newEmail", new_email);
    if !errors.has("newEmail") {
        if new_email == text(record, "email") {
            errors.add(
                "newEmail",
                "validation_not_in_invalid",
                "Must not be in list.",
            );
        } else if let Some(other) = find_by_email(backend, c, new_email).await? {
            if text(&other, "id") != caller.id() {
                errors.add(
                    "newEmail",
                    "validation_invalid_new_email",
                    "Invalid new email address.",
                );
            }
        }
    }
    errors.finish()?;
    let mut event = AuthEvent::new(AuthEventKind::RequestEmailChange, c).record(record);
    event.new_email = Some(new_email.to_string());
    backend.hooks.trigger_auth(&event)?;
    let token = token::issue(
        c,
        record,
        TokenKind::EmailChange,
        Extra {
            email: Some(text(record, "email").to_string()),
            new_email: Some(new_email.to_string()),
            ..Default::default()
        },
    )?;
    send(
        backend,
        c,
        record,
        Template::EmailChange,
        Some(new_email),
        &[("{TOKEN}", &token)],
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "failed to send the email change mail");
        AuthError::BadRequest("Failed to request email change.".into())
    })
}

/// Applies the change the token carries, once the account's password is confirmed.
pub async fn confirm(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    token: &str,
    password: &str,
) -> AuthResult<()> {
    precheck_confirm(c)?;
    let mut errors = FormErrors::default();
    let mut found = None;
    if token.is_empty() {
        errors.required("token");
    } else {
        match check_token(backend, c, token).await? {
            Ok(ok) => found = Some(ok),
            Err((code, message)) => errors.add("token", code, message),
        }
    }
    if password.is_empty() {
        errors.required("password");
    } else {
        let stored = found
            .as_ref()
            .map(|(r, _): &(Map<String, Json>, String)| text(r, "password").to_string())
            .unwrap_or_default();
        if password.chars().count() > 100
            || !password::verify_blocking(password.to_string(), stored).await
        {
            errors.add(
                "password",
                "validation_invalid_password",
                "Missing or invalid auth record password.",
            );
        }
    }
    errors.finish()?;
    let Some((record, new_email)) = found else {
        return Err(AuthError::BadRequest("Invalid or expired token.".into()));
    };
    let mut event = AuthEvent::new(AuthEventKind::ConfirmEmailChange, c).record(&record);
    event.new_email = Some(new_email.clone());
    backend.hooks.trigger_auth(&event)?;
    let mut changes = Map::new();
    changes.insert("email".into(), Json::String(new_email));
    changes.insert("verified".into(), Json::Bool(true));
    save_changes(backend, c, text(&record, "id"), changes)
        .await
        .map_err(|e| reword(e, "Failed to confirm email change."))?;
    Ok(())
}

/// The token's record and new address, or the field error PocketBase reports for it.
async fn check_token(
    backend: &Backend,
    c: &Collection,
    token: &str,
) -> AuthResult<Result<(Map<String, Json>, String), (&'static str, &'static str)>> {
    let new_email = token::peek(token)
        .and_then(|cl| cl.new_email)
        .unwrap_or_default();
    if new_email.is_empty() {
        return Ok(Err((
            "validation_invalid_token_payload",
            "Invalid token payload - newEmail must be set.",
        )));
    }
    let Some((tc, record, _)) = find_by_token(backend, token, TokenKind::EmailChange).await else {
        return Ok(Err((
            "validation_invalid_token",
            "Invalid or expired token.",
        )));
    };
    if tc.id != c.id {
        return Ok(Err((
            "validation_token_collection_mismatch",
            "The provided token is for different auth collection.",
        )));
    }
    let coll = backend.schema().get(&c.id);
    if let Some(coll) = coll {
        if find_by_email(backend, &coll, &new_email).await?.is_some() {
            return Ok(Err((
                "validation_invalid_token_email",
                "The new email address is invalid.",
            )));
        }
    }
    Ok(Ok((record, new_email)))
}
