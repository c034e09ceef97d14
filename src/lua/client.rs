//! LuaClient: the native client userdata that init.lua wraps as `Client`. Each method turns
//! its arguments into Rust values, calls [`ClientHandle`], and returns the result or
//! `nil, "<call>: <reason>"`.

use std::time::Duration;

use mlua::{Lua, MultiValue, UserData, UserDataMethods, Value};

use super::convert::{self, guard, lua_error};
use super::message;
use crate::actors::{ClientHandle, Stats};
use crate::error::Result;

/// Longest one native wait lasts before control returns to Lua, so that Ctrl-C (which the
/// lua5.4 interpreter handles in a hook that runs only while Lua code runs) takes effect.
const SLICE: Duration = Duration::from_millis(100);

/// A connected client, owned by Lua.
pub struct LuaClient {
    handle: ClientHandle,
}

impl LuaClient {
    /// Connects with the arguments of `mqtt.connect(host, options)`.
    ///
    /// # Errors
    /// Bad arguments, or why the broker could not be reached or refused us.
    pub fn connect(lua: &Lua, host: &Value, opts: &Value) -> Result<Self> {
        let opts = convert::connect_options(lua, host, opts)?;
        Ok(Self {
            handle: ClientHandle::connect(opts)?,
        })
    }

    fn publish(&self, lua: &Lua, topic: &Value, payload: &Value, opts: &Value) -> Result<bool> {
        let topic = convert::topic(topic, 1)?;
        let payload = convert::payload(lua, payload, 2)?;
        let opts = convert::publish_options(opts, 3)?;
        self.handle.publish(topic, payload, opts)?;
        Ok(true)
    }

    fn subscribe(&self, filter: &Value, qos: &Value) -> Result<u8> {
        let filter = convert::filter(filter, 1)?;
        let qos = convert::qos_arg(qos, 2)?;
        Ok(self.handle.subscribe(filter, qos)?.as_u8())
    }

    fn flush(&self, timeout: &Value) -> Result<bool> {
        let timeout = convert::wait_arg(timeout, 1)?.unwrap_or(self.handle.timeout());
        self.handle.flush(timeout)?;
        Ok(true)
    }

    fn unsubscribe(&self, filter: &Value) -> Result<bool> {
        self.handle.unsubscribe(convert::filter(filter, 1)?)?;
        Ok(true)
    }

    /// One slice of `receive(timeout)`: the message; or `false` and the wait still left
    /// (`nil` for no bound) when the slice ended first; or nothing when the wait is over.
    fn receive_slice(&self, lua: &Lua, wait: &Value) -> Result<MultiValue> {
        let wait = convert::wait_arg(wait, 1)?;
        let slice = wait.map_or(SLICE, |w| w.min(SLICE));
        let values = match self.handle.take(slice)? {
            Some(m) => vec![Value::Table(message::to_table(lua, m).map_err(lua_error)?)],
            None => match wait {
                None => vec![Value::Boolean(false), Value::Nil],
                Some(w) if w > slice => vec![
                    Value::Boolean(false),
                    Value::Number((w - slice).as_secs_f64()),
                ],
                Some(_) => vec![Value::Nil],
            },
        };
        Ok(MultiValue::from_vec(values))
    }
}

impl UserData for LuaClient {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method(
            "publish",
            |lua, this, (topic, payload, opts): (Value, Value, Value)| {
                guard("mqtt.publish", || {
                    this.publish(lua, &topic, &payload, &opts)
                })
            },
        );
        m.add_method("subscribe", |_, this, (filter, qos): (Value, Value)| {
            guard("mqtt.subscribe", || this.subscribe(&filter, &qos))
        });
        m.add_method("flush", |_, this, timeout: Value| {
            guard("mqtt.flush", || this.flush(&timeout))
        });
        m.add_method("unsubscribe", |_, this, filter: Value| {
            guard("mqtt.unsubscribe", || this.unsubscribe(&filter))
        });
        m.add_method("receive_slice", |lua, this, wait: Value| {
            match guard("mqtt.receive", || this.receive_slice(lua, &wait))? {
                Ok(values) => Ok(values),
                Err(e) => Ok(MultiValue::from_vec(vec![
                    Value::Nil,
                    Value::String(lua.create_string(e)?),
                ])),
            }
        });
        m.add_method("is_connected", |_, this, ()| Ok(this.handle.is_connected()));
        m.add_method("is_closed", |_, this, ()| Ok(this.handle.is_closed()));
        m.add_method("last_error", |_, this, ()| Ok(this.handle.last_error()));
        m.add_method("stats", |lua, this, ()| {
            stats_table(lua, this.handle.stats())
        });
        m.add_method("client_id", |_, this, ()| {
            Ok(this.handle.client_id().to_string())
        });
        m.add_method("disconnect", |_, this, ()| {
            guard("mqtt.disconnect", || {
                this.handle.disconnect().map(|()| true)
            })
        });
    }
}

/// `client:stats()`'s table.
fn stats_table(lua: &Lua, s: Stats) -> mlua::Result<mlua::Table> {
    let t = lua.create_table_with_capacity(0, 10)?;
    t.raw_set("messages_sent", s.messages_sent)?;
    t.raw_set("bytes_sent", s.bytes_sent)?;
    t.raw_set("messages_received", s.messages_received)?;
    t.raw_set("bytes_received", s.bytes_received)?;
    t.raw_set("dropped", s.dropped)?;
    t.raw_set("queued", s.queued)?;
    t.raw_set("in_flight", s.in_flight)?;
    t.raw_set("reconnects", s.reconnects)?;
    t.raw_set("subscriptions", s.subscriptions)?;
    t.raw_set("last_error", s.last_error)?;
    Ok(t)
}
