//! Plain HTTP endpoints: health, metrics, public event info, the participant
//! submission fallback (for phones where WebSocket fails) and receipts.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::ApiError;
use super::AppState;
use crate::domain::{Actor, Command, QState, Question, Questioner, Role};

/// `GET /healthz`: `200 {"status":"ok"}`, or `503` with the reason's code
/// and messages (and since when, for a store fault), so that a proxy takes
/// this node out and an operator sees why. Answers from memory (and a stat
/// or two for SQLite's files): the store's round trip is made by the
/// engine's watch task every second, so a busy pool or writer never makes
/// this slower than the proxy's check timeout.
pub async fn healthz(State(app): State<AppState>) -> Response {
    let unhealthy = |code: &str, vi: &str, en: &str, since: Option<i64>| {
        let mut body = serde_json::json!({
            "status": "unavailable", "code": code, "message": vi, "message_en": en,
        });
        if let Some(since) = since {
            body["since"] = since.into();
        }
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    };
    if app.listener.as_ref().is_some_and(|l| !l.is_up()) {
        // This node would not hear other nodes' changes: send clients elsewhere.
        return unhealthy(
            "change_listener_down",
            "Máy chủ này không nghe được thay đổi từ các máy chủ khác",
            "change listener down",
            None,
        );
    }
    let engine = &app.engine;
    // A stat or two: a deleted database is reported at once, not at the next tick.
    if let Err(e) = engine.store().check_files() {
        engine.health().failed(&e);
    }
    if let Some(fault) = engine.health().fault() {
        let kind = fault.kind;
        return unhealthy(
            kind.code(),
            kind.message_vi(),
            kind.message_en(),
            Some(fault.since),
        );
    }
    match engine.health().store_unanswered_since() {
        None => Json(serde_json::json!({"status": "ok"})).into_response(),
        Some(since) => unhealthy(
            "store_unavailable",
            "Không kết nối được cơ sở dữ liệu",
            "store unavailable",
            Some(since),
        ),
    }
}

pub async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.engine.metrics().render(),
    )
        .into_response()
}

#[derive(Serialize)]
struct EventSummary {
    id: String,
    name: String,
    theme: String,
    date: String,
}

pub async fn list_events(State(app): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let events: Vec<EventSummary> = app
        .engine
        .all_events()
        .await?
        .iter()
        .map(|rt| EventSummary {
            id: rt.config.id.clone(),
            name: rt.config.name.clone(),
            theme: rt.config.theme.clone(),
            date: rt.config.date.clone(),
        })
        .collect();
    Ok(Json(serde_json::json!({ "events": events })))
}

pub async fn event_info(
    State(app): State<AppState>,
    Path(event): Path<String>,
) -> Result<Response, ApiError> {
    let rt = app.event(&event).await?;
    let mut info =
        serde_json::to_value(&*rt.config).map_err(|e| ApiError::internal("event definition", e))?;
    if let Some(at) = rt.closed_at() {
        // Pages show "the event has ended" instead of the question form.
        info["closed_at"] = at.into();
    }
    Ok(Json(info).into_response())
}

/// `/p/{event}/{hall}`: the short link inside a hall's QR code. It answers
/// with the participant page itself, which reads the event and hall from
/// this address: no redirect, so one round trip less on a phone's 3G.
pub async fn participant_link(
    State(app): State<AppState>,
    Path((event, hall)): Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    // A mistyped or stale QR link says so now, not when the question is sent.
    let rt = app.event(&event).await?;
    if !rt.config.has_hall(&hall) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_hall",
            format!("Không có điểm cầu «{hall}»"),
            format!("unknown hall {hall}"),
        ));
    }
    Ok(super::web::serve("phone.html", &headers))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBody {
    pub id: Uuid,
    pub text: String,
    #[serde(default)]
    pub hall: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub questioner: Option<Questioner>,
    #[serde(default)]
    pub consent: bool,
    #[serde(default)]
    pub device: Option<String>,
}

/// What every participant request over plain HTTP does first: parse the
/// body, find the event, and pass the HTTP per-address share of `limits`
/// (then the device and address bounds it shares with WebSocket).
async fn participant_request<B>(
    app: &AppState,
    limits: &super::ParticipantLimits,
    event: &str,
    address: std::net::IpAddr,
    body: Result<Json<B>, axum::extract::rejection::JsonRejection>,
    device: impl FnOnce(&B) -> Option<&str>,
) -> Result<(std::sync::Arc<crate::engine::EventRuntime>, B), ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(
            "invalid_message",
            "Dữ liệu gửi lên không hợp lệ",
            e.body_text(),
        )
    })?;
    let rt = app.event(event).await?;
    if !limits.allow_http(device(&body), address) {
        app.engine
            .metrics()
            .rate_limited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(ApiError::rate_limited());
    }
    Ok((rt, body))
}

