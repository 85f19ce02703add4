//! Revoking a seat's token (`doithoai tokens --revoke`, which writes the
//! store directly, from any process) closes the connections already open
//! with it, with `token_revoked`, and they cannot resume with it.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_revoked_token_closes_its_open_websocket_and_cannot_resume() {
    let app = spawn_app().await;
    let old_token = app.token("moderator-1");
    let mut revoked = app.staff("moderator-1").await;
    let mut other = app.staff("moderator-2").await;
    revoked.ok(submit("Trước khi thu hồi", "tinh").1).await;
    let seq = revoked.last_seq;

    // What the command line does (`tokens --revoke`): straight to the store.
    let store = app.app.engine.store();
    assert!(
        doithoai::auth::revoke_slot(store.as_ref(), EVENT, "moderator-1")
            .await
            .unwrap()
    );
    let (code, reason) = tokio::time::timeout(Duration::from_secs(5), revoked.close_frame())
        .await
        .expect("closed within seconds")
        .expect("a Close frame");
    assert_eq!((code, reason.as_str()), (1008, "token_revoked"));
    let error = revoked
        .log
        .iter()
        .rev()
        .find(|m| m["type"] == "error")
        .cloned()
        .expect("an error frame before the close");
    assert_eq!(error["code"], "token_revoked", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("thu hồi"),
        "{error}"
    );
    assert!(
        error["message_en"].as_str().unwrap().contains("revoked"),
        "{error}"
    );
    assert!(
        !revoked.log.iter().any(|m| m["type"] == "bye"),
        "no bye: it must not simply reconnect"
    );

    // It cannot resume (or join) with the revoked token.
    let mut ws = Client::connect_raw(&app.ws_url()).await;
    {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let hello = json!({"type":"hello","protocol":1,"token":old_token,"last_seq":seq});
        ws.send(Message::Text(hello.to_string().into()))
            .await
            .unwrap();
        let first = tokio::time::timeout(WAIT, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
        assert_eq!(v["code"], "token_revoked", "{v}");
    }
    let refused = app
        .http()
        .get(format!("{}/api/questions", app.base))
        .bearer_auth(&old_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    // Other seats keep working, and the seat's new token joins.
    other.ok(submit("Sau khi thu hồi", "tinh").1).await;
    let issued = doithoai::auth::issue_tokens(
        store.as_ref(),
        app.app.engine.secret(),
        &app.app.engine.events()[0].config,
        &app.base,
        None,
    )
    .await
    .unwrap();
    let fresh = issued
        .into_iter()
        .find(|t| t.slot == "moderator-1")
        .unwrap()
        .token;
    assert_ne!(fresh, old_token);
    let mut again = Client::join(
        &app.ws_url(),
        json!({"type":"hello","protocol":1,"token":fresh,"last_seq":seq}),
    )
    .await;
    again.ok(submit("Mã mới", "tinh").1).await;
    // The new connection is not closed by the old token's revocation.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    again.ok(submit("Vẫn kết nối", "tinh").1).await;
    app.stop().await;
}
