//! The embedded SQLite store: one writer thread with group commit, a pool of read connections,
//! and a thread that checkpoints the WAL beside the writer (see `checkpoint`).

mod checkpoint;
mod ddl;
mod functions;
mod render;
mod view;

pub use view::ViewColumn;

use std::collections::HashMap;
use std::path::Path as FsPath;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params_from_iter, Connection, OpenFlags};
use tokio::sync::{oneshot, Semaphore};

use crate::error::StoreError;
use crate::query::{ColumnKind, Cond, Row, Select, SortKey, Value};
use crate::schema::SchemaChange;
use render::{push_columns, push_quoted, quote, Sql};

/// Read connections in the pool: at most this many reads run at once, each on the thread that
/// asked for it (see [`SqliteStore::read`]).
pub const READ_CONNECTIONS: usize = 4;
/// How many queued writes one transaction may carry (group commit).
const MAX_GROUP: usize = 128;

/// Sends a job's result back once the transaction it ran in is committed (or has failed).
type Deliver = Box<dyn FnOnce(Option<StoreError>) + Send>;
type Job = Box<dyn QueuedWrite>;

/// A write waiting for the writer thread: it either runs (and later learns whether its
/// transaction committed) or fails without running.
trait QueuedWrite: Send {
    fn run(self: Box<Self>, tx: &WriteTx) -> (bool, Deliver);
    fn fail(self: Box<Self>, e: StoreError);
    /// Whether the job runs in a savepoint of its own (see [`SqliteStore::write_unguarded`]).
    fn guarded(&self) -> bool;
}

struct TypedWrite<F, T, E> {
    f: F,
    reply: oneshot::Sender<Result<T, E>>,
    guarded: bool,
}

impl<F, T, E> QueuedWrite for TypedWrite<F, T, E>
where
    F: FnOnce(&WriteTx) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    fn run(self: Box<Self>, tx: &WriteTx) -> (bool, Deliver) {
        let res = (self.f)(tx);
        let ok = res.is_ok();
        let reply = self.reply;
        let deliver: Deliver = Box::new(move |commit_err| {
            let _ = reply.send(match commit_err {
                Some(e) => Err(E::from(e)),
                None => res,
            });
        });
        (ok, deliver)
    }
    fn fail(self: Box<Self>, e: StoreError) {
        let _ = self.reply.send(Err(E::from(e)));
    }
    fn guarded(&self) -> bool {
        self.guarded
    }
}

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
    permits: Semaphore,
    cache: ReadCache,
    /// The checkpoint thread's handle on the database file; see [`checkpoint::DbFile`]. Last, so
    /// that it goes after the readers.
    _db_file: checkpoint::DbFile,
}

/// How many distinct entries each cache holds before it starts over.
const CACHE_SIZE: usize = 512;

/// Answers of read queries, remembered until the next commit. A paged listing asks for the same
/// total on every page, and counting a large table costs more than reading a page of it; deep
/// pages in rowid order (the default order of a list) step over every row before them, so the
/// rowid at every [`ANCHOR_STEP`]-th position is remembered and page 4000 starts near its rows.
/// Keyed by the exact SQL and its bound values; any commit (the generation moves on) makes every
/// entry stale, so an answer is never older than the data the same request reads.
struct ReadCache {
    generation: Arc<AtomicU64>,
    counts: Stamped<u64>,
    anchors: Stamped<Arc<Vec<i64>>>,
}

/// Positions between two remembered rowids of a listing (see [`ReadCache`]).
const ANCHOR_STEP: u64 = 256;

impl ReadCache {
    fn key(sql: &Sql) -> Option<String> {
        // `strftime(.., 'now')` makes an answer depend on the clock, not only on the data.
        if sql.text.contains("strftime") {
            return None;
        }
        let mut key = sql.text.clone();
        for p in &sql.params {
            key.push('\u{1f}');
            match p {
                Value::Null => key.push('n'),
                Value::Bool(b) => key.push_str(if *b { "b1" } else { "b0" }),
                Value::Int(i) => key.push_str(&format!("i{i}")),
                Value::Float(f) => key.push_str(&format!("f{f:?}")),
                Value::Text(t) => {
                    key.push('t');
                    key.push_str(t);
                }
            }
        }
        Some(key)
    }
}

/// Cached values by query key, each stamped with the generation it was taken at.
struct Stamped<T>(Mutex<HashMap<String, (u64, T)>>);

impl<T: Clone> Stamped<T> {
    fn new() -> Self {
        Stamped(Mutex::new(HashMap::new()))
    }

    fn get(&self, key: &str, generation: u64) -> Option<T> {
        let map = self.0.lock().ok()?;
        match map.get(key) {
            Some((g, v)) if *g == generation => Some(v.clone()),
            _ => None,
        }
    }

