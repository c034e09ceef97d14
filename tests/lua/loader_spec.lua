-- Loading as CopperMoon does: harbor_modules/mqtt/init.lua plus native/libcopper_mqtt.so,
-- with no package.loadlib and no debug library.
local Broker = require("support.broker")
local Process = require("support.process")
local CopperMoon = require("support.coppermoon")

local function sh(cmd)
    assert(os.execute(cmd), cmd)
end

describe("the CopperMoon layout", function()
    local broker = Broker.per_suite()

    if not CopperMoon.path then
        pending("real CopperMoon not found (set COPPERMOON or put coppermoon on PATH): the emulation only")
    end

    it("loads with require('mqtt') from harbor_modules and works", function()
        local project = ("%s/project-%d"):format(os.getenv("COPPER_TEST_ROOT"), math.random(1, 1e9))
        -- What Harbor does: build, then lay out harbor_modules/mqtt.
        sh(("bash scripts/install.sh %s > /dev/null"):format(project))
        for _, file in ipairs({ "harbor.toml", "init.lua", "native/libcopper_mqtt.so" }) do
            assert.is_truthy(io.open(project .. "/harbor_modules/mqtt/" .. file), file .. " missing")
        end
        local app = assert(io.open(project .. "/app.lua", "w"))
        app:write(([[
            -- CopperMoon's loadlib raises ("disabled in safe mode"); the emulation has none.
            assert(debug == nil and not (package.loadlib and pcall(package.loadlib, "x", "y")),
                "the loader did not sandbox")
            local mqtt = require("mqtt")
            local client = mqtt.connect("localhost", { port = %d })
            client:subscribe("cm/#")
            client:publish("cm/hello", "from coppermoon")
            local msg = client:receive(5)
            print(msg.topic, msg.payload)
            local ok, err = pcall(function() client:publish("cm/#", "x") end)
            print(type(err), err)
            client:disconnect()
        ]]):format(broker.port))
        app:close()
        local children = {
            Process.spawn(([[
                package.path = ""; package.cpath = ""
                arg = { [0] = "loader", %q }
                dofile("tests/lua/support/coppermoon_loader.lua")
            ]]):format(project .. "/app.lua")),
        }
        -- And in real CopperMoon, when it is there.
        if CopperMoon.path then
            children[2] = Process.run({ CopperMoon.path, project .. "/app.lua" })
        end
        for _, child in ipairs(children) do
            assert.are.equal(0, child:wait_exit(15), child:output())
            local out = child:output()
            assert.matches("cm/hello\tfrom coppermoon\n", out, 1, true)
            -- At the script's line; CopperMoon names the chunk `[string "<path>"]`, cut short
            -- with "..." when the path is long.
            assert.matches('string\t[^\n]*:10: mqtt%.publish: invalid topic "cm/#"', out)
        end
    end)
end)
