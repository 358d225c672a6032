/*
 * Fuzz target `http_body`: the execute-javascript request body parser (ncsl_http_parse_execute)
 * and the Content-Type check (ncsl_http_content_type_is_json), both fed straight from the
 * network by ncsld. On success every pointer of the parsed body is read within its stated length
 * (so ASan sees a bad one), then the body is cleaned up (LeakSanitizer sees a leak).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http/http.h"

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
    free(value);
    (void)sink;
    return 0;
}
