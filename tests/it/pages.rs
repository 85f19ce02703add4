//! The server side of the pages: the embedded files are served with the CSP,
//! the join sheets' QR codes and admin token list, and the participant
//! page's weight on a slow 3G phone.

use std::collections::BTreeSet;

use crate::common::*;
use serde_json::Value;

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http()
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn qr_code_is_an_svg_of_the_halls_participant_link() {
    let app = spawn_app().await;
    let r = get(&app, &format!("/api/events/{EVENT}/qr/cho-moi.svg")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    let svg = r.text().await.unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("<path"),
        "{}",
        &svg[..200.min(svg.len())]
    );
    // Different halls get different codes.
    let other = get(&app, &format!("/api/events/{EVENT}/qr/tri-ton.svg"))
        .await
        .text()
        .await
        .unwrap();
    assert_ne!(svg, other);
    assert_eq!(
        get(&app, &format!("/api/events/{EVENT}/qr/nowhere.svg"))
            .await
            .status(),
        404
    );
    assert_eq!(
        get(&app, "/api/events/no-such-event/qr/cho-moi.svg")
            .await
            .status(),
        404
    );
    assert_eq!(
        get(&app, &format!("/api/events/{EVENT}/qr/cho-moi.png"))
            .await
            .status(),
        404
    );
    app.stop().await;
}

