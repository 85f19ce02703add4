//! The `doithoai` command: parse arguments, set up logging, dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use doithoai::config::{ServeConfig, StoreConfig};
use doithoai::event::EventConfig;
use doithoai::{auth, store};

#[derive(Parser)]
#[command(
    name = "doithoai",
    version,
    about = "Live question hub for leader–youth dialogues"
)]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "DOITHOAI_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default when no subcommand is given).
    Serve(ServeConfig),
    /// Manage events.
    Event {
        #[command(subcommand)]
        action: EventCmd,
    },
    /// Print (creating where missing) every role's token and join link.
    Tokens {
        #[command(flatten)]
        store: StoreConfig,
        #[arg(long)]
        event: String,
        /// Machine-readable list: role, hall/department, token, url.
        #[arg(long)]
        json: bool,
        /// Revoke this seat's token (e.g. moderator-2, hall_operator:chau-doc) and issue a new one.
        #[arg(long)]
        revoke: Option<String>,
        /// New tokens expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Base URL of join links.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        public_url: String,
    },
    /// Copy events (log with its sequence numbers, questions, personal data,
    /// floor requests, token hashes) to another store, e.g. from SQLite to
    /// PostgreSQL. Stop the servers using either store first.
    MigrateStore {
        /// Source: a data directory, an SQLite file or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// Target: a postgres:// URL (or an SQLite file or data directory).
        #[arg(long)]
        to: String,
        /// Copy only this event.
        #[arg(long)]
        event: Option<String>,
    },
    /// Import questions collected beforehand from an XLSX or CSV file: prints
    /// the row report, then imports the new rows once accepted.
    Import {
        #[command(flatten)]
        store: StoreConfig,
        #[arg(long)]
        event: String,
        /// The .xlsx or .csv (UTF-8) file; download the template from /api/import/template.xlsx.
        file: PathBuf,
        /// Import without asking after printing the report.
        #[arg(long)]
        yes: bool,
        /// Collecting unit for rows whose "collected by" cell is empty, e.g. "Huyện đoàn Chợ Mới".
        #[arg(long)]
        source: Option<String>,
    },
    /// Erase questioners' names, ages, schools and phones of a closed event
    /// (questions and answers stay).
    ErasePersonalData {
        #[command(flatten)]
        store: StoreConfig,
        #[arg(long)]
        event: String,
    },
}

