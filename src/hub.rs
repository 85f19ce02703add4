//! Per-event fan-out. The hub knows subscribers, audiences, sequence numbers,
//! recent history and per-hall presence; it has no socket code. A transport
//! receives a `Subscription` (a bounded queue of ready JSON frames) and only
//! writes what comes out of it.
//!
//! Each change is serialised once per audience (not per connection) and the
//! frame is shared by reference count, as text already known to be UTF-8
//! ([`Frame`]): a writer hands it to the socket without checking it again. A subscriber whose queue exceeds its
//! byte or frame bound is evicted with a reason and resumes by sequence
//! number; nobody else waits for it. A connection's own replies (acks,
//! errors, pongs) go through the same queue ([`Replies`]), so a reply never
//! overtakes a change published before it, and one queue per connection is
//! all the memory it holds ([`Outbox`]).

mod outbox;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// A ready JSON text frame. WebSocket text must be UTF-8; a frame is made
/// from a `String` (or checked once where it comes as bytes), so the
/// thousands of writers sharing it do not check it again each (that was
/// ≈ 2 % of a broadcast's CPU, BENCHMARKS.md §12).
pub use axum::extract::ws::Utf8Bytes as Frame;

pub use outbox::{Next, Outbox, Refused};

use crate::domain::{Audience, QState, Question, QuestionUpdate, Role};
use crate::metrics::Metrics;
use crate::protocol::{HallPresence, ServerMessage};
use crate::store::Change;

#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Most bytes waiting in one connection's queue before it is dropped as slow.
    pub queue_bytes: usize,
    /// Most frames waiting in one connection's queue.
    pub queue_frames: usize,
    /// Changes kept in memory for resume; older resumes get a snapshot.
    pub history: usize,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            queue_bytes: 1 << 20,
            queue_frames: 1024,
            history: 4096,
        }
    }
}

/// Why a subscriber was told to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictReason {
    SlowConsumer,
    Shutdown,
    /// The client sent a frame that breaks the protocol's limits; the
    /// connection sends what is queued (the error saying why) and closes.
    FrameRejected,
    /// The token this (staff) connection joined with was revoked: no `bye`
    /// (it must not reconnect with it), an `error` `token_revoked`, a close.
    TokenRevoked,
}

impl EvictReason {
    pub fn code(self) -> &'static str {
        match self {
            EvictReason::SlowConsumer => "slow_consumer",
            EvictReason::Shutdown => "server_shutdown",
            EvictReason::FrameRejected => "frame_rejected",
            EvictReason::TokenRevoked => "token_revoked",
        }
    }
}

struct Subscriber {
    outbox: Arc<Outbox>,
    /// Staff seats (everyone but phones) are offered each frame before the
    /// phones, so their writers are woken first and do not queue behind
    /// thousands of phones' in the runtime (BENCHMARKS.md, event day).
    first: bool,
}

/// What a connection reads from.
pub struct Subscription {
    pub id: u64,
    /// Frames for the client and the signal to close; the writer drains it.
    pub outbox: Arc<Outbox>,
    /// How the first frames brought this subscriber up to date.
    pub caught_up: CaughtUp,
    hub: Arc<Hub>,
    /// The hall (and role) this connection counts towards in presence.
    presence: Option<(String, Role)>,
    replies: Replies,
}

/// How a new subscriber was brought up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaughtUp {
    /// It got a snapshot.
    Snapshot,
    /// It got the changes after its `since`, about these questions.
    Replayed(Vec<Uuid>),
    /// It was already current.
    Current,
}

/// Queues a connection's direct replies behind the frames already waiting.
#[derive(Clone)]
pub struct Replies {
    outbox: Arc<Outbox>,
    metrics: Arc<Metrics>,
}

impl Replies {
    /// Queue `frame` for the client. A connection whose queue is over its
    /// bound is too slow to keep: it is evicted like any slow consumer (its
    /// client resumes by sequence number; a command's effect, if committed,
    /// is in what it resumes).
    pub fn send(&self, frame: impl Into<Frame>) {
        match self.outbox.push(frame.into()) {
            // Closed: the connection is gone (a reply outlived it), not slow.
            Ok(()) | Err(Refused::Closed) => {}
            Err(Refused::Full) => {
                self.metrics.queue_drops.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("slow consumer disconnected while replying");
                self.outbox.fire(EvictReason::SlowConsumer);
            }
        }
    }

