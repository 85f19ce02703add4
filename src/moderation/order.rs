//! A fair running order: which queued question to take next, per
//! department and overall.
//!
//! Every hall gets its turn before any hall gets a second: among the queued
//! questions, those from the halls heard least so far come first (a hall is
//! heard when a question it asked, or asked too through a merge, went on
//! air). Among equals, a question scores by how many asked it (votes), how
//! long it has waited, and whether its issue group has been heard less than
//! the others. The answer is a suggestion with its reason, in Vietnamese and
//! English; the moderator decides.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use uuid::Uuid;

use crate::domain::{QState, Question};
use crate::event::EventConfig;

/// One suggested question and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub question: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub reason: String,
    pub reason_en: String,
}

/// The `suggestions` frame's body (WIRE.md C).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Suggestions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overall: Option<Suggestion>,
    pub departments: BTreeMap<String, Suggestion>,
}

/// Points per extra vote, per minute waited, and for an issue group heard
/// less than the most-heard one (per question of difference).
const PER_VOTE: f64 = 3.0;
const PER_MINUTE: f64 = 0.5;
const PER_GROUP_GAP: f64 = 2.0;

/// The suggestions for `questions` (the whole event) at `now`.
pub fn suggest<'a>(
    event: &EventConfig,
    questions: impl IntoIterator<Item = &'a Question>,
    now: i64,
) -> Suggestions {
    let mut heard: HashMap<&str, u32> = HashMap::new();
    let mut groups_heard: HashMap<&str, u32> = HashMap::new();
    let mut queued: Vec<&Question> = Vec::new();
    for q in questions {
        if q.on_air_at.is_some() && q.state != QState::Queued {
            for hall in std::iter::once(&q.hall).chain(&q.halls) {
                *heard.entry(hall.as_str()).or_default() += 1;
            }
            if let Some(g) = &q.group {
                *groups_heard.entry(g.as_str()).or_default() += 1;
            }
        }
        if q.state == QState::Queued {
            queued.push(q);
        }
    }
    let most_heard_group = groups_heard.values().copied().max().unwrap_or(0);
    let hall_turns = |q: &Question| heard.get(q.hall.as_str()).copied().unwrap_or(0);
    let score = |q: &Question| {
        let votes = f64::from(q.votes.saturating_sub(1)) * PER_VOTE;
        let waited = (now - q.created_at).max(0) as f64 / 60_000.0 * PER_MINUTE;
        let group = q
            .group
            .as_deref()
            .map(|g| most_heard_group - groups_heard.get(g).copied().unwrap_or(0))
            .unwrap_or(0);
        votes + waited + f64::from(group) * PER_GROUP_GAP
    };
    // Fewest turns first, then the highest score, then the department's own order.
    let better = |a: &&Question, b: &&Question| {
        hall_turns(a)
            .cmp(&hall_turns(b))
            .then(score(b).total_cmp(&score(a)))
            .then(a.queue_pos.cmp(&b.queue_pos))
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    };
    let explain = |q: &Question| -> Suggestion {
        let hall = event.hall_name(&q.hall);
        let (reason, reason_en) = match hall_turns(q) {
            0 => (
                format!("{hall} chưa được hỏi"),
                format!("{hall} has not been heard yet"),
            ),
            _ if q.votes > 1 => (
                format!("{} người cùng hỏi", q.votes),
                format!("{} people asked this", q.votes),
            ),
            n => (
                format!("{hall} mới được hỏi {n} lần; câu chờ lâu nhất"),
                format!("{hall} heard {n} times so far; waited longest"),
            ),
        };
        Suggestion {
            question: q.id,
            department: q.department.clone(),
            reason,
            reason_en,
        }
    };
    let mut departments: BTreeMap<String, Suggestion> = BTreeMap::new();
    let mut by_department: BTreeMap<&str, Vec<&Question>> = BTreeMap::new();
    for q in &queued {
        if let Some(d) = q.department.as_deref() {
            by_department.entry(d).or_default().push(q);
        }
    }
    for (d, list) in by_department {
        if let Some(best) = list.into_iter().min_by(better) {
            let mut s = explain(best);
            s.department = None;
            departments.insert(d.to_string(), s);
        }
    }
    Suggestions {
        overall: queued.into_iter().min_by(better).map(explain),
        departments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Source;

    fn q(n: u128, hall: &str, dept: &str, state: QState) -> Question {
        Question {
            id: Uuid::from_u128(n),
            hall: hall.into(),
            source: Source::Hall,
            source_note: None,
            text: format!("câu {n}"),
            original_text: None,
            group: None,
            department: Some(dept.into()),
            state,
            reject_reason: None,
            merged_into: None,
            merged_from: Vec::new(),
            votes: 1,
            halls: Vec::new(),
            queue_pos: n as i64,
            followup: None,
            display_name: None,
            questioner: None,
            hints: None,
            before_merge: None,
            device_key: None,
            created_at: 0,
            updated_at: 0,
            on_air_at: (state == QState::Answered).then_some(1),
            answered_at: None,
            submitted_by: String::new(),
            version: 1,
        }
    }

    #[test]
    fn a_hall_not_yet_heard_comes_before_a_second_turn() {
        let event = EventConfig::builtin();
        let all = [
            q(1, "long-xuyen", "gddt", QState::Answered),
            q(2, "long-xuyen", "gddt", QState::Queued),
            q(3, "an-phu", "gddt", QState::Queued),
        ];
        let s = suggest(&event, &all, 0);
        let overall = s.overall.unwrap();
        assert_eq!(overall.question, Uuid::from_u128(3));
        assert_eq!(overall.department.as_deref(), Some("gddt"));
        assert_eq!(overall.reason, "H. An Phú chưa được hỏi");
        assert_eq!(s.departments["gddt"].question, Uuid::from_u128(3));
    }

    #[test]
    fn among_equals_votes_then_waiting_time_decide() {
        let event = EventConfig::builtin();
        let mut voted = q(2, "an-phu", "khdt", QState::Queued);
        voted.votes = 4;
        voted.created_at = 60_000 * 10;
        let waited = q(1, "tri-ton", "khdt", QState::Queued);
        let s = suggest(&event, &[waited.clone(), voted.clone()], 60_000 * 12);
        assert_eq!(
            s.overall.unwrap().question,
            voted.id,
            "9 points of votes beat 5 of waiting"
        );
        voted.votes = 2;
        let s = suggest(&event, &[waited.clone(), voted], 60_000 * 12);
        assert_eq!(s.overall.unwrap().question, waited.id);
    }

    #[test]
    fn one_suggestion_per_department_and_none_without_a_queue() {
        let event = EventConfig::builtin();
        let all = [
            q(1, "tinh", "gddt", QState::Queued),
            q(2, "tinh", "khdt", QState::Queued),
            q(3, "tinh", "khcn", QState::Approved),
        ];
        let s = suggest(&event, &all, 0);
        assert_eq!(s.departments.len(), 2);
        assert!(suggest(&event, &all[2..], 0).overall.is_none());
    }

    #[test]
    fn merged_halls_count_as_heard() {
        let event = EventConfig::builtin();
        let mut answered = q(1, "tinh", "gddt", QState::Answered);
        answered.halls = vec!["cho-moi".into()];
        let all = [
            answered,
            q(2, "cho-moi", "gddt", QState::Queued),
            q(3, "phu-tan", "gddt", QState::Queued),
        ];
        assert_eq!(
            suggest(&event, &all, 0).overall.unwrap().question,
            Uuid::from_u128(3)
        );
    }
}
