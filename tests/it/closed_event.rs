//! A closed event is read-only: every change is refused with `event_closed`
//! over WebSocket and HTTP, every `welcome` says since when, and reading,
//! exports, the conclusion report and erasing personal data still work.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

const CLOSED_VI: &str = "Sự kiện đã kết thúc, không nhận thêm thay đổi";

fn assert_closed(reply: &Value) {
    assert_eq!(reply["type"], "error", "{reply}");
    assert_eq!(reply["code"], "event_closed", "{reply}");
    assert_eq!(reply["message"], CLOSED_VI, "{reply}");
    assert!(
        reply["message_en"].as_str().unwrap().contains("closed"),
        "{reply}"
    );
}

async fn post(app: &TestApp, seat: &str, path: &str, body: Value) -> (u16, Value) {
    let r = app
        .http()
        .post(format!("{}{path}", app.base))
        .bearer_auth(app.token(seat))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(app: &TestApp, seat: &str, path: &str) -> reqwest::Response {
    app.http()
        .get(format!("{}{path}", app.base))
        .bearer_auth(app.token(seat))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_closed_event_refuses_every_change_and_still_reads_exports_and_erases() {
    let temp = tempfile::tempdir().unwrap();
    let app = spawn_app_in(temp.path()).await;
    let mut m = app.staff("moderator-1").await;
    let mut op = app.staff("hall_operator:cho-moi").await;
    let mut sp = app.staff("speaker:gddt").await;
    let mut fu = app.staff("follow_up-1").await;

    let (asked, mut cmd) = submit("Xin hỏi về học bổng cho học sinh nghèo?", "cho-moi");
    cmd["questioner"] = json!({"name":"Trần Thị Mai","phone":"0912345678"});
    cmd["consent"] = json!(true);
    op.ok(cmd.clone()).await;
    m.ok(json!({"type":"approve","question":asked,"version":1}))
        .await;
    m.ok(json!({"type":"assign","question":asked,"version":2,"department":"gddt"}))
        .await;
    let (deferred, d) = submit("Câu hỏi chờ trả lời bằng văn bản", "tinh");
    m.ok(d).await;
    m.ok(json!({"type":"approve","question":deferred,"version":1}))
        .await;
    m.ok(json!({"type":"defer","question":deferred,"version":2,"agency":"Sở Y tế"}))
        .await;
    let floor = uuid::Uuid::new_v4().to_string();
    op.ok(json!({"type":"request_floor","id":floor})).await;

    // Only the admin closes; closing twice keeps the first time.
    let (status, _) = post(&app, "moderator-1", "/api/admin/close-event", json!({})).await;
    assert_eq!(status, 403);
    let (status, closed) = post(&app, "admin", "/api/admin/close-event", json!({})).await;
    assert_eq!(status, 200, "{closed}");
    let at = closed["closed_at"].as_i64().expect("closed_at");
    assert_eq!(closed["event"], EVENT);
    let (_, again) = post(&app, "admin", "/api/admin/close-event", json!({})).await;
    assert_eq!(again["closed_at"], at);

    // Every kind of change, from every role, over WebSocket.
    let mut phone = app.participant("cho-moi").await;
    assert_eq!(phone.welcome["closed_at"], at, "{}", phone.welcome);
    let mut new_phone = submit("Câu hỏi mới sau khi đóng", "cho-moi").1;
    new_phone["questioner"] = json!({"name":"Lê Văn Tám","phone":"0987000111"});
    new_phone["consent"] = json!(true);
    assert_closed(&phone.cmd(new_phone.clone()).await);
    assert_closed(&op.cmd(submit("Câu hỏi của điểm cầu", "cho-moi").1).await);
    assert_closed(&op.cmd(json!({"type":"cancel_floor","request":floor})).await);
    assert_closed(&m.cmd(json!({"type":"grant_floor","request":floor})).await);
    assert_closed(
        &m.cmd(json!({"type":"put_on_air","question":asked,"version":3}))
            .await,
    );
    assert_closed(
        &m.cmd(json!({"type":"edit","question":asked,"version":3,"text":"Sửa sau khi đóng"}))
            .await,
    );
    assert_closed(
        &m.cmd(json!({"type":"reject","question":asked,"version":3,"reason":"x"}))
            .await,
    );
    assert_closed(
        &sp.cmd(json!({"type":"defer","question":asked,"version":3}))
            .await,
    );
    assert_closed(
        &fu.cmd(
            json!({"type":"update_follow_up","question":deferred,"version":3,"answer":"Trả lời"}),
        )
        .await,
    );
    // A resend of what was saved before the close is still answered as saved.
    let resent = op.cmd(cmd).await;
    assert_eq!(resent["type"], "ack", "{resent}");
    assert_eq!(resent["duplicate"], true);

    // Over HTTP: a phone's submission is 409, a staff command too.
    let r = app
        .http()
        .post(format!("{}/api/events/{EVENT}/questions", app.base))
        .json(
            &json!({"id": uuid::Uuid::new_v4(), "text": "Gửi qua HTTP sau khi đóng", "hall": "tinh",
                      "questioner": {"name": "Võ Thị Sáu"}, "consent": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "event_closed");
    assert_eq!(body["message"], CLOSED_VI);
    let (status, body) = post(
        &app,
        "moderator-1",
        "/api/commands",
        json!({"type":"approve","question":deferred,"version":3}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("event_closed")),
        "{body}"
    );

    // Nothing changed: seq and the questions are as before the close.
    let seq = app.questions("moderator-1").await["seq"].as_u64().unwrap();
    assert_eq!(seq, 7);
    let info = app.get_json(&format!("/api/events/{EVENT}")).await;
    assert_eq!(info["closed_at"], at, "the public definition says so too");
    let staff = app.staff("chair").await;
    assert_eq!(staff.welcome["closed_at"], at);

    // Reading, exports and the conclusion report still work.
    let csv = get(&app, "follow_up-1", "/api/exports/questions.csv").await;
    assert_eq!(csv.status(), 200);
    assert!(csv.text().await.unwrap().contains("học bổng"));
    let report = get(&app, "follow_up-1", "/api/reports/conclusion.html").await;
    assert_eq!(report.status(), 200);
    let docx = get(&app, "follow_up-1", "/api/reports/conclusion.docx").await;
    assert_eq!(docx.status(), 200);
    // Erasing personal data works on it, and nothing brings new personal data in.
    let (status, erased) = post(&app, "admin", "/api/admin/erase-personal-data", json!({})).await;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["erased"], 1);
    assert_closed(&phone.cmd(new_phone).await);
    let all = app.questions("moderator-1").await.to_string();
    assert!(
        !all.contains("0912345678") && !all.contains("0987000111"),
        "{all}"
    );
    drop((m, op, sp, fu, phone, staff));
    app.stop().await;

    // Still closed after a restart.
    let app = spawn_app_in(temp.path()).await;
    let mut phone = app.participant("tinh").await;
    assert_eq!(phone.welcome["closed_at"], at);
    assert_closed(&phone.cmd(submit("Sau khi khởi động lại", "tinh").1).await);
    app.stop().await;
}

/// Closed from outside the server (the command line writes the store, or
/// another node): the very next command is refused, because the store
/// refuses to commit to a closed event, and new clients soon see it.
#[tokio::test]
async fn a_close_made_outside_the_server_is_never_missed() {
    let app = spawn_app().await;
    let mut op = app.staff("hall_operator:tri-ton").await;
    op.ok(submit("Trước khi đóng", "tri-ton").1).await;
    app.app
        .engine
        .store()
        .close_event(EVENT, 1_711_500_000_000)
        .await
        .unwrap();
    assert_closed(&op.cmd(submit("Ngay sau khi đóng", "tri-ton").1).await);
    let mut seen = Value::Null;
    for _ in 0..100 {
        let phone = app.participant("tri-ton").await;
        seen = phone.welcome.clone();
        if seen["closed_at"] == 1_711_500_000_000i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen["closed_at"], 1_711_500_000_000i64, "{seen}");
    app.stop().await;
}

/// Erasing personal data also drops the questions' device keys (a hash tied
/// to a phone), in the store, its log and memory: afterwards the same id
/// resent from the same phone is a `duplicate`, never answered with the receipt.
#[tokio::test]
async fn erasing_personal_data_drops_device_keys_and_a_resend_gets_duplicate() {
    let temp = tempfile::tempdir().unwrap();
    let app = spawn_app_in(temp.path()).await;
    let hello = json!({"type":"hello","protocol":1,"event":EVENT,"hall":"tinh","device":"phone-a"});
    let mut phone = Client::join(&app.ws_url(), hello.clone()).await;
    let (id, mut cmd) = submit("Xin hỏi về nhà ở xã hội cho công nhân trẻ?", "tinh");
    cmd["questioner"] = json!({"name":"Lê Văn Đạt","phone":"0912345678"});
    cmd["consent"] = json!(true);
    let first = phone.ok(cmd.clone()).await;
    let receipt = first["receipt"].as_str().unwrap().to_string();
    let (status, _) = post(&app, "admin", "/api/admin/close-event", json!({})).await;
    assert_eq!(status, 200);
    let again = phone.ok(cmd.clone()).await;
    assert_eq!(
        again["receipt"],
        receipt.as_str(),
        "the asker's resend: {again}"
    );
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    let rt = app
        .app
        .engine
        .events()
        .into_iter()
        .find(|rt| rt.id() == EVENT)
        .unwrap();
    assert!(rt.question(&uuid).unwrap().device_key.is_some());

    let (status, erased) = post(&app, "admin", "/api/admin/erase-personal-data", json!({})).await;
    assert_eq!(status, 200, "{erased}");
    // Memory, the store's questions and its log hold no device key any more.
    assert_eq!(rt.question(&uuid).unwrap().device_key, None);
    let store = app.app.engine.store();
    let loaded = store.load(EVENT).await.unwrap();
    assert!(loaded.questions.iter().all(|q| q.device_key.is_none()));
    let log = store.changes_since(EVENT, 0, 10_000).await.unwrap();
    assert!(log
        .iter()
        .flat_map(|c| &c.questions)
        .all(|u| u.question.device_key.is_none()));
    let all = app.questions("admin").await.to_string();
    assert!(!all.contains("device_key") && !all.contains("Đạt"), "{all}");
    // The same phone resending the same id: duplicate, no receipt.
    let resend = phone.cmd(cmd.clone()).await;
    assert_eq!(resend["code"], "duplicate", "{resend}");
    assert!(resend.get("receipt").is_none(), "{resend}");
    let http = app
        .http()
        .post(format!("{}/api/events/{EVENT}/questions", app.base))
        .json(
            &json!({"id": id, "text": cmd["text"], "hall": "tinh", "device": "phone-a",
                      "questioner": cmd["questioner"], "consent": true}),
        )
        .send()
        .await
        .unwrap();
    let body: Value = http.json().await.unwrap();
    assert_eq!(body["code"], "duplicate", "{body}");
    assert!(!body.to_string().contains(&receipt), "{body}");
    drop(phone);
    app.stop().await;

    // After a restart too: the store no longer knows the phone.
    let app = spawn_app_in(temp.path()).await;
    let mut phone = Client::join(&app.ws_url(), hello).await;
    let resend = phone.cmd(cmd).await;
    assert_eq!(resend["code"], "duplicate", "{resend}");
    app.stop().await;
}
