//! `doithoai migrate-store`: an event run on SQLite is copied to PostgreSQL
//! by the real binary, then served from PostgreSQL with the same questions,
//! sequence numbers, personal data, tokens and receipts.

use std::process::Command;

use crate::common::pg::{pg_config, TestDb};
use crate::common::*;
use serde_json::json;

fn migrate(from: &str, to: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(["migrate-store", "--from", from, "--to", to])
        .env_remove("DOITHOAI_SECRET")
        .output()
        .expect("run doithoai migrate-store")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sqlite_event_moves_to_postgres_and_carries_on() {
    // An event under way on SQLite.
    let old = spawn_app().await;
    let mut op = old.staff("hall_operator:cho-moi").await;
    let mut m = old.staff("moderator-1").await;
    let mut phone = old.participant("chau-doc").await;
    let asked = phone
        .ok(json!({
            "type": "submit",
            "id": uuid::Uuid::new_v4(),
            "text": "Em muốn hỏi về chính sách hỗ trợ thanh niên lập nghiệp ở nông thôn?",
            "questioner": {"name": "Nguyễn Thị Thuỳ Dương", "phone": "0901 234 567"},
            "consent": true
        }))
        .await;
    let receipt = asked["receipt"].as_str().expect("receipt").to_string();
    let phone_q = asked["id"].as_str().expect("id").to_string();
    let (q1, cmd) = submit("Đề nghị mở lớp dạy nghề cho đoàn viên", "cho-moi");
    op.ok(cmd).await;
    m.ok(json!({"type":"approve","question":q1,"version":1}))
        .await;
    op.ok(
        json!({"type":"request_floor","id":uuid::Uuid::new_v4(),"note":"Một bạn muốn phát biểu"}),
    )
    .await;
    m.until_seq(4).await;
    let before = m.seen_questions();
    let moderator_token = old.token("moderator-1");
    let data_dir = old.data_dir.clone();
    let temp = old.stop().await.expect("temp dir");

    // Copy it with the real command.
    let db = TestDb::create().await;
    let out = migrate(data_dir.to_str().expect("path"), &db.url);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("an-giang-2024: seq 4"), "{said}");
    assert!(
        said.contains("secret.key"),
        "tells which secret to use: {said}"
    );

    // Served from PostgreSQL with the old secret: old links still work.
    let pg_dir = tempfile::tempdir().expect("temp dir");
    let new = spawn_app_with(pg_config(
        pg_dir.path(),
        &db.url,
        &data_dir.join("secret.key"),
    ))
    .await;
    assert_eq!(new.token("moderator-1"), moderator_token);
    let mut m2 = Client::join(
        &new.ws_url(),
        json!({"type":"hello","protocol":1,"token":moderator_token}),
    )
    .await;
    let snap = m2.recv().await.expect("snapshot");
    assert_eq!(snap["type"], "snapshot");
    assert_eq!(snap["seq"], 4);
    let mut after: Vec<String> = snap["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut before_sorted = before.clone();
    before_sorted.sort();
    after.sort();
    assert_eq!(after, before_sorted);
    let mine = snap["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .find(|q| q["id"] == phone_q.as_str())
        .expect("the participant's question");
    assert_eq!(
        mine["questioner"]["name"], "Nguyễn Thị Thuỳ Dương",
        "personal data came along"
    );
    assert_eq!(snap["floor"].as_array().map(Vec::len), Some(1));

    let r = new
        .http()
        .get(format!("{}/api/receipts/{phone_q}?r={receipt}", new.base))
        .send()
        .await
        .expect("receipt");
    assert_eq!(
        r.status(),
        200,
        "the participant's receipt link still works"
    );

    // The sequence goes on where SQLite stopped.
    let mut op2 = new.staff("hall_operator:cho-moi").await;
    let ack = op2
        .ok(submit("Câu đầu tiên trên PostgreSQL", "cho-moi").1)
        .await;
    assert_eq!(ack["seq"], 5);

    // Copying again would duplicate the history: refused.
    let again = migrate(data_dir.to_str().expect("path"), &db.url);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has data"));
    // A typo in the source is an error, not an empty copy.
    let missing = migrate("/nonexistent/doithoai-data", &db.url);
    assert!(!missing.status.success());
    new.stop().await;
    drop(temp);
}
