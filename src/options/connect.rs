//! Everything `mqtt.connect` takes: the brokers, the session, the will, reconnection, TLS;
//! the rules that concern several options at once; and the client ids made for scripts that
//! give none.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::limits::{expect, quote, MAX_FIELD};
use super::qos::QoS;
use super::server::{Server, Transport};
use crate::error::Error;
use crate::topic::TopicName;

/// The Last Will and Testament the broker publishes when the client vanishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    pub topic: TopicName,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
}

/// How the client reconnects after losing an established connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reconnect {
    /// The first delay; each failed attempt doubles it, up to `max_delay`.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Failed attempts in a row after which the client gives up; `None`: never.
    pub max_attempts: Option<u32>,
}

impl Default for Reconnect {
    /// About 0.5 s rising to 30 s, forever.
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

/// TLS settings: `tls = true` (system roots) or `tls = { ... }`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TlsOptions {
    /// Trusted CA certificates (PEM); the system's roots when absent.
    pub ca_file: Option<std::path::PathBuf>,
    /// A client certificate (PEM) and its key, for brokers that ask for one.
    pub cert_file: Option<std::path::PathBuf>,
    pub key_file: Option<std::path::PathBuf>,
    /// The name to verify the broker's certificate against, instead of the address.
    pub server_name: Option<String>,
    /// Skip certificate verification (logged as a warning).
    pub insecure: bool,
    pub alpn: Vec<String>,
}

/// Everything `mqtt.connect` needs, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectOptions {
    /// The broker, or the first of them.
    pub host: String,
    pub port: u16,
    pub transport: Transport,
    /// TLS settings for every TLS server; `Some` also turns TLS on for the first one.
    pub tls: Option<TlsOptions>,
    /// Whether the first server's connect string asked for TLS.
    pub tls_scheme: bool,
    /// More brokers, tried in turn after the first on connect and on every reconnect.
    pub servers: Vec<Server>,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Zero turns keep-alive off, as in MQTT.
    pub keep_alive: Duration,
    pub clean_session: bool,
    /// Bound on connecting and on every blocking call that waits for the broker.
    pub timeout: Duration,
    /// Bound on each mailbox of received messages.
    pub capacity: usize,
    pub will: Option<Will>,
    /// `None`: a lost connection closes the client for good.
    pub reconnect: Option<Reconnect>,
}

