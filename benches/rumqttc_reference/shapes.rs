//! The two shapes of a raw rumqttc client the Lua client is measured against, behind one
//! `Endpoint` trait so that every workload is written once.
//!
//! - `AsyncShape` (the ceiling): an `AsyncClient` and its `EventLoop` driven by the one task
//!   that also publishes: publishes go into the request channel with `try_publish`, and the
//!   event loop is polled whenever the task waits for something.
//! - `ThreadedShape` (the shape of copper-mqtt): a sync `Client` whose `Connection` iterator
//!   runs on its own thread and hands received messages to the main thread over a std
//!   channel; the main thread publishes.
//!
//! Both use what copper-mqtt uses: TCP_NODELAY, a request channel of 1024, rumqttc's default
//! in-flight window (100) and copper-mqtt's maximum packet size.

use std::collections::VecDeque;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rumqttc::{
    AsyncClient, Client, ClientError, ConnectionError, Event, EventLoop, MqttOptions,
    NetworkOptions, Packet, QoS, SubscribeFilter,
};

/// Requests the channel to rumqttc's event loop holds (copper-mqtt's `REQUEST_CHANNEL`).
const REQUEST_CHANNEL: usize = 1024;
/// Filters per SUBSCRIBE packet when subscribing to many.
const FILTERS_PER_PACKET: usize = 1000;
/// copper-mqtt's `MAX_PACKET_SIZE`.
const MAX_PACKET_SIZE: usize = 256 * 1024 * 1024;

/// A connected client as the workloads see it.
pub trait Endpoint {
    /// Subscribes to every filter and returns once the broker acknowledged them all.
    async fn subscribe(&mut self, filters: &[String], qos: QoS);
    /// Queues a publish (waits only while the request channel is full).
    async fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS);
    /// The topic of the next message received, or `None` after `timeout`.
    async fn receive(&mut self, timeout: Duration) -> Option<String>;
    /// The topic of a message received already, if there is one; never waits.
    fn try_receive(&mut self) -> Option<String>;
    /// Waits until the broker has acknowledged `count` QoS 1 or 2 publishes in all (PUBACK
    /// or PUBCOMP); false after `timeout`.
    async fn acknowledged(&mut self, count: usize, timeout: Duration) -> bool;
    /// Sends DISCONNECT after everything queued, and waits until the client has stopped.
    async fn close(self);
}

fn options(port: u16, client_id: &str) -> (MqttOptions, NetworkOptions) {
    let mut opts = MqttOptions::new(client_id, "127.0.0.1", port);
    opts.set_max_packet_size(MAX_PACKET_SIZE, MAX_PACKET_SIZE);
    let mut network = NetworkOptions::new();
    network.set_tcp_nodelay(true);
    (opts, network)
}

fn die(what: &str, e: impl std::fmt::Display) -> ! {
    eprintln!("rumqttc_reference: {what}: {e}");
    std::process::exit(1)
}

/// One task does everything; the event loop runs only while that task waits.
pub struct AsyncShape {
    client: AsyncClient,
    eventloop: EventLoop,
    /// Messages polled while the task was publishing or waiting for SUBACKs.
    received: VecDeque<String>,
    subacks: usize,
    /// PUBACKs and PUBCOMPs so far.
    acks: usize,
}

impl AsyncShape {
    pub async fn connect(port: u16, client_id: &str) -> Self {
        let (opts, network) = options(port, client_id);
        let (client, mut eventloop) = AsyncClient::new(opts, REQUEST_CHANNEL);
        eventloop.set_network_options(network);
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {}
            Ok(other) => die("connect", format!("unexpected {other:?}")),
            Err(e) => die("connect", e),
        }
        AsyncShape {
            client,
            eventloop,
            received: VecDeque::new(),
            subacks: 0,
            acks: 0,
        }
    }

    /// Puts a request in the channel, polling the event loop while the channel is full: an
    /// awaited `publish` would wait for room that only this task's polling can make.
    async fn request(
        &mut self,
        what: &str,
        try_request: impl Fn(&AsyncClient) -> Result<(), ClientError>,
    ) {
        loop {
            match try_request(&self.client) {
                Ok(()) => return,
                Err(ClientError::TryRequest(_)) => self.poll().await,
                Err(e) => die(what, e),
            }
        }
    }

    async fn poll(&mut self) {
        match self.eventloop.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => self.received.push_back(p.topic),
            Ok(Event::Incoming(Packet::SubAck(_))) => self.subacks += 1,
            Ok(Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => self.acks += 1,
            Ok(_) => {}
            Err(e) => die("poll", e),
        }
    }
}

impl Endpoint for AsyncShape {
    async fn subscribe(&mut self, filters: &[String], qos: QoS) {
        let packets = filters.chunks(FILTERS_PER_PACKET).count();
        for chunk in filters.chunks(FILTERS_PER_PACKET) {
            let many = || chunk.iter().map(|f| SubscribeFilter::new(f.clone(), qos));
            self.request("subscribe", |c| c.try_subscribe_many(many()))
                .await;
        }
        while self.subacks < packets {
            self.poll().await;
        }
        self.subacks -= packets;
    }

