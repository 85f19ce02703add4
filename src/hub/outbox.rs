//! One connection's outbox: the frames waiting to be written to its client
//! (changes and its own replies, in the order they were queued), bounded in
//! frames and bytes, and the reason the connection must close once it must.
//! One lock and one waker for both, and nothing allocated while empty. It
//! replaces a tokio channel plus a separate eviction signal: the channel
//! allocated a block of 32 slots per connection up front, and the writer
//! registered with the signal's `Notify` for every frame it sent (memory
//! per idle connection and fan-out cost, BENCHMARKS.md §12).
//!
//! Any number of producers (the hub, the connection's replies, the token
//! watch); one consumer, the connection's writer task, which is the only
//! one ever waiting on it.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::{Poll, Waker};

use super::{EvictReason, Frame};

pub struct Outbox {
    state: Mutex<State>,
    /// Bytes queued, counting a frame the writer has taken until it is sent
    /// (a socket stuck in the middle of a frame still holds it).
    queued: AtomicUsize,
    /// A presence placeholder is waiting in this outbox.
    pub(super) presence_pending: AtomicBool,
    max_bytes: usize,
    max_frames: usize,
}

#[derive(Default)]
struct State {
    frames: VecDeque<Frame>,
    evicted: Option<EvictReason>,
    /// The connection is gone: nothing more is queued.
    closed: bool,
    /// The writer, while it waits for a frame or an eviction.
    writer: Option<Waker>,
}

/// Why a frame was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Over the byte or frame bound: the client is too slow to keep.
    Full,
    /// The connection is gone.
    Closed,
}

/// What the writer does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Frame(Frame),
    /// Close, for this reason; what is still queued is its to send or drop.
    Evicted(EvictReason),
}

