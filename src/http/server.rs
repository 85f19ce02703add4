//! The accept loop: our own instead of `axum::serve`, which sets no
//! header-read timeout (600 half-sent request lines once held every file
//! descriptor and `/healthz` went unanswered for two minutes).
//!
//! Every accepted connection gets a [`ConnTicket`]. It counts towards the
//! open connections (`--max-connections`) for as long as any part of the
//! connection lives (a WebSocket keeps it after the upgrade), and towards the
//! *pending* connections, per address and in total, until the connection has
//! finished its first request's headers or, for a WebSocket, its `hello`.
//! Over a cap, a new connection is closed at once, so a flood of slow
//! sockets cannot crowd out the phones that finish quickly; hyper's header
//! timer closes the slow ones (and idle keep-alive connections). Joined
//! connections are limited only by `--max-connections`: a hall's NAT can
//! hold 500 phones behind one address.
//!
//! Graceful shutdown works as in `axum::serve`: once the shutdown future
//! (which flushes the writers and says goodbye) completes, nothing more is
//! accepted and each HTTP connection finishes its request in flight.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::config::NetConfig;

/// Counts of open and pending connections, shared by every ticket.
#[derive(Debug)]
pub struct Gate {
    open: AtomicUsize,
    pending_total: AtomicUsize,
    pending: Mutex<HashMap<IpAddr, usize>>,
    max_open: usize,
    max_pending_total: usize,
    max_pending_per_address: usize,
    /// The proxies in front (`--trusted-proxies`): what comes from them is
    /// never counted as pending (see [`Gate::admit`]).
    proxies: Vec<IpAddr>,
}

impl Gate {
    pub fn new(net: &NetConfig, trusted_proxies: &[IpAddr]) -> Arc<Gate> {
        Arc::new(Gate {
            open: AtomicUsize::new(0),
            pending_total: AtomicUsize::new(0),
            pending: Mutex::new(HashMap::new()),
            max_open: net.max_connections.max(1),
            max_pending_total: net.pending_total.max(1),
            max_pending_per_address: net.pending_per_address.max(1),
            proxies: trusted_proxies.to_vec(),
        })
    }

