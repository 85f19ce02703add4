//! Bad input of every kind gets a typed error (code + Vietnamese + English)
//! and changes nothing: the event's sequence number stays where it was.

use crate::common::*;
use serde_json::{json, Value};

async fn seq_of(app: &TestApp) -> u64 {
    app.questions("moderator-1").await["seq"].as_u64().unwrap()
}

fn assert_error(v: &Value, code: &str, case: &str) {
    assert_eq!(v["type"], "error", "{case}: expected error, got {v}");
    assert_eq!(v["code"], code, "{case}: {v}");
    assert!(
        !v["message"].as_str().unwrap_or_default().is_empty(),
        "{case}: Vietnamese message"
    );
    assert!(
        !v["message_en"].as_str().unwrap_or_default().is_empty(),
        "{case}: English message"
    );
}

#[tokio::test]
async fn malformed_frames_get_errors_and_change_nothing() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let (id, cmd) = submit("Câu hỏi hợp lệ", "tinh");
    m.ok(cmd).await;
    let before = seq_of(&app).await;
    let cases: [(&str, &str); 6] = [
        ("{not json", "malformed_json"),
        (r#"{"type":"dance"}"#, "unknown_type"),
        (r#"{"no_type":1}"#, "unknown_type"),
        (
            r#"{"type":"cmd","req":"x","cmd":{"type":"fly"}}"#,
            "invalid_message",
        ),
        (
            r#"{"type":"cmd","req":"x","cmd":{"type":"approve","question":"not-a-uuid","version":1}}"#,
            "invalid_message",
        ),
        (r#"{"type":"hello","protocol":1}"#, "already_joined"),
    ];
    for (raw, code) in cases {
        m.send_raw(raw).await;
        let v = m.until("error", |v| v["type"] == "error").await;
        assert_error(&v, code, raw);
    }
    // Unknown (well-formed) id.
    let v = m
        .cmd(json!({"type":"approve","question":uuid::Uuid::new_v4().to_string(),"version":1}))
        .await;
    assert_error(&v, "not_found", "unknown id");
    // Stale version is a conflict, not a silent overwrite.
    let v = m
        .cmd(json!({"type":"approve","question":id,"version":7}))
        .await;
    assert_error(&v, "conflict", "stale version");
    assert_eq!(seq_of(&app).await, before);
    app.stop().await;
}

#[tokio::test]
async fn invalid_commands_are_refused_with_their_code() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let (id, cmd) = submit("Câu hỏi để thử lỗi", "tinh");
    m.ok(cmd).await;
    let long_ok: String = "ệ".repeat(2000);
    let too_long: String = "ệ".repeat(2001);
    let before = seq_of(&app).await;
    let fresh = || uuid::Uuid::new_v4().to_string();
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "empty text",
            json!({"type":"submit","id":fresh(),"text":""}),
            "empty_text",
        ),
        (
            "whitespace text",
            json!({"type":"submit","id":fresh(),"text":"  \n\t "}),
            "empty_text",
        ),
        (
            "2001 characters",
            json!({"type":"submit","id":fresh(),"text":too_long}),
            "text_too_long",
        ),
        (
            "unknown hall",
            json!({"type":"submit","id":fresh(),"text":"x","hall":"ha-noi"}),
            "unknown_hall",
        ),
        (
            "unknown group",
            json!({"type":"submit","id":fresh(),"text":"x","group":"the-thao"}),
            "unknown_group",
        ),
        (
            "personal data without consent",
            json!({"type":"submit","id":fresh(),"text":"x","questioner":{"name":"Võ Thị Sáu"}}),
            "consent_required",
        ),
        (
            "reject without reason",
            json!({"type":"reject","question":id,"version":1,"reason":"  "}),
            "reason_required",
        ),
        (
            "assign pending",
            json!({"type":"assign","question":id,"version":1,"department":"gddt"}),
            "invalid_transition",
        ),
        (
            "merge into itself",
            json!({"type":"merge","question":id,"version":1,"into":id}),
            "merge_into_self",
        ),
        (
            "answer a pending question",
            json!({"type":"mark_answered","question":id,"version":1}),
            "invalid_transition",
        ),
        (
            "publish before drafting",
            json!({"type":"publish","question":id,"version":1}),
            "invalid_transition",
        ),
        (
            "reorder an unknown department",
            json!({"type":"reorder","department":"bo-cong-an","order":[]}),
            "unknown_department",
        ),
    ];
    for (case, cmd, code) in cases {
        let v = m.cmd(cmd).await;
        assert_error(&v, code, case);
    }
    m.ok(json!({"type":"approve","question":id,"version":1}))
        .await;
    let v = m
        .cmd(json!({"type":"assign","question":id,"version":2,"department":"bo-y-te"}))
        .await;
    assert_error(&v, "unknown_department", "unknown department");
    let v = m
        .cmd(json!({"type":"defer","question":id,"version":2}))
        .await;
    assert_error(&v, "agency_required", "defer without agency");
    let v = m
        .cmd(
            json!({"type":"defer","question":id,"version":2,"agency":"Sở Y tế","due":"30/04/2024"}),
        )
        .await;
    assert_error(&v, "invalid_date", "invalid date");
    assert_eq!(
        seq_of(&app).await,
        before + 1,
        "only the approve changed anything"
    );
    // The limit counts characters, not bytes: exactly 2,000 Vietnamese characters is fine.
    m.ok(json!({"type":"submit","id":fresh(),"text":long_ok}))
        .await;
    app.stop().await;
}

