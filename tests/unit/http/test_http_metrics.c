/*
 * The metrics behind GET /metrics (src/http/metrics.c): counting, the histogram's buckets, the
 * JS heap window, the text exposition (parsed back line by line), label escaping; the loopback
 * test of GET /metrics' access rule (auth.c); the route table's templates (server.c) and the
 * embedded OpenAPI document (openapi_doc.c, generated from docs/openapi.json).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "http_int.h"

#define MINUTE_MS UINT64_C(60000)

static http_metrics_env env_for(uint64_t now_ms) {
    http_metrics_env env;
    memset(&env, 0, sizeof(env));
    env.routes = ncsl__http_routes(&env.route_count);
    env.version = "1.2.3";
    env.quickjs = "0.16";
    env.tee = "simulation";
    env.now_unix_ms = now_ms;
    env.workers = 4;
    env.queue_capacity = 256;
    return env;
}

static char *render(const http_metrics *m, const http_metrics_env *env) {
    ncsl_buf b;
    ncsl_buf_init(&b, 0);
    ncsl__http_metrics_render(m, env, &b);
    assert_false(b.oom);
    size_t len = 0;
    return ncsl_buf_steal(&b, &len);
}

/* The value of the sample line that starts with `series` + " " (NULL: absent). */
static const char *sample(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            return p + n + 1;
        }
    }
    return NULL;
}

static unsigned long long sample_u(const char *text, const char *series) {
    const char *v = sample(text, series);
    if (!v) {
        fail_msg("no sample %s", series);
    }
    return strtoull(v, NULL, 10);
}

/* Every line is "# HELP name text", "# TYPE name type" or a sample of a declared family, with
 * a numeric value; every family has HELP and TYPE once, before its samples. */
static void check_exposition(const char *text) {
    char families[128][80];
    char type_of_last[32] = "";
    size_t nf = 0;
    const char *p = text;
    assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
    while (*p) {
        const char *end = strchr(p, '\n');
        assert_non_null(end);
        char line[1024];
        size_t len = (size_t)(end - p);
        assert_true(len < sizeof(line));
        memcpy(line, p, len);
        line[len] = '\0';
        p = end + 1;
        if (strncmp(line, "# HELP ", 7) == 0) {
            char name[80];
            assert_int_equal(sscanf(line + 7, "%79s", name), 1);
            for (size_t i = 0; i < nf; i++) {
                assert_string_not_equal(families[i], name); /* one HELP per family */
            }
            assert_true(nf < 128);
            snprintf(families[nf++], sizeof(families[0]), "%s", name);
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[80];
            char type[32];
            assert_int_equal(sscanf(line + 7, "%79s %31s", name, type), 2);
            assert_true(nf > 0);
            assert_string_equal(families[nf - 1], name);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                        strcmp(type, "histogram") == 0);
            if (strcmp(type, "counter") == 0) {
                assert_non_null(strstr(name, "_total"));
            }
            snprintf(type_of_last, sizeof(type_of_last), "%s", type);
            continue;
        }
        assert_true(line[0] != '#' && line[0] != '\0');
        /* name{labels} value: the name is the last declared family's (a histogram's with
         * _bucket, _sum or _count); labels are name="value" pairs */
        size_t name_len = strcspn(line, "{ ");
        assert_true(nf > 0);
        const char *fam = families[nf - 1];
        size_t fl = strlen(fam);
        assert_int_equal(strncmp(line, fam, fl), 0);
        char suffix[16] = "";
        assert_true(name_len - fl < sizeof(suffix));
        memcpy(suffix, line + fl, name_len - fl);
        suffix[name_len - fl] = '\0';
        if (strcmp(type_of_last, "histogram") == 0) {
            assert_true(strcmp(suffix, "_bucket") == 0 || strcmp(suffix, "_sum") == 0 ||
                        strcmp(suffix, "_count") == 0);
        } else {
            assert_string_equal(suffix, "");
        }
        if (line[name_len] == '{') {
            const char *q = line + name_len + 1;
            while (*q != '}') {
                size_t key = strspn(q, "abcdefghijklmnopqrstuvwxyz_");
                assert_true(key > 0 && q[key] == '=' && q[key + 1] == '"');
                q += key + 2;
                while (*q != '"') {
                    assert_true(*q != '\0' && *q != '\n');
                    q += *q == '\\' ? 2 : 1;
                }
                q++;
                assert_true(*q == ',' || *q == '}');
                q += *q == ',' ? 1 : 0;
            }
            assert_int_equal(q[1], ' ');
        }
        const char *value = strrchr(line, ' ');
        assert_non_null(value);
        char *vend = NULL;
        (void)strtod(value + 1, &vend);
        assert_true(vend != value + 1 && *vend == '\0');
    }
}

