//! The question lifecycle of DOMAIN.md as a pure state machine.
//!
//! `apply` takes a read-only view of an event's current state, the acting
//! role and one command, and returns either the new snapshots of every entity
//! the command changes or a typed error. It performs no I/O and never mutates
//! its input, so the engine can validate a whole batch before committing it
//! and nothing is ever half-applied.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::DomainError;
use super::role::{Actor, Role};
use super::text;
use crate::event::EventConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QState {
    Pending,
    Approved,
    Rejected,
    Merged,
    Queued,
    OnAir,
    Answered,
    Deferred,
    AnswerDrafted,
    AnswerSent,
    Published,
}

impl QState {
    pub const ALL: [QState; 11] = [
        QState::Pending,
        QState::Approved,
        QState::Rejected,
        QState::Merged,
        QState::Queued,
        QState::OnAir,
        QState::Answered,
        QState::Deferred,
        QState::AnswerDrafted,
        QState::AnswerSent,
        QState::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            QState::Pending => "pending",
            QState::Approved => "approved",
            QState::Rejected => "rejected",
            QState::Merged => "merged",
            QState::Queued => "queued",
            QState::OnAir => "on_air",
            QState::Answered => "answered",
            QState::Deferred => "deferred",
            QState::AnswerDrafted => "answer_drafted",
            QState::AnswerSent => "answer_sent",
            QState::Published => "published",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            QState::Pending => "Chờ duyệt",
            QState::Approved => "Đã duyệt",
            QState::Rejected => "Từ chối",
            QState::Merged => "Đã gộp",
            QState::Queued => "Trong hàng chờ",
            QState::OnAir => "Đang trả lời",
            QState::Answered => "Đã trả lời tại chỗ",
            QState::Deferred => "Trả lời bằng văn bản",
            QState::AnswerDrafted => "Đã dự thảo trả lời",
            QState::AnswerSent => "Đã gửi trả lời",
            QState::Published => "Đã công bố",
        }
    }

    /// Assigned to a department (speaker sees it).
    pub fn is_routed(self) -> bool {
        matches!(
            self,
            QState::Queued
                | QState::OnAir
                | QState::Answered
                | QState::Deferred
                | QState::AnswerDrafted
                | QState::AnswerSent
                | QState::Published
        )
    }

    /// Visible to displays and participants (approved by a moderator).
    pub fn is_public(self) -> bool {
        self == QState::Approved || self.is_routed()
    }

    /// In the written follow-up track.
    pub fn is_deferred(self) -> bool {
        matches!(
            self,
            QState::Deferred | QState::AnswerDrafted | QState::AnswerSent | QState::Published
        )
    }

    /// Still open for live moderation (can be rejected, merged, edited).
    fn is_moderatable(self) -> bool {
        matches!(self, QState::Pending | QState::Approved | QState::Queued)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A participant's phone.
    Participant,
    /// Typed in by a hall operator from the floor of a hall.
    Hall,
    /// Entered by a moderator.
    Moderator,
    /// Collected beforehand ("thu thập trước") and imported.
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Participant => "participant",
            Source::Hall => "hall",
            Source::Moderator => "moderator",
            Source::Import => "import",
        }
    }
}

/// Personal data of the person who asked. Only moderators, follow-up officers
/// and admins ever receive it; it is stored apart from the change log so it
/// can be erased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Questioner {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<u8>,
    /// School or workplace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The questioner agreed that their name may be shown with the question.
    #[serde(default)]
    pub show_name: bool,
}

impl Questioner {
    fn cleaned(&self) -> Questioner {
        Questioner {
            name: text::clean_line_opt(self.name.as_deref()),
            age: self.age,
            organization: text::clean_line_opt(self.organization.as_deref()),
            phone: text::clean_line_opt(self.phone.as_deref()),
            show_name: self.show_name,
        }
    }
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.age.is_none()
            && self.organization.is_none()
            && self.phone.is_none()
    }
}

/// The written follow-up of a deferred question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub agency: String,
    /// Due date, `YYYY-MM-DD`.
    pub due: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub id: Uuid,
    /// The hall it was raised in (or the host hall for imports without one).
    pub hall: String,
    pub source: Source,
    /// Who collected it, e.g. "thu thập trước: Huyện đoàn Chợ Mới".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_note: Option<String>,
    pub text: String,
    /// The wording as submitted, kept once a moderator edits it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub state: QState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<Uuid>,
    /// How many people asked this (1 + merged duplicates).
    pub votes: u32,
    /// Other halls that asked the same, carried over by merges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub halls: Vec<String>,
    /// Position in its department's queue (ascending).
    #[serde(default)]
    pub queue_pos: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followup: Option<FollowUp>,
    /// Name shown with the question, only when the questioner consented.
    /// Never stored: derived from `questioner` when projecting for an audience,
    /// so erasing personal data erases it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub questioner: Option<Questioner>,
    /// The moderators' assistant's hints (src/moderation). Never stored:
    /// added when projecting for the full audience only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hints: Option<crate::moderation::Hints>,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_air_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<i64>,
    /// Label of who submitted it (a role slot, never a person's name).
    /// Omitted when empty (public projections clear it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub submitted_by: String,
    /// SHA-256 of the submitting phone's device id (participants only): a
    /// re-submission of the id gets the receipt again only from that device.
    /// Kept in the store, never sent to any client ([`Question::for_wire`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_key: Option<String>,
    /// Incremented on every change; commands carry the version they saw.
    pub version: u32,
    /// Set while merged: what the merge changed, so an `unmerge` can give it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_merge: Option<BeforeMerge>,
}

