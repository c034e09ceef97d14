//! Driver: runs rumqttc's event loop for one link. It connects (the first time within the
//! timeout), reconnects after a backoff delay, declares a silent connection lost when a ping
//! goes unanswered for 0.4 keep-alive, re-subscribes after a reconnect without a session,
//! carries unacknowledged publishes over a reconnect (re-sent with DUP, whether or not the
//! broker kept the session: rumqttc alone would drop them), delivers each incoming QoS 2
//! message once, and turns what matters into [`NetEvent`]s. While connected it reads and
//! writes in turns of its own (`wire.rs`).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    ConnAck, ConnectReturnCode, ConnectionError, Event, Incoming, Outgoing as Out, PubRel, Publish,
    Request, Subscribe, SubscribeFilter, SubscribeReasonCode,
};
use rustc_hash::FxHashSet;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, info, warn, Instrument};

use super::engine::Engine;
use super::link::{from_rumqttc, mqtt_options, to_rumqttc};
use super::sending::Sending;
use super::wire::Wire;
use crate::actors::backoff::Backoff;
use crate::actors::mailbox::Mailbox;
use crate::actors::messages::{AckToken, Arrival, Message};
use crate::actors::protocol::{NetEvent, NetEvents};
use crate::actors::shared::ClientShared;
use crate::error::Error;
use crate::options::{splitmix64, ConnectOptions, QoS, Reconnect, Server};
use crate::topic::TopicFilter;

/// Most filters re-subscribed in one SUBSCRIBE packet after a reconnect.
const RESUBSCRIBE_BATCH: usize = 64;

/// Connections lost in a row, each soon after re-sending publishes none of which the broker
/// acknowledged, after which the oldest of them is given up.
const GIVE_UP_AFTER: u32 = 3;

/// What counts as soon after the CONNACK for [`GIVE_UP_AFTER`].
const QUICK_LOSS: Duration = Duration::from_secs(1);

