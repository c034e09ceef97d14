-- IoT sensor network, the dashboard: shows readings and sensors coming and going.
-- MAX_MESSAGES=n stops after n messages.
-- compat.lua sits beside this script.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local compat = require("compat")
local term = compat.term
local mqtt = require("mqtt")

local host, port = compat.broker()
local dashboard = mqtt.connect(host, {
    port = port,
    client_id = "dashboard",
})

dashboard:subscribe("sensors/#")

local limit, seen = compat.limit("MAX_MESSAGES"), 0
dashboard:listen(function(msg)
    local sensor = msg.topic:match("sensors/(.+)/value")
    if sensor then
        print(term.cyan(sensor) .. ": " .. term.bold(msg.payload) .. "C")
    elseif msg.topic:ends_with("/status") then
        local name = msg.topic:match("sensors/(.+)/status")
        if msg.payload == "online" then
            print(term.green(name .. " is online"))
        else
            print(term.red(name .. " went offline"))
        end
    end
    io.stdout:flush()
    seen = seen + 1
    if limit and seen >= limit then
        return false
    end
end)
dashboard:disconnect()
