//! Resume by sequence number: a client that drops mid-session and comes back
//! with its last sequence number gets exactly the changes it missed, in
//! order, with no gaps and no repeats; one too far behind gets a snapshot.

use crate::common::*;
use serde_json::json;

/// Drive `n` questions through submit → approve → assign, returning the last seq.
async fn churn(m: &mut Client, n: usize, dept: &str) -> u64 {
    let mut last = 0;
    for i in 0..n {
        let (id, cmd) = submit(&format!("Câu hỏi số {i} về đào tạo nghề"), "chau-phu");
        m.ok(cmd).await;
        m.ok(json!({"type":"approve","question":id,"version":1}))
            .await;
        last = m
            .ok(json!({"type":"assign","question":id,"version":2,"department":dept}))
            .await["seq"]
            .as_u64()
            .unwrap();
    }
    last
}

#[tokio::test]
async fn resumed_client_gets_exactly_what_it_missed() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    // A reference client of the same role stays connected throughout.
    let mut steady = app.staff("speaker:ldtbxh").await;
    let mut flaky = app.staff("speaker:ldtbxh").await;
    let first = churn(&mut m, 3, "ldtbxh").await;
    flaky.until_seq(first).await;
    let resume_from = flaky.last_seq;
    flaky.close().await;

    // While it is away: changes for its department, and for another one it must not see.
    churn(&mut m, 4, "ldtbxh").await;
    churn(&mut m, 2, "gddt").await;
    let last = churn(&mut m, 2, "ldtbxh").await;
    steady.until_seq(last).await;

    let mut back = app.staff_resume("speaker:ldtbxh", resume_from).await;
    back.until_seq(last).await;
    assert!(
        back.log.iter().all(|v| v["type"] != "snapshot"),
        "a short absence is replayed, not snapshotted"
    );
    let replayed = back.change_seqs();
    let expected: Vec<u64> = steady
        .change_seqs()
        .into_iter()
        .filter(|s| *s > resume_from)
        .collect();
    assert_eq!(replayed, expected, "exactly the missed changes, in order");
    let mut sorted = replayed.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), replayed.len(), "no repeats");
    // Nothing from the other department leaked into the replay.
    for v in back.log.iter().filter(|v| v["type"] == "change") {
        assert!(!v.to_string().contains("\"gddt\""), "leak: {v}");
    }
    app.stop().await;
}

#[tokio::test]
async fn resume_at_current_seq_sends_nothing_and_too_far_behind_gets_a_snapshot() {
    let temp = tempfile::tempdir().unwrap();
    let mut config = doithoai::config::ServeConfig::for_tests(temp.path());
    config.history = 8;
    let app = spawn_app_with(config).await;
    let mut m = app.staff("moderator-1").await;
    let last = churn(&mut m, 2, "khcn").await;

    let mut current = app.staff_resume("moderator-2", last).await;
    // Moderators receive presence first; no change and no snapshot.
    let first = current.recv().await.unwrap();
    assert_eq!(first["type"], "presence");

    let later = churn(&mut m, 5, "khcn").await;
    let mut behind = app.staff_resume("moderator-2", 1).await;
    let snap = behind.recv().await.unwrap();
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["seq"].as_u64().unwrap(), later);
    assert_eq!(snap["questions"].as_array().unwrap().len(), 7);
    current.until_seq(later).await;
    app.stop().await;
}

#[tokio::test]
async fn resume_from_the_future_is_refused_with_a_fresh_snapshot() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let last = churn(&mut m, 1, "khdt").await;
    let mut c = app.staff_resume("chair", last + 100).await;
    let err = c.recv().await.unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["code"], "seq_ahead");
    let snap = c.recv().await.unwrap();
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["seq"].as_u64().unwrap(), last);
    app.stop().await;
}
