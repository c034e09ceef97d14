--- The chaos soak (`scripts/soak.sh chaos`): two clients with persistent sessions
-- (clean_session = false, fixed client ids) exchange QoS 1 messages numbered 1, 2, 3, ...,
-- `rate` a second each way, through the TCP proxy of tests/support/proxy.lua in front of a
-- mosquitto with persistence, while support/faults.lua, in a child process, kills the broker
-- every 30 s and blackholes the network every 45 s. Publishing is paced by the wall clock;
-- between publishes the script reads both clients, waiting in `receive` with a bound. At the
-- end it stops the faults and the publishing, waits (bounded) for every number to arrive, and
-- returns per direction what was sent, received, missing and copied, each client's
-- reconnects, and the process's RSS once a minute.
local mqtt = require("mqtt")
local socket = require("socket")
local Broker = require("support.broker")
local Process = require("support.process")
local Proxy = require("support.proxy")
local Sequences = require("support.sequences")
local proc_status = require("support.proc_status")

local DEFAULTS = {
    minutes = 30,
    rate = 1000,          -- messages a second, each way
    signal = "TERM",      -- how the broker is killed (see support/faults.lua)
    kill_every = 30,
    down = 1,             -- seconds the broker stays down
    blackhole_every = 45,
    -- Longer than both sides' keep-alive timeouts (client 1.4 x, mosquitto 1.5 x keep_alive),
    -- so that every connection open when the blackhole began has closed before it ends: the
    -- proxy drops the bytes it blackholes, and a connection that lived through would go on
    -- with a hole in its stream, which no TCP network produces.
    blackhole = 5,
    keep_alive = 2,
    timeout = 2,
    drain = 60,           -- seconds to wait for the last messages after publishing stops
    sample_every = 60,    -- seconds between RSS samples
    -- broker.sh --persist saves the database every second and mosquitto saves it as it exits
    -- on SIGTERM. Saving on every change (autosave_on_changes) kept up with one direction at
    -- 1,000 a second but not with both: the broker fell behind and stopped answering pings.
    broker_conf = { "set_tcp_nodelay true" },
}

local function connect(id, port, o)
    return mqtt.connect("127.0.0.1", {
        port = port,
        client_id = id,
        clean_session = false,
        keep_alive = o.keep_alive,
        timeout = o.timeout,
        reconnect = { min_delay = 0.1, max_delay = 1 },
    })
end

-- Starts support/faults.lua in a child process; returns it and the file that stops it.
local function start_faults(broker, proxy, o, t0, stop_at)
    local stop_file = os.getenv("COPPER_TEST_ROOT") .. "/chaos-faults.stop"
    local code = ('require("support.faults")({ broker_dir = %q, broker_port = %d, proxy_control = %d, '
        .. 't0 = %.6f, stop_at = %.6f, signal = %q, kill_every = %s, down = %s, blackhole_every = %s, '
        .. 'blackhole = %s, stop_file = %q })'):format(broker.dir, broker.port, proxy.control, t0, stop_at,
        o.signal, o.kill_every, o.down, o.blackhole_every, o.blackhole, stop_file)
    return Process.spawn(code), stop_file
end

-- What the faults child did, from its output.
local function fault_events(output)
    local e = { kills = 0, blackholes = 0, slowest_kill = 0, slowest_restart = 0 }
    for line in output:gmatch("[^\n]+") do
        local kill_secs = line:match("^%S+ killed %S+ (%S+)")
        local restart_secs = line:match("^%S+ restarted (%S+)")
        if kill_secs then
            e.kills = e.kills + 1
            e.slowest_kill = math.max(e.slowest_kill, tonumber(kill_secs))
        elseif restart_secs then
            e.slowest_restart = math.max(e.slowest_restart, tonumber(restart_secs))
        elseif line:match("^%S+ blackhole$") then
            e.blackholes = e.blackholes + 1
        end
    end
    return e
end

