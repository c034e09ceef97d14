//! LuaClient: the native client userdata that init.lua wraps as `Client`. Each method turns
//! its arguments into Rust values, calls [`ClientHandle`], and returns the result or
//! `nil, "<call>: <reason>"`.

use std::sync::Arc;

use mlua::{Lua, UserData, UserDataMethods, Value};

use super::errors::{guard, lua_error, Result};
use super::{args, raw, tables};
use crate::actors::{Claim, ClientHandle, Stats, Subscribed};
use crate::error::Error;

/// A connected client, owned by Lua.
pub struct LuaClient {
    handle: Arc<ClientHandle>,
}

impl LuaClient {
    /// Connects with the arguments of `mqtt.connect(host, options)`.
    ///
    /// # Errors
    /// Bad arguments, or why the broker could not be reached or refused us.
    pub fn connect(lua: &Lua, host: &Value, opts: &Value) -> Result<Self> {
        let opts = tables::connect_options(lua, host, opts)?;
        Ok(Self {
            handle: Arc::new(ClientHandle::connect(opts)?),
        })
    }

    /// `subscribe(filter, qos, has_handler)`: `{ granted QoS, subscription id }`.
    fn subscribe(&self, filter: &Value, qos: &Value, handler: &Value) -> Result<[i64; 2]> {
        let filter = args::filter(filter, 1)?;
        let qos = args::qos_arg(qos, 2)?;
        let claim = handler
            .as_boolean()
            .unwrap_or(false)
            .then_some(Claim::Handlers);
        let mut outcome = self.handle.subscribe_many(vec![(filter, qos, claim)])?;
        granted(outcome.pop())
    }

    /// `subscribe_many({ {filter, qos [, handler]}, ... })`: `{ qos1, id1, qos2, id2, ... }`,
    /// flat so that ten thousand subscriptions do not cost ten thousand tables. A refused
    /// filter's QoS is `false`, and then `refused` holds the error naming every refused
    /// filter (the granted ones are subscribed all the same).
    fn subscribe_many(&self, lua: &Lua, list: &Value) -> Result<mlua::Table> {
        let requests = args::subscription_list(list)?;
        let outcome = self.handle.subscribe_many(requests)?;
        let t = lua
            .create_table_with_capacity(2 * outcome.len(), 1)
            .map_err(lua_error)?;
        let mut refused = Vec::new();
        for (i, s) in outcome.into_iter().enumerate() {
            let qos = match s.granted {
                Some(qos) => Value::Integer(i64::from(qos.as_u8())),
                None => {
                    refused.push(s.filter.into_string());
                    Value::Boolean(false)
                }
            };
            t.raw_set(2 * i + 1, qos).map_err(lua_error)?;
            t.raw_set(2 * i + 2, s.id as i64).map_err(lua_error)?;
        }
        if !refused.is_empty() {
            let why = Error::SubscriptionsRefused(refused);
            t.raw_set("refused", format!("mqtt.subscribe_many: {why}"))
                .map_err(lua_error)?;
        }
        Ok(t)
    }

    fn claim(&self, id: &Value, filter: &Value) -> Result<bool> {
        let filter = args::filter(filter, 2)?;
        self.handle.claim(args::subscription_id(id)?, &filter);
        Ok(true)
    }

    /// `release(id, filter)`: Lua has collected the read handle of subscription `id`.
    fn release(&self, id: &Value, filter: &Value) -> Result<()> {
        let filter = args::filter(filter, 2)?;
        self.handle
            .release(args::subscription_id(id)?, Arc::from(filter.as_str()));
        Ok(())
    }

    fn flush(&self, timeout: &Value) -> Result<bool> {
        let timeout = args::wait_arg(timeout, 1)?.unwrap_or(self.handle.timeout());
        self.handle.flush(timeout)?;
        Ok(true)
    }

    /// The ids of the subscriptions that ended.
    fn unsubscribe(&self, filter: &Value) -> Result<Vec<i64>> {
        let ended = self.handle.unsubscribe(args::filter(filter, 1)?)?;
        Ok(ended.into_iter().map(|id| id as i64).collect())
    }

    /// Whether subscription `id` is active.
    fn is_active(&self, id: &Value) -> Result<bool> {
        Ok(self.handle.is_active(args::subscription_id(id)?))
    }
}

impl UserData for LuaClient {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        // What the two calls made for every message find this client by (raw.rs).
        m.add_method("bind", |lua, this, ()| raw::bind(lua, &this.handle));
        m.add_method(
            "subscribe",
            |_, this, (filter, qos, handler): (Value, Value, Value)| {
                guard("mqtt.subscribe", || this.subscribe(&filter, &qos, &handler))
            },
        );
        m.add_method("subscribe_many", |lua, this, list: Value| {
            guard("mqtt.subscribe_many", || this.subscribe_many(lua, &list))
        });
        m.add_method("claim", |_, this, (id, filter): (Value, Value)| {
            guard("mqtt.subscription", || this.claim(&id, &filter))
        });
        // Called by a Subscription's finalizer, which has no one to report to: never raises.
        m.add_method("release", |_, this, (id, filter): (Value, Value)| {
            let _ = guard("mqtt.subscription", || this.release(&id, &filter));
            Ok(())
        });
        m.add_method("flush", |_, this, timeout: Value| {
            guard("mqtt.flush", || this.flush(&timeout))
        });
        m.add_method("unsubscribe", |_, this, filter: Value| {
            guard("mqtt.unsubscribe", || this.unsubscribe(&filter))
        });
        m.add_method("is_active", |_, this, id: Value| {
            guard("mqtt.subscription", || this.is_active(&id))
        });
        m.add_method("getfd", |_, this, ()| {
            guard("mqtt.getfd", || Ok(this.handle.readiness_fd()?))
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
                this.handle.disconnect()?;
                Ok(true)
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

/// `{ granted QoS, id }` of one subscription, or why it has none.
fn granted(s: Option<Subscribed>) -> Result<[i64; 2]> {
    match s {
        Some(Subscribed {
            granted: Some(qos),
            id,
            ..
        }) => Ok([i64::from(qos.as_u8()), id as i64]),
        Some(refused) => Err(Error::SubscriptionRefused {
            filter: refused.filter.into_string(),
        }
        .into()),
        None => Err(Error::Internal("SUBACK without return codes".into()).into()),
    }
}
