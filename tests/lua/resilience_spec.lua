-- Reconnection: silent networks, outages, giving up, and publishing while disconnected.
local mqtt = require("mqtt")
local socket = require("socket")
local Broker = require("support.broker")
local await_delivery = require("support.await_delivery")
local Process = require("support.process")
local Proxy = require("support.proxy")
local proc_status = require("support.proc_status")

local function wait_until(secs, cond)
    return Process.wait_until(secs, cond)
end

-- A broker (started with `opts`) with the TCP proxy in front of it, both stopped when the
-- test ends.
local function proxied_broker(opts)
    local broker = Broker.start(opts)
    local proxy = Proxy.start(broker.port)
    finally(function()
        proxy:stop()
        broker:stop()
    end)
    return broker, proxy
end

-- Cuts the client off through the proxy and waits until it has noticed.
local function cut_off(proxy, client)
    proxy:set("drop")
    assert.is_true(wait_until(5, function() return not client:is_connected() end))
end

describe("reconnection", function()
    it("notices a silent network within 1.5 x keep_alive and comes back after it", function()
        local broker, proxy = proxied_broker()
        local keep_alive = 2
        local client = mqtt.connect("127.0.0.1", {
            port = proxy.port,
            keep_alive = keep_alive,
            reconnect = { min_delay = 0.1, max_delay = 0.5 },
        })
        client:subscribe("silent/#", 1)
        proxy:set("blackhole")
        local cut = socket.gettime()
        assert.is_true(wait_until(keep_alive * 3, function() return not client:is_connected() end))
        local detected = socket.gettime() - cut
        assert.is_true(detected <= keep_alive * 1.5, ("noticed after %.2f s"):format(detected))

        proxy:set("pass")
        assert.is_true(wait_until(10, function() return client:is_connected() end))
        local other = mqtt.connect("127.0.0.1", broker:options())
        finally(function() other:disconnect() end)
        local got = await_delivery(other, client, "silent/x", "back", 10)
        assert.are.equal("back", got and got.payload)
        client:disconnect()
    end)

    it("uses no measurable CPU while the broker is down", function()
        local broker = Broker.start()
        finally(function() broker:stop() end)
        local client = mqtt.connect("127.0.0.1", broker:options({
            reconnect = { min_delay = 0.2, max_delay = 1 },
        }))
        broker:kill()
        assert.is_true(wait_until(5, function() return not client:is_connected() end))
        local cpu, started = os.clock(), socket.gettime()
        -- Wait for wall-clock time to pass with receive's own bounded wait, not a sleep loop.
        while socket.gettime() - started < 3 do
            client:receive(3 - (socket.gettime() - started))
        end
        -- A spinning reconnect loop or receive would use most of a core; the client's few
        -- attempts and wake-ups use 1-2% on a quiet machine, more on a busy VM.
        local used = os.clock() - cpu
        assert.is_true(used < 0.15, ("%.3f s of CPU in 3 s of outage"):format(used))
        broker:restart()
        assert.is_true(wait_until(10, function() return client:is_connected() end))
        client:disconnect()
    end)

    it("with reconnect = false, ends for good when the connection is lost", function()
        local broker = Broker.start()
        finally(function() broker:stop() end)
        local client = mqtt.connect("127.0.0.1", broker:options({ reconnect = false }))
        client:subscribe("once/#", 1)
        client:publish("once/x", "before", { qos = 1 })
        assert.are.equal("before", client:receive(5).payload)
        client:publish("once/y", "queued", { qos = 1 })
        assert.is_true(wait_until(5, function() return client:stats().messages_received == 2 end))
        broker:kill()
        local calls = 0
        client:listen(function(msg)
            calls = calls + 1
            assert.are.equal("queued", msg.payload)
        end)
        assert.are.equal(1, calls)
        assert.is_false(client:is_connected())
        local ok, err = pcall(client.receive, client, 0)
        assert.is_false(ok)
        assert.matches("the client is disconnected", err, 1, true)
        broker:restart()
        assert.is_false(client:is_connected())
    end)

    it("gives up after max_attempts failed attempts, and listen() ends", function()
        local broker = Broker.start()
        local client = mqtt.connect("127.0.0.1", broker:options({
            reconnect = { min_delay = 0.05, max_delay = 0.1, max_attempts = 3 },
        }))
        broker:stop()
        local started = socket.gettime()
        client:listen(function() end)
        assert.is_true(socket.gettime() - started < 5)
        assert.matches("connection", client:stats().last_error)
    end)

    it("re-subscribes before anything else after a reconnect without a session", function()
        local _, proxy = proxied_broker()
        local client = mqtt.connect("127.0.0.1", {
            port = proxy.port,
            keep_alive = 1,
            reconnect = { min_delay = 0.05, max_delay = 0.2 },
        })
        client:subscribe("resub/#", 1)
        local function receive_all(names)
            local want, got = {}, 0
            for _, name in ipairs(names) do want[name] = true end
            while got < #names do
                local msg = client:receive(10)
                assert.is_truthy(msg, ("%d of %d came back"):format(got, #names))
                if want[msg.payload] then
                    want[msg.payload] = nil
                    got = got + 1
                end
            end
        end
        -- Published while down: they wait in the client until the CONNACK.
        cut_off(proxy, client)
        for i = 1, 3 do client:publish("resub/held", "held " .. i, { qos = 1 }) end
        proxy:set("pass")
        receive_all({ "held 1", "held 2", "held 3" })
        -- Written into a silent network: the client re-sends them after the CONNACK.
        proxy:set("blackhole")
        for i = 1, 3 do client:publish("resub/carried", "carried " .. i, { qos = 1 }) end
        assert.is_true(wait_until(5, function() return not client:is_connected() end))
        proxy:set("pass")
        receive_all({ "carried 1", "carried 2", "carried 3" })
        assert.are.equal(2, client:stats().reconnects)
        client:disconnect()
    end)

    it("undoes a subscribe and an unsubscribe that raised after their timeout", function()
        local own = Broker.start({ conf = { "log_type subscribe", "log_type unsubscribe" } })
        local id = "late-" .. math.random(1, 1e9)
        local c = mqtt.connect("127.0.0.1", own:options({ client_id = id, timeout = 0.5 }))
        local other = mqtt.connect("127.0.0.1", own:options())
        finally(function()
            own:thaw()
            c:disconnect()
            other:disconnect()
            own:stop()
        end)
        c:subscribe("kept/#", 1)
        own:freeze()
        local ok, err = pcall(c.subscribe, c, "late/#", 1)
        assert.is_false(ok)
        assert.matches("no SUBACK", err, 1, true)
        ok, err = pcall(c.unsubscribe, c, "kept/#")
        assert.is_false(ok)
        assert.matches("no UNSUBACK", err, 1, true)
        own:thaw()
        -- The broker's log shows what it was asked: each request, then its undoing.
        local function seen(line, times)
            local f = io.open(own.dir .. "/log")
            local text = f and f:read("a") or ""
            if f then f:close() end
            local n = 0
            for _ in text:gmatch(": " .. line:gsub("%p", "%%%0") .. "\n") do n = n + 1 end
            return n >= times
        end
        assert.is_true(wait_until(10, function()
            return seen(id .. " late/#", 1) and seen(id .. " 1 kept/#", 2)
        end), "the client did not undo them (broker log: unsubscribed late/#, subscribed kept/# again)")
        other:publish("late/x", "no", { qos = 1 })
        other:publish("kept/x", "yes", { qos = 1 })
        local msg = c:receive(5)
        assert.are.equal("kept/x", msg and msg.topic)
        assert.are.equal(1, c:stats().subscriptions)
    end)

    it("sends a subscribe made during an outage after the reconnect, and answers each one its own SUBACK", function()
        local _, proxy = proxied_broker({ deny = { "deny/#" } })
        local client = mqtt.connect("127.0.0.1", {
            port = proxy.port,
            timeout = 2,
            reconnect = { min_delay = 0.05, max_delay = 0.2 },
        })
        cut_off(proxy, client)
        -- Its caller gives up after the timeout; the SUBSCRIBE stays queued.
        local ok, err = pcall(client.subscribe, client, "deny/x", 1)
        assert.is_false(ok)
        assert.matches("mqtt.subscribe: ", err, 1, true)
        proxy:set("pass")
        -- Asked for before the reconnect (within the next backoff delay): it goes out after
        -- the one above, and must get its own SUBACK, not that one's refusal.
        assert.are.equal(1, client:subscribe("ok/y", 1).qos)
        ok, err = pcall(client.subscribe, client, "deny/y", 1)
        assert.is_false(ok)
        assert.matches('the broker refused the subscription to "deny/y"', err, 1, true)
        assert.are.equal(2, client:subscribe("ok/z", 2).qos)
        assert.are.equal(2, client:stats().subscriptions)
        client:disconnect()
    end)

    it("keeps its memory flat over 300 reconnects", function()
        local _, proxy = proxied_broker()
        local client = mqtt.connect("127.0.0.1", {
            port = proxy.port, client_id = "flat-" .. math.random(1, 1e9), clean_session = false,
            reconnect = { min_delay = 0.01, max_delay = 0.02 },
        })
        finally(function() client:disconnect() end)
        client:subscribe("flat/#", 1)
        local function rss_kib()
            return proc_status("VmRSS")
        end
        local function reconnects(n)
            for i = 1, n do
                cut_off(proxy, client)
                proxy:set("pass")
                assert.is_true(wait_until(5, function() return client:is_connected() end))
                -- This loop's own garbage (a socket per proxy:set) must not be what grows.
                if i % 10 == 0 then collectgarbage() end
            end
        end
        reconnects(20)
        local before = rss_kib()
        reconnects(300)
        collectgarbage()
        local grown = rss_kib() - before
        assert(grown < 512, ("RSS grew by %d KiB over 300 reconnects"):format(grown))
        assert.are.equal(320, client:stats().reconnects)
    end)

    it("queues publishes while disconnected, sends them after the reconnect, and refuses past the bound", function()
        local broker, proxy = proxied_broker()
        local sub = mqtt.connect("127.0.0.1", broker:options({ capacity = 20000 }))
        sub:subscribe("offline/#", 1)
        local client = mqtt.connect("127.0.0.1", {
            port = proxy.port,
            timeout = 0.5,
            reconnect = { min_delay = 0.1, max_delay = 0.2 },
        })
        cut_off(proxy, client)
        for i = 1, 10000 do
            client:publish("offline/" .. (i % 10), tostring(i), { qos = 1 })
        end
        local started = socket.gettime()
        local ok, err = pcall(client.publish, client, "offline/x", "one too many", { qos = 1 })
        assert.is_false(ok)
        assert.matches("mqtt.publish: the publish queue is full", err, 1, true)
        assert.is_true(socket.gettime() - started < 2)
        assert.are.equal(10000, client:stats().queued)

        proxy:set("pass")
        local seen, count = {}, 0
        while count < 10000 do
            local msg = sub:receive(10)
            assert.is_truthy(msg, ("only %d of 10000 arrived"):format(count))
            if not seen[msg.payload] then
                seen[msg.payload] = true
                count = count + 1
            end
        end
        assert.are.equal(0, client:stats().queued)
        client:disconnect()
        sub:disconnect()
    end)
end)
