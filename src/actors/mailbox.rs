//! Mailbox: the received messages of one client, in lanes the Lua thread drains with a bound:
//! the client-wide lane, the lane of messages for subscriptions with a handler, and one lane
//! per subscription read through its handle. The router fills it and decides the lanes under
//! the same lock that a subscription's claim takes, so a message is never routed by a claim
//! that has just changed. It is the only place where the two threads meet per message.

use std::collections::VecDeque;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;
use tokio::sync::Notify;

use super::messages::Message;
use super::shared::Counter;
use crate::topic::TopicFilter;

/// Identifies one `subscribe` call of a client.
pub type SubscriptionId = u64;

/// Where a message waits to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    /// Messages no subscription claimed: `client:receive()`.
    Client,
    /// Messages for subscriptions with a handler: `client:listen()`, `client:dispatch()`.
    Handlers,
    /// Messages for one subscription read through its handle.
    Own(SubscriptionId),
}

/// How a subscription claims its messages from the client-wide lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    Handler,
    Handle,
}

/// A subscription whose filter matched a message.
#[derive(Debug, Clone)]
pub struct Matched {
    pub id: SubscriptionId,
    pub filter: Arc<str>,
}

/// The same subscription: its id says it all.
impl PartialEq for Matched {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// The received messages of one client.
#[derive(Debug)]
pub struct Mailbox {
    inner: Mutex<Inner>,
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
    /// Set with `Inner::closed`, so that a read that does not wait can see, without the
    /// lock, that there is nothing to take.
    closed: AtomicBool,
    /// Messages read from the network and not yet in a lane or dropped: on their way to the
    /// router, or held back by it.
    arriving: AtomicUsize,
    /// Messages the Lua side has read (from a lane, or from what it took ahead): how the link
    /// tells a script that reads slowly from one that has stopped.
    read: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    lanes: FxHashMap<Lane, VecDeque<(u64, Message)>>,
    /// Subscriptions that take their messages out of the client-wide lane.
    claims: FxHashMap<SubscriptionId, Claim>,
    /// Arrival number of the next message, so that reading several lanes keeps arrival order.
    next: u64,
    closed: bool,
    /// Threads waiting in `take`, so that a delivery wakes nobody when nobody waits.
    waiters: usize,
}

/// A message taken out of a lane, with what puts it back in its place.
#[derive(Debug)]
pub struct Taken {
    seq: u64,
    lane: Lane,
    pub message: Message,
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

impl Inner {
    fn room(&self, lane: Lane, capacity: usize) -> bool {
        self.lanes.get(&lane).map_or(0, VecDeque::len) < capacity
    }

