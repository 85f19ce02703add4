//! Settings for `doithoai serve` and the store, from flags or environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Where the data lives. Shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// Thư mục chứa cơ sở dữ liệu SQLite và khóa bí mật /
    /// directory of the embedded SQLite database and the token secret.
    #[arg(long, env = "DOITHOAI_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Dùng PostgreSQL thay SQLite / use PostgreSQL instead of SQLite,
    /// e.g. postgres://user@127.0.0.1:5432/doithoai.
    #[arg(long, env = "DOITHOAI_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Tệp khóa bí mật sinh ra mọi mã và biên nhận / file holding the secret
    /// that tokens and receipts derive from (default: <data-dir>/secret.key,
    /// created on first use). Every node of one deployment must share it.
    #[arg(long, env = "DOITHOAI_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
}

impl StoreConfig {
    pub fn sqlite_in(dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            data_dir: dir.into(),
            database_url: None,
            secret_file: None,
        }
    }
    pub fn secret_path(&self) -> PathBuf {
        self.secret_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secret.key"))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    #[command(flatten)]
    pub store: StoreConfig,
    /// Địa chỉ nghe; 0.0.0.0:8080 để điện thoại trong hội trường vào được /
    /// address to listen on; 0.0.0.0:8080 lets phones in the hall reach it.
    #[arg(long, env = "DOITHOAI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Địa chỉ in trong liên kết và mã QR / base URL printed in join links
    /// and QR codes (default: http://<listen>).
    #[arg(long, env = "DOITHOAI_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Số câu một điện thoại được gửi mỗi phút / questions one participant
    /// device may submit per minute.
    #[arg(long, env = "DOITHOAI_DEVICE_PER_MINUTE", default_value_t = 6)]
    pub device_per_minute: u32,
    /// Số câu một địa chỉ IP được gửi mỗi phút (Wi-Fi một hội trường là một
    /// địa chỉ) / questions one IP address may submit per minute.
    #[arg(long, env = "DOITHOAI_ADDRESS_PER_MINUTE", default_value_t = 600)]
    pub address_per_minute: u32,
    /// Số byte chờ gửi cho một kết nối chậm trước khi ngắt (nó tự nối lại) /
    /// bytes that may wait for one slow connection before it is dropped.
    #[arg(long, env = "DOITHOAI_QUEUE_BYTES", default_value_t = 1 << 20)]
    pub queue_bytes: usize,
    /// Số thay đổi giữ trong bộ nhớ mỗi sự kiện để nối lại / changes kept in
    /// memory per event for resume by sequence number.
    #[arg(long, env = "DOITHOAI_HISTORY", default_value_t = 4096)]
    pub history: usize,
    /// Proxy tin cậy (IP, cách nhau dấu phẩy) / proxies whose
    /// X-Forwarded-For is believed, so per-address limits count phones.
    #[arg(long, env = "DOITHOAI_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Mili giây giữa hai nhịp kiểm tra kết nối / milliseconds between the
    /// server's heartbeats on every connection.
    #[arg(long, env = "DOITHOAI_HEARTBEAT_MS", default_value_t = 20_000)]
    pub heartbeat_ms: u64,
    /// Mili giây im lặng thì coi kết nối đã chết / milliseconds of silence
    /// after which a connection is closed (keep above two heartbeats).
    #[arg(long, env = "DOITHOAI_IDLE_TIMEOUT_MS", default_value_t = 65_000)]
    pub idle_timeout_ms: u64,
    /// Số luồng cho kết nối điện thoại (ưu tiên thấp hơn cán bộ) / threads
    /// for phones' connections, at a lower priority (0 = half the cores).
    #[arg(long, env = "DOITHOAI_PHONE_THREADS", default_value_t = 0)]
    pub phone_threads: usize,
    /// In liên kết có mã khi khởi động kể cả khi đầu ra không phải màn hình /
    /// print seat links with tokens at start even when the output is not a
    /// terminal (by default only to a terminal, never into a log file).
    #[arg(long, env = "DOITHOAI_PRINT_TOKENS", conflicts_with = "quiet_tokens")]
    pub print_tokens: bool,
    /// Không bao giờ in mã khi khởi động / never print seat tokens at start
    /// (`doithoai tokens --event ID` prints them when needed).
    #[arg(long, env = "DOITHOAI_QUIET_TOKENS")]
    pub quiet_tokens: bool,
}

impl ServeConfig {
    /// Settings for an embedded server on SQLite in `dir` (tests, benchmarks).
    pub fn for_tests(dir: impl Into<PathBuf>) -> Self {
        ServeConfig {
            store: StoreConfig::sqlite_in(dir),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            device_per_minute: 6,
            address_per_minute: 100_000,
            queue_bytes: 1 << 20,
            history: 4096,
            trusted_proxies: Vec::new(),
            heartbeat_ms: 20_000,
            idle_timeout_ms: 65_000,
            phone_threads: 1,
            print_tokens: false,
            quiet_tokens: true,
        }
    }

    pub fn base_url(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_string()
    }
}