    /// Inserts, dropping stale entries (or, failing that, all) when full.
    fn put(&self, key: String, generation: u64, value: T) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= CACHE_SIZE {
                map.retain(|_, (g, _)| *g == generation);
                if map.len() >= CACHE_SIZE {
                    map.clear();
                }
            }
            map.insert(key, (generation, value));
        }
    }
}

/// How much page cache each connection of a database may keep (SQLite's `cache_size`, KiB).
#[derive(Debug, Clone, Copy)]
pub struct CacheSizes {
    pub writer_kib: u32,
    pub reader_kib: u32,
}

impl CacheSizes {
    /// Records. A page missing from a connection's cache comes from the OS page cache (which
    /// holds the file anyway) at the price of a read call; what a cache holds is process memory
    /// never given back. The writer gets 4 MB: with 100k records creates, updates and batches ran
    /// as fast as with 16 MB (wrk), and after the benchmark's write workloads on 10k records the
    /// process held 50 MB instead of 63. Readers keep 4 MB: at 1-2 MB, counting a filter's
    /// matches through an index of 100k rows (filter_sort) cost ~10% more CPU, in read calls.
    pub const DATA: CacheSizes = CacheSizes {
        writer_kib: 4_000,
        reader_kib: 4_000,
    };
    /// Request logs: writes append at the end of each index, reads are rare.
    pub const LOGS: CacheSizes = CacheSizes {
        writer_kib: 2_000,
        reader_kib: 2_000,
    };
}

fn configure(conn: &Connection, cache_kib: u32) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "cache_size", -i64::from(cache_kib))?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(256);
    functions::register(conn)?;
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database file and starts the writer thread.
    pub fn open(path: &FsPath, cache: CacheSizes) -> Result<Self, StoreError> {
        let writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer, cache.writer_kib)?;
        ddl::bootstrap(&writer)?;
        let mut readers = Vec::with_capacity(READ_CONNECTIONS);
        for _ in 0..READ_CONNECTIONS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&r, cache.reader_kib)?;
            // Readers only read: view queries run here, and nothing else may sneak in.
            r.authorizer(Some(view::read_only));
            readers.push(r);
        }
        let checkpoints = checkpoint::Checkpoints::start(path, &writer)?;
        let db_file = checkpoints.db_file();
        let (tx, rx) = mpsc::channel::<Job>();
        let generation = Arc::new(AtomicU64::new(0));
        let committed = generation.clone();
        thread::Builder::new()
            .name("motorbase-writer".into())
            .spawn(move || writer_loop(writer, rx, &committed, checkpoints))
            .map_err(|e| StoreError::Other(e.to_string()))?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(tx),
                readers: Mutex::new(readers),
                permits: Semaphore::new(READ_CONNECTIONS),
                cache: ReadCache {
                    generation,
                    counts: Stamped::new(),
                    anchors: Stamped::new(),
                },
                _db_file: db_file,
            }),
        })
    }

    /// Runs `f` inside the write transaction, in a savepoint of its own: an error rolls back only
    /// this job. Resolves once the transaction carrying it has committed.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.queue(f, true).await
    }

    /// Like [`write`](Self::write), without the savepoint, for a job whose every failure after
    /// its first change comes from the store itself (a record create or update: checks first,
    /// then one statement, then reads). A savepoint copies each page the job changes into a
    /// journal in memory first, ~15k instructions a create. Should such a job fail after changing
    /// rows anyway, the whole transaction rolls back and every job it carried fails with it:
    /// nothing half-written lands, and no job is told it did.
    pub async fn write_unguarded<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.queue(f, false).await
    }

    async fn queue<T, E, F>(&self, f: F, guarded: bool) -> Result<T, E>
    where
        F: FnOnce(&WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(TypedWrite {
            f,
            reply: tx,
            guarded,
        });
        {
            let sender = self
                .inner
                .writer
                .lock()
                .map_err(|_| E::from(StoreError::WriterGone))?;
            sender
                .send(job)
                .map_err(|_| E::from(StoreError::WriterGone))?;
        }
        rx.await.map_err(|_| E::from(StoreError::WriterGone))?
    }

    /// Runs `f` on a read-only connection from the pool, on the calling thread.
    ///
    /// Most reads take microseconds, and handing each to the blocking pool cost more than the
    /// query (a thread wake and two context switches: view by id ran ~40% faster inline on two
    /// cores). A long read does hold its async worker, so the runtime is built with
    /// [`READ_CONNECTIONS`] workers more than there are cores: however many reads are running,
    /// the remaining workers keep serving everything else.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Reader) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| E::from(StoreError::Other("reader pool closed".into())))?;
        let inner = &self.inner;
        let conn = inner
            .readers
            .lock()
            .map_err(|_| E::from(StoreError::Other("reader pool poisoned".into())))?
            .pop()
            .ok_or_else(|| E::from(StoreError::Other("no reader available".into())))?;
        let lease = Lease {
            conn: Some(conn),
            pool: &inner.readers,
        };
        let Some(conn) = lease.conn.as_ref() else {
            return Err(E::from(StoreError::Other("no reader available".into())));
        };
        f(&Reader {
            conn,
            guarded: true,
            cache: Some(&inner.cache),
        })
    }
}