#[tokio::test]
async fn roles_may_only_do_their_own_work() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let (id, cmd) = submit("Câu hỏi cho phân quyền", "chau-thanh");
    m.ok(cmd).await;
    let before = seq_of(&app).await;
    let approve = json!({"type":"approve","question":id,"version":1});
    for seat in [
        "speaker:gddt",
        "hall_operator:chau-thanh",
        "display:tinh",
        "chair",
    ] {
        let mut c = app.staff(seat).await;
        let v = c.cmd(approve.clone()).await;
        assert_error(&v, "forbidden", seat);
    }
    let mut display = app.staff("display:all").await;
    let (_, s) = submit("Màn hình không được gửi câu hỏi", "tinh");
    assert_error(&display.cmd(s).await, "forbidden", "display submit");
    let mut phone = app.participant("tinh").await;
    assert_error(
        &phone.cmd(approve.clone()).await,
        "forbidden",
        "participant approve",
    );
    let mut op = app.staff("hall_operator:chau-thanh").await;
    assert_error(
        &op.cmd(json!({"type":"grant_floor","request":uuid::Uuid::new_v4().to_string()}))
            .await,
        "forbidden",
        "operator grants floor",
    );
    assert_eq!(seq_of(&app).await, before);

    // A hall operator files questions for their own hall only: another hall
    // is refused (docs/PROTOCOL.md §4), naming their own or none is fine.
    let (_, mut cmd) = submit("Gửi sang điểm cầu khác?", "tri-ton");
    cmd["hall"] = json!("tri-ton");
    let v = op.cmd(cmd).await;
    assert_error(&v, "forbidden", "hall operator submitting for another hall");
    assert_eq!(seq_of(&app).await, before);
    let (own, cmd) = submit("Câu hỏi của điểm cầu mình", "chau-thanh");
    op.ok(cmd).await;
    let (unnamed, mut cmd) = submit("Câu hỏi không ghi điểm cầu", "chau-thanh");
    cmd.as_object_mut().unwrap().remove("hall");
    op.ok(cmd).await;
    let v = app.questions("moderator-1").await;
    for id in [&own, &unnamed] {
        let q = v["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == id.as_str())
            .unwrap()
            .clone();
        assert_eq!(q["hall"], "chau-thanh");
        assert_eq!(q["source"], "hall");
    }
    app.stop().await;
}

