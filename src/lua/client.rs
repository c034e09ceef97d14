//! LuaClient: the native client userdata that init.lua wraps as `Client`. Each method turns
//! its arguments into Rust values, calls [`ClientHandle`], and returns the result or
//! `nil, "<call>: <reason>"`.

use std::sync::Arc;

use mlua::{Lua, UserData, UserDataMethods, Value};

use super::errors::{guard, lua_error, Result};
use super::pending::Pending;
use super::{args, raw, tables};
use crate::actors::{Claim, ClientHandle, Stats, Subscribed};
use crate::error::Error;
use crate::options::QoS;
use crate::topic::TopicFilter;

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
        let request = subscription(filter, qos, handler)?;
        granted(self.handle.subscribe_many(vec![request])?.pop())
    }

    /// `subscribe_many({ {filter, qos [, handler]}, ... })`: `{ qos1, id1, qos2, id2, ... }`,
    /// flat so that ten thousand subscriptions do not cost ten thousand tables. A refused
    /// filter's QoS is `false`, and then `refused` holds the error naming every refused
    /// filter (the granted ones are subscribed all the same).
    fn subscribe_many(&self, lua: &Lua, list: &Value) -> Result<mlua::Table> {
        let requests = args::subscription_list(list)?;
        subscribed_table(lua, self.handle.subscribe_many(requests)?)
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
        self.handle.flush(self.flush_timeout(timeout)?)?;
        Ok(true)
    }

    /// `flush`'s bound: `timeout` seconds, or the client's timeout.
    fn flush_timeout(&self, timeout: &Value) -> Result<std::time::Duration> {
        Ok(args::wait_arg(timeout, 1)?.unwrap_or(self.handle.timeout()))
    }

    /// The ids of the subscriptions that ended.
    fn unsubscribe(&self, filter: &Value) -> Result<Vec<i64>> {
        Ok(ids(self.handle.unsubscribe(args::filter(filter, 1)?)?))
    }

    /// Whether subscription `id` is active.
    fn is_active(&self, id: &Value) -> Result<bool> {
        Ok(self.handle.is_active(args::subscription_id(id)?))
    }
}

/// The calls that wait for the broker, started for a task of `mqtt.run`: each reads its
/// arguments here, on the Lua thread, and waits on a thread of its own (see [`Pending`]).
impl LuaClient {
    /// `mqtt.connect(host, options)` for a task: the client, once connected.
    ///
    /// # Errors
    /// Bad arguments, or no thread.
    pub fn begin_connect(lua: &Lua, host: &Value, opts: &Value) -> Result<Pending> {
        let opts = tables::connect_options(lua, host, opts)?;
        Pending::start(
            "mqtt.connect",
            move || ClientHandle::connect(opts),
            |_, handle| {
                Ok(Self {
                    handle: Arc::new(handle),
                })
            },
        )
    }

    fn begin_subscribe(&self, filter: &Value, qos: &Value, handler: &Value) -> Result<Pending> {
        let request = subscription(filter, qos, handler)?;
        let handle = self.handle.clone();
        Pending::start(
            "mqtt.subscribe",
            move || handle.subscribe_many(vec![request]),
            |_, mut outcome| Ok(granted(outcome.pop())?.to_vec()),
        )
    }

    fn begin_subscribe_many(&self, list: &Value) -> Result<Pending> {
        let requests = args::subscription_list(list)?;
        let handle = self.handle.clone();
        Pending::start(
            "mqtt.subscribe_many",
            move || handle.subscribe_many(requests),
            subscribed_table,
        )
    }

    fn begin_unsubscribe(&self, filter: &Value) -> Result<Pending> {
        let filter = args::filter(filter, 1)?;
        let handle = self.handle.clone();
        Pending::start(
            "mqtt.unsubscribe",
            move || handle.unsubscribe(filter),
            |_, ended| Ok(ids(ended)),
        )
    }

    fn begin_flush(&self, timeout: &Value) -> Result<Pending> {
        let timeout = self.flush_timeout(timeout)?;
        let handle = self.handle.clone();
        Pending::start(
            "mqtt.flush",
            move || handle.flush(timeout),
            |_, ()| Ok(true),
        )
    }

    fn begin_disconnect(&self) -> Result<Pending> {
        let handle = self.handle.clone();
        Pending::start(
            "mqtt.disconnect",
            move || handle.disconnect(),
            |_, ()| Ok(true),
        )
    }

    /// A publish that waits: for room in the send queue, or (`wait = true`) for the
    /// broker's acknowledgement. `qos`, `retain` and `wait` as init.lua reads them.
    fn begin_publish(&self, topic: &Value, payload: &Value, opts: [&Value; 3]) -> Result<Pending> {
        let topic = args::topic(topic, 1)?;
        let payload = args::payload(payload, 2)?;
        let opts = args::publish_options(opts[0], opts[1], opts[2])?;
        let handle = self.handle.clone();
        Pending::start(
            "mqtt.publish",
            move || handle.publish(topic, payload, opts),
            |_, ()| Ok(true),
        )
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
        m.add_method(
            "begin_subscribe",
            |_, this, (filter, qos, handler): (Value, Value, Value)| {
                guard("mqtt.subscribe", || {
                    this.begin_subscribe(&filter, &qos, &handler)
                })
            },
        );
        m.add_method("begin_subscribe_many", |_, this, list: Value| {
            guard("mqtt.subscribe_many", || this.begin_subscribe_many(&list))
        });
        m.add_method("begin_unsubscribe", |_, this, filter: Value| {
            guard("mqtt.unsubscribe", || this.begin_unsubscribe(&filter))
        });
        m.add_method("begin_flush", |_, this, timeout: Value| {
            guard("mqtt.flush", || this.begin_flush(&timeout))
        });
        m.add_method("begin_disconnect", |_, this, ()| {
            guard("mqtt.disconnect", || this.begin_disconnect())
        });
        m.add_method(
            "begin_publish",
            |_, this, (topic, payload, qos, retain, wait): (Value, Value, Value, Value, Value)| {
                guard("mqtt.publish", || {
                    this.begin_publish(&topic, &payload, [&qos, &retain, &wait])
                })
            },
        );
        m.add_method("news_fd", |_, this, ()| {
            guard("mqtt.run", || Ok(this.handle.news_fd()?))
        });
        m.add_method("clear_news", |_, this, ()| {
            this.handle.clear_news();
            Ok(())
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

/// `subscribe_many`'s table: `{ qos1, id1, qos2, id2, ... }`, flat so that ten thousand
/// subscriptions do not cost ten thousand tables. A refused filter's QoS is `false`, and then
/// `refused` holds the error naming every refused filter (the granted ones are subscribed
/// all the same).
fn subscribed_table(lua: &Lua, outcome: Vec<Subscribed>) -> Result<mlua::Table> {
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

/// `subscribe(filter, qos, has_handler)`'s request.
fn subscription(
    filter: &Value,
    qos: &Value,
    handler: &Value,
) -> Result<(TopicFilter, QoS, Option<Claim>)> {
    let claim = handler
        .as_boolean()
        .unwrap_or(false)
        .then_some(Claim::Handlers);
    Ok((args::filter(filter, 1)?, args::qos_arg(qos, 2)?, claim))
}

/// Subscription ids as Lua integers.
fn ids(ended: Vec<u64>) -> Vec<i64> {
    ended.into_iter().map(|id| id as i64).collect()
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
