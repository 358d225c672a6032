/*
 * The process-wide bytecode cache, keyed by the SHA-256 of the source: one compile serves every
 * worker's runtime and the deploy-time compile (js_compile.c) fills it, so the first invoke of a
 * deployed function loads bytecode instead of parsing. Bytecode is runtime-independent
 * (JS_WriteObject serializes atoms as strings) and lives in plain malloc'd memory, outside every
 * JS heap and its limit; it is rebuilt after a restart by the first compile of each source.
 *
 * Bounded in entries and bytes (entry headers included); the least recently used entry goes
 * first, and one entry may hold at most a quarter of the byte bound, so a huge function cannot
 * flush everything else. Entries are immutable and reference counted: a lookup takes a reference
 * under the lock and the caller drops it, without the lock, once JS_ReadObject has copied the
 * bytecode into its context; an entry evicted meanwhile is freed by its last holder. (Copying
 * the bytecode out under the lock instead measured slower: a malloc and a copy per call, growing
 * with the size of the function, against one atomic decrement.)
 *
 * Tenancy: identical sources share one entry whoever deployed them; bytecode is a pure function
 * of the source, so nothing of one caller reaches another.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "js_int.h"

#define DEFAULT_MAX_ENTRIES 1024
#define DEFAULT_MAX_BYTES ((size_t)32 << 20)
#define MAX_MAX_ENTRIES ((size_t)1 << 20)
#define BUCKETS 4096 /* power of two; chains stay short up to a few times this many entries */

/* A link of the LRU list. The list's sentinel is a bare link (an entry ends in a flexible array,
 * so it cannot be embedded in another struct), and each entry starts with its link. */
typedef struct bc_link {
    struct bc_link *prev, *next; /* most recently used first */
} bc_link;

struct ncsl__js_bc {
    bc_link lru;              /* first member: a link's address is its entry's */
    atomic_uint refs;         /* the cache's own reference + one per holder */
    struct ncsl__js_bc *next; /* hash chain; reused as the free list after eviction */
    size_t len;
    uint8_t hash[32];
    uint8_t data[]; /* len bytes of bytecode */
};

/* One per process. `mu` guards everything but the entries' refs and immutable contents. */
static struct {
    pthread_mutex_t mu;
    ncsl__js_bc *buckets[BUCKETS];
    bc_link lru; /* sentinel of a circular list; lru.next is the most recent */
    bool lru_ready;
    size_t entries;
    size_t bytes;
    size_t max_entries; /* 0 until first use: defaults */
    size_t max_bytes;
    uint64_t hits, misses, compiles, evictions;
} g_bc = {.mu = PTHREAD_MUTEX_INITIALIZER};

