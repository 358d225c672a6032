/* Helpers shared by the store tests (see store_test_util.h). */
#include "store_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

ncsl_store *stu_open_store(ncsl_tee *tee, const char *data_dir, const ncsl_store_options *opts) {
    ncsl_store_options o;
    ncsl_store *s = NULL;
    ncsl_err err;
    if (opts) {
        o = *opts;
    } else {
        ncsl_store_options_default(&o);
    }
    o.data_dir = data_dir;
    ncsl_status st = ncsl_store_open(tee, &o, &s, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "store open: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return s;
}

bool stu_db_files_contain(const char *dir, const void *needle, size_t n) {
    static const char *const names[] = {"ncsl.db", "ncsl.db-wal", "ncsl.db-shm"};
    bool found = false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *p = ncsl_test_path(dir, names[i]);
        size_t len = 0;
        uint8_t *data = ncsl_test_read_file_if_exists(p, &len);
        found = found || ncsl_test_mem_contains(data, len, needle, n);
        free(data);
        free(p);
    }
    return found;
}

sqlite3 *stu_raw_open(const char *dir) {
    char *p = ncsl_test_path(dir, "ncsl.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    free(p);
    return db;
}

void stu_raw_exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "raw SQL failed: %s: %s\n", sql, msg ? msg : "?");
    }
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

int64_t stu_raw_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

void stu_user(ncsl_store *s, const char *name, char id[NCSL_STORE_ID_SIZE]) {
    ncsl_store_user u;
    ncsl_err err;
    ncsl_status st = ncsl_store_user_create(s, name, &u, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "user create: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    memcpy(id, u.id, NCSL_STORE_ID_SIZE);
    ncsl_store_user_cleanup(&u);
}

void stu_function(ncsl_store *s, const char *user_id, const char *name, const char *code,
                  char id[NCSL_STORE_ID_SIZE]) {
    ncsl_store_function_spec spec = {.name = name, .code = code, .code_len = strlen(code)};
    ncsl_store_function f;
    ncsl_err err;
    ncsl_status st = ncsl_store_function_create(s, user_id, &spec, &f, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "function create: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    memcpy(id, f.id, NCSL_STORE_ID_SIZE);
    ncsl_store_function_cleanup(&f);
}

int stu_fixture_setup(void **state, const char *prefix) {
    stu_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = ncsl_test_tmpdir_make(prefix);
    f->tee = ncsl_test_open_sim_tee(f->dir);
    f->store = stu_open_store(f->tee, f->dir, NULL);
    stu_user(f->store, "alice", f->alice);
    stu_user(f->store, "bob", f->bob);
    *state = f;
    return 0;
}

int stu_fixture_teardown(void **state) {
    stu_fixture *f = *state;
    ncsl_store_close(f->store);
    ncsl_tee_close(f->tee);
    ncsl_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}
