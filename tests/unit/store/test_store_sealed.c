/*
 * What the database file gives away, and what tampering with it does:
 *   - known marker strings stored as secret values, function code, storage keys and values,
 *     system blobs and API keys never appear in the raw ncsl.db, -wal or -shm files (while the
 *     store is open and after it closed), while clear metadata does (so the search works);
 *   - a flipped byte in a sealed value, two rows' values swapped, a row moved to another user,
 *     name or function, edited clear metadata that is bound to the seal, a wrong recorded size,
 *     or a byte flipped in the file itself: the next read answers NCSL_E_STORE_INTEGRITY naming
 *     the record, other records stay readable, and restoring the bytes makes it readable again;
 *   - a database copied to another installation does not open (NCSL_E_STORE_FOREIGN).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"
#include "store_test_util.h"

typedef struct fixture {
    char *dir;
    ncsl_tee *tee;
    ncsl_store *store;
    sqlite3 *raw; /* the same file, opened directly: what an attacker with the disk can do */
    char alice[NCSL_STORE_ID_SIZE];
    char bob[NCSL_STORE_ID_SIZE];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof(*f));
    f->dir = ncsl_test_tmpdir_make("ncsl-store-sealed");
    f->tee = ncsl_test_open_sim_tee(f->dir);
    f->store = stu_open_store(f->tee, f->dir, NULL);
    stu_user(f->store, "alice", f->alice);
    stu_user(f->store, "bob", f->bob);
    f->raw = stu_raw_open(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    sqlite3_close(f->raw);
    ncsl_store_close(f->store);
    ncsl_tee_close(f->tee);
    ncsl_test_tmpdir_remove(f->dir);
    free(f);
    return 0;
}

/* ------------------------------------------------------------------------- raw row helpers */

typedef struct blob {
    uint8_t *data;
    size_t len;
} blob;

/* SELECT <col> FROM <table> WHERE <where>: the one blob it names. */
static blob raw_get(sqlite3 *db, const char *table, const char *col, const char *where) {
    char sql[512];
    sqlite3_stmt *q = NULL;
    blob b = {NULL, 0};
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s", col, table, where);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    b.len = (size_t)sqlite3_column_bytes(q, 0);
    b.data = malloc(b.len + 1);
    assert_non_null(b.data);
    memcpy(b.data, sqlite3_column_blob(q, 0), b.len);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_finalize(q);
    return b;
}

