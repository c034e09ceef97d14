//! Connection and publish options as plain Rust values, and the range rules that keep every
//! value inside what MQTT 3.1.1 and rumqttc accept (rumqttc panics on some out-of-range values,
//! so nothing reaches it unchecked). The Lua layer reads tables into these types.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::Error;
use crate::topic::TopicName;

/// The largest message the client sends or accepts: mosquitto's own default limit (256 MiB).
pub const MAX_PACKET_SIZE: usize = 256 * 1024 * 1024;

/// Longest string or binary field of a CONNECT packet (client id, user name, password, will
/// payload): its length is 16 bits.
pub const MAX_FIELD: usize = 65_535;

/// Longest piece of a bad value quoted back in a message.
const QUOTE_LIMIT: usize = 60;

/// A value as messages quote it: its first characters, the rest cut to `...`.
pub fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// An MQTT quality-of-service level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    #[default]
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    /// The level as the number a Lua script sees.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

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

/// How a client reaches a broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    /// MQTT over WebSocket, at this path.
    WebSocket {
        path: String,
    },
}

/// One broker to try: from a host name or a connect string such as
/// `mqtt://user:pass@host:1883` or `ws://host:9001/mqtt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub transport: Transport,
    /// Whether the connection is TLS (`mqtts://`, `wss://`, or the `tls` option).
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl Server {
    /// A plain TCP server.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self {
            transport: Transport::Tcp,
            tls: false,
            host: host.into(),
            port,
            username: None,
            password: None,
        }
    }

    /// Parses a connect string, or takes a bare host name on port 1883.
    ///
    /// # Errors
    /// What is wrong with it, worded for a message.
    pub fn parse(text: &str) -> Result<Self, String> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(Self::tcp(text, 1883));
        };
        let ws = || Transport::WebSocket {
            path: String::new(),
        };
        let (transport, tls, default_port) = match scheme.to_ascii_lowercase().as_str() {
            "mqtt" | "tcp" => (Transport::Tcp, false, 1883),
            "mqtts" | "ssl" => (Transport::Tcp, true, 8883),
            "ws" => (ws(), false, 80),
            "wss" => (ws(), true, 443),
            _ => {
                return Err(format!(
                    "unknown scheme {scheme:?} (expected mqtt://, mqtts://, ws:// or wss://)"
                ))
            }
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            return Err("no host".into());
        }
        let port = match port {
            None => default_port,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("bad port {p:?}"))?,
        };
        let transport = match transport {
            Transport::WebSocket { .. } => Transport::WebSocket {
                path: if path.is_empty() {
                    "/".into()
                } else {
                    path.into()
                },
            },
            Transport::Tcp if !path.is_empty() && path != "/" => {
                return Err(format!("a path ({path:?}) is only for ws:// servers"))
            }
            tcp => tcp,
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(percent_decode(user)?), Some(percent_decode(pass)?)),
                None => (Some(percent_decode(u)?), None),
            },
        };
        Ok(Self {
            transport,
            tls,
            host: host.to_string(),
            port,
            username,
            password,
        })
    }

    /// `host:port`, for messages.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The WebSocket URL, for a WebSocket server.
    pub fn url(&self) -> Option<String> {
        match &self.transport {
            Transport::Tcp => None,
            Transport::WebSocket { path } => Some(format!(
                "{}://{}{}",
                if self.tls { "wss" } else { "ws" },
                self.addr(),
                path
            )),
        }
    }
}

