//! The option tables of `mqtt.connect` (with its `will`, `reconnect`, `tls` and `servers`)
//! and of `mqtt.log`, read into the client's Rust types; each failure names the option.

use mlua::{Lua, Value};

use super::args::payload;
use super::errors::{bad_arg, bad_option, lua_error, CallError, Result};
use super::fields::{bool_option, number_option, option_pairs, text_option};
use crate::error::Error;
use crate::options::{
    self, expect, quote, ConnectOptions, QoS, Reconnect, Server, TlsOptions, Will,
};
use crate::telemetry::{Format, LogConfig};
use crate::topic::TopicName;

/// The option names `mqtt.connect` knows, for the unknown-option message.
const CONNECT_KEYS: &str = "port, client_id, username, password, keep_alive, clean_session, \
     timeout, capacity, will, reconnect, servers, tls";
const RECONNECT_KEYS: &str = "min_delay, max_delay, max_attempts";
const LOG_KEYS: &str = "level, format, file";
const TLS_KEYS: &str = "ca_file, cert_file, key_file, server_name, insecure, alpn";
const WILL_KEYS: &str = "topic, payload, qos, retain";

/// `mqtt.connect(host, options)`'s arguments.
///
/// # Errors
/// `BadArgument`, `BadOption` or `UnknownOption`, naming the value.
pub fn connect_options(lua: &Lua, host: &Value, opts: &Value) -> Result<ConnectOptions> {
    const HOST: &str = "a host name, an address or a connect string (mqtt://, ws://)";
    let text = match host {
        Value::String(s) if !s.as_bytes().is_empty() => s.to_str().map(|s| s.to_string()).ok(),
        Value::Nil => None,
        _ => return Err(bad_arg(1, "host", HOST, host)),
    };
    let mut o = ConnectOptions::new("");
    let mut named = false;
    let mut own_id = false;
    let mut tls_off = false;
    if let Some(text) = text {
        let server = Server::parse(&text).map_err(|why| Error::BadConnectString { text, why })?;
        o.host = server.host;
        o.port = server.port;
        o.transport = server.transport;
        o.tls_scheme = server.tls;
        o.username = server.username;
        o.password = server.password;
        named = true;
    } else if !matches!(host, Value::Nil) {
        return Err(bad_arg(1, "host", HOST, host));
    }
    for (name, v) in option_pairs(opts, 2, CONNECT_KEYS)? {
        match name.as_str() {
            "port" => o.port = number_option(&name, &v, options::port, expect::PORT)?,
            "client_id" => {
                o.client_id = text_option(&name, &v)?;
                own_id = true;
            }
            "username" => o.username = Some(text_option(&name, &v)?),
            // A password is never quoted back in a message.
            "password" => {
                let hidden = match &v {
                    Value::String(s) => format!("{} bytes that are not UTF-8", s.as_bytes().len()),
                    other => other.type_name().to_string(),
                };
                let text = text_option(&name, &v).map_err(|_| CallError::Option {
                    name: name.clone(),
                    expected: expect::PASSWORD,
                    got: hidden,
                })?;
                o.password = Some(text);
            }
            "keep_alive" => {
                o.keep_alive = number_option(&name, &v, options::keep_alive, expect::KEEP_ALIVE)?
            }
            "clean_session" => o.clean_session = bool_option(&name, &v)?,
            "timeout" => o.timeout = number_option(&name, &v, options::timeout, expect::TIMEOUT)?,
            "capacity" => {
                o.capacity = number_option(&name, &v, options::capacity, expect::CAPACITY)?
            }
            "will" => o.will = Some(will(lua, &v)?),
            "reconnect" => o.reconnect = reconnect(&v)?,
            "servers" => o.servers = servers(&v)?,
            "tls" => {
                o.tls = tls(&v)?;
                tls_off = v == Value::Boolean(false);
            }
            _ => {
                return Err(CallError::UnknownOption {
                    name,
                    known: CONNECT_KEYS,
                })
            }
        }
    }
    if !own_id && !o.clean_session {
        // A generated id is new on every run: its session would never be resumed.
        return Err(CallError::Option {
            name: "client_id".into(),
            expected: "a client id of your own when clean_session is false",
            got: "nil".into(),
        });
    }
    if !named {
        // No host argument: the first of `servers` takes its place.
        if o.servers.is_empty() {
            return Err(bad_arg(1, "host", HOST, host));
        }
        let first = o.servers.remove(0);
        o.host = first.host;
        o.port = first.port;
        o.transport = first.transport;
        o.tls_scheme = first.tls;
        if o.username.is_none() {
            o.username = first.username;
            o.password = first.password;
        }
    }
    if tls_off && o.tls_scheme {
        return Err(CallError::Option {
            name: "tls".into(),
            expected:
                "true or a table with an mqtts:// or wss:// connect string, which asks for TLS",
            got: "false".into(),
        });
    }
    o.check()?;
    Ok(o)
}

