//! Sending: what is on its way from the connection actor to the broker, shared by the link
//! (which queues it) and the driver (which writes it, sees it go out and come back
//! acknowledged, and carries it over a reconnect): publishes with the bookkeeping of QoS 1 and
//! 2, acknowledgements of received messages, and the other requests.
//!
//! rumqttc numbers QoS 1 and 2 publishes in a cycle `1..=INFLIGHT` and frees a QoS 2
//! publish's number at PUBREC, before its PUBREL/PUBCOMP exchange is over, so a later publish
//! could reuse a number the broker still holds (and the broker would drop it as a
//! duplicate). This module predicts the number rumqttc will assign next and holds a publish
//! back while that number is in use. It also keeps QoS 2 exchanges within [`QOS2_WINDOW`]:
//! mosquitto, holding 20 QoS 2 messages that wait for PUBREL (`max_inflight_messages`),
//! answers further QoS 1 publishes with a plain PUBACK and drops them.

use std::collections::VecDeque;

use rumqttc::{PubAck, PubRec, Publish, QoS, Request};
use rustc_hash::FxHashMap;

use crate::actors::messages::{AckToken, Reply};
use crate::error::{Error, Result};
use crate::options::QoS as Level;

/// rumqttc's in-flight limit, which is also the length of its packet-id cycle: a publish
/// waits while the number it would get is in use, so no more than this many QoS 1 and 2
/// publishes are ever in flight.
pub const INFLIGHT: u16 = 100;

/// Most QoS 2 publishes whose exchange is incomplete at once.
pub const QOS2_WINDOW: usize = 16;

/// A QoS 1 or 2 publish past the link: whether it is QoS 2, and who waits for its completion.
#[derive(Debug)]
struct Entry {
    qos2: bool,
    confirm: Option<Reply<()>>,
}

impl Entry {
    fn complete(self, completed: &mut Vec<(Reply<()>, Result<()>)>) {
        completed.extend(self.confirm.map(|c| (c, Ok(()))));
    }
}

/// A publish the link holds, with who waits for its completion.
#[derive(Debug)]
pub struct Unsent {
    pub publish: Publish,
    pub confirm: Option<Reply<()>>,
}

/// What is known about the publishes between the Lua side and the broker's acknowledgement.
#[derive(Debug, Default)]
pub struct Sending {
    /// Publishes not handed to rumqttc yet, in order.
    pub unsent: VecDeque<Unsent>,
    /// Whether a connection is up; while it is down publishes stay unsent.
    connected: bool,
    /// Acknowledgements of received messages to write, in order (those rumqttc does not
    /// write by itself as it reads).
    pub acks: VecDeque<AckToken>,
    /// Subscription changes and DISCONNECT to write, in order.
    pub requests: VecDeque<Request>,
    /// The packet id rumqttc assigned last.
    last_pkid: u16,
    /// QoS 1 and 2 publishes rumqttc has but has not numbered yet, oldest first.
    unnumbered: VecDeque<Entry>,
    /// Numbered publishes waiting for PUBACK or PUBREC.
    in_flight: FxHashMap<u16, Entry>,
    /// QoS 2 publishes between PUBREC and PUBCOMP.
    awaiting_pubcomp: FxHashMap<u16, Entry>,
    /// QoS 2 publishes handed to rumqttc whose exchange is not complete.
    qos2_open: usize,
    /// Outcomes of completed publishes for those who wait for them, sent by the connection
    /// actor once its counters are up to date.
    pub completed: Vec<(Reply<()>, Result<()>)>,
}

fn numbered(p: &Publish) -> bool {
    p.qos != QoS::AtMostOnce
}

impl Sending {
    /// The packet id rumqttc will give the next QoS 1 or 2 publish handed to it.
    pub fn next_pkid(&self) -> u16 {
        ((self.last_pkid as usize + self.unnumbered.len()) % INFLIGHT as usize) as u16 + 1
    }

    fn in_use(&self, pkid: u16) -> bool {
        self.in_flight.contains_key(&pkid) || self.awaiting_pubcomp.contains_key(&pkid)
    }

    /// The oldest unsent publish, if it may be handed to rumqttc now.
    pub fn ready(&self) -> Option<&Publish> {
        let p = &self.unsent.front().filter(|_| self.connected)?.publish;
        if numbered(p) && self.in_use(self.next_pkid()) {
            return None;
        }
        if p.qos == QoS::ExactlyOnce && self.qos2_open >= QOS2_WINDOW {
            return None;
        }
        Some(p)
    }

