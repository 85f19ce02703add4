//! One suite for the `Store` contract, run against both backends: each test
//! is a generic function over `Arc<dyn Store>`, and `both!` gives it an entry
//! point on a fresh SQLite file and one on a fresh PostgreSQL database.

use std::sync::Arc;

use crate::common::pg::TestDb;
use doithoai::domain::{
    Actor, FloorRequest, FloorState, QState, Question, QuestionUpdate, Questioner, Role, Source,
};
use doithoai::event::EventConfig;
use doithoai::store::postgres::PgStore;
use doithoai::store::sqlite::SqliteStore;
use doithoai::store::{Change, Store, StoreError, TokenRecord};
use uuid::Uuid;

/// A store plus whatever keeps it alive (temp dir or test database).
struct Fixture {
    store: Arc<dyn Store>,
    _keep: Box<dyn std::any::Any>,
}

async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).await.expect("open sqlite");
    Fixture {
        store: Arc::new(store),
        _keep: Box::new(dir),
    }
}

async fn postgres() -> Fixture {
    let db = TestDb::create().await;
    let store = PgStore::open(&db.url).await.expect("open postgres");
    Fixture {
        store: Arc::new(store),
        _keep: Box::new(db),
    }
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let f = super::sqlite().await;
                super::$name(f.store.clone()).await;
            }
            #[tokio::test]
            async fn postgres() {
                let f = super::postgres().await;
                super::$name(f.store.clone()).await;
            }
        }
    };
    ($name:ident, two) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let (a, b) = (super::sqlite().await, super::sqlite().await);
                super::$name(a.store.clone(), b.store.clone()).await;
            }
            #[tokio::test]
            async fn postgres() {
                let (a, b) = (super::postgres().await, super::postgres().await);
                super::$name(a.store.clone(), b.store.clone()).await;
            }
        }
    };
}

const TEXT_VI: &str = "Xin hỏi Sở Lao động: thanh niên Chợ Mới muốn vay vốn khởi nghiệp thì cần điều kiện gì? Đề nghị hỗ trợ hòa giải (hoà giải) — “ưu đãi” ₫";

fn event() -> EventConfig {
    EventConfig::builtin()
}

fn moderator() -> Actor {
    Actor::new(Role::Moderator, "moderator-1")
}

fn question(text: &str, hall: &str, questioner: Option<Questioner>) -> Question {
    Question {
        id: Uuid::new_v4(),
        hall: hall.to_string(),
        source: Source::Hall,
        source_note: None,
        text: text.to_string(),
        original_text: None,
        group: None,
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
        hints: None,
        questioner,
        created_at: 1_700_000_000_000,
        updated_at: 1_700_000_000_000,
        on_air_at: None,
        answered_at: None,
        submitted_by: format!("hall_operator:{hall}"),
        device_key: None,
        version: 1,
        before_merge: None,
    }
}

fn person(name: &str) -> Questioner {
    Questioner {
        name: Some(name.to_string()),
        age: Some(22),
        organization: Some("Trường Đại học An Giang".to_string()),
        phone: Some("0912 345 678".to_string()),
        show_name: false,
    }
}

fn submit(seq: u64, q: &Question) -> Change {
    Change {
        seq,
        at: 1_700_000_000_000 + seq as i64,
        actor: Actor::new(Role::HallOperator, format!("hall_operator:{}", q.hall))
            .with_hall(q.hall.clone()),
        action: "submit".into(),
        questions: vec![QuestionUpdate {
            voter: None,
            from: None,
            from_department: None,
            question: q.clone(),
        }],
        floor: Vec::new(),
        notes: Vec::new(),
    }
}

fn approve(seq: u64, q: &Question) -> (Change, Question) {
    let after = Question {
        state: QState::Approved,
        version: q.version + 1,
        updated_at: q.updated_at + 1,
        ..q.clone()
    };
    let change = Change {
        seq,
        at: 1_700_000_000_000 + seq as i64,
        actor: moderator(),
        action: "approve".into(),
        questions: vec![QuestionUpdate {
            voter: None,
            from: Some(q.state),
            from_department: None,
            question: Question {
                questioner: None,
                ..after.clone()
            },
        }],
        floor: Vec::new(),
        notes: Vec::new(),
    };
    (change, after)
}

