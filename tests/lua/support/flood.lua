--- The slow-consumer scenario: a client that stops reading while `count` QoS 0 messages of
-- 64 bytes arrive. Used by tests/lua/slow_consumer_spec.lua (100,000 messages) and by
-- scripts/soak.sh (1,000,000). Returns what happened.
local mqtt = require("mqtt")
local socket = require("socket")
local status = require("support.proc_status")

return function(port, count, keep_alive)
    local consumer = mqtt.connect("127.0.0.1", { port = port, keep_alive = keep_alive })
    consumer:subscribe("flood/#", 0)
    local producer = mqtt.connect("127.0.0.1", { port = port, timeout = 30 })
    local rss_before = status("VmRSS")
    local payload = string.rep("x", 64)
    local started = socket.gettime()
    for i = 1, count do
        producer:publish("flood/" .. (i % 16), payload)
    end
    -- Every message either waits in the mailbox or was dropped and counted.
    local deadline = socket.gettime() + 120
    local s
    repeat
        producer:receive(0.05) -- a bounded wait that lets time pass
        s = consumer:stats()
    until s.messages_received + s.dropped >= count or socket.gettime() > deadline
    local flood_secs = socket.gettime() - started
    -- Stay idle for two keep-alives: pings must still flow and keep the connection up.
    local idle_until = socket.gettime() + 2 * keep_alive
    while socket.gettime() < idle_until do
        producer:receive(idle_until - socket.gettime())
    end
    local result = {
        received = s.messages_received,
        dropped = s.dropped,
        flood_secs = flood_secs,
        connected = consumer:is_connected(),
        reconnects = consumer:stats().reconnects,
        rss_before_kb = rss_before,
        rss_peak_kb = status("VmHWM"),
        rss_after_kb = status("VmRSS"),
    }
    -- What waits in the mailbox is still there, and new messages flow again.
    local waiting = 0
    while consumer:receive(0) do
        waiting = waiting + 1
    end
    result.waiting = waiting
    producer:publish("flood/after", "again")
    local msg = consumer:receive(5)
    result.flows_again = msg ~= nil and msg.payload == "again"
    producer:disconnect()
    consumer:disconnect()
    return result
end
