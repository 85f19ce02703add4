//! The figures behind the statistics page: counts by hall, issue group,
//! department, source and state; submissions and live answers over time;
//! and the progress of written follow-up per agency.
//!
//! A question counts once, in the hall where it was raised, whatever became
//! of it (rejected and merged included): these are the questions *received*.
//! The timeline leaves out imported questions, which were collected weeks
//! before and would flatten the live hour into one bar.

use serde::Serialize;

use super::{is_overdue, vn_date};
use crate::domain::{QState, Question, Source};
use crate::event::EventConfig;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub id: String,
    pub label: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub label_en: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Start of the bucket, Unix milliseconds.
    pub start: i64,
    /// `HH:MM` Vietnam time (or `dd/mm` for day-long buckets).
    pub label: String,
    pub submitted: usize,
    pub answered: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub bucket_minutes: i64,
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyProgress {
    pub agency: String,
    pub total: usize,
    pub deferred: usize,
    pub answer_drafted: usize,
    pub answer_sent: usize,
    pub published: usize,
    pub overdue: usize,
}

/// What became of one hall's questions: was every hall heard?
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct HallOutcome {
    pub id: String,
    pub label: String,
    /// Questions raised in the hall, whatever became of them.
    pub asked: usize,
    /// Answered on the spot: the hall's own questions, and questions the
    /// hall asked too (merged into one that was answered).
    pub answered_live: usize,
    /// Sent for a written answer (deferred, drafted, sent or published),
    /// counted the same way.
    pub answered_in_writing: usize,
    /// The hall's own questions not accepted.
    pub rejected: usize,
}

