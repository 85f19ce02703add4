//! Copying events from one store to another (`doithoai migrate-store`), e.g.
//! from the SQLite file of a single-machine install to the PostgreSQL
//! database of a multi-node one.
//!
//! Each event is exported from one consistent snapshot and imported in one
//! transaction, keeping its sequence numbers, log, questions, personal data,
//! floor requests and token hashes, so links and receipts keep working as long
//! as the new nodes use the same secret. Nothing is written to the target
//! before every event has been checked to be absent (or untouched) there.

use std::path::Path;
use std::sync::Arc;

use super::postgres::{is_postgres_url, PgStore};
use super::sqlite::SqliteStore;
use super::{Store, StoreError};

/// What was copied for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub event_id: String,
    pub last_seq: u64,
    pub changes: usize,
    pub questions: usize,
    pub tokens: usize,
}

/// Open a store named by a PostgreSQL URL, an SQLite file or a data
/// directory holding `doithoai.db`. A source must already exist (`create`
/// false): a typo must not read as an empty store.
pub async fn open_location(location: &str, create: bool) -> Result<Arc<dyn Store>, StoreError> {
    if is_postgres_url(location) {
        return Ok(Arc::new(PgStore::open(location).await?));
    }
    let path = Path::new(location);
    let file = if path.is_dir() || (create && path.extension().is_none()) {
        path.join("doithoai.db")
    } else {
        path.to_path_buf()
    };
    if !create && !file.is_file() {
        return Err(StoreError::Corrupt(format!(
            "no SQLite database at {}",
            file.display()
        )));
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", dir.display())))?;
    }
    Ok(Arc::new(SqliteStore::open_file(&file).await?))
}

/// Copy every event of `from` (or only `only`) into `to`.
pub async fn copy(
    from: &dyn Store,
    to: &dyn Store,
    only: Option<&str>,
) -> Result<Vec<Copied>, StoreError> {
    let mut ids: Vec<String> = from.events().await?.into_iter().map(|e| e.id).collect();
    if let Some(one) = only {
        if !ids.iter().any(|id| id == one) {
            return Err(StoreError::UnknownEvent(one.to_string()));
        }
        ids.retain(|id| id == one);
    }
    // Check all first, so a refusal leaves the target as it was.
    for id in &ids {
        match to.load(id).await {
            Ok(loaded) if loaded.seq > 0 => return Err(StoreError::Exists(id.clone())),
            Ok(_) | Err(StoreError::UnknownEvent(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let dump = from.export_event(&id).await?;
        to.import_event(&dump).await?;
        let check = to.load(&id).await?;
        if check.seq != dump.last_seq || check.questions.len() != dump.questions.len() {
            return Err(StoreError::Corrupt(format!(
                "event {id}: copied seq {} with {} questions, target has seq {} with {}",
                dump.last_seq,
                dump.questions.len(),
                check.seq,
                check.questions.len()
            )));
        }
        out.push(Copied {
            event_id: id,
            last_seq: dump.last_seq,
            changes: dump.changes.len(),
            questions: dump.questions.len(),
            tokens: dump.tokens.len(),
        });
    }
    Ok(out)
}
