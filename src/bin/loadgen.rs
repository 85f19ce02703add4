//! `loadgen`: the load generator and benchmark suite. A thin CLI over
//! `doithoai::loadgen`; see BENCHMARKS.md for what each scenario measures.
//!
//! `cargo run --release --bin loadgen -- all` runs everything and writes
//! docs/bench/{results.md,results.json,latency.svg}. Build the server binary
//! first (`cargo build --release --bins`): by default the server runs as a
//! child process so its CPU and memory are its own.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use doithoai::loadgen::failover::{failover, FailoverOpts};
use doithoai::loadgen::report::{self, Results};
use doithoai::loadgen::scenario::{
    self, Baselines, BurstOpts, CapacityOpts, Common, EventDayOpts, StormOpts,
};
use doithoai::loadgen::target::{Kind, Placement};
use doithoai::loadgen::Error;

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator and benchmarks for doithoai (loopback only)"
)]
struct Cli {
    /// Run the server inside this process instead of as a child process
    /// (CPU and RSS then include the load generator's own).
    #[arg(long, global = true)]
    in_process: bool,
    /// Where results are written.
    #[arg(long, global = true, default_value = "docs/bench")]
    out: PathBuf,
    /// Where fresh data directories are made (removed after each run).
    #[arg(long, global = true, default_value_os_t = std::env::temp_dir().join("doithoai-loadgen"))]
    work_dir: PathBuf,
    /// Client handshakes in flight at once while connecting.
    #[arg(long, global = true, default_value_t = 250)]
    connect_batch: usize,
    /// Seconds each measured phase lasts.
    #[arg(long, global = true, default_value_t = 20)]
    duration: u64,
    /// Smaller numbers everywhere (a smoke run of the whole suite).
    #[arg(long, global = true)]
    small: bool,
    /// Drive an already running doithoai instead (loopback only), e.g.
    /// ws://127.0.0.1:8080/ws; needs --data-dir and --event.
    #[arg(long, global = true, requires_all = ["data_dir", "event"])]
    url: Option<String>,
    /// The external server's data directory (tokens and change log).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// The external server's event id.
    #[arg(long, global = true)]
    event: Option<String>,
    /// The external server's process id, for CPU and RSS.
    #[arg(long, global = true)]
    pid: Option<u32>,
    /// Skip the Node.js baseline.
    #[arg(long, global = true)]
    no_node: bool,
    /// Skip the nginx + nchan baseline.
    #[arg(long, global = true)]
    no_nchan: bool,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// 12 halls, every staff seat, P phones submitting while moderators work.
    EventDay {
        /// Phone counts, comma-separated.
        #[arg(long, value_delimiter = ',', default_values_t = vec![1000, 5000, 10000])]
        participants: Vec<usize>,
        #[arg(long, default_value_t = 12)]
        halls: usize,
        /// Submissions per second, all phones together.
        #[arg(long, default_value_t = 20.0)]
        submit_rate: f64,
        /// Questions approved and assigned per second, all desks together.
        #[arg(long, default_value_t = 2.0)]
        moderate_rate: f64,
    },
    /// Event day on two nodes sharing a fresh PostgreSQL database, after the
    /// same event day on one SQLite node as the baseline.
    TwoNode {
        #[arg(long, default_value_t = 1000)]
        participants: usize,
        #[arg(long, default_value_t = 12)]
        halls: usize,
        /// Maintenance database through which the bench database
        /// `doithoai_bench_<uuid>` is created and dropped (loopback only).
        #[arg(
            long,
            env = "LOADGEN_PG_ADMIN_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        pg_admin_url: String,
    },
    /// Event day with 102 and 200 halls and 10,000 phones.
    ManyHalls {
        #[arg(long, value_delimiter = ',', default_values_t = vec![102, 200])]
        halls: Vec<usize>,
        #[arg(long, default_value_t = 10000)]
        participants: usize,
    },
    /// Most durable submissions per second, against raw fsync and the store alone.
    SubmitBurst {
        #[arg(long, default_value_t = 200)]
        submitters: usize,
        #[arg(long, default_value_t = 8)]
        window: usize,
        /// Open loop: offer this many submissions per second in all (each
        /// sent when due, latency from when it was due) instead of keeping
        /// `window` in flight per submitter.
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Every client drops at once and resumes by last_seq.
    ReconnectStorm {
        #[arg(long, default_value_t = 10000)]
        participants: usize,
        #[arg(long, default_value_t = 200)]
        halls: usize,
        #[arg(long, default_value_t = 5)]
        missed: usize,
        #[arg(long, default_value_t = 0)]
        jitter_ms: u64,
    },
    /// RSS per idle connection, doithoai and the baselines.
    Memory {
        #[arg(long, value_delimiter = ',', default_values_t = vec![1000, 10000])]
        clients: Vec<usize>,
        /// Approved questions in doithoai's public snapshot before phones join.
        #[arg(long, default_value_t = 0)]
        questions: usize,
    },
    /// Most clients with p95 send → last client ≤ the limit, doithoai and the baselines.
    Capacity {
        #[arg(long, value_delimiter = ',', default_values_t = vec![1000, 2500, 5000, 10000, 15000, 19000])]
        ladder: Vec<usize>,
        #[arg(long, default_value_t = 250)]
        interval_ms: u64,
        #[arg(long, default_value_t = 500.0)]
        limit_ms: f64,
        /// Concurrent broadcasters (1: the time of one broadcast alone).
        #[arg(long, default_value_t = 4)]
        broadcasters: usize,
    },
    /// kill -9 the server mid-run (SQLite), restart it on the same data
    /// directory: every acknowledged submission must be there exactly once.
    Kill9 {
        #[arg(long, default_value_t = 10000)]
        participants: usize,
        #[arg(long, default_value_t = 200)]
        halls: usize,
        /// Seconds into the measured phase when the server is killed.
        #[arg(long, default_value_t = 8)]
        kill_after: u64,
    },
    /// A national dialogue: doithoai nodes on one PostgreSQL behind HAProxy
    /// (deploy/haproxy.cfg), every staff seat of every hall, phones; one node
    /// is killed with SIGKILL mid-run. Needs `haproxy` and PostgreSQL.
    National {
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// 63 provinces × 11 halls.
        #[arg(long, default_value_t = 700)]
        halls: usize,
        #[arg(long, default_value_t = 60000)]
        participants: usize,
        /// HAProxy processes (0: as many as the open-files limit needs).
        #[arg(long, default_value_t = 0)]
        proxies: usize,
        /// Processes the clients run in besides this one (0: none while they
        /// fit in this process's open files, else as many as they need).
        #[arg(long, default_value_t = 0)]
        workers: usize,
        /// Seconds into the measured phase when one node is killed.
        #[arg(long, default_value_t = 8)]
        kill_after: u64,
        #[arg(
            long,
            env = "LOADGEN_PG_ADMIN_URL",
            default_value = "postgres://postgres@127.0.0.1:5432/postgres"
        )]
        pg_admin_url: String,
    },
    /// Everything above but `national`, then results.md, results.json and latency.svg.
    All,
    /// A slice of `national`'s clients in a process of its own (started by
    /// `national` when one process cannot hold every socket).
    #[command(hide = true)]
    ClientsWorker {
        /// The job: a JSON file the orchestrator wrote.
        job: PathBuf,
    },
    /// Baseline (a): serve the bare fan-out on --listen (used as a child process).
    BareServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if std::env::var("RUST_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .try_init();
    }
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn machine() -> String {
    let sh = |cmd: &str| {
        std::process::Command::new("sh")
            .args(["-c", cmd])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "Machine: {} · {} CPUs · {} RAM · kernel {} · load average at start {}",
        sh("lscpu | sed -n 's/^Model name: *//p'"),
        sh("nproc"),
        sh("free -h | awk '/Mem:/{print $2}'"),
        sh("uname -r"),
        sh("cut -d' ' -f1-3 /proc/loadavg"),
    )
}

