/*
 * store: the service's persistent state, sealed to the TEE (DESIGN.md sections 2, 4 and 6;
 * docs/storage.md has the schema and exactly what is sealed).
 *
 * Users, API keys, deployed functions (every version kept), user secrets, per-function key-value
 * data and "system" blobs (enclave keys and the like). The database holds only ids, hashes,
 * clear metadata and NCSLSEAL blobs (src/crypto/seal.h): secret values, function code, stored
 * values and even storage keys never reach it in clear. Every sealed blob's AAD label names the
 * record it belongs to ("secret/<user>/<name>", ...), so a blob edited, copied or swapped into
 * another row fails to unseal, and the read answers NCSL_E_STORE_INTEGRITY naming the record:
 * never garbage.
 *
 * Layers: this header and store.c are backend-neutral (validation, ids, sealing, hashing); a
 * backend (store_int.h: ncsl__store_backend_ops) persists rows of ids and blobs. SQLite
 * (sqlite/store_sqlite.c) is the one backend today; a PostgreSQL backend is one more ops table
 * and changes no caller.
 *
 * Ids are UUID v4 strings (36 characters, lowercase). Times are milliseconds since the Unix
 * epoch (UTC). Every owner-scoped call takes the caller's user id and answers NCSL_E_NOT_FOUND
 * for a record of another user, exactly as for one that does not exist, so existence does not
 * leak. A malformed id is NCSL_E_NOT_FOUND too (routes pass path segments straight through).
 *
 * Errors (besides each function's own): NCSL_E_INVALID_ARG (field names the argument),
 * NCSL_E_NOMEM, NCSL_E_CRYPTO, NCSL_E_BUSY (the database stayed locked past the busy timeout),
 * NCSL_E_STORE (the database failed: I/O, disk full; the message has the backend's reason),
 * NCSL_E_STORE_INTEGRITY (a sealed record failed authentication, or the file is corrupt).
 * Messages name records (user ids, function ids, secret names) but never hold values or code.
 *
 * Thread safety: every function except open/close may be called from any thread, concurrently,
 * on one handle. Never use a handle in a child after fork().
 */
#ifndef NCSL_STORE_H
#define NCSL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h" /* ncsl_seal_policy */
#include "ncsl/ncsl.h"
#include "tee/tee.h"

#define NCSL_STORE_DB_FILE "ncsl.db"
#define NCSL_STORE_ID_SIZE 37u     /* a UUID v4 string and its NUL */
#define NCSL_STORE_CURSOR_SIZE 64u /* an opaque page cursor and its NUL */
#define NCSL_STORE_HASH_HEX_SIZE 65u
/* API keys: "ncsl_" and 43 base64url characters (256 random bits). */
#define NCSL_STORE_API_KEY_PREFIX "ncsl_"
#define NCSL_STORE_API_KEY_LEN 48u
#define NCSL_STORE_API_KEY_SIZE (NCSL_STORE_API_KEY_LEN + 1u)
#define NCSL_STORE_API_KEY_DISPLAY_LEN 12u /* the prefix kept for display: "ncsl_AbCdEfG" */

/* Hard limits of the store itself; the service's configured limits are smaller. */
#define NCSL_STORE_MAX_NAME 255u                   /* user/function/secret/system names */
#define NCSL_STORE_MAX_KV_KEY 1024u                /* storage key, bytes */
#define NCSL_STORE_MAX_VALUE (16u * 1024u * 1024u) /* secret, storage or system value */
#define NCSL_STORE_MAX_CODE (16u * 1024u * 1024u)  /* function source */
#define NCSL_STORE_MAX_META (64u * 1024u)          /* description, JSON metadata */
#define NCSL_STORE_DEFAULT_PAGE 50u
#define NCSL_STORE_MAX_PAGE 1000u

typedef struct ncsl_store ncsl_store;

