//! Each event's live state and its single writer.
//!
//! Every command for an event goes through one writer task, which takes all
//! commands waiting at that moment as a batch (group commit), validates them
//! one after another against the state plus the batch's own earlier effects
//! (`Overlay`), commits the accepted ones in one store transaction, and only
//! then applies them to memory, publishes them through the hub and answers
//! the callers. Validated → committed durably → broadcast → acknowledged.
//!
//! When the store says another writer (another node) moved the event first,
//! the writer catches up from the log and validates the batch again.
//!
//! A failed commit is never acknowledged: the batch is refused with the
//! store's fault (`disk_full`, `store_unavailable`) and [`Health`] records
//! it; a watch task probes the store until it commits again, and checks
//! every second that the database file is still there. A closed event
//! refuses every change (`event_closed`); the store refuses to commit to one
//! too, so a close made elsewhere (the CLI, another node) is never missed.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use dashmap::DashMap;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::auth::{self, Secret};
use crate::domain::{
    self, Actor, Audience, Command, Ctx, DomainError, FloorRequest, FloorState, Question, Role,
    View,
};
use crate::event::EventConfig;
use crate::health::{FaultKind, Health};
use crate::hub::{self, Hub, HubConfig, ResumeError, Subscription};
use crate::metrics::Metrics;
use crate::moderation::order::{self, Suggestions};
use crate::moderation::{self, Assistant};
use crate::protocol::{HallPresence, QuestionHints, ServerMessage};
use crate::store::{Change, Store, StoreError};

/// Most commands committed in one transaction.
const MAX_BATCH: usize = 512;
/// Times a batch is re-validated after another node committed first.
const STALE_RETRIES: u64 = 50;
/// Commands waiting for an event's writer before callers are told "busy".
const QUEUE_DEPTH: usize = 8192;
/// How often the watch task looks at the database files and closed events.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// First and longest pause between probe commits while the store fails:
/// space coming back is noticed within about a second.
const PROBE_FIRST: Duration = Duration::from_millis(100);
const PROBE_MAX: Duration = Duration::from_millis(800);

/// An event's committed state, as in memory.
#[derive(Debug, Default)]
pub struct EventState {
    pub seq: u64,
    pub questions: HashMap<Uuid, Question>,
    pub floor: HashMap<Uuid, FloorRequest>,
    /// (question, voter) pairs that voted ([`domain::question::voter_key`]).
    pub voters: HashSet<(Uuid, String)>,
}

impl EventState {
    fn apply(&mut self, change: &Change) {
        for u in &change.questions {
            if let Some(v) = &u.voter {
                self.voters.insert((u.question.id, v.clone()));
            }
            let mut q = u.question.clone();
            // A change read back from the log has no personal data; keep what we know.
            if q.questioner.is_none() {
                if let Some(old) = self.questions.get(&q.id) {
                    q.questioner = old.questioner.clone();
                }
            }
            self.questions.insert(q.id, q);
        }
        for f in &change.floor {
            self.floor.insert(f.id, f.clone());
        }
        self.seq = change.seq;
    }
}

impl View for EventState {
    fn question(&self, id: &Uuid) -> Option<&Question> {
        self.questions.get(id)
    }
    fn floor_request(&self, id: &Uuid) -> Option<&FloorRequest> {
        self.floor.get(id)
    }
    fn questions(&self) -> Vec<&Question> {
        self.questions.values().collect()
    }
    fn floor_requests(&self) -> Vec<&FloorRequest> {
        self.floor.values().collect()
    }
    fn has_voted(&self, question: &Uuid, voter: &str) -> bool {
        self.voters.contains(&(*question, voter.to_string()))
    }
}

/// The state plus the not-yet-committed effects of earlier commands in a batch.
struct Overlay<'a> {
    base: &'a EventState,
    questions: HashMap<Uuid, Question>,
    floor: HashMap<Uuid, FloorRequest>,
    voters: HashSet<(Uuid, String)>,
}

impl<'a> Overlay<'a> {
    fn new(base: &'a EventState) -> Self {
        Overlay {
            base,
            questions: HashMap::new(),
            floor: HashMap::new(),
            voters: HashSet::new(),
        }
    }
    fn absorb(&mut self, outcome: &domain::Outcome) {
        for u in &outcome.questions {
            if let Some(v) = &u.voter {
                self.voters.insert((u.question.id, v.clone()));
            }
            self.questions.insert(u.question.id, u.question.clone());
        }
        for f in &outcome.floor {
            self.floor.insert(f.id, f.clone());
        }
    }
}

impl View for Overlay<'_> {
    fn question(&self, id: &Uuid) -> Option<&Question> {
        self.questions
            .get(id)
            .or_else(|| self.base.questions.get(id))
    }
    fn floor_request(&self, id: &Uuid) -> Option<&FloorRequest> {
        self.floor.get(id).or_else(|| self.base.floor.get(id))
    }
    fn questions(&self) -> Vec<&Question> {
        self.base
            .questions
            .values()
            .filter(|q| !self.questions.contains_key(&q.id))
            .chain(self.questions.values())
            .collect()
    }
    fn floor_requests(&self) -> Vec<&FloorRequest> {
        self.base
            .floor
            .values()
            .filter(|f| !self.floor.contains_key(&f.id))
            .chain(self.floor.values())
            .collect()
    }
    fn has_voted(&self, question: &Uuid, voter: &str) -> bool {
        let key = (*question, voter.to_string());
        self.voters.contains(&key) || self.base.voters.contains(&key)
    }
}

