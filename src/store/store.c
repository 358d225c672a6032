/*
 * The backend-neutral half of the store (contracts in store.h, the backend interface in
 * store_int.h, formats in docs/storage.md): arguments are checked, ids and times made, values
 * sealed and keys hashed here, so a backend only ever sees ids, clear metadata and blobs.
 *
 * Keys held by an open store, both wiped at close:
 *   root       the TEE's root sealing key for the store's policy (ncsl_seal derives the AES key
 *              from it per blob);
 *   index key  HKDF-SHA256(root, info = "ncsl-store-index-v1" || policy byte): the HMAC-SHA256
 *              key of API-key hashes and storage-key ids, so neither can be computed (or
 *              brute-forced from a low-entropy storage key) from the database alone.
 *
 * Seal labels (AAD) name the record, so a blob moved to another row fails:
 *   secret/<user_id>/<name>
 *   function/<user_id>/<function_id>/<version>/<hex SHA-256 of the version's clear metadata>
 *   kv/<user_id>/<function_id>/<hex key id>
 *   system/<name>
 *   store/seal-check                      (a known value; proves the installation at open)
 * Any unseal failure becomes NCSL_E_STORE_INTEGRITY naming the record; no unauthenticated byte
 * is returned.
 *
 * Function cache (store_cache.c): ncsl_store_function_get serves latest versions from it after
 * the backend's fn_match confirms the record is unchanged; update, delete and user delete forget
 * entries after their commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "store/store_int.h"

#define STORE_DEFAULT_DATA_DIR "./ncsl-data"
#define STORE_INDEX_INFO "ncsl-store-index-v1"
#define STORE_CHECK_NAME "seal-check"
#define STORE_CHECK_LABEL "store/seal-check"
#define STORE_CHECK_VALUE "NCSL store seal check v1"
#define STORE_FN_META_DOMAIN "ncsl-function-meta-v1"
#define STORE_UPDATE_TRIES 8
#define STORE_LABEL_SIZE 512u

struct ncsl_store {
    const ncsl__store_backend_ops *ops;
    void *state;
    EVP_MAC *hmac; /* fetched once; EVP_MAC objects may be shared between threads */
    /* HMAC-SHA256 keyed with index_key and never updated: each keyed hash starts from a copy
     * (EVP_MAC_CTX_dup only reads it), which skips fetching SHA-256 and keying per call. */
    EVP_MAC_CTX *hmac_base;
    ncsl__store_fn_cache *fn_cache; /* NULL when disabled (options) */
    uint8_t root[NCSL_TEE_SEAL_KEY_SIZE];
    uint8_t index_key[NCSL__STORE_HASH_SIZE];
    ncsl_seal_policy policy;
    bool created;
};

/* ------------------------------------------------------------------------- small helpers */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *policy_name(ncsl_seal_policy p) {
    return p == NCSL_SEAL_POLICY_MRENCLAVE  ? "MRENCLAVE"
           : p == NCSL_SEAL_POLICY_MRSIGNER ? "MRSIGNER"
                                            : "unknown";
}

static bool is_hex_lower(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* A UUID as ncsl_uuid_v4 writes it: 8-4-4-4-12 lowercase hex digits. */
static bool valid_id(const char *id) {
    if (!id || strnlen(id, NCSL_STORE_ID_SIZE) != NCSL_STORE_ID_SIZE - 1) {
        return false;
    }
    for (size_t i = 0; i < NCSL_STORE_ID_SIZE - 1; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? id[i] != '-' : !is_hex_lower(id[i])) {
            return false;
        }
    }
    return true;
}

/* A malformed id names no record: NCSL_E_NOT_FOUND, without echoing it. */
static ncsl_status check_id(const char *id, const char *field, const char *what, ncsl_err *err) {
    if (!valid_id(id)) {
        return ncsl_err_set(err, NCSL_E_NOT_FOUND, field, "no %s with this id", what);
    }
    return NCSL_OK;
}

/* Names: 1..max bytes, no ASCII control characters (they end up in logs and JSON). */
static ncsl_status check_name(const char *name, size_t max, const char *field, ncsl_err *err) {
    if (!name) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, field, "%s is required", field);
    }
    size_t n = strnlen(name, max + 1);
    if (n == 0 || n > max) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, field, "%s must be 1 to %zu bytes long", field,
                            max);
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, field, "%s contains a control character",
                                field);
        }
    }
    return NCSL_OK;
}

static ncsl_status check_kv_key(const char *key, size_t *len, ncsl_err *err) {
    if (!key) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "key", "key is required");
    }
    *len = strnlen(key, NCSL_STORE_MAX_KV_KEY + 1);
    if (*len == 0 || *len > NCSL_STORE_MAX_KV_KEY) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "key", "key must be 1 to %u bytes long",
                            NCSL_STORE_MAX_KV_KEY);
    }
    return NCSL_OK;
}

static ncsl_status check_value(const void *value, size_t len, size_t max, const char *field,
                               ncsl_err *err) {
    if (len > max) {
        return ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, field, "%s is %zu bytes, at most %zu",
                            field, len, max);
    }
    if (!value && len) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, field, "%s is NULL", field);
    }
    return NCSL_OK;
}

static ncsl_status no_store(ncsl_store *s, ncsl_err *err) {
    return s ? NCSL_OK : ncsl_err_set(err, NCSL_E_INVALID_ARG, "store", "store is NULL");
}

/* The store is open and user_id is well formed. */
static ncsl_status user_args(ncsl_store *s, const char *user_id, ncsl_err *err) {
    ncsl_status st = no_store(s, err);
    return st != NCSL_OK ? st : check_id(user_id, "user_id", "user", err);
}

/* The store is open, user_id and the function id `id` are well formed. */
static ncsl_status fn_args(ncsl_store *s, const char *user_id, const char *id, ncsl_err *err) {
    ncsl_status st = user_args(s, user_id, err);
    return st != NCSL_OK ? st : check_id(id, "id", "function", err);
}

/* The store is open and the output struct `out` (`size` bytes) is given. *out is zeroed
 * whenever it is given, also when the store is not. */
static ncsl_status out_args(ncsl_store *s, void *out, size_t size, ncsl_err *err) {
    ncsl_status st = no_store(s, err);
    if (out) {
        memset(out, 0, size);
    } else if (st == NCSL_OK) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "out is NULL");
    }
    return st;
}

/* After the checks that gave `st`: both output pointers of a call are given (`names` names
 * them, `field` is the first). */
static ncsl_status outs_given(ncsl_status st, bool given, const char *field, const char *names,
                              ncsl_err *err) {
    if (st == NCSL_OK && !given) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, field, "%s are required", names);
    }
    return st;
}

static void hex32(const uint8_t in[32], char out[65]) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[64] = '\0';
}

static void be32(uint8_t out[4], uint32_t v) {
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

void ncsl_store_time_rfc3339(int64_t ms, char *out, size_t out_size) {
    time_t sec = (time_t)(ms / 1000);
    long rem = (long)(ms % 1000);
    if (rem < 0) {
        rem += 1000;
        sec -= 1;
    }
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        snprintf(out, out_size, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
}

/* ------------------------------------------------------------------------- keyed hashes */

/* HMAC-SHA256 under the index key of: domain (with its NUL) and each part as a 4-byte
 * big-endian length and its bytes, so no two part lists hash alike. */
static ncsl_status keyed_hash(const ncsl_store *s, const char *domain, const char *const *parts,
                              const size_t *lens, size_t n, uint8_t out[NCSL__STORE_HASH_SIZE],
                              ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    size_t out_len = 0;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(s->hmac_base);
    if (!ctx || EVP_MAC_update(ctx, (const unsigned char *)domain, strlen(domain) + 1) != 1) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "HMAC-SHA256 failed");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t len[4];
        be32(len, (uint32_t)lens[i]);
        if (EVP_MAC_update(ctx, len, sizeof(len)) != 1 ||
            EVP_MAC_update(ctx, (const unsigned char *)parts[i], lens[i]) != 1) {
            st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "HMAC-SHA256 failed");
            goto out;
        }
    }
    if (EVP_MAC_final(ctx, out, &out_len, NCSL__STORE_HASH_SIZE) != 1 ||
        out_len != NCSL__STORE_HASH_SIZE) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "HMAC-SHA256 failed");
    }
