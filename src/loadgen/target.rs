//! The servers under test and how to watch them: the real doithoai server
//! (in this process, or as a child `doithoai serve` so its CPU and memory are
//! its own), the bare fan-out baseline and the Node.js `ws` baseline (child
//! processes), plus `/metrics` scraping and `/proc` sampling.
//!
//! Only loopback addresses are ever targeted: every server here binds
//! 127.0.0.1, and `--url` is refused unless it names a loopback host.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::Error;
use crate::config::ServeConfig;
use crate::event::{EventConfig, Hall};
use crate::store::sqlite::SqliteStore;
use crate::store::Store;

/// Which server a run talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Doithoai,
    /// `loadgen bare-server`: axum ws with the same buffers, no store, no logic.
    Bare,
    /// bench/node/server.js on the `ws` package.
    Node,
    /// nginx with the nchan pub/sub module (Debian `libnginx-mod-nchan`):
    /// a C fan-out server, one worker, every WebSocket a publisher and a
    /// subscriber of one channel.
    Nchan,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Doithoai => "doithoai",
            Kind::Bare => "bare axum fan-out",
            Kind::Node => "Node ws",
            Kind::Nchan => "nginx nchan",
        }
    }
}

/// Where the doithoai server runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Same process as the clients (tests; CPU and RSS then include the clients).
    InProcess,
    /// `doithoai serve` as a child process (the binary next to this one).
    Child,
    /// A server started by someone else, on a loopback address: its data
    /// directory (for tokens and the change log, read with SQLite's WAL
    /// alongside the server) and, for CPU and RSS, its process id.
    External {
        url: String,
        data_dir: PathBuf,
        event: String,
        pid: Option<u32>,
    },
}

/// Settings of a doithoai server for a run.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub placement: Placement,
    pub halls: usize,
    /// Parent directory for the run's fresh data directory.
    pub work_dir: PathBuf,
}

