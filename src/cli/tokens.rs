//! `doithoai tokens` (seat links, revoking one) and `erase-personal-data`.

use super::client::ServerClient;
use super::CliError;
use crate::auth;
use crate::config::StoreConfig;
use crate::store;

pub fn print_table(tokens: &[auth::IssuedToken]) {
    for t in tokens {
        println!("  {:<28} {}", t.slot, t.url);
    }
}

pub struct TokensArgs {
    pub store: StoreConfig,
    pub event: String,
    pub json: bool,
    pub revoke: Option<String>,
    pub expires_in_days: Option<u32>,
    pub public_url: String,
}

/// Print every seat's link (creating missing tokens), revoking one first if
/// asked. Safe while a server runs: the server checks tokens in the store on
/// every connection, so a revoked one stops working at once for new ones,
/// and closes connections already open with it within a second
/// (`EventRuntime::close_revoked`).
pub async fn run(a: TokensArgs) -> Result<(), CliError> {
    let db = store::open(&a.store).await?;
    let secret = crate::load_secret(&a.store)
        .map_err(|e| super::other("không đọc được khóa bí mật", "cannot read the secret", e))?;
    let config = db
        .events()
        .await?
        .into_iter()
        .find(|e| e.id == a.event)
        .ok_or_else(|| super::no_such_event(&a.event))?;
    if let Some(slot) = &a.revoke {
        if !auth::revoke_slot(db.as_ref(), &a.event, slot).await? {
            return Err(CliError::new(
                format!("không có mã còn hiệu lực cho vị trí «{slot}» (xem danh sách: doithoai tokens --event {})", a.event),
                format!("no live token for seat «{slot}» (list them: doithoai tokens --event {})", a.event),
            ));
        }
        eprintln!("Đã thu hồi {slot}; mã mới ở dưới / revoked {slot}; a new token follows");
    }
    let expires = a
        .expires_in_days
        .map(|d| crate::now_ms() + i64::from(d) * 86_400_000);
    let tokens = auth::issue_tokens(db.as_ref(), &secret, &config, &a.public_url, expires).await?;
    if a.json {
        let text = serde_json::to_string_pretty(&tokens)
            .map_err(|e| super::other("lỗi JSON", "JSON", e))?;
        println!("{text}");
    } else {
        print_table(&tokens);
    }
    Ok(())
}

/// Erase the askers' personal data of a closed event: through the running
/// server when there is one (it clears its memory too), else in the store.
pub async fn erase_personal_data(store_config: StoreConfig, event: String) -> Result<(), CliError> {
    let db = store::open(&store_config).await?;
    if db.event(&event).await?.is_none() {
        return Err(super::no_such_event(&event));
    }
    if let Some(server) = super::running_server(&store_config)? {
        let secret = crate::load_secret(&store_config)
            .map_err(|e| super::other("không đọc được khóa bí mật", "cannot read the secret", e))?;
        let client = ServerClient::admin(server, db.as_ref(), &secret, &event).await?;
        let answer = client
            .send_json(hyper::Method::POST, "/api/admin/erase-personal-data", None)
            .await?;
        let erased = answer["erased"].as_u64().unwrap_or(0);
        println!(
            "Đã xóa thông tin cá nhân của {erased} người hỏi, qua máy chủ đang chạy ({}) / \
             erased personal data of {erased} questioners through the running server ({event})",
            client.server.describe()
        );
        return Ok(());
    }
    if db.event_closed_at(&event).await?.is_none() {
        return Err(CliError::new(
            format!("sự kiện {event} chưa đóng; chạy `doithoai event close --event {event}` khi đã xong phần trả lời bằng văn bản"),
            format!("event {event} is not closed; run `doithoai event close --event {event}` once the written follow-up is done"),
        ));
    }
    let erased = db.erase_personal_data(&event).await?;
    println!("Đã xóa thông tin cá nhân của {erased} người hỏi / erased personal data of {erased} questioners ({event})");
    if store_config.database_url.is_some() {
        eprintln!(
            "Lưu ý: máy chủ nào đang chạy trên PostgreSQL vẫn giữ bản trong bộ nhớ đến khi khởi động lại; \
             khi máy chủ chạy, hãy xóa qua trang quản trị (POST /api/admin/erase-personal-data).\n\
             Note: a server running on PostgreSQL keeps its in-memory copy until restarted; \
             while one runs, erase through it (POST /api/admin/erase-personal-data, admin)."
        );
    }
    Ok(())
}
