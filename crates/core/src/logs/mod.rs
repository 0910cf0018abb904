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

/// The `logs` settings, read out of the settings JSON once per change rather than per request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogSettings {
    pub max_days: i64,
    pub min_level: i64,
    pub log_ip: bool,
    pub log_auth_id: bool,
}

impl LogSettings {
    /// From the whole settings object, with PocketBase's defaults for what is missing.
    pub fn from_settings(settings: &Json) -> LogSettings {
        let logs = settings.get("logs");
        let setting = |k: &str| logs.and_then(|l| l.get(k));
        LogSettings {
            max_days: setting("maxDays").and_then(Json::as_i64).unwrap_or(5),
            min_level: setting("minLevel").and_then(Json::as_i64).unwrap_or(0),
            log_ip: setting("logIP").and_then(Json::as_bool).unwrap_or(true),
            log_auth_id: setting("logAuthId")
                .and_then(Json::as_bool)
                .unwrap_or(false),
        }
    }
}

/// What the HTTP layer knows about one finished request.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    pub method: String,
    pub url: String,
    pub status: u16,
    pub exec_ms: f64,
    /// The connection's address (PocketBase logs the same one as remote and user IP).
    pub remote_ip: Option<std::net::IpAddr>,
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

/// Appends `s` as a JSON string. Most strings of a request (URL, user agent, addresses) need
/// no escaping and are copied whole once checked; the `data` column used to go through
/// serde_json's serializer for a struct, ~4k instructions a request.
fn push_json_str(out: &mut String, s: &str) {
    if needs_escape(s.as_bytes()) {
        out.push_str(&Json::from(s).to_string());
    } else {
        out.push('"');
        out.push_str(s);
        out.push('"');
    }
}

/// Whether `s` holds a byte JSON escapes (a control character, `"` or `\`), eight bytes at a
/// time: byte by byte, the check of a request's ~300 logged bytes cost ~2.5k instructions.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether any byte of `x` is below `n` (n <= 128), exactly.
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGHS != 0;
    let mut chunks = s.chunks_exact(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let x = u64::from_le_bytes(bytes);
        if below(x, 0x20)
            || below(x ^ (ONES * u64::from(b'"')), 1)
            || below(x ^ (ONES * u64::from(b'\\')), 1)
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// An address as text; IPv4 written directly (`Display` for `IpAddr` cost ~1.3k instructions).
fn ip_text(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut s = String::with_capacity(15);
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                let mut started = false;
                for div in [100, 10, 1] {
                    let d = octet / div % 10;
                    if d > 0 || started || div == 1 {
                        s.push(char::from(b'0' + d));
                        started = true;
                    }
                }
            }
            s
        }
        v6 => v6.to_string(),
    }
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
    let mut id = String::with_capacity(15);
    id.extend(head.iter().map(|&b| char::from(b)));
    id.push_str(&random_lower(5));
    id
}

/// The columns of [`Entry::row`].
const ROW_COLUMNS: [&str; 5] = ["id", "level", "message", "data", "created"];

