//! One WebSocket connection: handshake (`hello` → `welcome`), then a reader
//! that turns frames into commands and a writer that drains the hub
//! subscription (changes and this connection's replies, in one queue), with
//! heartbeats. Participants' writers run on the phone runtime (`phones`).
//! All protocol errors are answered with an `error` frame; nothing a client
//! sends can panic the server.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};

use super::error::{auth_error_code, command_error_code};
use super::AppState;
use crate::domain::{Actor, Command, Role};
use crate::engine::{CommandError, EventRuntime};
use crate::hub::{EvictReason, Replies, ResumeError, Subscription};
use crate::protocol::{ClientMessage, EventInfo, ServerMessage, You, PROTOCOL_VERSION};

/// Largest frame a client may send: a 2,000-character question is ~8 KB of UTF-8.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Initial read buffer per connection. Clients send little (a hello, a
/// command of a few hundred bytes); a longer frame grows the buffer. (Not
/// tungstenite's 128 KiB default: that would be over a gigabyte at 10,000 phones.)
pub const READ_BUFFER_BYTES: usize = 1024;
const HELLO_TIMEOUT: Duration = Duration::from_secs(15);
/// Longest wait for a catch-up before a resume that is ahead gets a snapshot.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(5);

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
) -> Response {
    let peer = super::client_ip(peer.ip(), &headers, &app.config.trusted_proxies);
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(app.config.queue_bytes.max(MAX_FRAME_BYTES) * 2)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| connection(socket, app, peer))
}

fn error_json(req: Option<&str>, code: &str, message: &str, message_en: &str) -> String {
    ServerMessage::Error {
        req,
        code,
        message: message.to_string(),
        message_en: message_en.to_string(),
        current: None,
    }
    .to_json()
}

fn text(s: String) -> Message {
    Message::Text(Utf8Bytes::from(s))
}

async fn reject(socket: &mut WebSocket, code: &str, message: &str, message_en: &str) {
    let _ = socket
        .send(text(error_json(None, code, message, message_en)))
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
    // The same lookup and refusals as the HTTP routes (unknown_event, store_unavailable).
    let rt = app
        .event(&event)
        .await
        .map_err(|e| (e.code, e.message, e.message_en))?;
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
/// Public for the fuzz target `client_frame` (fuzz/).
pub fn parse(raw: &str) -> Result<ClientMessage, (&'static str, String)> {
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
    // Joining is boxed: its state (hello, welcome, catch-up) is freed once
    // joined instead of sitting in every connection's task for its lifetime.
    let Some((rt, actor, device, subscription)) = Box::pin(join(&mut socket, &app)).await else {
        return;
    };
    let metrics = app.engine.metrics().clone();
    metrics.connected(actor.role);
    tracing::debug!(%peer, role = actor.role.as_str(), label = %actor.label, event = rt.id(), "joined");

    let replies = subscription.replies();
    let (sink, stream) = socket.split();
    let heartbeat = Duration::from_millis(app.config.heartbeat_ms.max(10));
    let write = write_loop(sink, subscription, rt.clone(), heartbeat);
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
        _ = read_loop(stream, &app, &rt, &actor, device, peer, replies) => {
            writer.abort();
            let _ = writer.await;
        }
        // Evicted (slow, or shutdown) or the socket failed: dropping the reader closes the connection.
        _ = &mut writer => {}
    }
    metrics.disconnected(actor.role);
}

