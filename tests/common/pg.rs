//! PostgreSQL for tests: a fresh database per test (dropped afterwards, even
//! when the test panics), configurations for nodes sharing it, and a node
//! that runs in its own runtime so a test can kill it without any flush.
//!
//! PostgreSQL must answer at `DOITHOAI_TEST_PG_URL` (a maintenance database,
//! default postgres://postgres@127.0.0.1:5432/postgres); if it does not, the
//! test fails with a message saying so. It is never skipped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde_json::json;
use sqlx::{Connection, Executor, PgConnection};

use super::Client;
use doithoai::config::ServeConfig;

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn admin_url() -> String {
    std::env::var("DOITHOAI_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_string())
}

async fn admin_connection(admin: &str) -> PgConnection {
    PgConnection::connect(admin).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is required for this test and did not answer at {admin}: {e}\n\
             Start it (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) \
             or set DOITHOAI_TEST_PG_URL to a maintenance database URL."
        )
    })
}

/// A database of its own, `doithoai_test_<uuid>`, dropped on drop.
pub struct TestDb {
    pub url: String,
    pub name: String,
    admin: String,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin = admin_url();
        let mut conn = admin_connection(&admin).await;
        let name = format!("doithoai_test_{}", uuid::Uuid::new_v4().simple());
        conn.execute(format!("CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0").as_str())
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = conn.close().await;
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let (base, query) = match admin.split_once('?') {
            Some((_, q)) => (base.to_string(), format!("?{q}")),
            None => (base.to_string(), String::new()),
        };
        TestDb {
            url: format!("{base}/{name}{query}"),
            name,
            admin,
        }
    }

    /// A connection to the maintenance database (to alter or cut this one).
    pub async fn admin(&self) -> PgConnection {
        admin_connection(&self.admin).await
    }

    /// A plain connection for checks straight in the database.
    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Drop runs inside the test's runtime, which cannot be blocked on, so
        // the cleanup gets a thread and a runtime of its own.
        let done = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&admin).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = conn.execute(sql.as_str()).await {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                }
            });
        });
        let _ = done.join();
    }
}

/// Several nodes of one deployment: one database, one shared secret file.
pub struct Deployment {
    pub db: TestDb,
    pub temp: tempfile::TempDir,
    pub secret_file: PathBuf,
}

impl Deployment {
    pub async fn new() -> Deployment {
        let db = TestDb::create().await;
        let temp = tempfile::tempdir().expect("temp dir");
        let secret_file = temp.path().join("shared-secret.key");
        std::fs::write(&secret_file, "5a".repeat(32)).expect("write secret");
        Deployment {
            db,
            temp,
            secret_file,
        }
    }

    /// Settings for node `name` (its own data directory, the shared database and secret).
    pub fn node_config(&self, name: &str) -> ServeConfig {
        let mut config = ServeConfig::for_tests(self.temp.path().join(name));
        config.store.database_url = Some(self.db.url.clone());
        config.store.secret_file = Some(self.secret_file.clone());
        config
    }
}

/// Settings for a node on `db_url` using `secret_file`.
pub fn pg_config(dir: &Path, db_url: &str, secret_file: &Path) -> ServeConfig {
    let mut config = ServeConfig::for_tests(dir);
    config.store.database_url = Some(db_url.to_string());
    config.store.secret_file = Some(secret_file.to_path_buf());
    config
}

