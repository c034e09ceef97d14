//! Engine: rumqttc 0.25.1's `EventLoop` as this client drives it. Every read or write of
//! rumqttc's state beyond its public API is here, and each behaviour of rumqttc the client
//! relies on has a test below, named after it, so that an upgrade that changes one fails that
//! test (the version is pinned exactly in Cargo.toml). The driver never calls
//! `EventLoop::poll` while connected: it reads and writes through [`Engine::read`] and
//! [`Engine::write`] in turns of its own (`wire.rs`).

use std::time::Duration;

use futures_util::FutureExt;
use rumqttc::{
    ConnectionError, Event, EventLoop, Incoming, MqttOptions, NetworkOptions, PingReq, Publish,
    QoS, Request, StateError,
};

/// Most packets one [`Engine::read`] parses: rumqttc's `Network::readb` stops at 10 (its
/// `max_readb_count`, not configurable).
pub const READ_MAX: usize = 10;

/// rumqttc's event loop, and the client's ways into it.
pub struct Engine {
    eventloop: EventLoop,
}

impl Engine {
    /// An engine that connects with `options` and `network` at its first [`Engine::connect`].
    /// rumqttc's request channel stays unused: requests go through [`Engine::queue`] and
    /// [`Engine::write`].
    pub fn new(options: MqttOptions, network: NetworkOptions) -> Self {
        let mut eventloop = EventLoop::new(options, 1);
        eventloop.set_network_options(network);
        Self { eventloop }
    }

    /// Whether a connection is up (rumqttc holds a network).
    pub fn is_connected(&self) -> bool {
        self.eventloop.network.is_some()
    }

    /// Connects: with no network, rumqttc's `poll` makes one and returns the CONNACK (or why
    /// it could not), within the network options' connection timeout.
    ///
    /// # Errors
    /// rumqttc's, unchanged.
    pub async fn connect(&mut self) -> Result<Event, ConnectionError> {
        debug_assert!(
            !self.is_connected(),
            "connect is for a link without a network"
        );
        self.eventloop.poll().await
    }

    /// The options of the next connection (another server's).
    pub fn set_options(&mut self, options: MqttOptions) {
        self.eventloop.mqtt_options = options;
    }

    /// Drops the connection as rumqttc's `poll` does after an error: every publish and
    /// PUBREL not acknowledged moves to the pending list.
    pub fn drop_connection(&mut self) {
        self.eventloop.clean();
    }

    /// The next event rumqttc has recorded (a packet read, or one written) and not returned.
    pub fn next_event(&mut self) -> Option<Event> {
        self.eventloop.state.events.pop_front()
    }

    /// Events recorded and not returned yet.
    pub fn events(&self) -> usize {
        self.eventloop.state.events.len()
    }

    /// Whether rumqttc leaves acknowledgements of received QoS 1 and 2 messages to the client
    /// (otherwise it writes them as it reads).
    pub fn manual_acks(&self) -> bool {
        self.eventloop.state.manual_acks
    }

    /// Chooses who acknowledges what the next read brings.
    pub fn set_manual_acks(&mut self, manual: bool) {
        self.eventloop.state.manual_acks = manual;
    }

    /// Marks every packet id as an incoming QoS 2 exchange awaiting PUBREL. After a reconnect
    /// with a session the broker may send PUBREL for an exchange begun before (on either
    /// side of a crash); rumqttc answers a PUBREL it does not expect with an error that drops
    /// the connection, and the broker would repeat it after every reconnect.
    pub fn expect_pubrel_for_every_id(&mut self) {
        let state = &mut self.eventloop.state;
        let manual = state.manual_acks;
        // With acknowledgements left to the client, marking one writes nothing and records
        // one event, taken back at once.
        state.manual_acks = true;
        for pkid in 1..=u16::MAX {
            let mut mark = Publish::new("", QoS::ExactlyOnce, Vec::new());
            mark.pkid = pkid;
            if state
                .handle_incoming_packet(Incoming::Publish(mark))
                .is_ok()
            {
                state.events.pop_back();
            }
        }
        state.manual_acks = manual;
    }

    /// Takes the pending list: what rumqttc would send first on the next connection.
    pub fn take_pending(&mut self) -> Vec<Request> {
        self.eventloop.pending.drain(..).collect()
    }

    /// Queues requests to write at the next turn, before anything else, in order.
    pub fn queue(&mut self, requests: impl IntoIterator<Item = Request>) {
        self.eventloop.pending.extend(requests);
    }

    /// The next queued request.
    pub fn next_queued(&mut self) -> Option<Request> {
        self.eventloop.pending.pop_front()
    }

    /// Waits for packets and reads at most [`READ_MAX`], letting rumqttc handle each (and
    /// write the acknowledgements that are its to write, into the network's buffer). Safe to
    /// cancel before it has taken anything from the socket, which is where it waits: the
    /// acknowledgements it writes never wait, since the buffer is flushed every turn.
    ///
    /// # Errors
    /// The connection failed, in rumqttc's words.
    pub async fn read(&mut self) -> Result<(), String> {
        let EventLoop { network, state, .. } = &mut self.eventloop;
        let network = network.as_mut().ok_or("not connected")?;
        network.readb(state).await.map_err(state_error)
    }