/// A command's successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The change's sequence number; `None` for an idempotent retry.
    pub seq: Option<u64>,
    /// The question or floor request concerned.
    pub id: Option<Uuid>,
    /// For submissions: the receipt that lets the asker follow the question.
    pub receipt: Option<String>,
    pub duplicate: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("storage is unavailable; nothing was changed")]
    Unavailable,
    #[error("the server's disk is full; nothing was changed; it will be accepted again when there is space")]
    DiskFull,
    #[error("the database file was deleted or replaced; nothing was changed; an operator must restore it or restart the server")]
    DatabaseLost,
    /// The database went away while committing and could not be asked
    /// afterwards: the change may be saved or not.
    #[error("the database connection was lost while saving: the change may or may not be saved; check before sending it again (a submission may simply be resent)")]
    OutcomeUnknown,
    #[error("too many commands waiting; try again")]
    Busy,
    #[error("the server is shutting down")]
    Closed,
}

// Jobs are moved once through the writer's channel; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Job {
    Command {
        actor: Actor,
        cmd: Command,
        reply: oneshot::Sender<Result<Ack, CommandError>>,
    },
    /// Another node committed changes: read them from the log, then tell
    /// the sender (if any) that it is done.
    CatchUp(Option<oneshot::Sender<()>>),
    /// Mark the event closed (after the commands queued before it).
    Close(oneshot::Sender<Result<i64, CommandError>>),
    /// Finish what is queued, then stop.
    Stop,
}

impl From<FaultKind> for CommandError {
    fn from(kind: FaultKind) -> Self {
        match kind {
            FaultKind::DiskFull => CommandError::DiskFull,
            FaultKind::Unavailable => CommandError::Unavailable,
            FaultKind::DatabaseLost => CommandError::DatabaseLost,
        }
    }
}

/// One event, live.
pub struct EventRuntime {
    pub config: Arc<EventConfig>,
    state: RwLock<EventState>,
    pub hub: Arc<Hub>,
    jobs: mpsc::Sender<Job>,
    secret: Secret,
    /// The moderators' assistant, fed every committed question by the
    /// assistant task ([`run_assistant`]). Locked after the state and the
    /// hub, never before, and never across an await.
    assistant: Arc<Mutex<Assistant>>,
    /// Published changes on their way to the assistant task: the writer
    /// hands them over and goes on, so hints never slow a commit.
    to_assistant: mpsc::UnboundedSender<Arc<Change>>,
    /// The running-order suggestions as last sent.
    suggestions: Mutex<Arc<Suggestions>>,
    /// Phones' votable list, rendered once per sequence number.
    public_list: Mutex<Option<(u64, Arc<Vec<Bytes>>)>>,
    /// Unix ms when the event was closed; 0 while it is open.
    closed_at: AtomicI64,
    /// Open staff connections by subscription id: the hash of the token
    /// each joined with, its seat, and how to close it once that token is
    /// revoked ([`EventRuntime::close_revoked`]).
    open_tokens: Mutex<HashMap<u64, OpenToken>>,
}

struct OpenToken {
    token_hash: String,
    seat: String,
    /// The connection's outbox, through which it is told to close.
    outbox: Arc<hub::Outbox>,
}

/// A staff connection registered with [`EventRuntime::track_token`];
/// dropping it (the connection ended) forgets it.
pub struct TrackedToken {
    rt: Arc<EventRuntime>,
    id: u64,
}

impl Drop for TrackedToken {
    fn drop(&mut self) {
        self.rt.open_tokens().remove(&self.id);
    }
}

/// Questions a phone's voting list shows per page.
pub const PUBLIC_PAGE: usize = 50;

