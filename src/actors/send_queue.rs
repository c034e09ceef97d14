//! SendQueue: the publishes on their way from the Lua thread to the protocol, behind a
//! counting gate that bounds them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::messages::Publish;
use crate::error::{Error, Result};

/// Places a publish may take beyond the limit while the link waits for the Lua side to read,
/// so that a script alternating publishes and reads goes on to its reading. A publish that
/// finds these taken too is blocked until the link reads acknowledgements (`pacing.rs`).
pub const OVERFLOW: usize = 1024;

/// The publishes on their way from the Lua thread to the protocol's send queue: a counting
/// gate and the queue itself. The Lua side takes a place and queues a publish, waiting with a
/// bound when all places are taken; the connection takes every queued publish at once and
/// frees a place when the protocol accepts the message. Only the publish that finds the queue
/// idle asks for a wake-up, so a burst costs one message to the actors, not one per publish.
#[derive(Debug)]
pub struct SendQueue {
    count: AtomicUsize,
    limit: usize,
    /// Set while the link waits for the Lua side to read before it reads from the network:
    /// a publish then takes a place up to [`OVERFLOW`] beyond `limit` instead of waiting, so
    /// that a script that publishes and reads in turn goes on to read.
    overflow: AtomicBool,
    /// A waiting publisher is woken once the count is down to this, not at every release, so
    /// that a full queue does not cost a wake-up per message (while the queue overflows, at
    /// every release that makes a place).
    resume_at: usize,
    /// Threads waiting for a place, so a release without waiters takes no lock.
    waiters: AtomicUsize,
    /// Told when a publisher finds even the overflow's places taken: the link, waiting for
    /// the script to read, must then read what frees places (see [`SendQueue::is_blocked`]).
    blocked: Notify,
    lock: Mutex<()>,
    freed: Condvar,
    /// Publishes not yet taken by the connection.
    items: Mutex<Vec<Publish>>,
    /// Set from the push that found the queue idle until the connection takes the queue.
    scheduled: AtomicBool,
}

impl SendQueue {
    pub fn new(limit: usize) -> Self {
        Self {
            count: AtomicUsize::new(0),
            limit,
            overflow: AtomicBool::new(false),
            resume_at: limit - limit / 4,
            waiters: AtomicUsize::new(0),
            blocked: Notify::new(),
            lock: Mutex::new(()),
            freed: Condvar::new(),
            items: Mutex::new(Vec::new()),
            scheduled: AtomicBool::new(false),
        }
    }

    fn guard(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn try_acquire(&self) -> bool {
        let taken = self.count.fetch_add(1, Ordering::SeqCst);
        if taken < self.limit
            || (taken < self.limit + OVERFLOW && self.overflow.load(Ordering::SeqCst))
        {
            return true;
        }
        self.count.fetch_sub(1, Ordering::SeqCst);
        false
    }

    /// Takes a place, waiting up to `timeout` for one.
    ///
    /// # Errors
    /// `Error::QueueFull` if no place was freed in time.
    fn acquire(&self, timeout: Duration) -> Result<()> {
        if self.try_acquire() {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        let mut guard = self.guard();
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let acquired = loop {
            if self.try_acquire() {
                break Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                break Err(Error::QueueFull(self.limit));
            }
            if self.overflow.load(Ordering::SeqCst) {
                self.blocked.notify_one();
            }
            guard = self
                .freed
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        };
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        acquired
    }

    /// Takes a place (waiting up to `timeout`) and queues `publish`. True when the queue was
    /// idle: the caller must then tell the connection to take it.
    ///
    /// # Errors
    /// `Error::QueueFull` if no place was freed in time.
    pub fn push(&self, publish: Publish, timeout: Duration) -> Result<bool> {
        self.acquire(timeout)?;
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(publish);
        Ok(!self.scheduled.swap(true, Ordering::AcqRel))
    }

    /// Moves every queued publish into `into` (which the caller passes empty, to reuse its
    /// allocation). A push from now on asks for a wake-up again.
    pub fn take_all(&self, into: &mut Vec<Publish>) {
        self.scheduled.store(false, Ordering::SeqCst);
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *items, into);
    }

    /// Frees `n` places.
    pub fn free(&self, n: usize) {
        if n == 0 {
            return;
        }
        let left = self.count.fetch_sub(n, Ordering::SeqCst) - n;
        let wake = left <= self.resume_at
            || (self.overflow.load(Ordering::SeqCst) && left < self.limit + OVERFLOW);
        if wake && self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.guard();
            self.freed.notify_all();
        }
    }