    /// Queue what completes the snapshot just queued (the full audience's
    /// hints, rendered outside the hub's lock): like the snapshot, it may
    /// pass the byte bound on its own.
    pub fn send_with_snapshot(&self, frame: impl Into<Frame>) {
        self.outbox.push_unbounded(frame.into());
    }

    /// Why this connection is closing, once it is.
    pub fn closing(&self) -> Option<EvictReason> {
        self.outbox.fired()
    }

    /// Close the connection once what is queued has been sent (its client
    /// broke the protocol: the last queued reply says how).
    pub fn close_after_queued(&self) {
        self.outbox.fire(EvictReason::FrameRejected);
    }
}

impl Subscription {
    /// The frame to send for a queued frame: an empty frame is a presence
    /// placeholder, rendered now with the latest presence. So a burst of
    /// (re)connections queues at most one presence frame per staff
    /// connection instead of one per change (20 KB each at 200 halls: a
    /// reconnect storm used to evict the moderators as slow consumers).
    pub fn resolve(&self, frame: Frame) -> Frame {
        if !frame.is_empty() {
            return frame;
        }
        // Clear first: an update after this render queues a new placeholder.
        self.outbox.presence_pending.store(false, Ordering::Relaxed);
        presence_frame(self.hub.presence())
    }

    /// A handle for answering this connection's client through its queue.
    pub fn replies(&self) -> Replies {
        self.replies.clone()
    }

    /// The connection showed a sign of life (heartbeat).
    pub fn touch(&self) {
        if let Some((hall, _)) = &self.presence {
            self.hub.touch(hall);
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.outbox.close();
        self.hub.unsubscribe(self.id, self.presence.take());
        self.hub.live.fetch_sub(1, Ordering::Relaxed);
    }
}

struct HistoryEntry {
    change: Arc<Change>,
    /// Frame per audience, filled at publish time for audiences with
    /// subscribers and lazily for resumes; `None` = nothing visible.
    frames: HashMap<Audience, Option<Frame>>,
}

struct Inner {
    seq: u64,
    groups: HashMap<Audience, HashMap<u64, Subscriber>>,
    history: VecDeque<HistoryEntry>,
    presence: BTreeMap<String, HallPresence>,
    closed: bool,
}

pub struct Hub {
    cfg: HubConfig,
    metrics: Arc<Metrics>,
    next_id: AtomicU64,
    /// Subscriptions not yet dropped, evicted ones included: their writers
    /// may still be saying goodbye.
    live: AtomicUsize,
    inner: Mutex<Inner>,
}

/// A resume the hub cannot honour.
#[derive(Debug, PartialEq, Eq)]
pub enum ResumeError {
    /// The client claims a sequence number the event has not reached.
    Ahead { current: u64 },
    /// The server is shutting down.
    Closed,
}

impl Hub {
    pub fn new(cfg: HubConfig, metrics: Arc<Metrics>, halls: &[String], seq: u64) -> Arc<Hub> {
        let presence = halls
            .iter()
            .map(|h| {
                (
                    h.clone(),
                    HallPresence {
                        hall: h.clone(),
                        operators: 0,
                        displays: 0,
                        connected_since: None,
                        last_seen: None,
                    },
                )
            })
            .collect();
        Arc::new(Hub {
            cfg,
            metrics,
            next_id: AtomicU64::new(1),
            live: AtomicUsize::new(0),
            inner: Mutex::new(Inner {
                seq,
                groups: HashMap::new(),
                history: VecDeque::new(),
                presence,
                closed: false,
            }),
        })
    }

