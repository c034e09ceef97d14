//! The one place where a failure becomes the string a script catches,
//! `"<call>: <reason>"` (init.lua raises it at the script's line), and how a bad value is
//! named in it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use mlua::Value;

use crate::error::{Error, Result};
use crate::options::quote;

/// Runs a Lua-facing call: its error, or a panic, comes back as `nil, "<call>: <reason>"`.
///
/// # Errors
/// Never at the Lua level: every failure is the second return value.
pub fn guard<T>(call: &str, f: impl FnOnce() -> Result<T>) -> mlua::Result<Result<T, String>> {
    Ok(match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{call}: {e}")),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(format!("{call}: internal error: {what}"))
        }
    })
}

/// A Lua-level failure (allocation, mostly) as a client error.
pub fn lua_error(e: mlua::Error) -> Error {
    Error::Internal(e.to_string())
}

/// How a value is named in messages: numbers and strings by value, others by type.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i.to_string(),
        // Very large and very small numbers in exponent form, as Lua prints them.
        Value::Number(n) if n.is_finite() && *n != 0.0 && !(1e-4..1e15).contains(&n.abs()) => {
            format!("{n:e}")
        }
        Value::Number(n) => n.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::String(s) => format!("{:?}", quote(&s.as_bytes())),
        other => other.type_name().to_string(),
    }
}

pub fn bad_arg(position: usize, name: &'static str, expected: &'static str, v: &Value) -> Error {
    Error::BadArgument {
        position,
        name,
        expected,
        got: describe(v),
    }
}

pub fn bad_option(name: &str, expected: &'static str, v: &Value) -> Error {
    Error::BadOption {
        name: name.to_string(),
        expected,
        got: describe(v),
    }
}

#[cfg(all(test, feature = "vendored"))]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_described_briefly() {
        let cases = [
            (Value::Integer(42), "42"),
            (Value::Number(1.5), "1.5"),
            (Value::Number(1e300), "1e300"),
            (Value::Number(-2.5e-7), "-2.5e-7"),
            (Value::Number(123_456.0), "123456"),
            (Value::Number(f64::INFINITY), "inf"),
        ];
        for (v, text) in cases {
            assert_eq!(describe(&v), text);
        }
    }

    #[test]
    fn a_panic_becomes_an_error_string() {
        let r: Result<(), String> = guard("mqtt.x", || panic!("boom")).unwrap();
        assert_eq!(r.unwrap_err(), "mqtt.x: internal error: boom");
    }
}
