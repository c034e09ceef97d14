//! Subscribing: the connection's SUBSCRIBE and UNSUBSCRIBE requests, and what their answers
//! change. The list of active subscriptions changes before the asker hears the answer (it
//! may look at once); a request whose asker has given up is undone instead.

use std::sync::Arc;

use actix::{Context, Handler};
use tracing::{debug, info, warn};

use super::requests::{PendingSubscribe, PendingUnsubscribe};
use super::ConnectionActor;
use crate::actors::messages::{Register, Subscribe, Unregister, Unsubscribe};
use crate::options::QoS;
use crate::topic::TopicFilter;

impl Handler<Subscribe> for ConnectionActor {
    type Result = ();

    /// Sends a SUBSCRIBE; the reply waits for its SUBACK.
    #[tracing::instrument(name = "subscribe", skip_all,
        fields(client_id = %self.shared.client_id, filters = msg.filters.len()))]
    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        for (filter, qos, _) in &msg.filters {
            debug!(filter = filter.as_str(), qos = qos.as_u8(), "subscribe");
        }
        let asked = msg
            .filters
            .iter()
            .map(|(f, q, _)| (f.clone(), *q))
            .collect();
        match self.link.subscribe(asked) {
            Ok(()) => self.requests.subscribe(PendingSubscribe {
                filters: msg
                    .filters
                    .into_iter()
                    .map(|(f, q, id)| (f, q, Some(id)))
                    .collect(),
                reply: Some(msg.reply),
            }),
            Err(e) => {
                let _ = msg.reply.give(Err(e));
            }
        }
    }
}

impl Handler<Unsubscribe> for ConnectionActor {
    type Result = ();

    /// Sends an UNSUBSCRIBE; the reply waits for its UNSUBACK.
    #[tracing::instrument(name = "unsubscribe", skip_all,
        fields(client_id = %self.shared.client_id, filter = msg.filter.as_str()))]
    fn handle(&mut self, msg: Unsubscribe, _: &mut Context<Self>) {
        debug!("unsubscribe");
        match self.link.unsubscribe(msg.filter.clone()) {
            Ok(()) => self.requests.unsubscribe(PendingUnsubscribe {
                filter: msg.filter,
                reply: Some(msg.reply),
            }),
            Err(e) => {
                let _ = msg.reply.give(Err(e));
            }
        }
    }
}

impl ConnectionActor {
    pub(super) fn subscribed(&mut self, pending: PendingSubscribe, granted: Vec<Option<QoS>>) {
        let mut outcomes = Vec::with_capacity(pending.filters.len());
        let mut registered = Vec::new();
        if granted.len() != pending.filters.len() {
            warn!(client_id = %self.shared.client_id, filters = pending.filters.len(), codes = granted.len(),
                "SUBACK with a return code count that does not match the SUBSCRIBE; missing ones count as refused");
        }
        // A code the broker left out counts as a refusal.
        let codes = granted.into_iter().chain(std::iter::repeat(None));
        for ((filter, _, id), code) in pending.filters.into_iter().zip(codes) {
            match code {
                Some(qos) => registered.push((filter.clone(), qos, id)),
                None => {
                    warn!(client_id = %self.shared.client_id, filter = filter.as_str(), "subscription refused")
                }
            }
            outcomes.push((filter, code));
        }
        // Listed before the asker hears of them (it may look at once); taken back, and
        // undone with the broker, if it has given up.
        let previous: Vec<Option<QoS>> = registered
            .iter()
            .map(|(filter, qos, id)| {
                let text: Arc<str> = Arc::from(filter.as_str());
                self.shared.subscriptions.add(text, *qos, *id)
            })
            .collect();
        if let Some(Err(_)) = pending.reply.map(|reply| reply.give(Ok(outcomes))) {
            let mut earlier = Vec::new();
            for ((filter, _, id), before) in registered.into_iter().zip(previous) {
                self.shared
                    .subscriptions
                    .withdraw(filter.as_str(), id, before);
                earlier.push((filter, before));
            }
            return self.undo_subscribe(earlier);
        }
        // The router sees the registrations before any message read after this one.
        let mut routed = Vec::with_capacity(registered.len());
        for (filter, qos, id) in registered {
            info!(client_id = %self.shared.client_id, filter = filter.as_str(), qos = qos.as_u8(), "subscribed");
            routed.extend(id.map(|id| (Arc::from(filter.as_str()), id)));
        }
        if !routed.is_empty() {
            self.router.do_send(Register(routed));
        }
    }

    /// After an UNSUBACK: the subscriptions to its filter end (the asker hears which),
    /// unless the asker has given up, which keeps them (subscribing again).
    pub(super) fn unsubscribed(&mut self, p: PendingUnsubscribe) {
        let Some(reply) = p.reply else {
            return info!(client_id = %self.shared.client_id, filter = p.filter.as_str(),
                "undone: unsubscribed from a filter whose subscribe had timed out");
        };
        self.route_batch();
        // Ended before the asker hears of it (it may look at once); restored, and subscribed
        // again, if it has given up.
        let ended = self.shared.subscriptions.end(p.filter.as_str());
        let ids = ended
            .as_ref()
            .map(|(_, ids)| ids.clone())
            .unwrap_or_default();
        if reply.give(Ok(ids.clone())).is_err() {
            if let Some((qos, ids)) = ended {
                info!(client_id = %self.shared.client_id, filter = p.filter.as_str(),
                    "undoing an unsubscribe that timed out: subscribing again");
                let text: Arc<str> = Arc::from(p.filter.as_str());
                self.shared.subscriptions.restore(text, qos, ids);
                self.queue_subscribe(vec![(p.filter, qos)]);
            }
            return;
        }
        self.router.do_send(Unregister {
            filter: p.filter,
            ids,
        });
    }

    /// Undoes with the broker what a SUBSCRIBE granted to an asker that has given up: each
    /// filter with the QoS it had before, if it was subscribed. One that was gets that QoS
    /// back; any other is unsubscribed.
    fn undo_subscribe(&mut self, granted: Vec<(TopicFilter, Option<QoS>)>) {
        let mut again = Vec::new();
        for (filter, before) in granted {
            match before {
                Some(qos) => again.push((filter, qos)),
                None => {
                    info!(client_id = %self.shared.client_id, filter = filter.as_str(),
                        "undoing a subscribe that timed out: unsubscribing");
                    match self.link.unsubscribe(filter.clone()) {
                        Ok(()) => self.requests.unsubscribe(PendingUnsubscribe {
                            filter,
                            reply: None,
                        }),
                        Err(e) => warn!(client_id = %self.shared.client_id, error = %e,
                            "could not undo a subscribe that timed out"),
                    }
                }
            }
        }
        if !again.is_empty() {
            self.queue_subscribe(again);
        }
    }

    /// Subscribes to `filters` again on the connection's own account (no one waits).
    fn queue_subscribe(&mut self, filters: Vec<(TopicFilter, QoS)>) {
        match self.link.subscribe(filters.clone()) {
            Ok(()) => self.requests.subscribe(PendingSubscribe {
                filters: filters.into_iter().map(|(f, q)| (f, q, None)).collect(),
                reply: None,
            }),
            Err(e) => warn!(client_id = %self.shared.client_id, error = %e,
                "could not subscribe again"),
        }
    }
}
