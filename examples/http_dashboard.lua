-- A CopperMoon service that answers HTTP while it consumes MQTT: it keeps the last reading of
-- each sensor from `sensors/<name>/value` and serves them all as JSON at `/`. `attach` runs
-- the subscription's handler from CopperMoon's timers, which its HTTP server runs between
-- requests: nothing else is needed. A message on `service/stop` disconnects the client and
-- ends the script.
-- CopperMoon only (http.server): MQTT_HOST / MQTT_PORT (localhost:1883), HTTP_PORT (8080).
local mqtt = require("mqtt")

local client = mqtt.connect(os.getenv("MQTT_HOST") or "localhost", {
    port = tonumber(os.getenv("MQTT_PORT") or "1883"),
})

local readings = {}
client:subscribe("sensors/+/value", 1, function(msg)
    readings[msg.topic:match("^sensors/(.+)/value$")] = msg.payload
end)
client:subscribe("service/stop", 1, function()
    client:disconnect()
    os.exit(0)
end)
client:attach()

local server = http.server.new()
server:get("/", function(ctx)
    return ctx:json(readings)
end)
print("serving readings on 127.0.0.1:" .. (os.getenv("HTTP_PORT") or "8080"))
server:listen(tonumber(os.getenv("HTTP_PORT") or "8080"))
