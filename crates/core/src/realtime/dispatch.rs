//! The dispatcher: for each committed change, finds the subscriptions it concerns, decides once
//! per distinct (caller, rule, options) whether it may be seen and how it looks, then queues it
//! to every such subscriber without waiting on any of them.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use serde_json::{json, Map, Value as Json};
use tokio::sync::mpsc::{self, error::TrySendError};

use super::{ChangeEvent, Client, Message, Subscription};
use crate::collections::{Collection, RuleKind};
use crate::error::Result;
use crate::records::{output, record_values};
use crate::rules::{AuthInfo, Compiler, Mode, RequestCtx};
use crate::Backend;

pub(super) async fn run(backend: Weak<Backend>, mut rx: mpsc::UnboundedReceiver<Vec<ChangeEvent>>) {
    while let Some(events) = rx.recv().await {
        let Some(backend) = backend.upgrade() else {
            break;
        };
        for event in events {
            if let Err(e) = dispatch(&backend, event).await {
                tracing::warn!(error = %e, "realtime dispatch failed");
            }
        }
    }
}

fn topic_matches(sub: &Subscription, c: &Collection, record_id: &str) -> bool {
    let collection_ok = sub.collection == c.id || sub.collection.eq_ignore_ascii_case(&c.name);
    collection_ok && sub.record.as_deref().is_none_or(|r| r == record_id)
}

/// Everything the visibility and shape of an event depend on, for one subscriber.
#[derive(Clone)]
struct Access {
    auth: Option<AuthInfo>,
    record_topic: bool,
    sub: Arc<Subscription>,
}

/// The caller and the subscription's options: equal keys see the same event the same way.
type AccessKey = (String, String);
/// One subscription to deliver to: client id, client, subscription, access key.
type Target = (Arc<str>, Arc<Client>, Arc<Subscription>, AccessKey);

/// Who the caller is (collection and record id; empty for guests).
fn caller(auth: &Option<AuthInfo>) -> String {
    auth.as_ref()
        .map(|a| format!("{}/{}", a.collection.id, a.id()))
        .unwrap_or_default()
}

impl Access {
    fn ctx(&self) -> RequestCtx {
        RequestCtx {
            auth: self.auth.clone(),
            method: "GET".into(),
            headers: self.sub.headers.clone(),
            query: self.sub.query.clone(),
            body: Map::new(),
            context: "realtime".into(),
        }
    }
}

async fn dispatch(backend: &Arc<Backend>, event: ChangeEvent) -> Result<()> {
    let record_id = event
        .record
        .get("id")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let mut targets: Vec<Target> = vec![];
    let mut unique: HashMap<AccessKey, Access> = HashMap::new();
    for (client_id, client) in backend.broker.snapshot() {
        let Ok(state) = client.state.lock() else {
            continue;
        };
        let mut who: Option<String> = None;
        for sub in state
            .subscriptions
            .iter()
            .filter(|s| topic_matches(s, &event.collection, &record_id))
        {
            let who = who.get_or_insert_with(|| caller(&state.auth)).clone();
            let key = (who, sub.options_key().to_string());
            if !unique.contains_key(&key) {
                unique.insert(
                    key.clone(),
                    Access {
                        auth: state.auth.clone(),
                        record_topic: sub.record.is_some(),
                        sub: sub.clone(),
                    },
                );
            }
            targets.push((client_id.clone(), client.clone(), sub.clone(), key));
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    let schema = backend.schema();
    let payloads: HashMap<AccessKey, Option<Arc<str>>> = backend
        .store
        .read(move |r| -> Result<_> {
            let c = &event.collection;
            let values = record_values(c, &event.record);
            let mut out = HashMap::new();
            for (key, access) in unique {
                let ctx = access.ctx();
                let visible = if ctx.is_superuser() {
                    true
                } else {
                    let kind = if access.record_topic {
                        RuleKind::View
                    } else {
                        RuleKind::List
                    };
                    match c.rule(kind) {
                        None => false,
                        Some(rule) => {
                            let rule = Compiler::new(&schema, &ctx, Mode::Rule).compile(c, rule);
                            let filter = Compiler::new(&schema, &ctx, Mode::Client)
                                .compile(c, access.sub.query_param("filter"));
                            match (rule, filter) {
                                (Ok(rule), Ok(filter)) => r.row_matches(
                                    &values,
                                    &motorbase_store::Cond::And(vec![rule, filter]),
                                )?,
                                _ => false,
                            }
                        }
                    }
                };
                let payload = if visible {
                    let record = output(
                        r,
                        &schema,
                        &ctx,
                        c,
                        event.record.clone(),
                        access.sub.query_param("expand"),
                        access.sub.query_param("fields"),
                    )?;
                    let data = json!({"action": event.action.as_str(), "record": record});
                    Some(Arc::from(data.to_string()))
                } else {
                    None
                };
                out.insert(key, payload);
            }
            Ok(out)
        })
        .await?;
    for (client_id, client, sub, key) in targets {
        let Some(Some(data)) = payloads.get(&key) else {
            continue;
        };
        let msg = Message {
            event: sub.raw_arc(),
            data: data.clone(),
        };
        match client.tx.try_send(msg) {
            Ok(()) => {}
            // A client that cannot keep up is dropped (it may reconnect); writers never wait.
            Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => {
                backend.broker.disconnect(&client_id)
            }
        }
    }
    Ok(())
}
