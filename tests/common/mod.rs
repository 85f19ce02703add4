//! Shared test helpers: spawn the real server on port 0 with a fresh SQLite
//! data directory, and a small WebSocket client speaking the real protocol.
#![allow(dead_code)]

pub mod pg;
pub mod process;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use doithoai::config::ServeConfig;

pub const EVENT: &str = "an-giang-2024";
/// The halls of the test event (events/an-giang-2024.toml), in its order.
pub const HALLS: [&str; 12] = [
    "tinh",
    "long-xuyen",
    "chau-doc",
    "tan-chau",
    "tinh-bien",
    "an-phu",
    "chau-phu",
    "chau-thanh",
    "cho-moi",
    "phu-tan",
    "thoai-son",
    "tri-ton",
];
/// Its departments, in its order.
pub const DEPARTMENTS: [&str; 9] = [
    "ubnd",
    "noi-vu",
    "ldtbxh",
    "gddt",
    "nnptnt",
    "khdt",
    "khcn",
    "tai-chinh",
    "tinh-doan",
];
/// Generous bound for waiting on a message that must arrive; not a timing assertion.
pub const WAIT: Duration = Duration::from_secs(10);

pub fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("debug,sqlx=warn")
            .try_init();
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub data_dir: PathBuf,
    /// Keeps the temporary directory alive for the test's duration.
    pub temp: Option<tempfile::TempDir>,
    /// Seat → token, e.g. "moderator-1", "speaker:gddt", "hall_operator:cho-moi".
    pub tokens: HashMap<String, String>,
    pub app: doithoai::App,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().to_path_buf();
    let mut app = spawn_app_with(ServeConfig::for_tests(&dir)).await;
    app.temp = Some(temp);
    app
}

/// Start on an existing data directory (restart tests).
pub async fn spawn_app_in(dir: &Path) -> TestApp {
    spawn_app_with(ServeConfig::for_tests(dir)).await
}

pub async fn spawn_app_with(config: ServeConfig) -> TestApp {
    init_logs();
    let data_dir = config.store.data_dir.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = format!("http://{addr}");
    let app = doithoai::open(config).await.expect("open app");
    let mut tokens = HashMap::new();
    for rt in app.engine.events() {
        let issued = doithoai::auth::issue_tokens(
            app.engine.store().as_ref(),
            app.engine.secret(),
            &rt.config,
            &base,
            None,
        )
        .await
        .expect("tokens");
        for t in issued {
            tokens.insert(t.slot, t.token);
        }
    }
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(doithoai::serve(listener, app.clone(), async move {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        base,
        data_dir,
        temp: None,
        tokens,
        app,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn token(&self, slot: &str) -> String {
        self.tokens
            .get(slot)
            .cloned()
            .unwrap_or_else(|| panic!("no token for {slot}"))
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Graceful stop; returns the temp dir so the data can be reopened.
    pub async fn stop(mut self) -> Option<tempfile::TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), h).await;
        }
        self.temp.take()
    }

    /// Connect as a staff role and complete the handshake.
    pub async fn staff(&self, slot: &str) -> Client {
        Client::join(
            &self.ws_url(),
            json!({"type":"hello","protocol":1,"token":self.token(slot)}),
        )
        .await
    }

    pub async fn staff_resume(&self, slot: &str, last_seq: u64) -> Client {
        Client::join(
            &self.ws_url(),
            json!({"type":"hello","protocol":1,"token":self.token(slot),"last_seq":last_seq}),
        )
        .await
    }

    pub async fn participant(&self, hall: &str) -> Client {
        Client::join(
            &self.ws_url(),
            json!({"type":"hello","protocol":1,"event":EVENT,"hall":hall,"device":uuid::Uuid::new_v4().to_string()}),
        )
        .await
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::new()
    }

    /// `GET /api/questions` as this seat sees it (with the event's `seq`).
    /// GET a route without a token and parse its JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        self.http()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        self.http()
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// One sample of `/metrics` by its full name with labels (0 when absent).
    pub async fn metric(&self, name: &str) -> f64 {
        self.metrics_text()
            .await
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .and_then(|rest| rest.trim().parse().ok())
            })
            .unwrap_or(0.0)
    }

    pub async fn questions(&self, seat: &str) -> Value {
        self.http()
            .get(format!("{}/api/questions", self.base))
            .bearer_auth(self.token(seat))
            .send()
            .await
            .expect("GET /api/questions")
            .json()
            .await
            .expect("questions JSON")
    }
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub welcome: Value,
    /// Every server message received so far, in order (pings excluded).
    pub log: Vec<Value>,
    /// Last sequence number seen in a snapshot or change.
    pub last_seq: u64,
    next_req: u64,
}

impl Client {
    pub async fn connect_raw(url: &str) -> WebSocketStream<MaybeTlsStream<TcpStream>> {
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        ws
    }

    pub async fn join(url: &str, hello: Value) -> Client {
        let mut ws = Self::connect_raw(url).await;
        ws.send(Message::Text(hello.to_string().into()))
            .await
            .expect("send hello");
        let mut c = Client {
            ws,
            welcome: Value::Null,
            log: Vec::new(),
            last_seq: 0,
            next_req: 0,
        };
        let first = c.recv().await.expect("welcome");
        assert_eq!(first["type"], "welcome", "expected welcome, got {first}");
        c.welcome = first;
        c
    }