/* Options for ncsl_store_open. Caller-owned; fill with ncsl_store_options_default. */
typedef struct ncsl_store_options {
    /* Backend: NULL or "sqlite". Anything else is NCSL_E_UNSUPPORTED in this build. */
    const char *backend;
    /* SQLite: the database is <data_dir>/ncsl.db (the directory is made, mode 0700, when
     * missing). NULL: "./ncsl-data". Borrowed for the call. */
    const char *data_dir;
    /* Sealing policy of a NEW database. An existing database keeps the policy it was made with
     * and opening it with another one is NCSL_E_STORE_FOREIGN (never a silent switch).
     * Default MRSIGNER: user data must survive an upgrade of the enclave build; MRENCLAVE ties
     * it to this exact build. */
    ncsl_seal_policy policy;
    /* Connections in the pool (default 4, at most 64). */
    unsigned connections;
    /* How long a write waits for a lock held by another process (default 5000 ms). */
    uint32_t busy_timeout_ms;
    /* The cache of unsealed function code (latest versions, least recently used out first):
     * at most this many functions (default 1024) and bytes of code and metadata (default
     * 32 MiB). Either 0: no cache. A cached record is used only after the database confirms it
     * is still the function's latest version (docs/storage.md). */
    size_t function_cache_entries;
    size_t function_cache_bytes;
    /* TEST ONLY: the backend's migration list (store_int.h); NULL: the built-in one. */
    const void *test_migrations;
} ncsl_store_options;

/* Defaults: sqlite, "./ncsl-data", MRSIGNER, 4 connections, 5000 ms, a function cache of 1024
 * entries and 32 MiB. `opts` is borrowed. */
void ncsl_store_options_default(ncsl_store_options *opts);

/*
 * Opens (or creates, and migrates to this build's schema) the store. `tee` is borrowed for the
 * call: the store takes the root sealing key for its policy from it once and keeps it (wiped at
 * close). `opts` (NULL: defaults) is borrowed. On success the caller closes *out with
 * ncsl_store_close.
 * Errors: NCSL_E_INVALID_ARG, NCSL_E_UNSUPPORTED (backend), NCSL_E_IO (the data directory or
 * file cannot be made or is not a directory/regular file), NCSL_E_STORE, NCSL_E_STORE_SCHEMA
 * (not an NCSL database, made by a newer NCSL, or a migration failed: nothing of it applied),
 * NCSL_E_STORE_FOREIGN (sealed by another installation, another enclave build under
 * MRENCLAVE, or with another policy), TEE errors of ncsl_tee_seal_key.
 */
NCSL_NODISCARD ncsl_status ncsl_store_open(ncsl_tee *tee, const ncsl_store_options *opts,
                                           ncsl_store **out, ncsl_err *err);
/* Closes every connection and wipes the keys. NULL does nothing. No call may be running. */
void ncsl_store_close(ncsl_store *store);

/* Backend name ("sqlite"), where the data lives (the database path), the sealing policy, and
 * whether this open created the database. Strings borrowed from the handle. */
const char *ncsl_store_backend(const ncsl_store *store);
const char *ncsl_store_location(const ncsl_store *store);
ncsl_seal_policy ncsl_store_policy(const ncsl_store *store);
bool ncsl_store_created(const ncsl_store *store);
/* The schema version the database is at. */
unsigned ncsl_store_schema_version(const ncsl_store *store);

/* The backend's own consistency check (SQLite: integrity_check and foreign_key_check). NCSL_OK,
 * or NCSL_E_STORE_INTEGRITY with the first problem in the message. Seals are checked on read. */
NCSL_NODISCARD ncsl_status ncsl_store_check(ncsl_store *store, ncsl_err *err);

/* RFC 3339 UTC with milliseconds for a store time into `out` (caller-owned, >= 32 bytes). */
void ncsl_store_time_rfc3339(int64_t ms, char *out, size_t out_size);

/* ----------------------------------------------------------------------------- users */
typedef struct ncsl_store_user {
    char id[NCSL_STORE_ID_SIZE];
    char *name; /* owned by the struct */
    int64_t created_at_ms;
    bool disabled; /* a disabled user's keys do not authenticate */
} ncsl_store_user;

typedef struct ncsl_store_user_page {
    ncsl_store_user *items; /* owned by the page */
    size_t count;
    char next_cursor[NCSL_STORE_CURSOR_SIZE]; /* "" on the last page */
} ncsl_store_user_page;

/* Frees what the struct owns and zeroes it (the struct itself is the caller's). NULL is fine. */
void ncsl_store_user_cleanup(ncsl_store_user *user);
void ncsl_store_user_page_cleanup(ncsl_store_user_page *page);

/* Creates a user named `name` (borrowed, 1..NCSL_STORE_MAX_NAME bytes; names need not be
 * unique) and fills *out (caller-owned, may be NULL; clean up with ncsl_store_user_cleanup). */
