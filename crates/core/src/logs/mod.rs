//! Request logs, as PocketBase keeps them: one row per request in `_logs` of a second database
//! file (so logging never contends with data writes), written in batches off the request path,
//! trimmed to `settings.logs.maxDays`, readable by superusers through `/api/logs`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use motorbase_store::{
    CmpOp, ColumnDef, ColumnKind, Cond, Operand, Path as FieldPath, SchemaChange, Select, Store,
    Value,
};
use serde_json::{json, Map, Value as Json};
use tokio::sync::mpsc;

use crate::collections::{Collection, CollectionType, Field, FieldType};
use crate::error::{CoreError, Result};
use crate::records::{FieldsPicker, ListParams, ListResult};
use crate::rules::{Compiler, Mode, RequestCtx};
use crate::util::{format_time, random_lower};

const TABLE: &str = "_logs";
/// Entries waiting to be written; beyond this, new entries are dropped rather than slow a request.
const QUEUE: usize = 10_000;
const BATCH: usize = 1000;
/// Entries wait in memory until the next flush: at 50k requests a second a 200 ms wait held
/// ~20k of them (~10 MB); at 50 ms the peak RSS under load is ~6 MB lower, at the same speed.
const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// PocketBase's (slog's) levels.
pub const LEVEL_INFO: i64 = 0;
pub const LEVEL_ERROR: i64 = 8;

/// What the HTTP layer knows about one finished request.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub exec_ms: f64,
    pub remote_ip: String,
    pub user_agent: String,
    pub referer: String,
    /// The collection of the verified caller, if any.
    pub auth: String,
    pub auth_id: String,
    /// The error message of a failed request.
    pub error: String,
}

/// A queued entry: the request as the HTTP layer saw it, turned into a row only by the writer
/// task, in batches (no JSON map, id or timestamp text built on the request path).
struct Entry {
    log: RequestLog,
    level: i64,
    created: chrono::DateTime<chrono::Utc>,
    log_ip: bool,
    log_auth_id: bool,
}

/// The `data` column of a request entry, in PocketBase's key order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestData<'a> {
    r#type: &'static str,
    method: &'a str,
    url: &'a str,
    status: u16,
    exec_time: f64,
    user_agent: &'a str,
    referer: &'a str,
    auth: &'a str,
    #[serde(rename = "remoteIP", skip_serializing_if = "Option::is_none")]
    remote_ip: Option<&'a str>,
    #[serde(rename = "userIP", skip_serializing_if = "Option::is_none")]
    user_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// A 15-character lowercase id that sorts by time: 10 base-36 digits of microseconds, then 5
/// random ones. Under load the table grows by millions of rows; with ids in time order each
/// flush appends at the end of the id index instead of dirtying pages all across it.
fn time_ordered_id(at: chrono::DateTime<chrono::Utc>) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = u64::try_from(at.timestamp_micros()).unwrap_or(0);
    let mut head = [b'0'; 10];
    for d in head.iter_mut().rev() {
        *d = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    let mut id: String = head.iter().map(|&b| b as char).collect();
    id.push_str(&random_lower(5));
    id
}

