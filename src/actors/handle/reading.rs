//! Reading: how the Lua thread takes its messages. A read moves up to 64 messages out of the
//! mailbox under one lock into the read-ahead and hands them out one per call; a read handle
//! claims its subscription's messages, and one Lua has collected gives them back at the next
//! read or subscription change.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::ClientHandle;
use crate::actors::mailbox::{Claim, Lane, SubscriptionId, Take, Taken};
use crate::actors::messages::Message;
use crate::error::{Error, Result};
use crate::topic::TopicFilter;

/// Most messages [`ClientHandle::take`] moves out of the mailbox at once.
const READ_AHEAD: usize = 64;

/// Messages taken out of the mailbox together and not read yet, and the lanes they came from.
#[derive(Debug, Default)]
pub(super) struct ReadAhead {
    lanes: Vec<Lane>,
    taken: VecDeque<Taken>,
}

impl ClientHandle {
    /// From now on the subscription `id` keeps its messages for its handle.
    pub fn claim(&self, id: SubscriptionId, filter: &TopicFilter) {
        self.end_collected_claims();
        self.put_back();
        self.mailbox.claim(id, filter, Claim::Own);
    }

    /// The read handle of subscription `id` to `filter` is gone (Lua collected it): at the
    /// next read or subscription change its claim ends and its waiting messages go back to
    /// the client-wide lane, as if it had never claimed them. The collector can run inside
    /// any other call of this client, so this only notes the id, under a lock nothing else
    /// holds while Lua runs.
    pub fn release(&self, id: SubscriptionId, filter: Arc<str>) {
        self.collected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, filter));
        self.has_collected.store(true, Ordering::Release);
    }

    /// Ends the claims of the read handles Lua has collected since this last ran. Runs
    /// before every read and every change of how messages are routed.
    pub(super) fn end_collected_claims(&self) {
        // A load first: every read passes here, and nearly always finds nothing.
        if !self.has_collected.load(Ordering::Acquire)
            || !self.has_collected.swap(false, Ordering::Acquire)
        {
            return;
        }
        let ids = std::mem::take(&mut *self.collected.lock().unwrap_or_else(|e| e.into_inner()));
        // Read-ahead messages go back to their lanes while their claims still hold.
        self.put_back();
        for (id, filter) in ids {
            self.mailbox.disown(id, &filter);
        }
    }

    /// The next received message of `lanes`, waiting up to `wait` for one.
    ///
    /// # Errors
    /// `Disconnected` after `disconnect()`, or once the connection has ended for good and
    /// every message it brought has been taken.
    pub fn take(&self, lanes: &[Lane], wait: Duration) -> Result<Option<Message>> {
        if self.disconnected.load(Ordering::Acquire) {
            return Err(Error::Disconnected);
        }
        self.end_collected_claims();
        let mut ahead = self.read_ahead.lock().unwrap_or_else(|e| e.into_inner());
        if ahead.lanes != lanes {
            self.mailbox.unread(ahead.taken.drain(..));
            ahead.lanes.clear();
            ahead.lanes.extend_from_slice(lanes);
        }
        if ahead.taken.is_empty() {
            let take = self
                .mailbox
                .take_into(lanes, wait, READ_AHEAD, &mut ahead.taken);
            if take != Take::Taken {
                self.mailbox.settle_readiness(false);
            }
            match take {
                Take::Taken => {}
                Take::Empty => return Ok(None),
                Take::Closed => return Err(Error::Disconnected),
            }
        }
        let mut message = ahead.taken.pop_front().map(|t| t.message);
        self.mailbox.settle_readiness(!ahead.taken.is_empty());
        self.mailbox.count_read();
        if let Some(m) = &mut message {
            if let Some(id) = m.claimed_by {
                // Its filter, while the subscription that claimed it is active.
                m.subscription = self.shared.subscriptions.filter_of(id);
            }
        }
        Ok(message)
    }

    /// A descriptor readable while this client has messages for the Lua side: in its
    /// mailbox, or read ahead.
    ///
    /// # Errors
    /// The system refused the descriptor.
    pub fn readiness_fd(&self) -> Result<std::os::fd::RawFd> {
        let ahead = self.read_ahead.lock().unwrap_or_else(|e| e.into_inner());
        self.mailbox
            .readiness_fd(!ahead.taken.is_empty())
            .map_err(|e| Error::Descriptor(e.to_string()))
    }

    /// The descriptor `mqtt.run`'s scheduler waits on for this client (see
    /// [`Mailbox::news_fd`](crate::actors::mailbox::Mailbox::news_fd)).
    ///
    /// # Errors
    /// The system refused the descriptor.
    pub fn news_fd(&self) -> Result<std::os::fd::RawFd> {
        self.mailbox
            .news_fd()
            .map_err(|e| Error::Descriptor(e.to_string()))
    }

    /// The scheduler lets this client's waiting tasks look again.
    pub fn clear_news(&self) {
        self.mailbox.clear_news();
    }

    /// Returns the messages read ahead to the mailbox, before a subscription changes how
    /// they are routed.
    pub(super) fn put_back(&self) {
        let mut ahead = self.read_ahead.lock().unwrap_or_else(|e| e.into_inner());
        self.mailbox.unread(ahead.taken.drain(..));
    }
}
