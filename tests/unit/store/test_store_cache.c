/*
 * The function cache (src/store/store_cache.c) and how the store uses it: LRU order, the entry
 * and byte bounds, eviction, the generation guard against a stale put, references that outlive
 * an eviction; through the store: every write that changes or deletes a function forgets it
 * (update, delete, user delete), a write by another handle on the same database (as another
 * process would) is seen by the next read, tampered metadata still fails, explicit versions
 * bypass it, and readers racing updates never see a version older than the last acknowledged
 * one. API-key revocation and user disabling take effect on the very next lookup.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"
#include "store/store_int.h"
#include "store_test_util.h"

typedef stu_fixture fixture;

static int setup(void **state) {
    return stu_fixture_setup(state, "ncsl-store-cache");
}

static int teardown(void **state) {
    /* closes the store with entries still cached: ASan checks they are freed */
    return stu_fixture_teardown(state);
}

/* A record as the store would cache it: ids "0000...0<n>" for user u. */
static void fake_fn(ncsl_store_function *fn, const char *user, unsigned n, const char *code) {
    memset(fn, 0, sizeof(*fn));
    snprintf(fn->user_id, sizeof(fn->user_id), "%s", user);
    snprintf(fn->id, sizeof(fn->id), "00000000-0000-4000-8000-%012u", n);
    fn->name = (char *)"f";
    fn->code = (char *)code;
    fn->code_size = strlen(code);
    fn->version = fn->latest_version = 1;
}

static bool cached(ncsl__store_fn_cache *c, const char *user, unsigned n) {
    char id[NCSL_STORE_ID_SIZE];
    snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012u", n);
    const ncsl__store_fn_entry *e = ncsl__store_fn_cache_get(c, user, id);
    ncsl__store_fn_cache_release(c, e);
    return e != NULL;
}

static size_t cache_count(ncsl__store_fn_cache *c) {
    ncsl__store_fn_cache_info info;
    ncsl__store_fn_cache_stats(c, &info);
    return info.count;
}

/* ------------------------------------------------------------------------- the cache alone */

static void test_lru_entry_bound(void **unused) {
    (void)unused;
    ncsl__store_fn_cache *c = ncsl__store_fn_cache_create(3, 1u << 20);
    assert_non_null(c);
    ncsl_store_function fn;
    for (unsigned i = 1; i <= 3; i++) {
        fake_fn(&fn, "u", i, "function main() { return 1; }");
        ncsl__store_fn_cache_put(c, ncsl__store_fn_cache_gen(c), &fn);
    }
    assert_int_equal(cache_count(c), 3);
    assert_true(cached(c, "u", 1)); /* 1 is now the most recent: 2 is the oldest */
    fake_fn(&fn, "u", 4, "function main() { return 4; }");
    ncsl__store_fn_cache_put(c, ncsl__store_fn_cache_gen(c), &fn);
    ncsl__store_fn_cache_info info;
    ncsl__store_fn_cache_stats(c, &info);
    assert_int_equal(info.count, 3);
    assert_int_equal(info.evictions, 1);
    assert_false(cached(c, "u", 2));
    assert_true(cached(c, "u", 1));
    assert_true(cached(c, "u", 3));
    assert_true(cached(c, "u", 4));
    assert_false(cached(c, "v", 4)); /* keyed by user too */
    /* A put of the same key replaces, never duplicates. */
    fake_fn(&fn, "u", 4, "function main() { return 44; }");
    ncsl__store_fn_cache_put(c, ncsl__store_fn_cache_gen(c), &fn);
    assert_int_equal(cache_count(c), 3);
    char id[NCSL_STORE_ID_SIZE];
    snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012u", 4u);
    const ncsl__store_fn_entry *e = ncsl__store_fn_cache_get(c, "u", id);
    assert_non_null(e);
    assert_string_equal(ncsl__store_fn_entry_fn(e)->code, "function main() { return 44; }");
    ncsl__store_fn_cache_release(c, e);
    ncsl__store_fn_cache_destroy(c);
    assert_null(ncsl__store_fn_cache_create(0, 100)); /* 0: no cache */
    assert_null(ncsl__store_fn_cache_create(100, 0));
}

