/*
 * The function cache: unsealed latest versions of deployed functions, keyed by (user id,
 * function id), so an invocation does not unseal (HKDF + AES-GCM) and re-hash the same code on
 * every call. Contracts in store_int.h; how the store uses it in store.c
 * (ncsl_store_function_get) and docs/storage.md.
 *
 * Bounded twice: at most max_entries records and max_bytes of code and metadata; the least
 * recently used entries go first. Entries are immutable once inserted and reference counted, so
 * a reader copies a record outside the lock while an update or eviction unlinks it; the last
 * reference wipes the code (ncsl_store_function_cleanup) and frees it.
 *
 * A generation counter makes invalidation race-free without holding the lock across a read of
 * the database: every forget bumps it, and a put whose read started before the latest forget
 * (an older generation) is dropped, so a slow reader cannot put back a record that a concurrent
 * update or delete has just invalidated.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store_int.h"

struct ncsl__store_fn_entry {
    ncsl_store_function fn; /* with its code; immutable while linked or referenced */
    size_t bytes;           /* what it counts against max_bytes */
    uint32_t hash;
    unsigned refs;               /* the table's (while linked) and the readers'; under the lock */
    ncsl__store_fn_entry *hnext; /* bucket chain */
    ncsl__store_fn_entry *prev, *next; /* LRU list: head most recent */
};

struct ncsl__store_fn_cache {
    pthread_mutex_t mu;
    ncsl__store_fn_entry **buckets;
    size_t nbuckets; /* a power of two */
    ncsl__store_fn_entry *head, *tail;
    size_t count, bytes;
    size_t max_entries, max_bytes;
    uint64_t gen;
    uint64_t evictions;
};

static uint32_t key_hash(const char *user_id, const char *id) {
    uint32_t h = 2166136261u; /* FNV-1a: ids are random UUIDs, anything spreads them */
    for (const char *p = user_id; *p; p++) {
        h = (h ^ (uint8_t)*p) * 16777619u;
    }
    h = (h ^ '/') * 16777619u;
    for (const char *p = id; *p; p++) {
        h = (h ^ (uint8_t)*p) * 16777619u;
    }
    return h;
}

static size_t str_size(const char *s) {
    return s ? strlen(s) + 1 : 0;
}

static size_t entry_bytes(const ncsl_store_function *fn) {
    return sizeof(ncsl__store_fn_entry) + fn->code_size + 1 + str_size(fn->name) +
           str_size(fn->description) + str_size(fn->required_secrets_json) +
           str_size(fn->limits_json);
}

ncsl__store_fn_cache *ncsl__store_fn_cache_create(size_t max_entries, size_t max_bytes) {
    if (max_entries == 0 || max_bytes == 0) {
        return NULL;
    }
    ncsl__store_fn_cache *c = calloc(1, sizeof(*c));
    if (!c) {
        return NULL;
    }
    c->nbuckets = 16;
    while (c->nbuckets < 2 * max_entries && c->nbuckets < ((size_t)1 << 20)) {
        c->nbuckets *= 2;
    }
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    return c;
}

static void entry_free(ncsl__store_fn_entry *e) {
    ncsl_store_function_cleanup(&e->fn); /* wipes the code */
    free(e);
}

/* Takes `e` out of the table and the LRU list and drops the table's reference. Under the lock;
 * returns the entry when that was the last reference (the caller frees it after unlocking). */
static ncsl__store_fn_entry *unlink_entry(ncsl__store_fn_cache *c, ncsl__store_fn_entry *e) {
    ncsl__store_fn_entry **link = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*link != e) {
        link = &(*link)->hnext;
    }
    *link = e->hnext;
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        c->head = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }
    e->hnext = e->prev = e->next = NULL;
    c->count--;
    c->bytes -= e->bytes;
    return --e->refs == 0 ? e : NULL;
}

/* Frees a list of unlinked entries (chained through hnext) outside the lock. */
static void free_list(ncsl__store_fn_entry *dead) {
    while (dead) {
        ncsl__store_fn_entry *next = dead->hnext;
        entry_free(dead);
        dead = next;
    }
}

static void push_dead(ncsl__store_fn_entry **dead, ncsl__store_fn_entry *e) {
    if (e) {
        e->hnext = *dead;
        *dead = e;
    }
}

void ncsl__store_fn_cache_destroy(ncsl__store_fn_cache *c) {
    if (!c) {
        return;
    }
    ncsl__store_fn_cache_clear(c);
    pthread_mutex_destroy(&c->mu);
    free(c->buckets);
    free(c);
}

static ncsl__store_fn_entry *find(ncsl__store_fn_cache *c, uint32_t h, const char *user_id,
                                  const char *id) {
    for (ncsl__store_fn_entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext) {
        if (e->hash == h && strcmp(e->fn.id, id) == 0 && strcmp(e->fn.user_id, user_id) == 0) {
            return e;
        }
    }
    return NULL;
}

static void to_front(ncsl__store_fn_cache *c, ncsl__store_fn_entry *e) {
    if (c->head == e) {
        return;
    }
    if (e->prev) {
        e->prev->next = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }
    e->prev = NULL;
    e->next = c->head;
    if (c->head) {
        c->head->prev = e;
    }
    c->head = e;
    if (!c->tail) {
        c->tail = e;
    }
}

const ncsl__store_fn_entry *ncsl__store_fn_cache_get(ncsl__store_fn_cache *c, const char *user_id,
                                                     const char *id) {
    if (!c) {
        return NULL;
    }
    uint32_t h = key_hash(user_id, id);
    pthread_mutex_lock(&c->mu);
    ncsl__store_fn_entry *e = find(c, h, user_id, id);
    if (e) {
        e->refs++;
        to_front(c, e);
    }
    pthread_mutex_unlock(&c->mu);
    return e;
}

