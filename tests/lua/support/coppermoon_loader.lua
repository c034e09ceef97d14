--- Runs a script the way CopperMoon loads modules, in plain lua5.4:
--   require(name) looks for <script dir>/harbor_modules/<name>/init.lua first, then for
--   lib<name>.so in harbor_modules/<name>/native/, then in every harbor_modules/*/native/,
--   opening it at luaopen_<name> ('.' and '-' turned into '_').
-- The script itself gets no package.loadlib, no debug library and no package.path/cpath.
-- Usage: lua5.4 coppermoon_loader.lua PROJECT/app.lua
local script = assert(arg[1], "usage: coppermoon_loader.lua SCRIPT")
local dir = script:match("^(.*)/[^/]*$") or "."
local loadlib = package.loadlib

local function exists(path)
    local f = io.open(path, "rb")
    if f then
        f:close()
        return true
    end
    return false
end

local function native_dirs(name)
    local dirs = { dir .. "/harbor_modules/" .. name .. "/native" }
    local ls = io.popen(('ls -d "%s"/harbor_modules/*/native 2>/dev/null'):format(dir))
    for d in ls:lines() do
        dirs[#dirs + 1] = d
    end
    ls:close()
    return dirs
end

package.searchers = {
    package.searchers[1],
    function(name)
        local path = ("%s/harbor_modules/%s/init.lua"):format(dir, name)
        if exists(path) then
            return assert(loadfile(path)), path
        end
        return "\n\tno file '" .. path .. "'"
    end,
    function(name)
        local symbol = "luaopen_" .. name:gsub("[.-]", "_")
        for _, d in ipairs(native_dirs(name)) do
            local path = ("%s/lib%s.so"):format(d, name)
            if exists(path) then
                return assert(loadlib(path, symbol)), path
            end
        end
        return "\n\tno native library lib" .. name .. ".so in harbor_modules"
    end,
}
package.path = ""
package.cpath = ""
package.loadlib = nil
package.loaded.debug = nil
debug = nil

arg = { [0] = script }
dofile(script)
