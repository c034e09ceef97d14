//! The two calls a script makes for every message, `publish` and `receive_slice`, as plain
//! Lua C functions that find their client through its binding. An mlua method turns each argument and result into
//! a `Value` on its way (about a microsecond per message here, docs/performance.md); these
//! read their arguments where they lie on the Lua stack ([`Slot`]), with the same readers
//! and errors as the methods, and push their results straight.
//!
//! Lua may raise only while a result is pushed (an allocation that fails), and then no Rust
//! value with a destructor is live in these frames: what is being pushed is held in a
//! `ManuallyDrop`, which then leaks instead of unwinding through Rust.

use std::ffi::c_int;
use std::mem::{size_of, ManuallyDrop};
use std::sync::Arc;
use std::time::Duration;

use std::panic::{catch_unwind, AssertUnwindSafe};

use mlua::{ffi, Function, Lua, Table, Value};

use super::args;
use super::errors::{bad_arg, guard, CallError, Result};
use super::value::{LuaArg, Slot};
use crate::actors::{ClientHandle, Lane, Message};
use crate::error::Error;

/// Longest one native wait lasts before control returns to Lua, so that Ctrl-C (which the
/// lua5.4 interpreter handles in a hook that runs only while Lua code runs) takes effect.
const SLICE: Duration = Duration::from_millis(100);

/// The metatable of the userdata that keeps a client alive for its raw calls.
const BINDING: &std::ffi::CStr = c"copper_mqtt.binding";
/// The key of a client's binding in its table.
const BINDING_KEY: &std::ffi::CStr = c"_binding";

/// The calls, as `publish`, `publish_now` and `receive_slice` in `exports`. Each has two upvalues: the
/// bindings' metatable and the key `_binding`, so that finding a client looks nothing up by
/// name.
///
/// # Errors
/// Only when Lua cannot allocate.
pub fn register(lua: &Lua, exports: &Table) -> mlua::Result<()> {
    // SAFETY: the closure only pushes onto the stack exec_raw gives it, in protected mode.
    let (publish, publish_now, receive_slice) = unsafe {
        lua.exec_raw::<(Function, Function, Function)>((), |state| {
            for call in [publish as ffi::lua_CFunction, publish_now, receive_slice] {
                bindings_metatable(state);
                ffi::lua_pushstring(state, BINDING_KEY.as_ptr());
                ffi::lua_pushcclosure(state, call, 2);
            }
        })?
    };
    exports.raw_set("publish", publish)?;
    exports.raw_set("publish_now", publish_now)?;
    exports.raw_set("receive_slice", receive_slice)
}

/// Pushes the bindings' metatable, made at the first call.
unsafe fn bindings_metatable(state: *mut ffi::lua_State) {
    if ffi::luaL_newmetatable(state, BINDING.as_ptr()) != 0 {
        ffi::lua_pushcfunction(state, collect);
        ffi::lua_setfield(state, -2, c"__gc".as_ptr());
    }
}

/// The binding of `handle`, which init.lua keeps in the client's table as `_binding`: a
/// userdata that owns a reference to the client and drops it when Lua collects it.
///
/// # Errors
/// Only when Lua cannot allocate.
pub fn bind(lua: &Lua, handle: &Arc<ClientHandle>) -> mlua::Result<Value> {
    // SAFETY: the closure only pushes onto the stack exec_raw gives it, in protected mode;
    // the userdata holds a null pointer until it has its metatable, so a failed allocation
    // leaks nothing and its finalizer never sees a dangling pointer.
    unsafe {
        lua.exec_raw((), |state| {
            let slot = ffi::lua_newuserdatauv(state, size_of::<*const ClientHandle>(), 0)
                .cast::<*const ClientHandle>();
            slot.write(std::ptr::null());
            bindings_metatable(state);
            ffi::lua_setmetatable(state, -2);
            slot.write(Arc::into_raw(Arc::clone(handle)));
        })
    }
}

/// The binding's finalizer: drops its reference to the client.
unsafe extern "C-unwind" fn collect(state: *mut ffi::lua_State) -> c_int {
    let slot = ffi::lua_touserdata(state, 1).cast::<*const ClientHandle>();
    if !slot.is_null() && !(*slot).is_null() {
        let handle = AssertUnwindSafe(Arc::from_raw(slot.replace(std::ptr::null())));
        // A client's drop closes it; a panic there has no one to report to.
        let _ = catch_unwind(move || drop(handle));
    }
    0
}