static void raw_put(sqlite3 *db, const char *table, const char *col, const char *where,
                    const uint8_t *data, size_t len) {
    char sql[512];
    sqlite3_stmt *q = NULL;
    snprintf(sql, sizeof(sql), "UPDATE %s SET %s = ?1 WHERE %s", table, col, where);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_blob(q, 1, data, (int)len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(q);
}

/* Flips one bit of byte `off` of the blob and returns the original (free b.data). */
static blob raw_flip(sqlite3 *db, const char *table, const char *col, const char *where,
                     size_t off) {
    blob orig = raw_get(db, table, col, where);
    assert_true(off < orig.len);
    uint8_t *copy = malloc(orig.len);
    memcpy(copy, orig.data, orig.len);
    copy[off] ^= 0x01;
    raw_put(db, table, col, where, copy, orig.len);
    free(copy);
    return orig;
}

static void raw_restore(sqlite3 *db, const char *table, const char *col, const char *where,
                        blob *orig) {
    raw_put(db, table, col, where, orig->data, orig->len);
    free(orig->data);
    orig->data = NULL;
}

static void raw_swap(sqlite3 *db, const char *table, const char *col, const char *w1,
                     const char *w2) {
    blob a = raw_get(db, table, col, w1), b = raw_get(db, table, col, w2);
    raw_put(db, table, col, w1, b.data, b.len);
    raw_put(db, table, col, w2, a.data, a.len);
    free(a.data);
    free(b.data);
}

/* ------------------------------------------------------------------------- expectations */

static void secret_is(ncsl_store *s, const char *user, const char *name, const char *want) {
    uint8_t *v = NULL;
    size_t n = 0;
    ncsl_err err;
    ncsl_status st = ncsl_store_secret_get(s, user, name, &v, &n, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "secret %s: %s\n", name, err.message);
    }
    assert_int_equal(st, NCSL_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
    ncsl_store_value_free(v, n);
}

/* The read fails with an integrity error whose message names every string in `names`, and
 * hands out nothing. */
static void secret_tampered(ncsl_store *s, const char *user, const char *name) {
    uint8_t *v = (uint8_t *)"sentinel";
    size_t n = 99;
    ncsl_err err;
    assert_int_equal(ncsl_store_secret_get(s, user, name, &v, &n, &err), NCSL_E_STORE_INTEGRITY);
    assert_null(v);
    assert_int_equal(n, 0);
    assert_int_equal(err.code, NCSL_E_STORE_INTEGRITY);
    assert_string_equal(err.field, "name");
    char quoted[300];
    snprintf(quoted, sizeof(quoted), "secret \"%s\"", name);
    assert_non_null(strstr(err.message, quoted));
    assert_non_null(strstr(err.message, user));
    assert_non_null(strstr(err.message, "integrity"));
    assert_string_equal(ncsl_status_code(NCSL_E_STORE_INTEGRITY), "INTEGRITY_ERROR");
}

static void fn_tampered(ncsl_store *s, const char *user, const char *id, uint32_t version) {
    ncsl_store_function got;
    ncsl_err err;
    assert_int_equal(ncsl_store_function_get(s, user, id, version, &got, &err),
                     NCSL_E_STORE_INTEGRITY);
    assert_null(got.code);
    assert_null(got.name);
    assert_non_null(strstr(err.message, id));
    assert_non_null(strstr(err.message, "integrity"));
}

static void fn_ok(ncsl_store *s, const char *user, const char *id, uint32_t version,
                  const char *code) {
    ncsl_store_function got;
    ncsl_err err;
    ncsl_status st = ncsl_store_function_get(s, user, id, version, &got, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "function get: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    assert_string_equal(got.code, code);
    ncsl_store_function_cleanup(&got);
}

/* want NCSL_OK with value NULL: the key is absent. */
static void kv_is(ncsl_store *s, const char *user, const char *fn, const char *key,
                  ncsl_status want, const char *value) {
    uint8_t *v = NULL;
    size_t n = 0;
    bool found = false;
    ncsl_err err;
    assert_int_equal(ncsl_store_kv_get(s, user, fn, key, &v, &n, &found, &err), want);
    if (want == NCSL_OK && !value) { /* absent */
        assert_false(found);
        assert_null(v);
    } else if (want == NCSL_OK) {
        assert_true(found);
        assert_int_equal(n, strlen(value));
        assert_memory_equal(v, value, n);
        ncsl_store_value_free(v, n);
    } else {
        assert_null(v);
        assert_false(found);
        assert_non_null(strstr(err.message, fn));
    }
}

/* ------------------------------------------------------------------------- the file reveals */

#define M_SECRET "MARKER-SECRET-7f3a9c21"
#define M_CODE "MARKER-CODE-41be0d77"
#define M_CODE2 "MARKER-CODE-V2-0c4f1e"
#define M_KEY "MARKER-KVKEY-d15ea5e0"
#define M_VALUE "MARKER-VALUE-c0ffee11"
#define M_SYSTEM "MARKER-SYSTEM-abad1dea"
#define M_BIG "MARKER-BIG-SECRET-61c3"
#define M_CLEAR_USER "MARKER-CLEAR-USERNAME-5d1e"
#define M_CLEAR_DESC "MARKER-CLEAR-DESCRIPTION-90ab"

static void assert_no_markers(const char *dir, const char *api_key) {
    static const char *const hidden[] = {M_SECRET, M_CODE,   M_CODE2, M_KEY,
                                         M_VALUE,  M_SYSTEM, M_BIG};
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        if (stu_db_files_contain(dir, hidden[i], strlen(hidden[i]))) {
            fail_msg("%s is readable in the database files", hidden[i]);
        }
    }
    assert_false(stu_db_files_contain(dir, api_key, strlen(api_key)));
    /* Control: clear metadata is found, so the search does look at the stored data. */
    assert_true(stu_db_files_contain(dir, M_CLEAR_USER, strlen(M_CLEAR_USER)));
    assert_true(stu_db_files_contain(dir, M_CLEAR_DESC, strlen(M_CLEAR_DESC)));
}

static void test_files_reveal_nothing(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-store-grep");
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_store *s = stu_open_store(tee, dir, NULL);
    ncsl_err err;
    char uid[NCSL_STORE_ID_SIZE], fid[NCSL_STORE_ID_SIZE], key[NCSL_STORE_API_KEY_SIZE];

    stu_user(s, M_CLEAR_USER, uid);
    assert_int_equal(ncsl_store_api_key_create(s, uid, NULL, key, &err), NCSL_OK);
    assert_int_equal(
        ncsl_store_secret_put(s, uid, "API_TOKEN", M_SECRET, strlen(M_SECRET), 0, NULL, &err),
        NCSL_OK);
    /* A large value spills into overflow pages. */
    size_t big_len = 200 * 1024;
    char *big = malloc(big_len + 1);
    for (size_t i = 0; i < big_len; i += strlen(M_BIG) + 1) {
        snprintf(big + i, big_len + 1 - i, "%s ", M_BIG);
    }
    assert_int_equal(ncsl_store_secret_put(s, uid, "BIG", big, big_len, 0, NULL, &err), NCSL_OK);
    const char *code = "function main() { return '" M_CODE "'; }";
    ncsl_store_function_spec spec = {
        .name = "marked", .code = code, .code_len = strlen(code), .description = M_CLEAR_DESC};
    ncsl_store_function fn;
    assert_int_equal(ncsl_store_function_create(s, uid, &spec, &fn, &err), NCSL_OK);
    memcpy(fid, fn.id, sizeof(fid));
    ncsl_store_function_cleanup(&fn);
    const char *code2 = "function main() { return '" M_CODE2 "'; }";
    ncsl_store_function_spec spec2 = {.code = code2, .code_len = strlen(code2)};
    assert_int_equal(ncsl_store_function_update(s, uid, fid, &spec2, NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_set(s, uid, fid, M_KEY, M_VALUE, strlen(M_VALUE), 0, &err),
                     NCSL_OK);
    assert_int_equal(ncsl_store_system_put(s, "enclave/identity", M_SYSTEM, strlen(M_SYSTEM), &err),
                     NCSL_OK);

    /* Everything reads back (so it was stored)... */
    secret_is(s, uid, "API_TOKEN", M_SECRET);
    fn_ok(s, uid, fid, 1, code);
    kv_is(s, uid, fid, M_KEY, NCSL_OK, M_VALUE);
    char **keys = NULL;
    size_t count = 0;
    assert_int_equal(ncsl_store_kv_list(s, uid, fid, "MARKER", &keys, &count, &err), NCSL_OK);
    assert_int_equal(count, 1);
    assert_string_equal(keys[0], M_KEY);
    ncsl_store_kv_keys_free(keys, count);

    /* ...but not from the files: while open (the WAL holds the recent pages)... */
    char *wal = ncsl_test_path(dir, "ncsl.db-wal");
    size_t wal_len = 0;
    uint8_t *wal_data = ncsl_test_read_file_if_exists(wal, &wal_len);
    assert_true(wal_len > 0);
    free(wal_data);
    assert_no_markers(dir, key);
    /* ...and after close, with everything checkpointed into ncsl.db. */
    ncsl_store_close(s);
    assert_no_markers(dir, key);

    /* Deleting does not leave plaintext behind either. */
    s = stu_open_store(tee, dir, NULL);
    assert_int_equal(ncsl_store_secret_delete(s, uid, "BIG", &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_remove(s, uid, fid, M_KEY, &err), NCSL_OK);
    assert_no_markers(dir, key);
    ncsl_store_close(s);

    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
    free(wal);
    free(big);
}

/* ------------------------------------------------------------------------- secrets */

static void test_tamper_secrets(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_err err;
    char wa[160], wb[160], wc[160];
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "A", "alpha-value", 11, 0, NULL, &err),
                     NCSL_OK);
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "B", "bravo-value", 11, 0, NULL, &err),
                     NCSL_OK);
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "C", "charlie", 7, 0, NULL, &err), NCSL_OK);
    snprintf(wa, sizeof(wa), "user_id = '%s' AND name = 'A'", f->alice);
    snprintf(wb, sizeof(wb), "user_id = '%s' AND name = 'B'", f->alice);
    snprintf(wc, sizeof(wc), "user_id = '%s' AND name = 'C'", f->alice);

    /* One flipped bit in the ciphertext, the tag, the nonce, the policy byte. */
    const size_t offsets[] = {30, 24 + 11 + 3, 14, 9};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        blob orig = raw_flip(f->raw, "secrets", "value", wa, offsets[i]);
        secret_tampered(s, f->alice, "A");
        secret_is(s, f->alice, "B", "bravo-value"); /* the others stay readable */
        ncsl_secret *all = NULL;
        size_t n = 0;
        assert_int_equal(ncsl_store_secret_load(s, f->alice, NULL, 0, &all, &n, &err),
                         NCSL_E_STORE_INTEGRITY);
        assert_null(all);
        const char *only_b[] = {"B"};
        assert_int_equal(ncsl_store_secret_load(s, f->alice, only_b, 1, &all, &n, &err), NCSL_OK);
        assert_int_equal(n, 1);
        ncsl_store_secrets_free(all, n);
        ncsl_store_secret_info *items = NULL;
        assert_int_equal(ncsl_store_secret_list(s, f->alice, &items, &n, &err), NCSL_OK);
        ncsl_store_secret_info_free(items, n);
        raw_restore(f->raw, "secrets", "value", wa, &orig);
        secret_is(s, f->alice, "A", "alpha-value");
    }

    /* Swapped between two names: both fail. */
    raw_swap(f->raw, "secrets", "value", wa, wb);
    secret_tampered(s, f->alice, "A");
    secret_tampered(s, f->alice, "B");
    raw_swap(f->raw, "secrets", "value", wa, wb);
    secret_is(s, f->alice, "A", "alpha-value");

    /* Moved to another user, or renamed: the label no longer matches. */
    char sql[256];
    snprintf(sql, sizeof(sql), "UPDATE secrets SET user_id = '%s' WHERE %s", f->bob, wc);
    stu_raw_exec(f->raw, sql);
    secret_tampered(s, f->bob, "C");
    snprintf(sql, sizeof(sql), "UPDATE secrets SET name = 'D' WHERE %s", wb);
    stu_raw_exec(f->raw, sql);
    secret_tampered(s, f->alice, "D");
    snprintf(sql, sizeof(sql), "UPDATE secrets SET name = 'B' WHERE user_id = '%s' AND name = 'D'",
             f->alice);
    stu_raw_exec(f->raw, sql);
    secret_is(s, f->alice, "B", "bravo-value");

    /* The clear size column is checked against the sealed value. */
    snprintf(sql, sizeof(sql), "UPDATE secrets SET size = 3 WHERE %s", wa);
    stu_raw_exec(f->raw, sql);
    secret_tampered(s, f->alice, "A");
    snprintf(sql, sizeof(sql), "UPDATE secrets SET size = 11 WHERE %s", wa);
    stu_raw_exec(f->raw, sql);

    /* Not a sealed blob at all: too short, or a foreign format. */
    const uint8_t junk[] = {0};
    raw_put(f->raw, "secrets", "value", wa, junk, 1);
    secret_tampered(s, f->alice, "A");
    const char *text = "this is definitely not a sealed blob, just some text";
    raw_put(f->raw, "secrets", "value", wa, (const uint8_t *)text, strlen(text));
    secret_tampered(s, f->alice, "A");

    /* The store kept working throughout; SQLite's own structure is fine. */
    assert_int_equal(ncsl_store_check(s, &err), NCSL_OK);
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "A", "new", 3, 0, NULL, &err), NCSL_OK);
    secret_is(s, f->alice, "A", "new");
}

