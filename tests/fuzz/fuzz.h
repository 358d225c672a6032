/*
 * Shared by the fuzz targets (tests/fuzz/fuzz_<name>.c) and the replay driver (replay_main.c).
 *
 * Each target defines LLVMFuzzerTestOneInput and may define LLVMFuzzerInitialize. The same
 * source builds two ways: with libFuzzer (clang, -fsanitize=fuzzer; tests/fuzz/run.sh) and with
 * replay_main.c, which runs every file of the seed corpus once (gcc, CTest label `fuzz`).
 *
 * A target aborts (NCSL_FUZZ_CHECK) only when a documented contract is broken, never because an
 * input is rejected: rejecting garbage is the expected outcome.
 */
#ifndef NCSL_FUZZ_H
#define NCSL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ncsl/ncsl.h"

/* The libFuzzer entry points (https://llvm.org/docs/LibFuzzer.html). `data` is borrowed. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Aborts with a message when a contract the library documents does not hold. */
#define NCSL_FUZZ_CHECK(cond)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz contract broken: %s\n", __FILE__, __LINE__, #cond);       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static inline void ncsl_fuzz_drop_log(void *user, ncsl_log_level level, const char *line,
                                      size_t len) {
    (void)user;
    (void)level;
    (void)line;
    (void)len;
}

/* Library logs would drown libFuzzer's output: drop them (call from LLVMFuzzerInitialize). */
static inline void ncsl_fuzz_quiet_logs(void) {
    ncsl_log_set_level(NCSL_LOG_LEVEL_ERROR);
    ncsl_log_set_sink(ncsl_fuzz_drop_log, NULL);
}

#endif