/// The client whose table is argument 1 (`self`), through its binding, which that table
/// keeps alive for the call; or the error `call` (`"mqtt.<method>"`) reports.
unsafe fn client_of<'a>(
    state: *mut ffi::lua_State,
    call: &str,
) -> Result<&'a ClientHandle, String> {
    if ffi::lua_type(state, 1) == ffi::LUA_TTABLE {
        ffi::lua_pushvalue(state, ffi::lua_upvalueindex(2));
        let slot = match ffi::lua_rawget(state, 1) {
            ffi::LUA_TUSERDATA if ffi::lua_getmetatable(state, -1) != 0 => {
                let ours = ffi::lua_rawequal(state, -1, ffi::lua_upvalueindex(1)) != 0;
                ffi::lua_settop(state, -2);
                let p = ffi::lua_touserdata(state, -1).cast::<*const ClientHandle>();
                if ours {
                    p
                } else {
                    std::ptr::null_mut()
                }
            }
            _ => std::ptr::null_mut(),
        };
        ffi::lua_settop(state, -2);
        if !slot.is_null() {
            return match *slot {
                // Collected: only another finalizer can still reach the table.
                p if p.is_null() => Err(format!("{call}: {}", Error::Disconnected)),
                p => Ok(&*p),
            };
        }
    }
    let method = call.trim_start_matches("mqtt.");
    Err(format!(
        "{call}: expected a Client as self (call it as client:{method}(...))"
    ))
}

/// `publish(client, topic, payload, options)`: `true`, or `nil, "mqtt.publish: <reason>"`.
/// Arguments are named by their place after `self`, as the script writes them.
unsafe extern "C-unwind" fn publish(state: *mut ffi::lua_State) -> c_int {
    publish_with(state, Waits::Block)
}

/// `publish_now(client, topic, payload, options)`, for a task of `mqtt.run`: as `publish`,
/// but `false` (having done nothing) where `publish` would wait: with `wait = true`, or when
/// the send queue is full.
unsafe extern "C-unwind" fn publish_now(state: *mut ffi::lua_State) -> c_int {
    publish_with(state, Waits::Refuse)
}

/// Whether a publish may wait.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Waits {
    Block,
    Refuse,
}

unsafe fn publish_with(state: *mut ffi::lua_State, waits: Waits) -> c_int {
    ffi::lua_settop(state, 4);
    let handle = match client_of(state, "mqtt.publish") {
        Ok(handle) => handle,
        Err(e) => return failed(state, e),
    };
    if ffi::lua_type(state, 3) == ffi::LUA_TNUMBER {
        // Lua's own string form of a number payload, written in its slot.
        ffi::lua_tolstring(state, 3, std::ptr::null_mut());
    }
    let options = take_options(state);
    let arg = |i| Slot::new(state, i);
    let outcome = guard("mqtt.publish", || {
        options?;
        let topic = args::topic(&arg(2), 1)?;
        let payload = args::payload(&arg(3), 2)?;
        let opts = args::publish_options(&arg(QOS), &arg(QOS + 1), &arg(QOS + 2))?;
        if waits == Waits::Block {
            handle.publish(topic, payload, opts)?;
            return Ok(true);
        }
        if opts.wait {
            return Ok(false);
        }
        match handle.publish_within(topic, payload, opts, Duration::ZERO) {
            Err(Error::QueueFull(_)) => Ok(false),
            done => done.map(|()| true).map_err(Into::into),
        }
    });
    match outcome {
        Ok(Ok(done)) => {
            ffi::lua_pushboolean(state, c_int::from(done));
            1
        }
        Ok(Err(e)) => failed(state, e),
        Err(e) => failed(state, e.to_string()),
    }
}

/// Where `take_options` puts the options `qos`, `retain` and `wait`, in that order.
const QOS: c_int = 5;
const PUBLISH_OPTIONS: [&[u8]; 3] = [b"qos", b"retain", b"wait"];

/// Copies publish's options (argument 4: nil, or a table of `qos`, `retain`, `wait`) into
/// the three slots from [`QOS`] (nil where absent), or says which key or value is wrong.
unsafe fn take_options(state: *mut ffi::lua_State) -> Result<()> {
    ffi::lua_settop(state, QOS + 2);
    match ffi::lua_type(state, 4) {
        ffi::LUA_TNIL => return Ok(()),
        ffi::LUA_TTABLE => {}
        _ => return Err(bad_arg(3, "options", "a table", &Slot::new(state, 4))),
    }
    ffi::lua_pushnil(state);
    while ffi::lua_next(state, 4) != 0 {
        let key = Slot::new(state, -2);
        let known = key
            .with_bytes(|name| PUBLISH_OPTIONS.iter().position(|o| *o == name))
            .flatten();
        let Some(i) = known else {
            let name = key.with_bytes(|b| String::from_utf8_lossy(b).into_owned());
            return Err(CallError::UnknownOption {
                name: name.unwrap_or_else(|| key.describe()),
                known: "qos, retain, wait",
            });
        };
        ffi::lua_copy(state, -1, QOS + i as c_int);
        ffi::lua_settop(state, -2);
    }
    Ok(())
}