static void test_counts_and_exposition(void **state) {
    (void)state;
    http_metrics *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    ncsl__http_metrics_init(m);
    assert_true(m->start_unix_ms > UINT64_C(1600000000000));
    size_t count = 0;
    const http_route *routes = ncsl__http_routes(&count);
    const http_route *exec = NULL;
    for (size_t i = 0; i < count; i++) {
        if (strcmp(routes[i].path, "/api/v1/functions/execute-javascript") == 0) {
            exec = &routes[i];
        }
    }
    assert_non_null(exec);
    ncsl__http_metrics_request(m, exec, 200);
    ncsl__http_metrics_request(m, exec, 200);
    ncsl__http_metrics_request(m, exec, 422);
    ncsl__http_metrics_request(m, exec, 0);   /* the client left */
    ncsl__http_metrics_request(m, exec, 299); /* not in the table: "other" */
    ncsl__http_metrics_request(m, NULL, 404);
    ncsl__http_metrics_request(m, NULL, 405);

    uint64_t now = m->start_unix_ms + 5000;
    /* bucket edges: le is inclusive; 20 s only in +Inf; UINT64_MAX: not observed */
    ncsl__http_metrics_execution(m, NCSL_OK, 100, 1000, now);
    ncsl__http_metrics_execution(m, NCSL_OK, 101, 0, now);
    ncsl__http_metrics_execution(m, NCSL_E_JS_TIMEOUT, 10000000, 5000, now);
    ncsl__http_metrics_execution(m, NCSL_E_JS_TIMEOUT, 20000000, 0, now);
    ncsl__http_metrics_execution(m, NCSL_E_BUSY, UINT64_MAX, 0, 0);
    ncsl__http_metrics_execution(m, NCSL_E_STORE_CONFLICT, UINT64_MAX, 0, 0);
    ncsl__http_metrics_execution(m, (ncsl_status)12345, UINT64_MAX, 0, 0); /* unknown */
    ncsl__http_metrics_store_status(m, NCSL_E_STORE_FULL);
    ncsl__http_metrics_store_status(m, NCSL_E_STORE_INTEGRITY);
    ncsl__http_metrics_store_status(m, NCSL_E_STORE);
    ncsl__http_metrics_store_status(m, NCSL_E_STORE_SCHEMA);
    ncsl__http_metrics_store_status(m, NCSL_E_NOT_FOUND);   /* an answer, not a failure */
    ncsl__http_metrics_store_status(m, NCSL_E_STORE_QUOTA); /* idem */
    ncsl__http_metrics_store_status(m, NCSL_OK);
    ncsl__http_metrics_inc(&m->rate_limited);
    ncsl__http_metrics_inc(&m->proofs);
    ncsl__http_metrics_inc(&m->receipts_signed);

    http_metrics_env env = env_for(now);
    char *text = render(m, &env);
    check_exposition(text);
    const char *r = "ncsl_http_requests_total{method=\"POST\",route=\"/api/v1/functions/"
                    "execute-javascript\",code=";
    char series[256];
    snprintf(series, sizeof(series), "%s\"200\"}", r);
    assert_int_equal(sample_u(text, series), 2);
    snprintf(series, sizeof(series), "%s\"422\"}", r);
    assert_int_equal(sample_u(text, series), 1);
    snprintf(series, sizeof(series), "%s\"none\"}", r);
    assert_int_equal(sample_u(text, series), 1);
    snprintf(series, sizeof(series), "%s\"other\"}", r);
    assert_int_equal(sample_u(text, series), 1);
    snprintf(series, sizeof(series), "%s\"201\"}", r);
    assert_null(sample(text, series)); /* zero series are left out */
    assert_int_equal(
        sample_u(text, "ncsl_http_requests_total{method=\"any\",route=\"unmatched\",code=\"404\"}"),
        1);
    assert_int_equal(
        sample_u(text, "ncsl_http_requests_total{method=\"any\",route=\"unmatched\",code=\"405\"}"),
        1);

    assert_int_equal(sample_u(text, "ncsl_executions_total{code=\"OK\"}"), 2);
    assert_int_equal(sample_u(text, "ncsl_executions_total{code=\"TIMEOUT\"}"), 2);
    assert_int_equal(sample_u(text, "ncsl_executions_total{code=\"SERVICE_UNAVAILABLE\"}"), 1);
    assert_int_equal(sample_u(text, "ncsl_executions_total{code=\"CONFLICT\"}"), 1);
    /* an unknown status is answered INTERNAL_ERROR (ncsl_status_code), and counted so */
    assert_int_equal(sample_u(text, "ncsl_executions_total{code=\"INTERNAL_ERROR\"}"), 1);
    assert_null(sample(text, "ncsl_executions_total{code=\"OTHER\"}"));
    assert_int_equal(sample_u(text, "ncsl_executions_total{code=\"MEMORY_LIMIT\"}"), 0);
    assert_null(sample(text, "ncsl_executions_total{code=\"TEE_ERROR\"}"));

    const char *h = "ncsl_execution_duration_seconds_bucket{le=";
    snprintf(series, sizeof(series), "%s\"0.0001\"}", h);
    assert_int_equal(sample_u(text, series), 1);
    snprintf(series, sizeof(series), "%s\"0.00025\"}", h);
    assert_int_equal(sample_u(text, series), 2);
    snprintf(series, sizeof(series), "%s\"5\"}", h);
    assert_int_equal(sample_u(text, series), 2);
    snprintf(series, sizeof(series), "%s\"10\"}", h);
    assert_int_equal(sample_u(text, series), 3);
    snprintf(series, sizeof(series), "%s\"+Inf\"}", h);
    assert_int_equal(sample_u(text, series), 4);
    assert_int_equal(sample_u(text, "ncsl_execution_duration_seconds_count"), 4);
    const char *sum = sample(text, "ncsl_execution_duration_seconds_sum");
    assert_non_null(sum);
    assert_int_equal(strncmp(sum, "30.000201\n", 10), 0);
    /* cumulative: never decreasing */
    unsigned long long prev = 0;
    for (const char *p = strstr(text, h); p; p = strstr(p + 1, h)) {
        unsigned long long v = strtoull(strchr(p, ' ') + 1, NULL, 10);
        assert_true(v >= prev);
        prev = v;
    }

    assert_int_equal(sample_u(text, "ncsl_js_heap_bytes"), 5000);
    assert_int_equal(sample_u(text, "ncsl_store_errors_total{kind=\"full\"}"), 1);
    assert_int_equal(sample_u(text, "ncsl_store_errors_total{kind=\"integrity\"}"), 1);
    assert_int_equal(sample_u(text, "ncsl_store_errors_total{kind=\"other\"}"), 2);
    assert_int_equal(sample_u(text, "ncsl_rate_limited_total"), 1);
    assert_int_equal(sample_u(text, "ncsl_attestation_proofs_total"), 1);
    assert_int_equal(sample_u(text, "ncsl_receipts_signed_total"), 1);
    assert_int_equal(sample_u(text, "ncsl_engine_workers"), 4);
    assert_int_equal(sample_u(text, "ncsl_engine_queue_capacity"), 256);
    assert_int_equal(sample_u(text, "ncsl_ready"), 0);
    assert_int_equal(sample_u(text, "ncsl_build_info{version=\"1.2.3\",quickjs=\"0.16\",tee="
                                    "\"simulation\"}"),
                     1);
    assert_int_equal(strncmp(sample(text, "ncsl_uptime_seconds"), "5.000\n", 6), 0);
    free(text);
    free(m);
}

