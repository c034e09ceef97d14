//! Lanes: where one client's received messages wait, and the rules of which reader gets
//! which. There is the client-wide lane (`client:receive()`), the handlers' lane
//! (`client:listen()`, `client:dispatch()`), and one lane per subscription read through its
//! own `Subscription` object. A subscription's claim sends its messages to the handlers'
//! lane or to its own; a message no subscription claims goes to the client-wide lane.
//! Plain data: the mailbox keeps it under its lock, and every rule here is tested without a
//! thread.

use std::collections::VecDeque;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::actors::messages::Message;
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
    /// Messages for one subscription read through its own `Subscription` object.
    Own(SubscriptionId),
}

/// Which lane a subscription that claims its messages sends them to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The handlers' lane: the subscription has a handler.
    Handlers,
    /// Its own lane: the script reads it through its `Subscription` object.
    Own,
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

/// A message taken out of a lane, with what puts it back in its place.
#[derive(Debug)]
pub struct Taken {
    seq: u64,
    lane: Lane,
    pub message: Message,
}

/// The messages of one client, in their lanes, and the claims that decide the lanes.
#[derive(Debug, Default)]
pub struct Lanes {
    lanes: FxHashMap<Lane, VecDeque<(u64, Message)>>,
    /// Subscriptions that take their messages out of the client-wide lane.
    claims: FxHashMap<SubscriptionId, Claim>,
    /// Arrival number of the next message, so that reading several lanes keeps arrival order.
    next: u64,
    /// Closed for good: deliveries are refused.
    pub closed: bool,
    /// The lanes a message goes to, with the index of its match (kept to reuse its
    /// allocation from one delivery to the next).
    targets: Vec<(Lane, usize)>,
}

impl Lanes {
    /// Queues `msg` once for every matching subscription that claims its messages, or in
    /// the client-wide lane when none does (tagged with the first match's filter). All or
    /// nothing: the message comes back when a lane it needs holds `capacity` messages, or
    /// the lanes are closed. Returns how many copies were queued.
    pub fn deliver(
        &mut self,
        mut msg: Message,
        matched: &[&Matched],
        capacity: usize,
    ) -> Result<usize, Message> {
        let targets = &mut self.targets;
        targets.clear();
        for (i, m) in matched.iter().enumerate() {
            match self.claims.get(&m.id) {
                Some(Claim::Handlers) => targets.push((Lane::Handlers, i)),
                Some(Claim::Own) => targets.push((Lane::Own(m.id), i)),
                None => {}
            }
        }
        if self.closed {
            return Err(msg);
        }
        if targets.is_empty() {
            if !room(&self.lanes, Lane::Client, capacity) {
                return Err(msg);
            }
            msg.subscription = matched.first().map(|m| m.filter.clone());
            let seq = self.next;
            self.next += 1;
            self.lanes
                .entry(Lane::Client)
                .or_default()
                .push_back((seq, msg));
            return Ok(1);
        }
        if !targets
            .iter()
            .all(|(lane, _)| room(&self.lanes, *lane, capacity))
        {
            return Err(msg);
        }
        let seq = self.next;
        self.next += 1;
        // A copy in a subscription's own lane needs to know who else got one, for when its
        // `Subscription` is gone (`disown`); handlers' copies never do.
        if targets.len() > 1 && targets.iter().any(|(lane, _)| matches!(lane, Lane::Own(_))) {
            msg.claimants = Some(targets.iter().map(|&(_, i)| matched[i].id).collect());
        }
        // Every target but the last gets a copy; the last takes the message itself.
        let lanes = &mut self.lanes;
        let mut put = |lane: Lane, m: &Matched, mut msg: Message| {
            msg.claimed_by = Some(m.id);
            lanes.entry(lane).or_default().push_back((seq, msg));
        };
        let (last_lane, last) = targets[targets.len() - 1];
        for &(lane, i) in &targets[..targets.len() - 1] {
            put(lane, matched[i], msg.clone());
        }
        put(last_lane, matched[last], msg);
        Ok(targets.len())
    }

    /// Moves up to `max` of the oldest messages of `lanes` into `into`, in arrival order;
    /// returns how many.
    pub fn take(&mut self, lanes: &[Lane], max: usize, into: &mut VecDeque<Taken>) -> usize {
        let mut taken = 0;
        while taken < max {
            let Some(lane) = self.oldest(lanes) else {
                break;
            };
            // `oldest` found a message in that lane.
            if let Some((seq, message)) = self.lanes.get_mut(&lane).and_then(VecDeque::pop_front) {
                into.push_back(Taken { seq, lane, message });
            }
            taken += 1;
        }
        taken
    }

