//! The MQTT 3.1.1 link on rumqttc: maps requests onto its client, drives its event loop with
//! backoff between reconnection attempts, and translates its events into [`NetEvent`]s.

use std::collections::VecDeque;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ClientError, ConnAck, ConnectReturnCode, ConnectionError, Event, EventLoop,
    Incoming, LastWill, MqttOptions, NetworkOptions, Outgoing, Request, SubscribeFilter,
    SubscribeReasonCode,
};
use rustc_hash::FxHashMap;
use tracing::{debug, info, warn, Instrument};

use super::backoff::Backoff;
use super::link::{Link, NetEvent, NetEvents};
use super::messages::{AckToken, Message, Route};
use crate::error::Error;
use crate::options::{ConnectOptions, PublishOptions, QoS, MAX_PACKET_SIZE};
use crate::topic::{TopicFilter, TopicName};

/// Requests rumqttc's channel holds before `try_*` calls are refused.
const REQUEST_CHANNEL: usize = 1024;

/// rumqttc's in-flight limit, which is also the length of its packet-id cycle.
const INFLIGHT: u16 = 100;

/// Most QoS 2 publishes whose exchange is incomplete at once. A broker holds each until its
/// PUBREL, and mosquitto (with its default `max_inflight_messages 20`) silently drops QoS 1
/// publishes that arrive while it holds 20: it answers them with a plain PUBACK.
const QOS2_WINDOW: usize = 16;

/// A link to one broker over MQTT 3.1.1.
///
/// rumqttc numbers QoS 1 and 2 publishes in a cycle `1..=INFLIGHT` and frees a QoS 2
/// publish's number at PUBREC, before its PUBREL/PUBCOMP exchange is over: a later publish
/// can then reuse a number the broker still holds, and the broker drops it as a duplicate.
/// The link therefore predicts the number rumqttc will assign next and holds a publish back
/// while that number is still in use, and keeps QoS 2 exchanges within [`QOS2_WINDOW`].
pub struct V4Link {
    client: AsyncClient,
    /// Publishes not yet handed to rumqttc, in order.
    held: VecDeque<rumqttc::Publish>,
    /// Whether a connection is up; while it is down publishes stay held.
    connected: bool,
    /// The packet id rumqttc assigned last.
    last_pkid: u16,
    /// QoS 1 and 2 publishes in rumqttc's channel, not yet numbered, oldest first: whether
    /// each is QoS 2.
    unnumbered: VecDeque<bool>,
    /// Packet ids whose exchange with the broker is not complete: whether each is QoS 2.
    in_use: FxHashMap<u16, bool>,
    /// QoS 2 publishes handed to rumqttc whose exchange is not complete.
    qos2_open: usize,
}

/// Opens a link: nothing is sent until the returned events are polled.
pub fn open(opts: &ConnectOptions, backoff: Backoff) -> (V4Link, NetEvents) {
    let (client, eventloop) = AsyncClient::new(mqtt_options(opts), REQUEST_CHANNEL);
    let mut eventloop = eventloop;
    let mut network = NetworkOptions::new();
    network.set_connection_timeout(opts.timeout.as_secs_f64().ceil().max(1.0) as u64);
    eventloop.set_network_options(network);
    let driver = Driver {
        eventloop,
        backoff,
        host: opts.host.clone(),
        port: opts.port,
        addr: opts.addr(),
        timeout: opts.timeout,
        connected_once: false,
        retry: false,
        done: false,
    };
    let span = tracing::info_span!("link", client_id = %opts.client_id, broker = %opts.addr());
    let events = futures_util::stream::unfold(driver, move |mut d| {
        let span = span.clone();
        async move {
            let event = d.next_event().instrument(span).await?;
            Some((event, d))
        }
    });
    (
        V4Link {
            client,
            held: VecDeque::new(),
            connected: false,
            last_pkid: 0,
            unnumbered: VecDeque::new(),
            in_use: FxHashMap::default(),
            qos2_open: 0,
        },
        Box::pin(events),
    )
}

