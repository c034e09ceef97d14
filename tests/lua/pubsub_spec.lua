-- Publishing and subscribing as the documentation shows: QoS levels between two clients,
-- retained messages, every wildcard form, unsubscribe, refusals, order and size.
local mqtt = require("mqtt")
local Broker = require("support.broker")

describe("publish and subscribe", function()
    local broker = Broker.per_suite({ deny = { "secret/#" } })
    local sub, pub

    before_each(function()
        sub = mqtt.connect("localhost", broker:options({ capacity = 2000 }))
        pub = mqtt.connect("localhost", broker:options())
    end)

    after_each(function()
        sub:disconnect()
        pub:disconnect()
    end)

    for _, qos in ipairs({ 0, 1, 2 }) do
        it("delivers a QoS " .. qos .. " message between two clients", function()
            sub:subscribe("home/livingroom/temperature", qos)
            pub:publish("home/livingroom/temperature", "22.5", { qos = qos })
            local msg = sub:receive(5)
            assert.are.equal("home/livingroom/temperature", msg.topic)
            assert.are.equal("22.5", msg.payload)
            assert.are.equal(qos, msg.qos)
            assert.is_false(msg.retain)
            assert.is_false(msg.dup)
        end)
    end

    it("runs the publishing examples of the documentation", function()
        local json = { encode = function(t)
            return ('{"user_id":%d,"timestamp":%d,"ip":"%s"}'):format(t.user_id, t.timestamp, t.ip)
        end }
        local time = { now = function() return 1700000000 end }
        sub:subscribe("home/#")
        sub:subscribe("events/#")
        -- Simple publish (QoS 0, no retain)
        pub:publish("home/livingroom/temperature", "22.5")
        -- Publish with QoS and retain
        pub:publish("home/livingroom/temperature", "22.5", {
            qos = 1,
            retain = true,
        })
        -- Publish JSON data
        pub:publish("events/user/login", json.encode({
            user_id = 42,
            timestamp = time.now(),
            ip = "192.168.1.100",
        }))
        local seen = {}
        for _ = 1, 3 do
            local msg = sub:receive(5)
            seen[#seen + 1] = msg.topic .. "=" .. msg.payload
        end
        assert.are.same({
            "home/livingroom/temperature=22.5",
            "home/livingroom/temperature=22.5",
            'events/user/login={"user_id":42,"timestamp":1700000000,"ip":"192.168.1.100"}',
        }, seen)
        pub:publish("home/livingroom/temperature", "", { retain = true })
    end)

    it("gives a new subscriber the retained message, and an empty one clears it", function()
        pub:publish("status/device-1", "online", { qos = 1, retain = true })
        sub:subscribe("status/device-1", 1)
        local msg = sub:receive(5)
        assert.are.equal("online", msg.payload)
        assert.is_true(msg.retain)

        pub:publish("status/device-1", "", { qos = 1, retain = true })
        assert.are.equal("", sub:receive(5).payload)
        local late = mqtt.connect("localhost", broker:options())
        finally(function() late:disconnect() end)
        late:subscribe("status/device-1", 1)
        pub:publish("status/marker", "end", { qos = 1 })
        late:subscribe("status/marker", 1)
        pub:publish("status/marker", "end", { qos = 1 })
        assert.are.equal("status/marker", late:receive(5).topic)
    end)

    it("matches every wildcard form of the documentation", function()
        local cases = {
            { "home/livingroom/temperature", "home/livingroom/temperature", true },
            { "home/+/temperature", "home/kitchen/temperature", true },
            { "home/+/temperature", "home/kitchen/humidity", false },
            { "home/#", "home/kitchen/fridge/door", true },
            { "sensors/+/temperature", "sensors/bedroom/temperature", true },
            { "sensors/#", "sensors/temperature", true },
            { "sensors/#", "sensors", true },
            { "+/x", "$SYS/x", false },
        }
        for i, case in ipairs(cases) do
            local filter, topic, delivered = case[1], case[2], case[3]
            local c = mqtt.connect("localhost", broker:options())
            c:subscribe(filter, 1)
            if not topic:find("^%$") then
                pub:publish(topic, "m" .. i, { qos = 1 })
            end
            c:subscribe("done/" .. i, 1)
            pub:publish("done/" .. i, "end", { qos = 1 })
            local first = c:receive(5)
            if delivered then
                assert.are.equal(topic, first.topic, filter .. " ~ " .. topic)
                assert.are.equal(filter, first.subscription)
            else
                assert.are.equal("done/" .. i, first.topic, filter .. " !~ " .. topic)
            end
            c:disconnect()
        end
    end)

    it("subscribes with a QoS and unsubscribes", function()
        assert.are.equal(1, sub:subscribe("alerts/#", 1).qos)
        sub:subscribe("home/livingroom/temperature")
        sub:unsubscribe("home/livingroom/temperature")
        pub:publish("home/livingroom/temperature", "ignored", { qos = 1 })
        pub:publish("alerts/fire", "marker", { qos = 1 })
        local msg = sub:receive(5)
        assert.are.equal("alerts/fire", msg.topic)
        assert.are.equal(1, msg.qos)
    end)

    it("raises when the broker refuses a subscription (0x80)", function()
        local ok, err = pcall(function() sub:subscribe("secret/plans", 1) end)
        assert.is_false(ok)
        assert.are.equal("string", type(err))
        assert.matches('mqtt.subscribe: the broker refused the subscription to "secret/plans"', err, 1, true)
        assert.matches("pubsub_spec.lua:%d+:", err)
        assert.are.equal(0, sub:subscribe("public/plans").qos)
    end)

    it("delivers 1,000 QoS 1 messages on one topic in order", function()
        sub:subscribe("ordered", 1)
        for i = 1, 1000 do
            pub:publish("ordered", tostring(i), { qos = 1 })
        end
        for i = 1, 1000 do
            local msg = sub:receive(10)
            assert.are.equal(tostring(i), msg and msg.payload)
        end
    end)

    it("carries a 1 MiB binary payload intact", function()
        local bytes = {}
        for i = 0, 1023 do
            bytes[#bytes + 1] = string.char(i % 256)
        end
        local payload = string.rep(table.concat(bytes), 1024) -- NUL bytes included
        sub:subscribe("blob", 1)
        pub:publish("blob", payload, { qos = 1 })
        local msg = sub:receive(10)
        assert.are.equal(#payload, #msg.payload)
        assert.is_true(payload == msg.payload)
    end)

    it("sends a number payload as its string form", function()
        sub:subscribe("n/+")
        pub:publish("n/int", 42)
        pub:publish("n/float", 22.5)
        assert.are.equal("42", sub:receive(5).payload)
        assert.are.equal("22.5", sub:receive(5).payload)
    end)

    it("loses nothing published right before disconnect()", function()
        sub:subscribe("last/#", 2)
        local quick = mqtt.connect("localhost", broker:options())
        for i = 1, 300 do
            quick:publish("last/" .. (i % 3), tostring(i), { qos = i % 3 })
        end
        quick:disconnect()
        -- Order holds per topic and QoS, not across QoS levels: count what arrived.
        local got = {}
        for _ = 1, 300 do
            local msg = sub:receive(5)
            assert.is_truthy(msg, "a message is missing")
            got[tonumber(msg.payload)] = true
        end
        for i = 1, 300 do
            assert.is_true(got[i], "message " .. i .. " lost")
        end
    end)

    it("rejects bad topics, filters and options with the call, argument and rule", function()
        local cases = {
            { function() pub:publish("a/#", "x") end,
                'mqtt.publish: invalid topic "a/#": wildcards (\'+\' and \'#\') are not allowed in topic names' },
            { function() pub:publish(nil, "x") end, "mqtt.publish: bad argument #1 'topic': expected a string, got nil" },
            { function() pub:publish("a", {}) end, "mqtt.publish: bad argument #2 'payload': expected a string or a number, got table" },
            { function() pub:publish("a", "x", { qos = 3 }) end, "mqtt.publish: bad option 'qos': expected a QoS of 0, 1 or 2, got 3" },
            { function() pub:publish("a", "x", { retian = true }) end, 'mqtt.publish: unknown option "retian"' },
            { function() pub:publish("", "x") end, 'mqtt.publish: invalid topic "": must not be empty' },
            { function() sub:subscribe("a/#/b") end, 'mqtt.subscribe: invalid filter "a/#/b"' },
            { function() sub:subscribe("a", 1.5) end, "mqtt.subscribe: bad argument #2 'qos': expected a QoS of 0, 1 or 2, got 1.5" },
            { function() sub:unsubscribe(42) end, "mqtt.unsubscribe: bad argument #1 'filter': expected a string, got 42" },
        }
        for _, case in ipairs(cases) do
            local ok, err = pcall(case[1])
            assert.is_false(ok)
            assert.are.equal("string", type(err))
            assert.matches(case[2], err, 1, true)
        end
        -- The client is still usable afterwards.
        sub:subscribe("still/ok")
        pub:publish("still/ok", "yes")
        assert.are.equal("yes", sub:receive(5).payload)
    end)
end)
