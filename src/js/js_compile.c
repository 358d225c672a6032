/*
 * Deploy-time compilation: syntax-checks a function's source and leaves its bytecode in the
 * shared cache (js_cache.c), so the first invoke loads bytecode instead of parsing.
 *
 * It must be callable from any thread (the daemon's HTTP threads) and never touch a worker's
 * runtime, so each call compiles in a temporary ncsl_js_runtime of its own, through the very
 * compile step of ncsl_js_run (ncsl__js_runtime_compile): same wrapper, flags, intrinsics and
 * limit handling, hence the same bytecode and the same verdict. Creating and freeing the
 * temporary runtime measured about 14 us (a deploy compile of a one-line function about 20 us,
 * of a 100 KiB one about 4.5 ms), so a mutex-guarded pool of runtimes would save little.
 *
 * Hostile sources are bounded by the limits: the parser and the regexp compiler check the stack
 * limit, every allocation counts against the memory limit, and the allocator checks the deadline
 * (the parser never polls the interrupt handler).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "js_int.h"

#define FILENAME_AT "function.js:" /* how the compile step names the source in stacks */
#define MIN_STACK_BYTES ((size_t)32 << 10)

/* The calling thread's stack bounds, looked up once per thread (for the main thread glibc reads
 * /proc/self/maps, tens of microseconds). */
static _Thread_local bool t_stack_known;
static _Thread_local uintptr_t t_stack_lo;
static _Thread_local size_t t_stack_size;

/* Bytes of C stack the calling thread has left below this frame, or 0 when unknown. */
static size_t thread_stack_left(void) {
    if (!t_stack_known) {
        pthread_attr_t attr;
        void *addr = NULL;
        size_t size = 0;
        t_stack_known = true;
        if (pthread_getattr_np(pthread_self(), &attr) != 0) {
            return 0;
        }
        if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr) {
            t_stack_lo = (uintptr_t)addr;
            t_stack_size = size;
        }
        pthread_attr_destroy(&attr);
    }
    char here;
    uintptr_t sp = (uintptr_t)&here;
    return t_stack_lo && sp > t_stack_lo && sp - t_stack_lo <= t_stack_size
               ? (size_t)(sp - t_stack_lo)
               : 0;
}

/* The stack limit for compiling on this thread: the call's, unless the thread cannot afford it.
 * QuickJS checks the limit against the real stack pointer, and host code below the checks
 * (allocator, regexp compiler) needs room beyond it: workers get twice the limit plus 4 MiB, a
 * foreign thread lends at most half of what it has left after 1 MiB. */
static size_t compile_stack_bytes(size_t wanted) {
    size_t left = thread_stack_left();
    if (!left) {
        return wanted;
    }
    size_t afford = left > ((size_t)2 << 20) ? (left - ((size_t)1 << 20)) / 2 : left / 4;
    if (afford < MIN_STACK_BYTES) {
        afford = MIN_STACK_BYTES;
    }
    return wanted < afford ? wanted : afford;
}

/* Reads "function.js:L:C" from a syntax error's stack. Returns false when absent. */
static bool position_from_stack(const char *stack, uint32_t *line, uint32_t *col) {
    const char *at = stack ? strstr(stack, FILENAME_AT) : NULL;
    unsigned long l = 0, c = 0;
    if (!at || sscanf(at + strlen(FILENAME_AT), "%lu:%lu", &l, &c) != 2 || !l || !c ||
        l > UINT32_MAX || c > UINT32_MAX) {
        return false;
    }
    *line = (uint32_t)l;
    *col = (uint32_t)c;
    return true;
}

/* Length of the line terminator at code[i] (\n, \r\n, \r, U+2028, U+2029, as the tokenizer
 * counts lines), 0 when none. */
static size_t terminator_at(const char *code, size_t len, size_t i) {
    const unsigned char *p = (const unsigned char *)code + i;
    if (p[0] == '\n') {
        return 1;
    }
    if (p[0] == '\r') {
        return i + 1 < len && p[1] == '\n' ? 2 : 1;
    }
    if (p[0] == 0xE2 && i + 2 < len && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
        return 3;
    }
    return 0;
}

/* QuickJS gives the column in bytes from the start of the line; users count characters. Returns
 * the column in Unicode characters, or `byte_col` when the line cannot be found unambiguously. */
