-- LuaRocks: `luarocks make --lua-version 5.4` in a checkout builds the native library with
-- cargo (crates from crates.io; no rock is fetched) and installs `mqtt` (init.lua) and
-- `copper_mqtt` (the library) where lua5.4 finds them.
rockspec_format = "3.0"
package = "copper-mqtt"
version = "0.1.0-1"
source = {
   url = "git+file://.",
}
description = {
   summary = "The native MQTT 3.1.1 client for Lua 5.4",
   detailed = "require(\"mqtt\"): connect, publish, subscribe with wildcards and handlers, receive; TLS, WebSocket, failover; the network on a Rust thread (rumqttc).",
   license = "MIT",
}
dependencies = {
   "lua >= 5.4, < 5.5",
}
build = {
   type = "command",
   -- LuaRocks exports CC for C rocks; unset, cargo's build scripts see the environment a
   -- plain `cargo build` sees and reuse its build. LuaRocks installs a library under its
   -- own file name, so the copy gives it the name `require("copper_mqtt")` looks for.
   build_command = [[env -u CC cargo build --release && mkdir -p target &&
      cp "${CARGO_TARGET_DIR:-target}/release/libcopper_mqtt.so" target/copper_mqtt.so]],
   install = {
      lua = { ["mqtt.init"] = "init.lua" },
      lib = { copper_mqtt = "target/copper_mqtt.so" },
   },
}