/// A running server.
pub struct Server {
    pub kind: Kind,
    pub addr: SocketAddr,
    /// Process whose CPU and memory are sampled (our own when in-process).
    pub pid: u32,
    pub in_process: bool,
    pub data_dir: Option<PathBuf>,
    /// The data directory belongs to someone else: never remove it.
    pub keep_data: bool,
    pub event: Option<EventConfig>,
    /// Seat → token for the event.
    pub tokens: HashMap<String, String>,
    /// Set when the node's store is PostgreSQL (the change log is read there).
    pub database_url: Option<String>,
    child: Option<Child>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// An event with `halls` halls and the built-in departments and groups.
pub fn bench_event(halls: usize) -> Result<EventConfig, Error> {
    let base = EventConfig::builtin();
    let mut e = base.clone();
    e.id = format!("bench-{halls}");
    e.name = format!("Đối thoại thử tải, {halls} điểm cầu");
    e.halls = (0..halls)
        .map(|i| match base.halls.get(i) {
            Some(h) if halls <= base.halls.len() => h.clone(),
            _ => Hall {
                id: format!("xa-{:03}", i + 1),
                name: format!("Xã {:03}", i + 1),
            },
        })
        .collect();
    // Round-trip through the validating parser, as an operator's file would go.
    Ok(EventConfig::from_toml(&e.to_toml())?)
}

fn fresh_dir(parent: &Path, what: &str) -> Result<PathBuf, Error> {
    let dir = parent.join(format!(
        "{what}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Prepare a data directory holding only the bench event; return its tokens.
async fn prepare_store(dir: &Path, event: &EventConfig) -> Result<HashMap<String, String>, Error> {
    let store = SqliteStore::open(dir).await?;
    store.put_event(event).await?;
    let secret = crate::load_secret(&crate::config::StoreConfig::sqlite_in(dir))?;
    let issued = crate::auth::issue_tokens(&store, &secret, event, "", None).await?;
    store.pool().close().await;
    Ok(issued.into_iter().map(|t| (t.slot, t.token)).collect())
}

/// `doithoai serve` on an SQLite data directory, as the benchmarks run it.
fn sqlite_serve_command(dir: &Path, listen: &str) -> Result<Command, Error> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))?;
    let mut cmd = Command::new(sibling_binary("doithoai")?);
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(dir)
        .args(["--listen", listen, "--quiet-tokens"])
        .env("DOITHOAI_ADDRESS_PER_MINUTE", "10000000")
        .env("DOITHOAI_DEVICE_PER_MINUTE", "60")
        .env("RUST_LOG", "warn,sqlx=warn")
        .env_remove("DOITHOAI_SECRET")
        .env_remove("DOITHOAI_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    Ok(cmd)
}

impl Server {
    /// Start a child SQLite server again on its data directory and address
    /// (after [`Server::kill9`]): clients reconnect to the same URL.
    pub async fn restart(&mut self) -> Result<(), Error> {
        let dir = self
            .data_dir
            .clone()
            .ok_or("only a child server with its own data directory restarts")?;
        if self.database_url.is_some() || self.in_process || self.child.is_none() {
            return Err("restart is for a child SQLite server".into());
        }
        let cmd = sqlite_serve_command(&dir, &self.addr.to_string())?;
        let (child, addr) = spawn_and_find_addr(cmd, "running at http://").await?;
        self.pid = child.id().ok_or("child exited at once")?;
        self.addr = addr;
        self.child = Some(child);
        Ok(())
    }

    /// Start doithoai with a fresh data directory and an event of `spec.halls` halls.
    pub async fn doithoai(spec: &ServerSpec) -> Result<Server, Error> {
        if let Placement::External {
            url,
            data_dir,
            event,
            pid,
        } = &spec.placement
        {
            return Server::external(url, data_dir, event, *pid).await;
        }
        let event = bench_event(spec.halls)?;
        let dir = fresh_dir(&spec.work_dir, "doithoai")?;
        let tokens = prepare_store(&dir, &event).await?;
        let mut server = match spec.placement {
            Placement::InProcess => {
                let mut config = ServeConfig::for_tests(&dir);
                // Every phone here shares 127.0.0.1, and each submits rarely.
                config.address_per_minute = 10_000_000;
                config.device_per_minute = 60;
                let listener = crate::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
                let addr = listener.local_addr()?;
                let app = crate::open(config).await?;
                let (tx, rx) = oneshot::channel::<()>();
                let task = tokio::spawn(crate::serve(listener, app, async move {
                    let _ = rx.await;
                }));
                Server {
                    kind: Kind::Doithoai,
                    addr,
                    pid: std::process::id(),
                    in_process: true,
                    data_dir: None,
                    keep_data: false,
                    event: None,
                    tokens: HashMap::new(),
                    database_url: None,
                    child: None,
                    shutdown: Some(tx),
                    task: Some(task),
                }
            }
            Placement::Child => {
                let cmd = sqlite_serve_command(&dir, "127.0.0.1:0")?;
                let (child, addr) = spawn_and_find_addr(cmd, "running at http://").await?;
                Server::child(Kind::Doithoai, child, addr)?
            }
            Placement::External { .. } => unreachable!("handled above"),
        };
        server.data_dir = Some(dir);
        server.event = Some(event);
        server.tokens = tokens;
        Ok(server)
    }

    /// Attach to a running doithoai (loopback only) through its data directory.
    async fn external(
        url: &str,
        dir: &Path,
        event_id: &str,
        pid: Option<u32>,
    ) -> Result<Server, Error> {
        let host_port = url
            .strip_prefix("ws://")
            .ok_or("--url must be ws://127.0.0.1:PORT/ws")?
            .split('/')
            .next()
            .unwrap_or_default();
        let addr: SocketAddr = tokio::net::lookup_host(host_port)
            .await?
            .next()
            .ok_or("--url names no address")?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "refusing to load-test {addr}: only loopback addresses may be targeted"
            )
            .into());
        }
        let store = SqliteStore::open(dir).await?;
        let event = store
            .events()
            .await?
            .into_iter()
            .find(|e| e.id == event_id)
            .ok_or_else(|| format!("no event {event_id} in {}", dir.display()))?;
        let secret = crate::load_secret(&crate::config::StoreConfig::sqlite_in(dir))?;
        let issued = crate::auth::issue_tokens(&store, &secret, &event, "", None).await?;
        store.pool().close().await;
        Ok(Server {
            kind: Kind::Doithoai,
            addr,
            pid: pid.unwrap_or(0),
            in_process: false,
            data_dir: Some(dir.to_path_buf()),
            keep_data: true,
            event: Some(event),
            tokens: issued.into_iter().map(|t| (t.slot, t.token)).collect(),
            database_url: None,
            child: None,
            shutdown: None,
            task: None,
        })
    }

    /// Remove the run's data directory, unless it belongs to someone else.
    pub fn discard_data(dir: Option<PathBuf>, keep: bool) {
        if let (Some(d), false) = (dir, keep) {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    /// Start a baseline fan-out server as a child process.
    pub async fn baseline(kind: Kind, repo_dir: &Path) -> Result<Server, Error> {
        if kind == Kind::Nchan {
            return Server::nchan().await;
        }
        let mut cmd = match kind {
            Kind::Bare => {
                let mut c = Command::new(std::env::current_exe()?);
                c.args(["bare-server", "--listen", "127.0.0.1:0"]);
                c
            }
            Kind::Node => {
                let mut c = Command::new("node");
                c.arg(repo_dir.join("bench/node/server.js"))
                    .env("HOST", "127.0.0.1")
                    .env("PORT", "0");
                c
            }
            Kind::Doithoai | Kind::Nchan => return Err("use Server::doithoai".into()),
        };
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let (child, addr) = spawn_and_find_addr(cmd, "listening on ").await?;
        Server::child(kind, child, addr)
    }

    /// nginx + nchan as a child process (master and one worker) with a
    /// configuration of its own in a fresh directory; the worker is sampled.
    async fn nchan() -> Result<Server, Error> {
        let dir = fresh_dir(&std::env::temp_dir(), "doithoai-nchan")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let files = open_files_limit().saturating_sub(100).max(1024);
        let d = dir.display();
        let config = format!(
            "load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
daemon off;
master_process on;
worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
worker_rlimit_nofile {files};
events {{ worker_connections {files}; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  server {{
    listen {port} backlog=4096;
    location = /ws {{
      nchan_pubsub websocket;
      nchan_channel_id bench;
      nchan_message_buffer_length 1;
      nchan_message_timeout 10s;
    }}
  }}
}}
"
        );
        std::fs::write(dir.join("nginx.conf"), config)?;
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!("cannot start nginx (apt-get install nginx libnginx-mod-nchan): {e}")
            })?;
        let master = child.id().ok_or("nginx exited at once")?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let worker = loop {
            let workers = child_pids(master);
            if tokio::net::TcpStream::connect(port).await.is_ok() && !workers.is_empty() {
                break workers[0];
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "nginx did not listen on {port} within 20 s: {}",
                    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let mut server = Server::child(Kind::Nchan, child, port)?;
        server.pid = worker;
        server.data_dir = Some(dir);
        Ok(server)
    }

    fn child(kind: Kind, child: Child, addr: SocketAddr) -> Result<Server, Error> {
        let pid = child.id().ok_or("child exited at once")?;
        Ok(Server {
            kind,
            addr,
            pid,
            in_process: false,
            data_dir: None,
            keep_data: false,
            event: None,
            tokens: HashMap::new(),
            database_url: None,
            child: Some(child),
            shutdown: None,
            task: None,
        })
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn event(&self) -> Result<&EventConfig, Error> {
        self.event
            .as_ref()
            .ok_or_else(|| "not a doithoai server".into())
    }

    pub fn token(&self, slot: &str) -> Result<String, Error> {
        self.tokens
            .get(slot)
            .cloned()
            .ok_or_else(|| format!("no token for seat {slot}").into())
    }

    /// The server's Prometheus counters (doithoai only).
    pub async fn metrics(&self) -> Result<Metrics, Error> {
        let text = http_get(self.addr, "/metrics").await?;
        Ok(Metrics::parse(&text))
    }

    pub fn sample(&self) -> ProcSample {
        ProcSample::of(self.pid)
    }

    /// `kill -9`: the process dies where it stands (no flush, no goodbye).
    pub async fn kill9(&mut self) -> Result<(), Error> {
        let child = self
            .child
            .as_mut()
            .ok_or("only a child process can be killed")?;
        child.start_kill()?;
        child.wait().await?;
        Ok(())
    }

    /// Stop gracefully (doithoai flushes its writers); kill after a grace period.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
        if let Some(mut child) = self.child.take() {
            #[cfg(unix)]
            if let Some(pid) = child.id() {
                // SIGTERM: doithoai's graceful shutdown path.
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status();
            }
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

/// The open-files limit of this process (children inherit it).
pub fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(1024)
}

/// Process ids whose parent is `pid`.
fn child_pids(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    // The fields after the command name, which may hold spaces.
                    let rest = &s[s.rfind(')')? + 2..];
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// A binary built alongside the running one (target/<profile>/NAME).
pub fn sibling_binary(name: &str) -> Result<PathBuf, Error> {
    // A/B comparisons of two server builds: LOADGEN_SERVER_BIN=/path/to/doithoai.
    if name == "doithoai" {
        if let Some(p) = std::env::var_os("LOADGEN_SERVER_BIN") {
            return Ok(PathBuf::from(p));
        }
    }
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().ok_or("no exe dir")?.to_path_buf();
    // Test binaries live in target/<profile>/deps.
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: run `cargo build --release --bins` first",
            path.display()
        )
        .into())
    }
}

async fn spawn_and_find_addr(mut cmd: Command, marker: &str) -> Result<(Child, SocketAddr), Error> {
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.split(marker).nth(1) {
                let addr: String = rest
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '/')
                    .collect();
                return Ok::<_, Error>(Some(addr.parse::<SocketAddr>()?));
            }
        }
        Ok(None)
    })
    .await
    .map_err(|_| "server did not start within 30 s")??
    .ok_or("server exited before printing its address")?;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    if !found.ip().is_loopback() {
        return Err(format!("refusing non-loopback address {found}").into());
    }
    Ok((child, found))
}