fn floor_request(seq: u64, hall: &str, state: FloorState, id: Uuid) -> (Change, FloorRequest) {
    let f = FloorRequest {
        id,
        hall: hall.into(),
        note: Some("Bạn Nguyễn Thị Hoà muốn phát biểu".into()),
        state,
        requested_at: 1_700_000_000_500,
        decided_at: None,
        decided_by: None,
    };
    let change = Change {
        seq,
        at: 1_700_000_000_000 + seq as i64,
        actor: Actor::new(Role::HallOperator, format!("hall_operator:{hall}")).with_hall(hall),
        action: "request_floor".into(),
        questions: Vec::new(),
        floor: vec![f.clone()],
        notes: Vec::new(),
    };
    (change, f)
}

fn token(event_id: &str, slot: &str, generation: i64) -> TokenRecord {
    TokenRecord {
        token_hash: format!("{:064x}", Uuid::new_v4().as_u128()),
        event_id: event_id.into(),
        slot: slot.into(),
        role: "moderator".into(),
        hall: None,
        department: None,
        label: slot.into(),
        generation,
        created_at: 1_700_000_000_000,
        expires_at: None,
        revoked_at: None,
    }
}

fn seqs(changes: &[Change]) -> Vec<u64> {
    changes.iter().map(|c| c.seq).collect()
}

// ---- the suite ----

async fn events_put_list_close(store: Arc<dyn Store>) {
    assert!(store.events().await.unwrap().is_empty());
    let mut ev = event();
    store.put_event(&ev).await.unwrap();
    assert_eq!(store.events().await.unwrap(), vec![ev.clone()]);
    ev.name = "Đối thoại giữa Chủ tịch UBND tỉnh với thanh niên năm 2025".into();
    store.put_event(&ev).await.unwrap();
    assert_eq!(
        store.events().await.unwrap(),
        vec![ev.clone()],
        "put replaces the definition"
    );
    assert_eq!(store.event_closed_at(&ev.id).await.unwrap(), None);
    store.close_event(&ev.id, 42).await.unwrap();
    assert_eq!(store.event_closed_at(&ev.id).await.unwrap(), Some(42));
    store.close_event(&ev.id, 43).await.unwrap();
    assert_eq!(
        store.event_closed_at(&ev.id).await.unwrap(),
        Some(42),
        "the first close time stays"
    );
    store.probe().await.unwrap();
    assert!(matches!(
        store.close_event("no-such", 1).await,
        Err(StoreError::UnknownEvent(_))
    ));
    assert!(matches!(
        store.load("no-such").await,
        Err(StoreError::UnknownEvent(_))
    ));
    store.health().await.unwrap();
}
both!(events_put_list_close);

async fn tokens_round_trip(store: Arc<dyn Store>) {
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let t1 = token(&ev.id, "moderator-1", 1);
    let mut t2 = token(&ev.id, "chair", 1);
    t2.role = "chair".into();
    t2.expires_at = Some(1_800_000_000_000);
    store.put_token(&t1).await.unwrap();
    store.put_token(&t2).await.unwrap();
    store.put_token(&t1).await.unwrap(); // the same hash again changes nothing
    assert_eq!(
        store.token_by_hash(&t1.token_hash).await.unwrap(),
        Some(t1.clone())
    );
    assert_eq!(store.token_by_hash("unknown").await.unwrap(), None);
    assert_eq!(
        store.tokens(&ev.id).await.unwrap(),
        vec![t2.clone(), t1.clone()],
        "ordered by slot"
    );
    store.revoke_token(&t1.token_hash, 99).await.unwrap();
    store.revoke_token(&t1.token_hash, 100).await.unwrap(); // first revocation time stays
    let revoked = store.token_by_hash(&t1.token_hash).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(99));
}
both!(tokens_round_trip);

