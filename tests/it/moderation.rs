//! Issue 14 over the real server: the assistant's hints reach moderators,
//! follow-up and admin only; votes are once per device, durable, summed by
//! merges and listed for phones on demand; the running-order suggestions go
//! to staff as a frame and over HTTP.

use serde_json::{json, Value};

use crate::common::{spawn_app, spawn_app_in, submit, Client, TestApp, EVENT};

/// Every message a client received, as text.
fn all_text(c: &Client) -> String {
    c.log
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn question<'a>(questions: &'a Value, id: &str) -> &'a Value {
    questions
        .as_array()
        .expect("questions")
        .iter()
        .find(|q| q["id"] == id)
        .unwrap_or_else(|| panic!("question {id} not in {questions}"))
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = app.http().get(format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("GET")
}

const ORIGINAL: &str = "Thanh niên khởi nghiệp được vay vốn ưu đãi ở đâu, lãi suất bao nhiêu?";
const DUPLICATE: &str =
    "Cho em hoi tn khoi nghiep vay von uu dai o dau, lai suat bn a? sdt e 0912 345 678";

#[tokio::test]
async fn hints_reach_moderators_follow_up_and_admin_only() {
    let app = spawn_app().await;
    let mut moderator = app.staff("moderator-1").await;
    let mut follow_up = app.staff("follow_up-1").await;
    let mut admin = app.staff("admin").await;
    let mut others = vec![
        app.staff("chair").await,
        app.staff("speaker:tai-chinh").await,
        app.staff("hall_operator:cho-moi").await,
        app.staff("display:all").await,
        app.participant("cho-moi").await,
    ];
    let (first, cmd) = submit(ORIGINAL, "cho-moi");
    moderator.ok(cmd).await;
    let (dup, cmd) = submit(DUPLICATE, "cho-moi");
    let ack = moderator.ok(cmd).await;
    let seq = ack["seq"].as_u64().unwrap();
    moderator.until_seq(seq).await;
    // The hints follow the change in a frame of their own.
    let hints = moderator.hints_where(&dup, |_| true).await;
    assert_eq!(hints["similar"][0]["id"], first.as_str(), "{hints}");
    assert!(
        hints["similar"][0]["score"].as_f64().unwrap() > 0.3,
        "{hints}"
    );
    assert_eq!(hints["flags"], json!(["phone_number"]), "{hints}");
    assert_eq!(hints["group"]["id"], "khoi-nghiep", "{hints}");
    assert_eq!(hints["department"]["id"], "tai-chinh", "{hints}");
    // The older question learns of its new duplicate live, not at the next snapshot.
    let older = moderator
        .hints_where(&first, |h| h["similar"][0]["id"] == dup.as_str())
        .await;
    assert!(
        older["similar"][0]["score"].as_f64().unwrap() > 0.3,
        "{older}"
    );
    // Route the duplicate all the way on air, so every audience sees it.
    for (cmd, version) in [("approve", 1), ("assign", 2), ("put_on_air", 3)] {
        let mut c = json!({"type": cmd, "question": dup, "version": version});
        if cmd == "assign" {
            c["department"] = json!("tai-chinh");
        }
        moderator.ok(c).await;
    }
    let last = moderator
        .ok(json!({"type":"set_group","question":dup,"version":4,"group":"khoi-nghiep"}))
        .await;
    let last = last["seq"].as_u64().unwrap();
    for c in [&mut follow_up, &mut admin] {
        c.until_seq(last).await;
        let hints = c.hints_where(&dup, |_| true).await;
        assert_eq!(hints["similar"][0]["id"], first.as_str(), "{hints}");
    }
    for c in others.iter_mut() {
        c.until("the question on air", |m| {
            m["questions"]
                .as_array()
                .is_some_and(|qs| qs.iter().any(|q| q["state"] == "on_air"))
        })
        .await;
    }
    moderator.until_seq(last).await;
    // The hints of the last change have reached the moderator, so they would
    // have reached anyone else they were (wrongly) sent to.
    moderator
        .hints_where(&dup, |h| h["group"]["id"] == "khoi-nghiep")
        .await;
    for c in others.iter_mut() {
        c.until_seq(last).await;
    }
    for c in [&moderator, &follow_up, &admin] {
        for m in c.log.iter().filter(|m| m["type"] == "change") {
            assert!(
                !m.to_string().contains("\"hints\""),
                "a change with hints: {m}"
            );
        }
    }
    for c in &others {
        let text = all_text(c);
        assert!(
            !text.contains("\"hints\""),
            "{} got hints: {text}",
            c.welcome["you"]["role"]
        );
        assert!(!text.contains("phone_number"));
    }
    // Joining: the snapshot carries no hints and the very next frame brings
    // them for both questions, each pointing at the other.
    let mut late = app.staff("moderator-2").await;
    let snapshot = late.until("snapshot", |m| m["type"] == "snapshot").await;
    assert!(!snapshot.to_string().contains("\"hints\""), "{snapshot}");
    let next = late.recv().await.expect("the frame after the snapshot");
    assert_eq!(next["type"], "hints", "{next}");
    let of = |id: &str| {
        next["hints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .map(|e| e["hints"].clone())
            .unwrap_or_else(|| panic!("no hints for {id} in {next}"))
    };
    assert_eq!(of(&first)["similar"][0]["id"], dup.as_str(), "{next}");
    assert_eq!(of(&dup)["similar"][0]["id"], first.as_str(), "{next}");
    assert_eq!(of(&dup)["flags"], json!(["phone_number"]), "{next}");
    let mut chair = app.staff("chair").await;
    let snapshot = chair.until("snapshot", |m| m["type"] == "snapshot").await;
    assert!(!snapshot.to_string().contains("\"hints\""));
    // HTTP: the same rule.
    let mine = app.questions("moderator-1").await;
    assert_eq!(
        question(&mine["questions"], &dup)["hints"]["flags"],
        json!(["phone_number"])
    );
    for seat in [
        "chair",
        "speaker:tai-chinh",
        "hall_operator:cho-moi",
        "display:all",
    ] {
        let theirs = app.questions(seat).await;
        assert!(
            !theirs.to_string().contains("\"hints\""),
            "{seat}: {theirs}"
        );
    }
    let public = app
        .get_json(&format!("/api/events/{EVENT}/questions?page=0"))
        .await;
    assert!(!public.to_string().contains("\"hints\""));
    // Hints change nothing: the duplicate kept its text and nobody merged it.
    assert_eq!(question(&mine["questions"], &dup)["text"], DUPLICATE);
    assert_eq!(question(&mine["questions"], &first)["state"], "pending");
}

#[tokio::test]
async fn a_rejected_question_leaves_the_similar_lists_and_a_merged_one_points_at_its_target() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let (a, cmd) = submit(ORIGINAL, "an-phu");
    m.ok(cmd).await;
    let (b, cmd) = submit(
        "Xin hỏi thanh niên khởi nghiệp vay vốn ưu đãi ở đâu ạ?",
        "tri-ton",
    );
    m.ok(cmd).await;
    let (c, cmd) = submit(DUPLICATE, "chau-doc");
    m.ok(cmd).await;
    m.ok(json!({"type":"merge","question":b,"version":1,"into":a}))
        .await;
    // GET /api/questions shows the hints sent so far: wait until the merge's are.
    m.hints_where(&c, |h| {
        h["similar"].as_array().is_some_and(|s| s.len() == 1)
    })
    .await;
    let all = app.questions("moderator-1").await;
    let similar: Vec<&str> = question(&all["questions"], &c)["hints"]["similar"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        similar,
        [a.as_str()],
        "the merged question stands for its target"
    );
    m.ok(json!({"type":"reject","question":a,"version":2,"reason":"Trùng"}))
        .await;
    // Live: a hints frame takes the rejected question out of c's list.
    let live = m.hints_where(&c, |h| h.get("similar").is_none()).await;
    assert_eq!(live["flags"], json!(["phone_number"]), "{live}");
    let all = app.questions("moderator-1").await;
    assert!(question(&all["questions"], &c)["hints"]
        .get("similar")
        .is_none());
}