/// A tiny HTTP/1.1 GET (no client library needed for two endpoints).
pub async fn http_get(addr: SocketAddr, path: &str) -> Result<String, Error> {
    Ok(http_get_full(addr, path).await?.1)
}

/// The status code of a GET (0 when the answer has no status line).
pub async fn http_status(addr: SocketAddr, path: &str) -> Result<u16, Error> {
    Ok(http_get_full(addr, path).await?.0)
}

async fn http_get_full(addr: SocketAddr, path: &str) -> Result<(u16, String), Error> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf))
        .await
        .map_err(|_| "HTTP timeout")??;
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    Ok((status, body.to_string()))
}

/// Scraped Prometheus counters by full name (labels included).
#[derive(Debug, Clone, Default)]
pub struct Metrics(pub HashMap<String, f64>);

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let map = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect();
        Metrics(map)
    }
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }
    /// `self - earlier` for one counter.
    pub fn delta(&self, earlier: &Metrics, name: &str) -> f64 {
        self.get(name) - earlier.get(name)
    }
}

/// CPU time and memory of a process, from /proc.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProcSample {
    /// User + system CPU seconds.
    pub cpu_s: f64,
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    /// Seconds the process's threads spent runnable but waiting for a CPU
    /// (summed over threads, from /proc/PID/task/*/schedstat): how much the
    /// other work on the machine held it back.
    pub run_wait_s: f64,
    pub at_us: u64,
}

