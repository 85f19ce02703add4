//! The live pages in real headless Chromium against the real server
//! (issue 4): the whole path of a question across phone, moderator console,
//! speakers' tablets, displays and receipt; a hall operator's offline outbox;
//! question text that looks like HTML staying text; the language switch.
//! Each test saves screenshots of the pages it drives into docs/screenshots/.
//! Tests run one at a time (`serial()`): the machine has two cores.

#[path = "common/browser.rs"]
mod browser;
mod common;

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
    let _one = serial().await;
    let app = spawn_app().await;
    let driver = Driver::start().await;
    let text =
        "Xin hỏi tỉnh có chính sách hỗ trợ vốn vay khởi nghiệp cho thanh niên nông thôn không ạ?";

    // Participant: scan the hall's QR link, write, consent, send.
    let phone = driver.session(360, 740).await;
    phone.goto(&format!("{}/p/{EVENT}/cho-moi", app.base)).await;
    phone
        .wait(
            "groups loaded",
            "return document.querySelectorAll('#group option').length > 1;",
            vec![],
        )
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
        .wait(
            "consent error",
            "return document.getElementById('form-error').textContent.length > 0;",
            vec![],
        )
        .await;
    phone.click("#consent").await;
    phone.click("#ask button[type=submit]").await;
    phone
        .wait(
            "receipt link",
            "return !!document.querySelector('#mine a.receipt-link');",
            vec![],
        )
        .await;
    let receipt = phone
        .js(
            "return document.querySelector('#mine a.receipt-link').href;",
            vec![],
        )
        .await;
    let receipt = receipt.as_str().unwrap().to_string();
    let id = phone
        .js(
            "return document.querySelector('#mine li').dataset.id;",
            vec![],
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert!(receipt.contains(&format!("#q={id}&r=")), "{receipt}");
    phone.scroll_top().await;
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
    assert!(
        m.text(&format!("#questions [data-id=\"{id}\"]"))
            .await
            .contains("Nguyễn Thị Lan"),
        "moderators see the questioner"
    );
    m.click(&format!("#questions [data-id=\"{id}\"] [data-act=approve]"))
        .await;
    m.wait_question("#questions", &id, Some("approved")).await;
    m.select(&format!("[data-key=\"group:{id}\"]"), "viec-lam")
        .await;
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
    other
        .goto(&page(&app, "speaker.html", "speaker:gddt"))
        .await;
    other.wait_conn("connected").await;
    other
        .wait(
            "empty queue rendered",
            "return !document.getElementById('empty').hidden;",
            vec![],
        )
        .await;
    assert!(
        other
            .js(
                "return document.querySelectorAll('[data-id]').length;",
                vec![]
            )
            .await
            == json!(0),
        "another department's tablet must not show the question"
    );
    other.screenshot("speaker-768x1024-empty").await;

    // On air: highlighted on the tablet, shown on the displays of two halls.
    m.click(&format!("#questions [data-id=\"{id}\"] [data-act=on_air]"))
        .await;
    m.wait_question("#questions", &id, Some("on_air")).await;
    sp.wait_question("#queue", &id, Some("on_air")).await;
    for (slot, shot) in [
        ("display:cho-moi", "display"),
        ("display:tinh", "display-host-hall"),
    ] {
        let d = driver.session(1920, 1080).await;
        d.goto(&page(&app, "display.html", slot)).await;
        d.wait(
            "question on air",
            "return document.getElementById('air-text').textContent === arguments[0];",
            vec![json!(text)],
        )
        .await;
        let who = d.text("#air-who").await;
        assert!(
            who.contains("H. Chợ Mới") && who.contains("Sở Kế hoạch và Đầu tư"),
            "{who}"
        );
        assert!(
            who.contains("Nguyễn Thị Lan"),
            "consented display name shown: {who}"
        );
        let body = d.text("body").await;
        assert!(
            !body.contains("0912345678") && !body.contains("THPT Chợ Mới"),
            "no personal data on displays"
        );
        d.screenshot(shot).await;
        d.close().await;
    }
    sp.screenshot("speaker-1024x768").await;
    let chair = driver.session(1366, 768).await;
    chair.goto(&page(&app, "chair.html", "chair")).await;
    chair
        .wait(
            "on air on the chair's page",
            "return document.getElementById('air').textContent === arguments[0];",
            vec![json!(text)],
        )
        .await;
    chair.screenshot("chair").await;
    chair.close().await;
    m.screenshot("moderator").await;

    // Answered: the asker's receipt says so.
    m.click(&format!(
        "#questions [data-id=\"{id}\"] [data-act=answered]"
    ))
    .await;
    m.wait_question("#questions", &id, Some("answered")).await;
    sp.wait_question("#done", &id, Some("answered")).await;
    phone.goto(&receipt).await;
    phone
        .wait(
            "receipt shows answered",
            "return document.getElementById('state').dataset.state === 'answered';",
            vec![],
        )
        .await;
    assert_eq!(phone.text("#text").await, text);
    phone.screenshot("receipt").await;

    for p in [phone, m, sp, other] {
        p.close().await;
    }
    app.stop().await;
}

