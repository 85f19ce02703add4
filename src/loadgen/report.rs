//! Results as markdown tables (for BENCHMARKS.md) and the latency-versus-
//! clients chart as a self-contained SVG. No plotting crate: the chart is a
//! few dozen lines of SVG text.

use std::fmt::Write;

use serde::Serialize;

use super::check::CheckReport;
use super::failover::FailoverReport;
use super::scenario::{BurstReport, CapacityRow, EventDayReport, MemoryRow, StormReport};
use super::stats::{ms, ratio, Summary};

/// Everything one `loadgen all` run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Results {
    pub started: String,
    pub machine: String,
    pub event_day: Vec<EventDayReport>,
    pub many_halls: Vec<EventDayReport>,
    /// `loadgen two-node`: the SQLite single-node baseline, then the two PostgreSQL nodes.
    pub two_node: Vec<EventDayReport>,
    pub burst: Vec<BurstReport>,
    pub storm: Vec<StormReport>,
    pub memory: Vec<MemoryRow>,
    pub capacity: Vec<CapacityRow>,
    /// `loadgen kill9`: one SQLite node killed with SIGKILL and restarted mid-run.
    pub kill9: Vec<FailoverReport>,
    /// `loadgen national`: PostgreSQL nodes behind HAProxy, one killed mid-run.
    pub national: Vec<FailoverReport>,
    /// Scenarios that failed, with why (the run goes on with the others).
    pub failures: Vec<String>,
}

fn check_cell(c: &CheckReport) -> String {
    if c.ok() {
        format!("ok ({} deliveries)", c.delivered)
    } else {
        format!(
            "**FAIL**: {} missing, {} repeated, {} unexpected",
            c.missing, c.repeated, c.unexpected
        )
    }
}

pub fn event_day_md(title: &str, runs: &[EventDayReport], capacity: &[CapacityRow]) -> String {
    let mut s = String::new();
    if runs.is_empty() {
        return s;
    }
    let _ = writeln!(s, "### {title}\n");
    let _ = writeln!(
        s,
        "| halls | phones | clients | submitted / acked | submit→ack ms p50/p95/p99/max | moderator cmd→ack ms | moderator action → last phone ms | changes | frames/s (clients) | queue drops | commits (changes/commit) | slowest commit ms | raw fsync every 50 ms, ms p50/p99/max | server CPU cores (waiting for CPU) | load generator CPU cores | server RSS MiB (before→after, peak) | check | load avg before→after |"
    );
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in runs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} / {} | {} | {} | {} | {} | {:.0} | {} | {:.0} ({:.2}) | {:.1} | {} | {:.2} ({:.2}) | {:.2} | {:.0}→{:.0}, {:.0} | {} | {:.1}→{:.1} |",
            r.halls,
            r.participants,
            r.clients,
            r.submitted,
            r.acked,
            r.submit_to_ack.cell(),
            r.moderator_to_ack.cell(),
            r.moderator_to_last_phone.cell(),
            r.changes,
            r.client_frames_per_s,
            r.queue_drops,
            r.commits,
            if r.commits > 0.0 { r.committed_changes / r.commits } else { 0.0 },
            r.slowest_commit_ms,
            r.fsync_probe.cell_short(),
            r.server_cpu_cores,
            r.server_cpu_wait,
            r.loadgen_cpu_cores,
            r.server_rss_before_mib,
            r.server_rss_after_mib,
            r.server_peak_rss_mib,
            check_cell(&r.check),
            r.load_before,
            r.load_after,
        );
    }
    let _ = writeln!(s, "\nDelivery latency per role, ms p50 / p95 / p99 / max (send→receipt on the load generator's clock; commit→receipt from the change's `at`, ms resolution):\n");
    let _ = writeln!(s, "| halls | phones | role | clients | send→receipt | commit→receipt | frames | p99 vs bare / Node (capacity p95 to last client at ≈ same clients) |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for r in runs {
        for role in &r.roles {
            let base = |server: &str| {
                nearest(capacity, server, r.clients)
                    .map(|c| ratio(role.send_to_receipt.p99, c.round_trip.p95))
                    .unwrap_or_else(|| "–".into())
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} / {} |",
                r.halls,
                r.participants,
                role.role,
                role.clients,
                role.send_to_receipt.cell(),
                role.commit_to_receipt.cell(),
                role.frames,
                base("bare axum fan-out"),
                base("Node ws"),
            );
        }
    }
    let errors: Vec<String> = runs.iter().flat_map(|r| r.error_examples.clone()).collect();
    if !errors.is_empty() {
        let _ = writeln!(
            s,
            "\nCommand errors seen (first few): {}",
            errors.join("; ")
        );
    }
    let problems: Vec<String> = runs.iter().flat_map(|r| r.check.examples.clone()).collect();
    if !problems.is_empty() {
        let _ = writeln!(
            s,
            "\nDelivery problems (first few): {}",
            problems.join("; ")
        );
    }
    s.push('\n');
    s
}