    /// The lane holding the oldest message among `lanes`.
    fn oldest(&self, lanes: &[Lane]) -> Option<Lane> {
        lanes
            .iter()
            .filter_map(|l| Some((self.lanes.get(l)?.front()?.0, *l)))
            .min_by_key(|&(seq, _)| seq)
            .map(|(_, l)| l)
    }
}

/// Messages delivered to a mailbox under one lock: the router's hand in it for one batch.
pub struct Deliveries<'a> {
    mailbox: &'a Mailbox,
    /// `None` only while dropping.
    inner: Option<MutexGuard<'a, Inner>>,
    delivered: bool,
    /// The lanes a message goes to, with the index of its match (kept to reuse its
    /// allocation across the batch).
    targets: Vec<(Lane, usize)>,
}

impl Deliveries<'_> {
    /// Queues `msg` once for every matching subscription that claims its messages, or in
    /// the client-wide lane when none does (tagged with the first match). All or nothing:
    /// the message comes back when a lane it needs is full, or the mailbox is closed.
    pub fn deliver(&mut self, mut msg: Message, matched: &[&Matched]) -> Result<(), Message> {
        let capacity = self.mailbox.capacity;
        let Some(inner) = self.inner.as_mut() else {
            return Err(msg);
        };
        let targets = &mut self.targets;
        targets.clear();
        for (i, m) in matched.iter().enumerate() {
            match inner.claims.get(&m.id) {
                Some(Claim::Handler) => targets.push((Lane::Handlers, i)),
                Some(Claim::Handle) => targets.push((Lane::Own(m.id), i)),
                None => {}
            }
        }
        if inner.closed {
            return Err(msg);
        }
        if targets.is_empty() {
            if !inner.room(Lane::Client, capacity) {
                return Err(msg);
            }
            msg.subscription = matched.first().map(|m| m.filter.clone());
            self.mailbox.received.add(msg.payload.len());
            let seq = inner.next;
            inner.next += 1;
            inner
                .lanes
                .entry(Lane::Client)
                .or_default()
                .push_back((seq, msg));
            self.mailbox.queued.fetch_add(1, Ordering::Relaxed);
        } else {
            if !targets.iter().all(|(lane, _)| inner.room(*lane, capacity)) {
                return Err(msg);
            }
            self.mailbox.received.add(msg.payload.len());
            let seq = inner.next;
            inner.next += 1;
            // A handle's copy needs to know who else got one, for when the handle is gone
            // (`disown`); handlers' copies never do.
            if targets.len() > 1 && targets.iter().any(|(lane, _)| matches!(lane, Lane::Own(_))) {
                msg.claimants = Some(targets.iter().map(|&(_, i)| matched[i].id).collect());
            }
            // Every target but the last gets a copy; the last takes the message itself.
            let mut put = |lane: Lane, m: &Matched, mut msg: Message| {
                msg.route = Some(m.id);
                inner.lanes.entry(lane).or_default().push_back((seq, msg));
            };
            let (last_lane, last) = targets[targets.len() - 1];
            for &(lane, i) in &targets[..targets.len() - 1] {
                put(lane, matched[i], msg.clone());
            }
            put(last_lane, matched[last], msg);
            self.mailbox
                .queued
                .fetch_add(targets.len(), Ordering::Relaxed);
        }
        self.delivered = true;
        Ok(())
    }
}

