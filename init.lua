--- mqtt: an MQTT 3.1.1 client for Lua 5.4 and CopperMoon.
-- A thin object wrapper over the native `copper_mqtt` library, which this file alone loads
-- (with `require` only: CopperMoon disables package.loadlib and has no debug library).
-- Native calls return `nil, "<call>: <reason>"` on failure; this file raises that string at
-- the caller's line, so `pcall` catches a plain string.

local native = require("copper_mqtt")

local mqtt = {
    QoS = native.QoS,
    version = native.version,
}

local Client = {}
Client.__index = Client
Client.__name = "mqtt.Client"

--- Topic checks for scripts' own tests: the rules the client routes by.
mqtt.topic = {
    --- Whether `filter` matches `topic`; raises on an invalid filter or topic.
    matches = function(filter, topic)
        local matched, err = native.topic.matches(filter, topic)
        if err then
            error(err, 2)
        end
        return matched
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

function mqtt.router()
    -- Values are mapped to integer ids, which the native trie holds.
    return setmetatable({ _r = native.router(), _ids = {}, _values = {}, _uses = {}, _last = 0 }, Router)
end

--- Adds `value` under `filter`; false if it was there already.
function Router:add(filter, value)
    if value == nil or value ~= value then
        error(("mqtt.router.add: bad argument #2 'value': expected a value other than nil or NaN, got %s")
            :format(tostring(value)), 2)
    end
    local id = self._ids[value]
    if not id then
        self._last = self._last + 1
        id = self._last
    end
    local added, err = self._r:add(filter, id)
    if err then
        error(err, 2)
    end
    if added then
        self._ids[value], self._values[id] = id, value
        self._uses[id] = (self._uses[id] or 0) + 1
    end
    return added
end

--- Removes `value` from `filter`; false if it was not there.
function Router:remove(filter, value)
    local id = value ~= nil and value == value and self._ids[value] or 0
    local removed, err = self._r:remove(filter, id)
    if err then
        error(err, 2)
    end
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
    local ids, err = self._r:match(topic)
    if not ids then
        error(err, 2)
    end
    local values, seen = {}, {}
    for _, id in ipairs(ids) do
        if not seen[id] then
            seen[id] = true
            values[#values + 1] = self._values[id]
        end
    end
    return values
end

local function native_of(self, call)
    local c = type(self) == "table" and rawget(self, "_c")
    if not c then
        error(("mqtt.%s: expected a Client as self (call it as client:%s(...))"):format(call, call), 3)
    end
    return c
end

--- Connects to a broker; returns after its CONNACK, or raises why it could not.
function mqtt.connect(host, options)
    local c, err = native.connect(host, options)
    if not c then
        error(err, 2)
    end
    return setmetatable({ _c = c }, Client)
end

function Client:publish(topic, payload, options)
    local ok, err = native_of(self, "publish"):publish(topic, payload, options)
    if not ok then
        error(err, 2)
    end
end

function Client:subscribe(filter, qos)
    local granted, err = native_of(self, "subscribe"):subscribe(filter, qos)
    if not granted then
        error(err, 2)
    end
    return granted
end

--- Waits until everything published so far is acknowledged (up to `timeout` seconds,
-- the client's timeout by default).
function Client:flush(timeout)
    local ok, err = native_of(self, "flush"):flush(timeout)
    if not ok then
        error(err, 2)
    end
end

function Client:unsubscribe(filter)
    local ok, err = native_of(self, "unsubscribe"):unsubscribe(filter)
    if not ok then
        error(err, 2)
    end
end

--- The next message, or nil after `timeout` seconds (no timeout: wait for one).
-- The native side waits in short slices so that Ctrl-C can interrupt the wait.
function Client:receive(timeout)
    local c = native_of(self, "receive")
    local msg, rest = c:receive_slice(timeout)
    while msg == false do
        msg, rest = c:receive_slice(rest)
    end
    if msg == nil and rest ~= nil then
        error(rest, 2)
    end
    return msg
end

--- Calls `fn(msg)` for each message until it returns false or the client closes for good.
function Client:listen(fn)
    local c = native_of(self, "listen")
    if type(fn) ~= "function" then
        error(("mqtt.listen: bad argument #1 'fn': expected a function, got %s"):format(type(fn)), 2)
    end
    while true do
        local msg, err = c:receive_slice(nil)
        if msg then
            if fn(msg) == false then
                return
            end
        elseif msg == nil then
            if c:is_closed() then
                return
            end
            error(err, 2)
        end
    end
end

function Client:is_connected()
    return native_of(self, "is_connected"):is_connected()
end

--- Sends what is queued, says DISCONNECT (so the will is not published) and closes.
-- Calling it again does nothing.
function Client:disconnect()
    local ok, err = native_of(self, "disconnect"):disconnect()
    if not ok then
        error(err, 2)
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