    /// Puts taken messages back at the front of their lanes, in their places; those of a
    /// subscription that has ended go with it. Returns how many went back.
    pub fn unread(&mut self, taken: impl DoubleEndedIterator<Item = Taken>) -> usize {
        let mut back = 0;
        for Taken { seq, lane, message } in taken.rev() {
            if let Lane::Own(id) = lane {
                if !self.claims.contains_key(&id) {
                    continue;
                }
            }
            self.lanes
                .entry(lane)
                .or_default()
                .push_front((seq, message));
            back += 1;
        }
        back
    }

    /// From now on `id` takes its messages out of the client-wide lane, and the ones already
    /// waiting there that its filter matches. Returns whether any moved.
    pub fn claim(&mut self, id: SubscriptionId, filter: &TopicFilter, claim: Claim) -> bool {
        self.claims.insert(id, claim);
        self.adopt(id, filter)
    }

    /// `id`'s filter is routed from now on: if `id` claims its messages, the ones that came
    /// before (a persistent session's, delivered right after the CONNACK), waiting in the
    /// client-wide lane, become its own. Returns whether any moved.
    pub fn adopt(&mut self, id: SubscriptionId, filter: &TopicFilter) -> bool {
        let target = match self.claims.get(&id) {
            Some(Claim::Own) => Lane::Own(id),
            Some(Claim::Handlers) => Lane::Handlers,
            None => return false,
        };
        let Some(client) = self.lanes.get_mut(&Lane::Client) else {
            return false;
        };
        if !client.iter().any(|(_, m)| filter.matches(&m.topic)) {
            return false;
        }
        let (mine, rest): (VecDeque<_>, VecDeque<_>) = std::mem::take(client)
            .into_iter()
            .partition(|(_, m)| filter.matches(&m.topic));
        *client = rest;
        let lane = self.lanes.entry(target).or_default();
        for (seq, mut m) in mine {
            m.subscription = None;
            m.claimed_by = Some(id);
            lane.push_back((seq, m));
        }
        // The lane may hold later messages already: arrival order within it is kept.
        lane.make_contiguous().sort_by_key(|(seq, _)| *seq);
        true
    }

    /// The `Subscription` object of `id`, subscribed to `filter`, is gone: its claim ends,
    /// and the messages waiting in its own lane go back to the client-wide lane, in arrival
    /// order, as if it had never claimed them; except those another subscription that still
    /// claims its messages got a copy of, which are dropped. A handler's claim stays: its
    /// subscription, not an object, holds it. Returns the messages given back and dropped,
    /// or `None` when `id` had no claim of its own to end.
    pub fn disown(&mut self, id: SubscriptionId, filter: &Arc<str>) -> Option<(usize, usize)> {
        if self.claims.get(&id) != Some(&Claim::Own) {
            return None;
        }
        self.claims.remove(&id);
        let Some(own) = self.lanes.remove(&Lane::Own(id)).filter(|l| !l.is_empty()) else {
            return Some((0, 0));
        };
        let claims = &self.claims;
        let claimed_elsewhere = |m: &Message| {
            m.claimants.as_deref().is_some_and(|ids| {
                ids.iter()
                    .any(|&other| other != id && claims.contains_key(&other))
            })
        };
        let (dropped, back): (Vec<_>, Vec<_>) =
            own.into_iter().partition(|(_, m)| claimed_elsewhere(m));
        let given_back = back.len();
        let client = self.lanes.entry(Lane::Client).or_default();
        client.extend(back.into_iter().map(|(seq, mut m)| {
            m.subscription = Some(filter.clone());
            m.claimed_by = None;
            m.claimants = None;
            (seq, m)
        }));
        client.make_contiguous().sort_by_key(|(seq, _)| *seq);
        Some((given_back, dropped.len()))
    }

