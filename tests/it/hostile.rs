//! A hostile client's attempts (issue 12): slow sockets, crafted uploads,
//! rotating device ids, re-used question ids, formula and control-character
//! injection, oversized fields, foreign origins; and the protocol points
//! where code and docs/PROTOCOL.md once disagreed, one test each.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;
use doithoai::config::ServeConfig;

fn assert_error(v: &Value, code: &str, case: &str) {
    assert_eq!(v["type"], "error", "{case}: expected error, got {v}");
    assert_eq!(v["code"], code, "{case}: {v}");
    assert!(
        !v["message"].as_str().unwrap_or_default().is_empty()
            && !v["message_en"].as_str().unwrap_or_default().is_empty(),
        "{case}: both messages: {v}"
    );
}

async fn spawn_with(edit: impl FnOnce(&mut ServeConfig)) -> TestApp {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut config = ServeConfig::for_tests(temp.path());
    edit(&mut config);
    let mut app = spawn_app_with(config).await;
    app.temp = Some(temp);
    app
}

async fn healthz(app: &TestApp) -> StatusCode {
    app.http()
        .get(format!("{}/healthz", app.base))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("/healthz answers")
        .status()
}

/// Read until the server closes the socket (EOF or reset).
async fn closed_by_server(mut s: tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue, // a 408 or similar before the close
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn slow_sockets_are_closed_and_healthz_still_answers() {
    let app = spawn_with(|c| {
        c.net.header_timeout_ms = 1_000;
        c.net.pending_per_address = 50;
    })
    .await;
    // 600 half-sent requests, all from one address (127.0.0.2, another
    // loopback address than the health check's).
    let mut slow = Vec::new();
    for _ in 0..600 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut s = socket.connect(app.addr).await.expect("connect");
        // A write to a socket the server already closed may fail: that is a close too.
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
        slow.push(s);
    }
    assert_eq!(
        healthz(&app).await,
        StatusCode::OK,
        "answered while 600 sockets dawdle"
    );
    let closed = futures_util::future::join_all(slow.into_iter().map(closed_by_server)).await;
    let open = closed.iter().filter(|c| !**c).count();
    assert_eq!(open, 0, "{open} of 600 slow sockets were never closed");
    assert_eq!(healthz(&app).await, StatusCode::OK);
    // An idle keep-alive connection is closed by the same timer.
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_server(idle).await,
        "idle keep-alive connection closed"
    );
    app.stop().await;
}

/// A socket from `from` that has sent half a request.
async fn half_request(app: &TestApp, from: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut s = socket.connect(app.addr).await.expect("connect");
    let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
    s
}

