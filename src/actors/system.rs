//! The background actix System: one thread for every client of the process. It starts with
//! the first client and stops, its thread joined, when the last one closes, so that no
//! thread of the library runs once the host has closed its Lua state.

use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use actix::ArbiterHandle;

use crate::error::{Error, Result};

/// Longest the last client's close waits for the actor thread to end.
const STOP_BOUND: Duration = Duration::from_secs(2);

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
