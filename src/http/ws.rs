//! One WebSocket connection: handshake (`hello` → `welcome`), then a reader
//! that turns frames into commands and a writer that drains the hub
//! subscription plus direct replies, with heartbeats. All protocol errors are
//! answered with an `error` frame; nothing a client sends can panic the server.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;

use super::error::{auth_error_code, command_error_code};
use super::AppState;
use crate::domain::{Actor, Command, Role};
use crate::engine::{CommandError, EventRuntime};
use crate::hub::{EvictReason, ResumeError, Subscription};
use crate::protocol::{ClientMessage, EventInfo, ServerMessage, You, PROTOCOL_VERSION};

/// Largest frame a client may send: a 2,000-character question is ~8 KB of UTF-8.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
const HELLO_TIMEOUT: Duration = Duration::from_secs(15);
const PING_EVERY: Duration = Duration::from_secs(20);
/// A connection silent for this long is considered dead and closed.
const IDLE_LIMIT: Duration = Duration::from_secs(65);
/// Longest wait for a catch-up before a resume that is ahead gets a snapshot.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(5);

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let peer = super::client_ip(peer.ip(), &headers, &app.config.trusted_proxies);
    // Small buffers: tungstenite's 128 KiB default read buffer would cost
    // over a gigabyte at 10,000 phones.
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(app.config.queue_bytes.max(MAX_FRAME_BYTES) * 2)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| connection(socket, app, peer))
}

fn error_frame(req: Option<&str>, code: &str, message: &str, message_en: &str) -> Message {
    text(
        ServerMessage::Error {
            req,
            code,
            message: message.to_string(),
            message_en: message_en.to_string(),
            current: None,
        }
        .to_json(),
    )
}

fn text(s: String) -> Message {
    Message::Text(Utf8Bytes::from(s))
}

async fn reject(mut socket: WebSocket, code: &str, message: &str, message_en: &str) {
    let _ = socket
        .send(error_frame(None, code, message, message_en))
        .await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: 1008,
            reason: Utf8Bytes::from(code.to_string()),
        })))
        .await;
}

struct Joined {
    rt: Arc<EventRuntime>,
    actor: Actor,
    device: Option<String>,
    last_seq: Option<u64>,
}

async fn handshake(
    socket: &mut WebSocket,
    app: &AppState,
) -> Result<Joined, (&'static str, String, String)> {
    let first = tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await;
    let raw = match first {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => {
            return Err((
                "hello_expected",
                "Cần gửi hello trước".into(),
                "send hello first".into(),
            ))
        }
        _ => {
            return Err((
                "hello_timeout",
                "Không nhận được hello".into(),
                "no hello received".into(),
            ))
        }
    };
    let msg = parse(raw.as_str())
        .map_err(|(code, en)| (code, "Tin nhắn không hợp lệ".to_string(), en))?;
    let ClientMessage::Hello {
        protocol,
        token,
        event,
        hall,
        device,
        last_seq,
    } = msg
    else {
        return Err((
            "hello_expected",
            "Cần gửi hello trước".into(),
            "send hello first".into(),
        ));
    };
    if protocol != PROTOCOL_VERSION {
        return Err((
            "unsupported_protocol",
            format!("Phiên bản giao thức {protocol} không được hỗ trợ (máy chủ dùng {PROTOCOL_VERSION})"),
            format!("protocol {protocol} is not supported (server speaks {PROTOCOL_VERSION})"),
        ));
    }
    if let Some(token) = token {
        let (rt, actor) = app.engine.authenticate(&token).await.map_err(|e| {
            let (code, vi) = auth_error_code(&e);
            (code, vi.to_string(), e.to_string())
        })?;
        return Ok(Joined {
            rt,
            actor,
            device,
            last_seq,
        });
    }
    let Some(event) = event else {
        return Err((
            "unauthorized",
            "Thiếu mã truy cập".into(),
            "missing token or event code".into(),
        ));
    };
    let rt = app.engine.event(&event).ok_or((
        "unknown_event",
        "Không có sự kiện này".to_string(),
        "no such event".to_string(),
    ))?;
    let mut actor = Actor::new(Role::Participant, "participant");
    if let Some(h) = hall.filter(|h| rt.config.has_hall(h)) {
        actor.hall = Some(h);
    }
    Ok(Joined {
        rt,
        actor,
        device,
        last_seq,
    })
}

/// Parse a client frame into a message, or an error code with an English detail.
fn parse(raw: &str) -> Result<ClientMessage, (&'static str, String)> {
    let value: serde_json::Value = serde_json::from_str(raw)
        .map_err(|e| ("malformed_json", format!("malformed JSON: {e}")))?;
    let kind = value
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or_default();
    if !matches!(kind, "hello" | "cmd" | "ping" | "pong") {
        return Err(("unknown_type", format!("unknown message type «{kind}»")));
    }
    serde_json::from_value(value).map_err(|e| ("invalid_message", e.to_string()))
}

