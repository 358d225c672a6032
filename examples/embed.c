/*
 * Embedding libncsl: run the seed guide's example function through the public API only.
 *
 *   cc embed.c $(pkg-config --cflags --libs ncsl) -o embed && ./embed
 */
#include <ncsl/ncsl.h>
#include <stdio.h>

int main(void) {
    ncsl_engine_options opts;
    ncsl_engine_options_default(&opts);
    opts.workers = 1;
    opts.timeout_ms = 2000;

    ncsl_engine *engine = NULL;
    ncsl_err err;
    if (ncsl_engine_create(&opts, &engine, &err) != NCSL_OK) {
        fprintf(stderr, "engine: %s\n", err.message);
        return 1;
    }

    const char *code = "function main(input) {\n"
                       "  console.log('doubling', input.value);\n"
                       "  return { result: input.value * 2, keyLength: SECRETS.API_KEY.length };\n"
                       "}";
    ncsl_result *result = NULL;
    ncsl_status st = ncsl_execute_javascript(engine, code, "{ \"value\": 42 }",
                                             "{\"API_KEY\": \"not-a-real-key\"}", "example",
                                             "example-user", &result, &err);
    int rc = 0;
    if (st == NCSL_OK) {
        printf("result: %s\n", ncsl_result_json(result, NULL));
        printf("logs: %s\n", ncsl_result_logs_json(result, NULL));
        printf("executionId: %s (%llu us)\n", ncsl_result_execution_id(result),
               (unsigned long long)ncsl_result_execution_time_us(result));
    } else {
        fprintf(stderr, "error: %s: %s\n", ncsl_status_code(st), err.message);
        rc = 1;
    }
    ncsl_result_destroy(result);
    ncsl_engine_destroy(engine);
    return rc;
}
