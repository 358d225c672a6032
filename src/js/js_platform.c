/*
 * The platform APIs a call sees besides console, SECRETS and storage: one line per module, in
 * the order they are added to the fresh context (docs/javascript.md describes each).
 */
#include "js_int.h"

static int (*g_test_hook)(JSContext *ctx, JSValue global);

void ncsl__js_platform_set_test_hook(int (*hook)(JSContext *ctx, JSValue global)) {
    g_test_hook = hook;
}

int ncsl__js_platform_init(JSContext *ctx, JSValue global) {
    if (ncsl__js_loop_init(ctx, global) < 0) {
        return -1;
    }
    if (ncsl_js_crypto_init(ctx, global) < 0) {
        return -1;
    }
    if (ncsl_js_neo_init(ctx, global) < 0) {
        return -1;
    }
    if (ncsl__js_encoding_init(ctx, global) < 0 || ncsl__js_url_init(ctx, global) < 0) {
        return -1;
    }
    if (ncsl__js_fetch_init(ctx, global) < 0) {
        return -1;
    }
    if (g_test_hook && g_test_hook(ctx, global) < 0) {
        return -1;
    }
    return 0;
}
