/*
 * console.log/info/warn/error/debug: captured into the call's logs as JSON entries, bounded by
 * max_log_bytes. Formatting never trusts the values: JSON for plain data, toString otherwise, a
 * placeholder when either throws; an uncatchable condition (deadline, memory) propagates.
 */
#include <stdio.h>
#include <string.h>

#include "js_int.h"

enum { LEVEL_LOG, LEVEL_INFO, LEVEL_WARN, LEVEL_ERROR, LEVEL_DEBUG };
static const char *const g_level_names[] = {"log", "info", "warn", "error", "debug"};

bool ncsl__js_call_is_doomed(JSContext *ctx) {
    const ncsl_js_runtime *js = JS_GetRuntimeOpaque(JS_GetRuntime(ctx));
    return js->timed_out || js->oom_hit || js->gas_exceeded;
}

/* Appends at most max - out->len bytes of s, cut on a UTF-8 boundary. */
static void append_capped(ncsl_buf *out, const char *s, size_t len, size_t max, bool *truncated) {
    size_t room = out->len < max ? max - out->len : 0;
    if (len > room) {
        len = room;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) {
            len--; /* do not split a multi-byte sequence */
        }
        if (truncated) {
            *truncated = true;
        }
    }
    ncsl_buf_append(out, s, len);
}

static void append_js_string(JSContext *ctx, JSValueConst str, ncsl_buf *out, size_t max,
                             bool *truncated, const char *fallback) {
    size_t len = 0;
    const char *s = JS_ToCStringLen(ctx, &len, str);
    if (!s) {
        /* JS_ToCStringLen fails only on out of memory: keep the exception for the caller */
        append_capped(out, fallback, strlen(fallback), max, truncated);
        return;
    }
    append_capped(out, s, len, max, truncated);
    JS_FreeCString(ctx, s);
}

/* Clears a catchable pending exception; returns -1 (exception left pending) for a fatal one. */
static int swallow_exception(JSContext *ctx) {
    if (ncsl__js_call_is_doomed(ctx)) {
        return -1;
    }
    JSValue exc = JS_GetException(ctx);
    if (JS_IsUncatchableError(exc)) {
        JS_Throw(ctx, exc);
        return -1;
    }
    JS_FreeValue(ctx, exc);
    return 0;
}

int ncsl__js_value_to_text(JSContext *ctx, JSValueConst v, ncsl_buf *out, size_t max,
                           bool *truncated) {
    static const char unprintable[] = "[unprintable value]";
    if (JS_IsString(v)) {
        append_js_string(ctx, v, out, max, truncated, unprintable);
        return ncsl__js_call_is_doomed(ctx) ? -1 : 0;
    }
    if (JS_IsUndefined(v)) {
        append_capped(out, "undefined", 9, max, truncated);
        return 0;
    }
    if (JS_IsSymbol(v)) {
        append_capped(out, "[symbol]", 8, max, truncated);
        return 0;
    }
    if (JS_IsFunction(ctx, v)) {
        append_capped(out, "[function]", 10, max, truncated);
        return 0;
    }
    JSValue str = JS_UNDEFINED;
    if (JS_IsObject(v) && !JS_IsError(v)) {
        str = JS_JSONStringify(ctx, v, JS_UNDEFINED, JS_UNDEFINED);
        if (JS_IsException(str)) {
            if (swallow_exception(ctx) < 0) {
                return -1;
            }
            str = JS_UNDEFINED; /* cyclic, BigInt inside...: fall back to toString */
        }
    }
    if (!JS_IsString(str)) {
        JS_FreeValue(ctx, str);
        /* Errors, numbers, booleans, null, BigInt; toString may run user code: the deadline
         * still applies through the interrupt handler */
        str = JS_ToString(ctx, v);
        if (JS_IsException(str)) {
            if (swallow_exception(ctx) < 0) {
                return -1;
            }
            append_capped(out, unprintable, sizeof(unprintable) - 1, max, truncated);
            return 0;
        }
    }
    append_js_string(ctx, str, out, max, truncated, unprintable);
    JS_FreeValue(ctx, str);
    return ncsl__js_call_is_doomed(ctx) ? -1 : 0;
}