fn tls(v: &Value) -> Result<Option<TlsOptions>> {
    const TABLE: &str =
        "true, false or a table { ca_file, cert_file, key_file, server_name, insecure, alpn }";
    match v {
        Value::Boolean(false) => return Ok(None),
        Value::Boolean(true) => return Ok(Some(TlsOptions::default())),
        Value::Table(_) => {}
        _ => return Err(bad_option("tls", TABLE, v)),
    }
    let mut t = TlsOptions::default();
    for (name, value) in option_pairs(v, 2, TLS_KEYS)? {
        let full = format!("tls.{name}");
        match name.as_str() {
            "ca_file" => t.ca_file = Some(text_option(&full, &value)?.into()),
            "cert_file" => t.cert_file = Some(text_option(&full, &value)?.into()),
            "key_file" => t.key_file = Some(text_option(&full, &value)?.into()),
            "server_name" => t.server_name = Some(text_option(&full, &value)?),
            "insecure" => t.insecure = bool_option(&full, &value)?,
            "alpn" => {
                let Value::Table(list) = &value else {
                    return Err(bad_option(&full, "a list of protocol names", &value));
                };
                for p in list.sequence_values::<Value>() {
                    t.alpn.push(text_option(&full, &p.map_err(lua_error)?)?);
                }
            }
            _ => {
                return Err(CallError::UnknownOption {
                    name: full,
                    known: TLS_KEYS,
                })
            }
        }
    }
    Ok(Some(t))
}

fn servers(v: &Value) -> Result<Vec<Server>> {
    const LIST: &str = "a list of connect strings such as \"mqtt://host:1883\"";
    let Value::Table(list) = v else {
        return Err(bad_option("servers", LIST, v));
    };
    let mut out = Vec::new();
    for entry in list.sequence_values::<Value>() {
        let entry = entry.map_err(lua_error)?;
        let Value::String(s) = &entry else {
            return Err(bad_option("servers", LIST, &entry));
        };
        let text = s.to_string_lossy();
        out.push(Server::parse(&text).map_err(|why| Error::BadConnectString { text, why })?);
    }
    if out.is_empty() {
        return Err(bad_option("servers", LIST, v));
    }
    Ok(out)
}

/// `mqtt.log`'s options: `{ level = "info", format = "pretty" | "json", file = path }`.
///
/// # Errors
/// `BadArgument`, `BadOption` or `UnknownOption`.
pub fn log_options(v: &Value) -> Result<LogConfig> {
    let mut cfg = LogConfig::default();
    for (name, value) in option_pairs(v, 1, LOG_KEYS)? {
        match name.as_str() {
            "level" => cfg.filter = text_option(&name, &value)?,
            "format" => {
                cfg.format = match text_option(&name, &value)?.as_str() {
                    "pretty" => Format::Pretty,
                    "json" => Format::Json,
                    _ => return Err(bad_option(&name, "\"pretty\" or \"json\"", &value)),
                }
            }
            "file" => cfg.file = Some(text_option(&name, &value)?.into()),
            _ => {
                return Err(CallError::UnknownOption {
                    name,
                    known: LOG_KEYS,
                })
            }
        }
    }
    Ok(cfg)
}

