//! doithoai: the live question hub of a leader–youth dialogue (Youth Law
//! 2020, Art. 10) across many halls. See README.md for running it and
//! ../shared/DOMAIN.md for the domain.
//!
//! # Layout
//! - [`domain`]: question states and transitions, roles, visibility,
//!   Vietnamese text rules. Pure, no I/O; unit-tested.
//! - [`event`]: an event's definition (TOML) and the built-in An Giang 2024 default.
//! - [`moderation`]: the moderators' assistant: similar questions, suggested
//!   department and group, screening flags, a fair running order. Pure.
//! - [`protocol`]: the versioned wire messages (docs/PROTOCOL.md).
//! - [`store`]: the durable `Store` trait, with SQLite (default) and PostgreSQL.
//! - [`cluster`]: with PostgreSQL, hear other nodes' commits (LISTEN/NOTIFY).
//! - [`engine`]: each event's in-memory state and single writer
//!   (validate → commit → publish → acknowledge, with group commit).
//! - [`health`]: whether the store can commit now (disk full, database file
//!   lost), read by writers and `/healthz`; cleared by a probe commit.
//! - [`hub`]: per-event fan-out, sequence history, backpressure, presence. No sockets.
//! - [`http`]: axum routes, the WebSocket connection, embedded pages, errors.
//! - [`reports`]: before and after the live hour: imports, exports, the
//!   conclusion-report draft, statistics. Pure over questions and the log.
//! - [`auth`]: role tokens and receipts. [`metrics`]: Prometheus counters.
//! - [`config`]: command-line and environment settings.
//! - [`cli`]: what the `doithoai` command does (serve with one server per
//!   data directory, events, tokens, imports, backups, the pre-flight check).
//! - [`loadgen`]: the load generator and benchmarks (BENCHMARKS.md); the
//!   `loadgen` binary is a thin CLI over it.
//!
//! [`serve`] runs the whole server on a listener you bound, so tests and
//! benchmarks embed the real thing on port 0.

pub mod auth;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod domain;
pub mod engine;
pub mod event;
pub mod health;
pub mod http;
pub mod hub;
pub mod loadgen;
pub mod metrics;
pub mod moderation;
pub mod protocol;
pub mod reports;
pub mod store;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::auth::Secret;
use crate::config::ServeConfig;
use crate::engine::Engine;
use crate::event::EventConfig;
use crate::hub::HubConfig;
use crate::metrics::Metrics;
use crate::store::StoreError;

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("secret: {0}")]
    Secret(#[from] std::io::Error),
}

/// A ready server: store open, events loaded, writers running.
#[derive(Clone)]
pub struct App {
    pub engine: Arc<Engine>,
    pub config: Arc<ServeConfig>,
    /// Present on PostgreSQL: hears commits made by other nodes.
    pub listener: Option<Arc<cluster::ChangeListener>>,
}

/// Load the token secret: `DOITHOAI_SECRET` (hex) or the secret file.
pub fn load_secret(store: &config::StoreConfig) -> std::io::Result<Secret> {
    if let Ok(hex_text) = std::env::var("DOITHOAI_SECRET") {
        return Secret::from_hex(&hex_text).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "DOITHOAI_SECRET must be at least 32 hex digits",
            )
        });
    }
    Secret::load_or_create(&store.secret_path())
}

/// Open the store (creating the built-in default event in an empty one),
/// make sure every seat has a token, and start every event's writer.
pub async fn open(config: ServeConfig) -> Result<App, StartError> {
    let store = store::open(&config.store).await?;
    let secret = load_secret(&config.store)?;
    if store.events().await?.is_empty() {
        store.put_event(&EventConfig::builtin()).await?;
    }
    for event in store.events().await? {
        auth::issue_tokens(store.as_ref(), &secret, &event, "", None).await?;
    }
    let hub = HubConfig {
        queue_bytes: config.queue_bytes,
        history: config.history,
        ..HubConfig::default()
    };
    let engine = Engine::start(store, secret, Arc::new(Metrics::default()), hub).await?;
    let listener = match &config.store.database_url {
        Some(url) if store::postgres::is_postgres_url(url) => {
            Some(cluster::ChangeListener::start(url, engine.clone()).await?)
        }
        _ => None,
    };
    Ok(App {
        engine,
        config: Arc::new(config),
        listener,
    })
}

/// Connections the kernel queues for `accept` while the server is busy.
/// Linux caps it at `net.core.somaxconn` (4096 by default since 5.4).
const LISTEN_BACKLOG: u32 = 4096;

/// Listen on `addr` with a backlog for a hall's worth of phones scanning the
/// QR code at once. `TcpListener::bind` uses 128: a burst of 250 handshakes
/// overflowed it, and every dropped SYN cost its phone a 1 s retransmit
/// (10,000 phones took 27 s to join; BENCHMARKS.md, connect rate).
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serve `app` on `listener` until `shutdown` resolves, then flush every
/// writer and tell clients to reconnect.
pub async fn serve(
    listener: TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Owned here so it stops when serving stops.
    let phones = http::phones::PhoneRuntime::start(app.config.phone_threads)?;
    let state = http::AppState {
        engine: app.engine.clone(),
        limits: Arc::new(http::ParticipantLimits::new(
            app.config.device_per_minute,
            app.config.address_per_minute,
            app.config.net.http_submit_per_address_per_minute,
        )),
        vote_limits: Arc::new(http::ParticipantLimits::new(
            app.config
                .device_per_minute
                .saturating_mul(http::VOTES_PER_SUBMISSION),
            app.config.address_per_minute,
            app.config
                .net
                .http_submit_per_address_per_minute
                .saturating_mul(http::VOTES_PER_SUBMISSION),
        )),
        config: app.config.clone(),
        listener: app.listener.clone(),
        phones: phones.handle(),
        csp_log: Arc::new(governor::RateLimiter::direct(governor::Quota::per_minute(
            std::num::NonZeroU32::new(30).unwrap_or(std::num::NonZeroU32::MIN),
        ))),
    };
    let (limits, vote_limits) = (state.limits.clone(), state.vote_limits.clone());
    let forget = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            limits.forget_idle();
            vote_limits.forget_idle();
        }
    });
    let engine = app.engine.clone();
    let metrics = engine.metrics().clone();
    let changes = app.listener.clone();
    let router = http::router(state);
    http::server::raise_open_files_limit(&app.config.net);
    let served = http::server::run(listener, router, &app.config, metrics, async move {
        shutdown.await;
        tracing::info!("shutting down: flushing writers and asking clients to reconnect");
        engine.shutdown().await;
        if let Some(l) = changes {
            l.stop();
        }
    })
    .await;
    forget.abort();
    served
}