/// Poll the server until `pred` holds for its questions (the page sends asynchronously).
async fn wait_server(app: &TestApp, what: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..300 {
        let qs = server_questions(app).await;
        if pred(&qs) {
            return qs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    panic!("server never had {what}");
}

fn count_text(qs: &[Value], text: &str) -> usize {
    qs.iter().filter(|q| q["text"] == text).count()
}

#[tokio::test]
async fn hall_outbox_keeps_questions_through_a_cut_link_and_a_reload() {
    let _one = serial().await;
    let app = spawn_app().await;
    let proxy = Proxy::start(app.addr).await;
    let driver = Driver::start().await;
    // Something on air, so the hall's display has a state to keep.
    let aired = "Câu hỏi đang trả lời khi điểm cầu mất kết nối";
    let mut m = app.staff("moderator-1").await;
    let (air_id, cmd) = submit(aired, "tinh");
    m.ok(cmd).await;
    m.ok(json!({"type":"approve","question":air_id,"version":1}))
        .await;
    m.ok(json!({"type":"assign","question":air_id,"version":2,"department":"ubnd"}))
        .await;
    m.ok(json!({"type":"put_on_air","question":air_id,"version":3}))
        .await;
    let display = driver.session(1920, 1080).await;
    display
        .goto(&format!(
            "{}/display.html#token={}",
            proxy.base(),
            app.token("display:chau-doc")
        ))
        .await;
    display
        .wait(
            "on air",
            "return document.getElementById('air-text').textContent === arguments[0];",
            vec![json!(aired)],
        )
        .await;

    let hall = driver.session(1366, 768).await;
    hall.goto(&format!(
        "{}/hall.html#token={}",
        proxy.base(),
        app.token("hall_operator:chau-doc")
    ))
    .await;
    hall.wait_conn("connected").await;

    let online = "Câu hỏi gửi khi còn kết nối: đào tạo nghề cho thanh niên Châu Đốc?";
    hall.type_into("#text", online).await;
    hall.click("#ask button[type=submit]").await;
    wait_server(&app, "the online question", |qs| {
        count_text(qs, online) == 1
    })
    .await;

    // The link drops: the page notices and keeps questions in its outbox.
    proxy.cut();
    hall.wait(
        "the page to notice the cut",
        "return document.getElementById('conn').dataset.state !== 'connected';",
        vec![],
    )
    .await;
    // The display says it is reconnecting but keeps the question on screen.
    display
        .wait(
            "display notices the cut",
            "return document.getElementById('conn').dataset.state !== 'connected';",
            vec![],
        )
        .await;
    assert_eq!(
        display.text("#air-text").await,
        aired,
        "no blank screen while reconnecting"
    );
    display.screenshot("display-reconnecting").await;
    let first = "Câu hỏi 1 khi mất mạng: hỗ trợ vay vốn làm nông nghiệp công nghệ cao?";
    let second = "Câu hỏi 2 khi mất mạng: chính sách cho thanh niên hoàn thành nghĩa vụ quân sự?";
    hall.type_into("#text", first).await;
    hall.click("#ask button[type=submit]").await;
    hall.type_into("#text", second).await;
    hall.type_into("#name", "Trần Văn Bình").await;
    hall.click("#consent").await;
    hall.click("#ask button[type=submit]").await;
    hall.wait(
        "two questions waiting",
        "return document.querySelectorAll('#outbox li').length === 2;",
        vec![],
    )
    .await;

    // Reload while WebSockets are still refused: the outbox comes back from localStorage.
    proxy.block_websockets();
    hall.client.refresh().await.expect("reload");
    hall.wait(
        "the outbox after a reload",
        "return document.querySelectorAll('#outbox li').length === 2 && !!document.getElementById('conn');",
        vec![],
    )
    .await;
    assert_ne!(hall.text("#conn").await, "", "connection state is shown");

    // Meanwhile a phone whose WebSocket fails still submits, by plain HTTP.
    let phone = driver.session(360, 740).await;
    phone
        .goto(&format!("{}/p/{EVENT}/tinh", proxy.base()))
        .await;
    phone
        .wait(
            "groups loaded",
            "return document.querySelectorAll('#group option').length > 1;",
            vec![],
        )
        .await;
    let by_http = "Câu hỏi từ điện thoại khi WebSocket bị chặn";
    phone.type_into("#text", by_http).await;
    phone.click("#ask button[type=submit]").await;
    phone
        .wait(
            "receipt link",
            "return !!document.querySelector('#mine a.receipt-link');",
            vec![],
        )
        .await;
    assert_ne!(
        phone.text("#conn").await,
        "Đã kết nối",
        "the phone's WebSocket is down"
    );
    assert_eq!(count_text(&server_questions(&app).await, by_http), 1);
    phone.close().await;
    assert_eq!(
        count_text(&server_questions(&app).await, first),
        0,
        "nothing sent while down"
    );
    // A draft being typed must survive the reconnect.
    let draft = "Bản nháp đang gõ dở";
    hall.type_into("#text", draft).await;

    proxy.restore();
    hall.wait_conn("connected").await;
    hall.wait(
        "the outbox to drain",
        "return document.querySelectorAll('#outbox li').length === 0;",
        vec![],
    )
    .await;
    let qs = wait_server(&app, "both offline questions", |qs| {
        count_text(qs, first) == 1 && count_text(qs, second) == 1
    })
    .await;
    let from_hall: Vec<_> = qs.iter().filter(|q| q["hall"] == "chau-doc").collect();
    assert_eq!(
        from_hall.len(),
        3,
        "exactly the hall's three questions, none doubled: {qs:#?}"
    );
    let q2 = qs.iter().find(|q| q["text"] == second).unwrap();
    assert_eq!(q2["hall"], "chau-doc");
    assert_eq!(q2["source"], "hall");
    assert_eq!(q2["questioner"]["name"], "Trần Văn Bình");
    display.wait_conn("connected").await;
    assert_eq!(display.text("#air-text").await, aired);
    display.close().await;
    for q in &from_hall {
        hall.wait_question("#questions", q["id"].as_str().unwrap(), Some("pending"))
            .await;
    }
    assert_eq!(
        hall.js("return document.getElementById('text').value;", vec![])
            .await,
        json!(draft),
        "text being typed is kept across the reconnect"
    );

    // The floor: ask, and see the request's state.
    hall.click("#floor-ask").await;
    hall.wait(
        "floor requested",
        "return document.getElementById('floor-state').dataset.state === 'requested';",
        vec![],
    )
    .await;
    hall.scroll_top().await;
    hall.screenshot("hall").await;
    hall.close().await;
    app.stop().await;
}

#[tokio::test]
async fn question_text_that_looks_like_html_stays_text() {
    let _one = serial().await;
    let app = spawn_app().await;
    let payloads = [
        "<script>alert(1)</script>".to_string(),
        "<img src=x onerror=alert(1)>".to_string(),
        // A 2,000-character question with a very long word must not break the layout.
        format!("Khởi{}nghiệp?", "nghiệp".repeat(331)),
    ];
    let mut op = app.staff("hall_operator:tinh").await;
    let mut m = app.staff("moderator-1").await;
    let mut ids = Vec::new();
    for p in &payloads {
        let (id, cmd) = submit(p, "tinh");
        op.ok(cmd).await;
        m.ok(json!({"type":"approve","question":id,"version":1}))
            .await;
        m.ok(json!({"type":"assign","question":id,"version":2,"department":"ubnd"}))
            .await;
        ids.push(id);
    }
    m.ok(json!({"type":"put_on_air","question":ids[1],"version":3}))
        .await;

    let driver = Driver::start().await;
    let pages = [
        ("moderator.html", "moderator-1", "#questions", 1366, 768),
        ("speaker.html", "speaker:ubnd", "#queue", 1024, 768),
        ("display.html", "display:tinh", "body", 1920, 1080),
    ];
    for (file, slot, scope, w, hgt) in pages {
        let p = driver.session(w, hgt).await;
        p.goto(&page(&app, file, slot)).await;
        p.wait_conn("connected").await;
        if file == "display.html" {
            p.wait(
                "the payload on air",
                "return document.getElementById('air-text').textContent === arguments[0];",
                vec![json!(payloads[1])],
            )
            .await;
            let next = p
                .js(
                    "return [...document.querySelectorAll('#next li')].map(li => li.textContent);",
                    vec![],
                )
                .await;
            assert!(
                next.as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t.as_str().unwrap().starts_with(&payloads[0])),
                "{next}"
            );
        } else {
            for (id, text) in ids.iter().zip(&payloads) {
                p.wait_question(scope, id, None).await;
                let shown = p.text(&format!("{scope} [data-id=\"{id}\"] .text")).await;
                assert_eq!(&shown, text, "{file} shows the question as text");
            }
        }
        assert!(!p.alert_open().await, "{file}: no script ran");
        let counts = p
            .js(
                "return [document.querySelectorAll('img').length, document.querySelectorAll('body script').length,
                         document.documentElement.scrollWidth - window.innerWidth];",
                vec![],
            )
            .await;
        assert_eq!(counts[0], 0, "{file}: no <img> element created");
        assert_eq!(counts[1], 0, "{file}: no <script> element created");
        assert!(
            counts[2].as_i64().unwrap() <= 0,
            "{file}: long words must not widen the page ({counts})"
        );
        if file == "moderator.html" {
            p.screenshot("moderator-long-and-html-text").await;
        }
        p.close().await;
    }
    app.stop().await;
}