/// Kept on a merged question: its state before the merge and the questions
/// merged into it earlier that the merge carried on to the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeforeMerge {
    pub state: QState,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carried: Vec<Uuid>,
}

/// A short message from the podium (a speaker or the chair) to the
/// moderators: "Xin chuyển câu tiếp". Never shown to the public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackstageNote {
    pub id: Uuid,
    /// The seat that sent it ("speaker:gddt", "chair").
    pub from: String,
    pub text: String,
    /// Unix ms.
    pub at: i64,
}

/// Longest backstage note, in characters after NFC.
pub const MAX_NOTE_CHARS: usize = 140;

impl Question {
    pub fn without_personal_data(&self) -> Question {
        Question {
            questioner: None,
            hints: None,
            device_key: None,
            ..self.clone()
        }
    }

    /// The full view for staff who may see personal data: everything but
    /// the device key, which only the store keeps.
    pub fn for_wire(&self) -> Question {
        Question {
            device_key: None,
            ..self.clone()
        }
    }

    /// What displays and participants may see.
    pub fn public_view(&self) -> Question {
        let mut q = self.without_personal_data();
        q.original_text = None;
        q.before_merge = None;
        q.reject_reason = None;
        q.submitted_by = String::new();
        if let Some(f) = q.followup.as_mut() {
            if self.state != QState::Published {
                f.answer = None;
            }
            f.drafted_by = None;
            f.sent_by = None;
            f.published_by = None;
        }
        q
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FloorState {
    Requested,
    Granted,
    Declined,
    Done,
    Cancelled,
}

/// A hall asking for the floor: a youth there wants to speak live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloorRequest {
    pub id: Uuid,
    pub hall: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub state: FloorState,
    pub requested_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

/// A command that changes an event. Wire name = `type` tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    Submit {
        /// Client-generated; a retry with the same id never makes a duplicate.
        id: Uuid,
        text: String,
        #[serde(default)]
        hall: Option<String>,
        #[serde(default)]
        group: Option<String>,
        #[serde(default)]
        questioner: Option<Questioner>,
        /// Explicit consent to store the questioner's personal data.
        #[serde(default)]
        consent: bool,
        #[serde(default)]
        source_note: Option<String>,
        /// Set by the import path only; ignored from the wire.
        #[serde(default, skip)]
        imported: bool,
        /// The participant's device id, set by the transport (a WebSocket
        /// connection's hello, the HTTP body's `device`); ignored from a
        /// command's own fields.
        #[serde(default, skip)]
        device: Option<String>,
    },
    Approve {
        question: Uuid,
        version: u32,
    },
    Reject {
        question: Uuid,
        version: u32,
        reason: String,
    },
    Edit {
        question: Uuid,
        version: u32,
        text: String,
    },
    Merge {
        question: Uuid,
        version: u32,
        into: Uuid,
    },
    SetGroup {
        question: Uuid,
        version: u32,
        #[serde(default)]
        group: Option<String>,
    },
    Assign {
        question: Uuid,
        version: u32,
        department: String,
    },
    Reorder {
        department: String,
        order: Vec<Uuid>,
    },
    PutOnAir {
        question: Uuid,
        version: u32,
    },
    TakeOffAir {
        question: Uuid,
        version: u32,
    },
    MarkAnswered {
        question: Uuid,
        version: u32,
    },
    /// Undo: an answered question goes back to its department's queue, a
    /// rejected one back to pending.
    Reopen {
        question: Uuid,
        version: u32,
    },
    /// Undo a merge: `question` (the merged one, at `version`) gets back its
    /// state, votes and halls from the question it was merged into.
    Unmerge {
        question: Uuid,
        version: u32,
    },
    /// A speaker or the chair tells the moderators something (≤ 140 characters).
    BackstageNote {
        text: String,
    },
    Defer {
        question: Uuid,
        version: u32,
        #[serde(default)]
        agency: Option<String>,
        #[serde(default)]
        due: Option<String>,
    },
    /// Follow-up officer: change agency or due date, or save a draft answer.
    UpdateFollowUp {
        question: Uuid,
        version: u32,
        #[serde(default)]
        agency: Option<String>,
        #[serde(default)]
        due: Option<String>,
        #[serde(default)]
        answer: Option<String>,
    },
    MarkSent {
        question: Uuid,
        version: u32,
    },
    Publish {
        question: Uuid,
        version: u32,
    },
    RequestFloor {
        id: Uuid,
        #[serde(default)]
        note: Option<String>,
    },
    CancelFloor {
        request: Uuid,
    },
    GrantFloor {
        request: Uuid,
    },
    DeclineFloor {
        request: Uuid,
    },
    EndFloor {
        request: Uuid,
    },
    /// A participant's "Tôi cũng muốn hỏi": once per device per question.
    Vote {
        question: Uuid,
        /// The phone's device id, from its hello (WebSocket) or the request
        /// body (HTTP); never taken from the command itself.
        #[serde(default, skip)]
        device: String,
    },
}