#[tokio::test]
async fn a_resuming_moderator_gets_the_hints_of_the_replayed_changes_and_the_chair_none() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let (a, cmd) = submit(ORIGINAL, "an-phu");
    let before = m.ok(cmd).await["seq"].as_u64().unwrap();
    let (b, cmd) = submit(DUPLICATE, "tri-ton");
    let last = m.ok(cmd).await["seq"].as_u64().unwrap();
    // The assistant has been through b once its hints reached a moderator.
    m.hints_where(&b, |_| true).await;

    let mut late = app.staff_resume("moderator-2", before).await;
    late.until_seq(last).await;
    let replayed = late.log.iter().find(|m| m["type"] == "change").unwrap();
    assert_eq!(replayed["seq"], last, "{replayed}");
    assert!(!replayed.to_string().contains("\"hints\""), "{replayed}");
    let hints = late.hints_where(&b, |_| true).await;
    assert_eq!(hints["similar"][0]["id"], a.as_str(), "{hints}");
    assert_eq!(hints["flags"], json!(["phone_number"]), "{hints}");

    // Hints that went away while a moderator was gone are cleared on resume:
    // b's text is edited down to a courtesy word (nothing left to hint at).
    let gone = m.last_seq;
    let edited = m
        .ok(json!({"type":"edit","question":b,"version":1,"text":"Dạ ạ"}))
        .await["seq"]
        .as_u64()
        .unwrap();
    m.hints_where(&b, |h| h == &json!({})).await;
    let mut back = app.staff_resume("moderator-2", gone).await;
    back.until_seq(edited).await;
    let cleared = back.hints_where(&b, |_| true).await;
    assert_eq!(
        cleared,
        json!({}),
        "the replay's hints frame clears b's hints"
    );

    // The chair resumes the same way (pending questions are not its to see)
    // and gets nothing of the assistant's: its refused command's error is
    // queued after everything the resume sent.
    let mut chair = app.staff_resume("chair", before).await;
    let refused = chair
        .cmd(json!({"type":"approve","question":b,"version":1}))
        .await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert!(
        !all_text(&chair).contains("\"hints\""),
        "{}",
        all_text(&chair)
    );
}

