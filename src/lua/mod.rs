//! The Lua binding: the module's entry point and the userdata types a script sees.

mod client;
mod convert;
mod message;
mod module;
mod topic;

pub use client::LuaClient;
pub use module::copper_mqtt;