static uint32_t char_column(const char *code, size_t len, uint32_t line, uint32_t byte_col) {
    size_t i = 0;
    for (uint32_t l = 1; l < line; l++) {
        size_t t = 0;
        while (i < len && !(t = terminator_at(code, len, i))) {
            i++;
        }
        if (i >= len) {
            return byte_col;
        }
        i += t;
    }
    size_t end = i + (byte_col - 1);
    if (end > len) {
        return byte_col;
    }
    uint32_t chars = 1;
    for (size_t k = i; k < end; k++) {
        if (terminator_at(code, len, k)) {
            return byte_col; /* the tokenizer counted lines differently (a comment, a string) */
        }
        chars += ((unsigned char)code[k] & 0xC0) != 0x80; /* not a continuation byte */
    }
    return chars;
}

/* Bytes of `s` that fit in `max` without cutting a UTF-8 sequence. */
static size_t utf8_fit(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n <= max) {
        return n;
    }
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) {
        max--;
    }
    return max;
}

/* err->message "SyntaxError: <what> (line L, column C)", the message cut so that the position
 * always fits. */
static void syntax_message(ncsl_err *err, const ncsl_js_outcome *o, uint32_t line, uint32_t col) {
    char suffix[64] = "";
    const char *name = o->error_name ? o->error_name : "SyntaxError";
    const char *msg = o->error_message ? o->error_message : "";
    size_t msg_len = strlen(msg);
    /* the compile step appended " (function.js:L:C)" for ncsl_js_run: we say it in words */
    const char *tail = strstr(msg, " (" FILENAME_AT);
    if (tail) {
        msg_len = (size_t)(tail - msg);
    }
    if (msg_len == strlen("unexpected token in expression: ''") &&
        strncmp(msg, "unexpected token in expression: ''", msg_len) == 0) {
        msg = "unexpected end of input"; /* the token QuickJS could not name is the end */
        msg_len = strlen(msg);
    }
    if (line) {
        snprintf(suffix, sizeof(suffix), " (line %u, column %u)", (unsigned)line, (unsigned)col);
    }
    size_t fixed = strlen(name) + 2 + strlen(suffix) + 1;
    size_t room = sizeof(err->message) > fixed + 3 ? sizeof(err->message) - fixed - 3 : 0;
    char cut[sizeof(err->message)];
    snprintf(cut, sizeof(cut), "%.*s", (int)(msg_len < sizeof(cut) - 1 ? msg_len : sizeof(cut) - 1),
             msg);
    size_t keep = utf8_fit(cut, room);
    ncsl_err_set(err, NCSL_E_JS_SYNTAX, "code", "%s: %.*s%s%s", name, (int)keep, cut,
                 keep < strlen(cut) ? "..." : "", suffix);
}

ncsl_status ncsl_js_compile(const char *code, size_t len, const ncsl_js_limits *limits,
                            ncsl_js_compile_info *info, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_js_runtime *js = NULL;
    ncsl_js_outcome o = {0};
    ncsl_js_compile_info local;
    ncsl_js_limits l = {0};
    uint64_t t0 = ncsl_now_us();

    info = info ? info : &local;
    memset(info, 0, sizeof(*info));
    ncsl_err_clear(err);
    if (!code && len) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "code", "code is NULL");
    }
    code = code ? code : "";
    if (ncsl__js_code_hash(code, len, info->code_hash) != 0) {
        return ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "cannot hash the code");
    }
    if (limits) {
        l = *limits;
    }
    ncsl__js_limits_resolve(&l, &l);
    l.stack_bytes = compile_stack_bytes(l.stack_bytes);

    st = ncsl_js_runtime_create(&js, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = ncsl__js_runtime_compile(js, code, len, &l, &o, &info->cached, &info->bytecode_bytes, err);
    switch (st) {
    case NCSL_OK:
        break;
    case NCSL_E_JS_SYNTAX:
        if (position_from_stack(o.error_stack, &info->line, &info->column)) {
            info->column = char_column(code, len, info->line, info->column);
        }
        syntax_message(err, &o, info->line, info->column);
        break;
    case NCSL_E_JS_STACK:
        ncsl_err_set(err, st, "code",
                     "the code is nested too deeply to compile within the stack limit of %zu "
                     "bytes",
                     l.stack_bytes);
        break;
    case NCSL_E_JS_MEMORY:
        ncsl_err_set(err, st, "code", "compiling the code exceeded the memory limit of %zu bytes",
                     l.memory_bytes);
        break;
    case NCSL_E_JS_TIMEOUT:
        ncsl_err_set(err, st, "code", "compiling the code took longer than the %u ms limit",
                     (unsigned)l.timeout_ms);
        break;
    default:
        break; /* the host failed (NCSL_E_NOMEM): err says how */
    }
out:
    if (st != NCSL_OK) {
        info->cached = false;
        info->bytecode_bytes = 0;
    }
    ncsl_js_outcome_cleanup(&o);
    ncsl_js_runtime_destroy(js);
    info->compile_us = ncsl_now_us() - t0;
    return st;
}
