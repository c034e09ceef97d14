//! Translating: what rumqttc records of each packet read or written becomes the driver's
//! bookkeeping and a [`NetEvent`] for the connection actor; each incoming QoS 2 message is
//! delivered once.

use rumqttc::{ConnAck, Event, Incoming, Outgoing as Out, Publish, SubscribeReasonCode};
use tracing::{debug, info};

use super::driver::Driver;
use super::link::from_rumqttc;
use crate::actors::messages::{AckToken, Arrival, Message};
use crate::actors::protocol::NetEvent;
use crate::options::QoS;

impl Driver {
    /// Keeps the books of one event rumqttc recorded, and says what of it concerns the
    /// connection actor.
    pub(super) fn translate(&mut self, event: Event) -> Option<NetEvent> {
        match &event {
            Event::Incoming(Incoming::ConnAck(_)) => {
                self.pacing.connected(self.keep_alive);
                self.wire.unflushed = false;
            }
            Event::Incoming(incoming) => {
                self.pacing.answered();
                self.reconnecting.heard();
                if matches!(
                    incoming,
                    Incoming::PubAck(_) | Incoming::PubRec(_) | Incoming::PubComp(_)
                ) {
                    self.reconnecting.acknowledged();
                }
            }
            Event::Outgoing(_) => {}
        }
        match event {
            Event::Incoming(Incoming::ConnAck(ConnAck {
                session_present, ..
            })) => {
                info!(session_present, "connected");
                self.reconnecting.connected();
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
            Event::Outgoing(Out::AwaitAck(pkid)) => {
                debug!(pkid, "packet id in use: the publish waits");
                self.sending.borrow_mut().skipped(pkid);
                None
            }
            Event::Outgoing(Out::Publish(pkid)) => {
                self.sending.borrow_mut().sent(pkid);
                // A QoS 0 publish is complete once written.
                (pkid == 0).then_some(NetEvent::PublishSent)
            }
            Event::Outgoing(Out::PubRec(pkid)) => {
                self.pubrec_sent.insert(pkid);
                self.ack_written();
                None
            }
            Event::Outgoing(Out::PubAck(_)) => {
                self.ack_written();
                None
            }
            Event::Outgoing(Out::PingReq) => {
                let patience = self.ping_patience();
                self.pacing.ping_sent(patience);
                None
            }
            Event::Outgoing(Out::Subscribe(pkid)) => Some(NetEvent::SubscribeSent { pkid }),
            Event::Outgoing(Out::Unsubscribe(pkid)) => Some(NetEvent::UnsubscribeSent { pkid }),
            Event::Outgoing(Out::Disconnect) => {
                self.reconnecting.end();
                Some(NetEvent::DisconnectSent)
            }
            _ => None,
        }
    }

    /// A PUBACK or PUBREC was written: one the router asked for (acknowledgements are
    /// left to the router for the whole turn that wrote it), or one rumqttc wrote as it read.
    fn ack_written(&mut self) {
        if self.engine.manual_acks() {
            self.unwritten_acks = self.unwritten_acks.saturating_sub(1);
        }
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
        self.room.arriving(1);
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
            may_drop: self.pacing.slow(),
        }))
    }
}
