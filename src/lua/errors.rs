//! The one place where a failure becomes the string a script catches,
//! `"<call>: <reason>"` (init.lua raises it at the script's line): the client's typed errors
//! worded for scripts, and what only a Lua call can get wrong.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::value::LuaArg;
use crate::error::Error;
use crate::topic::TopicError;

/// A Lua call's failure.
#[derive(Debug)]
pub enum CallError {
    /// An argument of the wrong type, or out of its range.
    Argument {
        position: usize,
        name: &'static str,
        expected: &'static str,
        got: String,
    },
    /// An option's value that breaks its rule (read from a table in the Lua layer).
    Option {
        name: String,
        expected: &'static str,
        got: String,
    },
    /// An option the call does not know.
    UnknownOption { name: String, known: &'static str },
    /// The will's topic is not a topic name.
    WillTopic { topic: String, why: TopicError },
    /// What the client reports.
    Client(Error),
}

/// A Lua call's result.
pub type Result<T, E = CallError> = std::result::Result<T, E>;

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Client(e)
    }
}

/// The wording a script reads.
impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let option = |f: &mut fmt::Formatter<'_>, name: &str, expected: &str, got: &str| {
            write!(f, "bad option '{name}': expected {expected}, got {got}")
        };
        match self {
            CallError::Argument {
                position,
                name,
                expected,
                got,
            } => write!(
                f,
                "bad argument #{position} '{name}': expected {expected}, got {got}"
            ),
            CallError::Option {
                name,
                expected,
                got,
            } => option(f, name, expected, got),
            CallError::UnknownOption { name, known } => {
                write!(f, "unknown option {name:?} (known options: {known})")
            }
            CallError::WillTopic { topic, why } => {
                write!(f, "bad option 'will.topic': invalid topic {topic:?}: {why}")
            }
            CallError::Client(Error::InvalidOption {
                option: name,
                expected,
                got,
            }) => option(f, name, expected, got),
            // Only `publish` checks a size, and the payload is its second argument.
            CallError::Client(Error::PayloadTooLarge { size, max }) => write!(
                f,
                "bad argument #2 'payload': expected a message of at most {max} bytes with \
                 its topic (MQTT's limit), got {size}"
            ),
            CallError::Client(e) => e.fmt(f),
        }
    }
}

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

/// A Lua-level failure (allocation, mostly) as a call's error.
pub fn lua_error(e: mlua::Error) -> CallError {
    CallError::Client(Error::Internal(e.to_string()))
}

/// Argument `position`, `name`, is not what the call expects.
pub fn bad_arg(
    position: usize,
    name: &'static str,
    expected: &'static str,
    v: &impl LuaArg,
) -> CallError {
    CallError::Argument {
        position,
        name,
        expected,
        got: v.describe(),
    }
}

/// Option `name` breaks its rule.
pub fn bad_option(name: &str, expected: &'static str, v: &impl LuaArg) -> CallError {
    CallError::Option {
        name: name.to_string(),
        expected,
        got: v.describe(),
    }
}

#[cfg(all(test, feature = "vendored"))]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_string() {
        let r: Result<(), String> = guard("mqtt.x", || panic!("boom")).unwrap();
        assert_eq!(r.unwrap_err(), "mqtt.x: internal error: boom");
    }

    #[test]
    fn the_client_s_typed_errors_are_worded_for_scripts() {
        let payload = CallError::from(Error::PayloadTooLarge {
            size: 300,
            max: 200,
        });
        assert_eq!(
            payload.to_string(),
            "bad argument #2 'payload': expected a message of at most 200 bytes with its \
             topic (MQTT's limit), got 300"
        );
        let option = CallError::from(Error::InvalidOption {
            option: "tls.ca_file".into(),
            expected: "a readable file",
            got: "\"x\"".into(),
        });
        assert_eq!(
            option.to_string(),
            "bad option 'tls.ca_file': expected a readable file, got \"x\""
        );
        let other = CallError::from(Error::Disconnected);
        assert_eq!(other.to_string(), Error::Disconnected.to_string());
    }
}