NCSL_NODISCARD ncsl_status ncsl_store_user_create(ncsl_store *store, const char *name,
                                                  ncsl_store_user *out, ncsl_err *err);
/* Fills *out (caller-owned; clean up with ncsl_store_user_cleanup). NCSL_E_NOT_FOUND. */
NCSL_NODISCARD ncsl_status ncsl_store_user_get(ncsl_store *store, const char *id,
                                               ncsl_store_user *out, ncsl_err *err);
/* One page of users in creation order. limit 0: NCSL_STORE_DEFAULT_PAGE, at most
 * NCSL_STORE_MAX_PAGE. cursor: NULL or "" for the first page, else a next_cursor from the page
 * before (NCSL_E_INVALID_ARG, field "cursor", when it is not one). *out is caller-owned; clean
 * it up with ncsl_store_user_page_cleanup (also after a failure). */
NCSL_NODISCARD ncsl_status ncsl_store_user_list(ncsl_store *store, size_t limit, const char *cursor,
                                                ncsl_store_user_page *out, ncsl_err *err);
/* Disables or enables a user. NCSL_E_NOT_FOUND. */
NCSL_NODISCARD ncsl_status ncsl_store_user_set_disabled(ncsl_store *store, const char *id,
                                                        bool disabled, ncsl_err *err);
/* Deletes a user and, in the same transaction, every key, function (all versions), secret and
 * stored value of theirs. NCSL_E_NOT_FOUND. */
NCSL_NODISCARD ncsl_status ncsl_store_user_delete(ncsl_store *store, const char *id, ncsl_err *err);

/* ----------------------------------------------------------------------------- API keys */
/* Only a keyed hash of each key is stored: HMAC-SHA256 under a key derived from the TEE's
 * sealing key, so the database alone can neither reveal a key nor accept a forged one. */
typedef struct ncsl_store_api_key {
    char id[NCSL_STORE_ID_SIZE];
    char user_id[NCSL_STORE_ID_SIZE];
    char prefix[NCSL_STORE_API_KEY_DISPLAY_LEN + 1]; /* for display: "ncsl_AbCdEfG" */
    int64_t created_at_ms;
    int64_t revoked_at_ms; /* 0 while the key is active */
} ncsl_store_api_key;

/*
 * Makes a new random key for user `user_id`: the plaintext goes to `key_out` (caller-owned,
 * NCSL_STORE_API_KEY_SIZE bytes, NUL-terminated; a secret: show it once and wipe it), its
 * record to *info (caller-owned, may be NULL). NCSL_E_NOT_FOUND (field "user_id").
 */
NCSL_NODISCARD ncsl_status ncsl_store_api_key_create(ncsl_store *store, const char *user_id,
                                                     ncsl_store_api_key *info,
                                                     char key_out[NCSL_STORE_API_KEY_SIZE],
                                                     ncsl_err *err);
/*
 * Authenticates a presented key (`key`, borrowed, any string): looks it up by its keyed hash,
 * so no stored key is compared byte by byte. NCSL_OK fills *out (caller-owned) with the key's
 * record; NCSL_E_NOT_FOUND for a malformed, unknown or revoked key or a disabled user (the
 * message says which, for the log; answer all of them the same way).
 */
NCSL_NODISCARD ncsl_status ncsl_store_api_key_lookup(ncsl_store *store, const char *key,
                                                     ncsl_store_api_key *out, ncsl_err *err);
/* Every key of `user_id` (revoked ones too), oldest first: *items is a new array of *count
 * records, the caller frees it with free() (NULL when there are none). */
NCSL_NODISCARD ncsl_status ncsl_store_api_key_list(ncsl_store *store, const char *user_id,
                                                   ncsl_store_api_key **items, size_t *count,
                                                   ncsl_err *err);
/* Revokes key `key_id` of `user_id` (already revoked: NCSL_OK, the first time is kept).
 * NCSL_E_NOT_FOUND when it is not that user's key. */
NCSL_NODISCARD ncsl_status ncsl_store_api_key_revoke(ncsl_store *store, const char *user_id,
                                                     const char *key_id, ncsl_err *err);

/* ----------------------------------------------------------------------------- functions */
/* A version to store. Every pointer is borrowed for the call. */
typedef struct ncsl_store_function_spec {
    const char *name; /* create: required, unique per user; update: NULL keeps the name */
    const char *code; /* required, code_len bytes (1..NCSL_STORE_MAX_CODE), no NUL needed */
    size_t code_len;
    const char *description;           /* NULL: none */
    const char *required_secrets_json; /* NULL: none; else a JSON array of strings */
    const char *limits_json;           /* NULL: none; else a JSON object */
} ncsl_store_function_spec;