#[tokio::test]
async fn admin_token_list_is_for_the_admin_only_and_links_use_the_request_host() {
    let app = spawn_app().await;
    let url = format!("{}/api/admin/tokens", app.base);
    let anon = app.http().get(&url).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let moderator = app
        .http()
        .get(&url)
        .bearer_auth(app.token("moderator-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(moderator.status(), 403);

    let r = app
        .http()
        .get(&url)
        .bearer_auth(app.token("admin"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["event"]["id"], EVENT);
    assert_eq!(v["base_url"], app.base.as_str());
    let tokens = v["tokens"].as_array().unwrap();
    let op = tokens
        .iter()
        .find(|t| t["slot"] == "hall_operator:cho-moi")
        .unwrap();
    assert_eq!(op["token"], app.token("hall_operator:cho-moi").as_str());
    assert_eq!(
        op["url"],
        format!(
            "{}/hall.html#token={}",
            app.base,
            app.token("hall_operator:cho-moi")
        )
        .as_str()
    );
    let halls = v["halls"].as_array().unwrap();
    assert_eq!(halls.len(), 12);
    assert_eq!(
        halls[0]["participant_url"],
        format!("{}/p/{EVENT}/tinh", app.base).as_str()
    );

    // A forged Host cannot smuggle markup into the links.
    let forged = app
        .http()
        .get(&url)
        .bearer_auth(app.token("admin"))
        .header("host", "evil.example/<script>")
        .send()
        .await
        .unwrap();
    let v: Value = forged.json().await.unwrap();
    assert!(
        !v["base_url"].as_str().unwrap().contains('<'),
        "{}",
        v["base_url"]
    );
    app.stop().await;
}

#[tokio::test]
async fn every_page_is_served_with_the_csp_and_without_inline_script_or_style() {
    let app = spawn_app().await;
    for page in [
        "moderator",
        "chair",
        "speaker",
        "hall",
        "phone",
        "receipt",
        "display",
        "join",
        "index",
        "answers",
        "followup",
        "stats",
        "import",
    ] {
        let r = get(&app, &format!("/{page}.html")).await;
        assert_eq!(r.status(), 200, "{page}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("style-src 'self'"),
            "{csp}"
        );
        let html = r.text().await.unwrap();
        // CSP would block these, so none may be relied on.
        assert!(!html.contains("style="), "{page}: inline style attribute");
        assert!(!html.contains("<style"), "{page}: inline style element");
        assert!(!has_inline_handler(&html), "{page}: inline event handler");
        for script in html.split("<script").skip(1) {
            assert!(script.contains("src=\"/js/"), "{page}: inline script");
        }
    }
    app.stop().await;
}

/// True when the HTML has an `onclick=`-style attribute.
fn has_inline_handler(html: &str) -> bool {
    html.match_indices(" on").any(|(at, _)| {
        let name: String = html[at + 3..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase())
            .collect();
        !name.is_empty() && html[at + 3 + name.len()..].starts_with('=')
    })
}

/// Files a page loads: its scripts and style sheets, and every module they import.
async fn page_weight(app: &TestApp, page: &str) -> (usize, BTreeSet<String>) {
    let html = get(app, page).await.text().await.unwrap();
    let mut todo: Vec<String> = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let path = part.split('"').next().unwrap();
            if path.ends_with(".js") || path.ends_with(".css") {
                todo.push(path.to_string());
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut total = html.len();
    while let Some(path) = todo.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let body = get(app, &path).await.bytes().await.unwrap();
        total += body.len();
        let text = String::from_utf8_lossy(&body);
        for part in text.split("from './").skip(1) {
            let file = part.split('\'').next().unwrap();
            todo.push(format!("/js/{file}"));
        }
    }
    (total, seen)
}

#[tokio::test]
async fn participant_page_and_its_scripts_weigh_under_50_kb() {
    let app = spawn_app().await;
    let (bytes, files) = page_weight(&app, "/phone.html").await;
    assert!(
        files.contains("/js/phone.js")
            && files.contains("/js/client.js")
            && files.contains("/css/app.css"),
        "{files:?}"
    );
    assert!(
        bytes < 50 * 1024,
        "phone page with {files:?} weighs {bytes} bytes"
    );
    let (receipt, _) = page_weight(&app, "/receipt.html").await;
    assert!(receipt < 50 * 1024, "receipt page weighs {receipt} bytes");
    app.stop().await;
}

/// GET `path` as a browser would: gzip accepted, optionally revalidating `etag`.
async fn get_gzip(app: &TestApp, path: &str, etag: Option<&str>) -> reqwest::Response {
    let mut req = app
        .http()
        .get(format!("{}{path}", app.base))
        .header("accept-encoding", "gzip");
    if let Some(tag) = etag {
        req = req.header("if-none-match", tag);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn pages_scripts_and_json_are_gzipped_and_unchanged_files_answer_304() {
    let app = spawn_app().await;
    for path in [
        "/phone.html",
        "/js/client.js",
        "/css/app.css",
        "/favicon.svg",
    ] {
        let plain = get(&app, path).await;
        assert_eq!(plain.status(), 200, "{path}");
        assert!(
            plain.headers().get("content-encoding").is_none(),
            "{path}: identity unless asked"
        );
        let plain_tag = plain.headers()["etag"].to_str().unwrap().to_string();
        let raw = plain.bytes().await.unwrap();

        let r = get_gzip(&app, path, None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-encoding"], "gzip", "{path}");
        assert_eq!(r.headers()["vary"], "accept-encoding", "{path}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{path}");
        assert!(
            r.headers().contains_key("content-security-policy"),
            "{path}"
        );
        let tag = r.headers()["etag"].to_str().unwrap().to_string();
        assert_ne!(tag, plain_tag, "each encoding has its own tag");
        let gz = r.bytes().await.unwrap();
        assert!(gz.len() < raw.len(), "{path}: {} ≥ {}", gz.len(), raw.len());
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped)
            .unwrap();
        assert_eq!(unzipped, raw, "{path}: the same file");

        let again = get_gzip(&app, path, Some(&tag)).await;
        assert_eq!(again.status(), 304, "{path}: unchanged");
        assert_eq!(again.headers()["etag"], tag.as_str());
        assert!(again.bytes().await.unwrap().is_empty());
        let stale = get_gzip(&app, path, Some("\"something-else\"")).await;
        assert_eq!(stale.status(), 200, "{path}: another tag gets the file");
    }
    // JSON is compressed by the server's compression layer.
    let r = get_gzip(&app, &format!("/api/events/{EVENT}"), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    // The WebSocket upgrade still works (it is outside the compression layer).
    let mut ws = app.staff("moderator-1").await;
    let (_, cmd) = submit("Câu hỏi qua WebSocket sau khi bật nén", "tinh");
    ws.ok(cmd).await;
    app.stop().await;
}

#[tokio::test]
async fn the_favicon_is_served_as_ico_and_svg() {
    let app = spawn_app().await;
    let ico = get(&app, "/favicon.ico").await;
    assert_eq!(ico.status(), 200);
    assert_eq!(ico.headers()["content-type"], "image/x-icon");
    let bytes = ico.bytes().await.unwrap();
    assert_eq!(&bytes[..4], &[0, 0, 1, 0], "an ICO header");
    let svg = get(&app, "/favicon.svg").await;
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().starts_with("<svg"));
    app.stop().await;
}

#[tokio::test]
async fn participant_page_cold_load_is_under_25_kb_gzipped() {
    let app = spawn_app().await;
    let html = get_gzip(&app, "/phone.html", None).await;
    let mut total = html.bytes().await.unwrap().len();
    let (_, files) = page_weight(&app, "/phone.html").await;
    assert!(
        !files.contains("/js/votes.js"),
        "the vote list loads only when opened: {files:?}"
    );
    for path in &files {
        let r = get_gzip(&app, path, None).await;
        assert_eq!(r.status(), 200, "{path}");
        total += r.bytes().await.unwrap().len();
    }
    total += get_gzip(&app, &format!("/api/events/{EVENT}"), None)
        .await
        .bytes()
        .await
        .unwrap()
        .len();
    // Bodies only; headers add about 0.5 KB a response (the browser test measures everything).
    assert!(
        total < 20 * 1024,
        "phone page bodies gzipped: {total} bytes of {files:?}"
    );
    app.stop().await;
}