async fn run(cli: Cli) -> Result<(), Error> {
    if let Scenario::BareServer { listen } = cli.scenario {
        if !listen.ip().is_loopback() {
            return Err("the bare server only listens on loopback".into());
        }
        let listener = doithoai::bind(listen)?;
        println!("listening on {}", listener.local_addr()?);
        doithoai::loadgen::bare::serve(listener).await?;
        return Ok(());
    }
    if let Scenario::ClientsWorker { job } = &cli.scenario {
        return doithoai::loadgen::worker::serve(job).await;
    }
    std::fs::create_dir_all(&cli.work_dir)?;
    std::fs::create_dir_all(&cli.out)?;
    let common = Common {
        placement: match (&cli.url, &cli.data_dir, &cli.event) {
            (Some(url), Some(data_dir), Some(event)) => Placement::External {
                url: url.clone(),
                data_dir: data_dir.clone(),
                event: event.clone(),
                pid: cli.pid,
            },
            _ if cli.in_process => Placement::InProcess,
            _ => Placement::Child,
        },
        work_dir: cli.work_dir.clone(),
        connect_batch: cli.connect_batch,
    };
    let mut kinds = vec![Kind::Doithoai, Kind::Bare];
    if !cli.no_node {
        kinds.push(Kind::Node);
    }
    if !cli.no_nchan {
        kinds.push(Kind::Nchan);
    }
    let baselines = Baselines {
        kinds,
        repo_dir: std::env::current_dir()?,
    };
    let duration = Duration::from_secs(if cli.small {
        cli.duration.min(5)
    } else {
        cli.duration
    });
    let small = cli.small;
    let scale = |v: Vec<usize>| -> Vec<usize> {
        if small {
            v.into_iter().map(|n| (n / 20).max(50)).collect()
        } else {
            v
        }
    };
    let mut results = Results {
        started: time_now(),
        machine: machine(),
        ..Results::default()
    };
    let mut limit = 500.0;
    let all = matches!(cli.scenario, Scenario::All);
    let day =
        |halls: usize, participants: usize, submit_rate: f64, moderate_rate: f64| EventDayOpts {
            halls,
            participants,
            submit_rate,
            moderate_rate,
            on_air_every: Duration::from_secs(5),
            duration,
        };
    match cli.scenario {
        Scenario::EventDay {
            participants,
            halls,
            submit_rate,
            moderate_rate,
        } => {
            for p in scale(participants) {
                results.event_day.push(progress(
                    scenario::event_day(&common, &day(halls, p, submit_rate, moderate_rate))
                        .await?,
                ));
            }
        }
        Scenario::TwoNode {
            participants,
            halls,
            pg_admin_url,
        } => {
            if !matches!(common.placement, Placement::Child) {
                return Err(
                    "two-node runs its nodes as child processes (no --url, no --in-process)".into(),
                );
            }
            let p = scale(vec![participants])[0];
            let o = day(halls, p, 20.0, 2.0);
            results
                .two_node
                .push(progress(scenario::event_day(&common, &o).await?));
            results.two_node.push(progress(
                scenario::event_day_pg_nodes(&common, &o, &pg_admin_url, 2).await?,
            ));
        }
        Scenario::ManyHalls {
            halls,
            participants,
        } => {
            for h in halls {
                let p = scale(vec![participants])[0];
                results.many_halls.push(progress(
                    scenario::event_day(&common, &day(h, p, 20.0, 2.0)).await?,
                ));
            }
        }
        Scenario::SubmitBurst {
            submitters,
            window,
            rate,
        } => {
            let opts = BurstOpts {
                rate,
                ..burst(submitters, window, duration)
            };
            results
                .burst
                .push(progress(scenario::submit_burst(&common, &opts).await?));
        }
        Scenario::ReconnectStorm {
            participants,
            halls,
            missed,
            jitter_ms,
        } => {
            let p = scale(vec![participants])[0];
            results.storm.push(progress(
                scenario::reconnect_storm(
                    &common,
                    &StormOpts {
                        halls,
                        participants: p,
                        missed,
                        jitter_ms,
                    },
                )
                .await?,
            ));
        }
        Scenario::Memory { clients, questions } => {
            results.memory =
                progress(scenario::memory(&common, &baselines, &scale(clients), questions).await?);
        }
        Scenario::Capacity {
            ladder,
            interval_ms,
            limit_ms,
            broadcasters,
        } => {
            limit = limit_ms;
            let mut opts = capacity(scale(ladder), interval_ms, limit_ms, duration);
            opts.broadcasters = broadcasters.max(1);
            results.capacity = progress(scenario::capacity(&common, &baselines, &opts).await?);
        }
        Scenario::Kill9 {
            participants,
            halls,
            kill_after,
        } => {
            let (p, h) = if small {
                (scale(vec![participants])[0], (halls / 10).max(12))
            } else {
                (participants, halls)
            };
            let r = progress(failover(&common, &kill9(h, p, kill_after, duration)).await?);
            results.kill9.push(r);
        }
        Scenario::National {
            nodes,
            halls,
            participants,
            proxies,
            workers,
            kill_after,
            pg_admin_url,
        } => {
            // --small: a tenth of the halls, a thirtieth of the phones.
            let (p, h) = if small {
                ((participants / 30).max(100), (halls / 10).max(12))
            } else {
                (participants, halls)
            };
            let o = FailoverOpts {
                nodes,
                proxies,
                workers,
                pg_admin: pg_admin_url,
                ..kill9(h, p, kill_after, duration)
            };
            results
                .national
                .push(progress(failover(&common, &o).await?));
        }
        Scenario::All => {
            // One failing scenario is reported and the others still run.
            macro_rules! run {
                ($name:expr, $fut:expr) => {
                    match $fut.await {
                        Ok(r) => Some(progress(r)),
                        Err(e) => {
                            eprintln!("{}: {e}", $name);
                            results.failures.push(format!("{}: {e}", $name));
                            None
                        }
                    }
                };
            }
            for p in scale(vec![1000, 5000, 10000]) {
                if let Some(r) = run!(
                    format!("event-day {p}"),
                    scenario::event_day(&common, &day(12, p, 20.0, 2.0))
                ) {
                    results.event_day.push(r);
                }
            }
            for h in [102, 200] {
                let p = scale(vec![10000])[0];
                if let Some(r) = run!(
                    format!("many-halls {h}"),
                    scenario::event_day(&common, &day(h, p, 20.0, 2.0))
                ) {
                    results.many_halls.push(r);
                }
            }
            if let Some(r) = run!(
                "submit-burst",
                scenario::submit_burst(&common, &burst(200, 8, duration))
            ) {
                results.burst.push(r);
            }
            let p = scale(vec![10000])[0];
            for jitter_ms in [0, 1000] {
                let storm = StormOpts {
                    halls: 200,
                    participants: p,
                    missed: 5,
                    jitter_ms,
                };
                if let Some(r) = run!(
                    format!("reconnect-storm jitter {jitter_ms}"),
                    scenario::reconnect_storm(&common, &storm)
                ) {
                    results.storm.push(r);
                }
            }
            if let Some(r) = run!(
                "memory",
                scenario::memory(&common, &baselines, &scale(vec![1000, 10000]), 0)
            ) {
                results.memory = r;
            }
            let with_questions = Baselines {
                kinds: vec![Kind::Doithoai],
                repo_dir: baselines.repo_dir.clone(),
            };
            if let Some(r) = run!(
                "memory with questions",
                scenario::memory(&common, &with_questions, &scale(vec![10000]), 100)
            ) {
                results.memory.extend(r);
            }
            let (p, h) = if small { (500, 20) } else { (10000, 200) };
            if let Some(r) = run!("kill9", failover(&common, &kill9(h, p, 8, duration))) {
                results.kill9.push(r);
            }
            let step = Duration::from_secs(if small { 3 } else { 10 });
            let ladder = scale(vec![1000, 2500, 5000, 10000, 15000, 19000]);
            if let Some(r) = run!(
                "capacity",
                scenario::capacity(&common, &baselines, &capacity(ladder, 250, 500.0, step))
            ) {
                results.capacity = r;
            }
        }
        Scenario::BareServer { .. } | Scenario::ClientsWorker { .. } => {
            return Err("handled above".into())
        }
    }
    let md = report::markdown(&results, limit);
    let suffix = if all {
        String::new()
    } else {
        format!("-{}", time_now().replace([':', ' '], "-"))
    };
    std::fs::write(cli.out.join(format!("results{suffix}.md")), &md)?;
    std::fs::write(
        cli.out.join(format!("results{suffix}.json")),
        serde_json::to_string_pretty(&results)?,
    )?;
    if !results.event_day.is_empty() {
        let mut runs = results.event_day.clone();
        runs.extend(results.many_halls.iter().filter(|r| r.halls == 12).cloned());
        std::fs::write(
            cli.out.join(format!("latency{suffix}.svg")),
            report::latency_svg(&runs),
        )?;
    }
    println!("{md}");
    Ok(())
}

