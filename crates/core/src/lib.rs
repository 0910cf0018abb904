//! The domain of Motorbase: collections, records, rules, auth and settings. No HTTP, no SQL text.
#![forbid(unsafe_code)]

pub mod auth;
pub mod batch;
pub mod collections;
pub mod error;
pub mod files;
pub mod hooks;
pub mod install;
pub mod logs;
pub mod mail;
pub mod realtime;
pub mod records;
pub mod rules;
pub mod settings;
pub mod util;

use std::path::Path;
use std::sync::{Arc, RwLock};

use motorbase_store::{Cond, Select, Store, StoreError, Value};
use serde_json::{Map, Value as Json};

use collections::{Collection, Schema};
pub use error::{CoreError, Result};
/// How many database reads may run at once; the binary sizes its runtime by it.
pub use motorbase_store::READ_CONNECTIONS;

/// The running backend: the store and snapshots of the schema and settings.
pub struct Backend {
    pub store: Store,
    pub broker: realtime::Broker,
    pub logs: logs::Logs,
    /// Where file fields' files are stored (local folder or S3, per the settings).
    pub files: files::FileStorage,
    /// Resend throttles and rate limit windows of the auth flows.
    pub auth: auth::AuthState,
    /// Hooks registered by embedders and the business logic.
    pub hooks: hooks::Hooks,
    /// The first-run install link's token, while no superuser exists.
    pub install: install::InstallGate,
    schema: RwLock<Arc<Schema>>,
    settings: RwLock<Arc<Json>>,
    request_settings: RwLock<RequestSettings>,
}

/// What every request reads from the settings, taken out of the settings JSON when it changes:
/// looking each one up in the JSON (maps hashed with SipHash) cost ~1.5k instructions a request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestSettings {
    pub logs: logs::LogSettings,
    /// `rateLimits.enabled`.
    pub rate_limits: bool,
    /// Superusers are held to a list of addresses (`superuserIPs`).
    pub superuser_ips: bool,
}

impl RequestSettings {
    fn from_settings(s: &Json) -> RequestSettings {
        RequestSettings {
            logs: logs::LogSettings::from_settings(s),
            rate_limits: s
                .get("rateLimits")
                .and_then(|r| r.get("enabled"))
                .and_then(Json::as_bool)
                == Some(true),
            superuser_ips: !auth::rate_limit::superuser_ips(s).is_empty(),
        }
    }

    /// Requests need the access guards' check.
    pub fn guarded(&self) -> bool {
        self.rate_limits || self.superuser_ips
    }
}

