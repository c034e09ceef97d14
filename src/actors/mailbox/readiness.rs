//! Readiness: a file descriptor that is readable while the mailbox has something for the
//! Lua side, and not once the Lua side has taken it all, so that a script built on another
//! event loop (luasocket's `socket.select`, cqueues, luv) can wait for its messages among
//! its other sockets without polling. It is one end of a socket pair: a byte written to the
//! other end makes it readable, and reading that byte back makes it quiet. The mailbox sets
//! it under its lock, so it always agrees with what the lanes hold.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

#[derive(Debug)]
pub struct Readiness {
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
    pub fn new() -> std::io::Result<Self> {
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
    pub fn fd(&self) -> RawFd {
        self.watched.as_raw_fd()
    }

    /// Makes the descriptor readable, or quiet; a system call only when that changes.
    pub fn set(&mut self, ready: bool) {
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

    /// Whether it is readable, as last set.
    #[cfg(test)]
    pub fn is_set(&self) -> bool {
        self.ready
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