out:
    EVP_MAC_CTX_free(ctx);
    return st;
}

static ncsl_status api_key_hash(const ncsl_store *s, const char *key,
                                uint8_t out[NCSL__STORE_HASH_SIZE], ncsl_err *err) {
    const char *parts[] = {key};
    size_t lens[] = {strlen(key)};
    return keyed_hash(s, "api-key", parts, lens, 1, out, err);
}

static ncsl_status kv_key_id(const ncsl_store *s, const char *user_id, const char *function_id,
                             const char *key, size_t key_len, uint8_t out[NCSL__STORE_HASH_SIZE],
                             ncsl_err *err) {
    const char *parts[] = {user_id, function_id, key};
    size_t lens[] = {strlen(user_id), strlen(function_id), key_len};
    return keyed_hash(s, "kv-key", parts, lens, 3, out, err);
}

/* ------------------------------------------------------------------------- sealing */

static ncsl_status seal_rec(const ncsl_store *s, const char *label, const void *plain, size_t len,
                            uint8_t **blob, size_t *blob_len, ncsl_err *err) {
    return ncsl_seal(s->root, sizeof(s->root), s->policy, label, plain, len, blob, blob_len, err);
}

/* Unseals a record's blob; every failure but memory is NCSL_E_STORE_INTEGRITY naming the
 * record (`what`, e.g. "secret \"API_KEY\" of user <id>") in the message and `field`. */
static ncsl_status unseal_rec(const ncsl_store *s, const char *label, const char *what,
                              const char *field, const uint8_t *blob, size_t blob_len,
                              uint8_t **plain, size_t *plain_len, ncsl_err *err) {
    ncsl_err e2;
    ncsl_status st =
        ncsl_unseal(s->root, sizeof(s->root), label, blob, blob_len, plain, plain_len, &e2);
    if (st == NCSL_OK) {
        return NCSL_OK;
    }
    if (st == NCSL_E_NOMEM) {
        return ncsl_err_set(err, st, NULL, "out of memory");
    }
    NCSL_LOG_ERROR("store", "%s failed its integrity check: %s", what, e2.message);
    return ncsl_err_set(err, NCSL_E_STORE_INTEGRITY, field, "%s failed its integrity check: %s",
                        what, e2.message);
}

static ncsl_status integrity_fail(const char *what, const char *field, const char *why,
                                  ncsl_err *err) {
    NCSL_LOG_ERROR("store", "%s failed its integrity check: %s", what, why);
    return ncsl_err_set(err, NCSL_E_STORE_INTEGRITY, field, "%s failed its integrity check: %s",
                        what, why);
}

/* ------------------------------------------------------------------------- open, close */

void ncsl_store_options_default(ncsl_store_options *opts) {
    memset(opts, 0, sizeof(*opts));
    opts->backend = NULL;
    opts->data_dir = NULL;
    opts->policy = NCSL_SEAL_POLICY_MRSIGNER;
    opts->connections = 4;
    opts->busy_timeout_ms = 5000;
    opts->function_cache_entries = 1024;
    opts->function_cache_bytes = 32u * 1024u * 1024u;
}

/* Makes the check record on a new database, or proves an existing one was sealed by this
 * installation with this policy. */
static ncsl_status seal_check(ncsl_store *s, ncsl_err *err) {
    uint8_t *blob = NULL, *plain = NULL;
    size_t blob_len = 0, plain_len = 0;
    const char *where = s->ops->location(s->state);
    ncsl_status st = s->ops->meta_get(s->state, STORE_CHECK_NAME, &blob, &blob_len, err);
    if (st == NCSL_E_NOT_FOUND) {
        st = seal_rec(s, STORE_CHECK_LABEL, STORE_CHECK_VALUE, strlen(STORE_CHECK_VALUE), &blob,
                      &blob_len, err);
        if (st == NCSL_OK) {
            st = s->ops->meta_put_new(s->state, STORE_CHECK_NAME, blob, blob_len, err);
        }
        if (st == NCSL_OK) {
            s->created = true;
            goto out;
        }
        if (st != NCSL_E_STORE_CONFLICT) {
            goto out;
        }
        /* Another process made it first: check theirs. */
        free(blob);
        blob = NULL;
        st = s->ops->meta_get(s->state, STORE_CHECK_NAME, &blob, &blob_len, err);
    }
    if (st != NCSL_OK) {
        goto out;
    }
    ncsl_seal_info info;
    ncsl_err e2;
    if (ncsl_seal_blob_info(blob, blob_len, &info, &e2) != NCSL_OK) {
        st = ncsl_err_set(err, NCSL_E_STORE_FOREIGN, NULL,
                          "%s: its seal check record is unreadable (%s)", where, e2.message);
        goto out;
    }
    if (info.policy != s->policy) {
        st = ncsl_err_set(err, NCSL_E_STORE_FOREIGN, "policy",
                          "%s was sealed with policy %s, not %s: set the store's sealing policy "
                          "back to %s",
                          where, policy_name(info.policy), policy_name(s->policy),
                          policy_name(info.policy));
        goto out;
    }
    if (ncsl_unseal(s->root, sizeof(s->root), STORE_CHECK_LABEL, blob, blob_len, &plain, &plain_len,
                    &e2) != NCSL_OK ||
        plain_len != strlen(STORE_CHECK_VALUE) || memcmp(plain, STORE_CHECK_VALUE, plain_len)) {
        st = ncsl_err_set(err, NCSL_E_STORE_FOREIGN, NULL,
                          "%s was sealed by another installation or enclave build (%s policy); "
                          "this TEE cannot read it",
                          where, policy_name(s->policy));
    }
out:
    ncsl_unseal_free(plain, plain_len);
    free(blob);
    return st;
}

ncsl_status ncsl_store_open(ncsl_tee *tee, const ncsl_store_options *opts, ncsl_store **out,
                            ncsl_err *err) {
    ncsl_store_options o;
    ncsl_store *s = NULL;
    ncsl_status st = NCSL_OK;
    uint8_t info[sizeof(STORE_INDEX_INFO)];

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "out is NULL");
    }
    *out = NULL;
    if (!tee) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "tee", "tee is NULL");
    }
    if (opts) {
        o = *opts;
    } else {
        ncsl_store_options_default(&o);
    }
    if (!o.data_dir || !*o.data_dir) {
        o.data_dir = STORE_DEFAULT_DATA_DIR;
    }
    if (o.connections == 0) {
        o.connections = 4;
    }
    if (o.policy != NCSL_SEAL_POLICY_MRENCLAVE && o.policy != NCSL_SEAL_POLICY_MRSIGNER) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "policy", "unknown sealing policy %d",
                            (int)o.policy);
    }
    if (strlen(o.data_dir) > 4000) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "data_dir", "data_dir is too long");
    }
    const ncsl__store_backend_ops *ops = NULL;
    if (!o.backend || strcmp(o.backend, "sqlite") == 0) {
        ops = &ncsl__store_sqlite_ops;
    } else {
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, "backend",
                            "store backend \"%.64s\" is not in this build (only \"sqlite\")",
                            o.backend);
    }

    s = calloc(1, sizeof(*s));
    if (!s) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    s->ops = ops;
    s->policy = o.policy;
    s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!s->hmac) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "OpenSSL has no HMAC");
        goto out;
    }
    st = ncsl_tee_seal_key(tee, o.policy, s->root, err);
    if (st != NCSL_OK) {
        goto out;
    }
    memcpy(info, STORE_INDEX_INFO, sizeof(STORE_INDEX_INFO) - 1);
    info[sizeof(STORE_INDEX_INFO) - 1] = (uint8_t)o.policy;
    st = ncsl_crypto_hkdf_sha256(s->root, sizeof(s->root), NULL, 0, info, sizeof(info),
                                 s->index_key, sizeof(s->index_key), err);
    if (st != NCSL_OK) {
        goto out;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    s->hmac_base = EVP_MAC_CTX_new(s->hmac);
    if (!s->hmac_base ||
        EVP_MAC_init(s->hmac_base, s->index_key, sizeof(s->index_key), params) != 1) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "HMAC-SHA256 failed");
        goto out;
    }
    if (o.function_cache_entries > 0 && o.function_cache_bytes > 0) {
        s->fn_cache = ncsl__store_fn_cache_create(o.function_cache_entries, o.function_cache_bytes);
        if (!s->fn_cache) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            goto out;
        }
    }
    st = ops->open(&o, &s->state, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = seal_check(s, err);
out:
    if (st != NCSL_OK) {
        ncsl_store_close(s);
        return st;
    }
    *out = s;
    return NCSL_OK;
}

