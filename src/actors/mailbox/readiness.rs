//! Readiness: a file descriptor that is readable while the mailbox has something for the
//! Lua side, and not once the Lua side has taken it all, so that a script built on another
//! event loop (luasocket's `socket.select`, cqueues, luv) can wait for its messages among
//! its other sockets without polling. It is one end of a socket pair: a byte written to the
//! other end makes it readable, and reading that byte back makes it quiet. The mailbox sets
//! it under its lock, so it always agrees with what the lanes hold. The same kind of
//! descriptor tells `mqtt.run`'s scheduler of news ([`Watched`]).

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

/// The descriptors the Lua side watches on one mailbox, each made when first asked for.
#[derive(Debug, Default)]
pub struct Watched {
    /// `client:getfd()`: readable while the Lua side has messages to take.
    readiness: Option<Readiness>,
    /// `mqtt.run`'s news: set at every change a waiting read may be waiting for (a delivery,
    /// a claim, the close), cleared by the scheduler before the waiting tasks look again.
    news: Option<Readiness>,
}

impl Watched {
    /// Messages were delivered, or the mailbox closed: both descriptors say so.
    pub fn delivered(&mut self) {
        if let Some(readiness) = self.readiness.as_mut() {
            readiness.set(true);
        }
        self.changed();
    }

    /// The lanes changed in a way a waiting read may be waiting for.
    pub fn changed(&mut self) {
        if let Some(news) = self.news.as_mut() {
            news.set(true);
        }
    }

    /// Whether the Lua side has something to take, after it took messages.
    pub fn settle(&mut self, ready: bool) {
        if let Some(readiness) = self.readiness.as_mut() {
            readiness.set(ready);
        }
    }

    /// The scheduler lets the tasks waiting on this mailbox look again.
    pub fn clear_news(&mut self) {
        if let Some(news) = self.news.as_mut() {
            news.set(false);
        }
    }

    /// The readiness descriptor, made quiet at the first call (the caller settles it).
    ///
    /// # Errors
    /// The system refused a socket pair.
    pub fn readiness_fd(&mut self) -> std::io::Result<RawFd> {
        Ok(made(&mut self.readiness, false)?.fd())
    }

    /// The news descriptor, made readable at the first call: the caller looks at once.
    ///
    /// # Errors
    /// The system refused a socket pair.
    pub fn news_fd(&mut self) -> std::io::Result<RawFd> {
        Ok(made(&mut self.news, true)?.fd())
    }

    /// Whether the readiness descriptor is set.
    #[cfg(test)]
    pub fn is_ready(&self) -> bool {
        self.readiness.as_ref().is_some_and(|r| r.ready)
    }
}

/// The descriptor in `slot`, made (set to `ready`) if there is none yet.
fn made(slot: &mut Option<Readiness>, ready: bool) -> std::io::Result<&mut Readiness> {
    if slot.is_none() {
        let mut made = Readiness::new()?;
        made.set(ready);
        *slot = Some(made);
    }
    Ok(slot.as_mut().expect("made above"))
}

#[derive(Debug)]
struct Readiness {
    /// The end Lua's event loop watches.
    watched: UnixStream,
    /// The end written to make it readable.
    signal: UnixStream,
    /// Whether a byte waits in `watched`.
    ready: bool,
}

impl Readiness {
    /// A quiet readiness.
    ///
    /// # Errors
    /// The system refused a socket pair (out of descriptors).
    fn new() -> std::io::Result<Self> {
        let (watched, signal) = UnixStream::pair()?;
        watched.set_nonblocking(true)?;
        signal.set_nonblocking(true)?;
        Ok(Self {
            watched,
            signal,
            ready: false,
        })
    }

    /// The descriptor to watch for reading.
    fn fd(&self) -> RawFd {
        self.watched.as_raw_fd()
    }

    /// Makes the descriptor readable, or quiet; a system call only when that changes.
    fn set(&mut self, ready: bool) {
        if ready == self.ready {
            return;
        }
        if ready {
            // One byte in an empty socket buffer: it cannot block or fail short of the
            // system being out of memory, when the watcher misses a wake-up, not a message.
            let _ = (&self.signal).write(&[1]);
        } else {
            let mut drained = [0u8; 8];
            while matches!((&self.watched).read(&mut drained), Ok(n) if n > 0) {}
        }
        self.ready = ready;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes waiting in the watched end, taken out (which leaves `ready` stale).
    fn waiting(r: &Readiness) -> usize {
        let mut buf = [0u8; 8];
        match (&r.watched).read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn quiet_until_set_and_once_cleared() {
        let mut r = Readiness::new().unwrap();
        assert_eq!(waiting(&r), 0);
        r.set(true);
        r.set(false);
        assert_eq!(waiting(&r), 0, "the byte written was read back");
    }

    #[test]
    fn setting_twice_writes_one_byte() {
        let mut r = Readiness::new().unwrap();
        r.set(true);
        r.set(true);
        assert_eq!(waiting(&r), 1);
    }
}
