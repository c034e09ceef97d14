-- The core specs against each broker named in COPPER_INTEROP (comma-separated kinds: mosquitto,
-- nats, rabbitmq; mosquitto when unset): connect, auth, QoS 0/1/2, retained messages,
-- wildcards, the will, persistent sessions and reconnection. Where a broker differs, the spec
-- asserts what it does, so that docs/compatibility.md (filled from `scripts/interop.sh all`)
-- is backed by a test.
local mqtt = require("mqtt")
local Broker = require("support.broker")
local Process = require("support.process")
local await_delivery = require("support.await_delivery")

-- Where the brokers differ. `refusal`: the CONNACK refusal of a wrong password. `qos2`: the
-- QoS a subscription at QoS 2 is granted. `publish_qos2`: the QoS a QoS 2 publish is
-- delivered at, or "drops the connection". `dot_in_topic`: what happens to a '.' in a topic
-- ("kept", "refused" or "becomes '/'").
local BROKERS = {
    mosquitto = { refusal = "not authorised", qos2 = 2, publish_qos2 = 2, dot_in_topic = "kept" },
    nats = {
        refusal = "not authorised",
        qos2 = 1,
        publish_qos2 = "drops the connection",
        dot_in_topic = "refused",
    },
    rabbitmq = {
        refusal = "bad user name or password",
        qos2 = 1,
        publish_qos2 = 1,
        dot_in_topic = "becomes '/'",
    },
}

local WATCHED = [[
    local port, how = ...
    local mqtt = require("mqtt")
    local client = mqtt.connect("127.0.0.1", {
        port = tonumber(port),
        will = { topic = "devices/sensor-01/status", payload = "offline", qos = 1 },
    })
    io.stdout:write("ready\n"); io.stdout:flush()
    if how == "graceful" then
        client:disconnect()
    else
        client:receive(30)
    end
]]

local function wait_until(secs, cond)
    return Process.wait_until(secs, cond)
end