    /// Takes the oldest unsent publish if it may be handed to rumqttc now, and records it as
    /// handed over.
    pub fn take_ready(&mut self) -> Option<Publish> {
        let qos = self.ready()?.qos;
        let Unsent { publish, confirm } = self.unsent.pop_front()?;
        self.handed_over(qos, confirm);
        Some(publish)
    }

    /// Records that rumqttc took a publish of this QoS; `confirm` hears of its completion (at
    /// once for QoS 0).
    pub fn handed_over(&mut self, qos: QoS, confirm: Option<Reply<()>>) {
        let entry = Entry {
            qos2: qos == QoS::ExactlyOnce,
            confirm,
        };
        if qos == QoS::AtMostOnce {
            return entry.complete(&mut self.completed);
        }
        if entry.qos2 {
            self.qos2_open += 1;
        }
        self.unnumbered.push_back(entry);
    }

    /// rumqttc gave `publish` back, the number it gave it being in use (a collision): it
    /// goes first again, with whoever waits for it. The number counts as given out once
    /// rumqttc's record of the collision comes ([`Sending::skipped`]).
    pub fn take_back(&mut self, mut publish: Publish) {
        publish.pkid = 0;
        // Handed over last: the end of the unnumbered ones.
        if let Some(entry) = self.unnumbered.pop_back() {
            if entry.qos2 {
                self.qos2_open = self.qos2_open.saturating_sub(1);
            }
            self.unsent.push_front(Unsent {
                publish,
                confirm: entry.confirm,
            });
        }
    }

    /// rumqttc gave out `pkid` to a publish it gave back (see [`Sending::take_back`]).
    pub fn skipped(&mut self, pkid: u16) {
        self.last_pkid = pkid;
    }

    /// A PUBLISH went out with this packet id (0 for QoS 0).
    pub fn sent(&mut self, pkid: u16) {
        // A resend after a reconnect keeps its number; a first send takes the next one.
        if pkid != 0 && !self.in_use(pkid) {
            if let Some(entry) = self.unnumbered.pop_front() {
                self.in_flight.insert(pkid, entry);
            }
            self.last_pkid = pkid;
        }
    }

    /// PUBACK: a QoS 1 publish is complete.
    pub fn puback(&mut self, pkid: u16) {
        if let Some(entry) = self.in_flight.remove(&pkid) {
            entry.complete(&mut self.completed);
        }
    }

    /// PUBREC: the broker has a QoS 2 publish; the number stays in use until PUBCOMP.
    pub fn pubrec(&mut self, pkid: u16) {
        if let Some(entry) = self.in_flight.remove(&pkid) {
            self.awaiting_pubcomp.insert(pkid, entry);
        }
    }

    /// PUBCOMP: a QoS 2 publish is complete.
    pub fn pubcomp(&mut self, pkid: u16) {
        if let Some(entry) = self.awaiting_pubcomp.remove(&pkid) {
            self.qos2_open = self.qos2_open.saturating_sub(1);
            entry.complete(&mut self.completed);
        }
    }

    /// Ends a publish taken back from rumqttc that will not be sent again: one numbered
    /// before the connection was lost (whose number it still has), or else the oldest one
    /// handed over and never numbered. Whoever waits for it hears `why`.
    pub fn give_up(&mut self, p: &Publish, why: Error) {
        if !numbered(p) {
            return;
        }
        let entry = match p.pkid {
            0 => self.unnumbered.pop_front(),
            pkid => self
                .in_flight
                .remove(&pkid)
                .or_else(|| self.awaiting_pubcomp.remove(&pkid)),
        };
        if let Some(entry) = entry {
            if entry.qos2 {
                self.qos2_open = self.qos2_open.saturating_sub(1);
            }
            self.completed.extend(entry.confirm.map(|c| (c, Err(why))));
        }
    }

    /// The next acknowledgement to write, as rumqttc's request.
    pub fn next_ack(&mut self) -> Option<Request> {
        let token = self.acks.pop_front()?;
        Some(match token.qos {
            Level::ExactlyOnce => Request::PubRec(PubRec::new(token.pkid)),
            _ => Request::PubAck(PubAck::new(token.pkid)),
        })
    }

    /// QoS 1 and 2 publishes handed to rumqttc and not complete yet.
    pub fn in_flight(&self) -> usize {
        self.unnumbered.len() + self.in_flight.len() + self.awaiting_pubcomp.len()
    }

