//! Pacing: when a connected link may read, and when it must ping, whatever the protocol
//! version. A link reads only while the mailbox has room for what one read brings: a script
//! that reads its messages holds the broker back through TCP, as a synchronous client does,
//! and loses nothing, however fast it publishes, however slowly it reads. A script that reads
//! nothing for [`SLOW_CONSUMER_AFTER`] while the mailbox lacks that room has stopped reading:
//! the link reads on (pings flow), QoS 0 messages that find no room are dropped, and QoS 1
//! and 2 messages wait in the router with their acknowledgements, so that the broker's
//! in-flight window holds the rest back. Meanwhile a ping goes out every keep-alive, and a
//! ping left unanswered too long (not counting the time the link could not read) ends the
//! connection.
//!
//! The protocol's driver asks [`Pacing::choose`] before each turn, waits for what the
//! answer allows, and tells it what happened.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep};
use tracing::info;

use super::client_side::ClientSide;
use super::mailbox::Room;

/// How long the Lua side may read nothing while the link waits for room to read, before the
/// link takes the script for a slow consumer and reads anyway.
pub const SLOW_CONSUMER_AFTER: Duration = Duration::from_millis(100);

/// Messages that may wait in the router beyond the mailbox's capacity when a publisher is
/// blocked: the link reads for the acknowledgements that free its place, and what else it
/// reads waits for the script, which reads it once its publish returns.
pub const OVERDRAFT: usize = 1024;

/// What a turn may do about reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Read what comes.
    Read,
    /// Wait for the Lua side to make room; until then at the latest, unless it reads.
    WaitForRoom(Instant),
}

/// What a link remembers about reading and pinging between turns.
pub struct Pacing {
    /// The mailbox the link's messages go to.
    room: Room,
    /// The client's state, whose send queue overflows while the link waits for room.
    client: ClientSide,
    /// Messages one read brings at most.
    read_max: usize,
    /// When the next ping goes out: every keep-alive (made at the first CONNACK, inside the
    /// runtime whose timers it uses).
    ping: Option<Pin<Box<Sleep>>>,
    /// When the ping that went out last has gone unanswered too long.
    silent: Option<Pin<Box<Sleep>>>,
    /// Whether a ping awaits an answer (the broker has sent nothing since it went out).
    watching: bool,
    /// Since when the link has waited for room to read.
    waiting_since: Option<Instant>,
    /// Since when the Lua side has read nothing while the link waits, and how many messages
    /// it had read then.
    idle_since: (Instant, u64),
    /// Whether the Lua side is a slow consumer: it read nothing for [`SLOW_CONSUMER_AFTER`]
    /// while the mailbox lacked room for a read, and has not made that room since.
    slow: bool,
}

impl Pacing {
    /// The pacing of a link that has not connected yet, whose reads bring up to `read_max`
    /// messages.
    pub fn new(room: Room, client: ClientSide, read_max: usize) -> Self {
        Self {
            room,
            client,
            read_max,
            ping: None,
            silent: None,
            watching: false,
            waiting_since: None,
            idle_since: (Instant::now(), 0),
            slow: false,
        }
    }

    /// A CONNACK came: the first ping goes out one keep-alive from now.
    pub fn connected(&mut self, keep_alive: Duration) {
        reset(&mut self.ping, Instant::now() + keep_alive);
        self.watching = false;
        self.waiting_since = None;
        self.slow = false;
    }

    /// A ping went out: it must be answered within `patience` of reading.
    pub fn ping_sent(&mut self, patience: Duration) {
        if !self.watching {
            self.watching = true;
            reset(&mut self.silent, Instant::now() + patience);
        }
    }

    /// The next ping goes out one keep-alive from now.
    pub fn ping_due_again(&mut self, keep_alive: Duration) {
        reset(&mut self.ping, Instant::now() + keep_alive);
    }

    /// The broker sent something: the link is not silent.
    pub fn answered(&mut self) {
        self.watching = false;
    }

    /// Whether a ping awaits its answer.
    pub fn watching(&self) -> bool {
        self.watching
    }

