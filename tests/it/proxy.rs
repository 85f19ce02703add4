//! The deploy recipe itself: HAProxy (the Debian package) started with the
//! shipped `deploy/haproxy.cfg`, unchanged, in front of two `doithoai serve`
//! processes on the test PostgreSQL. One node is killed with SIGKILL while
//! hall operators submit and moderators watch, all through the proxy: every
//! acknowledged submission is in the database exactly once, and every watcher
//! resumes by `last_seq` through the proxy and sees each change exactly once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::pg::TestDb;
use crate::common::Client;
use doithoai::loadgen::proxy::{self, Haproxy};
use doithoai::loadgen::scenario::load_average;
use doithoai::loadgen::target::{doithoai_pg_nodes, Behind, Placement, ServerSpec};
use doithoai::store::postgres::PgStore;
use doithoai::store::Change;
use serde_json::{json, Value};
use tokio::sync::watch;

/// Join through the proxy, retrying while it finds a live node; panics
/// (with the reason) after a generous bound, never a timing assertion.
async fn join_retrying(url: &str, hello: Value) -> Client {
    for _ in 0..300 {
        if let Some(c) = Client::try_join(url, hello.clone()).await {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no node answered through the proxy at {url} within 30 s");
}

fn hello(token: &str, last_seq: Option<u64>) -> Value {
    match last_seq {
        Some(s) => json!({"type":"hello","protocol":1,"token":token,"last_seq":s}),
        None => json!({"type":"hello","protocol":1,"token":token}),
    }
}

/// What a watcher received across all its connections.
struct Watched {
    /// Sequence numbers of every change, in the order received.
    seqs: Vec<u64>,
    /// The first connection's snapshot: changes follow from the next seq.
    first_snapshot: u64,
    /// Snapshots received after the first connection (a resume must replay).
    late_snapshots: usize,
    connects: usize,
}

/// Watch every change through the proxy until `target` (sent when known)
/// is reached, resuming by `last_seq` whenever the connection ends.
async fn watch_through(url: String, token: String, mut target: watch::Receiver<u64>) -> Watched {
    let mut out = Watched {
        seqs: Vec::new(),
        first_snapshot: 0,
        late_snapshots: 0,
        connects: 0,
    };
    let mut last_seq = None;
    loop {
        let mut c = join_retrying(&url, hello(&token, last_seq)).await;
        out.connects += 1;
        loop {
            let done = *target.borrow_and_update();
            if done > 0 && last_seq.is_some_and(|s| s >= done) {
                c.close().await;
                return out;
            }
            let msg = tokio::select! {
                m = c.recv() => m,
                _ = target.changed() => continue,
            };
            let Some(m) = msg else { break };
            let seq = m["seq"].as_u64();
            match m["type"].as_str() {
                Some("change") => out.seqs.extend(seq),
                Some("snapshot") if out.connects > 1 => out.late_snapshots += 1,
                Some("snapshot") => out.first_snapshot = seq.unwrap_or(0),
                _ => {}
            }
            if matches!(m["type"].as_str(), Some("change" | "snapshot")) {
                last_seq = seq.or(last_seq);
            }
        }
    }
}

/// What a hall operator had acknowledged.
struct Submitted {
    /// Each acknowledged id with its seq; `None` for a resend after a
    /// reconnect that was answered `duplicate` (committed before the cut).
    acked: Vec<(String, Option<u64>)>,
    connects: usize,
}

/// Submit `count` questions one after another through the proxy. When the
/// connection ends with a command unanswered, reconnect and send the same
/// command again (a submission is idempotent by its id).
async fn submit_through(
    url: String,
    token: String,
    hall: String,
    count: usize,
    progress: Arc<AtomicUsize>,
) -> Submitted {
    let mut out = Submitted {
        acked: Vec::new(),
        connects: 1,
    };
    let mut c = join_retrying(&url, hello(&token, None)).await;
    for i in 0..count {
        let id = uuid::Uuid::new_v4().to_string();
        let cmd = json!({"type":"submit","id":id,"hall":hall,
                         "text":format!("Câu hỏi {i} của điểm cầu {hall} qua HAProxy")});
        loop {
            match c.try_cmd(cmd.clone()).await {
                Some(r) => {
                    assert_eq!(r["type"], "ack", "submission {id}: {r}");
                    let seq = r["seq"].as_u64();
                    assert!(
                        seq.is_some() || r["duplicate"] == true,
                        "an ack carries its seq unless it answers a resend: {r}"
                    );
                    out.acked.push((id.clone(), seq));
                    progress.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                None => {
                    c = join_retrying(&url, hello(&token, Some(c.last_seq))).await;
                    out.connects += 1;
                }
            }
        }
    }
    c.close().await;
    out
}

async fn read_log(url: &str, event: &str) -> Vec<Change> {
    let store = PgStore::open(url).await.expect("open store");
    let log = doithoai::loadgen::check::read_log_from(&store, event)
        .await
        .expect("read log");
    store.pool().close().await;
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_haproxy_config_is_valid_as_docker_compose_uses_it() {
    // No environment: the compose defaults (bind :8080, node1:8080, node2:8080).
    let out = tokio::process::Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(proxy::shipped_config())
        .env_remove("DOITHOAI_PROXY_BIND")
        .env_remove("DOITHOAI_PROXY_MAXCONN")
        .env_remove("DOITHOAI_NODE1")
        .env_remove("DOITHOAI_NODE2")
        .env_remove("DOITHOAI_NODE3")
        .env_remove("DOITHOAI_NODE4")
        .output()
        .await
        .expect("haproxy is required (apt-get install haproxy; scripts/test.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "haproxy -c: {text}");
    assert!(text.contains("Configuration file is valid"), "{text}");
    // Only the compose nodes are named when no more are given.
    assert!(text.contains("node1") && text.contains("node2"), "{text}");
    assert!(!text.contains("node3"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_haproxy_a_killed_node_loses_nothing_and_its_clients_resume() {
    crate::common::init_logs();
    let db = TestDb::create().await;
    let temp = tempfile::tempdir().expect("temp dir");
    let spec = ServerSpec {
        placement: Placement::Child,
        halls: 12,
        work_dir: temp.path().to_path_buf(),
    };
    let mut nodes = doithoai_pg_nodes(&spec, &db.url, 2, Behind::Proxy)
        .await
        .expect("two doithoai nodes on the test database");
    let event = nodes[0].event().expect("event").clone();
    let tokens = nodes[0].tokens.clone();
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr).collect();
    let haproxy = Haproxy::start(
        &proxy::shipped_config(),
        &addrs,
        4000,
        &temp.path().join("haproxy.log"),
    )
    .await
    .expect("HAProxy with deploy/haproxy.cfg in front of both nodes");
    let url = haproxy.ws_url();
    let token = |slot: &str| tokens.get(slot).cloned().expect("token");

    // Clients connect one after another: `balance leastconn` spreads them
    // over both nodes, so the killed one holds some of each kind.
    let (target_tx, target_rx) = watch::channel(0u64);
    let mut watchers = Vec::new();
    for slot in ["moderator-1", "moderator-2", "moderator-3", "follow_up-1"] {
        let (url, tok, rx) = (url.clone(), token(slot), target_rx.clone());
        watchers.push(tokio::spawn(watch_through(url, tok, rx)));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let progress = Arc::new(AtomicUsize::new(0));
    let per_hall = 40;
    let mut submitters = Vec::new();
    for hall in event.halls.iter().take(4) {
        let slot = format!("hall_operator:{}", hall.id);
        submitters.push(tokio::spawn(submit_through(
            url.clone(),
            token(&slot),
            hall.id.clone(),
            per_hall,
            progress.clone(),
        )));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    while progress.load(Ordering::SeqCst) < 30 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    nodes[0].kill9().await.expect("kill -9 node 1");
    let killed_at = std::time::Instant::now();

    let mut acked = Vec::new();
    let mut operator_connects = 0;
    for s in submitters {
        let s = s.await.expect("submitter");
        operator_connects += s.connects;
        acked.extend(s.acked);
    }
    assert_eq!(
        acked.len(),
        4 * per_hall,
        "every submission was acknowledged"
    );
    let log = read_log(&db.url, &event.id).await;
    let n = log.len() as u64;
    target_tx.send_replace(n);
    let mut watched = Vec::new();
    for w in watchers {
        watched.push(
            tokio::time::timeout(Duration::from_secs(60), w)
                .await
                .expect("watchers reach the end of the log")
                .expect("watcher"),
        );
    }
    eprintln!(
        "killed node 1 {:.1} s before the end; operators connected {} times, watchers {} times; load {:.1}",
        killed_at.elapsed().as_secs_f64(),
        operator_connects,
        watched.iter().map(|w| w.connects).sum::<usize>(),
        load_average()
    );

    // The log: gap-free, each acknowledged question exactly once, at its seq.
    assert_eq!(
        log.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "gap-free log"
    );
    let mut submits: HashMap<String, Vec<u64>> = HashMap::new();
    for c in log.iter().filter(|c| c.action == "submit") {
        for q in &c.questions {
            submits
                .entry(q.question.id.to_string())
                .or_default()
                .push(c.seq);
        }
    }
    for (id, seq) in &acked {
        let logged = submits.get(id).map(Vec::as_slice).unwrap_or_default();
        match seq {
            Some(seq) => assert_eq!(
                logged,
                [*seq],
                "acknowledged question {id} (seq {seq}) is in the log once, at its seq"
            ),
            None => assert_eq!(logged.len(), 1, "resent question {id} is in the log once"),
        }
    }
    assert_eq!(
        submits.len(),
        acked.len(),
        "nothing unacknowledged slipped in"
    );

    // Some clients were on the killed node and came back through the proxy.
    assert!(
        operator_connects > 4,
        "no hall operator was on the killed node: the test proved nothing"
    );
    assert!(
        watched.iter().any(|w| w.connects > 1),
        "no watcher was on the killed node: the test proved nothing"
    );
    // Every watcher saw every change exactly once, in order, across the move.
    for w in &watched {
        assert_eq!(w.late_snapshots, 0, "a resume replayed, not re-snapshotted");
        assert_eq!(
            w.seqs,
            (w.first_snapshot + 1..=n).collect::<Vec<_>>(),
            "every change once"
        );
    }
    // The proxy still answers healthy through the surviving node.
    assert_eq!(
        doithoai::loadgen::target::http_status(haproxy.addr, "/healthz")
            .await
            .expect("healthz through the proxy"),
        200
    );
    haproxy.stop().await;
    for n in nodes {
        n.stop().await;
    }
}
