/*
 * Timestamps and numbers for the request path without a printf per request (ncsl_time_rfc3339
 * costs about 1 us a call, mostly vsnprintf, and every answer needs one; request ids come from
 * ncsl_uuid_v4, pooled in src/common/util.c).
 *
 * Timestamps: each thread caches the "YYYY-MM-DDTHH:MM:SS" of the last second it formatted and
 * writes only the milliseconds for the next call within that second: one gmtime_r a second and
 * no printf at all.
 */
#include <string.h>
#include <time.h>

#include "http_int.h"

typedef struct ts_cache {
    uint64_t sec;    /* the second `prefix` shows; UINT64_MAX: none yet */
    char prefix[20]; /* "YYYY-MM-DDTHH:MM:SS" */
} ts_cache;

static _Thread_local ts_cache t_ts = {.sec = UINT64_MAX};

static void put2(char *p, unsigned v) {
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* 9999-12-31T23:59:59.999Z: the last instant four digits of year can show. */
#define TIME_MAX_MS UINT64_C(253402300799999)

size_t ncsl__http_time_format(uint64_t unix_ms, char out[NCSL_HTTP_TS_SIZE]) {
    if (unix_ms > TIME_MAX_MS) {
        out[0] = '\0';
        return 0;
    }
    uint64_t sec = unix_ms / 1000u;
    ts_cache *c = &t_ts;
    if (sec != c->sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        if (!gmtime_r(&t, &tm)) {
            out[0] = '\0';
            return 0;
        }
        unsigned year = (unsigned)(tm.tm_year + 1900);
        char *p = c->prefix;
        put2(p, year / 100);
        put2(p + 2, year % 100);
        p[4] = '-';
        put2(p + 5, (unsigned)tm.tm_mon + 1);
        p[7] = '-';
        put2(p + 8, (unsigned)tm.tm_mday);
        p[10] = 'T';
        put2(p + 11, (unsigned)tm.tm_hour);
        p[13] = ':';
        put2(p + 14, (unsigned)tm.tm_min);
        p[16] = ':';
        put2(p + 17, (unsigned)tm.tm_sec);
        p[19] = '\0';
        c->sec = sec;
    }
    memcpy(out, c->prefix, 19);
    unsigned ms = (unsigned)(unix_ms % 1000u);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    put2(out + 21, ms % 100);
    out[23] = 'Z';
    out[24] = '\0';
    return 24;
}

size_t ncsl__http_timestamp(char out[NCSL_HTTP_TS_SIZE]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    size_t n = ncsl__http_time_format(ms, out);
    if (n == 0) {
        ncsl_time_rfc3339(out, NCSL_HTTP_TS_SIZE); /* a clock past year 9999: as before */
        n = strlen(out);
    }
    return n;
}

size_t ncsl__http_u64_dec(char out[NCSL_HTTP_U64_SIZE], uint64_t v) {
    char tmp[NCSL_HTTP_U64_SIZE];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    out[n] = '\0';
    return n;
}
