//! Driver: runs rumqttc's event loop for one link. It connects (the first time within the
//! timeout), reconnects after a backoff delay (which server and when: `reconnecting.rs`,
//! shared by every protocol version), declares a silent connection lost when a ping
//! goes unanswered for 0.4 keep-alive, re-subscribes after a reconnect without a session,
//! carries unacknowledged publishes over a reconnect (re-sent with DUP, whether or not the
//! broker kept the session: rumqttc alone would drop them), delivers each incoming QoS 2
//! message once, and turns what matters into [`NetEvent`]s. While connected it reads and
//! writes in turns of its own (`wire.rs`, paced by `pacing.rs`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use rumqttc::{PubRel, Publish, Request};
use rustc_hash::FxHashSet;
use tokio::sync::Notify;
use tracing::Instrument;

use super::engine::Engine;
use super::engine::READ_MAX;
use super::sending::Sending;
use super::wire::Wire;
use crate::actors::client_side::ClientSide;
use crate::actors::mailbox::Room;
use crate::actors::pacing::Pacing;
use crate::actors::protocol::{NetEvent, NetEvents};
use crate::actors::reconnecting::Reconnecting;
use crate::error::Error;
use crate::options::ConnectOptions;

/// Most filters re-subscribed in one SUBSCRIBE packet after a reconnect.
pub(super) const RESUBSCRIBE_BATCH: usize = 64;

/// The event loop of one link and what it remembers between turns.
pub struct Driver {
    /// rumqttc's event loop, driven through the client's ways into it.
    pub(super) engine: Engine,
    /// What is on its way to the broker, shared with the link.
    pub(super) sending: Rc<RefCell<Sending>>,
    /// Writing while connected.
    pub(super) wire: Wire,
    /// When to read and when to ping while connected.
    pub(super) pacing: Pacing,
    /// Which server to try, when, and whether to go on after a loss.
    pub(super) reconnecting: Reconnecting,
    pub(super) client_id: String,
    /// What the rumqttc options of each server are built from.
    pub(super) opts: ConnectOptions,
    /// The address of the server tried last, for errors and the log.
    pub(super) addr: String,
    pub(super) timeout: Duration,
    pub(super) keep_alive: Duration,
    /// Publishes taken from rumqttc when the connection was lost, to send again after the
    /// next CONNACK (rumqttc would drop them if the broker kept no session).
    pub(super) carried: Vec<Publish>,
    /// PUBRELs to send again if the broker kept the session.
    pub(super) carried_rels: Vec<PubRel>,
    /// SUBSCRIBE and UNSUBSCRIBE requests queued after a CONNACK and not written when the
    /// connection was lost again, to send after the next one: the connection still waits for
    /// them, in order.
    pub(super) carried_requests: Vec<Request>,
    /// Why a publish was given up at the last CONNACK, to report after it.
    pub(super) given_up: Option<Error>,
    /// Incoming QoS 2 messages handed on, until the broker releases them (PUBREL).
    pub(super) received_qos2: FxHashSet<u16>,
    /// Of those, the ones answered with PUBREC.
    pub(super) pubrec_sent: FxHashSet<u16>,
    /// The room in the mailbox the messages go to, which decides when to read and who
    /// acknowledges what is read.
    pub(super) room: Room,
    /// The span every poll runs in, naming the client and the broker tried. At info level:
    /// entering a span on every poll costs more than the rest of a poll, so it is recorded
    /// only when the log asks for info or more (when the link opens); the warnings of the
    /// link name the client themselves.
    pub(super) span: tracing::Span,
    /// The client's active subscriptions (what a reconnect without a session
    /// re-subscribes), its send queue's places, and its last error.
    pub(super) client: ClientSide,
    /// Acknowledgements asked of the router and not yet written: while any is, rumqttc may
    /// not acknowledge on its own, which would put later messages' first.
    pub(super) unwritten_acks: usize,
}

impl Driver {
    /// A driver for `engine`, configured from `opts`.
    pub fn new(
        engine: Engine,
        opts: &ConnectOptions,
        (sending, wake): (Rc<RefCell<Sending>>, Rc<Notify>),
        room: Room,
        client: ClientSide,
    ) -> Self {
        Self {
            engine,
            sending,
            wire: Wire::new(wake),
            pacing: Pacing::new(room.clone(), client.clone(), READ_MAX),
            reconnecting: Reconnecting::new(opts),
            client_id: opts.client_id.clone(),
            opts: opts.clone(),
            addr: opts.addr(),
            timeout: opts.timeout,
            keep_alive: opts.keep_alive,
            carried: Vec::new(),
            carried_rels: Vec::new(),
            carried_requests: Vec::new(),
            given_up: None,
            received_qos2: FxHashSet::default(),
            pubrec_sent: FxHashSet::default(),
            span: tracing::info_span!("link", client_id = %opts.client_id, broker = %opts.addr()),
            room,
            client,
            unwritten_acks: 0,
        }
    }

    /// The stream of events, in batches; the driver lives inside it (boxed, so that each
    /// batch moves a pointer, not the event loop).
    pub fn into_events(self) -> NetEvents {
        let events = futures_util::stream::unfold(Box::new(self), move |mut d| async move {
            let span = d.span.clone();
            let events = d.next_batch().instrument(span).await?;
            Some((events, d))
        });
        Box::pin(events)
    }

    /// The events of the next turn that brings any: a connection attempt, or a turn of the
    /// connected link (what it read, and what went out).
    async fn next_batch(&mut self) -> Option<Vec<NetEvent>> {
        let mut batch = Vec::new();
        while batch.is_empty() {
            if self.reconnecting.is_done() {
                return None;
            }
            if !self.engine.is_connected() {
                batch = self.connect().await;
            } else if let Err(why) = self.turn().await {
                self.engine.drop_connection();
                batch = self.lost(why);
            } else {
                self.drain_events(&mut batch);
            }
        }
        batch.extend(self.given_up.take().map(NetEvent::GaveUp));
        Some(batch)
    }

    /// Translates the events rumqttc has parsed or recorded and not returned.
    pub(super) fn drain_events(&mut self, batch: &mut Vec<NetEvent>) {
        while let Some(event) = self.engine.next_event() {
            batch.extend(self.translate(event));
        }
    }

    /// How long a ping may go unanswered. Pings go out every keep-alive, so a link that falls
    /// silent is noticed within 1.4 keep-alives.
    pub(super) fn ping_patience(&self) -> Duration {
        self.keep_alive * 2 / 5
    }
}

#[cfg(test)]
impl Driver {
    /// A driver that has not connected, on a mailbox and state of its own.
    pub(super) fn unconnected() -> Self {
        use crate::actors::{ClientShared, Mailbox};
        use std::sync::Arc;
        let opts = ConnectOptions::new("127.0.0.1");
        let engine = Engine::new(
            rumqttc::MqttOptions::new("t", "127.0.0.1", 1883),
            rumqttc::NetworkOptions::new(),
        );
        let shared = Arc::new(ClientShared::new("t".into(), opts.addr(), 10));
        let room = Room::new(Arc::new(Mailbox::new(10)));
        Self::new(
            engine,
            &opts,
            Default::default(),
            room,
            ClientSide::new(shared),
        )
    }
}
