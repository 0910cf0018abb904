//! Realtime: committed record changes fanned out to subscribers, each event checked against the
//! subscriber's access (listRule for `collection/*`, viewRule for `collection/ID`) before it is
//! sent. The transport (SSE, WebSocket) lives in the api crate; a cluster transport can feed
//! [`Broker::publish`] the same way.

mod dispatch;
mod topic;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock, Weak};

use serde_json::{Map, Value as Json};
use tokio::sync::mpsc;

use crate::collections::Collection;
use crate::rules::AuthInfo;
use crate::Backend;
pub use topic::{Subscription, TopicError};

/// How many undelivered messages a client may have before it is dropped as too slow.
pub const CLIENT_QUEUE: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// A committed change of one record; `record` is the full stored record (hidden fields too).
#[derive(Debug, Clone)]
pub struct ChangeEvent {
    pub collection: Arc<Collection>,
    pub action: Action,
    pub record: Map<String, Json>,
}

/// One message for one client: the event name (the exact subscription string) and its JSON.
#[derive(Debug, Clone)]
pub struct Message {
    pub event: Arc<str>,
    pub data: Arc<str>,
}

struct Client {
    /// Messages are shared between the subscribers that get the same one: a queue slot is one
    /// pointer, which keeps each idle client's queue small.
    tx: mpsc::Sender<Arc<Message>>,
    state: Mutex<ClientState>,
}

#[derive(Default)]
struct ClientState {
    subscriptions: Vec<Arc<Subscription>>,
    auth: Option<AuthInfo>,
    /// Who `auth` is (`collection/id`, empty for guests), kept so that events group
    /// subscribers without rebuilding it per event.
    caller: Arc<str>,
}

impl ClientState {
    fn set_auth(&mut self, auth: Option<AuthInfo>) {
        self.caller = Arc::from(
            auth.as_ref()
                .map(|a| format!("{}/{}", a.collection.id, a.id()))
                .unwrap_or_default(),
        );
        self.auth = auth;
    }
}

pub struct Broker {
    clients: RwLock<HashMap<Arc<str>, Arc<Client>>>,
    events: mpsc::UnboundedSender<Vec<ChangeEvent>>,
}

impl Broker {
    /// A broker and the receiving end its dispatcher reads; see [`Broker::start`].
    pub(crate) fn new() -> (Broker, mpsc::UnboundedReceiver<Vec<ChangeEvent>>) {
        let (events, rx) = mpsc::unbounded_channel();
        (
            Broker {
                clients: RwLock::new(HashMap::new()),
                events,
            },
            rx,
        )
    }

    /// Starts the dispatcher task; it stops when the backend is dropped.
    pub(crate) fn start(backend: Weak<Backend>, rx: mpsc::UnboundedReceiver<Vec<ChangeEvent>>) {
        tokio::spawn(dispatch::run(backend, rx));
    }

    /// Hands committed changes to the dispatcher. Never blocks the writer.
    pub fn publish(&self, events: Vec<ChangeEvent>) {
        if !events.is_empty() && self.client_count() > 0 {
            let _ = self.events.send(events);
        }
    }

    pub fn client_count(&self) -> usize {
        self.clients.read().map(|c| c.len()).unwrap_or(0)
    }

    /// Registers a new client; its messages arrive on the returned receiver.
    pub fn connect(&self) -> (String, mpsc::Receiver<Arc<Message>>) {
        let id = crate::util::random_alnum(40);
        let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
        let client = Arc::new(Client {
            tx,
            state: Mutex::new(ClientState::default()),
        });
        if let Ok(mut clients) = self.clients.write() {
            clients.insert(Arc::from(id.as_str()), client);
        }
        (id, rx)
    }

    /// Ends every client's stream (their queues close), as the server shuts down.
    pub fn disconnect_all(&self) {
        if let Ok(mut clients) = self.clients.write() {
            clients.clear();
        }
    }

    pub fn disconnect(&self, client_id: &str) {
        if let Ok(mut clients) = self.clients.write() {
            clients.remove(client_id);
        }
    }

    /// Replaces a client's subscriptions and the identity they are checked with.
    /// `false` when no such client is connected.
    pub fn set_subscriptions(
        &self,
        client_id: &str,
        subscriptions: Vec<Subscription>,
        auth: Option<AuthInfo>,
    ) -> bool {
        let client = match self.clients.read() {
            Ok(clients) => clients.get(client_id).cloned(),
            Err(_) => None,
        };
        let Some(client) = client else {
            return false;
        };
        if let Ok(mut state) = client.state.lock() {
            state.subscriptions = subscriptions.into_iter().map(Arc::new).collect();
            state.set_auth(auth);
        }
        true
    }

    /// Adds or removes topics without touching the others (the WebSocket protocol).
    pub fn change_subscriptions(
        &self,
        client_id: &str,
        add: Vec<Subscription>,
        remove: &[String],
        auth: Option<Option<AuthInfo>>,
    ) -> bool {
        let client = match self.clients.read() {
            Ok(clients) => clients.get(client_id).cloned(),
            Err(_) => None,
        };
        let Some(client) = client else {
            return false;
        };
        if let Ok(mut state) = client.state.lock() {
            state
                .subscriptions
                .retain(|s| !remove.iter().any(|r| r == s.raw()));
            for s in add {
                if !state.subscriptions.iter().any(|x| x.raw() == s.raw()) {
                    state.subscriptions.push(Arc::new(s));
                }
            }
            if let Some(a) = auth {
                state.set_auth(a);
            }
        }
        true
    }

    /// Sends one message to one client that subscribed to exactly `topic`, and ends that
    /// subscription (the OAuth2 redirect answering on `@oauth2`). False when there is no such
    /// client or subscription, or its queue is full.
    pub fn deliver_once(&self, client_id: &str, topic: &str, data: String) -> bool {
        let client = match self.clients.read() {
            Ok(clients) => clients.get(client_id).cloned(),
            Err(_) => None,
        };
        let Some(client) = client else {
            return false;
        };
        let Ok(mut state) = client.state.lock() else {
            return false;
        };
        let before = state.subscriptions.len();
        state.subscriptions.retain(|s| s.raw() != topic);
        if state.subscriptions.len() == before {
            return false;
        }
        client
            .tx
            .try_send(Arc::new(Message {
                event: Arc::from(topic),
                data: Arc::from(data),
            }))
            .is_ok()
    }
}
