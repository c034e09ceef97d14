//! ClientHandle: the client as the Lua thread drives it. Every call either returns at once
//! or waits for an actor's reply with a bound. How it reads its messages: `reading.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::Addr;

use super::answer::answer;
use super::connection::ConnectionActor;
use super::facade::FacadeActor;
use super::mailbox::{Claim, Mailbox, SubscriptionId};
use super::messages::{Disconnect, Flush, Publish, Subscribe, TakeQueued, Unsubscribe};
use super::shared::{ClientShared, Stats};
use super::system::{self, SystemGuard};
use crate::error::{Error, Result};
use crate::options::{self, ConnectOptions, PublishOptions, QoS, MAX_PACKET_SIZE};
use crate::topic::{TopicFilter, TopicName};
use reading::ReadAhead;

mod reading;

/// Publishes that may wait between the Lua side and the protocol's send queue.
const OUTBOX_LIMIT: usize = 10_000;

/// Longest a client dropped without `disconnect()` waits for its graceful close.
const DROP_CLOSE_BOUND: Duration = Duration::from_secs(2);

/// What the broker granted one filter of a `subscribe_many`.
#[derive(Debug, Clone)]
pub struct Subscribed {
    pub filter: TopicFilter,
    /// `None`: refused (0x80).
    pub granted: Option<QoS>,
    pub id: SubscriptionId,
}

/// One connected client.
pub struct ClientHandle {
    connection: Addr<ConnectionActor>,
    mailbox: Arc<Mailbox>,
    read_ahead: Mutex<ReadAhead>,
    /// Read handles Lua has collected, with their filters: their claims end at the next
    /// read or subscription change.
    collected: Mutex<Vec<(SubscriptionId, Arc<str>)>>,
    /// Whether `collected` holds any, so that a read looks at it only then.
    has_collected: AtomicBool,
    shared: Arc<ClientShared>,
    /// Bound on every wait for the broker.
    timeout: Duration,
    /// Set by `disconnect()`: from then on every call fails.
    disconnected: AtomicBool,
    /// Keeps the actor thread running while this client exists, and while its close goes
    /// on in the background once it is dropped; declared last so it is dropped after the
    /// client has closed.
    system: Option<SystemGuard>,
}

impl ClientHandle {
    /// Connects and returns once the broker's CONNACK accepted the connection.
    ///
    /// # Errors
    /// Why the connection could not be made, within `opts.timeout`.
    pub fn connect(opts: ConnectOptions) -> Result<Self> {
        let shared = Arc::new(ClientShared::new(
            opts.client_id.clone(),
            opts.addr(),
            OUTBOX_LIMIT,
        ));
        let mailbox = Arc::new(Mailbox::new(opts.capacity));
        let (tx, rx) = mpsc::sync_channel(1);
        let (addr_tx, addr_rx) = mpsc::sync_channel(1);
        let (s, m, timeout) = (shared.clone(), mailbox.clone(), opts.timeout);
        // Each server gets the full timeout in turn.
        let servers = u32::try_from(opts.servers.len() + 1).unwrap_or(u32::MAX);
        let connect_bound = timeout.saturating_mul(servers);
        let (arbiter, system) = system::acquire()?;
        let spawned = arbiter.spawn_fn(move || {
            let _ = addr_tx.send(FacadeActor::start_client(&opts, s, m, tx));
        });
        if !spawned {
            return Err(Error::ActorGone("system"));
        }
        let connection = addr_rx.recv().map_err(|_| Error::ActorGone("facade"))??;
        let handle = Self {
            connection,
            mailbox,
            read_ahead: Mutex::default(),
            collected: Mutex::default(),
            has_collected: AtomicBool::new(false),
            shared,
            timeout,
            disconnected: AtomicBool::new(false),
            system: Some(system),
        };
        // The link enforces the timeout itself; the margin only covers a stalled actor thread.
        wait(&rx, connect_bound + Duration::from_secs(1), "CONNACK")?;
        Ok(handle)
    }

    /// The client id the broker knows this client by.
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    fn check_open(&self) -> Result<()> {
        if self.disconnected.load(Ordering::Acquire) || self.shared.is_closed() {
            return Err(Error::Disconnected);
        }
        Ok(())
    }

