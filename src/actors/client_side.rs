//! ClientSide: the client's shared state as a protocol sees it. A link frees the places of
//! the publishes it takes on (after recording what is unfinished), lets publishes overflow
//! the send queue while it waits for the script to read (and learns when a publisher is
//! blocked even so), makes the active subscriptions
//! again after a reconnect without a session, and records why it last failed. Nothing else
//! of [`ClientShared`] (counters, the connected and closed flags, subscription ids) is a
//! protocol's business.

use std::sync::Arc;

use super::shared::ClientShared;
use crate::options::QoS;
use crate::topic::TopicFilter;

#[derive(Clone)]
pub struct ClientSide(Arc<ClientShared>);

impl ClientSide {
    pub fn new(shared: Arc<ClientShared>) -> Self {
        Self(shared)
    }

    /// `n` publishes have left the send queue for the link, which now has `unfinished`
    /// publishes not complete, `in_flight` of them unacknowledged. Recorded before the
    /// places are freed: an empty queue and no unfinished publish must mean every publish
    /// made so far is complete.
    pub fn taken_on(&self, n: usize, unfinished: usize, in_flight: usize) {
        self.0.set_unfinished(unfinished, in_flight);
        self.0.send_queue.free(n);
    }

    /// While on, a publish takes a place beyond the send queue's limit instead of waiting.
    pub fn set_overflow(&self, on: bool) {
        self.0.send_queue.set_overflow(on);
    }

    /// Whether a publisher waits for a place that only the broker's acknowledgements can
    /// free, while the link waits for the script to read.
    pub fn publisher_blocked(&self) -> bool {
        self.0.send_queue.is_blocked()
    }

    /// Resolves when a publisher may have become blocked.
    pub async fn publisher_blocking(&self) {
        self.0.send_queue.blocking().await;
    }

    /// The active subscriptions, with the QoS the broker granted each.
    pub fn active_subscriptions(&self) -> Vec<(TopicFilter, QoS)> {
        self.0
            .subscriptions
            .active()
            .into_iter()
            .filter_map(|(f, q)| Some((TopicFilter::new(&*f).ok()?, q)))
            .collect()
    }

    pub fn set_last_error(&self, why: String) {
        self.0.set_last_error(why);
    }
}
