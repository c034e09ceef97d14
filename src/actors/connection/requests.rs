//! Requests: one connection's SUBSCRIBE and UNSUBSCRIBE requests, from the link's queue to
//! the packet that went out (and its packet id) to the broker's answer. Plain data: the
//! connection actor holds it.

use std::collections::VecDeque;

use rustc_hash::FxHashMap;

use crate::actors::answer::Answer;
use crate::actors::mailbox::SubscriptionId;
use crate::actors::messages::Granted;
use crate::error::Error;
use crate::options::QoS;
use crate::topic::TopicFilter;

/// A SUBSCRIBE on its way.
pub struct PendingSubscribe {
    /// The filters, with the QoS asked for and the subscription to register (none for the
    /// re-subscriptions the link makes by itself: the router still has them).
    pub filters: Vec<(TopicFilter, QoS, Option<SubscriptionId>)>,
    pub reply: Option<Answer<Granted>>,
}

/// An UNSUBSCRIBE on its way.
pub struct PendingUnsubscribe {
    pub filter: TopicFilter,
    /// None for an UNSUBSCRIBE that undoes a subscribe its asker gave up on.
    pub reply: Option<Answer<Vec<SubscriptionId>>>,
}

/// The requests of one connection that wait for their packet to go out or for an answer.
/// The link writes queued requests in order, so each packet that goes out is the oldest
/// queued request of its kind.
#[derive(Default)]
pub struct Requests {
    subscribes_queued: VecDeque<PendingSubscribe>,
    subscribes_sent: FxHashMap<u16, PendingSubscribe>,
    unsubscribes_queued: VecDeque<PendingUnsubscribe>,
    unsubscribes_sent: FxHashMap<u16, PendingUnsubscribe>,
}

impl Requests {
    /// A SUBSCRIBE queued in the link.
    pub fn subscribe(&mut self, pending: PendingSubscribe) {
        self.subscribes_queued.push_back(pending);
    }

    /// The re-subscriptions the link queued after a reconnect, ahead of every request
    /// already waiting: one SUBSCRIBE per batch, in order.
    pub fn resubscribe_first(&mut self, batches: Vec<Vec<(TopicFilter, QoS)>>) {
        for filters in batches.into_iter().rev() {
            self.subscribes_queued.push_front(PendingSubscribe {
                filters: filters.into_iter().map(|(f, q)| (f, q, None)).collect(),
                reply: None,
            });
        }
    }

    /// A SUBSCRIBE went out with this packet id.
    pub fn subscribe_sent(&mut self, pkid: u16) {
        if let Some(p) = self.subscribes_queued.pop_front() {
            self.subscribes_sent.insert(pkid, p);
        }
    }

    /// The SUBACK of this packet id came: the request it answers.
    pub fn suback(&mut self, pkid: u16) -> Option<PendingSubscribe> {
        self.subscribes_sent.remove(&pkid)
    }

    /// An UNSUBSCRIBE queued in the link.
    pub fn unsubscribe(&mut self, pending: PendingUnsubscribe) {
        self.unsubscribes_queued.push_back(pending);
    }

    /// An UNSUBSCRIBE went out with this packet id.
    pub fn unsubscribe_sent(&mut self, pkid: u16) {
        if let Some(p) = self.unsubscribes_queued.pop_front() {
            self.unsubscribes_sent.insert(pkid, p);
        }
    }

    /// The UNSUBACK of this packet id came: the request it answers.
    pub fn unsuback(&mut self, pkid: u16) -> Option<PendingUnsubscribe> {
        self.unsubscribes_sent.remove(&pkid)
    }

    /// Fails the requests whose packets went out on a lost connection: their answers will
    /// not come. The ones not sent yet stay queued: the link sends them after the
    /// reconnect, in order (their callers wait up to their timeout).
    pub fn fail_sent(&mut self, lost: &Error) {
        for (_, p) in self.subscribes_sent.drain() {
            if let Some(reply) = p.reply {
                let _ = reply.give(Err(lost.clone()));
            }
        }
        for (_, p) in self.unsubscribes_sent.drain() {
            if let Some(reply) = p.reply {
                let _ = reply.give(Err(lost.clone()));
            }
        }
    }

    /// Fails every request: the client is closing.
    pub fn fail_all(&mut self, lost: &Error) {
        self.fail_sent(lost);
        for p in self.subscribes_queued.drain(..) {
            if let Some(reply) = p.reply {
                let _ = reply.give(Err(lost.clone()));
            }
        }
        for p in self.unsubscribes_queued.drain(..) {
            if let Some(reply) = p.reply {
                let _ = reply.give(Err(lost.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actors::answer::{answer, Awaiting};

    fn subscribe(r: &mut Requests, filter: &str) -> Awaiting<Granted> {
        let (reply, rx) = answer();
        r.subscribe(PendingSubscribe {
            filters: vec![(TopicFilter::new(filter).unwrap(), QoS::AtMostOnce, Some(1))],
            reply: Some(reply),
        });
        rx
    }

    fn first_filter(p: &PendingSubscribe) -> &str {
        p.filters[0].0.as_str()
    }

    #[test]
    fn each_packet_sent_is_the_oldest_request_queued_and_answers_come_by_packet_id() {
        let mut r = Requests::default();
        let (_a, _b) = (subscribe(&mut r, "a"), subscribe(&mut r, "b"));
        r.subscribe_sent(7);
        r.subscribe_sent(3);
        assert_eq!(r.suback(3).as_ref().map(first_filter), Some("b"));
        assert_eq!(r.suback(7).as_ref().map(first_filter), Some("a"));
        assert!(r.suback(7).is_none(), "answered once");
    }

    #[test]
    fn re_subscriptions_go_ahead_of_the_requests_waiting() {
        let mut r = Requests::default();
        let _mine = subscribe(&mut r, "mine");
        let batch = |f: &str| vec![(TopicFilter::new(f).unwrap(), QoS::AtMostOnce)];
        r.resubscribe_first(vec![batch("old1"), batch("old2")]);
        for pkid in 1..=3 {
            r.subscribe_sent(pkid);
        }
        let order: Vec<String> = (1..=3)
            .filter_map(|pkid| r.suback(pkid))
            .map(|p| first_filter(&p).to_string())
            .collect();
        assert_eq!(order, ["old1", "old2", "mine"]);
    }

    #[test]
    fn a_lost_connection_fails_what_went_out_and_closing_fails_the_rest() {
        let mut r = Requests::default();
        let (sent, queued) = (subscribe(&mut r, "sent"), subscribe(&mut r, "queued"));
        r.subscribe_sent(1);
        r.fail_sent(&Error::ConnectionLost("reset".into()));
        assert!(sent.try_take().unwrap().is_err());
        assert!(queued.try_take().is_none(), "still waiting for its packet");
        r.fail_all(&Error::Disconnected);
        assert!(matches!(
            queued.try_take().unwrap(),
            Err(Error::Disconnected)
        ));
    }
}