    /// Queues a publish. Waits, up to the timeout, while the send queue is full, and with
    /// `opts.wait` until the broker has acknowledged the message.
    ///
    /// # Errors
    /// `PayloadTooLarge` when the message would not fit an MQTT packet; `Disconnected`;
    /// `QueueFull` when no room was made in time; `AckTimeout`.
    pub fn publish(&self, topic: TopicName, payload: Vec<u8>, opts: PublishOptions) -> Result<()> {
        self.publish_within(topic, payload, opts, self.timeout)
    }

    /// [`ClientHandle::publish`], waiting up to `room` (not the timeout) for room in the send
    /// queue; a publish that finds none is not made.
    ///
    /// # Errors
    /// As `publish`'s.
    pub fn publish_within(
        &self,
        topic: TopicName,
        payload: Vec<u8>,
        opts: PublishOptions,
        room: Duration,
    ) -> Result<()> {
        let size = options::publish_packet_size(topic.as_str(), payload.len(), opts.qos);
        if size > MAX_PACKET_SIZE {
            return Err(Error::PayloadTooLarge {
                size,
                max: MAX_PACKET_SIZE,
            });
        }
        self.check_open()?;
        let bytes = payload.len();
        let (confirm, confirmed) = if opts.wait {
            let (tx, rx) = mpsc::sync_channel(1);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        let publish = Publish {
            topic,
            payload,
            opts,
            confirm,
        };
        if self.shared.send_queue.push(publish, room)? {
            self.connection.do_send(TakeQueued);
        }
        self.shared.count_sent(bytes);
        match confirmed {
            Some(rx) => {
                let ack = if opts.qos == QoS::ExactlyOnce {
                    "PUBCOMP"
                } else {
                    "PUBACK"
                };
                wait(&rx, self.timeout, ack)
            }
            None => Ok(()),
        }
    }

    /// Waits until every publish made so far is complete: handed to the network, and
    /// acknowledged by the broker for QoS 1 and 2.
    ///
    /// # Errors
    /// `AckTimeout` when that takes longer than `timeout`; `Disconnected`.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.check_open()?;
        if self.shared.publishes_complete() {
            return Ok(());
        }
        let (reply, rx) = mpsc::sync_channel(1);
        self.connection.do_send(Flush { reply });
        wait(&rx, timeout, "acknowledgement of every publish")
    }

    /// Bound on every wait for the broker.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Subscribes and returns the QoS the broker granted, after its SUBACK.
    ///
    /// # Errors
    /// `SubscriptionRefused` for a 0x80 return code; `AckTimeout`; `ConnectionLost`.
    pub fn subscribe(&self, filter: TopicFilter, qos: QoS) -> Result<QoS> {
        let mut outcome = self.subscribe_many(vec![(filter, qos, None)])?;
        match outcome.pop() {
            Some(Subscribed {
                granted: Some(qos), ..
            }) => Ok(qos),
            Some(refused) => Err(Error::SubscriptionRefused {
                filter: refused.filter.into_string(),
            }),
            None => Err(Error::Internal("SUBACK without return codes".into())),
        }
    }

    /// Subscribes to every filter in one SUBSCRIBE packet and returns, in order, what the
    /// broker granted. A subscription with a `Claim` takes its messages out of the
    /// client-wide lane from the start (its handler's, or its handle's).
    ///
    /// # Errors
    /// `AckTimeout`; `ConnectionLost`; `Disconnected`.
    pub fn subscribe_many(
        &self,
        requests: Vec<(TopicFilter, QoS, Option<Claim>)>,
    ) -> Result<Vec<Subscribed>> {
        self.check_open()?;
        self.end_collected_claims();
        self.put_back();
        let filters: Vec<(TopicFilter, QoS, SubscriptionId)> = requests
            .into_iter()
            .map(|(filter, qos, claim)| {
                let id = self.shared.next_subscription_id();
                if let Some(claim) = claim {
                    self.mailbox.claim(id, &filter, claim);
                }
                (filter, qos, id)
            })
            .collect();
        let ids: Vec<SubscriptionId> = filters.iter().map(|(_, _, id)| *id).collect();
        let (reply, awaiting) = answer();
        self.connection.do_send(Subscribe { filters, reply });
        let granted = awaiting.wait(self.timeout, "SUBACK").inspect_err(|_| {
            for id in &ids {
                self.mailbox.forget(*id);
            }
        })?;
        Ok(granted
            .into_iter()
            .zip(ids)
            .map(|((filter, granted), id)| {
                if granted.is_none() {
                    self.mailbox.forget(id);
                }
                Subscribed {
                    filter,
                    granted,
                    id,
                }
            })
            .collect())
    }

