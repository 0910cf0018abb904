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
type AccessKey = (Arc<str>, Arc<str>);
/// One subscription to deliver to: client id, client, event name, index of its access.
type Target = (Arc<str>, Arc<Client>, Arc<str>, usize);

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
    let mut index: HashMap<AccessKey, usize> = HashMap::new();
    let mut unique: Vec<Access> = vec![];
    // Most subscribers look like the one before them (guests on the same topic): comparing with
    // the last key first skips hashing for them.
    let mut last: Option<(AccessKey, usize)> = None;
    {
        let Ok(clients) = backend.broker.clients.read() else {
            return Ok(());
        };
        targets.reserve(clients.len());
        for (client_id, client) in clients.iter() {
            let Ok(state) = client.state.lock() else {
                continue;
            };
            for sub in state
                .subscriptions
                .iter()
                .filter(|s| topic_matches(s, &event.collection, &record_id))
            {
                let i = match &last {
                    Some(((who, opts), i))
                        if **who == *state.caller && **opts == **sub.options_key() =>
                    {
                        *i
                    }
                    _ => {
                        let key = (state.caller.clone(), sub.options_key().clone());
                        let i = *index.entry(key.clone()).or_insert_with(|| {
                            unique.push(Access {
                                auth: state.auth.clone(),
                                record_topic: sub.record.is_some(),
                                sub: sub.clone(),
                            });
                            unique.len() - 1
                        });
                        last = Some((key, i));
                        i
                    }
                };
                targets.push((client_id.clone(), client.clone(), sub.raw_arc(), i));
            }
        }
    }
    if targets.is_empty() {
        return Ok(());
    }
    let schema = backend.schema();
    let payloads: Vec<Option<Arc<str>>> = backend
        .store
        .read(move |r| -> Result<_> {
            let c = &event.collection;
            let values = record_values(c, &event.record);
            let mut out = Vec::with_capacity(unique.len());
            for access in unique {
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
                out.push(payload);
            }
            Ok(out)
        })
        .await?;
    // Subscribers in a row with the same access and topic name share one message.
    let mut shared: Option<(usize, Arc<Message>)> = None;
    for (client_id, client, event, i) in targets {
        let Some(Some(data)) = payloads.get(i) else {
            continue;
        };
        let msg = match &shared {
            Some((j, m)) if *j == i && *m.event == *event => m.clone(),
            _ => {
                let m = Arc::new(Message {
                    event,
                    data: data.clone(),
                });
                shared = Some((i, m.clone()));
                m
            }
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