    /// A ticket for a new connection from `ip`, or `None` when a cap is reached.
    ///
    /// A trusted proxy's connections count only as open, never as pending:
    /// every client and every health check arrives from its one address, and
    /// in a reconnection surge (a node killed, its clients all arriving at
    /// once) the pending caps would close the proxy's health checks too, so
    /// it marked healthy nodes down and cut their sessions (BENCHMARKS.md
    /// §10). Slow clients behind it are the proxy's to bound and time out
    /// (`maxconn`, `timeout http-request` in deploy/haproxy.cfg).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnTicket> {
        if self.proxies.contains(&ip) {
            if self.open.fetch_add(1, Ordering::Relaxed) >= self.max_open {
                self.open.fetch_sub(1, Ordering::Relaxed);
                return None;
            }
            return Some(ConnTicket(Arc::new(Ticket {
                gate: self.clone(),
                ip,
                pending: AtomicBool::new(false),
            })));
        }
        let Ok(mut pending) = self.pending.lock() else {
            return None;
        };
        if self.open.load(Ordering::Relaxed) >= self.max_open
            || self.pending_total.load(Ordering::Relaxed) >= self.max_pending_total
        {
            return None;
        }
        let mine = pending.entry(ip).or_insert(0);
        if *mine >= self.max_pending_per_address {
            return None;
        }
        *mine += 1;
        self.pending_total.fetch_add(1, Ordering::Relaxed);
        self.open.fetch_add(1, Ordering::Relaxed);
        Some(ConnTicket(Arc::new(Ticket {
            gate: self.clone(),
            ip,
            pending: AtomicBool::new(true),
        })))
    }

    fn release_pending(&self, ip: IpAddr) {
        if let Ok(mut pending) = self.pending.lock() {
            if let Some(n) = pending.get_mut(&ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    pending.remove(&ip);
                }
            }
        }
        self.pending_total.fetch_sub(1, Ordering::Relaxed);
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Connections that have not finished their first request or hello.
    pub fn pending(&self) -> usize {
        self.pending_total.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct Ticket {
    gate: Arc<Gate>,
    ip: IpAddr,
    pending: AtomicBool,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.pending.swap(false, Ordering::Relaxed) {
            self.gate.release_pending(self.ip);
        }
        self.gate.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One connection's place in the [`Gate`], carried in every request's
/// extensions. Clones share it; the connection stops counting as open when
/// the last clone is dropped.
#[derive(Debug, Clone)]
pub struct ConnTicket(Arc<Ticket>);

impl ConnTicket {
    /// The connection finished its request (or hello): no longer pending.
    pub fn finished(&self) {
        if self.0.pending.swap(false, Ordering::Relaxed) {
            self.0.gate.release_pending(self.0.ip);
        }
    }
}

/// Middleware: a plain request has finished being a slow-socket suspect once
/// its headers are in. A WebSocket upgrade stays pending until its hello
/// (`ws.rs`).
pub async fn finish_pending(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let upgrade = req
        .headers()
        .get(axum::http::header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if !upgrade {
        if let Some(ticket) = req.extensions().get::<ConnTicket>() {
            ticket.finished();
        }
    }
    next.run(req).await
}

/// Serve `router` on `listener` until `shutdown` completes; see the module doc.
pub async fn run(
    listener: TcpListener,
    router: Router,
    config: &crate::config::ServeConfig,
    metrics: Arc<crate::metrics::Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let net = &config.net;
    let gate = Gate::new(net, &config.trusted_proxies);
    let header_timeout = Duration::from_millis(net.header_timeout_ms.max(1));
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        shutdown.await;
        drop(signal_rx);
    });
    let (close_tx, close_rx) = watch::channel(());
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: as axum::serve does, wait a moment and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = signal_tx.closed() => break,
        };
        let Some(ticket) = gate.admit(remote.ip()) else {
            // Counted: behind a proxy a refusal is a health check or a client
            // the proxy then sees reset (BENCHMARKS.md §13).
            metrics.refused_connections.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%remote, open = gate.open(), pending = gate.pending(), "connection refused: over a connection cap");
            drop(tcp);
            continue;
        };
        // Frames are small and latency matters. Without TCP_NODELAY, Nagle's
        // algorithm holds a frame written right after another (a change, then
        // the ack) until the client's delayed ACK: about 40 ms on Linux
        // (measured by `loadgen event-day`, BENCHMARKS.md).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service = router
            .clone()
            .map_request(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(remote));
                req.extensions_mut().insert(ticket.clone());
                req.map(axum::body::Body::new)
            });
        let service = TowerToHyperService::new(service);
        let signal_tx = signal_tx.clone();
        let close_rx = close_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let mut conn = pin!(builder
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades());
            let mut signalled = pin!(signal_tx.closed());
            loop {
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::trace!(error = %e, "connection ended");
                        }
                        break;
                    }
                    _ = &mut signalled => conn.as_mut().graceful_shutdown(),
                }
            }
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
    Ok(())
}

/// Raise the soft open-files limit to the hard limit (every connection is a
/// file descriptor) and warn when even that is below what `net` expects.
pub fn raise_open_files_limit(net: &NetConfig) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        tracing::warn!("could not read the open-files limit");
        return;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    // Files beyond sockets: the database, its journal, logs, a margin.
    let wanted = net.max_connections.saturating_add(64) as libc::rlim_t;
    if limit.rlim_cur < wanted {
        tracing::warn!(
            open_files = limit.rlim_cur,
            max_connections = net.max_connections,
            "the open-files limit is below --max-connections: raise it (ulimit -n, LimitNOFILE=) or lower --max-connections"
        );
    }
}