static void test_byte_bound(void **unused) {
    (void)unused;
    char *big = malloc(3000);
    memset(big, 'x', 2999);
    big[2999] = '\0';
    ncsl__store_fn_cache *c = ncsl__store_fn_cache_create(100, 16000);
    ncsl_store_function fn;
    for (unsigned i = 1; i <= 10; i++) {
        fake_fn(&fn, "u", i, big);
        ncsl__store_fn_cache_put(c, ncsl__store_fn_cache_gen(c), &fn);
        ncsl__store_fn_cache_info info;
        ncsl__store_fn_cache_stats(c, &info);
        assert_true(info.bytes <= info.max_bytes);
    }
    ncsl__store_fn_cache_info info;
    ncsl__store_fn_cache_stats(c, &info);
    assert_true(info.count >= 3 && info.count <= 5); /* about 3 KiB each in 16000 bytes */
    assert_true(cached(c, "u", 10));
    assert_false(cached(c, "u", 1));
    /* Over a quarter of the budget: not cached at all (it would flush the rest). */
    char *huge = malloc(5000);
    memset(huge, 'y', 4999);
    huge[4999] = '\0';
    fake_fn(&fn, "u", 11, huge);
    ncsl__store_fn_cache_put(c, ncsl__store_fn_cache_gen(c), &fn);
    assert_false(cached(c, "u", 11));
    assert_true(cached(c, "u", 10));
    ncsl__store_fn_cache_destroy(c);
    free(big);
    free(huge);
}

static void test_generation_and_references(void **unused) {
    (void)unused;
    ncsl__store_fn_cache *c = ncsl__store_fn_cache_create(8, 1u << 20);
    ncsl_store_function fn;
    /* A read that started before a forget must not put its (maybe older) record back. */
    uint64_t gen = ncsl__store_fn_cache_gen(c);
    ncsl__store_fn_cache_forget(c, "u", "00000000-0000-4000-8000-000000000009");
    fake_fn(&fn, "u", 1, "old");
    ncsl__store_fn_cache_put(c, gen, &fn);
    assert_false(cached(c, "u", 1));
    gen = ncsl__store_fn_cache_gen(c);
    ncsl__store_fn_cache_forget_user(c, "someone");
    ncsl__store_fn_cache_put(c, gen, &fn);
    assert_false(cached(c, "u", 1));
    ncsl__store_fn_cache_put(c, ncsl__store_fn_cache_gen(c), &fn);
    assert_true(cached(c, "u", 1));
    /* A reference outlives the entry's removal (ASan: no use after free). */
    const ncsl__store_fn_entry *e = ncsl__store_fn_cache_get(c, "u", fn.id);
    assert_non_null(e);
    ncsl__store_fn_cache_forget(c, "u", fn.id);
    assert_false(cached(c, "u", 1));
    assert_string_equal(ncsl__store_fn_entry_fn(e)->code, "old");
    ncsl__store_fn_cache_release(c, e);
    /* forget_user takes every function of that user and only those. */
    for (unsigned i = 1; i <= 4; i++) {
        fake_fn(&fn, i % 2 ? "u" : "v", i, "code");
        ncsl__store_fn_cache_put(c, ncsl__store_fn_cache_gen(c), &fn);
    }
    ncsl__store_fn_cache_forget_user(c, "u");
    assert_int_equal(cache_count(c), 2);
    assert_true(cached(c, "v", 2));
    assert_true(cached(c, "v", 4));
    ncsl__store_fn_cache_clear(c);
    assert_int_equal(cache_count(c), 0);
    /* A record without code (a list item) is never cached. */
    fake_fn(&fn, "u", 5, "x");
    fn.code = NULL;
    ncsl__store_fn_cache_put(c, ncsl__store_fn_cache_gen(c), &fn);
    assert_int_equal(cache_count(c), 0);
    ncsl__store_fn_cache_destroy(c);
    /* NULL (disabled) does nothing anywhere. */
    assert_null(ncsl__store_fn_cache_get(NULL, "u", "x"));
    ncsl__store_fn_cache_put(NULL, 0, &fn);
    ncsl__store_fn_cache_forget(NULL, "u", "x");
    ncsl__store_fn_cache_forget_user(NULL, "u");
    ncsl__store_fn_cache_destroy(NULL);
}

