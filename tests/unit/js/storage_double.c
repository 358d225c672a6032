/* The in-memory storage hooks of storage_double.h. */
#include "storage_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

static char *dup_str(const char *s, size_t len) {
    char *d = malloc(len + 1);
    if (!d) {
        abort(); /* a test double: running out of memory here is not under test */
    }
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

static size_t find(char *const *keys, size_t count, const char *key, bool *found) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(keys[mid], key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

/* A plain sorted map, so a batch can be applied to a copy (all or none). */
typedef struct kv_map {
    char **keys;
    char **values;
    size_t count;
} kv_map;

static void map_free(kv_map *k) {
    for (size_t i = 0; i < k->count; i++) {
        free(k->keys[i]);
        free(k->values[i]);
    }
    free(k->keys);
    free(k->values);
    memset(k, 0, sizeof(*k));
}

static void map_set(kv_map *k, const char *key, const char *value, size_t value_len) {
    bool found = false;
    size_t i = find(k->keys, k->count, key, &found);
    if (found) {
        free(k->values[i]);
        k->values[i] = dup_str(value, value_len);
        return;
    }
    k->keys = realloc(k->keys, (k->count + 1) * sizeof(char *));
    k->values = realloc(k->values, (k->count + 1) * sizeof(char *));
    if (!k->keys || !k->values) {
        abort();
    }
    memmove(&k->keys[i + 1], &k->keys[i], (k->count - i) * sizeof(char *));
    memmove(&k->values[i + 1], &k->values[i], (k->count - i) * sizeof(char *));
    k->keys[i] = dup_str(key, strlen(key));
    k->values[i] = dup_str(value, value_len);
    k->count++;
}

static void map_remove(kv_map *k, const char *key) {
    bool found = false;
    size_t i = find(k->keys, k->count, key, &found);
    if (!found) {
        return;
    }
    free(k->keys[i]);
    free(k->values[i]);
    memmove(&k->keys[i], &k->keys[i + 1], (k->count - i - 1) * sizeof(char *));
    memmove(&k->values[i], &k->values[i + 1], (k->count - i - 1) * sizeof(char *));
    k->count--;
}

static uint64_t map_usage(const kv_map *k) {
    uint64_t n = 0;
    for (size_t i = 0; i < k->count; i++) {
        n += strlen(k->keys[i]) + strlen(k->values[i]);
    }
    return n;
}

static kv_map map_of(const mem_store *m) {
    kv_map k = {m->keys, m->values, m->count};
    return k;
}

static ncsl_status fail(const mem_store *m, ncsl_status st, ncsl_err *err) {
    return ncsl_err_set(err, st, NULL, "%s", m->fail_message);
}

/* ------------------------------------------------------------------------- hooks */
static ncsl_status hook_get(void *user, const char *key, char **value, size_t *value_len,
                            bool *found, ncsl_err *err) {
    mem_store *m = user;
    m->get_calls++;
    *value = NULL;
    *value_len = 0;
    *found = false;
    if (m->get_sleep_ms) {
        struct timespec ts = {0, (long)m->get_sleep_ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (m->fail_get != NCSL_OK) {
        return fail(m, m->fail_get, err);
    }
    const char *v = mem_store_value(m, key);
    if (v) {
        *value_len = strlen(v);
        *value = dup_str(v, *value_len);
        *found = true;
    }
    return NCSL_OK;
}

static ncsl_status hook_list(void *user, const char *prefix, char ***keys, size_t *count,
                             ncsl_err *err) {
    mem_store *m = user;
    m->list_calls++;
    *keys = NULL;
    *count = 0;
    if (m->fail_list != NCSL_OK) {
        return fail(m, m->fail_list, err);
    }
    size_t plen = strlen(prefix);
    char **out = calloc(m->count + 1, sizeof(char *));
    if (!out) {
        abort();
    }
    size_t n = 0;
    for (size_t i = 0; i < m->count; i++) {
        if (strncmp(m->keys[i], prefix, plen) == 0) {
            out[n++] = dup_str(m->keys[i], strlen(m->keys[i]));
        }
    }
    *keys = out;
    *count = n;
    return NCSL_OK;
}

static ncsl_status hook_usage(void *user, uint64_t *bytes, ncsl_err *err) {
    mem_store *m = user;
    m->usage_calls++;
    *bytes = 0;
    if (m->fail_usage != NCSL_OK) {
        return fail(m, m->fail_usage, err);
    }
    *bytes = mem_store_usage(m);
    if (m->race_key) {
        mem_store_put(m, m->race_key, m->race_value);
        m->race_key = NULL;
    }
    return NCSL_OK;
}

static ncsl_status hook_commit(void *user, const ncsl_storage_write *writes, size_t count,
                               ncsl_err *err) {
    mem_store *m = user;
    m->commit_calls++;
    mem_batch_text(writes, count, m->last_batch, sizeof(m->last_batch));
    if (m->fail_commit != NCSL_OK) {
        return fail(m, m->fail_commit, err);
    }
    return mem_store_apply(m, writes, count, err);
}

static void hook_free_value(char *value, size_t len) {
    (void)len;
    free(value);
}

static void hook_free_keys(char **keys, size_t count) {
    for (size_t i = 0; i < count; i++) {
        free(keys[i]);
    }
    free(keys);
}

/* ------------------------------------------------------------------------- API */
void mem_store_init(mem_store *m, uint64_t quota_bytes, size_t max_key_bytes,
                    size_t max_value_bytes) {
    memset(m, 0, sizeof(*m));
    m->hooks.user = m;
    m->hooks.get = hook_get;
    m->hooks.list = hook_list;
    m->hooks.usage = hook_usage;
    m->hooks.commit = hook_commit;
    m->hooks.free_value = hook_free_value;
    m->hooks.free_keys = hook_free_keys;
    m->hooks.quota_bytes = quota_bytes;
    m->hooks.max_key_bytes = max_key_bytes;
    m->hooks.max_value_bytes = max_value_bytes;
    snprintf(m->fail_message, sizeof(m->fail_message), "injected failure");
}

void mem_store_cleanup(mem_store *m) {
    kv_map k = map_of(m);
    map_free(&k);
    m->keys = NULL;
    m->values = NULL;
    m->count = 0;
}

void mem_store_put(mem_store *m, const char *key, const char *json) {
    kv_map k = map_of(m);
    map_set(&k, key, json, strlen(json));
    m->keys = k.keys;
    m->values = k.values;
    m->count = k.count;
}

const char *mem_store_value(const mem_store *m, const char *key) {
    bool found = false;
    size_t i = find(m->keys, m->count, key, &found);
    return found ? m->values[i] : NULL;
}

uint64_t mem_store_usage(const mem_store *m) {
    kv_map k = map_of(m);
    return map_usage(&k);
}

ncsl_status mem_store_apply(mem_store *m, const ncsl_storage_write *w, size_t n, ncsl_err *err) {
    kv_map next = {0};
    for (size_t i = 0; i < m->count; i++) {
        map_set(&next, m->keys[i], m->values[i], strlen(m->values[i]));
    }
    for (size_t i = 0; i < n; i++) {
        switch (w[i].type) {
        case NCSL_STORAGE_SET:
            map_set(&next, w[i].key, w[i].value, w[i].value_len);
            break;
        case NCSL_STORAGE_REMOVE:
            map_remove(&next, w[i].key);
            break;
        case NCSL_STORAGE_CLEAR:
            while (next.count) {
                map_remove(&next, next.keys[next.count - 1]);
            }
            break;
        }
    }
    uint64_t before = mem_store_usage(m), after = map_usage(&next);
    if (m->hooks.quota_bytes && after > m->hooks.quota_bytes && after > before) {
        map_free(&next);
        return ncsl_err_set(err, NCSL_E_STORE_QUOTA, NULL,
                            "the function's storage would use %llu bytes, over its quota",
                            (unsigned long long)after);
    }
    mem_store_cleanup(m);
    m->keys = next.keys;
    m->values = next.values;
    m->count = next.count;
    return NCSL_OK;
}

void mem_batch_text(const ncsl_storage_write *w, size_t n, char *out, size_t size) {
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && len < size; i++) {
        int r;
        const char *sep = i ? ";" : "";
        switch (w[i].type) {
        case NCSL_STORAGE_SET:
            r = snprintf(out + len, size - len, "%sSET %s=%.*s", sep, w[i].key, (int)w[i].value_len,
                         w[i].value);
            break;
        case NCSL_STORAGE_REMOVE:
            r = snprintf(out + len, size - len, "%sREMOVE %s", sep, w[i].key);
            break;
        default:
            r = snprintf(out + len, size - len, "%sCLEAR", sep);
            break;
        }
        if (r < 0) {
            return;
        }
        len += (size_t)r;
    }
}