    /// Publishes not complete yet: unsent, or waiting for the broker.
    pub fn unfinished(&self) -> usize {
        self.unsent.len() + self.in_flight()
    }

    /// Puts publishes rumqttc had numbered in the order it numbered them.
    pub fn sort_by_number(&self, publishes: &mut [Publish]) {
        // How long ago, in numbers handed out, each was assigned.
        publishes
            .sort_by_key(|p| std::cmp::Reverse((self.last_pkid + INFLIGHT - p.pkid) % INFLIGHT));
    }

    /// The connection is back. Without a session the broker forgot every exchange: QoS 2
    /// publishes it had acknowledged with PUBREC are complete, and `renumbered` (the ones it
    /// never acknowledged, in the order they will be sent again) take new numbers, ahead of
    /// anything queued after them.
    /// The connection is lost: publishes stay unsent until it is back, and what rumqttc had
    /// queued comes back to the driver to be sent again.
    pub fn disconnected(&mut self) {
        self.connected = false;
    }

    pub fn reconnected(&mut self, session_present: bool, renumbered: &[Publish]) {
        self.connected = true;
        if session_present {
            return;
        }
        self.qos2_open = self.qos2_open.saturating_sub(self.awaiting_pubcomp.len());
        for (_, entry) in self.awaiting_pubcomp.drain() {
            entry.complete(&mut self.completed);
        }
        let mut in_flight = std::mem::take(&mut self.in_flight);
        for p in renumbered.iter().rev() {
            let entry = in_flight.remove(&p.pkid).unwrap_or(Entry {
                qos2: p.qos == QoS::ExactlyOnce,
                confirm: None,
            });
            self.unnumbered.push_front(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish(qos: QoS) -> Publish {
        Publish::new("t", qos, b"x".to_vec())
    }

    /// Hands over every ready publish, as the driver does, and returns how many.
    fn pump(o: &mut Sending) -> usize {
        std::iter::from_fn(|| o.take_ready()).count()
    }

    fn hold(o: &mut Sending, qos: QoS) {
        o.unsent.push_back(Unsent {
            publish: publish(qos),
            confirm: None,
        });
    }

    fn connected() -> Sending {
        Sending {
            connected: true,
            ..Sending::default()
        }
    }

    #[test]
    fn publishes_wait_while_the_connection_is_down() {
        let mut o = Sending::default();
        hold(&mut o, QoS::AtMostOnce);
        assert_eq!(pump(&mut o), 0);
        o.reconnected(true, &[]);
        assert_eq!(pump(&mut o), 1);
    }

    #[test]
    fn qos2_exchanges_stay_within_the_window_and_keep_order() {
        let mut o = connected();
        for _ in 0..=QOS2_WINDOW {
            hold(&mut o, QoS::ExactlyOnce);
        }
        hold(&mut o, QoS::AtMostOnce);
        assert_eq!(pump(&mut o), QOS2_WINDOW);
        for pkid in 1..=QOS2_WINDOW as u16 {
            o.sent(pkid);
        }
        o.pubrec(1);
        assert_eq!(pump(&mut o), 0, "PUBREC does not end a QoS 2 exchange");
        o.pubcomp(1);
        assert_eq!(pump(&mut o), 2);
    }

    #[test]
    fn the_packet_id_cycle_bounds_what_is_in_flight() {
        let mut o = connected();
        for pkid in 1..=INFLIGHT {
            hold(&mut o, QoS::AtLeastOnce);
            assert_eq!(pump(&mut o), 1);
            o.sent(pkid);
        }
        assert_eq!(o.in_flight(), usize::from(INFLIGHT));
        hold(&mut o, QoS::AtLeastOnce);
        assert_eq!(pump(&mut o), 0, "its number, 1, is in use");
        o.puback(1);
        assert_eq!(pump(&mut o), 1);
    }

    #[test]
    fn a_publish_waits_while_its_packet_id_is_in_use() {
        let mut o = connected();
        for pkid in 1..INFLIGHT {
            hold(&mut o, QoS::AtLeastOnce);
            assert_eq!(pump(&mut o), 1);
            o.sent(pkid);
        }
        o.puback(50);
        hold(&mut o, QoS::AtLeastOnce);
        assert_eq!(pump(&mut o), 1);
        o.sent(INFLIGHT);
        assert_eq!(o.next_pkid(), 1);
        o.puback(2);
        hold(&mut o, QoS::AtLeastOnce);
        assert_eq!(pump(&mut o), 0, "the window has room, but 1 is in use");
        o.puback(1);
        assert_eq!(pump(&mut o), 1);
    }

    #[test]
    fn a_number_stays_in_use_from_pubrec_to_pubcomp() {
        let mut o = connected();
        hold(&mut o, QoS::ExactlyOnce);
        pump(&mut o);
        o.sent(1);
        o.pubrec(1);
        o.last_pkid = INFLIGHT; // the cycle comes round to 1 again
        hold(&mut o, QoS::AtLeastOnce);
        assert_eq!(pump(&mut o), 0);
        o.pubcomp(1);
        assert_eq!(pump(&mut o), 1);
    }

    #[test]
    fn a_publish_given_back_goes_first_again_and_its_number_counts_as_given_out() {
        let mut o = connected();
        hold(&mut o, QoS::AtLeastOnce);
        hold(&mut o, QoS::AtLeastOnce);
        let first = o.take_ready().unwrap();
        o.sent(1);
        let mut second = o.take_ready().unwrap();
        second.pkid = 2;
        o.take_back(second);
        o.skipped(2);
        assert_eq!(o.unfinished(), 2, "nothing lost");
        assert_eq!(o.next_pkid(), 3, "rumqttc has moved past 2");
        let again = o.take_ready().unwrap();
        assert_eq!(again.pkid, 0, "numbered afresh");
        assert_eq!(first.pkid, 0);
        o.sent(3);
        o.puback(1);
        o.puback(3);
        assert_eq!(o.unfinished(), 0);
    }

    #[test]
    fn a_resend_keeps_its_number_and_the_cycle() {
        let mut o = connected();
        hold(&mut o, QoS::AtLeastOnce);
        pump(&mut o);
        o.sent(1);
        o.disconnected();
        o.reconnected(true, &[]);
        o.sent(1);
        assert_eq!(o.next_pkid(), 2);
        assert_eq!(o.unfinished(), 1);
    }

    #[test]
    fn without_a_session_unacknowledged_publishes_are_numbered_again_first() {
        let mut o = connected();
        for _ in 0..3 {
            hold(&mut o, QoS::ExactlyOnce);
        }
        pump(&mut o);
        o.sent(1);
        o.sent(2);
        o.sent(3);
        o.pubrec(1); // 1 is with the broker, waiting for PUBCOMP
        o.disconnected();
        let mut again: Vec<Publish> = [3, 2]
            .map(|pkid| {
                let mut p = publish(QoS::ExactlyOnce);
                p.pkid = pkid;
                p
            })
            .to_vec();
        o.sort_by_number(&mut again);
        assert_eq!(again.iter().map(|p| p.pkid).collect::<Vec<_>>(), [2, 3]);
        o.reconnected(false, &again);
        // 1 is complete (the broker forgot it); 2 and 3 go out again as the next numbers.
        assert_eq!(o.unfinished(), 2);
        assert_eq!(o.next_pkid(), 6);
        o.sent(4);
        o.sent(5);
        assert_eq!(o.unfinished(), 2);
        o.pubrec(4);
        o.pubcomp(4);
        o.pubrec(5);
        o.pubcomp(5);
        assert_eq!(o.unfinished(), 0);
        assert_eq!(o.qos2_open, 0);
    }
}

#[cfg(test)]
mod confirm_tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn a_confirmed_publish_hears_of_its_completion_even_after_renumbering() {
        let mut o = Sending {
            connected: true,
            ..Sending::default()
        };
        let (tx, rx) = mpsc::sync_channel(1);
        o.unsent.push_back(Unsent {
            publish: Publish::new("t", QoS::ExactlyOnce, b"x".to_vec()),
            confirm: Some(tx),
        });
        let unsent = o.unsent.pop_front().unwrap();
        o.handed_over(QoS::ExactlyOnce, unsent.confirm);
        o.sent(1);
        o.disconnected();
        let mut again = Publish::new("t", QoS::ExactlyOnce, b"x".to_vec());
        again.pkid = 1;
        o.reconnected(false, &[again]);
        o.sent(2);
        o.pubrec(2);
        assert!(o.completed.is_empty(), "PUBREC is not completion");
        o.pubcomp(2);
        for (reply, outcome) in o.completed.drain(..) {
            reply.send(outcome).unwrap();
        }
        assert!(rx.try_recv().unwrap().is_ok());
    }
}