typedef struct ncsl_store_function {
    char id[NCSL_STORE_ID_SIZE];
    char user_id[NCSL_STORE_ID_SIZE];
    char *name;
    uint32_t version;                         /* the version these fields describe */
    uint32_t latest_version;                  /* the function's newest version */
    char code_hash[NCSL_STORE_HASH_HEX_SIZE]; /* lowercase hex SHA-256 of the code */
    size_t code_size;
    /* The code, NUL-terminated (code_size bytes without the NUL): set by get only, NULL in
     * lists and after create/update. Confidential: the cleanup wipes it. */
    char *code;
    char *description;           /* NULL when none */
    char *required_secrets_json; /* NULL when none */
    char *limits_json;           /* NULL when none */
    int64_t created_at_ms;       /* of the function (version 1) */
    int64_t updated_at_ms;       /* of this version */
} ncsl_store_function;

typedef struct ncsl_store_function_page {
    ncsl_store_function *items; /* latest versions, without code; owned by the page */
    size_t count;
    char next_cursor[NCSL_STORE_CURSOR_SIZE]; /* "" on the last page */
} ncsl_store_function_page;

/* Frees what the struct owns (wiping the code) and zeroes it. NULL is fine. */
void ncsl_store_function_cleanup(ncsl_store_function *fn);
void ncsl_store_function_page_cleanup(ncsl_store_function_page *page);

/*
 * Deploys a new function (version 1) for `user_id`: the code is sealed, its SHA-256 and the
 * metadata kept in clear (and bound to the sealed code). *out (caller-owned, may be NULL) gets
 * the record without the code. NCSL_E_NOT_FOUND (field "user_id"), NCSL_E_STORE_CONFLICT
 * (field "name": the user has a function of that name), NCSL_E_INVALID_ARG (field
 * "required_secrets" or "limits" for JSON of the wrong shape).
 */
NCSL_NODISCARD ncsl_status ncsl_store_function_create(ncsl_store *store, const char *user_id,
                                                      const ncsl_store_function_spec *spec,
                                                      ncsl_store_function *out, ncsl_err *err);
/* Version `version` (0: the latest) of function `id` of `user_id`, with its code, after
 * checking the seal and the code hash. The latest version may come from the function cache
 * (options), used only after the database confirms it is still exactly the latest version, so
 * a read after any acknowledged write, by this process or another, sees that write
 * (docs/storage.md). *out caller-owned (ncsl_store_function_cleanup).
 * NCSL_E_NOT_FOUND, NCSL_E_STORE_INTEGRITY. */
NCSL_NODISCARD ncsl_status ncsl_store_function_get(ncsl_store *store, const char *user_id,
                                                   const char *id, uint32_t version,
                                                   ncsl_store_function *out, ncsl_err *err);
/* One page of `user_id`'s functions (their latest versions, no code) in creation order; limit
 * and cursor as for ncsl_store_user_list. Clean *out up with
 * ncsl_store_function_page_cleanup (also after a failure). */
NCSL_NODISCARD ncsl_status ncsl_store_function_list(ncsl_store *store, const char *user_id,
                                                    size_t limit, const char *cursor,
                                                    ncsl_store_function_page *out, ncsl_err *err);
/* Stores `spec` as the next version of function `id` (older versions are kept). spec->name
 * NULL keeps the name; the other optional fields are the new version's as given (NULL: none).
 * *out (may be NULL) as for create. NCSL_E_NOT_FOUND, NCSL_E_STORE_CONFLICT (name taken). */
NCSL_NODISCARD ncsl_status ncsl_store_function_update(ncsl_store *store, const char *user_id,
                                                      const char *id,
                                                      const ncsl_store_function_spec *spec,
                                                      ncsl_store_function *out, ncsl_err *err);
/* Deletes function `id` of `user_id`, every version and its stored values. NCSL_E_NOT_FOUND. */
NCSL_NODISCARD ncsl_status ncsl_store_function_delete(ncsl_store *store, const char *user_id,
                                                      const char *id, ncsl_err *err);

