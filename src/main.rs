//! The `doithoai` command: parse arguments, set up logging, dispatch to
//! `doithoai::cli`, print errors in Vietnamese then English.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use doithoai::cli::{self, CliError};
use doithoai::config::{ServeConfig, StoreConfig};

#[derive(Parser)]
#[command(
    name = "doithoai",
    version,
    about = "Hệ thống nhận câu hỏi trực tiếp cho hội nghị đối thoại với thanh niên\n\
             Live question hub for leader–youth dialogues",
    long_about = None,
    after_help = "Bắt đầu / Getting started:\n  \
      doithoai                      chạy máy chủ (mặc định) / run the server (the default)\n  \
      doithoai check                kiểm tra trước ngày sự kiện / pre-flight check\n  \
      doithoai LỆNH --help          hướng dẫn từng lệnh / help on one command\n\n\
      Danh sách việc ngày sự kiện / event-day checklist: docs/NGAY-SU-KIEN.md"
)]
struct Cli {
    /// Ghi nhật ký dạng JSON (cho hệ thống gom log) / log as JSON lines.
    #[arg(long, global = true, env = "DOITHOAI_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Chạy máy chủ (lệnh mặc định) / run the server (the default command).
    #[command(after_help = "Ví dụ / examples:\n  \
      doithoai serve                                    chỉ máy này / this machine only\n  \
      doithoai serve --listen 0.0.0.0:8080 --public-url http://192.168.1.10:8080\n      \
      cho điện thoại trong hội trường vào / let the hall's phones in\n\n\
      Dừng: Ctrl+C (mọi câu hỏi đã nhận được lưu trước khi dừng).\n\
      Stop: Ctrl+C (every acknowledged question is saved first).")]
    Serve(ServeConfig),
    /// Tạo, liệt kê, đóng sự kiện / create, list and close events.
    Event {
        #[command(subcommand)]
        action: EventCmd,
    },
    /// In liên kết có mã cho từng vị trí (điều hành, diễn giả, điểm cầu…) /
    /// print every seat's link with its token.
    #[command(after_help = "Ví dụ / examples:\n  \
      doithoai tokens --event cho-moi-2025 --public-url http://192.168.1.10:8080\n  \
      doithoai tokens --event cho-moi-2025 --revoke hall_operator:kien-an   (mất máy / a lost tablet)\n\n\
      Mỗi liên kết là một chìa khóa: chỉ gửi cho đúng người.\n\
      Each link is a key: give it only to its person.")]
    Tokens {
        #[command(flatten)]
        store: StoreConfig,
        /// Mã sự kiện, ví dụ cho-moi-2025 (xem: doithoai event list) / the event's id.
        #[arg(long)]
        event: String,
        /// Danh sách dạng JSON: vị trí, hội trường/ban, mã, liên kết / machine-readable list.
        #[arg(long)]
        json: bool,
        /// Thu hồi mã của vị trí này và cấp mã mới, ví dụ moderator-2, hall_operator:chau-doc /
        /// revoke this seat's token and issue a new one.
        #[arg(long, value_name = "SEAT")]
        revoke: Option<String>,
        /// Mã mới hết hạn sau số ngày này / new tokens expire after this many days.
        #[arg(long, value_name = "DAYS")]
        expires_in_days: Option<u32>,
        /// Phần đầu của liên kết (địa chỉ điện thoại và máy tính bảng vào được) /
        /// base URL of the links.
        #[arg(
            long,
            env = "DOITHOAI_PUBLIC_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        public_url: String,
    },
    /// Nhập câu hỏi thu thập trước từ tệp Excel (.xlsx) hoặc .csv /
    /// import questions collected beforehand.
    #[command(after_help = "Ví dụ / examples:\n  \
      doithoai import --template mau-nhap.xlsx --event cho-moi-2025   tạo tệp mẫu / write the template\n  \
      doithoai import --event cho-moi-2025 cau-hoi.xlsx               xem báo cáo, hỏi có/không / report, then ask\n  \
      doithoai import --event cho-moi-2025 cau-hoi.xlsx --yes         nhập luôn / import without asking\n\n\
      Nhập lại cùng tệp không tạo câu trùng. Khi máy chủ đang chạy, lệnh gửi tệp qua máy chủ.\n\
      Importing the same file again adds nothing twice. With a server running, the file goes through it.")]
    Import {
        #[command(flatten)]
        store: StoreConfig,
        /// Mã sự kiện (xem: doithoai event list) / the event's id.
        #[arg(long, required_unless_present = "template")]
        event: Option<String>,
        /// Tệp .xlsx hoặc .csv (UTF-8) cần nhập / the .xlsx or .csv (UTF-8) file to import.
        #[arg(required_unless_present = "template", conflicts_with = "template")]
        file: Option<PathBuf>,
        /// Ghi tệp mẫu trống (.xlsx hoặc .csv) vào FILE thay vì nhập /
        /// write the blank template to FILE instead of importing.
        #[arg(long, value_name = "FILE")]
        template: Option<PathBuf>,
        /// Nhập luôn sau khi in báo cáo, không hỏi / import after the report without asking.
        #[arg(long)]
        yes: bool,
        /// Đơn vị thu thập cho các dòng để trống cột đó, ví dụ "Huyện đoàn Chợ Mới" /
        /// collecting unit for rows that leave it empty.
        #[arg(long)]
        source: Option<String>,
    },
    /// Xóa họ tên, tuổi, trường, số điện thoại người hỏi của sự kiện đã đóng
    /// (câu hỏi và câu trả lời vẫn giữ) / erase askers' personal data of a closed event.
    ErasePersonalData {
        #[command(flatten)]
        store: StoreConfig,
        /// Mã sự kiện / the event's id.
        #[arg(long)]
        event: String,
    },
    /// Sao lưu toàn bộ dữ liệu (kể cả khóa bí mật) ra một tệp, được cả khi
    /// máy chủ đang chạy / back up everything into one file, also while serving.
    #[command(
        after_help = "Ví dụ / example:  doithoai backup --to /media/usb/doithoai-2025-03-19.db\n\n\
      Tệp sao lưu chứa thông tin cá nhân và khóa bí mật: cất giữ cẩn thận.\n\
      The backup holds personal data and the secret: keep it safe.\n\
      PostgreSQL: pg_dump (docs/DEPLOY.md)."
    )]
    Backup {
        #[command(flatten)]
        store: StoreConfig,
        /// Tệp sao lưu sẽ tạo (chưa được có) / the backup file to create (must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Khôi phục bản sao lưu vào một thư mục dữ liệu trống /
    /// restore a backup into an empty data directory.
    #[command(
        after_help = "Ví dụ / example:  doithoai restore --from doithoai-2025-03-19.db --data-dir ./data-moi"
    )]
    Restore {
        #[command(flatten)]
        store: StoreConfig,
        /// Tệp do `doithoai backup` tạo / a file made by `doithoai backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Kiểm tra trước ngày sự kiện: ổ đĩa, giới hạn tệp, đồng hồ, cơ sở dữ
    /// liệu, mã từng vị trí, địa chỉ công khai / pre-flight check for the night before.
    #[command(after_help = "Ví dụ / example:\n  \
      doithoai check --event cho-moi-2025 --expected-phones 3000 --public-url http://192.168.1.10:8080\n\n\
      Mỗi dòng LỖI / FAIL kèm cách sửa. Chạy lại đến khi không còn lỗi.\n\
      Every FAIL line says how to fix it. Run again until none is left.")]
    Check {
        #[command(flatten)]
        store: StoreConfig,
        /// Chỉ kiểm tra sự kiện này / check only this event.
        #[arg(long)]
        event: Option<String>,
        /// Số điện thoại dự kiến vào cùng lúc / phones expected at once.
        #[arg(long, default_value_t = 2000, value_name = "N")]
        expected_phones: u64,
        /// Địa chỉ điện thoại sẽ dùng (mặc định: của máy chủ đang chạy) /
        /// the URL phones will use (default: the running server's).
        #[arg(long, env = "DOITHOAI_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Chép sự kiện sang kho dữ liệu khác, ví dụ từ SQLite sang PostgreSQL
    /// (dừng máy chủ trước) / copy events to another store (stop the servers first).
    MigrateStore {
        /// Nguồn: thư mục dữ liệu, tệp SQLite hoặc postgres://… / source.
        #[arg(long)]
        from: String,
        /// Đích: postgres://… (hoặc tệp SQLite, thư mục dữ liệu) / target.
        #[arg(long)]
        to: String,
        /// Chỉ chép sự kiện này / copy only this event.
        #[arg(long)]
        event: Option<String>,
    },
}

#[derive(Subcommand)]
enum EventCmd {
    /// Tạo sự kiện (hoặc cập nhật định nghĩa) từ tệp TOML /
    /// create an event (or update its definition) from a TOML file.
    #[command(after_help = "Ví dụ / example:\n  \
      doithoai event template > cho-moi-2025.toml     rồi sửa tệp / then edit it\n  \
      doithoai event create --file cho-moi-2025.toml")]
    Create {
        #[command(flatten)]
        store: StoreConfig,
        /// Tệp sự kiện .toml (bắt đầu từ: doithoai event template) / the event file.
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Vẫn lưu khi định nghĩa mới bỏ hội trường/ban/nhóm mà câu hỏi đang dùng
        /// (câu hỏi giữ mã cũ) / save even if questions use a hall, department or group it drops.
        #[arg(long)]
        force: bool,
    },
    /// Liệt kê sự kiện / list events.
    List {
        #[command(flatten)]
        store: StoreConfig,
    },
    /// Đóng sự kiện khi đã xong phần trả lời bằng văn bản /
    /// close an event once its written follow-up is done.
    Close {
        #[command(flatten)]
        store: StoreConfig,
        /// Mã sự kiện / the event's id.
        #[arg(long)]
        event: String,
    },
    /// In sự kiện mẫu (An Giang 2024) dạng TOML để chép và sửa /
    /// print the built-in event as TOML, to copy and edit.
    Template,
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, never into a log file.
        .with_ansi(std::io::stderr().is_terminal());
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
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
    if !matches!(command, Cmd::Serve(_)) {
        cli::quiet_on_closed_pipe();
    }
    init_tracing(cli.log_json);
    match run(command, cli.log_json).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Cmd, log_json: bool) -> Result<ExitCode, CliError> {
    match command {
        Cmd::Serve(config) => cli::serve::run(config, log_json).await?,
        Cmd::Event { action } => match action {
            EventCmd::Create { store, file, force } => {
                cli::events::create(store, &file, force).await?
            }
            EventCmd::List { store } => cli::events::list(store).await?,
            EventCmd::Close { store, event } => cli::events::close(store, event).await?,
            EventCmd::Template => print!("{}", doithoai::event::DEFAULT_EVENT_TOML),
        },
        Cmd::Tokens {
            store,
            event,
            json,
            revoke,
            expires_in_days,
            public_url,
        } => {
            cli::tokens::run(cli::tokens::TokensArgs {
                store,
                event,
                json,
                revoke,
                expires_in_days,
                public_url,
            })
            .await?
        }
        Cmd::MigrateStore { from, to, event } => {
            cli::events::migrate_store(from, to, event).await?
        }
        Cmd::Import {
            store,
            event,
            file,
            template,
            yes,
            source,
        } => match (template, file, event) {
            (Some(template), _, event) => cli::import::template(store, event, &template).await?,
            (None, Some(file), Some(event)) => {
                cli::import::run(cli::import::ImportArgs {
                    store,
                    event,
                    file,
                    yes,
                    source,
                })
                .await?
            }
            // clap requires both without --template.
            _ => unreachable!("clap checks the import arguments"),
        },
        Cmd::ErasePersonalData { store, event } => {
            cli::tokens::erase_personal_data(store, event).await?
        }
        Cmd::Backup { store, to } => {
            let bytes = cli::backup::backup(store, &to).await?;
            println!(
                "Đã sao lưu / backed up: {} ({:.1} MB). Tệp có thông tin cá nhân và khóa bí mật: cất giữ cẩn thận / \
                 it holds personal data and the secret: keep it safe.",
                to.display(),
                bytes as f64 / 1e6
            );
        }
        Cmd::Restore { store, from } => {
            cli::backup::restore(store.clone(), &from).await?;
            println!(
                "Đã khôi phục / restored {} vào / into {}. Chạy / run: doithoai serve --data-dir {}",
                from.display(),
                store.data_dir.display(),
                store.data_dir.display()
            );
        }
        Cmd::Check {
            store,
            event,
            expected_phones,
            public_url,
        } => {
            let findings = cli::check::run(cli::check::CheckArgs {
                store,
                event,
                expected_phones,
                public_url,
            })
            .await;
            for f in &findings {
                f.print();
            }
            let failed = findings
                .iter()
                .filter(|f| f.level == cli::check::Level::Fail)
                .count();
            if failed > 0 {
                println!("\n{failed} lỗi cần sửa trước ngày sự kiện / {failed} problems to fix before the day");
                return Ok(ExitCode::FAILURE);
            }
            println!("\nSẵn sàng / ready.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
