//! Readers of one option's value: text, a boolean, a number within its rule; and the
//! pairs of an options table. Each failure names the option.

use mlua::{Table, Value};

use super::errors::{bad_arg, bad_option, lua_error, CallError, Result};
use super::value::LuaArg;
use crate::options::expect;

/// The key/value pairs of an options table, with string keys.
pub fn option_pairs(
    v: &Value,
    position: usize,
    known: &'static str,
) -> Result<Vec<(String, Value)>> {
    let t: &Table = match v {
        Value::Nil => return Ok(Vec::new()),
        Value::Table(t) => t,
        _ => return Err(bad_arg(position, "options", "a table", v)),
    };
    let mut pairs = Vec::new();
    for pair in t.pairs::<Value, Value>() {
        let (k, value) = pair.map_err(lua_error)?;
        let Value::String(name) = &k else {
            return Err(CallError::UnknownOption {
                name: k.describe(),
                known,
            });
        };
        pairs.push((name.to_string_lossy(), value));
    }
    Ok(pairs)
}

pub fn text_option(name: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) => s
            .to_str()
            .map(|s| s.to_string())
            .map_err(|_| bad_option(name, expect::TEXT, v)),
        _ => Err(bad_option(name, expect::TEXT, v)),
    }
}

pub fn bool_option(name: &str, v: &impl LuaArg) -> Result<bool> {
    v.boolean()
        .ok_or_else(|| bad_option(name, expect::BOOLEAN, v))
}

pub fn number_option<T>(
    name: &str,
    v: &impl LuaArg,
    rule: fn(f64) -> Option<T>,
    expected: &'static str,
) -> Result<T> {
    v.number()
        .and_then(rule)
        .ok_or_else(|| bad_option(name, expected, v))
}