    /// Queue a non-sequenced frame (like `presence`) for every subscriber
    /// whose audience `to` accepts.
    pub fn send_to(&self, to: fn(&Audience) -> bool, frame: impl Into<Frame>) {
        let frame = frame.into();
        let mut inner = self.lock();
        if inner.closed {
            return;
        }
        let mut evicted = Vec::new();
        for (audience, group) in inner.groups.iter().filter(|(a, _)| to(a)) {
            for (id, sub) in group {
                if !self.offer(sub, &frame) {
                    evicted.push((audience.clone(), *id));
                }
            }
        }
        self.evict(&mut inner, evicted, EvictReason::SlowConsumer);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave Inner half-updated in a
        // way that matters more than losing the hub, so recover the guard.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// Connections still holding a subscription, including evicted ones
    /// whose writers have not finished their goodbye.
    pub fn live_subscriptions(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    pub fn subscriber_count(&self) -> usize {
        self.lock().groups.values().map(HashMap::len).sum()
    }

    /// Register a subscriber for `audience`. With `since`, queue exactly the
    /// changes after it (or a snapshot when they are no longer in history);
    /// without, queue a snapshot. `snapshot` renders one for this audience.
    /// The caller must hold the event state's read lock so that the snapshot,
    /// the history and `seq` agree.
    pub fn subscribe(
        self: &Arc<Self>,
        audience: Audience,
        role: Role,
        hall: Option<&str>,
        since: Option<u64>,
        snapshot: &dyn Fn(&Audience, Option<Vec<HallPresence>>) -> Frame,
    ) -> Result<Subscription, ResumeError> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(ResumeError::Closed);
        }
        if let Some(s) = since {
            if s > inner.seq {
                return Err(ResumeError::Ahead { current: inner.seq });
            }
        }
        let outbox = Arc::new(Outbox::new(
            self.cfg.queue_bytes,
            self.cfg.queue_frames.max(4),
        ));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let replies = Replies {
            outbox: outbox.clone(),
            metrics: self.metrics.clone(),
        };

        let presence = match (role, hall) {
            (Role::HallOperator | Role::Display, Some(h)) if inner.presence.contains_key(h) => {
                Some((h.to_string(), role))
            }
            _ => None,
        };
        if let Some((h, _)) = &presence {
            let now = crate::now_ms();
            if let Some(p) = inner.presence.get_mut(h) {
                if role == Role::HallOperator {
                    p.operators += 1;
                } else {
                    p.displays += 1;
                }
                p.connected_since.get_or_insert(now);
                p.last_seen = Some(now);
            }
        }

        let (initial, caught_up) = self.initial_frames(&mut inner, &audience, since, snapshot);
        for frame in initial {
            // The queue is empty and its frame bound above the replay limit
            // (a snapshot may pass the byte bound on its own; it still goes).
            outbox.push_unbounded(frame);
        }
        inner.groups.entry(audience).or_default().insert(
            id,
            Subscriber {
                outbox: outbox.clone(),
                first: role != Role::Participant,
            },
        );
        if presence.is_some() {
            self.broadcast_presence(&mut inner);
        }
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(Subscription {
            id,
            outbox,
            caught_up,
            hub: self.clone(),
            presence,
            replies,
        })
    }

    fn initial_frames(
        &self,
        inner: &mut Inner,
        audience: &Audience,
        since: Option<u64>,
        snapshot: &dyn Fn(&Audience, Option<Vec<HallPresence>>) -> Frame,
    ) -> (Vec<Frame>, CaughtUp) {
        let presence =
            sees_presence(audience).then(|| inner.presence.values().cloned().collect::<Vec<_>>());
        let Some(since) = since else {
            return (vec![snapshot(audience, presence)], CaughtUp::Snapshot);
        };
        if since == inner.seq {
            let frames = presence
                .map(|p| vec![presence_frame(p)])
                .unwrap_or_default();
            return (frames, CaughtUp::Current);
        }
        let oldest = inner.history.front().map(|e| e.change.seq);
        let missed = (inner.seq - since) as usize;
        let replayable =
            oldest.is_some_and(|o| o <= since + 1) && missed < self.cfg.queue_frames / 2;
        if !replayable {
            return (vec![snapshot(audience, presence)], CaughtUp::Snapshot);
        }
        let mut frames = Vec::new();
        let mut replayed: Vec<Uuid> = Vec::new();
        for entry in inner.history.iter_mut().filter(|e| e.change.seq > since) {
            let frame = entry
                .frames
                .entry(audience.clone())
                .or_insert_with(|| change_frame(&entry.change, audience));
            if let Some(f) = frame {
                frames.push(f.clone());
            }
            replayed.extend(entry.change.questions.iter().map(|u| u.question.id));
        }
        replayed.sort_unstable();
        replayed.dedup();
        if let Some(p) = presence {
            frames.push(presence_frame(p));
        }
        (frames, CaughtUp::Replayed(replayed))
    }

    fn unsubscribe(&self, id: u64, presence: Option<(String, Role)>) {
        let mut inner = self.lock();
        for group in inner.groups.values_mut() {
            if group.remove(&id).is_some() {
                break;
            }
        }
        inner.groups.retain(|_, g| !g.is_empty());
        let Some((hall, role)) = presence else { return };
        let now = crate::now_ms();
        if let Some(p) = inner.presence.get_mut(&hall) {
            if role == Role::HallOperator {
                p.operators = p.operators.saturating_sub(1);
            } else {
                p.displays = p.displays.saturating_sub(1);
            }
            p.last_seen = Some(now);
            if p.operators == 0 && p.displays == 0 {
                p.connected_since = None;
            }
        }
        if !inner.closed {
            self.broadcast_presence(&mut inner);
        }
    }

