//! ConnectionActor owns the protocol link and is the only place that talks to the broker: it
//! connects, matches acknowledgements to the requests that wait for them (the link's own
//! re-subscriptions after a reconnect that found no session first; subscribing and
//! unsubscribing in `subscribing.rs`), and closes gracefully.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Recipient, StreamHandler};
use tracing::{debug, error, info, warn};

use super::messages::{
    Acknowledge, Arrival, Closed, Disconnect, Flush, Publish, Reply, Route, TakeQueued,
};
use super::protocol::{Link, NetEvent, NetEvents};
use super::router::RouterActor;
use super::shared::ClientShared;
use crate::error::Error;
use crate::options::QoS;
use crate::topic::TopicFilter;
use requests::Requests;

mod requests;
mod subscribing;

/// The actor that owns one client's connection to its broker.
pub struct ConnectionActor {
    /// Requests to the broker.
    link: Box<dyn Link>,
    /// The link's events, until `started` hands them to the actor's context.
    events: Option<NetEvents>,
    /// Where incoming PUBLISH packets and subscription changes go, in arrival order.
    router: actix::Addr<RouterActor>,
    /// Told when the client is closed for good.
    facade: Recipient<Closed>,
    /// State the Lua side reads.
    shared: Arc<ClientShared>,
    /// Bound on the graceful close.
    timeout: Duration,
    /// The answer to `mqtt.connect`, until the first CONNACK or failure.
    connect_reply: Option<Reply<()>>,
    /// SUBSCRIBE and UNSUBSCRIBE requests waiting for their packet or their answer.
    requests: Requests,
    /// Replies owed to `Disconnect` requests; `Some` once closing has begun.
    closing: Option<Vec<Reply<()>>>,
    /// Whether DISCONNECT has been queued.
    disconnect_queued: bool,
    /// `Flush` requests waiting for every publish before them to complete.
    flushes: Vec<Reply<()>>,
    /// Kept between batches to reuse their allocations: publishes taken from the send queue,
    /// and the PUBLISH packets of one read.
    taken: Vec<Publish>,
    arrivals: Vec<Arrival>,
}

impl ConnectionActor {
    /// An actor that will connect over `link` once started.
    pub fn new(
        link: Box<dyn Link>,
        events: NetEvents,
        router: actix::Addr<RouterActor>,
        facade: Recipient<Closed>,
        shared: Arc<ClientShared>,
        timeout: Duration,
        connect_reply: Reply<()>,
    ) -> Self {
        Self {
            link,
            events: Some(events),
            router,
            facade,
            shared,
            timeout,
            connect_reply: Some(connect_reply),
            requests: Requests::default(),
            closing: None,
            disconnect_queued: false,
            flushes: Vec::new(),
            taken: Vec::new(),
            arrivals: Vec::new(),
        }
    }
}

impl Actor for ConnectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(events) = self.events.take() {
            ctx.add_stream(events);
        }
    }
}

impl Drop for ConnectionActor {
    /// However the actor ends (a panic in a handler included), the Lua side learns that the
    /// client is closed instead of waiting for it.
    fn drop(&mut self) {
        if !self.shared.is_closed() {
            self.shared.set_closed();
            self.facade.do_send(Closed);
        }
    }
}

impl StreamHandler<Vec<NetEvent>> for ConnectionActor {
    /// Reacts to what one read from the link brought: its PUBLISH packets go to the router
    /// together, in order with the subscription changes among them.
    #[tracing::instrument(name = "events", level = "trace", skip_all,
        fields(client_id = %self.shared.client_id, count = events.len()))]
    fn handle(&mut self, events: Vec<NetEvent>, ctx: &mut Context<Self>) {
        let mut progress = false;
        for event in events {
            match event {
                NetEvent::Publish(arrival) => self.arrivals.push(arrival),
                NetEvent::PublishSent | NetEvent::PublishAcked { .. } => progress = true,
                NetEvent::Connected { resubscribed } => self.connected(resubscribed, ctx),
                NetEvent::Failed(e) => self.failed(e, ctx),
                NetEvent::GaveUp(e) => {
                    // The link recorded it as the last error already.
                    error!(client_id = %self.shared.client_id, error = %e, "publish given up");
                    progress = true;
                }
                NetEvent::SubscribeSent { pkid } => self.requests.subscribe_sent(pkid),
                NetEvent::SubAck { pkid, granted } => {
                    if let Some(p) = self.requests.suback(pkid) {
                        self.route_batch();
                        self.subscribed(p, granted);
                    }
                }
                NetEvent::UnsubscribeSent { pkid } => self.requests.unsubscribe_sent(pkid),
                NetEvent::UnsubAck { pkid } => {
                    if let Some(p) = self.requests.unsuback(pkid) {
                        self.unsubscribed(p);
                    }
                }
                NetEvent::DisconnectSent => self.close(ctx),
            }
        }
        self.route_batch();
        if progress {
            self.settle();
            self.disconnect_when_drained(ctx);
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        self.close(ctx);
    }
}

impl Handler<TakeQueued> for ConnectionActor {
    type Result = ();

    /// Hands the publishes waiting in the send queue to the link.
    fn handle(&mut self, _: TakeQueued, _: &mut Context<Self>) {
        self.take_queued();
    }
}