/// Participant submission over plain HTTP; same rules and idempotency as the WebSocket `submit`.
pub async fn submit_question(
    State(app): State<AppState>,
    Path(event): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    body: Result<Json<SubmitBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let address = super::client_ip(peer.ip(), &headers, &app.config.trusted_proxies);
    let (rt, body) = participant_request(&app, &app.limits, &event, address, body, |b| {
        b.device.as_deref()
    })
    .await?;
    let cmd = Command::Submit {
        id: body.id,
        text: body.text,
        hall: body.hall,
        group: body.group,
        questioner: body.questioner,
        consent: body.consent,
        source_note: None,
        imported: false,
        device: body.device,
    };
    let ack = rt
        .execute(Actor::new(Role::Participant, "participant"), cmd)
        .await?;
    let status = if ack.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(serde_json::json!({
            "id": ack.id,
            "seq": ack.seq,
            "receipt": ack.receipt,
            "duplicate": ack.duplicate,
        })),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct ReceiptQuery {
    /// The receipt from the submission's ack; absent is refused with the
    /// usual JSON error, like every other bad request.
    #[serde(default)]
    pub r: Option<String>,
}

/// What the asker may see of their own question: its state and, once
/// published, the written answer. No personal data.
#[derive(Serialize)]
pub struct ReceiptView {
    pub id: Uuid,
    pub event: String,
    pub text: String,
    pub hall: String,
    pub state: QState,
    pub state_label: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ReceiptView {
    pub fn of(event: &str, q: &Question) -> ReceiptView {
        let published = q.state == QState::Published;
        ReceiptView {
            id: q.id,
            event: event.to_string(),
            text: q.text.clone(),
            hall: q.hall.clone(),
            state: q.state,
            state_label: q.state.label_vi(),
            department: q.department.clone(),
            group: q.group.clone(),
            reject_reason: q.reject_reason.clone(),
            merged_into: q.merged_into,
            agency: q.followup.as_ref().map(|f| f.agency.clone()),
            due: q.followup.as_ref().map(|f| f.due.clone()),
            answer: q
                .followup
                .as_ref()
                .filter(|_| published)
                .and_then(|f| f.answer.clone()),
            created_at: q.created_at,
            updated_at: q.updated_at,
        }
    }
}

pub async fn receipt(
    State(app): State<AppState>,
    Path(question): Path<String>,
    query: Result<Query<ReceiptQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ReceiptView>, ApiError> {
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request("invalid_message", "Tham số không hợp lệ", e.body_text())
    })?;
    let receipt = query.r.ok_or_else(|| {
        ApiError::bad_request(
            "receipt_required",
            "Thiếu mã biên nhận (r)",
            "the receipt (query parameter r) is missing",
        )
    })?;
    let id = Uuid::parse_str(&question).map_err(|_| ApiError::not_found())?;
    for rt in app.engine.events() {
        if let Some(q) = rt.question(&id) {
            if !rt.verify_receipt(&id, &receipt) {
                return Err(ApiError::not_found());
            }
            // A merged question's asker follows the question it was merged into.
            let shown = q.merged_into.and_then(|t| rt.question(&t)).unwrap_or(q);
            let mut view = ReceiptView::of(rt.id(), &shown);
            view.id = id;
            if shown.id != id {
                view.merged_into = Some(shown.id);
            }
            return Ok(Json(view));
        }
    }
    Err(ApiError::not_found())
}

/// A staff member identified by `Authorization: Bearer <token>`.
pub struct Staff {
    pub rt: std::sync::Arc<crate::engine::EventRuntime>,
    pub actor: Actor,
}

impl axum::extract::FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &AppState,
    ) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        let (rt, actor) = app.engine.authenticate(token).await?;
        Ok(Staff { rt, actor })
    }
}

/// `POST /api/commands`: any command over plain HTTP, with the same rules,
/// ordering and acknowledgement as over WebSocket.
pub async fn command(
    Staff { rt, actor }: Staff,
    body: Result<Json<Command>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(cmd) = body.map_err(|e| {
        ApiError::bad_request("invalid_message", "Lệnh không hợp lệ", e.body_text())
    })?;
    let ack = rt.execute(actor, cmd).await?;
    Ok(Json(serde_json::json!({
        "seq": ack.seq,
        "id": ack.id,
        "receipt": ack.receipt,
        "duplicate": ack.duplicate,
    }))
    .into_response())
}

