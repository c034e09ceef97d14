-- Coroutines: mqtt.run runs functions as tasks; inside a task every call that waits lets the
-- other tasks run instead of blocking the thread. To show that a call yields, a test makes
-- it wait on a frozen broker (SIGSTOP) that only another task thaws: were the call to block
-- the thread, that task would never run and the call would time out.
local mqtt = require("mqtt")
local socket = require("socket")
local Broker = require("support.broker")
local Process = require("support.process")

-- mqtt.run, with one more task that raises if the others have not all ended within 20 s:
-- `listen` has no timeout of its own.
local function run_bounded(...)
    local fns, left = table.pack(...), select("#", ...)
    local tasks = {}
    for i = 1, fns.n do
        tasks[i] = function()
            fns[i]()
            left = left - 1
        end
    end
    tasks[#tasks + 1] = function()
        local deadline = socket.gettime() + 20
        while left > 0 do
            assert(socket.gettime() < deadline, "the tasks did not end within 20 s")
            mqtt.sleep(0.02)
        end
    end
    mqtt.run(table.unpack(tasks))
end

describe("mqtt.run", function()
    local broker = Broker.per_suite()

    local function connect()
        return mqtt.connect("127.0.0.1", broker:options())
    end

    it("runs tasks that wait for messages side by side, with several clients", function()
        local a, b = connect(), connect()
        a:subscribe("tasks/a", 1)
        b:subscribe("tasks/b", 1)
        local got = {}
        mqtt.run(function()
            for _ = 1, 3 do
                -- Read first: `got[#got + 1] = f()` would take its index before f yields.
                local msg = a:receive(5)
                got[#got + 1] = "a" .. msg.payload
            end
        end, function()
            for _ = 1, 3 do
                local msg = b:receive(5)
                got[#got + 1] = "b" .. msg.payload
            end
        end, function()
            for i = 1, 3 do
                a:publish("tasks/b", tostring(i), { qos = 1 })
                mqtt.sleep(0.01)
                b:publish("tasks/a", tostring(i), { qos = 1 })
                mqtt.sleep(0.01)
            end
        end)
        a:disconnect()
        b:disconnect()
        assert.are.same({ "b1", "a1", "b2", "a2", "b3", "a3" }, got)
    end)

    it("lets the others run while a task sleeps, and returns when all have ended", function()
        local order = {}
        mqtt.run(function()
            mqtt.sleep(0.05)
            order[#order + 1] = "slept"
        end, function()
            order[#order + 1] = "ran"
            mqtt.spawn(function()
                order[#order + 1] = "spawned"
            end)
        end)
        assert.are.same({ "ran", "spawned", "slept" }, order)
    end)

    -- Each call, made in a task while the broker is frozen: a second task thaws it.
    local calls = {
        connect = function()
            mqtt.connect("127.0.0.1", broker:options()):disconnect()
        end,
        subscribe = function(c)
            c:subscribe("tasks/frozen/1", 1)
        end,
        subscribe_many = function(c)
            c:subscribe_many({ { "tasks/frozen/2", 1 }, { "tasks/frozen/3", 0 } })
        end,
        unsubscribe = function(c)
            c:unsubscribe("tasks/frozen/none")
        end,
        ["publish with wait"] = function(c)
            c:publish("tasks/frozen/p", "x", { qos = 1, wait = true })
        end,
        flush = function(c)
            c:publish("tasks/frozen/p", "x", { qos = 1 })
            c:flush()
        end,
        disconnect = function(c)
            c:publish("tasks/frozen/p", "x", { qos = 1 })
            c:disconnect()
        end,
    }
    for name, call in pairs(calls) do
        it(("lets the others run while %s waits for the broker"):format(name), function()
            local c = connect()
            local thawed = false
            broker:freeze()
            local ok, err = pcall(mqtt.run, function()
                call(c)
                assert.is_true(thawed, "the call returned before the broker could answer")
            end, function()
                thawed = true
                broker:thaw()
            end)
            if not thawed then
                broker:thaw()
            end
            c:disconnect()
            assert(ok, err)
        end)
    end

    it("runs handlers, subscriptions' reads and listen in tasks", function()
        local c, p = connect(), connect()
        local handled, own, listened = {}, {}, {}
        c:subscribe("tasks/h", 1, function(msg)
            handled[#handled + 1] = msg.payload
        end)
        local sub = c:subscribe("tasks/own", 1)
        c:subscribe("tasks/other", 1)
        run_bounded(function()
            while #handled < 2 do
                c:dispatch(5)
            end
        end, function()
            own[1] = sub:receive(5).payload
            sub:listen(function(msg)
                own[#own + 1] = msg.payload
                return #own < 2
            end)
        end, function()
            c:listen(function(msg)
                listened[#listened + 1] = msg.payload
                return false
            end)
        end, function()
            for i = 1, 2 do
                p:publish("tasks/h", "h" .. i, { qos = 1 })
                p:publish("tasks/own", "o" .. i, { qos = 1 })
            end
            p:publish("tasks/other", "l1", { qos = 1 })
        end)
        assert.are.same({ "h1", "h2" }, handled)
        assert.are.same({ "o1", "o2" }, own)
        assert.are.same({ "l1" }, listened)
        c:disconnect()
        p:disconnect()
    end)

    it("ends with a task's error and its traceback, after closing the other tasks", function()
        local closed = false
        local ok, err = pcall(mqtt.run, function()
            local _ <close> = setmetatable({}, {
                __close = function()
                    closed = true
                end,
            })
            mqtt.sleep(60)
        end, function()
            mqtt.sleep(0.01)
            error("boom")
        end)
        assert.is_false(ok)
        assert.matches("tasks_spec.lua:%d+: boom", err)
        assert.matches("stack traceback", err, 1, true)
        assert.is_true(closed, "the sleeping task's to-be-closed variable ran")
    end)

    it("refuses a wait in a coroutine a task made, and one across a C function", function()
        local c = connect()
        local ok, err = pcall(mqtt.run, function()
            coroutine.wrap(function()
                c:receive(1)
            end)()
        end)
        assert.is_false(ok)
        assert.matches("mqtt.receive: cannot wait in a coroutine that is not an mqtt.run task", err, 1, true)
        ok, err = pcall(mqtt.run, function()
            table.sort({ 1, 2, 3 }, function(x, y)
                mqtt.sleep(0.001)
                return x < y
            end)
        end)
        assert.is_false(ok)
        assert.matches("mqtt.sleep: cannot wait here: a C function", err, 1, true)
        assert.is_nil(err:find("C-call boundary", 1, true))
        c:disconnect()
    end)

    it("leaves calls outside a run, coroutines included, blocking as before", function()
        local c = connect()
        c:subscribe("tasks/plain", 1)
        c:publish("tasks/plain", "x", { qos = 1 })
        local msg = coroutine.wrap(function()
            return c:receive(5)
        end)()
        assert.are.equal("x", msg.payload)
        assert.is_nil(c:receive(0))
        c:disconnect()
        local started = os.clock()
        mqtt.sleep(0.01)
        assert.is_true(os.clock() >= started)
    end)

    it("says what is wrong with its arguments", function()
        assert.has_error(function()
            mqtt.run(function() end, 42)
        end, "mqtt.run: bad argument #2: expected a function, got number")
        assert.has_error(function()
            mqtt.spawn(function() end)
        end, "mqtt.spawn: no mqtt.run is active (start tasks with mqtt.run)")
        assert.has_error(function()
            mqtt.sleep(-1)
        end, "mqtt.sleep: bad argument #1 'seconds': expected a finite number of seconds, 0 or more, got -1")
        local ok, err = pcall(mqtt.run, function()
            mqtt.run(function() end)
        end)
        assert.is_false(ok)
        assert.matches("mqtt.run: a run is active already", err, 1, true)
    end)

    it("stops on Ctrl-C while every task waits", function()
        local child = Process.spawn(([[
            local mqtt = require("mqtt")
            local c = mqtt.connect("127.0.0.1", { port = %d })
            mqtt.run(function()
                print("waiting")
                io.stdout:flush()
                c:receive()
            end)
        ]]):format(broker.port))
        assert.is_true(child:wait_output("waiting", 10), child:output())
        child:signal("INT")
        local status = child:wait_exit(5)
        assert.is_not_nil(status, "still running after SIGINT")
        assert.are_not.equal(0, status)
        assert.matches("interrupted", child:output(), 1, true)
    end)
end)