    /// Like [`Client::join`], but `None` when the connection cannot be made
    /// or ends before the welcome (a node going away behind a proxy).
    pub async fn try_join(url: &str, hello: Value) -> Option<Client> {
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
        ws.send(Message::Text(hello.to_string().into()))
            .await
            .ok()?;
        let mut c = Client {
            ws,
            welcome: Value::Null,
            log: Vec::new(),
            last_seq: 0,
            next_req: 0,
        };
        let first = c.recv().await?;
        if first["type"] != "welcome" {
            return None;
        }
        c.welcome = first;
        Some(c)
    }

    /// Next server message other than ping/pong, or None when the socket closed.
    pub async fn recv(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .ok()??
                .ok()?;
            let Message::Text(t) = msg else {
                if matches!(msg, Message::Close(_)) {
                    return None;
                }
                continue;
            };
            let v: Value = serde_json::from_str(&t).expect("server sent JSON");
            if v["type"] == "ping" || v["type"] == "pong" {
                continue;
            }
            if v["type"] == "change" || v["type"] == "snapshot" {
                self.last_seq = v["seq"].as_u64().expect("seq");
            }
            self.log.push(v.clone());
            return Some(v);
        }
    }

    /// Receive until a message matches; panics after WAIT.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            match self.recv().await {
                Some(v) if pred(&v) => return v,
                Some(_) => continue,
                None => panic!("connection ended while waiting for {what}"),
            }
        }
    }

    /// The hints of question `id` in the latest `hints` frame naming it,
    /// once they satisfy `pred` (already received, or waited for; panics
    /// after WAIT).
    pub async fn hints_where(&mut self, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let entry = |m: &Value| -> Option<Value> {
            if m["type"] != "hints" {
                return None;
            }
            let e = m["hints"].as_array()?.iter().find(|e| e["id"] == id)?;
            Some(e["hints"].clone())
        };
        if let Some(h) = self.log.iter().rev().find_map(entry) {
            if pred(&h) {
                return h;
            }
        }
        loop {
            let m = self
                .recv()
                .await
                .unwrap_or_else(|| panic!("connection ended while waiting for hints of {id}"));
            if let Some(h) = entry(&m).filter(|h| pred(h)) {
                return h;
            }
        }
    }

    /// Receive until the change with this sequence number (or later) has arrived.
    pub async fn until_seq(&mut self, seq: u64) {
        while self.last_seq < seq {
            if self.recv().await.is_none() {
                panic!("connection ended before seq {seq}");
            }
        }
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("send");
    }

    /// Send a command and wait for its ack or error (other messages are logged).
    pub async fn cmd(&mut self, cmd: Value) -> Value {
        self.next_req += 1;
        let req = format!("r{}", self.next_req);
        let msg = json!({"type":"cmd","req":req,"cmd":cmd});
        self.send_raw(&msg.to_string()).await;
        self.until("reply", |v| {
            v["req"] == req.as_str() && (v["type"] == "ack" || v["type"] == "error")
        })
        .await
    }

    /// Send many commands without waiting, then collect every reply (in reply order).
    pub async fn pipeline(&mut self, cmds: Vec<Value>) -> Vec<Value> {
        let mut reqs = std::collections::HashSet::new();
        for cmd in cmds {
            self.next_req += 1;
            let req = format!("r{}", self.next_req);
            self.send_raw(&json!({"type":"cmd","req":req,"cmd":cmd}).to_string())
                .await;
            reqs.insert(req);
        }
        let mut replies = Vec::new();
        while !reqs.is_empty() {
            let v = self
                .recv()
                .await
                .expect("connection ended while waiting for replies");
            if v["type"] == "ack" || v["type"] == "error" {
                if let Some(r) = v["req"].as_str() {
                    if reqs.remove(r) {
                        replies.push(v);
                    }
                }
            }
        }
        replies
    }

    /// Send a command that must succeed; returns the ack.
    pub async fn ok(&mut self, cmd: Value) -> Value {
        let r = self.cmd(cmd.clone()).await;
        assert_eq!(r["type"], "ack", "command {cmd} failed: {r}");
        r
    }

    /// Question ids (in order of first appearance) carried by changes and snapshots received so far.
    pub fn seen_questions(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for m in &self.log {
            if let Some(qs) = m["questions"].as_array() {
                for q in qs {
                    let id = q["id"].as_str().unwrap_or_default().to_string();
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
            }
        }
        ids
    }

    /// Sequence numbers of the changes received so far, in order.
    pub fn change_seqs(&self) -> Vec<u64> {
        self.log
            .iter()
            .filter(|m| m["type"] == "change")
            .filter_map(|m| m["seq"].as_u64())
            .collect()
    }

    /// Read until the server's Close frame (text frames are logged);
    /// its code and reason, or `None` if the connection ended without one.
    pub async fn close_frame(&mut self) -> Option<(u16, String)> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Close(frame) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                }
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).expect("server sent JSON");
                    if v["type"] != "ping" {
                        self.log.push(v);
                    }
                }
                _ => {}
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// A submit command with a fresh id.
pub fn submit(text: &str, hall: &str) -> (String, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    (
        id.clone(),
        json!({"type":"submit","id":id,"text":text,"hall":hall}),
    )
}
