-- A bridge between two brokers, in one script: every message published on either under
-- BRIDGE_FILTER ("#" by default) is forwarded to the other at QoS 1, with its retain flag.
-- Two tasks of one mqtt.run each read one broker and publish to the other. A message the
-- bridge forwarded comes back to it from the broker it went to (its own subscription
-- matches it): it is recognised and not sent back. Persistent sessions (fixed client ids,
-- clean_session = false) keep what arrives while the bridge is away; its publishes survive
-- the loss of either broker, re-sent once it is back.
-- A_HOST/A_PORT and B_HOST/B_PORT: the brokers (localhost:1883 and localhost:1884);
-- BRIDGE_ID names the bridge's clients ("bridge").
local mqtt = require("mqtt")

local id = os.getenv("BRIDGE_ID") or "bridge"
local filter = os.getenv("BRIDGE_FILTER") or "#"

local function connect(side, default_port)
    return mqtt.connect(os.getenv(side .. "_HOST") or "localhost", {
        port = tonumber(os.getenv(side .. "_PORT") or default_port),
        client_id = id .. "-" .. side:lower(),
        clean_session = false,
        reconnect = { min_delay = 0.1, max_delay = 1 },
    })
end

local a, b = connect("A", "1883"), connect("B", "1884")
-- Both subscribed before anything is forwarded, so that every forwarded message comes back.
a:subscribe(filter, 1)
b:subscribe(filter, 1)

-- The messages the bridge has forwarded to each client's broker and not yet seen come back,
-- by topic and payload: how many of each.
local forwarded = { [a] = {}, [b] = {} }

-- Reads `from` for ever, forwarding to `to` what did not come from the bridge itself.
local function pump(from, to)
    while true do
        local msg = from:receive()
        local key = msg.topic .. "\0" .. msg.payload
        local echoes = forwarded[from]
        if (echoes[key] or 0) > 0 then
            echoes[key] = echoes[key] > 1 and echoes[key] - 1 or nil
        else
            local sent = forwarded[to]
            sent[key] = (sent[key] or 0) + 1
            to:publish(msg.topic, msg.payload, { qos = 1, retain = msg.retain })
        end
    end
end

print("bridging " .. filter)
io.stdout:flush()
mqtt.run(function()
    pump(a, b)
end, function()
    pump(b, a)
end)
