//! Whether this server can commit right now, and if not, why.
//!
//! Writers report every failed commit here and clear the fault with every
//! successful one; the engine's watch task probes the store while it fails
//! (so the server recovers by itself when space returns) and checks every
//! second that the database files are still the ones it opened. Writers
//! refuse commands while the database is lost, and `/healthz` answers 503
//! with the fault's code. A fault is logged loudly when it starts and once
//! more when it ends, not once per refused command.
//!
//! It also keeps whether the store answered the watch task's last round
//! trip, so that `/healthz` answers from memory alone (and a stat or two),
//! never waiting on the store's pool or a writer behind other work: a
//! health check slower than the proxy's check timeout takes a healthy node
//! out (deploy/haproxy.cfg).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::RwLock;

use crate::store::StoreError;

/// Why the store cannot commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// SQLITE_FULL, ENOSPC, PostgreSQL's disk_full: clears when space returns.
    DiskFull,
    /// Any other failed commit (I/O error, lost connection): clears with the
    /// next commit that succeeds.
    Unavailable,
    /// The database file was deleted or replaced under the running server.
    /// Nothing is committed until the file is back (same device and inode)
    /// or the server is restarted.
    DatabaseLost,
}

impl FaultKind {
    pub fn of(error: &StoreError) -> FaultKind {
        match error {
            StoreError::Lost(_) => FaultKind::DatabaseLost,
            e if e.is_disk_full() => FaultKind::DiskFull,
            _ => FaultKind::Unavailable,
        }
    }

    /// The code `/healthz` answers with.
    pub fn code(self) -> &'static str {
        match self {
            FaultKind::DiskFull => "disk_full",
            FaultKind::Unavailable => "store_unavailable",
            FaultKind::DatabaseLost => "database_lost",
        }
    }

    pub fn message_vi(self) -> &'static str {
        match self {
            FaultKind::DiskFull => "Máy chủ hết chỗ lưu trữ; không nhận thay đổi cho đến khi có chỗ trống",
            FaultKind::Unavailable => "Không lưu được vào cơ sở dữ liệu; không nhận thay đổi cho đến khi lưu lại được",
            FaultKind::DatabaseLost => "Tệp cơ sở dữ liệu đã bị xóa hoặc thay thế; không nhận thay đổi, cần người vận hành xử lý",
        }
    }

    pub fn message_en(self) -> &'static str {
        match self {
            FaultKind::DiskFull => "the server's disk is full; no changes are accepted until there is space again",
            FaultKind::Unavailable => "the database cannot commit; no changes are accepted until it can",
            FaultKind::DatabaseLost => "the database file was deleted or replaced; no changes are accepted until an operator acts",
        }
    }
}

/// A fault in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Unix ms when it started.
    pub since: i64,
    /// For the log only (paths, database messages): never sent to clients.
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Health {
    /// A std lock: never held across an await, read once per batch.
    fault: RwLock<Option<Fault>>,
    /// Unix ms since when the store has not answered the watch task's round
    /// trip; 0 while it answers.
    unanswered_since: AtomicI64,
}

impl Health {
    pub fn fault(&self) -> Option<Fault> {
        self.fault.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn kind(&self) -> Option<FaultKind> {
        self.fault
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|f| f.kind)
    }

    /// A commit, probe or file check failed with `error`.
    pub fn failed(&self, error: &StoreError) {
        let kind = FaultKind::of(error);
        let mut fault = self.fault.write().unwrap_or_else(|p| p.into_inner());
        match fault.as_ref().map(|f| f.kind) {
            // A lost database stays lost whatever else fails meanwhile.
            Some(FaultKind::DatabaseLost) => return,
            Some(current) if current == kind => return,
            _ => {}
        }
        if kind == FaultKind::DatabaseLost {
            tracing::error!(
                code = kind.code(),
                error = %error,
                "THE DATABASE FILE WAS DELETED OR REPLACED while the server ran: refusing every change \
                 from now on (nothing more is acknowledged). Put the file back, or copy the held data \
                 back as this line says, then restart the server"
            );
        } else {
            tracing::error!(
                code = kind.code(),
                error = %error,
                "the store cannot commit: refusing changes (clients keep them and resend) until a probe commit succeeds"
            );
        }
        *fault = Some(Fault {
            kind,
            since: crate::now_ms(),
            detail: error.to_string(),
        });
    }