impl Outbox {
    pub(super) fn new(max_bytes: usize, max_frames: usize) -> Outbox {
        Outbox {
            state: Mutex::new(State::default()),
            queued: AtomicUsize::new(0),
            presence_pending: AtomicBool::new(false),
            max_bytes,
            max_frames,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves State whole; a panicking producer loses nothing.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queue `frame` unless that would pass the byte or frame bound.
    pub fn push(&self, frame: Frame) -> Result<(), Refused> {
        self.push_within(frame, true)
    }

    /// Queue `frame` whatever its size (a join's snapshot may pass the
    /// byte bound on its own; it still goes).
    pub(super) fn push_unbounded(&self, frame: Frame) {
        let _ = self.push_within(frame, false);
    }

    fn push_within(&self, frame: Frame, bounded: bool) -> Result<(), Refused> {
        let len = frame.len();
        let mut state = self.lock();
        if state.closed {
            return Err(Refused::Closed);
        }
        // Checked under the lock: producers are serialised, and the writer
        // only ever lowers the count.
        let over = state.frames.len() >= self.max_frames
            || self.queued.load(Ordering::Relaxed) + len > self.max_bytes;
        if bounded && over {
            return Err(Refused::Full);
        }
        self.queued.fetch_add(len, Ordering::Relaxed);
        state.frames.push_back(frame);
        let writer = state.writer.take();
        drop(state);
        if let Some(w) = writer {
            w.wake();
        }
        Ok(())
    }

    /// Tell the connection to close (the first reason given stays).
    pub fn fire(&self, reason: EvictReason) {
        let mut state = self.lock();
        state.evicted.get_or_insert(reason);
        let writer = state.writer.take();
        drop(state);
        if let Some(w) = writer {
            w.wake();
        }
    }

    /// Why the connection must close, once it must.
    pub fn fired(&self) -> Option<EvictReason> {
        self.lock().evicted
    }

    /// The next frame, or the eviction (which comes first once fired).
    pub async fn next(&self) -> Next {
        poll_fn(|cx| {
            let mut state = self.lock();
            if let Some(reason) = state.evicted {
                return Poll::Ready(Next::Evicted(reason));
            }
            if let Some(frame) = state.frames.pop_front() {
                return Poll::Ready(Next::Frame(frame));
            }
            park(&mut state.writer, cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Wait until evicted (a send that takes long gives up then).
    pub async fn evicted(&self) -> EvictReason {
        poll_fn(|cx| {
            let mut state = self.lock();
            match state.evicted {
                Some(reason) => Poll::Ready(reason),
                None => {
                    park(&mut state.writer, cx.waker());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// A queued frame without waiting, evicted or not (the goodbye's drain).
    pub fn take_frame(&self) -> Option<Frame> {
        self.lock().frames.pop_front()
    }

    /// The writer has sent (or given up on) a frame of `len` bytes.
    pub fn sent(&self, len: usize) {
        self.queued.fetch_sub(len, Ordering::Relaxed);
    }

    /// Bytes queued and not yet sent.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// The connection is gone: refuse what comes later, free what waits.
    pub(super) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.frames = VecDeque::new();
        state.writer = None;
    }
}

/// Remember the writer's waker (cloned only when it changed).
fn park(slot: &mut Option<Waker>, waker: &Waker) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
        *slot = Some(waker.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn an_empty_outbox_holds_no_frame_buffer() {
        let outbox = Outbox::new(1 << 20, 1024);
        assert_eq!(outbox.lock().frames.capacity(), 0);
    }

    #[tokio::test]
    async fn frames_come_out_in_order_and_stay_counted_until_sent() {
        let outbox = Outbox::new(1 << 20, 8);
        outbox.push(Frame::from_static("one")).unwrap();
        outbox.push(Frame::from_static("three")).unwrap();
        assert_eq!(outbox.next().await, Next::Frame(Frame::from_static("one")));
        assert_eq!(outbox.queued(), 8, "taken is not yet sent");
        outbox.sent(3);
        assert_eq!(outbox.queued(), 5);
        assert_eq!(
            outbox.next().await,
            Next::Frame(Frame::from_static("three"))
        );
    }

    #[tokio::test]
    async fn an_eviction_overtakes_queued_frames_which_stay_for_the_goodbye() {
        let outbox = Outbox::new(1 << 20, 8);
        outbox.push(Frame::from_static("a")).unwrap();
        outbox.fire(EvictReason::Shutdown);
        outbox.fire(EvictReason::SlowConsumer);
        assert_eq!(outbox.next().await, Next::Evicted(EvictReason::Shutdown));
        assert_eq!(outbox.evicted().await, EvictReason::Shutdown);
        assert_eq!(outbox.take_frame(), Some(Frame::from_static("a")));
        assert_eq!(outbox.take_frame(), None);
    }

    #[test]
    fn bounds_refuse_without_counting_and_a_closed_outbox_refuses_all() {
        let outbox = Outbox::new(10, 2);
        assert_eq!(outbox.push(Frame::from("x".repeat(11))), Err(Refused::Full));
        assert_eq!(outbox.queued(), 0);
        outbox.push(Frame::from("x".repeat(4))).unwrap();
        outbox.push(Frame::from("x".repeat(4))).unwrap();
        assert_eq!(
            outbox.push(Frame::from_static("")),
            Err(Refused::Full),
            "2 frames"
        );
        outbox.push_unbounded(Frame::from("x".repeat(40)));
        assert_eq!(outbox.queued(), 48);
        outbox.close();
        assert_eq!(outbox.push(Frame::from_static("")), Err(Refused::Closed));
        assert_eq!(outbox.take_frame(), None, "closing frees what waited");
    }

    #[tokio::test]
    async fn a_waiting_writer_is_woken_by_a_frame_and_by_an_eviction() {
        let outbox = Arc::new(Outbox::new(1 << 20, 8));
        let waiting = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.next().await }
        });
        tokio::task::yield_now().await;
        outbox.push(Frame::from_static("x")).unwrap();
        assert_eq!(waiting.await.unwrap(), Next::Frame(Frame::from_static("x")));
        let waiting = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.evicted().await }
        });
        tokio::task::yield_now().await;
        outbox.fire(EvictReason::TokenRevoked);
        assert_eq!(waiting.await.unwrap(), EvictReason::TokenRevoked);
    }
}
