-- The Last Will: published when the client vanishes, not after a graceful disconnect.
local mqtt = require("mqtt")
local Broker = require("support.broker")
local Process = require("support.process")

local SENSOR = [[
    local port, how = ...
    local mqtt = require("mqtt")
    local client = mqtt.connect("localhost", {
        port = tonumber(port),
        client_id = "sensor-01",
        will = {
            topic = "devices/sensor-01/status",
            payload = "offline",
            qos = 1,
            retain = true,
        },
    })
    -- Publish online status
    client:publish("devices/sensor-01/status", "online", { retain = true })
    io.stdout:write("ready\n"); io.stdout:flush()
    if how == "graceful" then
        client:disconnect()
    else
        client:receive(30)
    end
]]

describe("the Last Will", function()
    local broker = Broker.per_suite()
    local watcher

    before_each(function()
        watcher = mqtt.connect("127.0.0.1", broker:options())
        watcher:subscribe("devices/+/status", 1)
    end)

    after_each(function()
        watcher:publish("devices/sensor-01/status", "", { retain = true })
        watcher:disconnect()
    end)

    it("is published when the process holding the connection is killed with -9", function()
        local sensor = Process.spawn(SENSOR, { args = { broker.port, "killed" } })
        assert.is_true(sensor:wait_output("ready", 10), sensor:output())
        assert.are.equal("online", watcher:receive(5).payload)
        sensor:signal("KILL")
        local will = watcher:receive(10)
        assert.are.equal("devices/sensor-01/status", will.topic)
        assert.are.equal("offline", will.payload)
        assert.are.equal(1, will.qos)
    end)

    it("is not published after a graceful disconnect", function()
        local sensor = Process.spawn(SENSOR, { args = { broker.port, "graceful" } })
        assert.are.equal(0, sensor:wait_exit(10), sensor:output())
        assert.are.equal("online", watcher:receive(5).payload)
        -- A will would have been published before the process exited: a marker sent now
        -- must be the next message.
        watcher:subscribe("marker", 1)
        watcher:publish("marker", "end", { qos = 1 })
        assert.are.equal("marker", watcher:receive(5).topic)
    end)
end)