async fn hello_error(app: &TestApp, hello: Value) -> Value {
    let mut ws = Client::connect_raw(&app.ws_url()).await;
    use futures_util::{SinkExt, StreamExt};
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        hello.to_string().into(),
    ))
    .await
    .unwrap();
    let msg = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    serde_json::from_str(msg.to_text().unwrap()).unwrap()
}

#[tokio::test]
async fn handshakes_with_bad_credentials_are_refused() {
    let app = spawn_app().await;
    let store = app.app.engine.store().clone();
    // An expired and a revoked seat, made directly in the store.
    for (token, expires, revoked) in [
        ("expired-token", Some(1), None),
        ("revoked-token", None, Some(1)),
    ] {
        store
            .put_token(&doithoai::store::TokenRecord {
                token_hash: doithoai::auth::hash_token(token),
                event_id: EVENT.into(),
                slot: format!("moderator-{token}"),
                role: "moderator".into(),
                hall: None,
                department: None,
                label: "moderator-x".into(),
                generation: 1,
                created_at: 0,
                expires_at: expires,
                revoked_at: revoked,
            })
            .await
            .unwrap();
    }
    let cases = [
        (
            json!({"type":"hello","protocol":1,"token":"expired-token"}),
            "token_expired",
        ),
        (
            json!({"type":"hello","protocol":1,"token":"revoked-token"}),
            "token_revoked",
        ),
        (
            json!({"type":"hello","protocol":1,"token":"nobody"}),
            "unknown_token",
        ),
        (
            json!({"type":"hello","protocol":1,"event":"khong-co-su-kien"}),
            "unknown_event",
        ),
        (json!({"type":"hello","protocol":1}), "unauthorized"),
        (
            json!({"type":"hello","protocol":99,"event":EVENT}),
            "unsupported_protocol",
        ),
        (json!({"type":"ping"}), "hello_expected"),
    ];
    for (hello, code) in cases {
        let v = hello_error(&app, hello.clone()).await;
        assert_error(&v, code, &hello.to_string());
    }
    // Revoking a real seat through the same path as the CLI.
    let token = app.token("moderator-3");
    assert!(
        doithoai::auth::revoke_slot(store.as_ref(), EVENT, "moderator-3")
            .await
            .unwrap()
    );
    let v = hello_error(&app, json!({"type":"hello","protocol":1,"token":token})).await;
    assert_error(&v, "token_revoked", "revoked seat");
    app.stop().await;
}

#[tokio::test]
async fn oversized_and_binary_frames_are_rejected() {
    let app = spawn_app().await;
    let before = seq_of(&app).await;
    let mut m = app.staff("moderator-1").await;
    m.send_raw("").await;
    let v = m.until("error", |v| v["type"] == "error").await;
    assert_error(&v, "malformed_json", "empty frame");
    {
        use futures_util::SinkExt;
        let mut ws = Client::connect_raw(&app.ws_url()).await;
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            json!({"type":"hello","protocol":1,"token":app.token("moderator-2")})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();
        ws.send(tokio_tungstenite::tungstenite::Message::Binary(
            vec![1, 2, 3].into(),
        ))
        .await
        .unwrap();
        let mut saw = false;
        use futures_util::StreamExt;
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(WAIT, ws.next()).await {
            if let Ok(t) = msg.to_text() {
                if t.contains("binary_not_supported") {
                    saw = true;
                    break;
                }
            }
        }
        assert!(saw, "binary frame answered with binary_not_supported");
    }
    let huge = format!(
        r#"{{"type":"cmd","req":"big","cmd":{{"type":"submit","id":"{}","text":"{}"}}}}"#,
        uuid::Uuid::new_v4(),
        "a".repeat(100_000)
    );
    m.send_raw(&huge).await;
    let mut closed_or_error = false;
    while let Some(v) = m.recv().await {
        if v["type"] == "error" {
            assert_error(&v, "frame_rejected", "oversized frame");
            closed_or_error = true;
            break;
        }
    }
    assert!(
        closed_or_error,
        "oversized frame answered with frame_rejected"
    );
    assert_eq!(seq_of(&app).await, before);
    app.stop().await;
}