/// A server node running on its own thread and runtime. `kill` drops that
/// runtime: every task stops where it stands (no writer flush, no goodbye
/// frame, connections simply close), as when a process dies.
pub struct ThreadNode {
    pub addr: SocketAddr,
    pub tokens: HashMap<String, String>,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ThreadNode {
    pub async fn start(config: ServeConfig) -> ThreadNode {
        super::init_logs();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("node runtime");
            let started = rt.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                let addr = listener.local_addr().expect("addr");
                let app = doithoai::open(config).await.expect("open node");
                let mut tokens = HashMap::new();
                for ev in app.engine.events() {
                    let issued = doithoai::auth::issue_tokens(
                        app.engine.store().as_ref(),
                        app.engine.secret(),
                        &ev.config,
                        "",
                        None,
                    )
                    .await
                    .expect("tokens");
                    tokens.extend(issued.into_iter().map(|t| (t.slot, t.token)));
                }
                tokio::spawn(doithoai::serve(listener, app, std::future::pending()));
                (addr, tokens)
            });
            let _ = ready_tx.send(started);
            rt.block_on(async {
                let _ = kill_rx.await;
            });
            // Abrupt: drop the runtime and every task in it, mid-flight.
            drop(rt);
        });
        let (addr, tokens) = ready_rx.await.expect("node thread started");
        ThreadNode {
            addr,
            tokens,
            kill: Some(kill_tx),
            thread: Some(thread),
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn token(&self, slot: &str) -> String {
        self.tokens
            .get(slot)
            .cloned()
            .unwrap_or_else(|| panic!("no token for {slot}"))
    }

    pub async fn staff(&self, slot: &str) -> Client {
        Client::join(
            &self.ws_url(),
            json!({"type":"hello","protocol":1,"token":self.token(slot)}),
        )
        .await
    }

    /// Kill the node without any graceful step; returns once its runtime is gone.
    pub fn kill(mut self) {
        self.stop_thread();
    }

    fn stop_thread(&mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ThreadNode {
    fn drop(&mut self) {
        self.stop_thread();
    }
}

impl Client {
    /// Join `url` as the seat of `token`, resuming after `last_seq`.
    pub async fn resume(url: &str, token: &str, last_seq: u64) -> Client {
        Client::join(
            url,
            json!({"type":"hello","protocol":1,"token":token,"last_seq":last_seq}),
        )
        .await
    }

    /// Send a command and wait for its reply; `None` when the connection
    /// ends first (the command may or may not have been committed then).
    pub async fn try_cmd(&mut self, cmd: serde_json::Value) -> Option<serde_json::Value> {
        use futures_util::SinkExt;
        self.next_req += 1;
        let req = format!("r{}", self.next_req);
        let msg = json!({"type":"cmd","req":req,"cmd":cmd}).to_string();
        let sent = self
            .ws
            .send(tokio_tungstenite::tungstenite::Message::Text(msg.into()))
            .await;
        if sent.is_err() {
            return None;
        }
        loop {
            let v = self.recv().await?;
            if v["req"] == req.as_str() && (v["type"] == "ack" || v["type"] == "error") {
                return Some(v);
            }
        }
    }
}

/// A TCP proxy in front of PostgreSQL that, once armed, lets the next
/// `COMMIT` through and then cuts that connection before the answer comes
/// back: the transaction is committed, and the client cannot know it. (What
/// a network failure at the worst moment does.) With `down`, every
/// connection is cut and new ones are refused until `heal`.
pub struct CommitCutter {
    pub addr: SocketAddr,
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Whether the cut takes the whole database away too.
    down_on_cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    down: tokio::sync::watch::Sender<bool>,
    pub cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// While true, PostgreSQL's answers are held back (nothing is cut): a
    /// database, or the way to it, gone slow.
    stalled: tokio::sync::watch::Sender<bool>,
}

impl CommitCutter {
    pub async fn start(target: SocketAddr) -> CommitCutter {
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        use std::sync::Arc;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr");
        let cutter = CommitCutter {
            addr,
            armed: Arc::new(AtomicBool::new(false)),
            down_on_cut: Arc::new(AtomicBool::new(false)),
            down: tokio::sync::watch::channel(false).0,
            cuts: Arc::new(AtomicUsize::new(0)),
            stalled: tokio::sync::watch::channel(false).0,
        };
        let relay = Relay {
            target,
            armed: cutter.armed.clone(),
            down_on_cut: cutter.down_on_cut.clone(),
            down: cutter.down.clone(),
            cuts: cutter.cuts.clone(),
            stalled: cutter.stalled.clone(),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *relay.down.borrow() {
                    continue; // refused: dropped at once
                }
                tokio::spawn(relay.clone().run(client));
            }
        });
        cutter
    }

    /// Cut the connection that sends the next COMMIT.
    pub fn arm(&self) {
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Cut the next COMMIT's connection and then every other, refusing new
    /// ones until [`CommitCutter::heal`]: the database is gone.
    pub fn arm_and_go_down(&self) {
        self.down_on_cut
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.arm();
    }

    /// Hold back every answer from PostgreSQL until [`CommitCutter::unstall`].
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    pub fn unstall(&self) {
        self.stalled.send_replace(false);
    }

    pub fn heal(&self) {
        self.down_on_cut
            .store(false, std::sync::atomic::Ordering::SeqCst);
        self.down.send_replace(false);
    }

    /// A cutter in front of the database at `url`, and the URL that reaches
    /// it through the cutter (plain text on the wire, so COMMIT is visible).
    pub async fn in_front_of(url: &str) -> (CommitCutter, String) {
        let (scheme, rest) = url.split_once("://").expect("scheme");
        let (authority, path) = rest.split_once('/').expect("path");
        let (user, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (format!("{u}@"), h),
            None => (String::new(), authority),
        };
        let host = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:5432")
        };
        let target = tokio::net::lookup_host(&host)
            .await
            .ok()
            .and_then(|mut a| a.next())
            .unwrap_or_else(|| panic!("cannot resolve {host}"));
        let cutter = CommitCutter::start(target).await;
        let sep = if path.contains('?') { '&' } else { '?' };
        let proxied = format!(
            "{scheme}://{user}{}/{path}{sep}sslmode=disable",
            cutter.addr
        );
        (cutter, proxied)
    }
}

#[derive(Clone)]
struct Relay {
    target: SocketAddr,
    armed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    down_on_cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    down: tokio::sync::watch::Sender<bool>,
    cuts: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stalled: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn run(self, client: tokio::net::TcpStream) {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        // A simple-query message: 'Q', length 11, "COMMIT\0".
        const COMMIT: &[u8] = b"Q\x00\x00\x00\x0bCOMMIT\x00";
        let Ok(server) = tokio::net::TcpStream::connect(self.target).await else {
            return;
        };
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();
        let cutting = std::sync::Arc::new(AtomicBool::new(false));
        let cutting_up = cutting.clone();
        let relay = self.clone();
        let up = tokio::spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match cr.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let commit = buf[..n].windows(COMMIT.len()).any(|w| w == COMMIT);
                if commit && relay.armed.swap(false, SeqCst) {
                    // Nothing more goes back to the client from here on.
                    cutting_up.store(true, SeqCst);
                    relay.cuts.fetch_add(1, SeqCst);
                    let _ = sw.write_all(&buf[..n]).await;
                    // Let PostgreSQL commit, then drop both sides.
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    if relay.down_on_cut.load(SeqCst) {
                        relay.down.send_replace(true);
                    }
                    return;
                }
                if sw.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
        let mut down = self.down.subscribe();
        let mut stalled = self.stalled.subscribe();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let read = tokio::select! {
                r = sr.read(&mut buf) => r,
                _ = down.wait_for(|d| *d) => break,
                _ = async { while !up.is_finished() { tokio::time::sleep(std::time::Duration::from_millis(10)).await } } => break,
            };
            let n = match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if cutting.load(SeqCst) {
                continue; // swallowed: the client must not learn the outcome
            }
            if stalled.wait_for(|s| !*s).await.is_err() {
                break;
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        up.abort();
    }
}
