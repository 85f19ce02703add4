//! One error type for HTTP handlers, turned into a response in one place:
//! status code plus `{code, message, message_en}`. Internal details are
//! logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::domain::DomainError;
use crate::engine::{AuthError, CommandError};
use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub message_en: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            message_en: message_en.into(),
        }
    }
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Không tìm thấy",
            "not found",
        )
    }
    pub fn unknown_event() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_event",
            "Không có sự kiện này",
            "no such event",
        )
    }
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Vai trò này không được phép",
            "this role may not do that",
        )
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Thiếu hoặc sai mã truy cập",
            "missing or invalid token",
        )
    }
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Bạn gửi quá nhanh; vui lòng đợi một chút",
            "too many submissions; please wait a moment",
        )
    }
    pub fn bad_request(
        code: &'static str,
        message: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message, message_en)
    }
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Lỗi máy chủ; chưa có gì thay đổi",
            "internal error; nothing was changed",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "code": self.code,
            "message": self.message,
            "message_en": self.message_en,
        });
        (self.status, Json(body)).into_response()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::Forbidden => StatusCode::FORBIDDEN,
            DomainError::NotFound => StatusCode::NOT_FOUND,
            DomainError::Conflict(_)
            | DomainError::OnAirBusy(_)
            | DomainError::StaleOrder
            | DomainError::Duplicate
            | DomainError::EventClosed => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.code(), e.message_vi(), e.message_en())
    }
}

impl From<CommandError> for ApiError {
    fn from(e: CommandError) -> Self {
        let (code, vi) = command_error_code(&e);
        match e {
            CommandError::Domain(d) => d.into(),
            other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, vi, other.to_string()),
        }
    }
}

/// Code and Vietnamese message of a non-domain command error (shared with the WebSocket path).
pub fn command_error_code(e: &CommandError) -> (&'static str, String) {
    match e {
        CommandError::Domain(d) => (d.code(), d.message_vi()),
        CommandError::Unavailable => (
            "store_unavailable",
            "Không lưu được; chưa có gì thay đổi, vui lòng thử lại".into(),
        ),
        CommandError::DiskFull => (
            "disk_full",
            "Máy chủ hết chỗ lưu trữ; chưa có gì thay đổi, sẽ nhận lại khi có chỗ trống (câu hỏi được gửi lại tự động)".into(),
        ),
        // For clients it is one more reason to keep the change and resend.
        CommandError::DatabaseLost => (
            "store_unavailable",
            "Tệp cơ sở dữ liệu bị mất; chưa có gì thay đổi, vui lòng đợi người vận hành xử lý".into(),
        ),
        CommandError::OutcomeUnknown => (
            "outcome_unknown",
            "Mất kết nối cơ sở dữ liệu khi đang lưu: có thể đã lưu hoặc chưa; hãy kiểm tra trước khi gửi lại (câu hỏi thì gửi lại được)".into(),
        ),
        CommandError::Busy => ("busy", "Máy chủ đang bận; vui lòng thử lại".into()),
        CommandError::Closed => (
            "shutting_down",
            "Máy chủ đang khởi động lại; vui lòng thử lại".into(),
        ),
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let (code, vi) = auth_error_code(&e);
        ApiError::new(StatusCode::UNAUTHORIZED, code, vi, e.to_string())
    }
}

pub fn auth_error_code(e: &AuthError) -> (&'static str, &'static str) {
    match e {
        AuthError::Unknown => ("unknown_token", "Mã truy cập không đúng"),
        AuthError::Revoked => ("token_revoked", "Mã truy cập đã bị thu hồi"),
        AuthError::Expired => ("token_expired", "Mã truy cập đã hết hạn"),
        AuthError::UnknownEvent => ("unknown_event", "Không có sự kiện này"),
        AuthError::Unavailable => (
            "store_unavailable",
            "Máy chủ chưa sẵn sàng; vui lòng thử lại",
        ),
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::internal("store error", e)
    }
}