fn nearest<'a>(rows: &'a [CapacityRow], server: &str, clients: usize) -> Option<&'a CapacityRow> {
    rows.iter()
        .filter(|r| r.server == server)
        .min_by_key(|r| (r.clients as i64 - clients as i64).unsigned_abs())
}

pub fn burst_md(runs: &[BurstReport]) -> String {
    let mut s = String::new();
    if runs.is_empty() {
        return s;
    }
    let _ = writeln!(s, "### Submit burst (durable submissions)\n");
    let _ = writeln!(s, "| submitters × window (offered/s) | acked/s | ack ms p50/p95/p99/max | refused | mean batch (changes/commit) | mean commit ms | raw fsync ms idle p50/p99 | raw fsync ms during p50/p99 | direct Store::commit 1/tx: per s (ms p50/p99) | direct, {} per tx: per s | server / direct 1/tx | server / direct batched | server CPU cores | load avg |", runs[0].direct_batch);
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in runs {
        let _ = writeln!(
            s,
            "| {} × {} | {:.0} | {} | {} | {:.1} | {:.2} | {} / {} | {} / {} | {:.0} ({} / {}) | {:.0} | {} | {} | {:.2} | {:.1}→{:.1} |",
            r.submitters,
            match r.offered_per_s {
                Some(rate) => format!("paced ({rate:.0}/s)"),
                None => r.window.to_string(),
            },
            r.acked_per_s,
            r.ack.cell(),
            r.refused,
            r.mean_batch,
            r.mean_commit_ms,
            ms(r.fsync_idle.p50),
            ms(r.fsync_idle.p99),
            ms(r.fsync_during.p50),
            ms(r.fsync_during.p99),
            r.direct_single_per_s,
            ms(r.direct_single.p50),
            ms(r.direct_single.p99),
            r.direct_batched_per_s,
            ratio(r.acked_per_s, r.direct_single_per_s),
            ratio(r.acked_per_s, r.direct_batched_per_s),
            r.server_cpu_cores,
            r.load_before,
            r.load_after,
        );
    }
    s.push('\n');
    s
}

pub fn storm_md(runs: &[StormReport]) -> String {
    let mut s = String::new();
    if runs.is_empty() {
        return s;
    }
    let _ = writeln!(s, "### Reconnect storm\n");
    let _ = writeln!(s, "| halls | clients | changes missed while away | jitter ms | all caught up, s | caught-up clients | per client ms p50/p95/p99/max | replayed changes | snapshots on resume | staff evicted as slow (driver reconnects) | server CPU cores | check | load avg |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in runs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.2} | {} / {} | {} | {} | {} | {:.0} ({}) | {:.2} | {} | {:.1}→{:.1} |",
            r.halls,
            r.clients,
            r.missed_changes,
            r.jitter_ms,
            r.caught_up_s,
            r.caught_up_clients,
            r.clients,
            r.per_client.cell(),
            r.replayed,
            r.resume_snapshots,
            r.queue_drops,
            r.driver_reconnects,
            r.server_cpu_cores,
            check_cell(&r.check),
            r.load_before,
            r.load_after,
        );
    }
    s.push('\n');
    s
}

