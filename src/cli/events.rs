//! `doithoai event create | list | close`.
//!
//! Creating a new event is safe while a server runs (the server opens it on
//! first use). Replacing a running event's definition is not: the server
//! keeps the old one in memory, so that is refused while it runs. A new
//! definition that drops a hall, department or issue group still used by
//! questions is refused unless `--force`, with the questions listed.

use std::path::Path;

use super::client::ServerClient;
use super::CliError;
use crate::auth;
use crate::config::StoreConfig;
use crate::domain::Question;
use crate::event::EventConfig;
use crate::store;

/// Read and check an event file; errors read `file:line: …`.
pub fn read_event_file(file: &Path) -> Result<EventConfig, CliError> {
    let text = std::fs::read_to_string(file).map_err(|e| super::file_error(file, e))?;
    EventConfig::from_toml(&text).map_err(|e| {
        CliError::new(
            format!("{}:{}: {}", file.display(), e.line, e.message_vi),
            format!("{}:{}: {}", file.display(), e.line, e.message),
        )
    })
}

/// Questions that would point at a hall, department or group the new
/// definition no longer has, each with what it loses.
fn orphaned(questions: &[Question], new: &EventConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for q in questions {
        let mut lost = Vec::new();
        if !new.has_hall(&q.hall) {
            lost.push(format!("hall «{}»", q.hall));
        }
        for h in &q.halls {
            if !new.has_hall(h) {
                lost.push(format!("hall «{h}»"));
            }
        }
        if let Some(d) = q.department.as_deref().filter(|d| !new.has_department(d)) {
            lost.push(format!("department «{d}»"));
        }
        if let Some(g) = q.group.as_deref().filter(|g| !new.has_group(g)) {
            lost.push(format!("group «{g}»"));
        }
        if !lost.is_empty() {
            let excerpt: String = q.text.chars().take(50).collect();
            out.push((
                format!("{} [{}] {excerpt}", q.id, q.state.as_str()),
                lost.join(", "),
            ));
        }
    }
    out
}

pub async fn create(store_config: StoreConfig, file: &Path, force: bool) -> Result<(), CliError> {
    let event = read_event_file(file)?;
    let db = store::open(&store_config).await?;
    let existing = db.event(&event.id).await?;
    if existing.is_some() {
        if let Some(server) = super::running_server(&store_config)? {
            return Err(super::refuse_while_serving(
                &server,
                &format!(
                    "nó đang dùng sự kiện «{}» và giữ định nghĩa cũ trong bộ nhớ",
                    event.id
                ),
                &format!(
                    "it runs event «{}» and keeps its old definition in memory",
                    event.id
                ),
            ));
        }
        let loaded = db.load(&event.id).await?;
        let lost = orphaned(&loaded.questions, &event);
        if !lost.is_empty() {
            let list: String = lost
                .iter()
                .map(|(q, what)| format!("\n  {q}  →  {what}"))
                .collect();
            if !force {
                return Err(CliError::new(
                    format!(
                        "định nghĩa mới bỏ hội trường/ban/nhóm mà {} câu hỏi đang dùng:{list}\n\
                         Giữ lại các mục đó trong tệp, hoặc thêm --force: các câu hỏi vẫn giữ mã cũ và hiện bằng mã đó",
                        lost.len()
                    ),
                    format!(
                        "the new definition drops halls/departments/groups that {} questions use (listed above). \
                         Keep them in the file, or add --force: the questions keep the old id and show it as is",
                        lost.len()
                    ),
                ));
            }
            eprintln!(
                "Cảnh báo / warning (--force): {} câu hỏi giữ mã không còn trong sự kiện, hiện bằng mã / \
                 questions keep ids no longer in the event and show them as is:{list}",
                lost.len()
            );
        }
    }
    db.put_event(&event).await?;
    let secret = crate::load_secret(&store_config)
        .map_err(|e| super::other("không đọc được khóa bí mật", "cannot read the secret", e))?;
    auth::issue_tokens(db.as_ref(), &secret, &event, "", None).await?;
    println!(
        "Đã lưu sự kiện «{}» ({}): {} hội trường, {} ban ngành / saved event «{}» ({}): {} halls, {} departments",
        event.name,
        event.id,
        event.halls.len(),
        event.departments.len(),
        event.name,
        event.id,
        event.halls.len(),
        event.departments.len()
    );
    if existing.is_some() {
        println!(
            "Sự kiện này đã có: định nghĩa mới thay định nghĩa cũ; máy chủ dùng nó sau khi khởi động lại\n\
             This event already existed: the new definition replaces it; a server uses it after a restart"
        );
    }
    Ok(())
}

