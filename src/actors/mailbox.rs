//! Mailbox: a bounded queue of received messages that the router fills and the Lua thread
//! drains, waiting with a bound. It is the only place where the two threads meet per message.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::messages::Message;
use super::shared::Counter;

/// A bounded queue of received messages.
#[derive(Debug)]
pub struct Mailbox {
    inner: Mutex<Inner>,
    /// Wakes the Lua thread when a message arrives or the mailbox closes.
    ready: Condvar,
    /// Most messages the queue holds; a push beyond it is refused.
    capacity: usize,
    /// Set by the router while it holds messages back for lack of room.
    want_space: AtomicBool,
    /// Wakes the router when the Lua thread makes room.
    space: Notify,
    /// QoS 0 messages dropped because the queue was full.
    dropped: AtomicU64,
    /// Messages and bytes accepted.
    received: Counter,
}

#[derive(Debug, Default)]
struct Inner {
    queue: VecDeque<Message>,
    closed: bool,
    /// Threads waiting in `take`, so that a push wakes nobody when nobody waits.
    waiters: usize,
}

/// The outcome of [`Mailbox::take`].
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    Message(Message),
    /// Nothing arrived within the wait.
    Empty,
    /// Closed for good and drained.
    Closed,
}

impl Mailbox {
    /// An empty mailbox holding at most `capacity` messages.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            ready: Condvar::new(),
            capacity,
            want_space: AtomicBool::new(false),
            space: Notify::new(),
            dropped: AtomicU64::new(0),
            received: Counter::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The lock guards plain data that no panic can leave half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `msg`, or hands it back when the mailbox is full or closed.
    pub fn push(&self, msg: Message) -> Result<(), Message> {
        let mut inner = self.lock();
        if inner.closed || inner.queue.len() >= self.capacity {
            return Err(msg);
        }
        self.received.add(msg.payload.len());
        inner.queue.push_back(msg);
        if inner.waiters > 0 {
            self.ready.notify_one();
        }
        Ok(())
    }

    /// Takes the oldest message, waiting up to `wait` for one. O(1).
    pub fn take(&self, wait: Duration) -> Take {
        let deadline = Instant::now() + wait;
        let mut inner = self.lock();
        loop {
            if let Some(msg) = inner.queue.pop_front() {
                drop(inner);
                if self.want_space.load(Ordering::Acquire) {
                    self.space.notify_one();
                }
                return Take::Message(msg);
            }
            if inner.closed {
                return Take::Closed;
            }
            let now = Instant::now();
            if now >= deadline {
                return Take::Empty;
            }
            inner.waiters += 1;
            let (guard, _) = self
                .ready
                .wait_timeout(inner, deadline - now)
                .unwrap_or_else(|e| e.into_inner());
            inner = guard;
            inner.waiters -= 1;
        }
    }

    /// Closes the mailbox: pushes are refused, and `take` returns what is left, then `Closed`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
        self.space.notify_one();
    }

    /// Whether the mailbox is closed.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Messages waiting to be taken.
    pub fn len(&self) -> usize {
        self.lock().queue.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts a QoS 0 message dropped for lack of room.
    pub fn count_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// QoS 0 messages dropped for lack of room so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Messages and bytes accepted so far.
    pub fn received(&self) -> (u64, u64) {
        self.received.get()
    }

    /// Asks for a wake-up on [`Mailbox::space_freed`] when the Lua side next takes a message.
    pub fn want_space(&self, want: bool) {
        self.want_space.store(want, Ordering::Release);
    }

    /// Resolves after the Lua side has taken a message while space was wanted.
    pub async fn space_freed(&self) {
        self.space.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::QoS;

    fn msg(n: u8) -> Message {
        Message {
            topic: format!("t/{n}"),
            payload: vec![n].into(),
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            subscription: None,
        }
    }

    #[test]
    fn messages_come_out_in_the_order_they_went_in() {
        let m = Mailbox::new(10);
        for n in 0..5 {
            m.push(msg(n)).unwrap();
        }
        for n in 0..5 {
            assert_eq!(m.take(Duration::ZERO), Take::Message(msg(n)));
        }
        assert_eq!(m.take(Duration::ZERO), Take::Empty);
    }

    #[test]
    fn a_full_mailbox_hands_the_message_back() {
        let m = Mailbox::new(2);
        m.push(msg(1)).unwrap();
        m.push(msg(2)).unwrap();
        assert_eq!(m.push(msg(3)), Err(msg(3)));
        assert_eq!(m.len(), 2);
        assert_eq!(m.received(), (2, 2));
    }

    #[test]
    fn a_closed_mailbox_drains_then_says_closed() {
        let m = Mailbox::new(2);
        m.push(msg(1)).unwrap();
        m.close();
        assert!(m.push(msg(2)).is_err());
        assert_eq!(m.take(Duration::from_secs(5)), Take::Message(msg(1)));
        assert_eq!(m.take(Duration::from_secs(5)), Take::Closed);
    }

    #[test]
    fn a_waiting_take_wakes_on_push_from_another_thread() {
        let m = std::sync::Arc::new(Mailbox::new(2));
        let pusher = {
            let m = m.clone();
            std::thread::spawn(move || {
                // Push only once the taker is waiting, so the wake-up path is the one exercised.
                while m.lock().waiters == 0 {
                    std::thread::yield_now();
                }
                m.push(msg(9)).unwrap();
            })
        };
        assert_eq!(m.take(Duration::from_secs(10)), Take::Message(msg(9)));
        pusher.join().unwrap();
    }

    #[test]
    fn take_returns_empty_after_its_wait() {
        let m = Mailbox::new(1);
        let start = Instant::now();
        assert_eq!(m.take(Duration::from_millis(50)), Take::Empty);
        assert!(start.elapsed() >= Duration::from_millis(50));
    }
}