int ncsl__js_code_hash(const char *code, size_t len, uint8_t out[32]) {
    unsigned int n = 0;
    return EVP_Digest(code, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

static size_t entry_size(const ncsl__js_bc *e) {
    return sizeof(*e) + e->len;
}

static size_t bucket_of(const uint8_t hash[32]) {
    size_t h = 0;
    memcpy(&h, hash, sizeof(h)); /* a SHA-256 is uniform already */
    return h & (BUCKETS - 1);
}

/* With g_bc.mu held: lazily sets the defaults and the LRU sentinel. */
static void ready_locked(void) {
    if (!g_bc.lru_ready) {
        g_bc.lru.next = g_bc.lru.prev = &g_bc.lru;
        g_bc.lru_ready = true;
    }
    if (!g_bc.max_entries) {
        g_bc.max_entries = DEFAULT_MAX_ENTRIES;
        g_bc.max_bytes = DEFAULT_MAX_BYTES;
    }
}

static void lru_unlink(ncsl__js_bc *e) {
    e->lru.prev->next = e->lru.next;
    e->lru.next->prev = e->lru.prev;
}

/* The least recently used entry (the list must not be empty). */
static ncsl__js_bc *lru_oldest(void) {
    return (ncsl__js_bc *)(void *)g_bc.lru.prev;
}

static void lru_push_front(ncsl__js_bc *e) {
    e->lru.next = g_bc.lru.next;
    e->lru.prev = &g_bc.lru;
    g_bc.lru.next->prev = &e->lru;
    g_bc.lru.next = &e->lru;
}

static ncsl__js_bc *find_locked(const uint8_t hash[32]) {
    for (ncsl__js_bc *e = g_bc.buckets[bucket_of(hash)]; e; e = e->next) {
        if (memcmp(e->hash, hash, 32) == 0) {
            return e;
        }
    }
    return NULL;
}

/* With g_bc.mu held: takes `e` out of the table and the LRU list and pushes it on `*dead`,
 * whose references the caller drops after unlocking (freeing is not done under the lock). */
static void remove_locked(ncsl__js_bc *e, ncsl__js_bc **dead) {
    ncsl__js_bc **pp = &g_bc.buckets[bucket_of(e->hash)];
    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
    lru_unlink(e);
    g_bc.entries--;
    g_bc.bytes -= entry_size(e);
    e->next = *dead;
    *dead = e;
}

/* With g_bc.mu held: evicts least recently used entries until `need` more bytes and one more
 * entry (when `need` > 0) fit the bounds. */
static void evict_locked(size_t need, ncsl__js_bc **dead) {
    size_t extra = need ? 1 : 0;
    while (g_bc.entries &&
           (g_bc.entries + extra > g_bc.max_entries || g_bc.bytes + need > g_bc.max_bytes)) {
        remove_locked(lru_oldest(), dead);
        g_bc.evictions++;
    }
}

static void release_list(ncsl__js_bc *dead) {
    while (dead) {
        ncsl__js_bc *next = dead->next;
        ncsl__js_bc_release(dead);
        dead = next;
    }
}

ncsl__js_bc *ncsl__js_bc_cache_get(const uint8_t hash[32]) {
    pthread_mutex_lock(&g_bc.mu);
    ready_locked();
    ncsl__js_bc *e = find_locked(hash);
    if (e) {
        atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
        if (g_bc.lru.next != &e->lru) {
            lru_unlink(e);
            lru_push_front(e);
        }
        g_bc.hits++;
    } else {
        g_bc.misses++;
    }
    pthread_mutex_unlock(&g_bc.mu);
    return e;
}

const uint8_t *ncsl__js_bc_bytes(const ncsl__js_bc *e, size_t *len) {
    *len = e->len;
    return e->data;
}

void ncsl__js_bc_release(ncsl__js_bc *e) {
    /* acq_rel: the last holder must see every other holder's reads as done before freeing */
    if (e && atomic_fetch_sub_explicit(&e->refs, 1, memory_order_acq_rel) == 1) {
        free(e);
    }
}

void ncsl__js_bc_cache_put(const uint8_t hash[32], const uint8_t *bc, size_t len) {
    ncsl__js_bc *dead = NULL;
    /* allocate and copy outside the lock; checked against the bound again under it */
    ncsl__js_bc *e = malloc(sizeof(*e) + len);
    if (!e) {
        return; /* a cache: losing an entry only costs a recompile */
    }
    atomic_init(&e->refs, 1);
    e->len = len;
    memcpy(e->hash, hash, 32);
    memcpy(e->data, bc, len);

    pthread_mutex_lock(&g_bc.mu);
    ready_locked();
    if (entry_size(e) > g_bc.max_bytes / 4 || find_locked(hash)) {
        /* too large to keep, or another thread compiled the same source first */
        e->next = dead;
        dead = e;
    } else {
        evict_locked(entry_size(e), &dead);
        size_t b = bucket_of(hash);
        e->next = g_bc.buckets[b];
        g_bc.buckets[b] = e;
        lru_push_front(e);
        g_bc.entries++;
        g_bc.bytes += entry_size(e);
    }
    pthread_mutex_unlock(&g_bc.mu);
    release_list(dead);
}

void ncsl__js_bc_cache_note_compile(void) {
    pthread_mutex_lock(&g_bc.mu);
    g_bc.compiles++;
    pthread_mutex_unlock(&g_bc.mu);
}

void ncsl_js_bc_cache_configure(size_t max_entries, size_t max_bytes) {
    ncsl__js_bc *dead = NULL;
    pthread_mutex_lock(&g_bc.mu);
    ready_locked();
    g_bc.max_entries = max_entries ? max_entries : DEFAULT_MAX_ENTRIES;
    if (g_bc.max_entries > MAX_MAX_ENTRIES) {
        g_bc.max_entries = MAX_MAX_ENTRIES;
    }
    g_bc.max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
    evict_locked(0, &dead);
    pthread_mutex_unlock(&g_bc.mu);
    release_list(dead);
}

void ncsl_js_bc_cache_clear(void) {
    ncsl__js_bc *dead = NULL;
    pthread_mutex_lock(&g_bc.mu);
    ready_locked();
    while (g_bc.entries) {
        remove_locked(lru_oldest(), &dead);
    }
    pthread_mutex_unlock(&g_bc.mu);
    release_list(dead);
}

void ncsl_js_bc_cache_get_stats(ncsl_js_bc_cache_stats *out) {
    if (!out) {
        return;
    }
    pthread_mutex_lock(&g_bc.mu);
    ready_locked();
    out->entries = g_bc.entries;
    out->bytes = g_bc.bytes;
    out->max_entries = g_bc.max_entries;
    out->max_bytes = g_bc.max_bytes;
    out->hits = g_bc.hits;
    out->misses = g_bc.misses;
    out->compiles = g_bc.compiles;
    out->evictions = g_bc.evictions;
    pthread_mutex_unlock(&g_bc.mu);
}