impl EventRuntime {
    pub fn id(&self) -> &str {
        &self.config.id
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, EventState> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    /// `q` as `audience` may see it, with the assistant's hints so far for the full audience.
    pub fn project(&self, audience: &Audience, q: &Question) -> Option<Question> {
        let mut view = audience.project(q)?;
        if *audience == Audience::Full {
            annotate(&self.assistant, &mut view);
        }
        Some(view)
    }

    /// The current running-order suggestions (WIRE.md C).
    pub fn suggestions(&self) -> Arc<Suggestions> {
        self.suggestions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Page `page` of the phones' votable list (approved, queued, on air;
    /// public projection; on air first, then most votes, then oldest), as
    /// JSON, with the sequence number it reflects and the number of pages.
    pub fn public_page(&self, page: usize) -> (u64, usize, Option<Bytes>) {
        let seq = self.seq();
        let mut cache = self.public_list.lock().unwrap_or_else(|p| p.into_inner());
        let pages = match cache.as_ref() {
            Some((s, pages)) if *s == seq => pages.clone(),
            _ => {
                let (seq, pages) = self.render_public_list();
                *cache = Some((seq, pages.clone()));
                pages
            }
        };
        (seq, pages.len(), pages.get(page).cloned())
    }

    fn render_public_list(&self) -> (u64, Arc<Vec<Bytes>>) {
        #[derive(serde::Serialize)]
        struct Item<'a> {
            id: Uuid,
            text: &'a str,
            hall: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            group: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            department: Option<&'a str>,
            state: domain::QState,
            votes: u32,
        }
        let state = self.read();
        let mut list: Vec<&Question> = state
            .questions
            .values()
            .filter(|q| {
                matches!(
                    q.state,
                    domain::QState::Approved | domain::QState::Queued | domain::QState::OnAir
                )
            })
            .collect();
        list.sort_by_key(|q| {
            (
                q.state != domain::QState::OnAir,
                std::cmp::Reverse(q.votes),
                q.created_at,
                q.id,
            )
        });
        let chunks: Vec<&[&Question]> = if list.is_empty() {
            vec![&[]]
        } else {
            list.chunks(PUBLIC_PAGE).collect()
        };
        let total = chunks.len();
        let pages = chunks
            .into_iter()
            .enumerate()
            .map(|(i, chunk)| {
                let questions: Vec<Item> = chunk
                    .iter()
                    .map(|q| Item {
                        id: q.id,
                        text: &q.text,
                        hall: &q.hall,
                        group: q.group.as_deref(),
                        department: q.department.as_deref(),
                        state: q.state,
                        votes: q.votes,
                    })
                    .collect();
                Bytes::from(
                    serde_json::json!({"seq": state.seq, "page": i, "pages": total, "questions": questions})
                        .to_string(),
                )
            })
            .collect();
        (state.seq, Arc::new(pages))
    }

    pub fn seq(&self) -> u64 {
        self.read().seq
    }

    /// When the event was closed (Unix ms), if it is.
    pub fn closed_at(&self) -> Option<i64> {
        Some(self.closed_at.load(Ordering::Acquire)).filter(|&at| at != 0)
    }

    fn mark_closed(&self, at: i64) {
        if self
            .closed_at
            .compare_exchange(0, at.max(1), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::info!(
                event = self.id(),
                at,
                "event closed: refusing every change from now on"
            );
        }
    }

    /// Close the event: after the commands queued before this one, it is
    /// marked closed in the store and refuses every change from then on.
    /// Returns when it was closed (the first close's time, if closed before).
    pub async fn close(&self) -> Result<i64, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job::Close(reply))
            .await
            .map_err(|_| CommandError::Closed)?;
        answer.await.unwrap_or(Err(CommandError::Closed))
    }

    /// Run a command through the writer; returns after it is committed and published.
    pub async fn execute(&self, actor: Actor, cmd: Command) -> Result<Ack, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .try_send(Job::Command { actor, cmd, reply })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => CommandError::Busy,
                mpsc::error::TrySendError::Closed(_) => CommandError::Closed,
            })?;
        answer.await.unwrap_or(Err(CommandError::Closed))
    }

    /// Ask the writer to read changes committed elsewhere.
    pub fn catch_up(&self) {
        let _ = self.jobs.try_send(Job::CatchUp(None));
    }

    /// Read changes committed elsewhere and wait until that is done; returns
    /// the sequence number after. Used before refusing a resume that is ahead
    /// of this node: the client may have seen them on another node.
    pub async fn catch_up_now(&self) -> u64 {
        let (done, wait) = oneshot::channel();
        if self.jobs.send(Job::CatchUp(Some(done))).await.is_ok() {
            let _ = wait.await;
        }
        self.seq()
    }

    /// Subscribe `actor` to this event's changes, resuming after `since` when given.
    pub fn subscribe(
        &self,
        actor: &Actor,
        since: Option<u64>,
    ) -> Result<Subscription, ResumeError> {
        let state = self.read();
        let snapshot = |audience: &Audience, presence: Option<Vec<HallPresence>>| -> hub::Frame {
            // No hints here: they follow in a `hints` frame rendered after
            // the locks are let go (a snapshot is on the writer's path).
            let mut questions: Vec<Question> = state
                .questions
                .values()
                .filter(|q| hub::in_snapshot(audience, q))
                .filter_map(|q| audience.project(q))
                .collect();
            questions.sort_by_key(|q| (q.created_at, q.id));
            let mut floor: Vec<FloorRequest> = state
                .floor
                .values()
                .filter(|f| matches!(f.state, FloorState::Requested | FloorState::Granted))
                .cloned()
                .collect();
            floor.sort_by_key(|f| f.requested_at);
            hub::Frame::from(
                ServerMessage::Snapshot {
                    seq: state.seq,
                    questions,
                    floor,
                    presence,
                }
                .to_json(),
            )
        };
        let audience = actor.audience();
        let sub = self.hub.subscribe(
            audience.clone(),
            actor.role,
            actor.hall.as_deref(),
            since,
            &snapshot,
        )?;
        drop(state);
        if sees_hints(&audience) {
            // The snapshot or replayed changes carry no hints: what the
            // assistant has computed follows them. Rendered and queued under
            // the assistant's lock: the assistant task sends what it computes
            // after letting go of that lock, so nothing older can follow.
            let assistant = lock(&self.assistant);
            let hints: Vec<QuestionHints> = match &sub.caught_up {
                hub::CaughtUp::Snapshot => latest_hints(&assistant, assistant.cached_ids())
                    .filter(|h| !h.hints.is_empty())
                    .collect(),
                // Empty ones too: they clear what the client still holds.
                hub::CaughtUp::Replayed(ids) => {
                    latest_hints(&assistant, ids.iter().copied()).collect()
                }
                hub::CaughtUp::Current => Vec::new(),
            };
            if !hints.is_empty() {
                sub.replies()
                    .send_with_snapshot(ServerMessage::Hints { hints: &hints }.to_json());
            }
        }
        Ok(sub)
    }

    /// One question as stored in memory (with personal data; project before showing).
    pub fn question(&self, id: &Uuid) -> Option<Question> {
        self.read().questions.get(id).cloned()
    }

    /// Every question, oldest first (with personal data; project before showing).
    pub fn questions(&self) -> Vec<Question> {
        let state = self.read();
        let mut all: Vec<Question> = state.questions.values().cloned().collect();
        all.sort_by_key(|q| (q.created_at, q.id));
        all
    }

    pub fn floor_requests(&self) -> Vec<FloorRequest> {
        let state = self.read();
        let mut all: Vec<FloorRequest> = state.floor.values().cloned().collect();
        all.sort_by_key(|f| f.requested_at);
        all
    }

    pub fn receipt_for(&self, id: &Uuid) -> String {
        self.secret.receipt(id)
    }

    pub fn verify_receipt(&self, id: &Uuid, receipt: &str) -> bool {
        self.secret.verify_receipt(id, receipt)
    }

    fn open_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<u64, OpenToken>> {
        self.open_tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remember that staff connection `id` (its subscription) joined with
    /// the token whose hash is `token_hash`, so that revoking the token
    /// closes it.
    pub fn track_token(
        self: &Arc<Self>,
        id: u64,
        token_hash: String,
        seat: String,
        outbox: Arc<hub::Outbox>,
    ) -> TrackedToken {
        self.open_tokens().insert(
            id,
            OpenToken {
                token_hash,
                seat,
                outbox,
            },
        );
        TrackedToken {
            rt: self.clone(),
            id,
        }
    }

    /// Close every open connection whose token the store says is revoked
    /// (by `doithoai tokens --revoke`, from any process or node). Called by
    /// the watch task every [`WATCH_EVERY`]; reads the store only while a
    /// staff connection is open.
    async fn close_revoked(&self, store: &dyn Store) {
        if self.open_tokens().is_empty() {
            return;
        }
        let Ok(tokens) = store.tokens(self.id()).await else {
            return; // the store's fault is reported elsewhere; try next round
        };
        let revoked: HashSet<&str> = tokens
            .iter()
            .filter(|t| t.revoked_at.is_some())
            .map(|t| t.token_hash.as_str())
            .collect();
        for open in self.open_tokens().values() {
            if revoked.contains(open.token_hash.as_str()) && open.outbox.fired().is_none() {
                tracing::warn!(
                    event = self.id(),
                    seat = %open.seat,
                    "closing a connection whose token was revoked"
                );
                open.outbox.fire(hub::EvictReason::TokenRevoked);
            }
        }
    }

    /// Forget personal data held in memory (after the store erased it): the
    /// questioners and the device keys. Without its device key a resent
    /// submission is answered `duplicate`, never with the receipt.
    pub fn forget_personal_data(&self) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        for q in state.questions.values_mut() {
            q.questioner = None;
            q.device_key = None;
        }
        // The hub's replay history still holds the submissions as committed.
        self.hub.forget_history();
    }

    fn publish(&self, changes: Vec<Change>) {
        let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
        let mut published = false;
        for change in changes {
            if change.seq <= state.seq {
                continue;
            }
            state.apply(&change);
            let change = Arc::new(change);
            // Published under the state lock so snapshots and history agree.
            self.hub.publish(change.clone());
            if !change.questions.is_empty() {
                // Fails only once the assistant task is gone (shutting down).
                let _ = self.to_assistant.send(change);
            }
            published = true;
        }
        if published {
            self.refresh_suggestions(&state);
        }
    }

    /// Recompute the running-order suggestions; send them to the moderators,
    /// follow-up, admin and chair when they changed.
    fn refresh_suggestions(&self, state: &EventState) {
        let next = order::suggest(&self.config, state.questions.values(), crate::now_ms());
        let mut current = self.suggestions.lock().unwrap_or_else(|p| p.into_inner());
        if **current == next {
            return;
        }
        *current = Arc::new(next);
        let frame = ServerMessage::Suggestions {
            suggestions: &current,
        }
        .to_json();
        self.hub.send_to(sees_suggestions, frame);
    }
}

