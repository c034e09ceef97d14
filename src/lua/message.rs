//! A received message as the values init.lua builds the message table from.

use mlua::{Lua, MultiValue, Value};

use crate::actors::Message;

/// `topic, payload, qos, retain, dup, subscription, route`: init.lua puts the first six in
/// the table a script reads (`{ topic, payload, qos, retain, dup, subscription }`), which
/// Lua builds faster than one native call per field; `route` is the id of the subscription
/// that claimed the message. The payload is copied once, into the Lua string.
///
/// # Errors
/// Only when Lua cannot allocate.
pub fn values(lua: &Lua, m: Message) -> mlua::Result<MultiValue> {
    let mut values = MultiValue::with_capacity(7);
    values.push_back(Value::String(lua.create_string(&m.topic)?));
    values.push_back(Value::String(lua.create_string(&m.payload)?));
    values.push_back(Value::Integer(i64::from(m.qos.as_u8())));
    values.push_back(Value::Boolean(m.retain));
    values.push_back(Value::Boolean(m.dup));
    values.push_back(match m.subscription {
        Some(filter) => Value::String(lua.create_string(&*filter)?),
        None => Value::Nil,
    });
    values.push_back(m.route.map_or(Value::Nil, |id| Value::Integer(id as i64)));
    Ok(values)
}
