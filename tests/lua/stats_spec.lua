-- client:stats(): what the client has sent, received, dropped, queued and lived through.
local mqtt = require("mqtt")
local Broker = require("support.broker")
local Process = require("support.process")

describe("client:stats()", function()
    local broker = Broker.per_suite({ deny = { "secret/#" } })

    it("counts messages and bytes both ways, subscriptions, and the last error", function()
        local c = mqtt.connect("127.0.0.1", broker:options())
        finally(function() c:disconnect() end)
        local fresh = c:stats()
        assert.are.same({
            messages_sent = 0, bytes_sent = 0, messages_received = 0, bytes_received = 0,
            dropped = 0, queued = 0, in_flight = 0, reconnects = 0, subscriptions = 0,
        }, fresh)
        c:subscribe("st/#", 1)
        c:subscribe("st2/#", 0)
        c:publish("st/a", "12345", { qos = 1 })
        c:publish("st/b", "678", { qos = 1 })
        c:flush(5)
        assert.is_truthy(c:receive(5))
        assert.is_truthy(c:receive(5))
        local s = c:stats()
        assert.are.equal(2, s.messages_sent)
        assert.are.equal(8, s.bytes_sent)
        assert.are.equal(2, s.messages_received)
        assert.are.equal(8, s.bytes_received)
        assert.are.equal(2, s.subscriptions)
        assert.are.equal(0, s.in_flight)
        assert.is_nil(s.last_error)
        c:unsubscribe("st2/#")
        assert.are.equal(1, c:stats().subscriptions)
    end)

    it("counts QoS 0 messages dropped by a full mailbox", function()
        local c = mqtt.connect("127.0.0.1", broker:options({ capacity = 2 }))
        finally(function() c:disconnect() end)
        c:subscribe("drop/#")
        for i = 1, 5 do
            c:publish("drop/x", tostring(i))
        end
        local s
        assert.is_true(Process.wait_until(5, function()
            s = c:stats()
            return s.messages_received + s.dropped == 5
        end))
        assert.are.equal(2, s.messages_received)
        assert.are.equal(3, s.dropped)
    end)
end)