async fn commit_and_load_round_trip(store: Arc<dyn Store>) {
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let q1 = question(TEXT_VI, "cho-moi", Some(person("Nguyễn Văn Đức")));
    let q2 = question("Câu hỏi không kèm thông tin cá nhân", "chau-doc", None);
    let (a1, q1_after) = approve(3, &q1);
    let (f, floor) = floor_request(4, "tri-ton", FloorState::Requested, Uuid::new_v4());
    store
        .commit(&ev.id, 0, &[submit(1, &q1), submit(2, &q2), a1, f])
        .await
        .unwrap();
    let loaded = store.load(&ev.id).await.unwrap();
    assert_eq!(loaded.seq, 4);
    assert_eq!(loaded.questions.len(), 2);
    let got1 = loaded.questions.iter().find(|q| q.id == q1.id).unwrap();
    assert_eq!(
        got1, &q1_after,
        "latest snapshot, personal data joined back in"
    );
    assert_eq!(got1.questioner, Some(person("Nguyễn Văn Đức")));
    let got2 = loaded.questions.iter().find(|q| q.id == q2.id).unwrap();
    assert_eq!(got2, &q2);
    assert_eq!(loaded.floor, vec![floor]);
}
both!(commit_and_load_round_trip);

/// A batch as big as the writer makes under a burst (512 changes): rows go
/// to the store many to a statement, and a question submitted and approved
/// in the same batch is stored once, at its last version, with its
/// questioner.
async fn a_large_batch_with_repeated_questions_round_trips(store: Arc<dyn Store>) {
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for n in 0..256u64 {
        let who = (n % 3 == 0).then(|| person(&format!("Trần Thị Ánh {n}")));
        let q = question(&format!("{TEXT_VI} #{n}"), "cho-moi", who);
        batch.push(submit(batch.len() as u64 + 1, &q));
        if n % 2 == 0 {
            let (change, after) = approve(batch.len() as u64 + 1, &q);
            batch.push(change);
            expected.push(after);
        } else {
            expected.push(q);
        }
    }
    assert!(batch.len() > 300, "spans several statements per table");
    store.commit(&ev.id, 0, &batch).await.unwrap();
    let loaded = store.load(&ev.id).await.unwrap();
    assert_eq!(loaded.seq, batch.len() as u64);
    assert_eq!(loaded.questions.len(), expected.len());
    for q in &expected {
        let got = loaded.questions.iter().find(|g| g.id == q.id).unwrap();
        assert_eq!(got, q);
    }
    let log = store.changes_since(&ev.id, 0, 1000).await.unwrap();
    assert_eq!(seqs(&log), (1..=batch.len() as u64).collect::<Vec<_>>());
}
both!(a_large_batch_with_repeated_questions_round_trips);

/// Ids are chosen by clients: the same id in two events must be two questions.
async fn same_id_in_two_events_stays_apart(store: Arc<dyn Store>) {
    let a = event();
    let mut b = event();
    b.id = "an-giang-2025".into();
    store.put_event(&a).await.unwrap();
    store.put_event(&b).await.unwrap();
    let qa = question("Câu hỏi của sự kiện A", "tinh", Some(person("Người hỏi A")));
    let mut qb = question("Câu hỏi của sự kiện B", "tinh", Some(person("Người hỏi B")));
    qb.id = qa.id;
    let (fa, floor_a) = floor_request(2, "tinh", FloorState::Requested, Uuid::new_v4());
    let (mut fb, mut floor_b) = floor_request(2, "tinh", FloorState::Granted, floor_a.id);
    fb.floor[0].id = floor_a.id;
    floor_b.id = floor_a.id;
    store.commit(&a.id, 0, &[submit(1, &qa), fa]).await.unwrap();
    store.commit(&b.id, 0, &[submit(1, &qb), fb]).await.unwrap();
    let la = store.load(&a.id).await.unwrap();
    let lb = store.load(&b.id).await.unwrap();
    assert_eq!(la.questions, vec![qa.clone()]);
    assert_eq!(lb.questions, vec![qb.clone()]);
    assert_eq!(la.floor, vec![floor_a]);
    assert_eq!(lb.floor, vec![floor_b]);
    let ca = store.changes_since(&a.id, 0, 10).await.unwrap();
    assert_eq!(
        ca[0].questions[0].question.questioner,
        Some(person("Người hỏi A"))
    );
}
both!(same_id_in_two_events_stays_apart);

