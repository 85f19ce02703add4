//! Latency summaries and the shared clock. Every timestamp the load
//! generator records is microseconds since one origin on the machine's
//! monotonic clock (`CLOCK_MONOTONIC`, the clock `Instant` reads on Linux),
//! so a sender's and a receiver's times compare directly even when they live
//! in different processes: a clients worker adopts its orchestrator's origin
//! ([`adopt_origin`]). A record costs 8 bytes instead of a 16-byte `Instant`.

use std::sync::OnceLock;

use serde::Serialize;

use super::Error;

/// The machine's monotonic clock, µs: the same clock in every process.
fn monotonic_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the struct we pass; CLOCK_MONOTONIC
    // always exists on Linux (it cannot fail with a valid pointer).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

static ORIGIN: OnceLock<u64> = OnceLock::new();

/// The clock origin (a `CLOCK_MONOTONIC` reading, µs), fixed at first use.
pub fn origin_us() -> u64 {
    *ORIGIN.get_or_init(monotonic_us)
}

/// Take another process's origin, so this process's times compare with its
/// own. Must come before anything reads the clock.
pub fn adopt_origin(origin: u64) -> Result<(), Error> {
    if ORIGIN.set(origin).is_ok() || origin_us() == origin {
        Ok(())
    } else {
        Err("the clock was read before the orchestrator's origin was adopted".into())
    }
}

/// Microseconds since the load generator's clock origin.
pub fn now_us() -> u64 {
    monotonic_us().saturating_sub(origin_us())
}

/// Percentiles of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Summary {
    /// Summarise samples given in microseconds.
    pub fn of_us(mut samples: Vec<u64>) -> Summary {
        if samples.is_empty() {
            return Summary::default();
        }
        samples.sort_unstable();
        let pick = |q: f64| {
            let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[i] as f64 / 1000.0
        };
        Summary {
            count: samples.len(),
            p50: pick(0.50),
            p95: pick(0.95),
            p99: pick(0.99),
            max: samples[samples.len() - 1] as f64 / 1000.0,
        }
    }

    /// Summarise samples given in milliseconds (wall-clock differences).
    pub fn of_ms(samples: Vec<i64>) -> Summary {
        Summary::of_us(
            samples
                .into_iter()
                .map(|ms| ms.max(0) as u64 * 1000)
                .collect(),
        )
    }

    /// `p50 / p95 / p99 / max` for a table cell.
    /// "p50 / p99 / max", for a column with less room.
    pub fn cell_short(&self) -> String {
        if self.count == 0 {
            return "–".into();
        }
        format!("{} / {} / {}", ms(self.p50), ms(self.p99), ms(self.max))
    }

    pub fn cell(&self) -> String {
        if self.count == 0 {
            return "–".into();
        }
        format!(
            "{} / {} / {} / {}",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            ms(self.max)
        )
    }
}

/// A millisecond figure with sensible precision.
pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// `a / b` as "1.8×", or "–" when undefined.
pub fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 || !a.is_finite() || !b.is_finite() {
        return "–".into();
    }
    format!("{:.2}×", a / b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_nearest_rank() {
        let s = Summary::of_us((1..=100).map(|i| i * 1000).collect());
        assert_eq!(s.count, 100);
        assert_eq!(s.p50, 50.0);
        assert_eq!(s.p95, 95.0);
        assert_eq!(s.p99, 99.0);
        assert_eq!(s.max, 100.0);
        assert_eq!(Summary::of_us(vec![]).count, 0);
    }
}