#[derive(Subcommand)]
enum EventCmd {
    /// Create an event (or update its definition) from a TOML file.
    Create {
        #[command(flatten)]
        store: StoreConfig,
        #[arg(long)]
        file: PathBuf,
    },
    /// List events.
    List {
        #[command(flatten)]
        store: StoreConfig,
    },
    /// Mark an event closed (its follow-up is done; personal data may then be erased).
    Close {
        #[command(flatten)]
        store: StoreConfig,
        #[arg(long)]
        event: String,
    },
    /// Print the built-in default event as TOML, to copy and edit.
    Template,
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    let command = cli.command.unwrap_or_else(|| {
        let Cli {
            command: Some(Cmd::Serve(c)),
            ..
        } = Cli::parse_from(["doithoai", "serve"])
        else {
            unreachable!("serve parses with defaults")
        };
        Cmd::Serve(c)
    });
    match run(command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lỗi / error: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

async fn run(command: Cmd) -> Result<(), AnyError> {
    match command {
        Cmd::Serve(config) => serve(config).await,
        Cmd::Event { action } => match action {
            EventCmd::Create { store, file } => {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                let event = EventConfig::from_toml(&text)
                    .map_err(|e| format!("{}:{}", file.display(), e))?;
                let db = store::open(&store).await?;
                let replaced = db.event(&event.id).await?.is_some();
                db.put_event(&event).await?;
                let secret = doithoai::load_secret(&store)?;
                auth::issue_tokens(db.as_ref(), &secret, &event, "", None).await?;
                println!(
                    "Đã lưu sự kiện / saved event «{}» ({}): {} halls, {} departments",
                    event.name,
                    event.id,
                    event.halls.len(),
                    event.departments.len()
                );
                if replaced {
                    // A server opens a new event on first use, but keeps the
                    // definition of one it already runs.
                    println!(
                        "Sự kiện này đã có: máy chủ đang chạy dùng định nghĩa mới sau khi khởi động lại\n\
                         This event already existed: a running server uses the new definition after a restart"
                    );
                }
                Ok(())
            }
            EventCmd::List { store } => {
                let db = store::open(&store).await?;
                for e in db.events().await? {
                    println!("{}\t{}\t{}\t{} halls", e.id, e.date, e.name, e.halls.len());
                }
                Ok(())
            }
            EventCmd::Close { store, event } => {
                let db = store::open(&store).await?;
                db.close_event(&event, doithoai::now_ms()).await?;
                println!("Đã đóng sự kiện / closed event {event}");
                Ok(())
            }
            EventCmd::Template => {
                print!("{}", doithoai::event::DEFAULT_EVENT_TOML);
                Ok(())
            }
        },
        Cmd::Tokens {
            store,
            event,
            json,
            revoke,
            expires_in_days,
            public_url,
        } => {
            let db = store::open(&store).await?;
            let secret = doithoai::load_secret(&store)?;
            let config = db
                .events()
                .await?
                .into_iter()
                .find(|e| e.id == event)
                .ok_or_else(|| format!("no such event: {event}"))?;
            if let Some(slot) = revoke {
                if !auth::revoke_slot(db.as_ref(), &event, &slot).await? {
                    return Err(format!("no live token for seat {slot}").into());
                }
                eprintln!("Đã thu hồi / revoked {slot}; a new token follows");
            }
            let expires = expires_in_days.map(|d| doithoai::now_ms() + i64::from(d) * 86_400_000);
            let tokens =
                auth::issue_tokens(db.as_ref(), &secret, &config, &public_url, expires).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
            } else {
                print_tokens(&tokens);
            }
            Ok(())
        }
        Cmd::MigrateStore { from, to, event } => {
            let source = store::transfer::open_location(&from, false).await?;
            let target = store::transfer::open_location(&to, true).await?;
            let copied =
                store::transfer::copy(source.as_ref(), target.as_ref(), event.as_deref()).await?;
            for c in &copied {
                println!(
                    "Đã chép / copied {}: seq {}, {} changes, {} questions, {} tokens",
                    c.event_id, c.last_seq, c.changes, c.questions, c.tokens
                );
            }
            if !store::postgres::is_postgres_url(&from) {
                println!(
                    "Tokens and receipts derive from the secret: start the new nodes with \
                     --secret-file {} (or the same DOITHOAI_SECRET).",
                    std::path::Path::new(&from)
                        .parent()
                        .filter(|_| std::path::Path::new(&from).is_file())
                        .unwrap_or(std::path::Path::new(&from))
                        .join("secret.key")
                        .display()
                );
            }
            Ok(())
        }
        Cmd::Import {
            store,
            event,
            file,
            yes,
            source,
        } => import(store, event, file, yes, source).await,
        Cmd::ErasePersonalData { store, event } => erase_personal_data(store, event).await,
    }
}

async fn import(
    store: StoreConfig,
    event: String,
    file: PathBuf,
    yes: bool,
    source: Option<String>,
) -> Result<(), AnyError> {
    use doithoai::domain::{Actor, Role};
    use doithoai::reports::{apply, import::Format};
    use std::io::IsTerminal;
    let format =
        Format::detect(None, file.to_str()).ok_or("only .xlsx and .csv files can be imported")?;
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let db = store::open(&store).await?;
    // Importing the day before may come before the first `serve`: start
    // from the built-in default event just as `serve` would.
    if db.events().await?.is_empty() {
        db.put_event(&EventConfig::builtin()).await?;
    }
    let secret = doithoai::load_secret(&store)?;
    // The engine's writer does the submitting, so an import from the command
    // line follows the same rules and idempotency as one from the console,
    // and a server running on the same store catches up from the log.
    let metrics = std::sync::Arc::new(doithoai::metrics::Metrics::default());
    let engine =
        doithoai::engine::Engine::start(db, secret, metrics, doithoai::hub::HubConfig::default())
            .await?;
    let rt = engine
        .event(&event)
        .ok_or_else(|| format!("no such event: {event}"))?;
    let actor = Actor::new(Role::Admin, "admin:cli-import");
    let plan = apply::plan_file(&rt, &actor, &bytes, format, source.as_deref())
        .map_err(|e| format!("{} / {e}", e.message_vi()))?;
    print!("{}", plan.to_text());
    if plan.commands.is_empty() {
        println!("Không có dòng mới để nhập / nothing new to import");
        engine.shutdown().await;
        return Ok(());
    }
    let accepted = yes || {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            print!(
                "Nhập {} câu hỏi mới? / Import {} new questions? [y/N] ",
                plan.commands.len(),
                plan.commands.len()
            );
            std::io::Write::flush(&mut std::io::stdout())?;
            let mut answer = String::new();
            stdin.read_line(&mut answer)?;
            matches!(
                answer.trim().to_lowercase().as_str(),
                "y" | "yes" | "c" | "có" | "co"
            )
        } else {
            false
        }
    };
    if !accepted {
        println!("Chưa nhập gì / nothing imported (use --yes or answer y)");
        engine.shutdown().await;
        return Ok(());
    }
    let done = apply::run(&rt, &actor, plan).await;
    let s = done.summary();
    engine.shutdown().await;
    println!(
        "Đã nhập / imported {} ; đã có / already {} ; loại / rejected {}",
        s.imported, s.already_imported, s.rejected
    );
    Ok(())
}

