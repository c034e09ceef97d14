-- mqtt.log and MQTT_LOG: structured logs for deployed services.
local mqtt = require("mqtt")
local json = require("dkjson")
local Broker = require("support.broker")
local Process = require("support.process")

local function lines_of(path)
    local out = {}
    for line in io.lines(path) do
        out[#out + 1] = line
    end
    return out
end

describe("tracing", function()
    local broker = Broker.per_suite({ deny = { "secret/#" } })

    it("writes JSON lines with client_id and broker, and never a password or payload", function()
        local secured = Broker.start({ users = { "someone:sekr3t-pw" } })
        local file = ("%s/log-%d.json"):format(os.getenv("COPPER_TEST_ROOT"), math.random(1, 1e9))
        mqtt.log({ level = "debug", format = "json", file = file })
        finally(function()
            mqtt.log({ level = "warn" })
            secured:stop()
        end)
        local c = mqtt.connect("127.0.0.1", secured:options({
            client_id = "traced", username = "someone", password = "sekr3t-pw",
        }))
        c:subscribe("trace/#", 1)
        c:publish("trace/x", "payload-SECRET-bytes", { qos = 1 })
        assert.is_truthy(c:receive(5))
        c:disconnect()
        mqtt.log({ level = "warn" })

        local events, by_message = {}, {}
        for _, line in ipairs(lines_of(file)) do
            assert.is_nil(line:find("sekr3t-pw", 1, true), "a password in the log: " .. line)
            assert.is_nil(line:find("payload-SECRET-bytes", 1, true), "a payload in the log: " .. line)
            local event = assert(json.decode(line), "not JSON: " .. line)
            events[#events + 1] = event
            by_message[event.fields.message] = event
        end
        local connected = assert(by_message["connected"], "no connect event")
        assert.are.equal("INFO", connected.level)
        local link = connected.spans[#connected.spans]
        assert.are.equal("traced", link.client_id)
        assert.are.equal("127.0.0.1:" .. secured.port, link.broker)
        local subscribed = assert(by_message["subscribed"], "no subscribe event")
        assert.are.equal("trace/#", subscribed.fields.filter)
        assert.are.equal("traced", subscribed.fields.client_id)
        assert.is_truthy(by_message["closed"], "no close event")
        local bridged = false
        for _, e in ipairs(events) do
            bridged = bridged or (e.target or ""):find("^rumqttc") ~= nil
        end
        assert.is_true(bridged, "rumqttc's log records did not come through")
    end)

    it("switches format while a client is connected, keeping the client and its span fields", function()
        local root = os.getenv("COPPER_TEST_ROOT")
        local tag = math.random(1, 1e9)
        local pretty, jsonl, pretty2 = ("%s/p1-%d.log"):format(root, tag), ("%s/j-%d.json"):format(root, tag),
            ("%s/p2-%d.log"):format(root, tag)
        finally(function() mqtt.log({ level = "warn" }) end)
        mqtt.log({ level = "debug", file = pretty })
        local c = mqtt.connect("127.0.0.1", broker:options({ client_id = "switching" }))
        c:subscribe("sw/#", 1)
        mqtt.log({ level = "debug", format = "json", file = jsonl })
        c:publish("sw/x", "1", { qos = 1, wait = true })
        assert.are.equal("1", c:receive(5).payload)
        mqtt.log({ level = "debug", file = pretty2 })
        c:publish("sw/x", "2", { qos = 1, wait = true })
        assert.are.equal("2", c:receive(5).payload)
        assert.is_true(c:is_connected())
        c:disconnect()
        mqtt.log({ level = "warn" })
        -- The link span, made while the format was pretty, names the client in JSON lines…
        local named = 0
        for _, line in ipairs(lines_of(jsonl)) do
            local event = assert(json.decode(line), "not JSON: " .. line)
            for _, span in ipairs(event.spans or {}) do
                if span.name == "link" and span.client_id == "switching" then named = named + 1 end
            end
        end
        assert.is_true(named > 0, "no JSON line carries the link span's fields")
        -- …and again in pretty lines after switching back.
        local text = assert(io.open(pretty2)):read("a")
        assert.matches("link{client_id=switching broker=127.0.0.1:" .. broker.port .. "}", text, 1, true)
    end)

    it("names the broker the client failed over to", function()
        local down = Broker.start()
        local down_port = down.port
        down:stop()
        local file = ("%s/failover-%d.json"):format(os.getenv("COPPER_TEST_ROOT"), math.random(1, 1e9))
        finally(function() mqtt.log({ level = "warn" }) end)
        mqtt.log({ level = "info", format = "json", file = file })
        local c = mqtt.connect(("mqtt://127.0.0.1:%d"):format(down_port), {
            servers = { ("mqtt://127.0.0.1:%d"):format(broker.port) },
        })
        c:disconnect()
        mqtt.log({ level = "warn" })
        local connected
        for _, line in ipairs(lines_of(file)) do
            local event = assert(json.decode(line), "not JSON: " .. line)
            if event.fields.message == "connected" then connected = event end
        end
        assert.is_truthy(connected, "no connect event")
        assert.are.equal("127.0.0.1:" .. broker.port, connected.spans[#connected.spans].broker)
    end)

    it("logs warnings and errors to stderr by default, and what MQTT_LOG asks", function()
        local script = ([[
            local mqtt = require("mqtt")
            local c = mqtt.connect("127.0.0.1", { port = %d, client_id = "env-log" })
            pcall(c.subscribe, c, "secret/x", 1)
            c:disconnect()
        ]]):format(broker.port)
        local quiet = Process.spawn(script)
        assert.are.equal(0, quiet:wait_exit(10))
        assert.matches("subscription refused", quiet:output(), 1, true)
        assert.is_nil(quiet:output():find("connected", 1, true))
        local chatty = Process.spawn(script, { env = { MQTT_LOG = "info" } })
        assert.are.equal(0, chatty:wait_exit(10))
        assert.matches("connected", chatty:output(), 1, true)
        assert.matches("env-log", chatty:output(), 1, true)
    end)

    it("refuses bad options", function()
        for _, case in ipairs({
            { { level = "warn,[[[" }, "mqtt.log: bad option 'level'" },
            { { level = "inf" }, 'mqtt.log: bad option \'level\': expected a level (error, warn, info, debug, trace, off) or an EnvFilter directive, got "inf" ("inf" is not a level)' },
            { { format = "xml" }, "mqtt.log: bad option 'format'" },
            { { file = "/nonexistent-dir/x.log" }, "mqtt.log: bad option 'file'" },
            { { colour = true }, 'mqtt.log: unknown option "colour"' },
            { 42, "mqtt.log: bad argument #1 'options'" },
        }) do
            local ok, err = pcall(mqtt.log, case[1])
            assert.is_false(ok)
            assert.matches(case[2], err, 1, true)
        end
    end)
end)
