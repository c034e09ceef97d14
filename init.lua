--- mqtt: an MQTT 3.1.1 client for Lua 5.4 and CopperMoon.
-- A thin object wrapper over the native `copper_mqtt` library, which this file alone loads
-- (with `require` only: CopperMoon disables package.loadlib and has no debug library).
-- Native calls return `nil, "<call>: <reason>"` on failure; this file raises that string at
-- the caller's line, so `pcall` catches a plain string.

local native = require("copper_mqtt")
-- The calls made for every message: plain C functions, which find the client through its
-- table's `_binding`.
local native_publish, receive_slice = native.publish, native.receive_slice
local native_publish_now = native.publish_now

-- Locals, read on every publish and receive: cheaper than looking globals up.
local error, rawget, type = error, rawget, type

local mqtt = {
    QoS = native.QoS,
    version = native.version,
}

-- The value a native call returned, or its error raised at the script's line: `depth`
-- functions of this file stand between the script and the call (1: the function the script
-- called). A native call fails with nil (or the value it found) and "mqtt.<call>: <reason>".
local function checked(depth, value, err)
    if err ~= nil then
        error(err, depth + 2)
    end
    return value
end

-- A received message's table, from the values a native read returns: `topic, payload, qos,
-- retain, dup, subscription` (then `claimed_by`, which the table leaves out).
local function message(topic, payload, qos, retain, dup, sub)
    return { topic = topic, payload = payload, qos = qos, retain = retain, dup = dup, subscription = sub }
end

--- Configures the library's log: `{ level = "info", format = "pretty" | "json", file = path }`.
-- By default warnings and errors go to stderr; `MQTT_LOG` (an EnvFilter) sets the start level.
function mqtt.log(options)
    checked(1, native.log(options))
end

-- Tasks: `mqtt.run(fn, ...)` runs each function in a coroutine of its own (a task) and
-- returns when all have ended. A call that waits, made in a task, yields to the scheduler
-- what it waits for: a client's news (its `news_fd`, readable once a message arrives or
-- the client changes) and a deadline, or neither (it only lets the others run). The
-- scheduler sleeps in one native wait for every client and every deadline.
local tasks = native.tasks
local traceback = debug and debug.traceback

-- The active run: `tasks` maps each task's coroutine to what it waits for (`{ c, deadline }`,
-- or `ready`: runnable); nil outside mqtt.run.
local run_state = nil

-- Whether the caller runs in a task and must yield instead of blocking; raises (naming
-- `call`, `level` functions above the script) in a coroutine that is not a task while a run
-- is active, or where a C function stands between the task and the call.
local function in_task(call, level)
    if not run_state then
        return false
    end
    local co, main = coroutine.running()
    if main then
        return false
    end
    if run_state.tasks[co] == nil then
        error(("%s: cannot wait in a coroutine that is not an mqtt.run task (start it with mqtt.spawn)")
            :format(call), level + 1)
    end
    if not coroutine.isyieldable() then
        error(("%s: cannot wait here: a C function (a metamethod, table.sort, ...) stands between the task and the call")
            :format(call), level + 1)
    end
    return true
end

-- Yields the task until `c` has news or `deadline` (a `tasks.now()` time) has passed.
local function await(c, deadline)
    coroutine.yield(c, deadline)
end

-- In a task: waits for a call started on a thread of its own (`pending`, or `nil, err` if
-- it could not start) and returns what the blocking call would have: its value, or
-- `nil, err`.
local function finish(pending, err)
    if not pending then
        return nil, err
    end
    while true do
        local value, why = pending:result()
        if value ~= false then
            return value, why
        end
        await(pending)
    end
end

-- Starts `fn(...)` as a task of `run`.
local function start_task(run, fn, ...)
    local args = table.pack(...)
    local co = coroutine.create(function()
        return fn(table.unpack(args, 1, args.n))
    end)
    run.tasks[co] = "ready"
    run.order[#run.order + 1] = co
end

-- Resumes `co`; records what it now waits for, or that it has ended; raises its error with
-- its traceback.
local function resume(run, co)
    local ok, c, deadline = coroutine.resume(co)
    if not ok then
        run.tasks[co] = nil
        if type(c) == "string" and traceback then
            c = traceback(co, c)
        end
        error(c, 0)
    end
    if coroutine.status(co) == "dead" then
        run.tasks[co] = nil
    elseif c == nil and deadline == nil then
        run.tasks[co] = "ready"
    else
        run.tasks[co] = { c = c, deadline = deadline }
    end
end

-- The news descriptor of each client (or pending call) a task has waited on: the same for
-- its life, asked for once.
local news_fds = setmetatable({}, { __mode = "k" })

-- Waits natively for the first client news or deadline any task waits for, then marks the
-- tasks it concerns runnable (a client's news is cleared before its tasks look again, so
-- that what arrives while they look is news again).
local function sleep_until_news(run)
    local fds, fd_of, earliest = {}, {}, nil
    for _, w in pairs(run.tasks) do
        if type(w) == "table" then
            if w.c and not fd_of[w.c] then
                local fd = news_fds[w.c]
                if not fd then
                    fd = checked(3, w.c:news_fd())
                    news_fds[w.c] = fd
                end
                fd_of[w.c] = fd
                fds[#fds + 1] = fd
            end
            if w.deadline and (not earliest or w.deadline < earliest) then
                earliest = w.deadline
            end
        end
    end
    local timeout = earliest and math.max(0, earliest - tasks.now()) or nil
    local ready = checked(3, tasks.wait(fds, timeout))
    for c, fd in pairs(fd_of) do
        if ready[fd] then
            c:clear_news()
        end
    end
    local now = tasks.now()
    for co, w in pairs(run.tasks) do
        if type(w) == "table" and ((w.c and ready[fd_of[w.c]]) or (w.deadline and w.deadline <= now)) then
            run.tasks[co] = "ready"
        end
    end
end

-- Runs tasks until none is left.
local function schedule(run)
    while next(run.tasks) do
        local order = run.order
        run.order = {}
        local runnable = false
        for _, co in ipairs(order) do
            if run.tasks[co] ~= nil then
                run.order[#run.order + 1] = co
                if run.tasks[co] == "ready" then
                    runnable = true
                    resume(run, co)
                end
            end
        end
        if not runnable and next(run.tasks) then
            sleep_until_news(run)
        end
    end
end

--- Runs each function as a task, and returns when all have ended. In a task every call that
-- waits lets the other tasks run instead of blocking. An error in a task ends the run with
-- that error (and its traceback), after closing the other tasks.
function mqtt.run(...)
    local fns = table.pack(...)
    for i = 1, fns.n do
        if type(fns[i]) ~= "function" then
            error(("mqtt.run: bad argument #%d: expected a function, got %s"):format(i, type(fns[i])), 2)
        end
    end
    if run_state then
        error("mqtt.run: a run is active already: start more tasks with mqtt.spawn", 2)
    end
    local run = { tasks = {}, order = {} }
    for i = 1, fns.n do
        start_task(run, fns[i])
    end
    run_state = run
    local ok, err = pcall(schedule, run)
    run_state = nil
    if not ok then
        -- The other tasks end here: their to-be-closed variables run.
        for co in pairs(run.tasks) do
            coroutine.close(co)
        end
        error(err, 0)
    end
end

--- Starts `fn(...)` as a task of the active run.
function mqtt.spawn(fn, ...)
    if type(fn) ~= "function" then
        error(("mqtt.spawn: bad argument #1 'fn': expected a function, got %s"):format(type(fn)), 2)
    end
    if not run_state then
        error("mqtt.spawn: no mqtt.run is active (start tasks with mqtt.run)", 2)
    end
    start_task(run_state, fn, ...)
end

--- Waits `seconds`: in a task, while the others run; elsewhere, blocking (Ctrl-C
-- interrupts it).
function mqtt.sleep(seconds)
    if type(seconds) ~= "number" or not (seconds >= 0 and seconds < math.huge) then
        error(("mqtt.sleep: bad argument #1 'seconds': expected a finite number of seconds, 0 or more, got %s")
            :format(type(seconds) == "number" and tostring(seconds) or type(seconds)), 2)
    end
    local deadline = tasks.now() + seconds
    if in_task("mqtt.sleep", 2) then
        await(nil, deadline)
        return
    end
    while tasks.now() < deadline do
        checked(1, tasks.wait({}, deadline - tasks.now()))
    end
end

local Client = {}
Client.__index = Client
Client.__name = "mqtt.Client"

--- Topic checks for scripts' own tests: the rules the client routes by.
mqtt.topic = {
    --- Whether `filter` matches `topic`; raises on an invalid filter or topic.
    matches = function(filter, topic)
        return checked(1, native.topic.matches(filter, topic))
    end,
    --- `true`, or `false` and the reason.
    valid_filter = native.topic.valid_filter,
    --- `true`, or `false` and the reason.
    valid_name = native.topic.valid_name,
}

--- A standalone router on the client's topic trie: values under filters.
local Router = {}
Router.__index = Router
Router.__name = "mqtt.Router"

-- The router a method was called on; raises at the caller's caller when there is none.
local function router_of(self, call)
    if getmetatable(self) ~= Router then
        error(("mqtt.router.%s: expected a Router as self (call it as router:%s(...))"):format(call, call), 3)
    end
    return self._r
end

function mqtt.router()
    -- Values are mapped to integer ids, which the native trie holds.
    return setmetatable({ _r = native.router(), _ids = {}, _values = {}, _uses = {}, _last = 0 }, Router)
end

--- Adds `value` under `filter`; false if it was there already.
function Router:add(filter, value)
    local r = router_of(self, "add")
    if value == nil or value ~= value then
        error(("mqtt.router.add: bad argument #2 'value': expected a value other than nil or NaN, got %s")
            :format(tostring(value)), 2)
    end
    local id = self._ids[value]
    if not id then
        self._last = self._last + 1
        id = self._last
    end
    local added = checked(1, r:add(filter, id))
    if added then
        self._ids[value], self._values[id] = id, value
        self._uses[id] = (self._uses[id] or 0) + 1
    end
    return added
end

--- Removes `value` from `filter`; false if it was not there.
function Router:remove(filter, value)
    local r = router_of(self, "remove")
    local id = value ~= nil and value == value and self._ids[value] or 0
    local removed = checked(1, r:remove(filter, id))
    if removed then
        self._uses[id] = self._uses[id] - 1
        if self._uses[id] == 0 then
            self._ids[value], self._values[id], self._uses[id] = nil, nil, nil
        end
    end
    return removed
end

--- The values whose filters match `topic`, each once.
function Router:match(topic)
    local ids = checked(1, router_of(self, "match"):match(topic))
    local values, seen = {}, {}
    for _, id in ipairs(ids) do
        if not seen[id] then
            seen[id] = true
            values[#values + 1] = self._values[id]
        end
    end
    return values
end

-- The native client of `self`, a Client; raises at the script's line when it is not one.
local function native_of(self, call)
    local c = type(self) == "table" and rawget(self, "_c")
    if not c then
        error(("mqtt.%s: expected a Client as self (call it as client:%s(...))"):format(call, call), 3)
    end
    return c
end

--- Connects to a broker; returns after its CONNACK, or raises why it could not.
function mqtt.connect(host, options)
    local c
    if run_state and in_task("mqtt.connect", 2) then
        c = checked(1, finish(native.begin_connect(host, options)))
    else
        c = checked(1, native.connect(host, options))
    end
    -- `_binding`: what the calls made for every message (`publish`, `receive_slice`) find
    -- the client by. `_handlers` maps the ids of subscriptions with a handler to it; which
    -- subscriptions are active, and their filters, the native side knows.
    return setmetatable({ _c = c, _binding = c:bind(), _handlers = {} }, Client)
end

--- A subscription: `filter`, `qos` (as granted), and its own `receive`, `listen`,
-- `unsubscribe`. Reading through it claims its messages from the client-wide receive.
local Subscription = {}
Subscription.__index = Subscription
Subscription.__name = "mqtt.Subscription"

-- A handle that has been read and that the script no longer holds gives its messages back
-- to client:receive() (its subscription stays until unsubscribed); an unsubscribed one has
-- nothing to give. A finalizer cannot raise: a client already closed or collected has
-- nothing to give back either.
function Subscription:__gc()
    if rawget(self, "_claimed") then
        local c = rawget(self._client, "_c")
        pcall(function()
            if c:is_active(self._id) then
                c:release(self._id, self.filter)
            end
        end)
    end
end

local function subscription(client, filter, qos, id, handler)
    if handler then
        client._handlers[id] = handler
    end
    return setmetatable({ filter = filter, qos = qos, _client = client, _id = id }, Subscription)
end

local function qos_of(call, qos_or_opts)
    if type(qos_or_opts) ~= "table" then
        return qos_or_opts
    end
    for k in pairs(qos_or_opts) do
        if k ~= "qos" then
            error(('mqtt.%s: unknown option %q (known options: qos)'):format(call, tostring(k)), 3)
        end
    end
    return qos_or_opts.qos
end

--- Publishes; `options`: `qos` (0), `retain` (false), `wait` (false: return once queued).
function Client:publish(topic, payload, options)
    if run_state and in_task("mqtt.publish", 2) then
        local done, err = native_publish_now(self, topic, payload, options)
        if done == false then
            local o = options or {}
            done, err = finish(self._c:begin_publish(topic, payload, o.qos, o.retain, o.wait))
        end
        checked(1, done, err)
        return
    end
    local ok, err = native_publish(self, topic, payload, options)
    if not ok then
        error(err, 2)
    end
end

--- Subscribes; returns a Subscription. With `handler`, its messages go to the handler while
-- the script runs `client:listen()` or `client:dispatch()`.
function Client:subscribe(filter, qos_or_opts, handler)
    local c = native_of(self, "subscribe")
    if handler ~= nil and type(handler) ~= "function" then
        error(("mqtt.subscribe: bad argument #3 'handler': expected a function, got %s"):format(type(handler)), 2)
    end
    local qos = qos_of("subscribe", qos_or_opts)
    local r
    if run_state and in_task("mqtt.subscribe", 2) then
        r = checked(1, finish(c:begin_subscribe(filter, qos, handler ~= nil)))
    else
        r = checked(1, c:subscribe(filter, qos, handler ~= nil))
    end
    return subscription(self, filter, r[1], r[2], handler)
end

--- Subscribes to `{ {filter, qos [, handler]}, ... }` in one SUBSCRIBE packet; returns the
-- Subscriptions in order, or raises naming every filter the broker refused.
function Client:subscribe_many(list)
    local c = native_of(self, "subscribe_many")
    local r
    if run_state and in_task("mqtt.subscribe_many", 2) then
        r = checked(1, finish(c:begin_subscribe_many(list)))
    else
        r = checked(1, c:subscribe_many(list))
    end
    -- r holds the granted QoS (false: refused) and the subscription id of each entry, in
    -- turn. The granted ones are subscribed even when others were refused (then `r.refused`
    -- names those): their handlers must run.
    local subs = {}
    for i, entry in ipairs(list) do
        local qos = r[2 * i - 1]
        if qos then
            subs[#subs + 1] = subscription(self, entry[1], qos, r[2 * i], entry[3])
        end
    end
    checked(1, nil, r.refused)
    return subs
end

--- Waits until everything published so far is acknowledged (up to `timeout` seconds,
-- the client's timeout by default).
function Client:flush(timeout)
    local c = native_of(self, "flush")
    if run_state and in_task("mqtt.flush", 2) then
        checked(1, finish(c:begin_flush(timeout)))
    else
        checked(1, c:flush(timeout))
    end
end

-- The subscriptions `ids` have ended: no handler of them runs any more (reading through one
-- of them raises: the native side knows it has ended).
local function ended(client, ids)
    for _, id in ipairs(ids) do
        client._handlers[id] = nil
    end
end

function Client:unsubscribe(filter)
    local c = native_of(self, "unsubscribe")
    if run_state and in_task("mqtt.unsubscribe", 2) then
        ended(self, checked(1, finish(c:begin_unsubscribe(filter))))
    else
        ended(self, checked(1, c:unsubscribe(filter)))
    end
end

-- An error of the native call `native` (its message starts `mqtt.<native>:`), named for the
-- call the script made instead.
local function renamed(err, native, call)
    return (err:gsub("^mqtt%." .. native .. ":", call .. ":", 1))
end

-- The next message of the lanes `which` names and the id of the subscription that claimed
-- it, or nil after `timeout`; raises `level` functions above the script (see `checked`),
-- naming `call`. The native side waits in short slices so that Ctrl-C can interrupt.
local function receive(client, timeout, which, level, call)
    if run_state and in_task(call, level + 1) then
        local deadline = checked(level, tasks.deadline(call, timeout))
        while true do
            local topic, payload, qos, retain, dup, sub, claimed_by = receive_slice(client, 0, which)
            if topic then
                return message(topic, payload, qos, retain, dup, sub), claimed_by
            elseif payload ~= nil then
                checked(level, nil, renamed(payload, "receive", call))
            elseif deadline and tasks.now() >= deadline then
                return nil
            end
            await(client._c, deadline)
        end
    end
    local topic, payload, qos, retain, dup, sub, claimed_by = receive_slice(client, timeout, which)
    while topic == false do
        topic, payload, qos, retain, dup, sub, claimed_by = receive_slice(client, payload, which)
    end
    if topic == nil then
        if payload ~= nil then
            checked(level, nil, renamed(payload, "receive", call))
        end
        return nil
    end
    return message(topic, payload, qos, retain, dup, sub), claimed_by
end

-- Calls `fn(msg)` for each message of `which` until it returns false or the client closes
-- for good (or, for a subscription's own messages, the subscription ends); a message a
-- handler subscription claimed goes to its handler instead, and one whose subscription has
-- ended since it arrived (it comes without its filter) to nobody.
local function listen(client, c, fn, which, call)
    local handlers = client._handlers
    local own = type(which) == "number"
    -- In a task, each read takes what has arrived and the task waits for news between.
    local task = run_state and in_task(call, 3)
    local waits = nil
    if task then
        waits = 0
    end
    while true do
        if own and not c:is_active(which) then
            return
        end
        local topic, payload, qos, retain, dup, sub, claimed_by = receive_slice(client, waits, which)
        if topic then
            local msg = message(topic, payload, qos, retain, dup, sub)
            local handler = claimed_by and handlers[claimed_by]
            if handler then
                handler(msg)
            elseif claimed_by and not msg.subscription then
                -- Its subscription ended after it arrived.
            elseif fn and fn(msg) == false then
                return
            end
        elseif topic == nil then
            if task and payload == nil then
                await(c)
            elseif c:is_closed() then
                return
            else
                checked(2, nil, renamed(payload, "receive", call))
            end
        end
    end
end

--- The next message no subscription claimed, or nil after `timeout` seconds (no timeout:
-- wait for one).
function Client:receive(timeout)
    if run_state then
        return (receive(self, timeout, nil, 2, "mqtt.receive"))
    end
    -- The first slice here, where a loop that reads whatever has arrived spends its time:
    -- a message of this lane comes with the filter that matched it, never claimed.
    local topic, payload, qos, retain, dup, sub = receive_slice(self, timeout)
    if topic then
        return { topic = topic, payload = payload, qos = qos, retain = retain, dup = dup, subscription = sub }
    elseif topic == false then
        return (receive(self, payload, nil, 2, "mqtt.receive"))
    elseif payload ~= nil then
        error(payload, 2)
    end
end

--- Dispatches messages to subscription handlers, and calls `fn(msg)` (if given) for the
-- others, until `fn` returns false or the client closes for good.
function Client:listen(fn)
    local c = native_of(self, "listen")
    if fn ~= nil and type(fn) ~= "function" then
        error(("mqtt.listen: bad argument #1 'fn': expected a function, got %s"):format(type(fn)), 2)
    end
    listen(self, c, fn, "all", "mqtt.listen")
end

--- Dispatches the messages waiting for subscription handlers, waiting up to `timeout`
-- seconds (default 0) for the first; returns how many it dispatched. A message whose
-- subscription has ended since it arrived has no handler any more: it is skipped.
function Client:dispatch(timeout)
    local c = native_of(self, "dispatch")
    local handlers = self._handlers
    local msg, claimed_by = receive(self, timeout or 0, "handlers", 2, "mqtt.dispatch")
    if not msg then
        return 0
    end
    local n = 0
    local handler = handlers[claimed_by]
    if handler then
        handler(msg)
        n = 1
    end
    -- Without a wait the native side answers at once: a message, or nothing.
    while true do
        local topic, payload, qos, retain, dup, sub, id = receive_slice(self, 0, "handlers")
        if topic == nil then
            -- A handler may have disconnected the client: what it dispatched still counts.
            if payload ~= nil and not c:is_closed() then
                checked(1, nil, renamed(payload, "receive", "mqtt.dispatch"))
            end
            return n
        end
        handler = handlers[id]
        if handler then
            handler(message(topic, payload, qos, retain, dup, sub))
            n = n + 1
        end
    end
end

-- Raises at `level` (as the caller counts) unless `sub` is a Subscription.
local function check_subscription(sub, call, level)
    if getmetatable(sub) ~= Subscription then
        error(("mqtt.subscription.%s: expected a Subscription as self (call it as sub:%s(...))"):format(call, call),
            level + 1)
    end
end

-- The client of a subscription; its first read claims its messages.
local function claimed(sub, call)
    check_subscription(sub, call, 3)
    local c = native_of(sub._client, call)
    if not c:is_active(sub._id) then
        error(("mqtt.subscription.%s: the subscription to %q has ended (unsubscribed)"):format(call, sub.filter), 3)
    end
    if sub._client._handlers[sub._id] then
        error(("mqtt.subscription.%s: the subscription to %q has a handler: its messages go to it (client:listen, client:dispatch)")
            :format(call, sub.filter), 3)
    end
    if not sub._claimed then
        checked(2, c:claim(sub._id, sub.filter))
        sub._claimed = true
    end
    return c
end

--- The next message of this subscription, or nil after `timeout` seconds.
function Subscription:receive(timeout)
    claimed(self, "receive")
    return (receive(self._client, timeout, self._id, 2, "mqtt.subscription.receive"))
end

--- Calls `fn(msg)` for each message of this subscription until it returns false or the
-- client closes for good.
function Subscription:listen(fn)
    local c = claimed(self, "listen")
    if type(fn) ~= "function" then
        error(("mqtt.subscription.listen: bad argument #1 'fn': expected a function, got %s"):format(type(fn)), 2)
    end
    listen(self._client, c, fn, self._id, "mqtt.subscription.listen")
end

--- Unsubscribes this subscription's filter.
function Subscription:unsubscribe()
    check_subscription(self, "unsubscribe", 2)
    local c, ids, err = native_of(self._client, "unsubscribe"), nil, nil
    if run_state and in_task("mqtt.subscription.unsubscribe", 2) then
        ids, err = finish(c:begin_unsubscribe(self.filter))
    else
        ids, err = c:unsubscribe(self.filter)
    end
    checked(1, nil, err and renamed(err, "unsubscribe", "mqtt.subscription.unsubscribe"))
    ended(self._client, ids)
end

function Subscription:__tostring()
    return ("mqtt.Subscription(%s, qos %d)"):format(self.filter, self.qos)
end

--- A file descriptor (an integer) that is readable while the client has messages for the
-- script (for `receive`, `dispatch`, or a subscription's `receive`) or has closed, and not
-- once they have all been taken: for other event loops. `socket.select` calls `getfd`,
-- cqueues `pollfd`, `events` and `timeout`; luv takes the integer (`uv.new_poll(fd)`).
-- Valid while the client object lives.
function Client:getfd()
    return checked(1, native_of(self, "getfd"):getfd())
end

Client.pollfd = Client.getfd

function Client:events()
    return "r"
end

--- cqueues: no deadline of the client's own.
function Client:timeout()
    return nil
end

function Client:is_connected()
    return native_of(self, "is_connected"):is_connected()
end

-- Stops running the client's handlers from the host's timer, if it did.
local function detach(client)
    local timer = rawget(client, "_timer")
    if timer ~= nil then
        client._timer = nil
        rawget(_G, "clearInterval")(timer)
    end
end

--- Keeps the client's handlers running in the host's event loop: CopperMoon runs its timers
-- after the main chunk ends and between requests inside `http.server`'s loop. Every
-- `interval` seconds (default 0.01) the handlers of the messages waiting for them run, as
-- `dispatch(0)` runs them. `disconnect()` detaches, and so does the end of the connection
-- for good: a script whose clients have all ended exits. Attaching again sets the interval.
function Client:attach(interval)
    local c = native_of(self, "attach")
    if interval == nil then
        interval = 0.01
    elseif type(interval) ~= "number" or not (interval > 0 and interval < math.huge) then
        error(("mqtt.attach: bad argument #1 'interval': expected seconds (a number > 0), got %s")
            :format(type(interval) == "number" and tostring(interval) or type(interval)), 2)
    end
    local set, clear = rawget(_G, "setInterval"), rawget(_G, "clearInterval")
    if type(set) ~= "function" or type(clear) ~= "function" then
        error("mqtt.attach: this host has no setInterval and clearInterval (CopperMoon's timers);"
            .. " use listen, dispatch or getfd instead", 2)
    end
    detach(self)
    self._timer = set(function()
        if c:is_closed() then
            detach(self)
        else
            self:dispatch(0)
        end
    end, math.max(1, math.floor(interval * 1000 + 0.5)))
end

--- Sends what is queued, says DISCONNECT (so the will is not published) and closes.
-- Calling it again does nothing.
function Client:disconnect()
    local c = native_of(self, "disconnect")
    detach(self)
    if run_state and in_task("mqtt.disconnect", 2) then
        checked(1, finish(c:begin_disconnect()))
    else
        checked(1, c:disconnect())
    end
end

--- Counters: messages_sent, bytes_sent, messages_received, bytes_received, dropped, queued,
-- in_flight, reconnects, subscriptions, and last_error (a string, or nil).
function Client:stats()
    return native_of(self, "stats"):stats()
end

function Client:client_id()
    return native_of(self, "client_id"):client_id()
end

Client.__close = Client.disconnect

function Client:__tostring()
    return ("mqtt.Client(%s)"):format(self._c:client_id())
end

return mqtt