struct Writer {
    rt: Arc<EventRuntime>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

struct Pending {
    actor: Actor,
    cmd: Command,
    reply: oneshot::Sender<Result<Ack, CommandError>>,
}

impl Writer {
    async fn run(self, mut jobs: mpsc::Receiver<Job>) {
        let mut stopping = false;
        while !stopping {
            let Some(first) = jobs.recv().await else {
                break;
            };
            let mut batch = Vec::new();
            let mut catch_up = false;
            let mut waiting = Vec::new();
            let mut close = None;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Command { actor, cmd, reply } => batch.push(Pending { actor, cmd, reply }),
                    Job::CatchUp(done) => {
                        catch_up = true;
                        waiting.extend(done);
                    }
                    // Commands after the close wait for the next round, which refuses them.
                    Job::Close(reply) => close = Some(reply),
                    Job::Stop => stopping = true,
                }
                if batch.len() < MAX_BATCH && !stopping && close.is_none() {
                    next = jobs.try_recv().ok();
                }
            }
            if catch_up {
                self.catch_up().await;
                for done in waiting {
                    let _ = done.send(());
                }
            }
            if !batch.is_empty() {
                self.process(batch).await;
            }
            if let Some(reply) = close {
                let _ = reply.send(self.close().await);
            }
        }
        jobs.close();
        // Anything that slipped in after Stop is refused, not lost silently.
        while let Ok(job) = jobs.try_recv() {
            if let Job::Command { reply, .. } = job {
                let _ = reply.send(Err(CommandError::Closed));
            }
        }
    }

    async fn close(&self) -> Result<i64, CommandError> {
        if let Some(at) = self.rt.closed_at() {
            return Ok(at);
        }
        if self.health.kind() == Some(FaultKind::DatabaseLost) {
            return Err(CommandError::DatabaseLost);
        }
        let refused = |e: StoreError| {
            tracing::error!(event = self.rt.id(), error = %e, "closing the event failed");
            CommandError::from(FaultKind::of(&e))
        };
        self.store
            .close_event(self.rt.id(), crate::now_ms())
            .await
            .map_err(refused)?;
        // Closed before (by the command line, another node)? That time stays.
        let at = self
            .store
            .event_closed_at(self.rt.id())
            .await
            .map_err(refused)?
            .unwrap_or_else(crate::now_ms);
        self.rt.mark_closed(at);
        Ok(at)
    }

    async fn catch_up(&self) {
        loop {
            let since = self.rt.seq();
            match self.store.changes_since(self.rt.id(), since, 1000).await {
                Ok(changes) if changes.is_empty() => return,
                Ok(changes) => self.rt.publish(changes),
                Err(e) => {
                    tracing::error!(event = self.rt.id(), error = %e, "catch-up from the log failed");
                    return;
                }
            }
        }
    }

    /// After a commit reported an error: is the batch in the log anyway?
    /// A connection lost while COMMIT was on its way (PostgreSQL) leaves the
    /// outcome unknown; telling clients "nothing changed" when it did would
    /// make them retry or give up on what everyone else will see. If the log
    /// holds exactly these changes after `base`, the catch-up publishes them.
    async fn commit_outcome(&self, base: u64, changes: &[Change]) -> CommitOutcome {
        let logged = match self
            .store
            .changes_since(self.rt.id(), base, changes.len() as u32)
            .await
        {
            Ok(logged) => logged,
            Err(_) => return CommitOutcome::Unknown,
        };
        // By identity (seq, time, actor, action, question ids and versions):
        // enough to tell this batch from another node's, and independent of
        // how the log re-attaches personal data to what it returns.
        let same = |a: &Change, b: &Change| {
            a.seq == b.seq
                && a.at == b.at
                && a.actor == b.actor
                && a.action == b.action
                && a.questions.len() == b.questions.len()
                && a.questions.iter().zip(&b.questions).all(|(x, y)| {
                    x.question.id == y.question.id && x.question.version == y.question.version
                })
                && a.floor == b.floor
        };
        if logged.len() == changes.len() && logged.iter().zip(changes).all(|(l, c)| same(l, c)) {
            self.catch_up().await;
            CommitOutcome::Committed
        } else {
            // Absent, or another node's changes in its place.
            CommitOutcome::NotCommitted
        }
    }

    async fn process(&self, batch: Vec<Pending>) {
        let mut attempt: u64 = 0;
        loop {
            let now = crate::now_ms();
            let closed = self.rt.closed_at().is_some();
            let (base, changes, results) = {
                let state = self.rt.read();
                let commands = batch.iter().map(|p| (&p.actor, &p.cmd));
                let (changes, results) = validate_batch(
                    &state,
                    &self.rt.config,
                    &self.rt.secret,
                    now,
                    closed,
                    commands,
                );
                (state.seq, changes, results)
            };
            if changes.is_empty() {
                return reply_all(batch, results);
            }
            if self.health.kind() == Some(FaultKind::DatabaseLost) {
                // A commit would "succeed" into a file nobody will read again.
                return self.refuse(batch, results, CommandError::DatabaseLost);
            }
            let started = Instant::now();
            match self.store.commit(self.rt.id(), base, &changes).await {
                Ok(()) => {
                    self.health.committed();
                    self.metrics
                        .observe_commit(changes.len(), started.elapsed());
                    self.rt.publish(changes);
                    return reply_all(batch, results);
                }
                Err(StoreError::EventClosed(at)) => {
                    // Closed elsewhere (the command line, another node):
                    // validate again, which now refuses every change.
                    self.rt.mark_closed(at);
                }
                Err(e @ StoreError::Lost(_)) => {
                    // Committed, perhaps, but to the old file: never acknowledged.
                    self.health.failed(&e);
                    self.metrics
                        .commit_errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return self.refuse(batch, results, CommandError::DatabaseLost);
                }
                Err(StoreError::Stale) if attempt < STALE_RETRIES => {
                    attempt += 1;
                    // Another node committed first. With both nodes under a
                    // steady stream the same one can lose the race again and
                    // again (clients with TCP_NODELAY send fast enough:
                    // tests/it/cluster.rs); a short random pause breaks the tie.
                    let pause = rand::random::<u64>() % (2 * attempt + 1);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                    self.catch_up().await;
                }
                Err(e) => {
                    let outcome = self.commit_outcome(base, &changes).await;
                    let refusal = match outcome {
                        CommitOutcome::Committed => {
                            // Published by the catch-up that found them.
                            self.health.committed();
                            self.metrics
                                .observe_commit(changes.len(), started.elapsed());
                            tracing::warn!(event = self.rt.id(), error = %e, "commit reported an error, but the batch is in the log: acknowledged");
                            return reply_all(batch, results);
                        }
                        CommitOutcome::NotCommitted => FaultKind::of(&e).into(),
                        CommitOutcome::Unknown => CommandError::OutcomeUnknown,
                    };
                    self.health.failed(&e);
                    self.metrics
                        .commit_errors
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(event = self.rt.id(), error = %e, ?outcome, "commit failed; batch refused");
                    return self.refuse(batch, results, refusal);
                }
            }
        }
    }

    /// Answer every command of a batch that was to be acknowledged with
    /// `refusal`; refused ones keep their own error. Duplicates are refused
    /// too: one may be a resend of a submission earlier in this very batch.
    fn refuse(
        &self,
        batch: Vec<Pending>,
        results: Vec<Result<Ack, CommandError>>,
        refusal: CommandError,
    ) {
        let refused = results
            .into_iter()
            .map(|r| r.and(Err(refusal.clone())))
            .collect();
        reply_all(batch, refused);
    }
}

