//! Two server nodes on one PostgreSQL database (each test its own database,
//! both nodes the same secret): changes made on either reach every client in
//! the same order; a node killed mid-stream loses nothing acknowledged and its
//! clients resume on the other; a node that is behind catches up before
//! answering a resume; `/healthz` follows the listener and the database.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::pg::{CommitCutter, Deployment, ThreadNode};
use crate::common::*;
use doithoai::store::postgres::PgStore;
use doithoai::store::{Change, Store};
use serde_json::{json, Value};
use sqlx::Executor;

/// The log as the database has it: (seq, action, question ids).
async fn db_log(url: &str) -> Vec<(u64, String, Vec<String>)> {
    let store = PgStore::open(url).await.expect("open store");
    let changes: Vec<Change> = store.changes_since(EVENT, 0, 100_000).await.expect("log");
    changes
        .iter()
        .map(|c| {
            (
                c.seq,
                c.action.clone(),
                c.questions
                    .iter()
                    .map(|u| u.question.id.to_string())
                    .collect(),
            )
        })
        .collect()
}

/// The changes a client received, in order: (seq, action, question ids).
fn client_log(log: &[Value]) -> Vec<(u64, String, Vec<String>)> {
    log.iter()
        .filter(|m| m["type"] == "change")
        .map(|m| {
            let ids = m["questions"]
                .as_array()
                .map(|qs| {
                    qs.iter()
                        .map(|q| q["id"].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            (
                m["seq"].as_u64().expect("seq"),
                m["action"].as_str().unwrap_or_default().to_string(),
                ids,
            )
        })
        .collect()
}

/// Wait (boundedly) until `client` has received change `seq`.
async fn sync_to(client: &mut Client, seq: u64) {
    tokio::time::timeout(Duration::from_secs(30), client.until_seq(seq))
        .await
        .unwrap_or_else(|_| panic!("client stuck at seq {} waiting for {seq}", client.last_seq));
}

async fn health(base: &str) -> u16 {
    match reqwest::get(format!("{base}/healthz")).await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// Poll `/healthz` until it answers `status`; panics after a generous bound.
async fn wait_health(base: &str, status: u16) {
    for _ in 0..300 {
        if health(base).await == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base}/healthz never answered {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_on_either_node_reach_every_client_in_the_same_order() {
    let dep = Deployment::new().await;
    let a = spawn_app_with(dep.node_config("a")).await;
    let b = spawn_app_with(dep.node_config("b")).await;
    assert_eq!(
        a.token("moderator-1"),
        b.token("moderator-1"),
        "one secret, one set of tokens"
    );
    wait_health(&a.base, 200).await;
    wait_health(&b.base, 200).await;

    let mut watchers = vec![
        a.staff("moderator-1").await,
        b.staff("moderator-2").await,
        a.staff("chair").await,
        b.staff("chair").await,
        b.staff("display:all").await,
        a.staff("display:all").await,
    ];
    let mut op_a = a.staff("hall_operator:cho-moi").await;
    let mut op_b = b.staff("hall_operator:chau-doc").await;
    let mut mod_a = a.staff("moderator-3").await;
    let mut mod_b = b.staff("moderator-3").await;

    // Submissions on both nodes at the same moment, so the nodes race for
    // the same sequence numbers and the loser must catch up and retry.
    let mut acked: Vec<(u64, String)> = Vec::new();
    for round in 0..10 {
        let (ia, ca) = submit(
            &format!("Câu hỏi {round} từ Chợ Mới về vốn khởi nghiệp"),
            "cho-moi",
        );
        let (ib, cb) = submit(
            &format!("Câu hỏi {round} từ Châu Đốc về học nghề"),
            "chau-doc",
        );
        let (ra, rb) = tokio::join!(op_a.ok(ca), op_b.ok(cb));
        acked.push((ra["seq"].as_u64().expect("seq"), ia));
        acked.push((rb["seq"].as_u64().expect("seq"), ib));
    }
    // Each moderator approves questions as soon as its own node shows them
    // (a client acts only on what it has seen), alternating nodes.
    let ids: Vec<String> = acked.iter().map(|(_, id)| id.clone()).collect();
    for (i, id) in ids.iter().enumerate() {
        let m = if i % 2 == 0 { &mut mod_a } else { &mut mod_b };
        if !m.seen_questions().contains(id) {
            m.until("the question", |v| {
                v["type"] == "change" && v["questions"][0]["id"] == id.as_str()
            })
            .await;
        }
        let r = m
            .ok(json!({"type":"approve","question":id,"version":1}))
            .await;
        acked.push((r["seq"].as_u64().expect("seq"), id.clone()));
    }

    let n = acked.len() as u64;
    let mut seqs: Vec<u64> = acked.iter().map(|(s, _)| *s).collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (1..=n).collect::<Vec<_>>(),
        "every acknowledged change has its own seq, no gaps"
    );

    let db = db_log(&dep.db.url).await;
    assert_eq!(
        db.iter().map(|c| c.0).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>()
    );
    for (seq, id) in &acked {
        assert!(
            db[(*seq - 1) as usize].2.contains(id),
            "seq {seq} is the change acknowledged for {id}"
        );
    }
    for w in watchers.iter_mut() {
        sync_to(w, n).await;
    }
    // Moderators see every change: their logs are the database's log.
    for w in &watchers[..2] {
        assert_eq!(
            client_log(&w.log),
            db,
            "moderator {}",
            w.welcome["you"]["label"]
        );
    }
    // Same role on different nodes: the same frames in the same order.
    assert_eq!(
        client_log(&watchers[2].log),
        client_log(&watchers[3].log),
        "chair on A and on B"
    );
    assert_eq!(
        client_log(&watchers[4].log),
        client_log(&watchers[5].log),
        "display on A and on B"
    );
    assert_eq!(watchers[2].seen_questions(), watchers[3].seen_questions());
    for w in &watchers {
        let s = w.change_seqs();
        assert!(
            s.windows(2).all(|p| p[0] < p[1]),
            "strictly increasing: {s:?}"
        );
    }
    a.stop().await;
    b.stop().await;
}

/// What a client task did before its connection ended.
struct Run {
    client: Client,
    /// (question id, reply) for every command answered.
    replies: Vec<(String, Value)>,
    /// The command sent last whose reply never came (node died).
    in_flight: Option<(String, Value)>,
}

/// Submit questions one after another until `limit` or the connection ends.
async fn submit_stream(
    mut client: Client,
    hall: &'static str,
    limit: usize,
    progress: Arc<AtomicUsize>,
) -> Run {
    let mut replies = Vec::new();
    for i in 0..limit {
        let (id, cmd) = submit(&format!("Câu hỏi số {i} của {hall}"), hall);
        match client.try_cmd(cmd.clone()).await {
            Some(r) => {
                assert_eq!(r["type"], "ack", "{r}");
                replies.push((id, r));
                progress.fetch_add(1, Ordering::SeqCst);
            }
            None => {
                return Run {
                    client,
                    replies,
                    in_flight: Some((id, cmd)),
                }
            }
        }
    }
    Run {
        client,
        replies,
        in_flight: None,
    }
}

/// Approve every question this moderator sees submitted, until the connection ends.
async fn approve_stream(mut client: Client) -> Run {
    let mut replies = Vec::new();
    let mut cursor = 0;
    let mut todo = VecDeque::new();
    loop {
        while cursor < client.log.len() {
            let m = &client.log[cursor];
            if m["type"] == "change" && m["action"] == "submit" {
                todo.push_back(
                    m["questions"][0]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            cursor += 1;
        }
        match todo.pop_front() {
            Some(id) => {
                let cmd = json!({"type":"approve","question":id,"version":1});
                match client.try_cmd(cmd.clone()).await {
                    Some(r) => replies.push((id, r)),
                    None => {
                        return Run {
                            client,
                            replies,
                            in_flight: Some((id, cmd)),
                        }
                    }
                }
            }
            None => {
                if client.recv().await.is_none() {
                    return Run {
                        client,
                        replies,
                        in_flight: None,
                    };
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_node_loses_nothing_acknowledged_and_its_clients_resume_elsewhere() {
    let dep = Deployment::new().await;
    let a = ThreadNode::start(dep.node_config("a")).await;
    let b = spawn_app_with(dep.node_config("b")).await;
    wait_health(&b.base, 200).await;

    let watch_a = a.staff("moderator-1").await;
    let mut watch_b = b.staff("moderator-2").await;
    let op_a = a.staff("hall_operator:cho-moi").await;
    let op_b = b.staff("hall_operator:chau-doc").await;
    let mod_a = a.staff("moderator-3").await;

    let progress = Arc::new(AtomicUsize::new(0));
    let sub_a = tokio::spawn(submit_stream(op_a, "cho-moi", 10_000, progress.clone()));
    let sub_b = tokio::spawn(submit_stream(
        op_b,
        "chau-doc",
        60,
        Arc::new(AtomicUsize::new(0)),
    ));
    let appr_a = tokio::spawn(approve_stream(mod_a));
    // The watcher on A only reads until its node dies.
    let watch_a = tokio::spawn(async move {
        let mut w = watch_a;
        while w.recv().await.is_some() {}
        w
    });

    while progress.load(Ordering::SeqCst) < 25 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill();

    let mut sub_a = sub_a.await.expect("submit task");
    let mut appr_a = appr_a.await.expect("approve task");
    let watch_a = watch_a.await.expect("watch task");

    // Everyone on A comes back on B, resuming from what they had.
    let token = |slot: &str| b.token(slot);
    let mut watch_a2 = Client::resume(&b.ws_url(), &token("moderator-1"), watch_a.last_seq).await;
    let mut op_a2 = Client::resume(
        &b.ws_url(),
        &token("hall_operator:cho-moi"),
        sub_a.client.last_seq,
    )
    .await;
    let mut mod_a2 =
        Client::resume(&b.ws_url(), &token("moderator-3"), appr_a.client.last_seq).await;
    for c in [&watch_a2, &op_a2, &mod_a2] {
        assert!(
            !c.log.iter().any(|m| m["code"] == "seq_ahead"),
            "the surviving node caught up instead of refusing the resume"
        );
    }

    // Unanswered commands are retried; a submission is idempotent by id.
    let mut submitted: Vec<String> = sub_a.replies.iter().map(|(id, _)| id.clone()).collect();
    if let Some((id, cmd)) = sub_a.in_flight.take() {
        let r = op_a2.ok(cmd).await;
        assert_eq!(r["id"], id.as_str());
        submitted.push(id);
    }
    let mut approved: Vec<String> = appr_a
        .replies
        .iter()
        .filter(|(_, r)| r["type"] == "ack")
        .map(|(id, _)| id.clone())
        .collect();
    if let Some((id, cmd)) = appr_a.in_flight.take() {
        // Either it was committed before the node died (now a stale version) or it goes through now.
        let r = mod_a2.cmd(cmd).await;
        assert!(
            r["type"] == "ack" || r["code"] == "conflict" || r["code"] == "invalid_transition",
            "{r}"
        );
        approved.push(id);
    }
    // And the stream goes on on B.
    for i in 0..5 {
        let (id, cmd) = submit(&format!("Sau sự cố, câu {i}"), "cho-moi");
        op_a2.ok(cmd).await;
        submitted.push(id);
    }
    let sub_b = sub_b.await.expect("stream on B");
    assert!(sub_b.in_flight.is_none(), "node B stayed up");
    submitted.extend(sub_b.replies.iter().map(|(id, _)| id.clone()));

    let db = db_log(&dep.db.url).await;
    let n = db.len() as u64;
    assert_eq!(
        db.iter().map(|c| c.0).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<_>>(),
        "gap-free log"
    );
    // Every acknowledged submission is in the database exactly once.
    let mut submit_count: HashMap<&str, usize> = HashMap::new();
    for c in db.iter().filter(|c| c.1 == "submit") {
        *submit_count.entry(c.2[0].as_str()).or_default() += 1;
    }
    for id in &submitted {
        assert_eq!(submit_count.get(id.as_str()), Some(&1), "question {id}");
    }
    let approvals: HashSet<&str> = db
        .iter()
        .filter(|c| c.1 == "approve")
        .map(|c| c.2[0].as_str())
        .collect();
    for id in &approved {
        assert!(
            approvals.contains(id.as_str()),
            "approval of {id} is in the log"
        );
    }
    for (id, r) in sub_a.replies.iter().chain(appr_a.replies.iter()) {
        if let Some(seq) = r["seq"].as_u64() {
            assert!(
                db[(seq - 1) as usize].2.contains(id),
                "ack seq {seq} is {id}'s change"
            );
        }
    }

    // Every moderator saw the whole log exactly once, in order, across the move.
    sync_to(&mut watch_b, n).await;
    sync_to(&mut watch_a2, n).await;
    sync_to(&mut mod_a2, n).await;
    let across = |before: &Client, after: &Client| {
        let mut all = client_log(&before.log);
        all.extend(client_log(&after.log));
        all
    };
    assert_eq!(client_log(&watch_b.log), db, "watcher that stayed on B");
    assert_eq!(across(&watch_a, &watch_a2), db, "watcher moved from A to B");
    assert_eq!(
        across(&appr_a.client, &mod_a2),
        db,
        "moderator moved from A to B"
    );
    // The operator sees its hall's part: strictly increasing, nothing twice.
    let op_seqs: Vec<u64> = across(&sub_a.client, &op_a2).iter().map(|c| c.0).collect();
    assert!(
        op_seqs.windows(2).all(|p| p[0] < p[1]),
        "operator: {op_seqs:?}"
    );
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_is_behind_catches_up_before_answering_a_resume() {
    let dep = Deployment::new().await;
    let a = spawn_app_with(dep.node_config("a")).await;
    let b = spawn_app_with(dep.node_config("b")).await;
    wait_health(&b.base, 200).await;
    // B stops hearing A: it is now behind, and says so.
    b.app
        .listener
        .as_ref()
        .expect("PostgreSQL nodes listen")
        .stop();
    wait_health(&b.base, 503).await;

    let mut m = a.staff("moderator-1").await;
    let mut op = a.staff("hall_operator:tri-ton").await;
    for i in 0..5 {
        op.ok(submit(&format!("Câu {i} ở Tri Tôn"), "tri-ton").1)
            .await;
    }
    sync_to(&mut m, 5).await;
    assert_eq!(
        b.app.engine.event(EVENT).expect("event").seq(),
        0,
        "B did not hear"
    );

    // The moderator moves to B claiming seq 5, which B has not read yet.
    let mut moved = Client::resume(&b.ws_url(), &b.token("moderator-1"), m.last_seq).await;
    let mut op_b = b.staff("hall_operator:tri-ton").await;
    let (id, cmd) = submit("Câu sau khi chuyển nút", "tri-ton");
    assert_eq!(op_b.ok(cmd).await["seq"], 6);
    let next = moved
        .until("the next change", |v| v["type"] == "change")
        .await;
    assert_eq!(next["seq"], 6);
    assert_eq!(next["questions"][0]["id"], id.as_str());
    assert!(
        moved
            .log
            .iter()
            .all(|v| v["type"] != "snapshot" && v["code"] != "seq_ahead"),
        "a plain resume, no error and no snapshot: {:?}",
        moved.log
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_that_lost_its_connection_reconnects_and_catches_up() {
    let dep = Deployment::new().await;
    let a = spawn_app_with(dep.node_config("a")).await;
    let b = spawn_app_with(dep.node_config("b")).await;
    wait_health(&b.base, 200).await;
    let mut watch_b = b.staff("moderator-2").await;
    let mut op = a.staff("hall_operator:an-phu").await;

    // Cut every listener connection (as a network blip or a database restart
    // would), then commit at once: the notification may well be lost.
    let mut conn = dep.db.connect().await;
    let cut: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE application_name = 'doithoai-listener' AND datname = current_database()",
    )
    .fetch_all(&mut conn)
    .await
    .expect("terminate listeners");
    assert_eq!(cut.len(), 2, "one listener per node");
    let (id, cmd) = submit("Câu hỏi giữa lúc mất kết nối", "an-phu");
    op.ok(cmd).await;

    let seen = watch_b
        .until("the change made while B was not listening", |v| {
            v["type"] == "change"
        })
        .await;
    assert_eq!(seen["questions"][0]["id"], id.as_str());
    wait_health(&b.base, 200).await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_while_the_database_is_unreachable_and_recovers() {
    let dep = Deployment::new().await;
    let a = spawn_app_with(dep.node_config("a")).await;
    wait_health(&a.base, 200).await;

    let mut admin = dep.db.admin().await;
    let name = dep.db.name.clone();
    admin
        .execute(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false").as_str())
        .await
        .expect("refuse connections");
    admin
        .execute(
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )
            .as_str(),
        )
        .await
        .expect("cut connections");
    wait_health(&a.base, 503).await;

    admin
        .execute(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true").as_str())
        .await
        .expect("allow connections");
    wait_health(&a.base, 200).await;
    let mut op = a.staff("hall_operator:tinh").await;
    op.ok(submit("Câu hỏi sau khi cơ sở dữ liệu trở lại", "tinh").1)
        .await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasing_personal_data_empties_every_nodes_memory() {
    let dep = Deployment::new().await;
    let a = spawn_app_with(dep.node_config("a")).await;
    let b = spawn_app_with(dep.node_config("b")).await;
    wait_health(&b.base, 200).await;
    let mut m = b.staff("moderator-1").await;
    let mut phone = a.participant("tinh").await;
    let asked = phone
        .ok(json!({
            "type": "submit",
            "id": uuid::Uuid::new_v4(),
            "text": "Xin hỏi về học bổng cho sinh viên nghèo?",
            "questioner": {"name": "Huỳnh Văn Lộc", "phone": "0987 654 321"},
            "consent": true
        }))
        .await;
    let id: uuid::Uuid = asked["id"].as_str().expect("id").parse().expect("uuid");
    m.until("the question on B", |v| v["type"] == "change")
        .await;
    for node in [&a, &b] {
        let q = node.app.engine.event(EVENT).and_then(|rt| rt.question(&id));
        assert!(q.and_then(|q| q.questioner).is_some(), "held before");
    }

    // Erased from outside both nodes (as a command-line tool would).
    let store = PgStore::open(&dep.db.url).await.expect("store");
    assert_eq!(store.erase_personal_data(EVENT).await.expect("erase"), 1);
    for node in [&a, &b] {
        let mut forgotten = false;
        for _ in 0..300 {
            let q = node.app.engine.event(EVENT).and_then(|rt| rt.question(&id));
            if q.is_some_and(|q| q.questioner.is_none()) {
                forgotten = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(forgotten, "node {} still holds the questioner", node.base);
    }
    let mut fresh = b.staff("moderator-2").await;
    let snap = fresh.recv().await.expect("snapshot");
    assert!(!snap.to_string().contains("Huỳnh Văn Lộc"), "{snap}");
    a.stop().await;
    b.stop().await;
}

/// The connection to PostgreSQL breaks after COMMIT was sent and before its
/// answer arrived: the batch is committed, the server cannot know from the
/// error. It must read the log and acknowledge, not tell the client that
/// nothing changed (which would make a hall operator send the question again
/// or give it up while every screen shows it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_is_acknowledged_from_the_log() {
    let (deployment, cutter, app) = node_behind_a_commit_cutter().await;

    let mut operator = app.staff("hall_operator:tan-chau").await;
    let mut moderator = app.staff("moderator-1").await;
    let (id, cmd) = submit(
        "Thị xã Tân Châu có quy hoạch sân bóng cho thanh niên không?",
        "tan-chau",
    );
    cutter.arm();
    let ack = operator.cmd(cmd).await;
    assert_eq!(
        cutter.cuts.load(Ordering::SeqCst),
        1,
        "the COMMIT's answer was cut"
    );
    assert_eq!(ack["type"], "ack", "{ack}");
    let seq = ack["seq"].as_u64().unwrap();
    // Committed once, published once, and still there for a new reader.
    moderator.until_seq(seq).await;
    let log = db_log(&deployment.db.url).await;
    let with_it: Vec<_> = log.iter().filter(|(_, _, ids)| ids.contains(&id)).collect();
    assert_eq!(with_it.len(), 1, "{log:?}");
    assert_eq!(with_it[0].0, seq);
    // The engine goes on committing normally afterwards.
    let (_, next) = submit("Câu hỏi tiếp theo sau sự cố mạng", "tan-chau");
    let ack = operator.cmd(next).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["seq"].as_u64(), Some(seq + 1));
}

/// The same, but the database stays out of reach after the cut, so the
/// server cannot read the log either: it must say the outcome is unknown,
/// not that nothing changed; once the database is back the change (which
/// was committed) reaches everyone and the engine goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_outcome_cannot_be_checked_is_reported_as_unknown() {
    let (deployment, cutter, app) = node_behind_a_commit_cutter().await;

    let mut operator = app.staff("hall_operator:tan-chau").await;
    let mut moderator = app.staff("moderator-1").await;
    let (id, cmd) = submit(
        "Xin hỏi về học bổng cho sinh viên nghèo vượt khó",
        "tan-chau",
    );
    cutter.arm_and_go_down();
    let reply = operator.cmd(cmd.clone()).await;
    assert_eq!(cutter.cuts.load(Ordering::SeqCst), 1);
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "outcome_unknown", "{reply}");
    assert!(reply["message"].as_str().unwrap().contains("có thể đã lưu"));
    // Out of service while the store cannot commit, back by itself after.
    wait_health(&app.base, 503).await;

    cutter.heal();
    wait_health(&app.base, 200).await;
    // It was committed: the database has it once.
    let log = db_log(&deployment.db.url).await;
    let seq = log
        .iter()
        .find(|(_, _, ids)| ids.contains(&id))
        .map(|(seq, _, _)| *seq)
        .unwrap_or_else(|| panic!("the cut COMMIT went through: {log:?}"));
    // Resending the submission (as the hall's outbox does) is answered as a
    // duplicate, once the pool has reconnected.
    let mut again = Value::Null;
    for _ in 0..50 {
        again = operator.cmd(cmd.clone()).await;
        if again["type"] == "ack" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(again["type"], "ack", "{again}");
    assert_eq!(again["duplicate"], true, "{again}");
    // Everyone sees it, and new commands commit after it.
    moderator.until_seq(seq).await;
    let (_, next) = submit("Câu hỏi sau khi cơ sở dữ liệu trở lại", "tan-chau");
    let ack = operator.cmd(next).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["seq"].as_u64(), Some(seq + 1));
}

/// One node whose every database connection passes through a [`CommitCutter`].
async fn node_behind_a_commit_cutter() -> (Deployment, CommitCutter, TestApp) {
    let deployment = Deployment::new().await;
    let (cutter, url) = CommitCutter::in_front_of(&deployment.db.url).await;
    let mut config = deployment.node_config("a");
    config.store.database_url = Some(url);
    let app = spawn_app_with(config).await;
    (deployment, cutter, app)
}

/// `/healthz` answers from memory: with every answer from PostgreSQL held
/// back, it still answers at once (a proxy's check must never time out on a
/// node that is only busy), `200` while the store's round trip is merely
/// slow and `503 store_unavailable` once it gave up (PostgreSQL's pool
/// after 5 s, the round trip's own limit after 10 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_never_waits_on_a_slow_database() {
    let (_deployment, cutter, app) = node_behind_a_commit_cutter().await;
    wait_health(&app.base, 200).await;
    cutter.stall();
    let http = reqwest::Client::new();
    let started = std::time::Instant::now();
    let mut statuses = Vec::new();
    while started.elapsed() < Duration::from_secs(30) {
        let asked = std::time::Instant::now();
        let r = http
            .get(format!("{}/healthz", app.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .expect("/healthz answers within 2 s while the database is stalled");
        assert!(asked.elapsed() < Duration::from_secs(2));
        let status = r.status().as_u16();
        statuses.push(status);
        if status == 503 {
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["code"], "store_unavailable", "{body}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        statuses.first(),
        Some(&200),
        "slow is not down: {statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "down only once the round trip gave up (the pool after 5 s): {statuses:?}"
    );
    cutter.unstall();
    wait_health(&app.base, 200).await;
    app.stop().await;
}