fn role_p99(roles: &[super::scenario::RoleStats], role: &str) -> String {
    roles
        .iter()
        .find(|r| r.role == role)
        .map(|r| ms(r.send_to_receipt.p99))
        .unwrap_or_else(|| "–".into())
}

pub fn failover_md(title: &str, runs: &[FailoverReport]) -> String {
    let mut s = String::new();
    if runs.is_empty() {
        return s;
    }
    let _ = writeln!(s, "### {title}\n");
    let _ = writeln!(s, "| nodes (store) | proxies | halls | clients | killed at, s | restarted in, s | acked | **acked but lost** | acked twice / at another seq | clients back | kill → back, ms p50/p95/p99/max | staff p99 before kill, ms (mod / chair / speaker / operator / display) | last phone p99 before kill, ms | staff p99 whole run, ms (mod / operator / display) | errors | check | load avg |");
    let _ = writeln!(
        s,
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    );
    for r in runs {
        let b = &r.roles_before_kill;
        let _ = writeln!(
            s,
            "| {} ({}) | {} | {} | {} | {:.1} | {} | {} | **{}** | {} / {} | {} | {} | {} / {} / {} / {} / {} | {} | {} / {} / {} | {} | {} | {:.1}→{:.1} |",
            r.nodes,
            r.store,
            r.proxies,
            r.halls,
            if r.workers > 0 {
                format!("{} ({} worker processes)", r.clients, r.workers)
            } else {
                r.clients.to_string()
            },
            r.killed_at_s,
            r.restart_s.map(|v| format!("{v:.2}")).unwrap_or_else(|| "–".into()),
            r.acked,
            r.acked_lost,
            r.acked_repeated,
            r.acked_wrong_seq,
            r.clients_back,
            r.back.cell(),
            role_p99(b, "moderator"),
            role_p99(b, "chair"),
            role_p99(b, "speaker"),
            role_p99(b, "hall_operator"),
            role_p99(b, "display"),
            ms(r.moderator_to_last_phone_before_kill.p99),
            role_p99(&r.roles, "moderator"),
            role_p99(&r.roles, "hall_operator"),
            role_p99(&r.roles, "display"),
            r.errors,
            check_cell(&r.check),
            r.load_before,
            r.load_after,
        );
    }
    s.push('\n');
    s
}

pub fn memory_md(rows: &[MemoryRow]) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        return s;
    }
    let _ = writeln!(s, "### Memory per idle connection\n");
    let _ = writeln!(s, "| server | idle clients | RSS before → after, MiB | KiB per connection | vs bare | vs Node | vs nginx nchan | connect time, s |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    for r in rows {
        let base = |name: &str| {
            rows.iter()
                .find(|b| b.server == name && b.clients == r.clients)
                .map(|b| ratio(r.kib_per_connection, b.kib_per_connection))
                .unwrap_or_else(|| "–".into())
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} → {:.1} | {:.1} | {} | {} | {} | {:.1} |",
            r.server,
            r.clients,
            r.rss_before_mib,
            r.rss_after_mib,
            r.kib_per_connection,
            base("bare axum fan-out"),
            base("Node ws"),
            base("nginx nchan"),
            r.connect_s
        );
    }
    s.push('\n');
    s
}

