-- Hostile input: every argument of every call, wrong in every way, raises a clear string
-- error naming the call; nothing crashes, hangs or breaks the connected client.
local mqtt = require("mqtt")
local Broker = require("support.broker")

local NAN, INF = 0 / 0, math.huge
local WRONG_TYPES = { false, true, 42, 1.5, {}, function() end, coroutine.create(function() end) }
local LONG = string.rep("a", 70000)
local BAD_UTF8 = "a/\xff\xfe"

describe("hostile input", function()
    local broker = Broker.per_suite()
    local client

    before_each(function()
        client = mqtt.connect("127.0.0.1", broker:options({ capacity = 1000 }))
    end)

    after_each(function()
        -- Whatever came before, the client still works.
        client:subscribe("still/works", 1)
        client:publish("still/works", "yes", { qos = 1 })
        local msg = client:receive(5)
        assert.are.equal("yes", msg and msg.payload)
        client:disconnect()
    end)

    local function refuses(call, fn, ...)
        local ok, err = pcall(fn, ...)
        assert.is_false(ok, call .. " accepted bad input")
        assert.are.equal("string", type(err), call .. " raised a " .. type(err))
        assert.matches("mqtt%." .. call .. ": ", err)
        return err
    end

    it("mqtt.connect refuses a bad host and every bad option value", function()
        for _, host in ipairs({ false, 42, {}, function() end, "" }) do
            refuses("connect", mqtt.connect, host)
        end
        refuses("connect", mqtt.connect, nil)
        local bad = {
            port = { 0, -1, 70000, 1.5, NAN, INF, "1883", {} },
            keep_alive = { 0.5, -1, 65536, NAN, INF, "60" },
            timeout = { 0, -1, NAN, INF, "10" },
            capacity = { 0, -1, 2 ^ 40, 1.5, NAN, "100" },
            client_id = { 42, {}, true, BAD_UTF8, "a\0b", LONG },
            username = { 42, {}, BAD_UTF8, "u\0", LONG },
            password = { 42, {}, LONG },
            clean_session = { "yes", 1, {} },
            will = { 5, "x", true, { topic = "a/+" }, { topic = "t", qos = 3 }, { payload = "x" },
                { topic = "t", retain = "no" }, { topic = LONG }, { topic = BAD_UTF8 }, { topic = "t", x = 1 },
                { topic = "t", payload = LONG } },
            reconnect = { 1, "yes", { min_delay = -1 }, { max_delay = NAN }, { max_attempts = 0 },
                { max_attempts = 1.5 }, { min_delay = 2, max_delay = 1 }, { every = 1 } },
        }
        for key, values in pairs(bad) do
            for _, v in ipairs(values) do
                local err = refuses("connect", mqtt.connect, "127.0.0.1", { port = broker.port, [key] = v })
                assert.matches(key, err, 1, true)
            end
        end
        -- A refused password is described, never quoted back.
        local err = refuses("connect", mqtt.connect, "127.0.0.1",
            { port = broker.port, username = "u", password = "\255hunter2" })
        assert.is_nil(err:find("hunter2", 1, true), err)
        err = refuses("connect", mqtt.connect, ("mqtt://u%%00:hunter2@127.0.0.1:%d"):format(broker.port))
        assert.matches("bad option 'username'", err, 1, true)
        refuses("connect", mqtt.connect, "127.0.0.1", 42)
        refuses("connect", mqtt.connect, "127.0.0.1", { [1] = "positional" })
    end)

    it("publish refuses bad topics, payloads and options", function()
        local topics = { "", "a/#", "a/+", "+", "#", LONG, BAD_UTF8, "a\0b" }
        for _, t in ipairs(WRONG_TYPES) do topics[#topics + 1] = t end
        for _, topic in ipairs(topics) do
            refuses("publish", client.publish, client, topic, "x")
        end
        refuses("publish", client.publish, client, nil, "x")
        for _, payload in ipairs({ true, {}, function() end }) do
            refuses("publish", client.publish, client, "t", payload)
        end
        refuses("publish", client.publish, client, "t", nil)
        for _, opts in ipairs({ 5, "x", true, { qos = 3 }, { qos = -1 }, { qos = "1" }, { qos = 1.5 },
            { qos = NAN }, { retain = "yes" }, { retain = 1 }, { bogus = true }, { [1] = 1 } }) do
            refuses("publish", client.publish, client, "t", "x", opts)
        end
    end)

    it("publish takes payloads of 0 bytes and of 16 MiB", function()
        client:subscribe("size/#", 1)
        client:publish("size/empty", "", { qos = 1 })
        local big = string.rep("\0\1\2\3", 4 * 1024 * 1024)
        client:publish("size/big", big, { qos = 1 })
        assert.are.equal("", client:receive(5).payload)
        local got = client:receive(30)
        assert.are.equal(#big, #got.payload)
        assert.is_true(got.payload == big)
    end)

    it("publish refuses a message larger than an MQTT packet carries, and sends nothing", function()
        local too_big = string.rep("x", 256 * 1024 * 1024)
        for _, opts in ipairs({ { qos = 0 }, { qos = 1, wait = true }, { qos = 2, wait = true } }) do
            local err = refuses("publish", client.publish, client, "size/huge", too_big, opts)
            assert.matches("bad argument #2 'payload': expected a message of at most 268435456 bytes", err, 1, true)
        end
        too_big = nil
        collectgarbage()
        client:flush(5)
        assert.are.equal(0, client:stats().in_flight)
        assert.are.equal(0, client:stats().reconnects)
    end)

    it("subscribe and unsubscribe refuse bad filters and QoS", function()
        local filters = { "", "a/#/b", "a#", "a/b+", "$share//a", "$share/g", "$share/g+/a", LONG, BAD_UTF8, "a\0" }
        for _, f in ipairs(WRONG_TYPES) do filters[#filters + 1] = f end
        for _, f in ipairs(filters) do
            refuses("subscribe", client.subscribe, client, f)
            refuses("unsubscribe", client.unsubscribe, client, f)
        end
        refuses("subscribe", client.subscribe, client, nil)
        refuses("unsubscribe", client.unsubscribe, client, nil)
        for _, qos in ipairs({ 3, -1, "x", "1", 1.5, NAN, INF, { qos = 3 }, { bogus = 1 }, true }) do
            refuses("subscribe", client.subscribe, client, "a", qos)
        end
    end)

    it("receive and listen refuse bad arguments", function()
        for _, t in ipairs({ -1, NAN, INF, -INF, "1", {}, true, function() end }) do
            refuses("receive", client.receive, client, t)
        end
        for _, fn in ipairs({ 42, "f", {}, true }) do
            refuses("listen", client.listen, client, fn)
        end
        -- Each read names itself, not the native call underneath.
        local sub = client:subscribe("names/x", 1)
        local err = refuses("dispatch", client.dispatch, client, -1)
        assert.matches("bad argument #1 'timeout'", err, 1, true)
        err = refuses("subscription%.receive", sub.receive, sub, -1e300)
        assert.matches("got %-1e300$", err)
        sub:unsubscribe()
        for _, interval in ipairs({ 0, -1, 0 / 0, math.huge, "1" }) do
            err = refuses("attach", client.attach, client, interval)
            assert.matches("bad argument #1 'interval': expected seconds", err, 1, true)
        end
    end)

    it("methods called without their client say how to call them", function()
        for _, name in ipairs({ "publish", "subscribe", "unsubscribe", "receive", "listen", "disconnect", "stats",
                                "attach", "getfd" }) do
            local err = refuses(name, client[name], nil, "x")
            assert.matches("client:" .. name, err, 1, true)
        end
        -- A dot for a colon is reported at the line of the script that wrote it.
        for _, name in ipairs({ "publish", "receive", "flush", "subscribe" }) do
            local line
            local ok, err = pcall(function()
                line = debug.getinfo(1, "l").currentline + 1
                client[name]("x", "y")
            end)
            assert.is_false(ok)
            assert.matches(("hostile_spec.lua:%d: mqtt.%s: expected a Client as self"):format(line, name),
                err, 1, true)
        end
        -- A table that carries another userdata where a client keeps its binding is no client.
        local forged = setmetatable({ _c = client._c, _binding = io.stdout, _handlers = {}, _filters = {} },
            getmetatable(client))
        for _, name in ipairs({ "publish", "receive" }) do
            local err = refuses(name, forged[name], forged, "t", "x")
            assert.matches("expected a Client as self", err, 1, true)
        end
        local sub = client:subscribe("self/x")
        for _, name in ipairs({ "receive", "listen", "unsubscribe" }) do
            local err = refuses("subscription%." .. name, sub[name], {})
            assert.matches("sub:" .. name, err, 1, true)
        end
        local router = mqtt.router()
        for _, name in ipairs({ "add", "remove", "match" }) do
            local err = refuses("router%." .. name, router[name], nil, "a", 1)
            assert.matches("router:" .. name, err, 1, true)
        end
    end)
end)
