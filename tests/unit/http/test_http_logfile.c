/*
 * ncsld's log sink (src/http/logfile.c): info lines are held until a flush, a warning, a full
 * buffer or close; a warning is written at once and after the info lines before it; nothing
 * held is lost at close; the file gets whole lines in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "http.h"

static char g_dir[64];

static char *read_log(void) {
    char path[128];
    snprintf(path, sizeof(path), "%s/log/ncsl.log", g_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        return strdup("");
    }
    char *buf = calloc(1, 4 << 20);
    size_t n = fread(buf, 1, (4 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static int setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "ncsl-logtest-XXXXXX"); /* in the working directory */
    if (!mkdtemp(g_dir)) {
        return -1;
    }
    ncsl_log_set_level(NCSL_LOG_LEVEL_DEBUG);
    return ncsl_http_log_open(g_dir, NULL) == NCSL_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    ncsl_http_log_close();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_held_until_warning(void **state) {
    (void)state;
    char *t = read_log();
    int before = count(t, "held-line");
    free(t);
    for (int i = 0; i < 10; i++) {
        NCSL_LOG_INFO("test", "held-line %d", i);
    }
    t = read_log();
    assert_int_equal(count(t, "held-line"), before); /* held, not written yet */
    free(t);
    NCSL_LOG_WARN("test", "the-warning");
    t = read_log();
    assert_int_equal(count(t, "held-line"), before + 10);
    const char *last_info = strstr(t, "held-line 9");
    const char *warn = strstr(t, "the-warning");
    assert_non_null(last_info);
    assert_non_null(warn);
    assert_true(last_info < warn); /* the held lines first */
    free(t);
}

static void test_flush_and_full_buffer(void **state) {
    (void)state;
    NCSL_LOG_INFO("test", "flushed-line");
    ncsl_http_log_flush();
    char *t = read_log();
    assert_int_equal(count(t, "flushed-line"), 1);
    free(t);
    /* more than the buffer holds: written as it fills, every line whole and in order */
    for (int i = 0; i < 3000; i++) {
        NCSL_LOG_INFO("test", "bulk-line %05d", i);
    }
    t = read_log();
    int written = count(t, "bulk-line");
    assert_true(written > 0 && written < 3000);
    free(t);
    ncsl_http_log_flush();
    t = read_log();
    assert_int_equal(count(t, "bulk-line"), 3000);
    char prev[32] = "";
    for (const char *p = strstr(t, "bulk-line "); p; p = strstr(p + 1, "bulk-line ")) {
        char cur[32];
        snprintf(cur, sizeof(cur), "%.15s", p);
        assert_true(strcmp(prev, cur) < 0);
        snprintf(prev, sizeof(prev), "%s", cur);
    }
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        assert_int_equal(line[0], '{');
        assert_int_equal(line[strlen(line) - 1], '}');
    }
    free(t);
}

static void test_close_writes_held_lines(void **state) {
    (void)state;
    NCSL_LOG_INFO("test", "last-words");
    ncsl_http_log_close();
    char *t = read_log();
    assert_int_equal(count(t, "last-words"), 1);
    free(t);
    assert_int_equal(ncsl_http_log_open(g_dir, NULL), NCSL_OK); /* for teardown */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_held_until_warning),
        cmocka_unit_test(test_flush_and_full_buffer),
        cmocka_unit_test(test_close_writes_held_lines),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
