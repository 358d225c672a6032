/*
 * The store's API on the SQLite backend: opening (WAL, synchronous=FULL, foreign keys, busy
 * timeout, file modes, schema version table, migrations in a transaction, refusing foreign and
 * newer databases), users, API keys, functions and their versions, secrets, per-function
 * storage with atomic batches and quotas, system blobs, owner scoping (another user's ids are
 * NOT_FOUND), cascading deletes, and concurrent use from many threads.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/sha.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/store_int.h"
#include "store_test_util.h"

typedef stu_fixture fixture;

static int setup(void **state) {
    return stu_fixture_setup(state, "ncsl-store-api");
}

static int teardown(void **state) {
    return stu_fixture_teardown(state);
}

static void file_mode_is(const char *dir, const char *name, unsigned mode) {
    char *p = ncsl_test_path(dir, name);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    if ((sb.st_mode & 0777) != mode) {
        fprintf(stderr, "%s has mode %03o\n", p, (unsigned)(sb.st_mode & 0777));
    }
    assert_int_equal(sb.st_mode & 0777, mode);
    free(p);
}

static void pragma_is(ncsl_store *s, const char *name, const char *want) {
    char v[64];
    ncsl_err err;
    assert_int_equal(ncsl__store_test_pragma(s, name, v, sizeof(v), &err), NCSL_OK);
    assert_string_equal(v, want);
}

/* ------------------------------------------------------------------------- open */

static void test_open_settings_and_files(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-store-open");
    char *data = ncsl_test_path(dir, "data"); /* does not exist yet: the store makes it */
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    mode_t old = umask(0); /* a careless umask must not leak into the files' modes */
    ncsl_store *s = stu_open_store(tee, data, NULL);
    umask(old);

    assert_true(ncsl_store_created(s));
    assert_string_equal(ncsl_store_backend(s), "sqlite");
    char *db = ncsl_test_path(data, "ncsl.db");
    assert_string_equal(ncsl_store_location(s), db);
    assert_int_equal(ncsl_store_schema_version(s), 1);
    assert_int_equal(ncsl_store_policy(s), NCSL_SEAL_POLICY_MRSIGNER);
    pragma_is(s, "journal_mode", "wal");
    pragma_is(s, "synchronous", "2"); /* FULL */
    pragma_is(s, "foreign_keys", "1");
    pragma_is(s, "busy_timeout", "5000");
    pragma_is(s, "application_id", "1313035084"); /* "NCSL" */

    char uid[NCSL_STORE_ID_SIZE];
    stu_user(s, "someone", uid); /* a write, so -wal and -shm exist */
    file_mode_is(dir, "data", 0700);
    file_mode_is(data, "ncsl.db", 0600);
    file_mode_is(data, "ncsl.db-wal", 0600);
    file_mode_is(data, "ncsl.db-shm", 0600);

    sqlite3 *raw = stu_raw_open(data);
    assert_int_equal(stu_raw_int(raw, "SELECT count(*) FROM schema_version"), 1);
    assert_int_equal(stu_raw_int(raw, "SELECT max(version) FROM schema_version"), 1);
    assert_true(stu_raw_int(raw, "SELECT applied_at FROM schema_version") > 0);
    sqlite3_close(raw);
    assert_int_equal(ncsl_store_check(s, NULL), NCSL_OK);
    ncsl_store_close(s);
    ncsl_store_close(NULL);

    /* Reopen: not created, same data; a loosened file mode is tightened again. */
    assert_int_equal(chmod(db, 0644), 0);
    s = stu_open_store(tee, data, NULL);
    assert_false(ncsl_store_created(s));
    file_mode_is(data, "ncsl.db", 0600);
    ncsl_store_user u;
    assert_int_equal(ncsl_store_user_get(s, uid, &u, NULL), NCSL_OK);
    assert_string_equal(u.name, "someone");
    ncsl_store_user_cleanup(&u);
    ncsl_store_close(s);

    /* Options: policy is fixed at creation; unknown backends; no TEE. */
    ncsl_store_options o;
    ncsl_err err;
    ncsl_store_options_default(&o);
    o.data_dir = data;
    o.policy = NCSL_SEAL_POLICY_MRENCLAVE;
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_STORE_FOREIGN);
    assert_null(s);
    assert_non_null(strstr(err.message, "MRSIGNER"));
    ncsl_store_options_default(&o);
    o.data_dir = data;
    o.backend = "postgres";
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_UNSUPPORTED);
    assert_int_equal(ncsl_store_open(NULL, NULL, &s, &err), NCSL_E_INVALID_ARG);
    ncsl_store_options_default(&o);
    o.data_dir = db; /* a file, not a directory */
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_IO);
    ncsl_store_options_default(&o);
    o.data_dir = data;
    o.connections = 1000;
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_INVALID_ARG);

    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
    free(db);
    free(data);
}

static void test_open_refuses_foreign_files(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-store-foreign");
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    char *db = ncsl_test_path(dir, "ncsl.db");
    ncsl_store_options o;
    ncsl_store *s = NULL;
    ncsl_err err;
    ncsl_store_options_default(&o);
    o.data_dir = dir;

    /* Not an SQLite file at all. */
    FILE *fp = fopen(db, "wb");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++) {
        fputc('x', fp);
    }
    fclose(fp);
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_STORE_SCHEMA);
    assert_non_null(strstr(err.message, "not an NCSL database"));
    unlink(db);

    /* Another program's SQLite database: refused, not migrated. */
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    stu_raw_exec(raw, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INTEGER)");
    sqlite3_close(raw);
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_STORE_SCHEMA);
    raw = stu_raw_open(dir);
    assert_int_equal(stu_raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"),
                     1);
    sqlite3_close(raw);

    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
    free(db);
}

