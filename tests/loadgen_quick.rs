//! The load generator's quick mode inside the test suite: a few hundred
//! clients for a few seconds against the in-process server. It asserts
//! correctness only (every client received every change its audience may
//! see, in order, with no gap or repeat, judged against the server's own
//! log), never timing: this machine's speed is not under test here.

use std::time::Duration;

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
