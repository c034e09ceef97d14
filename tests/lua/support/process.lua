--- Child processes for specs: a Lua script run by lua5.4 in the background, with the same
-- package paths as the specs, that a spec can signal and wait for, always with a bound.

local socket = require("socket")

local Process = {}
Process.__index = Process

local counter = 0

--- Waits until `cond()` is true, polling every 10 ms; false if `secs` pass first.
function Process.wait_until(secs, cond)
    local deadline = socket.gettime() + secs
    repeat
        if cond() then
            return true
        end
        socket.sleep(0.01)
    until socket.gettime() > deadline
    return cond() and true or false
end

local function read(path)
    local f = io.open(path, "rb")
    if not f then
        return nil
    end
    local s = f:read("a")
    f:close()
    return s
end

local function quote(a)
    return "'" .. tostring(a):gsub("'", "'\\''") .. "'"
end

-- Runs the shell words `argv` in the background, its output in `<base>.out` and its exit
-- status in `<base>.status`; `env` adds environment variables.
local function start(base, argv, env)
    local words, vars = {}, {}
    for i, a in ipairs(argv) do
        words[i] = quote(a)
    end
    for k, v in pairs(env or {}) do
        vars[#vars + 1] = k .. "=" .. quote(v)
    end
    -- The outer shell records the exit status; the spec signals the child itself.
    local script = ("%s > %s.out 2>&1 & p=$!; echo $p; wait $p; echo $? > %s.status")
        :format(table.concat(words, " "), base, base)
    local cmd = ("env %s sh -c %s 2>/dev/null &"):format(table.concat(vars, " "), quote(script))
    local p = assert(io.popen(cmd))
    local pid = tonumber(p:read("l"))
    p:close()
    -- scripts/test.sh kills whatever a failed spec left running.
    local f = assert(io.open(base .. ".pid", "w"))
    f:write(pid)
    f:close()
    return setmetatable({ pid = pid, base = base }, Process)
end

local function new_base()
    counter = counter + 1
    return ("%s/child-%d-%d"):format(os.getenv("COPPER_TEST_ROOT"), math.random(1, 1e9), counter)
end

--- Runs `code` with lua5.4. `opts.args` (strings) reach the code as `...`; `opts.env` adds
-- environment variables.
function Process.spawn(code, opts)
    opts = opts or {}
    local base = new_base()
    local f = assert(io.open(base .. ".lua", "w"))
    f:write(("package.path = %q .. package.path\npackage.cpath = %q .. package.cpath\n")
        :format(package.path .. ";", package.cpath .. ";"))
    f:write(code)
    f:close()
    local argv = { "lua5.4", base .. ".lua" }
    for _, a in ipairs(opts.args or {}) do
        argv[#argv + 1] = a
    end
    return start(base, argv, opts.env)
end

--- Runs the command `argv` (a program and its arguments), with `env` added.
function Process.run(argv, env)
    return start(new_base(), argv, env)
end

--- What the child printed so far.
function Process:output()
    return read(self.base .. ".out") or ""
end

--- Waits up to `secs` for the child's output to contain `text`.
function Process:wait_output(text, secs)
    return Process.wait_until(secs, function()
        return self:output():find(text, 1, true) ~= nil
    end)
end

function Process:signal(name)
    os.execute(("kill -%s %d"):format(name, self.pid))
end

--- The exit status, waiting up to `secs`; nil if it still runs.
function Process:wait_exit(secs)
    local status
    Process.wait_until(secs, function()
        status = read(self.base .. ".status")
        return status ~= nil and status ~= ""
    end)
    return status and tonumber(status:match("%d+"))
end

return Process
