//! `doithoai check`: the pre-flight for the night before. Each check prints
//! what it found and, when something is wrong, how to fix it, in Vietnamese
//! then English. It changes nothing (it does not even run migrations) and
//! exits non-zero when something would break the day.

use std::path::Path;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use sqlx::Connection;

use crate::config::StoreConfig;
use crate::store;

/// Free space below which the day is at risk: the database of a large
/// event is tens of megabytes, its WAL and a backup made that night more.
const FREE_BYTES_NEEDED: u64 = 1 << 30;
/// Connections beyond the phones: staff pages, displays, hall tablets,
/// the database and log files.
const FILES_BEYOND_PHONES: u64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub level: Level,
    pub vi: String,
    pub en: String,
    /// How to fix it: (Vietnamese, English).
    pub fix: Option<(String, String)>,
}

impl Finding {
    fn ok(vi: impl Into<String>, en: impl Into<String>) -> Finding {
        Finding {
            level: Level::Ok,
            vi: vi.into(),
            en: en.into(),
            fix: None,
        }
    }
    fn bad(
        level: Level,
        vi: impl Into<String>,
        en: impl Into<String>,
        fix_vi: impl Into<String>,
        fix_en: impl Into<String>,
    ) -> Finding {
        Finding {
            level,
            vi: vi.into(),
            en: en.into(),
            fix: Some((fix_vi.into(), fix_en.into())),
        }
    }

    pub fn print(&self) {
        let tag = match self.level {
            Level::Ok => "[ OK ]",
            Level::Warn => "[CHÚ Ý / WARN]",
            Level::Fail => "[LỖI / FAIL]",
        };
        println!("{tag} {}\n       {}", self.vi, self.en);
        if let Some((vi, en)) = &self.fix {
            println!("       Cách sửa: {vi}\n       Fix: {en}");
        }
    }
}

pub struct CheckArgs {
    pub store: StoreConfig,
    pub event: Option<String>,
    pub expected_phones: u64,
    pub public_url: Option<String>,
}

/// Run every check; the findings in order.
pub async fn run(a: CheckArgs) -> Vec<Finding> {
    let mut out = Vec::new();
    if a.store.database_url.is_none() {
        let dir = data_dir(&a.store.data_dir);
        let writable = dir.level != Level::Fail;
        out.push(dir);
        if writable {
            out.push(disk_sync(&a.store.data_dir));
        }
    }
    out.push(open_files(a.expected_phones));
    out.push(clock());
    let store_ok = match &a.store.database_url {
        Some(url) => postgres(url).await,
        None => sqlite(&a.store.data_dir).await,
    };
    let store_usable = store_ok.level == Level::Ok;
    out.push(store_ok);
    if store_usable {
        out.extend(events_and_tokens(&a.store, a.event.as_deref()).await);
    }
    out.extend(server_and_url(&a.store, a.public_url.as_deref()).await);
    out
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

fn data_dir(dir: &Path) -> Finding {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Finding::bad(
            Level::Fail,
            format!("không tạo được thư mục dữ liệu {}: {e}", dir.display()),
            format!("cannot create the data directory {}: {e}", dir.display()),
            "chọn thư mục khác bằng --data-dir, hoặc cấp quyền ghi cho người dùng chạy doithoai",
            "choose another one with --data-dir, or let the user running doithoai write there",
        );
    }
    let probe = dir.join(format!(".check-{}", std::process::id()));
    let written = std::fs::write(&probe, b"check").and_then(|()| std::fs::remove_file(&probe));
    if let Err(e) = written {
        return Finding::bad(
            Level::Fail,
            format!("không ghi được vào {}: {e}", dir.display()),
            format!("cannot write to {}: {e}", dir.display()),
            format!("cấp quyền ghi: sudo chown -R $(whoami) {}", dir.display()),
            format!(
                "make it writable: sudo chown -R $(whoami) {}",
                dir.display()
            ),
        );
    }
    let free = free_bytes(dir).unwrap_or(u64::MAX);
    if free < FREE_BYTES_NEEDED {
        return Finding::bad(
            Level::Fail,
            format!("thư mục dữ liệu {} chỉ còn trống {}", dir.display(), gib(free)),
            format!("the data directory {} has only {} free", dir.display(), gib(free)),
            format!("giải phóng ổ đĩa để còn ít nhất {} (xóa tệp cũ, bản sao cũ), hoặc dùng --data-dir trên ổ khác", gib(FREE_BYTES_NEEDED)),
            format!("free at least {} (old files, old backups), or use --data-dir on another disk", gib(FREE_BYTES_NEEDED)),
        );
    }
    Finding::ok(
        format!(
            "thư mục dữ liệu {} ghi được, còn trống {}",
            dir.display(),
            gib(free)
        ),
        format!(
            "data directory {} is writable, {} free",
            dir.display(),
            gib(free)
        ),
    )
}