static void test_migrations_are_transactional(void **unused) {
    char *dir = ncsl_test_tmpdir_make("ncsl-store-migrate");
    ncsl_tee *tee = ncsl_test_open_sim_tee(dir);
    ncsl_store_options o;
    ncsl_store *s = NULL;
    ncsl_err err;

    /* Version 2 creates a table and then fails: nothing of it may stay. */
    const ncsl__store_migration *v1 = &ncsl__store_sqlite_migrations.items[0];
    ncsl__store_migration bad[] = {
        *v1, {2, "CREATE TABLE extra (a INTEGER) STRICT; INSERT INTO no_such_table VALUES (1);"}};
    ncsl__store_migration_set bad_set = {bad, 2};
    ncsl__store_migration good[] = {
        *v1, {2, "CREATE TABLE extra (a INTEGER) STRICT; INSERT INTO extra VALUES (7);"}};
    ncsl__store_migration_set good_set = {good, 2};
    ncsl__store_migration gap[] = {*v1, {3, "SELECT 1"}};
    ncsl__store_migration_set gap_set = {gap, 2};

    s = stu_open_store(tee, dir, NULL); /* schema 1, with a user */
    char uid[NCSL_STORE_ID_SIZE];
    stu_user(s, "kept", uid);
    ncsl_store_close(s);

    ncsl_store_options_default(&o);
    o.data_dir = dir;
    o.test_migrations = &bad_set;
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_STORE_SCHEMA);
    assert_non_null(strstr(err.message, "schema version 2"));
    sqlite3 *raw = stu_raw_open(dir);
    assert_int_equal(stu_raw_int(raw, "SELECT count(*) FROM sqlite_schema WHERE name = 'extra'"),
                     0);
    assert_int_equal(stu_raw_int(raw, "SELECT max(version) FROM schema_version"), 1);
    sqlite3_close(raw);

    o.test_migrations = &gap_set;
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_INTERNAL);

    o.test_migrations = &good_set;
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_OK);
    assert_int_equal(ncsl_store_schema_version(s), 2);
    ncsl_store_user u;
    assert_int_equal(ncsl_store_user_get(s, uid, &u, NULL), NCSL_OK);
    ncsl_store_user_cleanup(&u);
    ncsl_store_close(s);
    raw = stu_raw_open(dir);
    assert_int_equal(stu_raw_int(raw, "SELECT a FROM extra"), 7);
    assert_int_equal(stu_raw_int(raw, "SELECT count(*) FROM schema_version"), 2);
    sqlite3_close(raw);

    /* This build knows schema 1 only: a database at 2 came from a newer NCSL. */
    ncsl_store_options_default(&o);
    o.data_dir = dir;
    assert_int_equal(ncsl_store_open(tee, &o, &s, &err), NCSL_E_STORE_SCHEMA);
    assert_non_null(strstr(err.message, "newer"));

    ncsl_tee_close(tee);
    ncsl_test_tmpdir_remove(dir);
}

/* ------------------------------------------------------------------------- users */

