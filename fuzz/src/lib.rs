//! The fuzz targets' bodies, one function each: what the server does with
//! untrusted input of that kind, which must end in a value or a typed error,
//! never a panic. The cargo-fuzz binaries in fuzz_targets/ call them; the
//! stable test suite replays the corpus and every past crash through the
//! same functions (tests/fuzz_corpus.rs includes this file). docs/FUZZING.md.

use std::sync::OnceLock;

use doithoai::domain::{self, Actor, Command, Ctx, Role};
use doithoai::engine::EventState;
use doithoai::event::EventConfig;
use doithoai::protocol::ClientMessage;
use doithoai::reports::import::{self, Format};
use uuid::Uuid;

/// The targets by name, as scripts/fuzz.sh and the corpus directories call them.
pub const TARGETS: [(&str, fn(&[u8])); 4] = [
    ("client_frame", client_frame),
    ("import_csv", import_csv),
    ("import_xlsx", import_xlsx),
    ("event_toml", event_toml),
];

struct World {
    event: EventConfig,
    state: EventState,
    actors: Vec<Actor>,
}

/// The built-in event with questions 00…01 (pending), 00…02 (queued for
/// gddt, on air), 00…03 (queued for gddt) and 00…04 (deferred), and floor
/// request 00…0f from chau-doc: ids the corpus frames use.
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let event = EventConfig::builtin();
        let moderator = Actor::new(Role::Moderator, "moderator-1");
        let hall = Actor::new(Role::HallOperator, "hall_operator:chau-doc").with_hall("chau-doc");
        let mut state = EventState::default();
        let id = |n: u128| Uuid::from_u128(n);
        let run = |state: &mut EventState, actor: &Actor, cmd: Command| {
            let ctx = Ctx {
                event: &event,
                actor,
                now: 1_700_000_000_000,
            };
            if let Ok(outcome) = domain::apply(&*state, &ctx, &cmd) {
                for u in outcome.questions {
                    state.questions.insert(u.question.id, u.question);
                }
                for f in outcome.floor {
                    state.floor.insert(f.id, f);
                }
            }
        };
        for n in 1..=4 {
            run(
                &mut state,
                &moderator,
                Command::Submit {
                    id: id(n),
                    text: format!("Câu hỏi số {n} về việc làm cho thanh niên?"),
                    hall: None,
                    group: None,
                    questioner: None,
                    consent: false,
                    source_note: None,
                    imported: false,
                    device: None,
                },
            );
        }
        for n in 2..=4 {
            let q = |s: &EventState| s.questions[&id(n)].version;
            let v = q(&state);
            run(
                &mut state,
                &moderator,
                Command::Approve {
                    question: id(n),
                    version: v,
                },
            );
            let v = q(&state);
            run(
                &mut state,
                &moderator,
                Command::Assign {
                    question: id(n),
                    version: v,
                    department: "gddt".into(),
                },
            );
        }
        let v = state.questions[&id(2)].version;
        run(
            &mut state,
            &moderator,
            Command::PutOnAir {
                question: id(2),
                version: v,
            },
        );
        let v = state.questions[&id(4)].version;
        run(
            &mut state,
            &moderator,
            Command::Defer {
                question: id(4),
                version: v,
                agency: Some("Sở Giáo dục và Đào tạo".into()),
                due: None,
            },
        );
        run(
            &mut state,
            &hall,
            Command::RequestFloor {
                id: id(15),
                note: None,
            },
        );
        let actors = vec![
            moderator,
            Actor::new(Role::Admin, "admin"),
            Actor::new(Role::Chair, "chair"),
            Actor::new(Role::Speaker, "speaker:gddt").with_department("gddt"),
            hall,
            Actor::new(Role::Display, "display"),
            Actor::new(Role::FollowUp, "follow_up-1"),
            Actor::new(Role::Participant, "participant"),
        ];
        World {
            event,
            state,
            actors,
        }
    })
}

/// A client's WebSocket text frame, decoded as the server decodes it; a
/// decoded command applied by every role to a small event, as the writer would.
pub fn client_frame(data: &[u8]) {
    // WebSocket text frames are UTF-8 by the time the server reads them.
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ClientMessage::Cmd { cmd, .. }) = doithoai::http::ws::parse(raw) else {
        return;
    };
    let w = world();
    for actor in &w.actors {
        let ctx = Ctx {
            event: &w.event,
            actor,
            now: 1_700_000_100_000,
        };
        let _ = domain::apply(&w.state, &ctx, &cmd);
    }
}

/// An uploaded CSV file: read into rows and planned against the built-in
/// event, as the import preview does.
pub fn import_csv(data: &[u8]) {
    import_file(data, Format::Csv);
}

/// An uploaded XLSX workbook, as `import_csv`.
pub fn import_xlsx(data: &[u8]) {
    import_file(data, Format::Xlsx);
}

fn import_file(data: &[u8], format: Format) {
    let Ok(rows) = import::read(data, format) else {
        return;
    };
    static EVENT: OnceLock<EventConfig> = OnceLock::new();
    let event = EVENT.get_or_init(EventConfig::builtin);
    let actor = Actor::new(Role::Moderator, "moderator-1");
    let _ = import::plan(
        &rows,
        event,
        &EventState::default(),
        &actor,
        1_700_000_000_000,
        None,
    );
}

/// An event definition file: parsed and validated; a valid one written back
/// out and read again to the same event (the store keeps events as the TOML
/// `to_toml` writes), and its rules used as the domain uses them.
pub fn event_toml(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(event) = EventConfig::from_toml(src) else {
        return;
    };
    let again = EventConfig::from_toml(&event.to_toml())
        .unwrap_or_else(|e| panic!("a valid event does not survive to_toml: {e}"));
    assert_eq!(event, again, "to_toml changed the event");
    // A deferral without a due date takes the event's default.
    for now in [0, 1_711_411_200_000, i64::MAX, i64::MIN] {
        let _ = event.default_due_date(now);
    }
}