/// Forced writes (fsync) the check makes, and the slowest one allowed.
const SYNC_PROBES: usize = 50;
const SYNC_SLOWEST_OK: Duration = Duration::from_millis(100);

/// Every change is on disk (fsync) before anyone sees it, so a disk whose
/// fsync sometimes stalls stalls every screen of the hall with it: the
/// benchmarks met half-second stalls on a shared virtual disk.
fn disk_sync(dir: &Path) -> Finding {
    use std::io::{Seek, Write};
    let probe = dir.join(format!(".check-sync-{}", std::process::id()));
    let timed = || -> std::io::Result<Vec<Duration>> {
        let mut f = std::fs::File::create(&probe)?;
        let mut times = Vec::with_capacity(SYNC_PROBES);
        for _ in 0..SYNC_PROBES {
            let started = Instant::now();
            f.rewind()?;
            f.write_all(&[7u8; 512])?;
            f.sync_data()?;
            times.push(started.elapsed());
        }
        Ok(times)
    };
    let result = timed();
    let _ = std::fs::remove_file(&probe);
    let mut times = match result {
        Ok(t) => t,
        Err(e) => {
            return Finding::bad(
                Level::Fail,
                format!("không ghi đồng bộ (fsync) được vào {}: {e}", dir.display()),
                format!("cannot force a write (fsync) to {}: {e}", dir.display()),
                "dùng --data-dir trên một ổ đĩa cục bộ",
                "use --data-dir on a local disk",
            )
        }
    };
    times.sort();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let (median, slowest) = (times[times.len() / 2], times[times.len() - 1]);
    if slowest > SYNC_SLOWEST_OK {
        return Finding::bad(
            Level::Warn,
            format!(
                "ổ đĩa của {} ghi đồng bộ chậm: {SYNC_PROBES} lần fsync, trung vị {}, chậm nhất {}; mỗi thay đổi phải chờ fsync nên mọi màn hình sẽ chậm theo",
                dir.display(),
                ms(median),
                ms(slowest)
            ),
            format!(
                "the disk of {} syncs slowly: {SYNC_PROBES} fsyncs, median {}, slowest {}; every change waits for an fsync, so every screen waits with it",
                dir.display(),
                ms(median),
                ms(slowest)
            ),
            "đặt --data-dir trên ổ SSD cục bộ, không dùng ổ mạng hay ổ ảo dùng chung; chạy lại doithoai check",
            "put --data-dir on a local SSD, not a network or shared virtual disk; run doithoai check again",
        );
    }
    Finding::ok(
        format!(
            "ổ đĩa ghi đồng bộ nhanh: {SYNC_PROBES} lần fsync, trung vị {}, chậm nhất {}",
            ms(median),
            ms(slowest)
        ),
        format!(
            "the disk syncs quickly: {SYNC_PROBES} fsyncs, median {}, slowest {}",
            ms(median),
            ms(slowest)
        ),
    )
}

fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct we pass; the path is NUL-terminated.
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(path.as_ptr(), &mut stat) };
    (rc == 0).then(|| stat.f_bavail as u64 * stat.f_frsize as u64)
}