void ncsl_store_close(ncsl_store *s) {
    if (!s) {
        return;
    }
    if (s->state) {
        s->ops->close(s->state);
    }
    ncsl__store_fn_cache_destroy(s->fn_cache); /* wipes the cached code */
    EVP_MAC_CTX_free(s->hmac_base);
    EVP_MAC_free(s->hmac);
    ncsl_wipe(s->root, sizeof(s->root));
    ncsl_wipe(s->index_key, sizeof(s->index_key));
    free(s);
}

const char *ncsl_store_backend(const ncsl_store *s) {
    return s->ops->name;
}

const char *ncsl_store_location(const ncsl_store *s) {
    return s->ops->location(s->state);
}

ncsl_seal_policy ncsl_store_policy(const ncsl_store *s) {
    return s->policy;
}

bool ncsl_store_created(const ncsl_store *s) {
    return s->created;
}

unsigned ncsl_store_schema_version(const ncsl_store *s) {
    return s->ops->schema_version(s->state);
}

ncsl_status ncsl_store_check(ncsl_store *s, ncsl_err *err) {
    ncsl_status st = no_store(s, err);
    return st != NCSL_OK ? st : s->ops->check(s->state, err);
}

ncsl__store_fn_cache *ncsl__store_test_fn_cache(ncsl_store *s) {
    return s->fn_cache;
}

ncsl_status ncsl__store_test_pragma(ncsl_store *s, const char *pragma, char *out, size_t out_size,
                                    ncsl_err *err) {
    if (s->ops != &ncsl__store_sqlite_ops) {
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, NULL, "not an SQLite store");
    }
    return ncsl__store_sqlite_pragma(s->state, pragma, out, out_size, err);
}

/* ------------------------------------------------------------------------- frees */

void ncsl_store_value_free(uint8_t *value, size_t len) {
    if (value) {
        ncsl_wipe(value, len + 1);
        free(value);
    }
}

void ncsl_store_user_cleanup(ncsl_store_user *u) {
    if (u) {
        free(u->name);
        memset(u, 0, sizeof(*u));
    }
}

void ncsl_store_user_page_cleanup(ncsl_store_user_page *page) {
    if (page) {
        for (size_t i = 0; i < page->count; i++) {
            ncsl_store_user_cleanup(&page->items[i]);
        }
        free(page->items);
        memset(page, 0, sizeof(*page));
    }
}

void ncsl_store_function_cleanup(ncsl_store_function *f) {
    if (f) {
        if (f->code) {
            ncsl_wipe(f->code, f->code_size + 1);
            free(f->code);
        }
        free(f->name);
        free(f->description);
        free(f->required_secrets_json);
        free(f->limits_json);
        memset(f, 0, sizeof(*f));
    }
}

void ncsl_store_function_page_cleanup(ncsl_store_function_page *page) {
    if (page) {
        for (size_t i = 0; i < page->count; i++) {
            ncsl_store_function_cleanup(&page->items[i]);
        }
        free(page->items);
        memset(page, 0, sizeof(*page));
    }
}

void ncsl_store_secret_info_free(ncsl_store_secret_info *items, size_t count) {
    for (size_t i = 0; items && i < count; i++) {
        free(items[i].name);
    }
    free(items);
}

void ncsl_store_secrets_free(ncsl_secret *items, size_t count) {
    for (size_t i = 0; items && i < count; i++) {
        /* The array owns these strings (ncsl_secret declares them const for the engine). */
        char *value = (char *)items[i].value;
        if (value) {
            ncsl_wipe(value, items[i].value_len + 1);
            free(value);
        }
        free((char *)items[i].name);
    }
    free(items);
}

void ncsl_store_kv_keys_free(char **keys, size_t count) {
    for (size_t i = 0; keys && i < count; i++) {
        free(keys[i]);
    }
    free(keys);
}

void ncsl__store_fn_row_cleanup(ncsl__store_fn_row *row) {
    if (row) {
        ncsl_store_function_cleanup(&row->meta);
        free(row->blob);
        row->blob = NULL;
        row->blob_len = 0;
    }
}

void ncsl__store_secret_row_cleanup(ncsl__store_secret_row *row) {
    if (row) {
        free(row->name);
        free(row->blob);
        memset(row, 0, sizeof(*row));
    }
}

void ncsl__store_secret_rows_free(ncsl__store_secret_row *rows, size_t count) {
    for (size_t i = 0; rows && i < count; i++) {
        ncsl__store_secret_row_cleanup(&rows[i]);
    }
    free(rows);
}

void ncsl__store_kv_rows_free(ncsl__store_kv_row *rows, size_t count) {
    for (size_t i = 0; rows && i < count; i++) {
        free(rows[i].blob);
    }
    free(rows);
}

/* ------------------------------------------------------------------------- paging */

static size_t page_limit(size_t limit) {
    if (limit == 0) {
        return NCSL_STORE_DEFAULT_PAGE;
    }
    return limit > NCSL_STORE_MAX_PAGE ? NCSL_STORE_MAX_PAGE : limit;
}

/* Cursors are "<created_at ms>.<id>", as the backends write them. */
static ncsl_status parse_cursor(const char *cursor, ncsl__store_cursor *out, ncsl_err *err) {
    memset(out, 0, sizeof(*out));
    if (!cursor || !*cursor) {
        return NCSL_OK;
    }
    const char *dot = strchr(cursor, '.');
    size_t digits = dot ? (size_t)(dot - cursor) : 0;
    int64_t v = 0;
    bool ok = dot && digits >= 1 && digits <= 18 && valid_id(dot + 1);
    for (size_t i = 0; ok && i < digits; i++) {
        ok = cursor[i] >= '0' && cursor[i] <= '9';
        v = v * 10 + (cursor[i] - '0');
    }
    if (!ok) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "cursor", "not a page cursor of this list");
    }
    out->set = true;
    out->created_at_ms = v;
    memcpy(out->id, dot + 1, NCSL_STORE_ID_SIZE);
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- users */

