//! The real `doithoai` binary as a child process, for what an embedded
//! server cannot show: `kill -9` in the middle of a fault, and what the
//! server logs. Plus an independent reader of its SQLite file, which sees
//! only what really reached the database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::{Connection, Row, SqliteConnection};

use super::EVENT;

pub struct ServerProcess {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// Everything the server logged so far (stderr).
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// `doithoai serve` on port 0 in `data_dir` with `extra` arguments;
    /// returns once it listens.
    pub fn start(data_dir: &Path, extra: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_doithoai"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", "127.0.0.1:0", "--quiet-tokens"])
            // Every submission comes from this test's one address.
            .args(["--address-per-minute", "1000000"])
            .args(["--http-submit-per-address-per-minute", "1000000"])
            .args(extra)
            .env_remove("DOITHOAI_SECRET")
            .env("RUST_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the doithoai binary");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var("TEST_LOG").is_ok() {
                    eprintln!("[server] {line}");
                }
                let mut log = sink.lock().unwrap_or_else(|p| p.into_inner());
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (found, base) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("running at ").nth(1) {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    if let Some(tx) = found.take() {
                        let _ = tx.send(url);
                    }
                }
            }
        });
        let base = match base.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the server did not start: {}",
                    log.lock().unwrap_or_else(|p| p.into_inner())
                );
            }
        };
        ServerProcess {
            child,
            base,
            data_dir: data_dir.to_path_buf(),
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// A phone's HTTP submission with a fresh id and device.
    pub async fn submit(&self, http: &reqwest::Client, text: &str) -> Submitted {
        let id = uuid::Uuid::new_v4().to_string();
        self.resubmit(http, &id, text).await
    }

    /// A phone's HTTP submission (again) under `id`.
    pub async fn resubmit(&self, http: &reqwest::Client, id: &str, text: &str) -> Submitted {
        let body = json!({"id": id, "text": text, "hall": "tinh", "device": uuid::Uuid::new_v4()});
        let r = http
            .post(format!("{}/api/events/{EVENT}/questions", self.base))
            .json(&body)
            .send()
            .await
            .expect("POST a question");
        let status = r.status().as_u16();
        let reply: Value = r.json().await.unwrap_or(Value::Null);
        Submitted {
            id: id.to_string(),
            status,
            reply,
        }
    }

    /// `GET /healthz`: status and body.
    pub async fn health(&self) -> (u16, Value) {
        match reqwest::get(format!("{}/healthz", self.base)).await {
            Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
            Err(e) => panic!("GET /healthz: {e}"),
        }
    }

    /// Poll `/healthz` until it answers `status`; returns how long that took.
    pub async fn wait_health(&self, status: u16) -> Duration {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if self.health().await.0 == status {
                return start.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "/healthz never answered {status}: {:?}\n{}",
            self.health().await,
            self.log()
        );
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Submitted {
    pub id: String,
    pub status: u16,
    pub reply: Value,
}

impl Submitted {
    /// Acknowledged: stored under the returned `seq`.
    pub fn seq(&self) -> Option<u64> {
        (self.status == 201)
            .then(|| self.reply["seq"].as_u64())
            .flatten()
    }
    pub fn code(&self) -> &str {
        self.reply["code"].as_str().unwrap_or_default()
    }
}

/// A reader of the SQLite file with its own connection (no page limit):
/// it sees only what was really committed.
pub struct Reader(SqliteConnection);

impl Reader {
    pub async fn open(data_dir: &Path) -> Reader {
        let url = format!("sqlite://{}", data_dir.join("doithoai.db").display());
        Reader(
            SqliteConnection::connect(&url)
                .await
                .expect("open the database as an independent reader"),
        )
    }

    pub async fn last_seq(&mut self) -> u64 {
        sqlx::query_scalar::<_, i64>("SELECT last_seq FROM events WHERE id = ?")
            .bind(EVENT)
            .fetch_one(&mut self.0)
            .await
            .expect("last_seq") as u64
    }

    /// Every logged submission: (seq, question id), in log order.
    pub async fn submissions(&mut self) -> Vec<(u64, String)> {
        let rows = sqlx::query(
            "SELECT seq, body FROM changes WHERE event_id = ? AND action = 'submit' ORDER BY seq",
        )
        .bind(EVENT)
        .fetch_all(&mut self.0)
        .await
        .expect("read the log");
        rows.iter()
            .map(|r| {
                let body: Value =
                    serde_json::from_str(&r.get::<String, _>("body")).expect("log body");
                let id = body["questions"][0]["question"]["id"]
                    .as_str()
                    .expect("submitted id")
                    .to_string();
                (r.get::<i64, _>("seq") as u64, id)
            })
            .collect()
    }

    /// Number of changes in the log (gap-free: equals `last_seq`).
    pub async fn changes(&mut self) -> u64 {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM changes WHERE event_id = ?")
            .bind(EVENT)
            .fetch_one(&mut self.0)
            .await
            .expect("count changes") as u64
    }

    pub fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }
}
