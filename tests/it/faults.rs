//! An operator's bad day: the disk fills up, the database file is deleted
//! or replaced under the running server. Whatever happens, nothing is
//! acknowledged that is not durably in the database, refusals are typed
//! (`disk_full`, `store_unavailable`), `/healthz` says why, and the server
//! recovers by itself when space returns. Run against the real binary so
//! that `kill -9` and the server's log are real too.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::future::join_all;

use crate::common::process::{Reader, ServerProcess, Submitted};
use crate::common::*;

/// About one 4 KiB page of log and one of question per submission.
fn long_text(i: usize) -> String {
    format!(
        "Câu hỏi số {i}: {}",
        "thanh niên khởi nghiệp ở nông thôn cần vay vốn ưu đãi thế nào? ".repeat(20)
    )
}

/// How space is taken and given back.
enum Ballast {
    /// A table written by the test's own connection (which has no page
    /// limit) until the server's `--sqlite-max-pages` leaves `room` pages.
    Table { max_pages: u32, room: u32 },
    /// A file filling the small filesystem but for `room` bytes.
    File { path: PathBuf, room: u64 },
}

impl Ballast {
    async fn take(&self, reader: &mut Reader) {
        match self {
            Ballast::Table { max_pages, room } => {
                let used: i64 = sqlx::query_scalar("PRAGMA page_count")
                    .fetch_one(reader.conn())
                    .await
                    .unwrap();
                let pages = (*max_pages as i64 - used - *room as i64).max(1) as usize;
                sqlx::query("CREATE TABLE test_ballast (b BLOB)")
                    .execute(reader.conn())
                    .await
                    .unwrap();
                sqlx::query("INSERT INTO test_ballast VALUES (?)")
                    .bind(vec![7u8; pages * 4096])
                    .execute(reader.conn())
                    .await
                    .unwrap();
            }
            Ballast::File { path, room } => {
                use std::io::Write;
                let mut f = std::fs::File::create(path).unwrap();
                let chunk = vec![7u8; 64 * 1024];
                // Until ENOSPC, then give back `room`.
                while f.write_all(&chunk).is_ok() {}
                let len = f.metadata().unwrap().len();
                f.set_len(len.saturating_sub(*room)).unwrap();
                f.sync_all().unwrap();
            }
        }
    }

    async fn free(&self, reader: &mut Reader) {
        match self {
            Ballast::Table { .. } => {
                sqlx::query("DROP TABLE test_ballast")
                    .execute(reader.conn())
                    .await
                    .unwrap();
            }
            Ballast::File { path, .. } => std::fs::remove_file(path).unwrap(),
        }
    }
}