impl Entry {
    fn row(&self) -> [(&'static str, Value); 5] {
        let log = &self.log;
        let ip = self.log_ip.then_some(log.remote_ip.as_str());
        let data = RequestData {
            r#type: "request",
            method: &log.method,
            url: &log.url,
            status: log.status,
            exec_time: log.exec_ms,
            user_agent: &log.user_agent,
            referer: &log.referer,
            auth: &log.auth,
            remote_ip: ip,
            user_ip: ip,
            auth_id: (self.log_auth_id && !log.auth_id.is_empty()).then_some(log.auth_id.as_str()),
            error: (!log.error.is_empty()).then_some(log.error.as_str()),
        };
        let data = serde_json::to_string(&data).unwrap_or_else(|_| "{}".into());
        [
            ("id", Value::Text(time_ordered_id(self.created))),
            ("level", Value::Int(self.level)),
            (
                "message",
                Value::Text(format!("{} {}", log.method, log.url)),
            ),
            ("data", Value::Text(data)),
            ("created", Value::Text(format_time(self.created))),
        ]
    }
}

pub struct Logs {
    pub store: Store,
    tx: mpsc::Sender<Entry>,
}

/// The `_logs` table described as a collection, so list filters and sorts compile against it.
fn logs_table() -> Collection {
    Collection {
        id: TABLE.into(),
        list_rule: None,
        view_rule: None,
        create_rule: None,
        update_rule: None,
        delete_rule: None,
        name: TABLE.into(),
        kind: CollectionType::Base,
        fields: vec![
            Field::new("id", FieldType::Text, json!({})),
            Field::new("level", FieldType::Number, json!({})),
            Field::new("message", FieldType::Text, json!({})),
            Field::new("data", FieldType::Json, json!({})),
            Field::new("created", FieldType::Date, json!({})),
        ],
        indexes: vec![],
        created: String::new(),
        updated: String::new(),
        system: true,
        options: Map::new(),
    }
}

fn columns() -> Vec<(String, ColumnKind)> {
    vec![
        ("id".into(), ColumnKind::Text),
        ("level".into(), ColumnKind::Number),
        ("message".into(), ColumnKind::Text),
        ("data".into(), ColumnKind::Json),
        ("created".into(), ColumnKind::Text),
    ]
}

fn row_json(row: Vec<Json>) -> Json {
    let mut m = Map::new();
    for ((name, _), v) in columns().into_iter().zip(row) {
        m.insert(name, v);
    }
    Json::Object(m)
}

impl Logs {
    /// Opens `auxiliary.db` in the data folder and starts the background writer.
    pub async fn open(dir: &Path) -> Result<Logs> {
        let store = Store::open(&dir.join("auxiliary.db"), motorbase_store::CacheSizes::LOGS)?;
        store
            .write(
                |tx| -> std::result::Result<(), motorbase_store::StoreError> {
                    if !tx.table_exists(TABLE)? {
                        let col = |name: &str, kind, default| ColumnDef {
                            name: name.into(),
                            kind,
                            default,
                        };
                        tx.apply(&SchemaChange::CreateTable {
                            table: TABLE.into(),
                            columns: vec![
                                col("level", ColumnKind::Number, Value::Int(0)),
                                col("message", ColumnKind::Text, Value::Text(String::new())),
                                col("data", ColumnKind::Json, Value::Text("{}".into())),
                                col("created", ColumnKind::Text, Value::Text(String::new())),
                            ],
                        })?;
                        tx.apply(&SchemaChange::CreateIndex(motorbase_store::IndexDef {
                            name: "idx_logs_created".into(),
                            unique: false,
                            table: TABLE.into(),
                            columns: vec![motorbase_store::IndexColumn {
                                name: "created".into(),
                                desc: false,
                                nocase: false,
                            }],
                            where_not_empty: None,
                        }))?;
                    }
                    Ok(())
                },
            )
            .await?;
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(store.clone(), rx));
        Ok(Logs { store, tx })
    }

    /// Queues a request's log entry as the `logs` settings allow; never waits.
    pub fn record(&self, settings: &Json, log: RequestLog) {
        let logs = settings.get("logs");
        let setting = |k: &str| logs.and_then(|l| l.get(k));
        if setting("maxDays").and_then(Json::as_i64).unwrap_or(5) <= 0 {
            return;
        }
        let level = if log.status >= 400 {
            LEVEL_ERROR
        } else {
            LEVEL_INFO
        };
        if level < setting("minLevel").and_then(Json::as_i64).unwrap_or(0) {
            return;
        }
        let entry = Entry {
            level,
            created: chrono::Utc::now(),
            log_ip: setting("logIP").and_then(Json::as_bool).unwrap_or(true),
            log_auth_id: setting("logAuthId")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            log,
        };
        // A full queue means the disk cannot keep up: drop the entry, never the request.
        let _ = self.tx.try_send(entry);
    }

    /// Removes entries older than `max_days` (run periodically by the server).
    pub async fn trim(&self, max_days: i64) -> Result<u64> {
        let cutoff = format_time(chrono::Utc::now() - chrono::Duration::days(max_days.max(0)));
        let cond = Cond::Cmp {
            left: Operand::Path(FieldPath::column("created")),
            op: CmpOp::Lt,
            right: Operand::Value(Value::Text(cutoff)),
            any: false,
        };
        Ok(self
            .store
            .write(move |tx| tx.delete_where(TABLE, &cond))
            .await?)
    }

