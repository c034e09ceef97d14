-- mqtt.connect: every connect variant of the documentation, and each way connecting fails.
local mqtt = require("mqtt")
local socket = require("socket")
local Broker = require("support.broker")
local Process = require("support.process")

describe("mqtt.connect", function()
    local broker, secured

    setup(function()
        broker = Broker.start()
        secured = Broker.start({ users = { "myuser:secret" } })
    end)

    teardown(function()
        if broker then broker:stop() end
        secured:stop()
    end)

    it("runs the Quick Start example as written", function()
        local child = Process.spawn('dofile("examples/quickstart.lua")', {
            env = { MQTT_PORT = broker.port },
        })
        assert.are.equal(0, child:wait_exit(10))
        assert.are.equal("sensors/temperature\n22.5\n", child:output())
    end)

    it("connects with a custom port", function()
        local client = mqtt.connect("localhost", { port = broker.port })
        assert.is_true(client:is_connected())
        client:disconnect()
    end)

    it("connects to localhost:1883 by default", function()
        local probe = socket.tcp()
        probe:settimeout(1)
        local taken = probe:connect("127.0.0.1", 1883)
        probe:close()
        if taken then
            return pending("something listens on 127.0.0.1:1883 here")
        end
        local ok, err = pcall(mqtt.connect, "localhost", { timeout = 2 })
        assert.is_false(ok)
        assert.matches("localhost:1883", err, 1, true)
    end)

    it("connects with authentication, and refuses a wrong password by name", function()
        local client = mqtt.connect("localhost", secured:options({
            username = "myuser",
            password = "secret",
        }))
        assert.is_true(client:is_connected())
        client:disconnect()
        local ok, err = pcall(mqtt.connect, "localhost", secured:options({
            username = "myuser",
            password = "wrong",
        }))
        assert.is_false(ok)
        assert.are.equal("string", type(err))
        assert.matches("refused the connection: not authorised", err, 1, true)
    end)

    it("refuses an anonymous client where a password is required", function()
        local ok, err = pcall(mqtt.connect, "127.0.0.1", secured:options())
        assert.is_false(ok)
        assert.matches("not authorised", err, 1, true)
    end)

    it("accepts the full options table of the documentation", function()
        local client = mqtt.connect("localhost", {
            port = broker.port,
            client_id = "my-sensor-01",
            username = "user",
            password = "pass",
            keep_alive = 30,
            clean_session = true,
            timeout = 10,
            capacity = 100,
        })
        assert.are.equal("my-sensor-01", client:client_id())
        assert.are.equal("mqtt.Client(my-sensor-01)", tostring(client))
        client:disconnect()
    end)

    it("generates unique client ids of at most 23 characters", function()
        local a = mqtt.connect("127.0.0.1", broker:options())
        local b = mqtt.connect("127.0.0.1", broker:options())
        assert.are_not.equal(a:client_id(), b:client_id())
        assert.is_true(#a:client_id() <= 23)
        a:disconnect()
        b:disconnect()
    end)

    it("names an identifier the broker rejects", function()
        local strict = Broker.start({ conf = { "allow_zero_length_clientid false" } })
        finally(function() strict:stop() end)
        local ok, err = pcall(mqtt.connect, "127.0.0.1", strict:options({ client_id = "" }))
        assert.is_false(ok)
        assert.matches("refused the connection: identifier rejected", err, 1, true)
    end)

    it("fails clearly on an unknown host, without asking the network", function()
        local ok, err = pcall(function()
            return mqtt.connect("nonexistent..invalid", { timeout = 3 })
        end)
        assert.is_false(ok)
        assert.matches('mqtt.connect: could not resolve host "nonexistent..invalid"', err, 1, true)
    end)

    it("fails clearly when nothing listens", function()
        local idle = Broker.start()
        local port = idle.port
        idle:stop()
        local ok, err = pcall(mqtt.connect, "localhost", { port = port, timeout = 3 })
        assert.is_false(ok)
        assert.matches("could not connect to localhost:" .. port .. ": connection refused", err, 1, true)
    end)

    it("gives up within its timeout when the broker never answers", function()
        -- A listening socket that never accepts: TCP connects, CONNACK never comes.
        local silent = assert(socket.bind("127.0.0.1", 0))
        finally(function() silent:close() end)
        local _, port_text = silent:getsockname()
        local port = tonumber(port_text)
        local started = socket.gettime()
        local ok, err = pcall(mqtt.connect, "127.0.0.1", { port = port, timeout = 1 })
        local elapsed = socket.gettime() - started
        assert.is_false(ok)
        assert.matches("no answer from 127.0.0.1:" .. port .. " within 1 s", err, 1, true)
        assert.is_true(elapsed < 1.5, "took " .. elapsed .. " s")
    end)

    it("names an unknown option, catching typos", function()
        local ok, err = pcall(mqtt.connect, "localhost", { port = broker.port, clean_sesion = true })
        assert.is_false(ok)
        assert.matches('unknown option "clean_sesion"', err, 1, true)
    end)

    it("names the option and what it expects for a bad value", function()
        local cases = {
            { { port = 70000 }, "bad option 'port': expected an integer port from 1 to 65535, got 70000" },
            { { keep_alive = 0.5 }, "bad option 'keep_alive'" },
            { { timeout = -1 }, "bad option 'timeout'" },
            { { capacity = 0 }, "bad option 'capacity'" },
            { { clean_session = "yes" }, "bad option 'clean_session': expected true or false" },
            { { will = { payload = "x" } }, "bad option 'will.topic'" },
            { { will = { topic = "a/+" } }, "bad option 'will.topic': invalid topic \"a/+\"" },
        }
        for _, case in ipairs(cases) do
            local ok, err = pcall(mqtt.connect, "localhost", case[1])
            assert.is_false(ok)
            assert.matches(case[2], err, 1, true)
        end
        local ok, err = pcall(mqtt.connect, nil)
        assert.is_false(ok)
        assert.matches("mqtt.connect: bad argument #1 'host': expected a host name, an address or a connect string", err, 1, true)
    end)

    it("exposes the QoS constants and the version of Cargo.toml", function()
        assert.are.same({ AT_MOST_ONCE = 0, AT_LEAST_ONCE = 1, EXACTLY_ONCE = 2 }, mqtt.QoS)
        local cargo = assert(io.open("Cargo.toml")):read("a")
        local harbor = assert(io.open("harbor.toml")):read("a")
        assert.are.equal(cargo:match('\nversion = "([^"]+)"'), mqtt.version)
        assert.are.equal(harbor:match('\nversion = "([^"]+)"'), mqtt.version)
    end)
end)
