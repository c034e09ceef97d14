-- A persistent session across the loss of a broker: three NATS servers in one cluster (JetStream,
-- MQTT streams kept on all three), a client given all three in `servers`, QoS 1 both ways, and
-- the node it is connected to killed with -9 mid-stream. Runs unless COPPER_INTEROP is set and
-- does not name nats. docs/guarantees.md ("Running against a cluster") quotes its figures.
local mqtt = require("mqtt")
local json = require("dkjson")
local socket = require("socket")
local Cluster = require("support.cluster")
local Process = require("support.process")

local interop = os.getenv("COPPER_INTEROP")
if interop and not interop:find("nats", 1, true) then
    return
end

-- Each client publishes one QoS 1 message every PACE seconds: BEFORE of them before the kill,
-- and at least AFTER once the roamer is back. What it publishes while away waits in the client,
-- and NATS takes it in slowly with a node down (tens to hundreds a second here, against about
-- 1,000 with all three), so the rate stays modest.
local PACE, BEFORE, AFTER = 0.02, 100, 100
-- The roamer's backoff: its first reconnection attempt comes 0.05-0.1 s after the loss.
local BACKOFF = { min_delay = 0.1, max_delay = 0.5 }
-- Kill to CONNACK on another node. NATS answers a CONNECT once it has read the session record
-- from the $MQTT_sess stream: at once when that stream's leader survived; when it was the
-- killed node, each CONNECT waits 4 s (NATS' JetStream request timeout) and is closed until
-- the other two have elected a new leader (3-8 s after the kill here; 4.2-9.1 s to CONNACK).
local MOVE_BOUND, MOVE_BOUND_ELECTION = 2, 20
-- Once the streams end, every message each way must arrive within this.
local DRAIN_BOUND = 30

-- The client's "connected" and "reconnecting after a delay" events, in order.
local function events_of(log, client_id)
    local out = {}
    for line in io.lines(log) do
        local event = json.decode(line)
        local link = event and event.spans and event.spans[#event.spans]
        if event and link and link.client_id == client_id then
            local f = event.fields
            if f.message == "connected" then
                out[#out + 1] = { broker = link.broker, session_present = f.session_present }
            elseif f.message == "reconnecting after a delay" then
                out[#out + 1] = { delay_ms = f.delay_ms }
            end
        end
    end
    return out
end

-- The sequence numbers a client received: distinct ones, copies beyond them, and when the
-- first one above `since` came.
local function counter(since)
    local seen, distinct, copies, first_after = {}, 0, 0, nil
    return {
        add = function(msg)
            local seq = tonumber(msg.payload)
            if seen[seq] then
                copies = copies + 1
            else
                seen[seq], distinct = true, distinct + 1
            end
            if seq > since and not first_after then
                first_after = socket.gettime()
            end
        end,
        missing = function(upto)
            local gone = {}
            for seq = 1, upto do
                if not seen[seq] then
                    gone[#gone + 1] = seq
                end
            end
            return gone
        end,
        distinct = function() return distinct end,
        copies = function() return copies end,
        first_after = function() return first_after end,
    }
end

local function drain(client, count)
    local msg = client:receive(0)
    while msg do
        count.add(msg)
        msg = client:receive(0)
    end
end

describe("a NATS cluster", function()
    it("keeps a QoS 1 persistent session, both ways, when the client's node is killed with -9", function()
        local cluster = Cluster.start()
        local log = ("%s/cluster-%d.json"):format(os.getenv("COPPER_TEST_ROOT"), math.random(1, 1e9))
        mqtt.log({ level = "info", format = "json", file = log })
        local roamer, anchor
        finally(function()
            for _, c in ipairs({ roamer, anchor }) do
                if c then pcall(c.disconnect, c) end
            end
            mqtt.log({ level = "warn" })
            cluster:stop()
        end)

        -- The roamer starts on the first of `servers`; its node is the one NATS lists it on.
        roamer = mqtt.connect(nil, {
            servers = cluster:servers(),
            client_id = "cluster-roamer",
            clean_session = false,
            reconnect = BACKOFF,
            timeout = 5,
            capacity = 1000,
        })
        roamer:subscribe("cluster/down", 1)
        local home
        assert.is_true(Process.wait_until(5, function()
            home = cluster:node_of("cluster-roamer")
            return home ~= nil
        end), "no node lists the roamer")
        local home_at
        for i, node in ipairs(cluster.nodes) do
            if node == home then home_at = i end
        end
        -- The anchor sits on neither the roamer's node nor the next one (where the roamer goes).
        local anchor_node = cluster.nodes[(home_at + 1) % #cluster.nodes + 1]
        anchor = mqtt.connect("127.0.0.1", anchor_node:options({
            client_id = "cluster-anchor",
            clean_session = false,
            capacity = 1000,
        }))
        anchor:subscribe("cluster/up", 1)

        -- Both stream, each reading between its publishes; the roamer's node dies after BEFORE.
        local up, down = counter(BEFORE), counter(BEFORE)
        local sent, led, killed_at, moved_at, moved_to, sent_at_move = 0, {}, nil, nil, nil, nil
        local next_at = socket.gettime()
        local deadline = next_at + 40
        while not moved_at or sent < sent_at_move + AFTER do
            assert(socket.gettime() < deadline, "the roamer did not come back within 40 s")
            sent = sent + 1
            roamer:publish("cluster/up", sent, { qos = 1 })
            anchor:publish("cluster/down", sent, { qos = 1 })
            next_at = next_at + PACE
            repeat
                local msg = roamer:receive(math.max(0, next_at - socket.gettime()))
                if msg then down.add(msg) end
                drain(anchor, up)
            until socket.gettime() >= next_at
            if sent == BEFORE then
                local leaders = cluster:leaders()
                assert(leaders["$MQTT_sess"], "/jsz named no leader for the session stream")
                for what, leader in pairs(leaders) do
                    if leader == home.name then led[#led + 1] = what end
                end
                table.sort(led)
                home:kill()
                killed_at = socket.gettime()
            end
            if killed_at and not moved_at and roamer:stats().reconnects >= 1 and roamer:is_connected() then
                moved_at, sent_at_move = socket.gettime(), sent
                moved_to = cluster:node_of("cluster-roamer")
            end
        end
        local streamed_until = socket.gettime()

        -- Every message, both ways, arrives: copies are allowed, losses are not.
        Process.wait_until(DRAIN_BOUND, function()
            drain(roamer, down)
            drain(anchor, up)
            return up.distinct() == sent and down.distinct() == sent
        end)
        local events = events_of(log, "cluster-roamer")
        local listed = {}
        for _, e in ipairs(events) do
            if e.broker then
                listed[#listed + 1] = ("%s%s"):format(e.broker, e.session_present and " (session)" or "")
            else
                listed[#listed + 1] = ("wait %d ms"):format(e.delay_ms)
            end
        end
        local function since_kill(t) return t and ("%.2f s"):format(t - killed_at) or "never" end
        io.stderr:write(("\ncluster: killed %s (leading: %s); moved to %s in %.2f s; %d QoS 1 messages each way, "
            .. "%d sent while away; delivering again after %s (to the anchor), %s (to the roamer); all in %.1f s "
            .. "after the streams ended; copies: %d to the anchor, %d to the roamer; the roamer's log: %s\n")
            :format(home.name, table.concat(led, ", "), moved_to and moved_to.name or "?", moved_at - killed_at,
                sent, sent_at_move - BEFORE, since_kill(up.first_after()), since_kill(down.first_after()),
                socket.gettime() - streamed_until, up.copies(), down.copies(), table.concat(listed, ", ")))
        assert.are.same({}, up.missing(sent), "messages from the roamer lost")
        assert.are.same({}, down.missing(sent), "messages to the roamer lost")

        -- It moved to a live node within its backoff and NATS' time to load the session there.
        local bound = MOVE_BOUND
        for _, what in ipairs(led) do
            if what == "$MQTT_sess" then bound = MOVE_BOUND_ELECTION end
        end
        assert.is_true(moved_at - killed_at < bound, ("moved in %.2f s"):format(moved_at - killed_at))
        assert.is_truthy(moved_to, "no live node listed the roamer when it was back")
        assert.are_not.equal(home, moved_to)
        -- Every wait between attempts kept to the backoff, the first to its first delay.
        local waits = 0
        for _, e in ipairs(events) do
            if e.delay_ms then
                waits = waits + 1
                assert.is_true(e.delay_ms <= (waits == 1 and BACKOFF.min_delay or BACKOFF.max_delay) * 1000,
                    "waits: " .. table.concat(listed, ", "))
            end
        end
        -- The first connection made the session; every later one, on a live node, found it kept,
        -- so its subscription was the broker's, not one the client made again.
        assert.are.same({ broker = "127.0.0.1:" .. home.port, session_present = false }, events[1])
        local back
        for i = 2, #events do
            back = back or (events[i].broker and events[i])
        end
        assert.are.same({ broker = "127.0.0.1:" .. moved_to.port, session_present = true }, back)
        for i = 2, #events do
            if events[i].broker then
                assert.are_not.equal("127.0.0.1:" .. home.port, events[i].broker)
                assert.is_true(events[i].session_present, "connections: " .. table.concat(listed, ", "))
            end
        end
        assert.are.equal(1, roamer:stats().subscriptions)
    end)
end)
