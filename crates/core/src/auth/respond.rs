//! The last step every sign-in shares: the collection's `authRule`, the auth hooks, the second
//! factor, then the token.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::error::{AuthError, AuthResult};
use super::lookup::text;
use super::token::{self, Extra, TokenKind};
use crate::collections::{Collection, RuleKind};
use crate::error::{CoreError, Result};
use crate::hooks::{AuthEvent, AuthEventKind};
use crate::rules::{Compiler, Mode, RequestCtx};
use crate::Backend;

/// Whether `record` passes `rule` for the request `ctx`.
pub async fn record_matches(
    backend: &Backend,
    c: &Arc<Collection>,
    record: &Map<String, Json>,
    rule: &str,
    ctx: &RequestCtx,
) -> Result<bool> {
    let schema = backend.schema();
    let cond = Compiler::new(&schema, ctx, Mode::Rule)
        .compile(c, rule)
        .map_err(|e| CoreError::Internal(format!("bad rule: {e}")))?;
    Ok(
        crate::records::view_full(backend, c, text(record, "id"), cond)
            .await?
            .is_some(),
    )
}

/// How a sign-in came about.
#[derive(Debug, Clone, Default)]
pub struct SignIn {
    /// `password`, `otp`, `oauth2`; empty for a refresh or an impersonation, which skip MFA.
    pub method: String,
    /// The MFA session a second factor brings back.
    pub mfa_id: String,
    /// A token already made (a refresh of a non-refreshable token keeps it); `None` for a new one.
    pub token: Option<String>,
    /// Where the request came from, for new-location alerts.
    pub origin: super::alert::Origin,
}

/// Lets `record` in: `authRule`, hooks, MFA, token. Returns the token.
pub async fn finish(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    record: &Map<String, Json>,
    sign_in: SignIn,
    ctx: &RequestCtx,
) -> AuthResult<String> {
    let allowed = match c.rule(RuleKind::Auth) {
        _ if ctx.is_superuser() => true,
        None if c.options.get("authRule").is_some_and(Json::is_null) => ctx.is_superuser(),
        None | Some("") => true,
        Some(rule) => record_matches(backend, c, record, rule, ctx).await?,
    };
    if c.is_superusers() {
        let ips = super::rate_limit::superuser_ips(&backend.settings());
        if !ips.is_empty() && !super::rate_limit::ip_in_list(&ips, &sign_in.origin.ip) {
            return Err(AuthError::Forbidden(
                "You are not allowed to perform this request.".into(),
            ));
        }
    }
    if !allowed {
        return Err(AuthError::Forbidden(
            "The request doesn't satisfy the collection requirements to authenticate.".into(),
        ));
    }
    backend.hooks.trigger_auth(
        &AuthEvent::new(AuthEventKind::Auth, c)
            .record(record)
            .method(&sign_in.method),
    )?;
    super::mfa::check(backend, c, record, &sign_in.method, &sign_in.mfa_id, ctx).await?;
    let token = match sign_in.token {
        Some(t) => t,
        None => token::issue(
            c,
            record,
            TokenKind::Auth,
            Extra {
                refreshable: true,
                ..Default::default()
            },
        )?,
    };
    if !sign_in.method.is_empty() {
        super::alert::note_sign_in(backend, c, record, sign_in.origin);
    }
    Ok(token)
}

/// The signed-in record as its owner sees it, with the request's `expand` applied (the record
/// itself is shown whatever its view rule; expanded relations follow theirs). `fields` applies
/// to the whole answer, see [`pick_fields`].
pub async fn present(
    backend: &Backend,
    c: &Arc<Collection>,
    full: Map<String, Json>,
    ctx: &RequestCtx,
) -> Result<Json> {
    let param = |k: &str| {
        ctx.query
            .get(k)
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_string()
    };
    let expand = param("expand");
    let (schema, ctx, c) = (backend.schema(), ctx.clone(), c.clone());
    backend
        .store
        .read(move |r| -> Result<Json> {
            crate::records::output(r, &schema, &ctx, &c, full, &expand, "")
        })
        .await
}

/// Applies the request's `fields` to a whole auth answer (`token`, `record.email`...), as
/// PocketBase does.
pub fn pick_fields(answer: &mut Map<String, Json>, ctx: &RequestCtx) {
    let spec = ctx.query.get("fields").and_then(Json::as_str).unwrap_or("");
    if let Some(picker) = crate::records::FieldsPicker::parse(spec) {
        picker.apply(answer);
    }
}