#[tokio::test]
async fn after_a_restart_the_assistant_reads_the_stored_questions_again() {
    let temp = tempfile::tempdir().unwrap();
    let app = spawn_app_in(temp.path()).await;
    let mut m = app.staff("moderator-1").await;
    let (a, cmd) = submit(ORIGINAL, "an-phu");
    m.ok(cmd).await;
    let (b, cmd) = submit(DUPLICATE, "tri-ton");
    m.ok(cmd).await;
    m.hints_where(&b, |_| true).await;
    m.close().await;
    let _ = app.stop().await;

    let app = spawn_app_in(temp.path()).await;
    let mut m = app.staff("moderator-1").await;
    // From the frame after the snapshot, or from the assistant task's own
    // frames if the moderator joined before it had read them.
    let hints = m
        .hints_where(&b, |h| h["similar"][0]["id"] == a.as_str())
        .await;
    assert_eq!(hints["flags"], json!(["phone_number"]), "{hints}");
    let older = m
        .hints_where(&a, |h| h["similar"][0]["id"] == b.as_str())
        .await;
    assert!(older.get("flags").is_none(), "{older}");
}

#[tokio::test]
async fn votes_are_once_per_device_durable_and_summed_by_merges() {
    let temp = tempfile::tempdir().unwrap();
    let app = spawn_app_in(temp.path()).await;
    let mut m = app.staff("moderator-1").await;
    let (a, cmd) = submit(ORIGINAL, "an-phu");
    m.ok(cmd).await;
    let (pending, cmd) = submit("Câu hỏi chưa duyệt", "an-phu");
    m.ok(cmd).await;
    m.ok(json!({"type":"approve","question":a,"version":1}))
        .await;
    // Over WebSocket: the hello's device.
    let mut phone = app.participant("an-phu").await;
    let first = phone.ok(json!({"type":"vote","question":a})).await;
    assert!(first["seq"].is_u64(), "{first}");
    let again = phone.ok(json!({"type":"vote","question":a})).await;
    assert_eq!(again["duplicate"], true, "{again}");
    let refused = phone.cmd(json!({"type":"vote","question":pending})).await;
    assert_eq!(refused["code"], "invalid_transition", "{refused}");
    phone
        .send_raw(
            &json!({"type":"cmd","req":"s1","cmd":{"type":"vote","question":a,"device":"x"}})
                .to_string(),
        )
        .await;
    let smuggled = phone.until("an error", |v| v["type"] == "error").await;
    assert_eq!(
        smuggled["code"], "invalid_message",
        "the device is never taken from the command: {smuggled}"
    );
    // Over HTTP.
    let vote = |device: &str| {
        app.http()
            .post(format!("{}/api/events/{EVENT}/votes", app.base))
            .json(&json!({"question": a, "device": device}))
            .send()
    };
    let r = vote("http-device").await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert!(body["seq"].is_u64(), "{body}");
    let body: Value = vote("http-device").await.unwrap().json().await.unwrap();
    assert_eq!(body, json!({"duplicate": true}));
    // A moderator's version is untouched by votes: no conflict for them.
    let all = app.questions("moderator-1").await;
    assert_eq!(question(&all["questions"], &a)["votes"], 3);
    assert_eq!(question(&all["questions"], &a)["version"], 2);
    // A merge sums the votes.
    let (b, cmd) = submit("Vay vốn ưu đãi khởi nghiệp ở đâu?", "tri-ton");
    m.ok(cmd).await;
    m.ok(json!({"type":"approve","question":b,"version":1}))
        .await;
    let body: Value = app
        .http()
        .post(format!("{}/api/events/{EVENT}/votes", app.base))
        .json(&json!({"question": b, "device": "http-device"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["seq"].is_u64(),
        "another question, the same device: {body}"
    );
    m.ok(json!({"type":"merge","question":b,"version":2,"into":a}))
        .await;
    let all = app.questions("moderator-1").await;
    assert_eq!(question(&all["questions"], &a)["votes"], 5);
    // After a restart the device still cannot vote twice.
    drop(phone);
    drop(m);
    let _ = app.stop().await;
    let app = spawn_app_in(temp.path()).await;
    let body: Value = app
        .http()
        .post(format!("{}/api/events/{EVENT}/votes", app.base))
        .json(&json!({"question": a, "device": "http-device"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"duplicate": true}));
    let all = app.questions("moderator-1").await;
    assert_eq!(question(&all["questions"], &a)["votes"], 5);
}

#[tokio::test]
async fn phones_read_the_votable_list_in_pages_with_an_etag() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let mut ids = Vec::new();
    for i in 0..55 {
        let (id, cmd) = submit(&format!("Câu hỏi số {i} về việc làm"), "tinh");
        m.ok(cmd).await;
        if i < 52 {
            m.ok(json!({"type":"approve","question":id,"version":1}))
                .await;
        }
        ids.push(id);
    }
    let body: Value = app
        .http()
        .post(format!("{}/api/events/{EVENT}/votes", app.base))
        .json(&json!({"question": ids[40], "device": "d1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seq = body["seq"].as_u64().unwrap();
    let r = get(&app, &format!("/api/events/{EVENT}/questions?page=0"), None).await;
    assert_eq!(r.status(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{seq}-0\""));
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["pages"], 2);
    assert_eq!(page["seq"], seq);
    let list = page["questions"].as_array().unwrap();
    assert_eq!(list.len(), 50);
    assert_eq!(list[0]["id"], ids[40].as_str(), "most votes first");
    assert_eq!(list[0]["votes"], 2);
    let keys: Vec<&String> = list[1].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["hall", "id", "state", "text", "votes"],
        "public fields only"
    );
    let second = app
        .get_json(&format!("/api/events/{EVENT}/questions?page=1"))
        .await;
    assert_eq!(second["questions"].as_array().unwrap().len(), 2);
    let r = app
        .http()
        .get(format!("{}/api/events/{EVENT}/questions?page=0", app.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    m.ok(json!({"type":"approve","question":ids[53],"version":1}))
        .await;
    let r = app
        .http()
        .get(format!("{}/api/events/{EVENT}/questions?page=0", app.base))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a change makes a new page");
    let r = get(&app, "/api/events/no-such-event/questions?page=0", None).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn suggestions_go_to_staff_and_give_an_unheard_hall_its_turn() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let first = m.until("suggestions", |v| v["type"] == "suggestions").await;
    assert!(first.get("overall").is_none(), "nothing queued: {first}");
    let route = |id: String| {
        vec![
            json!({"type":"approve","question":id,"version":1}),
            json!({"type":"assign","question":id,"version":2,"department":"gddt"}),
        ]
    };
    let (heard, cmd) = submit("Học phí năm học tới có tăng không?", "long-xuyen");
    m.ok(cmd).await;
    for c in route(heard.clone()) {
        m.ok(c).await;
    }
    m.ok(json!({"type":"put_on_air","question":heard,"version":3}))
        .await;
    m.ok(json!({"type":"mark_answered","question":heard,"version":4}))
        .await;
    let (again, cmd) = submit("Trường có dạy kỹ năng sống không?", "long-xuyen");
    m.ok(cmd).await;
    for c in route(again.clone()) {
        m.ok(c).await;
    }
    let (unheard, cmd) = submit("Học bổng cho học sinh nghèo?", "an-phu");
    m.ok(cmd).await;
    for c in route(unheard.clone()) {
        m.ok(c).await;
    }
    // Sent before the ack of the change that moved it, so it is in the log.
    let latest = |c: &Client| -> Value {
        c.log
            .iter()
            .rev()
            .find(|v| v["type"] == "suggestions")
            .cloned()
            .expect("a suggestions frame")
    };
    let frame = latest(&m);
    assert_eq!(frame["overall"]["question"], unheard.as_str(), "{frame}");
    assert_eq!(frame["overall"]["department"], "gddt");
    assert_eq!(frame["overall"]["reason"], "H. An Phú chưa được hỏi");
    assert_eq!(
        frame["overall"]["reason_en"],
        "H. An Phú has not been heard yet"
    );
    assert_eq!(frame["departments"]["gddt"]["question"], unheard.as_str());
    // The chair gets it on joining, after the snapshot; displays never do.
    let mut chair = app.staff("chair").await;
    let snapshot = chair.recv().await.unwrap();
    assert_eq!(snapshot["type"], "snapshot");
    let s = chair
        .until("suggestions", |v| v["type"] == "suggestions")
        .await;
    assert_eq!(s["overall"]["question"], unheard.as_str());
    let mut display = app.staff("display:all").await;
    let (late, cmd) = submit("Thư viện trường thiếu sách mới?", "tinh");
    m.ok(cmd).await;
    for c in route(late.clone()) {
        m.ok(c).await;
    }
    assert_eq!(
        latest(&m)["overall"]["question"],
        unheard.as_str(),
        "both halls unheard: the one waiting longer first"
    );
    display
        .until("the new question", |v| {
            v["questions"].as_array().is_some_and(|qs| {
                qs.iter()
                    .any(|q| q["id"] == late.as_str() && q["state"] == "queued")
            })
        })
        .await;
    assert!(!all_text(&display).contains("suggestions"));
    // HTTP, for staff who see it; the same object without `type`.
    let r = get(&app, "/api/suggestions", Some(&app.token("chair"))).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let mut expected = latest(&m);
    expected.as_object_mut().unwrap().remove("type");
    assert_eq!(body, expected);
    let r = get(&app, "/api/suggestions", Some(&app.token("speaker:gddt"))).await;
    assert_eq!(r.status(), 403);
    let r = get(&app, "/api/suggestions", None).await;
    assert_eq!(r.status(), 401);
}
