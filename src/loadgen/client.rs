//! Simulated clients speaking the real protocol over real WebSockets.
//!
//! Thousands of these run in one process on two cores, so the receive path
//! is kept cheap: a frame is not parsed as JSON but scanned for its `type`,
//! `seq`, `at` and `req` (the server writes those first, in a fixed order),
//! and each change is recorded as a fixed-size `Rec`. Only moderators, who
//! must learn question ids, parse frames fully (see `scenario.rs`).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::stats::now_us;
use super::Error;
use crate::domain::{Audience, Role};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Open a WebSocket with small buffers (tungstenite's 128 KiB default read
/// buffer would cost the load generator 1.3 GB at 10,000 clients).
pub async fn connect(url: &str) -> Result<Ws, Error> {
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let (ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    Ok(ws)
}

/// The head of a server frame, found without parsing the JSON.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Head<'a> {
    pub kind: &'a str,
    pub seq: Option<u64>,
    pub at: Option<i64>,
    pub req: Option<&'a str>,
    pub code: Option<&'a str>,
}

fn number_after(s: &str, key: &str) -> Option<i64> {
    let rest = &s[s.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn string_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let rest = &s[s.find(key)? + key.len()..];
    Some(&rest[..rest.find('"')?])
}

/// Scan a frame's leading fields. Relies on the server's field order:
/// `type` first, then `seq`/`at` (change, snapshot) or `req` (ack, error);
/// a question's own fields come later and are never reached first.
pub fn scan(frame: &str) -> Head<'_> {
    let kind = string_after(frame, "{\"type\":\"").unwrap_or_default();
    let mut head = Head {
        kind,
        ..Head::default()
    };
    match kind {
        "change" => {
            head.seq = number_after(frame, "\"seq\":").map(|v| v as u64);
            head.at = number_after(frame, "\"at\":");
        }
        "snapshot" | "welcome" => head.seq = number_after(frame, "\"seq\":").map(|v| v as u64),
        "ack" => {
            head.req = string_after(frame, "\"req\":\"");
            head.seq = number_after(frame, "\"seq\":").map(|v| v as u64);
        }
        "error" => {
            head.req = string_after(frame, "\"req\":\"");
            head.code = string_after(frame, "\"code\":\"");
        }
        "bye" => head.code = string_after(frame, "\"code\":\""),
        _ => {}
    }
    head
}

/// One thing a client received that carries a sequence number. Written as
/// a bare array by serde: a worker's logs hold millions of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RecRow", into = "RecRow")]
pub struct Rec {
    pub seq: u64,
    /// Receive time (load generator clock, µs).
    pub recv_us: u64,
    /// Commit time the server stamped (`at`, unix ms); 0 for snapshots.
    pub at_ms: i64,
    /// Receive time as unix ms (for `at`-based delivery latency).
    pub recv_unix_ms: i64,
    pub kind: RecKind,
}

/// A [`Rec`] on the wire: seq, recv_us, at_ms, recv_unix_ms, kind.
type RecRow = (u64, u64, i64, i64, RecKind);

impl From<RecRow> for Rec {
    fn from((seq, recv_us, at_ms, recv_unix_ms, kind): RecRow) -> Rec {
        Rec {
            seq,
            recv_us,
            at_ms,
            recv_unix_ms,
            kind,
        }
    }
}

impl From<Rec> for RecRow {
    fn from(r: Rec) -> RecRow {
        (r.seq, r.recv_us, r.at_ms, r.recv_unix_ms, r.kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecKind {
    Snapshot,
    Change,
    /// A new connection began (its `welcome`); `seq` is the event's then.
    Joined,
}

/// What one simulated client saw (serde: a clients worker sends it back).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClientLog {
    pub label: String,
    pub role: Role,
    pub audience: Audience,
    pub recs: Vec<Rec>,
    /// Submit → ack latencies (µs) and the acks' sequence numbers.
    pub acks: Vec<(u64, u64)>,
    /// Sequence number → send time (µs) of this client's own acknowledged commands.
    pub origins: Vec<(u64, u64)>,
    /// Question id and sequence number of every acknowledged submission
    /// (the kill -9 scenarios look each one up in the log afterwards).
    pub acked_ids: Vec<(uuid::Uuid, u64)>,
    pub errors: Vec<String>,
    pub connects: u32,
    pub evictions: u32,
    pub lost: u32,
    pub frames: u64,
    pub bytes: u64,
    /// Time (µs) at which this client first held `Shared::target` or later.
    pub caught_up_us: Option<u64>,
    /// Changes received on connections after the first (resume replays).
    pub replayed: u64,
}

/// What the scenario tells every client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected and (if a submitter) submitting.
    Run,
    /// Connected, no more submissions.
    Quiet,
    /// Drop the connection now (reconnect storm); `generation` distinguishes storms.
    Drop {
        generation: u32,
    },
    /// Reconnect (after a random delay up to `jitter_ms`) and resume by `last_seq`.
    Resume {
        generation: u32,
        jitter_ms: u64,
    },
    Stop,
}

/// Counters the scenario watches while clients run.
#[derive(Default)]
pub struct Shared {
    /// Clients that have received their first snapshot.
    pub ready: AtomicUsize,
    /// Sequence number every client should reach (reconnect storm).
    pub target: AtomicU64,
    pub caught_up: AtomicUsize,
    pub submitted: AtomicU64,
    pub acked: AtomicU64,
    /// Changes and snapshots received by all clients (to wait for quiet).
    pub received: AtomicU64,
    /// Clients whose connection was lost and who have not joined again.
    pub away: AtomicU64,
}

/// How a client joins and behaves (serde: handed to a clients worker).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Spec {
    pub label: String,
    pub role: Role,
    pub audience: Audience,
    /// The `hello` fields other than `last_seq`, as JSON object members.
    pub hello: String,
    /// A participant who submits every `every`, first after `first`.
    pub submit: Option<(Duration, Duration)>,
    /// Hall a participant submits to (from its QR code).
    pub hall: Option<String>,
}

impl Spec {
    pub fn staff(label: &str, role: Role, audience: Audience, token: &str) -> Spec {
        Spec {
            label: label.to_string(),
            role,
            audience,
            hello: format!("\"token\":\"{token}\""),
            submit: None,
            hall: None,
        }
    }
    pub fn participant(i: usize, event: &str, hall: &str) -> Spec {
        Spec {
            label: format!("phone-{i}"),
            role: Role::Participant,
            // Whatever the server's rules make a phone's audience.
            audience: crate::domain::Actor::new(Role::Participant, "participant")
                .with_hall(hall)
                .audience(),
            hello: format!(
                "\"event\":\"{event}\",\"hall\":\"{hall}\",\"device\":\"{}\"",
                uuid::Uuid::new_v4()
            ),
            submit: None,
            hall: Some(hall.to_string()),
        }
    }
}

fn hello(spec: &Spec, last_seq: Option<u64>) -> String {
    match last_seq {
        Some(s) => format!(
            "{{\"type\":\"hello\",\"protocol\":1,{},\"last_seq\":{s}}}",
            spec.hello
        ),
        None => format!("{{\"type\":\"hello\",\"protocol\":1,{}}}", spec.hello),
    }
}

/// Questions as a young person might type them (Vietnamese, with diacritics).
const TEXTS: [&str; 4] = [
    "Xin hỏi tỉnh có chính sách hỗ trợ vốn vay khởi nghiệp cho thanh niên nông thôn không?",
    "Thanh niên học nghề xong thì được giới thiệu việc làm ở đâu, có hỗ trợ chi phí không?",
    "Làm sao để hợp tác xã của thanh niên tiếp cận được đất sản xuất và tiêu thụ nông sản?",
    "Đề nghị mở thêm lớp kỹ năng số và thương mại điện tử cho đoàn viên ở xã vùng sâu.",
];

fn now_unix_ms() -> i64 {
    crate::now_ms()
}

/// Run one client until `Phase::Stop`; returns what it saw.
pub async fn run(
    url: String,
    spec: Spec,
    mut phase: watch::Receiver<Phase>,
    shared: Arc<Shared>,
) -> ClientLog {
    let mut log = ClientLog {
        label: spec.label.clone(),
        role: spec.role,
        audience: spec.audience.clone(),
        recs: Vec::new(),
        acks: Vec::new(),
        origins: Vec::new(),
        acked_ids: Vec::new(),
        errors: Vec::new(),
        connects: 0,
        evictions: 0,
        lost: 0,
        frames: 0,
        bytes: 0,
        caught_up_us: None,
        replayed: 0,
    };
    let mut cursor: Option<u64> = None;
    let mut ready_counted = false;
    let mut pending: Vec<(u64, u64, uuid::Uuid)> = Vec::new(); // (req number, send µs, id)
    let mut next_req = 0u64;
    let mut submitted = 0usize;
    let mut storm_seen = 0u32;
    let mut away = false;
    loop {
        // Connect (with a few retries: a listen backlog can overflow in a storm).
        let mut ws = None;
        for attempt in 0..20u64 {
            if *phase.borrow() == Phase::Stop {
                return log;
            }
            match connect(&url).await {
                Ok(w) => {
                    ws = Some(w);
                    break;
                }
                Err(e) => {
                    if attempt == 19 {
                        log.errors.push(format!("connect: {e}"));
                    }
                    tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await;
                }
            }
        }
        let Some(mut ws) = ws else { return log };
        if ws
            .send(Message::Text(hello(&spec, cursor).into()))
            .await
            .is_err()
        {
            log.lost += 1;
            continue;
        }
        log.connects += 1;
        let resumed = log.connects > 1;
        if away {
            away = false;
            shared.away.fetch_sub(1, Ordering::Relaxed);
        }
        // Submissions start (at a random offset) only once the run begins.
        let timer = || {
            spec.submit.map(|(every, first)| {
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + first, every);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            })
        };
        let mut submit_timer = if *phase.borrow() == Phase::Run {
            timer()
        } else {
            None
        };
        // What ends this connection.
        let ended: Option<Phase> = loop {
            // Read the phase outside `select!`: its guard must not live across an await.
            let submitting = *phase.borrow() == Phase::Run;
            tokio::select! {
                changed = phase.changed() => {
                    if changed.is_err() { break Some(Phase::Stop); }
                    let p = *phase.borrow_and_update();
                    match p {
                        Phase::Run => submit_timer = timer(),
                        Phase::Quiet => submit_timer = None,
                        Phase::Drop { generation } if generation > storm_seen => {
                            storm_seen = generation;
                            break Some(p);
                        }
                        Phase::Stop => break Some(p),
                        _ => {}
                    }
                }
                _ = tick(&mut submit_timer), if submit_timer.is_some() && submitting => {
                    next_req += 1;
                    let id = uuid::Uuid::new_v4();
                    let text = TEXTS[(next_req as usize + submitted) % TEXTS.len()];
                    let cmd = format!(
                        "{{\"type\":\"cmd\",\"req\":\"s{next_req}\",\"cmd\":{{\"type\":\"submit\",\"id\":\"{id}\",\"text\":\"{text}\"}}}}"
                    );
                    pending.push((next_req, now_us(), id));
                    submitted += 1;
                    shared.submitted.fetch_add(1, Ordering::Relaxed);
                    if ws.send(Message::Text(cmd.into())).await.is_err() { break None; }
                }
                msg = ws.next() => {
                    let Some(Ok(msg)) = msg else { break None };
                    let Message::Text(text) = msg else {
                        if matches!(msg, Message::Close(_)) { break None; }
                        continue;
                    };
                    let recv_us = now_us();
                    log.frames += 1;
                    log.bytes += text.len() as u64;
                    let head = scan(text.as_str());
                    match head.kind {
                        "change" | "snapshot" => {
                            let Some(seq) = head.seq else { continue };
                            shared.received.fetch_add(1, Ordering::Relaxed);
                            let kind = if head.kind == "change" { RecKind::Change } else { RecKind::Snapshot };
                            if kind == RecKind::Change && resumed {
                                log.replayed += 1;
                            }
                            log.recs.push(Rec { seq, recv_us, at_ms: head.at.unwrap_or(0), recv_unix_ms: now_unix_ms(), kind });
                            cursor = Some(cursor.map_or(seq, |c| c.max(seq)));
                            if !ready_counted && kind == RecKind::Snapshot {
                                ready_counted = true;
                                shared.ready.fetch_add(1, Ordering::Relaxed);
                            }
                            let target = shared.target.load(Ordering::Relaxed);
                            if target > 0 && log.caught_up_us.is_none() && seq >= target {
                                log.caught_up_us = Some(recv_us);
                                shared.caught_up.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        "welcome" => {
                            log.recs.push(Rec { seq: head.seq.unwrap_or(0), recv_us, at_ms: 0, recv_unix_ms: now_unix_ms(), kind: RecKind::Joined });
                            // A resume that is already current gets no snapshot: it is ready as it is.
                            if let (Some(c), Some(s)) = (cursor, head.seq) {
                                let target = shared.target.load(Ordering::Relaxed);
                                if target > 0 && log.caught_up_us.is_none() && c >= target && s >= target {
                                    log.caught_up_us = Some(recv_us);
                                    shared.caught_up.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        "ack" => {
                            if let Some(n) = head.req.and_then(|r| r.strip_prefix('s')).and_then(|n| n.parse::<u64>().ok()) {
                                if let Some(i) = pending.iter().position(|(r, _, _)| *r == n) {
                                    let (_, sent, id) = pending.swap_remove(i);
                                    shared.acked.fetch_add(1, Ordering::Relaxed);
                                    if let Some(seq) = head.seq {
                                        log.acks.push((recv_us.saturating_sub(sent), seq));
                                        log.origins.push((seq, sent));
                                        log.acked_ids.push((id, seq));
                                    }
                                }
                            }
                        }
                        "error" => log.errors.push(format!("{}: {}", head.req.unwrap_or("-"), head.code.unwrap_or("?"))),
                        "bye" if head.code == Some("slow_consumer") => log.evictions += 1,
                        _ => {}
                    }
                }
            }
        };
        match ended {
            Some(Phase::Stop) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                return log;
            }
            Some(Phase::Drop { .. }) => {
                // Abrupt: drop the socket, as a phone losing its network would.
                drop(ws);
                // Wait for the order to come back.
                loop {
                    if phase.changed().await.is_err() {
                        return log;
                    }
                    let p = *phase.borrow_and_update();
                    match p {
                        Phase::Resume { jitter_ms, .. } => {
                            if jitter_ms > 0 {
                                let d = rand::random::<u64>() % jitter_ms;
                                tokio::time::sleep(Duration::from_millis(d)).await;
                            }
                            break;
                        }
                        Phase::Stop => return log,
                        _ => {}
                    }
                }
            }
            _ => {
                // Lost (evicted or the server closed): come back like the web page does.
                log.lost += 1;
                if !away {
                    away = true;
                    shared.away.fetch_add(1, Ordering::Relaxed);
                }
                drop(ws);
                if *phase.borrow() == Phase::Stop {
                    return log;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// The next tick of an optional timer; never, without one.
async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_reads_leading_fields() {
        let h = scan(
            r#"{"type":"change","seq":42,"at":1700000000123,"action":"approve","by":"m","questions":[{"seq":1}]}"#,
        );
        assert_eq!(
            (h.kind, h.seq, h.at),
            ("change", Some(42), Some(1_700_000_000_123))
        );
        let h = scan(r#"{"type":"ack","req":"s7","seq":9,"id":"x"}"#);
        assert_eq!((h.kind, h.req, h.seq), ("ack", Some("s7"), Some(9)));
        let h = scan(r#"{"type":"error","req":"s1","code":"rate_limited","message":"x"}"#);
        assert_eq!((h.req, h.code), (Some("s1"), Some("rate_limited")));
        assert_eq!(scan("{\"type\":\"ping\",\"seq\":3,\"t\":1}").kind, "ping");
    }
}