impl Drop for Deliveries<'_> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let wake = self.delivered && inner.waiters > 0;
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
            inner: Mutex::new(Inner::default()),
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
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
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
            targets: Vec::new(),
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
            let mut taken = 0;
            while taken < max {
                let Some(lane) = inner.oldest(lanes) else {
                    break;
                };
                // `oldest` found a message in that lane under this lock.
                if let Some((seq, message)) =
                    inner.lanes.get_mut(&lane).and_then(VecDeque::pop_front)
                {
                    into.push_back(Taken { seq, lane, message });
                }
                taken += 1;
            }
            if taken > 0 {
                self.queued.fetch_sub(taken, Ordering::Relaxed);
                drop(inner);
                self.made_room();
                return Take::Taken;
            }
            if inner.closed {
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
        let mut inner = self.lock();
        let mut back = 0;
        for Taken { seq, lane, message } in taken.rev() {
            if let Lane::Own(id) = lane {
                if !inner.claims.contains_key(&id) {
                    continue;
                }
            }
            inner
                .lanes
                .entry(lane)
                .or_default()
                .push_front((seq, message));
            back += 1;
        }
        self.queued.fetch_add(back, Ordering::Relaxed);
    }

    /// From now on `id` takes its messages out of the client-wide lane, and the ones already
    /// waiting there that its filter matches.
    pub fn claim(&self, id: SubscriptionId, filter: &TopicFilter, claim: Claim) {
        let mut inner = self.lock();
        inner.claims.insert(id, claim);
        self.adopt_locked(&mut inner, id, filter);
    }

    /// `id`'s filter is routed from now on: if `id` claims its messages, the ones that came
    /// before (a persistent session's, delivered right after the CONNACK), waiting in the
    /// client-wide lane, become its own.
    pub fn adopt(&self, id: SubscriptionId, filter: &TopicFilter) {
        let mut inner = self.lock();
        self.adopt_locked(&mut inner, id, filter);
    }

    fn adopt_locked(&self, inner: &mut Inner, id: SubscriptionId, filter: &TopicFilter) {
        let target = match inner.claims.get(&id) {
            Some(Claim::Handle) => Lane::Own(id),
            Some(Claim::Handler) => Lane::Handlers,
            None => return,
        };
        let Some(client) = inner.lanes.get_mut(&Lane::Client) else {
            return;
        };
        if !client.iter().any(|(_, m)| filter.matches(&m.topic)) {
            return;
        }
        let (mine, rest): (VecDeque<_>, VecDeque<_>) = std::mem::take(client)
            .into_iter()
            .partition(|(_, m)| filter.matches(&m.topic));
        *client = rest;
        let lane = inner.lanes.entry(target).or_default();
        for (seq, mut m) in mine {
            m.subscription = None;
            m.route = Some(id);
            lane.push_back((seq, m));
        }
        // The lane may hold later messages already: arrival order within it is kept.
        lane.make_contiguous().sort_by_key(|(seq, _)| *seq);
        if inner.waiters > 0 {
            self.ready.notify_all();
        }
    }

    /// The read handle of `id`, subscribed to `filter`, is gone: its claim ends, and the
    /// messages waiting in its own lane go back to the client-wide lane, in arrival order,
    /// as if it had never claimed them; except those another subscription that still
    /// claims its messages got a copy of. A handler's claim stays: its subscription, not a
    /// handle, holds it.
    pub fn disown(&self, id: SubscriptionId, filter: &Arc<str>) {
        let mut inner = self.lock();
        if inner.claims.get(&id) != Some(&Claim::Handle) {
            return;
        }
        inner.claims.remove(&id);
        if let Some(own) = inner.lanes.remove(&Lane::Own(id)).filter(|l| !l.is_empty()) {
            let claimed_elsewhere = |m: &Message| {
                m.claimants.as_deref().is_some_and(|ids| {
                    ids.iter()
                        .any(|&other| other != id && inner.claims.contains_key(&other))
                })
            };
            let (claimed, back): (Vec<_>, Vec<_>) =
                own.into_iter().partition(|(_, m)| claimed_elsewhere(m));
            self.queued.fetch_sub(claimed.len(), Ordering::Relaxed);
            let client = inner.lanes.entry(Lane::Client).or_default();
            client.extend(back.into_iter().map(|(seq, mut m)| {
                m.subscription = Some(filter.clone());
                m.route = None;
                m.claimants = None;
                (seq, m)
            }));
            client.make_contiguous().sort_by_key(|(seq, _)| *seq);
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
        inner.claims.remove(&id);
        let mut gone = inner
            .lanes
            .remove(&Lane::Own(id))
            .map_or(0, |lane| lane.len());
        if let Some(lane) = inner.lanes.get_mut(&Lane::Handlers) {
            let before = lane.len();
            lane.retain(|(_, m)| m.route != Some(id));
            gone += before - lane.len();
        }
        self.queued.fetch_sub(gone, Ordering::Relaxed);
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
        let used = self.queued.load(Ordering::Relaxed) + self.arriving.load(Ordering::Relaxed);
        used + n <= self.capacity
    }

    /// Closes the mailbox: deliveries are refused, and `take` returns what is left, then
    /// `Closed`.
    pub fn close(&self) {
        self.lock().closed = true;
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
    use super::*;
    use crate::options::QoS;

    fn msg(topic: &str, n: u8) -> Message {
        Message {
            topic: topic.into(),
            payload: vec![n].into(),
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            subscription: None,
            route: None,
            claimants: None,
        }
    }

    fn matched(id: SubscriptionId, filter: &str) -> Matched {
        Matched {
            id,
            filter: Arc::from(filter),
        }
    }

    fn take_one(m: &Mailbox, lanes: &[Lane], wait: Duration) -> (Take, Option<Message>) {
        let mut into = VecDeque::new();
        let outcome = m.take_into(lanes, wait, 1, &mut into);
        (outcome, into.pop_front().map(|t| t.message))
    }

    /// A taken message's topic, first payload byte, `subscription` and `route`.
    type Described = (String, u8, Option<String>, Option<SubscriptionId>);

    fn take_described(m: &Mailbox, lanes: &[Lane]) -> Option<Described> {
        let x = take_one(m, lanes, Duration::ZERO).1?;
        Some((
            x.topic,
            x.payload[0],
            x.subscription.map(|s| s.to_string()),
            x.route,
        ))
    }

    /// A taken message's topic, first payload byte and `route`.
    fn take(m: &Mailbox, lanes: &[Lane]) -> Option<(String, u8, Option<SubscriptionId>)> {
        take_described(m, lanes).map(|(topic, n, _, route)| (topic, n, route))
    }

    #[test]
    fn unclaimed_messages_come_out_of_the_client_lane_in_order() {
        let m = Mailbox::new(10);
        for n in 0..5 {
            m.deliver(msg("t", n), &[matched(1, "t")]).unwrap();
        }
        for n in 0..5 {
            assert_eq!(take(&m, &[Lane::Client]), Some(("t".into(), n, None)));
        }
        assert_eq!(take_one(&m, &[Lane::Client], Duration::ZERO).0, Take::Empty);
        assert_eq!(m.received(), (5, 5));
    }

    #[test]
    fn a_message_goes_once_to_each_claiming_subscription_and_not_to_the_client() {
        let m = Mailbox::new(10);
        let (a, b) = (
            TopicFilter::new("a/#").unwrap(),
            TopicFilter::new("a/+").unwrap(),
        );
        m.claim(1, &a, Claim::Handler);
        m.claim(2, &b, Claim::Handle);
        m.deliver(msg("a/x", 7), &[matched(1, "a/#"), matched(2, "a/+")])
            .unwrap();
        assert_eq!(take(&m, &[Lane::Client]), None);
        assert_eq!(
            take(&m, &[Lane::Handlers]),
            Some(("a/x".into(), 7, Some(1)))
        );
        assert_eq!(take(&m, &[Lane::Own(2)]), Some(("a/x".into(), 7, Some(2))));
        assert_eq!(m.received(), (1, 1));
    }

    #[test]
    fn reading_several_lanes_keeps_arrival_order() {
        let m = Mailbox::new(10);
        m.claim(1, &TopicFilter::new("h").unwrap(), Claim::Handler);
        m.deliver(msg("c", 1), &[]).unwrap();
        m.deliver(msg("h", 2), &[matched(1, "h")]).unwrap();
        m.deliver(msg("c", 3), &[]).unwrap();
        let both = [Lane::Client, Lane::Handlers];
        let order: Vec<u8> = (0..3)
            .filter_map(|_| take(&m, &both))
            .map(|t| t.1)
            .collect();
        assert_eq!(order, [1, 2, 3]);
    }

    #[test]
    fn a_handle_takes_what_already_waits_for_it() {
        let m = Mailbox::new(10);
        m.deliver(msg("s/1", 1), &[matched(5, "s/+")]).unwrap();
        m.deliver(msg("other", 2), &[]).unwrap();
        m.claim(5, &TopicFilter::new("s/+").unwrap(), Claim::Handle);
        assert_eq!(take(&m, &[Lane::Own(5)]), Some(("s/1".into(), 1, Some(5))));
        assert_eq!(take(&m, &[Lane::Client]), Some(("other".into(), 2, None)));
    }

    #[test]
    fn a_handler_takes_what_came_before_it_was_routed_in_arrival_order() {
        let m = Mailbox::new(10);
        m.claim(1, &TopicFilter::new("h/#").unwrap(), Claim::Handler);
        m.deliver(msg("p/1", 1), &[]).unwrap();
        m.deliver(msg("h/x", 3), &[matched(1, "h/#")]).unwrap();
        m.deliver(msg("other", 4), &[]).unwrap();
        // p/+ was claimed before the router knew it: its early message waits unrouted.
        m.claim(2, &TopicFilter::new("p/+").unwrap(), Claim::Handler);
        m.deliver(msg("p/2", 5), &[]).unwrap();
        m.adopt(2, &TopicFilter::new("p/+").unwrap());
        let handled: Vec<_> = std::iter::from_fn(|| take(&m, &[Lane::Handlers])).collect();
        assert_eq!(
            handled,
            [
                ("p/1".into(), 1, Some(2)),
                ("h/x".into(), 3, Some(1)),
                ("p/2".into(), 5, Some(2))
            ]
        );
        assert_eq!(take(&m, &[Lane::Client]), Some(("other".into(), 4, None)));
    }

    #[test]
    fn a_full_lane_refuses_the_whole_delivery() {
        let m = Mailbox::new(1);
        m.claim(1, &TopicFilter::new("#").unwrap(), Claim::Handle);
        m.claim(2, &TopicFilter::new("#").unwrap(), Claim::Handle);
        let both = [matched(1, "#"), matched(2, "#")];
        m.deliver(msg("x", 1), &both).unwrap();
        assert!(m.deliver(msg("x", 2), &both).is_err());
        take(&m, &[Lane::Own(1)]);
        assert!(
            m.deliver(msg("x", 2), &both).is_err(),
            "lane 2 is still full"
        );
        take(&m, &[Lane::Own(2)]);
        assert!(m.deliver(msg("x", 2), &both).is_ok());
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

    #[test]
    fn a_forgotten_subscription_loses_its_claim_and_lane() {
        let m = Mailbox::new(4);
        m.claim(3, &TopicFilter::new("t").unwrap(), Claim::Handle);
        m.deliver(msg("t", 1), &[matched(3, "t")]).unwrap();
        m.forget(3);
        assert_eq!(take(&m, &[Lane::Own(3)]), None);
        m.deliver(msg("t", 2), &[matched(3, "t")]).unwrap();
        assert_eq!(take(&m, &[Lane::Client]), Some(("t".into(), 2, None)));
    }

    #[test]
    fn a_disowned_handle_gives_its_messages_back_to_the_client_lane_in_arrival_order() {
        let m = Mailbox::new(2);
        m.claim(3, &TopicFilter::new("t/+").unwrap(), Claim::Handle);
        m.claim(4, &TopicFilter::new("h").unwrap(), Claim::Handler);
        m.deliver(msg("t/a", 1), &[matched(3, "t/+")]).unwrap();
        m.deliver(msg("other", 2), &[]).unwrap();
        m.deliver(msg("t/b", 3), &[matched(3, "t/+")]).unwrap();
        assert!(
            m.deliver(msg("t/c", 4), &[matched(3, "t/+")]).is_err(),
            "its lane is full"
        );
        m.disown(3, &Arc::from("t/+"));
        m.disown(4, &Arc::from("h"));
        let client: Vec<_> = std::iter::from_fn(|| take_described(&m, &[Lane::Client])).collect();
        let back = |topic: &str, n| (topic.into(), n, Some("t/+".into()), None);
        assert_eq!(
            client,
            [
                back("t/a", 1),
                ("other".into(), 2, None, None),
                back("t/b", 3)
            ]
        );
        m.deliver(msg("t/c", 4), &[matched(3, "t/+")]).unwrap();
        assert_eq!(take(&m, &[Lane::Client]), Some(("t/c".into(), 4, None)));
        // A handler's claim is its subscription's, not a handle's: it stays.
        m.deliver(msg("h", 5), &[matched(4, "h")]).unwrap();
        assert_eq!(take(&m, &[Lane::Handlers]), Some(("h".into(), 5, Some(4))));
    }

    #[test]
    fn a_disowned_handle_leaves_what_a_subscription_still_claiming_got_a_copy_of() {
        let m = Mailbox::new(4);
        for id in [1, 2] {
            m.claim(id, &TopicFilter::new("t/#").unwrap(), Claim::Handle);
        }
        m.claim(3, &TopicFilter::new("t/#").unwrap(), Claim::Handler);
        let all = [matched(1, "t/#"), matched(2, "t/#"), matched(3, "t/#")];
        m.deliver(msg("t/a", 1), &all).unwrap();
        m.deliver(msg("t/b", 2), &all[..2]).unwrap();
        m.deliver(msg("t/c", 3), &all[..1]).unwrap();
        // 2 has read its copies already; 3 (a handler) has not.
        while take(&m, &[Lane::Own(2)]).is_some() {}
        m.disown(1, &Arc::from("t/#"));
        assert_eq!(take(&m, &[Lane::Client]), Some(("t/c".into(), 3, None)));
        assert_eq!(take(&m, &[Lane::Client]), None);
        // Once no other claimant is left, a copy comes back: once.
        m.deliver(msg("t/d", 4), &all[1..]).unwrap();
        m.forget(3);
        m.disown(2, &Arc::from("t/#"));
        assert_eq!(take(&m, &[Lane::Client]), Some(("t/d".into(), 4, None)));
        assert_eq!(take(&m, &[Lane::Handlers]), None);
        assert!(m.has_room(4), "every message taken or gone");
    }

    #[test]
    fn a_forgotten_handler_subscription_loses_the_messages_waiting_for_it() {
        let m = Mailbox::new(4);
        for id in [1, 2] {
            m.claim(id, &TopicFilter::new("h").unwrap(), Claim::Handler);
        }
        m.deliver(msg("h", 1), &[matched(1, "h"), matched(2, "h")])
            .unwrap();
        m.forget(1);
        assert_eq!(take(&m, &[Lane::Handlers]), Some(("h".into(), 1, Some(2))));
        assert_eq!(take(&m, &[Lane::Handlers]), None);
        assert!(m.has_room(4));
    }

    #[test]
    fn a_batch_keeps_arrival_order_and_unread_puts_it_back_in_place() {
        let m = Mailbox::new(10);
        m.claim(1, &TopicFilter::new("h").unwrap(), Claim::Handler);
        for (n, topic) in [(1, "c"), (2, "h"), (3, "c"), (4, "h")] {
            let routed = [matched(1, "h")];
            let matched: &[Matched] = if topic == "h" { &routed } else { &[] };
            m.deliver(msg(topic, n), matched).unwrap();
        }
        let both = [Lane::Client, Lane::Handlers];
        let mut batch = VecDeque::new();
        assert_eq!(
            m.take_into(&both, Duration::ZERO, 3, &mut batch),
            Take::Taken
        );
        let order: Vec<u8> = batch.iter().map(|t| t.message.payload[0]).collect();
        assert_eq!(order, [1, 2, 3]);
        batch.pop_front();
        m.unread(batch.drain(..));
        assert_eq!(take(&m, &[Lane::Client]).map(|t| t.1), Some(3));
        assert_eq!(take(&m, &[Lane::Handlers]).map(|t| t.1), Some(2));
        assert_eq!(take(&m, &both).map(|t| t.1), Some(4));
    }

    /// The room the driver asks about counts every copy in every lane, what is on its way,
    /// and follows takes, put-backs and ended subscriptions.
    #[test]
    fn room_counts_what_is_queued_and_what_is_arriving() {
        let m = Mailbox::new(10);
        m.claim(1, &TopicFilter::new("h").unwrap(), Claim::Handler);
        m.claim(2, &TopicFilter::new("h").unwrap(), Claim::Handle);
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
