//! Durable storage behind one trait, so the engine does not know whether it
//! talks to the embedded SQLite file or to PostgreSQL.
//!
//! The contract that matters: `commit` writes a batch of changes, the
//! questions and floor requests they produce and the event's new sequence
//! number in **one transaction**, and only if the event is still at
//! `base_seq` (otherwise `StoreError::Stale`, nothing written). That single
//! check is what keeps sequence numbers gap-free and ordered even when two
//! server nodes write the same event. The same guard refuses to write to
//! a closed event (`StoreError::EventClosed`), however it was closed.
//!
//! A write transaction that fails in any way (a failed statement, COMMIT or
//! ROLLBACK, a full disk, a lost connection, a cancelled future) leaves its
//! connection in a state nobody can vouch for, so that connection is closed,
//! never returned to the pool ([`Disposable`]); and no pooled connection is
//! ever handed out inside a transaction ([`not_in_transaction`]).

pub mod postgres;
pub mod sqlite;
pub mod transfer;

use std::collections::HashMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{Actor, BackstageNote, FloorRequest, Question, QuestionUpdate, Questioner};
use crate::event::EventConfig;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the event moved past the expected sequence number (another writer committed first)")]
    Stale,
    #[error("no such event: {0}")]
    UnknownEvent(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("event {0} already has data in the target store")]
    Exists(String),
    /// The database file was deleted or replaced while this server had it
    /// open: whatever it writes now goes to a file nobody will ever read.
    #[error("the database file is gone: {0}")]
    Lost(String),
    /// The event was closed (Unix ms); nothing can be written to it.
    #[error("the event was closed")]
    EventClosed(i64),
}

impl StoreError {
    /// The database has no room left: SQLite's `SQLITE_FULL` (which is what
    /// it answers when a write meets ENOSPC, or `max_page_count`), ENOSPC
    /// itself, or PostgreSQL's `disk_full` (53100).
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                let code = e.code().unwrap_or_default();
                code == "53100" || code.parse::<i32>().is_ok_and(|c| c & 0xff == SQLITE_FULL)
            }
            StoreError::Database(sqlx::Error::Io(e)) => e.raw_os_error() == Some(libc::ENOSPC),
            _ => false,
        }
    }
}

/// SQLite's primary result code for "database or disk is full" (extended
/// codes keep it in their low byte).
const SQLITE_FULL: i32 = 13;

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

/// One accepted command: everything it changed, under one sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub seq: u64,
    /// Unix milliseconds.
    pub at: i64,
    pub actor: Actor,
    pub action: String,
    /// Snapshots after the change. Only a submission carries personal data
    /// (in `question.questioner`); the store keeps it apart from the log.
    pub questions: Vec<QuestionUpdate>,
    pub floor: Vec<FloorRequest>,
    /// Backstage notes (staff only; never in a public frame).
    pub notes: Vec<BackstageNote>,
}

/// What the log stores per change (no personal data, no receipt).
#[derive(Serialize, Deserialize)]
pub(crate) struct ChangeBody {
    pub questions: Vec<QuestionUpdate>,
    pub floor: Vec<FloorRequest>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<BackstageNote>,
}

impl Change {
    pub(crate) fn body_json(&self) -> Result<String, StoreError> {
        let body = ChangeBody {
            questions: self
                .questions
                .iter()
                .map(|u| QuestionUpdate {
                    question: stored_question(&u.question),
                    ..u.clone()
                })
                .collect(),
            floor: self.floor.clone(),
            notes: self.notes.clone(),
        };
        Ok(serde_json::to_string(&body)?)
    }
}

/// `json` (a stored question or a change body) without any `device_key`
/// field at any depth; `None` when it had none, so only rows that held one
/// are rewritten by an erasure.
pub(crate) fn without_device_keys(json: &str) -> Result<Option<String>, StoreError> {
    fn strip(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(map) => {
                let mut removed = map.remove("device_key").is_some();
                for child in map.values_mut() {
                    removed |= strip(child);
                }
                removed
            }
            serde_json::Value::Array(items) => items
                .iter_mut()
                .fold(false, |acc, child| strip(child) | acc),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(json)?;
    Ok(strip(&mut value).then(|| value.to_string()))
}

/// A question as it is written to the log and the questions table: without
/// personal data or anything derived from it.
pub(crate) fn stored_question(q: &Question) -> Question {
    Question {
        questioner: None,
        display_name: None,
        hints: None,
        ..q.clone()
    }
}

/// Keep the last of several items with the same id, in first-seen order.
pub(crate) fn last_per_id<'a, T>(
    items: impl Iterator<Item = &'a T>,
    id: impl Fn(&T) -> Uuid,
) -> Vec<&'a T> {
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut out: Vec<&T> = Vec::new();
    for item in items {
        match index.get(&id(item)) {
            Some(&i) => out[i] = item,
            None => {
                index.insert(id(item), out.len());
                out.push(item);
            }
        }
    }
    out
}

