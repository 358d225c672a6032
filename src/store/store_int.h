/*
 * Internals of src/store: the backend interface (ncsl__store_backend_ops) and the rows it moves.
 * Not for other subsystems, except the TEST ONLY parts, which unit tests use.
 *
 * The split: store.c (backend-neutral) validates arguments, makes ids and times, derives keyed
 * hashes, seals and unseals; a backend only persists rows of ids, clear metadata and sealed
 * blobs, each operation in one transaction, and never sees a plaintext value, code or key.
 * Adding PostgreSQL means one more ops table with the same contracts.
 *
 * Contracts shared by every op: `state` is what open returned; strings and blobs passed in are
 * borrowed for the call and already validated; output structs are caller-owned and filled with
 * heap copies the caller frees (the public cleanup functions, or ncsl__store_*_free below);
 * failures are a status plus err. Owner-scoped ops answer NCSL_E_NOT_FOUND for a record that
 * exists but belongs to another user, exactly as for a missing one.
 */
#ifndef NCSL_STORE_INT_H
#define NCSL_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "store/store.h"

#define NCSL__STORE_HASH_SIZE 32u

/* A page position: the (created_at, id) of the last row of the page before; `set` false for
 * the first page. Rows are ordered by (created_at, id). */
typedef struct ncsl__store_cursor {
    bool set;
    int64_t created_at_ms;
    char id[NCSL_STORE_ID_SIZE];
} ncsl__store_cursor;

/* A deployed function version as stored: the metadata (meta.code stays NULL) and the sealed
 * code. */
typedef struct ncsl__store_fn_row {
    ncsl_store_function meta;
    uint8_t *blob; /* sealed code (owned) */
    size_t blob_len;
} ncsl__store_fn_row;

typedef struct ncsl__store_secret_row {
    char *name;    /* owned */
    uint8_t *blob; /* sealed value (owned) */
    size_t blob_len;
    uint64_t size; /* the value's length as recorded in clear */
    int64_t created_at_ms;
    int64_t updated_at_ms;
} ncsl__store_secret_row;

typedef struct ncsl__store_kv_row {
    uint8_t key_id[NCSL__STORE_HASH_SIZE];
    uint8_t *blob; /* sealed key and value (owned) */
    size_t blob_len;
    uint64_t size; /* key + value length as recorded in clear */
} ncsl__store_kv_row;

/* One prepared write of a storage batch (the blob is sealed already). */
typedef struct ncsl__store_kv_write {
    ncsl_store_kv_op_type type;
    uint8_t key_id[NCSL__STORE_HASH_SIZE]; /* SET, REMOVE */
    const uint8_t *blob;                   /* SET */
    size_t blob_len;
    uint64_t size; /* SET */
} ncsl__store_kv_write;

/* A schema migration: `sql` (one or more statements) takes the schema from version - 1 to
 * `version`. Backends apply the missing ones in order, all in one transaction. */
typedef struct ncsl__store_migration {
    unsigned version;
    const char *sql;
} ncsl__store_migration;

typedef struct ncsl__store_migration_set {
    const ncsl__store_migration *items;
    size_t count;
} ncsl__store_migration_set;