fn split_host_port(hostport: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "an IPv6 address needs its closing ']'".to_string())?;
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(format!("unexpected {after:?} after the address")),
        };
    }
    Ok(match hostport.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (hostport, None),
    })
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
    /// `Error::BadOption` naming the offending option and what it must be.
    pub fn check(&self) -> Result<(), Error> {
        if self.client_id.is_empty() && !self.clean_session {
            return Err(Error::BadOption {
                name: "client_id".into(),
                expected: "a non-empty client id when clean_session is false",
                got: "\"\"".into(),
            });
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(Error::BadOption {
                name: "username".into(),
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
            return Err(Error::BadOption {
                name: name.into(),
                expected: expect::MQTT_TEXT,
                got: format!("{:?}", quote(text.as_bytes())),
            });
        }
        let mut passwords =
            (self.password.iter()).chain(self.servers.iter().filter_map(|s| s.password.as_ref()));
        // A password is never quoted back.
        if let Some(long) = passwords.find(|p| p.len() > MAX_FIELD) {
            return Err(Error::BadOption {
                name: "password".into(),
                expected: expect::PASSWORD,
                got: format!("{} bytes", long.len()),
            });
        }
        if let Some(will) = self.will.as_ref().filter(|w| w.payload.len() > MAX_FIELD) {
            return Err(Error::BadOption {
                name: "will.payload".into(),
                expected: expect::WILL_PAYLOAD,
                got: format!("{} bytes", will.payload.len()),
            });
        }
        Ok(())
    }
}

/// Options of one `publish` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PublishOptions {
    pub qos: QoS,
    pub retain: bool,
    /// Return only once the broker has acknowledged the message (QoS 1 and 2).
    pub wait: bool,
}

/// What a number must be, worded for error messages.
pub mod expect {
    pub const PORT: &str = "an integer port from 1 to 65535";
    pub const QOS: &str = "a QoS of 0, 1 or 2";
    pub const KEEP_ALIVE: &str = "whole seconds from 1 to 65535, or 0 to turn keep-alive off";
    pub const TIMEOUT: &str = "a finite number of seconds greater than 0";
    pub const WAIT: &str = "a finite number of seconds, 0 or more";
    pub const CAPACITY: &str = "an integer from 1 to 1000000";
    pub const BOOLEAN: &str = "true or false";
    pub const TEXT: &str = "a UTF-8 string";
    pub const MQTT_TEXT: &str = "a UTF-8 string of at most 65535 bytes without NUL";
    pub const PASSWORD: &str = "a UTF-8 string of at most 65535 bytes";
    pub const WILL_PAYLOAD: &str = "a string or a number of at most 65535 bytes";
    pub const DELAY: &str = "a finite number of seconds, 0 or more, at most one day";
    pub const ATTEMPTS: &str = "an integer from 1 to 1000000";
    pub const RECONNECT: &str = "true, false or a table { min_delay, max_delay, max_attempts }";
}

/// The largest mailbox bound: a million messages is already far beyond any sane buffer.
const MAX_CAPACITY: f64 = 1_000_000.0;

fn whole(n: f64, min: f64, max: f64) -> Option<f64> {
    (n.fract() == 0.0 && n >= min && n <= max).then_some(n)
}

/// A connect string's user name or password with its `%XX` escapes decoded (as URLs write
/// `@`, `:` and `/`).
fn percent_decode(text: &str) -> Result<String, String> {
    let bad = || format!("bad %-escape in the user name or password {text:?}");
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'%' {
            bytes.push(b);
            continue;
        }
        let hex = rest.get(..2).ok_or_else(bad)?;
        let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
        bytes.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
        rest = &rest[2..];
    }
    String::from_utf8(bytes).map_err(|_| bad())
}

/// A TCP port: an integer from 1 to 65535.
pub fn port(n: f64) -> Option<u16> {
    whole(n, 1.0, 65535.0).map(|n| n as u16)
}

/// A QoS level: 0, 1 or 2.
pub fn qos(n: f64) -> Option<QoS> {
    match whole(n, 0.0, 2.0)? as u8 {
        0 => Some(QoS::AtMostOnce),
        1 => Some(QoS::AtLeastOnce),
        _ => Some(QoS::ExactlyOnce),
    }
}

/// A keep-alive interval: 0 (off) or whole seconds that fit MQTT's 16-bit field.
pub fn keep_alive(n: f64) -> Option<Duration> {
    whole(n, 0.0, 65535.0).map(Duration::from_secs_f64)
}

/// A connection or call timeout: finite and positive.
pub fn timeout(n: f64) -> Option<Duration> {
    (n.is_finite() && n > 0.0)
        .then(|| Duration::try_from_secs_f64(n).ok())
        .flatten()
}

/// A wait such as `receive(seconds)`: finite and not negative; 0 polls. One longer than a
/// `Duration` holds (1e300 s) waits without end, which is what it means in practice.
pub fn wait(n: f64) -> Option<Duration> {
    (n.is_finite() && n >= 0.0).then(|| Duration::try_from_secs_f64(n).unwrap_or(Duration::MAX))
}