async fn connection(mut socket: WebSocket, app: AppState, peer: IpAddr) {
    let joined = match handshake(&mut socket, &app).await {
        Ok(j) => j,
        Err((code, vi, en)) => return reject(socket, code, &vi, &en).await,
    };
    let Joined {
        rt,
        actor,
        device,
        last_seq,
    } = joined;
    if last_seq.is_some_and(|s| s > rt.seq()) {
        // The client saw changes this node has not read yet (it was on another
        // node): read the log before deciding the resume is impossible.
        let _ = tokio::time::timeout(CATCH_UP_LIMIT, rt.catch_up_now()).await;
    }
    let welcome = ServerMessage::Welcome {
        protocol: PROTOCOL_VERSION,
        event: EventInfo { config: &rt.config },
        you: You {
            role: actor.role,
            label: actor.label.clone(),
            hall: actor.hall.clone(),
            department: actor.department.clone(),
        },
        seq: rt.seq(),
        server_time: crate::now_ms(),
    };
    if socket.send(text(welcome.to_json())).await.is_err() {
        return;
    }
    let subscription = match rt.subscribe(&actor, last_seq) {
        Ok(s) => s,
        Err(ResumeError::Ahead { current }) => {
            let en = format!(
                "last_seq {} is ahead of the event ({current}); sending a fresh snapshot",
                last_seq.unwrap_or(0)
            );
            let _ = socket
                .send(error_frame(
                    None,
                    "seq_ahead",
                    "Số thứ tự không hợp lệ; gửi lại toàn bộ trạng thái",
                    &en,
                ))
                .await;
            match rt.subscribe(&actor, None) {
                Ok(s) => s,
                Err(_) => return,
            }
        }
        Err(ResumeError::Closed) => {
            return reject(
                socket,
                "shutting_down",
                "Máy chủ đang khởi động lại",
                "the server is shutting down",
            )
            .await
        }
    };
    let metrics = app.engine.metrics().clone();
    metrics.connected(actor.role);
    tracing::debug!(%peer, role = actor.role.as_str(), label = %actor.label, event = rt.id(), "joined");

    let (sink, stream) = socket.split();
    let (direct_tx, direct_rx) = mpsc::channel::<Message>(64);
    let write = write_loop(sink, subscription, direct_rx, rt.clone());
    // Phones' writers run on their own lower-priority runtime (phones.rs), so
    // a broadcast to thousands of them never delays staff frames or commands;
    // their readers (submissions) stay here.
    let mut writer = if actor.role == Role::Participant {
        app.phones.spawn(write)
    } else {
        tokio::spawn(write)
    };
    tokio::select! {
        // The client left or misbehaved: stop the writer too.
        _ = read_loop(stream, &app, &rt, &actor, device, peer, direct_tx) => {
            writer.abort();
            let _ = writer.await;
        }
        // Evicted (slow, or shutdown) or the socket failed: dropping the reader closes the connection.
        _ = &mut writer => {}
    }
    metrics.disconnected(actor.role);
}

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    app: &AppState,
    rt: &Arc<EventRuntime>,
    actor: &Actor,
    device: Option<String>,
    peer: IpAddr,
    direct: mpsc::Sender<Message>,
) {
    let metrics = app.engine.metrics();
    loop {
        let next = match tokio::time::timeout(IDLE_LIMIT, stream.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => {
                // Oversized frames and protocol violations end here; say why if we still can.
                let _ = direct
                    .send(error_frame(
                        None,
                        "frame_rejected",
                        "Khung dữ liệu bị từ chối (quá lớn hoặc sai giao thức)",
                        &format!("frame rejected: {e}"),
                    ))
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                return;
            }
            Ok(None) => return,
            Err(_) => return, // silent for too long
        };
        metrics.messages_in.fetch_add(1, Ordering::Relaxed);
        let raw = match next {
            Message::Text(t) => t,
            Message::Close(_) => return,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Binary(_) => {
                let _ = direct
                    .send(error_frame(
                        None,
                        "binary_not_supported",
                        "Chỉ nhận tin nhắn dạng văn bản JSON",
                        "only JSON text frames are accepted",
                    ))
                    .await;
                continue;
            }
        };
        let msg = match parse(raw.as_str()) {
            Ok(m) => m,
            Err((code, en)) => {
                let _ = direct
                    .send(error_frame(None, code, "Tin nhắn không hợp lệ", &en))
                    .await;
                continue;
            }
        };
        match msg {
            ClientMessage::Hello { .. } => {
                let _ = direct
                    .send(error_frame(
                        None,
                        "already_joined",
                        "Kết nối đã tham gia rồi",
                        "already joined",
                    ))
                    .await;
            }
            ClientMessage::Ping { t } => {
                let pong = ServerMessage::Pong {
                    seq: rt.seq(),
                    t: t.unwrap_or_else(crate::now_ms),
                };
                let _ = direct.send(text(pong.to_json())).await;
            }
            ClientMessage::Pong { .. } => {}
            ClientMessage::Cmd { req, cmd } => {
                if req.len() > 128 {
                    let _ = direct
                        .send(error_frame(
                            None,
                            "invalid_message",
                            "Mã yêu cầu quá dài",
                            "req is too long",
                        ))
                        .await;
                    continue;
                }
                if actor.role == Role::Participant {
                    if !matches!(cmd, Command::Submit { .. }) {
                        let _ = direct
                            .send(error_frame(
                                Some(&req),
                                "forbidden",
                                "Vai trò này không được phép",
                                "participants may only submit",
                            ))
                            .await;
                        continue;
                    }
                    if !app.limits.allow(device.as_deref(), peer) {
                        metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
                        let _ = direct
                            .send(error_frame(
                                Some(&req),
                                "rate_limited",
                                "Bạn gửi quá nhanh; vui lòng đợi một chút",
                                "too many submissions; please wait a moment",
                            ))
                            .await;
                        continue;
                    }
                }
                let cmd = with_participant_hall(cmd, actor);
                // Commands run concurrently so one slow commit does not stall this
                // connection's reader; replies carry `req`.
                let rt = rt.clone();
                let actor = actor.clone();
                let direct = direct.clone();
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let reply = match rt.execute(actor.clone(), cmd).await {
                        Ok(ack) => ServerMessage::Ack {
                            req: &req,
                            seq: ack.seq,
                            id: ack.id,
                            receipt: ack.receipt,
                            duplicate: ack.duplicate,
                        }
                        .to_json(),
                        Err(e) => {
                            metrics.rejected_commands.fetch_add(1, Ordering::Relaxed);
                            command_error(&req, e, &actor)
                        }
                    };
                    let _ = direct.send(text(reply)).await;
                });
            }
        }
    }
}

