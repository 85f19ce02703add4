//! The command line next to a running server, both the real binary: one
//! server per data directory (kill -9 included), writes from the command
//! line going through the server, backups while it serves, the pre-flight
//! check, a busy port.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::cli::{district_csv, doithoai_with};
use crate::common::{Client, EVENT};

/// `doithoai serve` as a child process, killed (SIGKILL) when dropped.
struct RealServer {
    child: Child,
    base: String,
    /// What it printed up to the "running at" line and its event sections.
    stdout: String,
    log: PathBuf,
}

impl Drop for RealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start a server on `dir`; Err(its stderr) if it exits instead.
fn start_server(dir: &Path, log: &Path, extra: &[&str]) -> Result<RealServer, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env_remove("DOITHOAI_SECRET")
        .env_remove("DOITHOAI_PUBLIC_URL")
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("spawn doithoai serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                // Keep draining so the server never blocks on stdout.
                continue;
            }
        }
    });
    let mut printed = String::new();
    let mut base = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if base.is_none() {
                    if let Some(rest) = line.split("running at ").nth(1) {
                        base = Some(rest.split_whitespace().next().unwrap_or("").to_string());
                    }
                }
                printed.push_str(&line);
                printed.push('\n');
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                // The event sections follow the first line at once.
                if base.is_some() {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not start within 90 s: {printed}"
        );
    }
    match base {
        Some(base) if child.try_wait().ok().flatten().is_none() => Ok(RealServer {
            child,
            base,
            stdout: printed,
            log: log.to_path_buf(),
        }),
        _ => {
            let _ = child.wait();
            Err(std::fs::read_to_string(log).unwrap_or_default())
        }
    }
}

fn cli(dir: &Path, args: &[&str]) -> std::process::Output {
    doithoai_with(dir, args, b"", &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

fn seat_tokens(dir: &Path, event: &str) -> Vec<Value> {
    let out = cli(dir, &["tokens", "--event", event, "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn token_of(seats: &[Value], slot: &str) -> String {
    seats
        .iter()
        .find(|t| t["slot"] == slot)
        .and_then(|t| t["token"].as_str())
        .unwrap_or_else(|| panic!("no seat {slot}"))
        .to_string()
}

#[test]
fn one_server_per_data_directory_even_after_kill_9() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let first = start_server(&dir, &temp.path().join("first.log"), &[]).expect("first starts");
    let lock: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("serve.lock")).unwrap()).unwrap();
    assert_eq!(lock["pid"], first.child.id());
    assert_eq!(lock["url"], first.base.as_str());
    // Tokens are keys: not printed into a pipe unless asked.
    assert!(!first.stdout.contains("#token="), "{}", first.stdout);
    assert!(
        first.stdout.contains("doithoai tokens --event"),
        "{}",
        first.stdout
    );

    let err = start_server(&dir, &temp.path().join("second.log"), &[])
        .err()
        .expect("a second server on the same directory is refused");
    assert!(err.contains("một máy chủ doithoai khác đang chạy"), "{err}");
    assert!(err.contains("another doithoai server is running"), "{err}");
    assert!(
        err.contains(&format!("pid {}, {}", first.child.id(), first.base)),
        "{err}"
    );

    // kill -9 leaves no stale lock.
    drop(first);
    let third = start_server(&dir, &temp.path().join("third.log"), &["--print-tokens"])
        .expect("starts again after kill -9");
    assert!(third.stdout.contains("#token="), "asked: {}", third.stdout);
    // Logs written to a file carry no colour codes.
    let pid = third.child.id() as i32;
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let mut third = third;
    let status = third.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&third.log).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI escapes in a log file: {log:?}"
    );
}

#[test]
fn a_busy_port_names_the_listen_flag() {
    let temp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = cli(&temp.path().join("data"), &["serve", "--listen", &addr]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("cổng {addr} đang bị một chương trình khác dùng")),
        "{err}"
    );
    assert!(
        err.contains("already in use") && err.contains("--listen 127.0.0.1:"),
        "{err}"
    );
}

