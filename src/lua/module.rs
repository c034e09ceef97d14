//! The module's entry point, `luaopen_copper_mqtt`: the table `require("copper_mqtt")` returns.

use mlua::{Lua, Table, Value};

use super::client::LuaClient;
use super::errors::guard;
use super::tables;

/// Builds the exports: `connect`, `QoS`, `version`, `log`, `topic`, `router`, and the calls
/// made for every message, `publish` and `receive_slice`.
///
/// # Errors
/// Only when Lua cannot allocate.
#[cfg_attr(feature = "module", mlua::lua_module)]
pub fn copper_mqtt(lua: &Lua) -> mlua::Result<Table> {
    pin_library();
    crate::telemetry::init();
    let exports = lua.create_table()?;
    exports.set(
        "connect",
        lua.create_function(|lua, (host, opts): (Value, Value)| {
            guard("mqtt.connect", || LuaClient::connect(lua, &host, &opts))
        })?,
    )?;
    exports.set(
        "begin_connect",
        lua.create_function(|lua, (host, opts): (Value, Value)| {
            guard("mqtt.connect", || {
                LuaClient::begin_connect(lua, &host, &opts)
            })
        })?,
    )?;
    let qos = lua.create_table()?;
    qos.set("AT_MOST_ONCE", 0)?;
    qos.set("AT_LEAST_ONCE", 1)?;
    qos.set("EXACTLY_ONCE", 2)?;
    exports.set("QoS", qos)?;
    exports.set("version", env!("CARGO_PKG_VERSION"))?;
    exports.set(
        "log",
        lua.create_function(|_, opts: Value| {
            guard("mqtt.log", || {
                crate::telemetry::configure(&tables::log_options(&opts)?)?;
                Ok(true)
            })
        })?,
    )?;
    super::topic::register(lua, &exports)?;
    super::raw::register(lua, &exports)?;
    super::tasks::register(lua, &exports)?;
    Ok(exports)
}

/// Keeps this library mapped until the process exits. The host may unload it right after
/// closing the Lua state, while the actor thread still runs its code; loading it once more
/// with `RTLD_NODELETE` makes that unload a no-op.
fn pin_library() {
    // SAFETY: dladdr only reads the loader's tables for an address inside this library, and
    // dlopen of a path that is already loaded only bumps its reference count.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let here = pin_library as *const libc::c_void;
        if libc::dladdr(here, &mut info) != 0 && !info.dli_fname.is_null() {
            libc::dlopen(info.dli_fname, libc::RTLD_NOW | libc::RTLD_NODELETE);
        }
    }
}
