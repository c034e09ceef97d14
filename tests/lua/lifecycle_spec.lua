-- The client's life: disconnect, errors as strings, reconnection, closing without disconnect.
local mqtt = require("mqtt")
local Broker = require("support.broker")
local await_delivery = require("support.await_delivery")
local Process = require("support.process")
local socket = require("socket")

describe("the client's lifecycle", function()
    local broker = Broker.per_suite()

    -- Whether the broker logs client `id`'s DISCONNECT within `secs` seconds.
    local function disconnected(id, secs)
        return Process.wait_until(secs, function()
            local f = io.open(broker.dir .. "/log")
            local text = f and f:read("a") or ""
            if f then f:close() end
            return text:find("Client " .. id .. " disconnected.", 1, true) ~= nil
        end)
    end

    it("disconnect() is idempotent and later calls raise string errors", function()
        local client = mqtt.connect("localhost", broker:options())
        client:disconnect()
        client:disconnect()
        assert.is_false(client:is_connected())
        for name, call in pairs({
            publish = function() client:publish("a", "b") end,
            subscribe = function() client:subscribe("a") end,
            unsubscribe = function() client:unsubscribe("a") end,
            receive = function() client:receive(0) end,
        }) do
            local ok, err = pcall(call)
            assert.is_false(ok)
            assert.are.equal("string", type(err))
            assert.matches("lifecycle_spec.lua:%d+: mqtt." .. name .. ": the client is disconnected", err)
        end
    end)

    it("runs the error-handling examples of the documentation", function()
        local lines = {}
        local function print(s) lines[#lines + 1] = s end
        -- Connection errors
        local ok, err = pcall(function()
            return mqtt.connect("nonexistent..invalid", { timeout = 3 })
        end)
        if not ok then
            print("Could not connect: " .. tostring(err))
        end
        -- Publish/subscribe errors
        local client = mqtt.connect("localhost", broker:options())
        client:disconnect()
        ok, err = pcall(function()
            client:publish("topic", "message")
        end)
        if not ok then
            print("MQTT error: " .. tostring(err))
        end
        assert.are.equal(2, #lines)
        assert.matches("^Could not connect: .-mqtt.connect: could not resolve host", lines[1])
        assert.matches("^MQTT error: .-mqtt.publish: the client is disconnected$", lines[2])
    end)

    it("reconnects by itself after the broker restarts, and keeps receiving", function()
        local own = Broker.start()
        finally(function() own:stop() end)
        local client = mqtt.connect("127.0.0.1", own:options({ keep_alive = 5 }))
        client:subscribe("again/#", 1)
        own:kill()
        assert.is_true(Process.wait_until(10, function() return not client:is_connected() end))
        own:restart()
        assert.is_true(Process.wait_until(15, function() return client:is_connected() end))
        local other = mqtt.connect("127.0.0.1", own:options())
        finally(function() other:disconnect() end)
        local got = await_delivery(other, client, "again/x", "back", 10)
        assert.are.equal("back", got and got.payload)
        client:disconnect()
    end)

    it("closes with a to-be-closed variable", function()
        local watcher = mqtt.connect("localhost", broker:options())
        finally(function() watcher:disconnect() end)
        do
            local c <close> = mqtt.connect("localhost", broker:options({ client_id = "scoped" }))
            assert.is_true(c:is_connected())
            watcher.scoped = c
        end
        assert.is_false(watcher.scoped:is_connected())
        local ok = pcall(watcher.scoped.publish, watcher.scoped, "a", "b")
        assert.is_false(ok)
    end)

    it("lets a script end without disconnect() and exit 0 promptly", function()
        local child = Process.spawn(([[
            local mqtt = require("mqtt")
            local client = mqtt.connect("127.0.0.1", { port = %d })
            client:subscribe("x/#", 1)
            client:publish("x/y", "z", { qos = 1 })
            print("done")
        ]]):format(broker.port))
        assert.are.equal(0, child:wait_exit(10), child:output())
        assert.are.equal("done\n", child:output())
    end)

    it("closes the connection of a client the garbage collector collects", function()
        local id = "collected-" .. math.random(1, 1e9)
        local client = mqtt.connect("127.0.0.1", broker:options({ client_id = id }))
        assert.is_true(client:is_connected())
        client = nil -- luacheck: ignore
        collectgarbage()
        collectgarbage()
        assert.is_true(disconnected(id, 5), "the broker did not see a DISCONNECT")
    end)

    it("collects a forgotten client on a silent link without waiting for the broker", function()
        local id = "silent-" .. math.random(1, 1e9)
        local client = mqtt.connect("127.0.0.1", broker:options({ client_id = id, timeout = 5 }))
        broker:freeze()
        -- Its close waits for this publish's PUBACK (up to 2 s): the collector must not.
        client:publish("silent/x", "y", { qos = 1 })
        local ok, err = pcall(function()
            client = nil -- luacheck: ignore
            local started = socket.gettime()
            collectgarbage()
            collectgarbage()
            local took = socket.gettime() - started
            assert(took < 0.5, ("the collector waited %.2f s"):format(took))
        end)
        broker:thaw()
        assert(ok, err)
        -- The close went on in the background: the broker hears the DISCONNECT once it wakes.
        assert.is_true(disconnected(id, 10), "the broker did not see a DISCONNECT")
    end)

    it("waits at exit for the close of a client the script forgot, within its bound", function()
        local id = "forgotten-" .. math.random(1, 1e9)
        local child = Process.spawn(([[
            local mqtt = require("mqtt")
            local client = mqtt.connect("127.0.0.1", { port = %d, client_id = %q,
                will = { topic = "will/forgotten", payload = "gone" } })
            client = nil
            collectgarbage()
            print("done")
        ]]):format(broker.port, id))
        assert.are.equal(0, child:wait_exit(10), child:output())
        assert.is_true(disconnected(id, 0), "no DISCONNECT before the exit")
    end)

    it("exits 0 from a host that embeds Lua, dlopens the library and unloads it", function()
        local host = os.getenv("COPPER_TEST_ROOT") .. "/host"
        assert(os.execute(("cc -O1 -o %s tests/support/host.c -I/usr/include/lua5.4 -llua5.4 -ldl")
            :format(host)), "cannot build the test host")
        local script = os.getenv("COPPER_TEST_ROOT") .. "/host-script.lua"
        local f = assert(io.open(script, "w"))
        f:write([[
            package.path = "./target/lua/?/init.lua;" .. package.path
            local mqtt = require("mqtt")
            local client = mqtt.connect("127.0.0.1", { port = tonumber(arg[1]) })
            client:subscribe("host/#", 1)
            client:publish("host/x", "y", { qos = 1 })
            assert(client:receive(5).payload == "y")
            -- No disconnect(): the host closes the state and unloads the library.
        ]])
        f:close()
        for _ = 1, 20 do
            local child = Process.spawn(([[
                local ok, how, code = os.execute(%q)
                io.stdout:write(how, " ", code, "\n")
            ]]):format(("%s target/lua/copper_mqtt.so %s %d"):format(host, script, broker.port)))
            assert.are.equal(0, child:wait_exit(15), child:output())
            assert.are.equal("exit 0\n", child:output())
        end
    end)
end)
