//! The arguments of the client's calls (publish, subscribe, receive, ...), read into the
//! client's Rust types; each failure names the argument by its position.

use mlua::Value;

use super::errors::{bad_arg, lua_error, CallError, Result};
use super::fields::{bool_option, number_option};
use super::value::LuaArg;
use crate::actors::Claim;
use crate::error::Error;
use crate::options::{self, expect, quote, PublishOptions, QoS};
use crate::topic::{TopicFilter, TopicName};

/// A topic name argument (publish).
///
/// # Errors
/// `Argument` for a non-string; `InvalidTopic` with the rule it breaks.
pub fn topic(v: &impl LuaArg, position: usize) -> Result<TopicName> {
    v.with_bytes(|bytes| {
        TopicName::from_bytes(bytes).map_err(|why| {
            CallError::Client(Error::InvalidTopic {
                topic: quote(bytes),
                why,
            })
        })
    })
    .unwrap_or_else(|| Err(bad_arg(position, "topic", "a string", v)))
}

/// A topic filter argument (subscribe, unsubscribe).
///
/// # Errors
/// `Argument` for a non-string; `InvalidFilter` with the rule it breaks.
pub fn filter(v: &impl LuaArg, position: usize) -> Result<TopicFilter> {
    v.with_bytes(|bytes| {
        TopicFilter::from_bytes(bytes).map_err(|why| {
            CallError::Client(Error::InvalidFilter {
                filter: quote(bytes),
                why,
            })
        })
    })
    .unwrap_or_else(|| Err(bad_arg(position, "filter", "a string", v)))
}

/// A payload: a string (any bytes) or a number, sent in Lua's string form (which the
/// caller has made of it: Lua's own conversion, `lua_tolstring`, writes it in place).
///
/// # Errors
/// `BadArgument` for any other type.
pub fn payload(v: &impl LuaArg, position: usize) -> Result<Vec<u8>> {
    v.with_bytes(<[u8]>::to_vec)
        .ok_or_else(|| bad_arg(position, "payload", "a string or a number", v))
}

/// A QoS argument; nil means 0.
///
/// # Errors
/// `BadArgument` unless 0, 1 or 2.
pub fn qos_arg(v: &impl LuaArg, position: usize) -> Result<QoS> {
    if v.is_nil() {
        return Ok(QoS::AtMostOnce);
    }
    v.number()
        .and_then(options::qos)
        .ok_or_else(|| bad_arg(position, "qos", expect::QOS, v))
}

/// A subscription id, as init.lua passes it back.
///
/// # Errors
/// `BadArgument` unless a positive integer.
pub fn subscription_id(v: &impl LuaArg) -> Result<u64> {
    match v.integer() {
        Some(i) if i > 0 => Ok(i as u64),
        _ => Err(bad_arg(
            1,
            "subscription",
            "a subscription of this client",
            v,
        )),
    }
}

/// `subscribe_many`'s list: `{ {filter, qos, has_handler}, ... }`, at least one entry.
///
/// # Errors
/// `BadArgument` naming the entry, or the filter's or QoS's own error.
pub fn subscription_list(v: &Value) -> Result<Vec<(TopicFilter, QoS, Option<Claim>)>> {
    let Value::Table(list) = v else {
        return Err(bad_arg(
            1,
            "subscriptions",
            "a list of { filter, qos } tables",
            v,
        ));
    };
    let mut out = Vec::new();
    for entry in list.sequence_values::<Value>() {
        let entry = entry.map_err(lua_error)?;
        let Value::Table(t) = &entry else {
            return Err(bad_arg(
                1,
                "subscriptions",
                "a list of { filter, qos } tables",
                &entry,
            ));
        };
        let filter = filter(&t.raw_get::<Value>(1).map_err(lua_error)?, 1)?;
        let qos = qos_arg(&t.raw_get::<Value>(2).map_err(lua_error)?, 2)?;
        let claim = match t.raw_get(3).map_err(lua_error)? {
            Value::Nil => None,
            Value::Function(_) => Some(Claim::Handlers),
            other => {
                return Err(bad_arg(
                    1,
                    "subscriptions",
                    "{ filter, qos [, handler function] } entries",
                    &other,
                ))
            }
        };
        out.push((filter, qos, claim));
    }
    if out.is_empty() {
        return Err(bad_arg(
            1,
            "subscriptions",
            "a non-empty list of { filter, qos } tables",
            v,
        ));
    }
    Ok(out)
}

/// A wait in seconds; nil means no bound.
///
/// # Errors
/// `BadArgument` unless a finite number, 0 or more.
pub fn wait_arg(v: &impl LuaArg, position: usize) -> Result<Option<std::time::Duration>> {
    if v.is_nil() {
        return Ok(None);
    }
    v.number()
        .and_then(options::wait)
        .map(Some)
        .ok_or_else(|| bad_arg(position, "timeout", expect::WAIT, v))
}

/// `publish`'s options, which init.lua takes out of the options table (a table read in Lua
/// costs less than one read through the native boundary per key): `qos`, `retain` and
/// `wait`, each nil for its default.
///
/// # Errors
/// `BadOption` naming the option and the rule.
pub fn publish_options(
    qos: &impl LuaArg,
    retain: &impl LuaArg,
    wait: &impl LuaArg,
) -> Result<PublishOptions> {
    let mut o = PublishOptions::default();
    if !qos.is_nil() {
        o.qos = number_option("qos", qos, options::qos, expect::QOS)?;
    }
    if !retain.is_nil() {
        o.retain = bool_option("retain", retain)?;
    }
    if !wait.is_nil() {
        o.wait = bool_option("wait", wait)?;
    }
    if o.wait && o.qos == QoS::AtMostOnce {
        return Err(CallError::Option {
            name: "wait".into(),
            expected: "qos 1 or 2 with wait = true (QoS 0 is never acknowledged)",
            got: "qos 0".into(),
        });
    }
    Ok(o)
}

#[cfg(all(test, feature = "vendored"))]
mod tests {
    use super::*;

    #[test]
    fn topics_reject_invalid_utf8_and_quote_long_values_briefly() {
        let lua = mlua::Lua::new();
        let bad = Value::String(lua.create_string(b"a\xffb").unwrap());
        assert!(topic(&bad, 1)
            .unwrap_err()
            .to_string()
            .contains("not valid UTF-8"));
        let long = Value::String(lua.create_string("x".repeat(70_000)).unwrap());
        let e = topic(&long, 1).unwrap_err().to_string();
        assert!(e.contains("70000 bytes") && e.len() < 200, "{e}");
    }
}