async fn seq_is_gap_free(store: Arc<dyn Store>) {
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let qs: Vec<Question> = (0..5)
        .map(|i| question(&format!("Câu {i}"), "tinh", None))
        .collect();
    store
        .commit(
            &ev.id,
            0,
            &[submit(1, &qs[0]), submit(2, &qs[1]), submit(3, &qs[2])],
        )
        .await
        .unwrap();
    store.commit(&ev.id, 3, &[]).await.unwrap(); // an empty batch is a no-op
    store
        .commit(&ev.id, 3, &[submit(4, &qs[3]), submit(5, &qs[4])])
        .await
        .unwrap();
    assert_eq!(store.load(&ev.id).await.unwrap().seq, 5);
    assert_eq!(
        seqs(&store.changes_since(&ev.id, 0, 100).await.unwrap()),
        vec![1, 2, 3, 4, 5]
    );
}
both!(seq_is_gap_free);

/// PostgreSQL only: a stale commit rolls back and keeps its connection (a
/// closed one costs the server a new backend process on the next commit).
#[tokio::test]
async fn a_stale_commit_on_postgres_keeps_its_pooled_connection() {
    let db = TestDb::create().await;
    let store = PgStore::open(&db.url).await.expect("open postgres");
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let first = question("Câu đầu", "tinh", None);
    store.commit(&ev.id, 0, &[submit(1, &first)]).await.unwrap();
    // Watched from a connection of its own: the store's backends by pid.
    use sqlx::Connection;
    let mut watch = sqlx::PgConnection::connect(&db.url).await.unwrap();
    async fn backends(watch: &mut sqlx::PgConnection) -> Vec<i32> {
        let mut pids: Vec<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .fetch_all(watch)
        .await
        .unwrap();
        pids.sort_unstable();
        pids
    }
    let before = backends(&mut watch).await;
    assert!(!before.is_empty());
    for _ in 0..5 {
        let late = question("Câu đến muộn", "tinh", None);
        let r = store.commit(&ev.id, 0, &[submit(1, &late)]).await;
        assert!(matches!(r, Err(StoreError::Stale)), "{r:?}");
    }
    // A closed connection's backend leaves within milliseconds.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let after = backends(&mut watch).await;
    let gone: Vec<&i32> = before.iter().filter(|p| !after.contains(p)).collect();
    assert!(
        gone.is_empty(),
        "backends closed: {gone:?} (before {before:?}, after {after:?})"
    );
    // And it is clean: the next commit on it succeeds.
    let next = question("Câu kế tiếp", "tinh", None);
    store.commit(&ev.id, 1, &[submit(2, &next)]).await.unwrap();
    assert_eq!(store.load(&ev.id).await.unwrap().seq, 2);
}

async fn stale_base_writes_nothing(store: Arc<dyn Store>) {
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let first = question("Câu đầu", "tinh", Some(person("A")));
    store.commit(&ev.id, 0, &[submit(1, &first)]).await.unwrap();
    let late = question("Câu đến muộn", "tinh", Some(person("B")));
    let (f, _) = floor_request(2, "tinh", FloorState::Requested, Uuid::new_v4());
    for base in [0, 5] {
        let r = store
            .commit(&ev.id, base, &[submit(base + 1, &late), f.clone()])
            .await;
        assert!(matches!(r, Err(StoreError::Stale)), "base {base}: {r:?}");
    }
    let loaded = store.load(&ev.id).await.unwrap();
    assert_eq!(loaded.seq, 1);
    assert_eq!(
        loaded.questions.iter().map(|q| q.id).collect::<Vec<_>>(),
        vec![first.id]
    );
    assert!(loaded.floor.is_empty());
    assert_eq!(
        seqs(&store.changes_since(&ev.id, 0, 100).await.unwrap()),
        vec![1]
    );
    assert_eq!(
        store.erase_personal_data(&ev.id).await.unwrap(),
        1,
        "only the first questioner was written"
    );
}
both!(stale_base_writes_nothing);

