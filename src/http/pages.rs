//! Server help for the join sheets (web/join.html): each hall's QR code as
//! SVG, and the admin's list of every seat's token with its join link (and,
//! on request, a QR code of that link for the confidential staff sheet).
//!
//! Links are built from `--public-url` when set, otherwise from the Host the
//! request came in on, so a sheet printed from the laptop at the hall points
//! at the address the phones can actually reach.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use qrcode::render::svg;
use qrcode::QrCode;

use super::api::Staff;
use super::error::ApiError;
use super::AppState;
use crate::domain::Role;

/// Base URL for links: the configured public URL, else `http://<Host>`.
fn base_url(app: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &app.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        // Only host[:port] characters: a forged Host must not smuggle a path
        // or markup into the printed links.
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        });
    match host {
        Some(h) => format!("http://{h}"),
        None => app.config.base_url(app.config.listen),
    }
}

/// The participant link a hall's QR code carries.
fn participant_url(base: &str, event: &str, hall: &str) -> String {
    format!("{base}/p/{event}/{hall}")
}

/// `GET /api/events/{event}/qr/{hall}.svg`: the hall's participant QR code.
pub async fn qr_svg(
    State(app): State<AppState>,
    Path((event, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let rt = app.event(&event).await?;
    let hall = file.strip_suffix(".svg").ok_or_else(ApiError::not_found)?;
    if !rt.config.has_hall(hall) {
        return Err(ApiError::not_found());
    }
    let url = participant_url(&base_url(&app, &headers), rt.id(), hall);
    let image = qr_svg_of(&url)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        image,
    )
        .into_response())
}

/// `url` as a QR code in SVG. Medium error correction survives a creased
/// or smudged printout.
fn qr_svg_of(url: &str) -> Result<String, ApiError> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ApiError::internal("QR code", e))?;
    Ok(code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

#[derive(serde::Deserialize, Default)]
pub struct TokensQuery {
    /// `1`: add each seat's join link as a QR code (`qr_svg`), for the staff sheet.
    #[serde(default)]
    qr: Option<String>,
}

/// `GET /api/admin/tokens[?qr=1]` (admin token): every seat of the admin's
/// event with its token and join link (and the names of its hall and
/// department, for people to read), plus each hall's participant link.
pub async fn admin_tokens(
    State(app): State<AppState>,
    Staff { rt, actor }: Staff,
    axum::extract::Query(query): axum::extract::Query<TokensQuery>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    if actor.role != Role::Admin {
        return Err(ApiError::forbidden());
    }
    let base = base_url(&app, &headers);
    let tokens = crate::auth::issue_tokens(
        app.engine.store().as_ref(),
        app.engine.secret(),
        &rt.config,
        &base,
        None,
    )
    .await?;
    let with_qr = query.qr.as_deref() == Some("1");
    let mut seats = Vec::with_capacity(tokens.len());
    for t in &tokens {
        let mut seat = serde_json::to_value(t).map_err(|e| ApiError::internal("tokens", e))?;
        if let Some(obj) = seat.as_object_mut() {
            if let Some(h) = &t.hall {
                let name = rt
                    .config
                    .halls
                    .iter()
                    .find(|x| &x.id == h)
                    .map(|x| x.name.clone());
                obj.insert("hall_name".into(), name.unwrap_or_else(|| h.clone()).into());
            }
            if let Some(d) = &t.department {
                obj.insert(
                    "department_name".into(),
                    rt.config.department_name(d).to_string().into(),
                );
            }
            if with_qr {
                obj.insert("qr_svg".into(), qr_svg_of(&t.url)?.into());
            }
        }
        seats.push(seat);
    }
    let halls: Vec<serde_json::Value> = rt
        .config
        .halls
        .iter()
        .map(|h| {
            serde_json::json!({
                "id": h.id,
                "name": h.name,
                "participant_url": participant_url(&base, rt.id(), &h.id),
                "qr": format!("/api/events/{}/qr/{}.svg", rt.id(), h.id),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({
        "event": { "id": rt.id(), "name": rt.config.name, "theme": rt.config.theme, "date": rt.config.date },
        "base_url": base,
        "halls": halls,
        "tokens": seats,
    })))
}
