//! Unit tests of the pure domain: the role × command × state matrix, error
//! paths, audience visibility and a property-style random walk.
//!
//! Every expectation here is written down from DOMAIN.md and the intended
//! rules, never computed by calling the code under test.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use uuid::Uuid;

use super::error::DomainError;
use super::question::{
    apply, Command, Ctx, FloorRequest, FloorState, FollowUp, Outcome, QState, Question, Questioner,
    Source, View,
};
use super::role::{Actor, Audience, Role};
use crate::event::EventConfig;

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

/// 2024-03-26T00:00:00Z, the day of the An Giang 2024 dialogue.
const NOW: i64 = 1_711_411_200_000;
/// NOW + the built-in event's 30 days.
const DEFAULT_DUE: &str = "2024-04-25";

/// The hall operator's hall and the speaker's department used throughout.
const HALL: &str = "cho-moi";
const OTHER_HALL: &str = "chau-doc";
const DEPT: &str = "gddt";
const OTHER_DEPT: &str = "khdt";

const SUBJECT: Uuid = Uuid::from_u128(0x5u128);
const ANCHOR: Uuid = Uuid::from_u128(0xA);

const ASKER_NAME: &str = "Nguyễn Thị Ánh";
const TEXT: &str = "Xin hỏi tỉnh có chính sách hỗ trợ vốn vay cho thanh niên khởi nghiệp không?";

fn event() -> &'static EventConfig {
    static EVENT: OnceLock<EventConfig> = OnceLock::new();
    EVENT.get_or_init(EventConfig::builtin)
}

fn uid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A tiny in-memory `View`.
#[derive(Debug, Clone, Default)]
struct TestView {
    questions: HashMap<Uuid, Question>,
    floor: HashMap<Uuid, FloorRequest>,
}

impl View for TestView {
    fn question(&self, id: &Uuid) -> Option<&Question> {
        self.questions.get(id)
    }
    fn floor_request(&self, id: &Uuid) -> Option<&FloorRequest> {
        self.floor.get(id)
    }
    fn questions(&self) -> Vec<&Question> {
        self.questions.values().collect()
    }
    fn floor_requests(&self) -> Vec<&FloorRequest> {
        self.floor.values().collect()
    }
}

impl TestView {
    fn of(questions: impl IntoIterator<Item = Question>) -> TestView {
        let mut v = TestView::default();
        for q in questions {
            v.questions.insert(q.id, q);
        }
        v
    }
    fn with_floor(mut self, requests: impl IntoIterator<Item = FloorRequest>) -> TestView {
        for f in requests {
            self.floor.insert(f.id, f);
        }
        self
    }
    fn q(&self, id: Uuid) -> &Question {
        &self.questions[&id]
    }
    /// Apply an outcome the way the engine does: every snapshot replaces the old one.
    fn commit(&mut self, out: &Outcome) {
        for u in &out.questions {
            self.questions.insert(u.question.id, u.question.clone());
        }
        for f in &out.floor {
            self.floor.insert(f.id, f.clone());
        }
    }
    /// Ids in a fixed order, so random walks are reproducible.
    fn question_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self.questions.keys().copied().collect();
        ids.sort();
        ids
    }
    fn floor_ids(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = self.floor.keys().copied().collect();
        ids.sort();
        ids
    }
}

fn run(view: &TestView, actor: &Actor, cmd: &Command) -> Result<Outcome, DomainError> {
    run_at(view, actor, cmd, NOW)
}

fn run_at(view: &TestView, actor: &Actor, cmd: &Command, now: i64) -> Result<Outcome, DomainError> {
    let ctx = Ctx {
        event: event(),
        actor,
        now,
    };
    apply(view, &ctx, cmd)
}

impl TestView {
    /// Run, expect success, commit, and return the outcome.
    fn ok(&mut self, actor: &Actor, cmd: Command) -> Outcome {
        let out = run(self, actor, &cmd)
            .unwrap_or_else(|e| panic!("{} by {:?} failed: {e:?}", cmd.action(), actor.role));
        self.commit(&out);
        out
    }
}

fn err(view: &TestView, actor: &Actor, cmd: Command) -> DomainError {
    match run(view, actor, &cmd) {
        Ok(out) => panic!(
            "{} by {:?} unexpectedly succeeded: {out:?}",
            cmd.action(),
            actor.role
        ),
        Err(e) => e,
    }
}

// --- actors ----------------------------------------------------------------

/// The canonical actor of each role: the speaker of `gddt`, the hall operator of `cho-moi`.
fn actor(role: Role) -> Actor {
    let a = Actor::new(role, role.as_str());
    match role {
        Role::Speaker => a.with_department(DEPT),
        Role::HallOperator => a.with_hall(HALL),
        _ => a,
    }
}

fn moderator() -> Actor {
    actor(Role::Moderator)
}
fn follow_up() -> Actor {
    actor(Role::FollowUp)
}
fn speaker_of(dept: &str) -> Actor {
    Actor::new(Role::Speaker, format!("speaker:{dept}")).with_department(dept)
}
fn hall_operator_of(hall: &str) -> Actor {
    Actor::new(Role::HallOperator, format!("hall_operator:{hall}")).with_hall(hall)
}

// --- questions -------------------------------------------------------------

/// States that imply a department (assigned to a speaker's queue), written from DOMAIN.md.
const ROUTED: [QState; 7] = [
    QState::Queued,
    QState::OnAir,
    QState::Answered,
    QState::Deferred,
    QState::AnswerDrafted,
    QState::AnswerSent,
    QState::Published,
];
/// States displays and participants may see (approved by a moderator, and everything after).
const PUBLIC: [QState; 8] = [
    QState::Approved,
    QState::Queued,
    QState::OnAir,
    QState::Answered,
    QState::Deferred,
    QState::AnswerDrafted,
    QState::AnswerSent,
    QState::Published,
];
/// States of the written follow-up track.
const FOLLOW_UP: [QState; 4] = [
    QState::Deferred,
    QState::AnswerDrafted,
    QState::AnswerSent,
    QState::Published,
];

fn asker(show_name: bool) -> Questioner {
    Questioner {
        name: Some(ASKER_NAME.into()),
        age: Some(22),
        organization: Some("Trường Đại học An Giang".into()),
        phone: Some("0912 345 678".into()),
        show_name,
    }
}

/// A question from `cho-moi` in `state`, with every field the state implies:
/// a reason when rejected, a target (`ANCHOR`) when merged, department `gddt`
/// and a queue position once routed, air and answer times, and a follow-up
/// with agency and due date (plus answer, sent and published marks) in the
/// written track.
fn question(id: Uuid, state: QState) -> Question {
    let routed = ROUTED.contains(&state);
    let mut q = Question {
        id,
        hall: HALL.into(),
        source: Source::Participant,
        source_note: None,
        text: TEXT.into(),
        original_text: None,
        group: None,
        department: routed.then(|| DEPT.to_string()),
        state,
        reject_reason: (state == QState::Rejected)
            .then(|| "Không thuộc chủ đề đối thoại".to_string()),
        merged_into: (state == QState::Merged).then_some(ANCHOR),
        merged_from: Vec::new(),
        votes: 1,
        halls: Vec::new(),
        queue_pos: if routed { 3 } else { 0 },
        followup: None,
        display_name: None,
        hints: None,
        questioner: Some(asker(true)),
        created_at: NOW - 60_000,
        updated_at: NOW - 30_000,
        on_air_at: None,
        answered_at: None,
        submitted_by: "participant".into(),
        device_key: None,
        version: 3,
        before_merge: None,
    };
    if matches!(state, QState::OnAir | QState::Answered) {
        q.on_air_at = Some(NOW - 20_000);
    }
    if state == QState::Answered {
        q.answered_at = Some(NOW - 10_000);
    }
    if FOLLOW_UP.contains(&state) {
        let drafted = state != QState::Deferred;
        let sent = matches!(state, QState::AnswerSent | QState::Published);
        let published = state == QState::Published;
        q.followup = Some(FollowUp {
            agency: "Sở Y tế".into(),
            due: DEFAULT_DUE.into(),
            answer: drafted.then(|| "Sở Y tế trả lời: tỉnh có quỹ hỗ trợ...".to_string()),
            drafted_at: drafted.then_some(NOW - 5_000),
            drafted_by: drafted.then(|| "follow_up".to_string()),
            sent_at: sent.then_some(NOW - 4_000),
            sent_by: sent.then(|| "follow_up".to_string()),
            published_at: published.then_some(NOW - 3_000),
            published_by: published.then(|| "follow_up".to_string()),
        });
    }
    q
}

/// A question in `state` routed to `dept` (when routed) from `hall`.
fn question_at(id: Uuid, state: QState, hall: &str, dept: &str) -> Question {
    let mut q = question(id, state);
    q.hall = hall.into();
    if q.department.is_some() {
        q.department = Some(dept.into());
    }
    q
}

/// A queued question of `dept` at `pos`.
fn queued(id: Uuid, dept: &str, pos: i64) -> Question {
    let mut q = question_at(id, QState::Queued, HALL, dept);
    q.queue_pos = pos;
    q
}

/// The approved question merged questions point to (and merges go into).
fn anchor() -> Question {
    let mut a = question(ANCHOR, QState::Approved);
    a.hall = "long-xuyen".into();
    a.questioner = None;
    a
}

/// `SUBJECT` in `state` next to the anchor, nothing else on air.
fn matrix_view(state: QState) -> TestView {
    let mut a = anchor();
    if state == QState::Merged {
        a.merged_from.push(SUBJECT);
        a.votes += 1;
    }
    TestView::of([question(SUBJECT, state), a])
}

// --- floor requests ----------------------------------------------------------

const FLOOR_STATES: [FloorState; 5] = [
    FloorState::Requested,
    FloorState::Granted,
    FloorState::Declined,
    FloorState::Done,
    FloorState::Cancelled,
];

fn floor(id: Uuid, hall: &str, state: FloorState) -> FloorRequest {
    let decided = state != FloorState::Requested;
    FloorRequest {
        id,
        hall: hall.into(),
        note: Some("Một bạn đoàn viên muốn phát biểu".into()),
        state,
        requested_at: NOW - 60_000,
        decided_at: decided.then_some(NOW - 30_000),
        decided_by: decided.then(|| "moderator".to_string()),
    }
}

// --- commands ---------------------------------------------------------------

fn submit(id: Uuid, text: &str) -> Command {
    Command::Submit {
        id,
        text: text.into(),
        hall: None,
        group: None,
        questioner: None,
        consent: false,
        source_note: None,
        imported: false,
        device: None,
    }
}

fn submit_as(
    id: Uuid,
    text: &str,
    hall: Option<&str>,
    questioner: Option<Questioner>,
    consent: bool,
) -> Command {
    Command::Submit {
        id,
        text: text.into(),
        hall: hall.map(str::to_string),
        group: None,
        questioner,
        consent,
        source_note: None,
        imported: false,
        device: None,
    }
}

/// Every question command of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Approve,
    Reject,
    Edit,
    Merge,
    SetGroup,
    Assign,
    Reorder,
    PutOnAir,
    TakeOffAir,
    MarkAnswered,
    Defer,
    UpdateFollowUp,
    MarkSent,
    Publish,
    Reopen,
    Unmerge,
}

impl Kind {
    const ALL: [Kind; 16] = [
        Kind::Approve,
        Kind::Reject,
        Kind::Edit,
        Kind::Merge,
        Kind::SetGroup,
        Kind::Assign,
        Kind::Reorder,
        Kind::PutOnAir,
        Kind::TakeOffAir,
        Kind::MarkAnswered,
        Kind::Defer,
        Kind::UpdateFollowUp,
        Kind::MarkSent,
        Kind::Publish,
        Kind::Reopen,
        Kind::Unmerge,
    ];
}

/// A well-formed command of `kind` on `q` at the version `q` has.
fn command(kind: Kind, q: &Question) -> Command {
    command_at(kind, q, q.version)
}

fn command_at(kind: Kind, q: &Question, version: u32) -> Command {
    let question = q.id;
    match kind {
        Kind::Approve => Command::Approve { question, version },
        Kind::Reject => Command::Reject {
            question,
            version,
            reason: "Câu hỏi trùng lặp".into(),
        },
        Kind::Edit => Command::Edit {
            question,
            version,
            text: "Tỉnh hỗ trợ vốn vay khởi nghiệp cho thanh niên như thế nào?".into(),
        },
        Kind::Merge => Command::Merge {
            question,
            version,
            into: ANCHOR,
        },
        Kind::SetGroup => Command::SetGroup {
            question,
            version,
            group: Some("khoi-nghiep".into()),
        },
        Kind::Assign => Command::Assign {
            question,
            version,
            department: OTHER_DEPT.into(),
        },
        Kind::Reorder => Command::Reorder {
            department: DEPT.into(),
            order: vec![question],
        },
        Kind::PutOnAir => Command::PutOnAir { question, version },
        Kind::TakeOffAir => Command::TakeOffAir { question, version },
        Kind::MarkAnswered => Command::MarkAnswered { question, version },
        Kind::Defer => Command::Defer {
            question,
            version,
            agency: Some("Sở Y tế".into()),
            due: Some("2024-05-15".into()),
        },
        Kind::UpdateFollowUp => Command::UpdateFollowUp {
            question,
            version,
            agency: None,
            due: None,
            answer: Some("Sở Y tế trả lời bằng văn bản số 123/SYT.".into()),
        },
        Kind::MarkSent => Command::MarkSent { question, version },
        Kind::Publish => Command::Publish { question, version },
        Kind::Reopen => Command::Reopen { question, version },
        Kind::Unmerge => Command::Unmerge { question, version },
    }
}