#[tokio::test]
async fn command_line_writes_go_through_the_running_server() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let event_file = temp.path().join("cho-moi-2025.toml");
    std::fs::write(&event_file, super::cli::TWO_HALLS).unwrap();
    let out = cli(
        &dir,
        &["event", "create", "--file", event_file.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let server = start_server(&dir, &temp.path().join("serve.log"), &[]).expect("starts");
    let seats = seat_tokens(&dir, "cho-moi-2025");
    let http = reqwest::Client::new();
    let questions = |slot: &str| {
        let req = http
            .get(format!("{}/api/questions", server.base))
            .bearer_auth(token_of(&seats, slot));
        async move {
            let r = req.send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };

    // Import: the server has the questions at once.
    let csv = temp.path().join("cau-hoi.csv");
    std::fs::write(&csv, district_csv()).unwrap();
    let out = cli(
        &dir,
        &[
            "import",
            "--event",
            "cho-moi-2025",
            csv.to_str().unwrap(),
            "--yes",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("through the running server"), "{stdout}");
    assert!(stdout.contains("đã nhập/imported 5"), "{stdout}");
    let (status, body) = questions("follow_up-1").await;
    assert_eq!(status, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        listed["questions"].as_array().map(Vec::len),
        Some(5),
        "{body}"
    );
    assert!(
        body.contains("0912 345 678"),
        "the consenting asker's phone: {body}"
    );

    // Replacing the running event's definition is refused, saying what to do.
    let out = cli(
        &dir,
        &["event", "create", "--file", event_file.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("Ctrl+C") && err.contains("run this command again"),
        "{err}"
    );

    // Erasing before closing is refused by the server, in both languages.
    let out = cli(&dir, &["erase-personal-data", "--event", "cho-moi-2025"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("Sự kiện chưa đóng") && err.contains("not closed"),
        "{err}"
    );

    let out = cli(&dir, &["event", "close", "--event", "cho-moi-2025"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("through the running server"));
    let out = cli(&dir, &["erase-personal-data", "--event", "cho-moi-2025"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("erased personal data of 1 questioners through the running server"),
        "{stdout}"
    );

    // Nothing personal is served from memory any more: not over HTTP, not
    // in a new WebSocket snapshot.
    for slot in ["follow_up-1", "admin", "moderator-1"] {
        let (status, body) = questions(slot).await;
        assert_eq!(status, 200, "{body}");
        assert!(!body.contains("0912"), "{slot}: {body}");
        assert!(!body.contains("Nguyễn Văn Tư"), "{slot}: {body}");
    }
    let ws = format!("{}/ws", server.base.replace("http://", "ws://"));
    let mut follow_up = Client::join(
        &ws,
        json!({"type":"hello","protocol":1,"token":token_of(&seats, "follow_up-1")}),
    )
    .await;
    let snapshot = follow_up
        .until("the snapshot", |v| v["type"] == "snapshot")
        .await
        .to_string();
    assert!(snapshot.contains("Vốn vay khởi nghiệp"), "{snapshot}");
    assert!(
        !snapshot.contains("0912") && !snapshot.contains("Nguyễn Văn Tư"),
        "{snapshot}"
    );

    // A revoked seat is refused by the running server at once.
    let out = cli(
        &dir,
        &[
            "tokens",
            "--event",
            "cho-moi-2025",
            "--revoke",
            "moderator-1",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, _) = questions("moderator-1").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn backup_while_serving_and_restore_round_trip() {
    let app = crate::common::spawn_app().await;
    crate::reports::live_hour(&app).await;
    let before = app.app.engine.store().export_event(EVENT).await.unwrap();
    assert!(before.questions.iter().any(|q| q.questioner.is_some()));
    assert!(before.questions.iter().any(|q| q.followup.is_some()));

    let outside = tempfile::tempdir().unwrap();
    let file = outside.path().join("truoc-su-kien.db");
    let out = cli(&app.data_dir, &["backup", "--to", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("keep it safe"));
    // Never over an older backup.
    let out = cli(&app.data_dir, &["backup", "--to", file.to_str().unwrap()]);
    assert!(!out.status.success());

    // Not into a directory that holds anything.
    let out = cli(
        &app.data_dir,
        &["restore", "--from", file.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("không trống"));

    let restored = outside.path().join("data-khoi-phuc");
    let out = cli(&restored, &["restore", "--from", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let store = doithoai::store::sqlite::SqliteStore::open(&restored)
        .await
        .unwrap();
    let after = doithoai::store::Store::export_event(&store, EVENT)
        .await
        .unwrap();
    assert_eq!(
        after, before,
        "questions, follow-up, tokens and log identical"
    );
    // The secret came along: every seat link is the same.
    assert_eq!(
        seat_tokens(&restored, EVENT),
        seat_tokens(&app.data_dir, EVENT)
    );
}

#[tokio::test]
async fn the_preflight_check_says_what_is_wrong_and_how_to_fix_it() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let out = cli(&dir, &["check"]);
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("chưa có cơ sở dữ liệu") && stdout.contains("no database"),
        "{stdout}"
    );
    assert!(stdout.contains("Cách sửa: tạo sự kiện"), "{stdout}");
    // The disk is timed too: every change waits for an fsync.
    assert!(
        stdout.contains("50 lần fsync, trung vị") && stdout.contains("50 fsyncs, median"),
        "{stdout}"
    );

    let event_file = temp.path().join("cho-moi-2025.toml");
    std::fs::write(&event_file, super::cli::TWO_HALLS).unwrap();
    assert!(cli(
        &dir,
        &["event", "create", "--file", event_file.to_str().unwrap()]
    )
    .status
    .success());
    let out = cli(
        &dir,
        &[
            "check",
            "--event",
            "cho-moi-2025",
            "--expected-phones",
            "100000000",
            "--public-url",
            "http://127.0.0.1:9",
        ],
    );
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    for expected in [
        "[ OK ] thư mục dữ liệu",
        "is writable",
        "[ OK ] SQLite",
        "is migrated",
        "every seat has a token",
        "[LỖI / FAIL] giới hạn số tệp mở tối đa",
        "limits.conf",
        "cannot be reached from this machine",
        "Fix: check that the server runs",
        "phones in the hall cannot reach it",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }
    // Tokens made with another secret would not open.
    let out = doithoai_with(
        &dir,
        &[
            "check",
            "--event",
            "cho-moi-2025",
            "--expected-phones",
            "10",
        ],
        b"",
        &[("DOITHOAI_SECRET", &"ab".repeat(32))],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stdout).contains("made with another secret"),
        "{}",
        text(&out.stdout)
    );

    // With the server running: its URL answers, nothing fails.
    let server = start_server(&dir, &temp.path().join("serve.log"), &[]).expect("starts");
    let out = cli(&dir, &["check", "--expected-phones", "10"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{}/healthz answers from this machine",
            server.base
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("a server is running on this directory"),
        "{stdout}"
    );
    assert!(stdout.contains("Sẵn sàng / ready."), "{stdout}");

    // PostgreSQL: reachable but without doithoai's tables.
    let db = crate::common::pg::TestDb::create().await;
    let out = cli(
        &dir,
        &[
            "check",
            "--database-url",
            &db.url,
            "--expected-phones",
            "10",
        ],
    );
    assert!(!out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("PostgreSQL") && stdout.contains("has no doithoai schema"),
        "{stdout}"
    );
}
