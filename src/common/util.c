/* Small helpers shared by every subsystem: buffer, JSON string escaping, clocks, ids, wiping. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common.h"

void ncsl_buf_init(ncsl_buf *b, size_t limit) {
    memset(b, 0, sizeof(*b));
    b->limit = limit;
}

void ncsl_buf_cleanup(ncsl_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void ncsl_buf_cleanup_secure(ncsl_buf *b) {
    if (b->data) {
        ncsl_wipe(b->data, b->cap);
    }
    ncsl_buf_cleanup(b);
}

bool ncsl_buf_reserve(ncsl_buf *b, size_t extra) {
    if (b->oom) {
        return false;
    }
    if (b->len + extra + 1 <= b->cap) {
        return true;
    }
    size_t need = b->len + extra + 1;
    if (need < b->len) { /* overflow */
        b->oom = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void ncsl_buf_append(ncsl_buf *b, const void *data, size_t len) {
    if (b->oom || b->over_limit) {
        return;
    }
    if (b->limit && b->len + len > b->limit) {
        b->over_limit = true;
        return;
    }
    if (!ncsl_buf_reserve(b, len)) {
        return;
    }
    if (len) {
        memcpy(b->data + b->len, data, len);
    }
    b->len += len;
    b->data[b->len] = '\0';
}

void ncsl_buf_append_str(ncsl_buf *b, const char *s) {
    ncsl_buf_append(b, s, strlen(s));
}

void ncsl_buf_printf(ncsl_buf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n < sizeof(tmp)) {
        ncsl_buf_append(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ncsl_buf_append(b, big, (size_t)n);
    free(big);
}

size_t ncsl_utf8_seq_len(const void *p, size_t avail) {
    const unsigned char *s = p;
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n > avail) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* reject overlong forms, surrogates and values past U+10FFFF */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

bool ncsl_utf8_valid(const void *p, size_t len) {
    const unsigned char *s = p;
    size_t i = 0;
    while (i < len) {
        /* ASCII eight bytes at a time: most text is */
        while (len - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) {
                break;
            }
            i += 8;
        }
        if (i == len) {
            break;
        }
        size_t n = ncsl_utf8_seq_len(s + i, len - i);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

void ncsl_buf_append_json_string(ncsl_buf *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    ncsl_buf_append(b, "\"", 1);
    size_t run = 0; /* start of the current run of bytes copied verbatim */
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = ncsl_utf8_seq_len(p + i, len - i);
            if (n) {
                i += n;
                continue;
            }
        }
        ncsl_buf_append(b, p + run, i - run);
        char esc[8];
        switch (c) {
        case '"':
            ncsl_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            ncsl_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            ncsl_buf_append(b, "\\n", 2);
            break;
        case '\r':
            ncsl_buf_append(b, "\\r", 2);
            break;
        case '\t':
            ncsl_buf_append(b, "\\t", 2);
            break;
        case '\b':
            ncsl_buf_append(b, "\\b", 2);
            break;
        case '\f':
            ncsl_buf_append(b, "\\f", 2);
            break;
        default:
            if (c < 0x20) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                ncsl_buf_append(b, esc, 6);
            } else {
                ncsl_buf_append(b, "\xEF\xBF\xBD", 3); /* invalid UTF-8 byte -> U+FFFD */
            }
        }
        i++;
        run = i;
    }
    ncsl_buf_append(b, p + run, i - run);
    ncsl_buf_append(b, "\"", 1);
}

char *ncsl_buf_steal(ncsl_buf *b, size_t *len) {
    char *d = b->data;
    if (len) {
        *len = b->len;
    }
    if (!d) {
        d = calloc(1, 1);
        if (len) {
            *len = 0;
        }
    }
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void ncsl_wipe(void *p, size_t len) {
    if (p && len) {
        OPENSSL_cleanse(p, len);
    }
}

void ncsl_free_secret_str(char *s) {
    if (s) {
        ncsl_wipe(s, strlen(s));
        free(s);
    }
}

uint64_t ncsl_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ncsl_now_us(void) {
    return ncsl_now_ns() / 1000u;
}

void ncsl_time_rfc3339(char *out, size_t out_size) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* Ids come from a per-thread pool of CSPRNG bytes, 16 per id, refilled by one RAND_bytes call
 * per 64 ids (a RAND_bytes call and a 16-argument snprintf per id cost about 3 us). The ids are
 * public (users, functions, keys' ids, executions, requests), so the pool is not wiped. A forked
 * child would repeat ids of its parent's pool, never secrets; NCSL never forks. */
#define UUID_POOL_SIZE 1024u
static _Thread_local struct {
    unsigned char bytes[UUID_POOL_SIZE];
    size_t used; /* bytes already handed out */
} t_uuid_pool = {.used = UUID_POOL_SIZE};

ncsl_status ncsl_uuid_v4(char out[37]) {
    static const char hex[] = "0123456789abcdef";
    if (t_uuid_pool.used + 16 > UUID_POOL_SIZE) {
        if (RAND_bytes(t_uuid_pool.bytes, (int)UUID_POOL_SIZE) != 1) {
            return NCSL_E_INTERNAL;
        }
        t_uuid_pool.used = 0;
    }
    unsigned char r[16];
    memcpy(r, t_uuid_pool.bytes + t_uuid_pool.used, sizeof(r));
    t_uuid_pool.used += sizeof(r);
    r[6] = (unsigned char)((r[6] & 0x0F) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3F) | 0x80); /* variant 10 */
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out[o++] = '-';
        }
        out[o++] = hex[r[i] >> 4];
        out[o++] = hex[r[i] & 0x0F];
    }
    out[o] = '\0';
    return NCSL_OK;
}

char *ncsl_strdup(const char *s) {
    return s ? strdup(s) : NULL;
}

char *ncsl_strndup(const char *s, size_t n) {
    if (!s) {
        return NULL;
    }
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

unsigned ncsl_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

void ncsl_base64url_encode(const uint8_t *in, size_t len, char *out) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0) {
        out[o++] = alphabet[(acc << (6 - bits)) & 63];
    }
    out[o] = '\0';
    acc = 0;
}