ncsl_status ncsl_store_user_create(ncsl_store *s, const char *name, ncsl_store_user *out,
                                   ncsl_err *err) {
    ncsl_store_user u;
    ncsl_status st = no_store(s, err);
    if (out) {
        memset(out, 0, sizeof(*out));
    }
    if (st == NCSL_OK) {
        st = check_name(name, NCSL_STORE_MAX_NAME, "name", err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    memset(&u, 0, sizeof(u));
    if (ncsl_uuid_v4(u.id) != NCSL_OK) {
        return ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "the random generator failed");
    }
    u.name = (char *)name; /* borrowed for the insert */
    u.created_at_ms = now_ms();
    st = s->ops->user_insert(s->state, &u, err);
    if (st == NCSL_OK && out) {
        *out = u;
        out->name = strdup(name);
        if (!out->name) {
            memset(out, 0, sizeof(*out));
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (the user was created)");
        }
    }
    return st;
}

ncsl_status ncsl_store_user_get(ncsl_store *s, const char *id, ncsl_store_user *out,
                                ncsl_err *err) {
    ncsl_status st = out_args(s, out, sizeof(*out), err);
    if (st == NCSL_OK) {
        st = check_id(id, "id", "user", err);
    }
    return st != NCSL_OK ? st : s->ops->user_get(s->state, id, out, err);
}

ncsl_status ncsl_store_user_list(ncsl_store *s, size_t limit, const char *cursor,
                                 ncsl_store_user_page *out, ncsl_err *err) {
    ncsl__store_cursor after;
    ncsl_status st = out_args(s, out, sizeof(*out), err);
    if (st == NCSL_OK) {
        st = parse_cursor(cursor, &after, err);
    }
    return st != NCSL_OK ? st : s->ops->user_list(s->state, page_limit(limit), &after, out, err);
}

ncsl_status ncsl_store_user_set_disabled(ncsl_store *s, const char *id, bool disabled,
                                         ncsl_err *err) {
    ncsl_status st = no_store(s, err);
    if (st == NCSL_OK) {
        st = check_id(id, "id", "user", err);
    }
    return st != NCSL_OK ? st : s->ops->user_set_disabled(s->state, id, disabled, err);
}

ncsl_status ncsl_store_user_delete(ncsl_store *s, const char *id, ncsl_err *err) {
    ncsl_status st = no_store(s, err);
    if (st == NCSL_OK) {
        st = check_id(id, "id", "user", err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    st = s->ops->user_delete(s->state, id, err);
    /* After the commit, before the answer: no later read finds the user's functions cached. */
    ncsl__store_fn_cache_forget_user(s->fn_cache, id);
    return st;
}

/* ------------------------------------------------------------------------- API keys */

ncsl_status ncsl_store_api_key_create(ncsl_store *s, const char *user_id, ncsl_store_api_key *info,
                                      char key_out[NCSL_STORE_API_KEY_SIZE], ncsl_err *err) {
    uint8_t raw[32];
    uint8_t hash[NCSL__STORE_HASH_SIZE];
    ncsl_store_api_key k;
    ncsl_status st = no_store(s, err);

    if (info) {
        memset(info, 0, sizeof(*info));
    }
    if (st == NCSL_OK && !key_out) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "key_out", "key_out is NULL");
    }
    if (st == NCSL_OK) {
        key_out[0] = '\0';
        st = check_id(user_id, "user_id", "user", err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    memset(&k, 0, sizeof(k));
    st = ncsl_crypto_random(raw, sizeof(raw), err);
    if (st != NCSL_OK) {
        return st;
    }
    memcpy(key_out, NCSL_STORE_API_KEY_PREFIX, sizeof(NCSL_STORE_API_KEY_PREFIX) - 1);
    ncsl_base64url_encode(raw, sizeof(raw), key_out + sizeof(NCSL_STORE_API_KEY_PREFIX) - 1);
    ncsl_wipe(raw, sizeof(raw));
    if (ncsl_uuid_v4(k.id) != NCSL_OK) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "the random generator failed");
        goto out;
    }
    snprintf(k.user_id, sizeof(k.user_id), "%s", user_id);
    memcpy(k.prefix, key_out, NCSL_STORE_API_KEY_DISPLAY_LEN);
    k.prefix[NCSL_STORE_API_KEY_DISPLAY_LEN] = '\0';
    k.created_at_ms = now_ms();
    st = api_key_hash(s, key_out, hash, err);
    if (st == NCSL_OK) {
        st = s->ops->key_insert(s->state, &k, hash, err);
    }
    if (st == NCSL_OK && info) {
        *info = k;
    }
out:
    if (st != NCSL_OK) {
        ncsl_wipe(key_out, NCSL_STORE_API_KEY_SIZE);
    }
    return st;
}

static bool api_key_well_formed(const char *key) {
    static const size_t plen = sizeof(NCSL_STORE_API_KEY_PREFIX) - 1;
    if (strnlen(key, NCSL_STORE_API_KEY_SIZE) != NCSL_STORE_API_KEY_LEN ||
        memcmp(key, NCSL_STORE_API_KEY_PREFIX, plen) != 0) {
        return false;
    }
    for (size_t i = plen; i < NCSL_STORE_API_KEY_LEN; i++) {
        char c = key[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_')) {
            return false;
        }
    }
    return true;
}

ncsl_status ncsl_store_api_key_lookup(ncsl_store *s, const char *key, ncsl_store_api_key *out,
                                      ncsl_err *err) {
    uint8_t hash[NCSL__STORE_HASH_SIZE];
    bool disabled = false;
    ncsl_store_api_key k;
    ncsl_status st = out_args(s, out, sizeof(*out), err);
    if (st != NCSL_OK) {
        return st;
    }
    if (!key || !api_key_well_formed(key)) {
        return ncsl_err_set(err, NCSL_E_NOT_FOUND, "key", "malformed API key");
    }
    st = api_key_hash(s, key, hash, err);
    if (st == NCSL_OK) {
        st = s->ops->key_lookup(s->state, hash, &k, &disabled, err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    if (k.revoked_at_ms != 0) {
        return ncsl_err_set(err, NCSL_E_NOT_FOUND, "key", "API key %s was revoked", k.id);
    }
    if (disabled) {
        return ncsl_err_set(err, NCSL_E_NOT_FOUND, "key", "user %s is disabled", k.user_id);
    }
    *out = k;
    return NCSL_OK;
}

ncsl_status ncsl_store_api_key_list(ncsl_store *s, const char *user_id, ncsl_store_api_key **items,
                                    size_t *count, ncsl_err *err) {
    ncsl_status st = outs_given(no_store(s, err), items && count, "items", "items and count", err);
    if (st != NCSL_OK) {
        return st;
    }
    *items = NULL;
    *count = 0;
    st = check_id(user_id, "user_id", "user", err);
    if (st == NCSL_OK) {
        st = s->ops->key_list(s->state, user_id, items, count, err);
    }
    if (st != NCSL_OK) {
        free(*items);
        *items = NULL;
        *count = 0;
    }
    return st;
}

ncsl_status ncsl_store_api_key_revoke(ncsl_store *s, const char *user_id, const char *key_id,
                                      ncsl_err *err) {
    ncsl_status st = user_args(s, user_id, err);
    if (st == NCSL_OK) {
        st = check_id(key_id, "key_id", "API key", err);
    }
    return st != NCSL_OK ? st : s->ops->key_revoke(s->state, user_id, key_id, now_ms(), err);
}

/* ------------------------------------------------------------------------- functions */

/* JSON metadata must have the documented shape: required_secrets an array of strings, limits
 * an object. */
static ncsl_status check_json(const char *text, bool array_of_strings, const char *field,
                              ncsl_err *err) {
    if (!text) {
        return NCSL_OK;
    }
    if (strnlen(text, NCSL_STORE_MAX_META + 1) > NCSL_STORE_MAX_META) {
        return ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, field, "%s is over %u bytes", field,
                            NCSL_STORE_MAX_META);
    }
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    bool ok = j != NULL;
    if (ok && array_of_strings) {
        ok = json_is_array(j);
        for (size_t i = 0; ok && i < json_array_size(j); i++) {
            ok = json_is_string(json_array_get(j, i));
        }
    } else if (ok) {
        ok = json_is_object(j);
    }
    json_decref(j);
    if (!ok) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, field,
                            array_of_strings ? "%s must be a JSON array of strings"
                                             : "%s must be a JSON object",
                            field);
    }
    return NCSL_OK;
}

static ncsl_status check_spec(const ncsl_store_function_spec *spec, bool name_required,
                              ncsl_err *err) {
    if (!spec) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "spec", "spec is NULL");
    }
    ncsl_status st = NCSL_OK;
    if (spec->name || name_required) {
        st = check_name(spec->name, NCSL_STORE_MAX_NAME, "name", err);
    }
    if (st == NCSL_OK && (!spec->code || spec->code_len == 0)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "code", "code is required");
    }
    if (st == NCSL_OK && spec->code_len > NCSL_STORE_MAX_CODE) {
        st = ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, "code", "code is %zu bytes, at most %u",
                          spec->code_len, NCSL_STORE_MAX_CODE);
    }
    if (st == NCSL_OK && spec->description &&
        strnlen(spec->description, NCSL_STORE_MAX_META + 1) > NCSL_STORE_MAX_META) {
        st = ncsl_err_set(err, NCSL_E_PAYLOAD_TOO_LARGE, "description",
                          "description is over %u bytes", NCSL_STORE_MAX_META);
    }
    if (st == NCSL_OK) {
        st = check_json(spec->required_secrets_json, true, "required_secrets", err);
    }
    if (st == NCSL_OK) {
        st = check_json(spec->limits_json, false, "limits", err);
    }
    return st;
}