/// Validate a batch of commands in order against `state` plus the batch's own
/// earlier effects, all as of `now`: the changes to commit (sequence numbers
/// `state.seq + 1 ..`, one per command that changes something) and each
/// command's answer. On a `closed` event every change is refused, but a
/// resent submission is still answered: it was saved before the close.
/// Pure, so the property tests (`props.rs`) drive exactly what the writer does.
fn validate_batch<'a>(
    state: &EventState,
    config: &EventConfig,
    secret: &Secret,
    now: i64,
    closed: bool,
    commands: impl Iterator<Item = (&'a Actor, &'a Command)>,
) -> (Vec<Change>, Vec<Result<Ack, CommandError>>) {
    let mut overlay = Overlay::new(state);
    let mut seq = state.seq;
    let mut changes = Vec::new();
    let mut results = Vec::new();
    for (actor, cmd) in commands {
        let ctx = Ctx {
            event: config,
            actor,
            now,
        };
        let receipt = match cmd {
            Command::Submit { id, .. } => Some(secret.receipt(id)),
            _ => None,
        };
        match domain::apply(&overlay, &ctx, cmd) {
            Ok(outcome) if outcome.is_noop() => results.push(Ok(Ack {
                seq: None,
                id: outcome.duplicate_of,
                receipt,
                duplicate: true,
            })),
            // A resent id that is not the asker's is answered as such, closed
            // or not (after an erasure no device is the asker any more).
            Err(DomainError::Duplicate) if matches!(cmd, Command::Submit { .. }) => {
                results.push(Err(CommandError::Domain(DomainError::Duplicate)))
            }
            _ if closed => results.push(Err(CommandError::Domain(DomainError::EventClosed))),
            Ok(outcome) => {
                seq += 1;
                overlay.absorb(&outcome);
                let id = outcome
                    .questions
                    .first()
                    .map(|u| u.question.id)
                    .or_else(|| outcome.floor.last().map(|f| f.id))
                    .or_else(|| outcome.notes.first().map(|n| n.id));
                changes.push(Change {
                    seq,
                    at: now,
                    actor: actor.clone(),
                    action: outcome.action.to_string(),
                    questions: outcome.questions,
                    floor: outcome.floor,
                    notes: outcome.notes,
                });
                results.push(Ok(Ack {
                    seq: Some(seq),
                    id,
                    receipt,
                    duplicate: false,
                }));
            }
            Err(e) => results.push(Err(CommandError::Domain(e))),
        }
    }
    (changes, results)
}