/// A read connection out of the pool; it goes back when dropped, even if the read panicked.
struct Lease<'a> {
    conn: Option<Connection>,
    pool: &'a Mutex<Vec<Connection>>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let (Some(conn), Ok(mut pool)) = (self.conn.take(), self.pool.lock()) {
            pool.push(conn);
        }
    }
}

/// Runs one of the writer's fixed statements from the statement cache (parsed once, not on
/// every transaction and job).
fn run(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs queued jobs in one transaction, each in a savepoint of its own but the first and the
/// unguarded ones: a failing job without a savepoint that changed rows rolls the whole
/// transaction back, failing the jobs that ran before it, and returns, leaving the rest for the
/// next. (The first job holds nothing of others; unguarded jobs fail after a change only when
/// the store does.) A savepoint copies every page a job changes into a journal in memory first
/// (~15k instructions a create, a quarter of the writer's work), and under light load most
/// transactions carry a single job. Returns whether it committed.
fn transaction(
    conn: &Connection,
    wtx: &WriteTx,
    jobs: &mut std::vec::IntoIter<Job>,
    generation: &AtomicU64,
) -> bool {
    if let Err(e) = run(conn, "BEGIN IMMEDIATE") {
        let msg = e.to_string();
        for job in jobs {
            job.fail(StoreError::Other(msg.clone()));
        }
        return false;
    }
    let mut delivers: Vec<Deliver> = Vec::with_capacity(jobs.len());
    for job in jobs.by_ref() {
        if delivers.is_empty() || !job.guarded() {
            let before = conn.total_changes();
            let (ok, deliver) = job.run(wtx);
            if !ok && (delivers.is_empty() || conn.total_changes() != before) {
                if let Err(e) = run(conn, "ROLLBACK") {
                    tracing::error!("rollback failed: {e}");
                }
                deliver(None);
                for d in delivers {
                    d(Some(StoreError::Other(
                        "rolled back with a write that failed half-way".into(),
                    )));
                }
                return false;
            }
            delivers.push(deliver);
            continue;
        }
        if let Err(e) = run(conn, "SAVEPOINT job") {
            tracing::error!("savepoint failed: {e}");
        }
        let (ok, deliver) = job.run(wtx);
        let ended = if ok {
            run(conn, "RELEASE job")
        } else {
            run(conn, "ROLLBACK TO job").and_then(|()| run(conn, "RELEASE job"))
        };
        if let Err(e) = ended {
            tracing::error!("savepoint end failed: {e}");
        }
        delivers.push(deliver);
    }
    let committed = run(conn, "COMMIT");
    // After the commit, never before: a count taken under the old generation may then already
    // see the new rows, but never the other way round.
    generation.fetch_add(1, Ordering::SeqCst);
    match committed {
        Ok(()) => {
            delivers.into_iter().for_each(|d| d(None));
            true
        }
        Err(e) => {
            let _ = run(conn, "ROLLBACK");
            let msg = e.to_string();
            delivers
                .into_iter()
                .for_each(|d| d(Some(StoreError::Other(format!("commit failed: {msg}")))));
            false
        }
    }
}

fn writer_loop(
    conn: Connection,
    rx: mpsc::Receiver<Job>,
    generation: &AtomicU64,
    mut checkpoints: checkpoint::Checkpoints,
) {
    let wtx = WriteTx {
        reader: Reader {
            conn: &conn,
            guarded: false,
            // Inside a transaction reads see uncommitted rows: never cached.
            cache: None,
        },
    };
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let mut jobs = jobs.into_iter();
        while jobs.len() > 0 {
            if transaction(&conn, &wtx, &mut jobs, generation) {
                checkpoints.after_commit(&conn);
            }
        }
    }
    // The connection closes before the checkpoints let go of their file handle.
    drop(conn);
    drop(checkpoints);
}

/// `INSERT INTO table (columns) VALUES (?, ...), ...` for `rows` rows of `width` values.
fn insert_sql<'a>(
    table: &str,
    columns: impl IntoIterator<Item = &'a str>,
    width: usize,
    rows: usize,
) -> Result<String, StoreError> {
    let mut sql = String::with_capacity(40 + 16 * width + rows * (3 * width + 3));
    sql.push_str("INSERT INTO ");
    push_quoted(&mut sql, table)?;
    sql.push_str(" (");
    push_columns(&mut sql, columns, "", "")?;
    sql.push_str(") VALUES ");
    for r in 0..rows {
        sql.push_str(if r > 0 { ", (" } else { "(" });
        for i in 0..width {
            sql.push_str(if i > 0 { ", ?" } else { "?" });
        }
        sql.push(')');
    }
    Ok(sql)
}

