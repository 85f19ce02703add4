//! Heartbeats and the idle limit, on a server configured with short ones
//! (the defaults are 20 s and 65 s): a projector page that never sends
//! anything must stay connected, a peer that went silent must be let go.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

async fn app_with_short_heartbeats() -> TestApp {
    let temp = tempfile::tempdir().expect("temp dir");
    let mut config = doithoai::config::ServeConfig::for_tests(temp.path());
    config.heartbeat_ms = 200;
    config.idle_timeout_ms = 1_000;
    let mut app = spawn_app_with(config).await;
    app.temp = Some(temp);
    app
}

fn hello(app: &TestApp, seat: &str) -> Message {
    let hello = json!({"type":"hello","protocol":1,"token":app.token(seat)});
    Message::Text(hello.to_string().into())
}

#[tokio::test]
async fn a_display_that_only_answers_protocol_pings_stays_connected() {
    let app = app_with_short_heartbeats().await;
    let mut ws = Client::connect_raw(&app.ws_url()).await;
    ws.send(hello(&app, "display:tinh")).await.unwrap();
    // Read for three idle limits, sending nothing of our own: tungstenite
    // answers each protocol ping with a pong while reading, as a browser does.
    let until = tokio::time::Instant::now() + Duration::from_secs(3);
    let (mut pings, mut json_pings) = (0, 0);
    while let Ok(msg) = tokio::time::timeout_at(until, ws.next()).await {
        match msg {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "ping" {
                    json_pings += 1;
                }
            }
            other => panic!("the display was disconnected: {other:?}"),
        }
    }
    assert!(pings >= 5, "only {pings} protocol pings in 3 s");
    assert!(json_pings >= 5, "only {json_pings} ping frames in 3 s");
    // Still fully alive: it is answered.
    let ping = json!({"type":"ping","t":7}).to_string();
    ws.send(Message::Text(ping.into())).await.unwrap();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("a pong")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["type"] == "pong" {
                assert_eq!(v["t"], 7);
                break;
            }
        }
    }
}

#[tokio::test]
async fn a_peer_that_stops_answering_is_closed_after_the_idle_limit() {
    let app = app_with_short_heartbeats().await;
    let mut ws = Client::connect_raw(&app.ws_url()).await;
    ws.send(hello(&app, "display:tinh")).await.unwrap();
    // Not reading means not answering pings either: a phone whose network vanished.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut frames = 0;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => break true,
            Ok(Some(Ok(_))) => frames += 1,
            Err(_) => break false,
        }
    };
    assert!(closed, "still open after {frames} frames");
    // The server counts it gone.
    let displays = app.metric("doithoai_connections{role=\"display\"}").await;
    assert_eq!(displays, 0.0);
}
