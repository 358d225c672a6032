/*
 * Bytecode cache of one runtime, keyed by the SHA-256 of the source: calls of the same code skip
 * the parser and load the bytecode straight into their fresh context. The bytecode lives in
 * plain malloc'd memory (outside the JS heap and its limit), so it survives runtime recycling.
 * Bounded in entries and bytes; the least recently used entry goes first.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "js_int.h"

int ncsl__js_code_hash(const char *code, size_t len, uint8_t out[32]) {
    unsigned int n = 0;
    return EVP_Digest(code, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

void ncsl__js_bc_cache_cleanup(ncsl__js_bc_cache *c) {
    for (size_t i = 0; i < NCSL_JS_BC_CACHE_ENTRIES; i++) {
        free(c->entries[i].bc);
    }
    memset(c, 0, sizeof(*c));
}

const ncsl__js_bc_entry *ncsl__js_bc_cache_get(ncsl__js_bc_cache *c, const uint8_t hash[32]) {
    for (size_t i = 0; i < NCSL_JS_BC_CACHE_ENTRIES; i++) {
        ncsl__js_bc_entry *e = &c->entries[i];
        if (e->bc && memcmp(e->hash, hash, 32) == 0) {
            e->last_used = ++c->tick;
            c->hits++;
            return e;
        }
    }
    c->misses++;
    return NULL;
}

void ncsl__js_bc_cache_put(ncsl__js_bc_cache *c, const uint8_t hash[32], const uint8_t *bc,
                           size_t len) {
    if (len > NCSL_JS_BC_CACHE_MAX_BYTES / 4) {
        return; /* one huge function must not flush everything else */
    }
    uint8_t *copy = malloc(len);
    if (!copy) {
        return; /* a cache: losing an entry only costs a recompile */
    }
    memcpy(copy, bc, len);
    /* make room: evict least recently used entries until both bounds hold */
    for (;;) {
        size_t free_slot = NCSL_JS_BC_CACHE_ENTRIES, lru = NCSL_JS_BC_CACHE_ENTRIES;
        for (size_t i = 0; i < NCSL_JS_BC_CACHE_ENTRIES; i++) {
            if (!c->entries[i].bc) {
                free_slot = i;
            } else if (lru == NCSL_JS_BC_CACHE_ENTRIES ||
                       c->entries[i].last_used < c->entries[lru].last_used) {
                lru = i;
            }
        }
        if (free_slot < NCSL_JS_BC_CACHE_ENTRIES &&
            c->total_bytes + len <= NCSL_JS_BC_CACHE_MAX_BYTES) {
            ncsl__js_bc_entry *e = &c->entries[free_slot];
            memcpy(e->hash, hash, 32);
            e->bc = copy;
            e->len = len;
            e->last_used = ++c->tick;
            c->total_bytes += len;
            return;
        }
        ncsl__js_bc_entry *victim = &c->entries[lru];
        c->total_bytes -= victim->len;
        free(victim->bc);
        memset(victim, 0, sizeof(*victim));
    }
}