/* ------------------------------------------------------------------------- functions */

static void test_tamper_functions(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_err err;
    const char *code1 = "function main() { return 1; }";
    const char *code2 = "function main() { return 2; }";
    ncsl_store_function_spec spec = {.name = "f",
                                     .code = code1,
                                     .code_len = strlen(code1),
                                     .description = "the description",
                                     .required_secrets_json = "[\"A\"]",
                                     .limits_json = "{\"timeoutMs\": 100}"};
    ncsl_store_function fn;
    assert_int_equal(ncsl_store_function_create(s, f->alice, &spec, &fn, &err), NCSL_OK);
    char id[NCSL_STORE_ID_SIZE];
    memcpy(id, fn.id, sizeof(id));
    ncsl_store_function_cleanup(&fn);
    spec.name = NULL;
    spec.code = code2;
    assert_int_equal(ncsl_store_function_update(s, f->alice, id, &spec, NULL, &err), NCSL_OK);

    char w1[160], w2[160], sql[320];
    snprintf(w1, sizeof(w1), "function_id = '%s' AND version = 1", id);
    snprintf(w2, sizeof(w2), "function_id = '%s' AND version = 2", id);

    blob orig = raw_flip(f->raw, "function_versions", "code", w2, 30);
    fn_tampered(s, f->alice, id, 0);
    fn_ok(s, f->alice, id, 1, code1);
    raw_restore(f->raw, "function_versions", "code", w2, &orig);
    fn_ok(s, f->alice, id, 0, code2);

    raw_swap(f->raw, "function_versions", "code", w1, w2);
    fn_tampered(s, f->alice, id, 1);
    fn_tampered(s, f->alice, id, 2);
    raw_swap(f->raw, "function_versions", "code", w1, w2);
    fn_ok(s, f->alice, id, 2, code2);

    /* Clear metadata bound to the sealed code: editing any of it breaks the seal. */
    static const char *const edits[][2] = {
        {"description", "'an edited description'"},
        {"required_secrets", "NULL"},
        {"limits", "'{\"timeoutMs\": 999999}'"},
        {"code_hash", "'0000000000000000000000000000000000000000000000000000000000000000'"},
        {"code_size", "5"},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        blob keep = raw_get(f->raw, "function_versions", edits[i][0], w2);
        int type = 0;
        {
            sqlite3_stmt *q = NULL;
            snprintf(sql, sizeof(sql), "SELECT typeof(%s) FROM function_versions WHERE %s",
                     edits[i][0], w2);
            assert_int_equal(sqlite3_prepare_v2(f->raw, sql, -1, &q, NULL), SQLITE_OK);
            assert_int_equal(sqlite3_step(q), SQLITE_ROW);
            type = strcmp((const char *)sqlite3_column_text(q, 0), "integer") == 0 ? 1 : 0;
            sqlite3_finalize(q);
        }
        snprintf(sql, sizeof(sql), "UPDATE function_versions SET %s = %s WHERE %s", edits[i][0],
                 edits[i][1], w2);
        stu_raw_exec(f->raw, sql);
        fn_tampered(s, f->alice, id, 2);
        /* Put the original back (integers as integers, text as text). */
        sqlite3_stmt *q = NULL;
        snprintf(sql, sizeof(sql), "UPDATE function_versions SET %s = ?1 WHERE %s", edits[i][0],
                 w2);
        assert_int_equal(sqlite3_prepare_v2(f->raw, sql, -1, &q, NULL), SQLITE_OK);
        if (type) {
            keep.data[keep.len] = 0;
            sqlite3_bind_int64(q, 1, strtoll((const char *)keep.data, NULL, 10));
        } else {
            sqlite3_bind_text(q, 1, (const char *)keep.data, (int)keep.len, SQLITE_STATIC);
        }
        assert_int_equal(sqlite3_step(q), SQLITE_DONE);
        sqlite3_finalize(q);
        free(keep.data);
        fn_ok(s, f->alice, id, 2, code2);
    }

    /* Listing shows clear metadata only and keeps working. */
    ncsl_store_function_page page;
    assert_int_equal(ncsl_store_function_list(s, f->alice, 0, NULL, &page, &err), NCSL_OK);
    assert_int_equal(page.count, 1);
    ncsl_store_function_page_cleanup(&page);
}

