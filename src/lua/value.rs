//! A Lua value as the argument readers see it ([`LuaArg`]): an mlua [`Value`] (the client's
//! methods), or a [`Slot`] of the Lua stack (the two calls made per message, `raw.rs`),
//! read where it lies without turning it into a `Value` first.

use std::ffi::{c_int, CStr};

use mlua::{ffi, Value};

use crate::options::quote;

/// What the readers of arguments and options ask of a value.
pub trait LuaArg {
    fn is_nil(&self) -> bool;
    /// An integer or a float.
    fn number(&self) -> Option<f64>;
    /// An integer (not a float with an integral value).
    fn integer(&self) -> Option<i64>;
    fn boolean(&self) -> Option<bool>;
    /// A string's bytes, lent to `f`.
    fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R>;
    /// How a message names the value: numbers and strings by value, others by type.
    fn describe(&self) -> String;
}

impl LuaArg for Value {
    fn is_nil(&self) -> bool {
        Value::is_nil(self)
    }

    fn number(&self) -> Option<f64> {
        match self {
            Value::Integer(i) => Some(*i as f64),
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    fn integer(&self) -> Option<i64> {
        self.as_integer()
    }

    fn boolean(&self) -> Option<bool> {
        self.as_boolean()
    }

    fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        match self {
            Value::String(s) => Some(f(&s.as_bytes())),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Value::Integer(i) => i.to_string(),
            Value::Number(n) => describe_float(*n),
            Value::Boolean(b) => b.to_string(),
            Value::String(s) => describe_bytes(&s.as_bytes()),
            other => other.type_name().to_string(),
        }
    }
}

/// Argument `index` of the running C function, on its Lua stack.
pub struct Slot {
    state: *mut ffi::lua_State,
    index: c_int,
}

impl Slot {
    /// # Safety
    /// `state` is the state of a C function Lua is running, and `index` one of its argument
    /// positions (an absent argument reads as nil); the slot is read only during that call.
    pub unsafe fn new(state: *mut ffi::lua_State, index: c_int) -> Self {
        Self { state, index }
    }

    fn kind(&self) -> c_int {
        // SAFETY: Slot::new's contract; lua_type reads any index of the call's frame.
        unsafe { ffi::lua_type(self.state, self.index) }
    }
}

impl LuaArg for Slot {
    fn is_nil(&self) -> bool {
        self.kind() <= ffi::LUA_TNIL
    }

    fn number(&self) -> Option<f64> {
        // SAFETY: Slot::new's contract; a number slot converts without allocating.
        (self.kind() == ffi::LUA_TNUMBER)
            .then(|| unsafe { ffi::lua_tonumberx(self.state, self.index, std::ptr::null_mut()) })
    }

    fn integer(&self) -> Option<i64> {
        // SAFETY: as for `number`.
        unsafe {
            (ffi::lua_isinteger(self.state, self.index) != 0)
                .then(|| ffi::lua_tointegerx(self.state, self.index, std::ptr::null_mut()))
        }
    }

    fn boolean(&self) -> Option<bool> {
        // SAFETY: as for `number`.
        (self.kind() == ffi::LUA_TBOOLEAN)
            .then(|| unsafe { ffi::lua_toboolean(self.state, self.index) != 0 })
    }

    fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Option<R> {
        if self.kind() != ffi::LUA_TSTRING {
            return None;
        }
        let mut len = 0;
        // SAFETY: a string slot gives its own bytes (no conversion, no allocation), which
        // stay put while the string is on the stack, that is for this call.
        let bytes = unsafe {
            let p = ffi::lua_tolstring(self.state, self.index, &mut len);
            std::slice::from_raw_parts(p.cast::<u8>(), len)
        };
        Some(f(bytes))
    }

    fn describe(&self) -> String {
        match self.kind() {
            ffi::LUA_TNUMBER => match self.integer() {
                Some(i) => i.to_string(),
                None => describe_float(self.number().unwrap_or(f64::NAN)),
            },
            ffi::LUA_TBOOLEAN => self.boolean().unwrap_or(false).to_string(),
            ffi::LUA_TSTRING => self.with_bytes(describe_bytes).unwrap_or_default(),
            ffi::LUA_TNONE | ffi::LUA_TNIL => "nil".into(),
            kind => {
                // SAFETY: lua_typename returns a static name for every type tag.
                let name = unsafe { CStr::from_ptr(ffi::lua_typename(self.state, kind)) };
                name.to_string_lossy().into_owned()
            }
        }
    }
}

/// Very large and very small numbers in exponent form, as Lua prints them.
fn describe_float(n: f64) -> String {
    if n.is_finite() && n != 0.0 && !(1e-4..1e15).contains(&n.abs()) {
        format!("{n:e}")
    } else {
        n.to_string()
    }
}

fn describe_bytes(bytes: &[u8]) -> String {
    format!("{:?}", quote(bytes))
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
            assert_eq!(v.describe(), text);
        }
    }

    type Read = (
        bool,
        Option<f64>,
        Option<i64>,
        Option<bool>,
        Option<String>,
        String,
    );

    #[test]
    fn a_stack_slot_reads_and_describes_as_its_value_does() {
        let lua = mlua::Lua::new();
        let values = [
            Value::Nil,
            Value::Integer(7),
            Value::Number(2.5),
            Value::Number(1e300),
            Value::Boolean(true),
            Value::String(lua.create_string("a/b").unwrap()),
            Value::Table(lua.create_table().unwrap()),
        ];
        for v in values {
            let read = unsafe {
                lua.exec_raw::<Read>(v.clone(), |state| {
                    let s = Slot::new(state, 1);
                    let read = (
                        s.is_nil(),
                        s.number(),
                        s.integer(),
                        s.boolean(),
                        s.with_bytes(lossy),
                        s.describe(),
                    );
                    ffi::lua_settop(state, 0);
                    push(state, read);
                })
            }
            .unwrap();
            let expected = (
                v.is_nil(),
                LuaArg::number(&v),
                LuaArg::integer(&v),
                LuaArg::boolean(&v),
                v.with_bytes(lossy),
                LuaArg::describe(&v),
            );
            assert_eq!(read, expected, "{v:?}");
        }
    }

    fn lossy(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    /// Pushes what a slot read, for exec_raw to return.
    unsafe fn push(state: *mut ffi::lua_State, read: Read) {
        let (nil, number, integer, boolean, bytes, described) = read;
        ffi::lua_pushboolean(state, c_int::from(nil));
        match number {
            Some(n) => ffi::lua_pushnumber(state, n),
            None => ffi::lua_pushnil(state),
        }
        match integer {
            Some(i) => ffi::lua_pushinteger(state, i),
            None => ffi::lua_pushnil(state),
        }
        match boolean {
            Some(b) => ffi::lua_pushboolean(state, c_int::from(b)),
            None => ffi::lua_pushnil(state),
        }
        match bytes {
            Some(b) => {
                ffi::lua_pushlstring(state, b.as_ptr().cast(), b.len());
            }
            None => ffi::lua_pushnil(state),
        }
        ffi::lua_pushlstring(state, described.as_ptr().cast(), described.len());
    }
}