impl Command {
    pub fn action(&self) -> &'static str {
        match self {
            Command::Submit { .. } => "submit",
            Command::Approve { .. } => "approve",
            Command::Reject { .. } => "reject",
            Command::Edit { .. } => "edit",
            Command::Merge { .. } => "merge",
            Command::SetGroup { .. } => "set_group",
            Command::Assign { .. } => "assign",
            Command::Reorder { .. } => "reorder",
            Command::PutOnAir { .. } => "put_on_air",
            Command::TakeOffAir { .. } => "take_off_air",
            Command::MarkAnswered { .. } => "mark_answered",
            Command::Reopen { .. } => "reopen",
            Command::Unmerge { .. } => "unmerge",
            Command::BackstageNote { .. } => "backstage_note",
            Command::Defer { .. } => "defer",
            Command::UpdateFollowUp { .. } => "update_follow_up",
            Command::MarkSent { .. } => "mark_sent",
            Command::Publish { .. } => "publish",
            Command::RequestFloor { .. } => "request_floor",
            Command::CancelFloor { .. } => "cancel_floor",
            Command::GrantFloor { .. } => "grant_floor",
            Command::DeclineFloor { .. } => "decline_floor",
            Command::EndFloor { .. } => "end_floor",
            Command::Vote { .. } => "vote",
        }
    }
}

/// One question changed by a command: its state before (None when new) and its new snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionUpdate {
    pub from: Option<QState>,
    /// For a vote: who voted (a hash of the device id, [`voter_key`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voter: Option<String>,
    /// Department before the change, so audiences that lose sight of it are told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_department: Option<String>,
    pub question: Question,
}

/// What a valid command does. Empty `questions` and `floor` mean "nothing to
/// commit" (an idempotent retry).
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub action: &'static str,
    pub questions: Vec<QuestionUpdate>,
    pub floor: Vec<FloorRequest>,
    pub notes: Vec<BackstageNote>,
    /// Set when a submission with this id already exists.
    pub duplicate_of: Option<Uuid>,
}

impl Outcome {
    pub fn is_noop(&self) -> bool {
        self.questions.is_empty() && self.floor.is_empty() && self.notes.is_empty()
    }
}

/// Read-only access to an event's state as the engine sees it (possibly with
/// uncommitted changes of earlier commands of the same batch layered on top).
pub trait View {
    fn question(&self, id: &Uuid) -> Option<&Question>;
    fn floor_request(&self, id: &Uuid) -> Option<&FloorRequest>;
    /// Every question (order unspecified).
    fn questions(&self) -> Vec<&Question>;
    /// Every floor request (order unspecified).
    fn floor_requests(&self) -> Vec<&FloorRequest>;
    /// Whether `voter` ([`voter_key`]) already voted for `question`.
    fn has_voted(&self, _question: &Uuid, _voter: &str) -> bool {
        false
    }
}

/// What is kept of a device that voted: a hash, so the log and the votes
/// table hold no id a phone could be recognised by elsewhere.
pub fn voter_key(event: &str, device: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{event}\n{device}").as_bytes());
    hex::encode(&digest[..16])
}

/// Who does it, when, and under which event's rules.
pub struct Ctx<'a> {
    pub event: &'a EventConfig,
    pub actor: &'a Actor,
    /// Unix milliseconds.
    pub now: i64,
}

