//! Delivery correctness: every client received every change its audience
//! may see, in order, with no gap and no repeat, judged against the server's
//! own change log (read back from the store after the run).
//!
//! A snapshot legitimately replaces history: after one at sequence `s` the
//! client must receive exactly the visible changes after `s`. A resume by
//! `last_seq` must continue right after the client's last change.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;

use super::client::{ClientLog, RecKind};
use super::Error;
use crate::domain::Audience;
use crate::hub;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{Change, Store};

/// The outcome of checking every client.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub clients: usize,
    pub log_changes: u64,
    /// Changes delivered (all clients).
    pub delivered: u64,
    /// Visible changes a client should have received and did not.
    pub missing: u64,
    /// Changes received twice on one client.
    pub repeated: u64,
    /// Changes received out of order or not visible to the client's audience.
    pub unexpected: u64,
    /// First few problems, for the reader.
    pub examples: Vec<String>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.missing == 0 && self.repeated == 0 && self.unexpected == 0
    }
}

/// Read an event's whole change log from a data directory.
pub async fn read_log(data_dir: &Path, event: &str) -> Result<Vec<Change>, Error> {
    let store = SqliteStore::open(data_dir).await?;
    let all = read_log_from(&store, event).await?;
    store.pool().close().await;
    Ok(all)
}

/// Read an event's whole change log from a PostgreSQL database.
pub async fn read_pg_log(url: &str, event: &str) -> Result<Vec<Change>, Error> {
    let store = PgStore::open(url).await?;
    let all = read_log_from(&store, event).await?;
    store.pool().close().await;
    Ok(all)
}

/// Read an event's whole change log from any store.
pub async fn read_log_from(store: &dyn Store, event: &str) -> Result<Vec<Change>, Error> {
    let mut all = Vec::new();
    loop {
        let after = all.last().map(|c: &Change| c.seq).unwrap_or(0);
        let batch = store.changes_since(event, after, 1000).await?;
        if batch.is_empty() {
            break;
        }
        all.extend(batch);
    }
    Ok(all)
}

/// Check every client's records against the log.
pub fn check(log: &[Change], clients: &[ClientLog]) -> CheckReport {
    let last = log.last().map(|c| c.seq).unwrap_or(0);
    let mut visible: HashMap<Audience, Vec<u64>> = HashMap::new();
    let mut report = CheckReport {
        clients: clients.len(),
        log_changes: last,
        ..CheckReport::default()
    };
    for c in clients {
        let seqs = visible.entry(c.audience.clone()).or_insert_with(|| {
            log.iter()
                .filter(|ch| hub::change_frame(ch, &c.audience).is_some())
                .map(|ch| ch.seq)
                .collect()
        });
        check_one(c, seqs, last, &mut report);
    }
    report
}

fn check_one(c: &ClientLog, visible: &[u64], last: u64, report: &mut CheckReport) {
    let problem = |report: &mut CheckReport, what: String| {
        if report.examples.len() < 10 {
            report.examples.push(format!("{}: {what}", c.label));
        }
    };
    // Position in `visible` of the next change this client must receive.
    let next_after = |seq: u64| visible.partition_point(|s| *s <= seq);
    let mut next: Option<usize> = None;
    let mut seen: BTreeMap<u64, u32> = BTreeMap::new();
    for r in &c.recs {
        match r.kind {
            RecKind::Joined => {}
            // Duplicates across a snapshot are caught by `seen` below.
            RecKind::Snapshot => next = Some(next_after(r.seq)),
            RecKind::Change => {
                report.delivered += 1;
                *seen.entry(r.seq).or_default() += 1;
                if seen[&r.seq] > 1 {
                    report.repeated += 1;
                    problem(report, format!("change {} received twice", r.seq));
                    continue;
                }
                let Some(n) = next else {
                    report.unexpected += 1;
                    problem(report, format!("change {} before any snapshot", r.seq));
                    continue;
                };
                match visible.get(n) {
                    Some(&e) if e == r.seq => next = Some(n + 1),
                    Some(&e) if e < r.seq && visible.binary_search(&r.seq).is_ok() => {
                        let skipped = next_after(r.seq) - 1 - n;
                        report.missing += skipped as u64;
                        problem(
                            report,
                            format!("gap: expected {e}, got {} ({skipped} missing)", r.seq),
                        );
                        next = Some(next_after(r.seq));
                    }
                    _ => {
                        report.unexpected += 1;
                        problem(report, format!("change {} not expected here", r.seq));
                    }
                }
            }
        }
    }
    // Whatever is visible after the client's position and at or before the end was missed.
    if let Some(n) = next {
        let tail = visible[n.min(visible.len())..]
            .iter()
            .filter(|s| **s <= last)
            .count();
        if tail > 0 {
            report.missing += tail as u64;
            problem(
                report,
                format!(
                    "{tail} change(s) after {} never arrived",
                    visible.get(n).copied().unwrap_or(0)
                ),
            );
        }
    } else {
        report.missing += 1;
        problem(report, "never received a snapshot".into());
    }
}
