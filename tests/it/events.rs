//! Several events in one install are isolated from each other, and an event
//! with 200 halls works like one with 12.

use crate::common::*;
use doithoai::event::EventConfig;
use doithoai::store::Store;
use serde_json::json;

fn district_event(id: &str, halls: usize) -> EventConfig {
    let halls: Vec<String> = (0..halls)
        .map(|i| format!("{{ id = \"xa-{i}\", name = \"Xã số {i}\" }}"))
        .collect();
    EventConfig::from_toml(&format!(
        "id = \"{id}\"\nname = \"Đối thoại {id}\"\ndate = \"2025-03-20\"\nhalls = [{}]\n\
         departments = [{{ id = \"ubnd\", name = \"UBND\" }}, {{ id = \"ldtbxh\", name = \"Phòng LĐTBXH\" }}]\n\
         groups = [{{ id = \"viec-lam\", name = \"Việc làm\" }}]\n",
        halls.join(",")
    ))
    .unwrap()
}

#[tokio::test]
async fn events_are_isolated_and_two_hundred_halls_work() {
    let temp = tempfile::tempdir().unwrap();
    let store = doithoai::store::sqlite::SqliteStore::open(temp.path())
        .await
        .unwrap();
    store.put_event(&EventConfig::builtin()).await.unwrap();
    store
        .put_event(&district_event("an-giang-2025", 200))
        .await
        .unwrap();
    drop(store);
    let app = spawn_app_in(temp.path()).await;

    // Seat names repeat across events, so address each event's seats explicitly.
    let tokens = |event: &EventConfig| {
        let engine = app.app.engine.clone();
        let event = event.clone();
        async move {
            doithoai::auth::issue_tokens(engine.store().as_ref(), engine.secret(), &event, "", None)
                .await
                .unwrap()
                .into_iter()
                .map(|t| (t.slot, t.token))
                .collect::<std::collections::HashMap<_, _>>()
        }
    };
    let ag = tokens(&EventConfig::builtin()).await;
    let dist = district_event("an-giang-2025", 200);
    let d = tokens(&dist).await;
    let url = app.ws_url();
    let join = |token: &str| Client::join(&url, json!({"type":"hello","protocol":1,"token":token}));

    let mut mod_a = join(&ag["moderator-1"]).await;
    let mut mod_b = join(&d["moderator-1"]).await;
    assert_eq!(
        mod_b.welcome["event"]["halls"].as_array().unwrap().len(),
        200
    );
    let snap = mod_b.recv().await.unwrap();
    assert_eq!(snap["presence"].as_array().unwrap().len(), 200);

    // Hall 199's operator submits in the district event.
    let mut op = join(&d["hall_operator:xa-199"]).await;
    let (id, cmd) = submit("Xã xa nhất hỏi về việc làm", "xa-199");
    assert_eq!(op.ok(cmd).await["seq"], 1);
    mod_b.until_seq(1).await;
    // The province's moderator neither sees it nor can touch it.
    let v = mod_a
        .cmd(json!({"type":"approve","question":id,"version":1}))
        .await;
    assert_eq!(v["code"], "not_found");
    assert!(mod_a.log.iter().all(|m| !m.to_string().contains(&id)));
    // A hall of one event does not exist in the other.
    let (_, cmd) = submit("Sai điểm cầu", "xa-5");
    assert_eq!(mod_a.cmd(cmd).await["code"], "unknown_hall");
    // Participants join by public code.
    let mut phone = Client::join(
        &app.ws_url(),
        json!({"type":"hello","protocol":1,"event":"an-giang-2025","hall":"xa-42"}),
    )
    .await;
    assert_eq!(phone.welcome["event"]["id"], "an-giang-2025");
    let (pid, cmd) = submit("Từ điện thoại ở xã 42", "xa-42");
    let mut cmd = cmd;
    cmd.as_object_mut().unwrap().remove("hall");
    phone.ok(cmd).await;
    let seen = mod_b
        .until("phone question", |v| v.to_string().contains(&pid))
        .await;
    let q = seen["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == pid.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        q["hall"], "xa-42",
        "a participant's question lands in the hall of their QR code"
    );
    app.stop().await;
}