pub fn apply(view: &dyn View, ctx: &Ctx, cmd: &Command) -> Result<Outcome, DomainError> {
    let action = cmd.action();
    let mut out = Outcome {
        action,
        questions: Vec::new(),
        floor: Vec::new(),
        notes: Vec::new(),
        duplicate_of: None,
    };
    let actor = ctx.actor;
    match cmd {
        Command::Submit {
            id,
            text: body,
            hall,
            group,
            questioner,
            consent,
            source_note,
            imported,
            device,
        } => {
            let source = match actor.role {
                Role::Participant => Source::Participant,
                Role::HallOperator => Source::Hall,
                Role::Moderator | Role::Admin if *imported => Source::Import,
                Role::Moderator | Role::Admin => Source::Moderator,
                _ => return Err(DomainError::Forbidden),
            };
            let body = checked_text(ctx, body)?;
            let device_key = match source {
                Source::Participant => device.as_deref().map(device_key),
                _ => None,
            };
            if let Some(existing) = view.question(id) {
                // The same asker retrying (a lost ack, an offline outbox) gets
                // the receipt again; anyone else who learnt the id (displays
                // show it) gets nothing (docs/PROTOCOL.md, `submit`).
                let asked = existing.original_text.as_deref().unwrap_or(&existing.text);
                let same_text = match source {
                    // An import's id is derived from the row's duplicate key
                    // (import.rs): a re-sent file with other tone placement
                    // or punctuation is the same row.
                    Source::Import => text::duplicate_key(asked) == text::duplicate_key(&body),
                    _ => asked == body,
                };
                let same_asker = match source {
                    Source::Participant => {
                        device_key.is_some() && existing.device_key == device_key
                    }
                    Source::Hall => existing.submitted_by == actor.label,
                    Source::Moderator | Source::Import => true,
                };
                if !(same_text && same_asker) {
                    return Err(DomainError::Duplicate);
                }
                out.duplicate_of = Some(existing.id);
                return Ok(out);
            }
            let hall = match actor.role {
                Role::HallOperator => {
                    let own = actor.hall.clone().ok_or(DomainError::Forbidden)?;
                    // An operator files questions for their own hall only.
                    match hall.as_deref().map(text::clean_line) {
                        Some(h) if !h.is_empty() && h != own => return Err(DomainError::Forbidden),
                        _ => own,
                    }
                }
                _ => match hall.as_deref().map(text::clean_line) {
                    Some(h) if !h.is_empty() => h,
                    _ => ctx.event.host_hall().to_string(),
                },
            };
            if !ctx.event.has_hall(&hall) {
                return Err(DomainError::UnknownHall(hall));
            }
            let group = checked_group(ctx, group.as_deref())?;
            let questioner = questioner
                .as_ref()
                .map(Questioner::cleaned)
                .filter(|q| !q.is_empty());
            if questioner.is_some() && !consent {
                return Err(DomainError::ConsentRequired);
            }
            if let Some(q) = &questioner {
                check_opt_len(&q.name, text::MAX_NAME_CHARS)?;
                check_opt_len(&q.organization, text::MAX_ORGANIZATION_CHARS)?;
                check_opt_len(&q.phone, text::MAX_PHONE_CHARS)?;
            }
            let source_note = match source {
                Source::Import | Source::Moderator => text::clean_line_opt(source_note.as_deref()),
                _ => None,
            };
            check_opt_len(&source_note, text::MAX_NOTE_CHARS)?;
            out.questions.push(QuestionUpdate {
                from: None,
                voter: None,
                from_department: None,
                question: Question {
                    id: *id,
                    hall,
                    source,
                    source_note,
                    text: body,
                    original_text: None,
                    group,
                    department: None,
                    state: QState::Pending,
                    reject_reason: None,
                    merged_into: None,
                    merged_from: Vec::new(),
                    votes: 1,
                    halls: Vec::new(),
                    queue_pos: 0,
                    followup: None,
                    display_name: None,
                    questioner,
                    hints: None,
                    created_at: ctx.now,
                    updated_at: ctx.now,
                    on_air_at: None,
                    answered_at: None,
                    submitted_by: actor.label.clone(),
                    device_key,
                    version: 1,
                    before_merge: None,
                },
            });
        }
        Command::Approve { question, version } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::Pending])?;
            let mut next = q.clone();
            next.state = QState::Approved;
            push(&mut out, q, next, ctx.now);
        }
        Command::Reject {
            question,
            version,
            reason,
        } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_moderatable(q, action)?;
            let reason = text::clean(reason);
            if reason.is_empty() {
                return Err(DomainError::ReasonRequired);
            }
            check_len(&reason, text::MAX_REASON_CHARS)?;
            let mut next = q.clone();
            next.state = QState::Rejected;
            next.reject_reason = Some(reason);
            push(&mut out, q, next, ctx.now);
        }
        Command::Edit {
            question,
            version,
            text: body,
        } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_state(
                q,
                action,
                &[
                    QState::Pending,
                    QState::Approved,
                    QState::Queued,
                    QState::OnAir,
                ],
            )?;
            let body = checked_text(ctx, body)?;
            let mut next = q.clone();
            if next.original_text.is_none() && body != q.text {
                next.original_text = Some(q.text.clone());
            }
            next.text = body;
            push(&mut out, q, next, ctx.now);
        }
        Command::Merge {
            question,
            version,
            into,
        } => {
            require_moderator(actor)?;
            if question == into {
                return Err(DomainError::MergeIntoSelf);
            }
            let source = current(view, question, *version)?;
            require_moderatable(source, action)?;
            let target = view.question(into).ok_or(DomainError::NotFound)?;
            if matches!(target.state, QState::Rejected | QState::Merged) {
                return Err(DomainError::InvalidTransition {
                    action,
                    from: target.state,
                });
            }
            let mut merged = source.clone();
            merged.state = QState::Merged;
            merged.merged_into = Some(target.id);
            let mut grown = target.clone();
            grown.votes += source.votes;
            for hall in std::iter::once(&source.hall).chain(source.halls.iter()) {
                if *hall != grown.hall && !grown.halls.contains(hall) {
                    grown.halls.push(hall.clone());
                }
            }
            grown.merged_from.push(source.id);
            // Questions merged into the source earlier follow it to the target,
            // so no merged question ever points at another merged question.
            let mut moved = Vec::new();
            merged
                .merged_from
                .retain(|child| match view.question(child) {
                    Some(c) if c.merged_into == Some(source.id) => {
                        let mut next = c.clone();
                        next.merged_into = Some(target.id);
                        moved.push((c, next));
                        false
                    }
                    _ => true,
                });
            for (c, _) in &moved {
                if !grown.merged_from.contains(&c.id) {
                    grown.merged_from.push(c.id);
                }
            }
            merged.before_merge = Some(BeforeMerge {
                state: source.state,
                carried: moved.iter().map(|(c, _)| c.id).collect(),
            });
            push(&mut out, source, merged, ctx.now);
            push(&mut out, target, grown, ctx.now);
            for (c, next) in moved {
                push(&mut out, c, next, ctx.now);
            }
        }
        Command::SetGroup {
            question,
            version,
            group,
        } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_not_closed(q, action)?;
            let mut next = q.clone();
            next.group = checked_group(ctx, group.as_deref())?;
            push(&mut out, q, next, ctx.now);
        }
        Command::Assign {
            question,
            version,
            department,
        } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::Approved, QState::Queued])?;
            if !ctx.event.has_department(department) {
                return Err(DomainError::UnknownDepartment(department.clone()));
            }
            let mut next = q.clone();
            if q.department.as_deref() != Some(department.as_str()) || q.state != QState::Queued {
                next.queue_pos = last_queue_pos(view, department) + 1;
            }
            next.department = Some(department.clone());
            next.state = QState::Queued;
            push(&mut out, q, next, ctx.now);
        }
        Command::Reorder { department, order } => {
            require_moderator(actor)?;
            if !ctx.event.has_department(department) {
                return Err(DomainError::UnknownDepartment(department.clone()));
            }
            let mut queued: Vec<&Question> = view
                .questions()
                .into_iter()
                .filter(|q| {
                    q.state == QState::Queued && q.department.as_deref() == Some(department)
                })
                .collect();
            queued.sort_by_key(|q| q.id);
            let mut wanted = order.clone();
            wanted.sort();
            wanted.dedup();
            if wanted.len() != order.len()
                || wanted != queued.iter().map(|q| q.id).collect::<Vec<_>>()
            {
                return Err(DomainError::StaleOrder);
            }
            for (pos, id) in order.iter().enumerate() {
                let q = view.question(id).ok_or(DomainError::NotFound)?;
                let pos = pos as i64 + 1;
                if q.queue_pos != pos {
                    let mut next = q.clone();
                    next.queue_pos = pos;
                    push(&mut out, q, next, ctx.now);
                }
            }
        }
        Command::PutOnAir { question, version } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::Queued])?;
            if let Some(other) = view
                .questions()
                .into_iter()
                .find(|o| o.state == QState::OnAir)
            {
                return Err(DomainError::OnAirBusy(other.id));
            }
            let mut next = q.clone();
            next.state = QState::OnAir;
            next.on_air_at = Some(ctx.now);
            push(&mut out, q, next, ctx.now);
        }
        Command::TakeOffAir { question, version } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::OnAir])?;
            let mut next = q.clone();
            next.state = QState::Queued;
            // Back to its old place unless the queue was reordered or grew meanwhile
            // and another queued question now holds that position: then to the end.
            if let Some(dept) = q.department.as_deref() {
                let taken = view.questions().into_iter().any(|o| {
                    o.id != q.id
                        && o.state == QState::Queued
                        && o.department.as_deref() == Some(dept)
                        && o.queue_pos == q.queue_pos
                });
                if taken {
                    next.queue_pos = last_queue_pos(view, dept) + 1;
                }
            }
            push(&mut out, q, next, ctx.now);
        }
        Command::MarkAnswered { question, version } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::OnAir, QState::Queued])?;
            let mut next = q.clone();
            next.state = QState::Answered;
            next.answered_at = Some(ctx.now);
            push(&mut out, q, next, ctx.now);
        }
        Command::Reopen { question, version } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::Answered, QState::Rejected])?;
            let mut next = q.clone();
            if q.state == QState::Answered {
                let dept = q
                    .department
                    .as_deref()
                    .ok_or(DomainError::InvalidTransition {
                        action,
                        from: q.state,
                    })?;
                next.state = QState::Queued;
                next.answered_at = None;
                next.queue_pos = free_queue_pos(view, q, dept);
            } else {
                // The log keeps the reason; the question no longer carries it.
                next.state = QState::Pending;
                next.reject_reason = None;
            }
            push(&mut out, q, next, ctx.now);
        }
        Command::Unmerge { question, version } => {
            require_moderator(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::Merged])?;
            unmerge(view, q, ctx, &mut out)?;
        }
        Command::BackstageNote { text: body } => {
            if !matches!(actor.role, Role::Speaker | Role::Chair) {
                return Err(DomainError::Forbidden);
            }
            let body = text::clean(body);
            if body.is_empty() {
                return Err(DomainError::EmptyText);
            }
            check_len(&body, MAX_NOTE_CHARS)?;
            // Deterministic, so the domain stays pure: the same seat sending the
            // same words in the same millisecond is one note.
            let key = format!("{}\n{}\n{}", actor.label, ctx.now, body);
            out.notes.push(BackstageNote {
                id: Uuid::new_v5(&Uuid::NAMESPACE_OID, key.as_bytes()),
                from: actor.label.clone(),
                text: body,
                at: ctx.now,
            });
        }
        Command::Defer {
            question,
            version,
            agency,
            due,
        } => {
            // Role and department first: a stale version must not hand the
            // current question (with personal data) to someone who may not defer it.
            match actor.role {
                Role::Moderator | Role::Admin => {}
                Role::Speaker => {
                    let seen = view.question(question).ok_or(DomainError::NotFound)?;
                    if seen.department.is_none() || seen.department != actor.department {
                        return Err(DomainError::Forbidden);
                    }
                }
                _ => return Err(DomainError::Forbidden),
            }
            let q = current(view, question, *version)?;
            let agency = match actor.role {
                Role::Moderator | Role::Admin => {
                    require_state(
                        q,
                        action,
                        &[QState::Approved, QState::Queued, QState::OnAir],
                    )?;
                    text::clean_line_opt(agency.as_deref()).ok_or(DomainError::AgencyRequired)?
                }
                // A speaker flags "will answer in writing" for their own department's question.
                Role::Speaker => {
                    if q.department.is_none() || q.department != actor.department {
                        return Err(DomainError::Forbidden);
                    }
                    require_state(q, action, &[QState::Queued, QState::OnAir])?;
                    match text::clean_line_opt(agency.as_deref()) {
                        Some(a) => a,
                        None => ctx
                            .event
                            .department_name(q.department.as_deref().unwrap_or_default())
                            .to_string(),
                    }
                }
                _ => return Err(DomainError::Forbidden),
            };
            check_len(&agency, text::MAX_AGENCY_CHARS)?;
            let due = match due {
                Some(d) => checked_date(d)?,
                None => ctx.event.default_due_date(ctx.now),
            };
            let mut next = q.clone();
            next.state = QState::Deferred;
            next.followup = Some(FollowUp {
                agency,
                due,
                answer: None,
                drafted_at: None,
                drafted_by: None,
                sent_at: None,
                sent_by: None,
                published_at: None,
                published_by: None,
            });
            push(&mut out, q, next, ctx.now);
        }
        Command::UpdateFollowUp {
            question,
            version,
            agency,
            due,
            answer,
        } => {
            require_follow_up(actor)?;
            let q = current(view, question, *version)?;
            require_state(
                q,
                action,
                &[QState::Deferred, QState::AnswerDrafted, QState::AnswerSent],
            )?;
            let mut next = q.clone();
            let f = next
                .followup
                .as_mut()
                .ok_or(DomainError::InvalidTransition {
                    action,
                    from: q.state,
                })?;
            if let Some(a) = agency {
                let a = text::clean_line(a);
                if a.is_empty() {
                    return Err(DomainError::AgencyRequired);
                }
                check_len(&a, text::MAX_AGENCY_CHARS)?;
                f.agency = a;
            }
            if let Some(d) = due {
                f.due = checked_date(d)?;
            }
            if let Some(a) = answer {
                let a = text::clean(a);
                if a.is_empty() {
                    return Err(DomainError::EmptyText);
                }
                check_len(&a, text::MAX_ANSWER_CHARS)?;
                f.answer = Some(a);
                f.drafted_at = Some(ctx.now);
                f.drafted_by = Some(actor.label.clone());
                if next.state == QState::Deferred {
                    next.state = QState::AnswerDrafted;
                }
            }
            push(&mut out, q, next, ctx.now);
        }
        Command::MarkSent { question, version } => {
            require_follow_up(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::AnswerDrafted])?;
            let mut next = q.clone();
            next.state = QState::AnswerSent;
            if let Some(f) = next.followup.as_mut() {
                f.sent_at = Some(ctx.now);
                f.sent_by = Some(actor.label.clone());
            }
            push(&mut out, q, next, ctx.now);
        }
        Command::Publish { question, version } => {
            require_follow_up(actor)?;
            let q = current(view, question, *version)?;
            require_state(q, action, &[QState::AnswerSent])?;
            let mut next = q.clone();
            next.state = QState::Published;
            if let Some(f) = next.followup.as_mut() {
                f.published_at = Some(ctx.now);
                f.published_by = Some(actor.label.clone());
            }
            push(&mut out, q, next, ctx.now);
        }
        Command::RequestFloor { id, note } => {
            if actor.role != Role::HallOperator {
                return Err(DomainError::Forbidden);
            }
            let hall = actor.hall.clone().ok_or(DomainError::Forbidden)?;
            if let Some(existing) = view.floor_request(id) {
                if existing.hall != hall {
                    return Err(DomainError::Forbidden);
                }
                out.duplicate_of = Some(existing.id);
                return Ok(out);
            }
            if view.floor_requests().into_iter().any(|f| {
                f.hall == hall && matches!(f.state, FloorState::Requested | FloorState::Granted)
            }) {
                return Err(DomainError::FloorAlreadyRequested);
            }
            let note = text::clean_line_opt(note.as_deref());
            check_opt_len(&note, text::MAX_NOTE_CHARS)?;
            out.floor.push(FloorRequest {
                id: *id,
                hall,
                note,
                state: FloorState::Requested,
                requested_at: ctx.now,
                decided_at: None,
                decided_by: None,
            });
        }
        Command::CancelFloor { request } => {
            let f = view.floor_request(request).ok_or(DomainError::NotFound)?;
            let own_hall =
                actor.role == Role::HallOperator && actor.hall.as_deref() == Some(f.hall.as_str());
            if !(own_hall || actor.role.moderates()) {
                return Err(DomainError::Forbidden);
            }
            out.floor.push(decide_floor(
                f,
                &[FloorState::Requested],
                FloorState::Cancelled,
                ctx,
            )?);
        }
        Command::GrantFloor { request } => {
            require_moderator(actor)?;
            let f = view.floor_request(request).ok_or(DomainError::NotFound)?;
            let granted = decide_floor(f, &[FloorState::Requested], FloorState::Granted, ctx)?;
            // One hall speaks at a time: granting ends whoever had the floor.
            for speaking in view.floor_requests() {
                if speaking.state == FloorState::Granted {
                    out.floor.push(decide_floor(
                        speaking,
                        &[FloorState::Granted],
                        FloorState::Done,
                        ctx,
                    )?);
                }
            }
            out.floor.push(granted);
        }
        Command::DeclineFloor { request } => {
            require_moderator(actor)?;
            let f = view.floor_request(request).ok_or(DomainError::NotFound)?;
            out.floor.push(decide_floor(
                f,
                &[FloorState::Requested],
                FloorState::Declined,
                ctx,
            )?);
        }
        Command::Vote { question, device } => {
            if actor.role != Role::Participant {
                return Err(DomainError::Forbidden);
            }
            let device = text::clean(device);
            if device.is_empty() || device.chars().count() > 128 {
                return Err(DomainError::DeviceRequired);
            }
            let q = view.question(question).ok_or(DomainError::NotFound)?;
            require_state(
                q,
                action,
                &[QState::Approved, QState::Queued, QState::OnAir],
            )?;
            let voter = voter_key(&ctx.event.id, &device);
            if view.has_voted(question, &voter) {
                out.duplicate_of = Some(q.id);
                return Ok(out);
            }
            // A vote is not an edit: the version stays, so a moderator
            // working on a popular question is not interrupted by conflicts.
            let mut next = q.clone();
            next.votes += 1;
            out.questions.push(QuestionUpdate {
                from: Some(q.state),
                voter: Some(voter),
                from_department: q.department.clone(),
                question: next,
            });
        }
        Command::EndFloor { request } => {
            require_moderator(actor)?;
            let f = view.floor_request(request).ok_or(DomainError::NotFound)?;
            out.floor.push(decide_floor(
                f,
                &[FloorState::Granted],
                FloorState::Done,
                ctx,
            )?);
        }
    }
    Ok(out)
}