pub async fn list(store_config: StoreConfig) -> Result<(), CliError> {
    let db = store::open(&store_config).await?;
    for e in db.events().await? {
        let closed = match db.event_closed_at(&e.id).await? {
            Some(_) => "  (đã đóng / closed)",
            None => "",
        };
        println!(
            "{}\t{}\t{}\t{} hội trường / halls{closed}",
            e.id,
            e.date,
            e.name,
            e.halls.len()
        );
    }
    Ok(())
}

/// Close an event: through the running server when there is one, so its
/// memory agrees, else in the store.
pub async fn close(store_config: StoreConfig, event: String) -> Result<(), CliError> {
    let db = store::open(&store_config).await?;
    if db.event(&event).await?.is_none() {
        return Err(super::no_such_event(&event));
    }
    if let Some(server) = super::running_server(&store_config)? {
        let secret = crate::load_secret(&store_config)
            .map_err(|e| super::other("không đọc được khóa bí mật", "cannot read the secret", e))?;
        let client = ServerClient::admin(server, db.as_ref(), &secret, &event).await?;
        client
            .send_json(hyper::Method::POST, "/api/admin/close-event", None)
            .await?;
        println!(
            "Đã đóng sự kiện {event}, qua máy chủ đang chạy / closed event {event} through the running server ({})",
            client.server.describe()
        );
        return Ok(());
    }
    db.close_event(&event, crate::now_ms()).await?;
    println!("Đã đóng sự kiện / closed event {event}");
    Ok(())
}

/// `doithoai migrate-store`: copy events between stores, refused while a
/// server runs on either SQLite side (it would keep writing to the source).
pub async fn migrate_store(
    from: String,
    to: String,
    event: Option<String>,
) -> Result<(), CliError> {
    for location in [&from, &to] {
        if store::postgres::is_postgres_url(location) {
            continue;
        }
        let path = Path::new(location);
        let dir = if path.is_file() {
            path.parent().unwrap_or(Path::new("."))
        } else {
            path
        };
        if let Ok(Some(server)) = super::lock::running_server(dir) {
            return Err(super::refuse_while_serving(
                &server,
                "nó sẽ tiếp tục ghi trong lúc chép",
                "it would keep writing while the copy is made",
            ));
        }
    }
    let source = store::transfer::open_location(&from, false).await?;
    let target = store::transfer::open_location(&to, true).await?;
    let copied = store::transfer::copy(source.as_ref(), target.as_ref(), event.as_deref()).await?;
    for c in &copied {
        println!(
            "Đã chép / copied {}: seq {}, {} thay đổi/changes, {} câu hỏi/questions, {} mã/tokens",
            c.event_id, c.last_seq, c.changes, c.questions, c.tokens
        );
    }
    if !store::postgres::is_postgres_url(&from) {
        let from_path = Path::new(&from);
        let secret = from_path
            .parent()
            .filter(|_| from_path.is_file())
            .unwrap_or(from_path)
            .join("secret.key");
        println!(
            "Mã và biên nhận được tạo từ khóa bí mật: chạy các máy chủ mới với --secret-file {0} (hoặc cùng DOITHOAI_SECRET)\n\
             Tokens and receipts derive from the secret: start the new nodes with --secret-file {0} (or the same DOITHOAI_SECRET).",
            secret.display()
        );
    }
    Ok(())
}
