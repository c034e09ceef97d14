-- The loops users write first: publish as fast as the client takes the messages and read back
-- what has arrived after each publish; read more slowly than messages arrive, but keep
-- reading. With the default options the client loses nothing in either: it reads from the
-- network only while the mailbox has room for what a read brings, so a backlog waits in the
-- broker, held back by TCP, instead of overflowing the mailbox (guarantees.md, "Slow
-- consumers"). Only a script that leaves its mailbox full has QoS 0 messages dropped
-- (slow_consumer_spec.lua).
local mqtt = require("mqtt")
local socket = require("socket")
local Broker = require("support.broker")

local PAYLOAD = string.rep("x", 64)

describe("a script that reads, however fast it publishes or slowly it reads,", function()
    local broker = Broker.per_suite()

    -- The loop as a new user writes it: subscribe to `<prefix>/#`, publish n messages to
    -- `<prefix>/t` in a tight loop taking after each whatever has arrived (receive(0)),
    -- then receive the rest. Returns how many came back and how many the client dropped.
    -- `shape` changes the loop: `capacity`, the QoS of the subscription (`copies_qos`), and
    -- a take only every `read_every` publishes.
    local function unpaced(prefix, qos, n, shape)
        shape = shape or {}
        local client = mqtt.connect("127.0.0.1", broker:options({ capacity = shape.capacity }))
        client:subscribe(prefix .. "/#", shape.copies_qos or qos)
        local received, every = 0, shape.read_every or 1
        for i = 1, n do
            client:publish(prefix .. "/t", PAYLOAD, { qos = qos })
            if i % every == 0 and client:receive(0) then
                received = received + 1
            end
        end
        while received < n and client:receive(10) do
            received = received + 1
        end
        local dropped = client:stats().dropped
        client:disconnect()
        return received, dropped
    end

    for _, case in ipairs({ { qos = 0, n = 100000 }, { qos = 1, n = 20000 }, { qos = 2, n = 5000 } }) do
        it(("gets all %d of its messages back at QoS %d with the default options"):format(case.n, case.qos),
            function()
                local received, dropped = unpaced("unpaced/" .. case.qos, case.qos, case.n)
                assert.are.equal(case.n, received)
                assert.are.equal(0, dropped)
            end)
    end

    -- A publish that finds every place of the send queue taken, the overflow's too, while
    -- the client waits for the script to read: the places are freed by the broker's
    -- acknowledgements, which the client must read although the mailbox is full, since the
    -- script cannot read until its publish returns. Were the client to wait for the script,
    -- it would take it for a slow consumer after 0.1 s and drop the QoS 0 copies that find
    -- the mailbox full. This script publishes 10,000 + 1,024 + 500 QoS 1 messages, more
    -- than the send queue holds with its overflow, and reads one of its QoS 0 copies every
    -- 100 publishes: slowly, but it reads.
    it("is not taken for a slow consumer while a publish waits for acknowledgements", function()
        local n = 10000 + 1024 + 500
        local received, dropped = unpaced("blocked", 1, n, { capacity = 10, copies_qos = 0, read_every = 100 })
        assert.are.equal(0, dropped)
        assert.are.equal(n, received)
    end)

    it("loses nothing while it reads more slowly than messages arrive", function()
        local producer = mqtt.connect("127.0.0.1", broker:options())
        local consumer = mqtt.connect("127.0.0.1", broker:options())
        consumer:subscribe("steady/#", 0)
        -- Five times the mailbox's 100, published before the consumer reads any.
        local n = 500
        for i = 1, n do
            producer:publish("steady/" .. i, PAYLOAD)
        end
        local received = 0
        while received < n and consumer:receive(10) do
            received = received + 1
            -- Each message takes the script 2 ms of work: it reads 500 a second, while
            -- the broker could deliver them all at once.
            socket.sleep(0.002)
        end
        local dropped = consumer:stats().dropped
        producer:disconnect()
        consumer:disconnect()
        assert.are.equal(n, received)
        assert.are.equal(0, dropped)
    end)

    it("keeps its connection while it reads slowly for longer than a keep-alive", function()
        local producer = mqtt.connect("127.0.0.1", broker:options())
        local consumer = mqtt.connect("127.0.0.1", broker:options({ keep_alive = 1 }))
        consumer:subscribe("patient/#", 0)
        for i = 1, 200 do
            producer:publish("patient/" .. i, PAYLOAD)
        end
        -- 40 ms of work a message: the 64 the client takes ahead last 2.6 s, while the
        -- mailbox stays full and the client reads nothing from the network; pings are due
        -- every second meanwhile.
        for i = 1, 100 do
            local msg = consumer:receive(10)
            assert.are.equal("patient/" .. i, msg and msg.topic)
            socket.sleep(0.04)
        end
        local stats = consumer:stats()
        producer:disconnect()
        consumer:disconnect()
        assert.are.equal(0, stats.reconnects)
        assert.are.equal(0, stats.dropped)
    end)
end)
