//! Resuming after a CONNACK: re-subscribing when the broker kept no session, then re-sending
//! what it has not acknowledged, oldest first, and giving up a publish the broker keeps
//! refusing by closing the connection.

use rumqttc::{Publish, Request, Subscribe, SubscribeFilter};
use tracing::info;

use super::driver::{Driver, RESUBSCRIBE_BATCH};
use super::link::{from_rumqttc, to_rumqttc};
use crate::error::Error;
use crate::options::QoS;
use crate::topic::TopicFilter;

impl Driver {
    /// After a CONNACK: re-subscribe if the broker kept no session, then resend what the
    /// broker has not acknowledged, oldest first. Returns the filters of each SUBSCRIBE
    /// queued, in order.
    pub(super) fn resume(&mut self, session_present: bool) -> Vec<Vec<(TopicFilter, QoS)>> {
        if session_present {
            // The broker may now send PUBREL for any QoS 2 exchange of the session, some
            // begun before a crash on either side: MQTT requires a PUBCOMP for every one.
            self.engine.expect_pubrel_for_every_id();
        } else {
            self.received_qos2.clear();
            self.pubrec_sent.clear();
            self.carried_rels.clear();
        }
        let resubscribed = match session_present {
            true => Vec::new(),
            false => self.resubscribe(),
        };
        // Then the subscription changes asked for before, in order: those carried from an
        // earlier connection, then those not written yet (DISCONNECT stays last).
        let changes = self.carried_requests.drain(..);
        self.engine.queue(changes);
        let mut out = self.sending.borrow_mut();
        while matches!(
            out.requests.front(),
            Some(Request::Subscribe(_) | Request::Unsubscribe(_))
        ) {
            self.engine.queue(out.requests.pop_front());
        }
        let (mut numbered, mut unsent): (Vec<Publish>, Vec<Publish>) =
            std::mem::take(&mut self.carried)
                .into_iter()
                .partition(|p| p.pkid != 0);
        out.sort_by_number(&mut numbered);
        if self.reconnecting.give_up_now() {
            // The oldest publish not acknowledged is the one the broker will not take.
            let culprit = match numbered.is_empty() {
                false => Some(numbered.remove(0)),
                true if !unsent.is_empty() => Some(unsent.remove(0)),
                true => None,
            };
            if let Some(p) = culprit {
                let why = Error::PublishRejected {
                    topic: p.topic.clone(),
                    qos: from_rumqttc(p.qos).as_u8(),
                };
                // Recorded before anyone waiting for the publish hears of it.
                self.client.set_last_error(why.to_string());
                out.give_up(&p, why.clone());
                self.given_up = Some(why);
            }
        }
        out.reconnected(session_present, &numbered);
        if !session_present {
            for p in &mut numbered {
                p.pkid = 0;
            }
        }
        self.reconnecting
            .resent(!numbered.is_empty() || !unsent.is_empty());
        if !numbered.is_empty() || !self.carried_rels.is_empty() {
            info!(
                publishes = numbered.len(),
                releases = self.carried_rels.len(),
                "re-sending"
            );
        }
        self.engine
            .queue(self.carried_rels.drain(..).map(Request::PubRel));
        self.engine
            .queue(numbered.into_iter().chain(unsent).map(Request::Publish));
        resubscribed
    }

    /// Queues SUBSCRIBE packets for every active subscription ahead of everything else, so
    /// that no message published after the reconnect (by this client or, re-sent, before
    /// it) reaches the broker before the subscriptions it may match.
    pub(super) fn resubscribe(&mut self) -> Vec<Vec<(TopicFilter, QoS)>> {
        let active = self.client.active_subscriptions();
        info!(
            count = active.len(),
            "re-subscribing after a reconnect without a session"
        );
        let batches: Vec<Vec<(TopicFilter, QoS)>> = active
            .chunks(RESUBSCRIBE_BATCH)
            .map(<[_]>::to_vec)
            .collect();
        for batch in &batches {
            let filters = batch
                .iter()
                .map(|(f, q)| SubscribeFilter::new(f.as_str().to_owned(), to_rumqttc(*q)));
            self.engine
                .queue([Request::Subscribe(Subscribe::new_many(filters))]);
        }
        batches
    }
}
