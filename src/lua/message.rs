//! A received message as the Lua table a script reads.

use mlua::{Lua, Table};

use crate::actors::Message;

/// Builds `{ topic, payload, qos, retain, dup, subscription }`, copying the payload once.
///
/// # Errors
/// Only when Lua cannot allocate.
pub fn to_table(lua: &Lua, m: Message) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 6)?;
    t.raw_set("topic", m.topic)?;
    t.raw_set("payload", lua.create_string(&m.payload)?)?;
    t.raw_set("qos", m.qos.as_u8())?;
    t.raw_set("retain", m.retain)?;
    t.raw_set("dup", m.dup)?;
    if let Some(filter) = m.subscription {
        t.raw_set("subscription", &*filter)?;
    }
    Ok(t)
}
