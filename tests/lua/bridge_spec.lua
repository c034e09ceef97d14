-- examples/bridge.lua, many clients in one thread: it mirrors two brokers at QoS 1 while each
-- is killed with -9 in turn and started again from its persistence, and no message is lost
-- in either direction, none bounces back and forth. The publishers here are clean sessions
-- with up to 100 publishes unacknowledged when their broker dies: after the reconnect their
-- publishes are numbered afresh, where a number rumqttc still held once lost 42-88 of them
-- in a quarter of the runs (Engine::write_publish).
local mqtt = require("mqtt")
local Broker = require("support.broker")
local Process = require("support.process")

-- Every change saved at once, so that kill -9 loses nothing mosquitto acknowledged (by
-- default it saves every 30 minutes and at a clean exit).
local PERSIST = { persist = true, conf = { "autosave_interval 1", "autosave_on_changes true" } }
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
        -- Settled: copies of a message may arrive again after a broker restarts (QoS 1), but
        -- a message bouncing between the brokers would keep coming.
        local function total()
            local n = 0
            for _, c in ipairs({ at_a, at_b }) do
                for _, copies in pairs(seen[c]) do
                    n = n + copies
                end
            end
            return n
        end
        drain(at_a, 1)
        drain(at_b, 1)
        local settled = total()
        drain(at_a, 1)
        drain(at_b, 1)
        assert.are.equal(settled, total(), "messages still arriving: one bounces")
        for _, c in ipairs({ pa, pb, at_a, at_b }) do
            c:disconnect()
        end
    end)
end)
