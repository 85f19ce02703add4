//! The embedded default store: one SQLite file in the data directory, WAL
//! journal with `synchronous=FULL`, so a commit that returned survives a power
//! loss. The engine batches concurrent commands into one `commit` (group
//! commit) instead of weakening durability.
//!
//! Every write runs on a [`Disposable`] connection inside `BEGIN IMMEDIATE`
//! … `COMMIT`, so a failed write never leaves a connection in the pool in an
//! unknown transaction state. The store also remembers which files it opened
//! ([`DbFiles`]): if the database or its WAL is deleted or replaced under a
//! running server, writes fail with `StoreError::Lost` instead of going to a
//! file nobody will read again.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Row, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::{
    stored_question, BatchRows, Change, ChangeBody, Disposable, EventDump, LoadedEvent, Store,
    StoreError, TokenRecord,
};
use crate::domain::{Actor, FloorRequest, Question, Questioner};
use crate::event::EventConfig;

/// Bytes the health probe rewrites: a few pages, about what a small batch
/// of questions needs, so a probe that fits says a batch will fit too.
const PROBE_BYTES: usize = 16 * 1024;

pub struct SqliteStore {
    pool: SqlitePool,
    files: DbFiles,
}

impl SqliteStore {
    /// Open (creating if needed) `doithoai.db` in `data_dir` and run migrations.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_with(data_dir, None).await
    }

    /// Like [`SqliteStore::open`], refusing to grow the database past
    /// `max_pages` pages (`--sqlite-max-pages`).
    pub async fn open_with(
        data_dir: &Path,
        max_pages: Option<u32>,
    ) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", data_dir.display())))?;
        Self::open_file_with(&data_dir.join("doithoai.db"), max_pages).await
    }

    pub async fn open_file(path: &Path) -> Result<SqliteStore, StoreError> {
        Self::open_file_with(path, None).await
    }

    async fn open_file_with(
        path: &Path,
        max_pages: Option<u32>,
    ) -> Result<SqliteStore, StoreError> {
        let mut options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Overwrite deleted content so erased personal data does not linger in free pages.
            .pragma("secure_delete", "ON")
            .busy_timeout(Duration::from_secs(10));
        if let Some(pages) = max_pages {
            // Per connection in SQLite, so every connection of the pool sets it.
            options = options.pragma("max_page_count", pages.to_string());
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_release(|conn, _| Box::pin(async move { Ok(super::not_in_transaction(conn)) }))
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let files = DbFiles::open(path, &options).await?;
        Ok(SqliteStore { pool, files })
    }

    /// A connection for one write, after checking the database file is
    /// still ours. Release it only after a clean COMMIT.
    async fn writer(&self) -> Result<Disposable<Sqlite>, StoreError> {
        self.files.verify()?;
        Disposable::acquire(&self.pool).await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// The database file and its WAL as this store opened them. A server whose
/// files were deleted or replaced goes on writing happily into the old
/// inodes, which vanish when it exits: comparing device and inode numbers
/// with the paths' current ones (two `stat`s) tells before anyone is told
/// "saved".
struct DbFiles {
    /// Each file's path and identity when opened: the database, and its WAL
    /// when there is one (a filesystem without WAL support keeps a rollback
    /// journal, which comes and goes by design).
    files: Vec<(PathBuf, FileId)>,
    /// Held open for the store's lifetime and never used. SQLite deletes the
    /// WAL when its last connection closes and makes a new one on the next
    /// open; with this one always open that never happens, so the WAL keeps
    /// its identity and a different one means somebody replaced it.
    _keeper: std::sync::Mutex<SqliteConnection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(path: &Path) -> std::io::Result<FileId> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok(FileId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

impl DbFiles {
    async fn open(db: &Path, options: &SqliteConnectOptions) -> Result<DbFiles, StoreError> {
        let mut keeper = SqliteConnection::connect_with(options).await?;
        // A read opens the WAL (migrations made sure the database is in WAL mode).
        sqlx::query("SELECT count(*) FROM events")
            .execute(&mut keeper)
            .await?;
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let db_id =
            FileId::of(db).map_err(|e| StoreError::Corrupt(format!("{}: {e}", db.display())))?;
        let mut files = vec![(db.to_path_buf(), db_id)];
        match FileId::of(&wal) {
            Ok(id) => files.push((wal, id)),
            Err(e) => {
                tracing::warn!(wal = %wal.display(), error = %e, "no WAL file: only the database file is watched")
            }
        }
        Ok(DbFiles {
            files,
            _keeper: std::sync::Mutex::new(keeper),
        })
    }

    fn verify(&self) -> Result<(), StoreError> {
        for (path, opened) in &self.files {
            let problem = match FileId::of(path) {
                Ok(now) if now == *opened => continue,
                Ok(_) => "was replaced by another file".to_string(),
                Err(e) => format!("is gone ({e})"),
            };
            return Err(StoreError::Lost(format!(
                "{} {problem}{}",
                path.display(),
                self.rescue_hint()
            )));
        }
        Ok(())
    }

    /// Where this process still holds the deleted files open: copying them
    /// back (while the server still runs, before restarting it) recovers
    /// everything committed before the loss. Linux only; empty elsewhere.
    fn rescue_hint(&self) -> String {
        let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
            return String::new();
        };
        let pid = std::process::id();
        // One open descriptor per deleted file is enough (each connection has its own).
        let mut held = std::collections::BTreeMap::new();
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy().into_owned();
            for (path, _) in &self.files {
                if target == format!("{} (deleted)", path.display()) {
                    held.entry(path.display().to_string())
                        .or_insert_with(|| fd.file_name().to_string_lossy().into_owned());
                }
            }
        }
        let copies: Vec<String> = held
            .iter()
            .map(|(path, fd)| format!("cp /proc/{pid}/fd/{fd} {path}"))
            .collect();
        if copies.is_empty() {
            String::new()
        } else {
            format!(
                "; this server still holds the deleted data: before restarting, run {}",
                copies.join(" && ")
            )
        }
    }
}

fn token_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<TokenRecord, sqlx::Error> {
    Ok(TokenRecord {
        token_hash: r.try_get("token_hash")?,
        event_id: r.try_get("event_id")?,
        slot: r.try_get("slot")?,
        role: r.try_get("role")?,
        hall: r.try_get("hall")?,
        department: r.try_get("department")?,
        label: r.try_get("label")?,
        generation: r.try_get("generation")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        revoked_at: r.try_get("revoked_at")?,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn health(&self) -> Result<(), StoreError> {
        self.files.verify()?;
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn probe(&self) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.conn().begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO store_probe (id, at, filler) VALUES (1, ?, ?)
             ON CONFLICT(id) DO UPDATE SET at = excluded.at, filler = excluded.filler",
        )
        .bind(crate::now_ms())
        .bind(vec![0u8; PROBE_BYTES])
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.files.verify()?;
        conn.release();
        Ok(())
    }

    fn check_files(&self) -> Result<(), StoreError> {
        self.files.verify()
    }

    async fn put_event(&self, event: &EventConfig) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        sqlx::query(
            "INSERT INTO events (id, definition, last_seq, created_at) VALUES (?, ?, 0, ?)
             ON CONFLICT(id) DO UPDATE SET definition = excluded.definition",
        )
        .bind(&event.id)
        .bind(event.to_toml())
        .bind(crate::now_ms())
        .execute(conn.conn())
        .await?;
        conn.release();
        Ok(())
    }

    async fn events(&self) -> Result<Vec<EventConfig>, StoreError> {
        let rows = sqlx::query("SELECT definition FROM events ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let def: String = r.try_get("definition")?;
                EventConfig::from_toml(&def).map_err(|e| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    async fn close_event(&self, event_id: &str, at: i64) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        let done = sqlx::query("UPDATE events SET closed_at = COALESCE(closed_at, ?) WHERE id = ?")
            .bind(at)
            .bind(event_id)
            .execute(conn.conn())
            .await?;
        conn.release();
        if done.rows_affected() == 0 {
            return Err(StoreError::UnknownEvent(event_id.to_string()));
        }
        Ok(())
    }

    async fn event_closed_at(&self, event_id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT closed_at FROM events WHERE id = ?")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::UnknownEvent(event_id.to_string()))?;
        Ok(row.try_get("closed_at")?)
    }

    async fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        insert_token(conn.conn(), t).await?;
        conn.release();
        Ok(())
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM tokens WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| token_from_row(&r)).transpose()?)
    }

    async fn tokens(&self, event_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM tokens WHERE event_id = ? ORDER BY slot, generation")
            .bind(event_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(token_from_row).collect::<Result<_, _>>()?)
    }

    async fn revoke_token(&self, token_hash: &str, at: i64) -> Result<(), StoreError> {
        let mut conn = self.writer().await?;
        sqlx::query("UPDATE tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(token_hash)
            .execute(conn.conn())
            .await?;
        conn.release();
        Ok(())
    }

    async fn load(&self, event_id: &str) -> Result<LoadedEvent, StoreError> {
        let seq_row = sqlx::query("SELECT last_seq FROM events WHERE id = ?")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::UnknownEvent(event_id.to_string()))?;
        let seq: i64 = seq_row.try_get("last_seq")?;
        let rows = sqlx::query(
            "SELECT q.data AS data, p.data AS questioner FROM questions q
             LEFT JOIN questioners p ON p.event_id = q.event_id AND p.question_id = q.id
             WHERE q.event_id = ? ORDER BY q.created_at, q.id",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        let mut questions = Vec::with_capacity(rows.len());
        for r in rows {
            let data: String = r.try_get("data")?;
            let mut q: Question = serde_json::from_str(&data)?;
            let p: Option<String> = r.try_get("questioner")?;
            q.questioner = p
                .map(|p| serde_json::from_str::<Questioner>(&p))
                .transpose()?;
            questions.push(q);
        }
        let rows = sqlx::query("SELECT data FROM floor_requests WHERE event_id = ?")
            .bind(event_id)
            .fetch_all(&self.pool)
            .await?;
        let floor = rows
            .iter()
            .map(|r| {
                Ok(serde_json::from_str::<FloorRequest>(
                    &r.try_get::<String, _>("data")?,
                )?)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let votes = sqlx::query("SELECT question_id, voter FROM votes WHERE event_id = ?")
            .bind(event_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let id: String = r.try_get("question_id")?;
                let id =
                    uuid::Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((id, r.try_get("voter")?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(LoadedEvent {
            seq: seq as u64,
            questions,
            floor,
            votes,
        })
    }

    async fn commit(
        &self,
        event_id: &str,
        base_seq: u64,
        batch: &[Change],
    ) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut conn = self.writer().await?;
        // IMMEDIATE takes the write lock at once; the conditional bump is the
        // guard against a stale base and against writing to a closed event.
        let mut tx = conn.conn().begin_with("BEGIN IMMEDIATE").await?;
        let moved = sqlx::query(
            "UPDATE events SET last_seq = ? WHERE id = ? AND last_seq = ? AND closed_at IS NULL",
        )
        .bind((base_seq + batch.len() as u64) as i64)
        .bind(event_id)
        .bind(base_seq as i64)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            let closed: Option<Option<i64>> =
                sqlx::query_scalar("SELECT closed_at FROM events WHERE id = ?")
                    .bind(event_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            return Err(match closed {
                None => StoreError::UnknownEvent(event_id.to_string()),
                Some(Some(at)) => StoreError::EventClosed(at),
                Some(None) => StoreError::Stale,
            });
        }
        let rows = BatchRows::of(batch);
        insert_changes(&mut tx, event_id, batch).await?;
        upsert_questions(&mut tx, event_id, &rows.questions).await?;
        insert_questioners(&mut tx, event_id, &rows.questioners).await?;
        insert_votes(&mut tx, event_id, &rows.votes).await?;
        upsert_floor(&mut tx, event_id, &rows.floor).await?;
        tx.commit().await?;
        // Committed, but to the file we opened: is that still the database?
        self.files.verify()?;
        conn.release();
        Ok(())
    }

    async fn changes_since(
        &self,
        event_id: &str,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, body FROM changes WHERE event_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(event_id)
        .bind(after as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        // One query for the event's questioners instead of one per update.
        let people: std::collections::HashMap<String, String> =
            sqlx::query("SELECT question_id, data FROM questioners WHERE event_id = ?")
                .bind(event_id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| Ok((r.try_get("question_id")?, r.try_get("data")?)))
                .collect::<Result<_, sqlx::Error>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let body: ChangeBody = serde_json::from_str(&r.try_get::<String, _>("body")?)?;
            let actor: Actor = serde_json::from_str(&r.try_get::<String, _>("actor")?)?;
            let mut questions = body.questions;
            for u in questions.iter_mut() {
                if let Some(p) = people.get(&u.question.id.to_string()) {
                    u.question.questioner = Some(serde_json::from_str(p)?);
                }
            }
            out.push(Change {
                seq: r.try_get::<i64, _>("seq")? as u64,
                at: r.try_get("at")?,
                actor,
                action: r.try_get("action")?,
                questions,
                floor: body.floor,
                notes: body.notes,
            });
        }
        Ok(out)
    }

    async fn erase_personal_data(&self, event_id: &str) -> Result<u64, StoreError> {
        let mut conn = self.writer().await?;
        let mut tx = conn.conn().begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query("DELETE FROM questioners WHERE event_id = ?")
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
        // The device keys, in the questions and in the log's snapshots.
        strip_device_keys::<String>(
            &mut tx,
            event_id,
            "SELECT id, data FROM questions WHERE event_id = ? AND instr(data, '\"device_key\"') > 0",
            "UPDATE questions SET data = ? WHERE event_id = ? AND id = ?",
        )
        .await?;
        strip_device_keys::<i64>(
            &mut tx,
            event_id,
            "SELECT seq, body FROM changes WHERE event_id = ? AND instr(body, '\"device_key\"') > 0",
            "UPDATE changes SET body = ? WHERE event_id = ? AND seq = ?",
        )
        .await?;
        tx.commit().await?;
        conn.release();
        // Rewrite the file so no deleted page keeps old bytes, then fold the WAL in.
        sqlx::query("VACUUM").execute(&self.pool).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn export_event(&self, event_id: &str) -> Result<EventDump, StoreError> {
        // One read transaction: in WAL mode it sees a single snapshot.
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(
            "SELECT definition, created_at, closed_at, last_seq FROM events WHERE id = ?",
        )
        .bind(event_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::UnknownEvent(event_id.to_string()))?;
        let tokens =
            sqlx::query("SELECT * FROM tokens WHERE event_id = ? ORDER BY slot, generation")
                .bind(event_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(token_from_row)
                .collect::<Result<Vec<_>, _>>()?;
        let mut changes = Vec::new();
        for r in sqlx::query(
            "SELECT seq, at, actor, action, body FROM changes WHERE event_id = ? ORDER BY seq",
        )
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await?
        {
            let body: ChangeBody = serde_json::from_str(&r.try_get::<String, _>("body")?)?;
            changes.push(Change {
                seq: r.try_get::<i64, _>("seq")? as u64,
                at: r.try_get("at")?,
                actor: serde_json::from_str(&r.try_get::<String, _>("actor")?)?,
                action: r.try_get("action")?,
                questions: body.questions,
                floor: body.floor,
                notes: body.notes,
            });
        }
        let mut questions = Vec::new();
        for r in sqlx::query(
            "SELECT q.data AS data, p.data AS questioner FROM questions q
             LEFT JOIN questioners p ON p.event_id = q.event_id AND p.question_id = q.id
             WHERE q.event_id = ? ORDER BY q.created_at, q.id",
        )
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await?
        {
            let mut q: Question = serde_json::from_str(&r.try_get::<String, _>("data")?)?;
            let p: Option<String> = r.try_get("questioner")?;
            q.questioner = p
                .map(|p| serde_json::from_str::<Questioner>(&p))
                .transpose()?;
            questions.push(q);
        }
        let floor = sqlx::query("SELECT data FROM floor_requests WHERE event_id = ? ORDER BY id")
            .bind(event_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| {
                Ok(serde_json::from_str::<FloorRequest>(
                    &r.try_get::<String, _>("data")?,
                )?)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        tx.commit().await?;
        Ok(EventDump {
            event_id: event_id.to_string(),
            definition: row.try_get("definition")?,
            created_at: row.try_get("created_at")?,
            closed_at: row.try_get("closed_at")?,
            last_seq: row.try_get::<i64, _>("last_seq")? as u64,
            tokens,
            changes,
            questions,
            floor,
        })
    }

    async fn import_event(&self, dump: &EventDump) -> Result<(), StoreError> {
        let id = dump.event_id.as_str();
        // The check and the import hold the write lock together.
        let mut conn = self.writer().await?;
        let mut tx = conn.conn().begin_with("BEGIN IMMEDIATE").await?;
        let created = sqlx::query(
            "INSERT INTO events (id, definition, last_seq, created_at, closed_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(id) DO NOTHING",
        )
        .bind(id)
        .bind(&dump.definition)
        .bind(dump.last_seq as i64)
        .bind(dump.created_at)
        .bind(dump.closed_at)
        .execute(&mut *tx)
        .await?;
        if created.rows_affected() == 0 {
            let seq: i64 = sqlx::query_scalar("SELECT last_seq FROM events WHERE id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM changes WHERE event_id = ?")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            if seq != 0 || logged != 0 {
                return Err(StoreError::Exists(id.to_string()));
            }
            // Untouched (a first start made it): take the source's version whole.
            for table in ["tokens", "questioners", "questions", "floor_requests"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE event_id = ?"))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE events SET definition = ?, last_seq = ?, created_at = ?, closed_at = ? WHERE id = ?")
                .bind(&dump.definition)
                .bind(dump.last_seq as i64)
                .bind(dump.created_at)
                .bind(dump.closed_at)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for t in &dump.tokens {
            insert_token(&mut tx, t).await?;
        }
        insert_changes(&mut tx, id, &dump.changes).await?;
        let rows = BatchRows::of_dump(dump);
        upsert_questions(&mut tx, id, &rows.questions).await?;
        insert_questioners(&mut tx, id, &rows.questioners).await?;
        upsert_floor(&mut tx, id, &rows.floor).await?;
        tx.commit().await?;
        conn.release();
        Ok(())
    }
}

// Row writers shared by `commit`, `put_token` and `import_event`.

async fn insert_token(conn: &mut SqliteConnection, t: &TokenRecord) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO tokens (token_hash, event_id, slot, role, hall, department, label, generation, created_at, expires_at, revoked_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(token_hash) DO NOTHING",
    )
    .bind(&t.token_hash)
    .bind(&t.event_id)
    .bind(&t.slot)
    .bind(&t.role)
    .bind(&t.hall)
    .bind(&t.department)
    .bind(&t.label)
    .bind(t.generation)
    .bind(t.created_at)
    .bind(t.expires_at)
    .bind(t.revoked_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Rewrite the JSON text of the rows `select` finds (key, text) without
/// device keys, through `update` (text, event, key).
async fn strip_device_keys<K>(
    conn: &mut SqliteConnection,
    event_id: &str,
    select: &str,
    update: &str,
) -> Result<(), StoreError>
where
    K: for<'r> sqlx::Decode<'r, Sqlite> + for<'q> sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite>,
    K: Send + Unpin,
{
    let rows: Vec<(K, String)> = sqlx::query_as(select)
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?;
    for (key, text) in rows {
        if let Some(text) = super::without_device_keys(&text)? {
            sqlx::query(update)
                .bind(text)
                .bind(event_id)
                .bind(key)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Rows per multi-row INSERT: nine columns × 100 stays under SQLite's
/// bound-parameter limit (32,766; 999 before 3.32). One statement per
/// hundred rows instead of one per row: each statement is a round trip to
/// sqlx's SQLite thread, and at hundreds of changes per commit those round
/// trips, not SQLite, were most of the commit's time.
const ROWS_PER_INSERT: usize = 100;

/// Whether a multi-row statement is kept prepared on its connection: the
/// one-row form (every event-day commit) and the full chunk; the sizes in
/// between would only churn sqlx's statement cache.
fn cached(rows: usize) -> bool {
    rows == 1 || rows == ROWS_PER_INSERT
}

/// Append `changes` to the log.
async fn insert_changes(
    conn: &mut SqliteConnection,
    event_id: &str,
    changes: &[Change],
) -> Result<(), StoreError> {
    for chunk in changes.chunks(ROWS_PER_INSERT) {
        let rows = chunk
            .iter()
            .map(|c| {
                Ok((
                    c.seq as i64,
                    c.at,
                    serde_json::to_string(&c.actor)?,
                    c.action.as_str(),
                    c.body_json()?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO changes (event_id, seq, at, actor, action, body) ",
        );
        insert.push_values(rows, |mut row, (seq, at, actor, action, body)| {
            row.push_bind(event_id)
                .push_bind(seq)
                .push_bind(at)
                .push_bind(actor)
                .push_bind(action)
                .push_bind(body);
        });
        insert
            .build()
            .persistent(cached(chunk.len()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Insert or update question rows (without personal data); ids must not
/// repeat ([`BatchRows`]).
async fn upsert_questions(
    conn: &mut SqliteConnection,
    event_id: &str,
    questions: &[&Question],
) -> Result<(), StoreError> {
    for chunk in questions.chunks(ROWS_PER_INSERT) {
        let rows = chunk
            .iter()
            .map(|q| Ok((q, serde_json::to_string(&stored_question(q))?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut upsert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO questions (id, event_id, state, hall, department, grp, created_at, updated_at, data) ",
        );
        upsert.push_values(rows, |mut row, (q, data)| {
            row.push_bind(q.id.to_string())
                .push_bind(event_id)
                .push_bind(q.state.as_str())
                .push_bind(&q.hall)
                .push_bind(&q.department)
                .push_bind(&q.group)
                .push_bind(q.created_at)
                .push_bind(q.updated_at)
                .push_bind(data);
        });
        upsert.push(
            " ON CONFLICT(event_id, id) DO UPDATE SET state = excluded.state, department = excluded.department,
               grp = excluded.grp, updated_at = excluded.updated_at, data = excluded.data",
        );
        upsert
            .build()
            .persistent(cached(chunk.len()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn insert_questioners(
    conn: &mut SqliteConnection,
    event_id: &str,
    questioners: &[(Uuid, &Questioner)],
) -> Result<(), StoreError> {
    for chunk in questioners.chunks(ROWS_PER_INSERT) {
        let rows = chunk
            .iter()
            .map(|(id, p)| Ok((id.to_string(), serde_json::to_string(p)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO questioners (question_id, event_id, data) ");
        insert.push_values(rows, |mut row, (id, data)| {
            row.push_bind(id).push_bind(event_id).push_bind(data);
        });
        insert
            .build()
            .persistent(cached(chunk.len()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Record the votes of a batch (one row per device and question).
async fn insert_votes(
    conn: &mut SqliteConnection,
    event_id: &str,
    votes: &[(Uuid, &str, i64)],
) -> Result<(), StoreError> {
    for chunk in votes.chunks(ROWS_PER_INSERT) {
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO votes (event_id, question_id, voter, at) ");
        insert.push_values(chunk, |mut row, (id, voter, at)| {
            row.push_bind(event_id)
                .push_bind(id.to_string())
                .push_bind(*voter)
                .push_bind(*at);
        });
        insert
            .build()
            .persistent(cached(chunk.len()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Insert or update floor requests; ids must not repeat.
async fn upsert_floor(
    conn: &mut SqliteConnection,
    event_id: &str,
    floor: &[&FloorRequest],
) -> Result<(), StoreError> {
    for chunk in floor.chunks(ROWS_PER_INSERT) {
        let rows = chunk
            .iter()
            .map(|f| Ok((f.id.to_string(), serde_json::to_string(f)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut upsert =
            QueryBuilder::<Sqlite>::new("INSERT INTO floor_requests (id, event_id, data) ");
        upsert.push_values(rows, |mut row, (id, data)| {
            row.push_bind(id).push_bind(event_id).push_bind(data);
        });
        upsert.push(" ON CONFLICT(event_id, id) DO UPDATE SET data = excluded.data");
        upsert
            .build()
            .persistent(cached(chunk.len()))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
