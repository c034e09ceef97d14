--- After a reconnect, a subscription may be re-made a moment after the CONNACK: publishes
-- `payload` on `topic` through `publisher` until `subscriber` receives a message, for at
-- most `secs` seconds. Returns that message, or nil if none came.
local Process = require("support.process")

return function(publisher, subscriber, topic, payload, secs)
    local got
    Process.wait_until(secs, function()
        publisher:publish(topic, payload, { qos = 1 })
        got = subscriber:receive(0.2)
        return got ~= nil
    end)
    return got
end
