//! HTTP endpoints of the reports module: import (preview, commit, template),
//! exports, the conclusion draft, statistics, the public answers page and
//! the admin's erase of personal data. Each handler checks the role with
//! [`Access`], reads the event's state from the engine (and the change log
//! from the store for history), and hands both to a pure function in
//! `crate::reports`.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::api::Staff;
use super::error::ApiError;
use super::AppState;
use crate::domain::{Audience, QState, Question, Role};
use crate::engine::EventRuntime;
use crate::reports::import::{self, Format, Plan};
use crate::reports::{apply, conclusion, export, stats, vn_date, Access, ReportError};
use crate::store::Change;

/// Largest upload accepted for an import (a few thousand rows are well under 1 MiB).
pub const IMPORT_LIMIT: usize = 20 * 1024 * 1024;

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Write(_) => ApiError::internal("report generation failed", e),
            other => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                other.code(),
                other.message_vi(),
                other.to_string(),
            ),
        }
    }
}

/// The role's access to reports, or 403.
fn access(actor_role: Role) -> Result<Access, ApiError> {
    Access::of(actor_role).ok_or_else(ApiError::forbidden)
}

/// A file download: content type, an ASCII file name and the bytes.
fn download(content_type: &str, filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            // Exports may hold personal data: no copy in shared caches or the browser cache.
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from(bytes),
    )
        .into_response()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const CSV: &str = "text/csv; charset=utf-8";

/// Every logged change of the event, oldest first.
async fn all_changes(app: &AppState, event: &str) -> Result<Vec<Change>, ApiError> {
    let mut out: Vec<Change> = Vec::new();
    loop {
        let after = out.last().map(|c| c.seq).unwrap_or(0);
        let page = app.engine.store().changes_since(event, after, 1000).await?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

/// The questions a file may carry for `access`: personal data removed unless allowed.
fn questions_for(rt: &EventRuntime, access: Access) -> Vec<Question> {
    rt.questions()
        .into_iter()
        .map(|q| {
            if access.personal {
                q
            } else {
                q.without_personal_data()
            }
        })
        .collect()
}

// ---------------------------------------------------------------- import

#[derive(Debug, Default, Deserialize)]
pub struct ImportQuery {
    /// File name (its extension tells the format when `format` is absent).
    #[serde(default)]
    pub filename: Option<String>,
    /// `csv` or `xlsx`.
    #[serde(default)]
    pub format: Option<String>,
    /// Collecting unit for rows whose "collected by" cell is empty.
    #[serde(default)]
    pub source: Option<String>,
    /// Commit only if the file is the one previewed (its SHA-256, hex).
    #[serde(default)]
    pub sha256: Option<String>,
}

/// An uploaded file with its parameters, from a multipart form or a raw body.
struct Upload {
    bytes: Vec<u8>,
    query: ImportQuery,
}

async fn read_upload(
    app: &AppState,
    headers: &HeaderMap,
    mut query: ImportQuery,
    req: Request,
) -> Result<Upload, ApiError> {
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let bad = |e: String| ApiError::bad_request("bad_upload", "Không đọc được tệp tải lên", e);
    if !multipart {
        let bytes = axum::body::to_bytes(req.into_body(), IMPORT_LIMIT)
            .await
            .map_err(|e| bad(e.to_string()))?;
        return Ok(Upload {
            bytes: bytes.to_vec(),
            query,
        });
    }
    let mut form = Multipart::from_request(req, app)
        .await
        .map_err(|e| bad(e.body_text()))?;
    let mut bytes = None;
    while let Some(field) = form.next_field().await.map_err(|e| bad(e.body_text()))? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            if query.filename.is_none() {
                query.filename = field.file_name().map(str::to_string);
            }
            bytes = Some(
                field
                    .bytes()
                    .await
                    .map_err(|e| bad(e.body_text()))?
                    .to_vec(),
            );
        } else {
            let value = field.text().await.map_err(|e| bad(e.body_text()))?;
            match name.as_str() {
                "format" => query.format = Some(value),
                "source" => query.source = Some(value),
                "sha256" => query.sha256 = Some(value),
                "filename" => query.filename = Some(value),
                _ => {}
            }
        }
    }
    let bytes = bytes.ok_or_else(|| {
        ApiError::bad_request(
            "no_file",
            "Chưa chọn tệp (trường «file»)",
            "no file field in the form",
        )
    })?;
    Ok(Upload { bytes, query })
}

