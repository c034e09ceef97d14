//! RouterActor owns the active subscriptions in a topic trie and is the only place that puts
//! received messages into mailboxes. Routing never makes a message vanish: a message that
//! matches no known subscription (one from a persistent session an earlier process made, say)
//! still goes to the client's mailbox.

use std::collections::VecDeque;
use std::sync::Arc;

use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Recipient, WrapFuture};
use tracing::{debug, trace};

use super::mailbox::Mailbox;
use super::messages::{AckToken, Acknowledge, Message, Register, Route, Unregister};
use crate::topic::TopicTrie;

/// The actor that routes one client's incoming messages.
pub struct RouterActor {
    /// Active subscriptions: each filter's pattern holds the full filter text.
    trie: TopicTrie<Arc<str>>,
    /// The mailbox the Lua side reads.
    mailbox: Arc<Mailbox>,
    /// QoS 1 and 2 messages waiting for room in the mailbox, oldest first. Their
    /// acknowledgements wait with them, so the broker's in-flight window throttles it.
    held: VecDeque<(Message, AckToken)>,
    /// Where acknowledgements go once a mailbox holds the message.
    acks: Recipient<Acknowledge>,
}

impl RouterActor {
    /// A router with no subscriptions, delivering into `mailbox`.
    pub fn new(mailbox: Arc<Mailbox>, acks: Recipient<Acknowledge>) -> Self {
        Self {
            trie: TopicTrie::new(),
            mailbox,
            held: VecDeque::new(),
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

    /// Starts routing matches of a filter.
    fn handle(&mut self, msg: Register, _: &mut Context<Self>) {
        let text: Arc<str> = Arc::from(msg.filter.as_str());
        self.trie.insert(&msg.filter, text);
    }
}

impl Handler<Unregister> for RouterActor {
    type Result = ();

    /// Stops routing matches of a filter.
    fn handle(&mut self, msg: Unregister, _: &mut Context<Self>) {
        let text: Arc<str> = Arc::from(msg.filter.as_str());
        self.trie.remove(&msg.filter, &text);
    }
}

impl Handler<Route> for RouterActor {
    type Result = ();

    /// Routes one incoming PUBLISH.
    #[tracing::instrument(name = "route", level = "trace", skip_all,
        fields(topic = %route.message.topic))]
    fn handle(&mut self, route: Route, ctx: &mut Context<Self>) {
        let Route { mut message, ack } = route;
        let mut first: Option<&Arc<str>> = None;
        self.trie.for_each_match(&message.topic, |filter| {
            first.get_or_insert(filter);
        });
        message.subscription = first.cloned();
        trace!(subscription = ?message.subscription, "route");
        self.deliver(message, ack, ctx);
    }
}

impl RouterActor {
    /// Puts a message in the mailbox. When it is full, QoS 0 messages are dropped and
    /// counted; QoS 1 and 2 messages are held, unacknowledged, until the Lua side makes room.
    fn deliver(&mut self, message: Message, ack: Option<AckToken>, ctx: &mut Context<Self>) {
        let refused = if self.held.is_empty() {
            match self.mailbox.push(message) {
                Ok(()) => {
                    if let Some(token) = ack {
                        self.acks.do_send(Acknowledge(token));
                    }
                    return;
                }
                Err(message) => message,
            }
        } else {
            message
        };
        match ack {
            None => {
                self.mailbox.count_drop();
                debug!(topic = %refused.topic, "mailbox full: QoS 0 message dropped");
            }
            Some(token) => {
                let first = self.held.is_empty();
                self.held.push_back((refused, token));
                if first {
                    self.wait_for_space(ctx);
                }
            }
        }
    }

    /// Moves held messages into the mailbox while it has room; true once none is left.
    fn drain_held(&mut self) -> bool {
        while let Some((message, token)) = self.held.pop_front() {
            if let Err(message) = self.mailbox.push(message) {
                self.held.push_front((message, token));
                return false;
            }
            self.acks.do_send(Acknowledge(token));
        }
        true
    }

    fn wait_for_space(&mut self, ctx: &mut Context<Self>) {
        if self.mailbox.is_closed() {
            // The client is gone; the broker keeps unacknowledged messages for its session.
            self.held.clear();
            return;
        }
        self.mailbox.want_space(true);
        // A take between the refused push and `want_space` sent no wake-up: look again.
        if self.drain_held() {
            self.mailbox.want_space(false);
            return;
        }
        let mailbox = self.mailbox.clone();
        let freed = async move { mailbox.space_freed().await };
        ctx.spawn(freed.into_actor(self).map(|(), act, ctx| {
            act.mailbox.want_space(false);
            if !act.drain_held() {
                act.wait_for_space(ctx);
            }
        }));
    }
}