    /// Whether the Lua side is a slow consumer (what it cannot take may be dropped, at QoS 0).
    pub fn slow(&self) -> bool {
        self.slow
    }

    /// The ping and silence timers, made far in the future if they were not yet.
    pub fn timers(&mut self) -> (&mut Pin<Box<Sleep>>, &mut Pin<Box<Sleep>>) {
        let far = || Box::pin(tokio::time::sleep(Duration::from_secs(86_400 * 365)));
        (
            self.ping.get_or_insert_with(far),
            self.silent.get_or_insert_with(far),
        )
    }

    /// The room a read needs in the mailbox: what it brings at most, or the whole mailbox
    /// when that is smaller (then what does not fit waits in the router).
    pub fn read_room(&self) -> usize {
        self.read_max.min(self.room.capacity())
    }

    /// The mailbox, to wait for room in.
    pub fn room(&self) -> &Room {
        &self.room
    }

    /// Decides whether the next turn reads. Called between turns, when every event read has
    /// been handed on, so that one choice holds for everything a turn reads and writes.
    pub fn choose(&mut self) -> Reading {
        let reading = if self.room.has_room(self.read_room()) {
            self.slow = false;
            Reading::Read
        } else if self.slow {
            Reading::Read
        } else {
            if self.waiting_since.is_none() {
                let now = Instant::now();
                self.waiting_since = Some(now);
                self.idle_since = (now, self.room.read());
            }
            if self.client.publisher_blocked()
                && self.room.has_room_overdrawn(self.read_room(), OVERDRAFT)
            {
                // The script waits in a publish for a place only the broker's
                // acknowledgements free, so it cannot read: one read into the overdraft, and
                // the wait for room goes on.
                return Reading::Read;
            }
            Reading::WaitForRoom(self.idle_since.0 + SLOW_CONSUMER_AFTER)
        };
        if reading == Reading::Read {
            if let Some(since) = self.waiting_since.take() {
                // A ping's answer could not be read while the link waited: the wait does
                // not count against the broker.
                if let Some(silent) = &mut self.silent {
                    let deadline = silent.deadline() + since.elapsed();
                    silent.as_mut().reset(deadline);
                }
            }
        }
        // A publisher that reads in turn must get on to its reading.
        self.client.set_overflow(reading != Reading::Read);
        reading
    }

    /// The wait for room ended without room: a script that has read nothing since the wait
    /// began has stopped reading.
    pub fn waited_in_vain(&mut self, client_id: &str) {
        let read = self.room.read();
        if read != self.idle_since.1 {
            // It reads, if slowly: it is not a slow consumer yet.
            self.idle_since = (Instant::now(), read);
        } else {
            info!(
                client_id,
                "the script has stopped reading: reading on for a slow consumer"
            );
            self.slow = true;
        }
    }

    /// Whether a turn that has read `read` events may read what waits in the socket: while
    /// the mailbox has room for another read beyond them (each event counted as a message,
    /// which errs on the safe side), or always for a slow consumer.
    pub fn may_read_on(&self, read: usize) -> bool {
        self.slow || self.room.has_room(self.read_room() + read)
    }
}

/// Sets a timer to `at`, making it if there is none yet.
fn reset(timer: &mut Option<Pin<Box<Sleep>>>, at: Instant) {
    match timer {
        Some(timer) => timer.as_mut().reset(at),
        None => *timer = Some(Box::pin(tokio::time::sleep_until(at))),
    }
}

