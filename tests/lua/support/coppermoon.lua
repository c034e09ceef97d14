--- Real CopperMoon for specs: where it is (`$COPPERMOON`, else `coppermoon` on PATH; nil when
-- neither), and a project laid out as Harbor lays it out.
local CopperMoon = {}

local function find()
    local path = os.getenv("COPPERMOON")
    if path and path ~= "" then
        return path
    end
    local p = io.popen("command -v coppermoon 2>/dev/null")
    path = p:read("l")
    p:close()
    return path
end

CopperMoon.path = find()

--- A project directory with mqtt installed as `harbor install` does, and `files`
-- (name -> text) beside it.
function CopperMoon.project(files)
    local dir = ("%s/cm-project-%d"):format(os.getenv("COPPER_TEST_ROOT"), math.random(1, 1e9))
    assert(os.execute(("bash scripts/install.sh %s > /dev/null 2>&1"):format(dir)))
    for name, text in pairs(files or {}) do
        local f = assert(io.open(dir .. "/" .. name, "w"))
        f:write(text)
        f:close()
    end
    return dir
end

return CopperMoon
