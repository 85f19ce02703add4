//! What the `doithoai` command does (`src/main.rs` only parses arguments):
//! serving with one server per data directory, events, tokens, imports,
//! backups, the pre-flight check. Every message an organiser reads comes in
//! Vietnamese first, then English. A command that writes while a server runs
//! on the same SQLite directory sends the write to that server over HTTP
//! (found through the lock file, authenticated as the event's admin) so that
//! the two never disagree.

pub mod backup;
pub mod check;
pub mod client;
pub mod events;
pub mod import;
pub mod lock;
pub mod serve;
pub mod tokens;

use std::path::Path;

use crate::config::StoreConfig;

/// An error for the organiser: what went wrong, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    pub vi: String,
    pub en: String,
}

impl CliError {
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> CliError {
        CliError {
            vi: vi.into(),
            en: en.into(),
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lỗi: {}\nerror: {}", self.vi, self.en)
    }
}

impl std::error::Error for CliError {}

impl From<crate::store::StoreError> for CliError {
    fn from(e: crate::store::StoreError) -> Self {
        CliError::new(format!("lỗi cơ sở dữ liệu: {e}"), format!("store: {e}"))
    }
}

impl From<crate::StartError> for CliError {
    fn from(e: crate::StartError) -> Self {
        CliError::new(
            format!("không khởi động được: {e}"),
            format!("cannot start: {e}"),
        )
    }
}

impl From<crate::reports::ReportError> for CliError {
    fn from(e: crate::reports::ReportError) -> Self {
        CliError::new(e.message_vi(), e.to_string())
    }
}

/// An I/O error on a named file.
pub fn file_error(path: &Path, e: std::io::Error) -> CliError {
    CliError::new(
        format!("{}: không đọc/ghi được ({e})", path.display()),
        format!("{}: {e}", path.display()),
    )
}

/// Any other error, with its English detail in both halves.
pub fn other(what_vi: &str, what_en: &str, e: impl std::fmt::Display) -> CliError {
    CliError::new(format!("{what_vi}: {e}"), format!("{what_en}: {e}"))
}

pub fn no_such_event(event: &str) -> CliError {
    CliError::new(
        format!("không có sự kiện «{event}» (xem `doithoai event list`)"),
        format!("no such event: «{event}» (see `doithoai event list`)"),
    )
}

/// Commands print to stdout and may be piped into `head`: let a closed pipe
/// end the process quietly, as it does `cat` or `ls`, instead of a panic in
/// `println!`. Only for commands that are not the server, which must keep
/// ignoring SIGPIPE (its sockets report a closed peer as an error).
pub fn quiet_on_closed_pipe() {
    // SAFETY: restoring the default disposition of one signal at start-up,
    // before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The server running on this store's SQLite directory, if any. PostgreSQL
/// has no lock: several nodes may serve one database.
pub fn running_server(store: &StoreConfig) -> Result<Option<lock::RunningServer>, CliError> {
    if store.database_url.is_some() {
        return Ok(None);
    }
    lock::running_server(&store.data_dir).map_err(|e| {
        CliError::new(
            format!("không đọc được tệp khóa: {e}"),
            format!("cannot read the lock file: {e}"),
        )
    })
}

/// Refuse a write that cannot go through the running server.
pub fn refuse_while_serving(
    server: &lock::RunningServer,
    what_vi: &str,
    what_en: &str,
) -> CliError {
    CliError::new(
        format!(
            "một máy chủ đang chạy trên thư mục dữ liệu này ({}); {what_vi}. \
             Dừng máy chủ (Ctrl+C trong cửa sổ của nó, hoặc `kill {}`), chạy lại lệnh này, rồi khởi động lại máy chủ",
            server.describe(),
            server.pid
        ),
        format!(
            "a server is running on this data directory ({}); {what_en}. \
             Stop it (Ctrl+C in its window, or `kill {}`), run this command again, then start the server again",
            server.describe(),
            server.pid
        ),
    )
}