fn reconnect(v: &Value) -> Result<Option<Reconnect>> {
    match v {
        Value::Boolean(false) => return Ok(None),
        Value::Boolean(true) => return Ok(Some(Reconnect::default())),
        Value::Table(_) => {}
        _ => return Err(bad_option("reconnect", expect::RECONNECT, v)),
    }
    let mut r = Reconnect::default();
    for (name, value) in option_pairs(v, 2, RECONNECT_KEYS)? {
        let full = format!("reconnect.{name}");
        match name.as_str() {
            "min_delay" => {
                r.min_delay = number_option(&full, &value, options::delay, expect::DELAY)?
            }
            "max_delay" => {
                r.max_delay = number_option(&full, &value, options::delay, expect::DELAY)?
            }
            "max_attempts" => {
                r.max_attempts = Some(number_option(
                    &full,
                    &value,
                    options::attempts,
                    expect::ATTEMPTS,
                )?)
            }
            _ => {
                return Err(CallError::UnknownOption {
                    name: full,
                    known: RECONNECT_KEYS,
                })
            }
        }
    }
    if r.max_delay < r.min_delay {
        return Err(CallError::Option {
            name: "reconnect.max_delay".into(),
            expected: "a delay no shorter than reconnect.min_delay",
            got: format!("{}", r.max_delay.as_secs_f64()),
        });
    }
    Ok(Some(r))
}

fn will(lua: &Lua, v: &Value) -> Result<Will> {
    if !matches!(v, Value::Table(_)) {
        return Err(bad_option(
            "will",
            "a table { topic, payload, qos, retain }",
            v,
        ));
    }
    let mut topic = None;
    let mut w = Will {
        topic: TopicName::new("-").map_err(|why| Error::Internal(why.to_string()))?,
        payload: Vec::new(),
        qos: QoS::AtMostOnce,
        retain: false,
    };
    for (name, value) in option_pairs(v, 2, WILL_KEYS)? {
        match name.as_str() {
            "topic" => {
                let Value::String(s) = &value else {
                    return Err(bad_option("will.topic", "a string", &value));
                };
                let bytes = s.as_bytes();
                topic =
                    Some(
                        TopicName::from_bytes(&bytes).map_err(|why| CallError::WillTopic {
                            topic: quote(&bytes),
                            why,
                        })?,
                    );
            }
            "payload" => {
                // A number is sent in Lua's string form, as publish sends it.
                let text = match lua.coerce_string(value.clone()) {
                    Ok(Some(s)) => Value::String(s),
                    _ => value.clone(),
                };
                w.payload = payload(&text, 2)
                    .map_err(|_| bad_option("will.payload", "a string or a number", &value))?
            }
            "qos" => w.qos = number_option("will.qos", &value, options::qos, expect::QOS)?,
            "retain" => w.retain = bool_option("will.retain", &value)?,
            _ => {
                return Err(CallError::UnknownOption {
                    name: format!("will.{name}"),
                    known: WILL_KEYS,
                })
            }
        }
    }
    w.topic = topic.ok_or_else(|| bad_option("will.topic", "a string", &Value::Nil))?;
    Ok(w)
}

#[cfg(all(test, feature = "vendored"))]
mod tests {
    use super::*;

    fn connect(lua: &Lua, host: &str, opts: &str) -> Result<ConnectOptions> {
        let host: Value = lua.load(host).eval().unwrap();
        let opts: Value = lua.load(opts).eval().unwrap();
        connect_options(lua, &host, &opts)
    }

    fn err(r: Result<ConnectOptions>) -> String {
        r.expect_err("an error").to_string()
    }

    #[test]
    fn connect_options_take_the_seed_defaults() {
        let lua = Lua::new();
        let o = connect(&lua, "'localhost'", "nil").unwrap();
        assert_eq!((o.port, o.capacity, o.clean_session), (1883, 100, true));
        assert_eq!(o.keep_alive, std::time::Duration::from_secs(60));
        assert_eq!(o.timeout, std::time::Duration::from_secs(10));
        assert!(o.client_id.starts_with("copper-"));
        assert_eq!(o.reconnect, Some(Reconnect::default()));
    }