async fn concurrent_writers_one_wins(store: Arc<dyn Store>) {
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let (qa, qb) = (
        question("Nút A", "tinh", None),
        question("Nút B", "tinh", None),
    );
    let (ca, cb) = (vec![submit(1, &qa)], vec![submit(1, &qb)]);
    let (ra, rb) = tokio::join!(store.commit(&ev.id, 0, &ca), store.commit(&ev.id, 0, &cb));
    let wins = [&ra, &rb].iter().filter(|r| r.is_ok()).count();
    let stale = [&ra, &rb]
        .iter()
        .filter(|r| matches!(r, Err(StoreError::Stale)))
        .count();
    assert_eq!((wins, stale), (1, 1), "{ra:?} {rb:?}");
    let loaded = store.load(&ev.id).await.unwrap();
    assert_eq!((loaded.seq, loaded.questions.len()), (1, 1));
}
both!(concurrent_writers_one_wins);

async fn changes_since_orders_and_refills(store: Arc<dyn Store>) {
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let q1 = question(TEXT_VI, "cho-moi", Some(person("Trần Thị Hoà")));
    let q2 = question("Câu hai", "tinh", None);
    let (a1, _) = approve(3, &q1);
    store
        .commit(&ev.id, 0, &[submit(1, &q1), submit(2, &q2)])
        .await
        .unwrap();
    store.commit(&ev.id, 2, &[a1]).await.unwrap();
    let all = store.changes_since(&ev.id, 0, 100).await.unwrap();
    assert_eq!(seqs(&all), vec![1, 2, 3]);
    assert_eq!(
        all[0],
        submit(1, &q1),
        "the submission comes back with its personal data"
    );
    assert_eq!(all[1], submit(2, &q2));
    assert_eq!(all[2].action, "approve");
    assert_eq!(all[2].questions[0].question.state, QState::Approved);
    assert_eq!(
        seqs(&store.changes_since(&ev.id, 1, 1).await.unwrap()),
        vec![2],
        "limit"
    );
    assert!(store
        .changes_since(&ev.id, 3, 100)
        .await
        .unwrap()
        .is_empty());
}
both!(changes_since_orders_and_refills);

async fn erase_personal_data_leaves_none(store: Arc<dyn Store>) {
    let mut other = event();
    other.id = "kien-giang-2025".into();
    let ev = event();
    store.put_event(&ev).await.unwrap();
    store.put_event(&other).await.unwrap();
    let mut q1 = question("Câu một", "tinh", Some(person("Lê Văn Đạt")));
    q1.device_key = Some("khoa-may-dat".into());
    let q2 = question("Câu hai", "tinh", Some(person("Phạm Thị Hoà")));
    let mut q3 = question("Câu ba", "tinh", None);
    q3.device_key = Some("khoa-may-ba".into());
    let mut keep = question("Sự kiện khác", "tinh", Some(person("Người khác")));
    keep.device_key = Some("khoa-may-khac".into());
    store
        .commit(&ev.id, 0, &[submit(1, &q1), submit(2, &q2), submit(3, &q3)])
        .await
        .unwrap();
    store
        .commit(&other.id, 0, &[submit(1, &keep)])
        .await
        .unwrap();
    assert_eq!(store.erase_personal_data(&ev.id).await.unwrap(), 2);
    let loaded = store.load(&ev.id).await.unwrap();
    assert_eq!(loaded.questions.len(), 3, "questions stay");
    assert!(loaded.questions.iter().all(|q| q.questioner.is_none()));
    assert!(
        loaded.questions.iter().all(|q| q.device_key.is_none()),
        "device keys are tied to a phone: erased too"
    );
    let log = store.changes_since(&ev.id, 0, 100).await.unwrap();
    assert_eq!(log.len(), 3, "the log stays");
    assert!(log
        .iter()
        .flat_map(|c| &c.questions)
        .all(|u| u.question.questioner.is_none() && u.question.device_key.is_none()));
    let dump = store.export_event(&ev.id).await.unwrap();
    let dump = format!("{dump:?}");
    assert!(!dump.contains("Đạt") && !dump.contains("0912") && !dump.contains("khoa-may"));
    let kept = store.load(&other.id).await.unwrap();
    assert_eq!(
        kept.questions[0].questioner,
        Some(person("Người khác")),
        "other events keep theirs"
    );
    assert_eq!(
        kept.questions[0].device_key.as_deref(),
        Some("khoa-may-khac")
    );
    assert_eq!(store.erase_personal_data(&ev.id).await.unwrap(), 0);
}
both!(erase_personal_data_leaves_none);

