//! A simulated moderator desk: it reads every change (fully parsed, to learn
//! new question ids), approves and assigns its share of submissions at a set
//! pace, and (the first desk only) rotates the question on air. One command
//! at a time, each waiting for its ack, as a person at a laptop would.
//! Its own receipts are recorded like any client's, so moderators get
//! delivery latencies too.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::client::{connect, scan, ClientLog, Phase, Rec, RecKind, Spec, Ws};
use super::stats::now_us;
use crate::domain::Role;

/// The moderators' shared plan.
#[derive(Clone)]
pub struct Desk {
    /// This desk's index and the number of desks (submissions are split by id).
    pub index: usize,
    pub desks: usize,
    /// Approve + assign one question every `pace` (per desk).
    pub pace: Duration,
    /// Rotate the on-air question this often (desk 0 only).
    pub on_air_every: Option<Duration>,
    pub departments: Vec<String>,
    /// Assigned questions waiting to go on air: (id, version).
    pub queued: Arc<Mutex<VecDeque<(String, u64)>>>,
}

struct Conn {
    ws: Ws,
    log: ClientLog,
    next_req: u64,
    mine: VecDeque<String>,
    desk: Desk,
}

impl Conn {
    fn record(&mut self, text: &str) {
        let recv_us = now_us();
        self.log.frames += 1;
        self.log.bytes += text.len() as u64;
        let head = scan(text);
        if !matches!(head.kind, "change" | "snapshot") {
            return;
        }
        let Some(seq) = head.seq else { return };
        let kind = if head.kind == "change" {
            RecKind::Change
        } else {
            RecKind::Snapshot
        };
        self.log.recs.push(Rec {
            seq,
            recv_us,
            at_ms: head.at.unwrap_or(0),
            recv_unix_ms: crate::now_ms(),
            kind,
        });
        if kind == RecKind::Change && text.contains("\"action\":\"submit\"") {
            // Only new questions matter to the desk; parse just those.
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
                for q in v["questions"].as_array().into_iter().flatten() {
                    if let Some(id) = q["id"].as_str() {
                        let share = id
                            .bytes()
                            .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize));
                        if share % self.desk.desks == self.desk.index {
                            self.mine.push_back(id.to_string());
                        }
                    }
                }
            }
        }
    }

    /// Send a command and read (recording) until its reply; the ack's seq.
    async fn command(&mut self, cmd: String) -> Option<u64> {
        self.next_req += 1;
        let req = format!("m{}", self.next_req);
        let sent = now_us();
        let frame = format!(r#"{{"type":"cmd","req":"{req}","cmd":{cmd}}}"#);
        self.ws.send(Message::Text(frame.into())).await.ok()?;
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .ok()??
                .ok()?;
            let Message::Text(text) = msg else { continue };
            let head = scan(text.as_str());
            if head.req == Some(req.as_str()) {
                if head.kind == "ack" {
                    let seq = head.seq?;
                    self.log.origins.push((seq, sent));
                    self.log.acks.push((now_us().saturating_sub(sent), seq));
                    return Some(seq);
                }
                self.log
                    .errors
                    .push(format!("{req}: {}", head.code.unwrap_or("?")));
                return None;
            }
            self.record(text.as_str());
        }
    }
}