    /// Reads what is already in the socket, if anything, without waiting (see
    /// [`Engine::read`]); false when nothing was there.
    ///
    /// # Errors
    /// The connection failed, in rumqttc's words.
    pub fn read_waiting(&mut self) -> Result<bool, String> {
        match self.read().now_or_never() {
            Some(read) => read.map(|()| true),
            None => Ok(false),
        }
    }

    /// Hands one request to rumqttc's state (which numbers a publish and records it) and its
    /// packet to the network's write buffer.
    ///
    /// # Errors
    /// The connection failed, in rumqttc's words.
    pub async fn write(&mut self, request: Request) -> Result<(), String> {
        let EventLoop { network, state, .. } = &mut self.eventloop;
        let packet = state.handle_outgoing_packet(request).map_err(state_error)?;
        if let Some(packet) = packet {
            let network = network.as_mut().ok_or("not connected")?;
            network.write(packet).await.map_err(state_error)?;
        }
        Ok(())
    }

    /// Hands a publish to rumqttc as [`Engine::write`] does, and gives it back when the
    /// number rumqttc gave it was still in use (a collision): rumqttc would keep it aside
    /// in one slot, which the next collision overwrites, and never send that one. The number
    /// counts as given out all the same (rumqttc records `AwaitAck` with it).
    ///
    /// # Errors
    /// The connection failed, in rumqttc's words.
    pub async fn write_publish(&mut self, publish: Publish) -> Result<Option<Publish>, String> {
        self.write(Request::Publish(publish)).await?;
        Ok(self.eventloop.state.collision.take())
    }

    /// Sends the network's write buffer, within the connection timeout.
    ///
    /// # Errors
    /// The connection failed or stalled, in rumqttc's words.
    pub async fn flush(&mut self) -> Result<(), String> {
        let bound = Duration::from_secs(self.eventloop.network_options.connection_timeout());
        let network = self.eventloop.network.as_mut().ok_or("not connected")?;
        match tokio::time::timeout(bound, network.flush()).await {
            Ok(flushed) => flushed.map_err(state_error),
            Err(_) => Err(ConnectionError::FlushTimeout.to_string()),
        }
    }

    /// Writes a PINGREQ even if the last one's answer has not been read (it may wait unread
    /// behind messages): rumqttc refuses a ping while an answer is due.
    ///
    /// # Errors
    /// The connection failed, in rumqttc's words.
    pub async fn ping_regardless(&mut self) -> Result<(), String> {
        self.eventloop.state.await_pingresp = false;
        self.write(Request::PingReq(PingReq)).await
    }

    /// Records an event as if rumqttc had (tests of what the driver does with events).
    #[cfg(test)]
    pub fn record(&mut self, event: Event) {
        self.eventloop.state.events.push_back(event);
    }
}

