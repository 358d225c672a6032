/*
 * The platform APIs a call sees besides console, SECRETS and storage: one line per module, in
 * the order they are added to the fresh context (docs/javascript.md describes each).
 */
#include "js_int.h"

int ncsl__js_platform_init(JSContext *ctx, JSValue global) {
    (void)ctx;
    (void)global;
    return 0;
}