/// A reconnection delay: finite, not negative, at most a day.
pub fn delay(n: f64) -> Option<Duration> {
    (n.is_finite() && (0.0..=86_400.0).contains(&n)).then(|| Duration::from_secs_f64(n))
}

/// A number of reconnection attempts: an integer from 1 to 1,000,000.
pub fn attempts(n: f64) -> Option<u32> {
    whole(n, 1.0, 1_000_000.0).map(|n| n as u32)
}

/// A mailbox bound: an integer from 1 to 1,000,000.
pub fn capacity(n: f64) -> Option<usize> {
    whole(n, 1.0, MAX_CAPACITY).map(|n| n as usize)
}

/// Bytes of the PUBLISH packet that carries `payload` bytes to `topic`, counted as rumqttc
/// counts them when it holds a packet to [`MAX_PACKET_SIZE`].
pub fn publish_packet_size(topic: &str, payload: usize, qos: QoS) -> usize {
    let packet_id = if qos == QoS::AtMostOnce { 0 } else { 2 };
    let remaining = (2 + topic.len() + packet_id).saturating_add(payload);
    let length_bytes = match remaining {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    };
    remaining.saturating_add(1 + length_bytes)
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
    fn ports_are_whole_numbers_in_range() {
        assert_eq!(port(1883.0), Some(1883));
        assert_eq!(port(65535.0), Some(65535));
        for bad in [0.0, -1.0, 70000.0, 1883.5, f64::NAN, f64::INFINITY] {
            assert_eq!(port(bad), None, "{bad}");
        }
    }

    #[test]
    fn qos_is_zero_one_or_two() {
        assert_eq!(qos(0.0), Some(QoS::AtMostOnce));
        assert_eq!(qos(1.0), Some(QoS::AtLeastOnce));
        assert_eq!(qos(2.0), Some(QoS::ExactlyOnce));
        for bad in [3.0, -1.0, 1.5, f64::NAN] {
            assert_eq!(qos(bad), None, "{bad}");
        }
    }

    #[test]
    fn keep_alive_below_one_second_is_refused_except_zero() {
        assert_eq!(keep_alive(0.0), Some(Duration::ZERO));
        assert_eq!(keep_alive(1.0), Some(Duration::from_secs(1)));
        assert_eq!(keep_alive(65535.0), Some(Duration::from_secs(65535)));
        for bad in [0.5, -1.0, 65536.0, f64::NAN, f64::INFINITY] {
            assert_eq!(keep_alive(bad), None, "{bad}");
        }
    }

    #[test]
    fn publish_sizes_are_counted_as_rumqttc_counts_them() {
        for (payload, qos) in [
            (0, QoS::AtMostOnce),
            (120, QoS::AtMostOnce),
            (121, QoS::AtLeastOnce),
            (16_380, QoS::ExactlyOnce),
            (2_097_140, QoS::AtLeastOnce),
            (3_000_000, QoS::AtMostOnce),
        ] {
            let level = match qos {
                QoS::AtMostOnce => rumqttc::QoS::AtMostOnce,
                QoS::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
                QoS::ExactlyOnce => rumqttc::QoS::ExactlyOnce,
            };
            let mut packet = rumqttc::Publish::new("a/b", level, vec![0; payload]);
            packet.pkid = u16::from(qos != QoS::AtMostOnce);
            assert_eq!(
                publish_packet_size("a/b", payload, qos),
                packet.size(),
                "{payload} {qos:?}"
            );
        }
        let largest = MAX_PACKET_SIZE - 1 - 4 - 2 - 3;
        assert_eq!(
            publish_packet_size("a/b", largest, QoS::AtMostOnce),
            MAX_PACKET_SIZE
        );
        assert_eq!(
            publish_packet_size("a/b", usize::MAX, QoS::ExactlyOnce),
            usize::MAX
        );
    }

    #[test]
    fn timeouts_are_positive_and_finite() {
        assert_eq!(timeout(0.25), Some(Duration::from_millis(250)));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(timeout(bad), None, "{bad}");
        }
        assert_eq!(wait(0.0), Some(Duration::ZERO));
        assert_eq!(wait(-0.1), None);
        assert_eq!(wait(1e300), Some(Duration::MAX));
        assert_eq!(wait(f64::INFINITY), None);
    }

    #[test]
    fn capacity_is_bounded() {
        assert_eq!(capacity(100.0), Some(100));
        for bad in [0.0, -1.0, 2f64.powi(40), 10.5] {
            assert_eq!(capacity(bad), None, "{bad}");
        }
    }

    #[test]
    fn generated_client_ids_are_unique_and_at_most_23_characters() {
        let ids: std::collections::HashSet<String> =
            (0..1000).map(|_| generate_client_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 23), "{ids:?}");
    }

    #[test]
    fn connect_fields_fit_mqtt_wherever_they_come_from() {
        let refused = |o: &ConnectOptions| o.check().unwrap_err().to_string();
        let mut o = ConnectOptions::new("localhost");
        o.client_id = "a\0b".into();
        assert!(refused(&o).contains("bad option 'client_id'"));
        let mut o = ConnectOptions::new("localhost");
        o.servers
            .push(Server::parse("mqtt://u%00:p@standby").unwrap());
        assert!(refused(&o).contains("bad option 'username'"));
        let mut o = ConnectOptions::new("localhost");
        o.username = Some("u".into());
        o.password = Some("s".repeat(MAX_FIELD + 1));
        let err = refused(&o);
        assert!(
            err.contains("bad option 'password'") && err.ends_with("got 65536 bytes"),
            "{err}"
        );
        let mut o = ConnectOptions::new("localhost");
        o.will = Some(Will {
            topic: TopicName::new("w").unwrap(),
            payload: vec![0; MAX_FIELD + 1],
            qos: QoS::AtMostOnce,
            retain: false,
        });
        assert!(refused(&o).contains("bad option 'will.payload'"));
    }

    #[test]
    fn a_persistent_session_needs_a_client_id() {
        let mut o = ConnectOptions::new("localhost");
        o.client_id.clear();
        assert!(o.check().is_ok());
        o.clean_session = false;
        let err = o.check().unwrap_err().to_string();
        assert!(err.contains("'client_id'"), "{err}");
    }

    #[test]
    fn connect_strings_give_scheme_credentials_host_port_and_path() {
        let s = Server::parse("mqtt://user:pa:ss@broker.example:1884").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("broker.example", 1884));
        assert_eq!(
            (s.username.as_deref(), s.password.as_deref()),
            (Some("user"), Some("pa:ss"))
        );
        assert_eq!(s.transport, Transport::Tcp);
        let escaped = Server::parse("mqtt://u%40x:p%3Ay%2Fz%40w%C3%A9@h").unwrap();
        assert_eq!(
            (escaped.username.as_deref(), escaped.password.as_deref()),
            (Some("u@x"), Some("p:y/z@wé"))
        );
        assert_eq!(Server::parse("mqtt://h").unwrap().port, 1883);
        assert_eq!(Server::parse("h").unwrap(), Server::tcp("h", 1883));
        let ws = Server::parse("ws://h:9001/mqtt").unwrap();
        assert_eq!(
            ws.transport,
            Transport::WebSocket {
                path: "/mqtt".into()
            }
        );
        assert_eq!(ws.url().as_deref(), Some("ws://h:9001/mqtt"));
        let v6 = Server::parse("mqtt://[::1]:1883").unwrap();
        assert_eq!(
            (v6.host.as_str(), v6.addr()),
            ("::1", "[::1]:1883".to_string())
        );
    }

    #[test]
    fn bad_connect_strings_say_what_is_wrong() {
        for (text, want) in [
            ("gopher://h", "unknown scheme"),
            ("mqtt://h:0", "bad port"),
            ("mqtt://h:99999", "bad port"),
            ("mqtt://:1883", "no host"),
            ("mqtt://h/path", "only for ws://"),
            ("mqtt://[::1", "closing ']'"),
            ("mqtt://u%4:p@h", "bad %-escape"),
            ("mqtt://u:p%zz@h", "bad %-escape"),
            ("mqtt://u:%ff@h", "bad %-escape"),
        ] {
            let err = Server::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn ipv6_hosts_are_bracketed_in_addresses() {
        let mut o = ConnectOptions::new("::1");
        assert_eq!(o.addr(), "[::1]:1883");
        o.host = "localhost".into();
        assert_eq!(o.addr(), "localhost:1883");
    }
}