fn open_files(phones: u64) -> Finding {
    // SAFETY: getrlimit fills the struct we pass.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Finding::bad(
            Level::Warn,
            "không đọc được giới hạn số tệp mở",
            "cannot read the open-files limit",
            "chạy `ulimit -n` để xem",
            "run `ulimit -n` to see it",
        );
    }
    let needed = phones + FILES_BEYOND_PHONES;
    let (soft, hard) = (limit.rlim_cur, limit.rlim_max);
    if hard < needed {
        return Finding::bad(
            Level::Fail,
            format!("giới hạn số tệp mở tối đa là {hard}, cần {needed} cho {phones} điện thoại"),
            format!("the open-files hard limit is {hard}; {phones} phones need {needed}"),
            format!("thêm «* hard nofile 65536» vào /etc/security/limits.conf (hoặc LimitNOFILE=65536 trong dịch vụ systemd), đăng nhập lại, rồi `ulimit -n {needed}` trước khi chạy"),
            format!("add \"* hard nofile 65536\" to /etc/security/limits.conf (or LimitNOFILE=65536 in the systemd unit), log in again, then `ulimit -n {needed}` before starting"),
        );
    }
    if soft < needed {
        return Finding::bad(
            Level::Warn,
            format!("giới hạn số tệp mở là {soft}, cần {needed} cho {phones} điện thoại (tối đa cho phép {hard})"),
            format!("the open-files limit is {soft}; {phones} phones need {needed} (hard limit {hard})"),
            format!("chạy `ulimit -n {needed}` trong cửa sổ sẽ chạy máy chủ, ngay trước `doithoai serve`"),
            format!("run `ulimit -n {needed}` in the shell that starts the server, right before `doithoai serve`"),
        );
    }
    Finding::ok(
        format!("giới hạn số tệp mở {soft} đủ cho {phones} điện thoại"),
        format!("open-files limit {soft} is enough for {phones} phones"),
    )
}

fn clock() -> Finding {
    let now = crate::now_ms();
    let shown = crate::reports::format_time(now);
    // adjtimex(2) with no modes only reads: TIME_ERROR means the kernel's
    // clock is not synchronised (no NTP, or NTP has not caught up).
    // SAFETY: the struct is ours; modes = 0 changes nothing.
    let mut tx: libc::timex = unsafe { std::mem::zeroed() };
    let state = unsafe { libc::adjtimex(&mut tx) };
    // Before 2024 the clock is certainly wrong (no battery, never set).
    if now < 1_704_067_200_000 {
        return Finding::bad(
            Level::Fail,
            format!("đồng hồ máy chủ sai: {shown}"),
            format!("the server's clock is wrong: {shown}"),
            "đặt giờ: sudo timedatectl set-ntp true (có mạng) hoặc sudo date -s 'YYYY-MM-DD HH:MM'",
            "set it: sudo timedatectl set-ntp true (with a network) or sudo date -s 'YYYY-MM-DD HH:MM'",
        );
    }
    if state == libc::TIME_ERROR {
        return Finding::bad(
            Level::Warn,
            format!("đồng hồ chưa được đồng bộ (NTP); giờ máy chủ: {shown} (giờ Việt Nam) — so với điện thoại của bạn"),
            format!("the clock is not synchronised (NTP); server time: {shown} (Vietnam time) — compare with your phone"),
            "sudo timedatectl set-ntp true (cần mạng); giờ sai làm sai giờ trong nhật ký và hạn trả lời",
            "sudo timedatectl set-ntp true (needs a network); a wrong clock skews the log's times and answer due dates",
        );
    }
    Finding::ok(
        format!("đồng hồ đã đồng bộ: {shown} (giờ Việt Nam)"),
        format!("clock synchronised: {shown} (Vietnam time)"),
    )
}

fn applied_missing(embedded: &sqlx::migrate::Migrator, applied: &[i64]) -> Vec<i64> {
    embedded
        .iter()
        .map(|m| m.version)
        .filter(|v| !applied.contains(v))
        .collect()
}

