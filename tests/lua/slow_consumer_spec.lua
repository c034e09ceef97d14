-- A consumer that stops reading while a flood of QoS 0 messages arrives keeps bounded
-- memory and its connection; the overflow is dropped and counted.
local Broker = require("support.broker")
local flood = require("support.flood")

describe("a slow consumer", function()
    local broker = Broker.per_suite()

    it("keeps bounded memory and its connection while 100,000 messages arrive", function()
        local r = flood(broker.port, 100000, 1)
        assert.are.equal(100000, r.received + r.dropped)
        assert.are.equal(100, r.received) -- the default capacity
        assert.are.equal(100, r.waiting)
        assert.is_true(r.connected)
        assert.are.equal(0, r.reconnects)
        assert.is_true(r.flows_again)
        -- 100,000 messages of 64 bytes are 6 MB of payload; the mailbox holds 100 of them.
        local grown = (r.rss_after_kb - r.rss_before_kb) / 1024
        assert.is_true(grown < 16, ("RSS grew by %.1f MiB"):format(grown))
    end)
end)