/// Record `next` as the new version of `before`, unless the command changed
/// nothing: a no-op (the same text saved again, the same department chosen)
/// commits nothing, bumps no version and so makes nobody else's edit conflict.
fn push(out: &mut Outcome, before: &Question, mut next: Question, now: i64) {
    if next == *before {
        return;
    }
    next.version = before.version + 1;
    next.updated_at = now;
    out.questions.push(QuestionUpdate {
        from: Some(before.state),
        voter: None,
        from_department: before.department.clone(),
        question: next,
    });
}

fn current<'a>(view: &'a dyn View, id: &Uuid, version: u32) -> Result<&'a Question, DomainError> {
    let q = view.question(id).ok_or(DomainError::NotFound)?;
    if q.version != version {
        return Err(DomainError::Conflict(Box::new(q.clone())));
    }
    Ok(q)
}

fn require_moderator(actor: &Actor) -> Result<(), DomainError> {
    if actor.role.moderates() {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

fn require_follow_up(actor: &Actor) -> Result<(), DomainError> {
    match actor.role {
        Role::FollowUp | Role::Admin | Role::Moderator => Ok(()),
        _ => Err(DomainError::Forbidden),
    }
}

fn require_state(
    q: &Question,
    action: &'static str,
    allowed: &[QState],
) -> Result<(), DomainError> {
    if allowed.contains(&q.state) {
        Ok(())
    } else {
        Err(DomainError::InvalidTransition {
            action,
            from: q.state,
        })
    }
}

fn require_moderatable(q: &Question, action: &'static str) -> Result<(), DomainError> {
    if q.state.is_moderatable() {
        Ok(())
    } else {
        Err(DomainError::InvalidTransition {
            action,
            from: q.state,
        })
    }
}

fn require_not_closed(q: &Question, action: &'static str) -> Result<(), DomainError> {
    if matches!(q.state, QState::Rejected | QState::Merged) {
        Err(DomainError::InvalidTransition {
            action,
            from: q.state,
        })
    } else {
        Ok(())
    }
}

fn decide_floor(
    f: &FloorRequest,
    from: &[FloorState],
    to: FloorState,
    ctx: &Ctx,
) -> Result<FloorRequest, DomainError> {
    if !from.contains(&f.state) {
        return Err(DomainError::FloorNotOpen);
    }
    let mut next = f.clone();
    next.state = to;
    next.decided_at = Some(ctx.now);
    next.decided_by = Some(ctx.actor.label.clone());
    Ok(next)
}

fn checked_text(ctx: &Ctx, body: &str) -> Result<String, DomainError> {
    let body = text::clean(body);
    if body.is_empty() {
        return Err(DomainError::EmptyText);
    }
    let max = ctx.event.max_question_chars;
    if text::char_len(&body) > max {
        return Err(DomainError::TextTooLong(max));
    }
    Ok(body)
}

fn check_len(s: &str, max: usize) -> Result<(), DomainError> {
    if text::char_len(s) > max {
        Err(DomainError::FieldTooLong)
    } else {
        Ok(())
    }
}

fn check_opt_len(s: &Option<String>, max: usize) -> Result<(), DomainError> {
    s.as_deref().map_or(Ok(()), |s| check_len(s, max))
}

/// What a question keeps of its phone's device id: a hash, enough to
/// recognise the same device again.
fn device_key(device: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(device.as_bytes())[..16])
}

fn checked_group(ctx: &Ctx, group: Option<&str>) -> Result<Option<String>, DomainError> {
    match text::clean_line_opt(group) {
        None => Ok(None),
        Some(g) if ctx.event.has_group(&g) => Ok(Some(g)),
        Some(g) => Err(DomainError::UnknownGroup(g)),
    }
}

fn checked_date(d: &str) -> Result<String, DomainError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(d.trim(), format)
        .map(|_| d.trim().to_string())
        .map_err(|_| DomainError::InvalidDate(d.to_string()))
}

