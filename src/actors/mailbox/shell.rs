//! Mailbox: the lanes of one client's received messages behind a lock, with what the two
//! threads need around them: the condvar the Lua side waits on, the counters the link reads
//! without the lock (messages queued, on their way, read), and the wake-ups of the router
//! and the link when the Lua side makes room. The router fills it and decides the lanes
//! under the same lock that a subscription's claim takes, so a message is never routed by a
//! claim that has just changed. It is the only place where the two threads meet per message.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::lanes::{Claim, Lane, Lanes, Matched, SubscriptionId, Taken};
use super::readiness::Watched;
use crate::actors::messages::Message;
use crate::actors::shared::Counter;
use crate::topic::TopicFilter;

/// The received messages of one client.
#[derive(Debug)]
pub struct Mailbox {
    inner: Mutex<Locked>,
    /// Wakes the Lua thread when a message arrives or the mailbox closes.
    ready: Condvar,
    /// Most messages one lane holds; a delivery beyond it is refused.
    capacity: usize,
    /// Set by the router while it holds messages back for lack of room.
    want_space: AtomicBool,
    /// Wakes the router when the Lua thread makes room.
    space: Notify,
    /// Set by the link while it waits for room before it reads from the network.
    want_room: AtomicBool,
    /// Wakes the link when room is made: by the Lua thread, or by the router placing what
    /// was on its way.
    room: Notify,
    /// QoS 0 messages dropped because a lane was full.
    dropped: AtomicU64,
    /// Messages and bytes accepted (a message claimed by two subscriptions counts once).
    received: Counter,
    /// Messages in the lanes (a message in two lanes counts twice).
    queued: AtomicUsize,
    /// Set with `Lanes::closed`, so that a read that does not wait can see, without the
    /// lock, that there is nothing to take.
    closed: AtomicBool,
    /// Messages read from the network and not yet in a lane or dropped: on their way to the
    /// router, or held back by it.
    arriving: AtomicUsize,
    /// Messages the Lua side has read (from a lane, or from what it took ahead): how the link
    /// tells a script that reads slowly from one that has stopped.
    read: AtomicU64,
    /// Set once the Lua side has asked for a readiness descriptor, so that a read without
    /// one takes no lock for it.
    readiness_asked: AtomicBool,
}

/// What the lock guards: the lanes, and who waits for them.
#[derive(Debug, Default)]
struct Locked {
    lanes: Lanes,
    /// Threads waiting in `take_into`, so that a delivery wakes nobody when nobody waits.
    waiters: usize,
    /// The descriptors the Lua side watches, once it has asked for them.
    watched: Watched,
}

/// The outcome of [`Mailbox::take_into`].
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// At least one message was taken.
    Taken,
    /// Nothing arrived within the wait.
    Empty,
    /// Closed for good and drained.
    Closed,
}

/// Messages delivered to a mailbox under one lock: the router's hand in it for one batch.
pub struct Deliveries<'a> {
    mailbox: &'a Mailbox,
    /// `None` only while dropping.
    inner: Option<MutexGuard<'a, Locked>>,
    delivered: bool,
}

impl Deliveries<'_> {
    /// Queues `msg` for every matching subscription that claims its messages, or in the
    /// client-wide lane (see [`Lanes::deliver`]). The message comes back when a lane it needs
    /// is full, or the mailbox is closed.
    pub fn deliver(&mut self, msg: Message, matched: &[&Matched]) -> Result<(), Message> {
        let Some(inner) = self.inner.as_mut() else {
            return Err(msg);
        };
        let bytes = msg.payload.len();
        let copies = inner.lanes.deliver(msg, matched, self.mailbox.capacity)?;
        self.mailbox.received.add(bytes);
        self.mailbox.queued.fetch_add(copies, Ordering::Relaxed);
        self.delivered = true;
        Ok(())
    }
}

impl Drop for Deliveries<'_> {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        let wake = self.delivered && inner.waiters > 0;
        if self.delivered {
            inner.watched.delivered();
        }
        drop(inner);
        if wake {
            self.mailbox.ready.notify_all();
        }
    }
}

