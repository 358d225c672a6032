/*
 * Helpers shared by the store tests. Every function asserts (cmocka) instead of returning
 * errors, so only call them from the test process (never from a forked child). The generic ones
 * (temporary directories, files, a simulation TEE) are in ncsl_test_util.h.
 */
#ifndef NCSL_STORE_TEST_UTIL_H
#define NCSL_STORE_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "ncsl_test_util.h"
#include "store/store.h"
#include "tee/tee.h"

/* A store on `data_dir` with default options (opts NULL) or the given ones; asserts NCSL_OK. */
ncsl_store *stu_open_store(ncsl_tee *tee, const char *data_dir, const ncsl_store_options *opts);

/* True when any of <dir>/ncsl.db, -wal, -shm contains `needle`. */
bool stu_db_files_contain(const char *dir, const void *needle, size_t n);

/* A direct SQLite connection to <dir>/ncsl.db, for looking at and tampering with rows the way
 * someone with the file would. Close with sqlite3_close. */
sqlite3 *stu_raw_open(const char *dir);
/* Runs SQL on it and asserts success. */
void stu_raw_exec(sqlite3 *db, const char *sql);
/* The single integer an SQL query returns. */
int64_t stu_raw_int(sqlite3 *db, const char *sql);

/* A user, asserting success; fills `id`. */
void stu_user(ncsl_store *s, const char *name, char id[NCSL_STORE_ID_SIZE]);
/* A function with `code` for `user_id`, asserting success; fills `id`. */
void stu_function(ncsl_store *s, const char *user_id, const char *name, const char *code,
                  char id[NCSL_STORE_ID_SIZE]);

/* The fixture of the API-level store tests: a simulation TEE and a store on a fresh temporary
 * directory, with users "alice" and "bob". */
typedef struct stu_fixture {
    char *dir;
    ncsl_tee *tee;
    ncsl_store *store;
    char alice[NCSL_STORE_ID_SIZE];
    char bob[NCSL_STORE_ID_SIZE];
} stu_fixture;
/* *state = a new fixture whose directory name starts with `prefix`; 0. */
int stu_fixture_setup(void **state, const char *prefix);
/* Closes the store (and whatever it still caches) and the TEE, removes the directory; 0. */
int stu_fixture_teardown(void **state);

#endif
