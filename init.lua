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
