//! Everything before and after the live hour: importing questions collected
//! beforehand, the follow-up officer's exports, the conclusion-report draft
//! and the statistics behind the charts.
//!
//! The functions here are pure over `&[Question]`, the change log and the
//! event definition: they do no I/O and read no clock (callers pass `now`),
//! so the HTTP handlers in `http/reports.rs` and the CLI stay thin and
//! everything is unit-tested on plain data.
//!
//! # Layout
//! - [`import`]: read CSV/XLSX rows, validate them with the domain's own
//!   rules, derive each row's question id, and write the import template.
//! - [`export`]: questions with their history (CSV, XLSX), the per-agency
//!   deferred list (XLSX) and the audit log (CSV).
//! - [`conclusion`]: the figures and tables of the conclusion document,
//!   rendered as printable HTML and as DOCX.
//! - [`stats`]: counts and time buckets for the statistics page.
//! - [`apply`]: the exception to "pure": runs a checked import through the
//!   engine, shared by the HTTP endpoint and the CLI.
//!
//! # Who gets what
//! [`Access::of`] is the one place that decides: the follow-up officer and
//! the admin get exports *with* questioners' personal data (they write to
//! the people who asked); moderators and the chair get the same exports
//! *without* those columns (moderators see personal data live on their
//! console, but a file leaves the room and is copied, so we keep it to the
//! two roles whose work needs it); everyone else is refused.

pub mod apply;
pub mod conclusion;
pub mod export;
pub mod import;
pub mod stats;

use crate::domain::{QState, Question, Role};

/// What a role may take away from the reports module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Whether files may carry name, age, organization and phone.
    pub personal: bool,
}

impl Access {
    /// `None` means the role gets no export, report or statistics at all.
    pub fn of(role: Role) -> Option<Access> {
        match role {
            Role::Admin | Role::FollowUp => Some(Access { personal: true }),
            Role::Moderator | Role::Chair => Some(Access { personal: false }),
            Role::Speaker | Role::HallOperator | Role::Display | Role::Participant => None,
        }
    }
}

/// Errors of this layer: reading or writing a file format.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("unsupported file format")]
    UnsupportedFormat,
    #[error("the file has no header row")]
    NoHeader,
    #[error("the header has no question text column")]
    NoTextColumn,
    #[error("cannot read the spreadsheet: {0}")]
    Spreadsheet(String),
    #[error("cannot read the CSV file: {0}")]
    Csv(String),
    #[error("row {row} is not UTF-8; save the file as \"CSV UTF-8\"")]
    NotUtf8 { row: usize },
    #[error("cannot write the file: {0}")]
    Write(String),
}

impl ReportError {
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::UnsupportedFormat => "unsupported_format",
            ReportError::NoHeader => "no_header",
            ReportError::NoTextColumn => "no_text_column",
            ReportError::Spreadsheet(_) => "bad_spreadsheet",
            ReportError::Csv(_) | ReportError::NotUtf8 { .. } => "bad_csv",
            ReportError::Write(_) => "write_failed",
        }
    }

    pub fn message_vi(&self) -> String {
        match self {
            ReportError::UnsupportedFormat => "Chỉ nhận tệp .xlsx hoặc .csv (UTF-8)".into(),
            ReportError::NoHeader => "Tệp không có dòng tiêu đề".into(),
            ReportError::NoTextColumn => "Dòng tiêu đề thiếu cột «Nội dung câu hỏi»".into(),
            // The parser's detail is English: it stays in the English half.
            ReportError::Spreadsheet(_) => {
                "Không đọc được bảng tính (chi tiết ở phần tiếng Anh)".into()
            }
            ReportError::Csv(_) => "Không đọc được tệp CSV (chi tiết ở phần tiếng Anh)".into(),
            ReportError::NotUtf8 { row } => format!(
                "Dòng {row} không phải mã UTF-8; trong Excel chọn Lưu thành (Save As) «CSV UTF-8»"
            ),
            ReportError::Write(_) => "Không tạo được tệp".into(),
        }
    }
}

impl From<rust_xlsxwriter::XlsxError> for ReportError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        ReportError::Write(e.to_string())
    }
}

impl From<csv::Error> for ReportError {
    fn from(e: csv::Error) -> Self {
        ReportError::Write(e.to_string())
    }
}

/// Vietnam keeps UTC+7 all year (no daylight saving), so a fixed offset is exact.
const VN_OFFSET_SECONDS: i32 = 7 * 3600;

fn vn_datetime(ms: i64) -> time::OffsetDateTime {
    let offset =
        time::UtcOffset::from_whole_seconds(VN_OFFSET_SECONDS).unwrap_or(time::UtcOffset::UTC);
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .to_offset(offset)
}

/// `dd/mm/yyyy HH:MM`, Vietnam time: how dates are written in Vietnamese documents.
pub fn format_time(ms: i64) -> String {
    let t = vn_datetime(ms);
    format!(
        "{:02}/{:02}/{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// `YYYY-MM-DD` of the day `ms` falls on in Vietnam (compares with due dates).
pub fn vn_date(ms: i64) -> String {
    let t = vn_datetime(ms);
    format!("{}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `YYYY-MM-DD` → `dd/mm/yyyy`; anything else is returned as is.
pub fn format_date(iso: &str) -> String {
    let parts: Vec<&str> = iso.split('-').collect();
    match parts.as_slice() {
        [y, m, d] => format!("{d}/{m}/{y}"),
        _ => iso.to_string(),
    }
}

/// A deferred question whose written answer has not gone out by its due date.
pub fn is_overdue(q: &Question, today: &str) -> bool {
    matches!(q.state, QState::Deferred | QState::AnswerDrafted)
        && q.followup.as_ref().is_some_and(|f| f.due.as_str() < today)
}

/// Vietnamese label of a question's source.
pub fn source_label(q: &Question) -> &'static str {
    match q.source {
        crate::domain::Source::Participant => "Thanh niên gửi qua điện thoại",
        crate::domain::Source::Hall => "Điểm cầu nhập tại chỗ",
        crate::domain::Source::Moderator => "Ban tổ chức nhập",
        crate::domain::Source::Import => "Thu thập trước",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_follow_up_and_admin_take_personal_data_away() {
        assert_eq!(Access::of(Role::FollowUp), Some(Access { personal: true }));
        assert_eq!(Access::of(Role::Admin), Some(Access { personal: true }));
        assert_eq!(
            Access::of(Role::Moderator),
            Some(Access { personal: false })
        );
        assert_eq!(Access::of(Role::Chair), Some(Access { personal: false }));
        for r in [
            Role::Speaker,
            Role::HallOperator,
            Role::Display,
            Role::Participant,
        ] {
            assert_eq!(Access::of(r), None, "{r:?}");
        }
    }

    #[test]
    fn times_are_written_in_vietnam_time() {
        // 2024-03-26T01:30:00Z is 08:30 in Vietnam.
        assert_eq!(format_time(1_711_416_600_000), "26/03/2024 08:30");
        // 2024-03-25T18:00:00Z is already the 26th in Vietnam.
        assert_eq!(vn_date(1_711_389_600_000), "2024-03-26");
        assert_eq!(format_date("2024-04-25"), "25/04/2024");
    }
}
