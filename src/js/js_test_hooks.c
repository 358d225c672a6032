/* Test-build host functions that crash or hang the process (js_test_hooks.h). */
#include "js_test_hooks.h"

#include <signal.h>
#include <unistd.h>

#include "js_int.h"

static JSValue test_crash(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    raise(SIGSEGV);
    raise(SIGKILL); /* a handler that returned (a sanitizer's) must not let the call go on */
    return JS_UNDEFINED;
}

static JSValue test_hang(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv) {
    for (;;) {
        pause();
    }
    return JS_UNDEFINED;
}

static const JSCFunctionListEntry g_test_funcs[] = {
    JS_CFUNC_DEF("crash", 0, test_crash),
    JS_CFUNC_DEF("hang", 0, test_hang),
};

static int add_test_global(JSContext *ctx, JSValue global) {
    JSValue obj = JS_NewObject(ctx);
    if (JS_IsException(obj)) {
        return -1;
    }
    if (JS_SetPropertyFunctionList(ctx, obj, g_test_funcs, NCSL_ARRAY_LEN(g_test_funcs)) < 0) {
        JS_FreeValue(ctx, obj);
        return -1;
    }
    return JS_SetPropertyStr(ctx, global, "ncslTest", obj) < 0 ? -1 : 0;
}

void ncsl_js_test_hooks_install(void) {
    ncsl__js_platform_set_test_hook(add_test_global);
}