/// Rows per statement in [`WriteTx::insert_many`].
const MANY_ROWS: usize = 32;

/// A parameter bound by reference: text is handed to SQLite as it is, not copied first.
fn value_ref(v: &Value) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(match v {
        Value::Null => ValueRef::Null,
        Value::Bool(b) => ValueRef::Integer(i64::from(*b)),
        Value::Int(i) => ValueRef::Integer(*i),
        Value::Float(f) => ValueRef::Real(*f),
        Value::Text(s) => ValueRef::Text(s.as_bytes()),
    })
}

fn bound(params: &[Value]) -> impl Iterator<Item = ToSqlOutput<'_>> {
    params.iter().map(value_ref)
}

/// Decodes one column by its kind; integral reals come back as integers (`30`, not `30.0`).
pub(crate) fn decode(v: ValueRef<'_>, kind: ColumnKind) -> serde_json::Value {
    use serde_json::Value as J;
    match (kind, v) {
        (_, ValueRef::Null) => match kind {
            ColumnKind::Text => J::String(String::new()),
            ColumnKind::Number => J::from(0),
            ColumnKind::Bool => J::Bool(false),
            ColumnKind::Json => J::Null,
        },
        (ColumnKind::Bool, ValueRef::Integer(i)) => J::Bool(i != 0),
        (ColumnKind::Bool, ValueRef::Real(f)) => J::Bool(f != 0.0),
        (ColumnKind::Bool, ValueRef::Text(t)) => J::Bool(matches!(t, b"1" | b"true" | b"TRUE")),
        // Text that is not JSON (a view's computed column) stays text, as PocketBase shows it.
        (ColumnKind::Json, ValueRef::Text(t)) => serde_json::from_slice(t)
            .unwrap_or_else(|_| J::String(String::from_utf8_lossy(t).into_owned())),
        (_, ValueRef::Integer(i)) => J::from(i),
        (_, ValueRef::Real(f)) => number(f),
        (ColumnKind::Number, ValueRef::Text(t)) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map(number)
            .unwrap_or(J::from(0)),
        (_, ValueRef::Text(t)) => J::String(String::from_utf8_lossy(t).into_owned()),
        (_, ValueRef::Blob(b)) => J::String(String::from_utf8_lossy(b).into_owned()),
    }
}

/// What reading a column back gives for `v` just written to it (the column's declared type as
/// `ddl` makes it: TEXT for text, NUMERIC affinity for the others), or `None` where SQLite would
/// turn the value into another type in a way not reproduced here (text that reads as a number
/// in a numeric column, numbers in a text column): then only reading it back tells. Lets a
/// create answer without a second statement to read the row (~19k instructions).
pub fn stored(v: &Value, kind: ColumnKind) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match (kind, v) {
        (_, Value::Null) => decode(ValueRef::Null, kind),
        (ColumnKind::Text, Value::Text(t)) => J::String(t.clone()),
        (ColumnKind::Text, _) => return None,
        (ColumnKind::Bool, Value::Bool(b)) => J::Bool(*b),
        (_, Value::Bool(b)) => decode(ValueRef::Integer(i64::from(*b)), kind),
        (_, Value::Int(i)) => decode(ValueRef::Integer(*i), kind),
        // Numeric affinity keeps a real that survives the round trip through an integer as
        // that integer (short of the two extremes), as SQLite's `sqlite3VdbeIntegerAffinity`.
        (_, Value::Float(f)) => {
            let i = *f as i64;
            if *f == i as f64 && i > i64::MIN && i < i64::MAX {
                decode(ValueRef::Integer(i), kind)
            } else {
                decode(ValueRef::Real(*f), kind)
            }
        }
        (ColumnKind::Json, Value::Text(t)) => {
            let first = t.trim_start().bytes().next();
            if first.is_some_and(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.')) {
                return None;
            }
            decode(ValueRef::Text(t.as_bytes()), kind)
        }
        (_, Value::Text(_)) => return None,
    })
}

fn number(f: f64) -> serde_json::Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        serde_json::Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::from(0))
    }
}

/// Read access: available on pooled read connections and inside the write transaction.
pub struct Reader<'c> {
    conn: &'c Connection,
    /// A pooled read-only connection, under the read-only authorizer for good.
    guarded: bool,
    cache: Option<&'c ReadCache>,
}

