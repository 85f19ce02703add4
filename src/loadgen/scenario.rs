//! The benchmark scenarios. Each starts its own server(s), drives them with
//! simulated clients, and returns a serialisable report; `report.rs` turns
//! reports into markdown tables and the chart.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::check::{self, CheckReport};
use super::client::{self, ClientLog, Phase, RecKind, Shared, Spec};
use super::moderator::{self, Desk};
use super::stats::{now_us, Summary};
use super::target::{
    doithoai_pg_nodes, metrics_all, sample_all, Behind, PgBenchDb, Placement, ProcSample, Server,
    ServerSpec,
};
use super::Error;
use crate::domain::{Audience, Role};

/// Options every doithoai scenario shares.
#[derive(Debug, Clone)]
pub struct Common {
    pub placement: Placement,
    /// Where fresh data directories go.
    pub work_dir: PathBuf,
    /// Most client handshakes in flight at once while connecting.
    pub connect_batch: usize,
}

impl Common {
    pub(super) fn server(&self, halls: usize) -> ServerSpec {
        ServerSpec {
            placement: self.placement.clone(),
            halls,
            work_dir: self.work_dir.clone(),
        }
    }
}

/// The machine's 1-minute load average (other work sharing the cores).
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

// ---------------------------------------------------------------- clients

/// Every staff seat of the event except the moderators (they are desks).
pub(super) fn staff_specs(server: &Server) -> Result<Vec<Spec>, Error> {
    let event = server.event()?;
    let mut out = vec![Spec::staff(
        "chair",
        Role::Chair,
        Audience::Staff,
        &server.token("chair")?,
    )];
    for d in &event.departments {
        let slot = format!("speaker:{}", d.id);
        out.push(Spec::staff(
            &slot,
            Role::Speaker,
            Audience::Speaker(d.id.clone()),
            &server.token(&slot)?,
        ));
    }
    for h in &event.halls {
        let slot = format!("hall_operator:{}", h.id);
        out.push(Spec::staff(
            &slot,
            Role::HallOperator,
            Audience::Hall(h.id.clone()),
            &server.token(&slot)?,
        ));
        let slot = format!("display:{}", h.id);
        out.push(Spec::staff(
            &slot,
            Role::Display,
            Audience::Public,
            &server.token(&slot)?,
        ));
    }
    Ok(out)
}

/// `n` phones spread evenly over the halls; with a total `rate` (per second)
/// each submits every n/rate seconds, starting at a random offset.
pub(super) fn participant_specs(server: &Server, n: usize, rate: f64) -> Result<Vec<Spec>, Error> {
    let event = server.event()?;
    let every = if rate > 0.0 {
        Some(Duration::from_secs_f64(n as f64 / rate))
    } else {
        None
    };
    Ok((0..n)
        .map(|i| {
            let hall = &event.halls[i % event.halls.len()].id;
            let mut s = Spec::participant(i, &event.id, hall);
            s.submit = every.map(|e| {
                (
                    e,
                    Duration::from_secs_f64(rand::random::<f64>() * e.as_secs_f64()),
                )
            });
            s
        })
        .collect())
}

/// Spawn clients in batches (alternating between `urls`), waiting for each batch's snapshots, so the
/// listen backlog never overflows while connecting. Returns their handles.
pub(super) async fn launch(
    urls: &[String],
    specs: Vec<Spec>,
    phase: &watch::Receiver<Phase>,
    shared: &Arc<Shared>,
    batch: usize,
) -> Result<Vec<JoinHandle<ClientLog>>, Error> {
    let mut handles = Vec::with_capacity(specs.len());
    let base = shared.ready.load(Ordering::Relaxed);
    for chunk in specs.chunks(batch.max(1)) {
        for spec in chunk {
            // With several nodes, consecutive clients alternate between them.
            let url = &urls[handles.len() % urls.len()];
            handles.push(tokio::spawn(client::run(
                url.clone(),
                spec.clone(),
                phase.clone(),
                shared.clone(),
            )));
        }
        let want = base + handles.len();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while shared.ready.load(Ordering::Relaxed) < want {
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "only {} of {} clients joined within 60 s",
                    shared.ready.load(Ordering::Relaxed) - base,
                    handles.len()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(handles)
}

pub(super) async fn join_all(handles: Vec<JoinHandle<ClientLog>>) -> Vec<ClientLog> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(log) = h.await {
            out.push(log);
        }
    }
    out
}

// ---------------------------------------------------------------- event day

#[derive(Debug, Clone)]
pub struct EventDayOpts {
    pub halls: usize,
    pub participants: usize,
    /// Submissions per second, all phones together.
    pub submit_rate: f64,
    /// Questions approved and assigned per second, all desks together.
    pub moderate_rate: f64,
    pub on_air_every: Duration,
    pub duration: Duration,
}