/// Linux reports CPU time in clock ticks of 1/100 s on every mainstream build.
const CLOCK_TICKS: f64 = 100.0;

impl ProcSample {
    pub fn of(pid: u32) -> ProcSample {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name, which is in parentheses and may hold spaces.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        // utime and stime are fields 14 and 15 of stat; here 0-based after ')' that is 11 and 12.
        let cpu_s = (tick(11) + tick(12)) as f64 / CLOCK_TICKS;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let mut wait_ns = 0u64;
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                let text = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
                wait_ns += text
                    .split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        ProcSample {
            cpu_s,
            rss_kib: kib("VmRSS:"),
            peak_rss_kib: kib("VmHWM:"),
            run_wait_s: wait_ns as f64 / 1e9,
            at_us: super::stats::now_us(),
        }
    }

    /// Threads waiting for a CPU, on average, between `earlier` and `self`
    /// (0.5 = half a thread was always runnable but not running).
    pub fn waiting_since(&self, earlier: &ProcSample) -> f64 {
        let wall = (self.at_us.saturating_sub(earlier.at_us)) as f64 / 1e6;
        if wall <= 0.0 {
            return 0.0;
        }
        (self.run_wait_s - earlier.run_wait_s) / wall
    }

    /// Cores used on average between `earlier` and `self`.
    pub fn cores_since(&self, earlier: &ProcSample) -> f64 {
        let wall = (self.at_us.saturating_sub(earlier.at_us)) as f64 / 1e6;
        if wall <= 0.0 {
            return 0.0;
        }
        (self.cpu_s - earlier.cpu_s) / wall
    }
}

/// A fresh PostgreSQL database for one run, `doithoai_bench_<uuid>`, created
/// through a maintenance database on a loopback host and dropped by [`PgBenchDb::drop_db`].
pub struct PgBenchDb {
    pub url: String,
    name: String,
    admin: String,
}

impl PgBenchDb {
    pub async fn create(admin: &str) -> Result<PgBenchDb, Error> {
        use sqlx::{ConnectOptions, Executor};
        let options: sqlx::postgres::PgConnectOptions = admin.parse()?;
        let host = options.get_host();
        if !(host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback()))
        {
            return Err(format!("refusing PostgreSQL on {host}: loopback only").into());
        }
        let name = format!("doithoai_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = options.connect().await.map_err(|e| {
            format!("PostgreSQL did not answer at {admin} (start it, or pass --pg-admin-url): {e}")
        })?;
        conn.execute(format!("CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0").as_str())
            .await?;
        drop(conn);
        let (base, query) = match admin.split_once('?') {
            Some((b, q)) => (b, format!("?{q}")),
            None => (admin, String::new()),
        };
        let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
        Ok(PgBenchDb {
            url: format!("{base}/{name}{query}"),
            name,
            admin: admin.to_string(),
        })
    }

    pub async fn drop_db(self) -> Result<(), Error> {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::PgConnection::connect(&self.admin).await?;
        conn.execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
            .await?;
        Ok(())
    }
}

