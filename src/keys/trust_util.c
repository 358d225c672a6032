/*
 * Strict readers and canonical encoders shared by keys, proof and receipt (see trust_util.h).
 * Everything here is pure: no state, no allocation except the documented results.
 */
#include "keys/trust_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "crypto/crypto.h"

/* ------------------------------------------------------------------------- JSON */

ncsl_status ncsl__trust_json_only_keys(const json_t *obj, const char *const *allowed, size_t n,
                                       ncsl_status bad, ncsl_err *err) {
    const char *key;
    json_t *val;
    if (!json_is_object(obj)) {
        return ncsl_err_set(err, bad, "", "expected a JSON object");
    }
    /* json_object_foreach needs a non-const object; it only reads. */
    json_object_foreach((json_t *)obj, key, val) {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++) {
            known = strcmp(key, allowed[i]) == 0;
        }
        if (!known) {
            return ncsl_err_set(err, bad, key, "unknown field \"%.64s\"", key);
        }
    }
    return NCSL_OK;
}

ncsl_status ncsl__trust_json_string(const json_t *obj, const char *name, size_t min_len,
                                    size_t max_len, const char **s, size_t *len, ncsl_status bad,
                                    ncsl_err *err) {
    const json_t *v = json_object_get(obj, name);
    *s = NULL;
    *len = 0;
    if (!v) {
        return ncsl_err_set(err, bad, name, "missing field \"%s\"", name);
    }
    if (!json_is_string(v)) {
        return ncsl_err_set(err, bad, name, "field \"%s\" must be a string", name);
    }
    const char *p = json_string_value(v);
    size_t n = json_string_length(v);
    if (memchr(p, '\0', n) != NULL) {
        return ncsl_err_set(err, bad, name, "field \"%s\" contains a NUL character", name);
    }
    if (n < min_len || n > max_len) {
        if (min_len == max_len) {
            return ncsl_err_set(err, bad, name, "field \"%s\" must be %zu characters long, not %zu",
                                name, min_len, n);
        }
        return ncsl_err_set(err, bad, name, "field \"%s\" must be %zu..%zu bytes long, not %zu",
                            name, min_len, max_len, n);
    }
    *s = p;
    *len = n;
    return NCSL_OK;
}

static bool is_lower_hex(const char *s, size_t n, size_t *bad_at) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            *bad_at = i;
            return false;
        }
    }
    return true;
}

ncsl_status ncsl__trust_json_hex_var(const json_t *obj, const char *name, uint8_t *out, size_t max,
                                     size_t *out_len, ncsl_status bad, ncsl_err *err) {
    const char *s = NULL;
    size_t n = 0, bad_at = 0;
    *out_len = 0;
    ncsl_status st = ncsl__trust_json_string(obj, name, 0, 2 * max, &s, &n, bad, err);
    if (st != NCSL_OK) {
        return st;
    }
    if (n % 2 != 0) {
        return ncsl_err_set(err, bad, name, "field \"%s\" must be hex with an even length", name);
    }
    if (!is_lower_hex(s, n, &bad_at)) {
        return ncsl_err_set(err, bad, name,
                            "field \"%s\" must be lowercase hex (bad character at offset %zu)",
                            name, bad_at);
    }
    if (ncsl_crypto_hex_decode(s, n, out, max, out_len, NULL) != NCSL_OK) {
        return ncsl_err_set(err, bad, name, "field \"%s\" is not valid hex", name);
    }
    return NCSL_OK;
}

ncsl_status ncsl__trust_json_hex(const json_t *obj, const char *name, uint8_t *out, size_t len,
                                 ncsl_status bad, ncsl_err *err) {
    const char *s = NULL;
    size_t n = 0, got = 0;
    ncsl_status st = ncsl__trust_json_string(obj, name, 2 * len, 2 * len, &s, &n, bad, err);
    if (st != NCSL_OK) {
        /* Say what the field is, in bytes: "must be 64 characters" alone hides that it is hex. */
        const json_t *v = json_object_get(obj, name);
        if (st == bad && json_is_string(v) && json_string_length(v) != 2 * len) {
            return ncsl_err_set(err, bad, name,
                                "field \"%s\" must be %zu bytes as %zu lowercase hex characters, "
                                "not %zu characters",
                                name, len, 2 * len, json_string_length(v));
        }
        return st;
    }
    return ncsl__trust_json_hex_var(obj, name, out, len, &got, bad, err);
}

ncsl_status ncsl__trust_json_int(const json_t *obj, const char *name, long long min, long long max,
                                 long long *out, ncsl_status bad, ncsl_err *err) {
    const json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v) {
        return ncsl_err_set(err, bad, name, "missing field \"%s\"", name);
    }
    if (!json_is_integer(v)) {
        return ncsl_err_set(err, bad, name, "field \"%s\" must be an integer", name);
    }
    json_int_t i = json_integer_value(v);
    if (i < min || i > max) {
        return ncsl_err_set(err, bad, name, "field \"%s\" must be in %lld..%lld", name, min, max);
    }
    *out = (long long)i;
    return NCSL_OK;
}

