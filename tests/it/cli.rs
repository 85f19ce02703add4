//! The `doithoai` binary's subcommands, run as a user would.

use std::process::Command;

fn doithoai(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("DOITHOAI_SECRET")
        .output()
        .expect("run doithoai")
}

#[test]
fn event_create_reports_errors_with_their_line_and_tokens_print_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let template = Command::new(env!("CARGO_BIN_EXE_doithoai"))
        .args(["event", "template"])
        .output()
        .unwrap();
    let toml = String::from_utf8(template.stdout).unwrap();
    assert!(toml.contains("Hội trường UBND tỉnh"));

    // A district's own event with a duplicate hall id on line 6.
    let bad = "id = \"cho-moi-2025\"\nname = \"Đối thoại huyện Chợ Mới 2025\"\ndate = \"2025-03-20\"\nhalls = [\n  { id = \"huyen\", name = \"Hội trường huyện\" },\n  { id = \"huyen\", name = \"Xã Kiến An\" },\n]\ndepartments = [{ id = \"ubnd\", name = \"UBND huyện\" }]\ngroups = [{ id = \"khac\", name = \"Khác\" }]\n";
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, bad).unwrap();
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 6") && err.contains("duplicate"), "{err}");

    let good = bad.replace(
        "{ id = \"huyen\", name = \"Xã Kiến An\" }",
        "{ id = \"kien-an\", name = \"Xã Kiến An\" }",
    );
    std::fs::write(&file, good).unwrap();
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let first = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!first.contains("restart"), "{first}");
    // Saving it again replaces the definition, and says a running server needs a restart.
    let out = doithoai(
        dir.path(),
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    assert!(out.status.success());
    let again = String::from_utf8_lossy(&out.stdout);
    assert!(
        again.contains("already existed") && again.contains("restart"),
        "{again}"
    );
    assert!(again.contains("khởi động lại"), "{again}");

    let out = doithoai(dir.path(), &["tokens", "--event", "cho-moi-2025", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let op = list
        .iter()
        .find(|t| t["slot"] == "hall_operator:kien-an")
        .expect("a seat per hall");
    assert_eq!(op["role"], "hall_operator");
    assert_eq!(op["hall"], "kien-an");
    let token = op["token"].as_str().unwrap().to_string();
    assert!(op["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/hall.html#token={token}")));

    // Printing again gives the same tokens; revoking a seat changes only that one.
    let again: Vec<serde_json::Value> = serde_json::from_slice(
        &doithoai(dir.path(), &["tokens", "--event", "cho-moi-2025", "--json"]).stdout,
    )
    .unwrap();
    assert_eq!(list, again);
    let out = doithoai(
        dir.path(),
        &[
            "tokens",
            "--event",
            "cho-moi-2025",
            "--json",
            "--revoke",
            "hall_operator:kien-an",
        ],
    );
    assert!(out.status.success());
    let after: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let new = after
        .iter()
        .find(|t| t["slot"] == "hall_operator:kien-an")
        .unwrap();
    assert_ne!(new["token"].as_str().unwrap(), token);
    let same = |slot: &str| {
        list.iter().find(|t| t["slot"] == slot).unwrap()["token"]
            == after.iter().find(|t| t["slot"] == slot).unwrap()["token"]
    };
    assert!(same("moderator-1"));

    // The database holds hashes, never the tokens themselves.
    let db = std::fs::read(dir.path().join("doithoai.db")).unwrap();
    let wal = std::fs::read(dir.path().join("doithoai.db-wal")).unwrap_or_default();
    let haystack = [db, wal].concat();
    assert!(!haystack.windows(token.len()).any(|w| w == token.as_bytes()));
}

/// `event create` while a server runs on the same data: the server opens
/// the new event when it is first asked for (a phone's hello, a seat's
/// token, the event list) instead of needing a restart.
#[tokio::test]
async fn an_event_created_while_serving_is_opened_on_first_use() {
    use crate::common::{spawn_app, submit, Client};
    use serde_json::json;

    let app = spawn_app().await;
    let toml = "id = \"cho-moi-2025\"\nname = \"Đối thoại huyện Chợ Mới 2025\"\ndate = \"2025-03-20\"\nhalls = [\n  { id = \"huyen\", name = \"Hội trường huyện\" },\n  { id = \"kien-an\", name = \"Xã Kiến An\" },\n]\ndepartments = [{ id = \"ubnd\", name = \"UBND huyện\" }]\ngroups = [{ id = \"khac\", name = \"Khác\" }]\n";
    let file = app.data_dir.join("cho-moi-2025.toml");
    std::fs::write(&file, toml).unwrap();
    let out = doithoai(
        &app.data_dir,
        &["event", "create", "--file", file.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The public list shows it.
    let list = app.get_json("/api/events").await;
    let ids: Vec<&str> = list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["an-giang-2024", "cho-moi-2025"]);

    // A phone joins it by its code and submits; the moderator's token works.
    let url = app.ws_url();
    let mut phone = Client::join(
        &url,
        json!({"type":"hello","protocol":1,"event":"cho-moi-2025","hall":"kien-an","device":"d1"}),
    )
    .await;
    assert_eq!(
        phone.welcome["event"]["name"],
        "Đối thoại huyện Chợ Mới 2025"
    );
    let out = doithoai(
        &app.data_dir,
        &["tokens", "--event", "cho-moi-2025", "--json"],
    );
    let seats: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let token = seats
        .iter()
        .find(|t| t["slot"] == "moderator-1")
        .and_then(|t| t["token"].as_str())
        .unwrap()
        .to_string();
    let mut moderator =
        Client::join(&url, json!({"type":"hello","protocol":1,"token":token})).await;
    assert_eq!(moderator.welcome["event"]["id"], "cho-moi-2025");
    let (id, cmd) = submit("Xã Kiến An cần thêm điểm sinh hoạt thanh niên", "kien-an");
    let ack = phone.cmd(cmd).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    moderator
        .until("the phone's question", |v| {
            v["type"] == "change" && v["questions"][0]["id"] == id.as_str()
        })
        .await;
    // The built-in event is untouched and still separate.
    let builtin = app.questions("moderator-1").await;
    assert_eq!(builtin["questions"].as_array().map(Vec::len), Some(0));
}
