//! Durable storage behind one trait, so the engine does not know whether it
//! talks to the embedded SQLite file or to PostgreSQL.
//!
//! The contract that matters: `commit` writes a batch of changes, the
//! questions and floor requests they produce and the event's new sequence
//! number in **one transaction**, and only if the event is still at
//! `base_seq` (otherwise `StoreError::Stale`, nothing written). That single
//! check is what keeps sequence numbers gap-free and ordered even when two
//! server nodes write the same event.

pub mod postgres;
pub mod sqlite;
pub mod transfer;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{Actor, BackstageNote, FloorRequest, Question, QuestionUpdate};
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
}

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

/// A question as it is written to the log and the questions table: without
/// personal data or anything derived from it.
pub(crate) fn stored_question(q: &Question) -> Question {
    Question {
        questioner: None,
        display_name: None,
        ..q.clone()
    }
}

/// An event's state as last committed.
#[derive(Debug, Default)]
pub struct LoadedEvent {
    pub seq: u64,
    pub questions: Vec<Question>,
    pub floor: Vec<FloorRequest>,
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

    /// Create an event or replace its definition (its log and questions stay).
    async fn put_event(&self, event: &EventConfig) -> Result<(), StoreError>;
    async fn events(&self) -> Result<Vec<EventConfig>, StoreError>;
    /// One event's definition (a server looks up events created after it started).
    async fn event(&self, event_id: &str) -> Result<Option<EventConfig>, StoreError> {
        Ok(self.events().await?.into_iter().find(|e| e.id == event_id))
    }
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
    /// nothing with `Stale` when the event is no longer at `base_seq`.
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

    /// Remove every questioner's personal data of an event; returns how many
    /// records were erased. Questions, answers and the log stay.
    async fn erase_personal_data(&self, event_id: &str) -> Result<u64, StoreError>;

    /// Read one event completely, from a single consistent snapshot.
    async fn export_event(&self, event_id: &str) -> Result<EventDump, StoreError>;
    /// Write an exported event in one transaction, keeping its sequence
    /// numbers. Refused with `Exists` when the event already has changes
    /// here; an event that exists but is untouched (seq 0, e.g. the built-in
    /// default a first start created) is replaced, tokens included.
    async fn import_event(&self, dump: &EventDump) -> Result<(), StoreError>;
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
            sqlite::SqliteStore::open(&config.data_dir).await?,
        )),
    }
}
