//! Wire: how a connected MQTT 3.1.1 link reads and writes. The driver takes turns of its
//! own over rumqttc's parts (through the [`Engine`](super::engine::Engine)) instead of
//! calling `EventLoop::poll`, which reads whenever data comes and writes one request per poll
//! (a system call each). A turn writes everything that is ready in one flush, then reads
//! when [`Pacing`](crate::actors::pacing::Pacing) allows it (the protocol-neutral rules of
//! when to read and when to ping).

use std::rc::Rc;

use rumqttc::Request;
use tokio::sync::Notify;

use super::driver::Driver;
use crate::actors::pacing::{wait_until, Reading};

/// Most publishes written in one turn, so that a long burst does not put off reading.
const WRITE_MAX: usize = 64;

/// Most events one turn reads, in reads that find data waiting: each turn costs the actors a
/// batch, so a turn reads on while the socket has more and the mailbox has room.
const EVENTS_MAX: usize = 64;

/// What ended a turn's wait.
enum Woke {
    Read(Result<(), String>),
    PingDue,
    Silent,
    Room,
    /// A publisher is blocked until the link reads the broker's acknowledgements.
    PublisherBlocked,
    SlowConsumer,
    /// More to write, or something new to send.
    Write,
}

/// What the link remembers about writing between turns.
pub struct Wire {
    /// Wakes the driver when the link queues something to send.
    pub wake: Rc<Notify>,
    /// Whether the network's write buffer may hold what a read wrote (rumqttc's
    /// acknowledgements): the next turn flushes it with what it writes itself.
    pub unflushed: bool,
}

impl Wire {
    /// The wire of a link that has not connected yet.
    pub fn new(wake: Rc<Notify>) -> Self {
        Self {
            wake,
            unflushed: false,
        }
    }
}

impl Driver {
    /// One turn of a connected link: writes what is ready, then waits for the first of:
    /// packets to read (read at once), the keep-alive ping, a ping left unanswered too long,
    /// room in the mailbox, a publisher blocked or the end of the wait for room, and
    /// something to write.
    ///
    /// # Errors
    /// Why the connection is lost.
    pub(super) async fn turn(&mut self) -> Result<(), String> {
        let reading = self.choose_reading();
        let more = self.write_ready().await?;
        let busy = more || self.engine.events() > 0;
        let wake = self.wire.wake.clone();
        let keep_alive = !self.keep_alive.is_zero();
        let room = self.pacing.read_room();
        let mailbox = self.pacing.room().clone();
        let client = &self.client;
        let engine = &mut self.engine;
        let watching = self.pacing.watching();
        let (ping, silent) = self.pacing.timers();
        let woke = tokio::select! {
            biased;
            read = engine.read(), if reading == Reading::Read => Woke::Read(read),
            () = silent, if watching && reading == Reading::Read => Woke::Silent,
            () = ping, if keep_alive => Woke::PingDue,
            () = mailbox.room_for(room), if reading != Reading::Read => Woke::Room,
            () = client.publisher_blocking(), if reading != Reading::Read => Woke::PublisherBlocked,
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
                self.pacing.ping_due_again(self.keep_alive);
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
                self.pacing.waited_in_vain(&self.client_id);
                Ok(())
            }
            Woke::Room | Woke::PublisherBlocked | Woke::Write => Ok(()),
        }
    }

    /// Reads what is already waiting in the socket, without waiting for more, while the turn
    /// has read fewer than [`EVENTS_MAX`] events and pacing allows another read.
    fn read_on(&mut self) -> Result<(), String> {
        loop {
            let read = self.engine.events();
            if read >= EVENTS_MAX || !self.pacing.may_read_on(read) {
                return Ok(());
            }
            if !self.engine.read_waiting()? {
                return Ok(());
            }
        }
    }

    /// Decides whether this turn reads ([`Pacing::choose`](crate::actors::pacing::Pacing::choose)),
    /// and who acknowledges what it reads: rumqttc, as it reads, unless the Lua side is a
    /// slow consumer or acknowledgements asked of the router are still to be written (they
    /// come first).
    fn choose_reading(&mut self) -> Reading {
        let reading = self.pacing.choose();
        self.engine
            .set_manual_acks(self.pacing.slow() || self.unwritten_acks > 0);
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
            if let Some(back) = self.engine.write_publish(publish).await? {
                // Its number is in use: it goes again once an acknowledgement frees one.
                self.sending.borrow_mut().take_back(back);
                break;
            }
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
