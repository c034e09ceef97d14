//! V4Link: the connection actor's requests, on rumqttc's client.

use std::cell::RefCell;
use std::rc::Rc;

use rumqttc::{
    LastWill, MqttOptions, NetworkOptions, Request, SubscribeFilter, TlsConfiguration, Transport,
};
use tokio::sync::Notify;

use super::driver::Driver;
use super::engine::Engine;
use super::sending::{Sending, Unsent, INFLIGHT};
use crate::actors::client_side::ClientSide;
use crate::actors::mailbox::Room;
use crate::actors::messages::{AckToken, Reply};
use crate::actors::protocol::{Link, NetEvents};
use crate::error::Error;
use crate::options::{ConnectOptions, PublishOptions, QoS, Server, MAX_PACKET_SIZE};
use crate::topic::{TopicFilter, TopicName};

/// A link to one broker over MQTT 3.1.1. It queues what the connection actor asks for; the
/// driver, woken, writes it.
pub struct V4Link {
    /// What is on its way, shared with the driver (both live on the actor thread).
    sending: Rc<RefCell<Sending>>,
    /// Wakes the driver.
    wake: Rc<Notify>,
}

/// Opens a link: nothing is sent until the returned events are polled.
///
/// # Errors
/// A TLS setting that cannot be used.
pub fn open(
    opts: &ConnectOptions,
    room: Room,
    client: ClientSide,
) -> Result<(V4Link, NetEvents), Error> {
    let mut network = NetworkOptions::new();
    network.set_connection_timeout(opts.timeout.as_secs_f64().ceil().max(1.0) as u64);
    // Small packets (acknowledgements above all) must not wait for Nagle's algorithm.
    network.set_tcp_nodelay(true);
    let engine = Engine::new(mqtt_options(opts, &opts.primary())?, network);
    let sending = Rc::new(RefCell::new(Sending::default()));
    let wake = Rc::new(Notify::new());
    let shares = (sending.clone(), wake.clone());
    let events = Driver::new(engine, opts, shares, room, client).into_events();
    Ok((V4Link { sending, wake }, events))
}

/// rumqttc's options for connecting to `server`.
///
/// # Errors
/// A TLS setting that cannot be used (a file that does not load, say).
pub(super) fn mqtt_options(opts: &ConnectOptions, server: &Server) -> Result<MqttOptions, Error> {
    let tls = match server.tls {
        true => Some(TlsConfiguration::Rustls(crate::tls::client_config(
            &opts.tls.clone().unwrap_or_default(),
        )?)),
        false => None,
    };
    let mut o = match server.url() {
        Some(url) => {
            // rumqttc takes a WebSocket broker's whole URL as its address.
            let mut o = MqttOptions::new(opts.client_id.clone(), url, server.port);
            o.set_transport(match tls {
                Some(tls) => Transport::Wss(tls),
                None => Transport::Ws,
            });
            o
        }
        None => {
            let mut o = MqttOptions::new(opts.client_id.clone(), server.host.clone(), server.port);
            if let Some(tls) = tls {
                o.set_transport(Transport::Tls(tls));
            }
            o
        }
    };
    // ConnectOptions guarantees 0 or at least one second, the only values rumqttc accepts.
    o.set_keep_alive(opts.keep_alive);
    o.set_clean_session(opts.clean_session);
    o.set_max_packet_size(MAX_PACKET_SIZE, MAX_PACKET_SIZE);
    // The driver chooses who acknowledges before each read.
    o.set_manual_acks(true);
    o.set_inflight(INFLIGHT);
    if let Some(user) = &server.username {
        o.set_credentials(user.clone(), server.password.clone().unwrap_or_default());
    }
    if let Some(will) = &opts.will {
        o.set_last_will(LastWill::new(
            will.topic.as_str(),
            will.payload.clone(),
            to_rumqttc(will.qos),
            will.retain,
        ));
    }
    Ok(o)
}

pub(super) fn to_rumqttc(qos: QoS) -> rumqttc::QoS {
    match qos {
        QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
        QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
    }
}

pub(super) fn from_rumqttc(qos: rumqttc::QoS) -> QoS {
    match qos {
        rumqttc::QoS::AtMostOnce => QoS::AtMostOnce,
        rumqttc::QoS::AtLeastOnce => QoS::AtLeastOnce,
        rumqttc::QoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

impl V4Link {
    /// Queues a request for the driver to write, in order, and wakes it.
    fn request(&mut self, request: Request) {
        self.sending.borrow_mut().requests.push_back(request);
        self.wake.notify_one();
    }
}

impl Link for V4Link {
    fn publish(
        &mut self,
        topic: TopicName,
        payload: Vec<u8>,
        opts: PublishOptions,
        confirm: Option<Reply<()>>,
    ) {
        let mut publish = rumqttc::Publish::new(topic.into_string(), to_rumqttc(opts.qos), payload);
        publish.retain = opts.retain;
        self.sending
            .borrow_mut()
            .unsent
            .push_back(Unsent { publish, confirm });
        self.wake.notify_one();
    }

    fn unfinished(&self) -> usize {
        self.sending.borrow().unfinished()
    }

    fn in_flight(&self) -> usize {
        self.sending.borrow().in_flight()
    }

    fn confirm_completed(&mut self) {
        let completed = std::mem::take(&mut self.sending.borrow_mut().completed);
        for (reply, outcome) in completed {
            let _ = reply.send(outcome);
        }
    }

    fn subscribe(&mut self, filters: Vec<(TopicFilter, QoS)>) -> Result<(), Error> {
        let filters = filters
            .into_iter()
            .map(|(f, q)| SubscribeFilter::new(f.into_string(), to_rumqttc(q)));
        self.request(Request::Subscribe(rumqttc::Subscribe::new_many(filters)));
        Ok(())
    }

    fn unsubscribe(&mut self, filter: TopicFilter) -> Result<(), Error> {
        self.request(Request::Unsubscribe(rumqttc::Unsubscribe::new(
            filter.into_string(),
        )));
        Ok(())
    }

    fn ack(&mut self, tokens: Vec<AckToken>) {
        self.sending.borrow_mut().acks.extend(tokens);
        self.wake.notify_one();
    }

    fn disconnect(&mut self) -> Result<(), Error> {
        self.request(Request::Disconnect(rumqttc::Disconnect));
        Ok(())
    }
}
