//! Finding auth records by email and by token, and saving changes the flows make on the
//! record's behalf.

use std::sync::Arc;

use motorbase_store::{CmpOp, Cond, Operand, Path, Value};
use serde_json::{Map, Value as Json};

use super::load_full;
use super::token::{self, Claims, TokenKind};
use crate::collections::{Collection, SUPERUSERS};
use crate::error::{CoreError, Result};
use crate::rules::{AuthInfo, RequestCtx};
use crate::Backend;

/// The record of `collection` with this email (compared case-insensitively), hidden fields included.
pub async fn find_by_email(
    backend: &Backend,
    collection: &Arc<Collection>,
    email: &str,
) -> Result<Option<Map<String, Json>>> {
    if email.is_empty() {
        return Ok(None);
    }
    let filter = Cond::Cmp {
        left: Operand::Lower(Box::new(Operand::Path(Path::column("email")))),
        op: CmpOp::Eq,
        right: Operand::Value(Value::Text(email.to_lowercase())),
        any: false,
    };
    crate::records::first_match(backend, collection, filter).await
}

/// A token's verified record: its collection, the full record and the claims. `None` for a
/// malformed, expired, revoked or wrong-kind token.
pub async fn find_by_token(
    backend: &Backend,
    token: &str,
    kind: TokenKind,
) -> Option<(Arc<Collection>, Map<String, Json>, Claims)> {
    let claims = token::peek(token)?;
    let collection = backend.schema().get(&claims.collection_id)?;
    if !collection.is_auth() || collection.id != claims.collection_id {
        return None;
    }
    let record = load_full(backend, &collection, &claims.id).await.ok()??;
    let key = record.get("tokenKey").and_then(Json::as_str).unwrap_or("");
    let claims = token::verify(token, &collection, key, kind)?;
    Some((collection, record, claims))
}

/// A context with superuser rights, for changes a flow makes on the record owner's behalf once
/// it has proven the right to them (a valid token, a correct code).
pub fn system_ctx(backend: &Backend) -> Result<RequestCtx> {
    let superusers = backend
        .schema()
        .get(SUPERUSERS)
        .ok_or_else(|| CoreError::Internal("the superusers collection is missing".into()))?;
    Ok(RequestCtx {
        auth: Some(AuthInfo {
            collection: superusers,
            record: Map::new(),
        }),
        method: "POST".into(),
        context: "default".into(),
        ..Default::default()
    })
}

/// Saves `changes` to the record through the ordinary validated write path (so a new password
/// is hashed and rotates the token key, and realtime subscribers hear of it), then returns the
/// full stored record.
pub async fn save_changes(
    backend: &Backend,
    collection: &Arc<Collection>,
    id: &str,
    changes: Map<String, Json>,
) -> Result<Map<String, Json>> {
    crate::records::update(
        backend,
        &collection.name,
        id,
        changes,
        Default::default(),
        system_ctx(backend)?,
    )
    .await?;
    load_full(backend, collection, id)
        .await?
        .ok_or_else(CoreError::not_found)
}

pub fn text<'a>(record: &'a Map<String, Json>, key: &str) -> &'a str {
    record.get(key).and_then(Json::as_str).unwrap_or("")
}

pub fn is_verified(record: &Map<String, Json>) -> bool {
    record
        .get("verified")
        .and_then(Json::as_bool)
        .unwrap_or(false)
}