/// The event loop of one link and what it remembers between turns.
pub struct Driver {
    /// rumqttc's event loop, driven through the client's ways into it.
    pub(super) engine: Engine,
    /// What is on its way to the broker, shared with the link.
    pub(super) sending: Rc<RefCell<Sending>>,
    /// Reading and pinging while connected.
    pub(super) wire: Wire,
    /// How to reconnect; `None`: a lost connection ends the link.
    reconnect: Option<Reconnect>,
    backoff: Backoff,
    pub(super) client_id: String,
    /// What the rumqttc options of each server are built from.
    opts: ConnectOptions,
    /// The brokers to try, in turn.
    servers: Vec<Server>,
    /// The one tried last.
    current: usize,
    addr: String,
    timeout: Duration,
    pub(super) keep_alive: Duration,
    /// Whether a CONNACK ever accepted us; before that, a failure ends the link.
    connected_once: bool,
    /// Failed attempts since the last CONNACK.
    failures: u32,
    /// The last attempt failed: wait a backoff delay before the next one.
    retry: bool,
    /// The link has ended.
    done: bool,
    /// Publishes taken from rumqttc when the connection was lost, to send again after the
    /// next CONNACK (rumqttc would drop them if the broker kept no session).
    carried: Vec<Publish>,
    /// PUBRELs to send again if the broker kept the session.
    carried_rels: Vec<PubRel>,
    /// SUBSCRIBE and UNSUBSCRIBE requests queued after a CONNACK and not written when the
    /// connection was lost again, to send after the next one: the connection still waits for
    /// them, in order.
    carried_requests: Vec<Request>,
    /// Whether the broker has sent anything since the last CONNACK; only then is the backoff
    /// reset, so that a broker that accepts and at once drops the connection is retried
    /// ever more slowly.
    answered: bool,
    /// Whether publishes were sent again after the last CONNACK and none has been
    /// acknowledged since.
    resent: bool,
    /// Connections lost in a row in that state. A broker that closes the connection on a
    /// publish it will not take (NATS on QoS 2) would otherwise get it again forever.
    strikes: u32,
    /// When the current connection's CONNACK came.
    up_since: Option<Instant>,
    /// Why a publish was given up at the last CONNACK, to report after it.
    given_up: Option<Error>,
    /// Incoming QoS 2 messages handed on, until the broker releases them (PUBREL).
    received_qos2: FxHashSet<u16>,
    /// Of those, the ones answered with PUBREC.
    pubrec_sent: FxHashSet<u16>,
    /// The mailbox the messages go to, whose room decides when to read and who
    /// acknowledges what is read.
    pub(super) mailbox: Arc<Mailbox>,
    /// The span every poll runs in, naming the client and the broker tried. At info level:
    /// entering a span on every poll costs more than the rest of a poll, so it is recorded
    /// only when the log asks for info or more (when the link opens); the warnings of the
    /// link name the client themselves.
    span: tracing::Span,
    /// The client's active subscriptions (what a reconnect without a session
    /// re-subscribes), its send queue, and its last error.
    pub(super) shared: Arc<ClientShared>,
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
        mailbox: Arc<Mailbox>,
        shared: Arc<ClientShared>,
    ) -> Self {
        let policy = opts.reconnect.unwrap_or_default();
        let seed = opts
            .client_id
            .bytes()
            .fold(u64::from(std::process::id()), |h, b| {
                splitmix64(h ^ u64::from(b))
            });
        Self {
            engine,
            sending,
            wire: Wire::new(wake),
            reconnect: opts.reconnect,
            backoff: Backoff::new(policy.min_delay, policy.max_delay, seed),
            client_id: opts.client_id.clone(),
            opts: opts.clone(),
            servers: opts.all_servers(),
            current: 0,
            addr: opts.addr(),
            timeout: opts.timeout,
            keep_alive: opts.keep_alive,
            connected_once: false,
            failures: 0,
            retry: false,
            done: false,
            carried: Vec::new(),
            carried_rels: Vec::new(),
            carried_requests: Vec::new(),
            answered: false,
            resent: false,
            strikes: 0,
            up_since: None,
            given_up: None,
            received_qos2: FxHashSet::default(),
            pubrec_sent: FxHashSet::default(),
            span: tracing::info_span!("link", client_id = %opts.client_id, broker = %opts.addr()),
            mailbox,
            shared,
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
            if self.done {
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
    fn drain_events(&mut self, batch: &mut Vec<NetEvent>) {
        while let Some(event) = self.engine.next_event() {
            batch.extend(self.translate(event));
        }
    }

    /// One connection attempt, after the backoff delay when the last one failed: the
    /// `Connected` event, or the events a failure ends with.
    async fn connect(&mut self) -> Vec<NetEvent> {
        if self.retry {
            let delay = self.backoff.next_delay();
            info!(
                delay_ms = delay.as_millis() as u64,
                attempt = self.failures,
                "reconnecting after a delay"
            );
            tokio::time::sleep(delay).await;
            self.retry = false;
        }
        let connected = if self.connected_once {
            self.engine.connect().await.map_err(|e| e.to_string())
        } else {
            match self.first_connect().await {
                Ok(event) => Ok(event),
                Err(e) => {
                    self.done = true;
                    return vec![NetEvent::Failed(e)];
                }
            }
        };
        match connected {
            Ok(event) => self.translate(event).into_iter().collect(),
            Err(why) => self.lost(why),
        }
    }

    /// How long a ping may go unanswered. Pings go out every keep-alive, so a link that falls
    /// silent is noticed within 1.4 keep-alives.
    pub(super) fn ping_patience(&self) -> Duration {
        self.keep_alive * 2 / 5
    }

    /// Points the event loop at the next server.
    fn next_server(&mut self) {
        if self.servers.len() > 1 {
            self.current = (self.current + 1) % self.servers.len();
            let server = &self.servers[self.current];
            match mqtt_options(&self.opts, server) {
                Ok(options) => {
                    self.engine.set_options(options);
                    self.addr = server.addr();
                    self.span
                        .record("broker", tracing::field::display(&self.addr));
                }
                Err(e) => {
                    warn!(client_id = %self.client_id, broker = %server.addr(), error = %e, "server skipped")
                }
            }
        }
    }

    /// The first connection: each server in turn, each within the timeout.
    async fn first_connect(&mut self) -> Result<Event, Error> {
        let mut failures = Vec::new();
        for _ in 0..self.servers.len() {
            match self.connect_once().await {
                Ok(event) => return Ok(event),
                Err(e) if self.servers.len() == 1 => return Err(e),
                Err(e) => {
                    warn!(client_id = %self.client_id, broker = %self.addr, error = %e, "server unavailable; trying the next");
                    failures.push(e.to_string());
                    self.next_server();
                }
            }
        }
        Err(Error::NoServer(failures.join("; ")))
    }

    /// One connection attempt: a name lookup, then TCP and CONNACK, within the timeout.
    async fn connect_once(&mut self) -> Result<Event, Error> {
        let server = &self.servers[self.current];
        let (host, port) = (server.host.clone(), server.port);
        let deadline = Instant::now() + self.timeout;
        let timed_out = || Error::ConnectTimeout {
            addr: self.addr.clone(),
            secs: self.timeout.as_secs_f64(),
        };
        let lookup = tokio::net::lookup_host((host.as_str(), port));
        match tokio::time::timeout_at(deadline, lookup).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) => {
                return Err(Error::UnknownHost {
                    host: host.clone(),
                    why: e.to_string(),
                })
            }
            Ok(Ok(_)) => {}
        }
        match tokio::time::timeout_at(deadline, self.engine.connect()).await {
            Err(_) | Ok(Err(ConnectionError::NetworkTimeout)) => Err(timed_out()),
            Ok(Ok(event)) => Ok(event),
            Ok(Err(ConnectionError::ConnectionRefused(code))) => Err(Error::Refused {
                addr: self.addr.clone(),
                reason: refusal(code),
            }),
            Ok(Err(ConnectionError::Io(e)))
                if e.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                Err(Error::Unreachable {
                    addr: self.addr.clone(),
                    why: "connection refused (is a broker listening there?)".into(),
                })
            }
            Ok(Err(e @ ConnectionError::Tls(_))) => Err(Error::Unreachable {
                addr: self.addr.clone(),
                why: crate::tls::explain(&e.to_string()),
            }),
            // A TLS alert after the handshake (a client certificate refused) or a WebSocket's
            // TLS failure comes wrapped in another error.
            Ok(Err(e))
                if self.servers[self.current].tls && crate::tls::is_tls_failure(&e.to_string()) =>
            {
                Err(Error::Unreachable {
                    addr: self.addr.clone(),
                    why: crate::tls::explain(&e.to_string()),
                })
            }
            Ok(Err(e)) => Err(Error::Unreachable {
                addr: self.addr.clone(),
                why: e.to_string(),
            }),
        }
    }

    /// The connection is gone (or an attempt failed): take back what rumqttc would replay
    /// or drop, and decide whether to try again. Returns the events rumqttc had parsed or
    /// queued before the failure (a message read in the last read, a SUBSCRIBE it began to
    /// write), then `Failed`: left for later, they would come after the reconnect and be
    /// taken for events of the new connection.
    fn lost(&mut self, why: String) -> Vec<NetEvent> {
        let mut events = Vec::new();
        self.drain_events(&mut events);
        {
            // Acknowledgements not written belong to the lost connection: they are answered
            // again when the broker re-delivers their messages.
            let mut out = self.sending.borrow_mut();
            self.unwritten_acks = self.unwritten_acks.saturating_sub(out.acks.len());
            out.acks.clear();
            out.disconnected();
        }
        self.wire.answered();
        for request in self.engine.take_pending() {
            match request {
                Request::Publish(mut p) => {
                    // A numbered publish went out before: its next copy is a re-delivery.
                    p.dup = p.pkid != 0;
                    self.carried.push(p);
                }
                Request::PubRel(r) => self.carried_rels.push(r),
                r @ (Request::Subscribe(_) | Request::Unsubscribe(_)) => {
                    self.carried_requests.push(r);
                }
                // Acknowledgements (counted above), pings: they belong to the lost
                // connection; a DISCONNECT has nothing left to end.
                _ => {}
            }
        }
        self.failures += 1;
        self.next_server();
        match self.reconnect {
            Some(policy) if policy.max_attempts.is_none_or(|max| self.failures <= max) => {
                self.retry = true;
                warn!(client_id = %self.client_id, broker = %self.addr, error = %why, attempt = self.failures, "connection lost; reconnecting");
            }
            _ => {
                self.done = true;
                warn!(client_id = %self.client_id, broker = %self.addr, error = %why, "connection lost; not reconnecting");
            }
        }
        if self.resent && self.up_since.is_some_and(|t| t.elapsed() < QUICK_LOSS) {
            self.strikes += 1;
        }
        self.up_since = None;
        events.push(NetEvent::Failed(Error::LinkLost(why)));
        events
    }

    /// After a CONNACK: re-subscribe if the broker kept no session, then resend what the
    /// broker has not acknowledged, oldest first. Returns the filters of each SUBSCRIBE
    /// queued, in order.
    fn resume(&mut self, session_present: bool) -> Vec<Vec<(TopicFilter, QoS)>> {
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
        if self.strikes >= GIVE_UP_AFTER {
            self.strikes = 0;
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
                self.shared.set_last_error(why.to_string());
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
        self.resent = !numbered.is_empty() || !unsent.is_empty();
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
    fn resubscribe(&mut self) -> Vec<Vec<(TopicFilter, QoS)>> {
        let active: Vec<(TopicFilter, QoS)> = self
            .shared
            .subscriptions
            .iter()
            .filter_map(|e| Some((TopicFilter::new(&**e.key()).ok()?, *e.value())))
            .collect();
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

    fn translate(&mut self, event: Event) -> Option<NetEvent> {
        match &event {
            Event::Incoming(Incoming::ConnAck(_)) => self.wire.connected(self.keep_alive),
            Event::Incoming(incoming) => {
                self.wire.answered();
                if !self.answered {
                    self.answered = true;
                    self.backoff.reset();
                }
                if matches!(
                    incoming,
                    Incoming::PubAck(_) | Incoming::PubRec(_) | Incoming::PubComp(_)
                ) {
                    self.resent = false;
                    self.strikes = 0;
                }
            }
            Event::Outgoing(_) => {}
        }
        match event {
            Event::Incoming(Incoming::ConnAck(ConnAck {
                session_present, ..
            })) => {
                info!(session_present, "connected");
                self.connected_once = true;
                self.failures = 0;
                self.answered = false;
                self.up_since = Some(Instant::now());
                let resubscribed = self.resume(session_present);
                Some(NetEvent::Connected { resubscribed })
            }
            Event::Incoming(Incoming::Publish(p)) => self.incoming(p),
            Event::Incoming(Incoming::PubAck(a)) => {
                self.sending.borrow_mut().puback(a.pkid);
                Some(NetEvent::PublishAcked { pkid: a.pkid })
            }
            Event::Incoming(Incoming::PubRec(r)) => {
                self.sending.borrow_mut().pubrec(r.pkid);
                None
            }
            Event::Incoming(Incoming::PubComp(c)) => {
                self.sending.borrow_mut().pubcomp(c.pkid);
                Some(NetEvent::PublishAcked { pkid: c.pkid })
            }
            Event::Incoming(Incoming::PubRel(r)) => {
                self.received_qos2.remove(&r.pkid);
                self.pubrec_sent.remove(&r.pkid);
                None
            }
            Event::Incoming(Incoming::SubAck(s)) => Some(NetEvent::SubAck {
                pkid: s.pkid,
                granted: s
                    .return_codes
                    .into_iter()
                    .map(|c| match c {
                        SubscribeReasonCode::Success(q) => Some(from_rumqttc(q)),
                        SubscribeReasonCode::Failure => None,
                    })
                    .collect(),
            }),
            Event::Incoming(Incoming::UnsubAck(u)) => Some(NetEvent::UnsubAck { pkid: u.pkid }),
            Event::Outgoing(Out::Publish(pkid)) => {
                self.sending.borrow_mut().sent(pkid);
                // A QoS 0 publish is complete once written.
                (pkid == 0).then_some(NetEvent::PublishSent { pkid })
            }
            Event::Outgoing(Out::PubRec(pkid)) => {
                self.pubrec_sent.insert(pkid);
                self.ack_written()
            }
            Event::Outgoing(Out::PubAck(_)) => self.ack_written(),
            Event::Outgoing(Out::PingReq) => {
                let patience = self.ping_patience();
                self.wire.ping_sent(patience);
                None
            }
            Event::Outgoing(Out::Subscribe(pkid)) => Some(NetEvent::SubscribeSent { pkid }),
            Event::Outgoing(Out::Unsubscribe(pkid)) => Some(NetEvent::UnsubscribeSent { pkid }),
            Event::Outgoing(Out::Disconnect) => {
                self.done = true;
                Some(NetEvent::DisconnectSent)
            }
            _ => None,
        }
    }

    /// A PUBACK or PUBREC was written: one the router asked for (acknowledgements are
    /// left to the router for the whole turn that wrote it), or one rumqttc wrote as it read.
    fn ack_written(&mut self) -> Option<NetEvent> {
        if self.engine.manual_acks() {
            self.unwritten_acks = self.unwritten_acks.saturating_sub(1);
        }
        None
    }

    /// An incoming PUBLISH, unless it repeats a QoS 2 message already handed on. Its
    /// acknowledgement travels with it, unless rumqttc has sent it already.
    fn incoming(&mut self, p: Publish) -> Option<NetEvent> {
        let qos = from_rumqttc(p.qos);
        let manual = self.engine.manual_acks();
        // A re-delivery carries DUP. A broker that lost state (killed before it saved it)
        // may reuse a packet id we still hold for a new message, without DUP: deliver that.
        if qos == QoS::ExactlyOnce && !self.received_qos2.insert(p.pkid) && p.dup {
            // The broker sent it again before it saw our PUBREC: answer, do not deliver.
            debug!(pkid = p.pkid, "repeated QoS 2 message not delivered again");
            if manual && self.pubrec_sent.contains(&p.pkid) {
                self.unwritten_acks += 1;
                self.sending
                    .borrow_mut()
                    .acks
                    .push_back(AckToken { pkid: p.pkid, qos });
            }
            return None;
        }
        let ack = (qos != QoS::AtMostOnce && manual).then_some(AckToken { pkid: p.pkid, qos });
        self.unwritten_acks += usize::from(ack.is_some());
        self.mailbox.arriving(1);
        Some(NetEvent::Publish(Arrival {
            message: Message {
                topic: p.topic,
                payload: p.payload,
                qos,
                retain: p.retain,
                dup: p.dup,
                subscription: None,
                claimed_by: None,
                claimants: None,
            },
            ack,
            // Read for a slow consumer: a QoS 0 message that finds no room is dropped.
            may_drop: self.wire.slow,
        }))
    }
}

/// The name of a CONNACK refusal.
pub fn refusal(code: ConnectReturnCode) -> &'static str {
    match code {
        ConnectReturnCode::RefusedProtocolVersion => "unacceptable protocol version",
        ConnectReturnCode::BadClientId => "identifier rejected",
        ConnectReturnCode::ServiceUnavailable => "server unavailable",
        ConnectReturnCode::BadUserNamePassword => "bad user name or password",
        ConnectReturnCode::NotAuthorized => "not authorised",
        ConnectReturnCode::Success => "accepted",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::{MqttOptions, SubAck};

    fn driver() -> Driver {
        let opts = ConnectOptions::new("127.0.0.1");
        let engine = Engine::new(
            MqttOptions::new("t", "127.0.0.1", 1883),
            rumqttc::NetworkOptions::new(),
        );
        let shared = Arc::new(ClientShared::new("t".into(), opts.addr(), 10));
        let mailbox = Arc::new(Mailbox::new(10));
        Driver::new(engine, &opts, Default::default(), mailbox, shared)
    }

    #[test]
    fn events_parsed_before_a_loss_are_reported_before_it() {
        let mut d = driver();
        d.engine
            .record(Event::Incoming(Incoming::SubAck(SubAck::new(
                3,
                vec![SubscribeReasonCode::Success(rumqttc::QoS::AtLeastOnce)],
            ))));
        d.engine.record(Event::Outgoing(Out::Subscribe(4)));
        let reported = d.lost("reset".into());
        assert!(
            matches!(
                &reported[..],
                [
                    NetEvent::SubAck { pkid: 3, .. },
                    NetEvent::SubscribeSent { pkid: 4 },
                    NetEvent::Failed(_)
                ]
            ),
            "{reported:?}"
        );
        assert_eq!(d.engine.events(), 0);
    }

    #[test]
    fn a_lost_connection_forgets_the_acknowledgements_not_written() {
        let mut d = driver();
        // Three acknowledgements asked for: two back from the router and not written, one
        // still with the router.
        d.unwritten_acks = 3;
        for pkid in [7, 8] {
            d.sending.borrow_mut().acks.push_back(AckToken {
                pkid,
                qos: QoS::AtLeastOnce,
            });
        }
        d.lost("reset".into());
        assert_eq!(d.unwritten_acks, 1);
        assert!(d.sending.borrow().acks.is_empty());
    }

    #[test]
    fn every_connack_refusal_has_a_name() {
        let cases = [
            (
                ConnectReturnCode::RefusedProtocolVersion,
                "unacceptable protocol version",
            ),
            (ConnectReturnCode::BadClientId, "identifier rejected"),
            (ConnectReturnCode::ServiceUnavailable, "server unavailable"),
            (
                ConnectReturnCode::BadUserNamePassword,
                "bad user name or password",
            ),
            (ConnectReturnCode::NotAuthorized, "not authorised"),
        ];
        for (code, name) in cases {
            assert_eq!(refusal(code), name);
        }
    }
}