fn last_queue_pos(view: &dyn View, department: &str) -> i64 {
    view.questions()
        .into_iter()
        .filter(|q| q.department.as_deref() == Some(department) && q.state == QState::Queued)
        .map(|q| q.queue_pos)
        .max()
        .unwrap_or(0)
}

/// `q`'s own queue position in `department` if no other queued question
/// holds it now, else the end of the queue.
fn free_queue_pos(view: &dyn View, q: &Question, department: &str) -> i64 {
    let taken = view.questions().into_iter().any(|o| {
        o.id != q.id
            && o.state == QState::Queued
            && o.department.as_deref() == Some(department)
            && o.queue_pos == q.queue_pos
    });
    if taken || q.queue_pos <= 0 {
        last_queue_pos(view, department) + 1
    } else {
        q.queue_pos
    }
}

/// Give a merged question back its life: its state before the merge, the
/// questions the merge carried along (if they still sit with the target),
/// their votes, and the halls only they brought to the target.
fn unmerge(view: &dyn View, q: &Question, ctx: &Ctx, out: &mut Outcome) -> Result<(), DomainError> {
    let action = "unmerge";
    let target_id = q.merged_into.ok_or(DomainError::InvalidTransition {
        action,
        from: q.state,
    })?;
    let target = view.question(&target_id).ok_or(DomainError::NotFound)?;
    // Merged before undo existed: nothing recorded, so it starts over as pending.
    let before = q.before_merge.clone().unwrap_or(BeforeMerge {
        state: QState::Pending,
        carried: Vec::new(),
    });
    let (returning, stayed): (Vec<&Question>, Vec<&Question>) = before
        .carried
        .iter()
        .filter_map(|id| view.question(id))
        .partition(|c| c.state == QState::Merged && c.merged_into == Some(target_id));
    let stayed_votes: u32 = stayed.iter().map(|c| c.votes).sum();

    let mut back = q.clone();
    back.state = match (before.state, back.department.as_deref()) {
        (QState::Queued, Some(dept)) => {
            back.queue_pos = free_queue_pos(view, q, dept);
            QState::Queued
        }
        (QState::Queued, None) => QState::Approved,
        (state, _) => state,
    };
    back.merged_into = None;
    back.before_merge = None;
    back.votes = q.votes.saturating_sub(stayed_votes).max(1);
    for c in &returning {
        if !back.merged_from.contains(&c.id) {
            back.merged_from.push(c.id);
        }
    }
    back.halls.retain(|h| {
        !stayed.iter().any(|c| brings(c, h))
            || back
                .merged_from
                .iter()
                .any(|id| view.question(id).is_some_and(|c| brings(c, h)))
    });

    let mut shrunk = target.clone();
    shrunk.votes = target.votes.saturating_sub(back.votes).max(1);
    shrunk
        .merged_from
        .retain(|id| *id != q.id && !returning.iter().any(|c| c.id == *id));
    // Halls this question or its returning children brought leave the
    // target, unless another question still merged into it brings them too.
    shrunk.halls.retain(|h| {
        let ours = brings(q, h) || returning.iter().any(|c| brings(c, h));
        !ours
            || shrunk
                .merged_from
                .iter()
                .any(|id| view.question(id).is_some_and(|c| brings(c, h)))
    });

    // Others merged into the target that carried this question (or those
    // returning with it) along with their own merge no longer do: were they
    // unmerged later, they would otherwise take back votes and halls that
    // are no longer theirs to give, or take a question re-merged since.
    let leaving: Vec<&Question> = std::iter::once(q)
        .chain(returning.iter().copied())
        .collect();
    let mut siblings: Vec<&Question> = view
        .questions()
        .into_iter()
        .filter(|s| s.merged_into == Some(target_id) && !leaving.iter().any(|l| l.id == s.id))
        .collect();
    siblings.sort_by_key(|s| s.id);
    let mut carriers = Vec::new();
    for s in siblings {
        let Some(held) = &s.before_merge else {
            continue;
        };
        let carried: Vec<&Question> = if held.carried.contains(&q.id) {
            vec![&back]
        } else {
            returning
                .iter()
                .copied()
                .filter(|c| held.carried.contains(&c.id))
                .collect()
        };
        if carried.is_empty() {
            continue;
        }
        let mut next = s.clone();
        next.votes = s
            .votes
            .saturating_sub(carried.iter().map(|c| c.votes).sum())
            .max(1);
        let kept: Vec<Uuid> = held
            .carried
            .iter()
            .filter(|id| !leaving.iter().any(|l| l.id == **id))
            .copied()
            .collect();
        next.halls.retain(|h| {
            !carried.iter().any(|c| brings(c, h))
                || kept
                    .iter()
                    .any(|id| view.question(id).is_some_and(|c| brings(c, h)))
        });
        next.before_merge = Some(BeforeMerge {
            carried: kept,
            ..held.clone()
        });
        carriers.push((s, next));
    }

    push(out, q, back, ctx.now);
    push(out, target, shrunk, ctx.now);
    for c in returning {
        let mut next = c.clone();
        next.merged_into = Some(q.id);
        push(out, c, next, ctx.now);
    }
    for (s, next) in carriers {
        push(out, s, next, ctx.now);
    }
    Ok(())
}

/// Whether question `c` (with what was merged into it) was asked in hall `h`.
fn brings(c: &Question, h: &str) -> bool {
    c.hall == h || c.halls.iter().any(|x| x == h)
}
