//! `doithoai serve`: take the data directory's lock, listen, open the store,
//! say where the server runs and print the join links, then serve until
//! Ctrl+C or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;

use super::lock::{self, LockError, RunningServer};
use super::CliError;
use crate::config::ServeConfig;

/// Whether seat tokens are printed at start: they are keys, so only to a
/// person at a terminal unless asked, never into a log file or JSON logs.
pub fn print_tokens_at_start(config: &ServeConfig, log_json: bool) -> bool {
    if config.quiet_tokens {
        return false;
    }
    config.print_tokens || (!log_json && std::io::stdout().is_terminal())
}

/// The address the command line on this machine uses to reach `bound`.
fn local_addr(bound: SocketAddr) -> SocketAddr {
    let mut addr = bound;
    if addr.ip().is_unspecified() {
        addr.set_ip(match bound {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    addr
}

fn held_error(dir: &std::path::Path, holder: Option<RunningServer>) -> CliError {
    let who = holder
        .map(|s| s.describe())
        .unwrap_or_else(|| "đang khởi động / starting".into());
    CliError::new(
        format!(
            "một máy chủ doithoai khác đang chạy trên thư mục dữ liệu {} ({who}). \
             Mỗi thư mục chỉ một máy chủ: dùng máy chủ đó, hoặc dừng nó trước, hoặc chọn thư mục khác bằng --data-dir",
            dir.display()
        ),
        format!(
            "another doithoai server is running on the data directory {} ({who}). \
             One server per directory: use that one, stop it first, or choose another directory with --data-dir",
            dir.display()
        ),
    )
}

fn bind_error(listen: SocketAddr, e: std::io::Error) -> CliError {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        let next = SocketAddr::new(listen.ip(), listen.port().wrapping_add(1).max(1));
        return CliError::new(
            format!(
                "cổng {listen} đang bị một chương trình khác dùng (có thể là một doithoai đang chạy). \
                 Dừng chương trình đó, hoặc chọn cổng khác: --listen {next} (hoặc biến DOITHOAI_LISTEN)"
            ),
            format!(
                "port {listen} is already in use by another program (perhaps a doithoai already running). \
                 Stop it, or choose another port: --listen {next} (or DOITHOAI_LISTEN)"
            ),
        );
    }
    CliError::new(
        format!("không nghe được trên {listen}: {e}; kiểm tra --listen"),
        format!("cannot listen on {listen}: {e}; check --listen"),
    )
}

pub async fn run(config: ServeConfig, log_json: bool) -> Result<(), CliError> {
    let mut held = match &config.store.database_url {
        Some(_) => None,
        None => Some(lock::acquire(&config.store.data_dir).map_err(|e| match e {
            LockError::Held(holder) => held_error(&config.store.data_dir, holder),
            LockError::Io(e) => super::file_error(&config.store.data_dir, e),
        })?),
    };
    let listener = crate::bind(config.listen).map_err(|e| bind_error(config.listen, e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| bind_error(config.listen, e))?;
    let base = config.base_url(bound);
    let show_tokens = print_tokens_at_start(&config, log_json);
    let app = crate::open(config).await?;
    if let Some(lock) = held.as_mut() {
        let me = RunningServer {
            pid: std::process::id(),
            addr: local_addr(bound).to_string(),
            url: base.clone(),
        };
        lock.record(&me)
            .map_err(|e| super::file_error(lock.path(), e))?;
    }
    println!(
        "doithoai đang chạy / running at {base}  (data: {})",
        describe_store(&app)
    );
    for rt in app.engine.events() {
        println!("\nSự kiện / event: {} — {}", rt.config.id, rt.config.name);
        for h in &rt.config.halls {
            println!(
                "  participant {:<18} {base}/p/{}/{}",
                h.id, rt.config.id, h.id
            );
        }
        if show_tokens {
            let tokens = crate::auth::issue_tokens(
                app.engine.store().as_ref(),
                app.engine.secret(),
                &rt.config,
                &base,
                None,
            )
            .await?;
            super::tokens::print_table(&tokens);
        } else {
            println!(
                "  Liên kết cho từng vị trí (có mã bí mật): doithoai tokens --event {id}\n  \
                 Seat links (with secret tokens): doithoai tokens --event {id}   (or serve --print-tokens)",
                id = rt.config.id
            );
        }
    }
    println!();
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
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
    };
    crate::serve(listener, app, shutdown)
        .await
        .map_err(|e| super::other("máy chủ dừng vì lỗi", "the server stopped", e))?;
    // Held until every writer has flushed.
    drop(held);
    Ok(())
}

fn describe_store(app: &crate::App) -> String {
    match &app.config.store.database_url {
        Some(_) => "PostgreSQL".to_string(),
        None => format!("SQLite in {}", app.config.store.data_dir.display()),
    }
}