static void test_heap_window(void **state) {
    (void)state;
    http_metrics *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    ncsl__http_metrics_init(m);
    uint64_t t0 = UINT64_C(1800000000000) / MINUTE_MS * MINUTE_MS; /* a minute's start */
    ncsl__http_metrics_execution(m, NCSL_OK, 10, 7000, t0);
    ncsl__http_metrics_execution(m, NCSL_OK, 10, 3000, t0 + 1000); /* smaller: peak stays */
    http_metrics_env env = env_for(t0 + 2000);
    char *text = render(m, &env);
    assert_int_equal(sample_u(text, "ncsl_js_heap_bytes"), 7000);
    free(text);
    /* the next minute: the previous minute's peak still counts */
    ncsl__http_metrics_execution(m, NCSL_OK, 10, 2000, t0 + MINUTE_MS);
    env = env_for(t0 + MINUTE_MS + 10);
    text = render(m, &env);
    assert_int_equal(sample_u(text, "ncsl_js_heap_bytes"), 7000);
    free(text);
    /* two minutes on: only that minute's 2000 (t0's slot was reused and t0 is too old) */
    env = env_for(t0 + 2 * MINUTE_MS + 10);
    text = render(m, &env);
    assert_int_equal(sample_u(text, "ncsl_js_heap_bytes"), 2000);
    free(text);
    ncsl__http_metrics_execution(m, NCSL_OK, 10, 100, t0 + 2 * MINUTE_MS + 20);
    text = render(m, &env);
    assert_int_equal(sample_u(text, "ncsl_js_heap_bytes"), 2000);
    free(text);
    /* long idle: nothing recent, 0 */
    env = env_for(t0 + 10 * MINUTE_MS);
    text = render(m, &env);
    assert_int_equal(sample_u(text, "ncsl_js_heap_bytes"), 0);
    free(text);
    /* absurd sizes are clamped, never spill into the minute bits */
    ncsl__http_metrics_execution(m, NCSL_OK, 10, UINT64_MAX, t0 + 10 * MINUTE_MS);
    text = render(m, &env);
    assert_int_equal(sample_u(text, "ncsl_js_heap_bytes"), (UINT64_C(1) << 40) - 1);
    free(text);
    free(m);
}

