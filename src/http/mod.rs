//! The HTTP and WebSocket transport: routes, shared state, participant rate
//! limits and security headers. Handlers stay thin: they translate between
//! the wire and the engine.

pub mod api;
pub mod error;
pub mod pages;
pub mod phones;
pub mod reports;
pub mod web;
pub mod ws;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::ServeConfig;
use crate::engine::Engine;

/// Everything a handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub engine: Arc<Engine>,
    pub config: Arc<ServeConfig>,
    pub limits: Arc<ParticipantLimits>,
    /// This node's change listener when several nodes share PostgreSQL;
    /// `/healthz` fails while it is disconnected.
    pub listener: Option<Arc<crate::cluster::ChangeListener>>,
    /// Participants' connections run here, apart from staff ([`phones`]).
    pub phones: tokio::runtime::Handle,
    /// Bounds how often CSP reports are logged (anyone may post them).
    pub csp_log: Arc<governor::DefaultDirectRateLimiter>,
}

impl AppState {
    /// The event `id`, including one created after this server started.
    pub async fn event(
        &self,
        id: &str,
    ) -> Result<Arc<crate::engine::EventRuntime>, error::ApiError> {
        self.engine
            .find_event(id)
            .await?
            .ok_or_else(error::ApiError::unknown_event)
    }
}

/// Participants need no token, so their submissions are rate-limited per
/// device (the id their browser keeps) and per address (many phones share a
/// hall's Wi-Fi, so that bound is looser).
pub struct ParticipantLimits {
    device: DefaultKeyedRateLimiter<String>,
    address: DefaultKeyedRateLimiter<IpAddr>,
}

impl ParticipantLimits {
    pub fn new(per_device_per_minute: u32, per_address_per_minute: u32) -> Self {
        let quota = |n: u32| {
            let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
            Quota::per_minute(n).allow_burst(n)
        };
        ParticipantLimits {
            device: RateLimiter::keyed(quota(per_device_per_minute)),
            address: RateLimiter::keyed(quota(per_address_per_minute)),
        }
    }

    /// True when this submission may go ahead.
    pub fn allow(&self, device: Option<&str>, address: IpAddr) -> bool {
        let device_ok = match device {
            Some(d) => self
                .device
                .check_key(&d.chars().take(64).collect::<String>())
                .is_ok(),
            None => true,
        };
        device_ok && self.address.check_key(&address).is_ok()
    }
}

/// The address a request really comes from: the peer, or, when the peer is a
/// trusted proxy, the nearest untrusted address in `X-Forwarded-For`.
pub fn client_ip(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .rev()
        .find(|a| !trusted.contains(a))
        .unwrap_or(peer)
}

/// Pages run only their own scripts and styles (no inline code, so injected
/// markup cannot run). Browsers report violations to `/api/csp-report`,
/// counted in `/metrics`: on event day a non-zero count means a page is
/// broken or something tried to inject into it.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                   frame-ancestors 'self'; report-uri /api/csp-report";

/// Before and after the live hour: import, exports, conclusion, statistics.
fn reports_router() -> Router<AppState> {
    use axum::extract::DefaultBodyLimit;
    Router::new()
        .route("/api/import/preview", post(reports::import_preview))
        .route("/api/import/commit", post(reports::import_commit))
        .layer(DefaultBodyLimit::max(reports::IMPORT_LIMIT))
        .route("/api/import/template.xlsx", get(reports::template_xlsx))
        .route("/api/import/template.csv", get(reports::template_csv))
        .route(
            "/api/exports/questions.csv",
            get(reports::export_questions_csv),
        )
        .route(
            "/api/exports/questions.xlsx",
            get(reports::export_questions_xlsx),
        )
        .route(
            "/api/exports/deferred.xlsx",
            get(reports::export_deferred_xlsx),
        )
        .route("/api/exports/audit.csv", get(reports::export_audit_csv))
        .route("/api/followup/history", get(reports::followup_history))
        .route(
            "/api/reports/conclusion.docx",
            get(reports::conclusion_docx),
        )
        .route(
            "/api/reports/conclusion.html",
            get(reports::conclusion_html),
        )
        .route("/api/stats", get(reports::stats))
        .route("/api/events/{event}/answers", get(reports::public_answers))
        .route(
            "/api/admin/erase-personal-data",
            post(reports::erase_personal_data),
        )
        .route("/api/admin/close-event", post(reports::close_event))
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(api::healthz))
        .route("/metrics", get(api::metrics))
        .route("/ws", get(ws::upgrade))
        .route("/api/events", get(api::list_events))
        .route("/api/events/{event}", get(api::event_info))
        .route("/api/events/{event}/questions", post(api::submit_question))
        .route("/api/receipts/{question}", get(api::receipt))
        .route("/api/commands", post(api::command))
        .route("/api/questions", get(api::questions))
        .route("/p/{event}/{hall}", get(api::participant_link))
        .route(
            "/api/csp-report",
            post(api::csp_report)
                .layer(axum::extract::DefaultBodyLimit::max(api::CSP_REPORT_LIMIT)),
        )
        .merge(reports_router())
        .route("/api/events/{event}/qr/{file}", get(pages::qr_svg))
        .route("/api/admin/tokens", get(pages::admin_tokens))
        .fallback(web::asset)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let phone: IpAddr = "192.168.1.20".parse().unwrap();
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 192.168.1.20".parse().unwrap());
        assert_eq!(
            client_ip(proxy, &headers, &[proxy]),
            phone,
            "nearest untrusted hop"
        );
        assert_eq!(
            client_ip(proxy, &headers, &[]),
            proxy,
            "a spoofed header from anyone else is ignored"
        );
        assert_eq!(
            client_ip(proxy, &axum::http::HeaderMap::new(), &[proxy]),
            proxy
        );
    }
}
