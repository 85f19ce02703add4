//! Where participants' phone connections run. Thousands of phones share one
//! broadcast (the question put on air), and writing it to 10,000 sockets is
//! ≈ 100 ms of CPU. On the main runtime that work sat in the same run queues
//! as the moderators' commands and the staff's frames, and tokio has no
//! priorities, so staff waited behind phones (BENCHMARKS.md, "Where the time
//! goes"). Phones therefore run on their own small runtime whose threads the
//! kernel schedules at a lower priority: staff, commands and commits on the
//! main runtime preempt a phone broadcast instead of queueing behind it.

use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

/// How much lower (in `nice` steps) phone threads run than the rest. At 10 a
/// runnable staff thread gets about ten times the CPU share of a phone
/// thread; phones still get every idle cycle.
const PHONE_NICE: i32 = 10;

/// Owns the phone runtime; dropping it stops it without blocking (it may be
/// dropped inside another runtime, e.g. when a test ends).
pub struct PhoneRuntime {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl PhoneRuntime {
    /// `threads` = 0 picks half the cores, at least one.
    pub fn start(threads: usize) -> std::io::Result<PhoneRuntime> {
        let threads = match threads {
            0 => std::thread::available_parallelism()
                .map(|n| n.get() / 2)
                .unwrap_or(1)
                .max(1),
            n => n,
        };
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("phones")
            .enable_all()
            .on_thread_start(lower_priority)
            .build()?;
        let handle = runtime.handle().clone();
        Ok(PhoneRuntime {
            runtime: Some(runtime),
            handle,
        })
    }

    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for PhoneRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            // A zero timeout never blocks, so this is safe in async context.
            rt.shutdown_timeout(Duration::ZERO);
        }
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // On Linux the nice value is per thread (setpriority(2), "BUGS"): this
    // lowers only the phone runtime's threads. Failure just keeps the default.
    // SAFETY: setpriority has no memory-safety preconditions.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, PHONE_NICE) };
    if rc != 0 {
        tracing::debug!("could not lower the phone threads' priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_threads_run_at_lower_priority() {
        let rt = PhoneRuntime::start(1).unwrap();
        let base = current_nice();
        let phone = rt
            .handle()
            .block_on(rt.handle().spawn(async { current_nice() }))
            .unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(phone, (base + PHONE_NICE).min(19));
        }
        assert_eq!(
            current_nice(),
            base,
            "the calling thread keeps its priority"
        );
    }

    #[tokio::test]
    async fn dropping_inside_a_runtime_does_not_block_or_panic() {
        let rt = PhoneRuntime::start(1).unwrap();
        let answer = rt.handle().spawn(async { 42 }).await.unwrap();
        assert_eq!(answer, 42);
        drop(rt);
    }

    fn current_nice() -> i32 {
        #[cfg(target_os = "linux")]
        // SAFETY: getpriority has no memory-safety preconditions.
        unsafe {
            libc::getpriority(libc::PRIO_PROCESS, 0)
        }
        #[cfg(not(target_os = "linux"))]
        0
    }
}