// ---------------------------------------------------------------------------
// 2. The matrix: role × command × starting state
// ---------------------------------------------------------------------------

/// What the rules say should happen: the subject's new state, or the error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Becomes(QState),
    Refused(&'static str),
}

const FORBIDDEN: Expect = Expect::Refused("forbidden");

/// The independent expectation table (DOMAIN.md + the intended rules of the brief).
fn expected(role: Role, kind: Kind, from: QState) -> Expect {
    use QState::*;
    let moderates = matches!(role, Role::Moderator | Role::Admin);
    let follows_up = matches!(role, Role::FollowUp | Role::Moderator | Role::Admin);
    let same = |states: &[QState]| states.iter().map(|s| (*s, *s)).collect::<Vec<_>>();
    let (may, moves): (bool, Vec<(QState, QState)>) = match kind {
        Kind::Approve => (moderates, vec![(Pending, Approved)]),
        Kind::Reject => (
            moderates,
            vec![
                (Pending, Rejected),
                (Approved, Rejected),
                (Queued, Rejected),
            ],
        ),
        Kind::Edit => (moderates, same(&[Pending, Approved, Queued, OnAir])),
        Kind::Merge => (
            moderates,
            vec![(Pending, Merged), (Approved, Merged), (Queued, Merged)],
        ),
        Kind::SetGroup => (
            moderates,
            same(&[
                Pending,
                Approved,
                Queued,
                OnAir,
                Answered,
                Deferred,
                AnswerDrafted,
                AnswerSent,
                Published,
            ]),
        ),
        Kind::Assign => (moderates, vec![(Approved, Queued), (Queued, Queued)]),
        // The order [subject] is exactly gddt's queued set only when the subject is queued.
        Kind::Reorder => (moderates, vec![(Queued, Queued)]),
        Kind::PutOnAir => (moderates, vec![(Queued, OnAir)]),
        Kind::TakeOffAir => (moderates, vec![(OnAir, Queued)]),
        Kind::MarkAnswered => (moderates, vec![(OnAir, Answered), (Queued, Answered)]),
        Kind::Defer if role == Role::Speaker => {
            // Only routed questions have a department; in the fixtures it is the speaker's own.
            if !ROUTED.contains(&from) {
                return FORBIDDEN;
            }
            (true, vec![(Queued, Deferred), (OnAir, Deferred)])
        }
        Kind::Defer => (
            moderates,
            vec![(Approved, Deferred), (Queued, Deferred), (OnAir, Deferred)],
        ),
        // Saving an answer drafts it; re-drafting keeps the state. Editing after
        // sending is allowed by the code (debatable, see report).
        Kind::UpdateFollowUp => (
            follows_up,
            vec![
                (Deferred, AnswerDrafted),
                (AnswerDrafted, AnswerDrafted),
                (AnswerSent, AnswerSent),
            ],
        ),
        Kind::MarkSent => (follows_up, vec![(AnswerDrafted, AnswerSent)]),
        Kind::Publish => (follows_up, vec![(AnswerSent, Published)]),
        // Undo. The matrix's merged subject predates undo (nothing recorded
        // about its state before the merge), so it starts over as pending.
        Kind::Reopen => (moderates, vec![(Answered, Queued), (Rejected, Pending)]),
        Kind::Unmerge => (moderates, vec![(Merged, Pending)]),
    };
    if !may {
        return FORBIDDEN;
    }
    match moves.iter().find(|(f, _)| *f == from) {
        Some((_, to)) => Expect::Becomes(*to),
        None if kind == Kind::Reorder => Expect::Refused("stale_order"),
        None => Expect::Refused("invalid_transition"),
    }
}