/// Per hall, in the event's order: asked, answered live, answered in
/// writing, rejected.
pub fn hall_outcomes(event: &EventConfig, questions: &[Question]) -> Vec<HallOutcome> {
    event
        .halls
        .iter()
        .map(|h| {
            let asked_by = |q: &&Question| q.hall == h.id || q.halls.contains(&h.id);
            let own = |q: &&Question| q.hall == h.id;
            HallOutcome {
                id: h.id.clone(),
                label: h.name.clone(),
                asked: questions.iter().filter(own).count(),
                answered_live: questions
                    .iter()
                    .filter(asked_by)
                    .filter(|q| q.state == QState::Answered)
                    .count(),
                answered_in_writing: questions
                    .iter()
                    .filter(asked_by)
                    .filter(|q| q.state.is_deferred())
                    .count(),
                rejected: questions
                    .iter()
                    .filter(own)
                    .filter(|q| q.state == QState::Rejected)
                    .count(),
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub event: String,
    pub total: usize,
    pub answered_on_stage: usize,
    pub deferred: usize,
    pub overdue: usize,
    pub by_state: Vec<Count>,
    pub by_hall: Vec<Count>,
    /// Per hall: asked, answered live, answered in writing, rejected.
    pub halls: Vec<HallOutcome>,
    pub by_group: Vec<Count>,
    pub by_department: Vec<Count>,
    pub by_source: Vec<Count>,
    pub timeline: Timeline,
    pub followup: Vec<AgencyProgress>,
}

fn count(id: &str, label: &str, label_en: &str, n: usize) -> Count {
    Count {
        id: id.into(),
        label: label.into(),
        label_en: label_en.into(),
        count: n,
    }
}

/// Candidate bucket sizes in minutes; the smallest giving at most 48 bars wins.
const BUCKETS: [i64; 11] = [1, 2, 5, 10, 15, 30, 60, 120, 240, 720, 1440];

pub fn timeline(questions: &[Question]) -> Timeline {
    let live: Vec<&Question> = questions
        .iter()
        .filter(|q| q.source != Source::Import)
        .collect();
    let times: Vec<i64> = live
        .iter()
        .map(|q| q.created_at)
        .chain(live.iter().filter_map(|q| q.answered_at))
        .collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return Timeline {
            bucket_minutes: 5,
            buckets: Vec::new(),
        };
    };
    let span_min = (last - first) / 60_000 + 1;
    let minutes = BUCKETS
        .into_iter()
        .find(|m| span_min / m < 48)
        .unwrap_or(1440);
    let size = minutes * 60_000;
    // Align to the bucket size in Vietnam time so labels read 08:00, 08:05 …
    let offset = 7 * 3_600_000;
    let start = (first + offset).div_euclid(size) * size - offset;
    let n = ((last - start) / size + 1) as usize;
    let mut buckets: Vec<Bucket> = (0..n)
        .map(|i| {
            let at = start + i as i64 * size;
            let label = if minutes >= 1440 {
                super::format_time(at)[..5].to_string()
            } else {
                super::format_time(at)[11..].to_string()
            };
            Bucket {
                start: at,
                label,
                submitted: 0,
                answered: 0,
            }
        })
        .collect();
    let slot = |t: i64| ((t - start) / size) as usize;
    for q in &live {
        if let Some(b) = buckets.get_mut(slot(q.created_at)) {
            b.submitted += 1;
        }
        if let Some(b) = q.answered_at.and_then(|t| buckets.get_mut(slot(t))) {
            b.answered += 1;
        }
    }
    Timeline {
        bucket_minutes: minutes,
        buckets,
    }
}

pub fn compute(event: &EventConfig, questions: &[Question], now: i64) -> Stats {
    let today = vn_date(now);
    let n = |pred: &dyn Fn(&Question) -> bool| questions.iter().filter(|q| pred(q)).count();
    let by_state = QState::ALL
        .iter()
        .map(|s| count(s.as_str(), s.label_vi(), "", n(&|q| q.state == *s)))
        .collect();
    let by_hall = event
        .halls
        .iter()
        .map(|h| count(&h.id, &h.name, "", n(&|q| q.hall == h.id)))
        .collect();
    let mut by_group: Vec<Count> = event
        .groups
        .iter()
        .map(|g| {
            count(
                &g.id,
                &g.name,
                &g.name_en,
                n(&|q| q.group.as_deref() == Some(&g.id)),
            )
        })
        .collect();
    by_group.push(count(
        "",
        "Chưa phân nhóm",
        "No group yet",
        n(&|q| q.group.is_none()),
    ));
    let by_department = event
        .departments
        .iter()
        .map(|d| {
            count(
                &d.id,
                &d.name,
                &d.name_en,
                n(&|q| q.department.as_deref() == Some(&d.id)),
            )
        })
        .collect();
    let by_source = [
        (Source::Import, "Thu thập trước", "Collected beforehand"),
        (
            Source::Participant,
            "Điện thoại của thanh niên",
            "Participants' phones",
        ),
        (Source::Hall, "Điểm cầu nhập tại chỗ", "Typed in at a hall"),
        (
            Source::Moderator,
            "Ban tổ chức nhập",
            "Entered by moderators",
        ),
    ]
    .iter()
    .map(|(s, vi, en)| count(s.as_str(), vi, en, n(&|q| q.source == *s)))
    .collect();
    let mut followup: Vec<AgencyProgress> = Vec::new();
    for q in questions.iter().filter(|q| q.state.is_deferred()) {
        let Some(f) = &q.followup else { continue };
        let i = match followup.iter().position(|a| a.agency == f.agency) {
            Some(i) => i,
            None => {
                followup.push(AgencyProgress {
                    agency: f.agency.clone(),
                    total: 0,
                    deferred: 0,
                    answer_drafted: 0,
                    answer_sent: 0,
                    published: 0,
                    overdue: 0,
                });
                followup.len() - 1
            }
        };
        let a = &mut followup[i];
        a.total += 1;
        match q.state {
            QState::Deferred => a.deferred += 1,
            QState::AnswerDrafted => a.answer_drafted += 1,
            QState::AnswerSent => a.answer_sent += 1,
            QState::Published => a.published += 1,
            _ => {}
        }
        if is_overdue(q, &today) {
            a.overdue += 1;
        }
    }
    followup.sort_by(|a, b| b.total.cmp(&a.total).then(a.agency.cmp(&b.agency)));
    Stats {
        event: event.id.clone(),
        total: questions.len(),
        answered_on_stage: n(&|q| q.state == QState::Answered),
        deferred: n(&|q| q.state.is_deferred()),
        overdue: n(&|q| is_overdue(q, &today)),
        by_state,
        by_hall,
        halls: hall_outcomes(event, questions),
        by_group,
        by_department,
        by_source,
        timeline: timeline(questions),
        followup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FollowUp;

    #[test]
    fn a_hall_that_asked_through_a_merge_counts_as_answered() {
        let event = EventConfig::builtin();
        let mut answered = q(Source::Hall, 0, QState::Answered);
        answered.hall = "an-phu".into();
        answered.halls = vec!["tri-ton".into()];
        let mut merged = q(Source::Hall, 0, QState::Merged);
        merged.hall = "tri-ton".into();
        let mut rejected = q(Source::Hall, 0, QState::Rejected);
        rejected.hall = "tri-ton".into();
        let halls = hall_outcomes(&event, &[answered, merged, rejected]);
        let tri_ton = halls.iter().find(|h| h.id == "tri-ton").unwrap();
        assert_eq!(tri_ton.label, "H. Tri Tôn");
        assert_eq!(
            (
                tri_ton.asked,
                tri_ton.answered_live,
                tri_ton.answered_in_writing,
                tri_ton.rejected
            ),
            (2, 1, 0, 1)
        );
        let an_phu = halls.iter().find(|h| h.id == "an-phu").unwrap();
        assert_eq!((an_phu.asked, an_phu.answered_live), (1, 1));
        assert_eq!(halls.len(), 12, "every hall, heard or not");
    }

    fn q(source: Source, at: i64, state: QState) -> Question {
        let mut q = crate::reports::export::tests::question("x", state);
        q.source = source;
        q.created_at = at;
        q
    }

    #[test]
    fn timeline_skips_imports_and_buckets_the_live_hour() {
        let t0 = 1_711_416_600_000; // 08:30 in Vietnam
        let mut qs = vec![
            q(Source::Import, t0 - 30 * 86_400_000, QState::Pending),
            q(Source::Participant, t0, QState::Pending),
            q(Source::Participant, t0 + 4 * 60_000, QState::Pending),
            q(Source::Hall, t0 + 61 * 60_000, QState::Answered),
        ];
        qs[3].answered_at = Some(t0 + 90 * 60_000);
        let t = timeline(&qs);
        assert_eq!(t.bucket_minutes, 2);
        assert_eq!(t.buckets[0].label, "08:30");
        assert_eq!(t.buckets.iter().map(|b| b.submitted).sum::<usize>(), 3);
        assert_eq!(t.buckets.iter().map(|b| b.answered).sum::<usize>(), 1);
    }

    #[test]
    fn counts_by_hall_group_source_and_followup() {
        let event = EventConfig::builtin();
        let mut d = q(Source::Import, 0, QState::Deferred);
        d.followup = Some(FollowUp {
            agency: "Sở Y tế".into(),
            due: "2024-04-01".into(),
            answer: None,
            drafted_at: None,
            drafted_by: None,
            sent_at: None,
            sent_by: None,
            published_at: None,
            published_by: None,
        });
        let qs = vec![d, q(Source::Participant, 0, QState::Answered)];
        let s = compute(&event, &qs, 1_713_000_000_000);
        assert_eq!(s.total, 2);
        assert_eq!(s.answered_on_stage, 1);
        assert_eq!(
            s.by_hall.iter().find(|c| c.id == "cho-moi").unwrap().count,
            2
        );
        assert_eq!(s.by_hall.len(), 12);
        assert_eq!(s.by_source[0].count, 1);
        assert_eq!(s.followup[0].agency, "Sở Y tế");
        let cho_moi = s.halls.iter().find(|h| h.id == "cho-moi").unwrap();
        assert_eq!(
            (
                cho_moi.asked,
                cho_moi.answered_live,
                cho_moi.answered_in_writing,
                cho_moi.rejected
            ),
            (2, 1, 1, 0)
        );
        assert_eq!(s.followup[0].overdue, 1);
        assert_eq!(s.overdue, 1);
    }
}