    /// The store answered the watch task's round trip.
    pub fn store_answered(&self) {
        let since = self.unanswered_since.swap(0, Ordering::AcqRel);
        if since != 0 {
            tracing::warn!(
                after_ms = crate::now_ms() - since,
                "the store answers again: /healthz is healthy again"
            );
        }
    }

    /// The store did not answer the watch task's round trip (`why`: for the log).
    pub fn store_unanswered(&self, why: &str) {
        let now = crate::now_ms().max(1);
        if self
            .unanswered_since
            .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            tracing::error!(error = %why, "the store does not answer: /healthz reports store_unavailable");
        }
    }

    /// Since when (Unix ms) the store has not answered, if it has not.
    pub fn store_unanswered_since(&self) -> Option<i64> {
        Some(self.unanswered_since.load(Ordering::Acquire)).filter(|&at| at != 0)
    }

    /// A commit or probe succeeded. A lost database is not cleared by that
    /// (commits to a deleted file succeed): only [`Health::files_ok`] does.
    pub fn committed(&self) {
        if matches!(
            self.kind(),
            Some(FaultKind::DiskFull | FaultKind::Unavailable)
        ) {
            self.clear("the store commits again: accepting changes");
        }
    }

    /// The database files are the ones the store opened (again).
    pub fn files_ok(&self) {
        if self.kind() == Some(FaultKind::DatabaseLost) {
            self.clear("the database file is back (same device and inode): accepting changes");
        }
    }

    fn clear(&self, what: &str) {
        let mut fault = self.fault.write().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = fault.take() {
            tracing::warn!(
                code = f.kind.code(),
                after_ms = crate::now_ms() - f.since,
                "{what}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost() -> StoreError {
        StoreError::Lost("doithoai.db is gone".into())
    }

    #[test]
    fn a_lost_database_outranks_other_faults_and_only_the_file_check_clears_it() {
        let h = Health::default();
        assert_eq!(h.kind(), None);
        h.failed(&StoreError::Corrupt("io".into()));
        assert_eq!(h.kind(), Some(FaultKind::Unavailable));
        h.failed(&lost());
        assert_eq!(h.kind(), Some(FaultKind::DatabaseLost));
        h.failed(&StoreError::Corrupt("io".into()));
        assert_eq!(h.kind(), Some(FaultKind::DatabaseLost));
        h.committed();
        assert_eq!(
            h.kind(),
            Some(FaultKind::DatabaseLost),
            "a commit to a deleted file proves nothing"
        );
        h.files_ok();
        assert_eq!(h.kind(), None);
    }

    #[test]
    fn the_store_round_trip_is_kept_with_its_first_failure_time() {
        let h = Health::default();
        assert_eq!(h.store_unanswered_since(), None);
        h.store_unanswered("refused");
        let since = h.store_unanswered_since();
        assert!(since.is_some());
        h.store_unanswered("refused again");
        assert_eq!(h.store_unanswered_since(), since);
        h.store_answered();
        assert_eq!(h.store_unanswered_since(), None);
    }

    #[test]
    fn a_successful_commit_clears_a_failing_store_and_keeps_the_first_start_time() {
        let h = Health::default();
        h.failed(&StoreError::Corrupt("io".into()));
        let since = h.fault().map(|f| f.since);
        h.failed(&StoreError::Corrupt("io again".into()));
        assert_eq!(h.fault().map(|f| f.since), since);
        h.files_ok();
        assert_eq!(
            h.kind(),
            Some(FaultKind::Unavailable),
            "files were never the problem"
        );
        h.committed();
        assert_eq!(h.fault(), None);
    }
}