impl Reader<'_> {
    pub fn select(&self, q: &Select) -> Result<Vec<Row>, StoreError> {
        let mut sql = Sql::default();
        sql.select_from(q, self.anchor(q)?)?;
        let mut stmt = self.conn.prepare_cached(&sql.text)?;
        let mut rows = stmt.query(params_from_iter(bound(&sql.params)))?;
        let mut out = vec![];
        while let Some(row) = rows.next()? {
            let mut r = Vec::with_capacity(q.columns.len());
            for (i, (_, kind)) in q.columns.iter().enumerate() {
                r.push(decode(row.get_ref(i)?, *kind));
            }
            out.push(r);
        }
        Ok(out)
    }

    /// For a deep page in rowid order: the remembered rowid to start from and how many rows to
    /// skip after it (see [`ReadCache`]). `None` when the page is shallow, the order is another,
    /// or nothing may be cached.
    fn anchor(&self, q: &Select) -> Result<Option<(i64, u64)>, StoreError> {
        let [SortKey::RowId { desc }] = q.sort.as_slice() else {
            return Ok(None);
        };
        if q.offset < ANCHOR_STEP {
            return Ok(None);
        }
        let mut sql = Sql::default();
        sql.rowids(&q.table, &q.filter, *desc)?;
        let anchors = self.cached(
            &sql,
            |c| &c.anchors,
            || {
                let mut stmt = self.conn.prepare_cached(&sql.text)?;
                let mut rows = stmt.query(params_from_iter(bound(&sql.params)))?;
                let mut found = vec![];
                let mut position = 0u64;
                while let Some(row) = rows.next()? {
                    if position.is_multiple_of(ANCHOR_STEP) {
                        found.push(row.get::<_, i64>(0)?);
                    }
                    position += 1;
                }
                Ok(Arc::new(found))
            },
        )?;
        let Some(anchors) = anchors else {
            return Ok(None);
        };
        let i = q.offset / ANCHOR_STEP;
        Ok(usize::try_from(i)
            .ok()
            .and_then(|i| anchors.get(i))
            .map(|rowid| (*rowid, q.offset - i * ANCHOR_STEP)))
    }

    pub fn count(&self, table: &str, filter: &Cond) -> Result<u64, StoreError> {
        let mut sql = Sql::default();
        sql.count(table, filter)?;
        self.run_count(&sql)
    }

    fn run_count(&self, sql: &Sql) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare_cached(&sql.text)?;
        let n: i64 = stmt.query_row(params_from_iter(bound(&sql.params)), |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// [`Reader::count`] answered from the cache when nothing was committed since the same
    /// count was last taken. Only for tables: a view's query may read the clock.
    pub fn count_table(&self, table: &str, filter: &Cond) -> Result<u64, StoreError> {
        let mut sql = Sql::default();
        sql.count(table, filter)?;
        match self.cached(&sql, |c| &c.counts, || self.run_count(&sql))? {
            Some(n) => Ok(n),
            None => self.run_count(&sql),
        }
    }

    /// `compute`'s answer for `sql`, taken from or kept in `slot` until the next commit. `None`
    /// where nothing may be cached (the write transaction, or a query reading the clock).
    fn cached<T: Clone>(
        &self,
        sql: &Sql,
        slot: fn(&ReadCache) -> &Stamped<T>,
        compute: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let Some((cache, key)) = self.cache.zip(ReadCache::key(sql)) else {
            return Ok(None);
        };
        // Read before computing: a commit in between leaves the entry already stale.
        let generation = cache.generation.load(Ordering::SeqCst);
        let slot = slot(cache);
        if let Some(v) = slot.get(&key, generation) {
            return Ok(Some(v));
        }
        let v = compute()?;
        slot.put(key, generation, v.clone());
        Ok(Some(v))
    }

    /// Whether `filter` holds for a row given by value (see [`Sql::row_matches`]).
    pub fn row_matches(&self, row: &[(String, Value)], filter: &Cond) -> Result<bool, StoreError> {
        if matches!(filter, Cond::True) {
            return Ok(true);
        }
        let mut sql = Sql::default();
        sql.row_matches(row, filter)?;
        let mut stmt = self.conn.prepare_cached(&sql.text)?;
        Ok(stmt.exists(params_from_iter(bound(&sql.params)))?)
    }

    /// The columns a view query yields, found without running it; `InvalidView` when it is not
    /// a single SELECT that only reads, or SQLite refuses it.
    pub fn view_columns(&self, query: &str) -> Result<Vec<ViewColumn>, StoreError> {
        view::columns(self.conn, query, self.guarded)
    }

    /// Up to `limit` rows of a view query (a dry run), read-only.
    pub fn view_sample(
        &self,
        query: &str,
        columns: &[(String, ColumnKind)],
        limit: u64,
    ) -> Result<Vec<Row>, StoreError> {
        view::sample(self.conn, query, columns, limit, self.guarded)
    }

    /// Whether a table exists (used to refuse a collection name that clashes with one).
    pub fn table_exists(&self, table: &str) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM sqlite_master WHERE type IN ('table','view') AND name = ?1 COLLATE NOCASE")?;
        Ok(stmt.exists([table])?)
    }
}

