-- Receiving: receive with and without a timeout, listen, the custom receive loop, Ctrl-C.
local mqtt = require("mqtt")
local socket = require("socket")
local Broker = require("support.broker")
local Process = require("support.process")

describe("receiving", function()
    local broker = Broker.per_suite()
    local client

    before_each(function()
        client = mqtt.connect("localhost", broker:options())
    end)

    after_each(function()
        client:disconnect()
    end)

    it("receive() returns the next message with its fields", function()
        client:subscribe("sensors/temp")
        client:publish("sensors/temp", "22.5")
        local msg = client:receive(5)
        assert.are.equal("sensors/temp", msg.topic)
        assert.are.equal("22.5", msg.payload)
        assert.are.equal(0, msg.qos)
        assert.is_false(msg.retain)
        assert.is_false(msg.dup)
    end)

    it("receive(timeout) returns nil when nothing arrives in time", function()
        local started = socket.gettime()
        assert.is_nil(client:receive(0.3))
        assert.is_true(socket.gettime() - started >= 0.3)
        assert.is_nil(client:receive(0))
    end)

    it("receive(0) polls", function()
        client:subscribe("poll")
        client:publish("poll", "x", { qos = 1 })
        assert.is_truthy(client:receive(5))
        assert.is_nil(client:receive(0))
    end)

    it("rejects a bad timeout", function()
        for _, bad in ipairs({ -1, 0 / 0, math.huge, "1" }) do
            local ok, err = pcall(client.receive, client, bad)
            assert.is_false(ok)
            assert.matches("mqtt.receive: bad argument #1 'timeout': expected a finite number of seconds", err, 1, true)
        end
    end)

    it("listen() calls the function for each message until it returns false", function()
        client:subscribe("sensors/#")
        for _, p in ipairs({ "1", "2", "shutdown", "4" }) do
            client:publish("sensors/x", p, { qos = 1 })
        end
        local seen = {}
        client:listen(function(msg)
            seen[#seen + 1] = "[" .. msg.topic .. "] " .. msg.payload
            -- Return false to stop the loop
            if msg.payload == "shutdown" then
                return false
            end
        end)
        assert.are.same({ "[sensors/x] 1", "[sensors/x] 2", "[sensors/x] shutdown" }, seen)
        assert.are.equal("4", client:receive(5).payload)
    end)

    it("listen() propagates an error raised in the function, with its message", function()
        client:subscribe("boom")
        client:publish("boom", "x")
        local ok, err = pcall(client.listen, client, function()
            error("handler failed")
        end)
        assert.is_false(ok)
        assert.matches("handler failed", err, 1, true)
        -- A non-string error value comes through untouched.
        client:publish("boom", "y")
        local ok2, err2 = pcall(client.listen, client, function()
            error({ code = 7 })
        end)
        assert.is_false(ok2)
        assert.are.equal(7, err2.code)
    end)

    it("listen() ends when the client is disconnected", function()
        client:subscribe("bye")
        client:publish("bye", "x")
        local calls = 0
        client:listen(function()
            calls = calls + 1
            client:disconnect()
        end)
        assert.are.equal(1, calls)
        local ok, err = pcall(client.receive, client, 0)
        assert.is_false(ok)
        assert.matches("mqtt.receive: the client is disconnected", err, 1, true)
    end)

    it("listen() needs a function", function()
        local ok, err = pcall(client.listen, client, "nope")
        assert.is_false(ok)
        assert.matches("mqtt.listen: bad argument #1 'fn': expected a function, got string", err, 1, true)
    end)

    it("runs the custom receive loop of the documentation", function()
        client:subscribe("sensors/#")
        client:subscribe("alerts/high-value", 1)
        client:publish("sensors/a", "50")
        client:publish("sensors/b", "150")
        local alerts = {}
        while client:is_connected() do
            local msg = client:receive(1) -- 1 second timeout
            if msg then
                -- Process message
                if msg.topic == "alerts/high-value" then
                    alerts[#alerts + 1] = msg.payload
                    break
                end
                local value = tonumber(msg.payload)
                if value and value > 100 then
                    client:publish("alerts/high-value", msg.payload, { qos = 1 })
                end
            end
        end
        assert.are.same({ "150" }, alerts)
    end)

    for _, call in ipairs({ "client:receive()", "client:listen(function() end)" }) do
        it("lets Ctrl-C interrupt a blocking " .. call .. " within half a second", function()
            local child = Process.spawn(([[
                local mqtt = require("mqtt")
                local client = mqtt.connect("127.0.0.1", { port = %d })
                client:subscribe("nothing/ever")
                io.stdout:write("ready\n"); io.stdout:flush()
                %s
            ]]):format(broker.port, call))
            assert.is_true(child:wait_output("ready", 10), child:output())
            local sent = socket.gettime()
            child:signal("INT")
            local status = child:wait_exit(5)
            local elapsed = socket.gettime() - sent
            assert.is_not_nil(status)
            assert.are_not.equal(0, status)
            assert.matches("interrupted", child:output(), 1, true)
            assert.is_true(elapsed < 0.5, ("exited %.3f s after SIGINT"):format(elapsed))
        end)
    end
end)
