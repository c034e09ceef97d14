//! A received message as the values init.lua builds the message table from.

use mlua::{Lua, Value};

use crate::actors::Message;

/// What one `receive_slice` returns: a message's fields, or two values saying why there is
/// none. A fixed tuple, which mlua pushes onto the Lua stack without building a list.
pub type Values = (Value, Value, Value, Value, Value, Value, Value);

/// `topic, payload, qos, retain, dup, subscription, claimed_by`: init.lua puts the first six in
/// the table a script reads (`{ topic, payload, qos, retain, dup, subscription }`), which
/// Lua builds faster than one native call per field; `claimed_by` is the id of the subscription
/// that claimed the message, and then `subscription` is nil: init.lua has that
/// subscription's filter already. The payload is copied once, into the Lua string.
///
/// # Errors
/// Only when Lua cannot allocate.
pub fn values(lua: &Lua, m: Message) -> mlua::Result<Values> {
    let subscription = match (m.claimed_by, m.subscription) {
        (None, Some(filter)) => Value::String(lua.create_string(&*filter)?),
        _ => Value::Nil,
    };
    Ok((
        Value::String(lua.create_string(&m.topic)?),
        Value::String(lua.create_string(&m.payload)?),
        Value::Integer(i64::from(m.qos.as_u8())),
        Value::Boolean(m.retain),
        Value::Boolean(m.dup),
        subscription,
        m.claimed_by
            .map_or(Value::Nil, |id| Value::Integer(id as i64)),
    ))
}

/// Two values where a message's fields would be.
pub fn pair(first: Value, second: Value) -> Values {
    (
        first,
        second,
        Value::Nil,
        Value::Nil,
        Value::Nil,
        Value::Nil,
        Value::Nil,
    )
}