typedef struct ncsl__store_backend_ops {
    const char *name;

    /* Opens the database described by `opts` (borrowed; defaults already applied), migrating it
     * to the newest schema. *state is released with close. */
    ncsl_status (*open)(const ncsl_store_options *opts, void **state, ncsl_err *err);
    void (*close)(void *state); /* NULL does nothing */
    const char *(*location)(void *state);
    unsigned (*schema_version)(void *state);
    ncsl_status (*check)(void *state, ncsl_err *err);

    /* Internal records of the store itself (the sealed check value). get: NCSL_E_NOT_FOUND or
     * a new blob (*blob, caller frees with free()). put_new: NCSL_E_STORE_CONFLICT when the
     * name exists. */
    ncsl_status (*meta_get)(void *state, const char *name, uint8_t **blob, size_t *len,
                            ncsl_err *err);
    ncsl_status (*meta_put_new)(void *state, const char *name, const uint8_t *blob, size_t len,
                                ncsl_err *err);

    /* Users. */
    ncsl_status (*user_insert)(void *state, const ncsl_store_user *user, ncsl_err *err);
    ncsl_status (*user_get)(void *state, const char *id, ncsl_store_user *out, ncsl_err *err);
    /* Up to `limit` rows after `after`; next_cursor is set when more rows follow. */
    ncsl_status (*user_list)(void *state, size_t limit, const ncsl__store_cursor *after,
                             ncsl_store_user_page *out, ncsl_err *err);
    ncsl_status (*user_set_disabled)(void *state, const char *id, bool disabled, ncsl_err *err);
    ncsl_status (*user_delete)(void *state, const char *id, ncsl_err *err); /* cascades */

    /* API keys, by keyed hash. insert: NCSL_E_NOT_FOUND (field "user_id") for a missing user.
     * lookup fills *out and *user_disabled, or NCSL_E_NOT_FOUND. */
    ncsl_status (*key_insert)(void *state, const ncsl_store_api_key *key,
                              const uint8_t hash[NCSL__STORE_HASH_SIZE], ncsl_err *err);
    ncsl_status (*key_lookup)(void *state, const uint8_t hash[NCSL__STORE_HASH_SIZE],
                              ncsl_store_api_key *out, bool *user_disabled, ncsl_err *err);
    ncsl_status (*key_list)(void *state, const char *user_id, ncsl_store_api_key **items,
                            size_t *count, ncsl_err *err);
    ncsl_status (*key_revoke)(void *state, const char *user_id, const char *key_id, int64_t now_ms,
                              ncsl_err *err);

    /* Functions. fn_insert stores version 1 of a new function (NCSL_E_STORE_CONFLICT field
     * "name", NCSL_E_NOT_FOUND field "user_id"). fn_add_version stores row->meta.version as the
     * next version when the function's latest is row->meta.version - 1 (else
     * NCSL_E_STORE_CONFLICT with field "version": the caller retries), renaming it when
     * row->meta.name is not NULL. fn_get: version 0 is the latest; out->blob set. fn_list:
     * latest versions, no blobs. */
    ncsl_status (*fn_insert)(void *state, const ncsl__store_fn_row *row, ncsl_err *err);
    ncsl_status (*fn_add_version)(void *state, const ncsl__store_fn_row *row, ncsl_err *err);
    ncsl_status (*fn_get)(void *state, const char *user_id, const char *id, uint32_t version,
                          ncsl__store_fn_row *out, ncsl_err *err);
    ncsl_status (*fn_list)(void *state, const char *user_id, size_t limit,
                           const ncsl__store_cursor *after, ncsl_store_function_page *out,
                           ncsl_err *err);
    ncsl_status (*fn_delete)(void *state, const char *user_id, const char *id, ncsl_err *err);
    /* Whether `m` (a record fn_get returned for version 0, borrowed) is still function id's
     * latest version exactly: same version and latest version, name, code hash and size,
     * description, required secrets, limits and times. One indexed read, no blob, nothing
     * copied. NCSL_E_NOT_FOUND (field "id") when the function is gone. */
    ncsl_status (*fn_match)(void *state, const char *user_id, const char *id,
                            const ncsl_store_function *m, bool *same, ncsl_err *err);

    /* Secrets. put: upsert with the max_count rule of ncsl_store_secret_put. rows: every
     * secret of the user with its blob, by name (*rows NULL when none; free with
     * ncsl__store_secret_rows_free). */
    ncsl_status (*secret_put)(void *state, const char *user_id, const char *name,
                              const uint8_t *blob, size_t blob_len, uint64_t size, int64_t now_ms,
                              size_t max_count, bool *created, ncsl_err *err);
    ncsl_status (*secret_get)(void *state, const char *user_id, const char *name,
                              ncsl__store_secret_row *out, ncsl_err *err);
    ncsl_status (*secret_rows)(void *state, const char *user_id, ncsl__store_secret_row **rows,
                               size_t *count, ncsl_err *err);
    ncsl_status (*secret_list)(void *state, const char *user_id, ncsl_store_secret_info **items,
                               size_t *count, ncsl_err *err);
    ncsl_status (*secret_delete)(void *state, const char *user_id, const char *name, ncsl_err *err);
    ncsl_status (*secret_count)(void *state, const char *user_id, size_t *count, ncsl_err *err);

    /* Storage. Every op checks first that function_id belongs to user_id (NCSL_E_NOT_FOUND,
     * field "function_id"). kv_get: out->blob NULL when the key is absent. kv_rows: every
     * entry (free with ncsl__store_kv_rows_free). kv_commit: the batch and the quota rule of
     * ncsl_store_kv_commit in one transaction. */
    ncsl_status (*kv_get)(void *state, const char *user_id, const char *function_id,
                          const uint8_t key_id[NCSL__STORE_HASH_SIZE], ncsl__store_kv_row *out,
                          ncsl_err *err);
    ncsl_status (*kv_rows)(void *state, const char *user_id, const char *function_id,
                           ncsl__store_kv_row **rows, size_t *count, ncsl_err *err);
    ncsl_status (*kv_commit)(void *state, const char *user_id, const char *function_id,
                             const ncsl__store_kv_write *writes, size_t count, uint64_t quota_bytes,
                             int64_t now_ms, ncsl_err *err);
    ncsl_status (*kv_usage)(void *state, const char *user_id, const char *function_id,
                            uint64_t *bytes, size_t *count, ncsl_err *err);

    /* System blobs. get: NCSL_E_NOT_FOUND or *blob (free()) and the recorded size. */
    ncsl_status (*system_put)(void *state, const char *name, const uint8_t *blob, size_t blob_len,
                              uint64_t size, int64_t now_ms, ncsl_err *err);
    ncsl_status (*system_get)(void *state, const char *name, uint8_t **blob, size_t *blob_len,
                              uint64_t *size, ncsl_err *err);
    ncsl_status (*system_delete)(void *state, const char *name, ncsl_err *err);
} ncsl__store_backend_ops;

