-- The documentation's usage examples, as the scripts in examples/, each run for a bounded
-- number of messages against the test broker.
local mqtt = require("mqtt")
local json = require("dkjson")
local Broker = require("support.broker")
local Process = require("support.process")
local CopperMoon = require("support.coppermoon")

-- Each example runs in lua5.4 and, when it is there, in real CopperMoon (from a project laid
-- out as Harbor lays it out, the examples beside its script).
local hosts = {
    {
        name = "lua5.4",
        run = function(script, env)
            return Process.spawn(('arg = { [0] = %q }; dofile(%q)'):format(script, script), { env = env })
        end,
    },
}
if CopperMoon.path then
    local dir
    hosts[2] = {
        name = "CopperMoon",
        run = function(script, env)
            if not dir then
                local files = {}
                for _, name in ipairs({ "quickstart", "compat", "dashboard", "iot_sensor", "microservice", "chat" }) do
                    local f = assert(io.open("examples/" .. name .. ".lua"))
                    files[name .. ".lua"] = f:read("a")
                    f:close()
                end
                dir = CopperMoon.project(files)
            end
            return Process.run({ CopperMoon.path, dir .. "/" .. script:match("[^/]+$") }, env)
        end,
    }
end

-- What a script printed, without the colours CopperMoon's `term` adds.
local function plain(text)
    return (text:gsub("\27%[[%d;]*m", ""))
end

for _, host in ipairs(hosts) do
local run = host.run
describe("the usage examples in " .. host.name, function()
    -- With `log_type subscribe` the broker's log shows when an example has subscribed.
    local broker = Broker.per_suite({ conf = { "log_type subscribe" } })

    local function subscribed(client_id, filter)
        return Process.wait_until(10, function()
            local f = io.open(broker.dir .. "/log")
            local log = f and f:read("a") or ""
            if f then f:close() end
            return log:find(client_id .. " %d " .. filter:gsub("%p", "%%%0")) ~= nil
        end)
    end

    local function env(extra)
        local e = { MQTT_HOST = "127.0.0.1", MQTT_PORT = broker.port }
        for k, v in pairs(extra or {}) do
            e[k] = v
        end
        return e
    end

    it("quick start: publishes and receives its reading", function()
        local quickstart = run("examples/quickstart.lua", env())
        assert.are.equal(0, quickstart:wait_exit(15), quickstart:output())
        assert.matches("sensors/temperature\n22.5\n", plain(quickstart:output()), 1, true)
    end)

    it("IoT sensor network: the dashboard shows the sensor and its readings", function()
        local dashboard = run("examples/dashboard.lua", env({ MAX_MESSAGES = 3 }))
        local watcher = mqtt.connect("127.0.0.1", broker:options())
        finally(function()
            watcher:publish("sensors/temp-01/status", "", { retain = true })
            watcher:disconnect()
        end)
        assert.is_true(subscribed("dashboard", "sensors/#"), dashboard:output())
        local sensor = run("examples/iot_sensor.lua", env({ READINGS = 2, INTERVAL_MS = 10 }))
        assert.are.equal(0, sensor:wait_exit(15), sensor:output())
        assert.are.equal(0, dashboard:wait_exit(15), dashboard:output())
        local out = plain(dashboard:output())
        assert.matches("temp-01 is online", out, 1, true)
        assert.matches("temp%-01: %d+%.?%d*C", out)
    end)

    it("microservice: a new order is stored and confirmed", function()
        local service = run("examples/microservice.lua", env({ MAX_ORDERS = 1 }))
        local shop = mqtt.connect("127.0.0.1", broker:options())
        finally(function() shop:disconnect() end)
        local confirmations = shop:subscribe("orders/confirmed", 1)
        local order = json.encode({ id = 42, user_id = 7, total = 19.5 })
        local confirmed
        assert.is_true(Process.wait_until(10, function()
            shop:publish("orders/new", order, { qos = 1 })
            confirmed = confirmations:receive(0.2)
            return confirmed ~= nil
        end), service:output())
        local body = json.decode(confirmed.payload)
        assert.are.equal(42, body.order_id)
        assert.are.equal("confirmed", body.status)
        assert.are.equal(0, service:wait_exit(10), service:output())
        assert.matches("Processing order #42", plain(service:output()), 1, true)
    end)

    it("chat: a user sees others join and talk", function()
        local bob = run("examples/chat.lua", env({ CHAT_USER = "bob", MAX_MESSAGES = 2 }))
        local alice = mqtt.connect("127.0.0.1", broker:options({ client_id = "chat-alice" }))
        finally(function() alice:disconnect() end)
        assert.is_true(subscribed("chat%-bob", "chat/presence"), bob:output())
        alice:publish("chat/presence", json.encode({ user = "alice", status = "online" }), { qos = 1 })
        alice:publish("chat/messages", json.encode({ user = "alice", text = "hi bob" }))
        assert.are.equal(0, bob:wait_exit(15), bob:output())
        assert.matches(">> alice joined", plain(bob:output()), 1, true)
        assert.matches("alice: hi bob", plain(bob:output()), 1, true)
    end)
end)
end
if not CopperMoon.path then
    describe("the usage examples in CopperMoon", function()
        pending("CopperMoon not found: set COPPERMOON or put coppermoon on PATH")
    end)
end