impl Handler<Flush> for ConnectionActor {
    type Result = ();

    /// Answers once every publish made before it is complete.
    fn handle(&mut self, msg: Flush, ctx: &mut Context<Self>) {
        self.take_queued();
        self.flushes.push(msg.reply);
        self.disconnect_when_drained(ctx);
    }
}

impl Handler<Acknowledge> for ConnectionActor {
    type Result = ();

    /// Acknowledges received QoS 1 and 2 messages now that the mailbox holds them.
    fn handle(&mut self, Acknowledge(tokens): Acknowledge, _: &mut Context<Self>) {
        self.link.ack(tokens);
    }
}

impl Handler<Disconnect> for ConnectionActor {
    type Result = ();

    /// Closes gracefully: waits (bounded) for outstanding acknowledgements, then DISCONNECT.
    fn handle(&mut self, msg: Disconnect, ctx: &mut Context<Self>) {
        self.take_queued();
        let first = self.closing.is_none();
        self.closing.get_or_insert_with(Vec::new).extend(msg.reply);
        if !self.shared.is_connected() {
            return self.close(ctx);
        }
        if first {
            info!(client_id = %self.shared.client_id, unfinished = self.link.unfinished(), "disconnecting");
            // Whatever the broker does, the client is closed within two bounds.
            ctx.run_later(self.timeout, |act, ctx| {
                act.queue_disconnect();
                ctx.run_later(act.timeout, |act, ctx| act.close(ctx));
            });
        }
        self.disconnect_when_drained(ctx);
    }
}

impl ConnectionActor {
    fn connected(&mut self, resubscribed: Vec<Vec<(TopicFilter, QoS)>>, ctx: &mut Context<Self>) {
        self.shared.set_connected(true);
        self.requests.resubscribe_first(resubscribed);
        if let Some(reply) = self.connect_reply.take() {
            let _ = reply.send(Ok(()));
            return;
        }
        self.shared.count_reconnect();
        if self.closing.is_some() {
            self.disconnect_when_drained(ctx);
        }
    }

    fn failed(&mut self, e: Error, ctx: &mut Context<Self>) {
        self.shared.set_connected(false);
        self.shared.set_last_error(e.to_string());
        if let Some(reply) = self.connect_reply.take() {
            warn!(client_id = %self.shared.client_id, error = %e, "could not connect");
            let _ = reply.send(Err(e));
            return self.close(ctx);
        }
        self.requests.fail_sent(&lost_error(&e));
        if self.closing.is_some() {
            self.close(ctx);
        }
    }

    /// Sends the PUBLISH packets gathered so far to the router, in one message.
    fn route_batch(&mut self) {
        if !self.arrivals.is_empty() {
            let arrivals = std::mem::take(&mut self.arrivals);
            self.arrivals = Vec::with_capacity(arrivals.len());
            self.router.do_send(Route(arrivals));
        }
    }

    /// Moves every publish of the send queue into the link, which sends them on as far as it
    /// can.
    fn take_queued(&mut self) {
        let mut taken = std::mem::take(&mut self.taken);
        self.shared.send_queue.take_all(&mut taken);
        for msg in taken.drain(..) {
            debug!(
                client_id = %self.shared.client_id,
                topic = msg.topic.as_str(),
                bytes = msg.payload.len(),
                qos = msg.opts.qos.as_u8(),
                "publish"
            );
            self.link
                .publish(msg.topic, msg.payload, msg.opts, msg.confirm);
        }
        self.taken = taken;
    }

    /// Brings the counters the Lua side reads up to date with the link's progress, then
    /// answers those who wait for publishes that have completed.
    fn settle(&mut self) {
        self.shared
            .set_unfinished(self.link.unfinished(), self.link.in_flight());
        self.link.confirm_completed();
    }

    /// Once every publish is complete: answers flushes, and goes on closing if asked to.
    fn disconnect_when_drained(&mut self, _: &mut Context<Self>) {
        if self.link.unfinished() != 0 || !self.shared.send_queue.is_empty() {
            return;
        }
        for reply in self.flushes.drain(..) {
            let _ = reply.send(Ok(()));
        }
        if self.closing.is_some() {
            self.queue_disconnect();
        }
    }

    fn queue_disconnect(&mut self) {
        if !self.disconnect_queued {
            self.disconnect_queued = true;
            if let Err(e) = self.link.disconnect() {
                warn!(client_id = %self.shared.client_id, error = %e, "DISCONNECT not queued");
            }
        }
    }

    /// Ends the client for good: answers everyone still waiting and stops.
    fn close(&mut self, ctx: &mut Context<Self>) {
        if self.shared.is_closed() {
            return;
        }
        info!(client_id = %self.shared.client_id, "closed");
        self.shared.set_closed();
        self.requests.fail_all(&lost_error(&Error::Disconnected));
        for reply in self.closing.take().into_iter().flatten() {
            let _ = reply.send(Ok(()));
        }
        self.facade.do_send(Closed);
        ctx.stop();
    }
}

/// What a request whose answer will not come is failed with.
fn lost_error(e: &Error) -> Error {
    Error::ConnectionLost(match e {
        Error::LinkLost(why) => why.clone(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests;
