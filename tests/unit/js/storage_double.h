/*
 * An in-memory ncsl_storage_hooks for tests (a test double of the sealed store's kv functions):
 * sorted keys, atomic batches with the store's quota rule, call counters, injected failures and
 * a text log of the last committed batch. Not thread-safe: one call at a time uses it.
 */
#ifndef NCSL_TEST_STORAGE_DOUBLE_H
#define NCSL_TEST_STORAGE_DOUBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ncsl/ncsl.h"

typedef struct mem_store {
    ncsl_storage_hooks hooks; /* hooks.user points at this struct */
    char **keys;              /* sorted bytewise; values[i] is JSON text of keys[i] */
    char **values;
    size_t count;
    /* failure injection: a status other than NCSL_OK makes that hook fail with fail_message */
    ncsl_status fail_get;
    ncsl_status fail_list;
    ncsl_status fail_usage;
    ncsl_status fail_commit;
    char fail_message[128];
    unsigned get_sleep_ms; /* each get sleeps this long (deadline tests) */
    /* a concurrent call: right after the first usage answer, race_key = race_value lands */
    const char *race_key;
    const char *race_value;
    /* counters */
    unsigned get_calls;
    unsigned list_calls;
    unsigned usage_calls;
    unsigned commit_calls;
    char last_batch[4096]; /* "CLEAR;SET a={...};REMOVE b" of the last commit call */
} mem_store;

/* Limits 0 keep the engine's defaults. */
void mem_store_init(mem_store *m, uint64_t quota_bytes, size_t max_key_bytes,
                    size_t max_value_bytes);
void mem_store_cleanup(mem_store *m);
/* Stores `json` under `key` (no quota check). */
void mem_store_put(mem_store *m, const char *key, const char *json);
/* The JSON text of `key`, or NULL. Borrowed. */
const char *mem_store_value(const mem_store *m, const char *key);
/* strlen(key) + strlen(value) summed, as the store counts it. */
uint64_t mem_store_usage(const mem_store *m);
/* Applies a batch all-or-none with the store's quota rule (as the commit hook does, without
 * counting a commit call). */
ncsl_status mem_store_apply(mem_store *m, const ncsl_storage_write *w, size_t n, ncsl_err *err);
/* "CLEAR;SET a=1;REMOVE b" into out (truncated to size). */
void mem_batch_text(const ncsl_storage_write *w, size_t n, char *out, size_t size);

#endif
