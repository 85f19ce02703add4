//! The wire protocol (version 1): JSON text frames with a `type` tag, one
//! WebSocket endpoint `/ws`. Documented with examples in docs/PROTOCOL.md;
//! change both together and bump `PROTOCOL_VERSION` on incompatible changes.
//! No I/O here: these are the serde types the transport reads and writes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::{BackstageNote, Command, FloorRequest, Question, Role};
use crate::event::{EventConfig, Hall};

pub const PROTOCOL_VERSION: u32 = 1;

/// Messages a client sends.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// First message on every connection.
    Hello {
        protocol: u32,
        /// Role token (staff). Absent for participants.
        #[serde(default)]
        token: Option<String>,
        /// Public event code (participants only).
        #[serde(default)]
        event: Option<String>,
        /// Participant's hall, from the QR code.
        #[serde(default)]
        hall: Option<String>,
        /// Random id a participant's browser keeps, for rate limiting.
        #[serde(default)]
        device: Option<String>,
        /// Last sequence number this client applied; resume from there.
        #[serde(default)]
        last_seq: Option<u64>,
    },
    /// A command; answered by `ack` or `error` with the same `req`.
    Cmd { req: String, cmd: Command },
    Ping {
        #[serde(default)]
        t: Option<i64>,
    },
    Pong {
        #[serde(default)]
        t: Option<i64>,
    },
}

/// The event as a client needs it (no secrets).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum EventInfo<'a> {
    /// Staff pages get the whole definition.
    Full(&'a EventConfig),
    /// Phones get what their question form needs. Every byte of a phone's
    /// welcome stays allocated in its connection's write buffer for the
    /// connection's life (BENCHMARKS.md, memory): the whole definition at
    /// 200 halls is ≈ 15 KB, times 10,000 phones.
    Phone(PhoneEventInfo<'a>),
}

/// The subset of an event a participant's phone receives in `welcome`.
#[derive(Debug, Clone, Serialize)]
pub struct PhoneEventInfo<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub theme: &'a str,
    pub date: &'a str,
    /// Only the hall the phone joined from (empty without one).
    pub halls: Vec<&'a Hall>,
    pub groups: Vec<PhoneGroup<'a>>,
    pub max_question_chars: usize,
}

/// An issue group as a phone's form needs it: no keyword lexicon (that is
/// for the moderators' assistant, and would cost every phone's connection
/// its bytes).
#[derive(Debug, Clone, Serialize)]
pub struct PhoneGroup<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub name_en: &'a str,
}

impl<'a> EventInfo<'a> {
    /// What `role` (in `hall`) is told about `config` on joining.
    pub fn for_role(config: &'a EventConfig, role: Role, hall: Option<&str>) -> EventInfo<'a> {
        if role != Role::Participant {
            return EventInfo::Full(config);
        }
        EventInfo::Phone(PhoneEventInfo {
            id: &config.id,
            name: &config.name,
            theme: &config.theme,
            date: &config.date,
            halls: config
                .halls
                .iter()
                .filter(|h| Some(h.id.as_str()) == hall)
                .collect(),
            groups: config
                .groups
                .iter()
                .map(|g| PhoneGroup {
                    id: &g.id,
                    name: &g.name,
                    name_en: &g.name_en,
                })
                .collect(),
            max_question_chars: config.max_question_chars,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct You {
    pub role: Role,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HallPresence {
    pub hall: String,
    pub operators: u32,
    pub displays: u32,
    /// Unix ms when the hall got its first live connection (None while none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_since: Option<i64>,
    /// Unix ms of the last sign of life from any of the hall's connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<i64>,
}

/// One question's hints in a `hints` frame; empty hints mean "nothing to say".
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuestionHints {
    pub id: Uuid,
    pub hints: crate::moderation::Hints,
}

/// Messages the server sends.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// Built, serialised and dropped at once; never stored, so variant size does not matter.
#[allow(clippy::large_enum_variant)]
pub enum ServerMessage<'a> {
    Welcome {
        protocol: u32,
        event: EventInfo<'a>,
        you: You,
        /// The event's current sequence number.
        seq: u64,
        server_time: i64,
        /// When the event was closed (Unix ms): it then refuses every change.
        #[serde(skip_serializing_if = "Option::is_none")]
        closed_at: Option<i64>,
    },
    /// Full state for this client's role as of `seq`.
    Snapshot {
        seq: u64,
        questions: Vec<Question>,
        floor: Vec<FloorRequest>,
        #[serde(skip_serializing_if = "Option::is_none")]
        presence: Option<Vec<HallPresence>>,
    },
    /// One committed change as this client's role may see it.
    Change {
        seq: u64,
        at: i64,
        action: &'a str,
        by: &'a str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        questions: Vec<Question>,
        /// Questions this client no longer sees (reassigned elsewhere, say).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        removed: Vec<Uuid>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        floor: Vec<FloorRequest>,
        /// A backstage note (action `backstage_note`): moderators, follow-up,
        /// admins and the chair only.
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<&'a BackstageNote>,
    },
    Ack {
        req: &'a str,
        /// Sequence number of the change; absent for an idempotent retry.
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<Uuid>,
        /// Participant's receipt for a submitted question.
        #[serde(skip_serializing_if = "Option::is_none")]
        receipt: Option<String>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none")]
        req: Option<&'a str>,
        code: &'a str,
        message: String,
        message_en: String,
        /// For `conflict`: the question as it is now.
        #[serde(skip_serializing_if = "Option::is_none")]
        current: Option<Question>,
    },
    Presence {
        halls: Vec<HallPresence>,
    },
    /// The assistant's latest hints for some questions (moderator,
    /// follow-up, admin): sent after the change that made them, never inside it.
    Hints {
        hints: &'a [QuestionHints],
    },
    /// The suggested next questions (moderator, follow-up, admin, chair).
    Suggestions {
        #[serde(flatten)]
        suggestions: &'a crate::moderation::order::Suggestions,
    },
    Ping {
        seq: u64,
        t: i64,
    },
    Pong {
        seq: u64,
        t: i64,
    },
    /// The server is closing this connection; reconnect after `retry_ms` and resume.
    Bye {
        code: &'a str,
        message: &'a str,
        message_en: &'a str,
        retry_ms: u64,
    },
}

impl ServerMessage<'_> {
    /// Serialise to a JSON text frame. Our types always serialise; a failure
    /// would be a bug, reported as an internal error frame rather than a panic.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            tracing::error!(error = %e, "failed to serialise a server message");
            r#"{"type":"error","code":"internal","message":"Lỗi máy chủ","message_en":"internal error"}"#.to_string()
        })
    }
}
