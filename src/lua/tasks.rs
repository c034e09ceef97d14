//! What `mqtt.run`'s scheduler (init.lua) needs of the system: a clock, and one wait for
//! the first of many descriptors (the clients' news, `client:news_fd()`) or a deadline. The
//! wait lasts at most [`SLICE`] and returns to Lua, where an interrupt (Ctrl-C in lua5.4)
//! is noticed.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mlua::{Lua, Table, Value};

use super::args;
use super::errors::guard;
use crate::error::{Error, Result};

/// Longest one wait lasts before it returns to Lua.
const SLICE: Duration = Duration::from_millis(100);

/// Seconds since the first call: the scheduler's clock, monotonic.
fn now() -> f64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_secs_f64()
}

/// Waits until one of `fds` is readable or `timeout` has passed (at most [`SLICE`]);
/// returns the readable ones.
fn wait(fds: &[i32], timeout: Option<Duration>) -> Result<Vec<i32>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let bound = timeout.map_or(SLICE, |t| t.min(SLICE));
    // Rounded up, so that a wait for a deadline does not wake just before it.
    let millis = bound.as_nanos().div_ceil(1_000_000) as libc::c_int;
    // SAFETY: `polled` is a live array of `len` pollfd structures for the whole call.
    let n = unsafe { libc::poll(polled.as_mut_ptr(), polled.len() as libc::nfds_t, millis) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::Interrupted {
            return Ok(Vec::new());
        }
        return Err(Error::Descriptor(e.to_string()));
    }
    Ok(polled
        .iter()
        .filter(|p| p.revents != 0)
        .map(|p| p.fd)
        .collect())
}

/// Registers `now`, `deadline` and `wait` in the module's exports, under `tasks`.
///
/// # Errors
/// Only when Lua cannot allocate.
pub fn register(lua: &Lua, exports: &Table) -> mlua::Result<()> {
    let tasks = lua.create_table()?;
    tasks.set("now", lua.create_function(|_, ()| Ok(now()))?)?;
    // The deadline of a wait of `timeout` seconds from now (nil: none), checked as the
    // blocking calls check it and named for `call`.
    tasks.set(
        "deadline",
        lua.create_function(|_, (call, timeout): (String, Value)| {
            guard(&call, || {
                Ok(args::wait_arg(&timeout, 1)?.map(|t| now() + t.as_secs_f64()))
            })
        })?,
    )?;
    tasks.set(
        "wait",
        lua.create_function(|lua, (fds, timeout): (Table, Value)| {
            guard("mqtt.run", || {
                let list = fds
                    .sequence_values::<i32>()
                    .collect::<mlua::Result<Vec<_>>>()
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let timeout = args::wait_arg(&timeout, 2)?;
                let ready = wait(&list, timeout)?;
                let set = lua
                    .create_table_with_capacity(0, ready.len())
                    .map_err(|e| Error::Internal(e.to_string()))?;
                for fd in ready {
                    set.raw_set(fd, true)
                        .map_err(|e| Error::Internal(e.to_string()))?;
                }
                Ok(set)
            })
        })?,
    )?;
    exports.set("tasks", tasks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn a_wait_returns_the_readable_descriptors_only() {
        let (a, mut a_signal) = UnixStream::pair().unwrap();
        let (b, _b_signal) = UnixStream::pair().unwrap();
        a_signal.write_all(&[1]).unwrap();
        let ready = wait(&[a.as_raw_fd(), b.as_raw_fd()], Some(Duration::ZERO)).unwrap();
        assert_eq!(ready, [a.as_raw_fd()]);
    }

    #[test]
    fn a_wait_with_nothing_readable_lasts_its_timeout_at_most_a_slice() {
        let (a, _signal) = UnixStream::pair().unwrap();
        let started = Instant::now();
        assert!(wait(&[a.as_raw_fd()], None).unwrap().is_empty());
        let waited = started.elapsed();
        assert!(waited >= SLICE, "{waited:?}");
        assert!(wait(&[], Some(Duration::from_millis(5)))
            .unwrap()
            .is_empty());
    }
}