/* ----------------------------------------------------------------------------- secrets */
/* Secret names: 1..NCSL_STORE_MAX_NAME bytes, no NUL (the service checks its stricter
 * pattern). The value is sealed with the label "secret/<user_id>/<name>". */
typedef struct ncsl_store_secret_info {
    char *name;  /* owned by the array */
    size_t size; /* value length in bytes */
    int64_t created_at_ms;
    int64_t updated_at_ms;
} ncsl_store_secret_info;

/*
 * Creates or replaces secret `name` of `user_id` with `value_len` bytes at `value` (borrowed;
 * 0..NCSL_STORE_MAX_VALUE bytes). max_count > 0: creating a new name when the user has
 * max_count secrets already is NCSL_E_STORE_QUOTA (checked in the same transaction; replacing
 * is always allowed). *created (may be NULL): whether the name was new.
 * NCSL_E_NOT_FOUND (field "user_id").
 */
NCSL_NODISCARD ncsl_status ncsl_store_secret_put(ncsl_store *store, const char *user_id,
                                                 const char *name, const void *value,
                                                 size_t value_len, size_t max_count, bool *created,
                                                 ncsl_err *err);
/* The value of secret `name`: *value is a new buffer of *value_len bytes plus a NUL; the caller
 * frees it with ncsl_store_value_free(*value, *value_len). NCSL_E_NOT_FOUND,
 * NCSL_E_STORE_INTEGRITY. */
NCSL_NODISCARD ncsl_status ncsl_store_secret_get(ncsl_store *store, const char *user_id,
                                                 const char *name, uint8_t **value,
                                                 size_t *value_len, ncsl_err *err);
/* Names, sizes and dates of `user_id`'s secrets, by name; never values. *items is a new array
 * (NULL when empty), freed with ncsl_store_secret_info_free(*items, *count). */
NCSL_NODISCARD ncsl_status ncsl_store_secret_list(ncsl_store *store, const char *user_id,
                                                  ncsl_store_secret_info **items, size_t *count,
                                                  ncsl_err *err);
void ncsl_store_secret_info_free(ncsl_store_secret_info *items, size_t count);
/* Deletes secret `name` of `user_id`. NCSL_E_NOT_FOUND. */
NCSL_NODISCARD ncsl_status ncsl_store_secret_delete(ncsl_store *store, const char *user_id,
                                                    const char *name, ncsl_err *err);
/* How many secrets `user_id` has. */
NCSL_NODISCARD ncsl_status ncsl_store_secret_count(ncsl_store *store, const char *user_id,
                                                   size_t *count, ncsl_err *err);
/*
 * The values an invocation needs, unsealed in one read: `names` (borrowed, name_count strings)
 * selects them, NULL selects all of the user's secrets. Names the user has no secret for are
 * simply absent from the result (the caller reports missing required secrets). *items is a new
 * array of *count ncsl_secret (by name) whose strings the array owns (values NUL-terminated);
 * free it with ncsl_store_secrets_free(*items, *count), which wipes the values.
 * NCSL_E_STORE_INTEGRITY when any selected secret fails its check (nothing is returned then).
 */
NCSL_NODISCARD ncsl_status ncsl_store_secret_load(ncsl_store *store, const char *user_id,
                                                  const char *const *names, size_t name_count,
                                                  ncsl_secret **items, size_t *count,
                                                  ncsl_err *err);
void ncsl_store_secrets_free(ncsl_secret *items, size_t count);

/* ----------------------------------------------------------------------------- storage */
/*
 * Per-function key-value data, scoped to (user, function): every call answers NCSL_E_NOT_FOUND
 * (field "function_id") unless function `function_id` belongs to `user_id`. Keys are
 * 1..NCSL_STORE_MAX_KV_KEY bytes without NUL; values 0..NCSL_STORE_MAX_VALUE bytes. Neither is
 * stored in clear: a row holds a keyed hash of the key and a blob sealing key and value with the
 * label "kv/<user_id>/<function_id>/<key hash hex>". An entry counts strlen(key) + value length
 * bytes towards its function's quota.
 */
typedef enum ncsl_store_kv_op_type {
    NCSL_STORE_KV_SET = 1,    /* key = value */
    NCSL_STORE_KV_REMOVE = 2, /* remove key (absent: nothing happens) */
    NCSL_STORE_KV_CLEAR = 3,  /* remove every key of the function */
} ncsl_store_kv_op_type;