/// Handshake, welcome and subscription; `None` once the client was refused.
async fn join(
    socket: &mut WebSocket,
    app: &AppState,
) -> Option<(Arc<EventRuntime>, Actor, Option<String>, Subscription)> {
    let Joined {
        rt,
        actor,
        device,
        last_seq,
    } = match handshake(socket, app).await {
        Ok(j) => j,
        Err((code, vi, en)) => {
            reject(socket, code, &vi, &en).await;
            return None;
        }
    };
    if last_seq.is_some_and(|s| s > rt.seq()) {
        // The client saw changes this node has not read yet (it was on another
        // node): read the log before deciding the resume is impossible.
        let _ = tokio::time::timeout(CATCH_UP_LIMIT, rt.catch_up_now()).await;
    }
    let welcome = ServerMessage::Welcome {
        protocol: PROTOCOL_VERSION,
        event: EventInfo::for_role(&rt.config, actor.role, actor.hall.as_deref()),
        you: You {
            role: actor.role,
            label: actor.label.clone(),
            hall: actor.hall.clone(),
            department: actor.department.clone(),
        },
        seq: rt.seq(),
        server_time: crate::now_ms(),
    }
    .to_json();
    socket.send(text(welcome)).await.ok()?;
    let subscription = match rt.subscribe(&actor, last_seq) {
        Ok(s) => s,
        Err(ResumeError::Ahead { current }) => {
            let en = format!(
                "last_seq {} is ahead of the event ({current}); sending a fresh snapshot",
                last_seq.unwrap_or(0)
            );
            let vi = "Số thứ tự không hợp lệ; gửi lại toàn bộ trạng thái";
            let _ = socket
                .send(text(error_json(None, "seq_ahead", vi, &en)))
                .await;
            rt.subscribe(&actor, None).ok()?
        }
        Err(ResumeError::Closed) => {
            let (vi, en) = ("Máy chủ đang khởi động lại", "the server is shutting down");
            reject(socket, "shutting_down", vi, en).await;
            return None;
        }
    };
    Some((rt, actor, device, subscription))
}

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    app: &AppState,
    rt: &Arc<EventRuntime>,
    actor: &Actor,
    device: Option<String>,
    peer: IpAddr,
    replies: Replies,
) {
    let metrics = app.engine.metrics();
    // Silent this long (no frame, not even a pong) = dead.
    let idle_limit = Duration::from_millis(app.config.idle_timeout_ms);
    loop {
        let next = match tokio::time::timeout(idle_limit, stream.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => {
                // Oversized frames and protocol violations end here; say why if we still can.
                replies.send(error_json(
                    None,
                    "frame_rejected",
                    "Khung dữ liệu bị từ chối (quá lớn hoặc sai giao thức)",
                    &format!("frame rejected: {e}"),
                ));
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
                replies.send(error_json(
                    None,
                    "binary_not_supported",
                    "Chỉ nhận tin nhắn dạng văn bản JSON",
                    "only JSON text frames are accepted",
                ));
                continue;
            }
        };
        let msg = match parse(raw.as_str()) {
            Ok(m) => m,
            Err((code, en)) => {
                replies.send(error_json(None, code, "Tin nhắn không hợp lệ", &en));
                continue;
            }
        };
        match msg {
            ClientMessage::Hello { .. } => {
                replies.send(error_json(
                    None,
                    "already_joined",
                    "Kết nối đã tham gia rồi",
                    "already joined",
                ));
            }
            ClientMessage::Ping { t } => {
                let pong = ServerMessage::Pong {
                    seq: rt.seq(),
                    t: t.unwrap_or_else(crate::now_ms),
                };
                replies.send(pong.to_json());
            }
            ClientMessage::Pong { .. } => {}
            ClientMessage::Cmd { req, cmd } => {
                if req.len() > 128 {
                    replies.send(error_json(
                        None,
                        "invalid_message",
                        "Mã yêu cầu quá dài",
                        "req is too long",
                    ));
                    continue;
                }
                if actor.role == Role::Participant {
                    if !matches!(cmd, Command::Submit { .. }) {
                        replies.send(error_json(
                            Some(&req),
                            "forbidden",
                            "Vai trò này không được phép",
                            "participants may only submit",
                        ));
                        continue;
                    }
                    if !app.limits.allow(device.as_deref(), peer) {
                        metrics.rate_limited.fetch_add(1, Ordering::Relaxed);
                        replies.send(error_json(
                            Some(&req),
                            "rate_limited",
                            "Bạn gửi quá nhanh; vui lòng đợi một chút",
                            "too many submissions; please wait a moment",
                        ));
                        continue;
                    }
                }
                let cmd = with_participant_hall(cmd, actor);
                // Commands run concurrently so one slow commit does not stall this
                // connection's reader; replies carry `req`.
                let rt = rt.clone();
                let actor = actor.clone();
                let replies = replies.clone();
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
                    replies.send(reply);
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

/// What woke the writer.
enum Wake {
    Evicted(EvictReason),
    Frame(Option<Bytes>),
    Heartbeat,
}

async fn write_loop(
    mut sink: WsSink,
    mut sub: Subscription,
    rt: Arc<EventRuntime>,
    every: Duration,
) {
    let mut ping = tokio::time::interval(every);
    ping.tick().await;
    let eviction = sub.eviction.clone();
    loop {
        // Only this wait is held while a connection is idle, so it stays small;
        // the rare paths below are boxed (memory per connection, BENCHMARKS.md).
        let wake = tokio::select! {
            biased;
            reason = eviction.wait() => Wake::Evicted(reason),
            frame = sub.frames.recv() => Wake::Frame(frame),
            _ = ping.tick() => Wake::Heartbeat,
        };
        match wake {
            Wake::Frame(Some(frame)) => {
                let len = frame.len();
                let frame = sub.resolve(frame);
                let sent = send_frame(&mut sink, frame, &eviction).await;
                sub.queued.fetch_sub(len, Ordering::Relaxed);
                if !sent {
                    return;
                }
            }
            Wake::Frame(None) => return,
            Wake::Heartbeat => {
                sub.touch();
                if !Box::pin(heartbeat(&mut sink, &rt)).await {
                    return;
                }
            }
            Wake::Evicted(reason) => return Box::pin(goodbye(sink, sub, reason)).await,
        }
    }
}

type WsSink = futures_util::stream::SplitSink<WebSocket, Message>;

async fn heartbeat(sink: &mut WsSink, rt: &EventRuntime) -> bool {
    let msg = ServerMessage::Ping {
        seq: rt.seq(),
        t: crate::now_ms(),
    };
    // A protocol-level ping too: browsers answer it by themselves, which
    // keeps an otherwise silent page (a projector) from being taken for dead.
    sink.send(text(msg.to_json())).await.is_ok()
        && sink
            .send(Message::Ping(Bytes::from_static(b"hb")))
            .await
            .is_ok()
}

/// Frames and replies already queued go out, then `bye` and a close; all
/// within 2 s, since a stuck client may never read them.
async fn goodbye(mut sink: WsSink, mut sub: Subscription, reason: EvictReason) {
    let (vi, en, retry) = match reason {
        EvictReason::SlowConsumer => (
            "Kết nối quá chậm; đang kết nối lại",
            "connection too slow; reconnect and resume",
            500,
        ),
        EvictReason::Shutdown => (
            "Máy chủ đang khởi động lại; kết nối lại sau giây lát",
            "server restarting; reconnect shortly",
            1000,
        ),
    };
    let bye = ServerMessage::Bye {
        code: reason.code(),
        message: vi,
        message_en: en,
        retry_ms: retry,
    };
    let close = CloseFrame {
        code: 1013,
        reason: Utf8Bytes::from(reason.code().to_string()),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(frame) = sub.frames.try_recv() {
            let Ok(frame) = Utf8Bytes::try_from(sub.resolve(frame)) else {
                continue;
            };
            if sink.send(Message::Text(frame)).await.is_err() {
                return;
            }
        }
        let _ = sink.send(text(bye.to_json())).await;
        let _ = sink.send(Message::Close(Some(close))).await;
    })
    .await;
}

/// Send one hub frame; give up if the client is evicted meanwhile (a stuck
/// socket must not hold this task forever).
async fn send_frame(sink: &mut WsSink, frame: Bytes, eviction: &crate::hub::Eviction) -> bool {
    let Ok(text) = Utf8Bytes::try_from(frame) else {
        return true;
    };
    tokio::select! {
        r = sink.send(Message::Text(text)) => r.is_ok(),
        _ = eviction.wait() => false,
    }
}
