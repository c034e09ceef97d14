//! Every message that crosses an actor boundary, and the received message handed to Lua.
//! They carry owned Rust data only; no Lua value ever leaves the Lua thread.

use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use bytes::Bytes;

use super::answer::Answer;
use super::mailbox::SubscriptionId;
use crate::error::Result;
use crate::options::{PublishOptions, QoS};
use crate::topic::{TopicFilter, TopicName};

/// Where an actor sends the answer to a request from the Lua thread, which waits on it with a
/// bound.
pub type Reply<T> = SyncSender<Result<T>>;

/// A received application message, as the Lua side reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    /// The filter of the first subscription that matched it, when none claimed it. A claimed
    /// message gets its subscription's filter as the Lua side takes it, if that subscription
    /// is still active ([`ClientHandle::take`](super::ClientHandle::take)).
    pub subscription: Option<Arc<str>>,
    /// The subscription that claimed it, if one did.
    pub claimed_by: Option<SubscriptionId>,
    /// Every subscription that claimed it, when more than one did and a read handle was
    /// among them (each got its own copy).
    pub claimants: Option<Arc<[SubscriptionId]>>,
}

/// What the router needs to acknowledge a QoS 1 or 2 message once a mailbox holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AckToken {
    pub pkid: u16,
    pub qos: QoS,
}

/// A PUBLISH the broker sent, on its way from the connection to the router.
#[derive(Debug)]
pub struct Arrival {
    pub message: Message,
    /// Present for QoS 1 and 2: the acknowledgement the broker waits for.
    pub ack: Option<AckToken>,
    /// Whether a QoS 0 message may be dropped when a lane it needs is full: only when it
    /// was read for a slow consumer (see `Link`'s reading rules). Otherwise it waits in the
    /// router for room, like QoS 1 and 2.
    pub may_drop: bool,
}

/// Ask the router to route the PUBLISH packets one read from the network brought, in order.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Route(pub Vec<Arrival>);

/// Ask the connection to acknowledge received QoS 1 and 2 messages, in order.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Acknowledge(pub Vec<AckToken>);

/// Tell the connection that publishes wait in the client's send queue.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct TakeQueued;

/// A publish from the Lua side, on its way through the client's send queue.
#[derive(Debug)]
pub struct Publish {
    pub topic: TopicName,
    pub payload: Vec<u8>,
    pub opts: PublishOptions,
    /// Told when the broker has acknowledged the message (QoS 1 and 2).
    pub confirm: Option<Reply<()>>,
}

/// Ask the connection to answer once every publish made so far is complete.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Flush {
    pub reply: Reply<()>,
}

/// The filters of a SUBSCRIBE, in order, each with the QoS the broker granted it (`None`:
/// refused).
pub type Granted = Vec<(TopicFilter, Option<QoS>)>;

/// Ask the connection to subscribe to filters in one SUBSCRIBE packet; the reply gives the
/// filters back with what the SUBACK granted. If the asker has given up by then, the
/// connection undoes the subscriptions: the subscribe does not take effect.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    pub filters: Vec<(TopicFilter, QoS, SubscriptionId)>,
    pub reply: Answer<Granted>,
}

/// Ask the connection to unsubscribe; the reply comes after UNSUBACK. If the asker has given
/// up by then, the connection subscribes again: the unsubscribe does not take effect.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Unsubscribe {
    pub filter: TopicFilter,
    /// The ids of the subscriptions to the filter, which the UNSUBACK ended.
    pub reply: Answer<Vec<SubscriptionId>>,
}

/// Ask the connection to finish sending, say DISCONNECT and close.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub reply: Option<Reply<()>>,
}

/// Tell the router subscriptions are active (after their SUBACK): each one's filter, as
/// messages carry it, and id.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Register(pub Vec<(Arc<str>, SubscriptionId)>);

/// Tell the router every subscription to a filter has ended (after its UNSUBACK): `ids`.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Unregister {
    pub filter: TopicFilter,
    pub ids: Vec<SubscriptionId>,
}

/// The client is closed for good: stop every actor of it.
#[derive(Debug, actix::Message)]
#[rtype(result = "()")]
pub struct Closed;
