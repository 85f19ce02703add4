//! Several nodes on one PostgreSQL database: how a node hears of changes
//! another node committed.
//!
//! Every PostgreSQL commit sends `NOTIFY doithoai_changes, '{"event":..,"seq":N}'`
//! inside its transaction (see `store::postgres`). Each node runs one
//! [`ChangeListener`]: a task holding a dedicated `LISTEN` connection that, for
//! a notification newer than what the node holds, asks that event's writer
//! to catch up from the log (`EventRuntime::catch_up`). The notification only
//! says "look"; the change itself is always read from the log, so a lost or
//! duplicated notification costs latency, never correctness (publish drops
//! sequence numbers already applied).
//!
//! Notifications are not queued for a disconnected listener, so after every
//! (re)connection the listener catches up *all* events before waiting again.
//! Erasing an event's personal data (on any node, or by the command line)
//! also notifies, with `"erased": true`, so every node forgets the personal
//! data it holds in memory too.
//!
//! While it is disconnected the node is marked unhealthy (`/healthz` answers
//! 503) so a load balancer sends clients to a node that hears everything.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::task::JoinHandle;

use crate::engine::Engine;
use crate::store::postgres::CHANGES_CHANNEL;
use crate::store::StoreError;

/// Longest pause between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The running listener of this node; cheap to share with HTTP handlers.
pub struct ChangeListener {
    /// True while the `LISTEN` connection is up. Read by `/healthz`.
    up: Arc<AtomicBool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Deserialize)]
struct Payload {
    /// Absent when the id did not fit the payload limit: catch up everything.
    #[serde(default)]
    event: Option<String>,
    seq: u64,
    /// The event's personal data was erased: drop what memory still holds.
    #[serde(default)]
    erased: bool,
}

/// Sets the health flag to false however the task ends (error, abort, runtime drop).
struct DownOnDrop(Arc<AtomicBool>);

impl Drop for DownOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl ChangeListener {
    /// Connect (once, inline, so a freshly started node is healthy at once
    /// when the database is reachable) and keep listening in the background.
    pub async fn start(url: &str, engine: Arc<Engine>) -> Result<Arc<ChangeListener>, StoreError> {
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()?
            .application_name("doithoai-listener");
        // One connection, only for LISTEN: a pooled connection would drop it.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect_lazy_with(options);
        let up = Arc::new(AtomicBool::new(false));
        let first = match connect(&pool).await {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "change listener cannot connect yet; retrying in the background");
                None
            }
        };
        let task = tokio::spawn(run(pool, engine, up.clone(), first));
        Ok(Arc::new(ChangeListener {
            up,
            task: Mutex::new(Some(task)),
        }))
    }

    /// Whether this node currently hears other nodes' commits.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Reconnection is done here, explicitly, so that a catch-up follows it.
    listener.eager_reconnect(false);
    listener.listen(CHANGES_CHANNEL).await?;
    Ok(listener)
}

async fn run(
    pool: PgPool,
    engine: Arc<Engine>,
    up: Arc<AtomicBool>,
    mut first: Option<PgListener>,
) {
    let _down = DownOnDrop(up.clone());
    let mut backoff = Duration::from_millis(100);
    loop {
        let connected = match first.take() {
            Some(l) => Ok(l),
            None => connect(&pool).await,
        };
        match connected {
            Ok(mut listener) => {
                backoff = Duration::from_millis(100);
                up.store(true, Ordering::SeqCst);
                tracing::info!("listening for other nodes' changes");
                // Listening starts before this catch-up, so nothing committed
                // from here on can fall between the two.
                for rt in engine.events() {
                    rt.catch_up();
                }
                loop {
                    match listener.try_recv().await {
                        Ok(Some(n)) => on_notification(&engine, n.payload()),
                        Ok(None) => {
                            tracing::warn!("change listener lost its connection; reconnecting");
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "change listener failed; reconnecting");
                            break;
                        }
                    }
                }
                up.store(false, Ordering::SeqCst);
            }
            Err(e) => tracing::warn!(error = %e, "change listener cannot connect"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn on_notification(engine: &Engine, payload: &str) {
    match serde_json::from_str::<Payload>(payload) {
        Ok(Payload {
            event: Some(id),
            seq,
            erased,
        }) => {
            // An event this node does not serve (created after it started) is ignored.
            if let Some(rt) = engine.event(&id) {
                if erased {
                    rt.forget_personal_data();
                }
                if seq > rt.seq() {
                    rt.catch_up();
                }
            }
        }
        Ok(Payload { event: None, .. }) | Err(_) => {
            for rt in engine.events() {
                rt.catch_up();
            }
        }
    }
}