impl Entry {
    fn row(&self) -> [Value; 5] {
        let log = &self.log;
        // The `data` column, in PocketBase's key order.
        let mut data = String::with_capacity(
            160 + log.url.len() + log.user_agent.len() + log.referer.len() + log.error.len(),
        );
        let field = |data: &mut String, key: &str, value: &str| {
            data.push_str(if data.is_empty() { "{\"" } else { ",\"" });
            data.push_str(key);
            data.push_str("\":");
            push_json_str(data, value);
        };
        field(&mut data, "type", "request");
        field(&mut data, "method", &log.method);
        field(&mut data, "url", &log.url);
        // In milliseconds to the nanosecond, as integers: formatting the f64 itself cost ~1k
        // instructions, `write!` with three integers ~800.
        let ns = (log.exec_ms * 1e6).round().max(0.0) as u64;
        let mut digits = itoa::Buffer::new();
        data.push_str(",\"status\":");
        data.push_str(digits.format(log.status));
        data.push_str(",\"execTime\":");
        data.push_str(digits.format(ns / 1_000_000));
        data.push('.');
        let fraction = digits.format(ns % 1_000_000);
        data.extend(std::iter::repeat_n('0', 6 - fraction.len()));
        data.push_str(fraction);
        field(&mut data, "userAgent", &log.user_agent);
        field(&mut data, "referer", &log.referer);
        field(&mut data, "auth", &log.auth);
        if self.log_ip {
            let ip = log.remote_ip.map(ip_text).unwrap_or_default();
            field(&mut data, "remoteIP", &ip);
            field(&mut data, "userIP", &ip);
        }
        if self.log_auth_id && !log.auth_id.is_empty() {
            field(&mut data, "authId", &log.auth_id);
        }
        if !log.error.is_empty() {
            field(&mut data, "error", &log.error);
        }
        data.push('}');
        let mut message = String::with_capacity(log.method.len() + 1 + log.url.len());
        message.push_str(&log.method);
        message.push(' ');
        message.push_str(&log.url);
        [
            Value::Text(time_ordered_id(self.created)),
            Value::Int(self.level),
            Value::Text(message),
            Value::Text(data),
            Value::Text(format_time(self.created)),
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
    pub fn record(&self, settings: &LogSettings, log: RequestLog) {
        if settings.max_days <= 0 {
            return;
        }
        let level = if log.status >= 400 {
            LEVEL_ERROR
        } else {
            LEVEL_INFO
        };
        if level < settings.min_level {
            return;
        }
        let entry = Entry {
            level,
            created: chrono::Utc::now(),
            log_ip: settings.log_ip,
            log_auth_id: settings.log_auth_id,
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
                    tx.insert_many(TABLE, &ROW_COLUMNS, &rows)
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
    use super::{ip_text, needs_escape, push_json_str, time_ordered_id, Entry, RequestLog};

    /// Every byte value at every position of strings of up to 19 bytes, against the byte by
    /// byte rule, and what the JSON written then reads back as.
    #[test]
    fn strings_are_escaped_exactly_when_json_needs_it() {
        for len in 1..20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    let expected = b < 0x20 || b == b'"' || b == b'\\';
                    assert_eq!(needs_escape(&bytes), expected, "byte {b} at {at} of {len}");
                }
            }
        }
        for s in [
            "plain",
            "tab\there",
            "quote \" and \\ back",
            "é ü 😀",
            "\u{7f}x",
            "",
        ] {
            let mut out = String::new();
            push_json_str(&mut out, s);
            assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
        }
    }

    /// The `data` column: valid JSON in PocketBase's key order, the execution time in
    /// milliseconds with six decimals.
    #[test]
    fn request_rows_hold_pocketbases_data() {
        for (exec_ms, shown) in [
            (0.0, "0.000000"),
            (1.5, "1.500000"),
            (12.345678, "12.345678"),
        ] {
            let entry = Entry {
                log: RequestLog {
                    method: "GET".into(),
                    url: "/api/x?q=\"1\"".into(),
                    status: 404,
                    exec_ms,
                    remote_ip: Some([127, 0, 0, 1].into()),
                    user_agent: "agent".into(),
                    ..RequestLog::default()
                },
                level: 8,
                created: chrono::Utc::now(),
                log_ip: true,
                log_auth_id: false,
            };
            let row = entry.row();
            let motorbase_store::Value::Text(data) = &row[3] else {
                panic!("data is not text");
            };
            let parsed: serde_json::Value = serde_json::from_str(data).unwrap();
            let keys: Vec<&str> = parsed
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            assert_eq!(
                keys,
                [
                    "type",
                    "method",
                    "url",
                    "status",
                    "execTime",
                    "userAgent",
                    "referer",
                    "auth",
                    "remoteIP",
                    "userIP"
                ]
            );
            assert_eq!(parsed["url"], "/api/x?q=\"1\"");
            assert_eq!(parsed["status"], 404);
            assert!(data.contains(&format!("\"execTime\":{shown},")), "{data}");
        }
    }

    #[test]
    fn addresses_read_as_std_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.200.3.255",
            "192.168.100.9",
            "::1",
            "fe80::1",
        ] {
            let parsed: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(parsed), ip);
        }
    }

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
