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
use crate::hub::{EvictReason, Frame, Next, Outbox, Replies, ResumeError, Subscription};
use crate::protocol::{ClientMessage, EventInfo, ServerMessage, You, PROTOCOL_VERSION};

/// Largest frame a client may send: a 2,000-character question is ~8 KB of UTF-8.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Initial read buffer per connection, and the most read at once. Clients
/// send little (a phone's hello is ≈ 170 bytes, a submission a few hundred)
/// and a longer frame grows the buffer, so 256 bytes hold an idle phone's
/// reads; 1 KiB was 0.75 KiB more per connection (BENCHMARKS.md §12). (Not
/// tungstenite's 128 KiB default: that would be over a gigabyte at 10,000 phones.)
pub const READ_BUFFER_BYTES: usize = 256;
/// Longest wait for a catch-up before a resume that is ahead gets a snapshot.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(5);

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ticket: Option<axum::Extension<super::server::ConnTicket>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let peer = super::client_ip(peer.ip(), &headers, &app.config.trusted_proxies);
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let ticket = ticket.map(|t| t.0);
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(app.config.queue_bytes.max(MAX_FRAME_BYTES) * 2)
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .on_upgrade(move |socket| {
            // The socket goes straight into the boxed join, which splits it:
            // the connection's own future, kept for the connection's life,
            // never holds the ≈ 400-byte socket (an async fn keeps its
            // arguments' space to the end, moved out or not).
            let joining = Box::pin(join(socket, app.clone(), origin));
            connection(joining, app, peer, ticket)
        })
}

/// Browsers send `Origin` with every WebSocket handshake; a staff seat's
/// connection from a page on another site (a hijacked session) is refused
/// when `--allowed-origins` is set. Non-browser clients send none and are
/// not affected (they could claim any origin anyway); participants'
/// phones may connect from anywhere.
fn origin_allowed(app: &AppState, origin: Option<&str>) -> bool {
    let allowed = &app.config.net.allowed_origins;
    match origin {
        None => true,
        Some(_) if allowed.is_empty() => true,
        Some(o) => allowed.iter().any(|a| {
            a.trim_end_matches('/')
                .eq_ignore_ascii_case(o.trim_end_matches('/'))
        }),
    }
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
    /// Staff only: the hash of the token it joined with (closed when revoked).
    token_hash: Option<String>,
}

