//! Room: the mailbox as a protocol sees it. A link reads from the network only while what
//! one read brings fits beside what the mailbox holds and what is on its way; it counts what
//! it sends on its way; and it tells a slow reader from a stopped one by the reads the
//! script makes. Nothing else of the mailbox (its lanes, claims, or the Lua side's waits) is
//! a protocol's business.

use std::sync::Arc;

use super::Mailbox;

#[derive(Clone)]
pub struct Room(Arc<Mailbox>);

impl Room {
    pub fn new(mailbox: Arc<Mailbox>) -> Self {
        Self(mailbox)
    }

    /// Messages the mailbox holds at most.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// Whether `n` more messages fit beside those held and those on their way.
    pub fn has_room(&self, n: usize) -> bool {
        self.0.has_room(n)
    }

    /// Whether `n` more messages fit when up to `overdraft` beyond the capacity may wait in
    /// the router for room (where nothing is dropped).
    pub fn has_room_overdrawn(&self, n: usize, overdraft: usize) -> bool {
        self.0.has_room_overdrawn(n, overdraft)
    }

    /// Returns once `n` more messages fit.
    pub async fn room_for(&self, n: usize) {
        self.0.room_for(n).await;
    }

    /// Messages the script has read so far.
    pub fn read(&self) -> u64 {
        self.0.read()
    }

    /// `n` messages are on their way to the mailbox (read, not yet routed).
    pub fn arriving(&self, n: usize) {
        self.0.arriving(n);
    }
}
