//! A client that stops reading is disconnected as a slow consumer once its
//! bounded queue fills; everyone else keeps receiving every change.

use crate::common::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_stuck_client_is_dropped_and_the_others_get_everything() {
    let temp = tempfile::tempdir().unwrap();
    let mut config = doithoai::config::ServeConfig::for_tests(temp.path());
    config.queue_bytes = 64 * 1024;
    let app = spawn_app_with(config).await;

    // The stuck client: a tiny receive buffer and never a read after the hello.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(app.addr).await.unwrap();
    let (mut stuck, _) = tokio_tungstenite::client_async(app.ws_url(), stream)
        .await
        .unwrap();
    stuck
        .send(Message::Text(
            json!({"type":"hello","protocol":1,"token":app.token("moderator-2")})
                .to_string()
                .into(),
        ))
        .await
        .unwrap();

    let mut fast = app.staff("chair").await;
    let mut m = app.staff("moderator-1").await;
    let body = "Thanh niên khởi nghiệp cần vốn, đất và thị trường tiêu thụ nông sản. ".repeat(28);
    let mut last = 0;
    let mut dropped = false;
    // Up to ~12 MB of changes for the stuck client: more than the kernel's
    // socket buffers (4 MiB here) plus its 64 KiB queue can hold.
    for round in 0..250 {
        // Small rounds: one group commit's burst must fit the fast clients' 64 KiB queues.
        let cmds = (0..8)
            .map(|i| submit(&format!("{round}-{i}: {body}"), "tinh").1)
            .collect();
        for ack in m.pipeline(cmds).await {
            assert_eq!(ack["type"], "ack", "{ack}");
            last = last.max(ack["seq"].as_u64().unwrap());
        }
        // Drain the fast client as we go, as a real page would.
        fast.until_seq(last).await;
        if app.metric("doithoai_queue_drops_total").await >= 1.0 {
            dropped = true;
            break;
        }
    }
    fast.until_seq(last).await;
    assert!(dropped, "the stuck client was dropped");
    // The fast client saw every change, in order, without gaps.
    let seqs = fast.change_seqs();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>());
    // The stuck connection is closed, not left hanging: only moderator-1 remains.
    let mut moderators = 0.0;
    for _ in 0..100 {
        moderators = app.metric("doithoai_connections{role=\"moderator\"}").await;
        if moderators == 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(moderators, 1.0);
    drop(stuck);
    app.stop().await;
}
