//! The load generator and benchmark suite (`loadgen` binary, the quick
//! correctness test `tests/loadgen_quick.rs`, BENCHMARKS.md).
//!
//! It starts the real server (in this process, or as a child `doithoai serve`
//! so that the server's CPU and memory are measured apart from the clients),
//! generates an event with N halls, and drives it with simulated staff and
//! phones over real WebSocket connections, then checks every client's
//! deliveries against the server's own change log.
//!
//! # Layout
//! - [`target`]: starting doithoai and the baselines, `/metrics`, `/proc` sampling.
//! - [`client`]: a cheap protocol client (staff seat or phone) that records
//!   what it receives; [`moderator`]: a desk that approves, assigns and puts on air.
//! - [`fanout`]: light receivers and broadcasters for the capacity and memory runs.
//! - [`proxy`]: HAProxy from `deploy/haproxy.cfg` in front of several nodes.
//! - [`bare`]: baseline (a), a fan-out server with no store and no logic.
//! - [`check`]: no gap, no repeat, right order, judged against the log.
//! - [`failover`]: kill -9 under load (one SQLite node restarted; `national`:
//!   PostgreSQL nodes behind HAProxy, one killed).
//! - [`scenario`]: event day, many halls, submit burst, reconnect storm, memory, capacity.
//! - [`worker`]: clients in worker processes when one process's sockets are
//!   not enough (`loadgen clients-worker`, started by `national`).
//! - [`report`]: markdown tables and the SVG chart; [`stats`]: percentiles and the clock.
//!
//! Load is only ever sent to loopback addresses on this machine.

pub mod bare;
pub mod check;
pub mod client;
pub mod failover;
pub mod fanout;
pub mod moderator;
pub mod proxy;
pub mod report;
pub mod scenario;
pub mod stats;
pub mod target;
pub mod worker;

/// The load generator's error: anything, with a message. It is a tool, not a
/// request path, so a boxed error that `?` accepts from every layer is enough.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
