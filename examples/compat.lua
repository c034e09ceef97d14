--- What the examples need from CopperMoon's globals (`json`, `time`, `term`, `console`),
-- with small fallbacks for plain lua5.4. In CopperMoon the globals are used as they are.
local compat = {}

compat.json = rawget(_G, "json")
if not compat.json then
    local ok, dkjson = pcall(require, "dkjson")
    assert(ok, "these examples need CopperMoon's json global, or dkjson (apt install lua-dkjson)")
    compat.json = { encode = dkjson.encode, decode = function(s) return (dkjson.decode(s)) end }
end

compat.time = rawget(_G, "time") or {
    now = os.time,
    sleep = function(ms)
        local ok, socket = pcall(require, "socket")
        if ok then
            socket.sleep(ms / 1000)
        else
            os.execute(("sleep %.3f"):format(ms / 1000))
        end
    end,
}

local plain = function(s) return s end
compat.term = rawget(_G, "term") or { cyan = plain, bold = plain, green = plain, red = plain }

compat.console = rawget(_G, "console") or {
    prompt = function(text)
        io.write(text)
        io.flush()
        return io.read("l")
    end,
}

-- CopperMoon's strings have ends_with.
string.ends_with = string.ends_with or function(s, suffix)
    return suffix == "" or s:sub(-#suffix) == suffix
end

--- Where the broker is: MQTT_HOST and MQTT_PORT, localhost:1883 by default.
function compat.broker()
    return os.getenv("MQTT_HOST") or "localhost", tonumber(os.getenv("MQTT_PORT") or "1883")
end

--- A count from the environment, for bounded runs (nil: run forever).
function compat.limit(name)
    return tonumber(os.getenv(name) or "")
end

return compat
