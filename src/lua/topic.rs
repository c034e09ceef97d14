//! `mqtt.topic` (checks and matching for scripts' own tests) and the native half of
//! `mqtt.router()`: the client's topic trie, keyed by ids that init.lua maps to Lua values.

use mlua::{Lua, Table, UserData, UserDataMethods, Value};

use super::args;
use super::errors::{self, guard, Result};
use super::value::LuaArg;
use crate::topic::{TopicError, TopicFilter, TopicName, TopicTrie};

/// A standalone topic trie: filter → ids.
#[derive(Default)]
pub struct LuaRouter {
    trie: TopicTrie<i64>,
}

fn id(v: &Value) -> Result<i64> {
    match v {
        Value::Integer(i) => Ok(*i),
        _ => Err(errors::bad_arg(2, "id", "an integer", v)),
    }
}

impl UserData for LuaRouter {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method_mut("add", |_, this, (filter, value): (Value, Value)| {
            guard("mqtt.router.add", || {
                Ok(this.trie.insert(&args::filter(&filter, 1)?, id(&value)?))
            })
        });
        m.add_method_mut("remove", |_, this, (filter, value): (Value, Value)| {
            guard("mqtt.router.remove", || {
                Ok(this.trie.remove(&args::filter(&filter, 1)?, &id(&value)?))
            })
        });
        m.add_method("match", |lua, this, topic: Value| {
            guard("mqtt.router.match", || {
                let topic = args::topic(&topic, 1)?;
                let ids = lua.create_table().map_err(errors::lua_error)?;
                let mut n = 0;
                let mut failed = None;
                this.trie.for_each_match(topic.as_str(), |&id| {
                    n += 1;
                    if let Err(e) = ids.raw_set(n, id) {
                        failed = Some(e);
                    }
                });
                match failed {
                    Some(e) => Err(errors::lua_error(e)),
                    None => Ok(ids),
                }
            })
        });
    }
}

/// `true`, or `false` and why `v` is not a valid string by `check`.
fn validity(
    v: &Value,
    check: fn(&[u8]) -> std::result::Result<(), TopicError>,
) -> (bool, Option<String>) {
    let Value::String(s) = v else {
        return (
            false,
            Some(format!("expected a string, got {}", v.describe())),
        );
    };
    match check(&s.as_bytes()) {
        Ok(()) => (true, None),
        Err(why) => (false, Some(why.to_string())),
    }
}

/// Builds `mqtt.topic` and the `router` constructor into `exports`.
///
/// # Errors
/// Only when Lua cannot allocate.
pub fn register(lua: &Lua, exports: &Table) -> mlua::Result<()> {
    let topic = lua.create_table()?;
    topic.set(
        "matches",
        lua.create_function(|_, (filter, name): (Value, Value)| {
            guard("mqtt.topic.matches", || {
                let filter = args::filter(&filter, 1)?;
                let name = args::topic(&name, 2)?;
                Ok(filter.matches(name.as_str()))
            })
        })?,
    )?;
    topic.set(
        "valid_filter",
        lua.create_function(|_, f: Value| {
            Ok(validity(&f, |b| TopicFilter::from_bytes(b).map(drop)))
        })?,
    )?;
    topic.set(
        "valid_name",
        lua.create_function(|_, t: Value| {
            Ok(validity(&t, |b| TopicName::from_bytes(b).map(drop)))
        })?,
    )?;
    exports.set("topic", topic)?;
    exports.set(
        "router",
        lua.create_function(|_, ()| Ok(LuaRouter::default()))?,
    )?;
    Ok(())
}