static void test_users(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_store_user u;
    ncsl_err err;

    assert_int_equal(ncsl_store_user_get(s, f->alice, &u, &err), NCSL_OK);
    assert_string_equal(u.id, f->alice);
    assert_string_equal(u.name, "alice");
    assert_false(u.disabled);
    assert_true(u.created_at_ms > 1600000000000LL);
    ncsl_store_user_cleanup(&u);

    assert_int_equal(ncsl_store_user_create(s, "", &u, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "name");
    assert_int_equal(ncsl_store_user_create(s, "a\nb", &u, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_store_user_create(s, NULL, &u, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_store_user_get(s, "not-an-id", &u, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_user_get(s, "00000000-0000-4000-8000-000000000000", &u, &err),
                     NCSL_E_NOT_FOUND);

    /* 5 more users: 7 in all, paged by 3 in (created_at, id) order, each exactly once. */
    char ids[7][NCSL_STORE_ID_SIZE];
    memcpy(ids[0], f->alice, NCSL_STORE_ID_SIZE);
    memcpy(ids[1], f->bob, NCSL_STORE_ID_SIZE);
    for (int i = 2; i < 7; i++) {
        char name[16];
        snprintf(name, sizeof(name), "user%d", i);
        stu_user(s, name, ids[i]);
    }
    char cursor[NCSL_STORE_CURSOR_SIZE] = "";
    int seen = 0, pages = 0, mask = 0;
    int64_t last_t = -1;
    char last_id[NCSL_STORE_ID_SIZE] = "";
    for (;;) {
        ncsl_store_user_page page;
        assert_int_equal(ncsl_store_user_list(s, 3, cursor, &page, &err), NCSL_OK);
        pages++;
        for (size_t i = 0; i < page.count; i++) {
            const ncsl_store_user *it = &page.items[i];
            assert_true(it->created_at_ms > last_t ||
                        (it->created_at_ms == last_t && strcmp(it->id, last_id) > 0));
            last_t = it->created_at_ms;
            memcpy(last_id, it->id, sizeof(last_id));
            for (int j = 0; j < 7; j++) {
                if (strcmp(ids[j], it->id) == 0) {
                    assert_int_equal(mask & (1 << j), 0);
                    mask |= 1 << j;
                }
            }
            seen++;
        }
        snprintf(cursor, sizeof(cursor), "%s", page.next_cursor);
        ncsl_store_user_page_cleanup(&page);
        if (!cursor[0]) {
            break;
        }
    }
    assert_int_equal(seen, 7);
    assert_int_equal(mask, 0x7f);
    assert_int_equal(pages, 3);
    ncsl_store_user_page page;
    assert_int_equal(ncsl_store_user_list(s, 0, NULL, &page, &err), NCSL_OK);
    assert_int_equal(page.count, 7);
    assert_string_equal(page.next_cursor, "");
    ncsl_store_user_page_cleanup(&page);
    assert_int_equal(ncsl_store_user_list(s, 2, "garbage", &page, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "cursor");
    ncsl_store_user_page_cleanup(&page);

    assert_int_equal(ncsl_store_user_set_disabled(s, ids[3], true, &err), NCSL_OK);
    assert_int_equal(ncsl_store_user_get(s, ids[3], &u, &err), NCSL_OK);
    assert_true(u.disabled);
    ncsl_store_user_cleanup(&u);
    assert_int_equal(ncsl_store_user_delete(s, ids[3], &err), NCSL_OK);
    assert_int_equal(ncsl_store_user_get(s, ids[3], &u, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_user_delete(s, ids[3], &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_user_set_disabled(s, ids[3], false, &err), NCSL_E_NOT_FOUND);
}

/* ------------------------------------------------------------------------- API keys */

static void test_api_keys(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_store_api_key info, got;
    char key[NCSL_STORE_API_KEY_SIZE], key2[NCSL_STORE_API_KEY_SIZE];
    ncsl_err err;

    assert_int_equal(ncsl_store_api_key_create(s, f->alice, &info, key, &err), NCSL_OK);
    assert_int_equal(strlen(key), NCSL_STORE_API_KEY_LEN);
    assert_memory_equal(key, "ncsl_", 5);
    assert_string_equal(info.user_id, f->alice);
    assert_int_equal(strncmp(info.prefix, key, NCSL_STORE_API_KEY_DISPLAY_LEN), 0);
    assert_int_equal(strlen(info.prefix), NCSL_STORE_API_KEY_DISPLAY_LEN);
    assert_int_equal(info.revoked_at_ms, 0);
    assert_int_equal(ncsl_store_api_key_create(s, f->alice, NULL, key2, &err), NCSL_OK);
    assert_string_not_equal(key, key2);

    assert_int_equal(ncsl_store_api_key_lookup(s, key, &got, &err), NCSL_OK);
    assert_string_equal(got.id, info.id);
    assert_string_equal(got.user_id, f->alice);

    /* Wrong, malformed and absent keys all fail the same way. */
    char wrong[NCSL_STORE_API_KEY_SIZE];
    memcpy(wrong, key, sizeof(wrong));
    wrong[20] = wrong[20] == 'A' ? 'B' : 'A';
    assert_int_equal(ncsl_store_api_key_lookup(s, wrong, &got, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_api_key_lookup(s, "ncsl_short", &got, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_api_key_lookup(s, "", &got, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_api_key_lookup(s, NULL, &got, &err), NCSL_E_NOT_FOUND);

    /* Only a keyed hash is stored: neither the key nor its plain SHA-256 is in the file. */
    uint8_t sha[32];
    SHA256((const unsigned char *)key, strlen(key), sha);
    assert_false(stu_db_files_contain(f->dir, key, strlen(key)));
    assert_false(stu_db_files_contain(f->dir, key + 5, 20));
    assert_false(stu_db_files_contain(f->dir, sha, sizeof(sha)));
    assert_true(stu_db_files_contain(f->dir, info.prefix, strlen(info.prefix)));

    ncsl_store_api_key *items = NULL;
    size_t n = 0;
    assert_int_equal(ncsl_store_api_key_list(s, f->alice, &items, &n, &err), NCSL_OK);
    assert_int_equal(n, 2);
    /* (created_at, id) order: two keys made in the same millisecond are ordered by id. */
    size_t first = strcmp(items[0].id, info.id) == 0 ? 0 : 1;
    assert_string_equal(items[first].id, info.id);
    assert_true(
        items[0].created_at_ms < items[1].created_at_ms ||
        (items[0].created_at_ms == items[1].created_at_ms && strcmp(items[0].id, items[1].id) < 0));
    free(items);
    assert_int_equal(ncsl_store_api_key_list(s, f->bob, &items, &n, &err), NCSL_OK);
    assert_int_equal(n, 0);
    assert_null(items);

    /* Bob cannot revoke Alice's key; Alice can, twice. */
    assert_int_equal(ncsl_store_api_key_revoke(s, f->bob, info.id, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_api_key_lookup(s, key, &got, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_revoke(s, f->alice, info.id, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_lookup(s, key, &got, &err), NCSL_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "revoked"));
    assert_int_equal(ncsl_store_api_key_revoke(s, f->alice, info.id, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_list(s, f->alice, &items, &n, &err), NCSL_OK);
    assert_true(items[first].revoked_at_ms > 0);
    assert_int_equal(items[1 - first].revoked_at_ms, 0);
    free(items);

    /* A disabled user's keys do not authenticate. */
    assert_int_equal(ncsl_store_user_set_disabled(s, f->alice, true, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_lookup(s, key2, &got, &err), NCSL_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "disabled"));
    assert_int_equal(ncsl_store_user_set_disabled(s, f->alice, false, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_lookup(s, key2, &got, &err), NCSL_OK);

    assert_int_equal(
        ncsl_store_api_key_create(s, "00000000-0000-4000-8000-000000000000", NULL, key, &err),
        NCSL_E_NOT_FOUND);
    assert_string_equal(err.field, "user_id");
    assert_string_equal(key, ""); /* wiped */

    /* The key survives a restart (the hash key is derived from the TEE, not random). */
    ncsl_store_close(f->store);
    f->store = s = stu_open_store(f->tee, f->dir, NULL);
    assert_int_equal(ncsl_store_api_key_lookup(s, key2, &got, &err), NCSL_OK);
    assert_string_equal(got.user_id, f->alice);
}

/* ------------------------------------------------------------------------- functions */

static void sha256_hex(const char *s, size_t n, char out[65]) {
    uint8_t d[32];
    SHA256((const unsigned char *)s, n, d);
    for (int i = 0; i < 32; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
}

static void test_functions(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_err err;
    const char *code1 = "function main(input) { return input.x + 1; }";
    const char *code2 = "async function main(input) { return SECRETS.K; }";
    ncsl_store_function_spec spec = {
        .name = "adder",
        .code = code1,
        .code_len = strlen(code1),
        .description = "adds one",
        .required_secrets_json = "[\"K\"]",
        .limits_json = "{\"timeoutMs\": 100}",
    };
    ncsl_store_function fn, got;
    char hex[65];

    assert_int_equal(ncsl_store_function_create(s, f->alice, &spec, &fn, &err), NCSL_OK);
    sha256_hex(code1, strlen(code1), hex);
    assert_string_equal(fn.code_hash, hex);
    assert_int_equal(fn.version, 1);
    assert_int_equal(fn.latest_version, 1);
    assert_null(fn.code);
    assert_string_equal(fn.name, "adder");
    assert_string_equal(fn.user_id, f->alice);
    assert_int_equal(fn.code_size, strlen(code1));
    char id[NCSL_STORE_ID_SIZE];
    memcpy(id, fn.id, sizeof(id));
    ncsl_store_function_cleanup(&fn);

    assert_int_equal(ncsl_store_function_get(s, f->alice, id, 0, &got, &err), NCSL_OK);
    assert_string_equal(got.code, code1);
    assert_string_equal(got.code_hash, hex);
    assert_string_equal(got.description, "adds one");
    assert_string_equal(got.required_secrets_json, "[\"K\"]");
    assert_string_equal(got.limits_json, "{\"timeoutMs\": 100}");
    assert_int_equal(got.created_at_ms, got.updated_at_ms);
    ncsl_store_function_cleanup(&got);

    /* Bob: not found, for every operation. */
    assert_int_equal(ncsl_store_function_get(s, f->bob, id, 0, &got, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_function_update(s, f->bob, id, &spec, NULL, &err),
                     NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_function_delete(s, f->bob, id, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_function_get(s, f->alice, "nope", 0, &got, &err), NCSL_E_NOT_FOUND);

    /* Names are unique per user only. */
    assert_int_equal(ncsl_store_function_create(s, f->alice, &spec, NULL, &err),
                     NCSL_E_STORE_CONFLICT);
    assert_string_equal(err.field, "name");
    char bob_fn[NCSL_STORE_ID_SIZE];
    stu_function(s, f->bob, "adder", "function main() {}", bob_fn);

    /* Metadata of the wrong shape. */
    ncsl_store_function_spec bad = spec;
    bad.name = "other";
    bad.required_secrets_json = "{\"K\": 1}";
    assert_int_equal(ncsl_store_function_create(s, f->alice, &bad, NULL, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "required_secrets");
    bad.required_secrets_json = "[\"K\", 3]";
    assert_int_equal(ncsl_store_function_create(s, f->alice, &bad, NULL, &err), NCSL_E_INVALID_ARG);
    bad.required_secrets_json = NULL;
    bad.limits_json = "[1]";
    assert_int_equal(ncsl_store_function_create(s, f->alice, &bad, NULL, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "limits");
    bad.limits_json = "{not json";
    assert_int_equal(ncsl_store_function_create(s, f->alice, &bad, NULL, &err), NCSL_E_INVALID_ARG);
    bad.limits_json = NULL;
    bad.code_len = 0;
    assert_int_equal(ncsl_store_function_create(s, f->alice, &bad, NULL, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "code");

    /* Update: version 2 with new code and no description; version 1 stays readable. */
    ncsl_store_function_spec v2 = {.code = code2, .code_len = strlen(code2)};
    assert_int_equal(ncsl_store_function_update(s, f->alice, id, &v2, &fn, &err), NCSL_OK);
    assert_int_equal(fn.version, 2);
    assert_string_equal(fn.name, "adder");
    ncsl_store_function_cleanup(&fn);
    assert_int_equal(ncsl_store_function_get(s, f->alice, id, 0, &got, &err), NCSL_OK);
    assert_int_equal(got.version, 2);
    assert_int_equal(got.latest_version, 2);
    assert_string_equal(got.code, code2);
    assert_null(got.description);
    assert_true(got.updated_at_ms >= got.created_at_ms);
    ncsl_store_function_cleanup(&got);
    assert_int_equal(ncsl_store_function_get(s, f->alice, id, 1, &got, &err), NCSL_OK);
    assert_int_equal(got.version, 1);
    assert_int_equal(got.latest_version, 2);
    assert_string_equal(got.code, code1);
    assert_string_equal(got.description, "adds one");
    ncsl_store_function_cleanup(&got);
    assert_int_equal(ncsl_store_function_get(s, f->alice, id, 3, &got, &err), NCSL_E_NOT_FOUND);

    /* Rename on update; renaming onto a taken name conflicts and changes nothing. */
    char other[NCSL_STORE_ID_SIZE];
    stu_function(s, f->alice, "second", "function main() { return 2; }", other);
    v2.name = "second";
    assert_int_equal(ncsl_store_function_update(s, f->alice, id, &v2, NULL, &err),
                     NCSL_E_STORE_CONFLICT);
    assert_string_equal(err.field, "name");
    v2.name = "renamed";
    assert_int_equal(ncsl_store_function_update(s, f->alice, id, &v2, &fn, &err), NCSL_OK);
    assert_int_equal(fn.version, 3); /* the failed rename made no version */
    assert_string_equal(fn.name, "renamed");
    ncsl_store_function_cleanup(&fn);

    /* List: Alice's functions only, latest versions, no code, paged. */
    for (int i = 0; i < 3; i++) {
        char name[16], fid[NCSL_STORE_ID_SIZE];
        snprintf(name, sizeof(name), "more%d", i);
        stu_function(s, f->alice, name, "function main() {}", fid);
    }
    ncsl_store_function_page page;
    char cursor[NCSL_STORE_CURSOR_SIZE] = "";
    int seen = 0;
    do {
        assert_int_equal(ncsl_store_function_list(s, f->alice, 2, cursor, &page, &err), NCSL_OK);
        for (size_t i = 0; i < page.count; i++) {
            assert_string_equal(page.items[i].user_id, f->alice);
            assert_null(page.items[i].code);
            if (strcmp(page.items[i].id, id) == 0) {
                assert_int_equal(page.items[i].version, 3);
                assert_string_equal(page.items[i].name, "renamed");
            }
            seen++;
        }
        snprintf(cursor, sizeof(cursor), "%s", page.next_cursor);
        ncsl_store_function_page_cleanup(&page);
    } while (cursor[0]);
    assert_int_equal(seen, 5);
    assert_int_equal(ncsl_store_function_list(s, f->bob, 0, NULL, &page, &err), NCSL_OK);
    assert_int_equal(page.count, 1);
    assert_string_equal(page.items[0].id, bob_fn);
    ncsl_store_function_page_cleanup(&page);

    /* Delete removes every version. */
    assert_int_equal(ncsl_store_function_delete(s, f->alice, id, &err), NCSL_OK);
    assert_int_equal(ncsl_store_function_get(s, f->alice, id, 1, &got, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_function_delete(s, f->alice, id, &err), NCSL_E_NOT_FOUND);
    sqlite3 *raw = stu_raw_open(f->dir);
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM function_versions WHERE function_id = '%s'",
             id);
    assert_int_equal(stu_raw_int(raw, sql), 0);
    sqlite3_close(raw);
}

/* ------------------------------------------------------------------------- secrets */

static void test_secrets(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_err err;
    bool created = false;
    uint8_t *v = NULL;
    size_t n = 0;

    assert_int_equal(ncsl_store_secret_put(s, f->alice, "API_KEY", "v1", 2, 3, &created, &err),
                     NCSL_OK);
    assert_true(created);
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "API_KEY", "value-2", 7, 3, &created, &err),
                     NCSL_OK);
    assert_false(created);
    assert_int_equal(ncsl_store_secret_get(s, f->alice, "API_KEY", &v, &n, &err), NCSL_OK);
    assert_int_equal(n, 7);
    assert_memory_equal(v, "value-2", 7);
    assert_int_equal(v[7], 0);
    ncsl_store_value_free(v, n);

    /* Binary and empty values round-trip. */
    const uint8_t bin[5] = {0, 1, 0, 255, 7};
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "BIN", bin, 5, 3, NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "EMPTY", "", 0, 3, NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_store_secret_get(s, f->alice, "BIN", &v, &n, &err), NCSL_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(v, bin, 5);
    ncsl_store_value_free(v, n);
    assert_int_equal(ncsl_store_secret_get(s, f->alice, "EMPTY", &v, &n, &err), NCSL_OK);
    assert_int_equal(n, 0);
    assert_non_null(v);
    ncsl_store_value_free(v, n);

    /* The count limit: a 4th name is refused, replacing is not. */
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "FOURTH", "x", 1, 3, &created, &err),
                     NCSL_E_STORE_QUOTA);
    assert_false(created);
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "BIN", "y", 1, 3, NULL, &err), NCSL_OK);
    size_t count = 0;
    assert_int_equal(ncsl_store_secret_count(s, f->alice, &count, &err), NCSL_OK);
    assert_int_equal(count, 3);
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "FOURTH", "x", 1, 0, NULL, &err),
                     NCSL_OK); /* 0: no limit */

    ncsl_store_secret_info *items = NULL;
    assert_int_equal(ncsl_store_secret_list(s, f->alice, &items, &n, &err), NCSL_OK);
    assert_int_equal(n, 4);
    assert_string_equal(items[0].name, "API_KEY");
    assert_int_equal(items[0].size, 7);
    assert_true(items[0].updated_at_ms >= items[0].created_at_ms);
    assert_string_equal(items[1].name, "BIN");
    assert_int_equal(items[1].size, 1);
    assert_string_equal(items[2].name, "EMPTY");
    assert_string_equal(items[3].name, "FOURTH");
    ncsl_store_secret_info_free(items, n);

    /* Loading for an invocation: all, or a selection; absent names are simply absent. */
    ncsl_secret *sec = NULL;
    assert_int_equal(ncsl_store_secret_load(s, f->alice, NULL, 0, &sec, &n, &err), NCSL_OK);
    assert_int_equal(n, 4);
    assert_string_equal(sec[0].name, "API_KEY");
    assert_string_equal(sec[0].value, "value-2");
    assert_int_equal(sec[0].value_len, 7);
    ncsl_store_secrets_free(sec, n);
    const char *want[] = {"FOURTH", "MISSING", "API_KEY"};
    assert_int_equal(ncsl_store_secret_load(s, f->alice, want, 3, &sec, &n, &err), NCSL_OK);
    assert_int_equal(n, 2);
    assert_string_equal(sec[0].name, "API_KEY");
    assert_string_equal(sec[1].name, "FOURTH");
    ncsl_store_secrets_free(sec, n);
    assert_int_equal(ncsl_store_secret_load(s, f->bob, NULL, 0, &sec, &n, &err), NCSL_OK);
    assert_int_equal(n, 0);
    assert_null(sec);

    /* Bob sees none of it. */
    assert_int_equal(ncsl_store_secret_get(s, f->bob, "API_KEY", &v, &n, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_secret_delete(s, f->bob, "API_KEY", &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_secret_list(s, f->bob, &items, &n, &err), NCSL_OK);
    assert_int_equal(n, 0);
    assert_int_equal(ncsl_store_secret_put(s, f->bob, "API_KEY", "bobs", 4, 0, &created, &err),
                     NCSL_OK);
    assert_true(created);
    assert_int_equal(ncsl_store_secret_get(s, f->alice, "API_KEY", &v, &n, &err), NCSL_OK);
    assert_memory_equal(v, "value-2", 7);
    ncsl_store_value_free(v, n);

    assert_int_equal(ncsl_store_secret_delete(s, f->alice, "API_KEY", &err), NCSL_OK);
    assert_int_equal(ncsl_store_secret_get(s, f->alice, "API_KEY", &v, &n, &err), NCSL_E_NOT_FOUND);
    assert_null(v);
    assert_int_equal(ncsl_store_secret_delete(s, f->alice, "API_KEY", &err), NCSL_E_NOT_FOUND);

    assert_int_equal(ncsl_store_secret_put(s, "00000000-0000-4000-8000-000000000000", "X", "v", 1,
                                           0, NULL, &err),
                     NCSL_E_NOT_FOUND);
    assert_string_equal(err.field, "user_id");
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "", "v", 1, 0, NULL, &err),
                     NCSL_E_INVALID_ARG);
    assert_int_equal(
        ncsl_store_secret_put(s, f->alice, "BIG", "v", NCSL_STORE_MAX_VALUE + 1u, 0, NULL, &err),
        NCSL_E_PAYLOAD_TOO_LARGE);
}

/* ------------------------------------------------------------------------- storage */

static void kv_expect(ncsl_store *s, const char *user, const char *fn, const char *key,
                      const char *want) {
    uint8_t *v = NULL;
    size_t n = 0;
    bool found = true;
    ncsl_err err;
    ncsl_status st = ncsl_store_kv_get(s, user, fn, key, &v, &n, &found, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "kv_get %s: %s\n", key, err.message);
    }
    assert_int_equal(st, NCSL_OK);
    if (!want) {
        assert_false(found);
        assert_null(v);
        return;
    }
    assert_true(found);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
    ncsl_store_value_free(v, n);
}

static void test_kv(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_err err;
    char fn[NCSL_STORE_ID_SIZE], fn2[NCSL_STORE_ID_SIZE], bob_fn[NCSL_STORE_ID_SIZE];
    stu_function(s, f->alice, "kv", "function main() {}", fn);
    stu_function(s, f->alice, "kv2", "function main() {}", fn2);
    stu_function(s, f->bob, "kv", "function main() {}", bob_fn);

    kv_expect(s, f->alice, fn, "missing", NULL);
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn, "user:1", "{\"n\":1}", 7, 0, &err),
                     NCSL_OK);
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn, "user:2", "\"two\"", 5, 0, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn, "other", "3", 1, 0, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn, "user:1", "{\"n\":11}", 8, 0, &err),
                     NCSL_OK);
    kv_expect(s, f->alice, fn, "user:1", "{\"n\":11}");
    kv_expect(s, f->alice, fn2, "user:1", NULL); /* another function's data */

    uint64_t bytes = 0;
    size_t count = 0;
    assert_int_equal(ncsl_store_kv_usage(s, f->alice, fn, &bytes, &count, &err), NCSL_OK);
    assert_int_equal(count, 3);
    assert_int_equal(bytes, (6 + 8) + (6 + 5) + (5 + 1));

    char **keys = NULL;
    assert_int_equal(ncsl_store_kv_list(s, f->alice, fn, NULL, &keys, &count, &err), NCSL_OK);
    assert_int_equal(count, 3);
    assert_string_equal(keys[0], "other");
    assert_string_equal(keys[1], "user:1");
    assert_string_equal(keys[2], "user:2");
    ncsl_store_kv_keys_free(keys, count);
    assert_int_equal(ncsl_store_kv_list(s, f->alice, fn, "user:", &keys, &count, &err), NCSL_OK);
    assert_int_equal(count, 2);
    assert_string_equal(keys[0], "user:1");
    ncsl_store_kv_keys_free(keys, count);
    assert_int_equal(ncsl_store_kv_list(s, f->alice, fn, "zzz", &keys, &count, &err), NCSL_OK);
    assert_int_equal(count, 0);
    assert_null(keys);

    /* Bob cannot reach Alice's function's storage, whatever he calls. */
    uint8_t *v = NULL;
    size_t n = 0;
    bool found = false;
    assert_int_equal(ncsl_store_kv_get(s, f->bob, fn, "user:1", &v, &n, &found, &err),
                     NCSL_E_NOT_FOUND);
    assert_string_equal(err.field, "function_id");
    assert_int_equal(ncsl_store_kv_set(s, f->bob, fn, "user:1", "x", 1, 0, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_kv_remove(s, f->bob, fn, "user:1", &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_kv_clear(s, f->bob, fn, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_kv_list(s, f->bob, fn, NULL, &keys, &count, &err),
                     NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_kv_usage(s, f->bob, fn, &bytes, &count, &err), NCSL_E_NOT_FOUND);
    kv_expect(s, f->alice, fn, "user:1", "{\"n\":11}");

    /* Remove (also of an absent key). */
    assert_int_equal(ncsl_store_kv_remove(s, f->alice, fn, "other", &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_remove(s, f->alice, fn, "other", &err), NCSL_OK);
    kv_expect(s, f->alice, fn, "other", NULL);

    /* A batch is atomic: a quota failure in it applies nothing. Usage now 14 + 11 = 25. */
    const ncsl_store_kv_op over[] = {
        {NCSL_STORE_KV_SET, "a", "1", 1},
        {NCSL_STORE_KV_REMOVE, "user:2", NULL, 0},
        {NCSL_STORE_KV_SET, "big", "0123456789012345678901234567890123456789", 40},
    };
    assert_int_equal(ncsl_store_kv_commit(s, f->alice, fn, over, 3, 50, &err), NCSL_E_STORE_QUOTA);
    assert_non_null(strstr(err.message, "quota"));
    kv_expect(s, f->alice, fn, "a", NULL);
    kv_expect(s, f->alice, fn, "user:2", "\"two\"");
    kv_expect(s, f->alice, fn, "big", NULL);
    assert_int_equal(ncsl_store_kv_commit(s, f->alice, fn, over, 3, 100, &err), NCSL_OK);
    kv_expect(s, f->alice, fn, "a", "1");
    kv_expect(s, f->alice, fn, "user:2", NULL);
    assert_int_equal(ncsl_store_kv_usage(s, f->alice, fn, &bytes, &count, &err), NCSL_OK);
    assert_int_equal(bytes, 14 + 2 + 43);

    /* Over a (lowered) quota, a batch that shrinks the total still goes through; one that
     * grows it does not. */
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn, "a", "1234", 4, 10, &err),
                     NCSL_E_STORE_QUOTA);
    assert_int_equal(ncsl_store_kv_remove(s, f->alice, fn, "big", &err), NCSL_OK);
    const ncsl_store_kv_op shrink[] = {{NCSL_STORE_KV_SET, "user:1", "1234567", 7}};
    assert_int_equal(ncsl_store_kv_commit(s, f->alice, fn, shrink, 1, 10, &err), NCSL_OK);

    /* Invalid operations reject the whole batch before anything is written. */
    const ncsl_store_kv_op invalid[] = {
        {NCSL_STORE_KV_SET, "ok", "1", 1},
        {(ncsl_store_kv_op_type)9, "x", NULL, 0},
    };
    assert_int_equal(ncsl_store_kv_commit(s, f->alice, fn, invalid, 2, 0, &err),
                     NCSL_E_INVALID_ARG);
    kv_expect(s, f->alice, fn, "ok", NULL);
    const ncsl_store_kv_op nokey[] = {{NCSL_STORE_KV_SET, "", "1", 1}};
    assert_int_equal(ncsl_store_kv_commit(s, f->alice, fn, nokey, 1, 0, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "key");
    char longkey[NCSL_STORE_MAX_KV_KEY + 2];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn, longkey, "1", 1, 0, &err),
                     NCSL_E_INVALID_ARG);
    longkey[NCSL_STORE_MAX_KV_KEY] = '\0'; /* exactly the maximum is fine */
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn, longkey, "", 0, 0, &err), NCSL_OK);
    kv_expect(s, f->alice, fn, longkey, "");
    assert_int_equal(ncsl_store_kv_commit(s, f->alice, fn, NULL, 0, 0, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_commit(s, f->bob, fn, NULL, 0, 0, &err), NCSL_E_NOT_FOUND);

    /* Clear inside a batch, then set: only the new key remains. */
    const ncsl_store_kv_op reset[] = {
        {NCSL_STORE_KV_CLEAR, NULL, NULL, 0},
        {NCSL_STORE_KV_SET, "fresh", "\"f\"", 3},
    };
    assert_int_equal(ncsl_store_kv_commit(s, f->alice, fn, reset, 2, 0, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_list(s, f->alice, fn, NULL, &keys, &count, &err), NCSL_OK);
    assert_int_equal(count, 1);
    assert_string_equal(keys[0], "fresh");
    ncsl_store_kv_keys_free(keys, count);
    assert_int_equal(ncsl_store_kv_clear(s, f->alice, fn, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_usage(s, f->alice, fn, &bytes, &count, &err), NCSL_OK);
    assert_int_equal(bytes, 0);
    assert_int_equal(count, 0);

    /* Deleting a function deletes its storage. */
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn2, "k", "v", 1, 0, &err), NCSL_OK);
    assert_int_equal(ncsl_store_function_delete(s, f->alice, fn2, &err), NCSL_OK);
    sqlite3 *raw = stu_raw_open(f->dir);
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM kv WHERE function_id = '%s'", fn2);
    assert_int_equal(stu_raw_int(raw, sql), 0);
    sqlite3_close(raw);
    assert_int_equal(ncsl_store_kv_get(s, f->alice, fn2, "k", &v, &n, &found, &err),
                     NCSL_E_NOT_FOUND);
}

/* ------------------------------------------------------------------------- cascade, system */

static void test_user_delete_cascades(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_err err;
    char key[NCSL_STORE_API_KEY_SIZE], fn[NCSL_STORE_ID_SIZE], bob_fn[NCSL_STORE_ID_SIZE];

    assert_int_equal(ncsl_store_api_key_create(s, f->alice, NULL, key, &err), NCSL_OK);
    stu_function(s, f->alice, "f", "function main() {}", fn);
    ncsl_store_function_spec v2 = {.code = "function main() { return 2 }", .code_len = 28};
    assert_int_equal(ncsl_store_function_update(s, f->alice, fn, &v2, NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_store_secret_put(s, f->alice, "S", "v", 1, 0, NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_set(s, f->alice, fn, "k", "v", 1, 0, &err), NCSL_OK);
    stu_function(s, f->bob, "f", "function main() {}", bob_fn);
    assert_int_equal(ncsl_store_secret_put(s, f->bob, "S", "v", 1, 0, NULL, &err), NCSL_OK);
    assert_int_equal(ncsl_store_kv_set(s, f->bob, bob_fn, "k", "v", 1, 0, &err), NCSL_OK);

    assert_int_equal(ncsl_store_user_delete(s, f->alice, &err), NCSL_OK);
    assert_int_equal(ncsl_store_check(s, &err), NCSL_OK);
    ncsl_store_api_key got;
    assert_int_equal(ncsl_store_api_key_lookup(s, key, &got, &err), NCSL_E_NOT_FOUND);

    sqlite3 *raw = stu_raw_open(f->dir);
    static const char *const tables[] = {"api_keys", "functions", "secrets", "kv"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[160];
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE user_id = '%s'", tables[i],
                 f->alice);
        assert_int_equal(stu_raw_int(raw, sql), 0);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE user_id = '%s'", tables[i],
                 f->bob);
        assert_int_equal(stu_raw_int(raw, sql), strcmp(tables[i], "api_keys") == 0 ? 0 : 1);
    }
    assert_int_equal(stu_raw_int(raw, "SELECT count(*) FROM function_versions"), 1);
    sqlite3_close(raw);
}

static void test_system(void **state) {
    fixture *f = *state;
    ncsl_store *s = f->store;
    ncsl_err err;
    uint8_t *v = NULL;
    size_t n = 0;
    assert_int_equal(ncsl_store_system_get(s, "enclave/keys", &v, &n, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_system_put(s, "enclave/keys", "k1", 2, &err), NCSL_OK);
    assert_int_equal(ncsl_store_system_put(s, "enclave/keys", "k2-longer", 9, &err), NCSL_OK);
    assert_int_equal(ncsl_store_system_get(s, "enclave/keys", &v, &n, &err), NCSL_OK);
    assert_int_equal(n, 9);
    assert_memory_equal(v, "k2-longer", 9);
    ncsl_store_value_free(v, n);
    assert_int_equal(ncsl_store_system_delete(s, "enclave/keys", &err), NCSL_OK);
    assert_int_equal(ncsl_store_system_delete(s, "enclave/keys", &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_system_put(s, "", "k", 1, &err), NCSL_E_INVALID_ARG);
}

static void test_time_format(void **unused) {
    char buf[32];
    ncsl_store_time_rfc3339(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    ncsl_store_time_rfc3339(1700000000123LL, buf, sizeof(buf));
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
}

/* Another connection (as another process would) holds the write lock: writes wait for the busy
 * timeout and then answer NCSL_E_BUSY, having changed nothing; reads go on (WAL). */
static void test_busy_timeout(void **state) {
    fixture *f = *state;
    ncsl_store_options o;
    ncsl_err err;
    ncsl_store_options_default(&o);
    o.busy_timeout_ms = 200;
    ncsl_store_close(f->store);
    f->store = stu_open_store(f->tee, f->dir, &o);
    pragma_is(f->store, "busy_timeout", "200");
    assert_int_equal(ncsl_store_secret_put(f->store, f->alice, "S", "before", 6, 0, NULL, &err),
                     NCSL_OK);

    sqlite3 *other = stu_raw_open(f->dir);
    stu_raw_exec(other, "BEGIN IMMEDIATE");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ncsl_store_secret_put(f->store, f->alice, "S", "during", 6, 0, NULL, &err),
                     NCSL_E_BUSY);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    assert_true(ms >= 150);
    assert_string_equal(ncsl_status_code(NCSL_E_BUSY), "SERVICE_UNAVAILABLE");
    uint8_t *v = NULL;
    size_t n = 0;
    assert_int_equal(ncsl_store_secret_get(f->store, f->alice, "S", &v, &n, &err), NCSL_OK);
    assert_memory_equal(v, "before", 6);
    ncsl_store_value_free(v, n);
    stu_raw_exec(other, "COMMIT");
    sqlite3_close(other);
    assert_int_equal(ncsl_store_secret_put(f->store, f->alice, "S", "after", 5, 0, NULL, &err),
                     NCSL_OK);
}

/* ------------------------------------------------------------------------- threads */

#define THREADS 8
#define OPS_PER_THREAD 60

typedef struct worker {
    ncsl_store *store;
    const char *user;
    const char *fn;
    char key[NCSL_STORE_API_KEY_SIZE];
    int index;
    int failures;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    ncsl_err err;
    for (int i = 0; i < OPS_PER_THREAD; i++) {
        char key[32], val[64];
        snprintf(key, sizeof(key), "t%d-k%d", w->index, i);
        snprintf(val, sizeof(val), "value of thread %d op %d", w->index, i);
        const ncsl_store_kv_op ops[] = {
            {NCSL_STORE_KV_SET, key, val, strlen(val)},
            {NCSL_STORE_KV_SET, "shared", val, strlen(val)},
        };
        if (ncsl_store_kv_commit(w->store, w->user, w->fn, ops, 2, 0, &err) != NCSL_OK) {
            fprintf(stderr, "commit: %s\n", err.message);
            w->failures++;
        }
        uint8_t *v = NULL;
        size_t n = 0;
        bool found = false;
        if (ncsl_store_kv_get(w->store, w->user, w->fn, key, &v, &n, &found, &err) != NCSL_OK ||
            !found || n != strlen(val) || memcmp(v, val, n) != 0) {
            w->failures++;
        }
        ncsl_store_value_free(v, n);
        char name[32];
        snprintf(name, sizeof(name), "T%d", w->index);
        if (ncsl_store_secret_put(w->store, w->user, name, val, strlen(val), 0, NULL, &err) !=
            NCSL_OK) {
            w->failures++;
        }
        ncsl_store_api_key k;
        if (ncsl_store_api_key_lookup(w->store, w->key, &k, &err) != NCSL_OK ||
            strcmp(k.user_id, w->user) != 0) {
            w->failures++;
        }
    }
    return NULL;
}

static void test_threads(void **state) {
    fixture *f = *state;
    ncsl_store_options o;
    ncsl_store_options_default(&o);
    o.connections = 3; /* fewer connections than threads: the pool must queue them */
    ncsl_store_close(f->store);
    f->store = stu_open_store(f->tee, f->dir, &o);
    char fn[NCSL_STORE_ID_SIZE];
    stu_function(f->store, f->alice, "busy", "function main() {}", fn);
    worker w[THREADS];
    pthread_t t[THREADS];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].store = f->store;
        w[i].user = f->alice;
        w[i].fn = fn;
        w[i].index = i;
        assert_int_equal(ncsl_store_api_key_create(f->store, f->alice, NULL, w[i].key, NULL),
                         NCSL_OK);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    int writes = THREADS * OPS_PER_THREAD * 2;
    fprintf(stderr,
            "threads: %d threads, %d write transactions + %d reads in %.2f s (%.0f "
            "commits/s, synchronous=FULL)\n",
            THREADS, writes, writes, secs, writes / secs);

    uint64_t bytes = 0;
    size_t count = 0;
    assert_int_equal(ncsl_store_kv_usage(f->store, f->alice, fn, &bytes, &count, NULL), NCSL_OK);
    assert_int_equal(count, THREADS * OPS_PER_THREAD + 1);
    assert_int_equal(ncsl_store_secret_count(f->store, f->alice, &count, NULL), NCSL_OK);
    assert_int_equal(count, THREADS);
    assert_int_equal(ncsl_store_check(f->store, NULL), NCSL_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_settings_and_files),
        cmocka_unit_test(test_open_refuses_foreign_files),
        cmocka_unit_test(test_migrations_are_transactional),
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_api_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_secrets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_system, setup, teardown),
        cmocka_unit_test(test_time_format),
        cmocka_unit_test_setup_teardown(test_busy_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