async fn handshake(
    socket: &mut WebSocket,
    app: &AppState,
    origin: Option<&str>,
) -> Result<Joined, (&'static str, String, String)> {
    let hello_timeout = Duration::from_millis(app.config.net.hello_timeout_ms.max(1));
    let first = tokio::time::timeout(hello_timeout, socket.recv()).await;
    let raw = match first {
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => {
            return Err((
                "hello_expected",
                "Cần gửi hello trước".into(),
                "send hello first".into(),
            ))
        }
        // Too large (over MAX_FRAME_BYTES) or not WebSocket at all.
        Ok(Some(Err(e))) => {
            return Err((
                "frame_rejected",
                "Khung dữ liệu bị từ chối (quá lớn hoặc sai giao thức)".into(),
                format!("frame rejected: {e}"),
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
    let msg =
        parse(raw.as_str()).map_err(|r| (r.code, "Tin nhắn không hợp lệ".to_string(), r.en))?;
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
    // A device id is at most 64 characters (the rate limiter's key). A phone
    // that sends none still is one device: this connection.
    let device = device
        .map(|d| d.chars().take(64).collect::<String>())
        .filter(|d| !d.trim().is_empty());
    if let Some(token) = token {
        let (rt, actor) = app.engine.authenticate(&token).await.map_err(|e| {
            let (code, vi) = auth_error_code(&e);
            (code, vi.to_string(), e.to_string())
        })?;
        if !origin_allowed(app, origin) {
            return Err((
                "origin_not_allowed",
                "Trang này không được phép kết nối với vai trò này".into(),
                format!(
                    "staff connections from origin {} are not allowed",
                    origin.unwrap_or_default()
                ),
            ));
        }
        return Ok(Joined {
            rt,
            actor,
            device,
            last_seq,
            token_hash: Some(crate::auth::hash_token(&token)),
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
    let device = device.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    Ok(Joined {
        rt,
        actor,
        device: Some(device),
        last_seq,
        token_hash: None,
    })
}

/// Longest `req` a client may send (it is echoed in the reply).
const MAX_REQ_BYTES: usize = 128;

/// Why a frame could not be read, and the `req` to echo when it was a `cmd`
/// that carried one (docs/PROTOCOL.md §4: every error caused by a `cmd`
/// frame echoes its `req`).
pub struct Unreadable {
    code: &'static str,
    en: String,
    req: Option<String>,
}

/// Parse a client frame in two steps, the envelope and then what it
/// carries, so a malformed command is still answered under its `req`.
/// Public for the fuzz target `client_frame` (fuzz/).
pub fn parse(raw: &str) -> Result<ClientMessage, Unreadable> {
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| Unreadable {
        code: "malformed_json",
        en: format!("malformed JSON: {e}"),
        req: None,
    })?;
    let kind = value
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or_default();
    if !matches!(kind, "hello" | "cmd" | "ping" | "pong") {
        return Err(Unreadable {
            code: "unknown_type",
            en: format!("unknown message type «{kind}»"),
            req: None,
        });
    }
    let req = match (kind, value.get("req")) {
        ("cmd", Some(serde_json::Value::String(r))) if r.len() <= MAX_REQ_BYTES => Some(r.clone()),
        ("cmd", Some(serde_json::Value::String(_))) => {
            return Err(Unreadable {
                code: "invalid_message",
                en: format!("req is longer than {MAX_REQ_BYTES} bytes"),
                req: None,
            })
        }
        _ => None,
    };
    serde_json::from_value(value).map_err(|e| Unreadable {
        code: "invalid_message",
        en: e.to_string(),
        req,
    })
}

/// A client that has joined: its socket's halves and its subscription.
struct Session {
    rt: Arc<EventRuntime>,
    actor: Actor,
    device: Option<String>,
    subscription: Subscription,
    token_hash: Option<String>,
    sink: WsSink,
    stream: WsStream,
}

async fn connection(
    joining: std::pin::Pin<Box<impl std::future::Future<Output = Option<Session>>>>,
    app: AppState,
    peer: IpAddr,
    ticket: Option<super::server::ConnTicket>,
) {
    // Joining is boxed: its state (hello, welcome, catch-up) is freed once
    // joined instead of sitting in every connection's task for its lifetime.
    let joined = joining.await;
    // The hello is in (or refused): no longer a pending connection. The
    // ticket itself lives as long as the connection (server.rs).
    if let Some(t) = &ticket {
        t.finished();
    }
    let Some(Session {
        rt,
        actor,
        device,
        subscription,
        token_hash,
        sink,
        stream,
    }) = joined
    else {
        return;
    };
    // Closed by the watch task once its token is revoked; forgotten when dropped.
    let _tracked = token_hash.map(|hash| {
        rt.track_token(
            subscription.id,
            hash,
            actor.label.clone(),
            subscription.outbox.clone(),
        )
    });
    let metrics = app.engine.metrics().clone();
    metrics.connected(actor.role);
    tracing::debug!(%peer, role = actor.role.as_str(), label = %actor.label, event = rt.id(), "joined");

    let replies = subscription.replies();
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
        end = read_loop(stream, &app, &rt, &actor, device, peer, replies) => {
            match end {
                // The writer sends the error, then a Close frame (within 2 s).
                ReadEnd::Rejected => {}
                // The client left: stop the writer too.
                ReadEnd::Gone => writer.abort(),
            }
            let _ = writer.await;
        }
        // Evicted (slow, or shutdown) or the socket failed: dropping the reader closes the connection.
        _ = &mut writer => {}
    }
    metrics.disconnected(actor.role);
    drop(ticket);
}

/// Handshake, welcome and subscription; `None` once the client was refused.
async fn join(mut socket: WebSocket, app: AppState, origin: Option<String>) -> Option<Session> {
    let Joined {
        rt,
        actor,
        device,
        last_seq,
        token_hash,
    } = match handshake(&mut socket, &app, origin.as_deref()).await {
        Ok(j) => j,
        Err((code, vi, en)) => {
            reject(&mut socket, code, &vi, &en).await;
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
        closed_at: rt.closed_at(),
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
            reject(&mut socket, "shutting_down", vi, en).await;
            return None;
        }
    };
    if crate::engine::sees_suggestions(&actor.audience()) {
        // After the snapshot, in the same queue; later ones follow changes.
        let frame = ServerMessage::Suggestions {
            suggestions: &rt.suggestions(),
        }
        .to_json();
        subscription.replies().send(frame);
    }
    let (sink, stream) = socket.split();
    Some(Session {
        rt,
        actor,
        device,
        subscription,
        token_hash,
        sink,
        stream,
    })
}

/// How a connection's reader stopped.
enum ReadEnd {
    /// The client left, or was silent too long.
    Gone,
    /// The client broke the protocol: the writer sends the error and a Close frame.
    Rejected,
}

async fn read_loop(
    mut stream: WsStream,
    app: &AppState,
    rt: &Arc<EventRuntime>,
    actor: &Actor,
    device: Option<String>,
    peer: IpAddr,
    replies: Replies,
) -> ReadEnd {
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
                replies.close_after_queued();
                return ReadEnd::Rejected;
            }
            Ok(None) => return ReadEnd::Gone,
            Err(_) => return ReadEnd::Gone, // silent for too long
        };
        metrics.messages_in.fetch_add(1, Ordering::Relaxed);
        let raw = match next {
            Message::Text(t) => t,
            Message::Close(_) => return ReadEnd::Gone,
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
            Err(r) => {
                replies.send(error_json(
                    r.req.as_deref(),
                    r.code,
                    "Tin nhắn không hợp lệ",
                    &r.en,
                ));
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
                if replies.closing() == Some(EvictReason::TokenRevoked) {
                    // Closing: nothing more is done with a revoked token.
                    return ReadEnd::Rejected;
                }
                if actor.role == Role::Participant {
                    let limits = match cmd {
                        Command::Submit { .. } => &app.limits,
                        Command::Vote { .. } => &app.vote_limits,
                        _ => {
                            replies.send(error_json(
                                Some(&req),
                                "forbidden",
                                "Vai trò này không được phép",
                                "participants may only submit and vote",
                            ));
                            continue;
                        }
                    };
                    if !limits.allow(device.as_deref(), peer) {
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
                let cmd =
                    with_participant_context(cmd, actor, device.as_deref().unwrap_or_default());
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

/// A participant's submission comes from the connection's device (set at
/// hello, never changed by a command) and, when they joined through a hall's
/// QR code and name none, from that hall; a participant's vote is that device's.
fn with_participant_context(cmd: Command, actor: &Actor, device: &str) -> Command {
    match cmd {
        Command::Vote { question, .. } if actor.role == Role::Participant => Command::Vote {
            question,
            device: device.to_string(),
        },
        Command::Submit {
            id,
            text,
            hall,
            group,
            questioner,
            consent,
            source_note,
            imported,
            device: _,
        } if actor.role == Role::Participant => Command::Submit {
            id,
            text,
            hall: hall.or_else(|| actor.hall.clone()),
            group,
            questioner,
            consent,
            source_note,
            imported,
            device: Some(device.to_string()),
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
    Outbox(Next),
    Heartbeat,
}

async fn write_loop(mut sink: WsSink, sub: Subscription, rt: Arc<EventRuntime>, every: Duration) {
    let mut ping = tokio::time::interval(every);
    ping.tick().await;
    let outbox = sub.outbox.clone();
    loop {
        // Only this wait is held while a connection is idle, so it stays small;
        // the rare paths below are boxed (memory per connection, BENCHMARKS.md).
        // The outbox gives an eviction before any frame still queued.
        let wake = tokio::select! {
            biased;
            next = outbox.next() => Wake::Outbox(next),
            _ = ping.tick() => Wake::Heartbeat,
        };
        match wake {
            Wake::Outbox(Next::Frame(frame)) => {
                let len = frame.len();
                let frame = sub.resolve(frame);
                let sent = send_frame(&mut sink, frame, &outbox).await;
                outbox.sent(len);
                if !sent {
                    return;
                }
            }
            Wake::Heartbeat => {
                sub.touch();
                if !Box::pin(heartbeat(&mut sink, &rt)).await {
                    return;
                }
            }
            Wake::Outbox(Next::Evicted(reason)) => {
                return Box::pin(goodbye(sink, sub, reason)).await
            }
        }
    }
}

type WsSink = futures_util::stream::SplitSink<WebSocket, Message>;
type WsStream = futures_util::stream::SplitStream<WebSocket>;

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
/// within 2 s, since a stuck client may never read them. A client that broke
/// the protocol gets no `bye` (it must not simply reconnect and resend): its
/// last queued frame is the error saying why, then a Close frame.
async fn goodbye(mut sink: WsSink, sub: Subscription, reason: EvictReason) {
    let bye = |message, message_en, retry_ms| ServerMessage::Bye {
        code: reason.code(),
        message,
        message_en,
        retry_ms,
    };
    let (bye, close_code) = match reason {
        EvictReason::SlowConsumer => (
            Some(bye(
                "Kết nối quá chậm; đang kết nối lại",
                "connection too slow; reconnect and resume",
                500,
            )),
            1013,
        ),
        EvictReason::Shutdown => (
            Some(bye(
                "Máy chủ đang khởi động lại; kết nối lại sau giây lát",
                "server restarting; reconnect shortly",
                1000,
            )),
            1013,
        ),
        // 1008: policy violation.
        EvictReason::FrameRejected => (None, 1008),
        EvictReason::TokenRevoked => (None, 1008),
    };
    if reason == EvictReason::TokenRevoked {
        // Nothing more goes to a revoked seat, not even what was queued:
        // the error saying why, then the close (docs/PROTOCOL.md §5).
        let revoked = error_json(
            None,
            reason.code(),
            REVOKED_VI,
            "this seat's token was revoked; ask the organiser for the new link",
        );
        let close = CloseFrame {
            code: close_code,
            reason: Utf8Bytes::from(reason.code().to_string()),
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = sink.send(text(revoked)).await;
            let _ = sink.send(Message::Close(Some(close))).await;
        })
        .await;
        return;
    }
    let close = CloseFrame {
        code: close_code,
        reason: Utf8Bytes::from(reason.code().to_string()),
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(frame) = sub.outbox.take_frame() {
            if sink.send(Message::Text(sub.resolve(frame))).await.is_err() {
                return;
            }
        }
        if let Some(bye) = bye {
            let _ = sink.send(text(bye.to_json())).await;
        }
        let _ = sink.send(Message::Close(Some(close))).await;
    })
    .await;
}

/// Said to a connection closed because its token was revoked.
const REVOKED_VI: &str =
    "Mã truy cập của vị trí này đã bị thu hồi; hãy xin đường dẫn mới từ ban tổ chức";

/// Send one hub frame; give up if the client is evicted meanwhile (a stuck
/// socket must not hold this task forever). The send is polled first: it
/// usually completes at once, and then the outbox is not looked at.
async fn send_frame(sink: &mut WsSink, frame: Frame, outbox: &Outbox) -> bool {
    tokio::select! {
        biased;
        r = sink.send(Message::Text(frame)) => r.is_ok(),
        _ = outbox.evicted() => false,
    }
}