/// The write transaction handed to a job. Dereferences to [`Reader`] so a job reads its own writes.
pub struct WriteTx<'c> {
    reader: Reader<'c>,
}

impl<'c> std::ops::Deref for WriteTx<'c> {
    type Target = Reader<'c>;
    fn deref(&self) -> &Reader<'c> {
        &self.reader
    }
}

impl WriteTx<'_> {
    fn conn(&self) -> &Connection {
        self.reader.conn
    }

    pub fn insert<C: AsRef<str>>(
        &self,
        table: &str,
        values: &[(C, Value)],
    ) -> Result<(), StoreError> {
        let columns = values.iter().map(|(c, _)| c.as_ref());
        let sql = insert_sql(table, columns, values.len(), 1)?;
        let mut stmt = self.conn().prepare_cached(&sql)?;
        stmt.execute(params_from_iter(values.iter().map(|(_, v)| value_ref(v))))
            .map_err(StoreError::from_sqlite)?;
        Ok(())
    }

    /// Inserts many rows of the same columns, [`MANY_ROWS`] per statement: the request log's
    /// writer spent ~5 us a row with one statement per row, ~3.3 us this way (same machine).
    pub fn insert_many<const N: usize>(
        &self,
        table: &str,
        columns: &[&str; N],
        rows: &[[Value; N]],
    ) -> Result<(), StoreError> {
        let statement = |count| insert_sql(table, columns.iter().copied(), N, count);
        let mut chunks = rows.chunks_exact(MANY_ROWS);
        if chunks.len() > 0 {
            let mut stmt = self.conn().prepare_cached(&statement(MANY_ROWS)?)?;
            for chunk in &mut chunks {
                stmt.execute(params_from_iter(chunk.iter().flatten().map(value_ref)))
                    .map_err(StoreError::from_sqlite)?;
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut stmt = self.conn().prepare_cached(&statement(1)?)?;
            for row in rest {
                stmt.execute(params_from_iter(row.iter().map(value_ref)))
                    .map_err(StoreError::from_sqlite)?;
            }
        }
        Ok(())
    }

    /// Updates the row with `id`; returns whether it existed.
    pub fn update<C: AsRef<str>>(
        &self,
        table: &str,
        id: &str,
        values: &[(C, Value)],
    ) -> Result<bool, StoreError> {
        if values.is_empty() {
            return Ok(true);
        }
        let mut sql = String::with_capacity(40 + 24 * values.len());
        sql.push_str("UPDATE ");
        push_quoted(&mut sql, table)?;
        sql.push_str(" SET ");
        push_columns(&mut sql, values.iter().map(|(c, _)| c.as_ref()), "", " = ?")?;
        sql.push_str(" WHERE \"id\" = ?");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let params = values
            .iter()
            .map(|(_, v)| value_ref(v))
            .chain(std::iter::once(ToSqlOutput::Borrowed(ValueRef::Text(
                id.as_bytes(),
            ))));
        let n = stmt
            .execute(params_from_iter(params))
            .map_err(StoreError::from_sqlite)?;
        Ok(n > 0)
    }

    pub fn delete(&self, table: &str, id: &str) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM {} WHERE \"id\" = ?", quote(table)?);
        let n = self
            .conn()
            .prepare_cached(&sql)?
            .execute([id])
            .map_err(StoreError::from_sqlite)?;
        Ok(n > 0)
    }

    /// Deletes the rows matching `filter` (log retention); returns how many.
    pub fn delete_where(&self, table: &str, filter: &Cond) -> Result<u64, StoreError> {
        let mut sql = Sql::default();
        sql.delete_where(table, filter)?;
        let mut stmt = self.conn().prepare_cached(&sql.text)?;
        Ok(stmt.execute(params_from_iter(bound(&sql.params)))? as u64)
    }

    pub fn delete_all(&self, table: &str) -> Result<u64, StoreError> {
        let sql = format!("DELETE FROM {}", quote(table)?);
        Ok(self.conn().execute(&sql, [])? as u64)
    }

    pub fn apply(&self, change: &SchemaChange) -> Result<(), StoreError> {
        ddl::apply(self.conn(), change)
    }
}

/// A store in a temporary folder (kept while the returned guard lives) with `ddl` applied.
#[cfg(test)]
pub(crate) async fn store_with(ddl: &'static str) -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("data.db"), CacheSizes::DATA).unwrap();
    store
        .write(|tx| tx.conn().execute_batch(ddl).map_err(StoreError::from))
        .await
        .unwrap();
    (dir, store)
}

#[cfg(test)]
mod tests {
    use super::{store_with, SqliteStore, MANY_ROWS};
    use crate::error::StoreError;
    use crate::query::Value;
    use crate::CacheSizes;