#[test]
fn matrix_every_role_every_command_every_state() {
    let mut failures = Vec::new();
    let mut allowed = 0;
    let mut cases = 0;
    for role in Role::ALL {
        let who = actor(role);
        for kind in Kind::ALL {
            for from in QState::ALL {
                cases += 1;
                let view = matrix_view(from);
                let before = view.q(SUBJECT).clone();
                let cmd = command(kind, &before);
                let want = expected(role, kind, from);
                let case = format!("{role:?} {kind:?} from {from:?}");
                match (want, run(&view, &who, &cmd)) {
                    (Expect::Becomes(to), Ok(out)) => {
                        allowed += 1;
                        assert_eq!(out.action, cmd.action(), "{case}");
                        let Some(u) = out.questions.iter().find(|u| u.question.id == SUBJECT)
                        else {
                            failures.push(format!("{case}: no update of the subject in {out:?}"));
                            continue;
                        };
                        if u.question.state != to {
                            failures.push(format!(
                                "{case}: became {:?}, expected {to:?}",
                                u.question.state
                            ));
                        }
                        assert_eq!(u.from, Some(from), "{case}");
                        assert_eq!(u.from_department, before.department, "{case}");
                        assert_eq!(u.question.version, before.version + 1, "{case}");
                        assert_eq!(u.question.updated_at, NOW, "{case}");
                        assert_eq!(u.question.created_at, before.created_at, "{case}");
                        assert_eq!(
                            u.question.questioner, before.questioner,
                            "{case}: personal data kept"
                        );
                    }
                    (Expect::Refused(code), Err(e)) => {
                        if e.code() != code {
                            failures.push(format!("{case}: refused with {e:?}, expected {code}"));
                        }
                        if let DomainError::InvalidTransition { action, from: f } = &e {
                            assert_eq!(*action, cmd.action(), "{case}");
                            assert_eq!(*f, from, "{case}");
                        }
                    }
                    (want, got) => failures.push(format!("{case}: expected {want:?}, got {got:?}")),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cases, 8 * 16 * 11);
    // Pin the size of the table: 38 allowed (command, state) pairs each for
    // moderator and admin (35 + reopen ×2 + unmerge), 5 for the follow-up
    // officer, 2 for the speaker.
    assert_eq!(
        allowed,
        2 * 38 + 5 + 2,
        "allowed cases in the table changed"
    );
}

#[test]
fn matrix_merge_target_in_every_state() {
    // Source pending; target in each state. Allowed unless the target is rejected or merged.
    let target_id = uid(0x7);
    for state in QState::ALL {
        let mut target = question_at(target_id, state, OTHER_HALL, DEPT);
        target.questioner = None;
        let mut a = anchor();
        if state == QState::Merged {
            a.merged_from.push(target_id);
            a.votes += 1;
        }
        let source = question(SUBJECT, QState::Pending);
        let view = TestView::of([source.clone(), target, a]);
        let cmd = Command::Merge {
            question: SUBJECT,
            version: source.version,
            into: target_id,
        };
        let got = run(&view, &moderator(), &cmd);
        if matches!(state, QState::Rejected | QState::Merged) {
            assert_eq!(
                got,
                Err(DomainError::InvalidTransition {
                    action: "merge",
                    from: state
                }),
                "target {state:?}"
            );
        } else {
            let out = got.unwrap_or_else(|e| panic!("target {state:?}: {e:?}"));
            let grown = out
                .questions
                .iter()
                .find(|u| u.question.id == target_id)
                .expect("target updated");
            assert_eq!(grown.question.state, state, "the target keeps its state");
            assert_eq!(grown.question.votes, 2);
        }
    }
}

#[test]
fn matrix_submit_by_every_role() {
    for role in Role::ALL {
        let view = TestView::default();
        let got = run(&view, &actor(role), &submit(uid(1), TEXT));
        let want = match role {
            Role::Participant => Some(Source::Participant),
            Role::HallOperator => Some(Source::Hall),
            Role::Moderator | Role::Admin => Some(Source::Moderator),
            Role::Chair | Role::Speaker | Role::Display | Role::FollowUp => None,
        };
        match (want, got) {
            (Some(source), Ok(out)) => {
                assert_eq!(out.questions.len(), 1, "{role:?}");
                let u = &out.questions[0];
                assert_eq!(u.from, None);
                let q = &u.question;
                assert_eq!(
                    (q.state, q.source, q.version, q.votes),
                    (QState::Pending, source, 1, 1),
                    "{role:?}"
                );
                assert_eq!(q.submitted_by, role.as_str());
                assert_eq!((q.created_at, q.updated_at), (NOW, NOW));
                let hall = if role == Role::HallOperator {
                    HALL
                } else {
                    "tinh"
                };
                assert_eq!(q.hall, hall, "{role:?}");
            }
            (None, Err(e)) => assert_eq!(e, DomainError::Forbidden, "{role:?}"),
            (want, got) => panic!("{role:?}: expected {want:?}, got {got:?}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FloorKind {
    Cancel,
    Grant,
    Decline,
    End,
}

/// Floor rules: cancel by own hall operator or moderator/admin from requested;
/// grant/decline from requested and end from granted by moderator/admin.
fn expected_floor(
    role: Role,
    kind: FloorKind,
    from: FloorState,
) -> Result<FloorState, &'static str> {
    let moderates = matches!(role, Role::Moderator | Role::Admin);
    let (may, from_ok, to) = match kind {
        FloorKind::Cancel => (
            moderates || role == Role::HallOperator,
            FloorState::Requested,
            FloorState::Cancelled,
        ),
        FloorKind::Grant => (moderates, FloorState::Requested, FloorState::Granted),
        FloorKind::Decline => (moderates, FloorState::Requested, FloorState::Declined),
        FloorKind::End => (moderates, FloorState::Granted, FloorState::Done),
    };
    if !may {
        Err("forbidden")
    } else if from != from_ok {
        Err("floor_not_open")
    } else {
        Ok(to)
    }
}

#[test]
fn matrix_floor_every_role_every_command_every_state() {
    let id = uid(0xF);
    let mut failures = Vec::new();
    for role in Role::ALL {
        for kind in [
            FloorKind::Cancel,
            FloorKind::Grant,
            FloorKind::Decline,
            FloorKind::End,
        ] {
            for from in FLOOR_STATES {
                let view = TestView::default().with_floor([floor(id, HALL, from)]);
                let cmd = match kind {
                    FloorKind::Cancel => Command::CancelFloor { request: id },
                    FloorKind::Grant => Command::GrantFloor { request: id },
                    FloorKind::Decline => Command::DeclineFloor { request: id },
                    FloorKind::End => Command::EndFloor { request: id },
                };
                let case = format!("{role:?} {kind:?} from {from:?}");
                match (
                    expected_floor(role, kind, from),
                    run(&view, &actor(role), &cmd),
                ) {
                    (Ok(to), Ok(out)) => {
                        assert!(out.questions.is_empty(), "{case}");
                        let f = out
                            .floor
                            .iter()
                            .find(|f| f.id == id)
                            .expect("request updated");
                        if f.state != to {
                            failures.push(format!("{case}: became {:?}, expected {to:?}", f.state));
                        }
                        assert_eq!(f.decided_at, Some(NOW), "{case}");
                        assert_eq!(f.decided_by.as_deref(), Some(role.as_str()), "{case}");
                    }
                    (Err(code), Err(e)) if e.code() == code => {}
                    (want, got) => failures.push(format!("{case}: expected {want:?}, got {got:?}")),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn matrix_request_floor_every_role_and_existing_request_state() {
    let existing_id = uid(0xE);
    let new_id = uid(0xF);
    let existing = [None, Some(FloorState::Requested), Some(FloorState::Granted)]
        .into_iter()
        .chain(FLOOR_STATES.into_iter().skip(2).map(Some));
    for prior in existing {
        for role in Role::ALL {
            let view = TestView::default().with_floor(prior.map(|s| floor(existing_id, HALL, s)));
            let cmd = Command::RequestFloor {
                id: new_id,
                note: Some("  Bạn Lê Văn Bình, Hội LHTN xã  ".into()),
            };
            let got = run(&view, &actor(role), &cmd);
            let case = format!("{role:?} with prior {prior:?}");
            let open = matches!(prior, Some(FloorState::Requested | FloorState::Granted));
            match got {
                Ok(out) if role == Role::HallOperator && !open => {
                    assert_eq!(out.floor.len(), 1, "{case}");
                    let f = &out.floor[0];
                    assert_eq!(
                        (f.id, f.hall.as_str(), f.state),
                        (new_id, HALL, FloorState::Requested)
                    );
                    assert_eq!(f.note.as_deref(), Some("Bạn Lê Văn Bình, Hội LHTN xã"));
                    assert_eq!(f.requested_at, NOW);
                }
                Err(DomainError::FloorAlreadyRequested) if role == Role::HallOperator && open => {}
                Err(DomainError::Forbidden) if role != Role::HallOperator => {}
                other => panic!("{case}: unexpected {other:?}"),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Stale versions and unknown ids
// ---------------------------------------------------------------------------

/// A role and starting state in which `kind` is allowed, from the table.
fn allowed_case(kind: Kind) -> (Role, QState) {
    Role::ALL
        .into_iter()
        .flat_map(|r| QState::ALL.into_iter().map(move |s| (r, s)))
        .find(|(r, s)| matches!(expected(*r, kind, *s), Expect::Becomes(_)))
        .expect("every kind is allowed somewhere")
}

#[test]
fn every_question_command_with_a_stale_version_is_a_conflict_carrying_the_current_question() {
    for kind in Kind::ALL {
        if kind == Kind::Reorder {
            continue; // carries the whole order instead of a version (covered below)
        }
        let mut roles: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|r| {
                QState::ALL
                    .iter()
                    .any(|s| matches!(expected(*r, kind, *s), Expect::Becomes(_)))
            })
            .collect();
        roles.sort();
        for role in roles {
            let state = QState::ALL
                .into_iter()
                .find(|s| matches!(expected(role, kind, *s), Expect::Becomes(_)))
                .expect("allowed state");
            let view = matrix_view(state);
            let current = view.q(SUBJECT).clone();
            for stale in [current.version - 1, current.version + 1, 0] {
                let got = run(&view, &actor(role), &command_at(kind, &current, stale));
                assert_eq!(
                    got,
                    Err(DomainError::Conflict(Box::new(current.clone()))),
                    "{role:?} {kind:?} from {state:?} at version {stale}"
                );
            }
        }
        // A stale version is a conflict before the state is judged (published
        // is a dead end for every command but set_group), so the client reloads
        // and sees why before it is told "invalid transition".
        let (role, _) = allowed_case(kind);
        let view = matrix_view(QState::Published);
        let current = view.q(SUBJECT).clone();
        let got = run(&view, &actor(role), &command_at(kind, &current, 1));
        assert_eq!(
            got.map(|_| ()),
            Err(DomainError::Conflict(Box::new(current))),
            "{kind:?}"
        );
    }
}

#[test]
fn stale_version_from_a_forbidden_role_is_forbidden_and_leaks_nothing() {
    for kind in Kind::ALL {
        for role in Role::ALL {
            if QState::ALL
                .iter()
                .any(|s| matches!(expected(role, kind, *s), Expect::Becomes(_)))
            {
                continue;
            }
            for state in QState::ALL {
                let view = matrix_view(state);
                let current = view.q(SUBJECT).clone();
                let got = run(
                    &view,
                    &actor(role),
                    &command_at(kind, &current, current.version - 1),
                );
                assert_eq!(
                    got,
                    Err(DomainError::Forbidden),
                    "{role:?} {kind:?} from {state:?}"
                );
            }
        }
    }
    // A speaker of another department may not defer, stale or not.
    let view = matrix_view(QState::Queued);
    let current = view.q(SUBJECT).clone();
    for version in [current.version, current.version - 1] {
        let got = run(
            &view,
            &speaker_of(OTHER_DEPT),
            &command_at(Kind::Defer, &current, version),
        );
        assert_eq!(got, Err(DomainError::Forbidden), "version {version}");
    }
}

#[test]
fn unknown_question_or_request_is_not_found() {
    let view = matrix_view(QState::Queued);
    let ghost = question(uid(0xDEAD), QState::Queued);
    for kind in Kind::ALL {
        let (role, _) = allowed_case(kind);
        let got = run(&view, &actor(role), &command(kind, &ghost));
        let want = if kind == Kind::Reorder {
            DomainError::StaleOrder
        } else {
            DomainError::NotFound
        };
        assert_eq!(got, Err(want), "{kind:?}");
    }
    // Merging into a question that does not exist.
    let src = view.q(SUBJECT).clone();
    let got = run(
        &view,
        &moderator(),
        &Command::Merge {
            question: SUBJECT,
            version: src.version,
            into: uid(0xDEAD),
        },
    );
    assert_eq!(got, Err(DomainError::NotFound));
    for cmd in [
        Command::CancelFloor {
            request: uid(0xDEAD),
        },
        Command::GrantFloor {
            request: uid(0xDEAD),
        },
        Command::DeclineFloor {
            request: uid(0xDEAD),
        },
        Command::EndFloor {
            request: uid(0xDEAD),
        },
    ] {
        assert_eq!(
            run(&view, &moderator(), &cmd),
            Err(DomainError::NotFound),
            "{cmd:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// What each allowed command does
// ---------------------------------------------------------------------------

#[test]
fn submit_keeps_the_hall_operator_to_their_own_hall_and_defaults_to_the_host_hall() {
    let view = TestView::default();
    assert_eq!(
        run(
            &view,
            &actor(Role::HallOperator),
            &submit_as(uid(1), TEXT, Some("tinh"), None, false),
        ),
        Err(DomainError::Forbidden),
        "hall operator cannot submit for another hall"
    );
    for hall in [None, Some(HALL)] {
        let out = run(
            &view,
            &actor(Role::HallOperator),
            &submit_as(uid(1), TEXT, hall, None, false),
        )
        .unwrap();
        assert_eq!(out.questions[0].question.hall, HALL, "{hall:?}");
        assert_eq!(out.questions[0].question.source, Source::Hall);
    }

    let out = run(
        &view,
        &actor(Role::Participant),
        &submit_as(uid(2), TEXT, Some(" chau-doc "), None, false),
    )
    .unwrap();
    assert_eq!(out.questions[0].question.hall, "chau-doc");
    let out = run(
        &view,
        &actor(Role::Participant),
        &submit_as(uid(3), TEXT, Some("   "), None, false),
    )
    .unwrap();
    assert_eq!(
        out.questions[0].question.hall, "tinh",
        "blank hall is the host hall"
    );

    // A hall operator bound to no hall may not submit.
    let unbound = Actor::new(Role::HallOperator, "hall_operator");
    assert_eq!(
        run(&view, &unbound, &submit(uid(4), TEXT)),
        Err(DomainError::Forbidden)
    );
}

#[test]
fn submit_source_note_and_import() {
    let view = TestView::default();
    let with_note = |imported: bool| Command::Submit {
        id: uid(1),
        text: TEXT.into(),
        hall: Some("an-phu".into()),
        group: Some("viec-lam".into()),
        questioner: None,
        consent: false,
        source_note: Some(" thu thập trước: Huyện đoàn An Phú ".into()),
        imported,
        device: None,
    };
    let q = run(&view, &moderator(), &with_note(true))
        .unwrap()
        .questions[0]
        .question
        .clone();
    assert_eq!(q.source, Source::Import);
    assert_eq!(
        q.source_note.as_deref(),
        Some("thu thập trước: Huyện đoàn An Phú")
    );
    assert_eq!(q.group.as_deref(), Some("viec-lam"));
    assert_eq!(q.hall, "an-phu");
    let q = run(&view, &actor(Role::Admin), &with_note(false))
        .unwrap()
        .questions[0]
        .question
        .clone();
    assert_eq!(q.source, Source::Moderator);
    assert!(q.source_note.is_some());
    // Participants cannot claim to be an import, nor attach a note.
    let q = run(&view, &actor(Role::Participant), &with_note(true))
        .unwrap()
        .questions[0]
        .question
        .clone();
    assert_eq!(q.source, Source::Participant);
    assert_eq!(q.source_note, None);
}

fn from_device(cmd: Command, device: Option<&str>) -> Command {
    match cmd {
        Command::Submit {
            id,
            text,
            hall,
            group,
            questioner,
            consent,
            source_note,
            imported,
            ..
        } => Command::Submit {
            id,
            text,
            hall,
            group,
            questioner,
            consent,
            source_note,
            imported,
            device: device.map(str::to_string),
        },
        other => other,
    }
}

#[test]
fn submitting_the_same_id_twice_is_an_idempotent_retry_for_the_same_asker_only() {
    let mut view = TestView::default();
    let phone = actor(Role::Participant);
    view.ok(&phone, from_device(submit(uid(1), TEXT), Some("phone-a")));
    assert!(
        view.q(uid(1)).device_key.is_some(),
        "the device is kept, hashed"
    );
    assert_ne!(view.q(uid(1)).device_key.as_deref(), Some("phone-a"));
    // The same phone with the same text (NFC and trimming aside): a retry.
    let again = run(
        &view,
        &phone,
        &from_device(submit(uid(1), &format!(" {TEXT} ")), Some("phone-a")),
    )
    .unwrap();
    assert!(again.is_noop());
    assert_eq!(again.duplicate_of, Some(uid(1)));
    // Anyone else who learnt the id, or other text: refused, nothing learnt.
    for (case, cmd) in [
        (
            "other text",
            from_device(submit(uid(1), "khác hẳn"), Some("phone-a")),
        ),
        (
            "other device",
            from_device(submit(uid(1), TEXT), Some("phone-b")),
        ),
        ("no device", submit(uid(1), TEXT)),
    ] {
        assert_eq!(
            run(&view, &phone, &cmd),
            Err(DomainError::Duplicate),
            "{case}"
        );
    }
    assert_eq!(
        run(&view, &actor(Role::HallOperator), &submit(uid(1), TEXT)),
        Err(DomainError::Duplicate),
        "another seat"
    );
    assert_eq!(view.q(uid(1)).text, TEXT);
    // A hall operator's retry is recognised by the seat; moderators by the text.
    let op = actor(Role::HallOperator);
    view.ok(&op, submit(uid(2), TEXT));
    assert_eq!(
        run(&view, &op, &submit(uid(2), TEXT)).unwrap().duplicate_of,
        Some(uid(2))
    );
    assert_eq!(
        run(&view, &moderator(), &submit(uid(2), TEXT))
            .unwrap()
            .duplicate_of,
        Some(uid(2))
    );
    // A forbidden role learns nothing.
    assert_eq!(
        run(&view, &actor(Role::Display), &submit(uid(1), TEXT)),
        Err(DomainError::Forbidden)
    );
}

#[test]
fn approve_and_reject_record_state_and_reason() {
    let mut view = matrix_view(QState::Pending);
    view.ok(
        &moderator(),
        command(Kind::Approve, &question(SUBJECT, QState::Pending)),
    );
    assert_eq!(view.q(SUBJECT).state, QState::Approved);
    let cur = view.q(SUBJECT).clone();
    view.ok(
        &moderator(),
        Command::Reject {
            question: SUBJECT,
            version: cur.version,
            reason: "  Nội dung không phù hợp  ".into(),
        },
    );
    let q = view.q(SUBJECT);
    assert_eq!(q.state, QState::Rejected);
    assert_eq!(q.reject_reason.as_deref(), Some("Nội dung không phù hợp"));
    assert_eq!(q.version, 5);
}

#[test]
fn edit_keeps_the_original_text_once() {
    let mut view = matrix_view(QState::Pending);
    let edit = |v: &TestView, text: &str| Command::Edit {
        question: SUBJECT,
        version: v.q(SUBJECT).version,
        text: text.into(),
    };
    // Same wording (after trimming) changes nothing: no version, no change.
    let same = view.ok(&moderator(), edit(&view, &format!("  {TEXT} ")));
    assert!(same.is_noop());
    assert_eq!(view.q(SUBJECT).original_text, None);
    view.ok(&moderator(), edit(&view, "Bản sửa lần 1"));
    assert_eq!(view.q(SUBJECT).original_text.as_deref(), Some(TEXT));
    assert_eq!(view.q(SUBJECT).text, "Bản sửa lần 1");
    view.ok(&moderator(), edit(&view, "Bản sửa lần 2"));
    assert_eq!(
        view.q(SUBJECT).original_text.as_deref(),
        Some(TEXT),
        "first wording kept"
    );
    assert_eq!(view.q(SUBJECT).text, "Bản sửa lần 2");
    assert_eq!(view.q(SUBJECT).version, 5, "two real edits on version 3");
}

#[test]
fn merge_carries_votes_and_halls_and_links_both_ways() {
    let mut target = question_at(uid(2), QState::Approved, HALL, DEPT);
    target.halls = vec![OTHER_HALL.into()];
    target.votes = 3;
    let mut source = question_at(uid(1), QState::Queued, OTHER_HALL, DEPT);
    source.halls = vec!["tan-chau".into(), HALL.into()];
    source.votes = 2;
    let mut view = TestView::of([source.clone(), target.clone()]);
    let out = view.ok(
        &moderator(),
        Command::Merge {
            question: source.id,
            version: source.version,
            into: target.id,
        },
    );
    assert_eq!(out.questions.len(), 2);
    let s = view.q(source.id);
    assert_eq!((s.state, s.merged_into), (QState::Merged, Some(target.id)));
    let t = view.q(target.id);
    assert_eq!(t.state, QState::Approved);
    assert_eq!(t.votes, 5);
    assert_eq!(
        t.halls,
        vec![OTHER_HALL.to_string(), "tan-chau".into()],
        "no duplicates, not its own hall"
    );
    assert_eq!(t.merged_from, vec![source.id]);
    assert_eq!(t.version, target.version + 1);
}

#[test]
fn merging_a_question_that_absorbed_others_repoints_them_to_the_new_target() {
    // a → b, then b → c: a must follow to c (regression: a used to point at merged b,
    // and a's receipt followed one hop to a question stuck in "merged").
    let (a, b, c) = (uid(1), uid(2), uid(3));
    let mut view = TestView::of([
        question(a, QState::Pending),
        question(b, QState::Pending),
        question(c, QState::Approved),
    ]);
    view.ok(
        &moderator(),
        command_at(Kind::Merge, &question(a, QState::Pending), 3).retarget(b),
    );
    assert_eq!(view.q(b).votes, 2);
    let out = view.ok(
        &moderator(),
        command_at(Kind::Merge, view.q(b), 4).retarget(c),
    );
    assert_eq!(
        out.questions.len(),
        3,
        "source, target and the re-pointed question"
    );
    assert_eq!(view.q(a).merged_into, Some(c));
    assert_eq!(view.q(a).version, 5);
    assert_eq!(view.q(b).merged_into, Some(c));
    assert!(view.q(b).merged_from.is_empty());
    assert_eq!(view.q(c).merged_from, vec![b, a]);
    assert_eq!(view.q(c).votes, 3);
}

#[test]
fn merge_moves_only_questions_that_really_point_at_the_source() {
    // Inconsistent input (b lists x, but x was merged elsewhere) is not spread further.
    let (a, b, c, x) = (uid(1), uid(2), uid(3), uid(4));
    let mut qa = question(a, QState::Merged);
    qa.merged_into = Some(b);
    let mut qb = question(b, QState::Approved);
    qb.merged_from = vec![a, x];
    qb.votes = 3;
    let qx = question(x, QState::Merged); // points at ANCHOR
    let mut view = TestView::of([qa, qb.clone(), question(c, QState::Pending), qx, anchor()]);
    let out = view.ok(&moderator(), command(Kind::Merge, &qb).retarget(c));
    let touched: Vec<Uuid> = out.questions.iter().map(|u| u.question.id).collect();
    assert_eq!(touched, vec![b, c, a]);
    assert_eq!(view.q(a).merged_into, Some(c));
    assert_eq!(view.q(x).merged_into, Some(ANCHOR));
    assert_eq!(view.q(b).merged_from, vec![x]);
    assert_eq!(view.q(c).merged_from, vec![b, a]);
}

impl Command {
    /// The same merge command into another target (test helper).
    fn retarget(self, target: Uuid) -> Command {
        match self {
            Command::Merge {
                question, version, ..
            } => Command::Merge {
                question,
                version,
                into: target,
            },
            other => other,
        }
    }
}

#[test]
fn set_group_sets_and_clears() {
    let mut view = matrix_view(QState::Answered);
    view.ok(&moderator(), command(Kind::SetGroup, view.q(SUBJECT)));
    assert_eq!(view.q(SUBJECT).group.as_deref(), Some("khoi-nghiep"));
    let v = view.q(SUBJECT).version;
    view.ok(
        &moderator(),
        Command::SetGroup {
            question: SUBJECT,
            version: v,
            group: Some("  ".into()),
        },
    );
    assert_eq!(view.q(SUBJECT).group, None);
}

#[test]
fn a_command_that_changes_nothing_commits_nothing() {
    let mut view = matrix_view(QState::Answered);
    view.ok(&moderator(), command(Kind::SetGroup, view.q(SUBJECT)));
    let before = view.q(SUBJECT).clone();
    // The same group again: no new version, so nobody's open edit conflicts.
    let again = view.ok(&moderator(), command(Kind::SetGroup, view.q(SUBJECT)));
    assert!(again.is_noop(), "{again:?}");
    assert_eq!(view.q(SUBJECT), &before);
    // Clearing it is a change again.
    let cleared = view.ok(
        &moderator(),
        Command::SetGroup {
            question: SUBJECT,
            version: before.version,
            group: None,
        },
    );
    assert_eq!(cleared.questions.len(), 1);
    assert_eq!(view.q(SUBJECT).version, before.version + 1);
}

#[test]
fn assign_puts_a_question_at_the_end_of_its_departments_queue() {
    let mut on_air = question_at(uid(9), QState::OnAir, HALL, DEPT);
    on_air.queue_pos = 50; // on air: not part of the queued set
    let mut view = TestView::of([
        queued(uid(1), DEPT, 1),
        queued(uid(2), DEPT, 7),
        queued(uid(3), OTHER_DEPT, 20),
        on_air,
        question(uid(4), QState::Approved),
        question(uid(5), QState::Approved),
    ]);
    let assign = |v: &TestView, id: Uuid, dept: &str| Command::Assign {
        question: id,
        version: v.q(id).version,
        department: dept.into(),
    };
    view.ok(&moderator(), assign(&view, uid(4), DEPT));
    assert_eq!(
        (view.q(uid(4)).state, view.q(uid(4)).queue_pos),
        (QState::Queued, 8)
    );
    assert_eq!(view.q(uid(4)).department.as_deref(), Some(DEPT));
    view.ok(&moderator(), assign(&view, uid(5), "tai-chinh"));
    assert_eq!(view.q(uid(5)).queue_pos, 1, "first in an empty queue");
    // Re-assigning to the same department keeps the place.
    view.ok(&moderator(), assign(&view, uid(1), DEPT));
    assert_eq!(view.q(uid(1)).queue_pos, 1);
    // Moving to another department goes to the end there.
    view.ok(&moderator(), assign(&view, uid(1), OTHER_DEPT));
    assert_eq!(view.q(uid(1)).queue_pos, 21);
    assert_eq!(view.q(uid(1)).department.as_deref(), Some(OTHER_DEPT));
}

#[test]
fn reorder_requires_exactly_the_departments_queued_set() {
    let mut view = TestView::of([
        queued(uid(1), DEPT, 1),
        queued(uid(2), DEPT, 2),
        queued(uid(3), DEPT, 3),
        queued(uid(4), OTHER_DEPT, 1),
        question_at(uid(5), QState::OnAir, HALL, DEPT),
        question_at(uid(6), QState::Answered, HALL, DEPT),
    ]);
    let reorder = |order: &[u128]| Command::Reorder {
        department: DEPT.into(),
        order: order.iter().map(|n| uid(*n)).collect(),
    };
    for bad in [
        &[3, 1][..],      // missing one
        &[3, 1, 2, 4],    // another department's
        &[3, 1, 2, 5],    // on air is not queued
        &[3, 1, 2, 6],    // answered is not queued
        &[3, 1, 1],       // duplicate hides a missing one
        &[3, 1, 2, 2],    // duplicate
        &[3, 1, 2, 0xDD], // unknown
        &[],
    ] {
        assert_eq!(
            err(&view, &moderator(), reorder(bad)),
            DomainError::StaleOrder,
            "{bad:?}"
        );
    }
    let out = view.ok(&moderator(), reorder(&[3, 1, 2]));
    assert_eq!(out.questions.len(), 3);
    assert_eq!(
        [1, 2, 3].map(|n| view.q(uid(n)).queue_pos),
        [2, 3, 1],
        "positions 1..n in the given order"
    );
    // Only questions whose position changes are touched.
    let out = view.ok(&moderator(), reorder(&[3, 2, 1]));
    let touched: Vec<Uuid> = out.questions.iter().map(|u| u.question.id).collect();
    assert_eq!(touched, vec![uid(2), uid(1)]);
    // Unknown department; and non-moderators.
    let bogus = Command::Reorder {
        department: "so-bogus".into(),
        order: vec![],
    };
    assert_eq!(
        err(&view, &moderator(), bogus),
        DomainError::UnknownDepartment("so-bogus".into())
    );
    assert_eq!(
        err(&view, &actor(Role::Chair), reorder(&[3, 2, 1])),
        DomainError::Forbidden
    );
    // An empty department reorders to nothing.
    let empty = Command::Reorder {
        department: "tai-chinh".into(),
        order: vec![],
    };
    assert!(run(&view, &moderator(), &empty).unwrap().is_noop());
}

#[test]
fn only_one_question_on_air() {
    let mut view = TestView::of([
        question_at(uid(1), QState::OnAir, HALL, OTHER_DEPT),
        queued(uid(2), DEPT, 1),
    ]);
    let put = |v: &TestView| command(Kind::PutOnAir, v.q(uid(2)));
    assert_eq!(
        err(&view, &moderator(), put(&view)),
        DomainError::OnAirBusy(uid(1))
    );
    view.ok(&moderator(), command(Kind::MarkAnswered, view.q(uid(1))));
    assert_eq!(view.q(uid(1)).answered_at, Some(NOW));
    view.ok(&moderator(), put(&view));
    assert_eq!(view.q(uid(2)).state, QState::OnAir);
    assert_eq!(view.q(uid(2)).on_air_at, Some(NOW));
}

#[test]
fn take_off_air_returns_to_its_place_or_to_the_end_when_taken() {
    let mut view = TestView::of([
        queued(uid(1), DEPT, 1),
        queued(uid(2), DEPT, 2),
        queued(uid(3), DEPT, 3),
    ]);
    view.ok(&moderator(), command(Kind::PutOnAir, view.q(uid(1))));
    // Nobody took position 1: it comes back there.
    view.ok(&moderator(), command(Kind::TakeOffAir, view.q(uid(1))));
    assert_eq!(
        (view.q(uid(1)).state, view.q(uid(1)).queue_pos),
        (QState::Queued, 1)
    );
    // On air again; meanwhile the rest of the queue is reordered to 1..2.
    view.ok(&moderator(), command(Kind::PutOnAir, view.q(uid(1))));
    view.ok(
        &moderator(),
        Command::Reorder {
            department: DEPT.into(),
            order: vec![uid(3), uid(2)],
        },
    );
    assert_eq!(view.q(uid(3)).queue_pos, 1);
    view.ok(&moderator(), command(Kind::TakeOffAir, view.q(uid(1))));
    assert_eq!(
        view.q(uid(1)).queue_pos,
        3,
        "position 1 was taken: to the end, not a duplicate"
    );
    assert_unique_queue_positions(&view);
}

#[test]
fn defer_by_moderator_requires_an_agency_and_defaults_the_due_date() {
    let view = matrix_view(QState::Approved);
    let defer = |agency: Option<&str>, due: Option<&str>| Command::Defer {
        question: SUBJECT,
        version: 3,
        agency: agency.map(str::to_string),
        due: due.map(str::to_string),
    };
    for agency in [None, Some(""), Some("  \t")] {
        assert_eq!(
            err(&view, &moderator(), defer(agency, None)),
            DomainError::AgencyRequired,
            "{agency:?}"
        );
    }
    let out = run(
        &view,
        &actor(Role::Admin),
        &defer(Some(" Sở Tư pháp "), None),
    )
    .unwrap();
    let q = &out.questions[0].question;
    assert_eq!(q.state, QState::Deferred);
    let f = q.followup.as_ref().expect("follow-up");
    assert_eq!(
        (f.agency.as_str(), f.due.as_str()),
        ("Sở Tư pháp", DEFAULT_DUE)
    );
    assert_eq!(f.answer, None);
    let out = run(
        &view,
        &moderator(),
        &defer(Some("Hội LHTN Việt Nam tỉnh"), Some(" 2024-06-30 ")),
    )
    .unwrap();
    assert_eq!(
        out.questions[0].question.followup.as_ref().unwrap().due,
        "2024-06-30"
    );
    let long = "x".repeat(301);
    assert_eq!(
        err(&view, &moderator(), defer(Some(&long), None)),
        DomainError::FieldTooLong
    );
}

#[test]
fn defer_by_speaker_only_own_department_agency_defaults_to_department_name() {
    for state in [QState::Queued, QState::OnAir] {
        let view = matrix_view(state);
        let cmd = Command::Defer {
            question: SUBJECT,
            version: 3,
            agency: None,
            due: None,
        };
        let out = run(&view, &actor(Role::Speaker), &cmd).unwrap();
        let f = out.questions[0].question.followup.clone().unwrap();
        assert_eq!(f.agency, "Sở Giáo dục và Đào tạo", "{state:?}");
        assert_eq!(f.due, DEFAULT_DUE);
        assert_eq!(
            run(&view, &speaker_of(OTHER_DEPT), &cmd),
            Err(DomainError::Forbidden),
            "{state:?}"
        );
        let unbound = Actor::new(Role::Speaker, "speaker");
        assert_eq!(
            run(&view, &unbound, &cmd),
            Err(DomainError::Forbidden),
            "{state:?}"
        );
        // An explicit agency wins.
        let named = Command::Defer {
            question: SUBJECT,
            version: 3,
            agency: Some("Sở Y tế".into()),
            due: None,
        };
        let out = run(&view, &actor(Role::Speaker), &named).unwrap();
        assert_eq!(
            out.questions[0].question.followup.as_ref().unwrap().agency,
            "Sở Y tế"
        );
    }
}

#[test]
fn written_answer_track_drafts_sends_and_publishes() {
    let mut view = matrix_view(QState::Deferred);
    let update = |v: &TestView, agency: Option<&str>, due: Option<&str>, answer: Option<&str>| {
        Command::UpdateFollowUp {
            question: SUBJECT,
            version: v.q(SUBJECT).version,
            agency: agency.map(str::to_string),
            due: due.map(str::to_string),
            answer: answer.map(str::to_string),
        }
    };
    // Changing agency and due alone keeps the question deferred.
    view.ok(
        &follow_up(),
        update(&view, Some("Sở Tư pháp"), Some("2024-05-31"), None),
    );
    let q = view.q(SUBJECT);
    assert_eq!(q.state, QState::Deferred);
    let f = q.followup.as_ref().unwrap();
    assert_eq!(
        (f.agency.as_str(), f.due.as_str()),
        ("Sở Tư pháp", "2024-05-31")
    );
    // Invalid updates.
    assert_eq!(
        err(&view, &follow_up(), update(&view, Some("  "), None, None)),
        DomainError::AgencyRequired
    );
    assert_eq!(
        err(&view, &follow_up(), update(&view, None, None, Some(" \n "))),
        DomainError::EmptyText
    );
    assert_eq!(
        err(
            &view,
            &follow_up(),
            update(&view, None, None, Some(&"a".repeat(20_001)))
        ),
        DomainError::FieldTooLong
    );
    // Saving an answer drafts it.
    view.ok(
        &follow_up(),
        update(&view, None, None, Some("Trả lời: ...")),
    );
    let q = view.q(SUBJECT);
    assert_eq!(q.state, QState::AnswerDrafted);
    let f = q.followup.as_ref().unwrap();
    assert_eq!(f.answer.as_deref(), Some("Trả lời: ..."));
    assert_eq!(
        (f.drafted_at, f.drafted_by.as_deref()),
        (Some(NOW), Some("follow_up"))
    );
    view.ok(&follow_up(), command(Kind::MarkSent, view.q(SUBJECT)));
    let f = view.q(SUBJECT).followup.clone().unwrap();
    assert_eq!(view.q(SUBJECT).state, QState::AnswerSent);
    assert_eq!(
        (f.sent_at, f.sent_by.as_deref()),
        (Some(NOW), Some("follow_up"))
    );
    view.ok(&actor(Role::Admin), command(Kind::Publish, view.q(SUBJECT)));
    let f = view.q(SUBJECT).followup.clone().unwrap();
    assert_eq!(view.q(SUBJECT).state, QState::Published);
    assert_eq!(
        (f.published_at, f.published_by.as_deref()),
        (Some(NOW), Some("admin"))
    );
    assert_eq!(f.answer.as_deref(), Some("Trả lời: ..."));
}

#[test]
fn floor_grant_ends_the_previous_speaker_and_halls_are_independent() {
    let (a, b, c) = (uid(1), uid(2), uid(3));
    let mut view = TestView::default();
    view.ok(
        &hall_operator_of(HALL),
        Command::RequestFloor { id: a, note: None },
    );
    view.ok(
        &hall_operator_of(OTHER_HALL),
        Command::RequestFloor { id: b, note: None },
    );
    view.ok(
        &hall_operator_of("tri-ton"),
        Command::RequestFloor { id: c, note: None },
    );
    view.ok(&moderator(), Command::GrantFloor { request: a });
    let out = view.ok(&moderator(), Command::GrantFloor { request: b });
    assert_eq!(out.floor.len(), 2);
    assert_eq!(
        view.floor[&a].state,
        FloorState::Done,
        "granting ends the previous one"
    );
    assert_eq!(view.floor[&b].state, FloorState::Granted);
    // The hall whose turn ended may ask again; the speaking hall may not.
    view.ok(
        &hall_operator_of(HALL),
        Command::RequestFloor {
            id: uid(4),
            note: None,
        },
    );
    assert_eq!(
        err(
            &view,
            &hall_operator_of(OTHER_HALL),
            Command::RequestFloor {
                id: uid(5),
                note: None
            }
        ),
        DomainError::FloorAlreadyRequested
    );
    // Another hall's operator may not cancel; the own one may.
    assert_eq!(
        err(
            &view,
            &hall_operator_of(OTHER_HALL),
            Command::CancelFloor { request: c }
        ),
        DomainError::Forbidden
    );
    view.ok(
        &hall_operator_of("tri-ton"),
        Command::CancelFloor { request: c },
    );
    assert_eq!(view.floor[&c].state, FloorState::Cancelled);
    view.ok(&moderator(), Command::EndFloor { request: b });
    assert_eq!(view.floor[&b].state, FloorState::Done);
}

#[test]
fn floor_request_retry_and_unbound_operator() {
    let mut view = TestView::default();
    view.ok(
        &hall_operator_of(HALL),
        Command::RequestFloor {
            id: uid(1),
            note: None,
        },
    );
    let again = run(
        &view,
        &hall_operator_of(HALL),
        &Command::RequestFloor {
            id: uid(1),
            note: None,
        },
    )
    .unwrap();
    assert!(again.is_noop());
    assert_eq!(again.duplicate_of, Some(uid(1)));
    assert_eq!(
        err(
            &view,
            &hall_operator_of(OTHER_HALL),
            Command::RequestFloor {
                id: uid(1),
                note: None
            }
        ),
        DomainError::Forbidden,
        "another hall's request id"
    );
    let unbound = Actor::new(Role::HallOperator, "hall_operator");
    assert_eq!(
        err(
            &view,
            &unbound,
            Command::RequestFloor {
                id: uid(2),
                note: None
            }
        ),
        DomainError::Forbidden
    );
    let long = Command::RequestFloor {
        id: uid(3),
        note: Some("ư".repeat(301)),
    };
    assert_eq!(
        err(&view, &hall_operator_of(OTHER_HALL), long),
        DomainError::FieldTooLong
    );
}

// ---------------------------------------------------------------------------
// 3. Error paths of input
// ---------------------------------------------------------------------------

#[test]
fn empty_or_whitespace_text_is_refused() {
    let view = matrix_view(QState::Approved);
    for blank in ["", " ", "\t\n", "\u{3000}", "  \r\n  "] {
        assert_eq!(
            err(&view, &moderator(), submit(uid(1), blank)),
            DomainError::EmptyText,
            "{blank:?}"
        );
        let edit = Command::Edit {
            question: SUBJECT,
            version: 3,
            text: blank.into(),
        };
        assert_eq!(
            err(&view, &moderator(), edit),
            DomainError::EmptyText,
            "{blank:?}"
        );
    }
    for blank in ["", "   "] {
        let reject = Command::Reject {
            question: SUBJECT,
            version: 3,
            reason: blank.into(),
        };
        assert_eq!(
            err(&view, &moderator(), reject),
            DomainError::ReasonRequired
        );
    }
}

#[test]
fn length_limit_counts_characters_not_bytes() {
    let max = event().max_question_chars;
    assert_eq!(max, 2000);
    let view = matrix_view(QState::Approved);
    // "ữ" is one character, three bytes in UTF-8.
    let at_limit = "ữ".repeat(max);
    assert_eq!(at_limit.len(), 3 * max);
    let out = run(&view, &actor(Role::Participant), &submit(uid(1), &at_limit)).unwrap();
    assert_eq!(out.questions[0].question.text.chars().count(), max);
    let over = "ữ".repeat(max + 1);
    assert_eq!(
        err(&view, &actor(Role::Participant), submit(uid(1), &over)),
        DomainError::TextTooLong(max)
    );
    // Counted after NFC: 2,000 decomposed "ệ" are 6,000 code points as typed.
    let decomposed = "e\u{0302}\u{0323}".repeat(max);
    let out = run(
        &view,
        &actor(Role::Participant),
        &submit(uid(2), &decomposed),
    )
    .unwrap();
    assert_eq!(out.questions[0].question.text, "ệ".repeat(max));
    // Surrounding whitespace does not count.
    let padded = format!("   {at_limit}\n");
    assert!(run(&view, &actor(Role::Participant), &submit(uid(3), &padded)).is_ok());
    // Editing obeys the same limit.
    let edit = |text: &str| Command::Edit {
        question: SUBJECT,
        version: 3,
        text: text.into(),
    };
    assert!(run(&view, &moderator(), &edit(&at_limit)).is_ok());
    assert_eq!(
        err(&view, &moderator(), edit(&over)),
        DomainError::TextTooLong(max)
    );
}

#[test]
fn unknown_hall_group_and_department_are_refused() {
    let view = matrix_view(QState::Approved);
    let mut cmd = submit_as(uid(1), TEXT, Some("ha-noi"), None, false);
    assert_eq!(
        err(&view, &moderator(), cmd.clone()),
        DomainError::UnknownHall("ha-noi".into())
    );
    if let Command::Submit { hall, group, .. } = &mut cmd {
        *hall = None;
        *group = Some("the-thao".into());
    }
    assert_eq!(
        err(&view, &moderator(), cmd),
        DomainError::UnknownGroup("the-thao".into())
    );
    let set = Command::SetGroup {
        question: SUBJECT,
        version: 3,
        group: Some("the-thao".into()),
    };
    assert_eq!(
        err(&view, &moderator(), set),
        DomainError::UnknownGroup("the-thao".into())
    );
    let assign = Command::Assign {
        question: SUBJECT,
        version: 3,
        department: "so-y-te".into(),
    };
    assert_eq!(
        err(&view, &moderator(), assign),
        DomainError::UnknownDepartment("so-y-te".into())
    );
    // Ids are case-sensitive slugs.
    let assign = Command::Assign {
        question: SUBJECT,
        version: 3,
        department: "GDDT".into(),
    };
    assert_eq!(
        err(&view, &moderator(), assign),
        DomainError::UnknownDepartment("GDDT".into())
    );
}

#[test]
fn personal_data_requires_consent() {
    let view = TestView::default();
    let p = actor(Role::Participant);
    assert_eq!(
        err(
            &view,
            &p,
            submit_as(uid(1), TEXT, None, Some(asker(false)), false)
        ),
        DomainError::ConsentRequired
    );
    // Each field alone is personal data.
    let fields = [
        Questioner {
            name: Some("An".into()),
            ..Default::default()
        },
        Questioner {
            age: Some(19),
            ..Default::default()
        },
        Questioner {
            organization: Some("THPT Chợ Mới".into()),
            ..Default::default()
        },
        Questioner {
            phone: Some("0900000000".into()),
            ..Default::default()
        },
    ];
    for data in fields {
        assert_eq!(
            err(
                &view,
                &p,
                submit_as(uid(1), TEXT, None, Some(data.clone()), false)
            ),
            DomainError::ConsentRequired,
            "{data:?}"
        );
    }
    // Blank fields are no data: no consent needed and nothing stored.
    let blank = Questioner {
        name: Some("  ".into()),
        phone: Some("".into()),
        show_name: true,
        ..Default::default()
    };
    let out = run(
        &view,
        &p,
        &submit_as(uid(1), TEXT, None, Some(blank), false),
    )
    .unwrap();
    assert_eq!(out.questions[0].question.questioner, None);
    // With consent the data is stored, cleaned.
    let mut typed = asker(true);
    typed.name = Some("  Nguye\u{0302}\u{0303}n Văn An ".into());
    let out = run(&view, &p, &submit_as(uid(2), TEXT, None, Some(typed), true)).unwrap();
    let stored = out.questions[0].question.questioner.clone().unwrap();
    assert_eq!(stored.name.as_deref(), Some("Nguyễn Văn An"));
    assert_eq!(stored.age, Some(22));
    assert!(stored.show_name);
    // Field limits.
    let mut long = asker(false);
    long.phone = Some("0".repeat(33));
    assert_eq!(
        err(&view, &p, submit_as(uid(3), TEXT, None, Some(long), true)),
        DomainError::FieldTooLong
    );
    let mut long = asker(false);
    long.name = Some("Ư".repeat(201));
    assert_eq!(
        err(&view, &p, submit_as(uid(3), TEXT, None, Some(long), true)),
        DomainError::FieldTooLong
    );
}

#[test]
fn invalid_due_dates_are_refused() {
    let view = matrix_view(QState::Queued);
    let deferred = matrix_view(QState::Deferred);
    for bad in [
        "",
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "26/03/2024",
        "2024-3-5",
        "ngày mai",
        "2024-04-25T00:00",
    ] {
        let defer = Command::Defer {
            question: SUBJECT,
            version: 3,
            agency: Some("Sở Y tế".into()),
            due: Some(bad.into()),
        };
        assert_eq!(
            err(&view, &moderator(), defer),
            DomainError::InvalidDate(bad.into()),
            "{bad:?}"
        );
        let update = Command::UpdateFollowUp {
            question: SUBJECT,
            version: 3,
            agency: None,
            due: Some(bad.into()),
            answer: None,
        };
        assert_eq!(
            err(&deferred, &follow_up(), update),
            DomainError::InvalidDate(bad.into()),
            "{bad:?}"
        );
    }
    // A leap day is a date.
    let defer = Command::Defer {
        question: SUBJECT,
        version: 3,
        agency: Some("Sở Y tế".into()),
        due: Some("2024-02-29".into()),
    };
    assert!(run(&view, &moderator(), &defer).is_ok());
}

#[test]
fn merge_into_self_is_refused() {
    for state in QState::ALL {
        let view = matrix_view(state);
        let cmd = Command::Merge {
            question: SUBJECT,
            version: 3,
            into: SUBJECT,
        };
        assert_eq!(
            err(&view, &moderator(), cmd),
            DomainError::MergeIntoSelf,
            "{state:?}"
        );
    }
}

#[test]
fn submitted_and_edited_text_is_stored_nfc() {
    let decomposed = "Thanh nie\u{0302}n kho\u{031B}\u{0309}i nghie\u{0302}\u{0323}p  ";
    let composed = "Thanh niên khởi nghiệp";
    assert_ne!(decomposed.trim(), composed);
    let mut view = TestView::default();
    view.ok(&actor(Role::Participant), submit(uid(1), decomposed));
    assert_eq!(view.q(uid(1)).text, composed);
    // Same text in another normalisation is no edit at all.
    let same = view.ok(
        &moderator(),
        Command::Edit {
            question: uid(1),
            version: 1,
            text: decomposed.into(),
        },
    );
    assert!(same.is_noop());
    assert_eq!(view.q(uid(1)).original_text, None);
    assert_eq!(view.q(uid(1)).version, 1);
    view.ok(
        &moderator(),
        Command::Edit {
            question: uid(1),
            version: 1,
            text: "Hoa\u{0300} nhập".into(),
        },
    );
    assert_eq!(view.q(uid(1)).text, "Hoà nhập");
    view.ok(
        &moderator(),
        Command::Reject {
            question: uid(1),
            version: 2,
            reason: "Tru\u{0300}ng la\u{0323}\u{0306}p".into(),
        },
    );
    assert_eq!(view.q(uid(1)).reject_reason.as_deref(), Some("Trùng lặp"));
}

// ---------------------------------------------------------------------------
// 4. Visibility: Audience::sees / project for every audience × state
// ---------------------------------------------------------------------------

/// Where a question comes from relative to the audiences under test
/// (hall operator of `cho-moi`, speaker of `gddt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// Raised in cho-moi, routed to gddt.
    Own,
    /// Raised in chau-doc, routed to khdt.
    Foreign,
    /// Raised in chau-doc, routed to khdt, with cho-moi merged in.
    MergedIn,
}

fn audiences() -> [Audience; 6] {
    [
        Audience::Full,
        Audience::Staff,
        Audience::Speaker(DEPT.into()),
        Audience::Hall(HALL.into()),
        Audience::Public,
        Audience::Phone,
    ]
}

fn visibility_question(state: QState, origin: Origin, show_name: bool) -> Question {
    let mut q = match origin {
        Origin::Own => question_at(uid(1), state, HALL, DEPT),
        Origin::Foreign | Origin::MergedIn => question_at(uid(1), state, OTHER_HALL, OTHER_DEPT),
    };
    if origin == Origin::MergedIn {
        q.halls = vec!["tan-chau".into(), HALL.into()];
    }
    q.questioner = Some(asker(show_name));
    q.original_text = Some("Bản gốc của người hỏi".into());
    q.submitted_by = "hall_operator:cho-moi".into();
    q
}

/// The independent visibility table.
fn expected_sees(audience: &Audience, state: QState, origin: Origin) -> bool {
    match audience {
        Audience::Full | Audience::Staff => true,
        Audience::Speaker(_) => {
            state == QState::OnAir || (origin == Origin::Own && ROUTED.contains(&state))
        }
        Audience::Hall(_) => state == QState::OnAir || origin != Origin::Foreign,
        Audience::Public => PUBLIC.contains(&state),
        Audience::Phone => state == QState::OnAir,
    }
}

#[test]
fn visibility_every_audience_every_state() {
    let mut failures = Vec::new();
    let mut seen = 0;
    for audience in audiences() {
        for state in QState::ALL {
            for origin in [Origin::Own, Origin::Foreign, Origin::MergedIn] {
                for show_name in [true, false] {
                    let q = visibility_question(state, origin, show_name);
                    let case = format!("{audience:?} {state:?} {origin:?} show_name={show_name}");
                    let want = expected_sees(&audience, state, origin);
                    if audience.sees(&q) != want {
                        failures.push(format!("{case}: sees {}, expected {want}", !want));
                    }
                    let Some(p) = audience.project(&q) else {
                        if want {
                            failures.push(format!("{case}: no projection"));
                        }
                        continue;
                    };
                    if !want {
                        failures.push(format!("{case}: projected but must not see"));
                        continue;
                    }
                    seen += 1;
                    // Personal data only for the Full audience.
                    assert_eq!(p.questioner.is_some(), audience == Audience::Full, "{case}");
                    // The name only with consent to show it, for everyone.
                    let name = show_name.then(|| ASKER_NAME.to_string());
                    assert_eq!(p.display_name, name, "{case}");
                    // Identity and wording are always there.
                    assert_eq!(
                        (p.id, p.state, &p.text, &p.hall),
                        (q.id, q.state, &q.text, &q.hall),
                        "{case}"
                    );
                    if matches!(audience, Audience::Public | Audience::Phone) {
                        assert_eq!(p.original_text, None, "{case}");
                        assert_eq!(p.reject_reason, None, "{case}");
                        assert_eq!(p.submitted_by, "", "{case}");
                        if let Some(f) = &p.followup {
                            assert_eq!(f.answer.is_some(), state == QState::Published, "{case}");
                            assert_eq!(
                                (&f.drafted_by, &f.sent_by, &f.published_by),
                                (&None, &None, &None),
                                "{case}"
                            );
                        }
                    } else {
                        assert_eq!(
                            p.original_text, q.original_text,
                            "{case}: staff see the original wording"
                        );
                        assert_eq!(p.followup, q.followup, "{case}");
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(seen > 0);
}

#[test]
fn sees_as_judges_the_old_state_and_department_like_sees() {
    // The hub asks whether an audience saw a question before a change, from the
    // update's `from` state and `from_department`, without rebuilding it.
    for audience in audiences() {
        for now_state in QState::ALL {
            for origin in [Origin::Own, Origin::Foreign, Origin::MergedIn] {
                let current = visibility_question(now_state, origin, true);
                for old_state in QState::ALL {
                    for old_dept in [None, Some(DEPT), Some(OTHER_DEPT)] {
                        let mut old = current.clone();
                        old.state = old_state;
                        old.department = old_dept.map(str::to_string);
                        assert_eq!(
                            audience.sees_as(&current, old_state, old_dept),
                            audience.sees(&old),
                            "{audience:?} {origin:?} {now_state:?} was {old_state:?} in {old_dept:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn public_never_sees_pending_rejected_or_merged_nor_personal_data_in_json() {
    for state in QState::ALL {
        let mut q = visibility_question(state, Origin::Own, false);
        q.reject_reason = Some("Lý do nội bộ".into());
        let p = Audience::Public.project(&q);
        if matches!(state, QState::Pending | QState::Rejected | QState::Merged) {
            assert_eq!(p, None, "{state:?}");
            continue;
        }
        let json = serde_json::to_string(&p.expect("visible")).unwrap();
        for secret in [
            ASKER_NAME,
            "0912 345 678",
            "Trường Đại học An Giang",
            "Bản gốc",
            "Lý do nội bộ",
            "hall_operator",
        ] {
            assert!(!json.contains(secret), "{state:?} leaks {secret:?}: {json}");
        }
    }
}

#[test]
fn hall_audience_sees_merged_in_halls_and_the_on_air_question() {
    let mut q = question_at(uid(1), QState::Approved, OTHER_HALL, OTHER_DEPT);
    assert!(!Audience::Hall(HALL.into()).sees(&q));
    q.halls.push(HALL.into());
    assert!(Audience::Hall(HALL.into()).sees(&q));
    assert!(Audience::Hall("tri-ton".into()).project(&q).is_none());
    let on_air = question_at(uid(2), QState::OnAir, OTHER_HALL, OTHER_DEPT);
    assert!(Audience::Hall("tri-ton".into()).sees(&on_air));
    assert!(Audience::Speaker("tai-chinh".into()).sees(&on_air));
}

#[test]
fn each_role_maps_to_its_audience() {
    let want = |role: Role| match role {
        Role::Admin | Role::Moderator | Role::FollowUp => Audience::Full,
        Role::Chair => Audience::Staff,
        Role::Speaker => Audience::Speaker(DEPT.into()),
        Role::HallOperator => Audience::Hall(HALL.into()),
        Role::Display => Audience::Public,
        Role::Participant => Audience::Phone,
    };
    for role in Role::ALL {
        assert_eq!(actor(role).audience(), want(role), "{role:?}");
        assert_eq!(
            role.sees_personal_data(),
            want(role) == Audience::Full,
            "{role:?}"
        );
        assert_eq!(Role::parse(role.as_str()), Some(role));
    }
}

// ---------------------------------------------------------------------------
// 5. Property-style random walk
// ---------------------------------------------------------------------------

/// xorshift64*: small, deterministic, no crates.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn percent(&mut self, p: u64) -> bool {
        self.next() % 100 < p
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn opt<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        let i = self.below(items.len() + 1);
        items.get(i).cloned()
    }
}

const WALK_TEXTS: [&str; 6] = [
    TEXT,
    "Thanh nie\u{0302}n no\u{0302}ng tho\u{0302}n",
    "Làm sao để vay vốn Quỹ quốc gia về việc làm?",
    "   ",
    "Hỏi về đào tạo nghề cho lao động nông thôn",
    "Đường về trường",
];

fn random_command(rng: &mut Rng, view: &TestView, step: u64) -> (Actor, Command) {
    let roles = Role::ALL;
    let any = |rng: &mut Rng| -> Actor {
        match rng.below(12) {
            0..=7 => actor(roles[rng.below(8)]),
            8 => speaker_of(OTHER_DEPT),
            9 => hall_operator_of(OTHER_HALL),
            10 => hall_operator_of("tinh"),
            _ => Actor::new(Role::Speaker, "speaker-unbound"),
        }
    };
    let ids = view.question_ids();
    // Mostly a question in a state where the command makes sense (so the walk
    // gets deep into the lifecycle), sometimes any question, rarely none.
    let pick_q = |rng: &mut Rng, likely: &[QState]| -> (Uuid, u32) {
        if ids.is_empty() || rng.percent(3) {
            return (uid(0xBAD), 1);
        }
        let fitting: Vec<Uuid> = ids
            .iter()
            .copied()
            .filter(|id| likely.contains(&view.q(*id).state))
            .collect();
        let id = if fitting.is_empty() || rng.percent(25) {
            *rng.pick(&ids)
        } else {
            *rng.pick(&fitting)
        };
        let v = view.q(id).version;
        let version = match rng.below(100) {
            0..=4 => v - 1,
            5..=7 => v + 1,
            _ => v,
        };
        (id, version)
    };
    let text = |rng: &mut Rng| -> String {
        if rng.percent(2) {
            "ơ".repeat(2001)
        } else {
            rng.pick(&WALK_TEXTS).to_string()
        }
    };
    let depts = [DEPT, DEPT, OTHER_DEPT, "ubnd", "so-bogus"];
    let staff = |rng: &mut Rng, likely: &[Actor]| -> Actor {
        if rng.percent(80) {
            rng.pick(likely).clone()
        } else {
            any(rng)
        }
    };
    let mods = [moderator(), actor(Role::Admin)];
    // Arm numbers below, repeated by weight.
    const WEIGHTED: [usize; 39] = [
        0, 1, 2, 2, 2, 3, 4, 5, 6, 7, 8, 8, 9, 9, 10, 11, 11, 12, 13, 13, 14, 14, 14, 15, 15, 15,
        16, 16, 17, 17, 18, 19, 19, 20, 20, 1, 21, 22, 22,
    ];
    let kind = if ids.len() < 3 {
        0
    } else {
        *rng.pick(&WEIGHTED)
    };
    match kind {
        0 | 1 => {
            let submitters = [
                actor(Role::Participant),
                actor(Role::HallOperator),
                hall_operator_of(OTHER_HALL),
                moderator(),
            ];
            let who = staff(rng, &submitters);
            let id = if !ids.is_empty() && rng.percent(5) {
                *rng.pick(&ids)
            } else {
                uid(0x1_0000 + u128::from(step) * 16 + rng.below(16) as u128)
            };
            let questioner = rng.percent(30).then(|| asker(rng.percent(50)));
            let cmd = Command::Submit {
                id,
                text: text(rng),
                hall: rng.opt(&[
                    "tinh".to_string(),
                    HALL.into(),
                    OTHER_HALL.into(),
                    "nowhere".into(),
                ]),
                group: rng.opt(&["khoi-nghiep".to_string(), "viec-lam".into(), "bogus".into()]),
                questioner,
                consent: rng.percent(85),
                source_note: None,
                imported: rng.percent(20),
                device: None,
            };
            (who, cmd)
        }
        2 => {
            let (question, version) = pick_q(rng, &[QState::Pending]);
            (staff(rng, &mods), Command::Approve { question, version })
        }
        3 => {
            let (question, version) =
                pick_q(rng, &[QState::Pending, QState::Approved, QState::Queued]);
            let reason = if rng.percent(85) { "Trùng lặp" } else { " " }.to_string();
            (
                staff(rng, &mods),
                Command::Reject {
                    question,
                    version,
                    reason,
                },
            )
        }
        4 => {
            let (question, version) = pick_q(
                rng,
                &[
                    QState::Pending,
                    QState::Approved,
                    QState::Queued,
                    QState::OnAir,
                ],
            );
            let text = text(rng);
            (
                staff(rng, &mods),
                Command::Edit {
                    question,
                    version,
                    text,
                },
            )
        }
        5 => {
            let (question, version) =
                pick_q(rng, &[QState::Pending, QState::Approved, QState::Queued]);
            let into = *rng.pick(&ids);
            (
                staff(rng, &mods),
                Command::Merge {
                    question,
                    version,
                    into,
                },
            )
        }
        6 => {
            let (question, version) = pick_q(rng, &QState::ALL);
            let group = rng.opt(&["khac".to_string(), "bogus".into()]);
            (
                staff(rng, &mods),
                Command::SetGroup {
                    question,
                    version,
                    group,
                },
            )
        }
        7 | 8 => {
            let (question, version) = pick_q(rng, &[QState::Approved, QState::Queued]);
            let department = rng.pick(&depts).to_string();
            (
                staff(rng, &mods),
                Command::Assign {
                    question,
                    version,
                    department,
                },
            )
        }
        9 => {
            let mut busy: Vec<&str> = view
                .questions
                .values()
                .filter(|q| q.state == QState::Queued)
                .filter_map(|q| q.department.as_deref())
                .collect();
            busy.sort();
            let department = if busy.is_empty() || rng.percent(15) {
                rng.pick(&depts).to_string()
            } else {
                rng.pick(&busy).to_string()
            };
            let mut queue: Vec<&Question> = view
                .questions
                .values()
                .filter(|q| {
                    q.state == QState::Queued
                        && q.department.as_deref() == Some(department.as_str())
                })
                .collect();
            queue.sort_by_key(|q| (q.queue_pos, q.id));
            let mut order: Vec<Uuid> = queue.iter().map(|q| q.id).collect();
            for i in (1..order.len()).rev() {
                let j = rng.below(i + 1);
                order.swap(i, j);
            }
            match rng.below(10) {
                0 => {
                    order.pop();
                }
                1 => order.push(*rng.pick(&ids)),
                _ => {}
            }
            (staff(rng, &mods), Command::Reorder { department, order })
        }
        10 | 11 => {
            let (question, version) = pick_q(rng, &[QState::Queued]);
            (staff(rng, &mods), Command::PutOnAir { question, version })
        }
        12 => {
            let (question, version) = pick_q(rng, &[QState::OnAir]);
            (staff(rng, &mods), Command::TakeOffAir { question, version })
        }
        13 => {
            let (question, version) = pick_q(rng, &[QState::OnAir, QState::Queued]);
            (
                staff(rng, &mods),
                Command::MarkAnswered { question, version },
            )
        }
        14 => {
            let (question, version) =
                pick_q(rng, &[QState::Approved, QState::Queued, QState::OnAir]);
            let deferrers = [moderator(), actor(Role::Speaker), speaker_of(OTHER_DEPT)];
            let agency = rng.opt(&["Sở Y tế".to_string(), "  ".into()]);
            let due = rng.opt(&["2024-05-01".to_string(), "2024-13-01".into()]);
            (
                staff(rng, &deferrers),
                Command::Defer {
                    question,
                    version,
                    agency,
                    due,
                },
            )
        }
        15 => {
            let (question, version) = pick_q(
                rng,
                &[QState::Deferred, QState::AnswerDrafted, QState::AnswerSent],
            );
            let agency = if rng.percent(20) {
                rng.opt(&["Sở Tư pháp".to_string(), "".into()])
            } else {
                None
            };
            let due = if rng.percent(20) {
                rng.opt(&["2024-06-01".to_string(), "01/06/2024".into()])
            } else {
                None
            };
            let answer = rng.opt(&[
                "Trả lời bằng văn bản".to_string(),
                "Bản trả lời".into(),
                " ".into(),
            ]);
            (
                staff(rng, &[follow_up()]),
                Command::UpdateFollowUp {
                    question,
                    version,
                    agency,
                    due,
                    answer,
                },
            )
        }
        16 => {
            let (question, version) = pick_q(rng, &[QState::AnswerDrafted]);
            (
                staff(rng, &[follow_up()]),
                Command::MarkSent { question, version },
            )
        }
        17 => {
            let (question, version) = pick_q(rng, &[QState::AnswerSent]);
            (
                staff(rng, &[follow_up()]),
                Command::Publish { question, version },
            )
        }
        21 => {
            let (question, version) = pick_q(rng, &[QState::Answered, QState::Rejected]);
            (staff(rng, &mods), Command::Reopen { question, version })
        }
        22 => {
            let (question, version) = pick_q(rng, &[QState::Merged]);
            (staff(rng, &mods), Command::Unmerge { question, version })
        }
        18 => {
            let ops = [
                actor(Role::HallOperator),
                hall_operator_of(OTHER_HALL),
                hall_operator_of("tinh"),
            ];
            let floor = view.floor_ids();
            let id = if !floor.is_empty() && rng.percent(10) {
                *rng.pick(&floor)
            } else {
                uid(0x100_0000 + u128::from(step))
            };
            (staff(rng, &ops), Command::RequestFloor { id, note: None })
        }
        _ => {
            let floor = view.floor_ids();
            let request = if floor.is_empty() {
                uid(0xBAD)
            } else {
                *rng.pick(&floor)
            };
            let cmd = match rng.below(4) {
                0 => Command::CancelFloor { request },
                1 => Command::GrantFloor { request },
                2 => Command::DeclineFloor { request },
                _ => Command::EndFloor { request },
            };
            let who = if matches!(cmd, Command::CancelFloor { .. }) && rng.percent(50) {
                let hall = view
                    .floor
                    .get(&request)
                    .map(|f| f.hall.clone())
                    .unwrap_or_default();
                hall_operator_of(&hall)
            } else {
                staff(rng, &mods)
            };
            (who, cmd)
        }
    }
}

fn is_date(s: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, format).is_ok()
}

fn assert_unique_queue_positions(view: &TestView) {
    let mut seen: HashMap<(&str, i64), Uuid> = HashMap::new();
    for q in view
        .questions
        .values()
        .filter(|q| q.state == QState::Queued)
    {
        let dept = q
            .department
            .as_deref()
            .expect("queued questions have a department");
        if let Some(other) = seen.insert((dept, q.queue_pos), q.id) {
            panic!(
                "{other} and {} share position {} in {dept}",
                q.id, q.queue_pos
            );
        }
    }
}

/// Invariants that must hold after every step of any command sequence.
fn check_invariants(view: &TestView) {
    let on_air = view
        .questions
        .values()
        .filter(|q| q.state == QState::OnAir)
        .count();
    assert!(on_air <= 1, "{on_air} questions on air");
    assert_unique_queue_positions(view);
    for q in view.questions.values() {
        let id = q.id;
        assert!(
            !q.text.is_empty() && q.text.chars().count() <= event().max_question_chars,
            "{id}: text"
        );
        match q.merged_into {
            Some(t) => {
                assert_eq!(
                    q.state,
                    QState::Merged,
                    "{id}: only merged questions point elsewhere"
                );
                let target = view
                    .questions
                    .get(&t)
                    .unwrap_or_else(|| panic!("{id}: target {t} missing"));
                assert_ne!(target.state, QState::Merged, "{id} points at merged {t}");
                assert!(target.merged_from.contains(&id), "{t} does not list {id}");
            }
            None => assert_ne!(q.state, QState::Merged, "{id}: merged without a target"),
        }
        for child in &q.merged_from {
            assert_eq!(
                view.questions[child].merged_into,
                Some(id),
                "{child} listed by {id}"
            );
        }
        if q.state != QState::Merged {
            // Merges flatten: a live question counts itself plus everything merged into it.
            assert_eq!(q.votes as usize, 1 + q.merged_from.len(), "{id}: votes");
        }
        if q.state == QState::Rejected {
            assert!(
                q.reject_reason
                    .as_deref()
                    .is_some_and(|r| !r.trim().is_empty()),
                "{id}: reason"
            );
        }
        if matches!(q.state, QState::Queued | QState::OnAir) {
            let dept = q.department.as_deref().unwrap_or_default();
            assert!(
                event().has_department(dept),
                "{id}: routed without a known department"
            );
        }
        if FOLLOW_UP.contains(&q.state) {
            let f = q
                .followup
                .as_ref()
                .unwrap_or_else(|| panic!("{id}: {:?} without follow-up", q.state));
            assert!(!f.agency.trim().is_empty(), "{id}: agency");
            assert!(is_date(&f.due), "{id}: due {:?}", f.due);
            if q.state != QState::Deferred {
                assert!(f.answer.is_some(), "{id}: {:?} without an answer", q.state);
            }
        }
        assert!(event().has_hall(&q.hall), "{id}: hall {}", q.hall);
    }
    let granted = view
        .floor
        .values()
        .filter(|f| f.state == FloorState::Granted)
        .count();
    assert!(granted <= 1, "{granted} halls have the floor");
    let mut open: HashMap<&str, usize> = HashMap::new();
    for f in view.floor.values() {
        if matches!(f.state, FloorState::Requested | FloorState::Granted) {
            *open.entry(f.hall.as_str()).or_default() += 1;
        }
    }
    assert!(
        open.values().all(|n| *n <= 1),
        "one open floor request per hall: {open:?}"
    );
}

/// Checks of one successful outcome against the state it was computed from.
fn check_outcome(before: &TestView, cmd: &Command, out: &Outcome, now: i64) {
    assert_eq!(out.action, cmd.action());
    let mut ids: Vec<Uuid> = out.questions.iter().map(|u| u.question.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        out.questions.len(),
        "a question updated twice in one outcome"
    );
    for u in &out.questions {
        let q = &u.question;
        assert_eq!(q.updated_at, now);
        match before.questions.get(&q.id) {
            None => {
                assert_eq!((u.from, q.version), (None, 1), "new question");
            }
            Some(old) => {
                assert_eq!(u.from, Some(old.state));
                assert!(
                    q.version > old.version,
                    "{}: version {} -> {}",
                    q.id,
                    old.version,
                    q.version
                );
                assert_eq!(q.version, old.version + 1);
                assert_eq!(
                    (q.created_at, &q.questioner),
                    (old.created_at, &old.questioner)
                );
            }
        }
    }
    for f in &out.floor {
        if let Some(old) = before.floor.get(&f.id) {
            assert_ne!(old.state, f.state, "a floor update changes state");
            assert_eq!(old.hall, f.hall);
        }
    }
}

#[test]
fn random_command_sequences_keep_the_invariants() {
    const SEQUENCES: u64 = 2_500;
    const STEPS: u64 = 80;
    let mut successes: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut reached: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut conflicts = 0;
    for seed in 0..SEQUENCES {
        let mut rng = Rng::new(seed + 1);
        let mut view = TestView::default();
        for step in 0..STEPS {
            let now = NOW + (step as i64) * 1_000;
            let (who, cmd) = random_command(&mut rng, &view, step);
            match run_at(&view, &who, &cmd, now) {
                Ok(out) => {
                    check_outcome(&view, &cmd, &out, now);
                    if !out.is_noop() {
                        *successes.entry(out.action).or_default() += 1;
                    }
                    view.commit(&out);
                }
                Err(DomainError::Conflict(current)) => {
                    conflicts += 1;
                    assert_eq!(
                        Some(current.as_ref()),
                        view.questions.get(&current.id),
                        "conflict carries the current"
                    );
                }
                Err(_) => {}
            }
            check_invariants(&view);
        }
        for q in view.questions.values() {
            *reached.entry(q.state.as_str()).or_default() += 1;
        }
    }
    println!(
        "successful commands: {successes:?}\nfinal states: {reached:?}\nconflicts: {conflicts}"
    );
    // The walk must actually exercise everything, or it proves little.
    for action in [
        "submit",
        "approve",
        "reject",
        "edit",
        "merge",
        "set_group",
        "assign",
        "reorder",
        "put_on_air",
        "take_off_air",
        "mark_answered",
        "defer",
        "update_follow_up",
        "mark_sent",
        "publish",
        "request_floor",
        "cancel_floor",
        "grant_floor",
        "decline_floor",
        "end_floor",
    ] {
        assert!(
            successes.get(action).copied().unwrap_or(0) >= 20,
            "{action} rarely succeeded: {successes:?}"
        );
    }
    for state in QState::ALL {
        assert!(
            reached.contains_key(state.as_str()),
            "{state:?} never reached: {reached:?}"
        );
    }
    assert!(conflicts > 100, "stale versions exercised: {conflicts}");
}

// ---- votes ("Tôi cũng muốn hỏi") ----

/// A view that remembers votes, as the engine's state does.
struct VotingView {
    inner: TestView,
    voters: std::collections::HashSet<(Uuid, String)>,
}

impl View for VotingView {
    fn question(&self, id: &Uuid) -> Option<&Question> {
        self.inner.question(id)
    }
    fn floor_request(&self, id: &Uuid) -> Option<&FloorRequest> {
        self.inner.floor_request(id)
    }
    fn questions(&self) -> Vec<&Question> {
        self.inner.questions()
    }
    fn floor_requests(&self) -> Vec<&FloorRequest> {
        self.inner.floor_requests()
    }
    fn has_voted(&self, question: &Uuid, voter: &str) -> bool {
        self.voters.contains(&(*question, voter.to_string()))
    }
}

fn vote(
    view: &VotingView,
    actor: &Actor,
    question: Uuid,
    device: &str,
) -> Result<Outcome, DomainError> {
    let cmd = Command::Vote {
        question,
        device: device.into(),
    };
    apply(
        view,
        &Ctx {
            event: event(),
            actor,
            now: NOW,
        },
        &cmd,
    )
}

#[test]
fn a_device_votes_once_per_question_without_bumping_the_version() {
    let phone = Actor::new(Role::Participant, "participant");
    let q = question(uid(1), QState::Approved);
    let mut view = VotingView {
        inner: TestView::of([q.clone()]),
        voters: Default::default(),
    };
    let out = vote(&view, &phone, q.id, "device-a").unwrap();
    let u = &out.questions[0];
    assert_eq!(u.question.votes, 2);
    assert_eq!(u.question.version, q.version, "a vote is not an edit");
    let voter = u.voter.clone().expect("the voter is recorded");
    assert_ne!(voter, "device-a", "only a hash of the device is kept");
    assert_eq!(
        voter,
        crate::domain::question::voter_key(&event().id, "device-a")
    );
    view.inner.commit(&out);
    view.voters.insert((q.id, voter));
    let again = vote(&view, &phone, q.id, "device-a").unwrap();
    assert!(again.is_noop(), "the same device again changes nothing");
    let other = vote(&view, &phone, q.id, "device-b").unwrap();
    assert_eq!(other.questions[0].question.votes, 3);
}

#[test]
fn votes_only_for_live_public_questions_by_participants_with_a_device() {
    let phone = Actor::new(Role::Participant, "participant");
    let view = |state| VotingView {
        inner: TestView::of([question(uid(1), state)]),
        voters: Default::default(),
    };
    for state in [QState::Approved, QState::Queued, QState::OnAir] {
        assert!(vote(&view(state), &phone, uid(1), "d").is_ok(), "{state:?}");
    }
    for state in [
        QState::Pending,
        QState::Rejected,
        QState::Merged,
        QState::Answered,
        QState::Deferred,
    ] {
        assert!(
            matches!(
                vote(&view(state), &phone, uid(1), "d"),
                Err(DomainError::InvalidTransition { action: "vote", .. })
            ),
            "{state:?}"
        );
    }
    assert_eq!(
        vote(&view(QState::Approved), &phone, uid(1), "  ").unwrap_err(),
        DomainError::DeviceRequired
    );
    let moderator = Actor::new(Role::Moderator, "moderator-1");
    assert_eq!(
        vote(&view(QState::Approved), &moderator, uid(1), "d").unwrap_err(),
        DomainError::Forbidden
    );
    assert_eq!(
        vote(&view(QState::Approved), &phone, uid(9), "d").unwrap_err(),
        DomainError::NotFound
    );
}

// ---------------------------------------------------------------------------
// Undo: reopen and unmerge (issue 13)
// ---------------------------------------------------------------------------

#[test]
fn reopen_puts_an_answered_question_back_in_its_place_and_a_rejected_one_back_to_pending() {
    let a = uid(1);
    let mut view = TestView::of([queued(a, DEPT, 2), queued(uid(2), DEPT, 1)]);
    view.ok(&moderator(), command(Kind::PutOnAir, view.q(a)));
    view.ok(&moderator(), command(Kind::MarkAnswered, view.q(a)));
    assert_eq!(view.q(a).state, QState::Answered);
    let v = view.q(a).version;
    view.ok(
        &moderator(),
        Command::Reopen {
            question: a,
            version: v,
        },
    );
    let q = view.q(a);
    assert_eq!(
        (q.state, q.queue_pos, q.version),
        (QState::Queued, 2, v + 1)
    );
    assert_eq!(q.answered_at, None);

    // Its place taken meanwhile: it goes to the end instead of sharing it.
    let b = uid(3);
    let mut answered = question_at(b, QState::Answered, HALL, DEPT);
    answered.queue_pos = 1;
    let mut view = TestView::of([answered, queued(uid(4), DEPT, 1), queued(uid(5), DEPT, 3)]);
    view.ok(&moderator(), command(Kind::Reopen, view.q(b)));
    assert_eq!((view.q(b).state, view.q(b).queue_pos), (QState::Queued, 4));
    check_invariants(&view);

    let r = uid(6);
    let mut view = TestView::of([question(r, QState::Pending)]);
    view.ok(&moderator(), command(Kind::Reject, view.q(r)));
    view.ok(&moderator(), command(Kind::Reopen, view.q(r)));
    assert_eq!(view.q(r).state, QState::Pending);
    assert_eq!(
        view.q(r).reject_reason,
        None,
        "the log keeps the reason, not the question"
    );
}

#[test]
fn reopen_and_unmerge_are_for_moderators_and_check_the_version() {
    let view = matrix_view(QState::Answered);
    let q = view.q(SUBJECT).clone();
    for role in [
        Role::Chair,
        Role::Speaker,
        Role::HallOperator,
        Role::Display,
        Role::FollowUp,
        Role::Participant,
    ] {
        assert_eq!(
            err(&view, &actor(role), command(Kind::Reopen, &q)),
            DomainError::Forbidden,
            "{role:?}"
        );
    }
    assert!(matches!(
        err(
            &view,
            &moderator(),
            command_at(Kind::Reopen, &q, q.version - 1)
        ),
        DomainError::Conflict(_)
    ));
    for state in [
        QState::Pending,
        QState::OnAir,
        QState::Deferred,
        QState::Merged,
    ] {
        let view = matrix_view(state);
        assert_eq!(
            err(&view, &moderator(), command(Kind::Reopen, view.q(SUBJECT))).code(),
            "invalid_transition",
            "{state:?}"
        );
    }
    let view = matrix_view(QState::Approved);
    assert_eq!(
        err(&view, &moderator(), command(Kind::Unmerge, view.q(SUBJECT))).code(),
        "invalid_transition"
    );
}

#[test]
fn unmerge_gives_back_state_votes_and_halls_and_bumps_the_target() {
    // source: queued in gddt, asked in chau-doc, with two "me too" votes;
    // target: asked in long-xuyen, and in tan-chau (x, merged into it before).
    let (source, target, x) = (uid(1), uid(2), uid(3));
    let mut s = queued(source, DEPT, 1);
    s.hall = OTHER_HALL.into();
    s.votes = 3;
    s.halls = vec!["tan-chau".into()]; // also brought by the source
    let mut t = question(target, QState::Approved);
    t.hall = "long-xuyen".into();
    t.halls = vec!["tan-chau".into()];
    t.merged_from = vec![x];
    t.votes = 2;
    let mut qx = question(x, QState::Merged);
    qx.hall = "tan-chau".into();
    qx.merged_into = Some(target);
    let mut view = TestView::of([s, t, qx, queued(uid(9), DEPT, 2)]);
    view.ok(
        &moderator(),
        command(Kind::Merge, view.q(source)).retarget(target),
    );
    assert_eq!(view.q(target).votes, 5);
    assert_eq!(
        view.q(target).halls,
        vec!["tan-chau".to_string(), OTHER_HALL.into()]
    );
    let merged_version = view.q(source).version;
    let target_version = view.q(target).version;

    // The version is the merged question's: an older one is a conflict.
    assert!(matches!(
        err(
            &view,
            &moderator(),
            Command::Unmerge {
                question: source,
                version: merged_version - 1
            }
        ),
        DomainError::Conflict(_)
    ));
    let out = view.ok(
        &moderator(),
        Command::Unmerge {
            question: source,
            version: merged_version,
        },
    );
    assert_eq!(out.action, "unmerge");
    let back = view.q(source);
    assert_eq!(
        back.state,
        QState::Queued,
        "the state it had before the merge"
    );
    assert_eq!(back.queue_pos, 1, "its old place was free");
    assert_eq!((back.merged_into, back.before_merge.clone()), (None, None));
    assert_eq!(back.votes, 3);
    assert_eq!(back.version, merged_version + 1);
    let t2 = view.q(target);
    assert_eq!(t2.votes, 2, "votes given back");
    assert_eq!(t2.merged_from, vec![x]);
    assert_eq!(
        t2.halls,
        vec!["tan-chau".to_string()],
        "chau-doc only came with the merge; tan-chau is still brought by x"
    );
    assert_eq!(
        t2.version,
        target_version + 1,
        "the target's version increases"
    );
    check_invariants_except_votes(&view);
}

#[test]
fn unmerge_brings_back_the_questions_the_merge_carried_along() {
    // a → b, then b → c; unmerging b takes a (and its vote and hall) back to b.
    let (a, b, c) = (uid(1), uid(2), uid(3));
    let mut qa = question(a, QState::Pending);
    qa.hall = "tri-ton".into();
    let mut view = TestView::of([
        qa,
        question(b, QState::Pending),
        question(c, QState::Approved),
    ]);
    view.ok(&moderator(), command(Kind::Merge, view.q(a)).retarget(b));
    view.ok(&moderator(), command(Kind::Merge, view.q(b)).retarget(c));
    assert_eq!(view.q(c).votes, 3);
    assert!(view.q(c).halls.contains(&"tri-ton".to_string()));
    view.ok(&moderator(), command(Kind::Unmerge, view.q(b)));
    assert_eq!(view.q(b).state, QState::Pending);
    assert_eq!(view.q(b).merged_from, vec![a]);
    assert_eq!(view.q(b).votes, 2);
    assert_eq!(view.q(a).merged_into, Some(b));
    assert_eq!(view.q(c).votes, 1);
    assert!(view.q(c).merged_from.is_empty());
    assert!(!view.q(c).halls.contains(&"tri-ton".to_string()));
    check_invariants(&view);

    // Had a been unmerged from c on its own first, b comes back without it.
    let mut view = TestView::of([
        question(a, QState::Pending),
        question(b, QState::Approved),
        question(c, QState::Approved),
    ]);
    view.ok(&moderator(), command(Kind::Merge, view.q(a)).retarget(b));
    view.ok(&moderator(), command(Kind::Merge, view.q(b)).retarget(c));
    view.ok(&moderator(), command(Kind::Unmerge, view.q(a)));
    assert_eq!(view.q(a).merged_into, None);
    assert_eq!(view.q(c).votes, 2);
    view.ok(&moderator(), command(Kind::Unmerge, view.q(b)));
    assert_eq!(view.q(b).state, QState::Approved);
    assert_eq!((view.q(b).votes, view.q(c).votes), (1, 1));
    assert!(view.q(b).merged_from.is_empty());
    check_invariants(&view);
}

#[test]
fn unmerge_after_a_carried_question_left_and_lived_on_gives_back_only_its_own_votes() {
    // b (with a "me too") absorbs a, then b goes into c. a is unmerged on
    // its own and, alive again, gets a vote; later b is unmerged. b must
    // come back with its 2 (itself + its vote), c with its 1: what a does
    // after leaving is none of b's business.
    let (a, b, c) = (uid(1), uid(2), uid(3));
    let mut view = TestView::of([
        question(a, QState::Approved),
        question(b, QState::Approved),
        question(c, QState::Approved),
    ]);
    let phone = actor(Role::Participant);
    let me_too = |question| Command::Vote {
        question,
        device: "phone-an".into(),
    };
    view.ok(&phone, me_too(b));
    view.ok(&moderator(), command(Kind::Merge, view.q(a)).retarget(b));
    view.ok(&moderator(), command(Kind::Merge, view.q(b)).retarget(c));
    assert_eq!(view.q(c).votes, 4);
    view.ok(&moderator(), command(Kind::Unmerge, view.q(a)));
    assert_eq!((view.q(a).votes, view.q(c).votes), (1, 3));
    view.ok(&phone, me_too(a));
    view.ok(&moderator(), command(Kind::Unmerge, view.q(b)));
    assert_eq!(
        (view.q(a).votes, view.q(b).votes, view.q(c).votes),
        (2, 2, 1)
    );

    // The same, but a, alive again, takes in d and goes back into c on its
    // own: unmerging b leaves a (and d) with c.
    let d = uid(4);
    let mut view = TestView::of([
        question(a, QState::Approved),
        question(b, QState::Approved),
        question(c, QState::Approved),
        question(d, QState::Approved),
    ]);
    view.ok(&moderator(), command(Kind::Merge, view.q(a)).retarget(b));
    view.ok(&moderator(), command(Kind::Merge, view.q(b)).retarget(c));
    view.ok(&moderator(), command(Kind::Unmerge, view.q(a)));
    view.ok(&moderator(), command(Kind::Merge, view.q(d)).retarget(a));
    view.ok(&moderator(), command(Kind::Merge, view.q(a)).retarget(c));
    assert_eq!(view.q(c).votes, 4);
    view.ok(&moderator(), command(Kind::Unmerge, view.q(b)));
    assert_eq!((view.q(b).votes, view.q(c).votes), (1, 3));
    assert_eq!(view.q(a).merged_into, Some(c));
    check_invariants(&view);
}

/// `check_invariants` but for the votes rule, which "me too" votes break on purpose.
fn check_invariants_except_votes(view: &TestView) {
    let mut copy = view.clone();
    for q in copy.questions.values_mut() {
        q.votes = 1 + q.merged_from.len() as u32;
    }
    check_invariants(&copy);
}

// ---------------------------------------------------------------------------
// Backstage notes (issue 13)
// ---------------------------------------------------------------------------

#[test]
fn backstage_notes_come_from_speakers_and_the_chair_only_and_are_short() {
    let view = TestView::default();
    let note = |text: &str| Command::BackstageNote { text: text.into() };
    for who in [speaker_of(DEPT), actor(Role::Chair)] {
        let out = run(&view, &who, &note("  Xin chuyển câu tiếp ")).expect("note");
        assert_eq!(out.action, "backstage_note");
        assert!(out.questions.is_empty() && out.floor.is_empty());
        assert_eq!(out.notes.len(), 1);
        assert_eq!(out.notes[0].text, "Xin chuyển câu tiếp");
        assert_eq!(
            (out.notes[0].from.as_str(), out.notes[0].at),
            (who.label.as_str(), NOW)
        );
    }
    for role in [
        Role::Moderator,
        Role::Admin,
        Role::HallOperator,
        Role::Display,
        Role::FollowUp,
        Role::Participant,
    ] {
        assert_eq!(
            err(&view, &actor(role), note("Cần thêm 2 phút")),
            DomainError::Forbidden,
            "{role:?}"
        );
    }
    let chair = actor(Role::Chair);
    assert_eq!(err(&view, &chair, note(" \n ")), DomainError::EmptyText);
    assert!(
        run(&view, &chair, &note(&"ư".repeat(140))).is_ok(),
        "140 characters, not bytes"
    );
    assert_eq!(
        err(&view, &chair, note(&"a".repeat(141))),
        DomainError::FieldTooLong
    );
    // NFC before counting and storing: decomposed "Cần" is stored composed.
    let out = run(&view, &chair, &note("Ca\u{0302}\u{0300}n thêm 2 phút")).expect("nfd");
    assert_eq!(out.notes[0].text, "Cần thêm 2 phút");
    // Distinct notes get distinct ids; the same words a moment later too.
    let later = run_at(&view, &chair, &note("Cần thêm 2 phút"), NOW + 1).expect("later");
    assert_ne!(later.notes[0].id, out.notes[0].id);
}