    /// Publish a committed change to every audience that may see it.
    pub fn publish(&self, change: Arc<Change>) {
        let mut inner = self.lock();
        inner.seq = change.seq;
        let mut frames: HashMap<Audience, Option<Frame>> = HashMap::new();
        let mut evicted = Vec::new();
        let mut sent = 0u64;
        // Two passes, staff then phones; each audience's frame is still built once.
        for first in [true, false] {
            for (audience, group) in inner.groups.iter() {
                let frame = frames
                    .entry(audience.clone())
                    .or_insert_with(|| change_frame(&change, audience));
                let Some(f) = frame else { continue };
                for (id, sub) in group.iter().filter(|(_, s)| s.first == first) {
                    if self.offer(sub, f) {
                        sent += 1;
                    } else {
                        evicted.push((audience.clone(), *id));
                    }
                }
            }
        }
        self.metrics.messages_out.fetch_add(sent, Ordering::Relaxed);
        self.evict(&mut inner, evicted, EvictReason::SlowConsumer);
        inner.history.push_back(HistoryEntry { change, frames });
        while inner.history.len() > self.cfg.history {
            inner.history.pop_front();
        }
    }

    /// Queue `frame` for `sub`; false when it does not fit (or the
    /// connection is gone): either way it leaves.
    fn offer(&self, sub: &Subscriber, frame: &Frame) -> bool {
        sub.outbox.push(frame.clone()).is_ok()
    }

    fn evict(&self, inner: &mut Inner, who: Vec<(Audience, u64)>, reason: EvictReason) {
        for (audience, id) in who {
            if let Some(sub) = inner.groups.get_mut(&audience).and_then(|g| g.remove(&id)) {
                if reason == EvictReason::SlowConsumer {
                    self.metrics.queue_drops.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(subscriber = id, ?audience, "slow consumer disconnected");
                }
                sub.outbox.fire(reason);
            }
        }
    }

    /// Drop the replay history (its changes carry the personal data of new
    /// questions). Clients resuming afterwards get a fresh snapshot instead.
    pub fn forget_history(&self) {
        self.lock().history.clear();
    }

    /// Tell every subscriber to go (graceful shutdown); refuse new ones.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        let all: Vec<(Audience, u64)> = inner
            .groups
            .iter()
            .flat_map(|(a, g)| g.keys().map(move |id| (a.clone(), *id)))
            .collect();
        self.evict(&mut inner, all, EvictReason::Shutdown);
    }

    /// A hall's connection showed a sign of life.
    pub fn touch(&self, hall: &str) {
        if let Some(p) = self.lock().presence.get_mut(hall) {
            p.last_seen = Some(crate::now_ms());
        }
    }

    pub fn presence(&self) -> Vec<HallPresence> {
        self.lock().presence.values().cloned().collect()
    }

    fn broadcast_presence(&self, inner: &mut Inner) {
        // A placeholder; the writer renders the presence when it sends it
        // (`Subscription::resolve`), and one waiting is enough.
        let frame = Frame::from_static("");
        let mut evicted = Vec::new();
        for (audience, group) in inner.groups.iter().filter(|(a, _)| sees_presence(a)) {
            for (id, sub) in group {
                if sub.outbox.presence_pending.swap(true, Ordering::Relaxed) {
                    continue;
                }
                if !self.offer(sub, &frame) {
                    evicted.push((audience.clone(), *id));
                }
            }
        }
        self.evict(inner, evicted, EvictReason::SlowConsumer);
    }
}

fn sees_presence(audience: &Audience) -> bool {
    matches!(audience, Audience::Full | Audience::Staff)
}

/// Who receives backstage notes: moderators, follow-up and admins (full) and the chair (staff).
fn sees_notes(audience: &Audience) -> bool {
    matches!(audience, Audience::Full | Audience::Staff)
}

fn presence_frame(halls: Vec<HallPresence>) -> Frame {
    Frame::from(ServerMessage::Presence { halls }.to_json())
}

/// Whether the audience could see the question before this update.
fn saw_before(audience: &Audience, u: &QuestionUpdate) -> bool {
    u.from
        .is_some_and(|from| audience.sees_as(&u.question, from, u.from_department.as_deref()))
}