/// What became of a batch whose commit reported an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommitOutcome {
    Committed,
    NotCommitted,
    /// The log could not be read either.
    Unknown,
}

fn reply_all(batch: Vec<Pending>, results: Vec<Result<Ack, CommandError>>) {
    for (p, r) in batch.into_iter().zip(results) {
        let _ = p.reply.send(r);
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("unknown token")]
    Unknown,
    #[error("token revoked")]
    Revoked,
    #[error("token expired")]
    Expired,
    #[error("unknown event")]
    UnknownEvent,
    #[error("storage unavailable")]
    Unavailable,
}

/// Who receives the `suggestions` frame: moderators, follow-up, admin (full) and the chair (staff).
pub fn sees_suggestions(audience: &Audience) -> bool {
    matches!(audience, Audience::Full | Audience::Staff)
}

/// Who receives the `hints` frame: moderators, follow-up and admin (full) only.
fn sees_hints(audience: &Audience) -> bool {
    *audience == Audience::Full
}

/// Put the hints the assistant task has computed so far on a question bound
/// for the full audience (never computed here: a caller may hold the state).
fn annotate(assistant: &Mutex<Assistant>, q: &mut Question) {
    q.hints = lock(assistant).latest(q.id).filter(|h| !h.is_empty());
}

/// The assistant, locked (after the state and the hub, never before, never
/// across an await; a panic while it was held loses nothing that matters).
fn lock(assistant: &Mutex<Assistant>) -> std::sync::MutexGuard<'_, Assistant> {
    assistant.lock().unwrap_or_else(|p| p.into_inner())
}

/// Questions whose hints the assistant task computes before it lets others run.
const HINTS_PER_TURN: usize = 16;

/// The assistant task of one event: first computes the hints of the
/// questions the event was loaded with (`loaded`, oldest first: a restart
/// is not slowed by it), then takes each published change (all that wait,
/// as one batch) and feeds the assistant the questions' latest versions. It
/// sends a `hints` frame to the full audience with every question whose
/// hints differ from what was last sent — the changed questions and those
/// they are similar to (whose lists gained or lost one). It runs beside the
/// writer, never in its way, and ends with the event.
async fn run_assistant(
    assistant: Arc<Mutex<Assistant>>,
    hub: Arc<Hub>,
    loaded: Vec<Question>,
    mut changes: mpsc::UnboundedReceiver<Arc<Change>>,
) {
    let mut sent: HashMap<Uuid, moderation::Hints> = HashMap::new();
    for some in loaded.chunks(256) {
        let questions: Vec<&Question> = some.iter().collect();
        take_in(&assistant, &hub, &mut sent, &questions).await;
    }
    drop(loaded);
    while let Some(first) = changes.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = changes.try_recv() {
            batch.push(more);
        }
        // Each question's latest version, in the order of its last change.
        let mut seen = HashSet::new();
        let mut latest: Vec<&Question> = batch
            .iter()
            .rev()
            .flat_map(|c| c.questions.iter().rev())
            .map(|u| &u.question)
            .filter(|q| seen.insert(q.id))
            .collect();
        latest.reverse();
        take_in(&assistant, &hub, &mut sent, &latest).await;
    }
}

/// Observe `questions`, compute their hints and send the ones that changed
/// (theirs and their similar questions') to the full audience.
async fn take_in(
    assistant: &Mutex<Assistant>,
    hub: &Hub,
    sent: &mut HashMap<Uuid, moderation::Hints>,
    questions: &[&Question],
) {
    let mut touched: Vec<Uuid> = Vec::new();
    for turn in questions.chunks(HINTS_PER_TURN) {
        {
            let mut a = lock(assistant);
            for q in turn {
                a.observe(q);
                let h = a.hints(q);
                touched.push(q.id);
                touched.extend(h.similar.iter().map(|s| s.id));
            }
        }
        tokio::task::yield_now().await;
    }
    let mut out = Vec::new();
    {
        let a = lock(assistant);
        let mut done = HashSet::new();
        for id in touched {
            if !done.insert(id) {
                continue;
            }
            let Some(h) = a.latest(id) else { continue };
            if sent.get(&id) != Some(&h) {
                sent.insert(id, h.clone());
                out.push(QuestionHints { id, hints: h });
            }
        }
    }
    if !out.is_empty() {
        let frame = ServerMessage::Hints { hints: &out }.to_json();
        hub.send_to(sees_hints, frame);
    }
}