const ncsl_store_function *ncsl__store_fn_entry_fn(const ncsl__store_fn_entry *e) {
    return &e->fn;
}

void ncsl__store_fn_cache_release(ncsl__store_fn_cache *c, const ncsl__store_fn_entry *entry) {
    if (!c || !entry) {
        return;
    }
    ncsl__store_fn_entry *e = (ncsl__store_fn_entry *)entry;
    pthread_mutex_lock(&c->mu);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last) {
        entry_free(e);
    }
}

uint64_t ncsl__store_fn_cache_gen(ncsl__store_fn_cache *c) {
    if (!c) {
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    uint64_t g = c->gen;
    pthread_mutex_unlock(&c->mu);
    return g;
}

/* A deep copy of `src` (with its code) into `dst`; false when out of memory (dst cleaned). */
bool ncsl__store_fn_copy(ncsl_store_function *dst, const ncsl_store_function *src) {
    *dst = *src;
    dst->name = NULL;
    dst->description = NULL;
    dst->required_secrets_json = NULL;
    dst->limits_json = NULL;
    dst->code = NULL;
    dst->name = ncsl_strdup(src->name);
    dst->description = ncsl_strdup(src->description);
    dst->required_secrets_json = ncsl_strdup(src->required_secrets_json);
    dst->limits_json = ncsl_strdup(src->limits_json);
    if (src->code) {
        dst->code = malloc(src->code_size + 1);
        if (dst->code) {
            memcpy(dst->code, src->code, src->code_size);
            dst->code[src->code_size] = '\0';
        }
    }
    if ((src->name && !dst->name) || (src->description && !dst->description) ||
        (src->required_secrets_json && !dst->required_secrets_json) ||
        (src->limits_json && !dst->limits_json) || (src->code && !dst->code)) {
        ncsl_store_function_cleanup(dst);
        return false;
    }
    return true;
}

void ncsl__store_fn_cache_put(ncsl__store_fn_cache *c, uint64_t gen,
                              const ncsl_store_function *fn) {
    if (!c || !fn->code) {
        return;
    }
    size_t bytes = entry_bytes(fn);
    if (bytes > c->max_bytes / 4) {
        return; /* one huge function must not flush everything else */
    }
    ncsl__store_fn_entry *e = calloc(1, sizeof(*e));
    if (!e) {
        return;
    }
    if (!ncsl__store_fn_copy(&e->fn, fn)) {
        free(e);
        return;
    }
    e->bytes = bytes;
    e->hash = key_hash(fn->user_id, fn->id);
    e->refs = 1;
    ncsl__store_fn_entry *dead = NULL;
    pthread_mutex_lock(&c->mu);
    if (gen != c->gen) {
        /* Invalidated while it was being read: it may be older than what was just written. */
        pthread_mutex_unlock(&c->mu);
        entry_free(e);
        return;
    }
    ncsl__store_fn_entry *old = find(c, e->hash, fn->user_id, fn->id);
    if (old) {
        push_dead(&dead, unlink_entry(c, old));
    }
    while (c->tail && (c->count + 1 > c->max_entries || c->bytes + bytes > c->max_bytes)) {
        push_dead(&dead, unlink_entry(c, c->tail));
        c->evictions++;
    }
    size_t b = e->hash & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    e->next = c->head;
    if (c->head) {
        c->head->prev = e;
    }
    c->head = e;
    if (!c->tail) {
        c->tail = e;
    }
    c->count++;
    c->bytes += bytes;
    pthread_mutex_unlock(&c->mu);
    free_list(dead);
}

void ncsl__store_fn_cache_forget(ncsl__store_fn_cache *c, const char *user_id, const char *id) {
    if (!c) {
        return;
    }
    ncsl__store_fn_entry *dead = NULL;
    uint32_t h = key_hash(user_id, id);
    pthread_mutex_lock(&c->mu);
    c->gen++;
    ncsl__store_fn_entry *e = find(c, h, user_id, id);
    if (e) {
        push_dead(&dead, unlink_entry(c, e));
    }
    pthread_mutex_unlock(&c->mu);
    free_list(dead);
}

void ncsl__store_fn_cache_forget_user(ncsl__store_fn_cache *c, const char *user_id) {
    if (!c) {
        return;
    }
    ncsl__store_fn_entry *dead = NULL;
    pthread_mutex_lock(&c->mu);
    c->gen++;
    ncsl__store_fn_entry *e = c->head;
    while (e) {
        ncsl__store_fn_entry *next = e->next;
        if (strcmp(e->fn.user_id, user_id) == 0) {
            push_dead(&dead, unlink_entry(c, e));
        }
        e = next;
    }
    pthread_mutex_unlock(&c->mu);
    free_list(dead);
}

void ncsl__store_fn_cache_clear(ncsl__store_fn_cache *c) {
    if (!c) {
        return;
    }
    ncsl__store_fn_entry *dead = NULL;
    pthread_mutex_lock(&c->mu);
    c->gen++;
    while (c->head) {
        push_dead(&dead, unlink_entry(c, c->head));
    }
    pthread_mutex_unlock(&c->mu);
    free_list(dead);
}

void ncsl__store_fn_cache_stats(ncsl__store_fn_cache *c, ncsl__store_fn_cache_info *out) {
    memset(out, 0, sizeof(*out));
    if (!c) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    out->count = c->count;
    out->bytes = c->bytes;
    out->max_entries = c->max_entries;
    out->max_bytes = c->max_bytes;
    out->evictions = c->evictions;
    pthread_mutex_unlock(&c->mu);
}
