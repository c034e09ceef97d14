//! Reconnecting: the protocol-neutral rules of a link's life across connections. The first
//! connection tries each server in turn and a failure there ends the link; after it, a lost
//! connection is tried again after a backoff delay (capped, with jitter; see `backoff.rs`), to
//! the next server when there are several, until the policy's attempts run out. The backoff
//! starts over only once the broker has sent something after its CONNACK, so a broker that
//! accepts and at once drops the connection is retried ever more slowly. A broker that closes
//! the connection soon after each CONNACK while re-sent publishes go unacknowledged
//! ([`GIVE_UP_AFTER`] times in a row) will not take the oldest of them: it is given up.
//!
//! The protocol's driver does the connecting and asks this what to do next.

use std::time::Duration;

use tokio::time::Instant;

use super::backoff::Backoff;
use crate::options::{splitmix64, ConnectOptions, Reconnect, Server};

/// Connections lost in a row, each soon after re-sending publishes none of which the broker
/// acknowledged, after which the oldest of them is given up.
pub const GIVE_UP_AFTER: u32 = 3;

/// What counts as soon after the CONNACK for [`GIVE_UP_AFTER`].
const QUICK_LOSS: Duration = Duration::from_secs(1);

pub struct Reconnecting {
    /// How to reconnect; `None`: a lost connection ends the link.
    policy: Option<Reconnect>,
    backoff: Backoff,
    /// The brokers to try, in turn, and the one tried last.
    servers: Vec<Server>,
    current: usize,
    /// Whether a CONNACK ever accepted us; before that, a failure ends the link.
    connected_once: bool,
    /// Failed attempts since the last CONNACK.
    failures: u32,
    /// The last attempt failed: wait a backoff delay before the next one.
    retry: bool,
    /// The link has ended.
    done: bool,
    /// Whether the broker has sent anything since the last CONNACK.
    heard: bool,
    /// Whether publishes were sent again after the last CONNACK and none has been
    /// acknowledged since.
    resent: bool,
    /// Connections lost in a row in that state.
    strikes: u32,
    /// When the current connection's CONNACK came.
    up_since: Option<Instant>,
}

impl Reconnecting {
    pub fn new(opts: &ConnectOptions) -> Self {
        let policy = opts.reconnect.unwrap_or_default();
        let seed = opts
            .client_id
            .bytes()
            .fold(u64::from(std::process::id()), |h, b| {
                splitmix64(h ^ u64::from(b))
            });
        Self {
            policy: opts.reconnect,
            backoff: Backoff::new(policy.min_delay, policy.max_delay, seed),
            servers: opts.all_servers(),
            current: 0,
            connected_once: false,
            failures: 0,
            retry: false,
            done: false,
            heard: false,
            resent: false,
            strikes: 0,
            up_since: None,
        }
    }

    /// The server to try now.
    pub fn server(&self) -> &Server {
        &self.servers[self.current]
    }

    /// How many servers there are to try.
    pub fn servers(&self) -> usize {
        self.servers.len()
    }

    /// Moves on to the next server, when there are several: the one to try now.
    pub fn next_server(&mut self) -> Option<&Server> {
        if self.servers.len() < 2 {
            return None;
        }
        self.current = (self.current + 1) % self.servers.len();
        Some(&self.servers[self.current])
    }

    /// Whether a CONNACK has ever accepted the link.
    pub fn connected_once(&self) -> bool {
        self.connected_once
    }

    /// Failed attempts since the last CONNACK.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The link ends: its DISCONNECT went out, or its first connection failed.
    pub fn end(&mut self) {
        self.done = true;
    }

    /// The delay to wait before this attempt, when the last one failed.
    pub fn delay(&mut self) -> Option<Duration> {
        std::mem::take(&mut self.retry).then(|| self.backoff.next_delay())
    }

    /// A CONNACK accepted the connection.
    pub fn connected(&mut self) {
        self.connected_once = true;
        self.failures = 0;
        self.heard = false;
        self.up_since = Some(Instant::now());
    }

    /// The broker sent something: the first time after a CONNACK, the backoff starts over.
    pub fn heard(&mut self) {
        if !self.heard {
            self.heard = true;
            self.backoff.reset();
        }
    }

    /// Whether publishes were sent again after this CONNACK.
    pub fn resent(&mut self, any: bool) {
        self.resent = any;
    }

    /// The broker acknowledged a publish: it takes what was sent again.
    pub fn acknowledged(&mut self) {
        self.resent = false;
        self.strikes = 0;
    }

    /// Whether the broker has refused the oldest re-sent publish often enough that it is to
    /// be given up now (then the count starts over).
    pub fn give_up_now(&mut self) -> bool {
        let now = self.strikes >= GIVE_UP_AFTER;
        if now {
            self.strikes = 0;
        }
        now
    }

    /// The connection is lost, or an attempt failed: whether to try again (after a delay).
    /// Moves on to the next server either way.
    pub fn lost(&mut self) -> bool {
        self.failures += 1;
        if self.resent && self.up_since.is_some_and(|t| t.elapsed() < QUICK_LOSS) {
            self.strikes += 1;
        }
        self.up_since = None;
        let again = self
            .policy
            .is_some_and(|p| p.max_attempts.is_none_or(|max| self.failures <= max));
        self.retry = again;
        self.done = !again;
        again
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reconnecting(reconnect: Option<Reconnect>, servers: usize) -> Reconnecting {
        let mut opts = ConnectOptions::new("127.0.0.1");
        opts.reconnect = reconnect;
        let mut r = Reconnecting::new(&opts);
        r.servers = (0..servers)
            .map(|i| Server::parse(&format!("mqtt://127.0.0.1:{}", 1000 + i)).unwrap())
            .collect();
        r
    }

    fn policy(max_attempts: Option<u32>) -> Option<Reconnect> {
        Some(Reconnect {
            max_attempts,
            ..Reconnect::default()
        })
    }

    #[test]
    fn a_lost_connection_is_tried_again_after_a_delay_until_the_attempts_run_out() {
        let mut r = reconnecting(policy(Some(2)), 1);
        r.connected();
        assert_eq!(r.delay(), None, "no wait before the first attempt");
        assert!(r.lost());
        assert!(r.delay().is_some());
        assert_eq!(r.delay(), None, "one delay per failure");
        assert!(r.lost());
        assert!(!r.lost(), "a third failure is past max_attempts");
        assert!(r.is_done());
    }

    #[test]
    fn without_a_policy_a_lost_connection_ends_the_link() {
        let mut r = reconnecting(None, 1);
        r.connected();
        assert!(!r.lost());
        assert!(r.is_done());
    }

    #[test]
    fn servers_are_tried_in_turn_going_round() {
        let mut r = reconnecting(policy(None), 3);
        let ports: Vec<u16> = (0..4).map(|_| r.next_server().unwrap().port).collect();
        assert_eq!(ports, [1001, 1002, 1000, 1001]);
        assert!(reconnecting(policy(None), 1).next_server().is_none());
    }

    #[test]
    fn a_broker_that_drops_each_resend_has_the_oldest_given_up_after_three_losses() {
        let mut r = reconnecting(policy(None), 1);
        for _ in 0..GIVE_UP_AFTER {
            r.connected();
            r.resent(true);
            assert!(!r.give_up_now());
            r.lost();
        }
        assert!(r.give_up_now());
        assert!(!r.give_up_now(), "the count starts over");
        r.connected();
        r.resent(true);
        r.acknowledged();
        r.lost();
        assert!(!r.give_up_now(), "an acknowledgement clears the strikes");
    }
}