async fn erase_personal_data(store: StoreConfig, event: String) -> Result<(), AnyError> {
    let db = store::open(&store).await?;
    if db.event_closed_at(&event).await?.is_none() {
        return Err(format!(
            "sự kiện {event} chưa đóng; chạy `doithoai event close --event {event}` khi đã xong phần trả lời bằng văn bản / event {event} is not closed"
        )
        .into());
    }
    let erased = db.erase_personal_data(&event).await?;
    println!("Đã xóa thông tin cá nhân của {erased} người hỏi / erased personal data of {erased} questioners ({event})");
    eprintln!(
        "Lưu ý / note: a server already running keeps its in-memory copy until restarted; \
         while one runs, prefer POST /api/admin/erase-personal-data (admin), which clears both."
    );
    Ok(())
}

fn print_tokens(tokens: &[auth::IssuedToken]) {
    for t in tokens {
        println!("  {:<28} {}", t.slot, t.url);
    }
}

async fn serve(config: ServeConfig) -> Result<(), AnyError> {
    let listener = doithoai::bind(config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let bound = listener.local_addr()?;
    let base = config.base_url(bound);
    let quiet = config.quiet_tokens;
    let app = doithoai::open(config).await?;
    println!(
        "doithoai đang chạy / running at {base}  (data: {})",
        describe_store(&app)
    );
    for rt in app.engine.events() {
        println!("\nSự kiện / event: {} — {}", rt.config.id, rt.config.name);
        println!("  Trang tham gia / join page (admin link below shows all QR codes)");
        for h in &rt.config.halls {
            println!(
                "  participant {:<18} {base}/p/{}/{}",
                h.id, rt.config.id, h.id
            );
        }
        if !quiet {
            let tokens = auth::issue_tokens(
                app.engine.store().as_ref(),
                app.engine.secret(),
                &rt.config,
                &base,
                None,
            )
            .await?;
            print_tokens(&tokens);
        }
    }
    println!();
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    };
    doithoai::serve(listener, app, shutdown).await?;
    Ok(())
}

fn describe_store(app: &doithoai::App) -> String {
    match &app.config.store.database_url {
        Some(_) => "PostgreSQL".to_string(),
        None => format!("SQLite in {}", app.config.store.data_dir.display()),
    }
}