fn mqtt_options(opts: &ConnectOptions) -> MqttOptions {
    let mut o = MqttOptions::new(opts.client_id.clone(), opts.host.clone(), opts.port);
    // ConnectOptions guarantees 0 or at least one second, the only values rumqttc accepts.
    o.set_keep_alive(opts.keep_alive);
    o.set_clean_session(opts.clean_session);
    o.set_max_packet_size(MAX_PACKET_SIZE, MAX_PACKET_SIZE);
    o.set_manual_acks(true);
    o.set_inflight(INFLIGHT);
    if let Some(user) = &opts.username {
        o.set_credentials(user.clone(), opts.password.clone().unwrap_or_default());
    }
    if let Some(will) = &opts.will {
        o.set_last_will(LastWill::new(
            will.topic.as_str(),
            will.payload.clone(),
            to_rumqttc(will.qos),
            will.retain,
        ));
    }
    o
}

fn to_rumqttc(qos: QoS) -> rumqttc::QoS {
    match qos {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
    }
}

fn from_rumqttc(qos: rumqttc::QoS) -> QoS {
    match qos {
        rumqttc::QoS::AtMostOnce => QoS::AtMostOnce,
        rumqttc::QoS::AtLeastOnce => QoS::AtLeastOnce,
        rumqttc::QoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

fn queue_error(e: ClientError) -> Error {
    Error::Internal(format!("mqtt request could not be queued: {e}"))
}

impl V4Link {
    /// The packet id rumqttc will give the next QoS 1 or 2 publish handed to it.
    fn next_pkid(&self) -> u16 {
        ((self.last_pkid as usize + self.unnumbered.len()) % INFLIGHT as usize) as u16 + 1
    }

    /// Hands held publishes to rumqttc while it takes them; returns how many it took.
    fn pump(&mut self) -> usize {
        let mut moved = 0;
        while self.connected {
            let Some(p) = self.held.front() else { break };
            let numbered = p.qos != rumqttc::QoS::AtMostOnce;
            let qos2 = p.qos == rumqttc::QoS::ExactlyOnce;
            if numbered && self.in_use.contains_key(&self.next_pkid())
                || qos2 && self.qos2_open >= QOS2_WINDOW
            {
                break;
            }
            let Some(p) = self.held.pop_front() else {
                break;
            };
            // Bytes made from a Vec turn back into it without a copy.
            match self
                .client
                .try_publish(p.topic, p.qos, p.retain, Vec::from(p.payload))
            {
                Err(ClientError::TryRequest(Request::Publish(p))) => {
                    self.held.push_front(p);
                    break;
                }
                // Queued, or the event loop is gone with the client closing: either way the
                // message has left the Lua side's queue.
                _ => {
                    moved += 1;
                    if numbered {
                        self.unnumbered.push_back(qos2);
                    }
                    if qos2 {
                        self.qos2_open += 1;
                    }
                }
            }
        }
        moved
    }
}

impl Link for V4Link {
    fn publish(&mut self, topic: TopicName, payload: Vec<u8>, opts: PublishOptions) -> usize {
        let mut publish = rumqttc::Publish::new(topic.into_string(), to_rumqttc(opts.qos), payload);
        publish.retain = opts.retain;
        self.held.push_back(publish);
        self.pump()
    }

    fn connected(&mut self, session_present: bool) -> usize {
        if !session_present {
            // rumqttc dropped everything it had in flight or queued at the loss.
            self.in_use.clear();
            self.unnumbered.clear();
            self.qos2_open = 0;
        }
        self.connected = true;
        self.pump()
    }

    fn lost(&mut self) {
        self.connected = false;
    }

    fn sent(&mut self, pkid: u16) -> usize {
        // A resend after a reconnect reuses its number; a first send takes the next one.
        if pkid != 0 && !self.in_use.contains_key(&pkid) {
            let qos2 = self.unnumbered.pop_front().unwrap_or(false);
            self.in_use.insert(pkid, qos2);
            self.last_pkid = pkid;
        }
        self.pump()
    }

    fn acked(&mut self, pkid: u16) -> usize {
        if self.in_use.remove(&pkid) == Some(true) {
            self.qos2_open = self.qos2_open.saturating_sub(1);
        }
        self.pump()
    }

    fn subscribe(&mut self, filters: Vec<(TopicFilter, QoS)>) -> Result<(), Error> {
        let filters = filters
            .into_iter()
            .map(|(f, q)| SubscribeFilter::new(f.into_string(), to_rumqttc(q)));
        self.client.try_subscribe_many(filters).map_err(queue_error)
    }

    fn unsubscribe(&mut self, filter: TopicFilter) -> Result<(), Error> {
        self.client
            .try_unsubscribe(filter.into_string())
            .map_err(queue_error)
    }

    fn ack(&mut self, token: AckToken) -> Result<(), Error> {
        let mut publish = rumqttc::Publish::new("", to_rumqttc(token.qos), Vec::new());
        publish.pkid = token.pkid;
        self.client.try_ack(&publish).map_err(queue_error)
    }

    fn disconnect(&mut self) -> Result<(), Error> {
        self.client.try_disconnect().map_err(queue_error)
    }
}

/// Drives rumqttc's event loop: connects, reconnects with backoff, and yields what matters.
struct Driver {
    eventloop: EventLoop,
    backoff: Backoff,
    host: String,
    port: u16,
    addr: String,
    timeout: Duration,
    /// Whether a CONNACK ever accepted us; before that, a failure ends the stream.
    connected_once: bool,
    /// The last poll failed: wait a backoff delay before the next attempt.
    retry: bool,
    /// The stream has ended.
    done: bool,
}

impl Driver {
    async fn next_event(&mut self) -> Option<NetEvent> {
        loop {
            if self.done {
                return None;
            }
            if self.retry {
                let delay = self.backoff.next_delay();
                debug!(
                    delay_ms = delay.as_millis() as u64,
                    "reconnecting after a delay"
                );
                tokio::time::sleep(delay).await;
                self.retry = false;
            }
            let polled = if self.connected_once {
                self.eventloop.poll().await
            } else {
                match self.first_connect().await {
                    Ok(event) => Ok(event),
                    Err(e) => {
                        self.done = true;
                        return Some(NetEvent::Failed(e));
                    }
                }
            };
            match polled {
                Ok(event) => {
                    if let Some(event) = self.translate(event) {
                        return Some(event);
                    }
                }
                Err(e) => {
                    // The connection actor fails every pending SUBSCRIBE and UNSUBSCRIBE when
                    // the link drops; rumqttc must not replay them behind its back.
                    self.eventloop
                        .pending
                        .retain(|r| !matches!(r, Request::Subscribe(_) | Request::Unsubscribe(_)));
                    self.retry = true;
                    warn!(error = %e, broker = %self.addr, "connection failed");
                    return Some(NetEvent::Failed(Error::ConnectionLost(e.to_string())));
                }
            }
        }
    }

    /// The first connection: a name lookup, then TCP and CONNACK, all within the timeout.
    async fn first_connect(&mut self) -> Result<Event, Error> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let timed_out = || Error::ConnectTimeout {
            addr: self.addr.clone(),
            secs: self.timeout.as_secs_f64(),
        };
        let lookup = tokio::net::lookup_host((self.host.as_str(), self.port));
        match tokio::time::timeout_at(deadline, lookup).await {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) => {
                return Err(Error::UnknownHost {
                    host: self.host.clone(),
                    why: e.to_string(),
                })
            }
            Ok(Ok(_)) => {}
        }
        match tokio::time::timeout_at(deadline, self.eventloop.poll()).await {
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
            Ok(Err(e)) => Err(Error::Unreachable {
                addr: self.addr.clone(),
                why: e.to_string(),
            }),
        }
    }

    fn translate(&mut self, event: Event) -> Option<NetEvent> {
        match event {
            Event::Incoming(Incoming::ConnAck(ConnAck {
                session_present, ..
            })) => {
                info!(broker = %self.addr, session_present, "connected");
                self.connected_once = true;
                self.backoff.reset();
                Some(NetEvent::Connected { session_present })
            }
            Event::Incoming(Incoming::Publish(p)) => {
                let qos = from_rumqttc(p.qos);
                let ack = (qos != QoS::AtMostOnce).then_some(AckToken { pkid: p.pkid, qos });
                Some(NetEvent::Publish(Route {
                    message: Message {
                        topic: p.topic,
                        payload: p.payload,
                        qos,
                        retain: p.retain,
                        dup: p.dup,
                        subscription: None,
                    },
                    ack,
                }))
            }
            Event::Incoming(Incoming::PubAck(a)) => Some(NetEvent::PublishAcked { pkid: a.pkid }),
            Event::Incoming(Incoming::PubComp(c)) => Some(NetEvent::PublishAcked { pkid: c.pkid }),
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
            Event::Outgoing(Outgoing::Publish(pkid)) => Some(NetEvent::PublishSent { pkid }),
            Event::Outgoing(Outgoing::Subscribe(pkid)) => Some(NetEvent::SubscribeSent { pkid }),
            Event::Outgoing(Outgoing::Unsubscribe(pkid)) => {
                Some(NetEvent::UnsubscribeSent { pkid })
            }
            Event::Outgoing(Outgoing::Disconnect) => {
                self.done = true;
                Some(NetEvent::DisconnectSent)
            }
            _ => None,
        }
    }
}

