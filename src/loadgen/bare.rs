//! Baseline (a): a bare fan-out server on the same WebSocket stack as
//! doithoai (axum ws, the same buffer settings, a bounded queue and a writer
//! task per connection) with no store and no logic: every text message a
//! client sends is broadcast to every connected client. What doithoai costs
//! above this is the price of its domain, durability and per-audience views.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[derive(Default)]
struct Fanout {
    next: AtomicU64,
    // A std Mutex: nothing is awaited while it is held.
    subscribers: Mutex<HashMap<u64, mpsc::Sender<Utf8Bytes>>>,
}

/// Serve the bare fan-out on `listener` until the process ends.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let app = Router::new()
        .route("/ws", get(upgrade))
        .with_state(Arc::new(Fanout::default()));
    // TCP_NODELAY, as doithoai's `serve` sets it (and as Node's ws does).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await
}

async fn upgrade(ws: WebSocketUpgrade, State(hub): State<Arc<Fanout>>) -> Response {
    // The same settings as doithoai's `http::ws::upgrade`.
    ws.read_buffer_size(crate::http::ws::READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(2 << 20)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| connection(socket, hub))
}

async fn connection(socket: WebSocket, hub: Arc<Fanout>) {
    let id = hub.next.fetch_add(1, Ordering::Relaxed);
    // Same bound as doithoai's hub (1024 frames); a full queue drops the client.
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(1024);
    if let Ok(mut subs) = hub.subscribers.lock() {
        subs.insert(id, tx);
    }
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(Message::Text(frame)).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        let Message::Text(text) = msg else { continue };
        let mut slow = Vec::new();
        if let Ok(subs) = hub.subscribers.lock() {
            for (sid, tx) in subs.iter() {
                if tx.try_send(text.clone()).is_err() {
                    slow.push(*sid);
                }
            }
        }
        if !slow.is_empty() {
            if let Ok(mut subs) = hub.subscribers.lock() {
                for sid in slow {
                    subs.remove(&sid);
                }
            }
        }
    }
    if let Ok(mut subs) = hub.subscribers.lock() {
        subs.remove(&id);
    }
    writer.abort();
}
