-- Chat system: presence and messages. CHAT_USER skips the prompt; MAX_MESSAGES=n stops
-- after n messages.
-- compat.lua sits beside this script.
local here = (arg and arg[0] or ""):match("^(.*)/[^/]*$") or "."
package.path = here .. "/?.lua;" .. package.path
local compat = require("compat")
local json, term, console = compat.json, compat.term, compat.console
local mqtt = require("mqtt")

local username = os.getenv("CHAT_USER") or console.prompt("Username: ")
local host, port = compat.broker()
local client = mqtt.connect(host, {
    port = port,
    client_id = "chat-" .. username,
    will = {
        topic = "chat/presence",
        payload = json.encode({ user = username, status = "offline" }),
        qos = 1,
    },
})

-- Announce presence
client:publish("chat/presence", json.encode({
    user = username,
    status = "online",
}), { qos = 1 })

-- Subscribe to messages and presence
client:subscribe("chat/messages")
client:subscribe("chat/presence")

local limit, seen = compat.limit("MAX_MESSAGES"), 0
client:listen(function(msg)
    if msg.topic == "chat/messages" then
        local data = json.decode(msg.payload)
        if data.user ~= username then
            print(term.bold(data.user) .. ": " .. data.text)
        end
    elseif msg.topic == "chat/presence" then
        local data = json.decode(msg.payload)
        if data.user ~= username then
            if data.status == "online" then
                print(term.green(">> " .. data.user .. " joined"))
            else
                print(term.red(">> " .. data.user .. " left"))
            end
        end
    end
    io.stdout:flush()
    seen = seen + 1
    if limit and seen >= limit then
        return false
    end
end)
client:disconnect()