for kind in (os.getenv("COPPER_INTEROP") or "mosquitto"):gmatch("[^,]+") do
    local expect = assert(BROKERS[kind], "unknown broker kind " .. kind)

    describe(kind, function()
        local broker = Broker.per_suite({ kind = kind })
        local secured = Broker.per_suite({ kind = kind, users = { "myuser:secret" } })
        local sub, pub

        before_each(function()
            sub = mqtt.connect("127.0.0.1", broker:options({ capacity = 2000 }))
            pub = mqtt.connect("127.0.0.1", broker:options())
        end)

        after_each(function()
            sub:disconnect()
            pub:disconnect()
        end)

        it("accepts an anonymous client", function()
            assert.is_true(sub:is_connected())
        end)

        it("accepts a user name and password, and refuses a wrong password as " .. expect.refusal, function()
            local client = mqtt.connect("localhost", secured:options({ username = "myuser", password = "secret" }))
            assert.is_true(client:is_connected())
            client:disconnect()
            local ok, err = pcall(mqtt.connect, "localhost", secured:options({
                username = "myuser",
                password = "wrong",
            }))
            assert.is_false(ok)
            assert.matches("refused the connection: " .. expect.refusal, err, 1, true)
        end)

        it("refuses an anonymous client where a password is required", function()
            local ok, err = pcall(mqtt.connect, "127.0.0.1", secured:options())
            assert.is_false(ok)
            assert.matches("refused the connection: " .. expect.refusal, err, 1, true)
        end)

        for _, qos in ipairs({ 0, 1 }) do
            it("delivers a QoS " .. qos .. " message at QoS " .. qos, function()
                assert.are.equal(qos, sub:subscribe("qos/" .. qos, qos).qos)
                pub:publish("qos/" .. qos, "22.5", { qos = qos, wait = qos > 0 })
                local msg = sub:receive(5)
                assert.are.equal("22.5", msg and msg.payload)
                assert.are.equal(qos, msg.qos)
            end)
        end

        it("grants a subscription at QoS 2 as QoS " .. expect.qos2, function()
            assert.are.equal(expect.qos2, sub:subscribe("qos/2", 2).qos)
        end)

        if expect.publish_qos2 == "drops the connection" then
            it("closes the connection on a QoS 2 publish, which the client gives up after three tries", function()
                local client = mqtt.connect("127.0.0.1", broker:options({
                    timeout = 5,
                    reconnect = { min_delay = 0.1, max_delay = 0.5 },
                }))
                finally(function() client:disconnect() end)
                sub:subscribe("qos/2", 1)
                local ok, err = pcall(client.publish, client, "qos/2", "exactly once", { qos = 2, wait = true })
                assert.is_false(ok)
                assert.matches('mqtt.publish: the broker closed the connection each time it received the publish to "qos/2" at QoS 2; the client gave it up', err, 1, true)
                assert.matches("publish QoS=2 not supported", broker:log(), 1, true)
                assert.matches("the client gave it up", client:stats().last_error, 1, true)
                assert.is_nil(sub:receive(0.5))
                -- The client goes on working, with no more reconnects.
                local reconnects = client:stats().reconnects
                client:publish("qos/2", "at least once", { qos = 1, wait = true })
                local msg = sub:receive(5)
                assert.are.equal("at least once", msg and msg.payload)
                assert.are.equal(reconnects, client:stats().reconnects)
            end)
        else
            it("delivers a QoS 2 publish at QoS " .. expect.publish_qos2, function()
                sub:subscribe("qos/2", 2)
                pub:publish("qos/2", "exactly once", { qos = 2, wait = true })
                local msg = sub:receive(5)
                assert.are.equal("exactly once", msg and msg.payload)
                assert.are.equal(expect.publish_qos2, msg.qos)
            end)
        end

        it("gives a new subscriber the retained message, and an empty one clears it", function()
            pub:publish("status/device-1", "online", { qos = 1, retain = true, wait = true })
            sub:subscribe("status/device-1", 1)
            local msg = sub:receive(5)
            assert.are.equal("online", msg and msg.payload)
            assert.is_true(msg.retain)

            pub:publish("status/device-1", "", { qos = 1, retain = true, wait = true })
            assert.are.equal("", sub:receive(5).payload)
            local late = mqtt.connect("127.0.0.1", broker:options())
            finally(function() late:disconnect() end)
            late:subscribe("status/device-1")
            late:subscribe("status/marker")
            pub:publish("status/marker", "end")
            assert.are.equal("status/marker", late:receive(5).topic)
        end)

        it("matches '+' one level and '#' any levels, the parent level included", function()
            local cases = {
                { "home/+/temperature", "home/kitchen/temperature", true },
                { "home/+/temperature", "home/kitchen/fridge/temperature", false },
                { "home/+/temperature", "home/kitchen/humidity", false },
                { "home/+/temperature", "home//temperature", true },
                { "sensors/#", "sensors/kitchen/humidity", true },
                { "sensors/#", "sensors", true },
                { "sensors/#", "sensorsx", false },
            }
            -- At QoS 0: NATS delivers QoS 1 messages of two subscriptions out of publish order.
            for i, case in ipairs(cases) do
                local filter, topic, delivered = case[1], case[2], case[3]
                local c = mqtt.connect("127.0.0.1", broker:options())
                c:subscribe(filter)
                pub:publish(topic, "m" .. i)
                c:subscribe("done/" .. i)
                pub:publish("done/" .. i, "end")
                local first = c:receive(5)
                if delivered then
                    assert.are.equal(topic, first and first.topic, filter .. " ~ " .. topic)
                    assert.are.equal(filter, first.subscription)
                else
                    assert.are.equal("done/" .. i, first and first.topic, filter .. " !~ " .. topic)
                end
                c:disconnect()
            end
        end)

        if expect.dot_in_topic == "kept" then
            it("keeps a '.' in a topic", function()
                sub:subscribe("dotted/#", 1)
                pub:publish("dotted/v1.2", "x", { qos = 1 })
                assert.are.equal("dotted/v1.2", sub:receive(5).topic)
            end)
        elseif expect.dot_in_topic == "refused" then
            it("refuses a '.' in a filter (0x80) and drops the connection on a '.' in a topic", function()
                local ok, err = pcall(sub.subscribe, sub, "dotted/v1.2", 1)
                assert.is_false(ok)
                assert.matches('refused the subscription to "dotted/v1.2" (return code 0x80)', err, 1, true)
                pub:publish("dotted/v1.2", "x")
                assert.is_true(wait_until(5, function() return pub:stats().reconnects >= 1 end))
                assert.matches("characters ' ' and '.' not supported for MQTT topics", broker:log(), 1, true)
            end)
        else
            it("delivers a topic's '.' as '/'", function()
                sub:subscribe("dotted/#", 1)
                pub:publish("dotted/v1.2", "x", { qos = 1 })
                assert.are.equal("dotted/v1/2", sub:receive(5).topic)
            end)
        end

        it("delivers 1,000 QoS 1 messages through one subscription in order", function()
            sub:subscribe("ordered/#", 1)
            for i = 1, 1000 do
                pub:publish("ordered/" .. (i % 3), tostring(i), { qos = 1 })
            end
            for i = 1, 1000 do
                local msg = sub:receive(10)
                assert.are.equal(tostring(i), msg and msg.payload)
            end
        end)

        it("carries a 1 MiB payload intact", function()
            local payload = string.rep("0123456789abcdef", 65536)
            sub:subscribe("blob", 1)
            pub:publish("blob", payload, { qos = 1 })
            local msg = sub:receive(10)
            assert.is_true(payload == (msg and msg.payload))
        end)

        it("publishes the will when the process holding the connection is killed with -9", function()
            sub:subscribe("devices/+/status", 1)
            local child = Process.spawn(WATCHED, { args = { broker.port, "killed" } })
            assert.is_true(child:wait_output("ready", 10), child:output())
            child:signal("KILL")
            local will = sub:receive(10)
            assert.are.equal("devices/sensor-01/status", will and will.topic)
            assert.are.equal("offline", will.payload)
            assert.are.equal(1, will.qos)
        end)

        it("does not publish the will after a graceful disconnect", function()
            -- A will would have been published before the process exited: a marker sent now
            -- must be the next message (at QoS 0, which every broker delivers in order).
            sub:subscribe("devices/+/status")
            local child = Process.spawn(WATCHED, { args = { broker.port, "graceful" } })
            assert.are.equal(0, child:wait_exit(10), child:output())
            sub:subscribe("marker")
            pub:publish("marker", "end")
            assert.are.equal("marker", sub:receive(5).topic)
        end)

        it("keeps QoS 1 messages for a persistent session while it is away", function()
            local session = { client_id = "interop-session", clean_session = false }
            local away = mqtt.connect("127.0.0.1", broker:options(session))
            away:subscribe("session/#", 1)
            away:disconnect()
            pub:publish("session/missed", "while away", { qos = 1, wait = true })
            local back = mqtt.connect("127.0.0.1", broker:options(session))
            local msg = back:receive(5)
            back:disconnect()
            mqtt.connect("127.0.0.1", broker:options({ client_id = "interop-session" })):disconnect()
            assert.are.equal("while away", msg and msg.payload)
        end)

        it("reconnects after the broker is killed with -9 and restarted on its port", function()
            local client = mqtt.connect("127.0.0.1", broker:options({
                reconnect = { min_delay = 0.1, max_delay = 0.5 },
            }))
            client:subscribe("back/#", 1)
            broker:kill()
            assert.is_true(wait_until(5, function() return not client:is_connected() end))
            broker:restart()
            assert.is_true(wait_until(10, function() return client:is_connected() end))
            local other = mqtt.connect("127.0.0.1", broker:options())
            local got = await_delivery(other, client, "back/x", "again", 10)
            other:disconnect()
            client:disconnect()
            assert.are.equal("again", got and got.payload)
        end)
    end)
end
