mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn submit_approve_reaches_moderator() {
    let app = spawn_app().await;
    let mut m = app.staff("moderator-1").await;
    let snap = m.recv().await.unwrap();
    assert_eq!(snap["type"], "snapshot");
    let mut op = app.staff("hall_operator:cho-moi").await;
    let (id, cmd) = submit("Xin hỏi về vốn vay khởi nghiệp?", "cho-moi");
    let ack = op.ok(cmd).await;
    assert_eq!(ack["seq"], 1);
    let ch = m.until("change", |v| v["type"] == "change").await;
    assert_eq!(ch["questions"][0]["id"], id.as_str());
    assert_eq!(ch["questions"][0]["hall"], "cho-moi");
    let ack = m.ok(json!({"type":"approve","question":id,"version":1})).await;
    assert_eq!(ack["seq"], 2);
    app.stop().await;
}