/// Latencies one role saw.
#[derive(Debug, Clone, Serialize)]
pub struct RoleStats {
    pub role: String,
    pub clients: usize,
    /// Sender's send → this client's receipt (same clock), ms.
    pub send_to_receipt: Summary,
    /// Server commit time (`at`) → receipt, ms (wall clock, ms resolution).
    pub commit_to_receipt: Summary,
    pub frames: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventDayReport {
    pub halls: usize,
    pub participants: usize,
    /// doithoai nodes serving the clients (clients alternate between them).
    pub nodes: usize,
    /// "sqlite" or "postgres".
    pub store: String,
    pub clients: usize,
    pub in_process: bool,
    pub connect_s: f64,
    pub duration_s: f64,
    pub submitted: u64,
    pub acked: u64,
    pub submit_to_ack: Summary,
    pub moderator_commands: usize,
    pub moderator_to_ack: Summary,
    pub roles: Vec<RoleStats>,
    /// Per moderator action seen by phones: send → receipt by the last phone.
    pub moderator_to_last_phone: Summary,
    pub changes: u64,
    /// Frames received by all clients per second.
    pub client_frames_per_s: f64,
    /// Frames the server queued per second (its `messages_out`).
    pub server_frames_per_s: f64,
    pub queue_drops: f64,
    pub evictions: u64,
    pub commits: f64,
    pub committed_changes: f64,
    /// Failed store commits (`doithoai_commit_errors_total`, all nodes).
    pub commit_errors: f64,
    /// The slowest commit of any node since it started, ms.
    pub slowest_commit_ms: f64,
    /// A raw `write + fsync` of 512 B in the server's data directory every
    /// 50 ms during the measured phase, ms: whether the disk itself stalled.
    pub fsync_probe: Summary,
    /// All nodes together.
    pub server_cpu_cores: f64,
    /// The load generator's own CPU (it shares the machine's two cores).
    pub loadgen_cpu_cores: f64,
    /// Server threads runnable but waiting for a CPU, on average.
    pub server_cpu_wait: f64,
    pub server_rss_before_mib: f64,
    pub server_rss_after_mib: f64,
    pub server_peak_rss_mib: f64,
    pub errors: usize,
    pub error_examples: Vec<String>,
    pub check: CheckReport,
    pub load_before: f64,
    pub load_after: f64,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub async fn event_day(common: &Common, o: &EventDayOpts) -> Result<EventDayReport, Error> {
    let load_before = load_average();
    let server = Server::doithoai(&common.server(o.halls)).await?;
    event_day_on(common, o, vec![server], load_before).await
}

/// The event day against `nodes` doithoai nodes sharing a fresh PostgreSQL
/// database (created through the maintenance database `pg_admin`, dropped
/// afterwards). Clients alternate between the nodes, and so do the desks.
pub async fn event_day_pg_nodes(
    common: &Common,
    o: &EventDayOpts,
    pg_admin: &str,
    nodes: usize,
) -> Result<EventDayReport, Error> {
    let load_before = load_average();
    let db = PgBenchDb::create(pg_admin).await?;
    let report = async {
        let servers =
            doithoai_pg_nodes(&common.server(o.halls), &db.url, nodes, Behind::Nothing).await?;
        event_day_on(common, o, servers, load_before).await
    }
    .await;
    let dropped = db.drop_db().await;
    let report = report?;
    dropped?;
    Ok(report)
}

/// The event day against running nodes of one deployment (the first one's
/// event, tokens and store are everyone's).
async fn event_day_on(
    common: &Common,
    o: &EventDayOpts,
    servers: Vec<Server>,
    load_before: f64,
) -> Result<EventDayReport, Error> {
    let server = servers.first().ok_or("no server")?;
    let urls: Vec<String> = servers.iter().map(Server::ws_url).collect();
    let (phase_tx, phase_rx) = watch::channel(Phase::Quiet);
    let shared = Arc::new(Shared::default());
    let started = now_us();
    let mut specs = staff_specs(server)?;
    specs.extend(participant_specs(server, o.participants, o.submit_rate)?);
    let handles = launch(&urls, specs, &phase_rx, &shared, common.connect_batch).await?;
    let desks = 3;
    let queued = Arc::new(Mutex::new(VecDeque::new()));
    let departments: Vec<String> = server
        .event()?
        .departments
        .iter()
        .map(|d| d.id.clone())
        .collect();
    let mut desk_handles = Vec::new();
    for i in 0..desks {
        let slot = format!("moderator-{}", i + 1);
        let spec = Spec::staff(
            &slot,
            Role::Moderator,
            Audience::Full,
            &server.token(&slot)?,
        );
        let desk = Desk {
            index: i,
            desks,
            pace: Duration::from_secs_f64(desks as f64 / o.moderate_rate.max(0.01)),
            on_air_every: (i == 0).then_some(o.on_air_every),
            departments: departments.clone(),
            queued: queued.clone(),
        };
        desk_handles.push(tokio::spawn(moderator::run(
            urls[i % urls.len()].clone(),
            spec,
            desk,
            phase_rx.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let connect_s = (now_us() - started) as f64 / 1e6;

    let m0 = metrics_all(&servers).await?;
    let p0 = sample_all(&servers);
    let me0 = ProcSample::of(std::process::id());
    let run_start = now_us();
    let _ = phase_tx.send(Phase::Run);
    let probe = server.data_dir.clone().map(|dir| {
        let until = now_us() + o.duration.as_micros() as u64;
        tokio::task::spawn_blocking(move || fsync_loop(dir, until, Duration::from_millis(50)))
    });
    tokio::time::sleep(o.duration).await;
    let _ = phase_tx.send(Phase::Quiet);
    // Let in-flight commands finish and every queue drain.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let run_us = now_us() - run_start;
    let p1 = sample_all(&servers);
    let me1 = ProcSample::of(std::process::id());
    let m1 = metrics_all(&servers).await?;
    let fsync_probe_us = match probe {
        Some(p) => p.await?,
        None => Vec::new(),
    };
    let _ = phase_tx.send(Phase::Stop);
    let mut logs = join_all(handles).await;
    for h in desk_handles {
        if let Ok(l) = h.await {
            logs.push(l);
        }
    }
    let in_process = server.in_process;
    let nodes = servers.len();
    let (data_dir, event_id, keep, database_url) = (
        server.data_dir.clone(),
        server.event()?.id.clone(),
        server.keep_data,
        server.database_url.clone(),
    );
    for s in servers {
        s.stop().await;
    }
    let log = match (&database_url, &data_dir) {
        (Some(url), _) => check::read_pg_log(url, &event_id).await?,
        (None, Some(d)) => check::read_log(d, &event_id).await?,
        (None, None) => Vec::new(),
    };
    let check = check::check(&log, &logs);
    Server::discard_data(data_dir, keep);

    let origins: HashMap<u64, u64> = logs
        .iter()
        .flat_map(|l| l.origins.iter().copied())
        .collect();
    let moderator_seqs: std::collections::HashSet<u64> = logs
        .iter()
        .filter(|l| l.role == Role::Moderator)
        .flat_map(|l| l.origins.iter().map(|(s, _)| *s))
        .collect();
    let roles = role_stats(&logs, &origins);
    let mut last_phone: HashMap<u64, u64> = HashMap::new();
    for l in logs.iter().filter(|l| l.role == Role::Participant) {
        for r in l
            .recs
            .iter()
            .filter(|r| r.kind == RecKind::Change && moderator_seqs.contains(&r.seq))
        {
            let e = last_phone.entry(r.seq).or_default();
            *e = (*e).max(r.recv_us);
        }
    }
    let to_last_phone = last_phone
        .iter()
        .filter_map(|(seq, recv)| origins.get(seq).map(|sent| recv.saturating_sub(*sent)))
        .collect();
    let submit_acks: Vec<u64> = logs
        .iter()
        .filter(|l| l.role == Role::Participant)
        .flat_map(|l| l.acks.iter().map(|(us, _)| *us))
        .collect();
    let mod_acks: Vec<u64> = logs
        .iter()
        .filter(|l| l.role == Role::Moderator)
        .flat_map(|l| l.acks.iter().map(|(us, _)| *us))
        .collect();
    let errors: Vec<&String> = logs.iter().flat_map(|l| l.errors.iter()).collect();
    let secs = run_us as f64 / 1e6;
    Ok(EventDayReport {
        halls: o.halls,
        participants: o.participants,
        nodes,
        store: if database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
        .to_string(),
        clients: logs.len(),
        in_process,
        connect_s,
        duration_s: o.duration.as_secs_f64(),
        submitted: shared.submitted.load(Ordering::Relaxed),
        acked: shared.acked.load(Ordering::Relaxed),
        submit_to_ack: Summary::of_us(submit_acks),
        moderator_commands: mod_acks.len(),
        moderator_to_ack: Summary::of_us(mod_acks),
        roles,
        moderator_to_last_phone: Summary::of_us(to_last_phone),
        changes: check.log_changes,
        client_frames_per_s: logs.iter().map(|l| l.frames).sum::<u64>() as f64 / secs,
        server_frames_per_s: m1.delta(&m0, "doithoai_messages_out_total") / secs,
        queue_drops: m1.delta(&m0, "doithoai_queue_drops_total"),
        evictions: logs.iter().map(|l| u64::from(l.evictions)).sum(),
        commits: m1.delta(&m0, "doithoai_commits_total"),
        committed_changes: m1.delta(&m0, "doithoai_committed_changes_total"),
        commit_errors: m1.delta(&m0, "doithoai_commit_errors_total"),
        slowest_commit_ms: m1.get("doithoai_commit_latency_max_seconds") * 1000.0,
        fsync_probe: Summary::of_us(fsync_probe_us),
        server_cpu_cores: p1.cores_since(&p0),
        loadgen_cpu_cores: me1.cores_since(&me0),
        server_cpu_wait: p1.waiting_since(&p0),
        server_rss_before_mib: mib(p0.rss_kib),
        server_rss_after_mib: mib(p1.rss_kib),
        server_peak_rss_mib: mib(p1.peak_rss_kib),
        errors: errors.len(),
        error_examples: errors.iter().take(5).map(|e| e.to_string()).collect(),
        check,
        load_before,
        load_after: load_average(),
    })
}

pub(super) fn role_stats(logs: &[ClientLog], origins: &HashMap<u64, u64>) -> Vec<RoleStats> {
    let order = [
        Role::Moderator,
        Role::Chair,
        Role::Speaker,
        Role::HallOperator,
        Role::Display,
        Role::Participant,
    ];
    order
        .iter()
        .filter_map(|role| {
            let mine: Vec<&ClientLog> = logs.iter().filter(|l| l.role == *role).collect();
            if mine.is_empty() {
                return None;
            }
            let mut sent = Vec::new();
            let mut commit = Vec::new();
            for l in &mine {
                for r in l.recs.iter().filter(|r| r.kind == RecKind::Change) {
                    if let Some(s) = origins.get(&r.seq) {
                        sent.push(r.recv_us.saturating_sub(*s));
                    }
                    commit.push(r.recv_unix_ms - r.at_ms);
                }
            }
            Some(RoleStats {
                role: role.as_str().to_string(),
                clients: mine.len(),
                send_to_receipt: Summary::of_us(sent),
                commit_to_receipt: Summary::of_ms(commit),
                frames: mine.iter().map(|l| l.frames).sum(),
            })
        })
        .collect()
}

// ---------------------------------------------------------------- reconnect storm

#[derive(Debug, Clone)]
pub struct StormOpts {
    pub halls: usize,
    pub participants: usize,
    /// Changes made while every client is away (each must be replayed to all).
    pub missed: usize,
    /// Clients come back within this random delay (0 = all at once).
    pub jitter_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StormReport {
    pub halls: usize,
    pub clients: usize,
    pub missed_changes: usize,
    pub jitter_ms: u64,
    /// From the order to reconnect until the last client held the last change.
    pub caught_up_s: f64,
    pub caught_up_clients: usize,
    /// Per client: reconnect order → caught up.
    pub per_client: Summary,
    /// Changes delivered by replay on the resumed connections.
    pub replayed: u64,
    /// Snapshots sent on resume (a replay that fell back to a full state).
    pub resume_snapshots: u64,
    pub reconnects: u64,
    /// Staff connections dropped as slow consumers during the storm.
    pub queue_drops: f64,
    /// Times the driving moderator had to reconnect (it was one of them).
    pub driver_reconnects: u32,
    pub server_cpu_cores: f64,
    pub check: CheckReport,
    pub load_before: f64,
    pub load_after: f64,
}

pub async fn reconnect_storm(common: &Common, o: &StormOpts) -> Result<StormReport, Error> {
    let load_before = load_average();
    let server = Server::doithoai(&common.server(o.halls)).await?;
    let url = server.ws_url();
    let (phase_tx, phase_rx) = watch::channel(Phase::Quiet);
    let shared = Arc::new(Shared::default());
    let mut specs = staff_specs(&server)?;
    for i in 1..=3 {
        let slot = format!("moderator-{i}");
        specs.push(Spec::staff(
            &slot,
            Role::Moderator,
            Audience::Full,
            &server.token(&slot)?,
        ));
    }
    specs.extend(participant_specs(&server, o.participants, 0.0)?);
    let total = specs.len();
    let handles = launch(
        std::slice::from_ref(&url),
        specs,
        &phase_rx,
        &shared,
        common.connect_batch,
    )
    .await?;
    // The admin seat drives: one question on air, edited again and again
    // (on air, every audience sees each edit).
    let dept = server.event()?.departments[0].id.clone();
    let admin_token = server.token("admin")?;
    let mut admin = super::fanout::Sender::doithoai_on_air(&url, &admin_token, &dept).await?;
    let table = super::fanout::Table::default();
    let _ = phase_tx.send(Phase::Run);
    for _ in 0..5 {
        admin
            .send_one_reconnecting(&url, &admin_token, &table)
            .await?;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let _ = phase_tx.send(Phase::Drop { generation: 1 });
    // Give the server time to see every socket go.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let m = server.metrics().await?;
        let connected: f64 =
            m.0.iter()
                .filter(|(k, _)| k.starts_with("doithoai_connections{"))
                .map(|(_, v)| v)
                .sum();
        if connected <= 1.0 || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut last = 0;
    for _ in 0..o.missed.max(1) {
        last = admin
            .send_one_reconnecting(&url, &admin_token, &table)
            .await?;
    }
    shared.target.store(last, Ordering::Relaxed);
    let p0 = server.sample();
    let t0 = now_us();
    let _ = phase_tx.send(Phase::Resume {
        generation: 1,
        jitter_ms: o.jitter_ms,
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while shared.caught_up.load(Ordering::Relaxed) < total && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let p1 = server.sample();
    // A few more changes after the storm: delivery must simply continue.
    for _ in 0..3 {
        admin
            .send_one_reconnecting(&url, &admin_token, &table)
            .await?;
    }
    let admin_reconnects = admin.reconnects;
    let m1 = server.metrics().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = phase_tx.send(Phase::Stop);
    drop(admin);
    let logs = join_all(handles).await;
    let (data_dir, event_id, keep) = (
        server.data_dir.clone(),
        server.event()?.id.clone(),
        server.keep_data,
    );
    server.stop().await;
    let log = match &data_dir {
        Some(d) => check::read_log(d, &event_id).await?,
        None => Vec::new(),
    };
    let check = check::check(&log, &logs);
    Server::discard_data(data_dir, keep);

    let caught: Vec<u64> = logs
        .iter()
        .filter_map(|l| l.caught_up_us)
        .map(|t| t.saturating_sub(t0))
        .collect();
    let mut replayed = 0;
    let mut resume_snapshots = 0;
    for l in &logs {
        let mut joins = 0;
        for r in &l.recs {
            match r.kind {
                RecKind::Joined => joins += 1,
                RecKind::Change if joins > 1 && r.seq <= last => replayed += 1,
                RecKind::Snapshot if joins > 1 => resume_snapshots += 1,
                _ => {}
            }
        }
    }
    Ok(StormReport {
        halls: o.halls,
        clients: total,
        missed_changes: o.missed.max(1),
        jitter_ms: o.jitter_ms,
        caught_up_s: caught.iter().max().copied().unwrap_or(0) as f64 / 1e6,
        caught_up_clients: caught.len(),
        per_client: Summary::of_us(caught),
        replayed,
        resume_snapshots,
        reconnects: logs
            .iter()
            .map(|l| u64::from(l.connects.saturating_sub(1)))
            .sum(),
        queue_drops: m1.get("doithoai_queue_drops_total"),
        driver_reconnects: admin_reconnects,
        server_cpu_cores: p1.cores_since(&p0),
        check,
        load_before,
        load_after: load_average(),
    })
}

// ---------------------------------------------------------------- submit burst

#[derive(Debug, Clone)]
pub struct BurstOpts {
    pub halls: usize,
    /// Hall operators submitting (one per hall, up to `halls`).
    pub submitters: usize,
    /// Submissions each keeps in flight.
    pub window: usize,
    pub duration: Duration,
    /// Changes per transaction in the batched direct-store baseline.
    pub direct_batch: usize,
    /// Open loop: submissions per second offered by all submitters together,
    /// each sent when due whether or not earlier ones were acknowledged, its
    /// latency counted from when it was due (no coordinated omission).
    /// `None`: closed loop, `window` in flight per submitter, as fast as acked.
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BurstReport {
    pub submitters: usize,
    pub window: usize,
    /// The open loop's offered rate (submissions/s); `None` for the closed loop.
    pub offered_per_s: Option<f64>,
    pub duration_s: f64,
    pub acked: u64,
    pub acked_per_s: f64,
    pub ack: Summary,
    pub refused: u64,
    pub commits: f64,
    pub committed_changes: f64,
    pub mean_batch: f64,
    pub mean_commit_ms: f64,
    pub fsync_idle: Summary,
    pub fsync_during: Summary,
    pub direct_single_per_s: f64,
    pub direct_single: Summary,
    pub direct_batched_per_s: f64,
    pub direct_batch: usize,
    pub server_cpu_cores: f64,
    pub load_before: f64,
    pub load_after: f64,
}

/// write + fsync 512 bytes in `dir` until `until` (µs clock), `pause`
/// between writes (none: as fast as the disk goes; 50 ms: light enough to
/// run beside a measured phase); latencies in µs.
fn fsync_loop(dir: PathBuf, until: u64, pause: Duration) -> Vec<u64> {
    use std::io::{Seek, Write};
    let path = dir.join("fsync-probe");
    let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
    else {
        return Vec::new();
    };
    let block = [7u8; 512];
    let mut out = Vec::new();
    while now_us() < until {
        let t = now_us();
        let ok = f.rewind().is_ok() && f.write_all(&block).is_ok() && f.sync_data().is_ok();
        if !ok {
            break;
        }
        out.push(now_us() - t);
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    let _ = std::fs::remove_file(&path);
    out
}

pub async fn submit_burst(common: &Common, o: &BurstOpts) -> Result<BurstReport, Error> {
    let load_before = load_average();
    let server = Server::doithoai(&common.server(o.halls)).await?;
    let data_dir = server.data_dir.clone().ok_or("no data dir")?;
    let url = server.ws_url();
    let idle_until = now_us() + 2_000_000;
    let dir = data_dir.clone();
    let fsync_idle =
        tokio::task::spawn_blocking(move || fsync_loop(dir, idle_until, Duration::ZERO)).await?;

    // Two passive desks watch every submission arrive, as on the day.
    let (phase_tx, phase_rx) = watch::channel(Phase::Quiet);
    let shared = Arc::new(Shared::default());
    let watchers = vec![
        Spec::staff(
            "moderator-1",
            Role::Moderator,
            Audience::Full,
            &server.token("moderator-1")?,
        ),
        Spec::staff(
            "chair",
            Role::Chair,
            Audience::Staff,
            &server.token("chair")?,
        ),
    ];
    let watcher_handles =
        launch(std::slice::from_ref(&url), watchers, &phase_rx, &shared, 10).await?;

    let halls: Vec<String> = server.event()?.halls.iter().map(|h| h.id.clone()).collect();
    let m0 = server.metrics().await?;
    let p0 = server.sample();
    let start = now_us();
    let until = start + o.duration.as_micros() as u64;
    let dir = data_dir.clone();
    let fsync_during = tokio::task::spawn_blocking(move || fsync_loop(dir, until, Duration::ZERO));
    let mut tasks = Vec::new();
    let submitters = o.submitters.max(1);
    // Open loop: each submitter sends every `submitters / rate` seconds,
    // the submitters' schedules spread evenly over one interval.
    let pace_us = o
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| (submitters as f64 * 1e6 / r).max(1.0) as u64);
    for (i, hall) in halls.iter().cycle().take(submitters).enumerate() {
        let token = server.token(&format!("hall_operator:{hall}"))?;
        let pace = pace_us.map(|p| Pace {
            every_us: p,
            first_us: start + p * i as u64 / submitters as u64,
        });
        tasks.push(tokio::spawn(submitter(
            url.clone(),
            token,
            o.window.max(1),
            until,
            pace,
        )));
    }
    let mut acks = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (a, r) = t.await??;
        acks.extend(a);
        refused += r;
    }
    let secs = (now_us() - start) as f64 / 1e6;
    let p1 = server.sample();
    let m1 = server.metrics().await?;
    let fsync_during = fsync_during.await?;
    let _ = phase_tx.send(Phase::Stop);
    join_all(watcher_handles).await;
    let keep = server.keep_data;
    server.stop().await;
    Server::discard_data(Some(data_dir), keep);

    let (direct_single, direct_single_per_s, direct_batched_per_s) =
        direct_store(common, o.direct_batch).await?;
    let commits = m1.delta(&m0, "doithoai_commits_total");
    let committed = m1.delta(&m0, "doithoai_committed_changes_total");
    let commit_s = m1.delta(&m0, "doithoai_commit_latency_seconds_sum");
    Ok(BurstReport {
        submitters: o.submitters,
        window: o.window,
        offered_per_s: o.rate,
        duration_s: secs,
        acked: acks.len() as u64,
        acked_per_s: acks.len() as f64 / secs,
        ack: Summary::of_us(acks),
        refused,
        commits,
        committed_changes: committed,
        mean_batch: if commits > 0.0 {
            committed / commits
        } else {
            0.0
        },
        mean_commit_ms: if commits > 0.0 {
            commit_s * 1000.0 / commits
        } else {
            0.0
        },
        fsync_idle: Summary::of_us(fsync_idle),
        fsync_during: Summary::of_us(fsync_during),
        direct_single_per_s,
        direct_single,
        direct_batched_per_s,
        direct_batch: o.direct_batch,
        server_cpu_cores: p1.cores_since(&p0),
        load_before,
        load_after: load_average(),
    })
}

/// An open-loop submitter's schedule (µs clock).
#[derive(Debug, Clone, Copy)]
struct Pace {
    every_us: u64,
    first_us: u64,
}

/// Most submissions one open-loop submitter keeps unanswered before it
/// stops sending (the server is then far past the offered rate anyway).
const OPEN_LOOP_MAX_IN_FLIGHT: usize = 4096;

/// A hall operator typing questions: as fast as the server acknowledges
/// them, `window` at a time, or with a `pace`, each when it is due. Returns
/// ack latencies (µs; from when it was due, for a paced one) and refusals.
async fn submitter(
    url: String,
    token: String,
    window: usize,
    until: u64,
    pace: Option<Pace>,
) -> Result<(Vec<u64>, u64), Error> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let mut ws = client::connect(&url).await?;
    ws.send(Message::Text(
        format!("{{\"type\":\"hello\",\"protocol\":1,\"token\":\"{token}\"}}").into(),
    ))
    .await?;
    let mut in_flight: HashMap<u64, u64> = HashMap::new();
    let mut next = 0u64;
    let mut due = pace.map_or(0, |p| p.first_us);
    let mut acks = Vec::new();
    let mut refused = 0;
    loop {
        // Each frame is stamped with when it was due: now (closed loop) or
        // its slot in the schedule (open loop).
        let mut outgoing = Vec::new();
        match pace {
            None => {
                while in_flight.len() + outgoing.len() < window && now_us() < until {
                    outgoing.push(now_us());
                }
            }
            Some(p) => {
                let now = now_us();
                while due <= now
                    && due < until
                    && in_flight.len() + outgoing.len() < OPEN_LOOP_MAX_IN_FLIGHT
                {
                    outgoing.push(due);
                    due += p.every_us;
                }
            }
        }
        for stamp in outgoing {
            next += 1;
            let frame = format!(
                r#"{{"type":"cmd","req":"s{next}","cmd":{{"type":"submit","id":"{}","text":"Câu hỏi thử tải số {next} về việc làm cho thanh niên"}}}}"#,
                uuid::Uuid::new_v4()
            );
            in_flight.insert(next, stamp);
            ws.send(Message::Text(frame.into())).await?;
        }
        let sending = pace.is_some() && due < until;
        if in_flight.is_empty() && !sending {
            break;
        }
        let wait = if sending {
            Duration::from_micros(due.saturating_sub(now_us()))
        } else {
            Duration::from_secs(30)
        };
        let msg = match tokio::time::timeout(wait, ws.next()).await {
            Ok(msg) => msg.ok_or("connection closed")??,
            Err(_) if sending => continue,
            Err(_) => return Err("no reply within 30 s".into()),
        };
        let Message::Text(text) = msg else { continue };
        let head = client::scan(text.as_str());
        let Some(n) = head
            .req
            .and_then(|r| r.strip_prefix('s'))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if let Some(sent) = in_flight.remove(&n) {
            if head.kind == "ack" {
                acks.push(now_us() - sent);
            } else {
                refused += 1;
            }
        }
    }
    let _ = ws.close(None).await;
    Ok((acks, refused))
}

/// The same durable writes without the server: `Store::commit` of one
/// change per transaction, then `batch` per transaction.
async fn direct_store(common: &Common, batch: usize) -> Result<(Summary, f64, f64), Error> {
    use crate::domain::{Actor, QState, Question, QuestionUpdate, Source};
    use crate::store::{sqlite::SqliteStore, Change, Store};
    let dir = common
        .work_dir
        .join(format!("direct-{}", uuid::Uuid::new_v4().simple()));
    let store = SqliteStore::open(&dir).await?;
    let event = super::target::bench_event(12)?;
    store.put_event(&event).await?;
    let actor = Actor::new(Role::HallOperator, "hall_operator:tinh").with_hall("tinh");
    let change = |seq: u64| {
        let now = crate::now_ms();
        Change {
            seq,
            at: now,
            actor: actor.clone(),
            action: "submit".into(),
            questions: vec![QuestionUpdate {
                voter: None,
                from: None,
                from_department: None,
                question: Question {
                    id: uuid::Uuid::new_v4(),
                    hall: "tinh".into(),
                    source: Source::Hall,
                    source_note: None,
                    text: format!("Câu hỏi thử tải số {seq} về việc làm cho thanh niên"),
                    original_text: None,
                    group: None,
                    department: None,
                    state: QState::Pending,
                    reject_reason: None,
                    merged_into: None,
                    merged_from: Vec::new(),
                    votes: 1,
                    halls: Vec::new(),
                    queue_pos: 0,
                    followup: None,
                    display_name: None,
                    hints: None,
                    questioner: None,
                    created_at: now,
                    updated_at: now,
                    on_air_at: None,
                    answered_at: None,
                    submitted_by: "hall_operator:tinh".into(),
                    device_key: None,
                    version: 1,
                    before_merge: None,
                },
            }],
            floor: Vec::new(),
            notes: Vec::new(),
        }
    };
    let mut seq = 0u64;
    let mut lat = Vec::new();
    let t0 = now_us();
    while now_us() - t0 < 3_000_000 {
        let c = change(seq + 1);
        let t = now_us();
        store
            .commit(&event.id, seq, std::slice::from_ref(&c))
            .await?;
        lat.push(now_us() - t);
        seq += 1;
    }
    let single_rate = lat.len() as f64 / ((now_us() - t0) as f64 / 1e6);
    let t0 = now_us();
    let mut n = 0usize;
    while now_us() - t0 < 3_000_000 {
        let changes: Vec<Change> = (1..=batch.max(1) as u64).map(|i| change(seq + i)).collect();
        store.commit(&event.id, seq, &changes).await?;
        seq += changes.len() as u64;
        n += changes.len();
    }
    let batched_rate = n as f64 / ((now_us() - t0) as f64 / 1e6);
    store.pool().close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((Summary::of_us(lat), single_rate, batched_rate))
}

// ---------------------------------------------------------------- memory and capacity

/// Which servers to compare.
#[derive(Debug, Clone)]
pub struct Baselines {
    pub kinds: Vec<super::target::Kind>,
    pub repo_dir: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct MemoryRow {
    pub server: String,
    pub clients: usize,
    pub rss_before_mib: f64,
    pub rss_after_mib: f64,
    pub kib_per_connection: f64,
    pub connect_s: f64,
}

async fn start(kind: super::target::Kind, common: &Common, b: &Baselines) -> Result<Server, Error> {
    match kind {
        super::target::Kind::Doithoai => Server::doithoai(&common.server(12)).await,
        k => Server::baseline(k, &b.repo_dir).await,
    }
}

/// Who the light receivers are on doithoai.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receivers {
    /// Phones in hall 1 (they see only the question on air).
    Phones,
    /// Connections on the all-halls display seat (the public audience: every
    /// approved question), so that several broadcasters can each edit their
    /// own question concurrently and every receiver gets every edit.
    Displays,
}

/// Connect `n` light receivers until all are ready.
async fn connect_receivers(
    server: &Server,
    n: usize,
    who: Receivers,
    table: &Arc<super::fanout::Table>,
    stop: &watch::Receiver<bool>,
    batch: usize,
) -> Result<Vec<JoinHandle<()>>, Error> {
    let hello = match (server.kind, who) {
        (super::target::Kind::Doithoai, Receivers::Phones) => {
            let e = server.event()?;
            let (event, hall) = (e.id.clone(), e.halls[0].id.clone());
            Some(Box::new(move || {
                format!(
                    "{{\"type\":\"hello\",\"protocol\":1,\"event\":\"{event}\",\"hall\":\"{hall}\",\"device\":\"{}\"}}",
                    uuid::Uuid::new_v4()
                )
            }) as Box<dyn Fn() -> String + Send>)
        }
        (super::target::Kind::Doithoai, Receivers::Displays) => {
            let token = server.token("display:all")?;
            Some(Box::new(move || {
                format!("{{\"type\":\"hello\",\"protocol\":1,\"token\":\"{token}\"}}")
            }) as Box<dyn Fn() -> String + Send>)
        }
        _ => None,
    };
    let base = table.ready.load(Ordering::Relaxed);
    let mut handles = Vec::with_capacity(n);
    let url = server.ws_url();
    while handles.len() < n {
        let k = batch.min(n - handles.len());
        for _ in 0..k {
            let h = hello.as_ref().map(|f| f());
            handles.push(tokio::spawn(super::fanout::receiver(
                url.clone(),
                h,
                table.clone(),
                stop.clone(),
            )));
        }
        let want = base + handles.len();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while table.ready.load(Ordering::Relaxed) + table.lost.load(Ordering::Relaxed) < want {
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "only {} of {want} receivers ready",
                    table.ready.load(Ordering::Relaxed)
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(handles)
}

/// RSS per idle connection for each server and client count. With
/// `questions`, doithoai first gets that many approved questions, so every
/// phone's snapshot carries them (a baseline has no such state).
pub async fn memory(
    common: &Common,
    b: &Baselines,
    counts: &[usize],
    questions: usize,
) -> Result<Vec<MemoryRow>, Error> {
    let mut rows = Vec::new();
    for &kind in &b.kinds {
        for &n in counts {
            let server = start(kind, common, b).await?;
            if kind == super::target::Kind::Doithoai && questions > 0 {
                super::fanout::Sender::populate(
                    &server.ws_url(),
                    &server.token("moderator-1")?,
                    questions,
                )
                .await?;
            }
            let table = Arc::new(super::fanout::Table::default());
            let (stop_tx, stop_rx) = watch::channel(false);
            // Warm up: the first few connections allocate the runtime's pools.
            let warm =
                connect_receivers(&server, 10, Receivers::Phones, &table, &stop_rx, 10).await?;
            tokio::time::sleep(Duration::from_millis(500)).await;
            let before = server.sample();
            let t0 = now_us();
            let handles = connect_receivers(
                &server,
                n,
                Receivers::Phones,
                &table,
                &stop_rx,
                common.connect_batch,
            )
            .await?;
            let connect_s = (now_us() - t0) as f64 / 1e6;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let after = server.sample();
            let _ = stop_tx.send(true);
            for h in warm.into_iter().chain(handles) {
                let _ = h.await;
            }
            let (data_dir, keep) = (server.data_dir.clone(), server.keep_data);
            server.stop().await;
            Server::discard_data(data_dir, keep);
            rows.push(MemoryRow {
                server: if kind == super::target::Kind::Doithoai && questions > 0 {
                    format!("doithoai, {questions} approved questions")
                } else {
                    kind.name().to_string()
                },
                clients: n,
                rss_before_mib: mib(before.rss_kib),
                rss_after_mib: mib(after.rss_kib),
                kib_per_connection: (after.rss_kib as f64 - before.rss_kib as f64) / n as f64,
                connect_s,
            });
        }
    }
    Ok(rows)
}

#[derive(Debug, Clone)]
pub struct CapacityOpts {
    pub ladder: Vec<usize>,
    pub step: Duration,
    pub broadcasters: usize,
    /// Each broadcaster waits at least this long between its messages.
    pub interval: Duration,
    pub payload_bytes: usize,
    pub p95_limit_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CapacityRow {
    pub server: String,
    pub clients: usize,
    /// Broadcasters sending at once.
    pub broadcasters: usize,
    pub broadcasts: usize,
    /// Broadcasts that reached every connected client.
    pub complete: usize,
    /// Send → receipt by the last client, per broadcast.
    pub round_trip: Summary,
    pub frames_per_s: f64,
    pub mean_frame_bytes: f64,
    pub server_cpu_cores: f64,
    pub loadgen_cpu_cores: f64,
    pub server_cpu_wait: f64,
    pub server_rss_mib: f64,
    pub lost_clients: usize,
    pub pass: bool,
}

pub async fn capacity(
    common: &Common,
    b: &Baselines,
    o: &CapacityOpts,
) -> Result<Vec<CapacityRow>, Error> {
    let mut rows = Vec::new();
    for &kind in &b.kinds {
        let server = start(kind, common, b).await?;
        let table = Arc::new(super::fanout::Table::default());
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut senders = Vec::new();
        for i in 0..o.broadcasters {
            senders.push(match kind {
                super::target::Kind::Doithoai => {
                    let slot = if i < 3 {
                        format!("moderator-{}", i + 1)
                    } else {
                        "admin".to_string()
                    };
                    super::fanout::Sender::doithoai(&server.ws_url(), &server.token(&slot)?).await?
                }
                _ => {
                    super::fanout::Sender::baseline(
                        &server.ws_url(),
                        o.payload_bytes,
                        1 + i as u64,
                        o.broadcasters as u64,
                    )
                    .await?
                }
            });
        }
        let mut handles = Vec::new();
        for &n in &o.ladder {
            let more = n.saturating_sub(handles.len());
            handles.extend(
                connect_receivers(
                    &server,
                    more,
                    Receivers::Displays,
                    &table,
                    &stop_rx,
                    common.connect_batch,
                )
                .await?,
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
            let lost0 = table.lost.load(Ordering::Relaxed);
            let frames0 = table.frames.load(Ordering::Relaxed);
            let bytes0 = table.bytes.load(Ordering::Relaxed);
            let p0 = server.sample();
            let me0 = ProcSample::of(std::process::id());
            let t0 = now_us();
            let until = t0 + o.step.as_micros() as u64;
            // Run the broadcasters for one step, each closed-loop.
            let mut running = Vec::new();
            for mut s in senders.drain(..) {
                let table = table.clone();
                let interval = o.interval;
                running.push(tokio::spawn(async move {
                    let mut keys = 0usize;
                    while now_us() < until {
                        let t = tokio::time::Instant::now();
                        if s.send_one(&table).await.is_err() {
                            break;
                        }
                        keys += 1;
                        tokio::time::sleep_until(t + interval).await;
                    }
                    (s, keys)
                }));
            }
            for r in running {
                let (s, _) = r.await?;
                senders.push(s);
            }
            // Let the last broadcasts land.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let p1 = server.sample();
            let me1 = ProcSample::of(std::process::id());
            let secs = (now_us() - t0) as f64 / 1e6;
            let live = n - (table.lost.load(Ordering::Relaxed) - lost0).min(n);
            let mut trips = Vec::new();
            let mut broadcasts = 0;
            let mut complete = 0;
            for k in 0..super::fanout::SLOTS {
                let sent = table.sent[k].load(Ordering::Relaxed);
                if sent < t0 || sent == 0 {
                    continue;
                }
                broadcasts += 1;
                let got = table.receivers[k].load(Ordering::Relaxed) as usize;
                let last = table.last_recv[k].load(Ordering::Relaxed);
                if got >= live {
                    complete += 1;
                    trips.push(last.saturating_sub(sent));
                } else {
                    // Not everyone got it: count as beyond any limit.
                    trips.push(u64::MAX / 2);
                }
            }
            let round_trip = Summary::of_us(trips);
            let frames = table.frames.load(Ordering::Relaxed) - frames0;
            let pass = broadcasts > 0 && round_trip.p95 <= o.p95_limit_ms;
            rows.push(CapacityRow {
                server: kind.name().to_string(),
                clients: n,
                broadcasters: o.broadcasters,
                broadcasts,
                complete,
                round_trip,
                frames_per_s: frames as f64 / secs,
                mean_frame_bytes: if frames > 0 {
                    (table.bytes.load(Ordering::Relaxed) - bytes0) as f64 / frames as f64
                } else {
                    0.0
                },
                server_cpu_cores: p1.cores_since(&p0),
                loadgen_cpu_cores: me1.cores_since(&me0),
                server_cpu_wait: p1.waiting_since(&p0),
                server_rss_mib: mib(p1.rss_kib),
                lost_clients: n - live,
                pass,
            });
            if !pass {
                break;
            }
        }
        let _ = stop_tx.send(true);
        drop(senders);
        for h in handles {
            let _ = h.await;
        }
        let (data_dir, keep) = (server.data_dir.clone(), server.keep_data);
        server.stop().await;
        Server::discard_data(data_dir, keep);
        // Fresh table per server: keys restart.
    }
    Ok(rows)
}