/// Resolves when a wait for room ends without it; never while reading.
pub async fn wait_until(reading: Reading) {
    match reading {
        Reading::WaitForRoom(until) => tokio::time::sleep_until(until).await,
        Reading::Read => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::actors::{ClientShared, Mailbox};

    /// Pacing over a mailbox of 100 whose reads bring up to 10 messages.
    fn pacing() -> (Pacing, Arc<Mailbox>) {
        let mailbox = Arc::new(Mailbox::new(100));
        let shared = Arc::new(ClientShared::new("t".into(), "a".into(), 10));
        let pacing = Pacing::new(Room::new(mailbox.clone()), ClientSide::new(shared), 10);
        (pacing, mailbox)
    }

    #[test]
    fn reads_while_the_mailbox_has_room_for_a_read() {
        let (mut p, mailbox) = pacing();
        assert_eq!(p.choose(), Reading::Read);
        mailbox.arriving(90);
        assert_eq!(p.choose(), Reading::Read, "room for 10 more");
        assert!(!p.may_read_on(1), "not for one more event beyond a read");
    }

    #[test]
    fn a_script_that_reads_nothing_while_the_link_waits_is_a_slow_consumer_until_it_makes_room() {
        let (mut p, mailbox) = pacing();
        mailbox.arriving(95);
        let Reading::WaitForRoom(until) = p.choose() else {
            panic!("no room for a read, yet it reads");
        };
        assert!(until <= Instant::now() + SLOW_CONSUMER_AFTER);
        assert!(!p.slow());
        p.waited_in_vain("t");
        assert!(p.slow());
        assert_eq!(p.choose(), Reading::Read, "a slow consumer's link reads on");
        assert!(p.may_read_on(1000));
        mailbox.arrived(95);
        assert_eq!(p.choose(), Reading::Read);
        assert!(!p.slow(), "room made: the script reads again");
    }

    #[test]
    fn a_script_that_reads_slowly_is_waited_for() {
        let (mut p, mailbox) = pacing();
        mailbox.arriving(95);
        assert!(matches!(p.choose(), Reading::WaitForRoom(_)));
        mailbox.count_read();
        p.waited_in_vain("t");
        assert!(!p.slow(), "it read one: it is slow, not stopped");
        assert!(matches!(p.choose(), Reading::WaitForRoom(_)));
        p.waited_in_vain("t");
        assert!(p.slow(), "then nothing for a whole wait");
    }

    #[test]
    fn a_publisher_blocked_while_the_link_waits_makes_it_read_into_the_overdraft() {
        let mailbox = Arc::new(Mailbox::new(100));
        let shared = Arc::new(ClientShared::new("t".into(), "a".into(), 1));
        let mut p = Pacing::new(
            Room::new(mailbox.clone()),
            ClientSide::new(shared.clone()),
            10,
        );
        mailbox.arriving(95);
        assert!(matches!(p.choose(), Reading::WaitForRoom(_)));
        let publisher = {
            let shared = shared.clone();
            // The limit and the overflow's places, then one that waits.
            std::thread::spawn(move || {
                for _ in 0..=crate::actors::send_queue::OVERFLOW + 1 {
                    let publish = crate::actors::messages::Publish {
                        topic: crate::topic::TopicName::new("t").unwrap(),
                        payload: Vec::new(),
                        opts: crate::options::PublishOptions::default(),
                        confirm: None,
                    };
                    shared
                        .send_queue
                        .push(publish, Duration::from_secs(10))
                        .unwrap();
                }
            })
        };
        crate::actors::send_queue::spin_until("a blocked publisher", || {
            shared.send_queue.is_blocked()
        });
        assert_eq!(
            p.choose(),
            Reading::Read,
            "one read for the acknowledgements"
        );
        assert!(!p.may_read_on(1), "and no more");
        mailbox.arriving(OVERDRAFT);
        assert!(
            matches!(p.choose(), Reading::WaitForRoom(_)),
            "the overdraft is used up"
        );
        shared.send_queue.free(1);
        publisher.join().unwrap();
        p.waited_in_vain("t");
        assert!(p.slow(), "the wait for the script went on meanwhile");
    }

    #[test]
    fn a_ping_is_watched_once_until_the_broker_answers() {
        actix::System::new().block_on(async {
            let (mut p, _) = pacing();
            p.connected(Duration::from_secs(10));
            assert!(!p.watching());
            p.ping_sent(Duration::from_secs(4));
            let first = p.timers().1.deadline();
            p.ping_sent(Duration::from_secs(4));
            assert_eq!(
                p.timers().1.deadline(),
                first,
                "a second ping keeps the first deadline"
            );
            p.answered();
            assert!(!p.watching());
        });
    }
}