/// The hints computed so far for those of `ids` that have any.
fn latest_hints<'a>(
    a: &'a Assistant,
    ids: impl Iterator<Item = Uuid> + 'a,
) -> impl Iterator<Item = QuestionHints> + 'a {
    ids.filter_map(|id| {
        Some(QuestionHints {
            id,
            hints: a.latest(id)?,
        })
    })
}

/// All live events of this server.
pub struct Engine {
    store: Arc<dyn Store>,
    secret: Secret,
    metrics: Arc<Metrics>,
    hub_config: HubConfig,
    /// Whether the store can commit; shared with every writer.
    health: Arc<Health>,
    events: DashMap<String, Arc<EventRuntime>>,
    writers: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// The task that probes a failing store and watches files and closes.
    watch: std::sync::Mutex<Option<JoinHandle<()>>>,
    /// Held while opening an event found after start, so that one event
    /// never gets two writers; `true` once shutting down (open no more).
    opening: tokio::sync::Mutex<bool>,
    /// Bounds store lookups for event codes not running here: anyone may
    /// send a hello with a made-up code, and each miss would read the store.
    lookups: governor::DefaultDirectRateLimiter,
}

impl Engine {
    /// Load every stored event and start its writer.
    pub async fn start(
        store: Arc<dyn Store>,
        secret: Secret,
        metrics: Arc<Metrics>,
        hub_config: HubConfig,
    ) -> Result<Arc<Engine>, StoreError> {
        let engine = Arc::new(Engine {
            store: store.clone(),
            secret,
            metrics,
            hub_config,
            health: Arc::new(Health::default()),
            events: DashMap::new(),
            writers: std::sync::Mutex::new(Vec::new()),
            watch: std::sync::Mutex::new(None),
            opening: tokio::sync::Mutex::new(false),
            lookups: governor::RateLimiter::direct(governor::Quota::per_second(
                std::num::NonZeroU32::new(20).unwrap_or(std::num::NonZeroU32::MIN),
            )),
        });
        for config in store.events().await? {
            engine.open_event(config).await?;
        }
        let watch = tokio::spawn(watch(Arc::downgrade(&engine)));
        *engine.watch.lock().unwrap_or_else(|p| p.into_inner()) = Some(watch);
        Ok(engine)
    }

