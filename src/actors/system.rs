//! The background actix System: one thread for every client of the process. It starts with
//! the first client and stops, its thread joined, when the last one closes, so that no
//! thread of the library runs once the host has closed its Lua state and its closes are
//! done. A client the script dropped without `disconnect()` closes in the background; the
//! process's exit waits for those closes, within a bound.

use std::sync::{mpsc, Condvar, Mutex, MutexGuard, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix::ArbiterHandle;

use crate::error::{Error, Result};

/// Longest the last client's close waits for the actor thread to end.
const STOP_BOUND: Duration = Duration::from_secs(2);

/// Longest the process's exit waits for the closes going on in the background.
const EXIT_BOUND: Duration = Duration::from_secs(2);

/// Closes going on in the background, and the signal that one has ended.
static CLOSING: Mutex<usize> = Mutex::new(0);
static CLOSE_ENDED: Condvar = Condvar::new();

static SYSTEM: Mutex<Option<Running>> = Mutex::new(None);

struct Running {
    arbiter: ArbiterHandle,
    system: actix::System,
    thread: JoinHandle<()>,
    /// Tells when the thread has left the System's loop.
    ended: mpsc::Receiver<()>,
    /// Clients holding a [`SystemGuard`].
    clients: usize,
}

/// A client's hold on the System; the System stops when the last guard is dropped.
#[derive(Debug)]
pub struct SystemGuard(());

fn lock() -> MutexGuard<'static, Option<Running>> {
    // The state is a handful of handles that no panic leaves half-written.
    SYSTEM.lock().unwrap_or_else(|e| e.into_inner())
}

/// The arbiter of the shared System thread, starting it if needed, and a hold on it.
///
/// # Errors
/// `Error::Internal` if the thread cannot be spawned.
pub fn acquire() -> Result<(ArbiterHandle, SystemGuard)> {
    let mut running = lock();
    if running.is_none() {
        *running = Some(start()?);
    }
    // Set just above when it was empty.
    let Some(r) = running.as_mut() else {
        return Err(Error::Internal("the actor system did not start".into()));
    };
    r.clients += 1;
    Ok((r.arbiter.clone(), SystemGuard(())))
}

fn start() -> Result<Running> {
    let (tx, rx) = mpsc::sync_channel(1);
    let (ended_tx, ended) = mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("copper-mqtt".into())
        .spawn(move || {
            let system = actix::System::new();
            system.block_on(async {
                let _ = tx.send((actix::System::current(), actix::Arbiter::current()));
            });
            let _ = system.run();
            let _ = ended_tx.send(());
        })
        .map_err(|e| Error::Internal(format!("cannot start the actor thread: {e}")))?;
    let (system, arbiter) = rx
        .recv()
        .map_err(|_| Error::Internal("the actor thread died while starting".into()))?;
    Ok(Running {
        arbiter,
        system,
        thread,
        ended,
        clients: 0,
    })
}

impl Drop for SystemGuard {
    fn drop(&mut self) {
        let last = {
            let mut running = lock();
            match running.as_mut() {
                Some(r) if r.clients > 1 => {
                    r.clients -= 1;
                    None
                }
                _ => running.take(),
            }
        };
        if let Some(r) = last {
            r.system.stop();
            // A thread that does not end in time is left to the process's exit.
            if r.ended.recv_timeout(STOP_BOUND).is_ok() {
                let _ = r.thread.join();
            }
        }
    }
}

/// Waits for `closed` (up to `bound`) in a thread of its own, then lets go of `guard`: the
/// script that dropped a client does not wait for the broker. The process's exit waits for
/// the closes still going on (see [`wait_for_closes`]).
pub fn close_in_background(
    closed: mpsc::Receiver<Result<()>>,
    bound: Duration,
    guard: SystemGuard,
) {
    static AT_EXIT: Once = Once::new();
    // SAFETY: registers a function that takes no arguments and never unwinds.
    AT_EXIT.call_once(|| unsafe {
        libc::atexit(wait_for_closes);
    });
    let pending = Pending::new();
    let close = move || {
        let _ = closed.recv_timeout(bound);
        drop(guard);
        drop(pending);
    };
    // Without a thread, the close is left to the actors: dropping the closure lets go of
    // the guard and the count at once.
    let _ = std::thread::Builder::new()
        .name("copper-mqtt-close".into())
        .spawn(close);
}

/// One close counted in [`CLOSING`] while it goes on.
struct Pending;

impl Pending {
    fn new() -> Self {
        *closing() += 1;
        Pending
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        *closing() -= 1;
        CLOSE_ENDED.notify_all();
    }
}

fn closing() -> MutexGuard<'static, usize> {
    CLOSING.lock().unwrap_or_else(|e| e.into_inner())
}

/// At the process's exit: waits until no close goes on, or [`EXIT_BOUND`] has passed.
extern "C" fn wait_for_closes() {
    let deadline = Instant::now() + EXIT_BOUND;
    let mut n = closing();
    while *n > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        n = CLOSE_ENDED
            .wait_timeout(n, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}
