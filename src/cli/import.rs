//! `doithoai import`: print the row report of a questions file, then import
//! its new rows once accepted; `--template FILE` writes the blank template.
//!
//! With a server running on the data directory, the file goes to it
//! (`POST /api/import/preview`, then `/api/import/commit` with the preview's
//! `sha256`), so the server's memory and its clients see the questions at
//! once. Without one, the CLI starts the engine on the store itself: the same
//! rules and idempotency either way.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use super::client::{query_value, ServerClient};
use super::CliError;
use crate::config::StoreConfig;
use crate::domain::{Actor, Role};
use crate::event::EventConfig;
use crate::reports::apply;
use crate::reports::import::{self, Format, Plan, RowReport};
use crate::store;

pub struct ImportArgs {
    pub store: StoreConfig,
    pub event: String,
    pub file: PathBuf,
    pub yes: bool,
    pub source: Option<String>,
}

fn format_of(file: &Path) -> Result<Format, CliError> {
    Format::detect(None, file.to_str()).ok_or_else(|| {
        CliError::new(
            format!("{}: chỉ nhận tệp .xlsx hoặc .csv", file.display()),
            format!(
                "{}: only .xlsx and .csv files can be imported",
                file.display()
            ),
        )
    })
}

/// Write the import template (`.xlsx` with the event's halls and groups on
/// its second sheet, or `.csv` with the header row).
pub async fn template(
    store_config: StoreConfig,
    event: Option<String>,
    file: &Path,
) -> Result<(), CliError> {
    let format = format_of(file)?;
    let bytes = match format {
        Format::Csv => import::template_csv()?,
        Format::Xlsx => {
            let db = store::open(&store_config).await?;
            let events = db.events().await?;
            let config = match &event {
                Some(id) => events
                    .into_iter()
                    .find(|e| &e.id == id)
                    .ok_or_else(|| super::no_such_event(id))?,
                None => events
                    .into_iter()
                    .next()
                    .unwrap_or_else(EventConfig::builtin),
            };
            import::template_xlsx(&config)?
        }
    };
    if file.exists() {
        return Err(CliError::new(
            format!("{} đã có; chọn tên khác để không ghi đè", file.display()),
            format!(
                "{} already exists; choose another name so nothing is overwritten",
                file.display()
            ),
        ));
    }
    std::fs::write(file, bytes).map_err(|e| super::file_error(file, e))?;
    println!(
        "Đã ghi mẫu nhập câu hỏi / wrote the import template: {}",
        file.display()
    );
    Ok(())
}

/// Ask y/N on a terminal. A piped "y" is not taken as consent: importing is
/// a write an organiser should see the report of first, so a script must
/// say `--yes` explicitly.
fn confirm(count: usize, yes: bool) -> Result<bool, CliError> {
    if yes {
        return Ok(true);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::new(
            "chưa nhập gì: đầu vào không phải bàn phím (terminal) nên không hỏi được «có/không». \
             Đọc báo cáo ở trên rồi chạy lại với --yes để nhập",
            "nothing imported: the input is not a terminal, so no question could be asked \
             (a piped \"y\" is not taken as an answer). Read the report above, then run again with --yes",
        ));
    }
    print!("Nhập {count} câu hỏi mới? / Import {count} new questions? [y/N] ");
    std::io::Write::flush(&mut std::io::stdout())
        .map_err(|e| super::other("stdout", "stdout", e))?;
    let mut answer = String::new();
    stdin
        .read_line(&mut answer)
        .map_err(|e| super::other("stdin", "stdin", e))?;
    Ok(matches!(
        answer.trim().to_lowercase().as_str(),
        "y" | "yes" | "c" | "có" | "co"
    ))
}

fn not_accepted() {
    println!(
        "Chưa nhập gì / nothing imported (trả lời y, hoặc dùng --yes / answer y, or use --yes)"
    );
}

pub async fn run(a: ImportArgs) -> Result<(), CliError> {
    let format = format_of(&a.file)?;
    let bytes = std::fs::read(&a.file).map_err(|e| super::file_error(&a.file, e))?;
    match super::running_server(&a.store)? {
        Some(server) => through_server(a, server, format, bytes).await,
        None => directly(a, format, bytes).await,
    }
}