/* ------------------------------------------------------------------------- storage */

static void test_tamper_storage(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_err err;
    char fa[NCSL_STORE_ID_SIZE], fb[NCSL_STORE_ID_SIZE];
    stu_function(s, f->alice, "a", "function main() {}", fa);
    stu_function(s, f->alice, "b", "function main() {}", fb);
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fa, "k1", "value-one", 9, 0, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fa, "k2", "value-two", 9, 0, &err), NCSL_OK);

    /* Rows are found by keyed hash; the test finds them by size order instead. */
    char w1[200], w2[200], sql[400];
    snprintf(w1, sizeof(w1),
             "rowid = (SELECT rowid FROM kv WHERE function_id = '%s' ORDER BY "
             "rowid LIMIT 1)",
             fa);
    snprintf(w2, sizeof(w2),
             "rowid = (SELECT rowid FROM kv WHERE function_id = '%s' ORDER BY "
             "rowid LIMIT 1 OFFSET 1)",
             fa);

    blob orig = raw_flip(f->raw, "kv", "value", w1, 33);
    kv_is(s, f->alice, fa, "k1", NCSL_E_STORE_INTEGRITY, NULL);
    kv_is(s, f->alice, fa, "k2", NCSL_OK, "value-two");
    char **keys = NULL;
    size_t count = 0;
    assert_int_equal(ncsl_store_kv_list(s, f->alice, fa, NULL, &keys, &count, &err),
                     NCSL_E_STORE_INTEGRITY);
    assert_null(keys);
    raw_restore(f->raw, "kv", "value", w1, &orig);
    kv_is(s, f->alice, fa, "k1", NCSL_OK, "value-one");

    raw_swap(f->raw, "kv", "value", w1, w2);
    kv_is(s, f->alice, fa, "k1", NCSL_E_STORE_INTEGRITY, NULL);
    kv_is(s, f->alice, fa, "k2", NCSL_E_STORE_INTEGRITY, NULL);
    raw_swap(f->raw, "kv", "value", w1, w2);

    snprintf(sql, sizeof(sql), "UPDATE kv SET size = size + 1 WHERE %s", w1);
    stu_raw_exec(f->raw, sql);
    kv_is(s, f->alice, fa, "k1", NCSL_E_STORE_INTEGRITY, NULL);
    snprintf(sql, sizeof(sql), "UPDATE kv SET size = size - 1 WHERE %s", w1);
    stu_raw_exec(f->raw, sql);
    kv_is(s, f->alice, fa, "k1", NCSL_OK, "value-one");

    /* A row copied into another function of the same user is refused there. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO kv (user_id, function_id, key_id, value, size, created_at, updated_at)"
             " SELECT user_id, '%s', key_id, value, size, created_at, updated_at FROM kv"
             " WHERE function_id = '%s'",
             fb, fa);
    stu_raw_exec(f->raw, sql);
    assert_int_equal(ncsl_store_kv_list(s, f->alice, fb, NULL, &keys, &count, &err),
                     NCSL_E_STORE_INTEGRITY);
    assert_non_null(strstr(err.message, fb));
    kv_is(s, f->alice, fb, "k1", NCSL_OK, NULL); /* its key id differs: simply absent */
    assert_int_equal(ncsl_store_kv_list(s, f->alice, fa, NULL, &keys, &count, &err), NCSL_OK);
    assert_int_equal(count, 2);
    ncsl_store_kv_keys_free(keys, count);
}

