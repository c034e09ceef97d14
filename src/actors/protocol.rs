//! The seam between the connection actor and one version of the MQTT protocol: the requests
//! the actor makes ([`Link`]) and the events it reacts to ([`NetEvent`]). MQTT 3.1.1 lives in
//! `v4/`; MQTT 5 slots in beside it without touching the router or the façade.

use std::pin::Pin;

use futures_util::Stream;

use super::messages::{AckToken, Arrival, Reply};
use crate::error::Error;
use crate::options::{PublishOptions, QoS};
use crate::topic::{TopicFilter, TopicName};

/// What happened on the link, in protocol-neutral terms.
#[derive(Debug)]
pub enum NetEvent {
    /// A CONNACK accepted the connection. When the broker kept no session, the link has
    /// queued the re-subscriptions ahead of every other request: one SUBSCRIBE per entry of
    /// `resubscribed`, in order (none after the first CONNACK or with a session).
    Connected {
        resubscribed: Vec<Vec<(TopicFilter, QoS)>>,
    },
    /// The connection could not be made or was lost. After the first connection the link
    /// tries again by itself after a backoff delay; before it, the stream ends here.
    Failed(Error),
    /// A publish the broker would not take (it closed the connection each time the publish
    /// was sent) was given up.
    GaveUp(Error),
    /// The broker sent a PUBLISH.
    Publish(Arrival),
    /// A QoS 0 PUBLISH of ours went out: it is complete.
    PublishSent,
    /// A QoS 1 or 2 PUBLISH of ours completed (PUBACK or PUBCOMP).
    PublishAcked { pkid: u16 },
    /// A SUBSCRIBE went out.
    SubscribeSent { pkid: u16 },
    /// The broker answered a SUBSCRIBE; `None` marks a refused filter (0x80).
    SubAck {
        pkid: u16,
        granted: Vec<Option<QoS>>,
    },
    /// An UNSUBSCRIBE went out.
    UnsubscribeSent { pkid: u16 },
    /// The broker answered an UNSUBSCRIBE.
    UnsubAck { pkid: u16 },
    /// DISCONNECT was written and flushed.
    DisconnectSent,
}

/// The events of one link, in order, in batches: what one read from the network brought.
pub type NetEvents = Pin<Box<dyn Stream<Item = Vec<NetEvent>>>>;

/// Requests to the protocol. None blocks: each either queues the request or says why not.
/// The link sends a publish as soon as the connection, its packet ids and its windows allow,
/// and then frees its place in the client's send queue.
pub trait Link {
    /// Holds a PUBLISH until it can go. `confirm` hears when the broker has acknowledged it
    /// (PUBACK, PUBCOMP), or for QoS 0 when it went out.
    fn publish(
        &mut self,
        topic: TopicName,
        payload: Vec<u8>,
        opts: PublishOptions,
        confirm: Option<Reply<()>>,
    );
    /// Publishes not complete yet: held, queued, or waiting for the broker's acknowledgement.
    fn unfinished(&self) -> usize;
    /// QoS 1 and 2 publishes handed to the protocol and not acknowledged yet.
    fn in_flight(&self) -> usize;
    /// Answers those waiting for publishes that have completed since the last call.
    fn confirm_completed(&mut self);
    /// Queues one SUBSCRIBE packet for all of `filters`.
    fn subscribe(&mut self, filters: Vec<(TopicFilter, QoS)>) -> Result<(), Error>;
    /// Queues an UNSUBSCRIBE.
    fn unsubscribe(&mut self, filter: TopicFilter) -> Result<(), Error>;
    /// Queues the acknowledgements of received QoS 1 and 2 messages, in order. It cannot
    /// fail: a lost one stalls the broker's in-flight window.
    fn ack(&mut self, tokens: Vec<AckToken>);
    /// Queues a DISCONNECT behind everything queued before it.
    fn disconnect(&mut self) -> Result<(), Error>;
}
