//! Issue 13 over real WebSocket: the undo commands (`reopen`, `unmerge`)
//! with votes and halls given back and an audit line each, and backstage
//! notes reaching exactly moderators, follow-up and the chair.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};

/// The audit export's lines as (seat, action, question, from, to).
async fn audit(app: &TestApp) -> Vec<(String, String, String, String, String)> {
    let r = app
        .http()
        .get(format!("{}/api/exports/audit.csv", app.base))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .expect("audit request");
    assert!(r.status().is_success(), "audit.csv: {}", r.status());
    let body = r.bytes().await.expect("audit body");
    let text = String::from_utf8_lossy(&body)
        .trim_start_matches('\u{feff}')
        .to_string();
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("csv line"))
        .map(|l| {
            (
                l[4].into(),
                l[5].into(),
                l[6].into(),
                l[7].into(),
                l[8].into(),
            )
        })
        .collect()
}

/// The change with `seq` this client received (it arrives before its ack).
fn change_at(client: &Client, seq: &Value) -> Value {
    client
        .log
        .iter()
        .find(|m| m["type"] == "change" && m["seq"] == *seq)
        .cloned()
        .unwrap_or_else(|| panic!("no change with seq {seq}"))
}

fn question_in(change: &Value, id: &str) -> Value {
    change["questions"]
        .as_array()
        .and_then(|qs| qs.iter().find(|q| q["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("{id} not in {change}"))
}

#[tokio::test]
async fn undo_reopens_answered_and_rejected_and_unmerges_with_votes_and_halls_back() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let mut op = app.staff("hall_operator:an-phu").await;

    let (a, sa) = submit("Xin hỏi về vốn vay khởi nghiệp cho thanh niên?", "tinh");
    let (b, sb) = submit("Vay vốn khởi nghiệp thế nào ạ?", "an-phu");
    let (c, sc) = submit("Câu hỏi sẽ bị từ chối rồi mở lại", "tinh");
    m.ok(sa).await;
    op.ok(sb).await; // asked in An Phú
    m.ok(sc).await;
    for id in [&a, &b] {
        m.ok(json!({"type":"approve","question":id,"version":1}))
            .await;
    }
    m.ok(json!({"type":"assign","question":a,"version":2,"department":"gddt"}))
        .await;
    m.ok(json!({"type":"assign","question":b,"version":2,"department":"gddt"}))
        .await;

    // Merge b (queued, An Phú) into a, then take it back.
    let ack = m
        .ok(json!({"type":"merge","question":b,"version":3,"into":a}))
        .await;
    let merged = change_at(&m, &ack["seq"]);
    let grown = question_in(&merged, &a);
    assert_eq!(grown["votes"], 2);
    assert_eq!(grown["halls"], json!(["an-phu"]));
    let wrong = m
        .cmd(json!({"type":"unmerge","question":b,"version":3}))
        .await;
    assert_eq!(
        wrong["code"], "conflict",
        "the merged question's version: {wrong}"
    );
    let ack = m
        .ok(json!({"type":"unmerge","question":b,"version":4}))
        .await;
    let undone = change_at(&m, &ack["seq"]);
    assert_eq!(undone["action"], "unmerge");
    let back = question_in(&undone, &b);
    assert_eq!(back["state"], "queued", "the state it had before the merge");
    assert_eq!(back["version"], 5);
    assert!(back.get("merged_into").is_none() && back.get("before_merge").is_none());
    let target = question_in(&undone, &a);
    assert_eq!(target["votes"], 1, "votes given back");
    assert!(target.get("halls").is_none(), "An Phú given back: {target}");
    assert_eq!(target["version"], grown["version"].as_u64().unwrap() + 1);
    // The hall operator of An Phú sees its question come back as queued.
    op.until("unmerge reaches the hall", |v| {
        v["action"] == "unmerge"
            && v["questions"]
                .as_array()
                .is_some_and(|qs| qs.iter().any(|q| q["id"] == b && q["state"] == "queued"))
    })
    .await;

    // Answered by mistake, then reopened: back in the queue at its place.
    m.ok(json!({"type":"put_on_air","question":a,"version":target["version"]}))
        .await;
    let v = target["version"].as_u64().unwrap() + 1;
    m.ok(json!({"type":"mark_answered","question":a,"version":v}))
        .await;
    let ack = m
        .ok(json!({"type":"reopen","question":a,"version":v + 1}))
        .await;
    let reopened = change_at(&m, &ack["seq"]);
    let q = question_in(&reopened, &a);
    assert_eq!(
        (q["state"].as_str(), q["queue_pos"].as_i64()),
        (Some("queued"), Some(1))
    );
    assert!(q.get("answered_at").is_none());

    // Rejected, then reopened: pending again, reason gone from the question.
    m.ok(json!({"type":"reject","question":c,"version":1,"reason":"Trùng lặp"}))
        .await;
    let wrong = m
        .cmd(json!({"type":"reopen","question":c,"version":1}))
        .await;
    assert_eq!(wrong["code"], "conflict");
    let ack = m
        .ok(json!({"type":"reopen","question":c,"version":2}))
        .await;
    let reopened = change_at(&m, &ack["seq"]);
    assert_eq!(reopened["questions"][0]["state"], "pending");
    assert!(reopened["questions"][0].get("reject_reason").is_none());

    // Only moderators and admins may undo.
    let mut chair = app.staff("chair").await;
    let refused = chair
        .cmd(json!({"type":"reopen","question":c,"version":3}))
        .await;
    assert_eq!(refused["code"], "forbidden");

    // Every undo is in the audit log with its seat and transition.
    let lines = audit(&app).await;
    let has = |action: &str, id: &str, from: &str, to: &str| {
        lines
            .iter()
            .any(|l| l.0 == "moderator-1" && l.1 == action && l.2 == id && l.3 == from && l.4 == to)
    };
    assert!(has("unmerge", &b, "merged", "queued"), "{lines:?}");
    assert!(has("unmerge", &a, "queued", "queued"));
    assert!(has("reopen", &a, "answered", "queued"));
    assert!(has("reopen", &c, "rejected", "pending"));
}

#[tokio::test]
async fn a_backstage_note_reaches_moderators_follow_up_and_chair_and_nobody_else() {
    let app = spawn_app().await;
    let mut moderator = app.staff("moderator-1").await;
    let mut follow_up = app.staff("follow_up-1").await;
    let mut chair = app.staff("chair").await;
    let mut display = app.staff("display:all").await;
    let mut hall = app.staff("hall_operator:cho-moi").await;
    let mut other_speaker = app.staff("speaker:khdt").await;
    let mut phone = app.participant("cho-moi").await;
    let mut speaker = app.staff("speaker:gddt").await;

    let ack = speaker
        .ok(json!({"type":"backstage_note","text":" Ca\u{0302}\u{0300}n thêm 2 phút "}))
        .await;
    let seq = ack["seq"].as_u64().expect("a note has a seq");
    let note_id = ack["id"].as_str().expect("the note's id").to_string();
    for (who, client) in [
        ("moderator", &mut moderator),
        ("follow-up", &mut follow_up),
        ("chair", &mut chair),
    ] {
        let change = client
            .until(&format!("note at {who}"), |v| {
                v["type"] == "change" && v["seq"] == seq
            })
            .await;
        assert_eq!(change["action"], "backstage_note", "{who}");
        assert_eq!(change["by"], "speaker:gddt");
        assert_eq!(change["note"]["id"], note_id.as_str());
        assert_eq!(change["note"]["from"], "speaker:gddt");
        assert_eq!(change["note"]["text"], "Cần thêm 2 phút", "NFC and trimmed");
        assert!(change["note"]["at"].as_i64().is_some());
    }

    // The chair sends one too; then a question change everyone sees, so each
    // other client proves it is past both notes without having seen either.
    let chair_ack = chair
        .ok(json!({"type":"backstage_note","text":"Xin chuyển câu tiếp"}))
        .await;
    moderator
        .until_seq(chair_ack["seq"].as_u64().unwrap())
        .await;
    assert_eq!(
        change_at(&moderator, &chair_ack["seq"])["note"]["from"],
        "chair"
    );
    let (id, cmd) = submit("Câu hỏi sau ghi chú", "cho-moi");
    moderator.ok(cmd).await;
    let approve_seq = moderator
        .ok(json!({"type":"approve","question":id,"version":1}))
        .await["seq"]
        .as_u64()
        .unwrap();
    moderator
        .ok(json!({"type":"assign","question":id,"version":2,"department":"khdt"}))
        .await;
    moderator
        .ok(json!({"type":"put_on_air","question":id,"version":3}))
        .await;
    let last = approve_seq + 2;
    for (who, client) in [
        ("display", &mut display),
        ("hall operator", &mut hall),
        ("other speaker", &mut other_speaker),
        ("phone", &mut phone),
        ("the sending speaker", &mut speaker),
    ] {
        client
            .until(&format!("{who} catches up"), |v| {
                v["seq"].as_u64() >= Some(last)
            })
            .await;
        let leaked: Vec<&Value> = client
            .log
            .iter()
            .filter(|m| {
                m["action"] == "backstage_note"
                    || m.get("note").is_some()
                    || m.to_string().contains("Cần thêm")
            })
            .collect();
        assert!(leaked.is_empty(), "{who} saw a note: {leaked:?}");
    }

    // Resume replays notes to the chair, and never to a display.
    let mut chair_again = app.staff_resume("chair", seq - 1).await;
    chair_again
        .until("replayed note", |v| {
            v["seq"] == seq && v["action"] == "backstage_note"
        })
        .await;
    let mut display_again = app.staff_resume("display:all", seq - 1).await;
    display_again
        .until("display resumes", |v| v["seq"].as_u64() >= Some(last))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!display_again.log.iter().any(|m| m.get("note").is_some()));

    // Moderators cannot send notes, nor can anything be longer than 140 characters.
    let refused = moderator
        .cmd(json!({"type":"backstage_note","text":"Xin chào"}))
        .await;
    assert_eq!(refused["code"], "forbidden");
    let long = speaker
        .cmd(json!({"type":"backstage_note","text":"ư".repeat(141)}))
        .await;
    assert_eq!(long["code"], "field_too_long");
    let ok = speaker
        .cmd(json!({"type":"backstage_note","text":"ư".repeat(140)}))
        .await;
    assert_eq!(ok["type"], "ack");
}
