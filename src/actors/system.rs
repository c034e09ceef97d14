//! The background actix System: one thread for the whole process, started on first use and
//! shared by every client.

use std::sync::mpsc;
use std::sync::OnceLock;

use actix::ArbiterHandle;

use crate::error::{Error, Result};

static SYSTEM: OnceLock<ArbiterHandle> = OnceLock::new();

/// The arbiter of the shared System thread, starting it if needed.
///
/// # Errors
/// `Error::Internal` if the thread cannot be spawned.
pub fn arbiter() -> Result<&'static ArbiterHandle> {
    if let Some(arbiter) = SYSTEM.get() {
        return Ok(arbiter);
    }
    let (tx, rx) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("copper-mqtt".into())
        .spawn(move || {
            let system = actix::System::new();
            system.block_on(async {
                let _ = tx.send(actix::Arbiter::current());
            });
            let _ = system.run();
        })
        .map_err(|e| Error::Internal(format!("cannot start the actor thread: {e}")))?;
    let arbiter = rx
        .recv()
        .map_err(|_| Error::Internal("the actor thread died while starting".into()))?;
    // Two racing first calls may each start a System; the loser's thread idles harmlessly.
    Ok(SYSTEM.get_or_init(|| arbiter))
}