async fn vietnamese_text_round_trips(store: Arc<dyn Store>) {
    let mut ev = event();
    ev.name = "Đối thoại «Thanh niên An Giang sáng tạo khởi nghiệp, lập nghiệp»".into();
    store.put_event(&ev).await.unwrap();
    assert_eq!(store.events().await.unwrap()[0].name, ev.name);
    // Precomposed and decomposed (NFD) text must come back byte for byte.
    let nfd = "Thanh nie\u{302}n ho\u{300}a";
    let q = question(
        &format!("{TEXT_VI} {nfd} 🇻🇳"),
        "tinh-bien",
        Some(person("Đặng Thị Ngọc Ánh")),
    );
    store.commit(&ev.id, 0, &[submit(1, &q)]).await.unwrap();
    let loaded = store.load(&ev.id).await.unwrap();
    assert_eq!(loaded.questions[0].text, q.text);
    assert_eq!(loaded.questions[0].text.as_bytes(), q.text.as_bytes());
    assert_eq!(loaded.questions[0].questioner, q.questioner);
    let log = store.changes_since(&ev.id, 0, 10).await.unwrap();
    assert_eq!(log[0].questions[0].question.text, q.text);
}
both!(vietnamese_text_round_trips);

async fn export_import_round_trip(source: Arc<dyn Store>, target: Arc<dyn Store>) {
    let ev = event();
    source.put_event(&ev).await.unwrap();
    source
        .put_token(&token(&ev.id, "moderator-1", 1))
        .await
        .unwrap();
    let q1 = question(TEXT_VI, "cho-moi", Some(person("Võ Minh Đức")));
    let q2 = question("Câu hai", "tinh", None);
    let (a1, _) = approve(3, &q1);
    let (f, _) = floor_request(4, "an-phu", FloorState::Granted, Uuid::new_v4());
    source
        .commit(&ev.id, 0, &[submit(1, &q1), submit(2, &q2), a1, f])
        .await
        .unwrap();
    source.close_event(&ev.id, 77).await.unwrap();
    let dump = source.export_event(&ev.id).await.unwrap();
    assert_eq!(dump.last_seq, 4);
    assert_eq!(seqs(&dump.changes), vec![1, 2, 3, 4]);

    // The target already has the event untouched (as a first start makes it): replaced.
    target.put_event(&ev).await.unwrap();
    target
        .put_token(&token(&ev.id, "moderator-1", 1))
        .await
        .unwrap();
    target.import_event(&dump).await.unwrap();
    let copy = target.export_event(&ev.id).await.unwrap();
    assert_eq!(
        copy.tokens, dump.tokens,
        "the target's own tokens for the untouched event are replaced"
    );
    let sorted = |mut qs: Vec<Question>| {
        qs.sort_by_key(|q| q.id);
        qs
    };
    assert_eq!(
        sorted(copy.questions.clone()),
        sorted(dump.questions.clone())
    );
    assert_eq!(
        (
            &copy.definition,
            copy.created_at,
            copy.closed_at,
            copy.last_seq
        ),
        (
            &dump.definition,
            dump.created_at,
            dump.closed_at,
            dump.last_seq
        )
    );
    assert_eq!((&copy.changes, &copy.floor), (&dump.changes, &dump.floor));
    assert_eq!(target.event_closed_at(&ev.id).await.unwrap(), Some(77));
    assert_eq!(
        target.changes_since(&ev.id, 0, 100).await.unwrap(),
        source.changes_since(&ev.id, 0, 100).await.unwrap()
    );
    // The copy is closed like its source: it refuses every commit.
    let q3 = question("Câu sau khi chuyển", "tinh", None);
    assert!(matches!(
        target.commit(&ev.id, 4, &[submit(5, &q3)]).await,
        Err(StoreError::EventClosed(77))
    ));
    // A second import would duplicate history: refused, nothing written.
    assert!(matches!(
        target.import_event(&dump).await,
        Err(StoreError::Exists(_))
    ));
    assert_eq!(target.load(&ev.id).await.unwrap().seq, 4);
}
both!(export_import_round_trip, two);