    /// `id` has ended: its claim, its own lane and the messages waiting for its handler go.
    /// Returns how many messages went.
    pub fn forget(&mut self, id: SubscriptionId) -> usize {
        self.claims.remove(&id);
        let mut gone = self
            .lanes
            .remove(&Lane::Own(id))
            .map_or(0, |lane| lane.len());
        if let Some(lane) = self.lanes.get_mut(&Lane::Handlers) {
            let before = lane.len();
            lane.retain(|(_, m)| m.claimed_by != Some(id));
            gone += before - lane.len();
        }
        gone
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

/// Whether `lane` holds fewer than `capacity` messages.
fn room(lanes: &FxHashMap<Lane, VecDeque<(u64, Message)>>, lane: Lane, capacity: usize) -> bool {
    lanes.get(&lane).map_or(0, VecDeque::len) < capacity
}

/// Messages and matches for the mailbox's tests.
#[cfg(test)]
pub mod fixtures {
    use super::{Matched, Message, SubscriptionId};
    use crate::options::QoS;
    use std::sync::Arc;

    /// A QoS 0 message to `topic` whose payload is the byte `n`.
    pub fn msg(topic: &str, n: u8) -> Message {
        Message {
            topic: topic.into(),
            payload: vec![n].into(),
            qos: QoS::AtMostOnce,
            retain: false,
            dup: false,
            subscription: None,
            claimed_by: None,
            claimants: None,
        }
    }

    /// Subscription `id`, to `filter`, as the router finds it.
    pub fn matched(id: SubscriptionId, filter: &str) -> Matched {
        Matched {
            id,
            filter: Arc::from(filter),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{matched, msg};
    use super::*;

    /// Lanes with the bound a mailbox gives them, called as the mailbox calls them.
    struct Bounded {
        lanes: Lanes,
        capacity: usize,
    }

    impl Bounded {
        fn new(capacity: usize) -> Self {
            Self {
                lanes: Lanes::default(),
                capacity,
            }
        }

        fn deliver(&mut self, msg: Message, matched: &[Matched]) -> Result<usize, Message> {
            let matched: Vec<&Matched> = matched.iter().collect();
            self.lanes.deliver(msg, &matched, self.capacity)
        }

        fn claim(&mut self, id: SubscriptionId, filter: &TopicFilter, claim: Claim) {
            self.lanes.claim(id, filter, claim);
        }

        fn adopt(&mut self, id: SubscriptionId, filter: &TopicFilter) {
            self.lanes.adopt(id, filter);
        }

        fn disown(&mut self, id: SubscriptionId, filter: &Arc<str>) -> Option<(usize, usize)> {
            self.lanes.disown(id, filter)
        }

        fn forget(&mut self, id: SubscriptionId) -> usize {
            self.lanes.forget(id)
        }

        fn unread(&mut self, taken: impl DoubleEndedIterator<Item = Taken>) {
            self.lanes.unread(taken);
        }

        /// Messages in every lane.
        fn queued(&self) -> usize {
            self.lanes.lanes.values().map(VecDeque::len).sum()
        }
    }

    /// A taken message's topic, first payload byte, `subscription` and `claimed_by`.
    type Described = (String, u8, Option<String>, Option<SubscriptionId>);

    fn take_described(m: &mut Bounded, lanes: &[Lane]) -> Option<Described> {
        let mut into = VecDeque::new();
        m.lanes.take(lanes, 1, &mut into);
        let x = into.pop_front()?.message;
        Some((
            x.topic,
            x.payload[0],
            x.subscription.map(|s| s.to_string()),
            x.claimed_by,
        ))
    }

    /// A taken message's topic, first payload byte and `claimed_by`.
    fn take(m: &mut Bounded, lanes: &[Lane]) -> Option<(String, u8, Option<SubscriptionId>)> {
        take_described(m, lanes).map(|(topic, n, _, by)| (topic, n, by))
    }

    #[test]
    fn unclaimed_messages_come_out_of_the_client_lane_in_order() {
        let mut m = Bounded::new(10);
        for n in 0..5 {
            m.deliver(msg("t", n), &[matched(1, "t")]).unwrap();
        }
        for n in 0..5 {
            assert_eq!(take(&mut m, &[Lane::Client]), Some(("t".into(), n, None)));
        }
        assert_eq!(take(&mut m, &[Lane::Client]), None);
    }

    #[test]
    fn a_message_goes_once_to_each_claiming_subscription_and_not_to_the_client() {
        let mut m = Bounded::new(10);
        let (a, b) = (
            TopicFilter::new("a/#").unwrap(),
            TopicFilter::new("a/+").unwrap(),
        );
        m.claim(1, &a, Claim::Handlers);
        m.claim(2, &b, Claim::Own);
        m.deliver(msg("a/x", 7), &[matched(1, "a/#"), matched(2, "a/+")])
            .unwrap();
        assert_eq!(take(&mut m, &[Lane::Client]), None);
        assert_eq!(
            take(&mut m, &[Lane::Handlers]),
            Some(("a/x".into(), 7, Some(1)))
        );
        assert_eq!(
            take(&mut m, &[Lane::Own(2)]),
            Some(("a/x".into(), 7, Some(2)))
        );
    }

    #[test]
    fn reading_several_lanes_keeps_arrival_order() {
        let mut m = Bounded::new(10);
        m.claim(1, &TopicFilter::new("h").unwrap(), Claim::Handlers);
        m.deliver(msg("c", 1), &[]).unwrap();
        m.deliver(msg("h", 2), &[matched(1, "h")]).unwrap();
        m.deliver(msg("c", 3), &[]).unwrap();
        let both = [Lane::Client, Lane::Handlers];
        let order: Vec<u8> = (0..3)
            .filter_map(|_| take(&mut m, &both))
            .map(|t| t.1)
            .collect();
        assert_eq!(order, [1, 2, 3]);
    }

    #[test]
    fn a_handle_takes_what_already_waits_for_it() {
        let mut m = Bounded::new(10);
        m.deliver(msg("s/1", 1), &[matched(5, "s/+")]).unwrap();
        m.deliver(msg("other", 2), &[]).unwrap();
        m.claim(5, &TopicFilter::new("s/+").unwrap(), Claim::Own);
        assert_eq!(
            take(&mut m, &[Lane::Own(5)]),
            Some(("s/1".into(), 1, Some(5)))
        );
        assert_eq!(
            take(&mut m, &[Lane::Client]),
            Some(("other".into(), 2, None))
        );
    }

    #[test]
    fn a_handler_takes_what_came_before_it_was_routed_in_arrival_order() {
        let mut m = Bounded::new(10);
        m.claim(1, &TopicFilter::new("h/#").unwrap(), Claim::Handlers);
        m.deliver(msg("p/1", 1), &[]).unwrap();
        m.deliver(msg("h/x", 3), &[matched(1, "h/#")]).unwrap();
        m.deliver(msg("other", 4), &[]).unwrap();
        // p/+ was claimed before the router knew it: its early message waits unrouted.
        m.claim(2, &TopicFilter::new("p/+").unwrap(), Claim::Handlers);
        m.deliver(msg("p/2", 5), &[]).unwrap();
        m.adopt(2, &TopicFilter::new("p/+").unwrap());
        let handled: Vec<_> = std::iter::from_fn(|| take(&mut m, &[Lane::Handlers])).collect();
        assert_eq!(
            handled,
            [
                ("p/1".into(), 1, Some(2)),
                ("h/x".into(), 3, Some(1)),
                ("p/2".into(), 5, Some(2))
            ]
        );
        assert_eq!(
            take(&mut m, &[Lane::Client]),
            Some(("other".into(), 4, None))
        );
    }

    #[test]
    fn a_full_lane_refuses_the_whole_delivery() {
        let mut m = Bounded::new(1);
        m.claim(1, &TopicFilter::new("#").unwrap(), Claim::Own);
        m.claim(2, &TopicFilter::new("#").unwrap(), Claim::Own);
        let both = [matched(1, "#"), matched(2, "#")];
        m.deliver(msg("x", 1), &both).unwrap();
        assert!(m.deliver(msg("x", 2), &both).is_err());
        take(&mut m, &[Lane::Own(1)]);
        assert!(
            m.deliver(msg("x", 2), &both).is_err(),
            "lane 2 is still full"
        );
        take(&mut m, &[Lane::Own(2)]);
        assert!(m.deliver(msg("x", 2), &both).is_ok());
    }

    #[test]
    fn a_forgotten_subscription_loses_its_claim_and_lane() {
        let mut m = Bounded::new(4);
        m.claim(3, &TopicFilter::new("t").unwrap(), Claim::Own);
        m.deliver(msg("t", 1), &[matched(3, "t")]).unwrap();
        assert_eq!(m.forget(3), 1);
        assert_eq!(take(&mut m, &[Lane::Own(3)]), None);
        m.deliver(msg("t", 2), &[matched(3, "t")]).unwrap();
        assert_eq!(take(&mut m, &[Lane::Client]), Some(("t".into(), 2, None)));
    }

    #[test]
    fn a_disowned_handle_gives_its_messages_back_to_the_client_lane_in_arrival_order() {
        let mut m = Bounded::new(2);
        m.claim(3, &TopicFilter::new("t/+").unwrap(), Claim::Own);
        m.claim(4, &TopicFilter::new("h").unwrap(), Claim::Handlers);
        m.deliver(msg("t/a", 1), &[matched(3, "t/+")]).unwrap();
        m.deliver(msg("other", 2), &[]).unwrap();
        m.deliver(msg("t/b", 3), &[matched(3, "t/+")]).unwrap();
        assert!(
            m.deliver(msg("t/c", 4), &[matched(3, "t/+")]).is_err(),
            "its lane is full"
        );
        assert_eq!(m.disown(3, &Arc::from("t/+")), Some((2, 0)));
        assert_eq!(
            m.disown(4, &Arc::from("h")),
            None,
            "a handler's claim is not a handle's"
        );
        let client: Vec<_> =
            std::iter::from_fn(|| take_described(&mut m, &[Lane::Client])).collect();
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
        assert_eq!(take(&mut m, &[Lane::Client]), Some(("t/c".into(), 4, None)));
        // A handler's claim is its subscription's, not a handle's: it stays.
        m.deliver(msg("h", 5), &[matched(4, "h")]).unwrap();
        assert_eq!(
            take(&mut m, &[Lane::Handlers]),
            Some(("h".into(), 5, Some(4)))
        );
    }

    #[test]
    fn a_disowned_handle_leaves_what_a_subscription_still_claiming_got_a_copy_of() {
        let mut m = Bounded::new(4);
        for id in [1, 2] {
            m.claim(id, &TopicFilter::new("t/#").unwrap(), Claim::Own);
        }
        m.claim(3, &TopicFilter::new("t/#").unwrap(), Claim::Handlers);
        let all = [matched(1, "t/#"), matched(2, "t/#"), matched(3, "t/#")];
        m.deliver(msg("t/a", 1), &all).unwrap();
        m.deliver(msg("t/b", 2), &all[..2]).unwrap();
        m.deliver(msg("t/c", 3), &all[..1]).unwrap();
        // 2 has read its copies already; 3 (a handler) has not.
        while take(&mut m, &[Lane::Own(2)]).is_some() {}
        // Of 1's three copies, t/a (3 claims it too) and t/b (2 does) go.
        assert_eq!(m.disown(1, &Arc::from("t/#")), Some((1, 2)));
        assert_eq!(take(&mut m, &[Lane::Client]), Some(("t/c".into(), 3, None)));
        assert_eq!(take(&mut m, &[Lane::Client]), None);
        // Once no other claimant is left, a copy comes back: once.
        m.deliver(msg("t/d", 4), &all[1..]).unwrap();
        assert_eq!(m.forget(3), 2, "its copies of t/a and t/d");
        assert_eq!(m.disown(2, &Arc::from("t/#")), Some((1, 0)));
        assert_eq!(take(&mut m, &[Lane::Client]), Some(("t/d".into(), 4, None)));
        assert_eq!(take(&mut m, &[Lane::Handlers]), None);
        assert_eq!(m.queued(), 0, "every message taken or gone");
    }

    #[test]
    fn a_forgotten_handler_subscription_loses_the_messages_waiting_for_it() {
        let mut m = Bounded::new(4);
        for id in [1, 2] {
            m.claim(id, &TopicFilter::new("h").unwrap(), Claim::Handlers);
        }
        m.deliver(msg("h", 1), &[matched(1, "h"), matched(2, "h")])
            .unwrap();
        assert_eq!(m.forget(1), 1);
        assert_eq!(
            take(&mut m, &[Lane::Handlers]),
            Some(("h".into(), 1, Some(2)))
        );
        assert_eq!(take(&mut m, &[Lane::Handlers]), None);
        assert_eq!(m.queued(), 0);
    }

    #[test]
    fn a_batch_keeps_arrival_order_and_unread_puts_it_back_in_place() {
        let mut m = Bounded::new(10);
        m.claim(1, &TopicFilter::new("h").unwrap(), Claim::Handlers);
        for (n, topic) in [(1, "c"), (2, "h"), (3, "c"), (4, "h")] {
            let routed = [matched(1, "h")];
            let matched: &[Matched] = if topic == "h" { &routed } else { &[] };
            m.deliver(msg(topic, n), matched).unwrap();
        }
        let both = [Lane::Client, Lane::Handlers];
        let mut batch = VecDeque::new();
        assert_eq!(m.lanes.take(&both, 3, &mut batch), 3);
        let order: Vec<u8> = batch.iter().map(|t| t.message.payload[0]).collect();
        assert_eq!(order, [1, 2, 3]);
        batch.pop_front();
        m.unread(batch.drain(..));
        assert_eq!(take(&mut m, &[Lane::Client]).map(|t| t.1), Some(3));
        assert_eq!(take(&mut m, &[Lane::Handlers]).map(|t| t.1), Some(2));
        assert_eq!(take(&mut m, &both).map(|t| t.1), Some(4));
    }
}