/* ------------------------------------------------------------------------- system */

static void test_tamper_system(void **state) {
    fixture *f = *state;
    ncsl_err err;
    uint8_t *v = NULL;
    size_t n = 0;
    assert_int_equal(ncsl_store_system_put(f->store, "one", "first", 5, &err), NCSL_OK);
    assert_int_equal(ncsl_store_system_put(f->store, "two", "second", 6, &err), NCSL_OK);
    raw_swap(f->raw, "system", "value", "name = 'one'", "name = 'two'");
    assert_int_equal(ncsl_store_system_get(f->store, "one", &v, &n, &err), NCSL_E_STORE_INTEGRITY);
    assert_non_null(strstr(err.message, "system record \"one\""));
    raw_swap(f->raw, "system", "value", "name = 'one'", "name = 'two'");
    assert_int_equal(ncsl_store_system_get(f->store, "one", &v, &n, &err), NCSL_OK);
    ncsl_store_value_free(v, n);
}

/* ------------------------------------------------------------------------- the file itself */

static void test_tamper_file_bytes(void **state) {
    fixture *f = *state;
    ncsl_err err;
    assert_int_equal(
        ncsl_store_secret_put(f->store, f->alice, "FILE", "a value in the file", 19, 0, NULL, &err),
        NCSL_OK);
    assert_int_equal(
        ncsl_store_secret_put(f->store, f->alice, "OTHER", "another", 7, 0, NULL, &err), NCSL_OK);
    char where[160];
    snprintf(where, sizeof(where), "user_id = '%s' AND name = 'FILE'", f->alice);
    blob b = raw_get(f->raw, "secrets", "value", where);

    /* Close everything so the WAL is checkpointed into ncsl.db, then edit the file. */
    sqlite3_close(f->raw);
    f->raw = NULL;
    ncsl_store_close(f->store);
    f->store = NULL;
    char *db = ncsl_test_path(f->dir, "ncsl.db");
    size_t len = 0;
    uint8_t *file = ncsl_test_read_file_if_exists(db, &len);
    assert_non_null(file);
    const uint8_t *at = memmem(file, len, b.data, b.len);
    assert_non_null(at);
    assert_null(memmem(at + 1, len - (size_t)(at - file) - 1, b.data, b.len)); /* just once */
    off_t off = (off_t)(at - file) + 26; /* a ciphertext byte */
    uint8_t byte = (uint8_t)(file[off] ^ 0x40);
    int fd = open(db, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, &byte, 1, off), 1);
    close(fd);

    f->store = stu_open_store(f->tee, f->dir, NULL);
    f->raw = stu_raw_open(f->dir);
    secret_tampered(f->store, f->alice, "FILE");
    secret_is(f->store, f->alice, "OTHER", "another");
    free(b.data);
    free(file);
    free(db);
}

