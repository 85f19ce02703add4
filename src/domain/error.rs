//! Why a command was refused. Every variant has a stable code for programs
//! and a message in Vietnamese and English for people.

use uuid::Uuid;

use super::question::{QState, Question};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("this role may not do that")]
    Forbidden,
    #[error("no such question or request")]
    NotFound,
    #[error("someone else changed this question first")]
    Conflict(Box<Question>),
    #[error("cannot {action} a question that is {}", from.as_str())]
    InvalidTransition { action: &'static str, from: QState },
    #[error("question text is empty")]
    EmptyText,
    #[error("question text is longer than {0} characters")]
    TextTooLong(usize),
    #[error("a field is too long")]
    FieldTooLong,
    #[error("unknown hall {0}")]
    UnknownHall(String),
    #[error("unknown department {0}")]
    UnknownDepartment(String),
    #[error("unknown issue group {0}")]
    UnknownGroup(String),
    #[error("a reason is required to reject")]
    ReasonRequired,
    #[error("an agency is required to defer")]
    AgencyRequired,
    #[error("invalid date {0}")]
    InvalidDate(String),
    #[error("consent is required to store personal data")]
    ConsentRequired,
    #[error("cannot merge a question into itself")]
    MergeIntoSelf,
    #[error("another question is on air")]
    OnAirBusy(Uuid),
    #[error("the queue changed; reload and reorder again")]
    StaleOrder,
    #[error("this hall already has an open floor request")]
    FloorAlreadyRequested,
    #[error("this floor request is no longer open")]
    FloorNotOpen,
    #[error("a vote needs the device id the phone sent in its hello")]
    DeviceRequired,
    #[error("a different question with this id already exists")]
    Duplicate,
    #[error("the event is closed; nothing can be changed")]
    EventClosed,
}

impl DomainError {
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::Forbidden => "forbidden",
            DomainError::NotFound => "not_found",
            DomainError::Conflict(_) => "conflict",
            DomainError::InvalidTransition { .. } => "invalid_transition",
            DomainError::EmptyText => "empty_text",
            DomainError::TextTooLong(_) => "text_too_long",
            DomainError::FieldTooLong => "field_too_long",
            DomainError::UnknownHall(_) => "unknown_hall",
            DomainError::UnknownDepartment(_) => "unknown_department",
            DomainError::UnknownGroup(_) => "unknown_group",
            DomainError::ReasonRequired => "reason_required",
            DomainError::AgencyRequired => "agency_required",
            DomainError::InvalidDate(_) => "invalid_date",
            DomainError::ConsentRequired => "consent_required",
            DomainError::MergeIntoSelf => "merge_into_self",
            DomainError::OnAirBusy(_) => "on_air_busy",
            DomainError::StaleOrder => "stale_order",
            DomainError::FloorAlreadyRequested => "floor_already_requested",
            DomainError::FloorNotOpen => "floor_not_open",
            DomainError::DeviceRequired => "device_required",
            DomainError::Duplicate => "duplicate",
            DomainError::EventClosed => "event_closed",
        }
    }

    pub fn message_en(&self) -> String {
        self.to_string()
    }

    pub fn message_vi(&self) -> String {
        match self {
            DomainError::Forbidden => "Vai trò này không được phép thực hiện thao tác này".into(),
            DomainError::NotFound => "Không tìm thấy câu hỏi hoặc yêu cầu".into(),
            DomainError::Conflict(_) => {
                "Người khác vừa thay đổi câu hỏi này; đã tải phiên bản mới".into()
            }
            DomainError::InvalidTransition { from, .. } => {
                format!(
                    "Không thể thực hiện với câu hỏi ở trạng thái «{}»",
                    from.label_vi()
                )
            }
            DomainError::EmptyText => "Nội dung câu hỏi đang trống".into(),
            DomainError::TextTooLong(n) => format!("Câu hỏi dài quá {n} ký tự"),
            DomainError::FieldTooLong => "Một trường thông tin quá dài".into(),
            DomainError::UnknownHall(h) => format!("Không có điểm cầu «{h}»"),
            DomainError::UnknownDepartment(d) => format!("Không có cơ quan «{d}»"),
            DomainError::UnknownGroup(g) => format!("Không có nhóm vấn đề «{g}»"),
            DomainError::ReasonRequired => "Cần ghi lý do từ chối".into(),
            DomainError::AgencyRequired => "Cần chọn cơ quan trả lời bằng văn bản".into(),
            DomainError::InvalidDate(d) => format!("Ngày không hợp lệ: «{d}» (dạng YYYY-MM-DD)"),
            DomainError::ConsentRequired => "Cần đồng ý cho phép lưu thông tin cá nhân".into(),
            DomainError::MergeIntoSelf => "Không thể gộp câu hỏi vào chính nó".into(),
            DomainError::OnAirBusy(_) => "Đang có câu hỏi khác được trả lời".into(),
            DomainError::StaleOrder => "Hàng chờ vừa thay đổi; hãy sắp xếp lại".into(),
            DomainError::FloorAlreadyRequested => "Điểm cầu này đã xin phát biểu".into(),
            DomainError::FloorNotOpen => "Yêu cầu phát biểu này đã được xử lý".into(),
            DomainError::DeviceRequired => "Cần mã thiết bị để bình chọn".into(),
            DomainError::Duplicate => "Mã câu hỏi này đã được dùng cho một câu hỏi khác".into(),
            DomainError::EventClosed => "Sự kiện đã kết thúc, không nhận thêm thay đổi".into(),
        }
    }
}