async fn sqlite(dir: &Path) -> Finding {
    let path = dir.join("doithoai.db");
    if !path.exists() {
        return Finding::bad(
            Level::Fail,
            format!("chưa có cơ sở dữ liệu trong {}", dir.display()),
            format!("no database in {} yet", dir.display()),
            "tạo sự kiện: doithoai event create --file su-kien.toml (hoặc chạy doithoai serve một lần); sai thư mục thì thêm --data-dir",
            "create the event: doithoai event create --file event.toml (or run doithoai serve once); wrong directory? add --data-dir",
        );
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .read_only(true);
    let applied = async {
        let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
        sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut conn)
            .await
    }
    .await;
    migrated(
        "SQLite",
        &path.display().to_string(),
        &sqlx::migrate!("./migrations/sqlite"),
        applied,
    )
}

async fn postgres(url: &str) -> Finding {
    let applied = tokio::time::timeout(Duration::from_secs(5), async {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut conn)
            .await
    })
    .await;
    match applied {
        Err(_) => Finding::bad(
            Level::Fail,
            "PostgreSQL không trả lời trong 5 giây",
            "PostgreSQL did not answer within 5 s",
            "kiểm tra máy chủ PostgreSQL đang chạy và địa chỉ trong --database-url",
            "check that PostgreSQL runs and the address in --database-url",
        ),
        Ok(Err(e)) if !matches!(&e, sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01")) => {
            Finding::bad(
                Level::Fail,
                format!("không kết nối được PostgreSQL: {e}"),
                format!("cannot reach PostgreSQL: {e}"),
                "kiểm tra địa chỉ, tên người dùng, mật khẩu trong --database-url và tường lửa (cổng 5432)",
                "check the address, user and password in --database-url and the firewall (port 5432)",
            )
        }
        Ok(applied) => migrated(
            "PostgreSQL",
            "",
            &sqlx::migrate!("./migrations/postgres"),
            applied,
        ),
    }
}

fn migrated(
    kind: &str,
    location: &str,
    embedded: &sqlx::migrate::Migrator,
    applied: Result<Vec<i64>, sqlx::Error>,
) -> Finding {
    let fix = (
        "chạy `doithoai serve` một lần (máy chủ tự cập nhật cấu trúc khi khởi động), rồi kiểm tra lại",
        "run `doithoai serve` once (the server migrates at start), then check again",
    );
    match applied {
        Ok(applied) => {
            let missing = applied_missing(embedded, &applied);
            if missing.is_empty() {
                Finding::ok(
                    format!("{kind} {location} đọc được và đã cập nhật cấu trúc"),
                    format!("{kind} {location} answers and is migrated"),
                )
            } else {
                Finding::bad(
                    Level::Fail,
                    format!("{kind} {location} chưa cập nhật cấu trúc (thiếu {missing:?})"),
                    format!("{kind} {location} is not migrated (missing {missing:?})"),
                    fix.0,
                    fix.1,
                )
            }
        }
        Err(e) => Finding::bad(
            Level::Fail,
            format!("{kind} {location} chưa có cấu trúc của doithoai ({e})"),
            format!("{kind} {location} has no doithoai schema ({e})"),
            fix.0,
            fix.1,
        ),
    }
}

