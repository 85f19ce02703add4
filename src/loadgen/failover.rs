//! kill -9 under load. The event day runs (every staff seat, moderator desks,
//! phones submitting) and, part-way through, a node is killed with SIGKILL:
//!
//! - `loadgen kill9`: one node on SQLite, killed and started again on the same
//!   data directory and address; every client reconnects to it.
//! - `loadgen national`: several nodes on one PostgreSQL behind HAProxy
//!   (started from the shipped `deploy/haproxy.cfg`, see [`super::proxy`]);
//!   one node is killed and stays dead, its clients come back through the
//!   proxies on the others.
//!
//! Beyond what one process's sockets allow, the clients run in worker
//! processes ([`super::worker`]); the moderator desks stay here.
//!
//! Judged afterwards against the store's log: every acknowledged submission
//! is there exactly once, at the sequence number its ack named (anything
//! else is *acknowledged but lost*); every client's deliveries pass the
//! usual check (no gap, no repeat, nothing unexpected) across its reconnects.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::check::{self, CheckReport};
use super::client::{ClientLog, Phase, RecKind, Shared, Spec};
use super::moderator::{self, Desk};
use super::proxy::{self, Haproxy};
use super::scenario::{
    join_all, launch, load_average, participant_specs, role_stats, staff_specs, Common, RoleStats,
};
use super::stats::{now_us, Summary};
use super::target::{doithoai_pg_nodes, open_files_limit, Behind, PgBenchDb, Placement, Server};
use super::worker::{worker_count, Workers};
use super::Error;
use crate::domain::{Audience, Role};

