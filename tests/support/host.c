/* A host that loads the library the way CopperMoon does: Lua 5.4 embedded, the native
 * module opened with dlopen/dlsym (as Rust's libloading does) and offered to `require`,
 * `package.loadlib` and `debug` removed, then the Lua state closed and the library unloaded
 * before the process exits.
 * Usage: host LIBRARY SCRIPT [ARG...]; exits 0 when the script ran without error. */
#include <dlfcn.h>
#include <stdio.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: host LIBRARY SCRIPT [ARG...]\n");
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 2;
    }
    lua_CFunction open = (lua_CFunction)dlsym(lib, "luaopen_copper_mqtt");
    if (!open) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 2;
    }
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, open);
    lua_setfield(L, -2, "copper_mqtt");
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setfield(L, -2, "loadlib");
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setglobal(L, "debug");
    lua_createtable(L, argc - 3, 0);
    for (int i = 3; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 2);
    }
    lua_setglobal(L, "arg");
    int failed = luaL_dofile(L, argv[2]);
    if (failed) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    }
    lua_close(L);
    dlclose(lib);
    return failed ? 1 : 0;
}
