-- Connect strings (mqtt://, ws://) and failover between servers.
local mqtt = require("mqtt")
local socket = require("socket")
local Broker = require("support.broker")
local await_delivery = require("support.await_delivery")
local Process = require("support.process")

local function free_port()
    local s = assert(socket.bind("127.0.0.1", 0))
    local _, port = s:getsockname()
    s:close()
    return tonumber(port)
end

describe("connect strings and failover", function()
    it("connects with mqtt://user:pass@host:port, merged with the options table", function()
        local secured = Broker.start({ users = { "cs-user:cs-pass" } })
        finally(function() secured:stop() end)
        local c = mqtt.connect(("mqtt://cs-user:cs-pass@127.0.0.1:%d"):format(secured.port), { client_id = "from-url" })
        assert.is_true(c:is_connected())
        assert.are.equal("from-url", c:client_id())
        c:disconnect()
        -- The table's values win over the string's.
        local ok, err = pcall(mqtt.connect, ("mqtt://cs-user:cs-pass@127.0.0.1:%d"):format(secured.port),
            { password = "wrong", timeout = 3 })
        assert.is_false(ok)
        assert.matches("not authorised", err, 1, true)
    end)

    it("connects over WebSocket with ws://host:port/path", function()
        local ws_port = free_port()
        local broker = Broker.start({ conf = {
            ("listener %d 127.0.0.1"):format(ws_port), "socket_domain ipv4", "protocol websockets",
        } })
        finally(function() broker:stop() end)
        local c = mqtt.connect(("ws://127.0.0.1:%d/mqtt"):format(ws_port))
        c:subscribe("ws/#", 1)
        c:publish("ws/x", "over websocket", { qos = 1 })
        assert.are.equal("over websocket", c:receive(5).payload)
        c:disconnect()
    end)

    it("tries the servers in turn on connect", function()
        local up = Broker.start()
        local down = Broker.start()
        local down_port = down.port
        down:stop()
        finally(function() up:stop() end)
        local c = mqtt.connect(nil, { servers = {
            ("mqtt://127.0.0.1:%d"):format(down_port), ("mqtt://127.0.0.1:%d"):format(up.port),
        } })
        assert.is_true(c:is_connected())
        c:disconnect()
        local ok, err = pcall(mqtt.connect, nil, { timeout = 2, servers = {
            ("mqtt://127.0.0.1:%d"):format(down_port), ("mqtt://127.0.0.1:%d"):format(down_port),
        } })
        assert.is_false(ok)
        assert.matches("mqtt.connect: could not connect to any server: ", err, 1, true)
    end)

    it("gives each server the full timeout on connect, a silent one included", function()
        -- Accepts TCP connections (the kernel completes the handshake) and never answers.
        local silent = assert(socket.bind("127.0.0.1", 0))
        finally(function() silent:close() end)
        local _, silent_port = silent:getsockname()
        local up = Broker.start()
        finally(function() up:stop() end)
        local c = mqtt.connect(nil, { timeout = 1, servers = {
            ("mqtt://127.0.0.1:%d"):format(silent_port),
            ("mqtt://127.0.0.1:%d"):format(silent_port),
            ("mqtt://127.0.0.1:%d"):format(up.port),
        } })
        assert.is_true(c:is_connected())
        c:disconnect()
    end)

    it("moves to the next server when the first one dies", function()
        local a, b = Broker.start(), Broker.start()
        finally(function()
            a:stop()
            b:stop()
        end)
        local c = mqtt.connect(("mqtt://127.0.0.1:%d"):format(a.port), {
            servers = { ("mqtt://127.0.0.1:%d"):format(b.port) },
            reconnect = { min_delay = 0.05, max_delay = 0.2 },
        })
        c:subscribe("fail/#", 1)
        a:kill()
        assert.is_true(Process.wait_until(10, function() return c:stats().reconnects >= 1 end))
        assert.is_true(c:is_connected())
        local on_b = mqtt.connect("127.0.0.1", b:options())
        finally(function() on_b:disconnect() end)
        local got = await_delivery(on_b, c, "fail/x", "on b", 10)
        assert.are.equal("on b", got and got.payload)
        c:disconnect()
    end)

    it("refuses bad connect strings with the reason", function()
        for _, case in ipairs({
            { "mqtt://[::1", "invalid IPv6 address" },
            { "gopher://h", "unknown scheme" },
            { "mqtt://h:99999", "bad port" },
            { "mqtt://h/path", "only for ws://" },
        }) do
            local ok, err = pcall(mqtt.connect, case[1])
            assert.is_false(ok)
            assert.matches('mqtt.connect: bad connect string "' .. case[1], err, 1, true)
            assert.matches(case[2], err, 1, true)
        end
        local ok, err = pcall(mqtt.connect, nil, { servers = {} })
        assert.is_false(ok)
        assert.matches("bad option 'servers'", err, 1, true)
        ok, err = pcall(mqtt.connect, nil)
        assert.is_false(ok)
        assert.matches("bad argument #1 'host'", err, 1, true)
    end)
end)
