//! Broadcast measurement shared by the capacity and memory scenarios, for
//! doithoai and the two baselines alike: many light receivers, a few
//! broadcasters, and a table of "when did the last client get message k".
//!
//! Baseline messages mimic doithoai's change frames
//! (`{"type":"change","seq":k,"at":..,...}`) so one receiver serves all three
//! servers. Receivers update the table with atomics instead of keeping logs,
//! so 19,000 of them cost little memory.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use super::client::{connect, scan, Ws};
use super::stats::now_us;
use super::Error;

/// Most distinct messages one run can track.
pub const SLOTS: usize = 1 << 16;

/// Receive times per message key (a doithoai `seq` or a baseline id).
pub struct Table {
    /// Latest receive time (µs) of each key, over all receivers.
    pub last_recv: Vec<AtomicU64>,
    pub receivers: Vec<AtomicU32>,
    /// Send time (µs) of each key, set by its broadcaster.
    pub sent: Vec<AtomicU64>,
    pub ready: AtomicUsize,
    pub lost: AtomicUsize,
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
}

impl Default for Table {
    fn default() -> Self {
        Table {
            last_recv: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            receivers: (0..SLOTS).map(|_| AtomicU32::new(0)).collect(),
            sent: (0..SLOTS).map(|_| AtomicU64::new(0)).collect(),
            ready: AtomicUsize::new(0),
            lost: AtomicUsize::new(0),
            frames: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }
}

/// A receiver: join (doithoai `hello`, or nothing for a baseline), then count
/// every change frame until `stop` turns true. Returns when stopped or lost.
pub async fn receiver(
    url: String,
    hello: Option<String>,
    table: Arc<Table>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ws = None;
    for attempt in 0..20u64 {
        match connect(&url).await {
            Ok(w) => {
                ws = Some(w);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50 * (attempt + 1))).await,
        }
    }
    let Some(mut ws) = ws else {
        table.lost.fetch_add(1, Ordering::Relaxed);
        return;
    };
    match hello {
        Some(h) => {
            if ws.send(Message::Text(h.into())).await.is_err() {
                table.lost.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        None => {
            table.ready.fetch_add(1, Ordering::Relaxed);
        }
    }
    loop {
        tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() {
                    let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
                    return;
                }
            }
            msg = ws.next() => {
                let Some(Ok(Message::Text(text))) = msg else {
                    if matches!(msg, Some(Ok(_))) { continue; }
                    table.lost.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let now = now_us();
                let head = scan(text.as_str());
                match head.kind {
                    "change" => {
                        table.frames.fetch_add(1, Ordering::Relaxed);
                        table.bytes.fetch_add(text.len() as u64, Ordering::Relaxed);
                        if let Some(k) = head.seq.map(|s| s as usize % SLOTS) {
                            table.last_recv[k].fetch_max(now, Ordering::Relaxed);
                            table.receivers[k].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    "snapshot" => { table.ready.fetch_add(1, Ordering::Relaxed); }
                    _ => {}
                }
            }
        }
    }
}

/// What a broadcaster's reader passes on: replies (and, for a baseline, the
/// keys of echoed broadcasts).
#[derive(Debug, Clone)]
struct Reply {
    kind: String,
    seq: Option<u64>,
    req: Option<String>,
    text: String,
}

/// A broadcaster's connection. A reader task drains every frame the server
/// sends, so the broadcaster never becomes a slow consumer while it waits
/// between messages (a moderator also receives presence and every change).
struct Link {
    sink: futures_util::stream::SplitSink<Ws, Message>,
    replies: tokio::sync::mpsc::UnboundedReceiver<Reply>,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Link {
    async fn open(url: &str, hello: Option<String>, echoes: bool) -> Result<Link, Error> {
        let ws = connect(url).await?;
        let (mut sink, mut stream) = ws.split();
        if let Some(h) = hello {
            sink.send(Message::Text(h.into())).await?;
        }
        let (tx, replies) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let head = scan(text.as_str());
                let wanted = matches!(head.kind, "ack" | "error" | "bye")
                    || (echoes && head.kind == "change");
                if wanted {
                    let reply = Reply {
                        kind: head.kind.to_string(),
                        seq: head.seq,
                        req: head.req.map(str::to_string),
                        text: if head.kind == "change" {
                            String::new()
                        } else {
                            text.as_str().to_string()
                        },
                    };
                    if tx.send(reply).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Link {
            sink,
            replies,
            reader,
        })
    }

    async fn wait(&mut self, what: &str, pred: impl Fn(&Reply) -> bool) -> Result<Reply, Error> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let r = tokio::time::timeout_at(deadline, self.replies.recv())
                .await
                .map_err(|_| format!("no {what} within 30 s"))?
                .ok_or("broadcaster connection closed")?;
            if r.kind == "bye" {
                return Err(format!("broadcaster evicted: {}", r.text).into());
            }
            if pred(&r) {
                return Ok(r);
            }
        }
    }
}

/// A broadcaster's way of sending message after message.
pub struct Sender {
    link: Link,
    mode: Mode,
    /// Times this broadcaster had to reconnect (it was evicted or cut off).
    pub reconnects: u32,
}

enum Mode {
    /// A baseline: send a padded frame, wait for our own echo.
    Baseline { pad: String, next: u64, stride: u64 },
    /// doithoai: a moderator editing its own question; wait for the ack.
    Doithoai {
        question: String,
        version: u64,
        req: u64,
    },
}

impl Sender {
    /// Connect a baseline broadcaster; keys are `first, first + stride, …`.
    pub async fn baseline(
        url: &str,
        payload_bytes: usize,
        first: u64,
        stride: u64,
    ) -> Result<Sender, Error> {
        Ok(Sender {
            link: Link::open(url, None, true).await?,
            reconnects: 0,
            mode: Mode::Baseline {
                pad: "x".repeat(payload_bytes.saturating_sub(60)),
                next: first,
                stride,
            },
        })
    }

    /// Connect as `token`'s moderator, create and approve a question to edit.
    pub async fn doithoai(url: &str, token: &str) -> Result<Sender, Error> {
        let hello = format!("{{\"type\":\"hello\",\"protocol\":1,\"token\":\"{token}\"}}");
        let id = uuid::Uuid::new_v4().to_string();
        let mut s = Sender {
            link: Link::open(url, Some(hello), false).await?,
            reconnects: 0,
            mode: Mode::Doithoai {
                question: id.clone(),
                version: 0,
                req: 0,
            },
        };
        s.command(&format!(
            r#"{{"type":"submit","id":"{id}","text":"{}"}}"#,
            edit_text(0)
        ))
        .await?;
        s.command(&format!(
            r#"{{"type":"approve","question":"{id}","version":1}}"#
        ))
        .await?;
        s.set_version(2);
        Ok(s)
    }

    /// Like `doithoai`, then assign the question and put it on air, so that
    /// every audience (phones, displays, speakers, halls) sees each edit.
    pub async fn doithoai_on_air(
        url: &str,
        token: &str,
        department: &str,
    ) -> Result<Sender, Error> {
        let mut s = Sender::doithoai(url, token).await?;
        let id = match &s.mode {
            Mode::Doithoai { question, .. } => question.clone(),
            Mode::Baseline { .. } => return Err("not a doithoai sender".into()),
        };
        s.command(&format!(
            r#"{{"type":"assign","question":"{id}","version":2,"department":"{department}"}}"#
        ))
        .await?;
        s.command(&format!(
            r#"{{"type":"put_on_air","question":"{id}","version":3}}"#
        ))
        .await?;
        s.set_version(4);
        Ok(s)
    }

    /// As a moderator, submit and approve `n` questions (a realistic public
    /// snapshot for phones that join afterwards).
    pub async fn populate(url: &str, token: &str, n: usize) -> Result<(), Error> {
        let hello = format!("{{\"type\":\"hello\",\"protocol\":1,\"token\":\"{token}\"}}");
        let mut s = Sender {
            link: Link::open(url, Some(hello), false).await?,
            reconnects: 0,
            mode: Mode::Doithoai {
                question: String::new(),
                version: 0,
                req: 0,
            },
        };
        for i in 0..n {
            let id = uuid::Uuid::new_v4();
            s.command(&format!(
                r#"{{"type":"submit","id":"{id}","text":"{}"}}"#,
                edit_text(i as u64)
            ))
            .await?;
            s.command(&format!(
                r#"{{"type":"approve","question":"{id}","version":1}}"#
            ))
            .await?;
        }
        Ok(())
    }

    /// Send one broadcast like `send_one`; if the connection fails (a moderator
    /// evicted as a slow consumer, say), reconnect as `token` and try again,
    /// as the moderator page would. A conflict after a lost reply means the
    /// edit went through: take the next version.
    pub async fn send_one_reconnecting(
        &mut self,
        url: &str,
        token: &str,
        table: &Table,
    ) -> Result<u64, Error> {
        let mut last = String::new();
        for _ in 0..5 {
            match self.send_one(table).await {
                Ok(seq) => return Ok(seq),
                Err(e) => {
                    last = e.to_string();
                    if last.contains("\"conflict\"") {
                        if let Mode::Doithoai { version, .. } = &mut self.mode {
                            *version += 1;
                        }
                    }
                    let hello =
                        format!("{{\"type\":\"hello\",\"protocol\":1,\"token\":\"{token}\"}}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    self.link = Link::open(url, Some(hello), false).await?;
                    self.reconnects += 1;
                }
            }
        }
        Err(format!("broadcast failed after reconnecting 5 times: {last}").into())
    }

    fn set_version(&mut self, v: u64) {
        if let Mode::Doithoai { version, .. } = &mut self.mode {
            *version = v;
        }
    }

    async fn command(&mut self, cmd: &str) -> Result<u64, Error> {
        let Mode::Doithoai { req, .. } = &mut self.mode else {
            return Err("not a doithoai sender".into());
        };
        *req += 1;
        let want = format!("b{req}");
        self.link
            .sink
            .send(Message::Text(
                format!(r#"{{"type":"cmd","req":"{want}","cmd":{cmd}}}"#).into(),
            ))
            .await?;
        let r = self
            .link
            .wait("ack", |r| r.req.as_deref() == Some(want.as_str()))
            .await?;
        match (r.kind.as_str(), r.seq) {
            ("ack", Some(seq)) => Ok(seq),
            _ => Err(format!("command refused: {}", r.text).into()),
        }
    }

    /// Send one broadcast, wait until the server has taken it (ack or own echo);
    /// records its send time in `table`. Returns the message's key (seq).
    pub async fn send_one(&mut self, table: &Table) -> Result<u64, Error> {
        let sent = now_us();
        match &mut self.mode {
            Mode::Baseline { pad, next, stride } => {
                let key = *next;
                *next += *stride;
                table.sent[key as usize % SLOTS].store(sent, Ordering::Relaxed);
                let frame = format!(
                    r#"{{"type":"change","seq":{key},"at":{},"pad":"{pad}"}}"#,
                    crate::now_ms()
                );
                self.link.sink.send(Message::Text(frame.into())).await?;
                self.link
                    .wait("echo", |r| r.kind == "change" && r.seq == Some(key))
                    .await?;
                Ok(key)
            }
            Mode::Doithoai {
                question, version, ..
            } => {
                let cmd = format!(
                    r#"{{"type":"edit","question":"{question}","version":{version},"text":"{}"}}"#,
                    edit_text(*version)
                );
                let seq = self.command(&cmd).await?;
                table.sent[seq as usize % SLOTS].store(sent, Ordering::Relaxed);
                if let Mode::Doithoai { version, .. } = &mut self.mode {
                    *version += 1;
                }
                Ok(seq)
            }
        }
    }
}

/// About 60 characters, so a phone's change frame is a few hundred bytes.
fn edit_text(n: u64) -> String {
    format!("Câu hỏi đang được trả lời, bản sửa số {n}: vốn vay khởi nghiệp")
}
