-- IoT sensor network, the sensor: announces itself (with a will for when it vanishes) and
-- publishes a temperature reading every 5 seconds. READINGS=n stops after n readings;
-- INTERVAL_MS changes the period.
-- compat.lua sits beside this script.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local compat = require("compat")
local time = compat.time
local mqtt = require("mqtt")

local host, port = compat.broker()
local sensor = mqtt.connect(host, {
    port = port,
    client_id = "temp-sensor-01",
    will = {
        topic = "sensors/temp-01/status",
        payload = "offline",
        qos = 1,
        retain = true,
    },
})

sensor:publish("sensors/temp-01/status", "online", { retain = true })

-- Publish readings every 5 seconds
local readings, interval = compat.limit("READINGS"), compat.limit("INTERVAL_MS") or 5000
local n = 0
while not readings or n < readings do
    local reading = math.random(180, 250) / 10 -- 18.0 - 25.0
    sensor:publish("sensors/temp-01/value", tostring(reading))
    n = n + 1
    time.sleep(interval)
end
sensor:disconnect()