/// What one slice of a receive came to.
enum Slice {
    Message(Message),
    /// The slice ended first; the wait left (`None`: no bound).
    Waiting(Option<Duration>),
    /// The wait is over, without a message.
    Over,
}

/// `receive_slice(client, wait, which)`: one slice of `receive(timeout)` on the lanes `which` names
/// (nil: the client's; "all": the client's and the handlers'; "handlers"; or a subscription
/// id). Returns the message's fields, `topic, payload, qos, retain, dup, subscription,
/// claimed_by` (`subscription`: the filter of the subscription that claimed it, nil if that
/// one has ended since; or, when none claimed it, of the first that matched; `claimed_by`:
/// the id of the one that claimed it); or `false` and the wait still left
/// (`nil` for no bound) when the slice ended first; or nothing when the wait is over; or
/// `nil, "mqtt.receive: <reason>"`.
unsafe extern "C-unwind" fn receive_slice(state: *mut ffi::lua_State) -> c_int {
    let handle = match client_of(state, "mqtt.receive") {
        Ok(handle) => handle,
        Err(e) => return failed(state, e),
    };
    let (wait, which) = (Slot::new(state, 2), Slot::new(state, 3));
    let outcome = guard("mqtt.receive", || slice(handle, &wait, &which));
    match outcome {
        Ok(Ok(Slice::Message(m))) => push_message(state, m),
        Ok(Ok(Slice::Waiting(left))) => {
            ffi::lua_pushboolean(state, 0);
            match left {
                Some(left) => ffi::lua_pushnumber(state, left.as_secs_f64()),
                None => ffi::lua_pushnil(state),
            }
            2
        }
        Ok(Ok(Slice::Over)) => 0,
        Ok(Err(e)) => failed(state, e),
        Err(e) => failed(state, e.to_string()),
    }
}

fn slice(handle: &ClientHandle, wait: &impl LuaArg, which: &impl LuaArg) -> Result<Slice> {
    let wait = args::wait_arg(wait, 1)?;
    let slice = wait.map_or(SLICE, |w| w.min(SLICE));
    let named = which.with_bytes(|name| match name {
        b"all" => Some(&[Lane::Client, Lane::Handlers][..]),
        b"handlers" => Some(&[Lane::Handlers][..]),
        _ => None,
    });
    let own;
    let lanes: &[Lane] = match named.flatten() {
        _ if which.is_nil() => &[Lane::Client],
        Some(lanes) => lanes,
        None => {
            own = [Lane::Own(args::subscription_id(which)?)];
            &own
        }
    };
    Ok(match handle.take(lanes, slice)? {
        Some(m) => Slice::Message(m),
        None => match wait {
            None => Slice::Waiting(None),
            Some(w) if w > slice => Slice::Waiting(Some(w - slice)),
            Some(_) => Slice::Over,
        },
    })
}

unsafe fn push_message(state: *mut ffi::lua_State, m: Message) -> c_int {
    let m = ManuallyDrop::new(m);
    push_bytes(state, m.topic.as_bytes());
    push_bytes(state, &m.payload);
    ffi::lua_pushinteger(state, i64::from(m.qos.as_u8()));
    ffi::lua_pushboolean(state, c_int::from(m.retain));
    ffi::lua_pushboolean(state, c_int::from(m.dup));
    match &m.subscription {
        Some(filter) => push_bytes(state, filter.as_bytes()),
        None => ffi::lua_pushnil(state),
    }
    match m.claimed_by {
        Some(id) => ffi::lua_pushinteger(state, id as i64),
        None => ffi::lua_pushnil(state),
    }
    drop(ManuallyDrop::into_inner(m));
    7
}

unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
}

/// `nil, error`.
unsafe fn failed(state: *mut ffi::lua_State, error: String) -> c_int {
    let error = ManuallyDrop::new(error);
    ffi::lua_pushnil(state);
    push_bytes(state, error.as_bytes());
    drop(ManuallyDrop::into_inner(error));
    2
}
