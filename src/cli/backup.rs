//! `doithoai backup --to FILE` and `doithoai restore --from FILE`.
//!
//! A backup is one SQLite file made by `VACUUM INTO` from a separate
//! connection: a consistent snapshot taken inside one read transaction,
//! which in WAL mode never blocks the running server's writes. The token
//! secret goes inside it (table `doithoai_backup`), so that restored seat
//! links and receipts keep working; keep the file as safe as the data
//! directory itself. Restoring takes an empty data directory only.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, Row};

use super::CliError;
use crate::config::StoreConfig;

const DB_FILE: &str = "doithoai.db";

fn sqlite_error(e: sqlx::Error) -> CliError {
    super::other("lỗi SQLite", "SQLite", e)
}

async fn connect(path: &Path, create: bool) -> Result<sqlx::SqliteConnection, CliError> {
    SqliteConnectOptions::from_str("sqlite://")
        .map_err(sqlite_error)?
        .filename(path)
        .create_if_missing(create)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .map_err(sqlite_error)
}

fn postgres_refused(what_vi: &str, what_en: &str) -> CliError {
    CliError::new(
        format!(
            "{what_vi} chỉ dùng cho SQLite. Với PostgreSQL: pg_dump --format=custom --file=doithoai.dump \"$DOITHOAI_DATABASE_URL\" \
             (khôi phục: pg_restore --dbname=URL_MỚI doithoai.dump), và giữ kèm tệp khóa bí mật (--secret-file)"
        ),
        format!(
            "{what_en} is for SQLite only. With PostgreSQL: pg_dump --format=custom --file=doithoai.dump \"$DOITHOAI_DATABASE_URL\" \
             (restore: pg_restore --dbname=NEW_URL doithoai.dump), and keep the secret file (--secret-file) with it"
        ),
    )
}

/// Copy the database and the secret into `to`, which must not exist.
pub async fn backup(store: StoreConfig, to: &Path) -> Result<u64, CliError> {
    if store.database_url.is_some() {
        return Err(postgres_refused("backup", "backup"));
    }
    let db_path = store.data_dir.join(DB_FILE);
    if !db_path.exists() {
        return Err(CliError::new(
            format!(
                "{} chưa có cơ sở dữ liệu (sai --data-dir?)",
                store.data_dir.display()
            ),
            format!(
                "{} holds no database (wrong --data-dir?)",
                store.data_dir.display()
            ),
        ));
    }
    if to.exists() {
        return Err(CliError::new(
            format!(
                "{} đã có; chọn tên khác để không ghi đè bản sao cũ",
                to.display()
            ),
            format!(
                "{} already exists; choose another name so no older backup is overwritten",
                to.display()
            ),
        ));
    }
    let secret = crate::load_secret(&store)
        .map_err(|e| super::other("không đọc được khóa bí mật", "cannot read the secret", e))?;
    // Written next to the target, then renamed: a half-made backup never
    // carries the final name.
    let partial = to.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut source = connect(&db_path, false).await?;
    sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().to_string())
        .execute(&mut source)
        .await
        .map_err(sqlite_error)?;
    source.close().await.map_err(sqlite_error)?;
    let mut copy = connect(&partial, false).await?;
    sqlx::query("CREATE TABLE doithoai_backup (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        .execute(&mut copy)
        .await
        .map_err(sqlite_error)?;
    sqlx::query("INSERT INTO doithoai_backup (key, value) VALUES ('secret', ?), ('made_at', ?)")
        .bind(secret.to_hex())
        .bind(crate::now_ms().to_string())
        .execute(&mut copy)
        .await
        .map_err(sqlite_error)?;
    copy.close().await.map_err(sqlite_error)?;
    restrict(&partial)?;
    std::fs::rename(&partial, to).map_err(|e| super::file_error(to, e))?;
    Ok(std::fs::metadata(to).map(|m| m.len()).unwrap_or(0))
}

/// Owner-only, like the secret file: the backup holds personal data.
fn restrict(path: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| super::file_error(path, e))
}

/// Put a backup into an empty (or missing) data directory.
pub async fn restore(store: StoreConfig, from: &Path) -> Result<(), CliError> {
    if store.database_url.is_some() {
        return Err(postgres_refused("restore", "restore"));
    }
    let dir = &store.data_dir;
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            return Err(CliError::new(
                format!(
                    "thư mục {} không trống; khôi phục chỉ vào thư mục trống (hoặc chưa có), ví dụ --data-dir ./data-khoi-phuc, \
                     để không đè lên dữ liệu đang có",
                    dir.display()
                ),
                format!(
                    "{} is not empty; restore only into an empty (or new) directory, e.g. --data-dir ./data-restored, \
                     so no existing data is overwritten",
                    dir.display()
                ),
            ));
        }
    }
    if !from.is_file() {
        return Err(super::file_error(
            from,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| super::file_error(dir, e))?;
    let partial = dir.join("doithoai.db.restoring");
    let secret_hex = match take_secret(from, &partial).await {
        Ok(hex) => hex,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let secret_path = store.secret_path();
    match std::fs::read_to_string(&secret_path) {
        Ok(existing) if existing.trim() != secret_hex.trim() => {
            let _ = std::fs::remove_file(&partial);
            return Err(CliError::new(
                format!(
                    "{} đã có một khóa bí mật khác với bản sao; dùng --secret-file khác hoặc bỏ tệp đó",
                    secret_path.display()
                ),
                format!(
                    "{} holds another secret than the backup; use another --secret-file or remove that file",
                    secret_path.display()
                ),
            ));
        }
        Ok(_) => {}
        Err(_) => {
            std::fs::write(&secret_path, secret_hex.trim())
                .map_err(|e| super::file_error(&secret_path, e))?;
            restrict(&secret_path)?;
        }
    }
    std::fs::rename(&partial, dir.join(DB_FILE)).map_err(|e| super::file_error(dir, e))?;
    // Opening runs any migration newer than the backup and proves it reads.
    crate::store::open(&store).await?;
    Ok(())
}

/// Copy the backup to `partial` and take the secret out of the copy.
async fn take_secret(from: &Path, partial: &Path) -> Result<String, CliError> {
    std::fs::copy(from, partial).map_err(|e| super::file_error(from, e))?;
    let mut conn = connect(partial, false).await?;
    let secret_hex: Option<String> =
        sqlx::query("SELECT value FROM doithoai_backup WHERE key = 'secret'")
            .fetch_optional(&mut conn)
            .await
            .map_err(|_| not_a_backup(from))?
            .map(|r| r.try_get::<String, _>("value"))
            .transpose()
            .map_err(sqlite_error)?;
    let secret_hex = secret_hex.ok_or_else(|| not_a_backup(from))?;
    sqlx::query("DROP TABLE doithoai_backup")
        .execute(&mut conn)
        .await
        .map_err(sqlite_error)?;
    conn.close().await.map_err(sqlite_error)?;
    Ok(secret_hex)
}

fn not_a_backup(from: &Path) -> CliError {
    CliError::new(
        format!(
            "{} không phải bản sao do `doithoai backup` tạo",
            from.display()
        ),
        format!(
            "{} is not a backup made by `doithoai backup`",
            from.display()
        ),
    )
}
