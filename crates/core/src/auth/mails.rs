//! The messages the auth flows send, rendered from the collection's templates.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::error::{check_email, AuthResult, FormErrors};
use super::lookup::{find_by_email, text};
use super::token::{self, Extra, TokenKind};
use crate::collections::Collection;
use crate::mail::{self, template, MailError, Message};
use crate::Backend;

/// Which template of the collection options a message uses.
#[derive(Debug, Clone, Copy)]
pub enum Template {
    Verification,
    PasswordReset,
    EmailChange,
    Otp,
    AuthAlert,
}

impl Template {
    fn lookup(self, c: &Collection) -> Option<&Json> {
        let o = &c.options;
        match self {
            Template::Verification => o.get("verificationTemplate"),
            Template::PasswordReset => o.get("resetPasswordTemplate"),
            Template::EmailChange => o.get("confirmEmailChangeTemplate"),
            Template::Otp => o.get("otp").and_then(|x| x.get("emailTemplate")),
            Template::AuthAlert => o.get("authAlert").and_then(|x| x.get("emailTemplate")),
        }
    }
}

/// Renders `which` for `record` and delivers it to `to` (the record's own address unless given).
pub async fn send(
    backend: &Backend,
    collection: &Arc<Collection>,
    record: &Map<String, Json>,
    which: Template,
    to: Option<&str>,
    extra: &[(&str, &str)],
) -> Result<(), MailError> {
    let settings = backend.settings();
    let rendered = template::render(
        which.lookup(collection),
        &settings,
        collection,
        record,
        extra,
    );
    let to = to.unwrap_or_else(|| text(record, "email")).to_string();
    mail::send(
        &settings,
        Message {
            to,
            subject: rendered.subject,
            html: rendered.html,
        },
    )
    .await
}

/// Sends in the background and logs a failure: the caller's answer must not depend on (or reveal)
/// whether the account exists or the mail went out.
pub fn send_later(
    backend: &Arc<Backend>,
    collection: &Arc<Collection>,
    record: &Map<String, Json>,
    which: Template,
    extra: Vec<(String, String)>,
    after: impl FnOnce(bool) + Send + 'static,
) {
    let (backend, collection, record) = (backend.clone(), collection.clone(), record.clone());
    tokio::spawn(async move {
        let pairs: Vec<(&str, &str)> = extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let result = send(&backend, &collection, &record, which, None, &pairs).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, collection = %collection.name, template = ?which, "failed to send an auth mail");
        }
        after(result.is_ok());
    });
}

/// Mails the record a token of `kind` (bound to its current email) with the `which` template,
/// at most once per `cooldown` for `cooldown_key`: the slot is taken before sending, so a quick
/// second request cannot slip in, and a failed send frees it.
pub fn send_token_throttled(
    backend: &Arc<Backend>,
    collection: &Arc<Collection>,
    record: &Map<String, Json>,
    kind: TokenKind,
    which: Template,
    cooldown_key: String,
    cooldown: std::time::Duration,
) -> AuthResult<()> {
    let extra = Extra {
        email: Some(text(record, "email").to_string()),
        ..Default::default()
    };
    let token = token::issue(collection, record, kind, extra)?;
    backend.auth.cooldowns.start(&cooldown_key, cooldown);
    let b = backend.clone();
    send_later(
        backend,
        collection,
        record,
        which,
        vec![("{TOKEN}".into(), token)],
        move |sent| {
            if !sent {
                b.auth.cooldowns.clear(&cooldown_key)
            }
        },
    );
    Ok(())
}

/// One mail of a flow per account per this long (as PocketBase).
pub const RESEND_AFTER: std::time::Duration = std::time::Duration::from_secs(120);

/// The cooldown key of a mail `flow` (`verification`, `password-reset`) for one account.
pub fn resend_key(flow: &str, c: &Collection, id: &str) -> String {
    format!("{flow}:{}:{id}", c.id)
}

/// The account a request-* flow mails: the email is checked, then the account must exist and
/// be outside its resend cooldown. `None` otherwise; the caller answers the same either way so
/// nobody learns which addresses have accounts.
pub async fn requesting_account(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    email: &str,
    flow: &str,
) -> AuthResult<Option<(Map<String, Json>, String)>> {
    let mut errors = FormErrors::default();
    check_email(&mut errors, "email", email);
    errors.finish()?;
    let Some(record) = find_by_email(backend, c, email).await? else {
        return Ok(None);
    };
    let key = resend_key(flow, c, text(&record, "id"));
    if backend.auth.cooldowns.is_active(&key) {
        return Ok(None);
    }
    Ok(Some((record, key)))
}
