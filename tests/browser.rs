//! The live pages in real headless Chromium against the real server
//! (issue 4): the whole path of a question across phone, moderator console,
//! speakers' tablets, displays and receipt; a hall operator's offline outbox;
//! question text that looks like HTML staying text; the language switch.
//! Each test saves screenshots of the pages it drives into docs/screenshots/.
//! Tests run one at a time (`serial()`): the machine has two cores.

mod common;
#[path = "common/browser.rs"]
mod browser;

use browser::{serial, Driver, Proxy};
use common::*;
use serde_json::{json, Value};

/// Questions every role may see, via the moderator's HTTP view.
async fn server_questions(app: &TestApp) -> Vec<Value> {
    let v: Value = app
        .http()
        .get(format!("{}/api/questions", app.base))
        .bearer_auth(app.token("moderator-1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["questions"].as_array().unwrap().clone()
}

fn page(app: &TestApp, file: &str, slot: &str) -> String {
    format!("{}/{file}#token={}", app.base, app.token(slot))
}

#[tokio::test]
async fn a_question_travels_from_phone_to_air_to_receipt() {
    let _one = serial();
    let app = spawn_app().await;
    let driver = Driver::start().await;
    let text = "Xin hỏi tỉnh có chính sách hỗ trợ vốn vay khởi nghiệp cho thanh niên nông thôn không ạ?";

    // Participant: scan the hall's QR link, write, consent, send.
    let phone = driver.session(360, 740).await;
    phone.goto(&format!("{}/p/{EVENT}/cho-moi", app.base)).await;
    phone
        .wait("groups loaded", "return document.querySelectorAll('#group option').length > 1;", vec![])
        .await;
    phone.type_into("#text", text).await;
    phone.select("#group", "khoi-nghiep").await;
    phone.type_into("#name", "Nguyễn Thị Lan").await;
    phone.type_into("#org", "Trường THPT Chợ Mới").await;
    phone.type_into("#phone", "0912345678").await;
    phone.click("#show-name").await;
    // Personal details without consent are refused in the page.
    phone.click("#ask button[type=submit]").await;
    phone
        .wait("consent error", "return document.getElementById('form-error').textContent.length > 0;", vec![])
        .await;
    phone.click("#consent").await;
    phone.click("#ask button[type=submit]").await;
    phone
        .wait("receipt link", "return !!document.querySelector('#mine a.receipt-link');", vec![])
        .await;
    let receipt = phone
        .js("return document.querySelector('#mine a.receipt-link').href;", vec![])
        .await;
    let receipt = receipt.as_str().unwrap().to_string();
    let id = phone
        .js("return document.querySelector('#mine li').dataset.id;", vec![])
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert!(receipt.contains(&format!("#q={id}&r=")), "{receipt}");
    phone.screenshot("phone").await;

    // Moderator: the question arrives, accent-free search finds it.
    let m = driver.session(1366, 768).await;
    m.goto(&page(&app, "moderator.html", "moderator-1")).await;
    m.wait_conn("connected").await;
    m.wait_question("#questions", &id, Some("pending")).await;
    m.type_into("#search", "khoi nghiep nong thon").await;
    m.wait_question("#questions", &id, None).await;
    m.type_into("#search", " xyz").await;
    m.wait(
        "search without a match hides it",
        "return !document.querySelector(`#questions [data-id=\"${arguments[0]}\"]`);",
        vec![json!(id)],
    )
    .await;
    m.js("const s = document.getElementById('search'); s.value = ''; s.dispatchEvent(new Event('input'));", vec![])
        .await;
    assert!(m.text(&format!("#questions [data-id=\"{id}\"]")).await.contains("Nguyễn Thị Lan"), "moderators see the questioner");
    m.click(&format!("#questions [data-id=\"{id}\"] [data-act=approve]")).await;
    m.wait_question("#questions", &id, Some("approved")).await;
    m.select(&format!("[data-key=\"group:{id}\"]"), "viec-lam").await;
    m.wait(
        "group set",
        "const q = document.querySelector(`#questions [data-id=\"${arguments[0]}\"]`); return !!q && q.textContent.includes('việc làm');",
        vec![json!(id)],
    )
    .await;
    m.select(&format!("[data-key=\"dept:{id}\"]"), "khdt").await;
    m.wait_question("#questions", &id, Some("queued")).await;

    // Speakers: on Planning and Investment's tablet, not on Education's.
    let sp = driver.session(1024, 768).await;
    sp.goto(&page(&app, "speaker.html", "speaker:khdt")).await;
    sp.wait_question("#queue", &id, Some("queued")).await;
    let other = driver.session(768, 1024).await;
    other.goto(&page(&app, "speaker.html", "speaker:gddt")).await;
    other.wait_conn("connected").await;
    other
        .wait("empty queue rendered", "return !document.getElementById('empty').hidden;", vec![])
        .await;
    assert!(
        other.js("return document.querySelectorAll('[data-id]').length;", vec![]).await == json!(0),
        "another department's tablet must not show the question"
    );
    other.screenshot("speaker-768x1024-empty").await;

    // On air: highlighted on the tablet, shown on the displays of two halls.
    m.click(&format!("#questions [data-id=\"{id}\"] [data-act=on_air]")).await;
    m.wait_question("#questions", &id, Some("on_air")).await;
    sp.wait_question("#queue", &id, Some("on_air")).await;
    for (slot, shot) in [("display:cho-moi", "display"), ("display:tinh", "display-host-hall")] {
        let d = driver.session(1920, 1080).await;
        d.goto(&page(&app, "display.html", slot)).await;
        d.wait(
            "question on air",
            "return document.getElementById('air-text').textContent === arguments[0];",
            vec![json!(text)],
        )
        .await;
        let who = d.text("#air-who").await;
        assert!(who.contains("H. Chợ Mới") && who.contains("Sở Kế hoạch và Đầu tư"), "{who}");
        assert!(who.contains("Nguyễn Thị Lan"), "consented display name shown: {who}");
        let body = d.text("body").await;
        assert!(!body.contains("0912345678") && !body.contains("THPT Chợ Mới"), "no personal data on displays");
        d.screenshot(shot).await;
        d.close().await;
    }
    sp.screenshot("speaker-1024x768").await;
    let chair = driver.session(1366, 768).await;
    chair.goto(&page(&app, "chair.html", "chair")).await;
    chair
        .wait("on air on the chair's page", "return document.getElementById('air').textContent === arguments[0];", vec![json!(text)])
        .await;
    chair.screenshot("chair").await;
    chair.close().await;
    m.screenshot("moderator").await;

    // Answered: the asker's receipt says so.
    m.click(&format!("#questions [data-id=\"{id}\"] [data-act=answered]")).await;
    m.wait_question("#questions", &id, Some("answered")).await;
    sp.wait_question("#done", &id, Some("answered")).await;
    phone.goto(&receipt).await;
    phone
        .wait("receipt shows answered", "return document.getElementById('state').dataset.state === 'answered';", vec![])
        .await;
    assert_eq!(phone.text("#text").await, text);
    phone.screenshot("receipt").await;

    for p in [phone, m, sp, other] {
        p.close().await;
    }
    app.stop().await;
}
