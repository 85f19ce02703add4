//! No input panics the server: thousands of mangled frames go in, every
//! answer is a well-formed reply, no task panics, and the server stays healthy.
//! (Its own test binary, so the panic hook counts only this server's panics.)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mangle(rng: &mut XorShift, seed: &str) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    let specials = [
        '"', '{', '}', '[', ']', ':', ',', '\\', 'ệ', 'đ', '\u{0}', '\u{FFFF}', '0', '-', 'e', ' ',
    ];
    for _ in 0..=rng.below(4) {
        if chars.is_empty() {
            break;
        }
        let at = rng.below(chars.len());
        match rng.below(4) {
            0 => {
                chars.remove(at);
            }
            1 => chars.insert(at, specials[rng.below(specials.len())]),
            2 => chars[at] = specials[rng.below(specials.len())],
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

#[tokio::test]
async fn mangled_frames_never_panic_the_server() {
    let panics = Arc::new(AtomicUsize::new(0));
    let counter = panics.clone();
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        counter.fetch_add(1, Ordering::SeqCst);
        default(info);
    }));

    let app = spawn_app().await;
    let id = uuid::Uuid::new_v4();
    let seeds = [
        format!(
            r#"{{"type":"cmd","req":"a","cmd":{{"type":"approve","question":"{id}","version":1}}}}"#
        ),
        format!(
            r#"{{"type":"cmd","req":"b","cmd":{{"type":"submit","id":"{id}","text":"Câu hỏi","hall":"tinh","questioner":{{"name":"A","age":20}},"consent":true}}}}"#
        ),
        format!(
            r#"{{"type":"cmd","req":"c","cmd":{{"type":"reorder","department":"gddt","order":["{id}"]}}}}"#
        ),
        format!(
            r#"{{"type":"cmd","req":"d","cmd":{{"type":"defer","question":"{id}","version":4294967295,"agency":"Sở Y tế","due":"2024-02-30"}}}}"#
        ),
        r#"{"type":"ping","t":-9223372036854775808}"#.to_string(),
        r#"{"type":"hello","protocol":1,"last_seq":18446744073709551615}"#.to_string(),
    ];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let hello = serde_json::json!({"type":"hello","protocol":1,"token":app.token("moderator-1")})
        .to_string();
    let mut sent = 0;
    while sent < 3000 {
        let (mut ws, _) = tokio_tungstenite::connect_async(app.ws_url())
            .await
            .unwrap();
        ws.send(Message::Text(hello.clone().into())).await.unwrap();
        for _ in 0..300 {
            let seed = &seeds[rng.below(seeds.len())];
            let frame = mangle(&mut rng, seed);
            if ws.send(Message::Text(frame.into())).await.is_err() {
                break;
            }
            sent += 1;
        }
        ws.send(Message::Text(r#"{"type":"ping","t":1}"#.into()))
            .await
            .ok();
        // Read until our final ping's pong: every frame must be JSON with a known type.
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(WAIT, ws.next()).await {
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(&t).expect("server frames are JSON");
            let kind = v["type"].as_str().unwrap_or_default().to_string();
            assert!(
                [
                    "welcome",
                    "snapshot",
                    "presence",
                    "suggestions",
                    "hints",
                    "change",
                    "ack",
                    "error",
                    "ping",
                    "pong",
                ]
                .contains(&kind.as_str()),
                "unexpected frame {v}"
            );
            if kind == "pong" && v["t"] == 1 {
                break;
            }
        }
    }
    let health = reqwest::get(format!("{}/healthz", app.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a server task panicked");
    app.stop().await;
}