async fn events_and_tokens(config: &StoreConfig, only: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let db = match store::open(config).await {
        Ok(db) => db,
        Err(e) => {
            out.push(Finding::bad(
                Level::Fail,
                format!("không mở được cơ sở dữ liệu: {e}"),
                format!("cannot open the store: {e}"),
                "xem thông báo ở trên",
                "see the message above",
            ));
            return out;
        }
    };
    let secret = match crate::load_secret(config) {
        Ok(s) => s,
        Err(e) => {
            out.push(Finding::bad(
                Level::Fail,
                format!(
                    "không đọc được khóa bí mật {}: {e}",
                    config.secret_path().display()
                ),
                format!(
                    "cannot read the secret {}: {e}",
                    config.secret_path().display()
                ),
                "khôi phục tệp secret.key từ bản sao (mọi liên kết đã phát phụ thuộc vào nó)",
                "restore secret.key from a backup (every link handed out depends on it)",
            ));
            return out;
        }
    };
    let events = match db.events().await {
        Ok(e) => e,
        Err(e) => {
            out.push(Finding::bad(
                Level::Fail,
                format!("lỗi đọc sự kiện: {e}"),
                format!("cannot read events: {e}"),
                "xem thông báo",
                "see the message",
            ));
            return out;
        }
    };
    if let Some(id) = only {
        if !events.iter().any(|e| e.id == id) {
            out.push(Finding::bad(
                Level::Fail,
                format!("không có sự kiện «{id}»"),
                format!("no event «{id}»"),
                "doithoai event list; doithoai event create --file su-kien.toml",
                "doithoai event list; doithoai event create --file event.toml",
            ));
            return out;
        }
    }
    let today = today_in_vietnam();
    for event in events.iter().filter(|e| only.is_none_or(|id| e.id == id)) {
        let closed = db.event_closed_at(&event.id).await.ok().flatten().is_some();
        if closed {
            out.push(Finding::ok(
                format!(
                    "sự kiện {} đã đóng (chỉ còn đọc, xuất, xóa dữ liệu cá nhân)",
                    event.id
                ),
                format!(
                    "event {} is closed (reading, exports, erasing only)",
                    event.id
                ),
            ));
            continue;
        }
        if only.is_some() && event.date < today {
            out.push(Finding::bad(
                Level::Warn,
                format!(
                    "sự kiện {} ghi ngày {}, đã qua (hôm nay {today})",
                    event.id, event.date
                ),
                format!(
                    "event {} is dated {}, which has passed (today {today})",
                    event.id, event.date
                ),
                "sửa date trong tệp sự kiện rồi doithoai event create --file …",
                "fix `date` in the event file, then doithoai event create --file …",
            ));
        }
        let records = db.tokens(&event.id).await.unwrap_or_default();
        let now = crate::now_ms();
        let mut missing = Vec::new();
        let mut foreign = Vec::new();
        for seat in crate::auth::slots(event) {
            let live = records
                .iter()
                .filter(|t| {
                    t.slot == seat.slot
                        && t.revoked_at.is_none()
                        && t.expires_at.is_none_or(|x| x > now)
                })
                .max_by_key(|t| t.generation);
            match live {
                None => missing.push(seat.slot),
                Some(t)
                    if crate::auth::hash_token(&secret.token(
                        &event.id,
                        &seat.slot,
                        t.generation,
                    )) != t.token_hash =>
                {
                    foreign.push(seat.slot)
                }
                Some(_) => {}
            }
        }
        if !missing.is_empty() {
            out.push(Finding::bad(
                Level::Fail,
                format!(
                    "sự kiện {}: {} vị trí chưa có mã (hoặc mã đã hết hạn): {}",
                    event.id,
                    missing.len(),
                    missing.join(", ")
                ),
                format!(
                    "event {}: {} seats have no live token: {}",
                    event.id,
                    missing.len(),
                    missing.join(", ")
                ),
                format!(
                    "doithoai tokens --event {} (tạo mã còn thiếu và in liên kết)",
                    event.id
                ),
                format!(
                    "doithoai tokens --event {} (creates the missing ones and prints the links)",
                    event.id
                ),
            ));
        }
        if !foreign.is_empty() {
            out.push(Finding::bad(
                Level::Fail,
                format!("sự kiện {}: mã của {} được tạo bằng khóa bí mật khác, liên kết sẽ không vào được", event.id, foreign.join(", ")),
                format!("event {}: the tokens of {} were made with another secret; their links will not work", event.id, foreign.join(", ")),
                format!("dùng đúng tệp secret.key cũ (--secret-file), hoặc phát lại: doithoai tokens --event {} --revoke VỊ_TRÍ", event.id),
                format!("use the original secret.key (--secret-file), or reissue: doithoai tokens --event {} --revoke SEAT", event.id),
            ));
        }
        if missing.is_empty() && foreign.is_empty() {
            out.push(Finding::ok(
                format!(
                    "sự kiện {} ({}): mọi vị trí đều có mã",
                    event.id, event.date
                ),
                format!(
                    "event {} ({}): every seat has a token",
                    event.id, event.date
                ),
            ));
        }
    }
    out
}