/// Start `nodes` child `doithoai serve` processes sharing the PostgreSQL
/// database `url` and one secret file, with the bench event and its tokens
/// Whether clients reach the nodes directly or through a proxy on loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behind {
    Nothing,
    /// The nodes trust 127.0.0.1 as their proxy (`--trusted-proxies`).
    Proxy,
}

/// prepared there first. Each node gets its own data directory (its secret
/// file lives in the first one).
pub async fn doithoai_pg_nodes(
    spec: &ServerSpec,
    url: &str,
    nodes: usize,
    behind: Behind,
) -> Result<Vec<Server>, Error> {
    let event = bench_event(spec.halls)?;
    let dir = fresh_dir(&spec.work_dir, "doithoai-pg")?;
    let secret_file = dir.join("secret.key");
    let store_config = crate::config::StoreConfig {
        data_dir: dir.clone(),
        database_url: Some(url.to_string()),
        secret_file: Some(secret_file.clone()),
        sqlite_max_pages: None,
    };
    // Created once, before any node starts, so every node reads the same one.
    let secret = crate::load_secret(&store_config)?;
    let store = crate::store::postgres::PgStore::open(url).await?;
    store.put_event(&event).await?;
    let issued = crate::auth::issue_tokens(&store, &secret, &event, "", None).await?;
    store.pool().close().await;
    let tokens: HashMap<String, String> = issued.into_iter().map(|t| (t.slot, t.token)).collect();
    let mut servers = Vec::with_capacity(nodes);
    for i in 0..nodes {
        let node_dir = dir.join(format!("node{}", i + 1));
        std::fs::create_dir_all(&node_dir)?;
        let log = std::fs::File::create(node_dir.join("server.log"))?;
        let mut cmd = Command::new(sibling_binary("doithoai")?);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&node_dir)
            .arg("--database-url")
            .arg(url)
            .arg("--secret-file")
            .arg(&secret_file)
            .args(["--listen", "127.0.0.1:0", "--quiet-tokens"])
            .env("DOITHOAI_ADDRESS_PER_MINUTE", "10000000")
            .env("DOITHOAI_DEVICE_PER_MINUTE", "60")
            .env("RUST_LOG", "warn,sqlx=warn")
            .env_remove("DOITHOAI_SECRET")
            .env_remove("DOITHOAI_TRUSTED_PROXIES")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if behind == Behind::Proxy {
            // As docker-compose.yml names its HAProxy: here it connects from loopback.
            cmd.env("DOITHOAI_TRUSTED_PROXIES", "127.0.0.1");
        }
        let (child, addr) = spawn_and_find_addr(cmd, "running at http://").await?;
        let mut server = Server::child(Kind::Doithoai, child, addr)?;
        // Only the first node owns (and removes) the shared directory.
        server.data_dir = (i == 0).then(|| dir.clone());
        server.event = Some(event.clone());
        server.tokens = tokens.clone();
        server.database_url = Some(url.to_string());
        servers.push(server);
    }
    Ok(servers)
}

/// The sum of several processes' samples (CPU, memory, waiting), as one.
pub fn sample_all(servers: &[Server]) -> ProcSample {
    servers
        .iter()
        .map(Server::sample)
        .fold(ProcSample::default(), |a, b| ProcSample {
            cpu_s: a.cpu_s + b.cpu_s,
            rss_kib: a.rss_kib + b.rss_kib,
            peak_rss_kib: a.peak_rss_kib + b.peak_rss_kib,
            run_wait_s: a.run_wait_s + b.run_wait_s,
            at_us: a.at_us.max(b.at_us),
        })
}

/// The sum of several servers' counters.
pub async fn metrics_all(servers: &[Server]) -> Result<Metrics, Error> {
    let mut total = Metrics::default();
    for s in servers {
        for (k, v) in s.metrics().await?.0 {
            let slot = total.0.entry(k.clone()).or_default();
            // Counters add up over nodes; a maximum stays the largest.
            if k.ends_with("_max_seconds") {
                *slot = slot.max(v);
            } else {
                *slot += v;
            }
        }
    }
    Ok(total)
}