/// The rows a batch writes besides the log: each question and floor request
/// once, at its last version (one statement may not update a row twice),
/// the questioners of new questions, and the votes.
pub(crate) struct BatchRows<'a> {
    pub questions: Vec<&'a Question>,
    pub questioners: Vec<(Uuid, &'a Questioner)>,
    pub votes: Vec<(Uuid, &'a str, i64)>,
    pub floor: Vec<&'a FloorRequest>,
}

impl<'a> BatchRows<'a> {
    pub fn of(batch: &'a [Change]) -> BatchRows<'a> {
        let updates = || batch.iter().flat_map(|c| c.questions.iter());
        BatchRows {
            questions: last_per_id(updates().map(|u| &u.question), |q| q.id),
            questioners: updates()
                .filter(|u| u.from.is_none())
                .filter_map(|u| u.question.questioner.as_ref().map(|p| (u.question.id, p)))
                .collect(),
            votes: batch
                .iter()
                .flat_map(|c| {
                    c.questions
                        .iter()
                        .filter_map(move |u| u.voter.as_deref().map(|v| (u.question.id, v, c.at)))
                })
                .collect(),
            floor: last_per_id(batch.iter().flat_map(|c| c.floor.iter()), |f| f.id),
        }
    }

    /// The rows of an imported event: its current questions with their
    /// questioners, and its floor requests (votes are not part of a dump).
    pub fn of_dump(dump: &'a EventDump) -> BatchRows<'a> {
        BatchRows {
            questions: dump.questions.iter().collect(),
            questioners: dump
                .questions
                .iter()
                .filter_map(|q| q.questioner.as_ref().map(|p| (q.id, p)))
                .collect(),
            votes: Vec::new(),
            floor: dump.floor.iter().collect(),
        }
    }
}

/// An event's state as last committed.
#[derive(Debug, Default)]
pub struct LoadedEvent {
    pub seq: u64,
    pub questions: Vec<Question>,
    pub floor: Vec<FloorRequest>,
    /// Every (question, voter) that voted, so a device votes once.
    pub votes: Vec<(uuid::Uuid, String)>,
}

/// Everything stored about one event, for copying it between stores
/// (`doithoai migrate-store`). Holds personal data: handle it like the database.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDump {
    pub event_id: String,
    /// The event's TOML, copied as stored.
    pub definition: String,
    pub created_at: i64,
    pub closed_at: Option<i64>,
    pub last_seq: u64,
    /// Every generation of every seat (hashes only; revoked ones too).
    pub tokens: Vec<TokenRecord>,
    /// The whole log, ascending, as stored (no personal data).
    pub changes: Vec<Change>,
    /// The current questions, each with its questioner's personal data if any.
    pub questions: Vec<Question>,
    pub floor: Vec<FloorRequest>,
}

/// A role token's record. The token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token_hash: String,
    pub event_id: String,
    /// Stable name of the seat: "moderator-1", "speaker:gddt", "hall_operator:chau-doc".
    pub slot: String,
    pub role: String,
    pub hall: Option<String>,
    pub department: Option<String>,
    pub label: String,
    pub generation: i64,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip proving the database answers.
    async fn health(&self) -> Result<(), StoreError>;

    /// Commit a small write (one row of `store_probe`, a few pages) to learn
    /// whether commits reach the disk again after a failure. Run only while
    /// the store is failing, never per command.
    async fn probe(&self) -> Result<(), StoreError>;

    /// `Err(Lost)` when the database file this store opened is no longer the
    /// one at its path (deleted, moved away or replaced). A couple of
    /// `stat`s for SQLite; PostgreSQL has no file of ours to lose.
    fn check_files(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Create an event or replace its definition (its log and questions stay).
    async fn put_event(&self, event: &EventConfig) -> Result<(), StoreError>;
    async fn events(&self) -> Result<Vec<EventConfig>, StoreError>;
    /// One event's definition (a server looks up events created after it started).
    async fn event(&self, event_id: &str) -> Result<Option<EventConfig>, StoreError> {
        Ok(self.events().await?.into_iter().find(|e| e.id == event_id))
    }
    /// Mark an event closed at `at`, unless it is closed already (the first
    /// close time stays). From then on `commit` refuses it with `EventClosed`.
    async fn close_event(&self, event_id: &str, at: i64) -> Result<(), StoreError>;
    async fn event_closed_at(&self, event_id: &str) -> Result<Option<i64>, StoreError>;

    /// Insert a token record (a new generation for its slot).
    async fn put_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError>;
    async fn tokens(&self, event_id: &str) -> Result<Vec<TokenRecord>, StoreError>;
    async fn revoke_token(&self, token_hash: &str, at: i64) -> Result<(), StoreError>;

    /// The committed state of an event, questioners included.
    async fn load(&self, event_id: &str) -> Result<LoadedEvent, StoreError>;
    /// Commit `batch` (sequence numbers `base_seq + 1 ..`) atomically, or
    /// nothing: `Stale` when the event is no longer at `base_seq`,
    /// `EventClosed` when it was closed, `Lost` when the database file was
    /// deleted or replaced (checked after COMMIT, before anyone is told).
    async fn commit(
        &self,
        event_id: &str,
        base_seq: u64,
        batch: &[Change],
    ) -> Result<(), StoreError>;
    /// Logged changes with `seq > after`, ascending, at most `limit`, with
    /// each question's personal data (if any, and not erased) filled back in
    /// from the questioners table.
    async fn changes_since(
        &self,
        event_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError>;

    /// Remove every questioner's personal data of an event, and the device
    /// keys (a hash tied to a phone) of its questions, in the questions table
    /// and in the log; returns how many questioner records were erased.
    /// Questions, answers and the log stay.
    async fn erase_personal_data(&self, event_id: &str) -> Result<u64, StoreError>;

    /// Read one event completely, from a single consistent snapshot.
    async fn export_event(&self, event_id: &str) -> Result<EventDump, StoreError>;
    /// Write an exported event in one transaction, keeping its sequence
    /// numbers. Refused with `Exists` when the event already has changes
    /// here; an event that exists but is untouched (seq 0, e.g. the built-in
    /// default a first start created) is replaced, tokens included.
    async fn import_event(&self, dump: &EventDump) -> Result<(), StoreError>;
}

/// A pooled connection for one write transaction. It goes back to the pool
/// only through [`Disposable::release`], called after a clean COMMIT; on any
/// error, early return, panic or cancelled future it is closed instead, so a
/// connection whose transaction state is unknown (a COMMIT that failed after
/// SQLite rolled back by itself, a ROLLBACK that failed, sqlx's transaction
/// depth left at 1) can never serve another command.
pub(crate) struct Disposable<DB: sqlx::Database> {
    conn: sqlx::pool::PoolConnection<DB>,
    clean: bool,
}

impl<DB: sqlx::Database> Disposable<DB> {
    pub(crate) async fn acquire(pool: &sqlx::Pool<DB>) -> Result<Self, StoreError> {
        Ok(Disposable {
            conn: pool.acquire().await?,
            clean: false,
        })
    }

    pub(crate) fn conn(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }

    /// The transaction finished cleanly: the connection may serve again.
    pub(crate) fn release(mut self) {
        self.clean = true;
    }
}

impl<DB: sqlx::Database> Drop for Disposable<DB> {
    fn drop(&mut self) {
        if !self.clean {
            self.conn.close_on_drop();
        }
    }
}

/// The pools' `after_release` check: a connection that comes back still
/// inside a transaction (by sqlx's count) is closed, not reused. Together
/// with [`Disposable`] this makes "later commands run inside a transaction
/// that never commits" impossible on any path, not just the one we found.
pub(crate) fn not_in_transaction<C: sqlx::Connection>(conn: &C) -> bool {
    !conn.is_in_transaction()
}

/// Open the store the configuration names: PostgreSQL when a database URL
/// is given, else SQLite in the data directory.
pub async fn open(
    config: &crate::config::StoreConfig,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    match &config.database_url {
        Some(url) if postgres::is_postgres_url(url) => {
            Ok(std::sync::Arc::new(postgres::PgStore::open(url).await?))
        }
        Some(url) => Err(StoreError::Corrupt(format!(
            "unsupported database URL {url}"
        ))),
        None => Ok(std::sync::Arc::new(
            sqlite::SqliteStore::open_with(&config.data_dir, config.sqlite_max_pages).await?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_per_id_keeps_the_latest_in_first_seen_order() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let items = [(a, 1), (b, 2), (a, 3)];
        let kept = last_per_id(items.iter(), |i| i.0);
        assert_eq!(kept, vec![&(a, 3), &(b, 2)]);
    }
    use sqlx::Connection;

    #[tokio::test]
    async fn sqlite_full_and_enospc_are_told_apart_from_other_errors() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("PRAGMA max_page_count = 2")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (b BLOB)")
            .execute(&mut conn)
            .await
            .unwrap();
        let full = sqlx::query("INSERT INTO t VALUES (zeroblob(100000))")
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(StoreError::from)
            .unwrap_err();
        assert!(full.is_disk_full(), "{full}");
        let missing = sqlx::query("SELECT * FROM no_such_table")
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(StoreError::from)
            .unwrap_err();
        assert!(!missing.is_disk_full(), "{missing}");
        let enospc = StoreError::Database(sqlx::Error::Io(std::io::Error::from_raw_os_error(
            libc::ENOSPC,
        )));
        assert!(enospc.is_disk_full());
        assert!(!StoreError::Stale.is_disk_full());
    }
}
