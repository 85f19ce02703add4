//! A whole live session over real WebSocket connections: every role
//! connected, the full lifecycle driven by moderators, and each client
//! checked to see exactly what its role may see.

use std::collections::{BTreeSet, HashMap};

use crate::common::*;
use serde_json::{json, Value};

/// Every question snapshot a client received, latest version per id.
fn latest(client: &Client) -> HashMap<String, Value> {
    let mut out = HashMap::new();
    for m in &client.log {
        if let Some(qs) = m["questions"].as_array() {
            for q in qs {
                out.insert(q["id"].as_str().unwrap().to_string(), q.clone());
            }
        }
        if let Some(rs) = m["removed"].as_array() {
            for r in rs {
                out.remove(r.as_str().unwrap());
            }
        }
    }
    out
}

fn any_personal_data(client: &Client) -> bool {
    client
        .log
        .iter()
        .any(|m| m.to_string().contains("questioner") || m.to_string().contains("0909123456"))
}

#[tokio::test]
async fn full_session_every_role_sees_exactly_its_share() {
    let app = spawn_app().await;
    let mut mod1 = app.staff("moderator-1").await;
    let mut mod2 = app.staff("moderator-2").await;
    let mut chair = app.staff("chair").await;
    let mut display = app.staff("display:all").await;
    let mut operators = Vec::new();
    for h in HALLS {
        operators.push((h, app.staff(&format!("hall_operator:{h}")).await));
    }
    let mut speakers = Vec::new();
    for d in DEPARTMENTS {
        speakers.push((d, app.staff(&format!("speaker:{d}")).await));
    }
    let mut phone = app.participant("cho-moi").await;

    // Each hall operator types one question; the Chợ Mới one carries personal data.
    let mut ids = HashMap::new();
    for (hall, op) in operators.iter_mut() {
        let (id, mut cmd) = submit(
            &format!("Câu hỏi từ điểm cầu {hall}: chính sách khởi nghiệp?"),
            hall,
        );
        if *hall == "cho-moi" {
            cmd["questioner"] =
                json!({"name":"Nguyễn Thị Hoà","phone":"0909123456","organization":"THPT Chợ Mới"});
            cmd["consent"] = json!(true);
        }
        op.ok(cmd).await;
        ids.insert(hall.to_string(), id);
    }
    // Moderators route them: hall i → department i % 9; a few are rejected.
    let mut expected_dept = HashMap::new();
    for (i, hall) in HALLS.iter().enumerate() {
        let id = &ids[*hall];
        let m = if i % 2 == 0 { &mut mod1 } else { &mut mod2 };
        if *hall == "tri-ton" {
            m.ok(json!({"type":"reject","question":id,"version":1,"reason":"Trùng lặp nội dung"}))
                .await;
            continue;
        }
        m.ok(json!({"type":"approve","question":id,"version":1}))
            .await;
        let dept = DEPARTMENTS[i % 9];
        m.ok(json!({"type":"assign","question":id,"version":2,"department":dept}))
            .await;
        expected_dept.insert(id.clone(), dept);
    }
    let on_air = ids["cho-moi"].clone();
    mod1.ok(json!({"type":"put_on_air","question":on_air,"version":3}))
        .await;
    let last = mod1
        .ok(json!({"type":"mark_answered","question":on_air,"version":4}))
        .await["seq"]
        .as_u64()
        .unwrap();

    // Everyone catches up to the last change (or has nothing to see of it).
    for c in [&mut mod1, &mut mod2, &mut chair] {
        c.until_seq(last).await;
    }
    // Full audiences see all 12 with personal data only for moderators.
    for c in [&mod1, &mod2] {
        let qs = latest(c);
        assert_eq!(qs.len(), 12);
        assert_eq!(qs[&ids["cho-moi"]]["questioner"]["phone"], "0909123456");
        assert_eq!(qs[&ids["cho-moi"]]["state"], "answered");
        assert_eq!(qs[&ids["tri-ton"]]["state"], "rejected");
    }
    let chair_qs = latest(&chair);
    assert_eq!(chair_qs.len(), 12, "the chair sees the whole running order");
    assert!(
        !any_personal_data(&chair),
        "the chair gets no personal data"
    );

    // Wait for the last visible change on the restricted clients via a barrier:
    // a final on-air change is visible to every audience.
    let barrier = ids["long-xuyen"].clone();
    let seq = mod2
        .ok(json!({"type":"put_on_air","question":barrier,"version":3}))
        .await["seq"]
        .as_u64()
        .unwrap();
    for (_, op) in operators.iter_mut() {
        op.until_seq(seq).await;
    }
    for (_, sp) in speakers.iter_mut() {
        sp.until_seq(seq).await;
    }
    display.until_seq(seq).await;
    phone.until_seq(seq).await;

    // Hall operators: their own hall's question, plus what went on air.
    for (hall, op) in &operators {
        let seen: BTreeSet<String> = op.seen_questions().into_iter().collect();
        let want: BTreeSet<String> = [ids[*hall].clone(), on_air.clone(), barrier.clone()].into();
        assert_eq!(
            seen, want,
            "hall {hall} sees its own question and the on-air ones"
        );
        assert!(
            !any_personal_data(op),
            "hall operator {hall} gets no personal data"
        );
    }
    // Speakers: only their department's routed questions (plus the on-air ones).
    for (dept, sp) in &speakers {
        let seen: BTreeSet<String> = sp.seen_questions().into_iter().collect();
        let mut want: BTreeSet<String> = expected_dept
            .iter()
            .filter(|(_, d)| *d == dept)
            .map(|(id, _)| id.clone())
            .collect();
        want.insert(on_air.clone());
        want.insert(barrier.clone());
        assert_eq!(seen, want, "speaker {dept}");
        assert!(
            !any_personal_data(sp),
            "speaker {dept} gets no personal data"
        );
    }
    // Display: approved+ only; never pending/rejected; no personal data.
    let qs = latest(&display);
    assert!(
        !qs.contains_key(&ids["tri-ton"]),
        "rejected question is not public"
    );
    assert_eq!(qs.len(), 11);
    assert!(qs.values().all(|q| q["state"] != "pending"));
    // Phone: only what has been on air.
    let seen: BTreeSet<String> = phone.seen_questions().into_iter().collect();
    assert_eq!(seen, BTreeSet::from([on_air.clone(), barrier.clone()]));
    for c in [&display, &phone] {
        assert!(!any_personal_data(c), "public clients get no personal data");
        assert!(
            c.log
                .iter()
                .all(|m| !m.to_string().contains("original_text")
                    && !m.to_string().contains("reject_reason")),
            "public clients get no moderation internals"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn display_name_is_public_only_with_consent() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let mut display = app.staff("display:tinh").await;
    let (shown, mut a) = submit("Có hỗ trợ vốn cho hợp tác xã thanh niên không?", "tinh");
    a["questioner"] = json!({"name":"Trần Văn Đức","show_name":true});
    a["consent"] = json!(true);
    let (hidden, mut b) = submit("Học nghề xong có được giới thiệu việc làm?", "tinh");
    b["questioner"] = json!({"name":"Lê Thị Thuỷ","show_name":false});
    b["consent"] = json!(true);
    m.ok(a).await;
    m.ok(b).await;
    m.ok(json!({"type":"approve","question":shown,"version":1}))
        .await;
    let seq = m
        .ok(json!({"type":"approve","question":hidden,"version":1}))
        .await["seq"]
        .as_u64()
        .unwrap();
    display.until_seq(seq).await;
    let qs = latest(&display);
    assert_eq!(qs[&shown]["display_name"], "Trần Văn Đức");
    assert!(qs[&hidden].get("display_name").is_none());
    let all = display
        .log
        .iter()
        .map(|m| m.to_string())
        .collect::<String>();
    assert!(!all.contains("Lê Thị Thuỷ"));
    app.stop().await;
}

#[tokio::test]
async fn presence_shows_connected_halls_to_moderators() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let snap = m.recv().await.unwrap();
    let presence = snap["presence"]
        .as_array()
        .expect("moderators get presence");
    assert_eq!(presence.len(), 12);
    assert!(presence.iter().all(|p| p["operators"] == 0));
    let op = app.staff("hall_operator:an-phu").await;
    let p = m
        .until("presence with an-phu", |v| {
            v["type"] == "presence"
                && v["halls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| h["hall"] == "an-phu" && h["operators"] == 1)
        })
        .await;
    let an_phu = p["halls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hall"] == "an-phu")
        .unwrap()
        .clone();
    assert!(an_phu["connected_since"].as_i64().is_some());
    op.close().await;
    m.until("an-phu gone", |v| {
        v["type"] == "presence"
            && v["halls"].as_array().unwrap().iter().any(|h| {
                h["hall"] == "an-phu" && h["operators"] == 0 && h["last_seen"].as_i64().is_some()
            })
    })
    .await;
    // Speakers do not get presence.
    let mut sp = app.staff("speaker:gddt").await;
    let snap = sp.recv().await.unwrap();
    assert!(snap.get("presence").is_none());
    app.stop().await;
}

#[tokio::test]
async fn floor_requests_flow_and_everyone_sees_who_speaks() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let mut op = app.staff("hall_operator:chau-doc").await;
    let mut op2 = app.staff("hall_operator:tan-chau").await;
    let mut display = app.staff("display:all").await;
    let r1 = uuid::Uuid::new_v4().to_string();
    op.ok(json!({"type":"request_floor","id":r1,"note":"Một bạn đoàn viên muốn phát biểu"}))
        .await;
    let again = op
        .cmd(json!({"type":"request_floor","id":uuid::Uuid::new_v4().to_string()}))
        .await;
    assert_eq!(again["code"], "floor_already_requested");
    let r2 = uuid::Uuid::new_v4().to_string();
    op2.ok(json!({"type":"request_floor","id":r2})).await;
    m.ok(json!({"type":"grant_floor","request":r1})).await;
    // Granting the second ends the first: one hall speaks at a time.
    let seq = m.ok(json!({"type":"grant_floor","request":r2})).await["seq"]
        .as_u64()
        .unwrap();
    display.until_seq(seq).await;
    let last = display
        .log
        .iter()
        .rev()
        .find(|v| v["type"] == "change")
        .unwrap();
    let floor = last["floor"].as_array().unwrap();
    let state = |id: &str| {
        floor
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["state"].clone())
    };
    assert_eq!(state(&r1), Some(json!("done")));
    assert_eq!(state(&r2), Some(json!("granted")));
    // A hall operator cannot grant.
    let denied = op.cmd(json!({"type":"end_floor","request":r2})).await;
    assert_eq!(denied["code"], "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn a_phone_welcome_carries_only_its_hall_and_the_form() {
    let app = spawn_app().await;
    let phone = app.participant("cho-moi").await;
    let event = &phone.welcome["event"];
    assert_eq!(event["id"], "an-giang-2024");
    assert_eq!(
        event["halls"],
        json!([{"id": "cho-moi", "name": "H. Chợ Mới"}])
    );
    assert_eq!(event["groups"].as_array().map(Vec::len), Some(5));
    assert_eq!(event["max_question_chars"], 2000);
    for staff_only in ["departments", "agencies", "written_answer_due_days"] {
        assert!(event.get(staff_only).is_none(), "phone got {staff_only}");
    }
    // Staff still get the whole definition.
    let moderator = app.staff("moderator-1").await;
    let full = &moderator.welcome["event"];
    assert_eq!(full["halls"].as_array().map(Vec::len), Some(HALLS.len()));
    assert_eq!(
        full["departments"].as_array().map(Vec::len),
        Some(DEPARTMENTS.len())
    );
}

#[tokio::test]
async fn an_ack_follows_its_change_on_the_same_connection() {
    let app = spawn_app().await;
    let mut moderator = app.staff("moderator-1").await;
    moderator
        .until("snapshot", |v| v["type"] == "snapshot")
        .await;
    let cmds = (0..40)
        .map(|i| submit(&format!("Câu hỏi số {i} về việc làm"), HALLS[i % 12]).1)
        .collect();
    let acks = moderator.pipeline(cmds).await;
    assert_eq!(acks.len(), 40);
    for ack in &acks {
        assert_eq!(ack["type"], "ack", "{ack}");
        let seq = ack["seq"].as_u64().unwrap();
        let ack_at = moderator.log.iter().position(|m| m == ack).unwrap();
        let change_at = moderator
            .log
            .iter()
            .position(|m| m["type"] == "change" && m["seq"] == seq)
            .unwrap_or_else(|| panic!("no change {seq} before its ack"));
        assert!(change_at < ack_at, "ack {seq} came before its change");
    }
}
