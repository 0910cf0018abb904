//! New-location alerts (`authAlert`): each account remembers the devices it signed in from
//! (`_authOrigins`, keyed by a fingerprint of address and user agent); a sign-in from a new one,
//! after the first ever, mails the owner.

use std::sync::Arc;

use serde_json::{Map, Value as Json};

use super::bookkeeping::{self, AUTH_ORIGINS};
use super::lookup::text;
use super::mails::{self, Template};
use crate::collections::Collection;
use crate::Backend;

/// Devices remembered per account; the least recently used go first.
const MAX_ORIGINS: usize = 5;

/// Where a sign-in came from.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
}

pub fn enabled(c: &Collection) -> bool {
    c.options
        .get("authAlert")
        .and_then(|o| o.get("enabled"))
        .and_then(Json::as_bool)
        .unwrap_or(false)
}

fn fingerprint(origin: &Origin) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{}{}", origin.ip, origin.user_agent).as_bytes(),
    );
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Records the sign-in's origin and mails the owner when it is new. Runs in the background:
/// a slow or failing mail server must not hold up the sign-in.
pub fn note_sign_in(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    record: &Map<String, Json>,
    origin: Origin,
) {
    if !enabled(c) {
        return;
    }
    let (backend, c, record) = (backend.clone(), c.clone(), record.clone());
    tokio::spawn(async move {
        if let Err(e) = note(&backend, &c, &record, &origin).await {
            tracing::warn!(error = %e, "failed to record a sign-in origin");
        }
    });
}

async fn note(
    backend: &Arc<Backend>,
    c: &Arc<Collection>,
    record: &Map<String, Json>,
    origin: &Origin,
) -> crate::Result<()> {
    let id = text(record, "id");
    let print = fingerprint(origin);
    // Newest first (by row id); "updated" marks the last use.
    let mut origins = bookkeeping::find(
        backend,
        AUTH_ORIGINS,
        &[("collectionRef", &c.id), ("recordRef", id)],
    )
    .await?;
    origins.sort_by(|a, b| text(b, "updated").cmp(text(a, "updated")));
    if let Some(known) = origins.iter().find(|o| text(o, "fingerprint") == print) {
        return bookkeeping::set(backend, AUTH_ORIGINS, text(known, "id"), &[]).await;
    }
    if !origins.is_empty() && !text(record, "email").is_empty() {
        let mut agent = origin.user_agent.clone();
        if agent.chars().count() > 200 {
            agent = agent.chars().take(200).collect::<String>() + "...";
        }
        let info = format!("{} - {} {}", crate::util::now(), origin.ip, agent);
        if let Err(e) = mails::send(
            backend,
            c,
            record,
            Template::AuthAlert,
            None,
            &[("{ALERT_INFO}", &info)],
        )
        .await
        {
            tracing::warn!(error = %e, "failed to send a sign-in alert");
        }
    }
    for old in origins.iter().skip(MAX_ORIGINS.saturating_sub(1)) {
        bookkeeping::delete(backend, AUTH_ORIGINS, text(old, "id")).await?;
    }
    bookkeeping::insert(
        backend,
        AUTH_ORIGINS,
        &[
            ("collectionRef", &c.id),
            ("recordRef", id),
            ("fingerprint", &print),
        ],
    )
    .await?;
    Ok(())
}
