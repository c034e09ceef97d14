-- The Quick Start of the mqtt documentation, as a script.
-- The broker is localhost:1883 unless MQTT_HOST / MQTT_PORT say otherwise.
local mqtt = require("mqtt")

-- Connect to a local MQTT broker
local client = mqtt.connect(os.getenv("MQTT_HOST") or "localhost", {
    port = tonumber(os.getenv("MQTT_PORT") or "1883"),
})

-- Subscribe to a topic
client:subscribe("sensors/temperature")

-- Publish a message
client:publish("sensors/temperature", "22.5")

-- Receive a message
local msg = client:receive()
print(msg.topic)    --> "sensors/temperature"
print(msg.payload)  --> "22.5"

-- Disconnect
client:disconnect()