    pub async fn list(
        &self,
        schema: Arc<crate::collections::Schema>,
        params: ListParams,
        ctx: RequestCtx,
    ) -> Result<ListResult> {
        let table = logs_table();
        let filter = Compiler::new(&schema, &ctx, Mode::Client)
            .compile(&table, &params.filter)
            .map_err(|_| CoreError::generic_bad_request())?;
        let sort = crate::records::sort_keys(&schema, &table, &ctx, &params.sort)?;
        let (page, per_page) = crate::records::paging(&params)?;
        let q = Select {
            table: TABLE.into(),
            columns: columns(),
            filter: filter.clone(),
            sort,
            limit: Some(per_page),
            offset: (page - 1).saturating_mul(per_page),
        };
        let picker = FieldsPicker::parse(&params.fields);
        let skip_total = params.skip_total;
        self.store
            .read(move |r| -> Result<ListResult> {
                let items = r
                    .select(&q)?
                    .into_iter()
                    .map(|row| {
                        let mut v = row_json(row);
                        if let (Some(p), Json::Object(o)) = (&picker, &mut v) {
                            p.apply(o);
                        }
                        v
                    })
                    .collect();
                let total = if skip_total {
                    None
                } else {
                    Some(r.count(TABLE, &filter)?)
                };
                Ok(ListResult::new(page, per_page, total, items))
            })
            .await
    }

    pub async fn view(&self, id: &str) -> Result<Json> {
        let q = Select {
            table: TABLE.into(),
            columns: columns(),
            filter: Cond::IdIn(vec![id.to_string()]),
            sort: vec![],
            limit: Some(1),
            offset: 0,
        };
        self.store
            .read(move |r| -> Result<Json> {
                r.select(&q)?
                    .into_iter()
                    .next()
                    .map(row_json)
                    .ok_or_else(CoreError::not_found)
            })
            .await
    }

    /// Requests per hour: `[{date, total}]`, optionally filtered.
    pub async fn stats(
        &self,
        schema: Arc<crate::collections::Schema>,
        filter: &str,
        ctx: RequestCtx,
    ) -> Result<Json> {
        let table = logs_table();
        let cond = Compiler::new(&schema, &ctx, Mode::Client)
            .compile(&table, filter)
            .map_err(|_| CoreError::generic_bad_request())?;
        let q = Select {
            table: TABLE.into(),
            columns: vec![("created".into(), ColumnKind::Text)],
            filter: cond,
            sort: vec![],
            limit: None,
            offset: 0,
        };
        self.store
            .read(move |r| -> Result<Json> {
                let mut hours: std::collections::BTreeMap<String, u64> = Default::default();
                for row in r.select(&q)? {
                    if let Some(Json::String(created)) = row.into_iter().next() {
                        // `YYYY-MM-DD HH` of `YYYY-MM-DD HH:MM:SS.sssZ`.
                        let hour = created.get(..13).unwrap_or("").to_string();
                        *hours.entry(hour).or_default() += 1;
                    }
                }
                Ok(Json::Array(
                    hours
                        .into_iter()
                        .map(
                            |(h, total)| json!({"date": format!("{h}:00:00.000Z"), "total": total}),
                        )
                        .collect(),
                ))
            })
            .await
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<Entry>) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        // Wake for the first entry, then sleep while others queue up: under load the task wakes
        // a few times a second, not once per request.
        if rx.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        tokio::time::sleep(FLUSH_EVERY).await;
        while batch.len() < QUEUE {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        let rows: Vec<_> = batch.drain(..).map(|e| e.row()).collect();
        let written = store
            .write(
                move |tx| -> std::result::Result<(), motorbase_store::StoreError> {
                    for row in &rows {
                        tx.insert(TABLE, row)?;
                    }
                    Ok(())
                },
            )
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "request logs could not be written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::time_ordered_id;
    use chrono::{Duration, TimeZone, Utc};

    #[test]
    fn log_ids_are_fifteen_lowercase_characters_in_time_order() {
        let start = Utc.with_ymd_and_hms(2026, 11, 27, 23, 0, 0).unwrap();
        let times = [
            start,
            start + Duration::microseconds(1),
            start + Duration::milliseconds(999),
            start + Duration::days(365 * 50),
        ];
        let ids: Vec<String> = times.iter().map(|t| time_ordered_id(*t)).collect();
        for id in &ids {
            assert_eq!(id.len(), 15, "{id}");
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{id}"
            );
        }
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
        assert_ne!(time_ordered_id(start)[10..], time_ordered_id(start)[10..]);
    }
}
