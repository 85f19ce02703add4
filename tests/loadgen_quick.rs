//! The load generator's quick mode inside the test suite: a few hundred
//! clients for a few seconds against the in-process server. It asserts
//! correctness only (every client received every change its audience may
//! see, in order, with no gap or repeat, judged against the server's own
//! log), never timing: this machine's speed is not under test here.
//!
//! The last test runs `loadgen national` small with its clients in two
//! worker processes (the path a 60,000-phone run takes): two nodes on
//! PostgreSQL (`DOITHOAI_TEST_PG_URL`) behind HAProxy from the shipped
//! configuration, one node killed. Without PostgreSQL or `haproxy` it fails
//! saying so; it is never skipped.

use std::time::Duration;

use doithoai::loadgen::failover::{failover, FailoverOpts};
use doithoai::loadgen::scenario::{self, Common, EventDayOpts, StormOpts};
use doithoai::loadgen::target::Placement;

fn common(dir: &std::path::Path) -> Common {
    Common {
        placement: Placement::InProcess,
        work_dir: dir.to_path_buf(),
        connect_batch: 100,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_day_delivers_every_change_once_in_order() {
    let temp = tempfile::tempdir().expect("temp dir");
    let report = scenario::event_day(
        &common(temp.path()),
        &EventDayOpts {
            halls: 12,
            participants: 300,
            submit_rate: 30.0,
            moderate_rate: 6.0,
            on_air_every: Duration::from_millis(700),
            duration: Duration::from_secs(4),
        },
    )
    .await
    .expect("event day runs");
    assert!(
        report.check.ok(),
        "delivery check failed: {:?}",
        report.check
    );
    assert!(
        report.acked > 20,
        "too few submissions acknowledged: {}",
        report.acked
    );
    assert!(
        report.moderator_commands > 5,
        "moderators did too little: {}",
        report.moderator_commands
    );
    assert!(
        report.check.delivered > 1000,
        "too few deliveries checked: {:?}",
        report.check
    );
    assert_eq!(report.queue_drops, 0.0);
    assert_eq!(
        report.errors, 0,
        "command errors: {:?}",
        report.error_examples
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_storm_resumes_without_gaps_or_repeats() {
    let temp = tempfile::tempdir().expect("temp dir");
    let report = scenario::reconnect_storm(
        &common(temp.path()),
        &StormOpts {
            halls: 12,
            participants: 300,
            missed: 5,
            jitter_ms: 200,
        },
    )
    .await
    .expect("storm runs");
    assert!(
        report.check.ok(),
        "delivery check failed: {:?}",
        report.check
    );
    assert_eq!(
        report.caught_up_clients, report.clients,
        "not every client caught up"
    );
    assert!(
        report.replayed >= (report.clients * 5) as u64,
        "replay too small: {}",
        report.replayed
    );
    assert_eq!(report.resume_snapshots, 0, "resumes fell back to snapshots");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn national_with_clients_in_worker_processes_loses_nothing() {
    let temp = tempfile::tempdir().expect("temp dir");
    let pg_admin = std::env::var("DOITHOAI_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let report = failover(
        &Common {
            // Nodes and workers are child processes (target/debug/doithoai, loadgen).
            placement: Placement::Child,
            ..common(temp.path())
        },
        &FailoverOpts {
            halls: 12,
            participants: 300,
            submit_rate: 40.0,
            moderate_rate: 4.0,
            on_air_every: Duration::from_millis(1000),
            duration: Duration::from_secs(8),
            kill_after: Duration::from_secs(3),
            nodes: 2,
            proxies: 2,
            workers: 2,
            pg_admin: pg_admin.clone(),
        },
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "national with workers did not run (needs PostgreSQL at {pg_admin} and haproxy): {e}"
        )
    });
    assert_eq!(report.workers, 2);
    // 300 phones, chair, 9 speakers, 12 operators, 12 displays, 3 desks.
    assert_eq!(report.clients, 300 + 1 + 9 + 24 + 3, "{report:?}");
    assert!(report.ok(), "lost or misdelivered: {report:?}");
    assert!(report.acked > 20, "too few acknowledged: {}", report.acked);
    assert!(
        report.clients_back > 0,
        "nobody was on the killed node: {report:?}"
    );
    // Receivers in the workers, senders (desks) here: only a shared clock
    // gives send → receipt times that are neither zero nor absurd.
    for role in ["display", "hall_operator", "participant"] {
        let r = report
            .roles
            .iter()
            .find(|r| r.role == role)
            .unwrap_or_else(|| panic!("no {role} in {:?}", report.roles));
        assert!(
            r.send_to_receipt.count > 0
                && r.send_to_receipt.p50 > 0.0
                && r.send_to_receipt.max < 60_000.0,
            "{role} send → receipt across processes: {:?}",
            r.send_to_receipt
        );
    }
}
