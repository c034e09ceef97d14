--- The faults of the chaos soak (support/chaos.lua), run in a child process so that the clients
-- go on publishing while the broker is down: from wall-clock time `o.t0` on, every
-- `o.kill_every` s the broker is killed (`o.signal`: "TERM", broker.sh stop, which lets
-- mosquitto save its database as it exits; "KILL", kill -9) and started again `o.down` s later,
-- and every `o.blackhole_every` s the proxy blackholes the network for `o.blackhole` s.
-- No fault begins at or after `o.stop_at`. Prints one line per event, "<seconds since t0>
-- <event>", and once the file `o.stop_file` exists it leaves the broker running and the proxy
-- passing, prints "stopped" and returns.
local socket = require("socket")
local Broker = require("support.broker")
local Proxy = require("support.proxy")

local function exists(path)
    local f = io.open(path)
    if f then
        f:close()
    end
    return f ~= nil
end

return function(o)
    local broker = setmetatable({ dir = o.broker_dir, port = o.broker_port }, Broker)
    local proxy = setmetatable({ control = o.proxy_control }, Proxy)
    local function say(event)
        io.stdout:write(("%.2f %s\n"):format(socket.gettime() - o.t0, event))
        io.stdout:flush()
    end

    local function kill()
        local started = socket.gettime()
        if o.signal == "KILL" then
            broker:kill()
        else
            broker:stop() -- SIGTERM; SIGKILL only if it is still there after 5 s
        end
        say(("killed %s %.3f"):format(o.signal, socket.gettime() - started))
    end
    local function restart()
        local started = socket.gettime()
        broker:restart()
        say(("restarted %.3f"):format(socket.gettime() - started))
    end
    local function set(mode)
        proxy:set(mode)
        say(mode)
    end

    local next_kill = o.t0 + o.kill_every
    local next_blackhole = o.t0 + o.blackhole_every
    local restart_at, pass_at
    while not exists(o.stop_file) do
        local now = socket.gettime()
        if restart_at and now >= restart_at then
            restart_at = nil
            restart()
        end
        if pass_at and now >= pass_at then
            pass_at = nil
            set("pass")
        end
        if now >= next_kill and next_kill < o.stop_at then
            next_kill = next_kill + o.kill_every
            kill()
            restart_at = socket.gettime() + o.down
        end
        if now >= next_blackhole and next_blackhole < o.stop_at then
            next_blackhole = next_blackhole + o.blackhole_every
            set("blackhole")
            pass_at = socket.gettime() + o.blackhole
        end
        -- Sleep until the next event, waking at least every 0.1 s to look for the stop file.
        local next_event = math.min(next_kill, next_blackhole, restart_at or math.huge, pass_at or math.huge)
        socket.sleep(math.max(0, math.min(0.1, next_event - socket.gettime())))
    end
    if restart_at then
        restart()
    end
    if pass_at then
        set("pass")
    end
    say("stopped")
end