    #[test]
    fn reconnect_can_be_tuned_or_turned_off() {
        let lua = Lua::new();
        assert_eq!(
            connect(&lua, "'h'", "{ reconnect = false }")
                .unwrap()
                .reconnect,
            None
        );
        let r = connect(
            &lua,
            "'h'",
            "{ reconnect = { min_delay = 0.1, max_delay = 2, max_attempts = 3 } }",
        )
        .unwrap()
        .reconnect
        .unwrap();
        assert_eq!(r.min_delay, std::time::Duration::from_millis(100));
        assert_eq!(r.max_delay, std::time::Duration::from_secs(2));
        assert_eq!(r.max_attempts, Some(3));
    }

    #[test]
    fn connect_options_read_every_key() {
        let lua = Lua::new();
        let o = connect(
            &lua,
            "'h'",
            "{ port = 8883, client_id = 'c', username = 'u', password = 'p', keep_alive = 30,
               clean_session = false, timeout = 2.5, capacity = 7,
               will = { topic = 'w', payload = 42, qos = 1, retain = true } }",
        )
        .unwrap();
        assert_eq!(o.port, 8883);
        assert_eq!(o.client_id, "c");
        assert_eq!(
            (o.username.as_deref(), o.password.as_deref()),
            (Some("u"), Some("p"))
        );
        assert_eq!(o.timeout, std::time::Duration::from_millis(2500));
        let will = o.will.unwrap();
        assert_eq!((will.topic.as_str(), &will.payload[..]), ("w", &b"42"[..]));
        assert_eq!((will.qos, will.retain), (QoS::AtLeastOnce, true));
    }

    #[test]
    fn bad_connect_options_name_the_option_and_the_rule() {
        let lua = Lua::new();
        let cases = [
            ("{ clean_sesion = true }", "unknown option \"clean_sesion\""),
            ("{ [1] = true }", "unknown option \"1\""),
            (
                "{ port = 0 }",
                "bad option 'port': expected an integer port from 1 to 65535, got 0",
            ),
            (
                "{ port = '1883' }",
                "bad option 'port': expected an integer port from 1 to 65535, got \"1883\"",
            ),
            ("{ keep_alive = -1 }", "bad option 'keep_alive'"),
            ("{ timeout = 0/0 }", "bad option 'timeout'"),
            ("{ capacity = 2^40 }", "bad option 'capacity'"),
            ("{ password = 'p' }", "bad option 'username'"),
            (
                "{ client_id = '', clean_session = false }",
                "bad option 'client_id'",
            ),
            (
                "{ clean_session = false }",
                "bad option 'client_id': expected a client id of your own when clean_session is false, got nil",
            ),
            ("{ will = 'x' }", "bad option 'will'"),
            (
                "{ will = { topic = 'a/#' } }",
                "bad option 'will.topic': invalid topic \"a/#\"",
            ),
            (
                "{ will = { topic = 't', color = 1 } }",
                "unknown option \"will.color\"",
            ),
            ("42", "bad argument #2 'options': expected a table, got 42"),
            (
                "{ reconnect = 1 }",
                "bad option 'reconnect': expected true, false or a table",
            ),
            (
                "{ reconnect = { min_delay = -1 } }",
                "bad option 'reconnect.min_delay'",
            ),
            (
                "{ reconnect = { min_delay = 5, max_delay = 1 } }",
                "bad option 'reconnect.max_delay'",
            ),
            (
                "{ reconnect = { max_attempts = 0 } }",
                "bad option 'reconnect.max_attempts'",
            ),
            (
                "{ reconnect = { tries = 3 } }",
                "unknown option \"reconnect.tries\"",
            ),
        ];
        for (opts, want) in cases {
            let e = err(connect(&lua, "'h'", opts));
            assert!(e.contains(want), "{opts}: {e}");
        }
        let e = err(connect(&lua, "''", "nil"));
        assert!(e.contains("bad argument #1 'host'"), "{e}");
        let e = err(connect(&lua, "'mqtts://h'", "{ tls = false }"));
        assert!(
            e.contains("bad option 'tls': expected true or a table with an mqtts:// or wss://"),
            "{e}"
        );
        // A plain first server with a TLS standby is fine.
        assert!(connect(&lua, "'h'", "{ tls = false, servers = { 'mqtts://b' } }").is_ok());
    }
}
