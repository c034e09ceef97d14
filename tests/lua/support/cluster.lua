--- The test bed's broker cluster for Lua specs: NATS servers in one cluster, with JetStream and
-- an MQTT listener each, all on 127.0.0.1, started by tests/support/cluster.sh. Each node is a
-- support.broker Broker (`:kill()`, `:stop()`, `:log()`, `:options()`; `:restart()` relaunches
-- it, but it takes MQTT clients again only once it has caught up with the others, which nothing
-- here waits for) with a `name` ("n1", ...) and a `monitor` port (NATS' monitoring endpoint).
-- Stop the cluster in `finally`; scripts/test.sh kills any node a crashed spec left behind.

local http = require("socket.http")
local ltn12 = require("ltn12")
local json = require("dkjson")
local Broker = require("support.broker")

local Cluster = {}
Cluster.__index = Cluster

local counter = 0

local function run(...)
    return Broker.script("tests/support/cluster.sh", ...)
end

--- Starts a cluster and returns once every node takes MQTT clients at QoS 1. `opts`:
-- { nodes = 3, replicas = nodes (NATS' `mqtt { stream_replicas }`), conf = {"raw config line", ...} }.
function Cluster.start(opts)
    opts = opts or {}
    counter = counter + 1
    local root = assert(os.getenv("COPPER_TEST_ROOT"), "COPPER_TEST_ROOT is not set: run the specs through scripts/test.sh")
    local dir = ("%s/cluster-%d-%d"):format(root, math.random(1, 1e9), counter)
    local args = { "start", dir, "--nodes", opts.nodes or 3 }
    if opts.replicas then
        args[#args + 1] = "--replicas"; args[#args + 1] = opts.replicas
    end
    for _, line in ipairs(opts.conf or {}) do
        args[#args + 1] = "--conf"; args[#args + 1] = line
    end
    local nodes = {}
    for name, port, pid, monitor in run(table.unpack(args)):gmatch("(n%d+) (%d+) (%d+) (%d+)") do
        nodes[#nodes + 1] = setmetatable({
            dir = dir .. "/" .. name,
            name = name,
            port = tonumber(port),
            pid = tonumber(pid),
            monitor = tonumber(monitor),
        }, Broker)
    end
    assert(#nodes == (opts.nodes or 3), "cluster.sh printed no nodes")
    return setmetatable({ dir = dir, nodes = nodes }, Cluster)
end

function Cluster:stop()
    run("stop", self.dir)
end

--- Every node's connect string, for the client's `servers` option.
function Cluster:servers()
    local list = {}
    for i, node in ipairs(self.nodes) do
        list[i] = ("mqtt://127.0.0.1:%d"):format(node.port)
    end
    return list
end

-- A monitoring endpoint's JSON, or nil when the node does not answer within 2 s.
local function monitoring(node, path)
    local body = {}
    local timeout = http.TIMEOUT
    http.TIMEOUT = 2
    local ok, code = http.request({
        url = ("http://127.0.0.1:%d%s"):format(node.monitor, path),
        sink = ltn12.sink.table(body),
    })
    http.TIMEOUT = timeout
    if ok and code == 200 then
        return json.decode(table.concat(body))
    end
end

--- The node an MQTT client (by client id) is connected to, as that node's /connz says, and
-- the client's port there; nil when no node lists it (a killed node does not answer).
function Cluster:node_of(client_id)
    for _, node in ipairs(self.nodes) do
        local connz = monitoring(node, "/connz?mqtt_client=" .. client_id)
        local conn = connz and connz.connections and connz.connections[1]
        if conn then
            return node, conn.port
        end
    end
end

--- Who leads what, as node names, as the first node that answers sees it: `meta` (the JetStream
-- metadata leader), each stream by its name ("$MQTT_sess", "$MQTT_msgs", "$MQTT_rmsgs") and
-- each QoS 1 subscription's consumer as "consumer of FILTER" (NATS keeps one per session and
-- filter).
function Cluster:leaders()
    for _, node in ipairs(self.nodes) do
        local jsz = monitoring(node, "/jsz?accounts=true&streams=true&consumers=true&config=true")
        if jsz then
            local out = { meta = jsz.meta_cluster and jsz.meta_cluster.leader }
            for _, account in ipairs(jsz.account_details or {}) do
                for _, stream in ipairs(account.stream_detail or {}) do
                    out[stream.name] = stream.cluster and stream.cluster.leader
                    for _, consumer in ipairs(stream.consumer_detail or {}) do
                        local subject = consumer.config and consumer.config.filter_subject or ""
                        local filter = subject:match("^%$MQTT%.msgs%.(.+)$")
                        if filter then
                            out["consumer of " .. filter:gsub("%.", "/")] = consumer.cluster and consumer.cluster.leader
                        end
                    end
                end
            end
            return out
        end
    end
    return {}
end

return Cluster
