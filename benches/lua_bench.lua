--- The Lua client's side of the benchmark suite (scripts/bench.sh): the workloads of
-- benches/rumqttc_reference, through `require("mqtt")` as a script would use it. Prints one
-- JSON line per run.
--
--   lua5.4 benches/lua_bench.lua --mode roundtrip|unpaced|latency|subscriber|publisher|memory|routing|many|idle
--       --port PORT [--workload LABEL] [--n N] [--qos 0|1|2] [--window W] [--topic TOPIC]
--       [--api receive|listen] [--tasks 0|1] [--loop blocking|cqueues|luv] [--filters FILE]
--       [--topics FILE] [--handlers own|shared]
--
-- `routing` (W5) subscribes to every filter of FILE with a handler that counts its
-- messages, publishes the topics of --topics, and checks each count against what
-- `mqtt.topic.matches` predicts. With `--handlers shared` every subscription has the same
-- handler, which counts only the deliveries: the client routes as much, but the script
-- calls one Lua function instead of one of 10,000. Needs LUA_PATH/LUA_CPATH to find mqtt
-- and luasocket (the runner sets them as scripts/test.sh does).
local mqtt = require("mqtt")
local socket = require("socket")

local PAYLOAD = string.rep("x", 64)
-- How long a workload waits for a message before it counts the rest as lost.
local LOSS_TIMEOUT = 10

local function fail(why)
    io.stderr:write("lua_bench: ", why, "\n")
    os.exit(2)
end

local function parse_args()
    local a = { n = "100000", qos = "0", window = "1000", topic = "bench/lua", api = "receive",
                handlers = "own", tasks = "0", loop = "blocking" }
    for i = 1, #arg, 2 do
        local key = arg[i]:match("^%-%-(.+)$")
        if not key or arg[i + 1] == nil then
            fail("bad argument " .. tostring(arg[i]))
        end
        a[key] = arg[i + 1]
    end
    for _, key in ipairs({ "n", "qos", "window", "port" }) do
        a[key] = math.tointeger(tonumber(a[key])) or fail("--" .. key .. " needs an integer")
    end
    if a.handlers ~= "own" and a.handlers ~= "shared" then
        fail("--handlers needs own or shared")
    end
    a.workload = a.workload or a.mode
    -- What the JSON line calls the shape: how the script reads its messages.
    a.shape = a.mode == "routing" and "handlers" or a.loop ~= "blocking" and a.loop or a.api
    return a
end