/// `GET /api/questions`: every question this token's role may see, projected for it.
pub async fn questions(Staff { rt, actor }: Staff) -> Json<serde_json::Value> {
    let audience = actor.audience();
    let questions: Vec<Question> = rt
        .questions()
        .iter()
        .filter_map(|q| rt.project(&audience, q))
        .collect();
    Json(serde_json::json!({ "event": rt.id(), "seq": rt.seq(), "questions": questions }))
}

#[derive(Deserialize)]
pub struct VoteBody {
    pub question: Uuid,
    pub device: String,
}

/// `POST /api/events/{event}/votes`: a phone's "Tôi cũng muốn hỏi" over
/// plain HTTP; the same rules and idempotency as the WebSocket `vote`.
pub async fn vote(
    State(app): State<AppState>,
    Path(event): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    body: Result<Json<VoteBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let address = super::client_ip(peer.ip(), &headers, &app.config.trusted_proxies);
    // The HTTP share of the vote buckets, as for submissions: over HTTP every
    // request may claim a new device id.
    let (rt, body) = participant_request(&app, &app.vote_limits, &event, address, body, |b| {
        Some(b.device.as_str())
    })
    .await?;
    let cmd = Command::Vote {
        question: body.question,
        device: body.device,
    };
    let ack = rt
        .execute(Actor::new(Role::Participant, "participant"), cmd)
        .await?;
    let answer = match ack.seq {
        Some(seq) => serde_json::json!({ "seq": seq }),
        None => serde_json::json!({ "duplicate": true }),
    };
    Ok(Json(answer).into_response())
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    pub page: usize,
}

/// `GET /api/events/{event}/questions?page=N`: the questions phones may vote
/// for (approved, queued, on air), public projection, 50 a page, fetched on
/// demand instead of pushed to every phone. `ETag` is the event's sequence
/// number and the page; `If-None-Match` with it answers `304`.
pub async fn public_questions(
    State(app): State<AppState>,
    Path(event): Path<String>,
    Query(query): Query<PageQuery>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let rt = app.event(&event).await?;
    let (seq, pages, body) = rt.public_page(query.page);
    let etag = format!("\"{seq}-{}\"", query.page);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let cache = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, "no-cache".to_string()),
    ];
    if fresh {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let body = body.unwrap_or_else(|| {
        // Past the last page: an empty page that still says how many there are.
        bytes::Bytes::from(
            serde_json::json!({"seq": seq, "page": query.page, "pages": pages, "questions": []})
                .to_string(),
        )
    });
    Ok((
        cache,
        [(header::CONTENT_TYPE, "application/json".to_string())],
        body,
    )
        .into_response())
}

/// `GET /api/suggestions`: the running-order suggestions (WIRE.md C) for
/// moderators, follow-up, admin and the chair.
pub async fn suggestions(Staff { rt, actor }: Staff) -> Result<Response, ApiError> {
    if !crate::engine::sees_suggestions(&actor.audience()) {
        return Err(ApiError::forbidden());
    }
    Ok(Json(rt.suggestions().as_ref().clone()).into_response())
}

/// Largest CSP report accepted; a real one is well under 2 KB.
pub const CSP_REPORT_LIMIT: usize = 16 * 1024;

/// `POST /api/csp-report`: a browser reporting a Content-Security-Policy
/// violation (the policy's `report-uri`). Counted in `/metrics`; logged at a
/// bounded rate, since anyone may post here. Browsers strip the URL's
/// fragment, so seat tokens (`#token=`) never arrive in a report.
pub async fn csp_report(
    State(app): State<AppState>,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    let report: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "Báo cáo không phải JSON hợp lệ",
            format!("the report is not valid JSON: {e}"),
        )
    })?;
    let Some(r) = report.get("csp-report") else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_message",
            "Thiếu trường csp-report",
            "the body has no csp-report object",
        ));
    };
    app.engine
        .metrics()
        .csp_violations
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if app.csp_log.check().is_ok() {
        let field = |name: &str| -> String {
            r.get(name)
                .map(|v| v.to_string().chars().take(200).collect())
                .unwrap_or_default()
        };
        tracing::warn!(
            page = %field("document-uri"),
            directive = %field("violated-directive"),
            blocked = %field("blocked-uri"),
            source = %field("source-file"),
            line = %field("line-number"),
            "a browser reported a Content-Security-Policy violation"
        );
    }
    Ok(StatusCode::NO_CONTENT)
}