    /// Unsubscribes, after the broker's UNSUBACK; returns the ids of the subscriptions that
    /// ended.
    ///
    /// # Errors
    /// `AckTimeout`; `ConnectionLost`; `Disconnected`.
    pub fn unsubscribe(&self, filter: TopicFilter) -> Result<Vec<SubscriptionId>> {
        self.check_open()?;
        // What collected handles gave back is the client's now, not the subscription's.
        self.end_collected_claims();
        let (reply, awaiting) = answer();
        self.connection.do_send(Unsubscribe { filter, reply });
        awaiting.wait(self.timeout, "UNSUBACK")
    }

    /// The client's counters.
    pub fn stats(&self) -> Stats {
        self.shared
            .stats(self.mailbox.received(), self.mailbox.dropped())
    }

    /// Whether subscription `id` is active (subscribed, not unsubscribed).
    pub fn is_active(&self, id: SubscriptionId) -> bool {
        self.shared.subscriptions.filter_of(id).is_some()
    }

    /// Whether the connection to the broker is up now.
    pub fn is_connected(&self) -> bool {
        self.shared.is_connected()
    }

    /// Whether the client has ended for good (by `disconnect()` or otherwise).
    pub fn is_closed(&self) -> bool {
        self.disconnected.load(Ordering::Acquire) || self.shared.is_closed()
    }

    /// Why the connection last failed.
    pub fn last_error(&self) -> Option<String> {
        self.shared.last_error()
    }

    /// Sends what is queued, waits (bounded) for acknowledgements of QoS 1 and 2 publishes,
    /// says DISCONNECT and closes. Calling it again does nothing.
    ///
    /// # Errors
    /// None in practice: a broker that does not answer only makes it wait for its bound.
    pub fn disconnect(&self) -> Result<()> {
        let closed = match self.begin_close() {
            Some(closed) => match closed.recv_timeout(self.close_bound()) {
                Ok(r) => r,
                // A closed client has nothing left to wait for.
                Err(_) => Ok(()),
            },
            None => Ok(()),
        };
        // Nothing more is for the Lua side, whose reads now raise: a descriptor another event
        // loop watches says so at once, not when the router is gone.
        self.mailbox.close();
        closed
    }

    /// Asks the actors to close; what they answer once closed, unless the client was
    /// closed already.
    fn begin_close(&self) -> Option<Receiver<Result<()>>> {
        if self.disconnected.swap(true, Ordering::AcqRel) || self.shared.is_closed() {
            return None;
        }
        let (reply, closed) = mpsc::sync_channel(1);
        self.connection.do_send(Disconnect { reply: Some(reply) });
        Some(closed)
    }

    /// Longest a close waits for the broker's acknowledgements and the DISCONNECT to go out.
    fn close_bound(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(1)
    }
}

impl Drop for ClientHandle {
    /// A client the script forgot still closes gracefully, within a short bound, in the
    /// background: the garbage collector never waits for the broker.
    fn drop(&mut self) {
        let closed = self.begin_close();
        if let (Some(closed), Some(guard)) = (closed, self.system.take()) {
            let bound = DROP_CLOSE_BOUND.min(self.close_bound());
            system::close_in_background(closed, bound, guard);
        }
    }
}

fn wait<T>(rx: &Receiver<Result<T>>, timeout: Duration, ack: &'static str) -> Result<T> {
    match rx.recv_timeout(timeout) {
        Ok(r) => r,
        Err(RecvTimeoutError::Timeout) => Err(Error::AckTimeout {
            ack,
            secs: timeout.as_secs_f64(),
        }),
        Err(RecvTimeoutError::Disconnected) => Err(Error::Disconnected),
    }
}
