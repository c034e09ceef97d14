-- TLS against mosquitto TLS listeners, with certificates the test makes.
local mqtt = require("mqtt")
local socket = require("socket")
local Broker = require("support.broker")
local Process = require("support.process")

local certs = os.getenv("COPPER_TEST_ROOT") .. "/certs"

local function tls_broker(cert, extra)
    local conf = {
        "cafile " .. certs .. "/ca.pem",
        ("certfile %s/%s.pem"):format(certs, cert),
        ("keyfile %s/%s.key"):format(certs, cert),
    }
    for _, line in ipairs(extra or {}) do
        conf[#conf + 1] = line
    end
    return Broker.start({ conf = conf })
end

local function refused(port, tls, want)
    local ok, err = pcall(mqtt.connect, "127.0.0.1", { port = port, timeout = 5, tls = tls })
    assert.is_false(ok, "connected where it should not")
    assert.matches(want, err, 1, true)
end

describe("TLS", function()
    setup(function()
        assert(os.execute("bash tests/support/certs.sh " .. certs), "cannot make the test certificates")
    end)

    it("connects with the right CA, with tls = {...} and with mqtts://", function()
        local broker = tls_broker("server")
        finally(function() broker:stop() end)
        local c = mqtt.connect("127.0.0.1", { port = broker.port, tls = { ca_file = certs .. "/ca.pem" } })
        c:subscribe("tls/#", 1)
        c:publish("tls/x", "secret", { qos = 1 })
        assert.are.equal("secret", c:receive(5).payload)
        c:disconnect()
        local s = mqtt.connect(("mqtts://localhost:%d"):format(broker.port), { tls = { ca_file = certs .. "/ca.pem" } })
        assert.is_true(s:is_connected())
        s:disconnect()
    end)

    it("refuses a certificate from an untrusted CA, an expired one, and one for another name", function()
        local good = tls_broker("server")
        local expired = tls_broker("expired")
        local misnamed = tls_broker("wrong-name")
        finally(function()
            good:stop()
            expired:stop()
            misnamed:stop()
        end)
        refused(good.port, { ca_file = certs .. "/other-ca.pem" }, "unknown issuer")
        refused(expired.port, { ca_file = certs .. "/ca.pem" }, "has expired")
        refused(misnamed.port, { ca_file = certs .. "/ca.pem" }, "hostname mismatch")
        -- The name to verify can be given; and verification can be turned off.
        local named = mqtt.connect("127.0.0.1", { port = misnamed.port,
            tls = { ca_file = certs .. "/ca.pem", server_name = "other.example" } })
        named:disconnect()
        local blind = Process.spawn(([[
            local mqtt = require("mqtt")
            local c = mqtt.connect("127.0.0.1", { port = %d,
                tls = { ca_file = %q, insecure = true } })
            c:disconnect()
        ]]):format(good.port, certs .. "/other-ca.pem"))
        assert.are.equal(0, blind:wait_exit(10), blind:output())
        assert.matches("WARN.*certificate verification is off", blind:output())
    end)

    it("presents a client certificate to a broker that requires one", function()
        local broker = tls_broker("server", { "require_certificate true" })
        finally(function() broker:stop() end)
        local c = mqtt.connect("127.0.0.1", { port = broker.port, tls = {
            ca_file = certs .. "/ca.pem",
            cert_file = certs .. "/client.pem",
            key_file = certs .. "/client.key",
        } })
        c:disconnect()
        local ok, err = pcall(mqtt.connect, "127.0.0.1", { port = broker.port, timeout = 5,
            reconnect = false, tls = { ca_file = certs .. "/ca.pem" } })
        assert.is_false(ok, "connected without a client certificate")
        assert.matches("TLS handshake failed: the broker requires a client certificate", err, 1, true)
    end)

    it("connects over wss://", function()
        local probe = assert(socket.bind("127.0.0.1", 0))
        local _, ws_port = probe:getsockname()
        probe:close()
        local broker = tls_broker("server", {
            ("listener %s 127.0.0.1"):format(ws_port), "socket_domain ipv4", "protocol websockets",
            "cafile " .. certs .. "/ca.pem", "certfile " .. certs .. "/server.pem", "keyfile " .. certs .. "/server.key",
        })
        finally(function() broker:stop() end)
        local c = mqtt.connect(("wss://127.0.0.1:%s/mqtt"):format(ws_port), { tls = { ca_file = certs .. "/ca.pem" } })
        c:subscribe("wss/#", 1)
        c:publish("wss/x", "over wss", { qos = 1 })
        assert.are.equal("over wss", c:receive(5).payload)
        c:disconnect()
    end)

    it("names a TLS option that cannot be used", function()
        for _, case in ipairs({
            { { ca_file = "/nonexistent/ca.pem" }, "bad option 'tls.ca_file'" },
            { { cert_file = certs .. "/client.pem" }, "bad option 'tls.key_file'" },
            { { verify = false }, 'unknown option "tls.verify"' },
            { "yes", "bad option 'tls'" },
        }) do
            local ok, err = pcall(mqtt.connect, "127.0.0.1", { port = 1, tls = case[1] })
            assert.is_false(ok)
            assert.matches(case[2], err, 1, true)
        end
    end)
end)
