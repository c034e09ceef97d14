//! ClientShared: the state of one client that the Lua thread reads and the actors write.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::send_queue::SendQueue;
use super::subscriptions::Subscriptions;

/// State shared between the Lua side and the actors of one client.
#[derive(Debug)]
pub struct ClientShared {
    pub client_id: String,
    /// The broker address, for messages and tracing.
    pub addr: String,
    /// True between a CONNACK and the loss of that connection.
    connected: AtomicBool,
    /// True once the client is closed for good.
    closed: AtomicBool,
    /// Why the last connection attempt or connection failed.
    last_error: Mutex<Option<String>>,
    /// The active subscriptions; what a reconnect
    /// without a session re-subscribes.
    pub subscriptions: Subscriptions,
    /// Publishes on their way from Lua to the protocol's send queue.
    pub send_queue: SendQueue,
    /// Messages and bytes the Lua side published.
    sent: Counter,
    /// QoS 1 and 2 publishes handed to the protocol and not yet acknowledged by the broker.
    in_flight: AtomicUsize,
    /// Publishes taken from the send queue and not complete yet, as of the connection's
    /// last look: it is updated before their places in the queue are freed, so an empty
    /// queue and a zero here mean every publish made so far is complete.
    unfinished: AtomicUsize,
    /// Connections made after the first.
    reconnects: AtomicUsize,
    /// The last subscription id handed out.
    last_subscription: AtomicU64,
}

/// A count of messages and their bytes.
#[derive(Debug, Default)]
pub struct Counter {
    messages: AtomicU64,
    bytes: AtomicU64,
}

impl Counter {
    /// Counts one message of `bytes` bytes.
    pub fn add(&self, bytes: usize) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Messages and bytes counted so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// A snapshot of a client's counters, for `client:stats()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub messages_sent: u64,
    pub bytes_sent: u64,
    pub messages_received: u64,
    pub bytes_received: u64,
    /// QoS 0 messages dropped because the mailbox was full.
    pub dropped: u64,
    /// Publishes not yet handed to the network.
    pub queued: usize,
    /// QoS 1 and 2 publishes handed over and not yet acknowledged.
    pub in_flight: usize,
    pub reconnects: usize,
    pub subscriptions: usize,
    pub last_error: Option<String>,
}

impl ClientShared {
    /// The state of a client that has not connected yet.
    pub fn new(client_id: String, addr: String, outbox_limit: usize) -> Self {
        Self {
            client_id,
            addr,
            connected: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            last_error: Mutex::new(None),
            subscriptions: Subscriptions::default(),
            send_queue: SendQueue::new(outbox_limit),
            sent: Counter::default(),
            in_flight: AtomicUsize::new(0),
            unfinished: AtomicUsize::new(0),
            reconnects: AtomicUsize::new(0),
            last_subscription: AtomicU64::new(0),
        }
    }

    /// A new subscription id, unique within this client.
    pub fn next_subscription_id(&self) -> u64 {
        self.last_subscription.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Counts a publish from the Lua side.
    pub fn count_sent(&self, bytes: usize) {
        self.sent.add(bytes);
    }

    /// Records how many publishes are not complete, and of them how many await the broker's
    /// acknowledgement.
    pub fn set_unfinished(&self, unfinished: usize, in_flight: usize) {
        self.unfinished.store(unfinished, Ordering::SeqCst);
        self.in_flight.store(in_flight, Ordering::Relaxed);
    }

    /// Whether every publish made so far is complete, as far as this thread can tell without
    /// asking the connection (`false` may mean "not known yet").
    pub fn publishes_complete(&self) -> bool {
        self.send_queue.is_empty() && self.unfinished.load(Ordering::SeqCst) == 0
    }

    /// Counts a reconnection.
    pub fn count_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// The client's counters; `received` and `dropped` come from its mailbox.
    pub fn stats(&self, received: (u64, u64), dropped: u64) -> Stats {
        let (messages_sent, bytes_sent) = self.sent.get();
        Stats {
            messages_sent,
            bytes_sent,
            messages_received: received.0,
            bytes_received: received.1,
            dropped,
            queued: self.send_queue.len(),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            subscriptions: self.subscriptions.len(),
            last_error: self.last_error(),
        }
    }

    /// Whether a connection to the broker is up.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Records a CONNACK or the loss of the connection.
    pub fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::Release);
    }

    /// Whether the client is closed for good.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Marks the client closed for good.
    pub fn set_closed(&self) {
        self.connected.store(false, Ordering::Release);
        self.closed.store(true, Ordering::Release);
    }

    /// Remembers why the connection failed.
    pub fn set_last_error(&self, why: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    /// Why the connection last failed, if it did.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