fn burst(submitters: usize, window: usize, duration: Duration) -> BurstOpts {
    BurstOpts {
        halls: submitters.max(12),
        submitters,
        window,
        duration,
        direct_batch: 64,
        rate: None,
    }
}

/// The event-day load with one SQLite server killed `kill_after` seconds in.
fn kill9(halls: usize, participants: usize, kill_after: u64, duration: Duration) -> FailoverOpts {
    let kill_after = Duration::from_secs(kill_after).min(duration / 2);
    FailoverOpts {
        halls,
        participants,
        // Ten times the event day's rate: more acknowledgements at stake.
        submit_rate: 200.0,
        moderate_rate: 2.0,
        on_air_every: Duration::from_secs(5),
        duration,
        kill_after,
        nodes: 1,
        proxies: 0,
        workers: 0,
        pg_admin: String::new(),
    }
}

fn capacity(ladder: Vec<usize>, interval_ms: u64, limit_ms: f64, step: Duration) -> CapacityOpts {
    CapacityOpts {
        ladder,
        step,
        broadcasters: 4,
        interval: Duration::from_millis(interval_ms),
        payload_bytes: 405,
        p95_limit_ms: limit_ms,
    }
}

/// Print each scenario's raw report as it finishes (long runs show progress).
fn progress<T: serde::Serialize>(r: T) -> T {
    if let Ok(j) = serde_json::to_string(&r) {
        eprintln!("{j}");
    }
    r
}

fn time_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    now.format(f).unwrap_or_default()
}
