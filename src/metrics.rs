//! Counters for `GET /metrics` (Prometheus text format). Plain atomics: cheap
//! enough to bump on every message, and no registry crate to learn.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::domain::Role;

#[derive(Default)]
pub struct Metrics {
    connections: [AtomicU64; 8],
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub queue_drops: AtomicU64,
    pub commits: AtomicU64,
    pub committed_changes: AtomicU64,
    pub commit_errors: AtomicU64,
    pub commit_latency_us_sum: AtomicU64,
    /// Histogram buckets of commit latency, upper bounds in `COMMIT_BUCKETS_MS`.
    commit_latency_buckets: [AtomicU64; 8],
    /// The slowest commit since the server started, µs: a storage stall
    /// shows here even when the histogram's top bucket hides its size.
    commit_latency_max_us: AtomicU64,
    pub rejected_commands: AtomicU64,
    pub rate_limited: AtomicU64,
    pub csp_violations: AtomicU64,
    /// New connections closed at once because a connection cap was reached.
    pub refused_connections: AtomicU64,
}

const COMMIT_BUCKETS_MS: [f64; 8] = [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0];

fn role_index(role: Role) -> usize {
    Role::ALL.iter().position(|r| *r == role).unwrap_or(0)
}

impl Metrics {
    pub fn connected(&self, role: Role) {
        self.connections[role_index(role)].fetch_add(1, Relaxed);
    }
    pub fn disconnected(&self, role: Role) {
        self.connections[role_index(role)].fetch_sub(1, Relaxed);
    }
    pub fn connections(&self, role: Role) -> u64 {
        self.connections[role_index(role)].load(Relaxed)
    }

    pub fn observe_commit(&self, changes: usize, elapsed: std::time::Duration) {
        self.commits.fetch_add(1, Relaxed);
        self.committed_changes.fetch_add(changes as u64, Relaxed);
        self.commit_latency_us_sum
            .fetch_add(elapsed.as_micros() as u64, Relaxed);
        self.commit_latency_max_us
            .fetch_max(elapsed.as_micros() as u64, Relaxed);
        let ms = elapsed.as_secs_f64() * 1000.0;
        for (i, bound) in COMMIT_BUCKETS_MS.iter().enumerate() {
            if ms <= *bound {
                self.commit_latency_buckets[i].fetch_add(1, Relaxed);
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP doithoai_connections Open WebSocket connections by role."
        );
        let _ = writeln!(out, "# TYPE doithoai_connections gauge");
        for role in Role::ALL {
            let _ = writeln!(
                out,
                "doithoai_connections{{role=\"{}\"}} {}",
                role.as_str(),
                self.connections(role)
            );
        }
        let counters = [
            (
                "doithoai_messages_in_total",
                "Messages received from clients.",
                &self.messages_in,
            ),
            (
                "doithoai_messages_out_total",
                "Messages queued to clients.",
                &self.messages_out,
            ),
            (
                "doithoai_queue_drops_total",
                "Slow clients disconnected because their queue was full.",
                &self.queue_drops,
            ),
            (
                "doithoai_commits_total",
                "Store transactions (group commits).",
                &self.commits,
            ),
            (
                "doithoai_committed_changes_total",
                "Changes committed.",
                &self.committed_changes,
            ),
            (
                "doithoai_commit_errors_total",
                "Store transactions that failed.",
                &self.commit_errors,
            ),
            (
                "doithoai_rejected_commands_total",
                "Commands refused with an error.",
                &self.rejected_commands,
            ),
            (
                "doithoai_rate_limited_total",
                "Participant submissions refused by the rate limit.",
                &self.rate_limited,
            ),
            (
                "doithoai_refused_connections_total",
                "New connections closed at once because a cap was reached (--max-connections, --pending-per-address, --pending-total).",
                &self.refused_connections,
            ),
            (
                "doithoai_csp_violations_total",
                "Content-Security-Policy violations reported by browsers (a page tried to run or load something it may not).",
                &self.csp_violations,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP doithoai_commit_latency_seconds Time to commit a batch durably."
        );
        let _ = writeln!(out, "# TYPE doithoai_commit_latency_seconds histogram");
        for (i, bound) in COMMIT_BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(
                out,
                "doithoai_commit_latency_seconds_bucket{{le=\"{}\"}} {}",
                bound / 1000.0,
                self.commit_latency_buckets[i].load(Relaxed)
            );
        }
        let count = self.commits.load(Relaxed);
        let _ = writeln!(
            out,
            "doithoai_commit_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "doithoai_commit_latency_seconds_sum {}",
            self.commit_latency_us_sum.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "doithoai_commit_latency_seconds_count {count}");
        let _ = writeln!(
            out,
            "# HELP doithoai_commit_latency_max_seconds The slowest commit since the server started.\n# TYPE doithoai_commit_latency_max_seconds gauge\ndoithoai_commit_latency_max_seconds {}",
            self.commit_latency_max_us.load(Relaxed) as f64 / 1e6
        );
        out
    }
}
