--- The test bed for Lua specs: a real broker (mosquitto unless `kind` says otherwise) on a free
-- 127.0.0.1 port, driven through tests/support/broker.sh (the script the Rust tests use too).
-- Stop it in `finally` or `after_each`; scripts/test.sh kills any broker a crashed spec left
-- behind.

local busted = require("busted")

local Broker = {}
Broker.__index = Broker

local counter = 0

local function root()
    local dir = os.getenv("COPPER_TEST_ROOT")
    assert(dir, "COPPER_TEST_ROOT is not set: run the specs through scripts/test.sh")
    return dir
end

local function quote(s)
    return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Runs a test-bed script (`bash script args...`) and returns its output; raises if it fails.
function Broker.script(script, ...)
    local words = { "bash", script }
    for _, w in ipairs({ ... }) do
        words[#words + 1] = quote(w)
    end
    local cmd = table.concat(words, " ")
    local f = assert(io.popen(cmd .. " 2>&1"))
    local out = f:read("a")
    local ok = f:close()
    assert(ok, ("command failed: %s\n%s"):format(cmd, out))
    return out
end

local function run(...)
    return Broker.script("tests/support/broker.sh", ...)
end

--- Starts a broker. `opts`: { kind = "mosquitto" | "nats" | "rabbitmq", users = {"name:pass", ...},
-- deny = {"filter", ...}, persist = true, conf = {"raw config line", ...} } (deny and persist
-- are mosquitto's; see tests/support/broker.sh).
function Broker.start(opts)
    opts = opts or {}
    counter = counter + 1
    local dir = ("%s/lua-%d-%d"):format(root(), math.random(1, 1e9), counter)
    local args = { "start", dir, "--kind", opts.kind or "mosquitto" }
    for _, u in ipairs(opts.users or {}) do
        args[#args + 1] = "--user"; args[#args + 1] = u
    end
    for _, f in ipairs(opts.deny or {}) do
        args[#args + 1] = "--deny"; args[#args + 1] = f
    end
    if opts.persist then
        args[#args + 1] = "--persist"
    end
    for _, line in ipairs(opts.conf or {}) do
        args[#args + 1] = "--conf"; args[#args + 1] = line
    end
    local port, pid = run(table.unpack(args)):match("(%d+) (%d+)")
    return setmetatable({ dir = dir, port = tonumber(port), pid = tonumber(pid) }, Broker)
end

--- Starts a broker in the enclosing `describe` block's setup and stops it in its teardown.
-- Returns a stand-in that acts as that broker once the setup has run.
function Broker.per_suite(opts)
    local proxy = {}
    busted.setup(function()
        setmetatable(proxy, { __index = Broker.start(opts) })
    end)
    busted.teardown(function()
        local started = getmetatable(proxy)
        if started then
            started.__index:stop()
        end
    end)
    return proxy
end

--- kill -9: the broker vanishes without a word to its clients.
function Broker:kill()
    run("kill", self.dir)
end

--- Starts the broker again on the same port, with the same config.
function Broker:restart()
    local port, pid = run("restart", self.dir):match("(%d+) (%d+)")
    assert(tonumber(port) == self.port)
    self.pid = tonumber(pid)
end

--- SIGSTOP / SIGCONT: a broker that keeps its connections but answers nothing, and back.
function Broker:freeze()
    assert(os.execute(("kill -STOP %d"):format(self.pid)))
end

function Broker:thaw()
    assert(os.execute(("kill -CONT %d"):format(self.pid)))
end

function Broker:stop()
    run("stop", self.dir)
end

--- The broker's log so far.
function Broker:log()
    local f = io.open(self.dir .. "/log")
    if not f then
        return ""
    end
    local text = f:read("a")
    f:close()
    return text
end

--- Connect options for this broker, merged with `extra`.
function Broker:options(extra)
    local o = { port = self.port, timeout = 5 }
    for k, v in pairs(extra or {}) do
        o[k] = v
    end
    return o
end

return Broker
