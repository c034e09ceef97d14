//! Wire: how a connected link reads and writes. The driver takes turns of its own over
//! rumqttc's parts (through the [`Engine`](super::engine::Engine)) instead of calling
//! `EventLoop::poll`, which reads whenever data comes and writes one request per poll (a
//! system call each). A turn writes everything that is ready in one flush, then reads, but
//! only while the mailbox has room for what one read brings: a script that reads its messages
//! holds the broker back through TCP, as a synchronous client does, and loses nothing, however
//! fast it publishes, however slowly it reads. A script that reads nothing for
//! [`SLOW_CONSUMER_AFTER`] while the mailbox lacks that room has stopped reading: the link
//! reads on (pings flow), QoS 0 messages that find no room are dropped, and QoS 1 and 2
//! messages wait in the router with their acknowledgements, so that the broker's in-flight
//! window holds the rest back.

use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use rumqttc::Request;
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};
use tracing::info;

use super::driver::Driver;
use super::engine::READ_MAX;

/// Most publishes written in one turn, so that a long burst does not put off reading.
const WRITE_MAX: usize = 64;

/// Most events one turn reads, in reads that find data waiting: each turn costs the actors a
/// batch, so a turn reads on while the socket has more and the mailbox has room.
const EVENTS_MAX: usize = 64;

/// How long the Lua side may read nothing while the link waits for room to read, before the
/// link takes the script for a slow consumer and reads anyway.
pub const SLOW_CONSUMER_AFTER: Duration = Duration::from_millis(100);

/// What a turn may do about reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Read what comes.
    Read,
    /// Wait for the Lua side to make room; until then at the latest, unless it reads.
    WaitForRoom(Instant),
}

/// What ended a turn's wait.
enum Woke {
    Read(Result<(), String>),
    PingDue,
    Silent,
    Room,
    SlowConsumer,
    /// More to write, or something new to send.
    Write,
}

/// What the link remembers about reading and pinging between turns.
pub struct Wire {
    /// Wakes the driver when the link queues something to send.
    pub wake: Rc<Notify>,
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
    pub slow: bool,
    /// Whether the network's write buffer may hold what a read wrote (rumqttc's
    /// acknowledgements): the next turn flushes it with what it writes itself.
    unflushed: bool,
}

impl Wire {
    /// The wire of a link that has not connected yet.
    pub fn new(wake: Rc<Notify>) -> Self {
        Self {
            wake,
            ping: None,
            silent: None,
            watching: false,
            waiting_since: None,
            idle_since: (Instant::now(), 0),
            slow: false,
            unflushed: false,
        }
    }

    /// A CONNACK came: the first ping goes out one keep-alive from now.
    pub fn connected(&mut self, keep_alive: Duration) {
        reset(&mut self.ping, Instant::now() + keep_alive);
        self.watching = false;
        self.waiting_since = None;
        self.slow = false;
        self.unflushed = false;
    }

    /// A ping went out: it must be answered within `patience` of reading.
    pub fn ping_sent(&mut self, patience: Duration) {
        if !self.watching {
            self.watching = true;
            reset(&mut self.silent, Instant::now() + patience);
        }
    }

    /// The broker sent something: the link is not silent.
    pub fn answered(&mut self) {
        self.watching = false;
    }

    /// The ping and silence timers, made far in the future if they were not yet.
    fn timers(&mut self) -> (&mut Pin<Box<Sleep>>, &mut Pin<Box<Sleep>>) {
        let far = || Box::pin(tokio::time::sleep(Duration::from_secs(86_400 * 365)));
        (
            self.ping.get_or_insert_with(far),
            self.silent.get_or_insert_with(far),
        )
    }
}

/// Sets a timer to `at`, making it if there is none yet.
fn reset(timer: &mut Option<Pin<Box<Sleep>>>, at: Instant) {
    match timer {
        Some(timer) => timer.as_mut().reset(at),
        None => *timer = Some(Box::pin(tokio::time::sleep_until(at))),
    }
}

impl Driver {
    /// One turn of a connected link: writes what is ready, then waits for the first of:
    /// packets to read (read at once), the keep-alive ping, a ping left unanswered too long,
    /// room in the mailbox or the end of the wait for it, and something to write.
    ///
    /// # Errors
    /// Why the connection is lost.
    pub(super) async fn turn(&mut self) -> Result<(), String> {
        let reading = self.choose_reading();
        let more = self.write_ready().await?;
        let busy = more || self.engine.events() > 0;
        let wake = self.wire.wake.clone();
        let keep_alive = !self.keep_alive.is_zero();
        let room = self.read_room();
        let mailbox = self.room.clone();
        let engine = &mut self.engine;
        let watching = self.wire.watching;
        let (ping, silent) = self.wire.timers();
        let woke = tokio::select! {
            biased;
            read = engine.read(), if reading == Reading::Read => Woke::Read(read),
            () = silent, if watching && reading == Reading::Read => Woke::Silent,
            () = ping, if keep_alive => Woke::PingDue,
            () = mailbox.room_for(room), if reading != Reading::Read => Woke::Room,
            () = wait_until(reading) => Woke::SlowConsumer,
            () = std::future::ready(()), if busy => Woke::Write,
            () = wake.notified(), if !busy => Woke::Write,
        };
        match woke {
            Woke::Read(read) => {
                read?;
                self.read_on()?;
                // rumqttc wrote the acknowledgements of what it read, if they were its to
                // write: they go out at the start of the next turn, which follows at once,
                // together with what the read made ready (publishes a PUBACK or PUBCOMP let
                // through).
                self.wire.unflushed = true;
                Ok(())
            }
            Woke::PingDue => {
                reset(&mut self.wire.ping, Instant::now() + self.keep_alive);
                if reading == Reading::Read {
                    self.engine
                        .write(Request::PingReq(rumqttc::PingReq))
                        .await?;
                } else {
                    // The last ping's answer may wait unread behind the messages the script
                    // has not made room for: the broker still gets a ping every keep-alive.
                    self.engine.ping_regardless().await?;
                }
                self.flush().await
            }
            Woke::Silent => Err(format!(
                "no answer from the broker within {:.1} s of a ping",
                self.ping_patience().as_secs_f64()
            )),
            Woke::SlowConsumer => {
                let read = self.room.read();
                if read != self.wire.idle_since.1 {
                    // It reads, if slowly: it is not a slow consumer yet.
                    self.wire.idle_since = (Instant::now(), read);
                } else {
                    info!(client_id = %self.client_id, "the script has stopped reading: reading on for a slow consumer");
                    self.wire.slow = true;
                }
                Ok(())
            }
            Woke::Room | Woke::Write => Ok(()),
        }
    }