static JSValue js_console_print(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                                int magic) {
    ncsl__js_call_state *st = JS_GetContextOpaque(ctx);
    JSValue ret = JS_UNDEFINED;
    ncsl_buf msg;
    ncsl_buf_init(&msg, 0);
    /* format at most one byte more than fits: enough to know the message is dropped */
    size_t cap = st->log_max_bytes + 1;
    bool cut = false;
    for (int i = 0; i < argc; i++) {
        if (i > 0) {
            append_capped(&msg, " ", 1, cap, &cut);
        }
        if (ncsl__js_value_to_text(ctx, argv[i], &msg, cap, &cut) < 0) {
            ret = JS_EXCEPTION;
            goto out;
        }
    }
    if (msg.oom) {
        ret = JS_ThrowOutOfMemory(ctx);
        goto out;
    }
    size_t cost = msg.len + 1; /* +1 per entry, so a flood of empty lines is bounded too */
    if (!st->logs_truncated && !cut && st->log_bytes + cost <= st->log_max_bytes) {
        ncsl_buf_append(&st->logs, st->log_entries ? ",{\"level\":\"" : "{\"level\":\"",
                        st->log_entries ? 11 : 10);
        ncsl_buf_append_str(&st->logs, g_level_names[magic]);
        ncsl_buf_append_str(&st->logs, "\",\"message\":");
        ncsl_buf_append_json_string(&st->logs, msg.data ? msg.data : "", msg.len);
        ncsl_buf_append(&st->logs, "}", 1);
        st->log_entries++;
        st->log_bytes += cost;
    } else {
        /* stop capturing for the rest of the call; count what was dropped */
        st->logs_truncated = true;
        st->logs_dropped += msg.len;
    }
out:
    ncsl_buf_cleanup(&msg);
    return ret;
}

static const JSCFunctionListEntry g_console_funcs[] = {
    JS_CFUNC_MAGIC_DEF("log", 0, js_console_print, LEVEL_LOG),
    JS_CFUNC_MAGIC_DEF("info", 0, js_console_print, LEVEL_INFO),
    JS_CFUNC_MAGIC_DEF("warn", 0, js_console_print, LEVEL_WARN),
    JS_CFUNC_MAGIC_DEF("error", 0, js_console_print, LEVEL_ERROR),
    JS_CFUNC_MAGIC_DEF("debug", 0, js_console_print, LEVEL_DEBUG),
};

int ncsl_js_console_init(JSContext *ctx, JSValue global) {
    JSValue console = JS_NewObject(ctx);
    if (JS_IsException(console)) {
        return -1;
    }
    if (JS_SetPropertyFunctionList(ctx, console, g_console_funcs,
                                   (int)NCSL_ARRAY_LEN(g_console_funcs)) < 0) {
        JS_FreeValue(ctx, console);
        return -1;
    }
    /* writable and configurable like in browsers; it is a fresh object each call anyway */
    return JS_DefinePropertyValueStr(ctx, global, "console", console,
                                     JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE) < 0
               ? -1
               : 0;
}

char *ncsl__js_logs_finish(ncsl__js_call_state *st, size_t *len) {
    if (st->logs_truncated) {
        char marker[96];
        int n = snprintf(marker, sizeof(marker), "[logs truncated: %llu bytes dropped]",
                         (unsigned long long)st->logs_dropped);
        ncsl_buf_append_str(&st->logs, st->log_entries ? ",{\"level\":\"warn\",\"message\":"
                                                       : "{\"level\":\"warn\",\"message\":");
        ncsl_buf_append_json_string(&st->logs, marker, (size_t)n);
        ncsl_buf_append(&st->logs, "}", 1);
    }
    ncsl_buf_append(&st->logs, "]", 1);
    if (st->logs.oom) {
        ncsl_buf_cleanup(&st->logs);
        return NULL;
    }
    return ncsl_buf_steal(&st->logs, len);
}
