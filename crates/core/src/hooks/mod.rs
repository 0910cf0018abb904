//! Where business logic attaches to what the server does. For now: the auth events, raised at
//! the points PocketBase raises its `OnRecord*Request` auth hooks, before the flow acts, so a
//! hook can refuse (its error becomes the answer) or just observe. The JS hooks of the business
//! logic issue register here too.

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value as Json};

use crate::collections::Collection;
use crate::error::CoreError;

/// Which auth step is about to happen (PocketBase's hook names, without `OnRecord`/`Request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthEventKind {
    /// Any successful sign-in, right before the token is sent (`OnRecordAuthRequest`).
    Auth,
    AuthWithPassword,
    AuthWithOtp,
    AuthWithOAuth2,
    AuthRefresh,
    RequestOtp,
    RequestVerification,
    ConfirmVerification,
    RequestPasswordReset,
    ConfirmPasswordReset,
    RequestEmailChange,
    ConfirmEmailChange,
    Impersonate,
}

/// What a hook sees of the event.
#[derive(Debug, Clone)]
pub struct AuthEvent {
    pub kind: AuthEventKind,
    pub collection: Arc<Collection>,
    /// The auth record concerned (full, hidden fields included), when one is known.
    pub record: Option<Map<String, Json>>,
    /// `password`, `otp`, `oauth2`... for sign-ins; empty otherwise.
    pub method: String,
    /// The new address of an email change.
    pub new_email: Option<String>,
}

impl AuthEvent {
    pub fn new(kind: AuthEventKind, collection: &Arc<Collection>) -> Self {
        AuthEvent {
            kind,
            collection: collection.clone(),
            record: None,
            method: String::new(),
            new_email: None,
        }
    }
    pub fn record(mut self, record: &Map<String, Json>) -> Self {
        self.record = Some(record.clone());
        self
    }
    pub fn method(mut self, method: &str) -> Self {
        self.method = method.to_string();
        self
    }
}

/// A hook's refusal: the request fails with this 400 message.
#[derive(Debug, Clone)]
pub struct HookRefusal(pub String);

pub type AuthHook = Arc<dyn Fn(&AuthEvent) -> Result<(), HookRefusal> + Send + Sync>;

/// The registered hooks.
#[derive(Default)]
pub struct Hooks {
    auth: RwLock<Vec<AuthHook>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.auth.read().map(|v| v.len()).unwrap_or(0);
        write!(f, "Hooks {{ auth: {n} }}")
    }
}

impl Hooks {
    /// Adds a hook that runs for every auth event, in registration order.
    pub fn on_auth(
        &self,
        hook: impl Fn(&AuthEvent) -> Result<(), HookRefusal> + Send + Sync + 'static,
    ) {
        if let Ok(mut v) = self.auth.write() {
            v.push(Arc::new(hook));
        }
    }

    /// Runs the hooks; the first refusal stops the flow.
    pub fn trigger_auth(&self, event: &AuthEvent) -> Result<(), CoreError> {
        let hooks: Vec<AuthHook> = self.auth.read().map(|v| v.clone()).unwrap_or_default();
        for h in hooks {
            h(event).map_err(|HookRefusal(m)| CoreError::BadRequest(m))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::password_reset;
    use std::sync::Mutex;

    /// The flows raise their events on a real backend, and a refusal stops them.
    #[tokio::test]
    async fn flows_raise_auth_events() {
        let dir =
            std::env::temp_dir().join(format!("motorbase-hooks-{}", crate::util::random_lower(12)));
        let backend = crate::Backend::open(&dir).await.unwrap();
        let c = backend.schema().get("users").unwrap();
        let ctx = crate::auth::lookup::system_ctx(&backend).unwrap();
        let mut body = Map::new();
        body.insert("email".into(), Json::String("hook@example.com".into()));
        body.insert("password".into(), Json::String("Password123".into()));
        body.insert("passwordConfirm".into(), Json::String("Password123".into()));
        crate::records::create(&backend, "users", body, Default::default(), ctx.clone())
            .await
            .unwrap();
        let seen = Arc::new(Mutex::new(vec![]));
        let log = seen.clone();
        backend.hooks.on_auth(move |e| {
            log.lock().unwrap().push((e.kind, e.method.clone()));
            if e.kind == AuthEventKind::RequestPasswordReset {
                return Err(HookRefusal("resets are paused".into()));
            }
            Ok(())
        });
        let refused = password_reset::request(&backend, &c, "hook@example.com").await;
        assert_eq!(refused.unwrap_err().to_string(), "resets are paused");
        let record = crate::auth::lookup::find_by_email(&backend, &c, "hook@example.com")
            .await
            .unwrap()
            .unwrap();
        let how = crate::auth::respond::SignIn {
            method: "password".into(),
            ..Default::default()
        };
        let guest = crate::rules::RequestCtx::default();
        crate::auth::respond::finish(&backend, &c, &record, how, &guest)
            .await
            .unwrap();
        let kinds: Vec<_> = seen.lock().unwrap().clone();
        assert_eq!(
            kinds,
            vec![
                (AuthEventKind::RequestPasswordReset, String::new()),
                (AuthEventKind::Auth, "password".to_string())
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_refusal_stops_the_flow() {
        let hooks = Hooks::default();
        let c = Arc::new(crate::collections::defaults::users());
        hooks.on_auth(|e| {
            if e.kind == AuthEventKind::RequestOtp {
                Err(HookRefusal("no codes today".into()))
            } else {
                Ok(())
            }
        });
        assert!(hooks
            .trigger_auth(&AuthEvent::new(AuthEventKind::Auth, &c))
            .is_ok());
        let err = hooks
            .trigger_auth(&AuthEvent::new(AuthEventKind::RequestOtp, &c))
            .unwrap_err();
        assert_eq!(err.to_string(), "no codes today");
    }
}