return function(opts)
    local o = {}
    for k, v in pairs(DEFAULTS) do
        o[k] = v
    end
    for k, v in pairs(opts or {}) do
        o[k] = v
    end

    local broker = Broker.start({ persist = true, conf = o.broker_conf })
    local proxy = Proxy.start(broker.port)
    local a = connect("copper-soak-a", proxy.port, o)
    local b = connect("copper-soak-b", proxy.port, o)
    a:subscribe("soak/b2a", 1)
    b:subscribe("soak/a2b", 1)
    local sides = {
        { name = "a", client = a, topic = "soak/a2b", sent = 0, refused = 0, max_lag = 0 },
        { name = "b", client = b, topic = "soak/b2a", sent = 0, refused = 0, max_lag = 0 },
    }
    local received = { ["soak/a2b"] = Sequences.new(), ["soak/b2a"] = Sequences.new() }
    local stray = 0
    -- The longest time, per direction, between two messages with new numbers: the outages.
    local last_new, longest_gap = {}, { ["soak/a2b"] = 0, ["soak/b2a"] = 0 }

    local function take(msg)
        local seq, n = received[msg.topic], math.tointeger(tonumber(msg.payload))
        if not (seq and n) then
            stray = stray + 1
            return
        end
        local before = seq.distinct
        seq:add(n)
        if seq.distinct > before then
            local now = socket.gettime()
            longest_gap[msg.topic] = math.max(longest_gap[msg.topic], now - (last_new[msg.topic] or now))
            last_new[msg.topic] = now
        end
    end
    local function read_waiting(side)
        for _ = 1, 1000 do
            local msg = side.client:receive(0)
            if not msg then
                return
            end
            take(msg)
        end
    end
    local function publish_due(side, due)
        while side.sent < due do
            local ok, err = pcall(side.client.publish, side.client, side.topic, tostring(side.sent + 1), { qos = 1 })
            if not ok then
                -- The send queue was full for `timeout` s: count it and try the number again.
                side.refused = side.refused + 1
                side.last_refusal = tostring(err)
                break
            end
            side.sent = side.sent + 1
        end
        side.max_lag = math.max(side.max_lag, due - side.sent)
    end

    local rss = {}
    local function sample(minute, faults)
        collectgarbage("step", 0)
        local s = {
            minute = minute,
            rss_kb = proc_status("VmRSS"),
            lua_kb = math.floor(collectgarbage("count")),
            sent = { sides[1].sent, sides[2].sent },
            received = { received["soak/a2b"].distinct, received["soak/b2a"].distinct },
            reconnects = { a:stats().reconnects, b:stats().reconnects },
        }
        rss[#rss + 1] = s
        local e = fault_events(faults:output())
        io.stdout:write(("minute %5.2f  rss %6d kB  lua %6d kB  a->b %d/%d  b->a %d/%d  reconnects %d/%d  kills %d  blackholes %d\n")
            :format(minute, s.rss_kb, s.lua_kb, s.received[1], s.sent[1], s.received[2], s.sent[2],
                s.reconnects[1], s.reconnects[2], e.kills, e.blackholes))
        io.stdout:flush()
    end

    local t0 = socket.gettime()
    local stop_at = t0 + o.minutes * 60
    local faults, stop_file = start_faults(broker, proxy, o, t0, stop_at)
    sample(0, faults)
    local next_sample = t0 + o.sample_every
    local turn = 1
    while true do
        local now = socket.gettime()
        if now >= stop_at then
            break
        end
        local due = math.floor((now - t0) * o.rate)
        for _, side in ipairs(sides) do
            publish_due(side, due)
            read_waiting(side)
        end
        if socket.gettime() >= next_sample then
            sample((next_sample - t0) / 60, faults)
            next_sample = next_sample + o.sample_every
        end
        -- Until the next number is due, wait for a message on each client in turn.
        local wait = t0 + (due + 1) / o.rate - socket.gettime()
        if wait > 0 then
            turn = turn % 2 + 1
            local msg = sides[turn].client:receive(wait)
            if msg then
                take(msg)
            end
        end
    end
    local published_secs = socket.gettime() - t0
    sample(published_secs / 60, faults)

    io.open(stop_file, "w"):close()
    local faults_status = faults:wait_exit(30)
    local events = fault_events(faults:output())

    local drain_started = socket.gettime()
    local deadline = drain_started + o.drain
    local function delivered()
        return received["soak/a2b"]:complete(sides[1].sent) and received["soak/b2a"]:complete(sides[2].sent)
    end
    while not delivered() and socket.gettime() < deadline do
        for _, side in ipairs(sides) do
            read_waiting(side)
        end
        turn = turn % 2 + 1
        local msg = sides[turn].client:receive(0.05)
        if msg then
            take(msg)
        end
    end
    local drain_secs = socket.gettime() - drain_started
    -- Copies that come after the last number still count as duplicates.
    for _ = 1, 10 do
        for _, side in ipairs(sides) do
            read_waiting(side)
        end
        local msg = a:receive(0.1)
        if msg then
            take(msg)
        end
    end
    sample((socket.gettime() - t0) / 60, faults)

    local result = {
        published_secs = published_secs,
        drain_secs = drain_secs,
        stray = stray,
        events = events,
        faults_status = faults_status,
        faults_output = faults:output(),
        rss = rss,
        directions = {},
        clients = {},
    }
    for i, side in ipairs(sides) do
        local seq = received[side.topic]
        local missing, first_missing = seq:missing(side.sent, 20)
        result.directions[i] = {
            name = side.topic,
            sent = side.sent,
            received = seq.distinct,
            missing = missing,
            first_missing = first_missing,
            duplicates = seq.duplicates,
            out_of_order = seq.out_of_order,
            rate = side.sent / published_secs,
            longest_gap = longest_gap[side.topic],
            max_lag = side.max_lag,
        }
        local s = side.client:stats()
        result.clients[i] = {
            name = side.name,
            reconnects = s.reconnects,
            refused = side.refused,
            last_refusal = side.last_refusal,
            queued = s.queued,
            in_flight = s.in_flight,
            last_error = s.last_error,
        }
    end
    for _, side in ipairs(sides) do
        pcall(side.client.disconnect, side.client)
    end
    proxy:stop()
    broker:stop()
    return result
end
