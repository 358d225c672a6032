/*
 * Fuzz target `http_body`: what ncsld reads straight from the network before any handler runs:
 * the execute-javascript and invoke body parsers (ncsl_http_parse_execute/_invoke), the
 * Content-Type check (ncsl_http_content_type_is_json) and the router (ncsl__http_find_route,
 * with its "{name}" path parameters). On success every pointer of a parsed body is read within its
 * stated length (so ASan sees a bad one), then the body is cleaned up (LeakSanitizer sees a
 * leak); every path parameter must be NUL-terminated within its buffer and non-empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/http.h"
#include "http/http_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    return 0;
}

/* Reads every byte so a dangling or short pointer is reported; returns a value the compiler
 * cannot drop. */
static unsigned touch(const char *p, size_t len) {
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) {
        sum += (unsigned char)p[i];
    }
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ncsl_http_exec_body body;
    ncsl_err err;
    volatile unsigned sink = 0;
    if (ncsl_http_parse_execute((const char *)data, size, &body, &err) == NCSL_OK) {
        NCSL_FUZZ_CHECK(body.code != NULL && body.code_len > 0);
        sink += touch(body.code, body.code_len);
        if (body.input_json) {
            sink += touch(body.input_json, body.input_len);
        }
        NCSL_FUZZ_CHECK(body.secret_count == 0 || body.secrets != NULL);
        for (size_t i = 0; i < body.secret_count; i++) {
            NCSL_FUZZ_CHECK(body.secrets[i].name != NULL && body.secrets[i].value != NULL);
            sink += touch(body.secrets[i].name, strlen(body.secrets[i].name));
            sink += touch(body.secrets[i].value, body.secrets[i].value_len);
        }
        if (body.function_id) {
            sink += touch(body.function_id, strlen(body.function_id));
        }
        if (body.user_id) {
            sink += touch(body.user_id, strlen(body.user_id));
        }
        ncsl_http_exec_body_cleanup(&body);
    }

    if (ncsl_http_parse_invoke((const char *)data, size, &body, &err) == NCSL_OK) {
        NCSL_FUZZ_CHECK(body.code == NULL);
        if (body.input_json) {
            sink += touch(body.input_json, body.input_len);
        }
        for (size_t i = 0; i < body.secret_count; i++) {
            sink += touch(body.secrets[i].value, body.secrets[i].value_len);
        }
        ncsl_http_exec_body_cleanup(&body);
    }

    /* The same bytes as a header value: MHD hands over NUL-terminated strings. */
    char *value = malloc(size + 1);
    if (!value) {
        return 0;
    }
    if (size) {
        memcpy(value, data, size);
    }
    value[size] = '\0';
    sink += ncsl_http_content_type_is_json(value) ? 1u : 0u;

    /* ... and as a request path, with each method. */
    static const char *const kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
    for (size_t m = 0; m < sizeof(kMethods) / sizeof(kMethods[0]); m++) {
        char params[NCSL_HTTP_MAX_PARAMS][NCSL_HTTP_PARAM_SIZE];
        memset(params, 0x55, sizeof(params));
        bool known = false;
        const http_route *rt = ncsl__http_find_route(value, kMethods[m], &known, params);
        if (rt) {
            NCSL_FUZZ_CHECK(known && rt->handler != NULL);
            size_t n = 0;
            for (const char *p = rt->path; (p = strchr(p, '{')) != NULL; p++) {
                n++;
            }
            NCSL_FUZZ_CHECK(n <= NCSL_HTTP_MAX_PARAMS);
            for (size_t i = 0; i < n; i++) {
                const char *nul = memchr(params[i], '\0', NCSL_HTTP_PARAM_SIZE);
                NCSL_FUZZ_CHECK(nul != NULL && nul != params[i] &&
                                !memchr(params[i], '/', (size_t)(nul - params[i])));
            }
        }
    }
    free(value);
    (void)sink;
    return 0;
}