/// Finish the request and read the status line ("" when closed instead).
async fn finish(mut s: tokio::net::TcpStream) -> String {
    if s.write_all(b"Connection: close\r\n\r\n").await.is_err() {
        return String::new();
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_trusted_proxys_connections_are_never_pending_so_a_surge_through_it_keeps_its_health_checks(
) {
    // The caps are tiny; 127.0.0.2 plays HAProxy, 127.0.0.3 anyone else.
    let app = spawn_with(|c| {
        c.net.pending_per_address = 5;
        c.net.pending_total = 10;
        c.trusted_proxies = vec!["127.0.0.2".parse().unwrap()];
    })
    .await;
    let mut through_proxy = Vec::new();
    for _ in 0..60 {
        through_proxy.push(half_request(&app, "127.0.0.2").await);
    }
    // Sixty clients still arriving through the proxy take none of the
    // pending places: a health check from elsewhere is answered ...
    assert_eq!(healthz(&app).await, StatusCode::OK);
    // ... and every one of the sixty is served once it has sent its request.
    let answers = futures_util::future::join_all(through_proxy.into_iter().map(finish)).await;
    let served = answers.iter().filter(|a| a.contains(" 200 ")).count();
    assert_eq!(served, 60, "{answers:?}");
    // Anyone else still meets the caps: of twenty half-sent requests from one
    // address, only five are let wait.
    let mut others = Vec::new();
    for _ in 0..20 {
        others.push(half_request(&app, "127.0.0.3").await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answers = futures_util::future::join_all(others.into_iter().map(finish)).await;
    let served = answers.iter().filter(|a| a.contains(" 200 ")).count();
    assert_eq!(served, 5, "{answers:?}");
    // The fifteen closed at once are counted, the proxy's sixty are not.
    assert_eq!(app.metric("doithoai_refused_connections_total").await, 15.0);
    app.stop().await;
}

#[tokio::test]
async fn every_error_of_a_cmd_frame_echoes_its_req() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let (id, cmd) = submit("Câu hỏi để thử req", "tinh");
    m.ok(cmd).await;
    let cases = [
        (
            "reject without reason",
            json!({"type":"reject","question":id,"version":1}),
        ),
        ("no version", json!({"type":"approve","question":id})),
        ("unknown command", json!({"type":"fly","question":id})),
        (
            "not a UUID",
            json!({"type":"approve","question":"abc","version":1}),
        ),
        ("not an object", json!("approve")),
    ];
    for (i, (case, cmd)) in cases.into_iter().enumerate() {
        let req = format!("q{i}");
        m.send_raw(&json!({"type":"cmd","req":req,"cmd":cmd}).to_string())
            .await;
        let v = m.until(case, |v| v["type"] == "error").await;
        assert_error(&v, "invalid_message", case);
        assert_eq!(v["req"], req.as_str(), "{case}: {v}");
    }
    // A req longer than 128 bytes cannot be echoed.
    m.send_raw(&json!({"type":"cmd","req":"x".repeat(129),"cmd":{"type":"approve"}}).to_string())
        .await;
    let v = m.until("long req", |v| v["type"] == "error").await;
    assert_error(&v, "invalid_message", "long req");
    assert!(v.get("req").is_none(), "{v}");
    app.stop().await;
}

#[tokio::test]
async fn oversized_frames_and_hellos_are_rejected_with_a_close_frame() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let app = spawn_app().await;
    let huge = "a".repeat(100_000);
    // A joined client's oversized frame, then a hello over 64 KiB.
    let joined = json!({"type":"hello","protocol":1,"token":app.token("moderator-1")}).to_string();
    for first in [Some(joined), None] {
        let mut ws = Client::connect_raw(&app.ws_url()).await;
        if let Some(hello) = &first {
            ws.send(Message::Text(hello.clone().into())).await.unwrap();
        }
        ws.send(Message::Text(huge.clone().into())).await.unwrap();
        let (mut error, mut close) = (None, None);
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(WAIT, ws.next()).await {
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["type"] == "error" {
                        error = Some(v);
                    }
                }
                Message::Close(frame) => {
                    close = frame;
                    break;
                }
                _ => {}
            }
        }
        let case = if first.is_some() { "joined" } else { "hello" };
        assert_error(&error.expect("an error frame"), "frame_rejected", case);
        let close = close.unwrap_or_else(|| panic!("{case}: a Close frame"));
        assert_eq!(u16::from(close.code), 1008, "{case}");
        assert_eq!(close.reason.as_str(), "frame_rejected", "{case}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_receipt_request_without_r_gets_the_json_error_shape() {
    let app = spawn_app().await;
    let r = app
        .http()
        .get(format!(
            "{}/api/receipts/{}",
            app.base,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.expect("JSON");
    assert_eq!(v["code"], "receipt_required", "{v}");
    assert!(v["message"].is_string() && v["message_en"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn public_frames_omit_the_empty_submitted_by() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let mut display = app.staff("display:tinh").await;
    let (id, cmd) = submit("Câu hỏi công khai", "tinh");
    m.ok(cmd).await;
    m.ok(json!({"type":"approve","question":id,"version":1}))
        .await;
    let change = display
        .until("approved change", |v| {
            v["type"] == "change" && v["questions"][0]["id"] == id.as_str()
        })
        .await;
    let q = &change["questions"][0];
    assert!(q.get("submitted_by").is_none(), "{q}");
    assert!(q.get("device_key").is_none(), "{q}");
    let staff = app.questions("moderator-1").await;
    assert_eq!(staff["questions"][0]["submitted_by"], "moderator-1");
    app.stop().await;
}

async fn http_submit(app: &TestApp, body: Value) -> (StatusCode, Value) {
    let r = app
        .http()
        .post(format!("{}/api/events/{EVENT}/questions", app.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_known_id_gets_its_receipt_only_from_the_same_device_with_the_same_text() {
    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4().to_string();
    let text = "Em muốn hỏi về học bổng";
    let body =
        |device: &str, text: &str| json!({"id":id,"text":text,"hall":"tinh","device":device});
    let (status, first) = http_submit(&app, body("phone-a", text)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let receipt = first["receipt"].as_str().unwrap().to_string();
    let (status, again) = http_submit(&app, body("phone-a", text)).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(
        again["receipt"],
        receipt.as_str(),
        "the asker's retry gets the receipt again"
    );
    for (case, b) in [
        ("another device", body("phone-b", text)),
        ("no device", json!({"id":id,"text":text,"hall":"tinh"})),
        ("other text", body("phone-a", "Câu hỏi khác")),
    ] {
        let (status, v) = http_submit(&app, b).await;
        assert_eq!(status, StatusCode::CONFLICT, "{case}: {v}");
        assert_eq!(v["code"], "duplicate", "{case}: {v}");
        assert!(v.get("receipt").is_none(), "{case}: {v}");
        assert!(!v.to_string().contains(&receipt), "{case}: {v}");
    }
    // Over WebSocket the connection's hello device is the asker: a command
    // cannot claim another.
    let mut phone = Client::join(
        &app.ws_url(),
        json!({"type":"hello","protocol":1,"event":EVENT,"hall":"tinh","device":"phone-b"}),
    )
    .await;
    let v = phone
        .cmd(json!({"type":"submit","id":id,"text":text,"device":"phone-a"}))
        .await;
    assert_error(&v, "invalid_message", "device is not a command field");
    let v = phone
        .cmd(json!({"type":"submit","id":id,"text":text}))
        .await;
    assert_error(&v, "duplicate", "another phone's id over WebSocket");
    assert!(v.get("receipt").is_none());
    let mut owner = Client::join(
        &app.ws_url(),
        json!({"type":"hello","protocol":1,"event":EVENT,"hall":"tinh","device":"phone-a"}),
    )
    .await;
    let v = owner.ok(json!({"type":"submit","id":id,"text":text})).await;
    assert_eq!(v["receipt"], receipt.as_str());
    app.stop().await;
}

#[tokio::test]
async fn rotating_device_ids_over_http_spend_only_the_http_share_of_an_address() {
    let app = spawn_with(|c| {
        c.address_per_minute = 20;
        c.net.http_submit_per_address_per_minute = 5;
    })
    .await;
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..30 {
        let (status, v) = http_submit(
            &app,
            json!({"id":uuid::Uuid::new_v4(),"text":format!("Câu hỏi rác {i}"),"hall":"tinh","device":format!("rot-{i}")}),
        )
        .await;
        match status {
            StatusCode::CREATED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(v["code"], "rate_limited");
                limited += 1
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!((accepted, limited), (5, 25));
    // Phones on the same address (WebSocket) still have the rest of its bound.
    for i in 0..10 {
        let mut phone = app.participant("tinh").await;
        let (_, cmd) = submit(&format!("Câu hỏi thật {i}"), "tinh");
        phone.ok(cmd).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn staff_websockets_from_other_origins_are_refused_when_origins_are_set() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;
    let app =
        spawn_with(|c| c.net.allowed_origins = vec!["https://doithoai.example.vn".into()]).await;
    let first_reply = |origin: &'static str, hello: Value| {
        let url = app.ws_url();
        async move {
            let mut req = url.into_client_request().unwrap();
            req.headers_mut().insert("origin", origin.parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            ws.send(Message::Text(hello.to_string().into()))
                .await
                .unwrap();
            let msg = tokio::time::timeout(WAIT, ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            serde_json::from_str::<Value>(msg.to_text().unwrap()).unwrap()
        }
    };
    let staff = json!({"type":"hello","protocol":1,"token":app.token("moderator-1")});
    let phone = json!({"type":"hello","protocol":1,"event":EVENT,"hall":"tinh","device":"d1"});
    let v = first_reply("https://evil.example", staff.clone()).await;
    assert_error(&v, "origin_not_allowed", "staff from another origin");
    assert_eq!(
        first_reply("https://doithoai.example.vn", staff).await["type"],
        "welcome"
    );
    assert_eq!(
        first_reply("https://evil.example", phone).await["type"],
        "welcome",
        "phones from anywhere"
    );
    app.stop().await;
}

#[tokio::test]
async fn authenticated_responses_are_not_stored_by_caches() {
    let app = spawn_app().await;
    let admin = app.token("admin");
    for path in [
        "/api/admin/tokens",
        "/api/questions",
        "/api/stats",
        "/api/followup/history",
        "/api/exports/audit.csv",
    ] {
        for token in [Some(admin.as_str()), None] {
            let mut r = app.http().get(format!("{}{path}", app.base));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            assert_eq!(
                r.headers()
                    .get("cache-control")
                    .and_then(|v| v.to_str().ok()),
                Some("no-store"),
                "{path} (token: {})",
                token.is_some()
            );
        }
    }
    let public = app
        .http()
        .get(format!("{}/api/events", app.base))
        .send()
        .await
        .unwrap();
    assert_ne!(
        public
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "public routes stay cacheable"
    );
    app.stop().await;
}

#[tokio::test]
async fn text_is_cleaned_of_controls_and_bidi_and_invisible_text_is_empty() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let id = uuid::Uuid::new_v4().to_string();
    m.ok(json!({"type":"submit","id":id,"hall":"tinh",
        "text":"Nghie\u{0302}\u{0323}p\u{0}\u{1b}[31m đỏ\u{202E}cba\u{200B}",
        "questioner":{"name":"Lê\u{2066}Văn\nTám","organization":"\u{85}Trường"},"consent":true}))
        .await;
    let all = app.questions("moderator-1").await;
    let q = all["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(q["text"], "Nghiệp đỏcba");
    assert_eq!(q["questioner"]["name"], "LêVăn Tám");
    assert_eq!(q["questioner"]["organization"], "Trường");
    for text in ["\u{200B}\u{200B}", "\u{FEFF} \u{2060}", "\u{202E}\u{0}"] {
        let v = m
            .cmd(json!({"type":"submit","id":uuid::Uuid::new_v4(),"text":text}))
            .await;
        assert_error(&v, "empty_text", &format!("{text:?}"));
    }
    app.stop().await;
}

#[tokio::test]
async fn free_text_fields_are_capped_and_exports_neutralise_formulas() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let (id, cmd) = submit("Câu hỏi bị từ chối", "tinh");
    m.ok(cmd).await;
    let v = m
        .cmd(json!({"type":"reject","question":id,"version":1,"reason":"x".repeat(60_000)}))
        .await;
    assert_error(&v, "field_too_long", "60,000-character reason");
    m.ok(json!({"type":"reject","question":id,"version":1,"reason":"ệ".repeat(500)}))
        .await;
    let v = m
        .cmd(json!({"type":"submit","id":uuid::Uuid::new_v4(),"text":"x","source_note":"n".repeat(301)}))
        .await;
    assert_error(&v, "field_too_long", "301-character source note");

    let formula = "=HYPERLINK(\"http://x.example\",\"bấm\")";
    m.ok(
        json!({"type":"submit","id":uuid::Uuid::new_v4(),"hall":"tinh","text":formula,
        "questioner":{"name":"=1+1","organization":"@x","phone":"+84 912"},"consent":true}),
    )
    .await;
    let csv = app
        .http()
        .get(format!("{}/api/exports/questions.csv", app.base))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{FEFF}').as_bytes());
    let cells: Vec<String> = reader
        .records()
        .flat_map(|r| r.unwrap().iter().map(String::from).collect::<Vec<_>>())
        .collect();
    for dangerous in [formula, "=1+1", "@x", "+84 912"] {
        assert!(
            !cells.iter().any(|c| c == dangerous),
            "{dangerous} left as is"
        );
        assert!(
            cells.iter().any(|c| *c == format!("'{dangerous}")),
            "{dangerous} neutralised"
        );
    }
    let xlsx = app
        .http()
        .get(format!("{}/api/exports/questions.xlsx", app.base))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn audit_csv_lists_floor_requests() {
    let app = spawn_app().await;
    let mut op = app.staff("hall_operator:cho-moi").await;
    let mut m = app.staff("moderator-1").await;
    let request = uuid::Uuid::new_v4().to_string();
    op.ok(json!({"type":"request_floor","id":request})).await;
    m.ok(json!({"type":"grant_floor","request":request})).await;
    m.ok(json!({"type":"end_floor","request":request})).await;
    let csv = app
        .http()
        .get(format!("{}/api/exports/audit.csv", app.base))
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{FEFF}').as_bytes());
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .filter(|r: &Vec<String>| r[6] == request)
        .collect();
    let moves: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (r[5].as_str(), r[7].as_str(), r[8].as_str(), r[11].as_str()))
        .collect();
    assert_eq!(
        moves,
        [
            ("request_floor", "", "requested", "floor"),
            ("grant_floor", "requested", "granted", "floor"),
            ("end_floor", "granted", "done", "floor"),
        ]
    );
    assert!(rows.iter().all(|r| r[12] == "cho-moi"));
    app.stop().await;
}

async fn upload(
    app: &TestApp,
    token: Option<&str>,
    step: &str,
    name: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut r = app
        .http()
        .post(format!("{}/api/import/{step}", app.base))
        .query(&[("filename", name)])
        .body(body);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let r = r.send().await.expect("the client reads the answer");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_import_commit_needs_the_previewed_sha256() {
    let app = spawn_app().await;
    let csv = "Nội dung câu hỏi,Điểm cầu\nCâu hỏi nhập trước,tinh\n"
        .as_bytes()
        .to_vec();
    let moderator = app.token("moderator-1");
    let (status, v) = upload(&app, Some(&moderator), "commit", "a.csv", csv.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["code"], "sha256_required");
    assert_eq!(
        app.questions("moderator-1").await["questions"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let (_, preview) = upload(&app, Some(&moderator), "preview", "a.csv", csv.clone()).await;
    let r = app
        .http()
        .post(format!("{}/api/import/commit", app.base))
        .query(&[
            ("filename", "a.csv"),
            ("sha256", preview["sha256"].as_str().unwrap()),
        ])
        .bearer_auth(&moderator)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.questions("moderator-1").await["questions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

/// An XLSX with one cell at A1 and one at `far` (e.g. "XFD1048576").
fn xlsx_with_far_cell(row: u32, col: u16) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Nội dung câu hỏi").unwrap();
    sheet.write_string(row, col, "x").unwrap();
    book.save_to_buffer().unwrap()
}

/// An XLSX whose sheet is `mb` megabytes of whitespace (a few hundred KB zipped).
fn whitespace_xlsx(mb: usize) -> Vec<u8> {
    use std::io::Write;
    let template = xlsx_with_far_cell(1, 0);
    let mut source = zip::ZipArchive::new(std::io::Cursor::new(template)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for i in 0..source.len() {
        let mut file = source.by_index(i).unwrap();
        let name = file.name().unwrap().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut data).unwrap();
        out.start_file(name.clone(), options).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            let text = String::from_utf8(data).unwrap();
            let at = text.find("<sheetData>").unwrap();
            out.write_all(&text.as_bytes()[..at]).unwrap();
            let spaces = vec![b' '; 1024 * 1024];
            for _ in 0..mb {
                out.write_all(&spaces).unwrap();
            }
            out.write_all(&text.as_bytes()[at..]).unwrap();
        } else {
            out.write_all(&data).unwrap();
        }
    }
    out.finish().unwrap().into_inner()
}

#[tokio::test]
async fn crafted_spreadsheets_are_refused_before_they_are_read() {
    let app = spawn_app().await;
    let moderator = app.token("moderator-1");
    for (case, body) in [
        ("A1 + XFD1048576", xlsx_with_far_cell(1_048_575, 16_383)),
        ("A1 + Z1048576", xlsx_with_far_cell(1_048_575, 25)),
        ("A1 + CV2", xlsx_with_far_cell(1, 99)),
        ("200 MB of whitespace", whitespace_xlsx(200)),
    ] {
        assert!(body.len() < 2 * 1024 * 1024, "{case}: {} bytes", body.len());
        let (status, v) = upload(&app, Some(&moderator), "preview", "bom.xlsx", body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{case}: {v}");
        assert_eq!(v["code"], "file_too_large", "{case}: {v}");
    }
    let wide = format!("Nội dung câu hỏi{}\n", ",".repeat(100));
    let (status, v) = upload(
        &app,
        Some(&moderator),
        "preview",
        "wide.csv",
        wide.into_bytes(),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("file_too_large")),
        "{v}"
    );
    let long = format!("Nội dung câu hỏi\n{}", "x\n".repeat(25_000));
    let (status, v) = upload(
        &app,
        Some(&moderator),
        "preview",
        "long.csv",
        long.into_bytes(),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("file_too_large")),
        "{v}"
    );

    // Two large-but-allowed whitespace files at once: they are parsed off the
    // server's network threads, which keep answering.
    let bomb = whitespace_xlsx(40);
    let uploads = futures_util::future::join(
        upload(&app, Some(&moderator), "preview", "a.xlsx", bomb.clone()),
        upload(&app, Some(&moderator), "preview", "b.xlsx", bomb),
    );
    let health = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        healthz(&app).await
    };
    let ((a, b), health) = tokio::join!(uploads, health);
    assert_eq!(health, StatusCode::OK);
    for (status, v) in [a, b] {
        assert!(
            status.is_client_error() || status.is_success(),
            "{status}: {v}"
        );
    }
    assert_eq!(healthz(&app).await, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_refused_upload_is_read_so_the_client_gets_its_status() {
    let app = spawn_app().await;
    let big = vec![b'a'; 8 * 1024 * 1024];
    for (token, expected) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("bad-token".to_string()), StatusCode::UNAUTHORIZED),
        (Some(app.token("chair")), StatusCode::FORBIDDEN),
        (Some(app.token("display:tinh")), StatusCode::FORBIDDEN),
    ] {
        for _ in 0..3 {
            let (status, v) = upload(&app, token.as_deref(), "preview", "x.csv", big.clone()).await;
            assert_eq!(status, expected, "{v}");
            assert!(v["code"].is_string(), "{v}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn http_votes_from_one_address_spend_only_the_http_share_and_websocket_votes_keep_theirs() {
    // Votes' HTTP share is five times the submissions' (VOTES_PER_SUBMISSION).
    let app = spawn_with(|c| {
        c.address_per_minute = 1_000;
        c.net.http_submit_per_address_per_minute = 2;
    })
    .await;
    let mut m = app.staff("moderator-1").await;
    let (q, cmd) = submit("Thanh niên nông thôn vay vốn thế nào?", "tinh");
    m.ok(cmd).await;
    m.ok(json!({"type":"approve","question":q,"version":1}))
        .await;
    let (mut accepted, mut limited) = (0, 0);
    for i in 0..20 {
        let r = app
            .http()
            .post(format!("{}/api/events/{EVENT}/votes", app.base))
            .json(&json!({"question": q, "device": format!("rot-{i}")}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        match status {
            StatusCode::OK => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(v["code"], "rate_limited", "{v}");
                limited += 1
            }
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!((accepted, limited), (10, 10), "2 × 5 HTTP votes a minute");
    // Phones on the same address vote over WebSocket under their own bound.
    for _ in 0..15 {
        let mut phone = app.participant("tinh").await;
        let ack = phone.ok(json!({"type":"vote","question":q})).await;
        assert!(ack["seq"].is_u64(), "{ack}");
    }
    let all = app.questions("moderator-1").await;
    let votes = all["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == q.as_str())
        .unwrap()["votes"]
        .clone();
    assert_eq!(votes, 1 + 10 + 15);
    app.stop().await;
}