/// Run a moderator desk until `Phase::Stop`.
pub async fn run(
    url: String,
    spec: Spec,
    desk: Desk,
    mut phase: watch::Receiver<Phase>,
) -> ClientLog {
    let mut log = ClientLog {
        label: spec.label.clone(),
        role: Role::Moderator,
        audience: spec.audience.clone(),
        recs: Vec::new(),
        acks: Vec::new(),
        origins: Vec::new(),
        acked_ids: Vec::new(),
        errors: Vec::new(),
        connects: 1,
        evictions: 0,
        lost: 0,
        frames: 0,
        bytes: 0,
        caught_up_us: None,
        replayed: 0,
    };
    let ws = match connect(&url).await {
        Ok(ws) => ws,
        Err(e) => {
            log.errors.push(format!("connect: {e}"));
            return log;
        }
    };
    let mut c = Conn {
        ws,
        log,
        next_req: 0,
        mine: VecDeque::new(),
        desk: desk.clone(),
    };
    let hello = |last_seq: Option<u64>| match last_seq {
        Some(s) => format!(
            "{{\"type\":\"hello\",\"protocol\":1,{},\"last_seq\":{s}}}",
            spec.hello
        ),
        None => format!("{{\"type\":\"hello\",\"protocol\":1,{}}}", spec.hello),
    };
    if c.ws.send(Message::Text(hello(None).into())).await.is_err() {
        return c.log;
    }
    let mut pace = tokio::time::interval(desk.pace);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut rotate = tokio::time::interval(desk.on_air_every.unwrap_or(Duration::from_secs(3600)));
    rotate.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut on_air: Option<(String, u64)> = None;
    let mut assigned = 0usize;
    loop {
        let acting = *phase.borrow() == Phase::Run;
        tokio::select! {
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow() == Phase::Stop {
                    let _ = tokio::time::timeout(Duration::from_secs(2), c.ws.close(None)).await;
                    return c.log;
                }
            }
            msg = c.ws.next() => {
                match msg {
                    Some(Ok(Message::Text(text))) => c.record(text.as_str()),
                    Some(Ok(_)) => {}
                    _ => {
                        // The node went away (kill -9 scenarios): come back
                        // like the console does, through the same address
                        // (a proxy), resuming after the last change seen.
                        c.log.lost += 1;
                        let last = c.log.recs.iter().map(|r| r.seq).max();
                        match reconnect(&url, &hello(last), &phase).await {
                            Some(ws) => {
                                c.ws = ws;
                                c.log.connects += 1;
                                c.log.recs.push(Rec { seq: 0, recv_us: now_us(), at_ms: 0, recv_unix_ms: crate::now_ms(), kind: RecKind::Joined });
                            }
                            None => return c.log,
                        }
                    }
                }
            }
            _ = pace.tick(), if acting => {
                let Some(id) = c.mine.pop_front() else { continue };
                if c.command(format!(r#"{{"type":"approve","question":"{id}","version":1}}"#)).await.is_none() { continue; }
                let dept = &desk.departments[(assigned + desk.index) % desk.departments.len()];
                assigned += 1;
                if c.command(format!(r#"{{"type":"assign","question":"{id}","version":2,"department":"{dept}"}}"#)).await.is_some() {
                    if let Ok(mut q) = desk.queued.lock() { q.push_back((id, 3)); }
                }
            }
            _ = rotate.tick(), if acting && desk.on_air_every.is_some() => {
                if let Some((id, v)) = on_air.take() {
                    c.command(format!(r#"{{"type":"mark_answered","question":"{id}","version":{v}}}"#)).await;
                }
                let next = desk.queued.lock().ok().and_then(|mut q| q.pop_front());
                if let Some((id, v)) = next {
                    if c.command(format!(r#"{{"type":"put_on_air","question":"{id}","version":{v}}}"#)).await.is_some() {
                        on_air = Some((id, v + 1));
                    }
                }
            }
        }
    }
}

/// Connect again and say hello, retrying for up to 20 s; `None` when the
/// run stops first or no node answers.
async fn reconnect(url: &str, hello: &str, phase: &watch::Receiver<Phase>) -> Option<Ws> {
    for attempt in 0..100u64 {
        if *phase.borrow() == Phase::Stop {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100 + 20 * attempt.min(10))).await;
        if let Ok(mut ws) = connect(url).await {
            if ws
                .send(Message::Text(hello.to_string().into()))
                .await
                .is_ok()
            {
                return Some(ws);
            }
        }
    }
    None
}