impl Backend {
    /// Opens the data folder, creating the database and the default collections on first use.
    pub async fn open(dir: &Path) -> Result<Arc<Backend>> {
        std::fs::create_dir_all(dir)
            .map_err(|e| CoreError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        let store = Store::open(&dir.join("data.db"), motorbase_store::CacheSizes::DATA)?;
        let (broker, events) = realtime::Broker::new();
        let logs = logs::Logs::open(dir).await?;
        let backend = Arc::new(Backend {
            store,
            broker,
            logs,
            files: files::FileStorage::new(dir),
            auth: Default::default(),
            hooks: Default::default(),
            install: install::InstallGate::default(),
            schema: RwLock::new(Arc::new(Schema::default())),
            request_settings: RwLock::new(RequestSettings::from_settings(&settings::defaults())),
            settings: RwLock::new(Arc::new(settings::defaults())),
        });
        realtime::Broker::start(Arc::downgrade(&backend), events);
        tokio::spawn(trim_logs(Arc::downgrade(&backend)));
        backend.reload_schema().await?;
        if backend.schema().get(collections::SUPERUSERS).is_none() {
            backend.install_defaults().await?;
        }
        // Data folders from before the auth flows lack their bookkeeping collections.
        let missing: Vec<Collection> = collections::defaults::auth_system_collections()
            .into_iter()
            .filter(|c| backend.schema().get(&c.name).is_none())
            .collect();
        if !missing.is_empty() {
            backend.install_collections(missing).await?;
        }
        let s = settings::load(&backend).await?;
        backend.set_settings(s);
        Ok(backend)
    }

    async fn install_defaults(&self) -> Result<()> {
        self.install_collections(vec![
            collections::defaults::superusers(),
            collections::defaults::users(),
        ])
        .await
    }

    /// Creates the tables of `list` and records their definitions.
    async fn install_collections(&self, list: Vec<Collection>) -> Result<()> {
        for c in list {
            let row = collections::definition_row(&c)?;
            let changes = collections_changes(&c);
            self.store
                .write(move |tx| -> std::result::Result<(), StoreError> {
                    tx.insert("_collections", &row)?;
                    for ch in &changes {
                        tx.apply(ch)?;
                    }
                    Ok(())
                })
                .await?;
        }
        self.reload_schema().await
    }

    pub fn schema(&self) -> Arc<Schema> {
        self.schema.read().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn settings(&self) -> Arc<Json> {
        self.settings
            .read()
            .map(|s| s.clone())
            .unwrap_or_else(|_| Arc::new(settings::defaults()))
    }

    /// The settings every request needs, without a lookup in the settings JSON.
    pub fn request_settings(&self) -> RequestSettings {
        self.request_settings
            .read()
            .map(|s| *s)
            .unwrap_or_else(|_| RequestSettings::from_settings(&settings::defaults()))
    }

    pub(crate) fn set_settings(&self, s: Json) {
        if let Ok(mut w) = self.request_settings.write() {
            *w = RequestSettings::from_settings(&s);
        }
        if let Ok(mut w) = self.settings.write() {
            *w = Arc::new(s);
        }
    }

    /// Re-reads every collection definition after a schema change.
    pub async fn reload_schema(&self) -> Result<()> {
        let q = Select {
            table: "_collections".into(),
            columns: vec![("data".into(), motorbase_store::ColumnKind::Json)],
            filter: Cond::True,
            sort: vec![motorbase_store::SortKey::RowId { desc: false }],
            limit: None,
            offset: 0,
        };
        let rows = self
            .store
            .read(move |r| -> std::result::Result<_, StoreError> { r.select(&q) })
            .await?;
        let mut list = vec![];
        for row in rows {
            if let Some(v) = row.into_iter().next() {
                let c: Collection = serde_json::from_value(v)
                    .map_err(|e| CoreError::Internal(format!("bad collection definition: {e}")))?;
                list.push(c);
            }
        }
        if let Ok(mut w) = self.schema.write() {
            *w = Arc::new(Schema::new(list));
        }
        Ok(())
    }

    /// Creates or updates a superuser (used by the CLI).
    pub async fn upsert_superuser(&self, email: &str, password: &str) -> Result<()> {
        let c = self
            .schema()
            .get(collections::SUPERUSERS)
            .ok_or_else(CoreError::not_found)?;
        let ctx = superuser_ctx(&c);
        let existing = auth_lookup_by_email(self, &c, email).await?;
        let mut body = Map::new();
        body.insert("email".into(), Json::String(email.to_string()));
        body.insert("password".into(), Json::String(password.to_string()));
        body.insert("passwordConfirm".into(), Json::String(password.to_string()));
        match existing {
            Some(id) => records::update(self, &c.name, &id, body, Default::default(), ctx)
                .await
                .map(|_| ()),
            None => records::create(self, &c.name, body, Default::default(), ctx)
                .await
                .map(|_| ()),
        }
    }

    /// Deletes a superuser by email (used by the CLI).
    pub async fn delete_superuser(&self, email: &str) -> Result<()> {
        let c = self
            .schema()
            .get(collections::SUPERUSERS)
            .ok_or_else(CoreError::not_found)?;
        let id = auth_lookup_by_email(self, &c, email)
            .await?
            .ok_or_else(CoreError::not_found)?;
        records::delete(self, &c.name, &id, superuser_ctx(&c)).await
    }

    /// Whether any superuser exists yet.
    pub async fn has_superuser(&self) -> Result<bool> {
        let table = collections::SUPERUSERS.to_string();
        Ok(self
            .store
            .read(move |r| -> std::result::Result<_, StoreError> { r.count(&table, &Cond::True) })
            .await?
            > 0)
    }
}

/// Keeps the request logs within `settings.logs.maxDays`, checking every hour.
async fn trim_logs(backend: std::sync::Weak<Backend>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        let Some(backend) = backend.upgrade() else {
            return;
        };
        let days = backend
            .settings()
            .get("logs")
            .and_then(|l| l.get("maxDays"))
            .and_then(Json::as_i64)
            .unwrap_or(5);
        if let Err(e) = backend.logs.trim(days).await {
            tracing::warn!(error = %e, "trimming request logs failed");
        }
    }
}

/// A context with superuser rights for work the CLI does on the owner's behalf.
fn superuser_ctx(superusers: &Arc<Collection>) -> rules::RequestCtx {
    rules::RequestCtx {
        auth: Some(rules::AuthInfo {
            collection: superusers.clone(),
            record: Map::new(),
        }),
        context: "cli".into(),
        ..Default::default()
    }
}

async fn auth_lookup_by_email(
    backend: &Backend,
    c: &Arc<Collection>,
    email: &str,
) -> Result<Option<String>> {
    let q = Select {
        table: c.name.clone(),
        columns: vec![("id".into(), motorbase_store::ColumnKind::Text)],
        filter: Cond::Cmp {
            left: motorbase_store::Operand::Lower(Box::new(motorbase_store::Operand::Path(
                motorbase_store::Path::column("email"),
            ))),
            op: motorbase_store::CmpOp::Eq,
            right: motorbase_store::Operand::Value(Value::Text(email.to_lowercase())),
            any: false,
        },
        sort: vec![],
        limit: Some(1),
        offset: 0,
    };
    let row = backend
        .store
        .read(move |r| -> std::result::Result<_, StoreError> {
            Ok(r.select(&q)?.into_iter().next())
        })
        .await?;
    Ok(row
        .and_then(|r| r.into_iter().next())
        .and_then(|v| v.as_str().map(str::to_string)))
}

/// The table and indexes a brand-new collection needs.
fn collections_changes(c: &Collection) -> Vec<motorbase_store::SchemaChange> {
    let mut changes = vec![motorbase_store::SchemaChange::CreateTable {
        table: c.name.clone(),
        columns: c
            .columns()
            .map(|f| motorbase_store::ColumnDef {
                name: f.name.clone(),
                kind: f.column_kind(),
                default: f.zero_column(),
            })
            .collect(),
    }];
    for sql in &c.indexes {
        if let Ok(mut ix) = collections::index::parse_index(sql) {
            ix.table = c.name.clone();
            changes.push(motorbase_store::SchemaChange::CreateIndex(ix));
        }
    }
    changes
}