    /// Whole statements of [`MANY_ROWS`] rows, then the rest one by one: every row lands once,
    /// with its own values, whatever the count.
    #[tokio::test]
    async fn insert_many_writes_every_row_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("data.db"), CacheSizes::DATA).unwrap();
        for count in [0, 1, MANY_ROWS - 1, MANY_ROWS, 2 * MANY_ROWS + 5] {
            let table = format!("t{count}");
            let rows: Vec<[Value; 2]> = (0..count)
                .map(|i| [Value::Int(i as i64), Value::Text(format!("row {i}"))])
                .collect();
            let t = table.clone();
            store
                .write(move |tx| {
                    tx.conn()
                        .execute_batch(&format!("CREATE TABLE {t} (n INTEGER, name TEXT)"))?;
                    tx.insert_many(&t, &["n", "name"], &rows)
                })
                .await
                .unwrap();
            let read: Vec<(i64, String)> = store
                .read(move |r| {
                    let mut stmt = r
                        .conn
                        .prepare(&format!("SELECT n, name FROM {table} ORDER BY rowid"))?;
                    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
                    rows.collect::<Result<_, _>>().map_err(StoreError::from)
                })
                .await
                .unwrap();
            let expected: Vec<(i64, String)> =
                (0..count).map(|i| (i as i64, format!("row {i}"))).collect();
            assert_eq!(read, expected, "{count} rows");
        }
    }

    /// A job that fails after writing leaves nothing behind and gets its own error, whether it
    /// ran alone or first in its transaction (the transaction rolls back) or after other jobs
    /// (back to its savepoint); the jobs around it land.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_writes_leave_nothing_and_spare_their_neighbours() {
        let (_dir, store) = store_with("CREATE TABLE t (n INTEGER)").await;
        let job = |n: i64| {
            let store = store.clone();
            async move {
                store
                    .write(move |tx| {
                        tx.insert("t", &[("n", Value::Int(n))])?;
                        if n % 3 == 0 {
                            return Err(StoreError::Other(format!("job {n} refused")));
                        }
                        Ok(())
                    })
                    .await
            }
        };
        // One at a time: each job is alone in its transaction.
        for n in 0..6 {
            let res = job(n).await;
            assert_eq!(res.is_err(), n % 3 == 0, "job {n}: {res:?}");
        }
        // All at once: the writer groups them, failures land first, in between and last.
        let tasks: Vec<_> = (6..400).map(|n| tokio::spawn(job(n))).collect();
        for (n, task) in (6..400).zip(tasks) {
            match task.await.unwrap() {
                Ok(()) => assert!(n % 3 != 0, "job {n} should have failed"),
                Err(e) => assert_eq!(e.to_string(), format!("job {n} refused")),
            }
        }
        let mut kept: Vec<i64> = store
            .read(|r| {
                let mut stmt = r.conn.prepare("SELECT n FROM t")?;
                let rows = stmt.query_map([], |row| row.get(0))?;
                rows.collect::<Result<_, _>>().map_err(StoreError::from)
            })
            .await
            .unwrap();
        kept.sort_unstable();
        let expected: Vec<i64> = (0..400).filter(|n| n % 3 != 0).collect();
        assert_eq!(kept, expected);
    }

    /// `stored` against SQLite itself: every value of every kind written into a table made as
    /// collections' tables are, read back, equals what `stored` says whenever it says anything.
    #[tokio::test]
    async fn stored_values_read_back_as_predicted() {
        use crate::query::{ColumnKind, Cond, Select};
        use crate::schema::{ColumnDef, SchemaChange};
        let (_dir, store) = store_with("").await;
        let kinds = [
            ("t", ColumnKind::Text),
            ("n", ColumnKind::Number),
            ("b", ColumnKind::Bool),
            ("j", ColumnKind::Json),
        ];
        let change = SchemaChange::CreateTable {
            table: "r".into(),
            columns: kinds
                .iter()
                .map(|(name, kind)| ColumnDef {
                    name: (*name).into(),
                    kind: *kind,
                    default: Value::Null,
                })
                .collect(),
        };
        store.write(move |tx| tx.apply(&change)).await.unwrap();
        let mut values = vec![Value::Null, Value::Bool(true), Value::Bool(false)];
        for i in [0, 1, -1, 42, 1 << 51, (1 << 53) + 1, i64::MAX, i64::MIN] {
            values.push(Value::Int(i));
        }
        for f in [
            0.0,
            -0.0,
            0.5,
            2.0,
            -3.25,
            1e15,
            2.5e15,
            9e15,
            1e16,
            1e300,
            1e-7,
            0.1 + 0.2,
        ] {
            values.push(Value::Float(f));
        }
        for t in [
            "",
            "text",
            "12",
            " 12",
            "1.0",
            "-5",
            "+3",
            ".5",
            "1e3",
            "0x10",
            "true",
            "null",
            "\"quoted\"",
            "[1, 2.0]",
            "{\"a\": 1}",
            "{broken",
            "12abc",
            "é",
            "Infinity",
            "inf",
            "NaN",
            "\u{b}7",
            "\u{a0}7",
            "\n-2",
        ] {
            values.push(Value::Text(t.into()));
        }
        let mut checked = 0;
        for (i, v) in values.iter().enumerate() {
            let id = format!("row{i}");
            let row: Vec<(String, Value)> =
                std::iter::once(("id".to_string(), Value::Text(id.clone())))
                    .chain(kinds.iter().map(|(name, _)| (name.to_string(), v.clone())))
                    .collect();
            let read = store
                .write(move |tx| {
                    tx.insert("r", &row)?;
                    tx.select(&Select {
                        table: "r".into(),
                        columns: kinds.iter().map(|(n, k)| (n.to_string(), *k)).collect(),
                        filter: Cond::IdIn(vec![id]),
                        sort: vec![],
                        limit: Some(1),
                        offset: 0,
                    })
                })
                .await
                .unwrap();
            for ((name, kind), got) in kinds.iter().zip(&read[0]) {
                if let Some(predicted) = super::stored(v, *kind) {
                    assert_eq!(&predicted, got, "{v:?} in {name}");
                    checked += 1;
                }
            }
        }
        // Text into text, numbers and bools into numeric columns, JSON text into JSON: most.
        assert!(checked > values.len() * 2, "only {checked} predicted");
    }

    /// Unguarded jobs among guarded ones, all at once: one that fails before writing spares its
    /// neighbours; one that fails after writing (what only a failing store should do) takes its
    /// whole transaction down. Either way a job is told it succeeded exactly when its row is
    /// there, and nothing of a failed job lands.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unguarded_writes_are_all_or_nothing_with_their_transaction() {
        let (_dir, store) = store_with("CREATE TABLE t (n INTEGER UNIQUE)").await;
        store
            .write(|tx| tx.insert("t", &[("n", Value::Int(-1))]))
            .await
            .unwrap();
        // By kind: 0 guarded, writes; 1 unguarded, writes; 2 unguarded, refused before writing
        // (a duplicate: the statement fails); 3 unguarded, writes then fails (one in 50 from
        // 1000 on); 4 guarded, writes then fails.
        let kind = |n: i64| match n % 5 {
            3 if n < 1000 || n % 50 != 3 => 1,
            k => k,
        };
        let run = |jobs: std::ops::Range<i64>| {
            let store = store.clone();
            async move {
                let tasks: Vec<_> = jobs
                    .clone()
                    .map(|n| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            let job = move |tx: &super::WriteTx| {
                                let row = if kind(n) == 2 { -1 } else { n };
                                tx.insert("t", &[("n", Value::Int(row))])?;
                                if kind(n) >= 3 {
                                    return Err(StoreError::Other(format!("job {n} refused")));
                                }
                                Ok(())
                            };
                            if kind(n) == 0 || kind(n) == 4 {
                                store.write(job).await
                            } else {
                                store.write_unguarded(job).await
                            }
                        })
                    })
                    .collect();
                let mut told_ok = vec![];
                for (n, task) in jobs.clone().zip(tasks) {
                    match (kind(n), task.await.unwrap()) {
                        (0 | 1, Ok(())) => told_ok.push(n),
                        (0 | 1, Err(e)) => {
                            assert!(e.to_string().contains("rolled back"), "job {n}: {e}")
                        }
                        (_, Ok(())) => panic!("job {n} should have failed"),
                        (_, Err(_)) => {}
                    }
                }
                let (from, to) = (jobs.start, jobs.end);
                let mut kept: Vec<i64> = store
                    .read(move |r| {
                        let mut stmt = r.conn.prepare("SELECT n FROM t WHERE n BETWEEN ? AND ?")?;
                        let rows = stmt.query_map([from, to], |row| row.get(0))?;
                        rows.collect::<Result<_, _>>().map_err(StoreError::from)
                    })
                    .await
                    .unwrap();
                kept.sort_unstable();
                assert_eq!(kept, told_ok);
                let meant: Vec<i64> = jobs.filter(|&n| kind(n) < 2).collect();
                (kept, meant)
            }
        };
        // Failures before writing: every write meant to land does.
        let (kept, meant) = run(0..600).await;
        assert_eq!(kept, meant);
        // A few failures after writing: their transactions go, nothing of a failed job lands.
        let (kept, meant) = run(1000..1600).await;
        assert!(kept.iter().all(|&n| kind(n) < 2), "{kept:?}");
        assert!(kept.len() < meant.len(), "no transaction was rolled back");
        assert!(!kept.is_empty());
    }
}
