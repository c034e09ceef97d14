//! V4Link: the connection actor's requests, on rumqttc's client.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

use rumqttc::{
    AsyncClient, ClientError, LastWill, MqttOptions, NetworkOptions, Request, SubscribeFilter,
    TlsConfiguration, Transport,
};

use super::driver::Driver;
use super::outgoing::{Held, Outgoing, INFLIGHT};
use crate::actors::link::{Link, NetEvents};
use crate::actors::mailbox::Mailbox;
use crate::actors::messages::{AckToken, Reply};
use crate::actors::shared::ClientShared;
use crate::error::Error;
use crate::options::{ConnectOptions, PublishOptions, QoS, Server, MAX_PACKET_SIZE};
use crate::topic::{TopicFilter, TopicName};

/// Requests rumqttc's channel holds before `try_*` calls are refused.
const REQUEST_CHANNEL: usize = 1024;

/// A link to one broker over MQTT 3.1.1.
pub struct V4Link {
    client: AsyncClient,
    /// Publishes on their way, shared with the driver (both live on the actor thread).
    outgoing: Rc<RefCell<Outgoing>>,
    /// Acknowledgements of received messages waiting for room in rumqttc's channel: one that
    /// is never sent stalls the broker's in-flight window for this client.
    acks: VecDeque<AckToken>,
}

/// Opens a link: nothing is sent until the returned events are polled.
///
/// # Errors
/// A TLS setting that cannot be used.
pub fn open(
    opts: &ConnectOptions,
    mailbox: Arc<Mailbox>,
    shared: Arc<ClientShared>,
) -> Result<(V4Link, NetEvents), Error> {
    let (client, mut eventloop) =
        AsyncClient::new(mqtt_options(opts, &opts.primary())?, REQUEST_CHANNEL);
    let mut network = NetworkOptions::new();
    network.set_connection_timeout(opts.timeout.as_secs_f64().ceil().max(1.0) as u64);
    // Small packets (acknowledgements above all) must not wait for Nagle's algorithm.
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let outgoing = Rc::new(RefCell::new(Outgoing::default()));
    let events = Driver::new(eventloop, opts, outgoing.clone(), mailbox, shared).into_events();
    Ok((
        V4Link {
            client,
            outgoing,
            acks: VecDeque::new(),
        },
        events,
    ))
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
    // Acknowledging on delivery to start with; the driver switches to rumqttc's own
    // acknowledgements while the mailbox has room.
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

fn queue_error(e: ClientError) -> Error {
    Error::Internal(format!("mqtt request could not be queued: {e}"))
}

impl V4Link {
    /// Moves held acknowledgements into rumqttc's channel as far as it has room.
    fn pump_acks(&mut self) {
        while let Some(&token) = self.acks.front() {
            let mut publish = rumqttc::Publish::new("", to_rumqttc(token.qos), Vec::new());
            publish.pkid = token.pkid;
            match self.client.try_ack(&publish) {
                Err(ClientError::TryRequest(_)) => break,
                Ok(()) => {
                    self.outgoing.borrow_mut().acks_queued += 1;
                    self.acks.pop_front();
                }
                // The event loop is gone with the client closing.
                Err(_) => {
                    self.acks.pop_front();
                }
            }
        }
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
        self.outgoing
            .borrow_mut()
            .held
            .push_back(Held { publish, confirm });
    }

    fn pump(&mut self) -> usize {
        self.pump_acks();
        let mut out = self.outgoing.borrow_mut();
        let mut moved = 0;
        while let Some(qos) = out.ready().map(|p| p.qos) {
            let Some(Held {
                publish: p,
                confirm,
            }) = out.held.pop_front()
            else {
                break;
            };
            // Bytes made from a Vec turn back into it without a copy.
            match self
                .client
                .try_publish(p.topic, p.qos, p.retain, Vec::from(p.payload))
            {
                Err(ClientError::TryRequest(Request::Publish(publish))) => {
                    out.held.push_front(Held { publish, confirm });
                    break;
                }
                // Queued, or the event loop is gone with the client closing: either way the
                // message has left the Lua side's queue.
                _ => {
                    out.handed_over(qos, confirm);
                    moved += 1;
                }
            }
        }
        moved
    }

    fn unfinished(&self) -> usize {
        self.outgoing.borrow().unfinished()
    }

    fn in_flight(&self) -> usize {
        self.outgoing.borrow().in_flight()
    }

    fn confirm_completed(&mut self) {
        let completed = std::mem::take(&mut self.outgoing.borrow_mut().completed);
        for (reply, outcome) in completed {
            let _ = reply.send(outcome);
        }
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

    fn ack(&mut self, tokens: Vec<AckToken>) {
        self.acks.extend(tokens);
        self.pump_acks();
    }

    fn disconnect(&mut self) -> Result<(), Error> {
        self.client.try_disconnect().map_err(queue_error)
    }
}