async fn server_and_url(config: &StoreConfig, public_url: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let server = super::running_server(config).ok().flatten();
    if let Some(s) = &server {
        out.push(Finding::ok(
            format!("máy chủ đang chạy trên thư mục này ({})", s.describe()),
            format!("a server is running on this directory ({})", s.describe()),
        ));
    }
    let Some(url) = public_url
        .map(str::to_string)
        .or_else(|| server.as_ref().map(|s| s.url.clone()))
    else {
        out.push(Finding::bad(
            Level::Warn,
            "chưa kiểm tra địa chỉ công khai: không có máy chủ chạy và không có --public-url",
            "the public URL was not checked: no server runs here and no --public-url was given",
            "khởi động máy chủ như ngày mai (doithoai serve --listen 0.0.0.0:8080 --public-url http://IP-MÁY:8080) rồi chạy lại doithoai check",
            "start the server as tomorrow (doithoai serve --listen 0.0.0.0:8080 --public-url http://MACHINE-IP:8080), then run doithoai check again",
        ));
        return out;
    };
    let url = url.trim_end_matches('/').to_string();
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    if host == "127.0.0.1" || host == "localhost" || host == "[" {
        out.push(Finding::bad(
            Level::Warn,
            format!("địa chỉ công khai {url} chỉ máy này vào được; điện thoại trong hội trường không vào được"),
            format!("the public URL {url} only works on this machine; phones in the hall cannot reach it"),
            "doithoai serve --listen 0.0.0.0:8080 --public-url http://IP-MÁY-TRONG-MẠNG:8080 (xem IP: ip -4 addr)",
            "doithoai serve --listen 0.0.0.0:8080 --public-url http://MACHINE-LAN-IP:8080 (find it: ip -4 addr)",
        ));
    }
    out.push(match healthz(&url).await {
        Ok(()) => Finding::ok(
            format!("{url}/healthz trả lời từ chính máy chủ này"),
            format!("{url}/healthz answers from this machine"),
        ),
        Err(e) => Finding::bad(
            Level::Fail,
            format!("không vào được {url} từ chính máy chủ này: {e}"),
            format!("{url} cannot be reached from this machine: {e}"),
            "kiểm tra máy chủ đang chạy, địa chỉ IP và cổng trong --public-url khớp --listen, tường lửa (sudo ufw allow 8080/tcp)",
            "check that the server runs, the IP and port of --public-url match --listen, and the firewall (sudo ufw allow 8080/tcp)",
        ),
    });
    out
}

/// `GET {base}/healthz` over plain HTTP (behind an HTTPS proxy, check the
/// proxy's own address with a browser).
async fn healthz(base: &str) -> Result<(), String> {
    let rest = base
        .strip_prefix("http://")
        .ok_or("chỉ kiểm tra được http:// / only http:// can be checked here")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let exchange = async {
        let tcp = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| e.to_string())?;
        let driver = tokio::spawn(conn);
        let req = hyper::Request::get("/healthz")
            .header(hyper::header::HOST, authority)
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let _ = response.into_body().collect().await;
        driver.abort();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("/healthz answered {status}"))
        }
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
}

/// `YYYY-MM-DD` in Vietnam (UTC+7 all year), like event dates.
fn today_in_vietnam() -> String {
    let seconds = crate::now_ms() / 1000 + 7 * 3600;
    let date = time::OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    date.format(time::macros::format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}