/// Fill the store, keep submitting, free space, `kill -9`, restart: every
/// acknowledged id is in the log exactly once under the `seq` it was
/// acknowledged with, and every refusal was a typed one that wrote nothing.
async fn fill_keep_submitting_free_kill_restart(data_dir: &Path, args: &[&str], ballast: Ballast) {
    let server = ServerProcess::start(data_dir, args);
    let http = reqwest::Client::new();
    let mut reader = Reader::open(data_dir).await;
    // A few before the squeeze.
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut refused: HashSet<String> = HashSet::new();
    let mut sent = 0;
    let record =
        |s: Submitted, acked: &mut HashMap<String, u64>, refused: &mut HashSet<String>| match s
            .seq()
        {
            Some(seq) => {
                assert!(
                    acked.insert(s.id.clone(), seq).is_none(),
                    "acked twice: {}",
                    s.id
                );
                refused.remove(&s.id);
            }
            None => {
                assert_eq!(
                    s.status, 503,
                    "a refusal is a 503 the phone retries: {}",
                    s.reply
                );
                assert_eq!(s.code(), "disk_full", "{}", s.reply);
                assert!(!s.reply["message"].as_str().unwrap_or_default().is_empty());
                refused.insert(s.id.clone());
            }
        };
    for _ in 0..5 {
        sent += 1;
        let s = server.submit(&http, &long_text(sent)).await;
        assert!(s.seq().is_some(), "{}", s.reply);
        record(s, &mut acked, &mut refused);
    }
    ballast.take(&mut reader).await;

    // Submit in bursts (batched by the engine) until refused, then ten more
    // bursts. Every acknowledgement must already be visible to a reader
    // with its own connection: acknowledged means committed.
    let mut rounds_after_full = 0;
    let mut saw_unhealthy = false;
    while rounds_after_full < 10 {
        assert!(sent < 3000, "the store never filled up");
        let texts: Vec<String> = (0..8).map(|i| long_text(sent + i)).collect();
        let burst = join_all(texts.iter().map(|t| server.submit(&http, t))).await;
        sent += 8;
        for s in burst {
            if let Some(seq) = s.seq() {
                let visible = reader.last_seq().await;
                assert!(
                    visible >= seq,
                    "acknowledged seq {seq} but the file has {visible}"
                );
            }
            record(s, &mut acked, &mut refused);
        }
        if !refused.is_empty() {
            rounds_after_full += 1;
            let (status, body) = server.health().await;
            if status == 503 {
                assert_eq!(body["code"], "disk_full", "{body}");
                saw_unhealthy = true;
            }
        }
    }
    assert!(saw_unhealthy, "/healthz never said the disk was full");
    // Nothing refused reached the log.
    let logged: HashSet<String> = reader
        .submissions()
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    for id in &refused {
        assert!(!logged.contains(id), "refused {id} was committed");
    }

    // Space comes back: the server notices by itself.
    ballast.free(&mut reader).await;
    let took = server.wait_health(200).await;
    eprintln!("healthy again {took:?} after space was freed");
    assert!(
        took < Duration::from_secs(10),
        "recovered only after {took:?}"
    );
    // The phones' outboxes resend what was refused, with the same ids.
    let resend: Vec<String> = refused.iter().cloned().collect();
    for id in resend {
        let s = server
            .resubmit(&http, &id, "Gửi lại sau khi hết đầy đĩa")
            .await;
        assert!(s.seq().is_some(), "resent {id}: {} {}", s.status, s.reply);
        record(s, &mut acked, &mut refused);
    }
    for i in 0..5 {
        let s = server.submit(&http, &format!("Sau sự cố {i}")).await;
        assert!(s.seq().is_some(), "{}", s.reply);
        record(s, &mut acked, &mut refused);
    }
    assert!(refused.is_empty());
    drop(reader);
    server.kill9();

    // After kill -9 and a restart: each acknowledged id once, under its seq.
    let again = ServerProcess::start(data_dir, &[]);
    let mut reader = Reader::open(data_dir).await;
    let log = reader.submissions().await;
    let mut count: HashMap<&str, usize> = HashMap::new();
    for (_, id) in &log {
        *count.entry(id.as_str()).or_default() += 1;
    }
    for (id, seq) in &acked {
        assert_eq!(
            count.get(id.as_str()),
            Some(&1),
            "acknowledged {id} once in the log"
        );
        assert!(
            log.contains(&(*seq, id.clone())),
            "{id} logged under its acknowledged seq {seq}"
        );
    }
    assert_eq!(log.len(), acked.len(), "nothing but the acknowledged");
    assert_eq!(reader.changes().await, reader.last_seq().await, "gap-free");
    // The restarted server goes on.
    let s = again.submit(&http, "Sau khi khởi động lại").await;
    assert_eq!(s.seq(), Some(reader.last_seq().await), "{}", s.reply);
    again.kill9();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_database_refuses_with_disk_full_and_recovers_without_losing_an_acknowledgement() {
    let temp = tempfile::tempdir().unwrap();
    let max_pages = 600;
    fill_keep_submitting_free_kill_restart(
        temp.path(),
        &["--sqlite-max-pages", &max_pages.to_string()],
        Ballast::Table {
            max_pages,
            room: 80,
        },
    )
    .await;
}

/// A real small filesystem (tmpfs; CI runs as root). Never skipped: without
/// the mount the test fails and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_filesystem_refuses_with_disk_full_and_recovers_without_losing_an_acknowledgement() {
    let temp = tempfile::tempdir().unwrap();
    let mount = Tmpfs::mount(temp.path(), "16m");
    let data = mount.0.join("data");
    fill_keep_submitting_free_kill_restart(
        &data,
        &[],
        Ballast::File {
            path: mount.0.join("ballast"),
            room: 256 * 1024,
        },
    )
    .await;
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount to make a small filesystem: {e}"));
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs on {} (this test needs root, as in CI): {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// The database and its WAL deleted under the running server: nothing is
/// acknowledged from then on, `/healthz` says `database_lost`, the log says
/// so loudly and how to copy the still-open files back, and doing that
/// before a restart recovers everything acknowledged before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_database_is_noticed_and_nothing_is_acknowledged_after() {
    let temp = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(temp.path(), &[]);
    let http = reqwest::Client::new();
    let mut before = Vec::new();
    for i in 0..5 {
        let s = server.submit(&http, &format!("Trước sự cố {i}")).await;
        assert!(s.seq().is_some(), "{}", s.reply);
        before.push(s.id);
    }
    for file in ["doithoai.db", "doithoai.db-wal"] {
        std::fs::remove_file(temp.path().join(file)).unwrap();
    }
    for i in 0..10 {
        let s = server.submit(&http, &format!("Sau khi mất tệp {i}")).await;
        assert_eq!(
            s.status, 503,
            "acknowledged after the database was deleted: {}",
            s.reply
        );
        assert_eq!(s.code(), "store_unavailable", "{}", s.reply);
    }
    let (status, body) = server.health().await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "database_lost", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("cơ sở dữ liệu"),
        "{body}"
    );

    // The log names the fault and how to get the data back.
    let mut log = String::new();
    for _ in 0..100 {
        log = server.log();
        if log.contains("DELETED OR REPLACED") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(log.contains("DELETED OR REPLACED"), "{log}");
    let rescue = log
        .lines()
        .find_map(|l| l.split("before restarting, run ").nth(1))
        .unwrap_or_else(|| panic!("no rescue commands in {log}"))
        .split(" && ")
        .map(|c| {
            c.trim_end_matches(|ch: char| ch == '"' || ch.is_whitespace())
                .to_string()
        })
        .collect::<Vec<_>>();
    assert_eq!(rescue.len(), 2, "{rescue:?}");
    for cmd in &rescue {
        let parts: Vec<&str> = cmd.split(' ').collect();
        assert_eq!(parts[0], "cp", "{cmd}");
        std::fs::copy(parts[1], parts[2]).unwrap_or_else(|e| panic!("{cmd}: {e}"));
    }
    server.kill9();

    let again = ServerProcess::start(temp.path(), &[]);
    let mut reader = Reader::open(temp.path()).await;
    let logged: Vec<String> = reader
        .submissions()
        .await
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    assert_eq!(
        logged, before,
        "everything acknowledged before the loss, nothing after"
    );
    drop(again);
}

/// A database replaced by another file (a restore copied over a running
/// server) is noticed the same way, before the next acknowledgement.
#[tokio::test]
async fn a_replaced_database_is_noticed_before_the_next_acknowledgement() {
    let app = spawn_app().await;
    let mut op = app.staff("hall_operator:chau-doc").await;
    op.ok(submit("Trước khi thay tệp", "chau-doc").1).await;
    let db = app.data_dir.join("doithoai.db");
    let copy = app.data_dir.join("copy.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::rename(&copy, &db).unwrap();
    let (_, cmd) = submit("Sau khi thay tệp", "chau-doc");
    let refused = op.cmd(cmd).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "store_unavailable", "{refused}");
    let r = app
        .http()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "database_lost");
    app.stop().await;
}