/* ------------------------------------------------------------------------- through the store */

static ncsl_store_function get_ok(ncsl_store *s, const char *user, const char *id) {
    ncsl_store_function fn;
    ncsl_err err;
    ncsl_status st = ncsl_store_function_get(s, user, id, 0, &fn, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "get: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return fn;
}

static void update_code(ncsl_store *s, const char *user, const char *id, const char *code) {
    ncsl_store_function_spec spec = {.code = code, .code_len = strlen(code)};
    ncsl_err err;
    assert_int_equal(ncsl_store_function_update(s, user, id, &spec, NULL, &err), NCSL_OK);
}

static void test_store_invalidates_on_writes(void **state) {
    fixture *f = *state;
    ncsl__store_fn_cache *c = ncsl__store_test_fn_cache(f->store);
    assert_non_null(c); /* on by default */
    char a1[NCSL_STORE_ID_SIZE], a2[NCSL_STORE_ID_SIZE], b1[NCSL_STORE_ID_SIZE];
    stu_function(f->store, f->alice, "one", "function main() { return 1; }", a1);
    stu_function(f->store, f->alice, "two", "function main() { return 2; }", a2);
    stu_function(f->store, f->bob, "one", "function main() { return 3; }", b1);
    assert_int_equal(cache_count(c), 0); /* deploys do not fill it; reads do */

    ncsl_store_function fn = get_ok(f->store, f->alice, a1);
    ncsl_store_function_cleanup(&fn);
    assert_int_equal(cache_count(c), 1);
    fn = get_ok(f->store, f->alice, a1); /* a hit returns the same record */
    assert_string_equal(fn.code, "function main() { return 1; }");
    assert_int_equal(fn.version, 1);
    ncsl_store_function_cleanup(&fn);

    /* Another user's id is NOT_FOUND, cached or not. */
    ncsl_err err;
    assert_int_equal(ncsl_store_function_get(f->store, f->bob, a1, 0, &fn, &err), NCSL_E_NOT_FOUND);

    /* Update: forgotten when the call returns, and the next read has the new code. */
    update_code(f->store, f->alice, a1, "function main() { return 10; }");
    assert_null(ncsl__store_fn_cache_get(c, f->alice, a1));
    fn = get_ok(f->store, f->alice, a1);
    assert_string_equal(fn.code, "function main() { return 10; }");
    assert_int_equal(fn.version, 2);
    ncsl_store_function_cleanup(&fn);
    /* An explicit version reads the store (and leaves the cache alone). */
    assert_int_equal(ncsl_store_function_get(f->store, f->alice, a1, 1, &fn, &err), NCSL_OK);
    assert_string_equal(fn.code, "function main() { return 1; }");
    ncsl_store_function_cleanup(&fn);
    fn = get_ok(f->store, f->alice, a1);
    assert_int_equal(fn.version, 2);
    ncsl_store_function_cleanup(&fn);

    /* Delete: forgotten, and NOT_FOUND next. */
    assert_int_equal(ncsl_store_function_delete(f->store, f->alice, a1, &err), NCSL_OK);
    assert_null(ncsl__store_fn_cache_get(c, f->alice, a1));
    assert_int_equal(ncsl_store_function_get(f->store, f->alice, a1, 0, &fn, &err),
                     NCSL_E_NOT_FOUND);

    /* User delete: every function of theirs forgotten, other users' kept. */
    fn = get_ok(f->store, f->alice, a2);
    ncsl_store_function_cleanup(&fn);
    fn = get_ok(f->store, f->bob, b1);
    ncsl_store_function_cleanup(&fn);
    assert_int_equal(cache_count(c), 2);
    assert_int_equal(ncsl_store_user_delete(f->store, f->alice, &err), NCSL_OK);
    assert_int_equal(cache_count(c), 1);
    assert_int_equal(ncsl_store_function_get(f->store, f->alice, a2, 0, &fn, &err),
                     NCSL_E_NOT_FOUND);
    fn = get_ok(f->store, f->bob, b1);
    assert_string_equal(fn.code, "function main() { return 3; }");
    ncsl_store_function_cleanup(&fn);
}

/* Another handle on the same database has its own cache, like another process: its writes do
 * not reach this handle's cache, and the check against the database still catches them. */
static void test_store_sees_other_writers(void **state) {
    fixture *f = *state;
    ncsl_store *other = stu_open_store(f->tee, f->dir, NULL);
    char id[NCSL_STORE_ID_SIZE], id2[NCSL_STORE_ID_SIZE];
    stu_function(f->store, f->alice, "f", "function main() { return 1; }", id);
    stu_function(f->store, f->alice, "g", "function main() { return 2; }", id2);
    ncsl_store_function fn = get_ok(f->store, f->alice, id);
    ncsl_store_function_cleanup(&fn);
    fn = get_ok(f->store, f->alice, id2);
    ncsl_store_function_cleanup(&fn);

    update_code(other, f->alice, id, "function main() { return 'other'; }");
    fn = get_ok(f->store, f->alice, id);
    assert_string_equal(fn.code, "function main() { return 'other'; }");
    assert_int_equal(fn.version, 2);
    ncsl_store_function_cleanup(&fn);

    /* A metadata-only change (same code, new limits) is a change too. */
    ncsl_store_function_spec spec = {.code = "function main() { return 'other'; }",
                                     .code_len = strlen("function main() { return 'other'; }"),
                                     .limits_json = "{\"timeoutMs\":5}"};
    ncsl_err err;
    assert_int_equal(ncsl_store_function_update(other, f->alice, id, &spec, NULL, &err), NCSL_OK);
    fn = get_ok(f->store, f->alice, id);
    assert_string_equal(fn.limits_json, "{\"timeoutMs\":5}");
    ncsl_store_function_cleanup(&fn);

    assert_int_equal(ncsl_store_function_delete(other, f->alice, id2, &err), NCSL_OK);
    assert_int_equal(ncsl_store_function_get(f->store, f->alice, id2, 0, &fn, &err),
                     NCSL_E_NOT_FOUND);
    assert_null(ncsl__store_fn_cache_get(ncsl__store_test_fn_cache(f->store), f->alice, id2));
    ncsl_store_close(other);
}

/* Editing the clear metadata in the file still fails the next read, cached or not. */
static void test_store_tampered_metadata(void **state) {
    fixture *f = *state;
    char id[NCSL_STORE_ID_SIZE], sql[256];
    stu_function(f->store, f->alice, "f", "function main() { return 1; }", id);
    ncsl_store_function fn = get_ok(f->store, f->alice, id);
    ncsl_store_function_cleanup(&fn);
    sqlite3 *raw = stu_raw_open(f->dir);
    snprintf(sql, sizeof(sql),
             "UPDATE function_versions SET limits = '{\"timeoutMs\":1}' WHERE function_id = '%s'",
             id);
    stu_raw_exec(raw, sql);
    sqlite3_close(raw);
    ncsl_err err;
    assert_int_equal(ncsl_store_function_get(f->store, f->alice, id, 0, &fn, &err),
                     NCSL_E_STORE_INTEGRITY);
}

static void test_store_cache_disabled(void **state) {
    fixture *f = *state;
    ncsl_store_options o;
    ncsl_store_options_default(&o);
    assert_int_equal(o.function_cache_entries, 1024);
    o.function_cache_entries = 0;
    ncsl_store *s = stu_open_store(f->tee, f->dir, &o);
    assert_null(ncsl__store_test_fn_cache(s));
    char id[NCSL_STORE_ID_SIZE];
    stu_function(s, f->alice, "f", "function main() { return 1; }", id);
    ncsl_store_function fn = get_ok(s, f->alice, id);
    assert_string_equal(fn.code, "function main() { return 1; }");
    ncsl_store_function_cleanup(&fn);
    ncsl_store_close(s);
}

/* Readers race updates: a read that starts after an update was acknowledged never returns an
 * older version (and every read returns a consistent record: the code matches its version). */
typedef struct race {
    ncsl_store *store;
    const char *user;
    const char *id;
    atomic_uint acked; /* the latest acknowledged version */
    atomic_bool stop;
    atomic_uint reads;
    atomic_uint bad;
} race;

static void *reader(void *p) {
    race *r = p;
    while (!atomic_load(&r->stop)) {
        unsigned floor = atomic_load(&r->acked);
        ncsl_store_function fn;
        ncsl_err err;
        if (ncsl_store_function_get(r->store, r->user, r->id, 0, &fn, &err) != NCSL_OK) {
            atomic_fetch_add(&r->bad, 1);
            continue;
        }
        char want[64];
        snprintf(want, sizeof(want), "function main() { return %u; }", fn.version);
        if (fn.version < floor || strcmp(fn.code, want) != 0) {
            atomic_fetch_add(&r->bad, 1);
        }
        ncsl_store_function_cleanup(&fn);
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void test_store_concurrent_reads_during_updates(void **state) {
    fixture *f = *state;
    char id[NCSL_STORE_ID_SIZE];
    stu_function(f->store, f->alice, "f", "function main() { return 1; }", id);
    race r = {.store = f->store, .user = f->alice, .id = id};
    atomic_init(&r.acked, 1);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, reader, &r), 0);
    }
    for (unsigned v = 2; v <= 25; v++) {
        char code[64];
        snprintf(code, sizeof(code), "function main() { return %u; }", v);
        update_code(f->store, f->alice, id, code);
        atomic_store(&r.acked, v);
        /* The writer's own next read sees it at once. */
        ncsl_store_function fn = get_ok(f->store, f->alice, id);
        assert_int_equal(fn.version, v);
        assert_string_equal(fn.code, code);
        ncsl_store_function_cleanup(&fn);
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(atomic_load(&r.bad), 0);
    assert_true(atomic_load(&r.reads) > 0);
}

/* ------------------------------------------------------------------------- API keys */

static void test_key_revocation_next_lookup(void **state) {
    fixture *f = *state;
    char key[NCSL_STORE_API_KEY_SIZE];
    ncsl_store_api_key info, got;
    ncsl_err err;
    assert_int_equal(ncsl_store_api_key_create(f->store, f->alice, &info, key, &err), NCSL_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ncsl_store_api_key_lookup(f->store, key, &got, &err), NCSL_OK);
        assert_string_equal(got.user_id, f->alice);
    }
    assert_int_equal(ncsl_store_api_key_revoke(f->store, f->alice, info.id, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_lookup(f->store, key, &got, &err), NCSL_E_NOT_FOUND);
    /* Disabling and deleting the user take effect at once too. */
    assert_int_equal(ncsl_store_api_key_create(f->store, f->bob, &info, key, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_lookup(f->store, key, &got, &err), NCSL_OK);
    assert_int_equal(ncsl_store_user_set_disabled(f->store, f->bob, true, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_lookup(f->store, key, &got, &err), NCSL_E_NOT_FOUND);
    assert_int_equal(ncsl_store_user_set_disabled(f->store, f->bob, false, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_lookup(f->store, key, &got, &err), NCSL_OK);
    assert_int_equal(ncsl_store_user_delete(f->store, f->bob, &err), NCSL_OK);
    assert_int_equal(ncsl_store_api_key_lookup(f->store, key, &got, &err), NCSL_E_NOT_FOUND);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_entry_bound),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_generation_and_references),
        cmocka_unit_test_setup_teardown(test_store_invalidates_on_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sees_other_writers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_tampered_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_cache_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_concurrent_reads_during_updates, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_key_revocation_next_lookup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