/* ------------------------------------------------------------------------- installations */

static void test_foreign_installation(void **unused) {
    char *a = ncsl_test_tmpdir_make("ncsl-store-inst-a");
    char *b = ncsl_test_tmpdir_make("ncsl-store-inst-b");
    ncsl_tee *tee_a = ncsl_test_open_sim_tee(a);
    ncsl_tee *tee_b = ncsl_test_open_sim_tee(b); /* another platform secret: another installation */
    ncsl_store *s = stu_open_store(tee_a, a, NULL);
    char uid[NCSL_STORE_ID_SIZE];
    ncsl_err err;
    stu_user(s, "u", uid);
    assert_int_equal(ncsl_store_secret_put(s, uid, "S", "v", 1, 0, NULL, &err), NCSL_OK);
    ncsl_store_close(s);

    /* The whole database taken to B. */
    char *from = ncsl_test_path(a, "ncsl.db"), *to = ncsl_test_path(b, "ncsl.db");
    size_t len = 0;
    uint8_t *data = ncsl_test_read_file_if_exists(from, &len);
    FILE *fp = fopen(to, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
    ncsl_store_options o;
    ncsl_store_options_default(&o);
    o.data_dir = b;
    assert_int_equal(ncsl_store_open(tee_b, &o, &s, &err), NCSL_E_STORE_FOREIGN);
    assert_null(s);
    assert_non_null(strstr(err.message, "another installation"));
    assert_string_equal(ncsl_status_code(NCSL_E_STORE_FOREIGN), "INTERNAL_ERROR");

    /* A fresh store under MRENCLAVE works too, and is refused under MRSIGNER. */
    unlink(to);
    o.policy = NCSL_SEAL_POLICY_MRENCLAVE;
    s = stu_open_store(tee_b, b, &o);
    assert_int_equal(ncsl_store_policy(s), NCSL_SEAL_POLICY_MRENCLAVE);
    char ub[NCSL_STORE_ID_SIZE];
    stu_user(s, "u", ub);
    assert_int_equal(ncsl_store_secret_put(s, ub, "S", "enclave", 7, 0, NULL, &err), NCSL_OK);
    secret_is(s, ub, "S", "enclave");
    ncsl_store_close(s);
    ncsl_store_options_default(&o);
    o.data_dir = b;
    assert_int_equal(ncsl_store_open(tee_b, &o, &s, &err), NCSL_E_STORE_FOREIGN);
    assert_non_null(strstr(err.message, "MRENCLAVE"));

    ncsl_tee_close(tee_a);
    ncsl_tee_close(tee_b);
    ncsl_test_tmpdir_remove(a);
    ncsl_test_tmpdir_remove(b);
    free(data);
    free(from);
    free(to);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_reveal_nothing),
        cmocka_unit_test_setup_teardown(test_tamper_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_storage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_system, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tamper_file_bytes, setup, teardown),
        cmocka_unit_test(test_foreign_installation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
