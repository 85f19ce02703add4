//! Clients in several processes. One process here holds at most about
//! 19,000 sockets (the open-files hard limit is 20,000 and cannot be raised),
//! so a run with more clients (`loadgen national` at 60,000 phones) spreads
//! them over worker processes of the same binary (`loadgen clients-worker
//! JOB`), each connecting its slice with the usual [`launch`] code. The
//! orchestrator keeps the moderator desks, decides the phases and judges
//! everything at the end. It talks to each worker through plain pipes:
//!
//! - the job (clock origin, URLs, client specs, where the logs go) is a JSON
//!   file named on the worker's command line;
//! - phases go down the worker's stdin, a word a line: `run`, `quiet`,
//!   `stop`; the end of stdin counts as `stop`, so a worker whose
//!   orchestrator died ends too;
//! - counters come up its stdout every 250 ms (`counts ready received away
//!   submitted acked`), so the orchestrator's wait for quiet still works;
//!   after `stop`, once every client has finished and its log is written
//!   (JSON lines, one [`ClientLog`] each), a last `counts` line and `done`.
//!
//! Times compare across processes because a worker adopts the
//! orchestrator's clock origin on the machine's monotonic clock
//! ([`super::stats::adopt_origin`]).

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

use super::client::{ClientLog, Phase, Shared, Spec};
use super::scenario::{join_all, launch};
use super::stats::{adopt_origin, origin_us};
use super::target::{open_files_limit, sibling_binary};
use super::Error;

/// What one worker process is to do.
#[derive(Debug, Serialize, Deserialize)]
pub struct Job {
    /// The orchestrator's clock origin (`CLOCK_MONOTONIC`, µs).
    pub origin_us: u64,
    /// Where clients connect; consecutive clients alternate between them.
    pub urls: Vec<String>,
    pub specs: Vec<Spec>,
    /// Handshakes in flight at once while connecting.
    pub connect_batch: usize,
    /// Where the worker writes its clients' logs at the end.
    pub logs: PathBuf,
}

/// Most clients one process should hold: nine tenths of its open-files
/// limit (the rest: the runtime, pipes, files, a margin).
pub fn clients_per_process() -> usize {
    (open_files_limit() * 9 / 10).max(100)
}

/// Worker processes for `clients` clients: `asked` if set, else none while
/// they fit in this process, else as many as the sockets need.
pub fn worker_count(asked: usize, clients: usize) -> usize {
    if asked > 0 {
        asked
    } else if clients <= clients_per_process() {
        0
    } else {
        clients.div_ceil(clients_per_process())
    }
}

// ---------------------------------------------------------------- the worker's side