/// The frame `audience` receives for `change`, or `None` if nothing in it is
/// visible. It carries no hints: they follow in a `hints` frame, computed
/// off the writer's path (engine, `run_assistant`).
pub fn change_frame(change: &Change, audience: &Audience) -> Option<Frame> {
    let mut questions = Vec::new();
    let mut removed: Vec<Uuid> = Vec::new();
    for u in &change.questions {
        match audience.project(&u.question) {
            Some(q) => questions.push(q),
            None if saw_before(audience, u) => removed.push(u.question.id),
            None => {}
        }
    }
    // Backstage notes are for the people running the dialogue, never the public.
    let note = change.notes.first().filter(|_| sees_notes(audience));
    if questions.is_empty() && removed.is_empty() && change.floor.is_empty() && note.is_none() {
        return None;
    }
    let msg = ServerMessage::Change {
        seq: change.seq,
        at: change.at,
        action: &change.action,
        by: &change.actor.label,
        questions,
        removed,
        floor: change.floor.clone(),
        note,
    };
    Some(Frame::from(msg.to_json()))
}

/// Public snapshots carry only live questions: a phone needs what is on air
/// and coming, not the event's whole history (10,000 phones × every question
/// would be gigabytes in a reconnect storm).
pub fn in_snapshot(audience: &Audience, q: &Question) -> bool {
    match audience {
        Audience::Public => matches!(q.state, QState::Approved | QState::Queued | QState::OnAir),
        Audience::Phone => q.state == QState::OnAir,
        _ => audience.sees(q),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hub(queue_bytes: usize, queue_frames: usize) -> Arc<Hub> {
        let cfg = HubConfig {
            queue_bytes,
            queue_frames,
            history: 16,
        };
        Hub::new(cfg, Arc::new(Metrics::default()), &["tinh".into()], 0)
    }

    fn phone(hub: &Arc<Hub>) -> Subscription {
        let snapshot = |_: &Audience, _: Option<Vec<HallPresence>>| Frame::from_static("{}");
        hub.subscribe(Audience::Phone, Role::Participant, None, None, &snapshot)
            .unwrap()
    }

    fn frame(next: Next) -> Frame {
        match next {
            Next::Frame(f) => f,
            Next::Evicted(r) => panic!("evicted: {r:?}"),
        }
    }

    #[tokio::test]
    async fn replies_share_the_queue_and_its_byte_count() {
        let hub = hub(1 << 20, 64);
        let sub = phone(&hub);
        let replies = sub.replies();
        replies.send("{\"type\":\"ack\"}");
        assert_eq!(frame(sub.outbox.next().await), Frame::from_static("{}"));
        assert_eq!(
            frame(sub.outbox.next().await),
            Frame::from_static("{\"type\":\"ack\"}")
        );
        // Snapshot (2 bytes) and reply (14 bytes) are counted until the writer sends them.
        assert_eq!(sub.outbox.queued(), 16);
        assert!(sub.outbox.fired().is_none());
    }

    #[tokio::test]
    async fn a_reply_that_does_not_fit_evicts_the_connection_without_counting_it() {
        let hub = hub(64, 64);
        let sub = phone(&hub);
        let replies = sub.replies();
        replies.send("x".repeat(40));
        assert_eq!(sub.outbox.queued(), 42);
        replies.send("y".repeat(40));
        assert_eq!(
            sub.outbox.evicted().await,
            EvictReason::SlowConsumer,
            "over the byte bound"
        );
        assert_eq!(sub.outbox.queued(), 42, "the refused reply is not counted");
        assert_eq!(hub.metrics.queue_drops.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_reply_that_outlives_its_connection_is_no_slow_consumer() {
        let hub = hub(1 << 20, 64);
        let sub = phone(&hub);
        let replies = sub.replies();
        drop(sub);
        replies.send("{\"type\":\"ack\"}");
        assert_eq!(hub.metrics.queue_drops.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn a_full_frame_queue_evicts_a_replying_connection_too() {
        let hub = hub(1 << 20, 4);
        let sub = phone(&hub);
        let replies = sub.replies();
        for _ in 0..3 {
            replies.send("{}");
        }
        assert!(sub.outbox.fired().is_none());
        replies.send("{}");
        assert_eq!(sub.outbox.evicted().await, EvictReason::SlowConsumer);
    }

    /// A change every audience sees (a floor request).
    fn change(seq: u64) -> Arc<Change> {
        use crate::domain::{Actor, FloorRequest, FloorState};
        Arc::new(Change {
            seq,
            at: 0,
            actor: Actor::new(Role::Moderator, "moderator"),
            action: "request_floor".into(),
            questions: Vec::new(),
            floor: vec![FloorRequest {
                id: Uuid::new_v4(),
                hall: "tinh".into(),
                note: None,
                state: FloorState::Requested,
                requested_at: 0,
                decided_at: None,
                decided_by: None,
            }],
            notes: Vec::new(),
        })
    }

    fn staff(hub: &Arc<Hub>, role: Role, hall: Option<&str>) -> Subscription {
        let snapshot = |_: &Audience, _: Option<Vec<HallPresence>>| Frame::from_static("{}");
        hub.subscribe(Audience::Staff, role, hall, None, &snapshot)
            .unwrap()
    }

    #[tokio::test]
    async fn a_consumer_whose_frame_queue_fills_is_evicted_and_the_others_keep_going() {
        let hub = hub(1 << 20, 4);
        let slow = phone(&hub);
        let quick = phone(&hub);
        assert_eq!(frame(quick.outbox.next().await), Frame::from_static("{}"));
        for seq in 1..=3 {
            hub.publish(change(seq));
            let change = frame(quick.outbox.next().await);
            let want = format!("\"seq\":{seq},");
            assert!(change.contains(&want));
        }
        assert!(
            slow.outbox.fired().is_none(),
            "snapshot + 3 changes fit in 4"
        );
        hub.publish(change(4));
        assert_eq!(slow.outbox.fired(), Some(EvictReason::SlowConsumer));
        assert!(quick.outbox.fired().is_none());
        assert_eq!(hub.subscriber_count(), 1);
        assert_eq!(hub.metrics.queue_drops.load(Ordering::Relaxed), 1);
        // The evicted one's goodbye still finds what was queued.
        let mut left = 0;
        while slow.outbox.take_frame().is_some() {
            left += 1;
        }
        assert_eq!(left, 4);
    }

    /// Records which writer was woken, in order.
    struct WakeLog(&'static str, Arc<Mutex<Vec<&'static str>>>);

    impl std::task::Wake for WakeLog {
        fn wake(self: Arc<Self>) {
            self.1.lock().unwrap().push(self.0);
        }
    }

    /// Take the snapshot, then leave `sub`'s writer waiting with a waker that logs `name`.
    async fn park(sub: &Subscription, name: &'static str, log: &Arc<Mutex<Vec<&'static str>>>) {
        use std::future::Future;
        frame(sub.outbox.next().await);
        let waker = std::task::Waker::from(Arc::new(WakeLog(name, log.clone())));
        let mut cx = std::task::Context::from_waker(&waker);
        let next = std::pin::pin!(sub.outbox.next());
        assert!(next.poll(&mut cx).is_pending());
    }

    #[tokio::test]
    async fn staff_writers_are_woken_before_phones_whatever_joined_first() {
        let hub = hub(1 << 20, 64);
        let log = Arc::new(Mutex::new(Vec::new()));
        let phones: Vec<Subscription> = (0..3).map(|_| phone(&hub)).collect();
        let chair = staff(&hub, Role::Chair, None);
        for p in &phones {
            park(p, "phone", &log).await;
        }
        park(&chair, "chair", &log).await;
        hub.publish(change(1));
        assert_eq!(*log.lock().unwrap(), ["chair", "phone", "phone", "phone"]);
    }

    #[tokio::test]
    async fn one_presence_placeholder_waits_per_staff_connection_and_renders_the_latest() {
        let hub = hub(1 << 20, 64);
        let chair = staff(&hub, Role::Chair, None);
        assert_eq!(frame(chair.outbox.next().await), Frame::from_static("{}"));
        let _op = staff(&hub, Role::HallOperator, Some("tinh"));
        let _display = staff(&hub, Role::Display, Some("tinh"));
        let placeholder = frame(chair.outbox.next().await);
        assert!(
            placeholder.is_empty(),
            "a placeholder, not a rendered frame"
        );
        assert_eq!(chair.outbox.take_frame(), None, "one for both joins");
        let rendered = chair.resolve(placeholder);
        let text = rendered.as_str();
        assert!(
            text.contains("\"operators\":1") && text.contains("\"displays\":1"),
            "{text}"
        );
        drop(_display);
        assert!(
            frame(chair.outbox.next().await).is_empty(),
            "pending again after rendering"
        );
    }
}
