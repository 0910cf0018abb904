//! One-time passwords: a short code mailed to the account, exchanged for a session.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::{Map, Value as Json};

use super::bookkeeping::{self, OTPS};
use super::error::{check_email, AuthError, AuthResult, FormErrors};
use super::lookup::{find_by_email, is_verified, save_changes, text};
use super::mails::{self, Template};
use super::{load_full, password};
use crate::collections::Collection;
use crate::error::FieldError;
use crate::hooks::{AuthEvent, AuthEventKind};
use crate::util::random_lower;
use crate::Backend;

/// Codes still valid for one account beyond which no new one is made (the newest is reused).
const MAX_LIVE_CODES: usize = 10;
/// Guesses allowed per account within [`GUESS_WINDOW`]: codes are short digits.
const MAX_GUESSES: u64 = 5;
const GUESS_WINDOW: Duration = Duration::from_secs(180);

fn option_i64(c: &Collection, key: &str, default: i64) -> i64 {
    c.options
        .get("otp")
        .and_then(|o| o.get(key))
        .and_then(Json::as_i64)
        .unwrap_or(default)
}

pub fn enabled(c: &Collection) -> bool {
    c.options
        .get("otp")
        .and_then(|o| o.get("enabled"))
        .and_then(Json::as_bool)
        .unwrap_or(false)
}

/// The refusal that comes before the body is read: OTP sign-in must be on.
pub fn precheck(c: &Collection) -> AuthResult<()> {
    if !enabled(c) {
        return Err(AuthError::Forbidden(
            "The collection is not configured to allow OTP authentication.".into(),
        ));
    }
    Ok(())
}

fn invalid() -> AuthError {
    AuthError::BadRequest("Invalid or expired OTP.".into())
}

/// Mails a code to the account with `email` and answers its id. For an unknown address the id
/// is made up, so the answer does not tell whether the account exists.
pub async fn request(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    email: &str,
) -> AuthResult<String> {
    precheck(c)?;
    let mut errors = FormErrors::default();
    check_email(&mut errors, "email", email);
    errors.finish()?;
    let Some(record) = find_by_email(backend, c, email).await? else {
        return Ok(random_lower(15));
    };
    backend
        .hooks
        .trigger_auth(&AuthEvent::new(AuthEventKind::RequestOtp, c).record(&record))?;
    let duration = option_i64(c, "duration", 180);
    let id = text(&record, "id").to_string();
    let live: Vec<_> = bookkeeping::find(
        backend,
        OTPS,
        &[("collectionRef", &c.id), ("recordRef", &id)],
    )
    .await?
    .into_iter()
    .filter(|o| !bookkeeping::has_expired(o, duration))
    .collect();
    if live.len() >= MAX_LIVE_CODES {
        tracing::warn!(collection = %c.name, record = %id, "too many live OTPs; reusing the newest");
        return Ok(text(&live[0], "id").to_string());
    }
    let length = option_i64(c, "length", 8).clamp(1, 64) as usize;
    let code: String = {
        let mut rng = rand::thread_rng();
        (0..length)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect()
    };
    let hashed = password::hash_blocking(code.clone()).await?;
    let otp_id = bookkeeping::insert(
        backend,
        OTPS,
        &[
            ("collectionRef", &c.id),
            ("recordRef", &id),
            ("password", &hashed),
            ("sentTo", ""),
        ],
    )
    .await?;
    // Sent in the background, so timing does not tell known addresses from unknown ones.
    let (b, cc, rec, oid) = (backend.clone(), c.clone(), record.clone(), otp_id.clone());
    tokio::spawn(async move {
        let to = text(&rec, "email").to_string();
        match mails::send(
            &b,
            &cc,
            &rec,
            Template::Otp,
            None,
            &[("{OTP}", &code), ("{OTP_ID}", &oid)],
        )
        .await
        {
            Ok(()) => {
                if let Err(e) = bookkeeping::set(&b, OTPS, &oid, &[("sentTo", &to)]).await {
                    tracing::error!(error = %e, "failed to record where an OTP was sent");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "failed to send an OTP mail");
                let _ = bookkeeping::delete(&b, OTPS, &oid).await;
            }
        }
    });
    Ok(otp_id)
}

/// Checks a code; the account it signs in on success (the caller finishes the sign-in).
pub async fn authenticate(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    otp_id: &str,
    code: &str,
) -> AuthResult<Map<String, Json>> {
    precheck(c)?;
    let mut errors = FormErrors::default();
    for (field, value, max) in [("otpId", otp_id, 255), ("password", code, 71)] {
        let n = value.chars().count();
        if n == 0 {
            errors.required(field);
        } else if n > max {
            errors.add_error(
                field,
                FieldError::new(
                    "validation_length_out_of_range",
                    format!("The length must be between 1 and {max}."),
                )
                .with_params(serde_json::json!({"min": 1, "max": max})),
            );
        }
    }
    errors.finish()?;
    let otp = bookkeeping::find_by_id(backend, OTPS, otp_id)
        .await?
        .ok_or_else(invalid)?;
    if text(&otp, "collectionRef") != c.id
        || bookkeeping::has_expired(&otp, option_i64(c, "duration", 180))
    {
        return Err(invalid());
    }
    let record = load_full(backend, c, text(&otp, "recordRef"))
        .await?
        .ok_or_else(invalid)?;
    let guesses_key = format!("otp-guesses:{}:{}", c.id, text(&record, "id"));
    if !backend
        .auth
        .windows
        .allow(&guesses_key, MAX_GUESSES, GUESS_WINDOW)
    {
        return Err(AuthError::TooManyRequests(
            "Too many attempts, please try again later with a new OTP.".into(),
        ));
    }
    if !password::verify_blocking(code.to_string(), text(&otp, "password").to_string()).await {
        return Err(invalid());
    }
    backend.hooks.trigger_auth(
        &AuthEvent::new(AuthEventKind::AuthWithOtp, c)
            .record(&record)
            .method("otp"),
    )?;
    bookkeeping::delete(backend, OTPS, otp_id).await?;
    let sent_to = text(&otp, "sentTo");
    if is_verified(&record) || sent_to.is_empty() || sent_to != text(&record, "email") {
        return Ok(record);
    }
    // The code reached the account's address, which proves it.
    let mut changes = Map::new();
    changes.insert("verified".into(), Json::Bool(true));
    if !super::mfa::enabled(c) {
        // Used on its own, an OTP sign-in replaces a password someone else may have chosen
        // when registering the address first (pre-hijacking).
        let pw = crate::util::random_alnum(30);
        changes.insert("password".into(), Json::String(pw.clone()));
        changes.insert("passwordConfirm".into(), Json::String(pw));
    }
    let id = text(&record, "id").to_string();
    match save_changes(backend, c, &id, changes).await {
        Ok(updated) => Ok(updated),
        Err(e) => {
            tracing::error!(error = %e, "failed to mark an account verified after its OTP");
            Ok(record)
        }
    }
}
