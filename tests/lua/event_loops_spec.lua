-- Other event loops: a client's descriptor (`getfd`) is readable while the client has
-- messages for the script and not once they have all been taken, so a script built on
-- luasocket's `socket.select`, cqueues or luv waits for its messages beside its other work,
-- without polling. The same consumer runs under each loop: wait until the client is
-- readable, take everything with `receive(0)`, repeat.
local mqtt = require("mqtt")
local socket = require("socket")
local cqueues = require("cqueues")
local uv = require("luv")
local Broker = require("support.broker")

local N = 500

-- Takes every message waiting, without waiting, into `got`.
local function drain(client, got)
    while true do
        local msg = client:receive(0)
        if not msg then
            return
        end
        got[#got + 1] = msg.payload
    end
end

-- Whether the client's descriptor is readable now, as `socket.select` sees it.
local function readable(client)
    local ready = socket.select({ client }, nil, 0)
    return #ready == 1
end

describe("a client's descriptor", function()
    local broker = Broker.per_suite()
    local producer, consumer

    before_each(function()
        producer = mqtt.connect("127.0.0.1", broker:options())
        consumer = mqtt.connect("127.0.0.1", broker:options())
    end)

    after_each(function()
        producer:disconnect()
        consumer:disconnect()
    end)

    -- Publishes N numbered QoS 1 messages to `topic`, which the consumer subscribed to.
    local function produce(topic)
        consumer:subscribe(topic, 1)
        for i = 1, N do
            producer:publish(topic, tostring(i), { qos = 1 })
        end
        producer:flush()
    end

    local function assert_all(got)
        assert.are.equal(N, #got)
        for i = 1, N do
            assert.are.equal(tostring(i), got[i])
        end
        assert.is_false(readable(consumer), "quiet once everything is taken")
    end

    it("is an integer, the same each time, and quiet while nothing has arrived", function()
        local fd = consumer:getfd()
        assert.are.equal("integer", math.type(fd))
        assert.are.equal(fd, consumer:getfd())
        assert.are.equal(fd, consumer:pollfd())
        assert.are.equal("r", consumer:events())
        assert.is_nil(consumer:timeout())
        assert.is_false(readable(consumer))
    end)

    it("wakes socket.select for each batch of messages", function()
        consumer:getfd()
        produce("loops/select")
        local got = {}
        while #got < N do
            local ready = socket.select({ consumer }, nil, 5)
            assert.are.equal(1, #ready, "no message within 5 s")
            drain(consumer, got)
        end
        assert_all(got)
    end)

    it("wakes a cqueues coroutine waiting in cqueues.poll", function()
        produce("loops/cqueues")
        local got = {}
        local loop = cqueues.new()
        loop:wrap(function()
            while #got < N do
                local ready = cqueues.poll(consumer, 5)
                assert.are.equal(consumer, ready, "no message within 5 s")
                drain(consumer, got)
            end
        end)
        assert(loop:loop(10))
        assert_all(got)
    end)

    it("wakes a luv poll handle on its integer", function()
        produce("loops/luv")
        local got = {}
        local poll = uv.new_poll(consumer:getfd())
        local bound = uv.new_timer()
        local function stop()
            poll:stop()
            bound:stop()
        end
        poll:start("r", function(err)
            assert.is_nil(err)
            drain(consumer, got)
            if #got >= N then
                stop()
            end
        end)
        bound:start(10000, 0, stop)
        uv.run("default")
        poll:close()
        bound:close()
        uv.run("nowait")
        assert_all(got)
    end)

    it("stays readable while messages taken ahead are not read yet", function()
        produce("loops/ahead")
        local first
        while not first do
            assert.are.equal(1, #socket.select({ consumer }, nil, 5), "no message within 5 s")
            first = consumer:receive(0)
        end
        assert.is_true(readable(consumer))
        local got = { first.payload }
        while #got < N do
            assert.are.equal(1, #socket.select({ consumer }, nil, 5), "no message within 5 s")
            drain(consumer, got)
        end
        assert_all(got)
    end)

    it("is readable for messages that wait for a handler, until dispatch(0) takes them", function()
        local seen = 0
        consumer:subscribe("loops/handled", 1, function()
            seen = seen + 1
        end)
        for i = 1, N do
            producer:publish("loops/handled", tostring(i), { qos = 1 })
        end
        producer:flush()
        while seen < N do
            assert.are.equal(1, #socket.select({ consumer }, nil, 5), "no message within 5 s")
            consumer:dispatch(0)
        end
        assert.is_false(readable(consumer))
    end)

    it("is readable once the client has closed", function()
        consumer:getfd()
        consumer:disconnect()
        assert.is_true(readable(consumer))
    end)
end)