async fn transfer_copies_all_or_one_event(source: Arc<dyn Store>, target: Arc<dyn Store>) {
    use doithoai::store::transfer::copy;
    let ev = event();
    let mut other = event();
    other.id = "kien-giang-2025".into();
    source.put_event(&ev).await.unwrap();
    source.put_event(&other).await.unwrap();
    let q = question(TEXT_VI, "tinh", Some(person("Lâm Thị Thu")));
    source.commit(&other.id, 0, &[submit(1, &q)]).await.unwrap();

    let unknown = copy(source.as_ref(), target.as_ref(), Some("no-such")).await;
    assert!(
        matches!(unknown, Err(StoreError::UnknownEvent(_))),
        "{unknown:?}"
    );
    let one = copy(source.as_ref(), target.as_ref(), Some(&other.id))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!((one[0].last_seq, one[0].questions), (1, 1));
    assert_eq!(
        target.events().await.unwrap(),
        vec![other.clone()],
        "only the one asked for"
    );
    // All: the other event is already there with history, so nothing is copied at all.
    let all = copy(source.as_ref(), target.as_ref(), None).await;
    assert!(matches!(all, Err(StoreError::Exists(_))), "{all:?}");
    assert_eq!(target.events().await.unwrap().len(), 1);
    let loaded = target.load(&other.id).await.unwrap();
    assert_eq!(loaded.questions[0].questioner, Some(person("Lâm Thị Thu")));
}
both!(transfer_copies_all_or_one_event, two);

/// A vote is committed with its change and comes back on load, so a device
/// votes once per question even across restarts; the log carries the voter
/// too, for nodes that catch up from it.
async fn votes_are_durable_and_unique(store: Arc<dyn Store>) {
    let ev = event();
    store.put_event(&ev).await.unwrap();
    let q = question("Vốn vay khởi nghiệp cho thanh niên?", "an-phu", None);
    let (a, approved) = approve(2, &q);
    let vote = |seq: u64, voter: &str, votes: u32| Change {
        seq,
        at: 1_700_000_000_000 + seq as i64,
        actor: Actor::new(Role::Participant, "participant"),
        action: "vote".into(),
        questions: vec![QuestionUpdate {
            voter: Some(voter.into()),
            from: Some(QState::Approved),
            from_department: None,
            question: Question {
                votes,
                ..approved.clone()
            },
        }],
        floor: Vec::new(),
        notes: Vec::new(),
    };
    store
        .commit(&ev.id, 0, &[submit(1, &q), a, vote(3, "voter-a", 2)])
        .await
        .unwrap();
    store
        .commit(&ev.id, 3, &[vote(4, "voter-b", 3)])
        .await
        .unwrap();
    let loaded = store.load(&ev.id).await.unwrap();
    let mut votes = loaded.votes.clone();
    votes.sort();
    assert_eq!(
        votes,
        vec![(q.id, "voter-a".to_string()), (q.id, "voter-b".to_string())]
    );
    assert_eq!(loaded.questions[0].votes, 3);
    let logged = store.changes_since(&ev.id, 2, 10).await.unwrap();
    assert_eq!(logged[0].questions[0].voter.as_deref(), Some("voter-a"));
    // The same device again is refused by the table itself, and nothing of
    // that batch is written.
    assert!(store
        .commit(&ev.id, 4, &[vote(5, "voter-a", 4)])
        .await
        .is_err());
    assert_eq!(store.load(&ev.id).await.unwrap().seq, 4);
}
both!(votes_are_durable_and_unique);
