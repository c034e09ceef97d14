-- In real CopperMoon (`$COPPERMOON`, else `coppermoon` on PATH; skipped, visibly, when there
-- is neither): a client attached to the host's event loop runs its handlers while
-- `http.server` serves requests, and a script whose clients have all disconnected exits.
local socket = require("socket")
local http = require("socket.http")
local mqtt = require("mqtt")
local Broker = require("support.broker")
local Process = require("support.process")
local CopperMoon = require("support.coppermoon")

local COPPERMOON, project = CopperMoon.path, CopperMoon.project

local function read(path)
    local f = assert(io.open(path))
    local s = f:read("a")
    f:close()
    return s
end

-- A port free on 127.0.0.1 now.
local function free_port()
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    return port
end

describe("in CopperMoon", function()
    local broker = Broker.per_suite()

    if not COPPERMOON then
        pending("CopperMoon not found: set COPPERMOON or put coppermoon on PATH")
        return
    end

    it("an attached client's handlers run while http.server serves (examples/http_dashboard.lua)",
        function()
            local dir = project({ ["app.lua"] = read("examples/http_dashboard.lua") })
            local http_port = free_port()
            local app = Process.run({ COPPERMOON, dir .. "/app.lua" },
                { MQTT_HOST = "127.0.0.1", MQTT_PORT = broker.port, HTTP_PORT = http_port })
            assert.is_true(app:wait_output("serving readings", 15), app:output())
            local url = ("http://127.0.0.1:%d/"):format(http_port)
            local function get()
                return http.request(url)
            end
            assert.is_true(Process.wait_until(10, function()
                return get() ~= nil
            end), "no HTTP answer: " .. app:output())
            local publisher = mqtt.connect("127.0.0.1", broker:options())
            -- Each reading in turn: published, then read back over HTTP.
            for i = 1, 20 do
                publisher:publish("sensors/kitchen/value", tostring(i), { qos = 1, wait = true })
                assert.is_true(Process.wait_until(5, function()
                    return (get() or ""):find(('"kitchen":"%d"'):format(i), 1, true) ~= nil
                end), ("reading %d never shown: %s"):format(i, get() or app:output()))
            end
            publisher:publish("service/stop", "", { qos = 1, wait = true })
            publisher:disconnect()
            assert.are.equal(0, app:wait_exit(10), app:output())
        end)

    it("a script whose clients have all disconnected exits", function()
        local dir = project({
            ["app.lua"] = ([[
                local mqtt = require("mqtt")
                local client = mqtt.connect("127.0.0.1", { port = %d })
                client:subscribe("attached/stop", 1, function(msg)
                    print("stopping on " .. msg.topic)
                    client:disconnect()
                end)
                client:attach(0.005)
                print("attached")
            ]]):format(broker.port),
        })
        local app = Process.run({ COPPERMOON, dir .. "/app.lua" })
        assert.is_true(app:wait_output("attached", 15), app:output())
        local publisher = mqtt.connect("127.0.0.1", broker:options())
        publisher:publish("attached/stop", "", { qos = 1, wait = true })
        publisher:disconnect()
        assert.are.equal(0, app:wait_exit(10), app:output())
        assert.matches("stopping on attached/stop", app:output(), 1, true)
    end)

    it("says what attach needs where the host has no timers", function()
        local client = mqtt.connect("127.0.0.1", broker:options())
        local ok, err = pcall(client.attach, client)
        client:disconnect()
        assert.is_false(ok)
        assert.matches("mqtt.attach: this host has no setInterval and clearInterval", err, 1, true)
    end)
end)