/// A state or network error, worded as rumqttc's `poll` words it.
fn state_error(e: StateError) -> String {
    ConnectionError::MqttState(e).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttc::{Outgoing, Packet, PubAck, PubRec, PubRel};

    fn engine(manual_acks: bool) -> Engine {
        let mut options = MqttOptions::new("t", "127.0.0.1", 1883);
        options.set_inflight(100);
        options.set_manual_acks(manual_acks);
        Engine::new(options, NetworkOptions::new())
    }

    fn incoming(e: &mut Engine, packet: Incoming) -> Result<Option<Packet>, StateError> {
        e.eventloop.state.handle_incoming_packet(packet)
    }

    fn outgoing(e: &mut Engine, request: Request) -> Result<Option<Packet>, StateError> {
        e.eventloop.state.handle_outgoing_packet(request)
    }

    fn publish(qos: QoS, pkid: u16) -> Publish {
        let mut p = Publish::new("t", qos, b"x".to_vec());
        p.pkid = pkid;
        p
    }

    #[test]
    fn a_pubrel_for_an_id_not_awaiting_one_is_an_error_until_every_id_is_marked() {
        let mut e = engine(true);
        let unknown = incoming(&mut e, Incoming::PubRel(PubRel::new(7)));
        assert!(
            matches!(unknown, Err(StateError::Unsolicited(7))),
            "{unknown:?}"
        );
        // A packet is recorded as an event before it is handled, even when handling fails.
        assert!(e.next_event().is_some());
        e.expect_pubrel_for_every_id();
        assert_eq!(e.events(), 0, "marking leaves no event behind");
        let marked = incoming(&mut e, Incoming::PubRel(PubRel::new(7))).unwrap();
        assert!(matches!(marked, Some(Packet::PubComp(_))), "{marked:?}");
    }

    #[test]
    fn publish_packet_ids_cycle_from_one_to_the_inflight_limit() {
        let mut e = engine(true);
        let mut ids = Vec::new();
        for _ in 0..101 {
            let Ok(Some(Packet::Publish(p))) =
                outgoing(&mut e, Request::Publish(publish(QoS::AtLeastOnce, 0)))
            else {
                panic!("a publish goes out")
            };
            ids.push(p.pkid);
            incoming(&mut e, Incoming::PubAck(PubAck::new(p.pkid))).unwrap();
        }
        assert_eq!(ids[..3], [1, 2, 3]);
        assert_eq!(ids[99], 100);
        assert_eq!(
            ids[100], 1,
            "after the inflight limit the cycle starts again"
        );
    }

    #[test]
    fn a_collision_keeps_one_publish_aside_and_the_next_collision_overwrites_it() {
        let mut e = engine(true);
        let mut first = publish(QoS::AtLeastOnce, 0);
        first.pkid = 1;
        outgoing(&mut e, Request::Publish(first)).unwrap();
        for topic in ["lost", "kept"] {
            let mut p = Publish::new(topic, QoS::AtLeastOnce, b"x".to_vec());
            p.pkid = 1;
            assert!(outgoing(&mut e, Request::Publish(p)).unwrap().is_none());
        }
        assert_eq!(
            e.eventloop
                .state
                .collision
                .as_ref()
                .map(|p| p.topic.as_str()),
            Some("kept"),
            "the first publish set aside is gone: what Engine::write_publish gives back"
        );
    }

    #[test]
    fn a_qos2_publish_frees_its_packet_id_at_pubrec() {
        let mut e = engine(true);
        outgoing(&mut e, Request::Publish(publish(QoS::ExactlyOnce, 5))).unwrap();
        let again = outgoing(&mut e, Request::Publish(publish(QoS::ExactlyOnce, 5))).unwrap();
        assert!(again.is_none(), "id 5 is in use until PUBREC: a collision");
        e.eventloop.state.collision = None;
        let rel = incoming(&mut e, Incoming::PubRec(PubRec::new(5))).unwrap();
        assert!(matches!(rel, Some(Packet::PubRel(_))), "{rel:?}");
        let reused = outgoing(&mut e, Request::Publish(publish(QoS::ExactlyOnce, 5))).unwrap();
        assert!(
            matches!(reused, Some(Packet::Publish(_))),
            "free again before PUBCOMP: {reused:?}"
        );
    }

    #[test]
    fn a_ping_is_refused_while_an_answer_is_due_unless_forced() {
        let mut e = engine(true);
        outgoing(&mut e, Request::PingReq(PingReq)).unwrap();
        let second = outgoing(&mut e, Request::PingReq(PingReq));
        assert!(
            matches!(second, Err(StateError::AwaitPingResp)),
            "{second:?}"
        );
        e.eventloop.state.await_pingresp = false;
        assert!(outgoing(&mut e, Request::PingReq(PingReq)).is_ok());
    }

    #[test]
    fn with_acknowledgements_left_to_rumqttc_reading_a_publish_answers_it() {
        let mut e = engine(false);
        let ack = incoming(&mut e, Incoming::Publish(publish(QoS::AtLeastOnce, 3))).unwrap();
        assert!(matches!(ack, Some(Packet::PubAck(_))), "{ack:?}");
        let rec = incoming(&mut e, Incoming::Publish(publish(QoS::ExactlyOnce, 4))).unwrap();
        assert!(matches!(rec, Some(Packet::PubRec(_))), "{rec:?}");
        e.set_manual_acks(true);
        let none = incoming(&mut e, Incoming::Publish(publish(QoS::AtLeastOnce, 5))).unwrap();
        assert!(none.is_none(), "the client's to write: {none:?}");
    }

    #[test]
    fn every_packet_handled_is_recorded_as_an_event_in_order() {
        let mut e = engine(false);
        incoming(&mut e, Incoming::Publish(publish(QoS::AtLeastOnce, 3))).unwrap();
        outgoing(&mut e, Request::Publish(publish(QoS::AtMostOnce, 0))).unwrap();
        let events: Vec<Event> = std::iter::from_fn(|| e.next_event()).collect();
        assert!(
            matches!(
                &events[..],
                [
                    Event::Incoming(Incoming::Publish(_)),
                    Event::Outgoing(Outgoing::PubAck(3)),
                    Event::Outgoing(Outgoing::Publish(0)),
                ]
            ),
            "{events:?}"
        );
    }

    #[test]
    fn a_dropped_connection_returns_unacknowledged_publishes_and_releases_as_pending() {
        let mut e = engine(true);
        outgoing(&mut e, Request::Publish(publish(QoS::AtLeastOnce, 0))).unwrap();
        outgoing(&mut e, Request::Publish(publish(QoS::ExactlyOnce, 0))).unwrap();
        incoming(&mut e, Incoming::PubRec(PubRec::new(2))).unwrap();
        e.drop_connection();
        let pending = e.take_pending();
        assert!(
            matches!(
                &pending[..],
                [Request::Publish(p), Request::PubRel(r)] if p.pkid == 1 && r.pkid == 2
            ),
            "{pending:?}"
        );
        assert!(!e.is_connected());
    }
}