fn refusal(code: ConnectReturnCode) -> &'static str {
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

    /// A link whose event loop exists (so rumqttc's channel is open) but never runs.
    fn link() -> (V4Link, NetEvents) {
        let opts = ConnectOptions::new("127.0.0.1");
        let (mut link, events) = open(&opts, Backoff::default());
        link.connected(false);
        (link, events)
    }

    fn publish(link: &mut V4Link, qos: QoS) -> usize {
        let topic = TopicName::new("t").unwrap();
        link.publish(topic, b"x".to_vec(), PublishOptions { qos, retain: false })
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

    #[test]
    fn publishes_wait_while_the_connection_is_down() {
        let (mut link, _events) = link();
        link.lost();
        assert_eq!(publish(&mut link, QoS::AtMostOnce), 0);
        assert_eq!(link.connected(true), 1);
    }

    #[test]
    fn qos2_exchanges_stay_within_the_window() {
        let (mut link, _events) = link();
        for _ in 0..QOS2_WINDOW {
            assert_eq!(publish(&mut link, QoS::ExactlyOnce), 1);
        }
        assert_eq!(publish(&mut link, QoS::ExactlyOnce), 0);
        // QoS 0 behind it waits too: order is kept.
        assert_eq!(publish(&mut link, QoS::AtMostOnce), 0);
        for pkid in 1..=QOS2_WINDOW as u16 {
            assert_eq!(link.sent(pkid), 0);
        }
        assert_eq!(link.acked(1), 2);
    }

    #[test]
    fn a_publish_waits_while_its_packet_id_is_in_use() {
        let (mut link, _events) = link();
        for pkid in 1..=INFLIGHT {
            assert_eq!(publish(&mut link, QoS::AtLeastOnce), 1);
            assert_eq!(link.sent(pkid), 0);
        }
        // The next publish would be numbered 1 again, which the broker still holds.
        assert_eq!(link.next_pkid(), 1);
        assert_eq!(publish(&mut link, QoS::AtLeastOnce), 0);
        assert_eq!(link.acked(2), 0);
        assert_eq!(link.acked(1), 1);
    }

    #[test]
    fn a_resend_keeps_its_packet_id_and_the_cycle() {
        let (mut link, _events) = link();
        publish(&mut link, QoS::AtLeastOnce);
        link.sent(1);
        link.lost();
        link.connected(true);
        // rumqttc resends packet 1 after a reconnect with a session.
        link.sent(1);
        assert_eq!(link.next_pkid(), 2);
    }
}