/// `loadgen clients-worker JOB`: run one job until `stop`, write the logs.
pub async fn serve(job_file: &Path) -> Result<(), Error> {
    let job: Job =
        serde_json::from_reader(std::io::BufReader::new(std::fs::File::open(job_file)?))?;
    adopt_origin(job.origin_us)?;
    let (phase_tx, phase_rx) = watch::channel(Phase::Quiet);
    tokio::spawn(follow_orders(phase_tx));
    let shared = Arc::new(Shared::default());
    let reporter = tokio::spawn({
        let shared = shared.clone();
        async move {
            loop {
                report_counts(&shared);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    });
    let handles = match launch(&job.urls, job.specs, &phase_rx, &shared, job.connect_batch).await {
        Ok(h) => h,
        Err(e) => {
            println!("error {}", e.to_string().replace('\n', " "));
            return Err(e);
        }
    };
    let mut phase = phase_rx.clone();
    while *phase.borrow_and_update() != Phase::Stop {
        if phase.changed().await.is_err() {
            break;
        }
    }
    let logs = join_all(handles).await;
    let mut out = BufWriter::new(std::fs::File::create(&job.logs)?);
    for l in &logs {
        serde_json::to_writer(&mut out, l)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    reporter.abort();
    report_counts(&shared);
    println!("done {}", logs.len());
    Ok(())
}

/// Phases from stdin, a word a line, until `stop` or the end of input.
async fn follow_orders(phase: watch::Sender<Phase>) {
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        let p = match lines.next_line().await {
            Ok(Some(line)) => match line.trim() {
                "run" => Phase::Run,
                "quiet" => Phase::Quiet,
                "stop" => Phase::Stop,
                _ => continue,
            },
            // The orchestrator is gone: stop rather than linger.
            _ => Phase::Stop,
        };
        let _ = phase.send(p);
        if p == Phase::Stop {
            return;
        }
    }
}

fn report_counts(s: &Shared) {
    // stdout is line-buffered: each line reaches the pipe whole.
    println!(
        "counts {} {} {} {} {}",
        s.ready.load(Ordering::Relaxed),
        s.received.load(Ordering::Relaxed),
        s.away.load(Ordering::Relaxed),
        s.submitted.load(Ordering::Relaxed),
        s.acked.load(Ordering::Relaxed),
    );
}

// ---------------------------------------------------------------- the orchestrator's side

/// The last counters a worker reported, and how it is doing.
#[derive(Default)]
struct Counts {
    ready: AtomicUsize,
    received: AtomicU64,
    away: AtomicU64,
    submitted: AtomicU64,
    acked: AtomicU64,
    done: AtomicBool,
    /// Its stdout closed (it exited, or is about to).
    gone: AtomicBool,
    error: Mutex<Option<String>>,
}

impl Counts {
    fn read_line(&self, line: &str) {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("counts") => {
                let n: Vec<u64> = words.filter_map(|w| w.parse().ok()).collect();
                if let [ready, received, away, submitted, acked] = n[..] {
                    self.ready.store(ready as usize, Ordering::Relaxed);
                    self.received.store(received, Ordering::Relaxed);
                    self.away.store(away, Ordering::Relaxed);
                    self.submitted.store(submitted, Ordering::Relaxed);
                    self.acked.store(acked, Ordering::Relaxed);
                }
            }
            Some("done") => self.done.store(true, Ordering::Relaxed),
            Some("error") => {
                if let Ok(mut e) = self.error.lock() {
                    *e = Some(line.trim_start_matches("error ").to_string());
                }
            }
            _ => {}
        }
    }

    fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }
}

/// One running worker process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    counts: Arc<Counts>,
    clients: usize,
    job_file: PathBuf,
    logs_file: PathBuf,
    stderr_file: PathBuf,
}

/// However a run ends, a worker's files go (the job alone can be tens of
/// megabytes); its child process is killed on drop (`kill_on_drop`).
impl Drop for Worker {
    fn drop(&mut self) {
        for f in [&self.job_file, &self.logs_file, &self.stderr_file] {
            let _ = std::fs::remove_file(f);
        }
    }
}

impl Worker {
    fn failure(&self, what: &str) -> Error {
        let stderr = std::fs::read_to_string(&self.stderr_file).unwrap_or_default();
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        format!(
            "clients worker {} {what}: {} {tail}",
            self.job_file.display(),
            self.counts.error().unwrap_or_default()
        )
        .into()
    }
}

/// Clients spread over worker processes (see the module's documentation).
pub struct Workers {
    procs: Vec<Worker>,
}

