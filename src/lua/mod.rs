//! The Lua binding: the module's entry point and the userdata types a script sees.

mod args;
mod client;
mod errors;
mod fields;
mod module;
mod pending;
mod raw;
mod tables;
mod tasks;
mod topic;
mod value;

pub use client::LuaClient;
pub use module::copper_mqtt;