/* One write of a batch. Pointers borrowed for the call. */
typedef struct ncsl_store_kv_op {
    ncsl_store_kv_op_type type;
    const char *key;   /* SET, REMOVE */
    const void *value; /* SET (NULL allowed when value_len is 0) */
    size_t value_len;
} ncsl_store_kv_op;

/* Value of `key`: on NCSL_OK with *found true, *value is a new buffer of *value_len bytes plus
 * a NUL (free with ncsl_store_value_free); *found false (value NULL, length 0) when the key is
 * absent. NCSL_E_STORE_INTEGRITY. */
NCSL_NODISCARD ncsl_status ncsl_store_kv_get(ncsl_store *store, const char *user_id,
                                             const char *function_id, const char *key,
                                             uint8_t **value, size_t *value_len, bool *found,
                                             ncsl_err *err);
/* One SET as a batch (see ncsl_store_kv_commit for quota_bytes). */
NCSL_NODISCARD ncsl_status ncsl_store_kv_set(ncsl_store *store, const char *user_id,
                                             const char *function_id, const char *key,
                                             const void *value, size_t value_len,
                                             uint64_t quota_bytes, ncsl_err *err);
/* One REMOVE as a batch. An absent key is NCSL_OK. */
NCSL_NODISCARD ncsl_status ncsl_store_kv_remove(ncsl_store *store, const char *user_id,
                                                const char *function_id, const char *key,
                                                ncsl_err *err);
/* One CLEAR as a batch. */
NCSL_NODISCARD ncsl_status ncsl_store_kv_clear(ncsl_store *store, const char *user_id,
                                               const char *function_id, ncsl_err *err);
/* The keys starting with `prefix` (borrowed; NULL or "" for all), sorted bytewise: every entry
 * of the function is unsealed to learn its key (so a tampered one fails the call). *keys is a new
 * array of *count NUL-terminated strings (NULL when empty), freed with
 * ncsl_store_kv_keys_free(*keys, *count). */
NCSL_NODISCARD ncsl_status ncsl_store_kv_list(ncsl_store *store, const char *user_id,
                                              const char *function_id, const char *prefix,
                                              char ***keys, size_t *count, ncsl_err *err);
void ncsl_store_kv_keys_free(char **keys, size_t count);
/* Bytes (keys + values) and entries the function holds. */
NCSL_NODISCARD ncsl_status ncsl_store_kv_usage(ncsl_store *store, const char *user_id,
                                               const char *function_id, uint64_t *bytes,
                                               size_t *count, ncsl_err *err);
/*
 * Applies `ops` (borrowed, `count` writes, in order) atomically: all of them or none. Storage
 * writes of a JS call are committed through this only when main() succeeded.
 * quota_bytes > 0: when the function's total after the batch is over quota_bytes and larger
 * than before it, nothing is applied and the answer is NCSL_E_STORE_QUOTA (a batch that only
 * shrinks an over-quota function is allowed). count 0 is NCSL_OK (ownership still checked).
 */
NCSL_NODISCARD ncsl_status ncsl_store_kv_commit(ncsl_store *store, const char *user_id,
                                                const char *function_id,
                                                const ncsl_store_kv_op *ops, size_t count,
                                                uint64_t quota_bytes, ncsl_err *err);

/* ----------------------------------------------------------------------------- system */
/* Sealed blobs of the service itself (enclave keys, settings), by name (1..NCSL_STORE_MAX_NAME
 * bytes), sealed with the label "system/<name>". put creates or replaces; get answers
 * NCSL_E_NOT_FOUND or a new buffer (free with ncsl_store_value_free); delete answers
 * NCSL_E_NOT_FOUND when absent. */
NCSL_NODISCARD ncsl_status ncsl_store_system_put(ncsl_store *store, const char *name,
                                                 const void *value, size_t value_len,
                                                 ncsl_err *err);
NCSL_NODISCARD ncsl_status ncsl_store_system_get(ncsl_store *store, const char *name,
                                                 uint8_t **value, size_t *value_len, ncsl_err *err);
NCSL_NODISCARD ncsl_status ncsl_store_system_delete(ncsl_store *store, const char *name,
                                                    ncsl_err *err);

/* Wipes `len` bytes plus the trailing NUL and frees a value the store returned (takes
 * ownership). NULL does nothing. */
void ncsl_store_value_free(uint8_t *value, size_t len);

#endif /* NCSL_STORE_H */
