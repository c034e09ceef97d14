-- Subscription handles and per-subscription handlers: the per-subscription mailboxes,
-- exposed, and the routing rule between them and the client-wide receive.
local mqtt = require("mqtt")
local Broker = require("support.broker")
local Process = require("support.process")

describe("subscription handles and handlers", function()
    local broker = Broker.per_suite({ deny = { "secret/#" }, conf = { "log_type all" } })
    local client, other

    before_each(function()
        client = mqtt.connect("127.0.0.1", broker:options())
        other = mqtt.connect("127.0.0.1", broker:options())
    end)

    after_each(function()
        client:disconnect()
        other:disconnect()
    end)

    it("subscribe returns a Subscription with its filter and granted QoS", function()
        local sub = client:subscribe("h/info", { qos = 2 })
        assert.are.equal("h/info", sub.filter)
        assert.are.equal(2, sub.qos)
        assert.are.equal("mqtt.Subscription(h/info, qos 2)", tostring(sub))
        local ok, err = pcall(client.subscribe, client, "h/x", { qos = 1, speed = 9 })
        assert.is_false(ok)
        assert.matches('mqtt.subscribe: unknown option "speed"', err, 1, true)
        ok, err = pcall(client.subscribe, client, "h/x", 1, "not a function")
        assert.is_false(ok)
        assert.matches("mqtt.subscribe: bad argument #3 'handler'", err, 1, true)
    end)

    it("dispatches a handler subscription's messages to its handler, not to receive()", function()
        local got = {}
        client:subscribe("h/#", 1, function(msg)
            got[#got + 1] = msg.topic .. "=" .. msg.payload .. " via " .. msg.subscription
        end)
        other:publish("h/a", "1", { qos = 1 })
        other:publish("h/b", "2", { qos = 1 })
        while #got < 2 and client:dispatch(5) > 0 do
        end
        assert.are.same({ "h/a=1 via h/#", "h/b=2 via h/#" }, got)
        assert.is_nil(client:receive(0))
    end)

    it("gives a message once to every claiming subscription, and none to receive()", function()
        local handled = 0
        client:subscribe("a/#", 1, function() handled = handled + 1 end)
        local handle = client:subscribe("a/+", 1)
        assert.is_nil(handle:receive(0)) -- reading through the handle claims its messages
        other:publish("a/x", "m", { qos = 1 })
        local msg = handle:receive(5)
        assert.are.equal("a/x", msg.topic)
        assert.are.equal("a/+", msg.subscription)
        assert.are.equal(1, client:dispatch(5))
        assert.are.equal(1, handled)
        assert.is_nil(client:receive(0.2))
    end)

    it("leaves messages no subscription claims to receive() and listen(fn)", function()
        client:subscribe("plain/#")
        other:publish("plain/x", "p")
        local msg = client:receive(5)
        assert.are.equal("p", msg.payload)
        assert.are.equal("plain/#", msg.subscription)
    end)

    it("listen(fn) dispatches to handlers and gives the rest to fn, in arrival order", function()
        local order = {}
        client:subscribe("mix/h", 1, function(msg) order[#order + 1] = "handler:" .. msg.payload end)
        client:subscribe("mix/plain", 1)
        other:publish("mix/plain", "1", { qos = 1 })
        other:publish("mix/h", "2", { qos = 1 })
        other:publish("mix/plain", "3", { qos = 1 })
        other:publish("mix/plain", "stop", { qos = 1 })
        client:listen(function(msg)
            order[#order + 1] = "fn:" .. msg.payload
            if msg.payload == "stop" then
                return false
            end
        end)
        assert.are.same({ "fn:1", "handler:2", "fn:3", "fn:stop" }, order)
    end)

    it("listen() without a function runs handlers until the client closes", function()
        local seen = 0
        client:subscribe("only/h", 1, function()
            seen = seen + 1
            client:disconnect()
        end)
        other:publish("only/h", "x", { qos = 1 })
        client:listen()
        assert.are.equal(1, seen)
        client = mqtt.connect("127.0.0.1", broker:options()) -- for after_each
    end)

    it("dispatch returns what it ran when a handler disconnects the client", function()
        client:subscribe("dd/#", 1, function() client:disconnect() end)
        other:publish("dd/a", "1", { qos = 1 })
        other:publish("dd/a", "2", { qos = 1 })
        other:flush(5)
        assert.is_true(Process.wait_until(5, function() return client:stats().messages_received == 2 end))
        assert.are.equal(1, client:dispatch(1))
        client = mqtt.connect("127.0.0.1", broker:options()) -- for after_each
    end)

    it("sub:unsubscribe names itself in its errors and ends nothing when it fails", function()
        local ran = 0
        local sub = client:subscribe("un/x", 1, function() ran = ran + 1 end)
        client:disconnect()
        local ok, err = pcall(sub.unsubscribe, sub)
        assert.is_false(ok)
        assert.are.equal("mqtt.subscription.unsubscribe: the client is disconnected", err:match("mqtt%..*"))
        -- Still a live subscription as far as the script can tell: its handler is kept.
        ok, err = pcall(sub.receive, sub, 0)
        assert.matches("has a handler", err, 1, true)
        client = mqtt.connect("127.0.0.1", broker:options()) -- for after_each
    end)

    it("a handler subscription is not read through its handle", function()
        local ran = 0
        local sub = client:subscribe("hr/x", 1, function() ran = ran + 1 end)
        for _, read in ipairs({ sub.receive, sub.listen }) do
            local ok, err = pcall(read, sub, print)
            assert.is_false(ok)
            assert.matches('the subscription to "hr/x" has a handler: its messages go to it', err, 1, true)
        end
        other:publish("hr/x", "x", { qos = 1 })
        assert.are.equal(1, client:dispatch(5))
        assert.are.equal(1, ran)
    end)

    it("a handler gets its persistent session's messages that came before it was subscribed", function()
        local opts = broker:options({ client_id = "handles-persist", clean_session = false })
        local away = mqtt.connect("127.0.0.1", opts)
        away:subscribe("ph/#", 1)
        away:disconnect()
        for i = 1, 3 do other:publish("ph/x", "offline " .. i, { qos = 1 }) end
        other:flush(5)
        local back = mqtt.connect("127.0.0.1", opts)
        finally(function()
            back:unsubscribe("ph/#")
            back:disconnect()
        end)
        local got = {}
        back:subscribe("ph/#", 1, function(msg) got[#got + 1] = msg.payload .. " via " .. msg.subscription end)
        other:publish("ph/x", "online", { qos = 1 })
        assert.is_true(Process.wait_until(10, function()
            back:dispatch(0.1)
            return #got >= 4
        end), table.concat(got, ", "))
        assert.are.same({ "offline 1 via ph/#", "offline 2 via ph/#", "offline 3 via ph/#", "online via ph/#" }, got)
        assert.is_nil(back:receive(0))
    end)

    it("propagates a handler's error out of listen and dispatch", function()
        client:subscribe("boom", 1, function() error("handler broke") end)
        other:publish("boom", "x", { qos = 1 })
        local ok, err = pcall(client.dispatch, client, 5)
        assert.is_false(ok)
        assert.matches("handler broke", err, 1, true)
        other:publish("boom", "y", { qos = 1 })
        ok, err = pcall(client.listen, client)
        assert.is_false(ok)
        assert.matches("handler broke", err, 1, true)
    end)

    it("a handle's first read takes the messages already waiting for it", function()
        -- Acknowledged before the subscribe, so the broker holds it as retained: without
        -- the wait the subscription could come first and get it live, retain unset.
        other:publish("ret/a", "kept", { qos = 1, retain = true, wait = true })
        local sub = client:subscribe("ret/#", 1)
        -- The retained message arrived before anything read through the handle.
        local msg = sub:receive(5)
        assert.are.equal("kept", msg.payload)
        assert.is_true(msg.retain)
        other:publish("ret/a", "", { qos = 1, retain = true })
    end)

    it("a read handle the script lets go gives its messages back to receive(), holding nothing back", function()
        local c = mqtt.connect("127.0.0.1", broker:options({ capacity = 3 }))
        local function read_once()
            local sub = c:subscribe("g/+", 1)
            other:publish("g/1", "1", { qos = 1 })
            assert.are.equal("1", sub:receive(5).payload) -- the first read claims g/+
        end
        read_once()
        for i = 2, 4 do
            other:publish("g/" .. i, tostring(i), { qos = 1 })
        end
        assert.is_true(Process.wait_until(5, function()
            return c:stats().messages_received == 4
        end), "the handle's queue holds the three")
        collectgarbage()
        collectgarbage()
        local got = {}
        for _ = 2, 4 do
            got[#got + 1] = (c:receive(5) or {}).payload
        end
        assert.are.same({ "2", "3", "4" }, got)
        -- More than a queue's worth at QoS 1: nothing waits for the collected handle.
        for i = 5, 10 do
            other:publish("g/" .. i, tostring(i), { qos = 1 })
        end
        got = {}
        for _ = 5, 10 do
            got[#got + 1] = (c:receive(5) or {}).payload
        end
        assert.are.same({ "5", "6", "7", "8", "9", "10" }, got)
        c:disconnect()
    end)

    -- Subscribes `filter` through a handle, claims its messages with a first read, calls
    -- `meanwhile(sub)` and lets the handle go; returns once Lua has collected it.
    local function claim_and_let_go(filter, meanwhile)
        (function()
            local sub = client:subscribe(filter, 1)
            assert.is_nil(sub:receive(0))
            meanwhile(sub)
        end)()
        collectgarbage()
        collectgarbage()
    end

    -- Publishes `payloads` to `topic` at QoS 1 and waits until the client has them.
    local function arrive(topic, payloads)
        local before = client:stats().messages_received
        for _, p in ipairs(payloads) do
            other:publish(topic, p, { qos = 1 })
        end
        assert.is_true(Process.wait_until(5, function()
            return client:stats().messages_received == before + #payloads
        end))
    end

    it("a collected handle gives back nothing another subscription got too", function()
        local kept = client:subscribe("cmd/#", 1)
        assert.is_nil(kept:receive(0))
        local handled = {}
        client:subscribe("cmd/+", 1, function(msg) handled[#handled + 1] = msg.payload end)
        claim_and_let_go("cmd/#", function()
            arrive("cmd/go", { "once" })
            assert.are.equal("once", kept:receive(5).payload)
            assert.are.equal(1, client:dispatch(5))
        end)
        assert.is_nil(client:receive(0.2))
        assert.are.same({ "once" }, handled)
    end)

    it("what a collected handle gave back stays the client's after an unsubscribe", function()
        client:subscribe("plain/#", 1)
        claim_and_let_go("u/#", function()
            arrive("u/x", { "g1", "g2" })
        end)
        client:unsubscribe("u/#")
        other:publish("plain/x", "end", { qos = 1 })
        local got = {}
        client:listen(function(msg)
            got[#got + 1] = msg.payload .. " via " .. tostring(msg.subscription)
            return msg.payload ~= "end"
        end)
        assert.are.same({ "g1 via u/#", "g2 via u/#", "end via plain/#" }, got)
    end)

    it("a collected handle that was unsubscribed gives nothing back", function()
        claim_and_let_go("v/#", function(sub)
            arrive("v/x", { "1", "2", "3" })
            sub:unsubscribe()
        end)
        assert.is_nil(client:receive(0.3))
    end)

    it("a handle's first read takes what a collected handle gave back", function()
        local later = client:subscribe("z/+", 1)
        claim_and_let_go("z/#", function()
            arrive("z/1", { "1", "2" })
        end)
        assert.are.equal("1", later:receive(5).payload)
        assert.are.equal("2", later:receive(5).payload)
        assert.is_nil(client:receive(0.2))
    end)

    it("sub:listen stops on false, and sub:unsubscribe ends the subscription", function()
        local sub = client:subscribe("l/#", 1)
        for i = 1, 3 do
            other:publish("l/x", tostring(i), { qos = 1 })
        end
        local got = {}
        sub:listen(function(msg)
            got[#got + 1] = msg.payload
            return msg.payload ~= "2"
        end)
        assert.are.same({ "1", "2" }, got)
        assert.are.equal("3", sub:receive(5).payload)
        sub:unsubscribe()
        other:publish("l/x", "late", { qos = 1 })
        client:subscribe("l/marker", 1)
        other:publish("l/marker", "end", { qos = 1 })
        assert.are.equal("end", client:receive(5).payload)
    end)

    it("an ended subscription's receive and listen raise, and listen ends when fn unsubscribes", function()
        -- In a child process, bounded: before the fix these calls waited forever.
        local child = Process.spawn(([[
            local mqtt = require("mqtt")
            local client = mqtt.connect("127.0.0.1", { port = %d })
            local sub = client:subscribe("z/#", 1)
            client:publish("z/a", "1", { qos = 1 })
            client:publish("z/a", "2", { qos = 1 })
            local got = {}
            sub:listen(function(msg)
                got[#got + 1] = msg.payload
                sub:unsubscribe()
                return true
            end)
            print("listened " .. table.concat(got, ","))
            print(select(2, pcall(sub.receive, sub)))
            print(select(2, pcall(sub.listen, sub, print)))
            local kept = client:subscribe("k/#", 1)
            client:unsubscribe("k/#")
            print(select(2, pcall(kept.receive, kept)))
            local first, sibling = client:subscribe("s/b", 1), client:subscribe("s/b", 1)
            first:unsubscribe()
            print(select(2, pcall(sibling.listen, sibling, print)))
            client:disconnect()
        ]]):format(broker.port))
        local status = child:wait_exit(10)
        if status == nil then
            child:signal("KILL")
        end
        local out = child:output()
        assert.are.equal(0, status, out)
        assert.matches("^listened 1\n", out)
        for _, expected in ipairs({
            'mqtt.subscription.receive: the subscription to "z/#" has ended (unsubscribed)',
            'mqtt.subscription.listen: the subscription to "z/#" has ended (unsubscribed)',
            'mqtt.subscription.receive: the subscription to "k/#" has ended (unsubscribed)',
            'mqtt.subscription.listen: the subscription to "s/b" has ended (unsubscribed)',
        }) do
            assert.is_truthy(out:find(expected, 1, true), out)
        end
    end)

    it("runs no handler of an ended subscription, for messages that were already waiting", function()
        local ran = {}
        local function count(msg) ran[#ran + 1] = msg.topic end
        local a = client:subscribe("e/a", 1, count)
        client:subscribe("e/b", 1, count)
        client:subscribe("e/c", 1, count)
        for _, t in ipairs({ "e/a", "e/b", "e/c", "e/a", "e/b", "e/c" }) do
            other:publish(t, "waiting", { qos = 1 })
        end
        local function received(n)
            return Process.wait_until(5, function() return client:stats().messages_received == n end)
        end
        assert.is_true(received(6))
        a:unsubscribe()
        client:unsubscribe("e/b")
        assert.are.equal(2, client:dispatch(0))
        assert.are.same({ "e/c", "e/c" }, ran)
        -- listen(fn) skips them too, and does not hand them to fn.
        local d = client:subscribe("e/d", 1, count)
        other:publish("e/d", "waiting", { qos = 1 })
        assert.is_true(received(7))
        d:unsubscribe()
        client:subscribe("e/end", 1)
        other:publish("e/end", "", { qos = 1 })
        client:listen(function(msg)
            ran[#ran + 1] = "fn " .. msg.topic
            return false
        end)
        assert.are.same({ "e/c", "e/c", "fn e/end" }, ran)
    end)

    it("routes a shared subscription by the filter after $share/<group>/", function()
        local got
        client:subscribe("$share/g/s/#", 1, function(msg) got = msg end)
        other:publish("s/x", "shared", { qos = 1 })
        client:dispatch(5)
        assert.are.equal("shared", got.payload)
        assert.are.equal("$share/g/s/#", got.subscription)
    end)

    it("subscribe_many subscribes in one SUBSCRIBE packet and names each refused filter", function()
        local handled
        local subs = client:subscribe_many({
            { "many/a", 0 },
            { "many/b", 1 },
            { "many/c", 2, function(msg) handled = msg.payload end },
        })
        assert.are.equal(3, #subs)
        assert.are.same({ 0, 1, 2 }, { subs[1].qos, subs[2].qos, subs[3].qos })
        other:publish("many/c", "c", { qos = 1 })
        client:dispatch(5)
        assert.are.equal("c", handled)
        local log = assert(io.open(broker.dir .. "/log")):read("a")
        local packets, at = 0, 1
        local needle = "Received SUBSCRIBE from " .. client:client_id()
        while true do
            local found = log:find(needle, at, true)
            if not found then break end
            packets, at = packets + 1, found + 1
        end
        assert.are.equal(1, packets)

        local opened
        local ok, err = pcall(client.subscribe_many, client, {
            { "secret/a", 1 }, { "open/a", 1, function(msg) opened = msg.payload end }, { "secret/b", 0 },
        })
        assert.is_false(ok)
        assert.matches('mqtt.subscribe_many: the broker refused the subscriptions to ["secret/a", "secret/b"]', err, 1, true)
        -- The granted one is subscribed, and its handler runs.
        other:publish("open/a", "granted", { qos = 1 })
        assert.are.equal(1, client:dispatch(5))
        assert.are.equal("granted", opened)
        ok, err = pcall(client.subscribe_many, client, {})
        assert.is_false(ok)
        assert.matches("mqtt.subscribe_many: bad argument #1", err, 1, true)
    end)
end)