pub fn capacity_md(rows: &[CapacityRow], limit_ms: f64) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "### Capacity ({} concurrent broadcasts, p95 send → last client ≤ {limit_ms:.0} ms)\n",
        rows[0].broadcasters
    );
    let _ = writeln!(s, "| server | clients | broadcasts (complete) | send → last client ms p50/p95/p99/max | frames/s | mean frame bytes | server CPU cores (waiting) | load generator CPU cores | server RSS MiB | lost clients | pass |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} ({}) | {} | {:.0} | {:.0} | {:.2} ({:.2}) | {:.2} | {:.0} | {} | {} |",
            r.server,
            r.clients,
            r.broadcasts,
            r.complete,
            summary_or_incomplete(&r.round_trip),
            r.frames_per_s,
            r.mean_frame_bytes,
            r.server_cpu_cores,
            r.server_cpu_wait,
            r.loadgen_cpu_cores,
            r.server_rss_mib,
            r.lost_clients,
            if r.pass { "yes" } else { "**no**" }
        );
    }
    let mut servers: Vec<&str> = rows.iter().map(|r| r.server.as_str()).collect();
    servers.dedup();
    let _ = writeln!(
        s,
        "\n| server | capacity (most clients passing) | vs bare | vs Node | vs nginx nchan |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|");
    let cap = |name: &str| {
        rows.iter()
            .filter(|r| r.server == name && r.pass)
            .map(|r| r.clients)
            .max()
            .unwrap_or(0)
    };
    for name in &servers {
        let c = cap(name);
        let _ = writeln!(
            s,
            "| {name} | {c} | {} | {} | {} |",
            ratio(c as f64, cap("bare axum fan-out") as f64),
            ratio(c as f64, cap("Node ws") as f64),
            ratio(c as f64, cap("nginx nchan") as f64)
        );
    }
    s.push('\n');
    s
}

fn summary_or_incomplete(sm: &Summary) -> String {
    if sm.max > 1e9 {
        format!(
            "{} / {} / (incomplete)",
            ms(sm.p50),
            if sm.p95 > 1e9 {
                "(incomplete)".to_string()
            } else {
                ms(sm.p95)
            }
        )
    } else {
        sm.cell()
    }
}