#[derive(Debug, Clone)]
pub struct FailoverOpts {
    pub halls: usize,
    pub participants: usize,
    /// Submissions per second, all phones together.
    pub submit_rate: f64,
    /// Questions approved and assigned per second, all desks together.
    pub moderate_rate: f64,
    pub on_air_every: Duration,
    /// The whole measured phase; the kill happens `kill_after` into it.
    pub duration: Duration,
    pub kill_after: Duration,
    /// 1: SQLite, killed and restarted. More: PostgreSQL behind HAProxy, one killed.
    pub nodes: usize,
    /// HAProxy processes (each holds at most `maxconn` connections, two
    /// open files each); clients alternate between them. 0: as many as needed.
    pub proxies: usize,
    /// Clients worker processes (0: none while the clients fit in this
    /// process, else as many as the sockets need).
    pub workers: usize,
    /// Maintenance database for the bench database (PostgreSQL runs only).
    pub pg_admin: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FailoverReport {
    pub halls: usize,
    pub participants: usize,
    pub nodes: usize,
    pub proxies: usize,
    /// Clients worker processes (0: every client in the orchestrator).
    pub workers: usize,
    /// "sqlite" or "postgres".
    pub store: String,
    pub clients: usize,
    pub connect_s: f64,
    /// Seconds into the measured phase when the node was killed.
    pub killed_at_s: f64,
    /// kill -9 → the restarted server listening again (SQLite only).
    pub restart_s: Option<f64>,
    pub submitted: u64,
    pub acked: u64,
    /// Acknowledged submissions not in the log.
    pub acked_lost: u64,
    /// Acknowledged submissions in the log more than once.
    pub acked_repeated: u64,
    /// Acknowledged submissions in the log at another seq than acknowledged.
    pub acked_wrong_seq: u64,
    /// Clients that joined again after the kill.
    pub clients_back: usize,
    /// kill → each such client's next welcome, ms.
    pub back: Summary,
    /// Send → receipt per role, before the kill (the steady part of the run).
    pub roles_before_kill: Vec<RoleStats>,
    /// Per moderator action before the kill: send → the last phone's receipt.
    pub moderator_to_last_phone_before_kill: Summary,
    /// The same over the whole run, the outage and the catch-up included.
    pub roles: Vec<RoleStats>,
    pub errors: usize,
    pub error_examples: Vec<String>,
    pub check: CheckReport,
    pub load_before: f64,
    pub load_after: f64,
}

impl FailoverReport {
    /// Nothing acknowledged lost or doubled, and every delivery correct.
    pub fn ok(&self) -> bool {
        self.acked_lost == 0
            && self.acked_repeated == 0
            && self.acked_wrong_seq == 0
            && self.check.ok()
    }
}

pub async fn failover(common: &Common, o: &FailoverOpts) -> Result<FailoverReport, Error> {
    if !matches!(common.placement, Placement::Child) {
        return Err("kill -9 runs its nodes as child processes (no --url, no --in-process)".into());
    }
    let load_before = load_average();
    if o.nodes <= 1 {
        let server = Server::doithoai(&common.server(o.halls)).await?;
        return run(common, o, vec![server], Vec::new(), load_before).await;
    }
    let db = PgBenchDb::create(&o.pg_admin).await?;
    let report = async {
        let servers =
            doithoai_pg_nodes(&common.server(o.halls), &db.url, o.nodes, Behind::Proxy).await?;
        let addrs: Vec<_> = servers.iter().map(|s| s.addr).collect();
        // HAProxy holds two files per connection, plus a few of its own.
        let maxconn = (open_files_limit().saturating_sub(200) / 2).max(100);
        let clients = o.participants + 2 * o.halls + 13;
        // The killed node's clients come back on the others, each of which
        // is one process under the same open-files limit.
        let survivors = o.nodes - 1;
        if clients.div_ceil(survivors) + 100 > open_files_limit() {
            eprintln!(
                "warning: after the kill each of the {survivors} surviving nodes must hold about \
                 {} connections, over this machine's open-files limit of {}: some clients \
                 will not get back",
                clients.div_ceil(survivors),
                open_files_limit()
            );
        }
        let proxies = if o.proxies > 0 {
            o.proxies
        } else {
            clients.div_ceil(maxconn * 9 / 10).max(1)
        };
        let mut started = Vec::with_capacity(proxies);
        for i in 0..proxies {
            let log = common
                .work_dir
                .join(format!("haproxy-{}-{i}.log", std::process::id()));
            started.push(Haproxy::start(&proxy::shipped_config(), &addrs, maxconn, &log).await?);
        }
        run(common, o, servers, started, load_before).await
    }
    .await;
    let dropped = db.drop_db().await;
    let report = report?;
    dropped?;
    Ok(report)
}

async fn run(
    common: &Common,
    o: &FailoverOpts,
    mut servers: Vec<Server>,
    proxies: Vec<Haproxy>,
    load_before: f64,
) -> Result<FailoverReport, Error> {
    let server = servers.first().ok_or("no server")?;
    let urls: Vec<String> = if proxies.is_empty() {
        servers.iter().map(Server::ws_url).collect()
    } else {
        proxies.iter().map(Haproxy::ws_url).collect()
    };
    let (phase_tx, phase_rx) = watch::channel(Phase::Quiet);
    let shared = Arc::new(Shared::default());
    let started = now_us();
    let mut specs = staff_specs(server)?;
    specs.extend(participant_specs(server, o.participants, o.submit_rate)?);
    let (handles, mut workers) = match worker_count(o.workers, specs.len()) {
        0 => (
            launch(&urls, specs, &phase_rx, &shared, common.connect_batch).await?,
            None,
        ),
        n => (
            Vec::new(),
            Some(Workers::start(&urls, specs, n, common.connect_batch, &common.work_dir).await?),
        ),
    };
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

    let run_start = now_us();
    set_phase(&phase_tx, &mut workers, Phase::Run).await?;
    tokio::time::sleep(o.kill_after).await;
    // With several nodes the last one dies (the first owns the shared directory).
    let victim = servers.len() - 1;
    let kill_us = now_us();
    servers[victim].kill9().await?;
    let restart_s = if servers.len() == 1 {
        servers[victim].restart().await?;
        Some((now_us() - kill_us) as f64 / 1e6)
    } else {
        None
    };
    tokio::time::sleep(o.duration.saturating_sub(o.kill_after)).await;
    set_phase(&phase_tx, &mut workers, Phase::Quiet).await?;
    // Let in-flight commands finish, queues drain and late resumers catch
    // up: until every cut client is back and nothing has arrived anywhere
    // for 2 s (at most 60 s; whoever is still behind then counts as missing).
    let quiet_from = now_us();
    // Workers report every 250 ms, so a 500 ms sample sees their progress.
    let received = |w: &Option<Workers>| {
        shared.received.load(Ordering::Relaxed) + w.as_ref().map_or(0, Workers::received)
    };
    let away = |w: &Option<Workers>| {
        shared.away.load(Ordering::Relaxed) + w.as_ref().map_or(0, Workers::away)
    };
    let mut seen = received(&workers);
    let mut still = 0;
    while still < 4 && now_us() - quiet_from < 60_000_000 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = received(&workers);
        let back = away(&workers) == 0;
        still = if now == seen && back { still + 1 } else { 0 };
        seen = now;
    }
    let _ = phase_tx.send(Phase::Stop);
    let mut logs = join_all(handles).await;
    let worker_count = workers.as_ref().map_or(0, Workers::len);
    let mut submitted = shared.submitted.load(Ordering::Relaxed);
    if let Some(w) = workers {
        let finished = w.finish(Duration::from_secs(180)).await?;
        logs.extend(finished.logs);
        submitted += finished.submitted;
    }
    for h in desk_handles {
        if let Ok(l) = h.await {
            logs.push(l);
        }
    }
    let nodes = servers.len();
    let server = servers.first().ok_or("no server")?;
    let (data_dir, event_id, keep, database_url) = (
        server.data_dir.clone(),
        server.event()?.id.clone(),
        server.keep_data,
        server.database_url.clone(),
    );
    let proxy_count = proxies.len();
    for p in proxies {
        p.stop().await;
    }
    for s in servers {
        s.stop().await;
    }
    let log = match (&database_url, &data_dir) {
        (Some(url), _) => check::read_pg_log(url, &event_id).await?,
        (None, Some(d)) => check::read_log(d, &event_id).await?,
        (None, None) => return Err("no store to check against".into()),
    };
    let check = check::check(&log, &logs);
    Server::discard_data(data_dir, keep);