    async fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) {
        self.request("publish", |c| c.try_publish(topic, qos, false, payload))
            .await;
    }

    async fn receive(&mut self, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.received.is_empty() {
            // Only ever cancelled at the end of a run, when no further message is expected.
            tokio::time::timeout_at(deadline, self.poll()).await.ok()?;
        }
        self.received.pop_front()
    }

    fn try_receive(&mut self) -> Option<String> {
        self.received.pop_front()
    }

    async fn acknowledged(&mut self, count: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.acks < count {
            if tokio::time::timeout_at(deadline, self.poll())
                .await
                .is_err()
            {
                return false;
            }
        }
        true
    }

    async fn close(mut self) {
        self.request("disconnect", AsyncClient::try_disconnect)
            .await;
        loop {
            match self.eventloop.poll().await {
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
                Ok(_) => {}
                Err(e) => die("close", e),
            }
        }
    }
}

/// What the network thread hands to the main thread.
enum NetEvent {
    SubAck,
    Acked,
    Publish(String),
    Closed(Option<ConnectionError>),
}

/// A sync client: the event loop on its own thread, the workload on the main thread.
pub struct ThreadedShape {
    client: Client,
    events: mpsc::Receiver<NetEvent>,
    network: JoinHandle<()>,
    /// PUBACKs and PUBCOMPs so far.
    acks: usize,
}

impl ThreadedShape {
    pub fn connect(port: u16, client_id: &str) -> Self {
        let (opts, network) = options(port, client_id);
        let (client, mut connection) = Client::new(opts, REQUEST_CHANNEL);
        connection.eventloop.set_network_options(network);
        let (tx, events) = mpsc::channel();
        let (connected_tx, connected) = mpsc::channel();
        let network = std::thread::spawn(move || {
            for event in connection.iter() {
                let sent = match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => connected_tx.send(Ok(())).is_ok(),
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        tx.send(NetEvent::Publish(p.topic)).is_ok()
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => tx.send(NetEvent::SubAck).is_ok(),
                    Ok(Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => {
                        tx.send(NetEvent::Acked).is_ok()
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                        let _ = tx.send(NetEvent::Closed(None));
                        false
                    }
                    Ok(_) => true,
                    Err(e) => {
                        let _ = connected_tx.send(Err(e.to_string()));
                        let _ = tx.send(NetEvent::Closed(Some(e)));
                        false
                    }
                };
                if !sent {
                    return;
                }
            }
        });
        match connected.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => die("connect", e),
            Err(e) => die("connect", e),
        }
        ThreadedShape {
            client,
            events,
            network,
            acks: 0,
        }
    }

    fn next(&mut self, timeout: Duration) -> Option<NetEvent> {
        match self.events.recv_timeout(timeout) {
            Ok(NetEvent::Closed(Some(e))) => die("network thread", e),
            Ok(event) => Some(event),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(e) => die("network thread", e),
        }
    }
}

impl Endpoint for ThreadedShape {
    async fn subscribe(&mut self, filters: &[String], qos: QoS) {
        let mut packets = 0;
        for chunk in filters.chunks(FILTERS_PER_PACKET) {
            let many = chunk.iter().map(|f| SubscribeFilter::new(f.clone(), qos));
            if let Err(e) = self.client.subscribe_many(many) {
                die("subscribe", e);
            }
            packets += 1;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while packets > 0 {
            match self.next(deadline.saturating_duration_since(Instant::now())) {
                Some(NetEvent::SubAck) => packets -= 1,
                Some(NetEvent::Acked) => self.acks += 1,
                Some(_) => {}
                None => die("subscribe", "no SUBACK within 30 s"),
            }
        }
    }

    async fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) {
        if let Err(e) = self.client.publish(topic, qos, false, payload) {
            die("publish", e);
        }
    }

    async fn receive(&mut self, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.next(deadline.saturating_duration_since(Instant::now()))? {
                NetEvent::Publish(topic) => return Some(topic),
                NetEvent::Acked => self.acks += 1,
                NetEvent::SubAck => {}
                NetEvent::Closed(_) => die("receive", "the connection closed"),
            }
        }
    }

    fn try_receive(&mut self) -> Option<String> {
        loop {
            match self.events.try_recv() {
                Ok(NetEvent::Publish(topic)) => return Some(topic),
                Ok(NetEvent::Acked) => self.acks += 1,
                Ok(NetEvent::SubAck) => {}
                Ok(NetEvent::Closed(_)) => die("receive", "the connection closed"),
                Err(mpsc::TryRecvError::Empty) => return None,
                Err(e) => die("network thread", e),
            }
        }
    }

    async fn acknowledged(&mut self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.acks < count {
            match self.next(deadline.saturating_duration_since(Instant::now())) {
                Some(NetEvent::Acked) => self.acks += 1,
                Some(NetEvent::Closed(_)) => die("publish", "the connection closed"),
                Some(_) => {}
                None => return false,
            }
        }
        true
    }

    async fn close(self) {
        if let Err(e) = self.client.disconnect() {
            die("disconnect", e);
        }
        if self.network.join().is_err() {
            die("close", "the network thread panicked");
        }
    }
}
