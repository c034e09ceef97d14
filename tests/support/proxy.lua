--- A TCP proxy between clients and a broker, that a test switches between three modes:
--   pass       relay bytes both ways
--   blackhole  keep every connection open but deliver nothing, either way (a silent network)
--   drop       close every connection and close new ones at once
-- Usage: lua5.4 tests/support/proxy.lua UPSTREAM_PORT
-- Prints "DATA_PORT CONTROL_PORT"; a line sent to the control port sets the mode and is
-- answered "ok". It runs until killed. Only 127.0.0.1 is ever used.
local socket = require("socket")

local upstream = assert(tonumber(arg[1]), "usage: proxy.lua UPSTREAM_PORT")
local listener = assert(socket.bind("127.0.0.1", 0))
local control = assert(socket.bind("127.0.0.1", 0))
listener:settimeout(0)
control:settimeout(0)
io.stdout:write(select(2, listener:getsockname()), " ", select(2, control:getsockname()), "\n")
io.stdout:flush()

local mode = "pass"
local peer = {}      -- socket -> the socket on the other side
local commands = {}  -- control connections -> bytes of an unfinished line

local function close_pair(s)
    local other = peer[s]
    peer[s] = nil
    s:close()
    if other then
        peer[other] = nil
        other:close()
    end
end

local function accept_client()
    local client = listener:accept()
    if not client then
        return
    end
    if mode == "drop" then
        client:close()
        return
    end
    local up = socket.tcp()
    up:settimeout(2)
    if not up:connect("127.0.0.1", upstream) then
        client:close()
        return
    end
    client:settimeout(0)
    up:settimeout(0)
    peer[client], peer[up] = up, client
end

local function relay(s)
    local data, err, partial = s:receive(65536)
    local chunk = data or partial
    if chunk and #chunk > 0 and mode == "pass" and peer[s] then
        local other = peer[s]
        other:settimeout(5)
        other:send(chunk)
        other:settimeout(0)
    end
    if err == "closed" then
        close_pair(s)
    end
end

local function command(c)
    local line, err, partial = c:receive("*l")
    if not line then
        commands[c] = (commands[c] or "") .. (partial or "")
        if err == "closed" then
            commands[c] = nil
            c:close()
        end
        return
    end
    mode = (commands[c] or "") .. line
    commands[c] = ""
    if mode == "drop" then
        local open = {}
        for s in pairs(peer) do
            open[#open + 1] = s
        end
        for _, s in ipairs(open) do
            if peer[s] then
                close_pair(s)
            end
        end
    end
    c:send("ok\n")
end

while true do
    local readers = { listener, control }
    for s in pairs(peer) do
        readers[#readers + 1] = s
    end
    for c in pairs(commands) do
        readers[#readers + 1] = c
    end
    local ready = socket.select(readers, nil, 1)
    for _, s in ipairs(ready) do
        if s == listener then
            accept_client()
        elseif s == control then
            local c = control:accept()
            if c then
                c:settimeout(0)
                commands[c] = ""
            end
        elseif commands[s] then
            command(s)
        elseif peer[s] then
            relay(s)
        end
    end
end
