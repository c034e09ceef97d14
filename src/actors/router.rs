//! RouterActor routes by the active subscriptions, indexed in a topic trie (the list is
//! [`Subscriptions`](super::subscriptions::Subscriptions)), and is the only place that puts
//! received messages into the mailbox. Routing never makes a message vanish: a message that
//! matches no subscription, or none that claims its messages, goes to the client-wide lane
//! (say, one from a persistent session an earlier process made).

use std::collections::VecDeque;
use std::sync::Arc;

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Recipient, WrapFuture};
use tracing::{debug, info, trace, warn};

use super::mailbox::{Mailbox, Matched};
use super::messages::{AckToken, Acknowledge, Arrival, Message, Register, Route, Unregister};
use crate::options::QoS;
use crate::topic::{TopicFilter, TopicTrie};

/// The actor that routes one client's incoming messages.
pub struct RouterActor {
    /// The active subscriptions by their filters' patterns, each with its filter as the text
    /// messages carry.
    trie: TopicTrie<Matched>,
    /// The mailbox the Lua side reads.
    mailbox: Arc<Mailbox>,
    /// Messages waiting for room in the mailbox, oldest first: QoS 1 and 2 ones, and QoS 0
    /// ones read while the Lua side keeps up (the link then reads no more until they are
    /// placed). Acknowledgements that rumqttc did not send on reading wait with their
    /// messages, so the broker's in-flight window throttles it.
    waiting_for_room: VecDeque<(Message, Vec<Matched>, Option<AckToken>)>,
    /// Where acknowledgements go once the mailbox holds the message.
    acks: Recipient<Acknowledge>,
    /// For the log.
    client_id: String,
    /// Whether QoS 0 messages are being dropped, so the log says so once per episode.
    dropping: bool,
}

impl RouterActor {
    /// A router with no subscriptions, delivering into `mailbox`.
    pub fn new(mailbox: Arc<Mailbox>, acks: Recipient<Acknowledge>, client_id: String) -> Self {
        Self {
            client_id,
            dropping: false,
            trie: TopicTrie::new(),
            mailbox,
            waiting_for_room: VecDeque::new(),
            acks,
        }
    }
}

impl Actor for RouterActor {
    type Context = Context<Self>;
}

impl Drop for RouterActor {
    /// Without a router nothing reaches the mailbox: close it so no reader waits in vain.
    fn drop(&mut self) {
        self.mailbox.close();
    }
}

impl Handler<Register> for RouterActor {
    type Result = ();

    /// Starts routing matches of subscriptions.
    fn handle(&mut self, Register(subscriptions): Register, _: &mut Context<Self>) {
        for (text, id) in subscriptions {
            // The text comes from a valid filter; checking it again costs less memory than
            // carrying both forms.
            if let Ok(filter) = TopicFilter::new(&*text) {
                self.trie.insert(
                    &filter,
                    Matched {
                        id,
                        filter: text.clone(),
                    },
                );
                self.mailbox.adopt(id, &filter);
            }
        }
    }
}

impl Handler<Unregister> for RouterActor {
    type Result = ();

    /// Stops routing matches of every subscription to a filter.
    fn handle(&mut self, msg: Unregister, _: &mut Context<Self>) {
        let text: Arc<str> = Arc::from(msg.filter.as_str());
        for id in msg.ids {
            let ended = Matched {
                id,
                filter: text.clone(),
            };
            self.trie.remove(&msg.filter, &ended);
            self.mailbox.forget(id);
        }
    }
}

impl Handler<Route> for RouterActor {
    type Result = ();

    /// Routes the PUBLISH packets of one read, under one hold of the mailbox. When a lane a
    /// message needs is full, a QoS 0 message read for a slow consumer is dropped and
    /// counted; any other waits for room until the Lua side makes some (and every message
    /// after one that waits waits too, so the Lua side reads them in order and
    /// acknowledgements keep theirs).
    #[tracing::instrument(name = "route", level = "trace", skip_all,
        fields(client_id = %self.client_id, count = arrivals.len()))]
    fn handle(&mut self, Route(arrivals): Route, ctx: &mut Context<Self>) {
        let mailbox = self.mailbox.clone();
        let mut deliveries = mailbox.deliveries();
        let mut acks = Vec::new();
        let mut newly_waiting = false;
        let mut placed = 0;
        let mut matched: Vec<&Matched> = Vec::new();
        for Arrival {
            message,
            ack,
            may_drop,
        } in arrivals
        {
            matched.clear();
            self.trie
                .for_each_match(&message.topic, |m| matched.push(m));
            trace!(topic = %message.topic, subscriptions = matched.len(), "route");
            let refused = if self.waiting_for_room.is_empty() {
                match deliveries.deliver(message, &matched) {
                    Ok(()) => {
                        placed += 1;
                        acks.extend(ack);
                        if self.dropping {
                            self.dropping = false;
                            info!(client_id = %self.client_id, dropped = self.mailbox.dropped(), "mailbox has room again");
                        }
                        continue;
                    }
                    Err(message) => message,
                }
            } else {
                message
            };
            match refused.qos {
                QoS::AtMostOnce if may_drop => {
                    placed += 1;
                    self.mailbox.count_drop();
                    if !self.dropping {
                        self.dropping = true;
                        warn!(client_id = %self.client_id, "mailbox full: dropping QoS 0 messages");
                    }
                    debug!(client_id = %self.client_id, topic = %refused.topic, bytes = refused.payload.len(), "QoS 0 message dropped");
                }
                _ => {
                    newly_waiting |= self.waiting_for_room.is_empty();
                    let matched = matched.iter().map(|&m| m.clone()).collect();
                    self.waiting_for_room.push_back((refused, matched, ack));
                }
            }
        }
        drop(deliveries);
        self.mailbox.arrived(placed);
        if !acks.is_empty() {
            self.acks.do_send(Acknowledge(acks));
        }
        if newly_waiting {
            self.wait_for_space(ctx);
        }
    }
}

impl RouterActor {
    /// Moves the messages waiting for room into the mailbox while it has room; true once none
    /// is left.
    fn place_waiting(&mut self) -> bool {
        let mut deliveries = self.mailbox.deliveries();
        let mut acks = Vec::new();
        let mut placed = 0;
        while let Some((message, matched, token)) = self.waiting_for_room.pop_front() {
            let refs: Vec<&Matched> = matched.iter().collect();
            if let Err(message) = deliveries.deliver(message, &refs) {
                self.waiting_for_room.push_front((message, matched, token));
                break;
            }
            placed += 1;
            acks.extend(token);
        }
        drop(deliveries);
        self.mailbox.arrived(placed);
        if !acks.is_empty() {
            self.acks.do_send(Acknowledge(acks));
        }
        self.waiting_for_room.is_empty()
    }

    fn wait_for_space(&mut self, ctx: &mut Context<Self>) {
        if self.mailbox.is_closed() {
            // The client is gone; the broker keeps unacknowledged messages for its session.
            self.waiting_for_room.clear();
            return;
        }
        self.mailbox.want_space(true);
        // A take between the refused delivery and `want_space` sent no wake-up: look again.
        if self.place_waiting() {
            self.mailbox.want_space(false);
            return;
        }
        let mailbox = self.mailbox.clone();
        let freed = async move { mailbox.space_freed().await };
        ctx.spawn(freed.into_actor(self).map(|(), act, ctx| {
            act.mailbox.want_space(false);
            if !act.place_waiting() {
                act.wait_for_space(ctx);
            }
        }));
    }
}
