//! The PostgreSQL store, for several server nodes sharing one database.
//!
//! Same tables and contract as the SQLite store. What makes it safe across
//! nodes is the conditional `UPDATE events SET last_seq = new WHERE id = ..
//! AND last_seq = base` at the start of every commit: its row lock
//! serialises two nodes committing to one event, and the loser matches no
//! row and gets `Stale` (nothing written). The same transaction sends a
//! `NOTIFY` on [`CHANGES_CHANNEL`], which PostgreSQL delivers only if it
//! commits; every node's [`crate::cluster`] listener turns it into a catch-up.
//!
//! Rows are keyed by (event, id) because question and floor ids are chosen by
//! clients. Batches are written with `UNNEST` so a 512-command group commit
//! costs a handful of round trips, not one per row.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, Row, Transaction};
use uuid::Uuid;

use super::{
    stored_question, BatchRows, Change, ChangeBody, Disposable, EventDump, LoadedEvent, Store,
    StoreError, TokenRecord,
};
use crate::domain::{Actor, FloorRequest, Question, Questioner};
use crate::event::EventConfig;

/// The channel every commit notifies with `{"event": id, "seq": last_seq}`.
pub const CHANGES_CHANNEL: &str = "doithoai_changes";
/// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
const MAX_PAYLOAD: usize = 7999;
/// Connections per node: one writer commit per busy event plus reads
/// (authentication, catch-up, health). The listener has its own connection.
const MAX_CONNECTIONS: u32 = 16;

pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The NOTIFY payload for a commit that brought `event_id` to `seq`. An id
/// too long for the limit (event ids are slugs of at most 64 bytes, so never
/// in practice) is left out, which listeners read as "catch up everything".
pub fn notify_payload(event_id: &str, seq: u64) -> String {
    let full = serde_json::json!({ "event": event_id, "seq": seq }).to_string();
    if full.len() <= MAX_PAYLOAD {
        full
    } else {
        serde_json::json!({ "seq": seq }).to_string()
    }
}

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connect and run the migrations. sqlx holds an advisory lock while
    /// migrating, so nodes starting together do not race.
    pub async fn open(url: &str) -> Result<PgStore, StoreError> {
        let options = PgConnectOptions::from_str(url)?.application_name("doithoai");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            // Fail a command (and /healthz) within seconds when the database is gone,
            // instead of queueing behind a pool that cannot connect.
            .acquire_timeout(Duration::from_secs(5))
            .after_release(|conn, _| Box::pin(async move { Ok(super::not_in_transaction(conn)) }))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn token_from_row(r: &PgRow) -> Result<TokenRecord, sqlx::Error> {
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

fn change_from_row(r: &PgRow) -> Result<Change, StoreError> {
    let body: ChangeBody = serde_json::from_str(&r.try_get::<String, _>("body")?)?;
    let actor: Actor = serde_json::from_str(&r.try_get::<String, _>("actor")?)?;
    Ok(Change {
        seq: r.try_get::<i64, _>("seq")? as u64,
        at: r.try_get("at")?,
        actor,
        action: r.try_get("action")?,
        questions: body.questions,
        floor: body.floor,
        notes: body.notes,
    })
}

/// Rewrite the JSON text of the rows `select` finds (key, text) without
/// device keys, through `update` (text, event, key).
async fn strip_device_keys<K>(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
    select: &str,
    update: &str,
) -> Result<(), StoreError>
where
    K: for<'r> sqlx::Decode<'r, Postgres>
        + for<'q> sqlx::Encode<'q, Postgres>
        + sqlx::Type<Postgres>,
    K: Send + Unpin,
{
    let rows: Vec<(K, String)> = sqlx::query_as(select)
        .bind(event_id)
        .fetch_all(&mut **tx)
        .await?;
    for (key, text) in rows {
        if let Some(text) = super::without_device_keys(&text)? {
            sqlx::query(update)
                .bind(text)
                .bind(event_id)
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Append `changes` to the log.
async fn insert_changes(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
    changes: &[Change],
) -> Result<(), StoreError> {
    let mut seqs = Vec::with_capacity(changes.len());
    let mut ats = Vec::with_capacity(changes.len());
    let mut actors = Vec::with_capacity(changes.len());
    let mut actions = Vec::with_capacity(changes.len());
    let mut bodies = Vec::with_capacity(changes.len());
    for c in changes {
        seqs.push(c.seq as i64);
        ats.push(c.at);
        actors.push(serde_json::to_string(&c.actor)?);
        actions.push(c.action.clone());
        bodies.push(c.body_json()?);
    }
    sqlx::query(
        "INSERT INTO changes (event_id, seq, at, actor, action, body)
         SELECT $1, u.seq, u.at, u.actor, u.action, u.body
         FROM UNNEST($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[]) AS u(seq, at, actor, action, body)",
    )
    .bind(event_id)
    .bind(seqs)
    .bind(ats)
    .bind(actors)
    .bind(actions)
    .bind(bodies)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Insert or update question rows (without personal data). `questions` must
/// not repeat an id: one statement may not update a row twice.
async fn upsert_questions(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
    questions: &[&Question],
) -> Result<(), StoreError> {
    if questions.is_empty() {
        return Ok(());
    }
    let n = questions.len();
    let (mut ids, mut states, mut halls, mut depts, mut groups) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut created, mut updated, mut data) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for q in questions {
        ids.push(q.id.to_string());
        states.push(q.state.as_str().to_string());
        halls.push(q.hall.clone());
        depts.push(q.department.clone());
        groups.push(q.group.clone());
        created.push(q.created_at);
        updated.push(q.updated_at);
        data.push(serde_json::to_string(&stored_question(q))?);
    }
    sqlx::query(
        "INSERT INTO questions (id, event_id, state, hall, department, grp, created_at, updated_at, data)
         SELECT u.id, $1, u.state, u.hall, u.department, u.grp, u.created_at, u.updated_at, u.data
         FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[])
           AS u(id, state, hall, department, grp, created_at, updated_at, data)
         ON CONFLICT (event_id, id) DO UPDATE SET state = EXCLUDED.state, department = EXCLUDED.department,
           grp = EXCLUDED.grp, updated_at = EXCLUDED.updated_at, data = EXCLUDED.data",
    )
    .bind(event_id)
    .bind(ids)
    .bind(states)
    .bind(halls)
    .bind(depts)
    .bind(groups)
    .bind(created)
    .bind(updated)
    .bind(data)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_questioners(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
    questioners: &[(Uuid, &Questioner)],
) -> Result<(), StoreError> {
    if questioners.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = questioners.iter().map(|(id, _)| id.to_string()).collect();
    let data = questioners
        .iter()
        .map(|(_, p)| serde_json::to_string(p))
        .collect::<Result<Vec<_>, _>>()?;
    sqlx::query(
        "INSERT INTO questioners (question_id, event_id, data)
         SELECT u.id, $1, u.data FROM UNNEST($2::text[], $3::text[]) AS u(id, data)",
    )
    .bind(event_id)
    .bind(ids)
    .bind(data)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Record the votes of a batch (one row per device and question).
async fn insert_votes(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
    votes: &[(Uuid, &str, i64)],
) -> Result<(), StoreError> {
    if votes.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = votes.iter().map(|(id, _, _)| id.to_string()).collect();
    let voters: Vec<&str> = votes.iter().map(|(_, v, _)| *v).collect();
    let at: Vec<i64> = votes.iter().map(|(_, _, at)| *at).collect();
    sqlx::query(
        "INSERT INTO votes (event_id, question_id, voter, at)
         SELECT $1, u.id, u.voter, u.at FROM UNNEST($2::text[], $3::text[], $4::bigint[]) AS u(id, voter, at)",
    )
    .bind(event_id)
    .bind(ids)
    .bind(voters)
    .bind(at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Insert or update floor requests; ids must not repeat.
async fn upsert_floor(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
    floor: &[&FloorRequest],
) -> Result<(), StoreError> {
    if floor.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = floor.iter().map(|f| f.id.to_string()).collect();
    let data = floor
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<_>, _>>()?;
    sqlx::query(
        "INSERT INTO floor_requests (id, event_id, data)
         SELECT u.id, $1, u.data FROM UNNEST($2::text[], $3::text[]) AS u(id, data)
         ON CONFLICT (event_id, id) DO UPDATE SET data = EXCLUDED.data",
    )
    .bind(event_id)
    .bind(ids)
    .bind(data)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn notify(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
    seq: u64,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANGES_CHANNEL)
        .bind(notify_payload(event_id, seq))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Questioners of `ids` in `event_id`, by question id.
async fn questioners_of<'e, E>(
    exec: E,
    event_id: &str,
    ids: Vec<String>,
) -> Result<HashMap<Uuid, Questioner>, StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    let rows = sqlx::query(
        "SELECT question_id, data FROM questioners WHERE event_id = $1 AND question_id = ANY($2)",
    )
    .bind(event_id)
    .bind(ids)
    .fetch_all(exec)
    .await?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in rows {
        let id: String = r.try_get("question_id")?;
        let id = Uuid::parse_str(&id)
            .map_err(|e| StoreError::Corrupt(format!("questioner id {id}: {e}")))?;
        out.insert(id, serde_json::from_str(&r.try_get::<String, _>("data")?)?);
    }
    Ok(out)
}

#[async_trait]
impl Store for PgStore {
    async fn health(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn probe(&self) -> Result<(), StoreError> {
        let mut conn = Disposable::acquire(&self.pool).await?;
        sqlx::query(
            "INSERT INTO store_probe (id, at, filler) VALUES (1, $1, $2)
             ON CONFLICT (id) DO UPDATE SET at = EXCLUDED.at, filler = EXCLUDED.filler",
        )
        .bind(crate::now_ms())
        .bind(vec![0u8; 16 * 1024])
        .execute(conn.conn())
        .await?;
        conn.release();
        Ok(())
    }

    async fn put_event(&self, event: &EventConfig) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (id, definition, last_seq, created_at) VALUES ($1, $2, 0, $3)
             ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition",
        )
        .bind(&event.id)
        .bind(event.to_toml())
        .bind(crate::now_ms())
        .execute(&self.pool)
        .await?;
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
        let done =
            sqlx::query("UPDATE events SET closed_at = COALESCE(closed_at, $1) WHERE id = $2")
                .bind(at)
                .bind(event_id)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::UnknownEvent(event_id.to_string()));
        }
        Ok(())
    }

    async fn event_closed_at(&self, event_id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT closed_at FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::UnknownEvent(event_id.to_string()))?;
        Ok(row.try_get("closed_at")?)
    }

    async fn put_token(&self, t: &TokenRecord) -> Result<(), StoreError> {
        put_token(&self.pool, t).await
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM tokens WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| token_from_row(&r)).transpose()?)
    }

    async fn tokens(&self, event_id: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM tokens WHERE event_id = $1 ORDER BY slot, generation")
                .bind(event_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(token_from_row).collect::<Result<_, _>>()?)
    }

    async fn revoke_token(&self, token_hash: &str, at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(at)
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn load(&self, event_id: &str) -> Result<LoadedEvent, StoreError> {
        // One snapshot, so the sequence number matches the rows read with it.
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let loaded = load_in(&mut tx, event_id).await?;
        tx.commit().await?;
        Ok(loaded)
    }

    async fn commit(
        &self,
        event_id: &str,
        base_seq: u64,
        batch: &[Change],
    ) -> Result<(), StoreError> {
        let Some(last) = batch.last() else {
            return Ok(());
        };
        let mut conn = Disposable::acquire(&self.pool).await?;
        let mut tx = conn.conn().begin().await?;
        // The cross-node guard: this row lock orders concurrent writers of the
        // event, and a writer whose base is no longer current (or whose event
        // was closed) matches nothing.
        let moved = sqlx::query(
            "UPDATE events SET last_seq = $1 WHERE id = $2 AND last_seq = $3 AND closed_at IS NULL",
        )
        .bind(last.seq as i64)
        .bind(event_id)
        .bind(base_seq as i64)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            let closed: Option<Option<i64>> =
                sqlx::query_scalar("SELECT closed_at FROM events WHERE id = $1")
                    .bind(event_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            // Nothing was written. A clean ROLLBACK leaves the connection in
            // a known state, so it goes back to the pool: with several nodes
            // writing one event, `Stale` is routine, and closing the
            // connection each time made PostgreSQL fork a new backend for
            // nearly every commit (a quarter of the CPU in loadgen national).
            tx.rollback().await?;
            conn.release();
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
        // Queued with the transaction: other nodes hear of it only if it commits.
        notify(&mut tx, event_id, last.seq).await?;
        tx.commit().await?;
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
            "SELECT seq, at, actor, action, body FROM changes WHERE event_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(event_id)
        .bind(after as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(change_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<String> = out
            .iter()
            .flat_map(|c| c.questions.iter())
            .map(|u| u.question.id.to_string())
            .collect();
        if ids.is_empty() {
            return Ok(out);
        }
        let people = questioners_of(&self.pool, event_id, ids).await?;
        for u in out.iter_mut().flat_map(|c| c.questions.iter_mut()) {
            if let Some(p) = people.get(&u.question.id) {
                u.question.questioner = Some(p.clone());
            }
        }
        Ok(out)
    }

    async fn erase_personal_data(&self, event_id: &str) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM questioners WHERE event_id = $1")
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
        // The device keys, in the questions and in the log's snapshots.
        strip_device_keys::<String>(
            &mut tx,
            event_id,
            "SELECT id, data FROM questions WHERE event_id = $1 AND strpos(data, '\"device_key\"') > 0",
            "UPDATE questions SET data = $1 WHERE event_id = $2 AND id = $3",
        )
        .await?;
        strip_device_keys::<i64>(
            &mut tx,
            event_id,
            "SELECT seq, body FROM changes WHERE event_id = $1 AND strpos(body, '\"device_key\"') > 0",
            "UPDATE changes SET body = $1 WHERE event_id = $2 AND seq = $3",
        )
        .await?;
        tx.commit().await?;
        // VACUUM FULL rewrites the table (and its TOAST table and indexes) into
        // new files and drops the old ones, so the deleted rows do not linger
        // in dead tuples. It briefly locks the table; erasure runs after the
        // event is closed. WAL segments and backups age out on their own schedule.
        sqlx::query("VACUUM FULL questioners")
            .execute(&self.pool)
            .await?;
        // The old versions of the rewritten rows (device keys, a pseudonymous
        // hash) are freed for reuse, without locking every event's log and
        // questions for a full rewrite.
        sqlx::query("VACUUM questions, changes")
            .execute(&self.pool)
            .await?;
        // Every node drops what it still holds in memory (see `crate::cluster`).
        let payload =
            serde_json::json!({ "event": event_id, "seq": 0, "erased": true }).to_string();
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANGES_CHANNEL)
            .bind(payload)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn export_event(&self, event_id: &str) -> Result<EventDump, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT definition, created_at, closed_at FROM events WHERE id = $1")
            .bind(event_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::UnknownEvent(event_id.to_string()))?;
        let loaded = load_in(&mut tx, event_id).await?;
        let tokens =
            sqlx::query("SELECT * FROM tokens WHERE event_id = $1 ORDER BY slot, generation")
                .bind(event_id)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(token_from_row)
                .collect::<Result<Vec<_>, _>>()?;
        let changes = sqlx::query(
            "SELECT seq, at, actor, action, body FROM changes WHERE event_id = $1 ORDER BY seq",
        )
        .bind(event_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(change_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await?;
        Ok(EventDump {
            event_id: event_id.to_string(),
            definition: row.try_get("definition")?,
            created_at: row.try_get("created_at")?,
            closed_at: row.try_get("closed_at")?,
            last_seq: loaded.seq,
            tokens,
            changes,
            questions: loaded.questions,
            floor: loaded.floor,
        })
    }

    async fn import_event(&self, dump: &EventDump) -> Result<(), StoreError> {
        let id = dump.event_id.as_str();
        let mut tx = self.pool.begin().await?;
        let existing = sqlx::query("SELECT last_seq FROM events WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        match existing {
            Some(row) => {
                let seq: i64 = row.try_get("last_seq")?;
                let logged: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM changes WHERE event_id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                if seq != 0 || logged != 0 {
                    return Err(StoreError::Exists(id.to_string()));
                }
                // Untouched (a first start made it): take the source's version whole.
                for table in ["tokens", "questioners", "questions", "floor_requests"] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE event_id = $1"))
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("UPDATE events SET definition = $2, last_seq = $3, created_at = $4, closed_at = $5 WHERE id = $1")
                    .bind(id)
                    .bind(&dump.definition)
                    .bind(dump.last_seq as i64)
                    .bind(dump.created_at)
                    .bind(dump.closed_at)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query(
                    "INSERT INTO events (id, definition, last_seq, created_at, closed_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(id)
                .bind(&dump.definition)
                .bind(dump.last_seq as i64)
                .bind(dump.created_at)
                .bind(dump.closed_at)
                .execute(&mut *tx)
                .await?;
            }
        }
        for t in &dump.tokens {
            put_token(&mut *tx, t).await?;
        }
        if !dump.changes.is_empty() {
            insert_changes(&mut tx, id, &dump.changes).await?;
        }
        let rows = BatchRows::of_dump(dump);
        upsert_questions(&mut tx, id, &rows.questions).await?;
        insert_questioners(&mut tx, id, &rows.questioners).await?;
        upsert_floor(&mut tx, id, &rows.floor).await?;
        // A node already serving this (untouched) event catches up to the import.
        notify(&mut tx, id, dump.last_seq).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn put_token<'e, E>(exec: E, t: &TokenRecord) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    sqlx::query(
        "INSERT INTO tokens (token_hash, event_id, slot, role, hall, department, label, generation, created_at, expires_at, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (token_hash) DO NOTHING",
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
    .execute(exec)
    .await?;
    Ok(())
}

/// The committed state of an event, read inside `tx`.
async fn load_in(
    tx: &mut Transaction<'_, Postgres>,
    event_id: &str,
) -> Result<LoadedEvent, StoreError> {
    let seq: i64 = sqlx::query_scalar("SELECT last_seq FROM events WHERE id = $1")
        .bind(event_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::UnknownEvent(event_id.to_string()))?;
    let rows = sqlx::query(
        "SELECT q.data AS data, p.data AS questioner FROM questions q
         LEFT JOIN questioners p ON p.event_id = q.event_id AND p.question_id = q.id
         WHERE q.event_id = $1 ORDER BY q.created_at, q.id",
    )
    .bind(event_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut questions = Vec::with_capacity(rows.len());
    for r in rows {
        let mut q: Question = serde_json::from_str(&r.try_get::<String, _>("data")?)?;
        let p: Option<String> = r.try_get("questioner")?;
        q.questioner = p
            .map(|p| serde_json::from_str::<Questioner>(&p))
            .transpose()?;
        questions.push(q);
    }
    let rows = sqlx::query("SELECT data FROM floor_requests WHERE event_id = $1 ORDER BY id")
        .bind(event_id)
        .fetch_all(&mut **tx)
        .await?;
    let floor = rows
        .iter()
        .map(|r| {
            Ok(serde_json::from_str::<FloorRequest>(
                &r.try_get::<String, _>("data")?,
            )?)
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let votes = sqlx::query("SELECT question_id, voter FROM votes WHERE event_id = $1")
        .bind(event_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            let id: String = r.try_get("question_id")?;
            let id = Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(e.to_string()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_payload_is_small_json_and_never_over_the_limit() {
        let p: serde_json::Value =
            serde_json::from_str(&notify_payload("an-giang-2024", 42)).unwrap();
        assert_eq!(p, serde_json::json!({"event": "an-giang-2024", "seq": 42}));
        let long = "x".repeat(10_000);
        let p = notify_payload(&long, 7);
        assert!(p.len() <= MAX_PAYLOAD);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&p).unwrap(),
            serde_json::json!({"seq": 7})
        );
    }
}