    /// Lets publishes take places beyond the limit (while the link waits for the Lua side
    /// to read), or no longer. Wakes a publisher waiting for a place.
    pub fn set_overflow(&self, on: bool) {
        // A load first: the link (the only writer) calls this every turn, and nearly always
        // changes nothing.
        if self.overflow.load(Ordering::Relaxed) == on {
            return;
        }
        self.overflow.store(on, Ordering::SeqCst);
        if on && self.waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.guard();
            self.freed.notify_all();
        }
    }

    /// Whether a publisher waits for a place while the queue overflows: the link waits for
    /// the script to read, and the script waits for the link to free a place, which takes
    /// reading the broker's acknowledgements.
    pub fn is_blocked(&self) -> bool {
        self.overflow.load(Ordering::SeqCst)
            && self.waiters.load(Ordering::SeqCst) > 0
            && self.count.load(Ordering::SeqCst) >= self.limit + OVERFLOW
    }

    /// Resolves when a publisher may have become blocked (see [`SendQueue::is_blocked`]);
    /// at once if one did since the last call.
    pub async fn blocking(&self) {
        self.blocked.notified().await;
    }

    /// Places taken.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Whether no place is taken.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Spins until `cond` holds, failing the test after 10 s (a thread of the test is meant to
/// make it hold).
#[cfg(test)]
pub(crate) fn spin_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "not within 10 s: {what}");
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_full_queue_times_out_with_queue_full() {
        let q = SendQueue::new(2);
        q.acquire(Duration::ZERO).unwrap();
        q.acquire(Duration::ZERO).unwrap();
        let err = q.acquire(Duration::from_millis(20)).unwrap_err();
        assert!(matches!(err, Error::QueueFull(2)), "{err}");
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn a_release_from_another_thread_lets_a_waiter_in() {
        let q = Arc::new(SendQueue::new(1));
        q.acquire(Duration::ZERO).unwrap();
        let releaser = {
            let q = q.clone();
            std::thread::spawn(move || {
                spin_until("a waiter", || q.waiters.load(Ordering::SeqCst) > 0);
                q.free(1);
            })
        };
        q.acquire(Duration::from_secs(10)).unwrap();
        releaser.join().unwrap();
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn while_the_link_waits_for_the_reader_a_full_queue_takes_up_to_the_overflow_more() {
        let q = Arc::new(SendQueue::new(1));
        q.acquire(Duration::ZERO).unwrap();
        let opener = {
            let q = q.clone();
            std::thread::spawn(move || {
                spin_until("a waiter", || q.waiters.load(Ordering::SeqCst) > 0);
                q.set_overflow(true);
            })
        };
        // Woken by the overflow, not by a place freed.
        q.acquire(Duration::from_secs(10)).unwrap();
        opener.join().unwrap();
        for _ in 1..OVERFLOW {
            q.acquire(Duration::ZERO).unwrap();
        }
        assert!(matches!(
            q.acquire(Duration::ZERO),
            Err(Error::QueueFull(1))
        ));
        assert_eq!(q.len(), 1 + OVERFLOW);
        q.set_overflow(false);
        q.free(OVERFLOW);
        assert!(q.acquire(Duration::ZERO).is_err(), "back to its limit");
    }

    #[test]
    fn a_publisher_waiting_beyond_the_overflow_is_blocked_and_says_so() {
        let q = Arc::new(SendQueue::new(1));
        q.set_overflow(true);
        for _ in 0..=OVERFLOW {
            q.acquire(Duration::ZERO).unwrap();
        }
        assert!(!q.is_blocked(), "full, but nobody waits");
        let publisher = {
            let q = q.clone();
            std::thread::spawn(move || q.acquire(Duration::from_secs(10)))
        };
        actix::System::new()
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), q.blocking()).await })
            .expect("told of a blocked publisher within 10 s");
        spin_until("a blocked publisher", || q.is_blocked());
        // While the queue overflows, one freed place wakes the publisher.
        q.free(1);
        publisher.join().unwrap().unwrap();
        assert!(!q.is_blocked());
    }

    fn publish(topic: &str) -> Publish {
        Publish {
            topic: crate::topic::TopicName::new(topic).unwrap(),
            payload: Vec::new(),
            opts: crate::options::PublishOptions::default(),
            confirm: None,
        }
    }

    #[test]
    fn only_the_push_that_finds_the_queue_idle_asks_for_a_wake_up() {
        let q = SendQueue::new(10);
        assert!(q.push(publish("a"), Duration::ZERO).unwrap());
        assert!(!q.push(publish("b"), Duration::ZERO).unwrap());
        let mut taken = Vec::new();
        q.take_all(&mut taken);
        let topics: Vec<&str> = taken.iter().map(|p| p.topic.as_str()).collect();
        assert_eq!(topics, ["a", "b"]);
        assert_eq!(q.len(), 2, "places are freed when the protocol takes them");
        assert!(q.push(publish("c"), Duration::ZERO).unwrap());
    }
}