/// A participant who joined through a hall's QR code submits to that hall.
fn with_participant_hall(cmd: Command, actor: &Actor) -> Command {
    match cmd {
        Command::Submit {
            id,
            text,
            hall: None,
            group,
            questioner,
            consent,
            source_note,
            imported,
        } if actor.role == Role::Participant => Command::Submit {
            id,
            text,
            hall: actor.hall.clone(),
            group,
            questioner,
            consent,
            source_note,
            imported,
        },
        other => other,
    }
}

fn command_error(req: &str, e: CommandError, actor: &Actor) -> String {
    let (code, vi) = command_error_code(&e);
    // The fresh version, as this role may see it (a speaker gets no personal data).
    let current = match &e {
        CommandError::Domain(crate::domain::DomainError::Conflict(q)) => {
            actor.audience().project(q)
        }
        _ => None,
    };
    ServerMessage::Error {
        req: Some(req),
        code,
        message: vi,
        message_en: e.to_string(),
        current,
    }
    .to_json()
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut sub: Subscription,
    mut direct: mpsc::Receiver<Message>,
    rt: Arc<EventRuntime>,
) {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let eviction = sub.eviction.clone();
    loop {
        tokio::select! {
            biased;
            reason = eviction.wait() => {
                // Replies already waiting go out before goodbye.
                while let Ok(m) = direct.try_recv() {
                    if sink.send(m).await.is_err() { return; }
                }
                let (vi, en, retry) = match reason {
                    EvictReason::SlowConsumer => ("Kết nối quá chậm; đang kết nối lại", "connection too slow; reconnect and resume", 500),
                    EvictReason::Shutdown => ("Máy chủ đang khởi động lại; kết nối lại sau giây lát", "server restarting; reconnect shortly", 1000),
                };
                let bye = ServerMessage::Bye { code: reason.code(), message: vi, message_en: en, retry_ms: retry };
                // A stuck client may never read this; do not wait for it forever.
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    let _ = sink.send(text(bye.to_json())).await;
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1013, reason: Utf8Bytes::from(reason.code().to_string()) }))).await;
                }).await;
                return;
            }
            frame = sub.frames.recv() => {
                let Some(frame) = frame else { return };
                let len = frame.len();
                let frame = sub.resolve(frame);
                let sent = send_frame(&mut sink, frame, &eviction).await;
                sub.queued.fetch_sub(len, Ordering::Relaxed);
                if !sent { return; }
            }
            m = direct.recv() => {
                let Some(m) = m else { return };
                if sink.send(m).await.is_err() { return; }
            }
            _ = ping.tick() => {
                sub.touch();
                let msg = ServerMessage::Ping { seq: rt.seq(), t: crate::now_ms() };
                if sink.send(text(msg.to_json())).await.is_err() { return; }
                // A protocol-level ping too: browsers answer it by themselves, which
                // keeps an otherwise silent page (a projector) from being taken for dead.
                if sink.send(Message::Ping(Bytes::from_static(b"hb"))).await.is_err() { return; }
            }
        }
    }
}

/// Send one hub frame; give up if the client is evicted meanwhile (a stuck
/// socket must not hold this task forever).
async fn send_frame(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    frame: Bytes,
    eviction: &crate::hub::Eviction,
) -> bool {
    let Ok(text) = Utf8Bytes::try_from(frame) else {
        return true;
    };
    tokio::select! {
        r = sink.send(Message::Text(text)) => r.is_ok(),
        _ = eviction.wait() => false,
    }
}
