-- examples/bridge.lua, many clients in one thread: it mirrors two brokers at QoS 1 while each
-- is killed with -9 in turn and started again from its store, and no message is lost
-- in either direction, none bounces back and forth. The publishers here are clean sessions
-- with up to 100 publishes unacknowledged when their broker dies: after the reconnect their
-- publishes are numbered afresh, where a number rumqttc still held once lost 42-88 of them
-- in a quarter of the runs (Engine::write_publish).
local mqtt = require("mqtt")
local Broker = require("support.broker")
local Process = require("support.process")

-- NATS, whose JetStream has stored a QoS 1 message when it acknowledges it, so that a kill -9
-- loses nothing it acknowledged. Against mosquitto (saving every change) this test lost one
-- message in 2 of about 40 runs, a message its reader on the same broker never got after
-- the restart: most likely mosquitto's own window between acknowledging and saving.
local PERSIST = { kind = "nats" }
local N = 300

describe("examples/bridge.lua", function()
    it("mirrors two brokers through a kill -9 of each, losing nothing", function()
        local A, B = Broker.start(PERSIST), Broker.start(PERSIST)
        finally(function()
            A:stop()
            B:stop()
        end)
        local bridge = Process.spawn('arg = { [0] = "examples/bridge.lua" }; dofile("examples/bridge.lua")', {
            env = { A_HOST = "127.0.0.1", A_PORT = A.port, B_HOST = "127.0.0.1", B_PORT = B.port,
                    BRIDGE_FILTER = "data/#", BRIDGE_ID = "bridge-" .. math.random(1, 1e9) },
        })
        finally(function()
            bridge:signal("KILL")
        end)
        assert.is_true(bridge:wait_output("bridging", 15), bridge:output())

        -- Readers on each side see everything under data/, the other side's and their own.
        local function reader(broker, name)
            local c = mqtt.connect("127.0.0.1", broker:options({
                client_id = name .. math.random(1, 1e9), clean_session = false,
                reconnect = { min_delay = 0.1, max_delay = 1 } }))
            c:subscribe("data/#", 1)
            return c
        end
        local at_a, at_b = reader(A, "reader-a-"), reader(B, "reader-b-")
        local pa = mqtt.connect("127.0.0.1", A:options({ reconnect = { min_delay = 0.1, max_delay = 1 } }))
        local pb = mqtt.connect("127.0.0.1", B:options({ reconnect = { min_delay = 0.1, max_delay = 1 } }))

        local seen = { [at_a] = {}, [at_b] = {} }
        local function drain(c, secs)
            local msg = c:receive(secs)
            while msg do
                seen[c][msg.topic] = (seen[c][msg.topic] or 0) + 1
                msg = c:receive(0)
            end
        end
        -- A third of the messages each way, a kill -9 of A, a third, a kill -9 of B, a third.
        local function publish(from, to)
            for i = from, to do
                pa:publish("data/a/" .. i, "a" .. i, { qos = 1 })
                pb:publish("data/b/" .. i, "b" .. i, { qos = 1 })
            end
        end
        publish(1, N // 3)
        drain(at_a, 0.2)
        drain(at_b, 0.2)
        A:kill()
        A:restart()
        publish(N // 3 + 1, 2 * N // 3)
        drain(at_a, 0.2)
        drain(at_b, 0.2)
        B:kill()
        B:restart()
        publish(2 * N // 3 + 1, N)
        -- Until every message is on both sides, within a bound.
        local function complete(c)
            for i = 1, N do
                if not (seen[c]["data/a/" .. i] and seen[c]["data/b/" .. i]) then
                    return false
                end
            end
            return true
        end
        local function missing(c, where)
            local gone = {}
            for i = 1, N do
                for _, side in ipairs({ "a", "b" }) do
                    if not seen[c]["data/" .. side .. "/" .. i] then
                        gone[#gone + 1] = side .. i
                    end
                end
            end
            return ("%s: %d missing (%s)\n"):format(where, #gone, table.concat(gone, " ", 1, math.min(#gone, 8)))
        end
        assert.is_true(Process.wait_until(60, function()
            drain(at_a, 0.05)
            drain(at_b, 0.05)
            return complete(at_a) and complete(at_b)
        end), "missing after 60 s: " .. missing(at_a, "at A") .. missing(at_b, "at B") .. bridge:output())
        -- Copies of a message may come again for a while (QoS 1: NATS redelivers what was not
        -- acknowledged within its ack_wait, 1 s here, while the readers were not reading),
        -- but a message bouncing between the brokers would never stop coming.
        local function total()
            local n = 0
            for _, c in ipairs({ at_a, at_b }) do
                for _, copies in pairs(seen[c]) do
                    n = n + copies
                end
            end
            return n
        end
        assert.is_true(Process.wait_until(20, function()
            local before = total()
            drain(at_a, 0.5)
            drain(at_b, 0.5)
            return total() == before
        end), "messages still arriving after 20 s: one bounces")
        for _, c in ipairs({ pa, pb, at_a, at_b }) do
            c:disconnect()
        end
    end)
end)
