-- mqtt.topic and mqtt.router(): the client's routing rules, for scripts' own tests.
local mqtt = require("mqtt")

describe("mqtt.topic", function()
    it("matches filters and topics by the MQTT rules", function()
        local cases = {
            { "sensors/+/temperature", "sensors/kitchen/temperature", true },
            { "sensors/+/temperature", "sensors/kitchen/humidity", false },
            { "sensors/#", "sensors", true },
            { "sport/+", "sport/", true },
            { "+/x", "$SYS/x", false },
            { "$SYS/#", "$SYS/broker/uptime", true },
            { "$share/g/a/+", "a/b", true },
        }
        for _, c in ipairs(cases) do
            assert.are.equal(c[3], mqtt.topic.matches(c[1], c[2]), c[1] .. " ~ " .. c[2])
        end
        local ok, err = pcall(mqtt.topic.matches, "a/#/b", "a")
        assert.is_false(ok)
        assert.matches('mqtt.topic.matches: invalid filter "a/#/b"', err, 1, true)
        ok, err = pcall(mqtt.topic.matches, "a/#", "a/+")
        assert.is_false(ok)
        assert.matches('mqtt.topic.matches: invalid topic "a/+"', err, 1, true)
    end)

    it("says whether a filter or a topic name is valid, and why not", function()
        assert.are.same({ true }, { mqtt.topic.valid_filter("a/+/#") })
        local ok, why = mqtt.topic.valid_filter("a/#/b")
        assert.is_false(ok)
        assert.matches("'#' must be the last level", why, 1, true)
        assert.are.same({ true }, { mqtt.topic.valid_name("a/b") })
        ok, why = mqtt.topic.valid_name("a/+")
        assert.is_false(ok)
        assert.matches("wildcards", why, 1, true)
        ok, why = mqtt.topic.valid_name(42)
        assert.is_false(ok)
        assert.matches("expected a string", why, 1, true)
    end)
end)

describe("mqtt.router()", function()
    it("routes topics to the values of matching filters", function()
        local r = mqtt.router()
        local on_temp, on_all = function() end, function() end
        assert.is_true(r:add("sensors/+/temperature", on_temp))
        assert.is_true(r:add("sensors/#", on_all))
        assert.is_true(r:add("alerts/#", "alert-table"))
        assert.is_false(r:add("alerts/#", "alert-table"))
        local got = r:match("sensors/kitchen/temperature")
        assert.are.equal(2, #got)
        assert.are.same({ "alert-table" }, r:match("alerts/fire"))
        assert.are.same({}, r:match("other"))
        assert.is_true(r:remove("sensors/#", on_all))
        assert.is_false(r:remove("sensors/#", on_all))
        assert.are.same({ on_temp }, r:match("sensors/kitchen/temperature"))
    end)

    it("gives a value matched through two filters once", function()
        local r = mqtt.router()
        r:add("a/#", "v")
        r:add("a/+", "v")
        assert.are.same({ "v" }, r:match("a/b"))
        r:remove("a/#", "v")
        assert.are.same({ "v" }, r:match("a/b"))
        r:remove("a/+", "v")
        assert.are.same({}, r:match("a/b"))
    end)

    it("refuses bad filters, topics and values", function()
        local r = mqtt.router()
        local ok, err = pcall(r.add, r, "a/#/b", "v")
        assert.is_false(ok)
        assert.matches("mqtt.router.add: invalid filter", err, 1, true)
        ok, err = pcall(r.add, r, "a", nil)
        assert.is_false(ok)
        assert.matches("mqtt.router.add: bad argument #2 'value'", err, 1, true)
        ok, err = pcall(r.match, r, "a/#")
        assert.is_false(ok)
        assert.matches("mqtt.router.match: invalid topic", err, 1, true)
    end)
end)