local function lines(path)
    local list = {}
    for line in assert(io.lines(path)) do
        list[#list + 1] = line
    end
    return list
end

--- A `kB` field of /proc/self/status (VmRSS, VmHWM), in KiB.
local function status_kib(field)
    local f = assert(io.open("/proc/self/status"))
    local text = f:read("a")
    f:close()
    return tonumber(text:match(field .. ":%s+(%d+) kB"))
end

--- The `q` quantile of sorted samples (nearest rank).
local function percentile(sorted, q)
    return sorted[math.max(1, math.ceil(q * #sorted))]
end

--- CPU seconds used so far: by the whole process, every thread (os.clock(), clock(3)), and
-- by this thread alone, the one running the script (its time on a CPU, from the kernel).
local function cpu_now()
    local f = assert(io.open("/proc/thread-self/schedstat"))
    local ns = tonumber(f:read("a"):match("^(%d+)"))
    f:close()
    return { process = os.clock(), thread = ns / 1e9 }
end

--- The CPU seconds used since `cpu_now()` gave `since`: `cpu_s` (the process) and
-- `main_cpu_s` (the script's thread) of a run's result.
local function cpu_used(r, since)
    local now = cpu_now()
    r.cpu_s, r.main_cpu_s = now.process - since.process, now.thread - since.thread
    return r
end

--- The run's JSON line; `cpu_s` counts every thread of the process, `main_cpu_s` the
-- script's thread alone.
local function report(args, r)
    local fields = {
        { "client", ("%q"):format("lua") }, { "shape", ('"%s"'):format(args.shape) },
        { "workload", ('"%s"'):format(args.workload) }, { "n", r.n },
        { "seconds", ("%.6f"):format(r.seconds) },
        { "msgs_per_s", r.seconds > 0 and ("%.1f"):format((r.n - r.lost) / r.seconds) or "null" },
        { "cpu_s", ("%.6f"):format(r.cpu_s) },
        { "main_cpu_s", r.main_cpu_s and ("%.6f"):format(r.main_cpu_s) or "null" },
        { "peak_rss_kib", status_kib("VmHWM") },
    }
    for _, key in ipairs({ "p50_us", "p90_us", "p99_us" }) do
        fields[#fields + 1] = { key, r[key] and ("%.1f"):format(r[key]) or "null" }
    end
    for _, key in ipairs({ "lost", "dropped", "misrouted", "deliveries", "rss_base_kib", "rss_connected_kib",
                           "rss_subscribed_kib" }) do
        fields[#fields + 1] = { key, r[key] or "null" }
    end
    local out = {}
    for i, f in ipairs(fields) do
        out[i] = ('"%s":%s'):format(f[1], tostring(f[2]))
    end
    print("{" .. table.concat(out, ",") .. "}")
end

local function connect(args, capacity)
    return mqtt.connect("127.0.0.1", { port = args.port, capacity = capacity, timeout = 30 })
end

--- W1–W3: publish while at most `window` messages are on their way, receive every one;
-- timed from the first publish to the last receive.
local function roundtrip(args)
    local client = connect(args, args.window)
    local topic, n, window = args.topic, args.n, args.window
    local opts = { qos = args.qos }
    client:subscribe(topic, args.qos)
    local sent, received = 0, 0
    local function fill()
        while sent < n and sent - received < window do
            client:publish(topic, PAYLOAD, opts)
            sent = sent + 1
        end
    end
    local function loop()
        if args.api == "listen" then
            fill()
            client:listen(function()
                received = received + 1
                if received == n then
                    return false
                end
                fill()
            end)
        else
            while received < n do
                fill()
                if not client:receive(LOSS_TIMEOUT) then
                    break
                end
                received = received + 1
            end
        end
    end
    local cpu, started = cpu_now(), socket.gettime()
    if args.tasks == "1" then
        -- W1 in mqtt.run: the same loop, as the one task of a run.
        mqtt.run(loop)
    else
        loop()
    end
    local r = cpu_used({ n = n, lost = n - received, seconds = socket.gettime() - started }, cpu)
    client:disconnect()
    return r
end

--- The unpaced loop, as a new user writes it, with the default options: subscribe to
-- `<topic>/#`, publish n messages to `<topic>/t` as fast as the client takes them, taking
-- after each publish the message that has arrived, if any (`receive(0)`), then receive the
-- rest. Timed from the first publish to the last receive.
local function unpaced(args)
    local client = connect(args)
    local topic, n, opts = args.topic .. "/t", args.n, { qos = args.qos }
    client:subscribe(args.topic .. "/#", args.qos)
    local received = 0
    local cpu, started = cpu_now(), socket.gettime()
    for _ = 1, n do
        client:publish(topic, PAYLOAD, opts)
        if client:receive(0) then
            received = received + 1
        end
    end
    while received < n and client:receive(LOSS_TIMEOUT) do
        received = received + 1
    end
    local r = cpu_used({ n = n, lost = n - received, seconds = socket.gettime() - started }, cpu)
    r.dropped = client:stats().dropped
    client:disconnect()
    return r
end

--- W4: publish one message and receive it, n times in a row.
-- With `--loop cqueues` or `--loop luv` the script waits for each message in that event loop,
-- on the client's descriptor (`getfd`), and takes it with `receive(0)`.
local function latency(args)
    local client = connect(args)
    local topic, opts, n = args.topic, { qos = args.qos }, args.n
    client:subscribe(topic, args.qos)
    local samples, sent = {}, nil
    local function publish()
        sent = socket.gettime()
        client:publish(topic, PAYLOAD, opts)
    end
    local function record(msg)
        if msg then
            samples[#samples + 1] = (socket.gettime() - sent) * 1e6
        end
        return msg
    end
    local cpu, started = cpu_now(), socket.gettime()
    if args.loop == "blocking" then
        for _ = 1, n do
            publish()
            if not record(client:receive(LOSS_TIMEOUT)) then
                break
            end
        end
    elseif args.loop == "cqueues" then
        local cqueues = require("cqueues")
        local loop = cqueues.new()
        loop:wrap(function()
            for _ = 1, n do
                publish()
                local msg = client:receive(0)
                while not msg and cqueues.poll(client, LOSS_TIMEOUT) do
                    msg = client:receive(0)
                end
                if not record(msg) then
                    return
                end
            end
        end)
        assert(loop:loop())
    elseif args.loop == "luv" then
        local uv = require("luv")
        local poll, bound = uv.new_poll(client:getfd()), uv.new_timer()
        local function stop()
            poll:stop()
            bound:stop()
        end
        poll:start("r", function()
            local msg = client:receive(0)
            if msg then
                record(msg)
                bound:stop()
                if #samples >= n then
                    stop()
                else
                    bound:start(LOSS_TIMEOUT * 1000, 0, stop)
                    publish()
                end
            end
        end)
        bound:start(LOSS_TIMEOUT * 1000, 0, stop)
        publish()
        uv.run("default")
        poll:close()
        bound:close()
        uv.run("nowait")
    else
        fail("unknown --loop " .. tostring(args.loop))
    end
    local r = cpu_used({ n = args.n, lost = args.n - #samples,
                         seconds = socket.gettime() - started }, cpu)
    table.sort(samples)
    r.p50_us, r.p90_us, r.p99_us = percentile(samples, 0.5), percentile(samples, 0.9), percentile(samples, 0.99)
    client:disconnect()
    return r
end

--- W6, subscriber: says `ready` once subscribed, receives until n messages came or none
-- came for a while; timed from the first message to the last. The mailbox holds all n, as
-- the reference's unbounded channel does.
local function subscriber(args)
    local client = connect(args, args.n)
    client:subscribe(args.topic, args.qos)
    print("ready")
    io.stdout:flush()
    local n, received, first, last = args.n, 0, nil, nil
    local cpu = cpu_now()
    if args.api == "listen" then
        client:listen(function()
            last = socket.gettime()
            first = first or last
            received = received + 1
            return received < n
        end)
    else
        local wait = 60
        while received < n and client:receive(wait) do
            last = socket.gettime()
            first = first or last
            received = received + 1
            wait = LOSS_TIMEOUT
        end
    end
    local r = cpu_used({ n = n, lost = n - received, seconds = first and last - first or 0 }, cpu)
    client:disconnect()
    return r
end

--- W6, publisher: publishes n messages as fast as it can, then disconnects (which sends
-- everything queued first).
local function publisher(args)
    local client = connect(args)
    local topic, opts = args.topic, { qos = args.qos }
    local cpu, started = cpu_now(), socket.gettime()
    for _ = 1, args.n do
        client:publish(topic, PAYLOAD, opts)
    end
    client:disconnect()
    return cpu_used({ n = args.n, lost = 0, seconds = socket.gettime() - started }, cpu)
end

--- Subscribes to every filter, 1,000 a SUBSCRIBE packet; `handler(i)` gives the i-th
-- filter's handler (or nil). Returns the Subscriptions.
local function subscribe_all(client, filters, qos, handler)
    local subs = {}
    for first = 1, #filters, 1000 do
        local batch = {}
        for i = first, math.min(first + 999, #filters) do
            batch[#batch + 1] = { filters[i], qos, handler and handler(i) }
        end
        for _, sub in ipairs(client:subscribe_many(batch)) do
            subs[#subs + 1] = sub
        end
    end
    return subs
end

--- Memory: RSS after require (base), connected and idle, and with every filter subscribed.
-- The filters are read first, so that their strings do not count as the subscriptions'.
local function memory(args)
    local filters = args.filters and lines(args.filters) or { args.topic }
    collectgarbage()
    local r = { n = 0, lost = 0, seconds = 0, cpu_s = 0, rss_base_kib = status_kib("VmRSS") }
    local client = connect(args)
    socket.sleep(0.5)
    collectgarbage()
    r.rss_connected_kib = status_kib("VmRSS")
    local subs = subscribe_all(client, filters, 0)
    r.n = #subs
    socket.sleep(0.5)
    collectgarbage()
    r.rss_subscribed_kib = status_kib("VmRSS")
    client:disconnect()
    return r
end

--- Which filters match each topic, by `mqtt.topic.matches`. Only candidates are checked:
-- exact filters by lookup, wildcard filters indexed by their site level (or, for `site/+`,
-- their device level); the few others (`site/#`, say) are checked against every topic.
local function matcher(filters)
    local exact, by_site, by_device, everywhere = {}, {}, {}, {}
    for i, f in ipairs(filters) do
        if not f:find("[+#]") then
            exact[f] = i
        else
            local site, device = f:match("^site/([^/]+)/dev/([^/]+)")
            site = site or f:match("^site/([^/+#]+)/")
            if site and site ~= "+" then
                by_site[site] = by_site[site] or {}
                table.insert(by_site[site], i)
            elseif site == "+" and device and device ~= "+" and device ~= "#" then
                by_device[device] = by_device[device] or {}
                table.insert(by_device[device], i)
            else
                everywhere[#everywhere + 1] = i
            end
        end
    end
    local cache = {}
    return function(topic)
        local found = cache[topic]
        if found then
            return found
        end
        found = { exact[topic] }
        local site, device = topic:match("^site/([^/]+)/dev/([^/]+)/")
        for _, group in ipairs({ by_site[site] or {}, by_device[device] or {}, everywhere }) do
            for _, i in ipairs(group) do
                if mqtt.topic.matches(filters[i], topic) then
                    found[#found + 1] = i
                end
            end
        end
        cache[topic] = found
        return found
    end
end

--- W5: one client, a handler per filter, the topics published from the same process; each
-- handler's count must equal the number of published topics its filter matches.
local function routing(args)
    local filters, topics = lines(args.filters), lines(args.topics)
    local expected, owed_after, owed = {}, {}, 0
    for i = 1, #filters do
        expected[i] = 0
    end
    local matching = matcher(filters)
    for m, topic in ipairs(topics) do
        for _, i in ipairs(matching(topic)) do
            expected[i] = expected[i] + 1
        end
        owed = owed + #matching(topic)
        owed_after[m] = owed
    end
    local n, window = #topics, args.window
    local client = connect(args, 4 * window)
    local counts, done = {}, 0
    local function shared()
        done = done + 1
    end
    subscribe_all(client, filters, args.qos, function(i)
        counts[i] = 0
        if args.handlers == "shared" then
            return shared
        end
        return function()
            counts[i] = counts[i] + 1
            done = done + 1
        end
    end)
    local opts, sent = { qos = args.qos }, 0
    local cpu, started = cpu_now(), socket.gettime()
    -- The window counts handler runs: the sent messages' deliveries not yet dispatched.
    while done < owed do
        while sent < n and owed_after[sent + 1] - done <= window do
            sent = sent + 1
            client:publish(topics[sent], PAYLOAD, opts)
        end
        if client:dispatch(LOSS_TIMEOUT) == 0 then
            break
        end
    end
    local r = cpu_used({ n = n, seconds = socket.gettime() - started, deliveries = done, lost = 0,
                         misrouted = 0 }, cpu)
    if args.handlers == "shared" then
        -- Only the number of deliveries is known.
        r.lost, r.misrouted = math.max(0, owed - done), math.max(0, done - owed)
    else
        for i = 1, #filters do
            r.lost = r.lost + math.max(0, expected[i] - counts[i])
            r.misrouted = r.misrouted + math.max(0, counts[i] - expected[i])
        end
    end
    client:disconnect()
    return r
end

--- W7: 100 clients in one mqtt.run, each subscribed to 10 topics of its own, each a task
-- that publishes its share of n messages over its topics (at most 10 on their way) and
-- receives them back.
local function many(args)
    local clients, per, window = {}, args.n // 100, 10
    for c = 1, 100 do
        local client = connect(args, window * 2)
        local topics = {}
        for k = 1, 10 do
            topics[k] = ("%s/%d/%d"):format(args.topic, c, k)
            client:subscribe(topics[k], args.qos)
        end
        clients[c] = { client = client, topics = topics }
    end
    local received, opts = 0, { qos = args.qos }
    local function task(c)
        local client, topics = c.client, c.topics
        local sent, got = 0, 0
        while got < per do
            while sent < per and sent - got < window do
                sent = sent + 1
                client:publish(topics[sent % 10 + 1], PAYLOAD, opts)
            end
            if not client:receive(LOSS_TIMEOUT) then
                return
            end
            got = got + 1
            received = received + 1
        end
    end
    local tasks = {}
    for i, c in ipairs(clients) do
        tasks[i] = function()
            task(c)
        end
    end
    local cpu, started = cpu_now(), socket.gettime()
    mqtt.run(table.unpack(tasks))
    local n = per * 100
    local r = cpu_used({ n = n, lost = n - received, seconds = socket.gettime() - started }, cpu)
    for _, c in ipairs(clients) do
        c.client:disconnect()
    end
    return r
end

--- 100 clients connected and subscribed, each a task of one mqtt.run waiting for a message
-- that never comes; the CPU the process uses over 10 s of that (`cpu_s`, `seconds`).
local function idle(args)
    local clients = {}
    for c = 1, 100 do
        clients[c] = connect(args)
        clients[c]:subscribe(("%s/%d"):format(args.topic, c), 1)
    end
    local tasks, r = {}, nil
    for c = 1, 100 do
        tasks[c] = function()
            clients[c]:receive(12)
        end
    end
    tasks[#tasks + 1] = function()
        mqtt.sleep(0.5)
        local cpu, started = cpu_now(), socket.gettime()
        mqtt.sleep(10)
        r = cpu_used({ n = 0, lost = 0, seconds = socket.gettime() - started }, cpu)
    end
    mqtt.run(table.unpack(tasks))
    for _, client in ipairs(clients) do
        client:disconnect()
    end
    return r
end

local modes = { roundtrip = roundtrip, unpaced = unpaced, latency = latency, subscriber = subscriber,
                publisher = publisher, memory = memory, routing = routing, many = many, idle = idle }
local args = parse_args()
local run = modes[args.mode] or fail("unknown --mode " .. tostring(args.mode))
report(args, run(args))
