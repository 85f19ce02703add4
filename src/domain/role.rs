//! Roles, the actor who performs a command, and what each role may see.
//!
//! Permissions for *commands* live next to the transitions in
//! `question.rs`; this file owns identity and the visibility rules that decide
//! which audience receives which projection of a question (personal data goes
//! only to moderators, follow-up officers and admins; DOMAIN.md).

use serde::{Deserialize, Serialize};

use super::question::{QState, Question};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Moderator,
    Chair,
    Speaker,
    HallOperator,
    Display,
    FollowUp,
    Participant,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::Moderator,
        Role::Chair,
        Role::Speaker,
        Role::HallOperator,
        Role::Display,
        Role::FollowUp,
        Role::Participant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Chair => "chair",
            Role::Speaker => "speaker",
            Role::HallOperator => "hall_operator",
            Role::Display => "display",
            Role::FollowUp => "follow_up",
            Role::Participant => "participant",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Roles that moderate the live queue.
    pub fn moderates(self) -> bool {
        matches!(self, Role::Admin | Role::Moderator)
    }

    /// Roles allowed to see questioners' personal data (DOMAIN.md).
    pub fn sees_personal_data(self) -> bool {
        matches!(self, Role::Admin | Role::Moderator | Role::FollowUp)
    }
}

/// Who performs a command: the role plus the hall or department it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub role: Role,
    /// The hall of a hall operator or of a single-hall display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall: Option<String>,
    /// The department of a speaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Human-readable, stable label recorded in the audit log ("moderator-2", "hall_operator:chau-doc").
    pub label: String,
}

impl Actor {
    pub fn new(role: Role, label: impl Into<String>) -> Self {
        Actor {
            role,
            hall: None,
            department: None,
            label: label.into(),
        }
    }
    pub fn with_hall(mut self, hall: impl Into<String>) -> Self {
        self.hall = Some(hall.into());
        self
    }
    pub fn with_department(mut self, department: impl Into<String>) -> Self {
        self.department = Some(department.into());
        self
    }
    pub fn audience(&self) -> Audience {
        match self.role {
            Role::Admin | Role::Moderator | Role::FollowUp => Audience::Full,
            Role::Chair => Audience::Staff,
            Role::Speaker => Audience::Speaker(self.department.clone().unwrap_or_default()),
            Role::HallOperator => Audience::Hall(self.hall.clone().unwrap_or_default()),
            Role::Display => Audience::Public,
            Role::Participant => Audience::Phone,
        }
    }
}

/// A class of subscribers that receive identical messages. The hub serialises
/// each change once per audience, never once per connection. (Serde only so
/// that the load generator can hand clients to its worker processes.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Audience {
    /// Everything, including personal data (moderator, follow-up, admin).
    Full,
    /// Everything except personal data (chair).
    Staff,
    /// One department's queue plus whatever is on air.
    Speaker(String),
    /// One hall's own questions plus whatever is on air.
    Hall(String),
    /// Approved questions without personal data (displays).
    Public,
    /// Only what is on air, without personal data (participants' phones: at
    /// 10,000 phones on 3G every approved question would be needless traffic).
    Phone,
}

impl Audience {
    /// Whether a question in this state is visible to the audience.
    pub fn sees(&self, q: &Question) -> bool {
        self.sees_as(q, q.state, q.department.as_deref())
    }

    /// Whether `q` would be visible if it were in `state` under `department`
    /// (used to tell an audience that a question left its view, without
    /// rebuilding the old question).
    pub fn sees_as(&self, q: &Question, state: QState, department: Option<&str>) -> bool {
        match self {
            Audience::Full | Audience::Staff => true,
            Audience::Speaker(dept) => {
                state == QState::OnAir || (department == Some(dept.as_str()) && state.is_routed())
            }
            Audience::Hall(hall) => {
                state == QState::OnAir || q.hall == *hall || q.halls.iter().any(|h| h == hall)
            }
            Audience::Public => state.is_public(),
            Audience::Phone => state == QState::OnAir,
        }
    }

    /// The projection of a question this audience may receive, or `None`.
    pub fn project(&self, q: &Question) -> Option<Question> {
        if !self.sees(q) {
            return None;
        }
        let mut view = match self {
            Audience::Full => q.for_wire(),
            Audience::Public | Audience::Phone => q.public_view(),
            _ => q.without_personal_data(),
        };
        view.display_name = q
            .questioner
            .as_ref()
            .filter(|p| p.show_name)
            .and_then(|p| p.name.clone());
        Some(view)
    }
}