/// Delivery latency (p50 and p99, send → receipt) against connected clients
/// for the event-day runs, one line per role group.
pub fn latency_svg(runs: &[EventDayReport]) -> String {
    let (w, h, left, right, top, bottom) = (760.0, 420.0, 70.0, 190.0, 40.0, 60.0);
    // (legend, dash pattern, (clients, ms) points)
    type Series<'a> = (String, &'a str, Vec<(f64, f64)>);
    let mut points: Vec<Series> = Vec::new();
    let colours = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
    ];
    for role in ["moderator", "speaker", "display", "participant"] {
        for (pct, dash) in [("p99", ""), ("p50", "4 3")] {
            let mut pts: Vec<(f64, f64)> = runs
                .iter()
                .filter_map(|r| {
                    let st = r.roles.iter().find(|x| x.role == role)?;
                    let v = if pct == "p99" {
                        st.send_to_receipt.p99
                    } else {
                        st.send_to_receipt.p50
                    };
                    Some((r.clients as f64, v))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            if !pts.is_empty() {
                points.push((format!("{role} {pct}"), dash, pts));
            }
        }
    }
    let max_x = points
        .iter()
        .flat_map(|p| p.2.iter().map(|q| q.0))
        .fold(1.0, f64::max);
    let max_y = points
        .iter()
        .flat_map(|p| p.2.iter().map(|q| q.1))
        .fold(50.0, f64::max)
        * 1.1;
    let x = |v: f64| left + (w - left - right) * v / max_x;
    let y = |v: f64| h - bottom - (h - top - bottom) * v / max_y;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" font-size="15" text-anchor="middle">Event day: delivery latency (send → receipt) vs connected clients</text>"#,
        w / 2.0
    );
    // Axes and grid.
    for i in 0..=5 {
        let v = max_y * i as f64 / 5.0;
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            w - right,
            y(v),
            y(v),
            left - 6.0,
            y(v) + 4.0,
            ms(v)
        );
    }
    for r in runs {
        let cx = x(r.clients as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{cx:.1}" x2="{cx:.1}" y1="{top}" y2="{}" stroke="#eee"/><text x="{cx:.1}" y="{}" text-anchor="middle">{}</text>"##,
            h - bottom,
            h - bottom + 16.0,
            r.clients
        );
    }
    let _ = writeln!(
        s,
        r#"<line x1="{left}" x2="{left}" y1="{top}" y2="{}" stroke="black"/><line x1="{left}" x2="{}" y1="{}" y2="{}" stroke="black"/>"#,
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">connected clients (phones + staff)</text>"#,
        (left + w - right) / 2.0,
        h - 18.0
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">milliseconds</text>"#,
        (top + h - bottom) / 2.0,
        (top + h - bottom) / 2.0
    );
    // The 50 ms target.
    if max_y >= 50.0 {
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="8 4"/><text x="{}" y="{:.1}" fill="#666">50 ms target (p99)</text>"##,
            w - right,
            y(50.0),
            y(50.0),
            left + 4.0,
            y(50.0) - 4.0
        );
    }
    for (i, (name, dash, pts)) in points.iter().enumerate() {
        let colour = colours[(i / 2) % colours.len()];
        let path: Vec<String> = pts
            .iter()
            .map(|(a, b)| format!("{:.1},{:.1}", x(*a), y(*b)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" points="{}"/>"#,
            path.join(" ")
        );
        for (a, b) in pts {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                x(*a),
                y(*b)
            );
        }
        let ly = top + 10.0 + 18.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{}" x2="{}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{}" y="{}">{name}</text>"#,
            w - right + 10.0,
            w - right + 36.0,
            w - right + 42.0,
            ly + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Two PostgreSQL nodes against one SQLite node at the same size: the full
/// event-day tables, then the headline figures side by side with their ratios.
pub fn two_node_md(runs: &[EventDayReport]) -> String {
    let mut s = event_day_md(
        "Two nodes on PostgreSQL (rows in order: one SQLite node, then two PostgreSQL nodes)",
        runs,
        &[],
    );
    if runs.is_empty() {
        return s;
    }
    let _ = writeln!(s, "| nodes | store | submit→ack p50 / p99 ms | moderator cmd→ack p50 / p99 ms | phone send→receipt p50 / p99 ms | commit errors | server CPU cores | check |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    let phone = |r: &EventDayReport| {
        r.roles
            .iter()
            .find(|x| x.role == "participant")
            .map(|x| x.send_to_receipt)
            .unwrap_or_default()
    };
    for r in runs {
        let p = phone(r);
        let _ = writeln!(
            s,
            "| {} | {} | {} / {} | {} / {} | {} / {} | {:.0} | {:.2} | {} |",
            r.nodes,
            r.store,
            ms(r.submit_to_ack.p50),
            ms(r.submit_to_ack.p99),
            ms(r.moderator_to_ack.p50),
            ms(r.moderator_to_ack.p99),
            ms(p.p50),
            ms(p.p99),
            r.commit_errors,
            r.server_cpu_cores,
            check_cell(&r.check),
        );
    }
    if let [base, two, ..] = runs {
        let (pb, pt) = (phone(base), phone(two));
        let _ = writeln!(
            s,
            "\nTwo nodes ÷ one node, p99: submit→ack {}, moderator cmd→ack {}, phone delivery {}.\n",
            ratio(two.submit_to_ack.p99, base.submit_to_ack.p99),
            ratio(two.moderator_to_ack.p99, base.moderator_to_ack.p99),
            ratio(pt.p99, pb.p99),
        );
    }
    s
}

/// The whole results page.
pub fn markdown(r: &Results, capacity_limit_ms: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Results of `loadgen` ({})\n\n{}\n",
        r.started, r.machine
    );
    s.push_str(&event_day_md("Event day", &r.event_day, &r.capacity));
    s.push_str(&event_day_md("Many halls", &r.many_halls, &r.capacity));
    s.push_str(&two_node_md(&r.two_node));
    s.push_str(&burst_md(&r.burst));
    s.push_str(&storm_md(&r.storm));
    s.push_str(&memory_md(&r.memory));
    s.push_str(&capacity_md(&r.capacity, capacity_limit_ms));
    s.push_str(&failover_md(
        "kill -9 under load (`loadgen kill9`)",
        &r.kill9,
    ));
    s.push_str(&failover_md("National (`loadgen national`)", &r.national));
    if !r.failures.is_empty() {
        let _ = writeln!(s, "### Scenarios that failed\n");
        for f in &r.failures {
            let _ = writeln!(s, "- {f}");
        }
    }
    s
}