    /// Reads what is already waiting in the socket, without waiting for more, while the turn
    /// has read fewer than [`EVENTS_MAX`] events and the mailbox has room for another read
    /// beyond them (each event counted as a message, which errs on the safe side).
    fn read_on(&mut self) -> Result<(), String> {
        let room = self.read_room();
        loop {
            let read = self.engine.events();
            if read >= EVENTS_MAX || (!self.wire.slow && !self.room.has_room(room + read)) {
                return Ok(());
            }
            if !self.engine.read_waiting()? {
                return Ok(());
            }
        }
    }

    /// The room a read needs in the mailbox: what it brings at most, or the whole mailbox
    /// when that is smaller (then what does not fit waits in the router).
    fn read_room(&self) -> usize {
        READ_MAX.min(self.room.capacity())
    }

    /// Decides whether this turn reads, and who acknowledges what it reads: rumqttc, as it
    /// reads, unless the Lua side is a slow consumer or acknowledgements asked of the router
    /// are still to be written (they come first). Called between turns, when every event has
    /// been translated, so that one choice holds for everything a turn reads and writes.
    fn choose_reading(&mut self) -> Reading {
        let reading = if self.room.has_room(self.read_room()) {
            self.wire.slow = false;
            Reading::Read
        } else if self.wire.slow {
            Reading::Read
        } else {
            if self.wire.waiting_since.is_none() {
                let now = Instant::now();
                self.wire.waiting_since = Some(now);
                self.wire.idle_since = (now, self.room.read());
            }
            Reading::WaitForRoom(self.wire.idle_since.0 + SLOW_CONSUMER_AFTER)
        };
        if reading == Reading::Read {
            if let Some(since) = self.wire.waiting_since.take() {
                // A ping's answer could not be read while the link waited: the wait does
                // not count against the broker.
                if let Some(silent) = &mut self.wire.silent {
                    let deadline = silent.deadline() + since.elapsed();
                    silent.as_mut().reset(deadline);
                }
            }
        }
        // A publisher that reads in turn must get on to its reading.
        self.client.set_overflow(reading != Reading::Read);
        self.engine
            .set_manual_acks(self.wire.slow || self.unwritten_acks > 0);
        reading
    }

    /// Writes what waits, in this order: what a reconnect carried over, acknowledgements
    /// asked of the router, subscription changes, publishes that may go (at most
    /// [`WRITE_MAX`]), then DISCONNECT once no publish before it is ready; then flushes
    /// once, with what the last read wrote. Returns whether more publishes are ready.
    async fn write_ready(&mut self) -> Result<bool, String> {
        let mut wrote = false;
        while let Some(request) = self.engine.next_queued() {
            self.engine.write(request).await?;
            wrote = true;
        }
        loop {
            let next = self.sending.borrow_mut().next_ack();
            let Some(ack) = next else { break };
            self.engine.write(ack).await?;
            wrote = true;
        }
        loop {
            let next = {
                let mut out = self.sending.borrow_mut();
                match out.requests.front() {
                    Some(Request::Disconnect(_)) | None => None,
                    Some(_) => out.requests.pop_front(),
                }
            };
            let Some(request) = next else { break };
            self.engine.write(request).await?;
            wrote = true;
        }
        let mut moved = 0;
        while moved < WRITE_MAX {
            let next = self.sending.borrow_mut().take_ready();
            let Some(publish) = next else { break };
            self.engine.write(Request::Publish(publish)).await?;
            moved += 1;
        }
        if moved > 0 {
            let out = self.sending.borrow();
            self.client
                .taken_on(moved, out.unfinished(), out.in_flight());
            wrote = true;
        }
        let more = self.sending.borrow().ready().is_some();
        if !more {
            let next = {
                let mut out = self.sending.borrow_mut();
                match out.requests.front() {
                    Some(Request::Disconnect(_)) => out.requests.pop_front(),
                    _ => None,
                }
            };
            if let Some(disconnect) = next {
                self.engine.write(disconnect).await?;
                wrote = true;
            }
        }
        if wrote || self.wire.unflushed {
            self.flush().await?;
        }
        Ok(more)
    }

    /// Sends what the network's write buffer holds, what a read wrote included.
    async fn flush(&mut self) -> Result<(), String> {
        self.wire.unflushed = false;
        self.engine.flush().await
    }
}

/// Resolves when a wait for room ends without it; never while reading.
async fn wait_until(reading: Reading) {
    match reading {
        Reading::WaitForRoom(until) => tokio::time::sleep_until(until).await,
        Reading::Read => std::future::pending().await,
    }
}