    // Every acknowledged submission, looked up in the log.
    let mut in_log: HashMap<String, Vec<u64>> = HashMap::new();
    for c in log.iter().filter(|c| c.action == "submit") {
        for q in &c.questions {
            in_log
                .entry(q.question.id.to_string())
                .or_default()
                .push(c.seq);
        }
    }
    let (mut lost, mut repeated, mut wrong_seq, mut acked) = (0, 0, 0, 0u64);
    for (id, seq) in logs.iter().flat_map(|l| l.acked_ids.iter()) {
        acked += 1;
        match in_log.get(&id.to_string()).map(Vec::as_slice) {
            None | Some([]) => lost += 1,
            Some([s]) if s == seq => {}
            Some([_]) => wrong_seq += 1,
            Some(_) => repeated += 1,
        }
    }

    let back: Vec<u64> = logs
        .iter()
        .filter_map(|l| {
            l.recs
                .iter()
                .find(|r| r.kind == RecKind::Joined && r.recv_us > kill_us)
                .map(|r| r.recv_us - kill_us)
        })
        .collect();
    let origins: HashMap<u64, u64> = logs
        .iter()
        .flat_map(|l| l.origins.iter().copied())
        .collect();
    let before: Vec<ClientLog> = logs
        .iter()
        .map(|l| {
            let mut c = l.clone();
            c.recs.retain(|r| r.recv_us < kill_us);
            c
        })
        .collect();
    let errors: Vec<&String> = logs.iter().flat_map(|l| l.errors.iter()).collect();
    Ok(FailoverReport {
        halls: o.halls,
        participants: o.participants,
        nodes,
        proxies: proxy_count,
        workers: worker_count,
        store: if database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
        .to_string(),
        clients: logs.len(),
        connect_s,
        killed_at_s: (kill_us - run_start) as f64 / 1e6,
        restart_s,
        submitted,
        acked,
        acked_lost: lost,
        acked_repeated: repeated,
        acked_wrong_seq: wrong_seq,
        clients_back: back.len(),
        back: Summary::of_us(back),
        roles_before_kill: role_stats(&before, &origins),
        moderator_to_last_phone_before_kill: to_last_phone(&before, &origins),
        roles: role_stats(&logs, &origins),
        errors: errors.len(),
        error_examples: errors.iter().take(5).map(|e| e.to_string()).collect(),
        check,
        load_before,
        load_after: load_average(),
    })
}

/// Tell the desks and local clients, and every worker, the phase.
async fn set_phase(
    local: &watch::Sender<Phase>,
    workers: &mut Option<Workers>,
    p: Phase,
) -> Result<(), Error> {
    let _ = local.send(p);
    match workers {
        Some(w) => w.phase(p).await,
        None => Ok(()),
    }
}

/// Per moderator action: its send → the last phone's receipt (µs samples).
fn to_last_phone(logs: &[ClientLog], origins: &HashMap<u64, u64>) -> Summary {
    let moderator_seqs: HashSet<u64> = logs
        .iter()
        .filter(|l| l.role == Role::Moderator)
        .flat_map(|l| l.origins.iter().map(|(s, _)| *s))
        .collect();
    let mut last: HashMap<u64, u64> = HashMap::new();
    for l in logs.iter().filter(|l| l.role == Role::Participant) {
        for r in l
            .recs
            .iter()
            .filter(|r| r.kind == RecKind::Change && moderator_seqs.contains(&r.seq))
        {
            let e = last.entry(r.seq).or_default();
            *e = (*e).max(r.recv_us);
        }
    }
    Summary::of_us(
        last.iter()
            .filter_map(|(seq, recv)| origins.get(seq).map(|sent| recv.saturating_sub(*sent)))
            .collect(),
    )
}