/// The tab's title, as the browser reports it (WebDriver "Get Title").
async fn tab_title(p: &browser::Page) -> String {
    p.client.title().await.expect("page title")
}

/// Open `url` (unless empty: stay) in English, wait for every `(css, english,
/// vietnamese)` to read its English text, press the language button and
/// expect the Vietnamese texts (and `<html lang="vi">`), then press it again
/// and expect English once more. A switch re-renders at once, so after a
/// click the texts get only `SWITCH_WAIT`: less than the pages' own 20 and 30
/// second refreshes, which would otherwise hide a missing re-render.
async fn switch_and_back(p: &browser::Page, url: &str, texts: &[(&str, &str, &str)]) {
    if !url.is_empty() {
        p.goto(url).await;
    }
    let check = "const [texts, lang] = arguments; \
                 return document.documentElement.lang === lang && texts.every(([css, want]) => { \
                   const el = document.querySelector(css); return !!el && el.textContent === want; });";
    let english: Vec<Value> = texts.iter().map(|(css, en, _)| json!([css, en])).collect();
    let vietnamese: Vec<Value> = texts.iter().map(|(css, _, vi)| json!([css, vi])).collect();
    let page = if url.is_empty() { "this page" } else { url };
    p.wait(
        &format!("English texts {english:?} on {page}"),
        check,
        vec![json!(english), json!("en")],
    )
    .await;
    p.click("#lang").await;
    soon(
        p,
        &format!("Vietnamese texts {vietnamese:?} on {page}"),
        check,
        vec![json!(vietnamese), json!("vi")],
    )
    .await;
    p.click("#lang").await;
    soon(
        p,
        &format!("English texts again {english:?} on {page}"),
        check,
        vec![json!(english), json!("en")],
    )
    .await;
}