static void test_label_escaping(void **state) {
    (void)state;
    http_metrics *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    ncsl__http_metrics_init(m);
    http_metrics_env env = env_for(m->start_unix_ms);
    env.version = "1.0\"\\\nx";
    env.tee = NULL;
    char *text = render(m, &env);
    check_exposition(text);
    assert_non_null(strstr(text, "ncsl_build_info{version=\"1.0\\\"\\\\\\nx\",quickjs=\"0.16\","
                                 "tee=\"\"} 1\n"));
    free(text);
    free(m);
}

static void test_loopback(void **state) {
    (void)state;
    struct sockaddr_in in4;
    memset(&in4, 0, sizeof(in4));
    in4.sin_family = AF_INET;
    const char *yes4[] = {"127.0.0.1", "127.255.3.4"};
    const char *no4[] = {"128.0.0.1", "10.0.0.1", "0.0.0.0", "192.168.1.127"};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(yes4); i++) {
        assert_int_equal(inet_pton(AF_INET, yes4[i], &in4.sin_addr), 1);
        assert_true(ncsl__http_addr_is_loopback((struct sockaddr *)&in4));
    }
    for (size_t i = 0; i < NCSL_ARRAY_LEN(no4); i++) {
        assert_int_equal(inet_pton(AF_INET, no4[i], &in4.sin_addr), 1);
        assert_false(ncsl__http_addr_is_loopback((struct sockaddr *)&in4));
    }
    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof(in6));
    in6.sin6_family = AF_INET6;
    const char *yes6[] = {"::1", "::ffff:127.0.0.1", "::ffff:127.9.9.9"};
    const char *no6[] = {"::2", "::", "::ffff:10.0.0.1", "fe80::1", "2001:db8::1", "::127.0.0.1"};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(yes6); i++) {
        assert_int_equal(inet_pton(AF_INET6, yes6[i], &in6.sin6_addr), 1);
        assert_true(ncsl__http_addr_is_loopback((struct sockaddr *)&in6));
    }
    for (size_t i = 0; i < NCSL_ARRAY_LEN(no6); i++) {
        assert_int_equal(inet_pton(AF_INET6, no6[i], &in6.sin6_addr), 1);
        assert_false(ncsl__http_addr_is_loopback((struct sockaddr *)&in6));
    }
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    assert_false(ncsl__http_addr_is_loopback((struct sockaddr *)&un));
    assert_false(ncsl__http_addr_is_loopback(NULL));
}