impl ConnectOptions {
    /// The seed's defaults for `host`, with a fresh client id.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: 1883,
            transport: Transport::Tcp,
            tls: None,
            tls_scheme: false,
            servers: Vec::new(),
            client_id: generate_client_id(),
            username: None,
            password: None,
            keep_alive: Duration::from_secs(60),
            clean_session: true,
            timeout: Duration::from_secs(10),
            capacity: 100,
            will: None,
            reconnect: Some(Reconnect::default()),
        }
    }

    /// `host:port`, for messages.
    pub fn addr(&self) -> String {
        self.primary().addr()
    }

    /// The first broker, with the options' credentials.
    pub fn primary(&self) -> Server {
        Server {
            transport: self.transport.clone(),
            tls: self.tls_scheme || self.tls.is_some(),
            host: self.host.clone(),
            port: self.port,
            username: self.username.clone(),
            password: self.password.clone(),
        }
    }

    /// Every broker to try, in order; the options' credentials stand in for those a
    /// connect string leaves out.
    pub fn all_servers(&self) -> Vec<Server> {
        let mut all = vec![self.primary()];
        for s in &self.servers {
            let mut s = s.clone();
            if s.username.is_none() {
                s.username = self.username.clone();
                s.password = self.password.clone();
            }
            all.push(s);
        }
        all
    }

    /// Checks the rules that concern several options at once.
    ///
    /// # Errors
    /// `Error::InvalidOption` naming the offending option and what it must be.
    pub fn check(&self) -> Result<(), Error> {
        if self.client_id.is_empty() && !self.clean_session {
            return Err(Error::InvalidOption {
                option: "client_id".into(),
                expected: "a non-empty client id when clean_session is false",
                got: "\"\"".into(),
            });
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(Error::InvalidOption {
                option: "username".into(),
                expected: "a user name when a password is given",
                got: "nil".into(),
            });
        }
        // The CONNECT fields, whether they came from the options or from connect strings.
        let mut names = vec![("client_id", &self.client_id)];
        let usernames = self
            .username
            .iter()
            .chain(self.servers.iter().filter_map(|s| s.username.as_ref()));
        names.extend(usernames.map(|u| ("username", u)));
        if let Some((name, text)) = names
            .into_iter()
            .find(|(_, text)| text.len() > MAX_FIELD || text.contains('\0'))
        {
            return Err(Error::InvalidOption {
                option: name.into(),
                expected: expect::MQTT_TEXT,
                got: format!("{:?}", quote(text.as_bytes())),
            });
        }
        let mut passwords =
            (self.password.iter()).chain(self.servers.iter().filter_map(|s| s.password.as_ref()));
        // A password is never quoted back.
        if let Some(long) = passwords.find(|p| p.len() > MAX_FIELD) {
            return Err(Error::InvalidOption {
                option: "password".into(),
                expected: expect::PASSWORD,
                got: format!("{} bytes", long.len()),
            });
        }
        if let Some(will) = self.will.as_ref().filter(|w| w.payload.len() > MAX_FIELD) {
            return Err(Error::InvalidOption {
                option: "will.payload".into(),
                expected: expect::WILL_PAYLOAD,
                got: format!("{} bytes", will.payload.len()),
            });
        }
        Ok(())
    }
}

/// A client id unique to this process and moment: `copper-` and 16 hex digits, 23 characters,
/// the longest MQTT 3.1.1 obliges every broker to accept.
pub fn generate_client_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!("copper-{:016x}", splitmix64(seed))
}

/// A well-mixed 64-bit hash of `x`, so that nearby seeds give unrelated ids.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_client_ids_are_unique_and_at_most_23_characters() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| generate_client_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 23), "{ids:?}");
    }

    #[test]
    fn connect_fields_fit_mqtt_wherever_they_come_from() {
        let refused = |o: &ConnectOptions| match o.check() {
            Err(Error::InvalidOption { option, got, .. }) => (option, got),
            other => panic!("{other:?}"),
        };
        let mut o = ConnectOptions::new("localhost");
        o.client_id = "a\0b".into();
        assert_eq!(refused(&o).0, "client_id");
        let mut o = ConnectOptions::new("localhost");
        o.servers
            .push(Server::parse("mqtt://u%00:p@standby").unwrap());
        assert_eq!(refused(&o).0, "username");
        let mut o = ConnectOptions::new("localhost");
        o.username = Some("u".into());
        o.password = Some("s".repeat(MAX_FIELD + 1));
        assert_eq!(
            refused(&o),
            ("password".into(), "65536 bytes".into()),
            "a password is never quoted back"
        );
        let mut o = ConnectOptions::new("localhost");
        o.will = Some(Will {
            topic: TopicName::new("w").unwrap(),
            payload: vec![0; MAX_FIELD + 1],
            qos: QoS::AtMostOnce,
            retain: false,
        });
        assert_eq!(refused(&o).0, "will.payload");
    }

    #[test]
    fn a_persistent_session_needs_a_client_id() {
        let mut o = ConnectOptions::new("localhost");
        o.client_id.clear();
        assert!(o.check().is_ok());
        o.clean_session = false;
        let err = o.check().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidOption { option, .. } if option == "client_id"),
            "{err}"
        );
    }

    #[test]
    fn ipv6_hosts_are_bracketed_in_addresses() {
        let mut o = ConnectOptions::new("::1");
        assert_eq!(o.addr(), "[::1]:1883");
        o.host = "localhost".into();
        assert_eq!(o.addr(), "localhost:1883");
    }
}
