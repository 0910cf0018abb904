//! WAL checkpoints kept off the write path.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1000 frames: it
//! syncs the WAL, copies its pages into the database file and syncs that too, while every queued
//! write waits. Under creates on 10k rows that was ~11 ms, 15 times a second: 15% of the writer
//! thread's time spent in fsync. Here a background thread does that work a little at a time
//! while the writer goes on committing, and the writer runs only the last pass, over the frames
//! of a commit or two, so that its next transaction can start the WAL over.
//!
//! Passes from another connection alone never let the WAL start over under a steady stream of
//! commits (the writer must begin a transaction with every frame already copied), and the WAL
//! then grows without bound; that is why the writer takes the last step itself.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, TryLockError};
use std::thread;
use std::time::Duration;

use rusqlite::Connection;

use crate::error::StoreError;

/// WAL size (frames of one page) past which the writer lets the WAL start over: SQLite's own
/// automatic checkpoint point, ~4 MB with 4 KiB pages.
const RESTART_AT: i64 = 1000;
/// WAL file size past which the writer waits for a background pass in progress and runs the
/// last pass itself: between two restarts the WAL grows by what the writer commits during one
/// background pass, which a slow disk can make long.
const WAIT_AT: u64 = 16 << 20;
/// Least time between two background passes: under load each pass then carries a few
/// milliseconds of commits instead of one. Each pass sorts every frame of the WAL so far, so
/// the pace sets what the thread costs: under creates (wrk, 32 connections, 10k records) it
/// took 8.1-8.4 us of CPU a request at 5 ms, 5.5-6.3 at 20, 3.8-4.4 at 50; the writer's own
/// last pass then has more to copy, and p99 grew from 4.6-5.2 ms to 5.6-6.4 at 20, 7.1-7.4 at
/// 50.
const PACE: Duration = Duration::from_millis(20);

/// A handle on the database file of our own, to sync it after a background pass. Closing any
/// handle on a file drops every POSIX lock the process holds on it, SQLite's included, so each
/// holder (the background thread, the writer thread, the store) lets go of its clone only after
/// its connections are closed: the file closes after the last of them.
#[derive(Clone)]
pub(super) struct DbFile(Arc<File>);

struct Shared {
    /// Held for the duration of a checkpoint pass, by either thread.
    pass: Mutex<()>,
    /// The WAL is long enough to start over: the writer's turn for the last pass. The background
    /// thread starts no pass until the writer has had it.
    writer_turn: AtomicBool,
}

/// The writer's side, told of every commit.
pub(super) struct Checkpoints {
    shared: Arc<Shared>,
    wake: mpsc::SyncSender<()>,
    file: DbFile,
    /// The WAL file, and the largest size it was seen at.
    wal: PathBuf,
    wal_len: u64,
}

impl Checkpoints {
    /// Turns off SQLite's automatic checkpoint on `writer` and starts the background thread on a
    /// connection of its own to `path`. The thread ends with the writer (its `Checkpoints`).
    pub(super) fn start(path: &Path, writer: &Connection) -> Result<Self, StoreError> {
        writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let file = DbFile(Arc::new(
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| StoreError::Other(format!("opening {}: {e}", path.display())))?,
        ));
        let shared = Arc::new(Shared {
            pass: Mutex::new(()),
            writer_turn: AtomicBool::new(false),
        });
        let (wake, woken) = mpsc::sync_channel::<()>(1);
        let (bg, bg_file) = (shared.clone(), file.clone());
        thread::Builder::new()
            .name("motorbase-checkpoint".into())
            .spawn(move || {
                background(&conn, &bg_file.0, &bg, &woken);
                drop(conn);
                drop(bg_file);
            })
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        Ok(Checkpoints {
            shared,
            wake,
            file,
            wal: PathBuf::from(wal),
            wal_len: 0,
        })
    }

    pub(super) fn db_file(&self) -> DbFile {
        self.file.clone()
    }

    /// Called by the writer after each transaction, outside of any.
    pub(super) fn after_commit(&mut self, writer: &Connection) {
        // A full channel means a wake-up is already pending.
        let _ = self.wake.try_send(());
        // The file only grows while the current stretch of the WAL runs past the longest one
        // before it, so a growing file tells how long the WAL is now.
        let len = std::fs::metadata(&self.wal).map_or(0, |m| m.len());
        let too_long = len > self.wal_len && len >= WAIT_AT;
        self.wal_len = self.wal_len.max(len);
        if !too_long && !self.shared.writer_turn.load(Ordering::Acquire) {
            return;
        }
        let _guard: MutexGuard<'_, ()> = match self.shared.pass.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) if too_long => match self.shared.pass.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            },
            // A background pass still running: try again after the next commit.
            Err(TryLockError::WouldBlock) => return,
        };
        if let Err(e) = passive(writer) {
            tracing::warn!("checkpoint failed: {e}");
        }
        self.shared.writer_turn.store(false, Ordering::Release);
    }
}

/// Copies what readers allow of the WAL into the database file, waiting for nobody; returns the
/// WAL's length in frames.
fn passive(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA wal_checkpoint(PASSIVE)")?
        .query_row([], |r| r.get(1))
}

fn background(conn: &Connection, file: &File, shared: &Shared, woken: &mpsc::Receiver<()>) {
    while woken.recv().is_ok() {
        if shared.writer_turn.load(Ordering::Acquire) {
            continue;
        }
        {
            let _guard = match shared.pass.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            match passive(conn) {
                Ok(frames) if frames >= RESTART_AT => {
                    shared.writer_turn.store(true, Ordering::Release)
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("background checkpoint failed: {e}"),
            }
            // A pass that could not copy every frame leaves the database file unsynced; syncing
            // it here keeps that work off the writer's last pass.
            if let Err(e) = file.sync_data() {
                tracing::warn!("syncing the database file failed: {e}");
            }
        }
        thread::sleep(PACE);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::error::StoreError;
    use crate::sqlite::store_with;

    /// Thousands of writes queued at once keep the writer committing back to back, the case in
    /// which background passes alone never let the WAL start over (its file then grew to 136 MB
    /// here): it must stay near `WAIT_AT`, 16 MB (12-17.5 MB seen, also with another process
    /// writing with O_DSYNC beside it; 39 MB there before the writer watched the file), and
    /// every row must be there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_back_to_back_commits() {
        const ROWS: usize = 32_000;
        let (dir, store) = store_with("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)").await;
        let body = Arc::new("x".repeat(3000));
        let mut jobs = tokio::task::JoinSet::new();
        for _ in 0..ROWS {
            let (store, body) = (store.clone(), body.clone());
            jobs.spawn(async move {
                store
                    .write(move |tx| {
                        tx.conn()
                            .execute("INSERT INTO t (body) VALUES (?1)", [body.as_str()])
                            .map_err(StoreError::from)
                    })
                    .await
            });
        }
        while let Some(done) = jobs.join_next().await {
            done.unwrap().unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("data.db-wal"))
            .unwrap()
            .len();
        assert!(wal < 24 << 20, "the WAL file is {wal} bytes");
        let rows: i64 = store
            .read(|r| {
                r.conn
                    .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
                    .map_err(StoreError::from)
            })
            .await
            .unwrap();
        assert_eq!(rows, ROWS as i64);
    }
}
