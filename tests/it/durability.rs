//! Nothing acknowledged is ever lost: restarts keep every acknowledged
//! change, retries never duplicate, concurrent moderators never overwrite
//! each other silently, and shutdown tells clients to come back.

use crate::common::*;
use serde_json::json;

#[tokio::test]
async fn restart_on_the_same_data_directory_keeps_every_acknowledged_change() {
    let temp = tempfile::tempdir().unwrap();
    let app = spawn_app_in(temp.path()).await;
    let mut m = app.staff("moderator-1").await;
    let mut op = app.staff("hall_operator:thoai-son").await;
    let mut acked = Vec::new();
    for i in 0..20 {
        let (id, mut cmd) = submit(
            &format!("Câu hỏi {i}: mô hình hợp tác xã thanh niên, hòa nhập thị trường?"),
            "thoai-son",
        );
        if i == 0 {
            cmd["questioner"] = json!({"name":"Phạm Minh Đăng","phone":"0911000111"});
            cmd["consent"] = json!(true);
        }
        let ack = op.ok(cmd).await;
        acked.push((id, ack["seq"].as_u64().unwrap()));
    }
    let (first, _) = acked[0].clone();
    m.ok(json!({"type":"approve","question":first,"version":1}))
        .await;
    m.ok(json!({"type":"assign","question":first,"version":2,"department":"khdt"}))
        .await;
    let last = m
        .ok(json!({"type":"defer","question":first,"version":3,"agency":"Sở Tư pháp","due":"2024-04-30"}))
        .await["seq"]
        .as_u64()
        .unwrap();
    drop(m);
    drop(op);
    app.stop().await;

    let again = spawn_app_in(temp.path()).await;
    // Tokens survive the restart: the same links keep working.
    let mut m = again.staff("moderator-1").await;
    assert_eq!(m.welcome["seq"].as_u64().unwrap(), last);
    let snap = m.recv().await.unwrap();
    assert_eq!(snap["type"], "snapshot");
    let qs = snap["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 20);
    for (id, _) in &acked {
        assert!(
            qs.iter().any(|q| q["id"] == id.as_str()),
            "acknowledged {id} survived"
        );
    }
    let deferred = qs.iter().find(|q| q["id"] == first.as_str()).unwrap();
    assert_eq!(deferred["state"], "deferred");
    assert_eq!(deferred["followup"]["agency"], "Sở Tư pháp");
    assert_eq!(deferred["questioner"]["name"], "Phạm Minh Đăng");
    assert_eq!(deferred["version"], 4);
    // The sequence continues without a gap.
    let (_, cmd) = submit("Sau khi khởi động lại", "tinh");
    assert_eq!(m.ok(cmd).await["seq"].as_u64().unwrap(), last + 1);
    again.stop().await;
    drop(temp);
}

#[tokio::test]
async fn the_same_submission_twice_yields_one_question() {
    let app = spawn_app().await;
    let mut op = app.staff("hall_operator:tinh-bien").await;
    let (id, cmd) = submit("Xin hỏi về chính sách vay vốn ưu đãi?", "tinh-bien");
    let first = op.ok(cmd.clone()).await;
    let second = op.ok(cmd).await;
    assert_eq!(first["id"], id.as_str());
    assert_eq!(second["id"], id.as_str());
    assert_eq!(second["duplicate"], true);
    assert!(second.get("seq").is_none());
    assert_eq!(
        first["receipt"], second["receipt"],
        "a retry gets the same receipt"
    );

    // The HTTP fallback shares the idempotency — for the same asker only: an
    // anonymous phone re-using the operator's id gets no receipt (issue 12).
    let url = format!("{}/api/events/{EVENT}/questions", app.base);
    let body = json!({"id":id,"text":"Xin hỏi về chính sách vay vốn ưu đãi?","hall":"tinh-bien","device":"d"});
    let r = app.http().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 409);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["code"], "duplicate");

    let mut m = app.staff("moderator-1").await;
    let snap = m.recv().await.unwrap();
    assert_eq!(snap["questions"].as_array().unwrap().len(), 1);
    assert_eq!(snap["seq"], 1);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_submissions_with_one_id_commit_once() {
    let app = spawn_app().await;
    let (id, cmd) = submit("Gửi đồng thời từ hai kết nối", "an-phu");
    let mut a = app.staff("hall_operator:an-phu").await;
    let mut b = app.staff("moderator-1").await;
    let (ra, rb) = tokio::join!(a.ok(cmd.clone()), b.ok(cmd));
    let fresh = [&ra, &rb]
        .iter()
        .filter(|r| r.get("duplicate").is_none())
        .count();
    assert_eq!(fresh, 1, "exactly one of the two created it: {ra} {rb}");
    assert_eq!(ra["id"], id.as_str());
    assert_eq!(rb["id"], id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn two_moderators_racing_on_one_question_one_gets_a_conflict() {
    let app = spawn_app().await;
    let mut m1 = app.staff("moderator-1").await;
    let mut m2 = app.staff("moderator-2").await;
    let (id, cmd) = submit("Câu hỏi gốc", "tinh");
    m1.ok(cmd).await;
    let edit1 =
        json!({"type":"edit","question":id,"version":1,"text":"Câu hỏi đã biên tập bởi người 1"});
    let edit2 =
        json!({"type":"edit","question":id,"version":1,"text":"Câu hỏi đã biên tập bởi người 2"});
    let (r1, r2) = tokio::join!(m1.cmd(edit1), m2.cmd(edit2));
    let (winner, loser) = if r1["type"] == "ack" {
        (r1, r2)
    } else {
        (r2, r1)
    };
    assert_eq!(winner["type"], "ack");
    assert_eq!(loser["type"], "error");
    assert_eq!(loser["code"], "conflict");
    assert!(
        loser["message"].as_str().unwrap().len() > 5,
        "Vietnamese message"
    );
    assert!(
        loser["message_en"].as_str().unwrap().len() > 5,
        "English message"
    );
    // The loser is handed the fresh version to look at.
    assert_eq!(loser["current"]["version"], 2);
    assert_eq!(loser["current"]["original_text"], "Câu hỏi gốc");
    let text = loser["current"]["text"].as_str().unwrap();
    assert!(text.starts_with("Câu hỏi đã biên tập"));
    // Retrying against the fresh version works.
    m2.ok(json!({"type":"edit","question":id,"version":2,"text":"Bản cuối"}))
        .await;
    app.stop().await;
}

#[tokio::test]
async fn only_one_question_is_on_air() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let mut ids = Vec::new();
    for i in 0..2 {
        let (id, cmd) = submit(&format!("Câu {i}"), "tinh");
        m.ok(cmd).await;
        m.ok(json!({"type":"approve","question":id,"version":1}))
            .await;
        m.ok(json!({"type":"assign","question":id,"version":2,"department":"ubnd"}))
            .await;
        ids.push(id);
    }
    m.ok(json!({"type":"put_on_air","question":ids[0],"version":3}))
        .await;
    let busy = m
        .cmd(json!({"type":"put_on_air","question":ids[1],"version":3}))
        .await;
    assert_eq!(busy["code"], "on_air_busy");
    m.ok(json!({"type":"mark_answered","question":ids[0],"version":4}))
        .await;
    m.ok(json!({"type":"put_on_air","question":ids[1],"version":3}))
        .await;
    app.stop().await;
}

#[tokio::test]
async fn graceful_shutdown_acknowledges_then_says_bye() {
    let app = spawn_app().await;
    let mut op = app.staff("hall_operator:phu-tan").await;
    let (_, cmd) = submit("Trước khi tắt máy chủ", "phu-tan");
    op.ok(cmd).await;
    let temp = app.stop().await;
    let bye = op.until("bye", |v| v["type"] == "bye").await;
    assert_eq!(bye["code"], "server_shutdown");
    assert!(bye["retry_ms"].as_u64().unwrap() > 0);
    drop(temp);
}

#[tokio::test]
async fn a_conflict_shows_the_fresh_version_only_as_the_role_may_see_it() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let mut sp = app.staff("speaker:gddt").await;
    let (id, mut cmd) = submit("Câu hỏi có thông tin cá nhân", "tinh");
    cmd["questioner"] = json!({"name":"Đỗ Thị Hằng","phone":"0933444555"});
    cmd["consent"] = json!(true);
    m.ok(cmd).await;
    m.ok(json!({"type":"approve","question":id,"version":1}))
        .await;
    m.ok(json!({"type":"assign","question":id,"version":2,"department":"gddt"}))
        .await;
    // The speaker defers with a stale version: conflict, but no personal data.
    let v = sp
        .cmd(json!({"type":"defer","question":id,"version":2}))
        .await;
    assert_eq!(v["code"], "conflict");
    assert_eq!(v["current"]["version"], 3);
    assert!(!v.to_string().contains("0933444555"), "{v}");
    // A moderator's conflict carries it (moderators see personal data).
    let v = m
        .cmd(json!({"type":"set_group","question":id,"version":1,"group":"viec-lam"}))
        .await;
    assert_eq!(v["code"], "conflict");
    assert_eq!(v["current"]["questioner"]["phone"], "0933444555");
    app.stop().await;
}

/// Phones are written to by their own runtime, which stops with the server:
/// every phone must still be told to reconnect before it does.
#[tokio::test]
async fn graceful_shutdown_says_bye_to_every_phone_too() {
    let app = spawn_app().await;
    let mut phones = Vec::new();
    for i in 0..40 {
        let hall = ["tinh", "cho-moi", "an-phu", "tri-ton"][i % 4];
        phones.push(app.participant(hall).await);
    }
    let temp = app.stop().await;
    for phone in &mut phones {
        let bye = phone.until("bye", |v| v["type"] == "bye").await;
        assert_eq!(bye["code"], "server_shutdown");
    }
    drop(temp);
}
