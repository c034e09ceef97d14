-- Microservice communication: takes new orders, stores them, and confirms them.
-- MAX_ORDERS=n stops after n orders. `db` is CopperMoon's sqlite handle in the
-- documentation; here a stand-in that keeps rows in memory.
-- compat.lua sits beside this script.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local compat = require("compat")
local json, time = compat.json, compat.time
local mqtt = require("mqtt")

local db = rawget(_G, "db") or {
    rows = {},
    execute = function(self, _, ...)
        self.rows[#self.rows + 1] = { ... }
    end,
}

local host, port = compat.broker()
local client = mqtt.connect(host, { port = port, client_id = "order-service" })

-- Listen for new orders
client:subscribe("orders/new", 1)

local limit, handled = compat.limit("MAX_ORDERS"), 0
client:listen(function(msg)
    local order = json.decode(msg.payload)
    print("Processing order #" .. order.id)
    io.stdout:flush()

    -- Validate and store
    db:execute("INSERT INTO orders (id, user_id, total) VALUES (?, ?, ?)",
        order.id, order.user_id, order.total)

    -- Notify other services
    client:publish("orders/confirmed", json.encode({
        order_id = order.id,
        status = "confirmed",
        timestamp = time.now(),
    }), { qos = 1 })

    handled = handled + 1
    if limit and handled >= limit then
        return false
    end
end)
client:disconnect()
