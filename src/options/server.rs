//! Server: one broker to try, from a host name or a connect string, parsed by the `url`
//! crate.

use percent_encoding::percent_decode_str;
use url::{Host, ParseError, Position, Url};

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

    /// Parses a connect string (`mqtt://`, `mqtts://`, `ws://`, `wss://`, and `tcp://`,
    /// `ssl://` as other clients write them), or takes a bare host name on port 1883.
    ///
    /// # Errors
    /// What is wrong with it, worded for a message.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.contains("://") {
            return Ok(Self::tcp(text, 1883));
        }
        let url = Url::parse(text).map_err(|e| match e {
            ParseError::EmptyHost => "no host".to_string(),
            ParseError::InvalidPort => "bad port (expected 1 to 65535)".to_string(),
            other => other.to_string(),
        })?;
        let (websocket, tls, default_port) = match url.scheme() {
            "mqtt" | "tcp" => (false, false, 1883),
            "mqtts" | "ssl" => (false, true, 8883),
            "ws" => (true, false, 80),
            "wss" => (true, true, 443),
            scheme => {
                return Err(format!(
                    "unknown scheme {scheme:?} (expected mqtt://, mqtts://, ws:// or wss://)"
                ))
            }
        };
        let host = match url.host() {
            Some(Host::Domain(name)) if !name.is_empty() => name.to_string(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err("no host".into()),
        };
        let port = match url.port() {
            None => default_port,
            Some(0) => return Err("bad port 0 (expected 1 to 65535)".into()),
            Some(port) => port,
        };
        let path = &url[Position::BeforePath..];
        let transport = match websocket {
            true => Transport::WebSocket {
                path: if path.is_empty() { "/" } else { path }.into(),
            },
            false if path.is_empty() || path == "/" => Transport::Tcp,
            false => return Err(format!("a path ({path:?}) is only for ws:// servers")),
        };
        let (username, password) = match (url.username(), url.password()) {
            ("", None) => (None, None),
            (user, password) => (Some(decoded(user)?), password.map(decoded).transpose()?),
        };
        Ok(Self {
            transport,
            tls,
            host,
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

/// A connect string's user name or password with its `%XX` escapes decoded (as URLs write
/// `@`, `:` and `/`). The URL parser keeps a `%` that does not start an escape as it is, and
/// so would the decoder: a typo in a password must not go to the broker silently.
fn decoded(text: &str) -> Result<String, String> {
    let bad = || format!("bad %-escape in the user name or password {text:?}");
    let escapes_whole = text.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_whole {
        return Err(bad());
    }
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let ssl = Server::parse("ssl://h").unwrap();
        assert_eq!((ssl.tls, ssl.port), (true, 8883));
        let at = Server::parse("mqtt://u@x:p@h").unwrap();
        assert_eq!(
            (
                at.username.as_deref(),
                at.password.as_deref(),
                at.host.as_str()
            ),
            (Some("u@x"), Some("p"), "h")
        );
        let query = Server::parse("wss://h/mqtt?token=a%20b").unwrap();
        assert_eq!(query.url().as_deref(), Some("wss://h:443/mqtt?token=a%20b"));
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
            ("mqtt://[::1", "invalid IPv6 address"),
            ("mqtt://u%4:p@h", "bad %-escape"),
            ("mqtt://u:p%zz@h", "bad %-escape"),
            ("mqtt://u:%ff@h", "bad %-escape"),
        ] {
            let err = Server::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