ncsl_status ncsl__trust_json_bool(const json_t *obj, const char *name, bool *out, ncsl_status bad,
                                  ncsl_err *err) {
    const json_t *v = json_object_get(obj, name);
    *out = false;
    if (!v) {
        return ncsl_err_set(err, bad, name, "missing field \"%s\"", name);
    }
    if (!json_is_boolean(v)) {
        return ncsl_err_set(err, bad, name, "field \"%s\" must be true or false", name);
    }
    *out = json_is_true(v);
    return NCSL_OK;
}

bool ncsl__trust_json_set_hex(json_t *obj, const char *name, const uint8_t *p, size_t len) {
    char *hex = malloc(2 * len + 1);
    if (!hex || ncsl_crypto_hex_encode(p, len, hex, 2 * len + 1, NULL) != NCSL_OK) {
        free(hex);
        return false;
    }
    bool ok = json_object_set_new(obj, name, json_string(hex)) == 0;
    free(hex);
    return ok;
}

/* ------------------------------------------------------------------------- time */

uint64_t ncsl__trust_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec < 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)(ts.tv_nsec / 1000000);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (civil calendar arithmetic in 400-year
 * eras, valid for every year we accept: 1970..9999). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = y / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool is_leap(unsigned y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

bool ncsl__trust_time_format(uint64_t ms, char *out, size_t out_size) {
    if (ms > NCSL__TRUST_TIME_MAX_MS || out_size < NCSL__TRUST_TIME_LEN + 1) {
        return false;
    }
    time_t sec = (time_t)(ms / 1000u);
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        return false;
    }
    int n = snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (unsigned)(ms % 1000u));
    return n == (int)NCSL__TRUST_TIME_LEN;
}

/* `n` decimal digits at `s` into *v; false on a non-digit. */
static bool digits(const char *s, unsigned n, unsigned *v) {
    *v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        *v = *v * 10 + (unsigned)(s[i] - '0');
    }
    return true;
}

bool ncsl__trust_time_parse(const char *s, size_t len, uint64_t *ms) {
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, mo, d, h, mi, se, frac;
    *ms = 0;
    /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    if (len != NCSL__TRUST_TIME_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != '.' || s[23] != 'Z') {
        return false;
    }
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) ||
        !digits(s + 20, 3, &frac)) {
        return false;
    }
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59) {
        return false;
    }
    unsigned dim = mdays[mo - 1] + (mo == 2 && is_leap(y) ? 1u : 0u);
    if (d > dim) {
        return false;
    }
    int64_t days = days_from_civil((int64_t)y, mo, d);
    *ms = ((uint64_t)days * 86400u + h * 3600u + mi * 60u + se) * 1000u + frac;
    return true;
}

/* ------------------------------------------------------------------------- UTF-8 */

bool ncsl__trust_utf8_valid(const char *str, size_t len) {
    return len == 0 || (memchr(str, 0, len) == NULL && ncsl_utf8_valid(str, len));
}

/* ------------------------------------------------------------------------- base64 */

static const char g_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *ncsl__trust_base64_encode(const uint8_t *p, size_t len) {
    size_t out_len = 4 * ((len + 2) / 3);
    char *out = malloc(out_len + 1);
    size_t o = 0;
    if (!out) {
        return NULL;
    }
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t rem = len - i;
        if (rem > 1) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        if (rem > 2) {
            v |= p[i + 2];
        }
        out[o++] = g_b64[(v >> 18) & 63];
        out[o++] = g_b64[(v >> 12) & 63];
        out[o++] = rem > 1 ? g_b64[(v >> 6) & 63] : '=';
        out[o++] = rem > 2 ? g_b64[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

ncsl_status ncsl__trust_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
                                      ncsl_err *err) {
    *out = NULL;
    *out_len = 0;
    if (len % 4 != 0) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL,
                            "base64 length %zu is not a multiple of 4", len);
    }
    size_t pad = 0;
    if (len > 0 && s[len - 1] == '=') {
        pad = (len > 1 && s[len - 2] == '=') ? 2 : 1;
    }
    size_t n = len / 4 * 3 - pad;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t v = 0;
        bool last = i + 4 == len;
        size_t quad_pad = last ? pad : 0;
        for (size_t k = 0; k < 4; k++) {
            int d;
            if (k >= 4 - quad_pad) {
                d = 0; /* a '=' of the final quantum */
            } else if ((d = b64_value(s[i + k])) < 0) {
                free(buf);
                return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL,
                                    "invalid base64 character at offset %zu", i + k);
            }
            v = (v << 6) | (uint32_t)d;
        }
        /* Unused bits must be zero: "QR==" and "QQ==" may not both mean "A". */
        if ((quad_pad == 1 && (v & 0xFF) != 0) || (quad_pad == 2 && (v & 0xFFFF) != 0)) {
            free(buf);
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, NULL,
                                "non-canonical base64 padding at offset %zu", i);
        }
        buf[o++] = (uint8_t)(v >> 16);
        if (quad_pad < 2) {
            buf[o++] = (uint8_t)(v >> 8);
        }
        if (quad_pad < 1) {
            buf[o++] = (uint8_t)v;
        }
    }
    *out = buf;
    *out_len = o;
    return NCSL_OK;
}