impl Mailbox {
    /// An empty mailbox whose lanes hold at most `capacity` messages each.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Locked::default()),
            ready: Condvar::new(),
            capacity,
            want_space: AtomicBool::new(false),
            space: Notify::new(),
            want_room: AtomicBool::new(false),
            room: Notify::new(),
            dropped: AtomicU64::new(0),
            received: Counter::default(),
            queued: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            arriving: AtomicUsize::new(0),
            read: AtomicU64::new(0),
            readiness_asked: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Locked> {
        // The lock guards plain data that no panic can leave half-written.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues one message; see [`Deliveries::deliver`].
    #[cfg(test)]
    pub fn deliver(&self, msg: Message, matched: &[Matched]) -> Result<(), Message> {
        let matched: Vec<&Matched> = matched.iter().collect();
        self.deliveries().deliver(msg, &matched)
    }

    /// Delivers under one lock until the result is dropped, which wakes the Lua side once.
    pub fn deliveries(&self) -> Deliveries<'_> {
        Deliveries {
            mailbox: self,
            inner: Some(self.lock()),
            delivered: false,
        }
    }

    /// Moves up to `max` of the oldest messages of `lanes` into `into`, in arrival order,
    /// waiting up to `wait` for the first. Taking them in batches spares the Lua thread a
    /// lock per message; [`Mailbox::unread`] puts back what it did not read.
    pub fn take_into(
        &self,
        lanes: &[Lane],
        wait: Duration,
        max: usize,
        into: &mut VecDeque<Taken>,
    ) -> Take {
        // A poll of an empty, open mailbox (`receive(0)` in a publishing loop) takes no lock.
        if wait.is_zero()
            && self.queued.load(Ordering::Acquire) == 0
            && !self.closed.load(Ordering::Acquire)
        {
            return Take::Empty;
        }
        let mut deadline = None;
        let mut inner = self.lock();
        loop {
            let taken = inner.lanes.take(lanes, max, into);
            if taken > 0 {
                self.queued.fetch_sub(taken, Ordering::Relaxed);
                drop(inner);
                self.made_room();
                return Take::Taken;
            }
            if inner.lanes.closed {
                return Take::Closed;
            }
            let now = Instant::now();
            let deadline = *deadline.get_or_insert(now + wait);
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

    /// Puts taken messages back at the front of their lanes, in their places; those of a
    /// subscription that has ended go with it.
    pub fn unread(&self, taken: impl DoubleEndedIterator<Item = Taken>) {
        let back = self.lock().lanes.unread(taken);
        self.queued.fetch_add(back, Ordering::Relaxed);
    }

    /// From now on `id` takes its messages out of the client-wide lane, and the ones already
    /// waiting there that its filter matches.
    pub fn claim(&self, id: SubscriptionId, filter: &TopicFilter, claim: Claim) {
        let mut inner = self.lock();
        if inner.lanes.claim(id, filter, claim) {
            inner.watched.changed();
            if inner.waiters > 0 {
                self.ready.notify_all();
            }
        }
    }

    /// `id`'s filter is routed from now on: what came before it, waiting in the client-wide
    /// lane, becomes its own if it claims its messages (see [`Lanes::adopt`]).
    pub fn adopt(&self, id: SubscriptionId, filter: &TopicFilter) {
        let mut inner = self.lock();
        if inner.lanes.adopt(id, filter) {
            inner.watched.changed();
            if inner.waiters > 0 {
                self.ready.notify_all();
            }
        }
    }

    /// The `Subscription` object of `id`, subscribed to `filter`, is gone: its messages go
    /// back to the client-wide lane (see [`Lanes::disown`]).
    pub fn disown(&self, id: SubscriptionId, filter: &Arc<str>) {
        let mut inner = self.lock();
        let Some((back, dropped)) = inner.lanes.disown(id, filter) else {
            return;
        };
        self.queued.fetch_sub(dropped, Ordering::Relaxed);
        if back + dropped > 0 {
            inner.watched.changed();
            if inner.waiters > 0 {
                self.ready.notify_all();
            }
        }
        drop(inner);
        // The router may be holding messages for the lane that is gone.
        self.made_room();
    }

    /// `id` has ended: its claim, its own lane and the messages waiting for its handler go.
    pub fn forget(&self, id: SubscriptionId) {
        let mut inner = self.lock();
        let gone = inner.lanes.forget(id);
        self.queued.fetch_sub(gone, Ordering::Relaxed);
        inner.watched.changed();
        if inner.waiters > 0 {
            self.ready.notify_all();
        }
        drop(inner);
        self.made_room();
    }

    /// `n` more messages were read from the network for this mailbox.
    pub fn arriving(&self, n: usize) {
        self.arriving.fetch_add(n, Ordering::Relaxed);
    }

    /// `n` of the arriving messages are in their lanes now, or dropped.
    pub fn arrived(&self, n: usize) {
        self.arriving.fetch_sub(n, Ordering::Relaxed);
        // Pairs with the fence in `room_for`: either it sees the count, or this sees it wait.
        fence(Ordering::SeqCst);
        if n > 0 && self.want_room.load(Ordering::Relaxed) {
            self.room.notify_one();
        }
    }

    /// Wakes whoever waits for room: the router holding messages back, the link waiting to
    /// read.
    fn made_room(&self) {
        if self.want_space.load(Ordering::Acquire) {
            self.space.notify_one();
        }
        fence(Ordering::SeqCst);
        if self.want_room.load(Ordering::Relaxed) {
            self.room.notify_one();
        }
    }

    /// The Lua side has read a message.
    pub fn count_read(&self) {
        self.read.fetch_add(1, Ordering::Relaxed);
    }

    /// Messages the Lua side has read so far.
    pub fn read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// Most messages one lane holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether every lane has room for `n` more messages beyond those it holds and those on
    /// their way (counted as if all went to the same lane).
    pub fn has_room(&self, n: usize) -> bool {
        self.has_room_overdrawn(n, 0)
    }

    /// Whether `n` more messages fit when up to `overdraft` beyond the capacity may wait in
    /// the router for room (counted as [`Mailbox::has_room`] counts).
    pub fn has_room_overdrawn(&self, n: usize, overdraft: usize) -> bool {
        let used = self.queued.load(Ordering::Relaxed) + self.arriving.load(Ordering::Relaxed);
        used + n <= self.capacity + overdraft
    }

    /// A descriptor readable while the mailbox holds a message or is closed, or while
    /// `read_ahead` (the Lua side holds messages taken out and not read yet); made at the
    /// first call, the same one after.
    ///
    /// # Errors
    /// The system refused a socket pair.
    pub fn readiness_fd(&self, read_ahead: bool) -> std::io::Result<std::os::fd::RawFd> {
        let fd = self.lock().watched.readiness_fd()?;
        self.readiness_asked.store(true, Ordering::Release);
        self.settle_readiness(read_ahead);
        Ok(fd)
    }

    /// Brings the readiness descriptor, if any, in line with what the lanes hold, after the
    /// Lua side has taken messages (`read_ahead`: it still holds some it has not read).
    pub fn settle_readiness(&self, read_ahead: bool) {
        if !self.readiness_asked.load(Ordering::Acquire) {
            return;
        }
        let mut inner = self.lock();
        let ready = read_ahead || inner.lanes.closed || self.queued.load(Ordering::Relaxed) > 0;
        inner.watched.settle(ready);
    }

    /// The descriptor `mqtt.run`'s scheduler waits on: readable once something changed that
    /// a waiting read may be waiting for, until [`Mailbox::clear_news`]. Made at the first
    /// call (readable then), the same one after.
    ///
    /// # Errors
    /// The system refused a socket pair.
    pub fn news_fd(&self) -> std::io::Result<std::os::fd::RawFd> {
        self.lock().watched.news_fd()
    }

    /// The scheduler is about to let the tasks waiting on this mailbox look again: what
    /// changes from now on is news again.
    pub fn clear_news(&self) {
        self.lock().watched.clear_news();
    }

    /// Closes the mailbox: deliveries are refused, and `take` returns what is left, then
    /// `Closed`.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.lanes.closed = true;
        inner.watched.delivered();
        drop(inner);
        self.closed.store(true, Ordering::Release);
        self.ready.notify_all();
        self.space.notify_one();
        self.room.notify_one();
    }

    /// Whether the mailbox is closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
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

    /// Resolves once the mailbox has room for `n` more messages (see
    /// [`Mailbox::has_room`]), or is closed.
    pub async fn room_for(&self, n: usize) {
        loop {
            self.want_room.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if self.has_room(n) || self.is_closed() {
                self.want_room.store(false, Ordering::Relaxed);
                return;
            }
            self.room.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lanes::fixtures::{matched, msg};
    use super::*;

    fn take_one(m: &Mailbox, lanes: &[Lane], wait: Duration) -> (Take, Option<Message>) {
        let mut into = VecDeque::new();
        let outcome = m.take_into(lanes, wait, 1, &mut into);
        (outcome, into.pop_front().map(|t| t.message))
    }

    #[test]
    fn a_message_claimed_twice_is_counted_received_once() {
        let m = Mailbox::new(10);
        m.claim(1, &TopicFilter::new("a/#").unwrap(), Claim::Handlers);
        m.claim(2, &TopicFilter::new("a/+").unwrap(), Claim::Own);
        m.deliver(msg("a/x", 7), &[matched(1, "a/#"), matched(2, "a/+")])
            .unwrap();
        m.deliver(msg("b", 8), &[]).unwrap();
        assert_eq!(m.received(), (2, 2));
        assert!(m.has_room(7) && !m.has_room(8), "three copies queued");
    }

    /// Whether the readiness descriptor is set.
    fn ready(m: &Mailbox) -> bool {
        m.lock().watched.is_ready()
    }

    #[test]
    fn the_readiness_descriptor_follows_deliveries_takes_and_the_close() {
        let m = Mailbox::new(10);
        m.readiness_fd(false).unwrap();
        assert!(!ready(&m));
        m.deliver(msg("t", 1), &[]).unwrap();
        m.deliver(msg("t", 2), &[]).unwrap();
        assert!(ready(&m), "a delivery sets it");
        take_one(&m, &[Lane::Client], Duration::ZERO);
        m.settle_readiness(false);
        assert!(ready(&m), "one message is left");
        take_one(&m, &[Lane::Client], Duration::ZERO);
        m.settle_readiness(true);
        assert!(ready(&m), "the Lua side holds messages it has not read");
        m.settle_readiness(false);
        assert!(!ready(&m), "everything taken and read");
        m.close();
        assert!(ready(&m), "closed");
    }

    #[test]
    fn a_closed_mailbox_drains_then_says_closed() {
        let m = Mailbox::new(2);
        m.deliver(msg("t", 1), &[]).unwrap();
        m.close();
        assert!(m.deliver(msg("t", 2), &[]).is_err());
        let wait = Duration::from_secs(5);
        assert_eq!(take_one(&m, &[Lane::Client], wait).0, Take::Taken);
        assert_eq!(take_one(&m, &[Lane::Client], wait).0, Take::Closed);
        // A poll, which looks without the lock first, says so too.
        assert_eq!(
            take_one(&m, &[Lane::Client], Duration::ZERO).0,
            Take::Closed
        );
    }

    #[test]
    fn a_waiting_take_wakes_on_delivery_from_another_thread() {
        let m = Arc::new(Mailbox::new(2));
        let pusher = {
            let m = m.clone();
            std::thread::spawn(move || {
                // Deliver only once the taker waits, so the wake-up path is the one exercised.
                while m.lock().waiters == 0 {
                    std::thread::yield_now();
                }
                m.deliver(msg("t", 9), &[]).unwrap();
            })
        };
        assert_eq!(
            take_one(&m, &[Lane::Client], Duration::from_secs(10)).0,
            Take::Taken
        );
        pusher.join().unwrap();
    }

    #[test]
    fn take_returns_empty_after_its_wait() {
        let m = Mailbox::new(1);
        let start = Instant::now();
        assert_eq!(
            take_one(&m, &[Lane::Client], Duration::from_millis(50)).0,
            Take::Empty
        );
        assert!(start.elapsed() >= Duration::from_millis(50));
    }

    /// The room the driver asks about counts every copy in every lane, what is on its way,
    /// and follows takes, put-backs and ended subscriptions.
    #[test]
    fn room_counts_what_is_queued_and_what_is_arriving() {
        let m = Mailbox::new(10);
        m.claim(1, &TopicFilter::new("h").unwrap(), Claim::Handlers);
        m.claim(2, &TopicFilter::new("h").unwrap(), Claim::Own);
        m.arriving(3);
        assert!(m.has_room(7) && !m.has_room(8));
        m.deliver(msg("h", 1), &[matched(1, "h"), matched(2, "h")])
            .unwrap();
        m.deliver(msg("c", 2), &[]).unwrap();
        m.arrived(2);
        // Three copies queued, one message still arriving.
        assert!(m.has_room(6) && !m.has_room(7));
        let mut batch = VecDeque::new();
        m.take_into(
            &[Lane::Client, Lane::Handlers],
            Duration::ZERO,
            2,
            &mut batch,
        );
        assert!(m.has_room(8) && !m.has_room(9));
        m.unread(batch.drain(..));
        assert!(m.has_room(6) && !m.has_room(7));
        m.forget(2);
        assert!(m.has_room(7) && !m.has_room(8));
    }
}
