//! Plain HTTP: health, metrics, the participant fallback with its rate
//! limit and receipts, and the security headers every page is served with.

use crate::common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn health_metrics_and_security_headers() {
    let app = spawn_app().await;
    let r = app
        .http()
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let _m = app.staff("moderator-1").await;
    let text = app.metrics_text().await;
    assert!(
        text.contains("doithoai_connections{role=\"moderator\"} 1"),
        "{text}"
    );
    for name in [
        "doithoai_messages_in_total",
        "doithoai_messages_out_total",
        "doithoai_queue_drops_total",
        "doithoai_commit_latency_seconds_count",
    ] {
        assert!(text.contains(name), "{name} in {text}");
    }
    let r = app
        .http()
        .get(format!("{}/", app.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    app.stop().await;
}

#[tokio::test]
async fn participant_http_submission_receipt_and_rate_limit() {
    let app = spawn_app().await;
    let url = format!("{}/api/events/{EVENT}/questions", app.base);
    let device = uuid::Uuid::new_v4().to_string();
    let id = uuid::Uuid::new_v4().to_string();
    // Decomposed input (e + combining marks) is stored composed (NFC).
    let body = json!({"id":id,"text":"Khởi nghie\u{0302}\u{0323}p cần vốn?","hall":"chau-doc","device":device,
        "questioner":{"name":"Huỳnh Thị Ơn","phone":"0987654321"},"consent":true});
    let r = app.http().post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let ack: Value = r.json().await.unwrap();
    let receipt = ack["receipt"].as_str().unwrap().to_string();

    let receipt_url = |r: &str| format!("{}/api/receipts/{id}?r={r}", app.base);
    let r = reqwest::get(receipt_url(&receipt)).await.unwrap();
    assert_eq!(r.status(), 200);
    let view: Value = r.json().await.unwrap();
    assert_eq!(view["state"], "pending");
    assert_eq!(view["text"], "Khởi nghiệp cần vốn?");
    assert!(
        !view.to_string().contains("0987654321"),
        "a receipt shows no personal data"
    );
    let wrong = reqwest::get(receipt_url(&"0".repeat(32))).await.unwrap();
    assert_eq!(wrong.status(), 404, "a wrong receipt reveals nothing");

    // The moderator sees the personal data; the question went to the right hall.
    let v = app.questions("moderator-1").await;
    let q = &v["questions"][0];
    assert_eq!(q["hall"], "chau-doc");
    assert_eq!(q["source"], "participant");
    assert_eq!(q["questioner"]["phone"], "0987654321");
    // The chair's view of the same list carries none.
    assert!(!app
        .questions("chair")
        .await
        .to_string()
        .contains("0987654321"));

    // One device may not flood: the per-device limit (6/minute in tests) answers 429.
    let mut codes = Vec::new();
    for i in 0..8 {
        let body = json!({"id":uuid::Uuid::new_v4(),"text":format!("Câu {i}"),"device":device});
        let r = app.http().post(&url).json(&body).send().await.unwrap();
        codes.push(r.status().as_u16());
        if r.status() == 429 {
            let e: Value = r.json().await.unwrap();
            assert_eq!(e["code"], "rate_limited");
            assert!(!e["message"].as_str().unwrap().is_empty());
        }
    }
    assert!(codes.contains(&429), "{codes:?}");
    // Bad bodies get typed errors.
    let r = app
        .http()
        .post(&url)
        .json(&json!({"text":"thiếu id"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "invalid_message");
    let r = app
        .http()
        .post(format!("{}/api/events/khong-co/questions", app.base))
        .json(&json!({"id":uuid::Uuid::new_v4(),"text":"x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn http_commands_need_a_token_and_follow_the_same_rules() {
    let app = spawn_app().await;
    let url = format!("{}/api/commands", app.base);
    let (id, cmd) = submit("Gửi bằng HTTP", "tinh");
    let r = app.http().post(&url).json(&cmd).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .http()
        .post(&url)
        .bearer_auth(app.token("moderator-1"))
        .json(&cmd)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .http()
        .post(&url)
        .bearer_auth(app.token("speaker:gddt"))
        .json(&json!({"type":"approve","question":id,"version":1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "forbidden");
    app.stop().await;
}

#[tokio::test]
async fn participant_links_check_event_and_hall() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .get(format!("{}/p/{EVENT}/cho-moi", app.base))
        .send()
        .await
        .unwrap();
    // The participant page itself, no redirect (one round trip less on 3G).
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.headers().contains_key("etag"));
    assert!(r.text().await.unwrap().contains("src=\"/js/phone.js\""));
    let r = client
        .get(format!("{}/p/{EVENT}/ha-noi", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["code"], "unknown_hall");
    let r = client
        .get(format!("{}/p/khong-co/cho-moi", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_phone_has_its_own_address_limit() {
    let temp = tempfile::tempdir().unwrap();
    let mut config = doithoai::config::ServeConfig::for_tests(temp.path());
    config.address_per_minute = 2;
    config.device_per_minute = 1000;
    config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let app = spawn_app_with(config).await;
    let url = format!("{}/api/events/{EVENT}/questions", app.base);
    let send = |from: &'static str| {
        let url = url.clone();
        async move {
            reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", format!("198.51.100.9, {from}"))
                .json(&json!({"id":uuid::Uuid::new_v4(),"text":"Qua proxy"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(send("10.1.0.1").await, 201);
    assert_eq!(send("10.1.0.1").await, 201);
    assert_eq!(
        send("10.1.0.1").await,
        429,
        "the third from one phone's address is limited"
    );
    assert_eq!(
        send("10.1.0.2").await,
        201,
        "another phone behind the same proxy is not"
    );
    app.stop().await;
}

/// A hall full of phones scanning the QR code at once must not overflow the
/// listen queue (a dropped SYN costs a phone a 1 s retransmit, then 2, 4…).
/// Nothing accepts here, so only the kernel's queue holds the connections.
#[tokio::test]
async fn the_listen_queue_holds_a_burst_of_five_hundred_connections() {
    let listener = doithoai::bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let addr = listener.local_addr().unwrap();
    let connects: Vec<_> = (0..500)
        .map(|_| tokio::spawn(tokio::net::TcpStream::connect(addr)))
        .collect();
    // A hang guard, not a timing claim: with the old backlog of 128 the
    // 129th connection never completes while nobody accepts.
    let all = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut streams = Vec::new();
        for c in connects {
            streams.push(c.await.expect("task").expect("connect"));
        }
        streams
    })
    .await
    .expect("every connection was queued by the kernel");
    assert_eq!(all.len(), 500);
    drop(listener);
}

#[tokio::test]
async fn csp_reports_are_counted_and_bad_ones_refused() {
    let app = spawn_app().await;
    let page = app
        .http()
        .get(format!("{}/moderator.html", app.base))
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(csp.ends_with("report-uri /api/csp-report"), "{csp}");

    let report = json!({"csp-report": {
        "document-uri": "http://127.0.0.1/moderator.html",
        "violated-directive": "script-src-elem",
        "blocked-uri": "inline",
        "line-number": 12,
    }});
    let post = |body: String| {
        app.http()
            .post(format!("{}/api/csp-report", app.base))
            .header("content-type", "application/csp-report")
            .body(body)
            .send()
    };
    assert_eq!(post(report.to_string()).await.unwrap().status(), 204);
    assert_eq!(app.metric("doithoai_csp_violations_total").await, 1.0);

    for (body, code) in [
        ("{not json".to_string(), "malformed_json"),
        (json!({"other": 1}).to_string(), "invalid_message"),
    ] {
        let r = post(body).await.unwrap();
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], code);
        assert!(!v["message"].as_str().unwrap().is_empty());
        assert!(!v["message_en"].as_str().unwrap().is_empty());
    }
    let huge = "x".repeat(64 * 1024);
    assert_eq!(post(huge).await.unwrap().status(), 413);
    assert_eq!(app.metric("doithoai_csp_violations_total").await, 1.0);
}
