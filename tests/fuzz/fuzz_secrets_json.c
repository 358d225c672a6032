/*
 * Fuzz target `secrets_json`: the secrets object parser (ncsl_secrets_parse_json) used by the
 * CLI, the daemon and ncsl_execute_javascript. Every parsed name and value is read within its
 * stated length, then freed (LeakSanitizer sees a leak).
 */
#include <stdint.h>
#include <string.h>

#include "exec/exec.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ncsl_secret *secrets = NULL;
    size_t count = 0;
    ncsl_err err;
    if (ncsl_secrets_parse_json((const char *)data, size, &secrets, &count, &err) != NCSL_OK) {
        return 0;
    }
    NCSL_FUZZ_CHECK(count == 0 || secrets != NULL);
    volatile unsigned sink = 0;
    for (size_t i = 0; i < count; i++) {
        NCSL_FUZZ_CHECK(secrets[i].name != NULL && secrets[i].value != NULL);
        sink += (unsigned)strlen(secrets[i].name);
        for (size_t j = 0; j < secrets[i].value_len; j++) {
            sink += (unsigned char)secrets[i].value[j];
        }
    }
    (void)sink;
    ncsl_secrets_free(secrets, count);
    return 0;
}
