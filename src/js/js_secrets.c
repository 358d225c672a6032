/* SECRETS: a frozen plain object, name -> string, defined read-only on the global object. */
#include <string.h>

#include "js_int.h"

int ncsl_js_secrets_init(JSContext *ctx, JSValue global, const ncsl_secret *secrets, size_t count) {
    JSValue obj = JS_NewObject(ctx);
    if (JS_IsException(obj)) {
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const ncsl_secret *s = &secrets[i];
        if (!s->name) {
            continue;
        }
        JSValue v = JS_NewStringLen(ctx, s->value ? s->value : "", s->value ? s->value_len : 0);
        if (JS_IsException(v) ||
            JS_DefinePropertyValueStr(ctx, obj, s->name, v, JS_PROP_ENUMERABLE) < 0) {
            JS_FreeValue(ctx, obj);
            return -1;
        }
    }
    if (JS_FreezeObject(ctx, obj) < 0) {
        JS_FreeValue(ctx, obj);
        return -1;
    }
    /* not writable, not configurable: `SECRETS = x` cannot replace it either */
    return JS_DefinePropertyValueStr(ctx, global, "SECRETS", obj, JS_PROP_ENUMERABLE) < 0 ? -1 : 0;
}