extern const ncsl__store_backend_ops ncsl__store_sqlite_ops;

/* The built-in schema migrations of the SQLite backend (docs/storage.md). */
extern const ncsl__store_migration_set ncsl__store_sqlite_migrations;

void ncsl__store_fn_row_cleanup(ncsl__store_fn_row *row);
void ncsl__store_secret_row_cleanup(ncsl__store_secret_row *row);
void ncsl__store_secret_rows_free(ncsl__store_secret_row *rows, size_t count);
void ncsl__store_kv_rows_free(ncsl__store_kv_row *rows, size_t count);

/* ------------------------------------------------------------------------- function cache */
/*
 * Unsealed latest versions of functions by (user id, function id), LRU, bounded by entry count
 * and bytes (store_cache.c). Thread-safe. The store treats it as a hint: a hit is used only
 * after the backend confirms (fn_match) that the record is still the function's latest version
 * with the same clear metadata and code hash, and every local write that changes or deletes a
 * function forgets it first.
 */
typedef struct ncsl__store_fn_cache ncsl__store_fn_cache;
typedef struct ncsl__store_fn_entry ncsl__store_fn_entry;

typedef struct ncsl__store_fn_cache_info {
    size_t count, bytes;
    size_t max_entries, max_bytes;
    uint64_t evictions;
} ncsl__store_fn_cache_info;

/* NULL when either bound is 0 (no cache) or out of memory; every function below accepts NULL
 * and then does nothing (get answers NULL). destroy wipes and frees every entry. */
ncsl__store_fn_cache *ncsl__store_fn_cache_create(size_t max_entries, size_t max_bytes);
void ncsl__store_fn_cache_destroy(ncsl__store_fn_cache *cache);
/* The entry of (user_id, id) with a reference taken (release it with _release), or NULL. The
 * record (ncsl__store_fn_entry_fn, borrowed until the release) never changes. */
const ncsl__store_fn_entry *ncsl__store_fn_cache_get(ncsl__store_fn_cache *cache,
                                                     const char *user_id, const char *id);
const ncsl_store_function *ncsl__store_fn_entry_fn(const ncsl__store_fn_entry *entry);
void ncsl__store_fn_cache_release(ncsl__store_fn_cache *cache, const ncsl__store_fn_entry *entry);
/* The invalidation generation: read it before reading a record from the backend and pass it
 * to _put, which drops the record when anything was forgotten meanwhile. */
uint64_t ncsl__store_fn_cache_gen(ncsl__store_fn_cache *cache);
/* Copies `fn` (borrowed; must have its code) in as the entry of (fn->user_id, fn->id),
 * replacing an older one and evicting the least recently used ones to stay within the bounds.
 * A record over a quarter of max_bytes is not cached. Failures (memory) only skip caching. */
void ncsl__store_fn_cache_put(ncsl__store_fn_cache *cache, uint64_t gen,
                              const ncsl_store_function *fn);
/* Forget one function, every function of a user, or everything (and bump the generation). */
void ncsl__store_fn_cache_forget(ncsl__store_fn_cache *cache, const char *user_id, const char *id);
void ncsl__store_fn_cache_forget_user(ncsl__store_fn_cache *cache, const char *user_id);
void ncsl__store_fn_cache_clear(ncsl__store_fn_cache *cache);
void ncsl__store_fn_cache_stats(ncsl__store_fn_cache *cache, ncsl__store_fn_cache_info *out);
/* A deep copy of `src` (code included) into `dst` (caller-owned; clean up with
 * ncsl_store_function_cleanup); false when out of memory (dst is then clean). */
bool ncsl__store_fn_copy(ncsl_store_function *dst, const ncsl_store_function *src);

/* TEST ONLY: the store's function cache (NULL when it has none). */
ncsl__store_fn_cache *ncsl__store_test_fn_cache(ncsl_store *store);

/* TEST ONLY: the value a backend pragma has on one of the store's connections ("journal_mode",
 * "synchronous", "foreign_keys", "busy_timeout") as text into `out` (caller-owned). SQLite
 * only; NCSL_E_UNSUPPORTED for other backends. */
NCSL_NODISCARD ncsl_status ncsl__store_test_pragma(ncsl_store *store, const char *pragma, char *out,
                                                   size_t out_size, ncsl_err *err);

/* Backend side of the test hook (store_sqlite.c). */
ncsl_status ncsl__store_sqlite_pragma(void *state, const char *pragma, char *out, size_t out_size,
                                      ncsl_err *err);

#endif /* NCSL_STORE_INT_H */