const SWITCH_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Like `Page::wait`, but only for `SWITCH_WAIT`.
async fn soon(p: &browser::Page, what: &str, script: &str, args: Vec<Value>) {
    let start = std::time::Instant::now();
    while p.js(script, args.clone()).await != json!(true) {
        assert!(
            start.elapsed() < SWITCH_WAIT,
            "not within {SWITCH_WAIT:?} of the switch: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn english_switch_changes_the_interface_and_persists() {
    let _one = serial().await;
    let app = spawn_app().await;
    let driver = Driver::start().await;
    let p = driver.session(1366, 768).await;
    p.goto(&page(&app, "moderator.html", "moderator-2")).await;
    p.wait_conn("connected").await;
    assert_eq!(p.text("[data-i18n=\"mod.filters\"]").await, "Lọc");
    assert_eq!(p.text("#conn").await, "Đã kết nối");
    assert_eq!(tab_title(&p).await, "Điều phối câu hỏi — doithoai");
    p.click("#lang").await;
    p.wait(
        "English labels",
        "return document.querySelector('[data-i18n=\"mod.filters\"]').textContent === 'Filters';",
        vec![],
    )
    .await;
    assert_eq!(p.text("#conn").await, "Connected");
    assert_eq!(
        p.js("return document.documentElement.lang;", vec![]).await,
        json!("en")
    );
    assert_eq!(
        tab_title(&p).await,
        "Question moderation — doithoai",
        "the tab's title follows the switch"
    );
    p.client.refresh().await.expect("reload");
    p.wait_conn("connected").await;
    assert_eq!(
        p.text("[data-i18n=\"mod.filters\"]").await,
        "Filters",
        "the choice survives a reload"
    );
    assert_eq!(p.text("#f-state option[value=pending]").await, "Pending");
    assert_eq!(tab_title(&p).await, "Question moderation — doithoai");
    p.screenshot("moderator-english").await;

    // The choice is the browser's: every other page opens in English, its tab title too.
    let base = &app.base;
    for (url, title) in [
        (page(&app, "chair.html", "chair"), "Chair — doithoai"),
        (
            page(&app, "speaker.html", "speaker:gddt"),
            "Speaker — doithoai",
        ),
        (
            page(&app, "hall.html", "hall_operator:cho-moi"),
            "Hall — doithoai",
        ),
        (
            page(&app, "display.html", "display:cho-moi"),
            "Hall display — doithoai",
        ),
        (page(&app, "join.html", "admin"), "Join links — doithoai"),
        (
            format!("{base}/phone.html#event={EVENT}&hall=cho-moi"),
            "Ask a question — Dialogue with young people",
        ),
        (
            format!("{base}/receipt.html"),
            "Follow your question — doithoai",
        ),
        (format!("{base}/answers.html"), "Written answers — doithoai"),
        (
            format!("{base}/followup.html"),
            "Written answers follow-up — doithoai",
        ),
        (format!("{base}/stats.html"), "Statistics — doithoai"),
        (
            format!("{base}/import.html"),
            "Import questions collected beforehand — doithoai",
        ),
    ] {
        p.goto(&url).await;
        p.wait(
            &format!("the English title {title:?} on {url}"),
            "return document.title === arguments[0];",
            vec![json!(title)],
        )
        .await;
    }

    // The plain-HTTP pages (answers, follow-up, statistics, import) switch
    // with the same button, both ways: static labels, text drawn from the
    // server's data, the tab title and the page's language.
    switch_and_back(
        &p,
        &format!("{base}/answers.html?event={EVENT}"),
        &[
            (
                "[data-i18n=\"ans.intro\"]",
                "Questions from the dialogue answered in writing by the competent agencies.",
                "Các câu hỏi tại buổi đối thoại được cơ quan có thẩm quyền trả lời bằng văn bản.",
            ),
            (
                "#answers li",
                "No answer has been published yet.",
                "Chưa có câu trả lời nào được công bố.",
            ),
            (
                "title",
                "Written answers — doithoai",
                "Trả lời bằng văn bản — doithoai",
            ),
        ],
    )
    .await;
    switch_and_back(
        &p,
        &page(&app, "followup.html", "follow_up-1"),
        &[
            ("[data-i18n=\"fu.downloads\"]", "Downloads", "Tải về"),
            ("#filter-state option[value=\"\"]", "All", "Tất cả"),
            (
                "#filter-state option[value=\"deferred\"]",
                "Assigned to agency",
                "Đã giao cơ quan",
            ),
            (
                "title",
                "Written answers follow-up — doithoai",
                "Theo dõi trả lời bằng văn bản — doithoai",
            ),
        ],
    )
    .await;
    switch_and_back(
        &p,
        &page(&app, "stats.html", "follow_up-1"),
        &[
            (
                "[data-i18n=\"st.over_time\"]",
                "Questions over time",
                "Câu hỏi theo thời gian",
            ),
            (
                "#totals .total span",
                "Questions received",
                "Câu hỏi nhận được",
            ),
            ("title", "Statistics — doithoai", "Thống kê — doithoai"),
        ],
    )
    .await;
    // The import page's row report is drawn from the server's answer: preview
    // a small file (nothing is imported) and switch with the report shown.
    p.goto(&page(&app, "import.html", "moderator-1")).await;
    p.wait(
        "the import form",
        "return !document.getElementById('main').hidden;",
        vec![],
    )
    .await;
    p.js(
        "const csv = '\u{feff}Nội dung câu hỏi (text),Điểm cầu (hall)\\nVay vốn khởi nghiệp cho thanh niên?,tinh\\n,tinh\\n'; \
         const dt = new DataTransfer(); \
         dt.items.add(new File([csv], 'cau-hoi.csv', { type: 'text/csv' })); \
         document.getElementById('file').files = dt.files; \
         document.getElementById('upload').requestSubmit();",
        vec![],
    )
    .await;
    switch_and_back(
        &p,
        "",
        &[
            ("[data-i18n=\"imp.preview\"]", "Preview", "Xem trước"),
            (
                "#summary",
                "2 rows: 1 new, 0 already there, 1 rejected, 0 imported.",
                "2 dòng: 1 mới, 0 đã có, 1 bị loại, 0 đã nhập.",
            ),
            ("#rows tr td:nth-child(2)", "New", "Mới"),
            ("#commit", "Import 1 new questions", "Nhập 1 câu hỏi mới"),
            (
                "title",
                "Import questions collected beforehand — doithoai",
                "Nhập câu hỏi thu thập trước — doithoai",
            ),
        ],
    )
    .await;

    p.goto(&page(&app, "moderator.html", "moderator-2")).await;
    p.wait_conn("connected").await;
    p.click("#lang").await;
    p.wait(
        "Vietnamese labels again",
        "return document.querySelector('[data-i18n=\"mod.filters\"]').textContent === 'Lọc';",
        vec![],
    )
    .await;
    assert_eq!(tab_title(&p).await, "Điều phối câu hỏi — doithoai");
    p.client.refresh().await.expect("reload");
    p.wait_conn("connected").await;
    assert_eq!(
        tab_title(&p).await,
        "Điều phối câu hỏi — doithoai",
        "Vietnamese survives a reload too"
    );
    p.close().await;

    app.stop().await;
}

#[tokio::test]
async fn a_conflicting_edit_is_refused_and_the_fresh_question_shown() {
    let _one = serial().await;
    let app = spawn_app().await;
    let mut op = app.staff("hall_operator:tan-chau").await;
    let (id, cmd) = submit("Xin hoi ve quy dinh vay von khoi nghiep", "tan-chau");
    op.ok(cmd).await;
    let driver = Driver::start().await;
    let m = driver.session(1366, 768).await;
    m.goto(&page(&app, "moderator.html", "moderator-1")).await;
    m.wait_question("#questions", &id, Some("pending")).await;
    m.click(&format!("#questions [data-id=\"{id}\"] [data-act=edit]"))
        .await;
    let mine = "Xin hỏi về quy định vay vốn khởi nghiệp (bản của người thứ nhất)";
    m.fill("#dlg textarea", mine).await;

    // Meanwhile another moderator edits the same question.
    let theirs = "Xin hỏi về quy định vay vốn khởi nghiệp (bản của người thứ hai)";
    let mut other = app.staff("moderator-2").await;
    other
        .ok(json!({"type":"edit","question":id,"version":1,"text":theirs}))
        .await;
    m.wait(
        "the other moderator's wording on the card",
        "return document.querySelector(`#questions [data-id=\"${arguments[0]}\"] .text`).textContent === arguments[1];",
        vec![json!(id), json!(theirs)],
    )
    .await;
    m.click("#dlg-ok").await;
    m.wait(
        "the conflict explained in the dialog",
        "return document.getElementById('dlg-error').textContent.includes(arguments[0]);",
        vec![json!(theirs)],
    )
    .await;
    let note = m
        .text(&format!("#questions [data-id=\"{id}\"] .conflict"))
        .await;
    assert!(note.contains("CHƯA được áp dụng"), "{note}");
    assert_eq!(
        m.js(
            "return document.querySelector('#dlg textarea').value;",
            vec![]
        )
        .await,
        json!(mine),
        "the moderator's own wording is kept"
    );
    let qs = server_questions(&app).await;
    assert_eq!(qs[0]["text"], theirs, "nothing was overwritten silently");
    m.screenshot("moderator-conflict").await;

    // Having seen the fresh version, saving again applies on top of it.
    m.click("#dlg-ok").await;
    m.wait(
        "the moderator's wording saved",
        "return document.querySelector(`#questions [data-id=\"${arguments[0]}\"] .text`).textContent === arguments[1];",
        vec![json!(id), json!(mine)],
    )
    .await;
    assert_eq!(
        m.js("return document.getElementById('dlg').open;", vec![])
            .await,
        json!(false)
    );
    assert!(
        m.text(&format!("#questions [data-id=\"{id}\"]"))
            .await
            .contains("Xin hoi ve quy dinh vay von khoi nghiep"),
        "original wording shown"
    );
    m.close().await;
    app.stop().await;
}

#[tokio::test]
async fn speaker_flags_a_written_answer_that_reaches_the_askers_receipt() {
    let _one = serial().await;
    let app = spawn_app().await;
    // A participant asks over plain HTTP and keeps the receipt.
    let id = uuid::Uuid::new_v4().to_string();
    let text = "Xin hỏi về chương trình học bổng cho sinh viên nghèo?";
    let sent: Value = app
        .http()
        .post(format!("{}/api/events/{EVENT}/questions", app.base))
        .json(&json!({"id":id,"text":text,"hall":"an-phu","device":"d1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let receipt = sent["receipt"].as_str().unwrap().to_string();
    let mut m = app.staff("moderator-1").await;
    m.ok(json!({"type":"approve","question":id,"version":1}))
        .await;
    m.ok(json!({"type":"assign","question":id,"version":2,"department":"gddt"}))
        .await;
    let driver = Driver::start().await;
    let sp = driver.session(768, 1024).await;
    sp.goto(&page(&app, "speaker.html", "speaker:gddt")).await;
    sp.wait_question("#queue", &id, Some("queued")).await;
    sp.screenshot("speaker-768x1024").await;
    sp.click(&format!("#queue [data-id=\"{id}\"] [data-act=written]"))
        .await;
    sp.client.accept_alert().await.expect("confirm dialog");
    sp.wait_question("#done", &id, Some("deferred")).await;
    let qs = server_questions(&app).await;
    assert_eq!(qs[0]["state"], "deferred");
    assert_eq!(qs[0]["followup"]["agency"], "Sở Giáo dục và Đào tạo");
    sp.close().await;

    // Weeks later the written answer is published; the receipt shows it.
    let answer = "Sở Giáo dục và Đào tạo trả lời: học bổng được xét mỗi học kỳ.";
    let mut f = app.staff("follow_up-1").await;
    f.ok(json!({"type":"update_follow_up","question":id,"version":4,"answer":answer}))
        .await;
    f.ok(json!({"type":"mark_sent","question":id,"version":5}))
        .await;
    f.ok(json!({"type":"publish","question":id,"version":6}))
        .await;
    let r = driver.session(360, 740).await;
    r.goto(&format!("{}/receipt.html#q={id}&r={receipt}", app.base))
        .await;
    r.wait(
        "the published answer",
        "return document.getElementById('answer').textContent === arguments[0];",
        vec![json!(answer)],
    )
    .await;
    assert_eq!(r.text("#state").await, "Đã công bố");
    r.screenshot("receipt-answered").await;
    r.close().await;
    app.stop().await;
}

#[tokio::test]
async fn moderator_keyboard_running_order_floor_and_halls() {
    let _one = serial().await;
    let app = spawn_app().await;
    let mut op = app.staff("hall_operator:thoai-son").await;
    let mut m = app.staff("moderator-2").await;
    let mut queued = Vec::new();
    for text in ["Câu hỏi A về việc làm", "Câu hỏi B về đào tạo nghề"] {
        let (id, cmd) = submit(text, "thoai-son");
        op.ok(cmd).await;
        m.ok(json!({"type":"approve","question":id,"version":1}))
            .await;
        m.ok(json!({"type":"assign","question":id,"version":2,"department":"ldtbxh"}))
            .await;
        queued.push(id);
    }
    let (pending, cmd) = submit("Câu hỏi C chờ duyệt", "thoai-son");
    op.ok(cmd).await;
    let (spam, cmd) = submit("Quảng cáo không liên quan", "thoai-son");
    op.ok(cmd).await;
    let floor = uuid::Uuid::new_v4().to_string();
    op.ok(json!({"type":"request_floor","id":floor,"note":"Bạn Hùng muốn phát biểu"}))
        .await;

    let driver = Driver::start().await;
    let p = driver.session(1366, 768).await;
    p.goto(&page(&app, "moderator.html", "moderator-1")).await;
    p.wait_question("#questions", &pending, Some("pending"))
        .await;

    // Halls panel: the operator's hall is connected, another is not.
    p.wait(
        "presence of the operator's hall",
        "return document.querySelector('#halls [data-hall=\"thoai-son\"]').dataset.up === 'true';",
        vec![],
    )
    .await;
    assert_eq!(
        p.js(
            "return document.querySelector('#halls [data-hall=\"tri-ton\"]').dataset.up;",
            vec![]
        )
        .await,
        json!("false")
    );

    // Keyboard: newest first, so j selects the spam, j again the pending one.
    p.js("document.activeElement.blur();", vec![]).await;
    let body = p
        .client
        .find(fantoccini::Locator::Css("body"))
        .await
        .unwrap();
    body.send_keys("j").await.unwrap();
    p.wait(
        "the newest question selected",
        "return document.querySelector('#questions .card.selected')?.dataset.id === arguments[0];",
        vec![json!(spam)],
    )
    .await;
    body.send_keys("r").await.unwrap();
    p.wait(
        "the reject dialog",
        "return document.getElementById('dlg').open;",
        vec![],
    )
    .await;
    p.fill("#dlg textarea", "Không liên quan đến chủ đề").await;
    p.click("#dlg-ok").await;
    p.wait_question("#questions", &spam, Some("rejected")).await;
    p.js("document.activeElement.blur();", vec![]).await;
    body.send_keys("j").await.unwrap();
    p.wait(
        "the next question selected",
        "return document.querySelector('#questions .card.selected')?.dataset.id === arguments[0];",
        vec![json!(pending)],
    )
    .await;
    body.send_keys("a").await.unwrap();
    p.wait_question("#questions", &pending, Some("approved"))
        .await;

    // Running order: move the first queued question down.
    p.select("#order-dept", "ldtbxh").await;
    p.wait(
        "the department's queue",
        "return [...document.querySelectorAll('#order li')].map(li => li.dataset.id).join() === arguments[0];",
        vec![json!(queued.join(","))],
    )
    .await;
    p.click(&format!("[data-key=\"down:{}\"]", queued[0])).await;
    p.wait(
        "the new order",
        "return [...document.querySelectorAll('#order li')].map(li => li.dataset.id).join() === arguments[0];",
        vec![json!(format!("{},{}", queued[1], queued[0]))],
    )
    .await;
    let qs = server_questions(&app).await;
    let pos = |id: &str| {
        qs.iter().find(|q| q["id"] == id).unwrap()["queue_pos"]
            .as_i64()
            .unwrap()
    };
    assert!(
        pos(&queued[1]) < pos(&queued[0]),
        "server order follows the console"
    );

    // Floor: grant the hall's request, then end it.
    p.wait(
        "the floor request",
        "return document.querySelector(`#floor [data-floor=\"${arguments[0]}\"]`)?.dataset.state === 'requested';",
        vec![json!(floor)],
    )
    .await;
    assert!(p.text("#floor").await.contains("Bạn Hùng muốn phát biểu"));
    p.click(&format!("#floor [data-floor=\"{floor}\"] button.primary"))
        .await;
    p.wait(
        "the floor granted",
        "return document.querySelector(`#floor [data-floor=\"${arguments[0]}\"]`)?.dataset.state === 'granted';",
        vec![json!(floor)],
    )
    .await;
    p.screenshot("moderator-floor-and-order").await;
    p.click(&format!("#floor [data-floor=\"{floor}\"] button"))
        .await;
    p.wait(
        "the floor ended",
        "return !document.querySelector(`#floor [data-floor=\"${arguments[0]}\"]`);",
        vec![json!(floor)],
    )
    .await;
    p.close().await;
    app.stop().await;
}

/// Every page runs under its Content-Security-Policy without breaking it:
/// each page is opened as its seat would open it, then one inline script is
/// injected on purpose. The server must count exactly that one violation,
/// which shows both that Chromium's reports reach `/api/csp-report` and
/// that none of the pages caused one.
#[tokio::test]
async fn no_page_violates_its_content_security_policy() {
    let _one = serial().await;
    let app = spawn_app().await;
    let driver = Driver::start().await;
    let p = driver.session(1280, 800).await;
    let seats = [
        ("moderator.html", "moderator-1"),
        ("chair.html", "chair"),
        ("speaker.html", "speaker:gddt"),
        ("hall.html", "hall_operator:cho-moi"),
        ("display.html", "display:tinh"),
        ("followup.html", "follow_up-1"),
        ("stats.html", "follow_up-1"),
        ("import.html", "admin"),
        ("join.html", "admin"),
    ];
    for (file, seat) in seats {
        p.goto(&page(&app, file, seat)).await;
        p.wait(file, "return document.readyState === 'complete';", vec![])
            .await;
        if matches!(
            file,
            "moderator.html" | "chair.html" | "speaker.html" | "hall.html" | "display.html"
        ) {
            p.wait_conn("connected").await;
        }
    }
    for url in [
        format!("{}/", app.base),
        format!("{}/p/{EVENT}/cho-moi", app.base),
        format!("{}/answers.html?event={EVENT}", app.base),
    ] {
        p.goto(&url).await;
        p.wait(&url, "return document.readyState === 'complete';", vec![])
            .await;
    }
    // Give reports from any of those pages time to arrive, then inject one.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.metric("doithoai_csp_violations_total").await, 0.0);
    p.js(
        "const s = document.createElement('script'); s.textContent = 'window.injected = 1'; \
         document.body.appendChild(s); return window.injected === undefined;",
        vec![],
    )
    .await;
    let mut count = 0.0;
    for _ in 0..100 {
        count = app.metric("doithoai_csp_violations_total").await;
        if count > 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(count, 1.0, "the injected script's report arrives, alone");
    assert_eq!(
        p.js("return window.injected === undefined;", vec![]).await,
        json!(true),
        "the inline script did not run"
    );
    p.close().await;
}

#[tokio::test]
async fn join_sheets_keep_staff_links_off_the_hall_posters() {
    let _one = serial().await;
    let app = spawn_app().await;
    let driver = Driver::start().await;
    let j = driver.session(1366, 768).await;
    j.goto(&page(&app, "join.html", "admin")).await;
    j.wait(
        "12 posters and a staff sheet for the host hall and each hall",
        "return document.querySelectorAll('#posters .sheet').length === 12 && document.querySelectorAll('#staff .sheet').length === 13;",
        vec![],
    )
    .await;
    j.wait(
        "the poster's QR code image loaded, and a seat's",
        "const img = document.querySelector('#posters [data-sheet=\"cho-moi\"] img.qr'); \
         const seat = document.querySelector('#staff [data-slot=\"hall_operator:cho-moi\"] img.seat-qr'); \
         return !!img && img.complete && img.naturalWidth > 0 && !!seat && seat.complete && seat.naturalWidth > 0;",
        vec![],
    )
    .await;
    // The poster: the participant link and nothing that carries a token.
    let poster = j.text("#posters [data-sheet=\"cho-moi\"]").await;
    assert!(poster.contains(&format!("/p/{EVENT}/cho-moi")), "{poster}");
    let posters = j.text("#posters").await;
    for slot in [
        "hall_operator:cho-moi",
        "display:cho-moi",
        "admin",
        "moderator-1",
    ] {
        assert!(
            !posters.contains(&app.token(slot)),
            "no poster carries the {slot} token: {posters}"
        );
    }
    assert!(!posters.contains("token="), "{posters}");
    // The staff sheet of the hall: its own seats, marked confidential.
    let staff = j.text("#staff [data-sheet=\"staff-cho-moi\"]").await;
    assert!(staff.contains("MẬT — chỉ dành cho ban tổ chức"), "{staff}");
    assert!(
        staff.contains(&app.token("hall_operator:cho-moi")),
        "{staff}"
    );
    assert!(staff.contains(&app.token("display:cho-moi")), "{staff}");
    assert!(
        !staff.contains(&app.token("display:chau-doc")),
        "a hall's staff sheet has only its own seats"
    );
    // Department names, not slot ids.
    let central = j.text("#staff [data-sheet=\"staff-central\"]").await;
    assert!(
        central.contains("Diễn giả — Sở Giáo dục và Đào tạo"),
        "{central}"
    );
    assert!(!central.contains("speaker:gddt"), "{central}");
    j.js(
        "delete document.body.dataset.print; document.querySelector('#posters [data-sheet=\"cho-moi\"]').scrollIntoView();",
        vec![],
    )
    .await;
    j.screenshot("join").await;
    j.js(
        "document.querySelector('#staff [data-sheet=\"staff-cho-moi\"]').scrollIntoView();",
        vec![],
    )
    .await;
    j.screenshot("join-staff").await;
    j.close().await;
    app.stop().await;
}