impl Workers {
    /// Start `n` workers sharing `specs` round-robin (each gets a like mix of
    /// staff and phones), all connecting to `urls`; returns once every
    /// client of every worker holds its first snapshot. Files go to `dir`.
    pub async fn start(
        urls: &[String],
        specs: Vec<Spec>,
        n: usize,
        connect_batch: usize,
        dir: &Path,
    ) -> Result<Workers, Error> {
        let n = n.max(1);
        let mut slices: Vec<Vec<Spec>> = (0..n).map(|_| Vec::new()).collect();
        for (i, s) in specs.into_iter().enumerate() {
            slices[i % n].push(s);
        }
        let binary = sibling_binary("loadgen")?;
        let tag = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
        let mut procs = Vec::with_capacity(n);
        for (i, specs) in slices.into_iter().enumerate() {
            let job_file = dir.join(format!("clients-worker-{tag}-{i}.json"));
            let logs_file = dir.join(format!("clients-worker-{tag}-{i}.logs"));
            let stderr_file = dir.join(format!("clients-worker-{tag}-{i}.stderr"));
            let clients = specs.len();
            let job = Job {
                origin_us: origin_us(),
                urls: urls.to_vec(),
                specs,
                // The workers connect at once: together, no more in flight than asked.
                connect_batch: (connect_batch / n).max(25),
                logs: logs_file.clone(),
            };
            let mut w = BufWriter::new(std::fs::File::create(&job_file)?);
            serde_json::to_writer(&mut w, &job)?;
            w.flush()?;
            let mut child = Command::new(&binary)
                .arg("clients-worker")
                .arg(&job_file)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(std::fs::File::create(&stderr_file)?))
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
            let stdin = child.stdin.take().ok_or("worker without stdin")?;
            let stdout = child.stdout.take().ok_or("worker without stdout")?;
            let counts = Arc::new(Counts::default());
            tokio::spawn({
                let counts = counts.clone();
                async move {
                    let mut lines = tokio::io::BufReader::new(stdout).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        counts.read_line(&line);
                    }
                    counts.gone.store(true, Ordering::Relaxed);
                }
            });
            procs.push(Worker {
                child,
                stdin,
                counts,
                clients,
                job_file,
                logs_file,
                stderr_file,
            });
        }
        let workers = Workers { procs };
        // Each worker gives up by itself after 60 s without progress in a
        // batch; this only bounds the whole.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(900);
        loop {
            if let Some(w) = workers
                .procs
                .iter()
                .find(|w| w.counts.error().is_some() || w.counts.gone.load(Ordering::Relaxed))
            {
                return Err(w.failure("failed while connecting"));
            }
            if workers
                .procs
                .iter()
                .all(|w| w.counts.ready.load(Ordering::Relaxed) >= w.clients)
            {
                return Ok(workers);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!(
                    "only {} of {} workers' clients joined within 900 s",
                    workers.ready(),
                    workers.clients()
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Tell every worker the phase (only run, quiet and stop travel).
    pub async fn phase(&mut self, p: Phase) -> Result<(), Error> {
        let word: &[u8] = match p {
            Phase::Run => b"run\n",
            Phase::Quiet => b"quiet\n",
            Phase::Stop => b"stop\n",
            _ => return Err("only run, quiet and stop reach clients workers".into()),
        };
        for w in &mut self.procs {
            w.stdin.write_all(word).await?;
            w.stdin.flush().await?;
        }
        Ok(())
    }

    fn sum(&self, f: impl Fn(&Counts) -> u64) -> u64 {
        self.procs.iter().map(|w| f(&w.counts)).sum()
    }

    pub fn clients(&self) -> usize {
        self.procs.iter().map(|w| w.clients).sum()
    }

    pub fn len(&self) -> usize {
        self.procs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    pub fn ready(&self) -> usize {
        self.sum(|c| c.ready.load(Ordering::Relaxed) as u64) as usize
    }

    /// Changes and snapshots received by the workers' clients, as last reported.
    pub fn received(&self) -> u64 {
        self.sum(|c| c.received.load(Ordering::Relaxed))
    }

    /// The workers' clients that lost their connection and are not back yet.
    pub fn away(&self) -> u64 {
        self.sum(|c| c.away.load(Ordering::Relaxed))
    }

    pub fn submitted(&self) -> u64 {
        self.sum(|c| c.submitted.load(Ordering::Relaxed))
    }

    /// Stop every worker, wait for their logs (at most `limit`), read them
    /// and remove the files.
    pub async fn finish(mut self, limit: Duration) -> Result<Finished, Error> {
        self.phase(Phase::Stop).await?;
        let deadline = tokio::time::Instant::now() + limit;
        let mut logs = Vec::with_capacity(self.clients());
        let mut submitted = 0;
        for mut w in self.procs {
            loop {
                if w.counts.done.load(Ordering::Relaxed) {
                    break;
                }
                if w.counts.gone.load(Ordering::Relaxed) || tokio::time::Instant::now() > deadline {
                    let _ = w.child.kill().await;
                    return Err(w.failure("wrote no logs"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // `done` follows the final counters.
            submitted += w.counts.submitted.load(Ordering::Relaxed);
            let status = tokio::time::timeout(Duration::from_secs(10), w.child.wait()).await;
            if !matches!(status, Ok(Ok(s)) if s.success()) {
                return Err(w.failure("did not exit cleanly"));
            }
            let file = std::io::BufReader::new(std::fs::File::open(&w.logs_file)?);
            let before = logs.len();
            for line in file.lines() {
                logs.push(serde_json::from_str::<ClientLog>(&line?)?);
            }
            if logs.len() - before != w.clients {
                eprintln!(
                    "clients worker {}: {} logs for {} clients (a client task failed)",
                    w.job_file.display(),
                    logs.len() - before,
                    w.clients
                );
            }
        }
        Ok(Finished { logs, submitted })
    }
}

/// What the workers' clients did, once they have all stopped.
pub struct Finished {
    pub logs: Vec<ClientLog>,
    /// Submissions sent (acknowledged or not), from the final counters.
    pub submitted: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::client::{Rec, RecKind};

    #[test]
    fn counts_lines_are_read_and_others_ignored() {
        let c = Counts::default();
        c.read_line("counts 10 200 3 40 38");
        c.read_line("counts 1 2");
        c.read_line("noise");
        assert_eq!(c.ready.load(Ordering::Relaxed), 10);
        assert_eq!(c.received.load(Ordering::Relaxed), 200);
        assert_eq!(c.away.load(Ordering::Relaxed), 3);
        assert_eq!(c.submitted.load(Ordering::Relaxed), 40);
        assert_eq!(c.acked.load(Ordering::Relaxed), 38);
        assert!(!c.done.load(Ordering::Relaxed));
        c.read_line("error only 3 of 5 clients joined");
        assert_eq!(c.error().as_deref(), Some("only 3 of 5 clients joined"));
        c.read_line("done 10");
        assert!(c.done.load(Ordering::Relaxed));
    }

    #[test]
    fn a_client_log_survives_the_trip_between_processes() {
        let spec = Spec::participant(7, "bench-12", "hall-3");
        let log = ClientLog {
            label: spec.label.clone(),
            role: spec.role,
            audience: spec.audience.clone(),
            recs: vec![Rec {
                seq: 5,
                recv_us: 123,
                at_ms: 1_700_000_000_000,
                recv_unix_ms: 1_700_000_000_004,
                kind: RecKind::Change,
            }],
            acks: vec![(900, 5)],
            origins: vec![(5, 100)],
            acked_ids: vec![(uuid::Uuid::new_v4(), 5)],
            errors: vec!["s1: rate_limited".into()],
            connects: 2,
            evictions: 0,
            lost: 1,
            frames: 9,
            bytes: 1000,
            caught_up_us: Some(77),
            replayed: 3,
        };
        let text = serde_json::to_string(&log).expect("serialises");
        // Records travel as bare arrays.
        assert!(text.contains("[5,123,1700000000000,1700000000004,\"Change\"]"));
        let back: ClientLog = serde_json::from_str(&text).expect("parses");
        assert_eq!(back.recs, log.recs);
        assert_eq!(back.audience, log.audience);
        assert_eq!(back.acked_ids, log.acked_ids);
        let spec_back: Spec =
            serde_json::from_str(&serde_json::to_string(&spec).expect("spec")).expect("spec back");
        assert_eq!(spec_back.hello, spec.hello);
    }

    #[test]
    fn workers_only_when_the_sockets_need_them() {
        assert_eq!(worker_count(3, 10), 3);
        assert_eq!(worker_count(0, 10), 0);
        let per = clients_per_process();
        assert_eq!(worker_count(0, per + 1), 2);
    }
}
