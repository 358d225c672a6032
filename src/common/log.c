/*
 * Logging: one JSON object per line, handed to a process-wide sink (default: stderr). The level
 * is a plain global read without locking: a stale read only changes whether one line is
 * formatted. Lines record level, time, subsystem, function and line number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common.h"

ncsl_log_level g_ncsl_log_level = NCSL_LOG_LEVEL_INFO;
static ncsl_log_sink_fn g_log_sink; /* set once at start-up, before threads */
static void *g_log_sink_user;

static const char *const g_level_names[] = {"error", "warn", "info", "debug"};

void ncsl_log_set_sink(ncsl_log_sink_fn sink, void *user) {
    g_log_sink = sink;
    g_log_sink_user = user;
}

void ncsl_log_set_level(ncsl_log_level level) {
    g_ncsl_log_level = level;
}

int ncsl_log_level_parse(const char *name) {
    for (size_t i = 0; name && i < NCSL_ARRAY_LEN(g_level_names); i++) {
        if (strcasecmp(name, g_level_names[i]) == 0) {
            return (int)i;
        }
    }
    if (name && strcasecmp(name, "warning") == 0) {
        return NCSL_LOG_LEVEL_WARN;
    }
    return -1;
}

void ncsl__log(ncsl_log_level level, const char *subsys, const char *func, int line,
               const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char ts[40];
    ncsl_time_rfc3339(ts, sizeof(ts));
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    ncsl_buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"subsys\":", ts, g_level_names[level]);
    ncsl_buf_append_json_string(&b, subsys, strlen(subsys));
    ncsl_buf_append_str(&b, ",\"msg\":");
    ncsl_buf_append_json_string(&b, msg, strlen(msg));
    ncsl_buf_printf(&b, ",\"func\":\"%s\",\"line\":%d}\n", func, line);
    if (!b.oom) {
        if (g_log_sink) {
            g_log_sink(g_log_sink_user, level, b.data, b.len - 1);
        } else {
            ssize_t w = write(STDERR_FILENO, b.data, b.len);
            (void)w;
        }
    }
    ncsl_buf_cleanup(&b);
}

_Noreturn void ncsl__assert_fail(const char *expr, const char *file, int line) {
    ncsl__log(NCSL_LOG_LEVEL_ERROR, "assert", file, line, "internal invariant failed: %s", expr);
    abort();
}