static void meta_field(ncsl_buf *b, const char *s) {
    uint8_t len[4];
    be32(len, s ? (uint32_t)strlen(s) : 0xFFFFFFFFu);
    ncsl_buf_append(b, len, sizeof(len));
    if (s) {
        ncsl_buf_append_str(b, s);
    }
}

/* The seal label of a function version: it binds the clear metadata (code hash and size,
 * description, required secrets, limits) to the sealed code, so editing any of them in the
 * database makes the code fail to unseal. */
static ncsl_status fn_label(const ncsl_store_function *m, char label[STORE_LABEL_SIZE],
                            ncsl_err *err) {
    ncsl_buf b;
    uint8_t digest[32], size[8];
    char hex[65];
    ncsl_buf_init(&b, 0);
    ncsl_buf_append(&b, STORE_FN_META_DOMAIN, sizeof(STORE_FN_META_DOMAIN));
    meta_field(&b, m->code_hash);
    uint64_t cs = m->code_size;
    for (int i = 0; i < 8; i++) {
        size[i] = (uint8_t)(cs >> (56 - 8 * i));
    }
    ncsl_buf_append(&b, size, sizeof(size));
    meta_field(&b, m->description);
    meta_field(&b, m->required_secrets_json);
    meta_field(&b, m->limits_json);
    if (b.oom) {
        ncsl_buf_cleanup(&b);
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    ncsl_status st = ncsl_crypto_sha256(b.data, b.len, digest, err);
    ncsl_buf_cleanup(&b);
    if (st != NCSL_OK) {
        return st;
    }
    hex32(digest, hex);
    snprintf(label, STORE_LABEL_SIZE, "function/%s/%s/%u/%s", m->user_id, m->id, m->version, hex);
    return NCSL_OK;
}

/* Fills row->meta from spec and seals the code for it (id, user_id, version and times set by
 * the caller first). spec strings are borrowed into row->meta: the caller must not clean up
 * row->meta, only free row->blob. */
static ncsl_status fn_seal(const ncsl_store *s, const ncsl_store_function_spec *spec,
                           ncsl__store_fn_row *row, ncsl_err *err) {
    uint8_t digest[32];
    char label[STORE_LABEL_SIZE];
    ncsl_store_function *m = &row->meta;
    ncsl_status st = ncsl_crypto_sha256(spec->code, spec->code_len, digest, err);
    if (st != NCSL_OK) {
        return st;
    }
    hex32(digest, m->code_hash);
    m->code_size = spec->code_len;
    m->name = (char *)spec->name;
    m->description = (char *)spec->description;
    m->required_secrets_json = (char *)spec->required_secrets_json;
    m->limits_json = (char *)spec->limits_json;
    st = fn_label(m, label, err);
    if (st == NCSL_OK) {
        st = seal_rec(s, label, spec->code, spec->code_len, &row->blob, &row->blob_len, err);
    }
    return st;
}

/* Copies the borrowed metadata of a just-stored row into the caller's struct. */
static ncsl_status fn_out(const ncsl__store_fn_row *row, const char *name, ncsl_store_function *out,
                          ncsl_err *err) {
    const ncsl_store_function *m = &row->meta;
    memset(out, 0, sizeof(*out));
    memcpy(out->id, m->id, sizeof(out->id));
    memcpy(out->user_id, m->user_id, sizeof(out->user_id));
    memcpy(out->code_hash, m->code_hash, sizeof(out->code_hash));
    out->version = out->latest_version = m->version;
    out->code_size = m->code_size;
    out->created_at_ms = m->created_at_ms;
    out->updated_at_ms = m->updated_at_ms;
    out->name = ncsl_strdup(name);
    out->description = ncsl_strdup(m->description);
    out->required_secrets_json = ncsl_strdup(m->required_secrets_json);
    out->limits_json = ncsl_strdup(m->limits_json);
    if (!out->name || (m->description && !out->description) ||
        (m->required_secrets_json && !out->required_secrets_json) ||
        (m->limits_json && !out->limits_json)) {
        ncsl_store_function_cleanup(out);
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (the function was stored)");
    }
    return NCSL_OK;
}

ncsl_status ncsl_store_function_create(ncsl_store *s, const char *user_id,
                                       const ncsl_store_function_spec *spec,
                                       ncsl_store_function *out, ncsl_err *err) {
    ncsl__store_fn_row row;
    ncsl_status st = user_args(s, user_id, err);
    memset(&row, 0, sizeof(row));
    if (out) {
        memset(out, 0, sizeof(*out));
    }
    if (st == NCSL_OK) {
        st = check_spec(spec, true, err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    if (ncsl_uuid_v4(row.meta.id) != NCSL_OK) {
        return ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "the random generator failed");
    }
    snprintf(row.meta.user_id, sizeof(row.meta.user_id), "%s", user_id);
    row.meta.version = 1;
    row.meta.created_at_ms = row.meta.updated_at_ms = now_ms();
    st = fn_seal(s, spec, &row, err);
    if (st == NCSL_OK) {
        st = s->ops->fn_insert(s->state, &row, err);
    }
    if (st == NCSL_OK && out) {
        st = fn_out(&row, spec->name, out, err);
    }
    free(row.blob); /* row.meta borrows from spec */
    return st;
}

ncsl_status ncsl_store_function_update(ncsl_store *s, const char *user_id, const char *id,
                                       const ncsl_store_function_spec *spec,
                                       ncsl_store_function *out, ncsl_err *err) {
    ncsl_status st = fn_args(s, user_id, id, err);
    if (out) {
        memset(out, 0, sizeof(*out));
    }
    if (st == NCSL_OK) {
        st = check_spec(spec, false, err);
    }
    for (int attempt = 0; st == NCSL_OK && attempt < STORE_UPDATE_TRIES; attempt++) {
        ncsl__store_fn_row cur, row;
        ncsl_err e2;
        memset(&cur, 0, sizeof(cur));
        memset(&row, 0, sizeof(row));
        st = s->ops->fn_get(s->state, user_id, id, 0, &cur, err);
        if (st != NCSL_OK) {
            break;
        }
        memcpy(row.meta.id, cur.meta.id, sizeof(row.meta.id));
        memcpy(row.meta.user_id, cur.meta.user_id, sizeof(row.meta.user_id));
        row.meta.version = cur.meta.latest_version + 1;
        row.meta.created_at_ms = cur.meta.created_at_ms;
        row.meta.updated_at_ms = now_ms();
        st = fn_seal(s, spec, &row, &e2);
        if (st == NCSL_OK) {
            st = s->ops->fn_add_version(s->state, &row, &e2);
        }
        if (st == NCSL_OK && out) {
            st = fn_out(&row, spec->name ? spec->name : cur.meta.name, out, &e2);
        }
        bool raced = st == NCSL_E_STORE_CONFLICT && strcmp(e2.field, "version") == 0;
        if (st != NCSL_OK && !raced && err) {
            *err = e2;
        }
        free(row.blob);
        ncsl__store_fn_row_cleanup(&cur);
        /* After the commit, before the answer (also after a failure: forgetting is cheap). */
        ncsl__store_fn_cache_forget(s->fn_cache, user_id, id);
        if (raced) {
            st = NCSL_OK; /* another writer made the next version first: read again */
            continue;
        }
        return st;
    }
    if (st == NCSL_OK) {
        st = ncsl_err_set(err, NCSL_E_BUSY, "id",
                          "function %s is being updated concurrently; try again", id);
    }
    return st;
}

/* Reads, unseals and checks a function version from the backend (ncsl_store_function_get
 * without the cache; arguments checked, *out zeroed). */
static ncsl_status fn_read(ncsl_store *s, const char *user_id, const char *id, uint32_t version,
                           ncsl_store_function *out, ncsl_err *err) {
    ncsl__store_fn_row row;
    char label[STORE_LABEL_SIZE], what[160];
    uint8_t *code = NULL;
    size_t code_len = 0;
    memset(&row, 0, sizeof(row));
    ncsl_status st = s->ops->fn_get(s->state, user_id, id, version, &row, err);
    if (st != NCSL_OK) {
        return st;
    }
    snprintf(what, sizeof(what), "the code of function %s version %u (user %s)", id,
             row.meta.version, user_id);
    st = fn_label(&row.meta, label, err);
    if (st == NCSL_OK) {
        st = unseal_rec(s, label, what, "id", row.blob, row.blob_len, &code, &code_len, err);
    }
    if (st == NCSL_OK) {
        uint8_t digest[32];
        char hex[65];
        st = ncsl_crypto_sha256(code, code_len, digest, err);
        if (st == NCSL_OK) {
            hex32(digest, hex);
            if (code_len != row.meta.code_size || strcmp(hex, row.meta.code_hash) != 0) {
                st = integrity_fail(what, "id", "the code does not match its recorded hash", err);
            }
        }
    }
    if (st == NCSL_OK) {
        *out = row.meta;
        memset(&row.meta, 0, sizeof(row.meta)); /* moved to *out */
        out->code = (char *)code;
        code = NULL;
    }
    ncsl_unseal_free(code, code_len);
    ncsl__store_fn_row_cleanup(&row);
    return st;
}

/*
 * The latest version comes from the function cache when the backend confirms, in one indexed
 * read without the blob, that the cached record is still exactly the function's latest version
 * (fn_match: version, code hash and every clear field). The cached code was unsealed and
 * checked against that code hash when it was cached, so a hit returns what a full read would,
 * also after a write by another process sharing the database; only the unseal and the hash are
 * saved. Local writes forget the entry as well (update, delete, user delete).
 */
ncsl_status ncsl_store_function_get(ncsl_store *s, const char *user_id, const char *id,
                                    uint32_t version, ncsl_store_function *out, ncsl_err *err) {
    ncsl_status st = out_args(s, out, sizeof(*out), err);
    if (st == NCSL_OK) {
        st = fn_args(s, user_id, id, err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    if (version != 0 || !s->fn_cache) {
        return fn_read(s, user_id, id, version, out, err);
    }
    const ncsl__store_fn_entry *e = ncsl__store_fn_cache_get(s->fn_cache, user_id, id);
    if (e) {
        bool same = false;
        st = s->ops->fn_match(s->state, user_id, id, ncsl__store_fn_entry_fn(e), &same, err);
        if (st == NCSL_OK && same) {
            if (!ncsl__store_fn_copy(out, ncsl__store_fn_entry_fn(e))) {
                st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            }
            ncsl__store_fn_cache_release(s->fn_cache, e);
            return st;
        }
        ncsl__store_fn_cache_release(s->fn_cache, e);
        if (st != NCSL_OK && st != NCSL_E_NOT_FOUND) {
            return st;
        }
        /* Changed or deleted (by this process or another): drop it and read afresh. */
        ncsl__store_fn_cache_forget(s->fn_cache, user_id, id);
        if (st == NCSL_E_NOT_FOUND) {
            return st;
        }
    }
    uint64_t gen = ncsl__store_fn_cache_gen(s->fn_cache);
    st = fn_read(s, user_id, id, 0, out, err);
    if (st == NCSL_OK) {
        ncsl__store_fn_cache_put(s->fn_cache, gen, out);
    }
    return st;
}

ncsl_status ncsl_store_function_list(ncsl_store *s, const char *user_id, size_t limit,
                                     const char *cursor, ncsl_store_function_page *out,
                                     ncsl_err *err) {
    ncsl__store_cursor after;
    ncsl_status st = out_args(s, out, sizeof(*out), err);
    if (st == NCSL_OK) {
        st = check_id(user_id, "user_id", "user", err);
    }
    if (st == NCSL_OK) {
        st = parse_cursor(cursor, &after, err);
    }
    return st != NCSL_OK ? st
                         : s->ops->fn_list(s->state, user_id, page_limit(limit), &after, out, err);
}

ncsl_status ncsl_store_function_delete(ncsl_store *s, const char *user_id, const char *id,
                                       ncsl_err *err) {
    ncsl_status st = fn_args(s, user_id, id, err);
    if (st != NCSL_OK) {
        return st;
    }
    st = s->ops->fn_delete(s->state, user_id, id, err);
    ncsl__store_fn_cache_forget(s->fn_cache, user_id, id); /* after the commit, before the answer */
    return st;
}

/* ------------------------------------------------------------------------- secrets */

static void secret_label(const char *user_id, const char *name, char label[STORE_LABEL_SIZE]) {
    snprintf(label, STORE_LABEL_SIZE, "secret/%s/%s", user_id, name);
}

static void secret_what(const char *user_id, const char *name, char *what, size_t size) {
    snprintf(what, size, "secret \"%s\" of user %s", name, user_id);
}

/* Unseals one secret row and checks its recorded size. */
static ncsl_status secret_open(const ncsl_store *s, const char *user_id,
                               const ncsl__store_secret_row *row, uint8_t **value, size_t *len,
                               ncsl_err *err) {
    char label[STORE_LABEL_SIZE], what[400];
    secret_label(user_id, row->name, label);
    secret_what(user_id, row->name, what, sizeof(what));
    ncsl_status st = unseal_rec(s, label, what, "name", row->blob, row->blob_len, value, len, err);
    if (st == NCSL_OK && *len != row->size) {
        ncsl_unseal_free(*value, *len);
        *value = NULL;
        *len = 0;
        st = integrity_fail(what, "name", "the value does not match its recorded size", err);
    }
    return st;
}

static ncsl_status secret_args(ncsl_store *s, const char *user_id, const char *name,
                               ncsl_err *err) {
    ncsl_status st = user_args(s, user_id, err);
    if (st == NCSL_OK) {
        st = check_name(name, NCSL_STORE_MAX_NAME, "name", err);
    }
    return st;
}

ncsl_status ncsl_store_secret_put(ncsl_store *s, const char *user_id, const char *name,
                                  const void *value, size_t value_len, size_t max_count,
                                  bool *created, ncsl_err *err) {
    char label[STORE_LABEL_SIZE];
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    if (created) {
        *created = false;
    }
    ncsl_status st = secret_args(s, user_id, name, err);
    if (st == NCSL_OK) {
        st = check_value(value, value_len, NCSL_STORE_MAX_VALUE, "value", err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    secret_label(user_id, name, label);
    st = seal_rec(s, label, value, value_len, &blob, &blob_len, err);
    if (st == NCSL_OK) {
        st = s->ops->secret_put(s->state, user_id, name, blob, blob_len, value_len, now_ms(),
                                max_count, created, err);
    }
    ncsl_seal_blob_free(blob);
    return st;
}

ncsl_status ncsl_store_secret_get(ncsl_store *s, const char *user_id, const char *name,
                                  uint8_t **value, size_t *value_len, ncsl_err *err) {
    ncsl__store_secret_row row;
    ncsl_status st = secret_args(s, user_id, name, err);
    memset(&row, 0, sizeof(row));
    st = outs_given(st, value && value_len, "value", "value and value_len", err);
    if (st != NCSL_OK) {
        return st;
    }
    *value = NULL;
    *value_len = 0;
    st = s->ops->secret_get(s->state, user_id, name, &row, err);
    if (st == NCSL_OK) {
        st = secret_open(s, user_id, &row, value, value_len, err);
    }
    ncsl__store_secret_row_cleanup(&row);
    return st;
}

ncsl_status ncsl_store_secret_list(ncsl_store *s, const char *user_id,
                                   ncsl_store_secret_info **items, size_t *count, ncsl_err *err) {
    ncsl_status st = outs_given(no_store(s, err), items && count, "items", "items and count", err);
    if (st != NCSL_OK) {
        return st;
    }
    *items = NULL;
    *count = 0;
    st = check_id(user_id, "user_id", "user", err);
    if (st == NCSL_OK) {
        st = s->ops->secret_list(s->state, user_id, items, count, err);
    }
    if (st != NCSL_OK) {
        ncsl_store_secret_info_free(*items, *count);
        *items = NULL;
        *count = 0;
    }
    return st;
}

ncsl_status ncsl_store_secret_delete(ncsl_store *s, const char *user_id, const char *name,
                                     ncsl_err *err) {
    ncsl_status st = secret_args(s, user_id, name, err);
    return st != NCSL_OK ? st : s->ops->secret_delete(s->state, user_id, name, err);
}

ncsl_status ncsl_store_secret_count(ncsl_store *s, const char *user_id, size_t *count,
                                    ncsl_err *err) {
    ncsl_status st = no_store(s, err);
    if (st == NCSL_OK && !count) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "count", "count is NULL");
    }
    if (st != NCSL_OK) {
        return st;
    }
    *count = 0;
    st = check_id(user_id, "user_id", "user", err);
    return st != NCSL_OK ? st : s->ops->secret_count(s->state, user_id, count, err);
}

static bool name_selected(const char *name, const char *const *names, size_t n) {
    if (!names) {
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        if (names[i] && strcmp(names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

ncsl_status ncsl_store_secret_load(ncsl_store *s, const char *user_id, const char *const *names,
                                   size_t name_count, ncsl_secret **items, size_t *count,
                                   ncsl_err *err) {
    ncsl__store_secret_row *rows = NULL;
    size_t nrows = 0;
    ncsl_status st = outs_given(no_store(s, err), items && count, "items", "items and count", err);
    if (st != NCSL_OK) {
        return st;
    }
    *items = NULL;
    *count = 0;
    st = check_id(user_id, "user_id", "user", err);
    if (st == NCSL_OK) {
        st = s->ops->secret_rows(s->state, user_id, &rows, &nrows, err);
    }
    if (st == NCSL_OK && nrows > 0) {
        *items = calloc(nrows, sizeof(**items));
        if (!*items) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    for (size_t i = 0; st == NCSL_OK && i < nrows; i++) {
        if (!name_selected(rows[i].name, names, name_count)) {
            continue;
        }
        uint8_t *value = NULL;
        size_t len = 0;
        st = secret_open(s, user_id, &rows[i], &value, &len, err);
        if (st != NCSL_OK) {
            break;
        }
        ncsl_secret *it = &(*items)[(*count)++];
        it->value = (const char *)value;
        it->value_len = len;
        it->name = strdup(rows[i].name);
        if (!it->name) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    ncsl__store_secret_rows_free(rows, nrows);
    if (st != NCSL_OK || *count == 0) {
        ncsl_store_secrets_free(*items, *count);
        *items = NULL;
        *count = 0;
    }
    return st;
}

/* ------------------------------------------------------------------------- storage */

static ncsl_status kv_args(ncsl_store *s, const char *user_id, const char *function_id,
                           ncsl_err *err) {
    ncsl_status st = user_args(s, user_id, err);
    if (st == NCSL_OK) {
        st = check_id(function_id, "function_id", "function", err);
    }
    return st;
}

static void kv_label(const char *user_id, const char *function_id,
                     const uint8_t key_id[NCSL__STORE_HASH_SIZE], char label[STORE_LABEL_SIZE]) {
    char hex[65];
    hex32(key_id, hex);
    snprintf(label, STORE_LABEL_SIZE, "kv/%s/%s/%s", user_id, function_id, hex);
}

/*
 * Opens a storage row: unseals "u32 BE key length || key || value", checks that the key hashes
 * to the row's id and that the recorded size is key + value. On success *key (may be NULL: not
 * wanted) and *value (may be NULL) are new NUL-terminated buffers; free the value with
 * ncsl_store_value_free.
 */
static ncsl_status kv_open(const ncsl_store *s, const char *user_id, const char *function_id,
                           const ncsl__store_kv_row *row, char **key, uint8_t **value,
                           size_t *value_len, ncsl_err *err) {
    char label[STORE_LABEL_SIZE], what[200], hex[65];
    uint8_t *plain = NULL, check[NCSL__STORE_HASH_SIZE];
    size_t plain_len = 0;
    kv_label(user_id, function_id, row->key_id, label);
    hex32(row->key_id, hex);
    snprintf(what, sizeof(what), "the stored value %.16s... of function %s (user %s)", hex,
             function_id, user_id);
    ncsl_status st =
        unseal_rec(s, label, what, "key", row->blob, row->blob_len, &plain, &plain_len, err);
    if (st != NCSL_OK) {
        return st;
    }
    size_t klen = 0;
    if (plain_len >= 4) {
        klen = (size_t)plain[0] << 24 | (size_t)plain[1] << 16 | (size_t)plain[2] << 8 | plain[3];
    }
    if (plain_len < 4 || klen == 0 || klen > plain_len - 4 || klen > NCSL_STORE_MAX_KV_KEY ||
        memchr(plain + 4, 0, klen)) {
        st = integrity_fail(what, "key", "the sealed entry is malformed", err);
        goto out;
    }
    size_t vlen = plain_len - 4 - klen;
    st = kv_key_id(s, user_id, function_id, (const char *)plain + 4, klen, check, err);
    if (st != NCSL_OK) {
        goto out;
    }
    if (!ncsl_crypto_equal(check, row->key_id, sizeof(check)) || row->size != klen + vlen) {
        st = integrity_fail(what, "key", "the entry does not match its key id or recorded size",
                            err);
        goto out;
    }
    if (key) {
        *key = ncsl_strndup((const char *)plain + 4, klen);
        if (!*key) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            goto out;
        }
    }
    if (value) {
        *value = malloc(vlen + 1);
        if (!*value) {
            if (key) {
                free(*key);
                *key = NULL;
            }
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            goto out;
        }
        memcpy(*value, plain + 4 + klen, vlen);
        (*value)[vlen] = '\0';
        *value_len = vlen;
    }
out:
    ncsl_unseal_free(plain, plain_len);
    return st;
}

ncsl_status ncsl_store_kv_get(ncsl_store *s, const char *user_id, const char *function_id,
                              const char *key, uint8_t **value, size_t *value_len, bool *found,
                              ncsl_err *err) {
    ncsl__store_kv_row row;
    uint8_t key_id[NCSL__STORE_HASH_SIZE];
    size_t klen = 0;
    ncsl_status st = kv_args(s, user_id, function_id, err);
    memset(&row, 0, sizeof(row));
    if (st == NCSL_OK && (!value || !value_len || !found)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "value",
                          "value, value_len and found are "
                          "required");
    }
    if (st != NCSL_OK) {
        return st;
    }
    *value = NULL;
    *value_len = 0;
    *found = false;
    st = check_kv_key(key, &klen, err);
    if (st == NCSL_OK) {
        st = kv_key_id(s, user_id, function_id, key, klen, key_id, err);
    }
    if (st == NCSL_OK) {
        st = s->ops->kv_get(s->state, user_id, function_id, key_id, &row, err);
    }
    if (st == NCSL_OK && row.blob) {
        st = kv_open(s, user_id, function_id, &row, NULL, value, value_len, err);
        *found = st == NCSL_OK;
    }
    free(row.blob);
    return st;
}

ncsl_status ncsl_store_kv_commit(ncsl_store *s, const char *user_id, const char *function_id,
                                 const ncsl_store_kv_op *ops, size_t count, uint64_t quota_bytes,
                                 ncsl_err *err) {
    ncsl__store_kv_write *w = NULL;
    uint8_t **blobs = NULL;
    ncsl_status st = kv_args(s, user_id, function_id, err);
    if (st == NCSL_OK && count > 0 && !ops) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "ops", "ops is NULL");
    }
    if (st == NCSL_OK && count > SIZE_MAX / sizeof(*w)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "count", "too many operations");
    }
    if (st != NCSL_OK) {
        return st;
    }
    if (count > 0) {
        w = calloc(count, sizeof(*w));
        blobs = calloc(count, sizeof(*blobs));
        if (!w || !blobs) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    for (size_t i = 0; st == NCSL_OK && i < count; i++) {
        const ncsl_store_kv_op *op = &ops[i];
        size_t klen = 0;
        w[i].type = op->type;
        if (op->type == NCSL_STORE_KV_CLEAR) {
            continue;
        }
        if (op->type != NCSL_STORE_KV_SET && op->type != NCSL_STORE_KV_REMOVE) {
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "ops", "operation %zu has unknown type %d",
                              i, (int)op->type);
            break;
        }
        st = check_kv_key(op->key, &klen, err);
        if (st == NCSL_OK) {
            st = kv_key_id(s, user_id, function_id, op->key, klen, w[i].key_id, err);
        }
        if (st != NCSL_OK || op->type == NCSL_STORE_KV_REMOVE) {
            continue;
        }
        st = check_value(op->value, op->value_len, NCSL_STORE_MAX_VALUE, "value", err);
        if (st != NCSL_OK) {
            break;
        }
        /* Sealed entry: u32 BE key length || key || value. */
        size_t plen = 4 + klen + op->value_len;
        uint8_t *plain = malloc(plen);
        if (!plain) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            break;
        }
        be32(plain, (uint32_t)klen);
        memcpy(plain + 4, op->key, klen);
        if (op->value_len) {
            memcpy(plain + 4 + klen, op->value, op->value_len);
        }
        char label[STORE_LABEL_SIZE];
        kv_label(user_id, function_id, w[i].key_id, label);
        st = seal_rec(s, label, plain, plen, &blobs[i], &w[i].blob_len, err);
        ncsl_wipe(plain, plen);
        free(plain);
        w[i].blob = blobs[i];
        w[i].size = klen + op->value_len;
    }
    if (st == NCSL_OK) {
        st =
            s->ops->kv_commit(s->state, user_id, function_id, w, count, quota_bytes, now_ms(), err);
    }
    for (size_t i = 0; blobs && i < count; i++) {
        ncsl_seal_blob_free(blobs[i]);
    }
    free(blobs);
    free(w);
    return st;
}

ncsl_status ncsl_store_kv_set(ncsl_store *s, const char *user_id, const char *function_id,
                              const char *key, const void *value, size_t value_len,
                              uint64_t quota_bytes, ncsl_err *err) {
    ncsl_store_kv_op op = {NCSL_STORE_KV_SET, key, value, value_len};
    return ncsl_store_kv_commit(s, user_id, function_id, &op, 1, quota_bytes, err);
}

ncsl_status ncsl_store_kv_remove(ncsl_store *s, const char *user_id, const char *function_id,
                                 const char *key, ncsl_err *err) {
    ncsl_store_kv_op op = {NCSL_STORE_KV_REMOVE, key, NULL, 0};
    return ncsl_store_kv_commit(s, user_id, function_id, &op, 1, 0, err);
}

ncsl_status ncsl_store_kv_clear(ncsl_store *s, const char *user_id, const char *function_id,
                                ncsl_err *err) {
    ncsl_store_kv_op op = {NCSL_STORE_KV_CLEAR, NULL, NULL, 0};
    return ncsl_store_kv_commit(s, user_id, function_id, &op, 1, 0, err);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

ncsl_status ncsl_store_kv_list(ncsl_store *s, const char *user_id, const char *function_id,
                               const char *prefix, char ***keys, size_t *count, ncsl_err *err) {
    ncsl__store_kv_row *rows = NULL;
    size_t nrows = 0;
    ncsl_status st = kv_args(s, user_id, function_id, err);
    st = outs_given(st, keys && count, "keys", "keys and count", err);
    if (st != NCSL_OK) {
        return st;
    }
    *keys = NULL;
    *count = 0;
    size_t plen = prefix ? strlen(prefix) : 0;
    st = s->ops->kv_rows(s->state, user_id, function_id, &rows, &nrows, err);
    if (st == NCSL_OK && nrows > 0) {
        *keys = calloc(nrows, sizeof(**keys));
        if (!*keys) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    for (size_t i = 0; st == NCSL_OK && i < nrows; i++) {
        char *key = NULL;
        st = kv_open(s, user_id, function_id, &rows[i], &key, NULL, NULL, err);
        if (st != NCSL_OK) {
            break;
        }
        if (plen == 0 || strncmp(key, prefix, plen) == 0) {
            (*keys)[(*count)++] = key;
        } else {
            free(key);
        }
    }
    ncsl__store_kv_rows_free(rows, nrows);
    if (st != NCSL_OK || *count == 0) {
        ncsl_store_kv_keys_free(*keys, *count);
        *keys = NULL;
        *count = 0;
        return st;
    }
    qsort(*keys, *count, sizeof(**keys), cmp_str);
    return NCSL_OK;
}

ncsl_status ncsl_store_kv_usage(ncsl_store *s, const char *user_id, const char *function_id,
                                uint64_t *bytes, size_t *count, ncsl_err *err) {
    ncsl_status st = kv_args(s, user_id, function_id, err);
    st = outs_given(st, bytes && count, "bytes", "bytes and count", err);
    if (st != NCSL_OK) {
        return st;
    }
    *bytes = 0;
    *count = 0;
    return s->ops->kv_usage(s->state, user_id, function_id, bytes, count, err);
}

/* ------------------------------------------------------------------------- system */

ncsl_status ncsl_store_system_put(ncsl_store *s, const char *name, const void *value,
                                  size_t value_len, ncsl_err *err) {
    char label[STORE_LABEL_SIZE];
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    ncsl_status st = no_store(s, err);
    if (st == NCSL_OK) {
        st = check_name(name, NCSL_STORE_MAX_NAME, "name", err);
    }
    if (st == NCSL_OK) {
        st = check_value(value, value_len, NCSL_STORE_MAX_VALUE, "value", err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    snprintf(label, sizeof(label), "system/%s", name);
    st = seal_rec(s, label, value, value_len, &blob, &blob_len, err);
    if (st == NCSL_OK) {
        st = s->ops->system_put(s->state, name, blob, blob_len, value_len, now_ms(), err);
    }
    ncsl_seal_blob_free(blob);
    return st;
}

ncsl_status ncsl_store_system_get(ncsl_store *s, const char *name, uint8_t **value,
                                  size_t *value_len, ncsl_err *err) {
    char label[STORE_LABEL_SIZE], what[300];
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    uint64_t size = 0;
    ncsl_status st =
        outs_given(no_store(s, err), value && value_len, "value", "value and value_len", err);
    if (st == NCSL_OK) {
        *value = NULL;
        *value_len = 0;
        st = check_name(name, NCSL_STORE_MAX_NAME, "name", err);
    }
    if (st == NCSL_OK) {
        st = s->ops->system_get(s->state, name, &blob, &blob_len, &size, err);
    }
    if (st != NCSL_OK) {
        return st;
    }
    snprintf(label, sizeof(label), "system/%s", name);
    snprintf(what, sizeof(what), "system record \"%s\"", name);
    st = unseal_rec(s, label, what, "name", blob, blob_len, value, value_len, err);
    if (st == NCSL_OK && *value_len != size) {
        ncsl_unseal_free(*value, *value_len);
        *value = NULL;
        *value_len = 0;
        st = integrity_fail(what, "name", "the value does not match its recorded size", err);
    }
    free(blob);
    return st;
}

ncsl_status ncsl_store_system_delete(ncsl_store *s, const char *name, ncsl_err *err) {
    ncsl_status st = no_store(s, err);
    if (st == NCSL_OK) {
        st = check_name(name, NCSL_STORE_MAX_NAME, "name", err);
    }
    return st != NCSL_OK ? st : s->ops->system_delete(s->state, name, err);
}