    async fn open_event(&self, config: EventConfig) -> Result<Arc<EventRuntime>, StoreError> {
        let loaded = self.store.load(&config.id).await?;
        let closed_at = self.store.event_closed_at(&config.id).await?;
        let halls: Vec<String> = config.halls.iter().map(|h| h.id.clone()).collect();
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let (to_assistant, published) = mpsc::unbounded_channel();
        // The assistant reads the loaded questions in its own task, oldest
        // first, so that a restart answers at once.
        let assistant = Assistant::new(&config);
        let mut by_age: Vec<Question> = loaded.questions.clone();
        by_age.sort_by_key(|q| (q.created_at, q.id));
        let suggestions = order::suggest(&config, &loaded.questions, crate::now_ms());
        let assistant = Arc::new(Mutex::new(assistant));
        let rt = Arc::new(EventRuntime {
            assistant: assistant.clone(),
            to_assistant,
            suggestions: Mutex::new(Arc::new(suggestions)),
            public_list: Mutex::new(None),
            hub: Hub::new(
                self.hub_config.clone(),
                self.metrics.clone(),
                &halls,
                loaded.seq,
            ),
            config: Arc::new(config),
            state: RwLock::new(EventState {
                seq: loaded.seq,
                questions: loaded.questions.into_iter().map(|q| (q.id, q)).collect(),
                floor: loaded.floor.into_iter().map(|f| (f.id, f)).collect(),
                voters: loaded.votes.into_iter().collect(),
            }),
            jobs: tx,
            secret: self.secret.clone(),
            closed_at: AtomicI64::new(closed_at.unwrap_or(0)),
            open_tokens: Mutex::new(HashMap::new()),
        });
        tokio::spawn(run_assistant(assistant, rt.hub.clone(), by_age, published));
        let writer = Writer {
            rt: rt.clone(),
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            health: self.health.clone(),
        };
        let handle = tokio::spawn(writer.run(rx));
        self.writers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
        self.events.insert(rt.config.id.clone(), rt.clone());
        Ok(rt)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Whether the store can commit right now (read by `/healthz`).
    pub fn health(&self) -> &Health {
        &self.health
    }

    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// A running event. Use [`Engine::find_event`] where an event created
    /// after start should be found too.
    pub fn event(&self, id: &str) -> Option<Arc<EventRuntime>> {
        self.events.get(id).map(|e| e.clone())
    }

    /// The event `id`, opened now (writer started) if it was created after
    /// this server started, e.g. by `doithoai event create` while serving.
    pub async fn find_event(&self, id: &str) -> Result<Option<Arc<EventRuntime>>, StoreError> {
        if let Some(rt) = self.event(id) {
            return Ok(Some(rt));
        }
        if self.lookups.check().is_err() {
            // A flood of unknown codes: answer "unknown" without asking the
            // store. A real new event is found on the client's next try.
            return Ok(None);
        }
        match self.store.event(id).await? {
            Some(config) => self.open_late(config).await,
            None => Ok(None),
        }
    }

    /// Open an event found in the store after start, unless it is open
    /// already or the server is shutting down.
    async fn open_late(
        &self,
        config: EventConfig,
    ) -> Result<Option<Arc<EventRuntime>>, StoreError> {
        let shutting_down = self.opening.lock().await;
        if let Some(rt) = self.event(&config.id) {
            return Ok(Some(rt));
        }
        if *shutting_down {
            return Ok(None);
        }
        tracing::info!(event = %config.id, "opening an event created after start");
        self.open_event(config).await.map(Some)
    }

    pub fn events(&self) -> Vec<Arc<EventRuntime>> {
        let mut all: Vec<_> = self.events.iter().map(|e| e.clone()).collect();
        all.sort_by(|a, b| a.config.id.cmp(&b.config.id));
        all
    }

    /// Every stored event, opening those created after this server started.
    pub async fn all_events(&self) -> Result<Vec<Arc<EventRuntime>>, StoreError> {
        for config in self.store.events().await? {
            if self.event(&config.id).is_none() {
                self.open_late(config).await?;
            }
        }
        Ok(self.events())
    }

    /// Resolve a role token to its event and actor.
    pub async fn authenticate(&self, token: &str) -> Result<(Arc<EventRuntime>, Actor), AuthError> {
        let record = self
            .store
            .token_by_hash(&auth::hash_token(token))
            .await
            .map_err(|_| AuthError::Unavailable)?
            .ok_or(AuthError::Unknown)?;
        if record.revoked_at.is_some() {
            return Err(AuthError::Revoked);
        }
        if record.expires_at.is_some_and(|t| t <= crate::now_ms()) {
            return Err(AuthError::Expired);
        }
        let rt = self
            .find_event(&record.event_id)
            .await
            .map_err(|_| AuthError::Unavailable)?
            .ok_or(AuthError::UnknownEvent)?;
        let role = Role::parse(&record.role).ok_or(AuthError::Unknown)?;
        let actor = Actor {
            role,
            hall: record.hall,
            department: record.department,
            label: record.slot,
        };
        Ok((rt, actor))
    }

    /// Flush every writer (all queued commands are committed and answered),
    /// then tell every connection to reconnect elsewhere.
    pub async fn shutdown(&self) {
        *self.opening.lock().await = true;
        if let Some(watch) = self.watch.lock().unwrap_or_else(|p| p.into_inner()).take() {
            watch.abort();
        }
        for rt in self.events() {
            let _ = rt.jobs.send(Job::Stop).await;
        }
        let writers: Vec<_> =
            std::mem::take(&mut *self.writers.lock().unwrap_or_else(|p| p.into_inner()));
        for w in writers {
            let _ = w.await;
        }
        // Let acknowledgements already on their way reach their connections first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for rt in self.events() {
            rt.hub.close();
        }
        // Let every writer finish its goodbye (each gives up after 2 s)
        // before the caller stops the runtimes: phones' writers run on one
        // that stops with `serve`, and would otherwise be cut mid-goodbye.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while tokio::time::Instant::now() < deadline
            && self
                .events()
                .iter()
                .any(|rt| rt.hub.live_subscriptions() > 0)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// While the store fails, probe it (backing off from [`PROBE_FIRST`] to
/// [`PROBE_MAX`]) until a commit succeeds again; every [`WATCH_EVERY`],
/// check the database files, learn of events closed elsewhere and close
/// connections whose token was revoked. Ends with
/// the engine. Beside it, every [`WATCH_EVERY`], a round trip to the store
/// whose outcome `/healthz` reads from memory ([`ask_store`]).
async fn watch(engine: Weak<Engine>) {
    tokio::join!(watch_commits(engine.clone()), ask_store(engine));
}

/// Longest wait for the store's round trip (`SELECT 1`) before `/healthz`
/// reports it unavailable. Generous: under a failover surge the pool is
/// busy, and a node slow to answer is still better than a cascade of nodes
/// taken out (deploy/haproxy.cfg, docs/DEPLOY.md).
const STORE_ANSWER_LIMIT: Duration = Duration::from_secs(10);

/// Ask the store for a round trip every [`WATCH_EVERY`] and keep the answer
/// in [`Health`], so that `/healthz` never waits on the store's pool (behind
/// commits and reads) itself. Ends with the engine.
async fn ask_store(engine: Weak<Engine>) {
    loop {
        let Some((store, health)) = engine
            .upgrade()
            .map(|e| (e.store.clone(), e.health.clone()))
        else {
            return;
        };
        match tokio::time::timeout(STORE_ANSWER_LIMIT, store.health()).await {
            Ok(Ok(())) => health.store_answered(),
            Ok(Err(e)) => health.store_unanswered(&e.to_string()),
            Err(_) => health.store_unanswered("no answer within the limit"),
        }
        drop((store, health));
        tokio::time::sleep(WATCH_EVERY).await;
    }
}

async fn watch_commits(engine: Weak<Engine>) {
    let mut pause = PROBE_FIRST;
    let mut next_look = Instant::now() + WATCH_EVERY;
    loop {
        let failing = match engine.upgrade() {
            Some(engine) => engine.watch_once(&mut next_look).await,
            None => return,
        };
        if failing {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(PROBE_MAX);
        } else {
            pause = PROBE_FIRST;
            tokio::time::sleep(PROBE_FIRST).await;
        }
    }
}

impl Engine {
    /// One round of [`watch`]; true while the store still fails to commit.
    async fn watch_once(&self, next_look: &mut Instant) -> bool {
        if Instant::now() >= *next_look {
            *next_look = Instant::now() + WATCH_EVERY;
            match self.store.check_files() {
                Ok(()) => self.health.files_ok(),
                Err(e) => self.health.failed(&e),
            }
            for rt in self.events() {
                rt.close_revoked(self.store.as_ref()).await;
                if rt.closed_at().is_some() {
                    continue;
                }
                if let Ok(Some(at)) = self.store.event_closed_at(rt.id()).await {
                    rt.mark_closed(at);
                }
            }
        }
        match self.health.kind() {
            Some(FaultKind::DiskFull | FaultKind::Unavailable) => match self.store.probe().await {
                Ok(()) => {
                    self.health.committed();
                    false
                }
                Err(e) => {
                    self.health.failed(&e);
                    true
                }
            },
            _ => false,
        }
    }
}

#[cfg(test)]
mod props;
