//! Multi-factor sign-in: when a collection asks for it, a first method that succeeds answers
//! an `mfaId` instead of a token, and a second, different method completes the sign-in when it
//! brings that id back.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::bookkeeping::{self, MFAS};
use super::error::{AuthError, AuthResult};
use super::lookup::text;
use crate::collections::Collection;
use crate::rules::RequestCtx;
use crate::Backend;

pub fn enabled(c: &Collection) -> bool {
    c.options
        .get("mfa")
        .and_then(|o| o.get("enabled"))
        .and_then(Json::as_bool)
        .unwrap_or(false)
}

fn duration(c: &Collection) -> i64 {
    c.options
        .get("mfa")
        .and_then(|o| o.get("duration"))
        .and_then(Json::as_i64)
        .unwrap_or(600)
}

/// Whether this account must bring a second factor: the `mfa.rule` (empty: everyone) checked
/// against the record. Errors count as "yes", the safer answer.
async fn wanted(
    backend: &Backend,
    c: &Arc<Collection>,
    record: &Map<String, Json>,
    ctx: &RequestCtx,
) -> bool {
    let rule = c
        .options
        .get("mfa")
        .and_then(|o| o.get("rule"))
        .and_then(Json::as_str)
        .unwrap_or("");
    if rule.is_empty() {
        return true;
    }
    super::respond::record_matches(backend, c, record, rule, ctx)
        .await
        .unwrap_or(true)
}

/// Checks the second factor, or starts an MFA session: `Ok` when the sign-in may complete,
/// `MfaRequired` after a first factor, an error for a bad or reused session.
pub async fn check(
    backend: &Backend,
    c: &Arc<Collection>,
    record: &Map<String, Json>,
    method: &str,
    mfa_id: &str,
    ctx: &RequestCtx,
) -> AuthResult<()> {
    if !enabled(c) || method.is_empty() || !wanted(backend, c, record, ctx).await {
        return Ok(());
    }
    let record_id = text(record, "id");
    if mfa_id.is_empty() {
        let id = bookkeeping::insert(
            backend,
            MFAS,
            &[
                ("collectionRef", &c.id),
                ("recordRef", record_id),
                ("method", method),
            ],
        )
        .await?;
        return Err(AuthError::MfaRequired { mfa_id: id });
    }
    let found = bookkeeping::find_by_id(backend, MFAS, mfa_id).await?;
    let session = match found {
        Some(m) if !bookkeeping::has_expired(&m, duration(c)) => m,
        Some(_) => {
            bookkeeping::delete(backend, MFAS, mfa_id).await?;
            return Err(AuthError::BadRequest(
                "Invalid or expired MFA session.".into(),
            ));
        }
        None => {
            return Err(AuthError::BadRequest(
                "Invalid or expired MFA session.".into(),
            ))
        }
    };
    if text(&session, "recordRef") != record_id || text(&session, "collectionRef") != c.id {
        return Err(AuthError::BadRequest("Invalid MFA session.".into()));
    }
    if text(&session, "method") == method {
        return Err(AuthError::BadRequest(
            "A different authentication method is required.".into(),
        ));
    }
    bookkeeping::delete(backend, MFAS, mfa_id).await?;
    Ok(())
}