async fn directly(a: ImportArgs, format: Format, bytes: Vec<u8>) -> Result<(), CliError> {
    let db = store::open(&a.store).await?;
    // Importing the day before may come before the first `serve`: start
    // from the built-in default event just as `serve` would.
    if db.events().await?.is_empty() {
        db.put_event(&EventConfig::builtin()).await?;
    }
    let secret = crate::load_secret(&a.store)
        .map_err(|e| super::other("không đọc được khóa bí mật", "cannot read the secret", e))?;
    let metrics = std::sync::Arc::new(crate::metrics::Metrics::default());
    let engine =
        crate::engine::Engine::start(db, secret, metrics, crate::hub::HubConfig::default()).await?;
    let outcome = async {
        let rt = engine
            .event(&a.event)
            .ok_or_else(|| super::no_such_event(&a.event))?;
        let actor = Actor::new(Role::Admin, "admin:cli-import");
        let plan = apply::plan_file(&rt, &actor, &bytes, format, a.source.as_deref())?;
        print!("{}", plan.to_text());
        if plan.commands.is_empty() {
            println!("Không có dòng mới để nhập / nothing new to import");
            return Ok(());
        }
        if !confirm(plan.commands.len(), a.yes)? {
            not_accepted();
            return Ok(());
        }
        let before = Plan {
            rows: plan.rows.clone(),
            commands: Vec::new(),
        };
        let done = apply::run(&rt, &actor, plan).await;
        print_result(&before, &done);
        Ok(())
    }
    .await;
    engine.shutdown().await;
    outcome
}

/// The rows the engine refused at commit time (a store error, a row that
/// became a duplicate meanwhile), then totals that add up.
fn print_result(before: &Plan, done: &Plan) {
    for (b, r) in before.rows.iter().zip(&done.rows) {
        if b.status == import::RowStatus::New && r.status == import::RowStatus::Rejected {
            for reason in &r.reasons {
                println!(
                    "dòng/row {:>5}  {} / {}",
                    r.row, reason.message, reason.message_en
                );
            }
        }
    }
    println!("Kết quả / result: {}", done.totals_line());
}

async fn through_server(
    a: ImportArgs,
    server: super::lock::RunningServer,
    format: Format,
    bytes: Vec<u8>,
) -> Result<(), CliError> {
    let db = store::open(&a.store).await?;
    let secret = crate::load_secret(&a.store)
        .map_err(|e| super::other("không đọc được khóa bí mật", "cannot read the secret", e))?;
    let client = ServerClient::admin(server, db.as_ref(), &secret, &a.event).await?;
    println!(
        "Gửi qua máy chủ đang chạy / sending through the running server ({})",
        client.server.describe()
    );
    let filename = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut query = format!(
        "filename={}&format={}",
        query_value(&filename),
        match format {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    );
    if let Some(source) = &a.source {
        query.push_str(&format!("&source={}", query_value(source)));
    }
    let content_type = match format {
        Format::Csv => "text/csv",
        Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    };
    let preview = client
        .send_json(
            hyper::Method::POST,
            &format!("/api/import/preview?{query}"),
            Some((content_type, bytes.clone())),
        )
        .await?;
    let plan = plan_from(&preview)?;
    print!("{}", plan.to_text());
    let new = plan.summary().new;
    if new == 0 {
        println!("Không có dòng mới để nhập / nothing new to import");
        return Ok(());
    }
    if !confirm(new, a.yes)? {
        not_accepted();
        return Ok(());
    }
    let sha = preview["sha256"].as_str().unwrap_or_default();
    let done = client
        .send_json(
            hyper::Method::POST,
            &format!("/api/import/commit?{query}&sha256={sha}"),
            Some((content_type, bytes)),
        )
        .await?;
    print_result(&plan, &plan_from(&done)?);
    Ok(())
}

/// The row report of the server's answer, to print like a local one.
fn plan_from(answer: &serde_json::Value) -> Result<Plan, CliError> {
    let rows: Vec<RowReport> = serde_json::from_value(answer["rows"].clone()).map_err(|e| {
        super::other(
            "máy chủ trả báo cáo không đọc được",
            "unreadable row report from the server",
            e,
        )
    })?;
    Ok(Plan {
        rows,
        commands: Vec::new(),
    })
}