static void test_route_templates(void **state) {
    (void)state;
    size_t count = 0;
    const http_route *routes = ncsl__http_routes(&count);
    assert_true(count > 0 && count <= NCSL_HTTP_MAX_ROUTES);
    for (size_t i = 0; i < count; i++) {
        /* "{name}" segments only, each a whole segment */
        for (const char *p = strchr(routes[i].path, '{'); p; p = strchr(p + 1, '{')) {
            assert_true(p[-1] == '/');
            const char *close = strchr(p, '}');
            assert_non_null(close);
            assert_true(close > p + 1 && (close[1] == '\0' || close[1] == '/'));
        }
        for (size_t j = 0; j < i; j++) {
            assert_false(strcmp(routes[i].method, routes[j].method) == 0 &&
                         strcmp(routes[i].path, routes[j].path) == 0);
        }
    }
    char params[NCSL_HTTP_MAX_PARAMS][NCSL_HTTP_PARAM_SIZE];
    bool known = false;
    const http_route *rt =
        ncsl__http_find_route("/api/v1/users/u-1/keys/k-2", "DELETE", &known, params);
    assert_non_null(rt);
    assert_string_equal(rt->path, "/api/v1/users/{id}/keys/{keyId}");
    assert_string_equal(params[0], "u-1");
    assert_string_equal(params[1], "k-2");
    rt = ncsl__http_find_route("/metrics", "HEAD", &known, NULL);
    assert_non_null(rt);
    assert_int_equal(rt->access, ACCESS_LOCAL);
    rt = ncsl__http_find_route("/readyz", "GET", &known, NULL);
    assert_non_null(rt);
    assert_int_equal(rt->access, ACCESS_PUBLIC);
    rt = ncsl__http_find_route("/api/v1/openapi.json", "GET", &known, NULL);
    assert_non_null(rt);
    assert_int_equal(rt->access, ACCESS_PUBLIC);
    /* an exact path wins over a pattern; a template never matches itself literally */
    rt = ncsl__http_find_route("/api/v1/functions/execute-javascript", "POST", &known, NULL);
    assert_non_null(rt);
    assert_string_equal(rt->path, "/api/v1/functions/execute-javascript");
    assert_null(ncsl__http_find_route("/metrics", "POST", &known, NULL));
    assert_true(known); /* 405 */
    assert_null(ncsl__http_find_route("/api/v1/users//keys", "GET", &known, NULL));
    assert_null(ncsl__http_find_route("/api/v1/secrets/a/b", "PUT", &known, NULL));
    assert_false(known); /* 404 */
}

static void test_openapi_embedded(void **state) {
    (void)state;
    assert_true(ncsl__http_openapi_json_len > 1000);
    assert_int_equal(ncsl__http_openapi_json[ncsl__http_openapi_json_len], 0);
    /* byte for byte the file in docs/ */
    FILE *f = fopen(NCSL_OPENAPI_PATH, "rb");
    assert_non_null(f);
    char *disk = malloc(ncsl__http_openapi_json_len + 1);
    assert_non_null(disk);
    size_t got = fread(disk, 1, ncsl__http_openapi_json_len + 1, f);
    fclose(f);
    assert_int_equal(got, ncsl__http_openapi_json_len);
    assert_memory_equal(disk, ncsl__http_openapi_json, got);
    free(disk);
    json_error_t jerr;
    json_t *doc =
        json_loadb((const char *)ncsl__http_openapi_json, ncsl__http_openapi_json_len, 0, &jerr);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
    /* every route of the table has its path and method in the document */
    json_t *paths = json_object_get(doc, "paths");
    size_t count = 0;
    const http_route *routes = ncsl__http_routes(&count);
    for (size_t i = 0; i < count; i++) {
        char method[16];
        size_t n = strlen(routes[i].method);
        assert_true(n < sizeof(method));
        for (size_t k = 0; k <= n; k++) {
            method[k] = (char)(routes[i].method[k] >= 'A' && routes[i].method[k] <= 'Z'
                                   ? routes[i].method[k] - 'A' + 'a'
                                   : routes[i].method[k]);
        }
        json_t *item = json_object_get(paths, routes[i].path);
        if (!item || !json_object_get(item, method)) {
            fail_msg("docs/openapi.json lacks %s %s", routes[i].method, routes[i].path);
        }
    }
    json_decref(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_exposition), cmocka_unit_test(test_heap_window),
        cmocka_unit_test(test_label_escaping),        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_route_templates),       cmocka_unit_test(test_openapi_embedded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
