/* The admin key's sources and the per-user rate limiter (src/http/auth.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "http_int.h"
#include "ncsl_test_util.h"

static const char *kGood = "a-perfectly-fine-admin-key-0123456789";

static void test_admin_key_sources(void **state) {
    (void)state;
    char *dir = ncsl_test_tmpdir_make("ncsl-admin");
    ncsl_config cfg;
    ncsl_config_defaults(&cfg);
    snprintf(cfg.server.data_dir, sizeof(cfg.server.data_dir), "%s", dir);
    char key[NCSL_HTTP_ADMIN_KEY_SIZE];
    ncsl_http_admin_source src = 0;
    ncsl_err err;

    /* the environment wins, then the config */
    snprintf(cfg.server.admin_key, sizeof(cfg.server.admin_key), "%s",
             "config-key-0123456789-0123456789-x");
    assert_int_equal(ncsl_http_admin_key_load(&cfg, kGood, key, &src, &err), NCSL_OK);
    assert_int_equal(src, NCSL_ADMIN_KEY_FROM_ENV);
    assert_string_equal(key, kGood);
    assert_int_equal(ncsl_http_admin_key_load(&cfg, "", key, &src, &err), NCSL_OK);
    assert_int_equal(src, NCSL_ADMIN_KEY_FROM_CONFIG);
    assert_string_equal(key, cfg.server.admin_key);

    /* bad keys are refused, naming their source */
    assert_int_equal(ncsl_http_admin_key_load(&cfg, "short", key, &src, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "NCSL_ADMIN_KEY");
    assert_int_equal(
        ncsl_http_admin_key_load(&cfg, "has a space in it 0123456789 0123456789", key, &src, &err),
        NCSL_E_CONFIG);

    /* neither: generated once into admin.key (0600), then read back */
    cfg.server.admin_key[0] = '\0';
    assert_int_equal(ncsl_http_admin_key_load(&cfg, NULL, key, &src, &err), NCSL_OK);
    assert_int_equal(src, NCSL_ADMIN_KEY_GENERATED);
    assert_int_equal(strncmp(key, "ncsl_admin_", 11), 0);
    assert_int_equal(strlen(key), 11 + 43);
    char *path = ncsl_test_path(dir, "admin.key");
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char first[NCSL_HTTP_ADMIN_KEY_SIZE];
    memcpy(first, key, sizeof(first));
    assert_int_equal(ncsl_http_admin_key_load(&cfg, NULL, key, &src, &err), NCSL_OK);
    assert_int_equal(src, NCSL_ADMIN_KEY_FROM_FILE);
    assert_string_equal(key, first);

    /* a file others can read is refused, as is a mangled one */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(ncsl_http_admin_key_load(&cfg, NULL, key, &src, &err), NCSL_E_IO);
    assert_non_null(strstr(err.message, "chmod 600"));
    assert_int_equal(chmod(path, 0600), 0);
    ncsl_test_write_file(path, "tiny\n", 5);
    assert_int_equal(ncsl_http_admin_key_load(&cfg, NULL, key, &src, &err), NCSL_E_CONFIG);
    assert_string_equal(err.field, "admin.key");
    free(path);
    ncsl_test_tmpdir_remove(dir);
}

static void test_rate_limit(void **state) {
    (void)state;
    assert_null(ncsl__http_rate_create(0, 10)); /* 0: no limiter at all */
    http_rate *rate = ncsl__http_rate_create(2, 3);
    assert_non_null(rate);
    unsigned retry = 0;
    for (int i = 0; i < 3; i++) { /* the burst */
        assert_true(ncsl__http_rate_take(rate, "user-a", &retry));
    }
    assert_false(ncsl__http_rate_take(rate, "user-a", &retry));
    assert_true(retry >= 1);
    /* another user has a bucket of their own */
    assert_true(ncsl__http_rate_take(rate, "user-b", &retry));
    /* 2 per second: after 0.6 s one token is back */
    struct timespec ts = {0, 600 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_true(ncsl__http_rate_take(rate, "user-a", &retry));
    assert_false(ncsl__http_rate_take(rate, "user-a", &retry));
    /* many users: the table stays usable (idle full buckets are dropped as chains are walked) */
    char id[40];
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "user-%d", i);
        assert_true(ncsl__http_rate_take(rate, id, &retry));
    }
    ncsl__http_rate_destroy(rate);
    ncsl__http_rate_destroy(NULL);
    assert_true(ncsl__http_rate_take(NULL, "anyone", &retry));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_key_sources),
        cmocka_unit_test(test_rate_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