#[derive(Serialize)]
pub struct ImportResponse {
    pub event: String,
    pub filename: Option<String>,
    pub format: Format,
    pub sha256: String,
    /// True once the accepted rows were submitted.
    pub committed: bool,
    pub summary: import::Summary,
    pub rows: Vec<import::RowReport>,
}

/// Read and check an uploaded file against the event as it is now.
fn plan_upload(
    rt: &EventRuntime,
    actor: &crate::domain::Actor,
    upload: &Upload,
) -> Result<(Format, String, Plan), ApiError> {
    let format = Format::detect(
        upload.query.format.as_deref(),
        upload.query.filename.as_deref(),
    )
    .ok_or(ReportError::UnsupportedFormat)?;
    let sha = hex::encode(Sha256::digest(&upload.bytes));
    let plan = apply::plan_file(
        rt,
        actor,
        &upload.bytes,
        format,
        upload.query.source.as_deref(),
    )?;
    Ok((format, sha, plan))
}

fn require_importer(role: Role) -> Result<(), ApiError> {
    if role.moderates() {
        Ok(())
    } else {
        Err(ApiError::forbidden())
    }
}

/// `POST /api/import/preview`: the row report; nothing is imported.
pub async fn import_preview(
    State(app): State<AppState>,
    Staff { rt, actor }: Staff,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<ImportResponse>, ApiError> {
    require_importer(actor.role)?;
    let upload = read_upload(&app, &headers, query, req).await?;
    let (format, sha256, plan) = plan_upload(&rt, &actor, &upload)?;
    Ok(Json(ImportResponse {
        event: rt.id().to_string(),
        filename: upload.query.filename.clone(),
        format,
        sha256,
        committed: false,
        summary: plan.summary(),
        rows: plan.rows,
    }))
}

/// `POST /api/import/commit`: check the file again and submit its new rows.
pub async fn import_commit(
    State(app): State<AppState>,
    Staff { rt, actor }: Staff,
    Query(query): Query<ImportQuery>,
    headers: HeaderMap,
    req: Request,
) -> Result<Json<ImportResponse>, ApiError> {
    require_importer(actor.role)?;
    let upload = read_upload(&app, &headers, query, req).await?;
    let (format, sha256, plan) = plan_upload(&rt, &actor, &upload)?;
    if let Some(expected) = upload.query.sha256.as_deref() {
        if !expected.trim().eq_ignore_ascii_case(&sha256) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "file_changed",
                "Tệp khác với tệp đã xem trước; hãy xem trước lại",
                "the file differs from the one previewed; preview it again",
            ));
        }
    }
    let plan = apply::run(&rt, &actor, plan).await;
    Ok(Json(ImportResponse {
        event: rt.id().to_string(),
        filename: upload.query.filename.clone(),
        format,
        sha256,
        committed: true,
        summary: plan.summary(),
        rows: plan.rows,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct EventQuery {
    #[serde(default)]
    pub event: Option<String>,
}

async fn event_or_first(
    app: &AppState,
    event: Option<&str>,
) -> Result<std::sync::Arc<EventRuntime>, ApiError> {
    match event {
        Some(id) => app.event(id).await,
        None => app
            .engine
            .events()
            .into_iter()
            .next()
            .ok_or_else(ApiError::unknown_event),
    }
}

/// `GET /api/import/template.xlsx?event=`: public (it holds only hall and group names).
pub async fn template_xlsx(
    State(app): State<AppState>,
    Query(q): Query<EventQuery>,
) -> Result<Response, ApiError> {
    let rt = event_or_first(&app, q.event.as_deref()).await?;
    let bytes = import::template_xlsx(&rt.config)?;
    Ok(download(XLSX, "mau-nhap-cau-hoi.xlsx", bytes))
}

/// `GET /api/import/template.csv`.
pub async fn template_csv() -> Result<Response, ApiError> {
    Ok(download(
        CSV,
        "mau-nhap-cau-hoi.csv",
        import::template_csv()?,
    ))
}

// ---------------------------------------------------------------- exports

/// Every question with its history, with personal data only for roles allowed it.
async fn questions_export(
    app: &AppState,
    rt: &crate::engine::EventRuntime,
    actor: &crate::domain::Actor,
) -> Result<export::Table, ApiError> {
    let access = access(actor.role)?;
    let history = export::transitions(&all_changes(app, rt.id()).await?);
    Ok(export::questions_table(
        &rt.config,
        &questions_for(rt, access),
        &history,
        access,
    ))
}

/// `GET /api/exports/questions.csv`.
pub async fn export_questions_csv(
    State(app): State<AppState>,
    Staff { rt, actor }: Staff,
) -> Result<Response, ApiError> {
    let table = questions_export(&app, &rt, &actor).await?;
    Ok(download(
        CSV,
        &format!("cau-hoi-{}.csv", rt.id()),
        table.to_csv()?,
    ))
}

/// `GET /api/exports/questions.xlsx`.
pub async fn export_questions_xlsx(
    State(app): State<AppState>,
    Staff { rt, actor }: Staff,
) -> Result<Response, ApiError> {
    let table = questions_export(&app, &rt, &actor).await?;
    Ok(download(
        XLSX,
        &format!("cau-hoi-{}.xlsx", rt.id()),
        table.to_xlsx("Câu hỏi")?,
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct AgencyQuery {
    #[serde(default)]
    pub agency: Option<String>,
}

/// `GET /api/exports/deferred.xlsx?agency=`: one sheet per agency, or just the one asked for.
pub async fn export_deferred_xlsx(
    Staff { rt, actor }: Staff,
    Query(q): Query<AgencyQuery>,
) -> Result<Response, ApiError> {
    let access = access(actor.role)?;
    let agency = q.agency.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let bytes = export::deferred_xlsx(
        &rt.config,
        &questions_for(&rt, access),
        agency,
        access,
        &vn_date(crate::now_ms()),
    )?;
    Ok(download(
        XLSX,
        &format!("tra-loi-bang-van-ban-{}.xlsx", rt.id()),
        bytes,
    ))
}

/// `GET /api/exports/audit.csv`: every transition, who and when. No personal data.
pub async fn export_audit_csv(
    State(app): State<AppState>,
    Staff { rt, actor }: Staff,
) -> Result<Response, ApiError> {
    access(actor.role)?;
    let history = export::transitions(&all_changes(&app, rt.id()).await?);
    let table = export::audit_table(&rt.config, &history);
    Ok(download(
        CSV,
        &format!("nhat-ky-{}.csv", rt.id()),
        table.to_csv()?,
    ))
}

/// `GET /api/followup/history`: per deferred question, who did each
/// follow-up step and when (from the change log). No personal data.
pub async fn followup_history(
    State(app): State<AppState>,
    Staff { rt, actor }: Staff,
) -> Result<Response, ApiError> {
    access(actor.role)?;
    let history = export::transitions(&all_changes(&app, rt.id()).await?);
    let by_question = export::followup_history(&history);
    Ok(Json(serde_json::json!({ "event": rt.id(), "history": by_question })).into_response())
}

// ---------------------------------------------------------------- conclusion, stats

fn conclusion_blocks(rt: &EventRuntime) -> Vec<conclusion::Block> {
    let questions: Vec<Question> = rt
        .questions()
        .iter()
        .map(Question::without_personal_data)
        .collect();
    conclusion::build(&rt.config, &questions, crate::now_ms())
}

/// `GET /api/reports/conclusion.docx`.
pub async fn conclusion_docx(Staff { rt, actor }: Staff) -> Result<Response, ApiError> {
    access(actor.role)?;
    let bytes = conclusion::to_docx(&conclusion_blocks(&rt))?;
    Ok(download(
        DOCX,
        &format!("van-ban-ket-luan-{}.docx", rt.id()),
        bytes,
    ))
}

/// `GET /api/reports/conclusion.html`: printable; the follow-up page prints it.
pub async fn conclusion_html(Staff { rt, actor }: Staff) -> Result<Response, ApiError> {
    access(actor.role)?;
    let html = conclusion::to_html(&conclusion_blocks(&rt));
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}

/// `GET /api/stats`.
pub async fn stats(Staff { rt, actor }: Staff) -> Result<Json<stats::Stats>, ApiError> {
    access(actor.role)?;
    Ok(Json(stats::compute(
        &rt.config,
        &rt.questions(),
        crate::now_ms(),
    )))
}

// ---------------------------------------------------------------- public answers

#[derive(Serialize)]
pub struct PublicAnswer {
    pub id: uuid::Uuid,
    pub text: String,
    pub hall: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    pub agency: String,
    pub answer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published_at: Option<i64>,
    /// Only when the asker agreed that their name be shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `GET /api/events/{event}/answers`: published written answers, for everyone.
pub async fn public_answers(
    State(app): State<AppState>,
    Path(event): Path<String>,
) -> Result<Response, ApiError> {
    let rt = app.event(&event).await?;
    let mut answers: Vec<PublicAnswer> = rt
        .questions()
        .iter()
        .filter(|q| q.state == QState::Published)
        .filter_map(|q| Audience::Public.project(q))
        .filter_map(|q| {
            let f = q.followup?;
            Some(PublicAnswer {
                id: q.id,
                hall: rt.config.hall_name(&q.hall),
                group: q
                    .group
                    .as_deref()
                    .map(|g| rt.config.group_name(g).to_string()),
                text: q.text,
                agency: f.agency,
                answer: f.answer?,
                published_at: f.published_at,
                display_name: q.display_name,
            })
        })
        .collect();
    answers.sort_by_key(|a| std::cmp::Reverse(a.published_at));
    Ok(Json(serde_json::json!({
        "event": rt.id(),
        "name": rt.config.name,
        "answers": answers,
    }))
    .into_response())
}

// ---------------------------------------------------------------- erase

/// `POST /api/admin/erase-personal-data`: admin only, closed events only.
/// Erases the store's copy and the running engine's in-memory copy.
pub async fn erase_personal_data(
    Staff { rt, actor }: Staff,
    State(app): State<AppState>,
) -> Result<Response, ApiError> {
    if actor.role != Role::Admin {
        return Err(ApiError::forbidden());
    }
    if app.engine.store().event_closed_at(rt.id()).await?.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "event_not_closed",
            "Sự kiện chưa đóng; hãy đóng sự kiện (doithoai event close) khi đã xong phần trả lời bằng văn bản",
            "the event is not closed; close it once the written follow-up is done",
        ));
    }
    let erased = app.engine.store().erase_personal_data(rt.id()).await?;
    rt.forget_personal_data();
    tracing::info!(event = rt.id(), erased, "personal data erased");
    Ok(Json(serde_json::json!({ "event": rt.id(), "erased": erased })).into_response())
}

/// `POST /api/admin/close-event`: admin only; closes the admin's event
/// (again is fine: the first closing time stays). `doithoai event close`
/// calls it when a server runs on the data directory.
pub async fn close_event(
    Staff { rt, actor }: Staff,
    State(app): State<AppState>,
) -> Result<Response, ApiError> {
    if actor.role != Role::Admin {
        return Err(ApiError::forbidden());
    }
    let store = app.engine.store();
    let closed_at = match store.event_closed_at(rt.id()).await? {
        Some(at) => at,
        None => {
            let at = crate::now_ms();
            store.close_event(rt.id(), at).await?;
            tracing::info!(event = rt.id(), "event closed");
            at
        }
    };
    Ok(Json(serde_json::json!({ "event": rt.id(), "closed_at": closed_at })).into_response())
}
