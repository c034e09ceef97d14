--- The TCP proxy of tests/support/proxy.lua, run as a child process for a spec:
-- `local p = Proxy.start(broker.port)`, connect clients to `p.port`, then
-- `p:set("blackhole")`, `p:set("drop")`, `p:set("pass")`; `p:stop()` when done.
local socket = require("socket")
local Process = require("support.process")

local Proxy = {}
Proxy.__index = Proxy

function Proxy.start(upstream_port)
    local child = Process.spawn('arg = { [0] = "proxy", ... }; dofile("tests/support/proxy.lua")', {
        args = { upstream_port },
    })
    assert(Process.wait_until(10, function()
        return child:output():match("^%d+ %d+\n") ~= nil
    end), "the proxy did not start: " .. child:output())
    local port, control = child:output():match("^(%d+) (%d+)")
    return setmetatable({ child = child, port = tonumber(port), control = tonumber(control) }, Proxy)
end

--- Switches the mode: "pass", "blackhole" or "drop".
function Proxy:set(mode)
    local c = assert(socket.connect("127.0.0.1", self.control))
    c:settimeout(5)
    assert(c:send(mode .. "\n"))
    assert(c:receive("*l") == "ok", "the proxy did not take the mode")
    c:close()
end

function Proxy:stop()
    self.child:signal("KILL")
    self.child:wait_exit(5)
end

return Proxy
