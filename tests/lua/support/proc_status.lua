--- A memory field of this process's /proc/self/status, in kB: `proc_status("VmRSS")` (resident
-- now), `proc_status("VmHWM")` (the peak).
return function(field)
    local f = assert(io.open("/proc/self/status"))
    local text = f:read("a")
    f:close()
    return tonumber(text:match(field .. ":%s+(%d+) kB"))
end
