/*
 * URL and URLSearchParams (WHATWG URL Standard), with the parser in C.
 *
 * The parser is the standard's basic URL parser (state machine, state overrides for the
 * setters), the host parser (domains, IPv4 in every form the standard accepts: decimal, hex,
 * octal, fewer than four parts; IPv6 with compression and embedded IPv4; opaque hosts of
 * non-special URLs) and the serializers. It works on the UTF-8 bytes of the input after the
 * WebIDL USVString conversion: every byte of a non-ASCII code point is in every percent-encode
 * set, so percent-encoding bytewise is percent-encoding the code point, and the other decisions
 * only look at ASCII.
 *
 * Internationalized domain names are not supported: a host that is not ASCII after
 * percent-decoding is refused with a TypeError that says so (Unicode ToASCII needs the UTS 46
 * tables). ASCII labels in Punycode form ("xn--...") are accepted when they decode as valid
 * Punycode to code points that are not controls, surrogates, noncharacters or joiners; the rest
 * of the UTS 46 validity checks (the mapping table, NFC, bidi, combining marks) are not applied.
 *
 * Limits: an input (URL, base, setter value, URLSearchParams string) longer than
 * NCSL_URL_MAX_INPUT bytes is refused with a TypeError; everything is allocated through the JS
 * context (the call's memory limit applies). Gas: NCSL__JS_GAS_HOST_CALL per host call plus the
 * bytes it reads or produces, charged before the work.
 *
 * Objects: a URL holds its record and, once `searchParams` was read, its URLSearchParams object
 * (a strong reference, marked for the GC). The URLSearchParams points back to the URL's C state
 * without a reference; the URL's finalizer clears that pointer, so a URLSearchParams that
 * outlives its URL (only possible when nothing can observe the URL any more) just stops updating
 * it. The URL's `searchParams` object is made on first access, filled from the query at that
 * moment, and refilled whenever the URL's query changes.
 *
 * Both globals are lazy (js_lazy.c). URL and URLSearchParams (with its iterator) are built
 * separately on first use in a context, so code that only parses URLs never builds the second;
 * a URL's `searchParams` getter builds it when first needed.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "js_lazy.h"

#define NCSL_URL_MAX_INPUT ((size_t)1 << 20)
/* bytes of the input quoted in "Invalid URL: ..." */
#define URL_ECHO_BYTES 48

/* parser results */
enum { R_ERR = -1, R_OK = 0, R_FAIL = 1, R_IDNA = 2 };

/* ------------------------------------------------------------------------- strings */
typedef struct sbuf {
    char *p; /* js_malloc'd, NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
} sbuf;

static int sb_reserve(JSContext *ctx, sbuf *b, size_t extra) {
    if (extra > SIZE_MAX / 4 - b->len) {
        JS_ThrowRangeError(ctx, "string too long");
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 16;
    while (cap < need) {
        cap *= 2;
    }
    char *p = js_realloc(ctx, b->p, cap);
    if (!p) {
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static int sb_add(JSContext *ctx, sbuf *b, const void *s, size_t n) {
    if (sb_reserve(ctx, b, n) < 0) {
        return -1;
    }
    if (n) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int sb_addc(JSContext *ctx, sbuf *b, char c) {
    return sb_add(ctx, b, &c, 1);
}

static int sb_adds(JSContext *ctx, sbuf *b, const char *s) {
    return sb_add(ctx, b, s, strlen(s));
}

/* b = s (s must not point into b) */
static int sb_set(JSContext *ctx, sbuf *b, const void *s, size_t n) {
    b->len = 0;
    return sb_add(ctx, b, s, n);
}

static int sb_copy(JSContext *ctx, sbuf *dst, const sbuf *src) {
    return sb_set(ctx, dst, src->p, src->len);
}

static void sb_clear(sbuf *b) {
    b->len = 0;
    if (b->p) {
        b->p[0] = '\0';
    }
}

static void sb_free(JSRuntime *rt, sbuf *b) {
    js_free_rt(rt, b->p);
    memset(b, 0, sizeof(*b));
}

static const char *sb_str(const sbuf *b) {
    return b->p ? b->p : "";
}

static bool sb_eq(const sbuf *b, const char *s) {
    size_t n = strlen(s);
    return b->len == n && (n == 0 || memcmp(b->p, s, n) == 0);
}

static bool is_alpha(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

static bool is_hex(int c) {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hex_val(int c) {
    return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
}

static char to_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ------------------------------------------------------------------------- percent-encoding */
enum {
    SET_C0,
    SET_FRAGMENT,
    SET_QUERY,
    SET_SPECIAL_QUERY,
    SET_PATH,
    SET_USERINFO,
    SET_FORM, /* application/x-www-form-urlencoded */
};

static bool in_set(int set, uint8_t c) {
    if (c < 0x20 || c > 0x7E) {
        return true;
    }
    switch (set) {
    case SET_C0:
        return false;
    case SET_FRAGMENT:
        return c == ' ' || c == '"' || c == '<' || c == '>' || c == '`';
    case SET_FORM:
        return !(is_alpha(c) || is_digit(c) || c == '*' || c == '-' || c == '.' || c == '_');
    default:
        break;
    }
    /* the query set and the sets built on it */
    if (c == ' ' || c == '"' || c == '#' || c == '<' || c == '>') {
        return true;
    }
    if (set == SET_QUERY) {
        return false;
    }
    if (set == SET_SPECIAL_QUERY) {
        return c == '\'';
    }
    if (c == '?' || c == '`' || c == '{' || c == '}') {
        return true;
    }
    if (set == SET_PATH) {
        return false;
    }
    return c == '/' || c == ':' || c == ';' || c == '=' || c == '@' || (c >= '[' && c <= '^') ||
           c == '|';
}

static int pct_add(JSContext *ctx, sbuf *b, uint8_t c, int set) {
    static const char hex[] = "0123456789ABCDEF";
    if (!in_set(set, c)) {
        return sb_addc(ctx, b, (char)c);
    }
    char e[3] = {'%', hex[c >> 4], hex[c & 15]};
    return sb_add(ctx, b, e, 3);
}

static int pct_add_all(JSContext *ctx, sbuf *b, const char *s, size_t n, int set) {
    if (sb_reserve(ctx, b, n) < 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (pct_add(ctx, b, (uint8_t)s[i], set) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Percent-decodes s[0..n) into out (at most n bytes; returns the size). */
static size_t pct_decode(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
            out[o++] = (char)(hex_val(s[i + 1]) * 16 + hex_val(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

/* ------------------------------------------------------------------------- hosts */
static bool forbidden_host(uint8_t c) {
    switch (c) {
    case 0x00:
    case '\t':
    case '\n':
    case '\r':
    case ' ':
    case '#':
    case '/':
    case ':':
    case '<':
    case '>':
    case '?':
    case '@':
    case '[':
    case '\\':
    case ']':
    case '^':
    case '|':
        return true;
    default:
        return false;
    }
}

static bool forbidden_domain(uint8_t c) {
    return forbidden_host(c) || c < 0x20 || c == '%' || c == 0x7F;
}

/* IPv4 number parser: 0 ok (*v saturated above 2^32), -1 failure. */
static int ipv4_number(const char *s, size_t n, uint64_t *v) {
    if (n == 0) {
        return -1;
    }
    int radix = 10;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        n -= 2;
        radix = 16;
    } else if (n >= 2 && s[0] == '0') {
        s++;
        n--;
        radix = 8;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        int d;
        if (radix == 16 && is_hex(c)) {
            d = hex_val(c);
        } else if (is_digit(c) && c - '0' < radix) {
            d = c - '0';
        } else {
            return -1;
        }
        x = x * (uint64_t)radix + (uint64_t)d;
        if (x > ((uint64_t)1 << 33)) {
            x = (uint64_t)1 << 33; /* anything this large fails the range checks anyway */
        }
    }
    *v = x;
    return 0;
}

/* The "ends in a number" checker of the host parser. */
static bool ends_in_number(const char *s, size_t n) {
    if (n > 0 && s[n - 1] == '.') {
        n--;
        if (n == 0) {
            return false; /* "." is a single empty part */
        }
    }
    size_t start = n;
    while (start > 0 && s[start - 1] != '.') {
        start--;
    }
    const char *last = s + start;
    size_t len = n - start;
    if (len == 0) {
        return false;
    }
    bool digits = true;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(last[i])) {
            digits = false;
            break;
        }
    }
    uint64_t v;
    return digits || ipv4_number(last, len, &v) == 0;
}

/* IPv4 parser: R_OK with *addr, or R_FAIL. */
static int ipv4_parse(const char *s, size_t n, uint32_t *addr) {
    uint64_t nums[4];
    size_t count = 0;
    if (n > 0 && s[n - 1] == '.') {
        n--; /* a trailing empty part is dropped (there is more than one part: s is a domain) */
    }
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < n && s[j] != '.') {
            j++;
        }
        if (count == 4) {
            return R_FAIL;
        }
        if (ipv4_number(s + i, j - i, &nums[count]) < 0) {
            return R_FAIL;
        }
        count++;
        if (j >= n) {
            break;
        }
        i = j + 1;
    }
    for (size_t k = 0; k + 1 < count; k++) {
        if (nums[k] > 255) {
            return R_FAIL;
        }
    }
    if (nums[count - 1] >= ((uint64_t)1 << (8 * (5 - count)))) {
        return R_FAIL;
    }
    uint64_t v = nums[count - 1];
    for (size_t k = 0; k + 1 < count; k++) {
        v += nums[k] << (8 * (3 - k));
    }
    *addr = (uint32_t)v;
    return R_OK;
}

static int ipv4_serialize(JSContext *ctx, sbuf *out, uint32_t a) {
    char tmp[16];
    int n = snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", (a >> 24) & 255, (a >> 16) & 255,
                     (a >> 8) & 255, a & 255);
    return sb_set(ctx, out, tmp, (size_t)n);
}

/* IPv6 parser (the standard's algorithm, on the text between the brackets). */
static int ipv6_parse(const char *s, size_t n, uint16_t addr[8]) {
    memset(addr, 0, 8 * sizeof(uint16_t));
    int piece = 0, compress = -1;
    size_t p = 0;
#define C (p < n ? (unsigned char)s[p] : -1)
    if (C == ':') {
        if (p + 1 >= n || s[p + 1] != ':') {
            return R_FAIL;
        }
        p += 2;
        piece++;
        compress = piece;
    }
    while (C != -1) {
        if (piece == 8) {
            return R_FAIL;
        }
        if (C == ':') {
            if (compress != -1) {
                return R_FAIL;
            }
            p++;
            piece++;
            compress = piece;
            continue;
        }
        unsigned value = 0, length = 0;
        while (length < 4 && C != -1 && is_hex(C)) {
            value = value * 16 + (unsigned)hex_val(C);
            p++;
            length++;
        }
        if (C == '.') {
            if (length == 0) {
                return R_FAIL;
            }
            p -= length;
            if (piece > 6) {
                return R_FAIL;
            }
            int seen = 0;
            while (C != -1) {
                int v4 = -1;
                if (seen > 0) {
                    if (C == '.' && seen < 4) {
                        p++;
                    } else {
                        return R_FAIL;
                    }
                }
                if (C == -1 || !is_digit(C)) {
                    return R_FAIL;
                }
                while (C != -1 && is_digit(C)) {
                    int d = C - '0';
                    if (v4 == -1) {
                        v4 = d;
                    } else if (v4 == 0) {
                        return R_FAIL;
                    } else {
                        v4 = v4 * 10 + d;
                    }
                    if (v4 > 255) {
                        return R_FAIL;
                    }
                    p++;
                }
                addr[piece] = (uint16_t)(addr[piece] * 0x100 + v4);
                seen++;
                if (seen == 2 || seen == 4) {
                    piece++;
                }
            }
            if (seen != 4) {
                return R_FAIL;
            }
            break;
        } else if (C == ':') {
            p++;
            if (C == -1) {
                return R_FAIL;
            }
        } else if (C != -1) {
            return R_FAIL;
        }
        addr[piece] = (uint16_t)value;
        piece++;
    }
#undef C
    if (compress != -1) {
        int swaps = piece - compress;
        piece = 7;
        while (piece != 0 && swaps > 0) {
            uint16_t t = addr[piece];
            addr[piece] = addr[compress + swaps - 1];
            addr[compress + swaps - 1] = t;
            piece--;
            swaps--;
        }
    } else if (piece != 8) {
        return R_FAIL;
    }
    return R_OK;
}

static int ipv6_serialize(JSContext *ctx, sbuf *out, const uint16_t a[8]) {
    /* the first longest run of zero pieces, if longer than one */
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (a[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && a[j] == 0) {
            j++;
        }
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    char tmp[48];
    size_t o = 0;
    tmp[o++] = '[';
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            tmp[o++] = ':';
            if (i == 0) {
                tmp[o++] = ':';
            }
            i += best_len - 1;
            continue;
        }
        o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%x", a[i]);
        if (i != 7) {
            tmp[o++] = ':';
        }
    }
    tmp[o++] = ']';
    return sb_set(ctx, out, tmp, o);
}

/* Punycode (RFC 3492) decoding of one label without its "xn--", as a validity check: R_OK when
 * it decodes to at least one code point and every code point it inserts is acceptable (see the
 * top of the file), else R_FAIL. */
static int punycode_check(const char *s, size_t n) {
    enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, MAXINT = 0x7FFFFFFF };
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '-') {
            b = i;
        }
    }
    size_t out_len = b;
    size_t in = b > 0 ? b + 1 : 0;
    uint64_t cp = 128, i = 0, bias = 72;
    while (in < n) {
        uint64_t oldi = i, w = 1;
        for (uint64_t k = BASE;; k += BASE) {
            if (in >= n) {
                return R_FAIL;
            }
            int c = (unsigned char)s[in++];
            uint64_t digit = is_digit(c)              ? (uint64_t)(c - '0' + 26)
                             : (c >= 'a' && c <= 'z') ? (uint64_t)(c - 'a')
                             : (c >= 'A' && c <= 'Z') ? (uint64_t)(c - 'A')
                                                      : BASE;
            if (digit >= BASE || digit > (MAXINT - i) / w) {
                return R_FAIL;
            }
            i += digit * w;
            uint64_t t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
            if (digit < t) {
                break;
            }
            if (w > MAXINT / (BASE - t)) {
                return R_FAIL;
            }
            w *= BASE - t;
        }
        /* bias adaptation */
        uint64_t delta = oldi == 0 ? (i - oldi) / DAMP : (i - oldi) / 2;
        delta += delta / (out_len + 1);
        uint64_t k = 0;
        while (delta > ((BASE - TMIN) * TMAX) / 2) {
            delta /= BASE - TMIN;
            k += BASE;
        }
        bias = k + (BASE - TMIN + 1) * delta / (delta + SKEW);
        if (i / (out_len + 1) > MAXINT - cp) {
            return R_FAIL;
        }
        cp += i / (out_len + 1);
        i %= out_len + 1;
        if (cp < 0xA0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
            (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE || cp == 0x200C ||
            cp == 0x200D) {
            return R_FAIL;
        }
        out_len++;
        i++;
    }
    return out_len > 0 ? R_OK : R_FAIL;
}

/* Domain to ASCII for an ASCII domain (beStrict false): lowercase, check "xn--" labels. */
static int domain_to_ascii(JSContext *ctx, const char *s, size_t n, sbuf *out) {
    for (size_t i = 0; i < n; i++) {
        if ((uint8_t)s[i] >= 0x80) {
            return ncsl_utf8_valid(s, n) ? R_IDNA : R_FAIL;
        }
    }
    out->len = 0;
    if (sb_reserve(ctx, out, n) < 0) {
        return R_ERR;
    }
    for (size_t i = 0; i < n; i++) {
        out->p[i] = to_lower(s[i]);
    }
    out->len = n;
    out->p[n] = '\0';
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && out->p[j] != '.') {
            j++;
        }
        if (j - i >= 4 && memcmp(out->p + i, "xn--", 4) == 0 &&
            punycode_check(out->p + i + 4, j - i - 4) != R_OK) {
            return R_FAIL;
        }
        i = j + 1;
    }
    return n == 0 ? R_FAIL : R_OK;
}

/* The host parser: serialized host in *out. not_special selects the opaque-host parser. */
static int host_parse(JSContext *ctx, const char *s, size_t n, bool not_special, sbuf *out) {
    if (n > 0 && s[0] == '[') {
        uint16_t a[8];
        if (s[n - 1] != ']' || n < 2 || ipv6_parse(s + 1, n - 2, a) != R_OK) {
            return R_FAIL;
        }
        return ipv6_serialize(ctx, out, a) < 0 ? R_ERR : R_OK;
    }
    if (not_special) {
        for (size_t i = 0; i < n; i++) {
            if (forbidden_host((uint8_t)s[i])) {
                return R_FAIL;
            }
        }
        out->len = 0;
        return pct_add_all(ctx, out, s, n, SET_C0) < 0 ? R_ERR : R_OK;
    }
    char *dec = js_malloc(ctx, n + 1);
    if (!dec) {
        return R_ERR;
    }
    size_t dn = pct_decode(s, n, dec);
    int r = domain_to_ascii(ctx, dec, dn, out);
    js_free(ctx, dec);
    if (r != R_OK) {
        return r;
    }
    for (size_t i = 0; i < out->len; i++) {
        if (forbidden_domain((uint8_t)out->p[i])) {
            return R_FAIL;
        }
    }
    if (ends_in_number(out->p, out->len)) {
        uint32_t a;
        if (ipv4_parse(out->p, out->len, &a) != R_OK) {
            return R_FAIL;
        }
        return ipv4_serialize(ctx, out, a) < 0 ? R_ERR : R_OK;
    }
    return R_OK;
}

/* ------------------------------------------------------------------------- URL record */
typedef struct url_rec {
    sbuf scheme; /* lowercase, without ':' */
    sbuf username;
    sbuf password;
    sbuf host; /* serialized (IPv6 with brackets) */
    bool has_host;
    int32_t port; /* -1: null */
    /* a list path is kept serialized: "/seg1/seg2" ("" is the empty list, "/" one empty
     * segment; a segment never contains '/'); an opaque path as is */
    sbuf path;
    bool opaque_path;
    sbuf query;
    bool has_query;
    sbuf fragment;
    bool has_fragment;
} url_rec;

static void url_rec_free(JSRuntime *rt, url_rec *u) {
    sb_free(rt, &u->scheme);
    sb_free(rt, &u->username);
    sb_free(rt, &u->password);
    sb_free(rt, &u->host);
    sb_free(rt, &u->path);
    sb_free(rt, &u->query);
    sb_free(rt, &u->fragment);
}

static void url_rec_init(url_rec *u) {
    memset(u, 0, sizeof(*u));
    u->port = -1;
}

/* default port of a special scheme; -1 for file; -2 if the scheme is not special */
static int scheme_default_port(const char *s, size_t n) {
    static const struct {
        const char *name;
        int port;
    } special[] = {{"http", 80}, {"https", 443}, {"ws", 80},
                   {"wss", 443}, {"ftp", 21},    {"file", -1}};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(special); i++) {
        if (strlen(special[i].name) == n && memcmp(special[i].name, s, n) == 0) {
            return special[i].port;
        }
    }
    return -2;
}

static bool url_special(const url_rec *u) {
    return scheme_default_port(sb_str(&u->scheme), u->scheme.len) != -2;
}

static bool url_is_file(const url_rec *u) {
    return sb_eq(&u->scheme, "file");
}

static bool url_credentials(const url_rec *u) {
    return u->username.len > 0 || u->password.len > 0;
}

static bool url_no_credentials_or_port(const url_rec *u) {
    return !u->has_host || u->host.len == 0 || url_is_file(u);
}

static bool windows_drive_letter(const char *s, size_t n, bool normalized) {
    return n == 2 && is_alpha(s[0]) && (s[1] == ':' || (!normalized && s[1] == '|'));
}

/* "starts with a Windows drive letter" */
static bool starts_with_wdl(const char *s, size_t n) {
    return n >= 2 && windows_drive_letter(s, 2, false) &&
           (n == 2 || s[2] == '/' || s[2] == '\\' || s[2] == '?' || s[2] == '#');
}

/* the first segment of a list path, or NULL when the list is empty */
static const char *path_first(const url_rec *u, size_t *len) {
    if (u->path.len == 0) {
        return NULL;
    }
    const char *s = u->path.p + 1;
    const char *end = memchr(s, '/', u->path.len - 1);
    *len = end ? (size_t)(end - s) : u->path.len - 1;
    return s;
}

static void path_shorten(url_rec *u) {
    if (u->path.len == 0) {
        return;
    }
    size_t first_len = 0;
    const char *first = path_first(u, &first_len);
    if (url_is_file(u) && first_len + 1 == u->path.len &&
        windows_drive_letter(first, first_len, true)) {
        return;
    }
    size_t i = u->path.len;
    while (i > 0 && u->path.p[i - 1] != '/') {
        i--;
    }
    u->path.len = i - 1;
    u->path.p[u->path.len] = '\0';
}

static int path_append(JSContext *ctx, url_rec *u, const char *seg, size_t n) {
    if (sb_addc(ctx, &u->path, '/') < 0) {
        return -1;
    }
    return sb_add(ctx, &u->path, seg, n);
}

/* ------------------------------------------------------------------------- parser */
enum {
    ST_NONE,
    ST_SCHEME_START,
    ST_SCHEME,
    ST_NO_SCHEME,
    ST_SPECIAL_RELATIVE_OR_AUTHORITY,
    ST_PATH_OR_AUTHORITY,
    ST_RELATIVE,
    ST_RELATIVE_SLASH,
    ST_SPECIAL_AUTHORITY_SLASHES,
    ST_SPECIAL_AUTHORITY_IGNORE_SLASHES,
    ST_AUTHORITY,
    ST_HOST,
    ST_HOSTNAME,
    ST_PORT,
    ST_FILE,
    ST_FILE_SLASH,
    ST_FILE_HOST,
    ST_PATH_START,
    ST_PATH,
    ST_OPAQUE_PATH,
    ST_QUERY,
    ST_FRAGMENT,
};

static bool single_dot(const sbuf *b) {
    return sb_eq(b, ".") ||
           (b->len == 3 && b->p[0] == '%' && b->p[1] == '2' && (b->p[2] == 'e' || b->p[2] == 'E'));
}

static bool double_dot(const sbuf *b) {
    if (sb_eq(b, "..")) {
        return true;
    }
    char t[7];
    if (b->len != 4 && b->len != 6) {
        return false;
    }
    for (size_t i = 0; i < b->len; i++) {
        t[i] = to_lower(b->p[i]);
    }
    t[b->len] = '\0';
    return strcmp(t, ".%2e") == 0 || strcmp(t, "%2e.") == 0 || strcmp(t, "%2e%2e") == 0;
}

/* copies username, password, host and port of `base` */
static int copy_authority(JSContext *ctx, url_rec *u, const url_rec *base) {
    if (sb_copy(ctx, &u->username, &base->username) < 0 ||
        sb_copy(ctx, &u->password, &base->password) < 0 ||
        sb_copy(ctx, &u->host, &base->host) < 0) {
        return -1;
    }
    u->has_host = base->has_host;
    u->port = base->port;
    return 0;
}

/*
 * The basic URL parser on in[0..len) (the caller stripped what the standard strips), into `u`
 * (a fresh record, or the URL being modified when `override` is a state). Returns R_OK, R_FAIL,
 * R_IDNA (failure: a non-ASCII domain) or R_ERR (exception pending). With a state override the
 * record may be partly modified when it fails, as in the standard.
 */
static int url_parse(JSContext *ctx, const char *in, size_t len, const url_rec *base, url_rec *u,
                     int override) {
    sbuf buf = {0};
    sbuf host = {0}; /* a parsed host, moved into u->host only on success */
    int state = override ? override : ST_SCHEME_START;
    bool at_seen = false, in_brackets = false, pw_seen = false;
    ptrdiff_t p = 0;
    int r = R_OK;
    const ptrdiff_t n = (ptrdiff_t)len;

#define FAIL(code)                                                                                 \
    do {                                                                                           \
        r = (code);                                                                                \
        goto out;                                                                                  \
    } while (0)
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        if ((expr) < 0) {                                                                          \
            FAIL(R_ERR);                                                                           \
        }                                                                                          \
    } while (0)
#define REMAINING_STARTS(ch) (p + 1 < n && in[p + 1] == (ch))

    for (;;) {
        int c = p < n ? (unsigned char)in[p] : -1;
        bool special = url_special(u);
        switch (state) {
        case ST_SCHEME_START:
            if (c != -1 && is_alpha(c)) {
                TRY(sb_addc(ctx, &buf, to_lower((char)c)));
                state = ST_SCHEME;
            } else if (!override) {
                state = ST_NO_SCHEME;
                p--;
            } else {
                FAIL(R_FAIL);
            }
            break;
        case ST_SCHEME:
            if (c != -1 && (is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.')) {
                TRY(sb_addc(ctx, &buf, to_lower((char)c)));
            } else if (c == ':') {
                if (override) {
                    bool buf_special = scheme_default_port(sb_str(&buf), buf.len) != -2;
                    if (special != buf_special) {
                        goto out;
                    }
                    if ((url_credentials(u) || u->port >= 0) && sb_eq(&buf, "file")) {
                        goto out;
                    }
                    if (url_is_file(u) && u->has_host && u->host.len == 0) {
                        goto out;
                    }
                }
                TRY(sb_copy(ctx, &u->scheme, &buf));
                if (override) {
                    if (u->port >= 0 && u->port == scheme_default_port(buf.p, buf.len)) {
                        u->port = -1;
                    }
                    goto out;
                }
                sb_clear(&buf);
                special = url_special(u);
                if (url_is_file(u)) {
                    state = ST_FILE;
                } else if (special && base && sb_eq(&base->scheme, sb_str(&u->scheme))) {
                    state = ST_SPECIAL_RELATIVE_OR_AUTHORITY;
                } else if (special) {
                    state = ST_SPECIAL_AUTHORITY_SLASHES;
                } else if (REMAINING_STARTS('/')) {
                    state = ST_PATH_OR_AUTHORITY;
                    p++;
                } else {
                    sb_clear(&u->path);
                    u->opaque_path = true;
                    state = ST_OPAQUE_PATH;
                }
            } else if (!override) {
                sb_clear(&buf);
                state = ST_NO_SCHEME;
                p = -1; /* start over */
            } else {
                FAIL(R_FAIL);
            }
            break;
        case ST_NO_SCHEME:
            if (!base || (base->opaque_path && c != '#')) {
                FAIL(R_FAIL);
            } else if (base->opaque_path && c == '#') {
                TRY(sb_copy(ctx, &u->scheme, &base->scheme));
                TRY(sb_copy(ctx, &u->path, &base->path));
                u->opaque_path = true;
                TRY(sb_copy(ctx, &u->query, &base->query));
                u->has_query = base->has_query;
                sb_clear(&u->fragment);
                u->has_fragment = true;
                state = ST_FRAGMENT;
            } else if (!url_is_file(base)) {
                state = ST_RELATIVE;
                p--;
            } else {
                state = ST_FILE;
                p--;
            }
            break;
        case ST_SPECIAL_RELATIVE_OR_AUTHORITY:
            if (c == '/' && REMAINING_STARTS('/')) {
                state = ST_SPECIAL_AUTHORITY_IGNORE_SLASHES;
                p++;
            } else {
                state = ST_RELATIVE;
                p--;
            }
            break;
        case ST_PATH_OR_AUTHORITY:
            if (c == '/') {
                state = ST_AUTHORITY;
            } else {
                state = ST_PATH;
                p--;
            }
            break;
        case ST_RELATIVE:
            TRY(sb_copy(ctx, &u->scheme, &base->scheme));
            special = url_special(u);
            if (c == '/' || (special && c == '\\')) {
                state = ST_RELATIVE_SLASH;
            } else {
                TRY(copy_authority(ctx, u, base));
                TRY(sb_copy(ctx, &u->path, &base->path));
                TRY(sb_copy(ctx, &u->query, &base->query));
                u->has_query = base->has_query;
                if (c == '?') {
                    sb_clear(&u->query);
                    u->has_query = true;
                    state = ST_QUERY;
                } else if (c == '#') {
                    sb_clear(&u->fragment);
                    u->has_fragment = true;
                    state = ST_FRAGMENT;
                } else if (c != -1) {
                    sb_clear(&u->query);
                    u->has_query = false;
                    path_shorten(u);
                    state = ST_PATH;
                    p--;
                }
            }
            break;
        case ST_RELATIVE_SLASH:
            if (special && (c == '/' || c == '\\')) {
                state = ST_SPECIAL_AUTHORITY_IGNORE_SLASHES;
            } else if (c == '/') {
                state = ST_AUTHORITY;
            } else {
                TRY(copy_authority(ctx, u, base));
                state = ST_PATH;
                p--;
            }
            break;
        case ST_SPECIAL_AUTHORITY_SLASHES:
            state = ST_SPECIAL_AUTHORITY_IGNORE_SLASHES;
            if (c == '/' && REMAINING_STARTS('/')) {
                p++;
            } else {
                p--;
            }
            break;
        case ST_SPECIAL_AUTHORITY_IGNORE_SLASHES:
            if (c != '/' && c != '\\') {
                state = ST_AUTHORITY;
                p--;
            }
            break;
        case ST_AUTHORITY:
            if (c == '@') {
                if (at_seen) {
                    TRY(sb_adds(ctx, pw_seen ? &u->password : &u->username, "%40"));
                }
                at_seen = true;
                for (size_t i = 0; i < buf.len; i++) {
                    if (buf.p[i] == ':' && !pw_seen) {
                        pw_seen = true;
                        continue;
                    }
                    TRY(pct_add(ctx, pw_seen ? &u->password : &u->username, (uint8_t)buf.p[i],
                                SET_USERINFO));
                }
                sb_clear(&buf);
            } else if (c == -1 || c == '/' || c == '?' || c == '#' || (special && c == '\\')) {
                if (at_seen && buf.len == 0) {
                    FAIL(R_FAIL);
                }
                p -= (ptrdiff_t)buf.len + 1;
                sb_clear(&buf);
                state = ST_HOST;
            } else {
                TRY(sb_addc(ctx, &buf, (char)c));
            }
            break;
        case ST_HOST:
        case ST_HOSTNAME:
            if (override && url_is_file(u)) {
                p--;
                state = ST_FILE_HOST;
            } else if (c == ':' && !in_brackets) {
                if (buf.len == 0) {
                    FAIL(R_FAIL);
                }
                if (override == ST_HOSTNAME) {
                    goto out;
                }
                int hr = host_parse(ctx, buf.p, buf.len, !special, &host);
                if (hr != R_OK) {
                    FAIL(hr);
                }
                TRY(sb_copy(ctx, &u->host, &host));
                u->has_host = true;
                sb_clear(&buf);
                state = ST_PORT;
            } else if (c == -1 || c == '/' || c == '?' || c == '#' || (special && c == '\\')) {
                p--;
                if (special && buf.len == 0) {
                    FAIL(R_FAIL);
                } else if (override && buf.len == 0 && (url_credentials(u) || u->port >= 0)) {
                    goto out;
                }
                int hr = host_parse(ctx, sb_str(&buf), buf.len, !special, &host);
                if (hr != R_OK) {
                    FAIL(hr);
                }
                TRY(sb_copy(ctx, &u->host, &host));
                u->has_host = true;
                sb_clear(&buf);
                state = ST_PATH_START;
                if (override) {
                    goto out;
                }
            } else {
                if (c == '[') {
                    in_brackets = true;
                } else if (c == ']') {
                    in_brackets = false;
                }
                TRY(sb_addc(ctx, &buf, (char)c));
            }
            break;
        case ST_PORT:
            if (c != -1 && is_digit(c)) {
                TRY(sb_addc(ctx, &buf, (char)c));
            } else if (c == -1 || c == '/' || c == '?' || c == '#' || (special && c == '\\') ||
                       override) {
                if (buf.len > 0) {
                    uint32_t port = 0;
                    for (size_t i = 0; i < buf.len; i++) {
                        port = port * 10 + (uint32_t)(buf.p[i] - '0');
                        if (port > 65535) {
                            FAIL(R_FAIL);
                        }
                    }
                    int def = scheme_default_port(sb_str(&u->scheme), u->scheme.len);
                    u->port = (int)port == def ? -1 : (int32_t)port;
                    sb_clear(&buf);
                }
                if (override) {
                    goto out;
                }
                state = ST_PATH_START;
                p--;
            } else {
                FAIL(R_FAIL);
            }
            break;
        case ST_FILE:
            TRY(sb_set(ctx, &u->scheme, "file", 4));
            sb_clear(&u->host);
            u->has_host = true;
            if (c == '/' || c == '\\') {
                state = ST_FILE_SLASH;
            } else if (base && url_is_file(base)) {
                TRY(sb_copy(ctx, &u->host, &base->host));
                u->has_host = base->has_host;
                TRY(sb_copy(ctx, &u->path, &base->path));
                TRY(sb_copy(ctx, &u->query, &base->query));
                u->has_query = base->has_query;
                if (c == '?') {
                    sb_clear(&u->query);
                    u->has_query = true;
                    state = ST_QUERY;
                } else if (c == '#') {
                    sb_clear(&u->fragment);
                    u->has_fragment = true;
                    state = ST_FRAGMENT;
                } else if (c != -1) {
                    sb_clear(&u->query);
                    u->has_query = false;
                    if (!starts_with_wdl(in + p, (size_t)(n - p))) {
                        path_shorten(u);
                    } else {
                        sb_clear(&u->path);
                    }
                    state = ST_PATH;
                    p--;
                }
            } else {
                state = ST_PATH;
                p--;
            }
            break;
        case ST_FILE_SLASH:
            if (c == '/' || c == '\\') {
                state = ST_FILE_HOST;
            } else {
                if (base && url_is_file(base)) {
                    TRY(sb_copy(ctx, &u->host, &base->host));
                    u->has_host = base->has_host;
                    size_t flen = 0;
                    const char *first = path_first(base, &flen);
                    if (!starts_with_wdl(in + p, (size_t)(n - (p < n ? p : n))) && first &&
                        windows_drive_letter(first, flen, true)) {
                        TRY(path_append(ctx, u, first, flen));
                    }
                }
                state = ST_PATH;
                p--;
            }
            break;
        case ST_FILE_HOST:
            if (c == -1 || c == '/' || c == '\\' || c == '?' || c == '#') {
                p--;
                if (!override && windows_drive_letter(sb_str(&buf), buf.len, false)) {
                    state = ST_PATH; /* buf is kept: the path state uses it */
                } else if (buf.len == 0) {
                    sb_clear(&u->host);
                    u->has_host = true;
                    if (override) {
                        goto out;
                    }
                    state = ST_PATH_START;
                } else {
                    int hr = host_parse(ctx, buf.p, buf.len, !special, &host);
                    if (hr != R_OK) {
                        FAIL(hr);
                    }
                    if (sb_eq(&host, "localhost")) {
                        sb_clear(&host);
                    }
                    TRY(sb_copy(ctx, &u->host, &host));
                    u->has_host = true;
                    if (override) {
                        goto out;
                    }
                    sb_clear(&buf);
                    state = ST_PATH_START;
                }
            } else {
                TRY(sb_addc(ctx, &buf, (char)c));
            }
            break;
        case ST_PATH_START:
            if (special) {
                state = ST_PATH;
                if (c != '/' && c != '\\') {
                    p--;
                }
            } else if (!override && c == '?') {
                sb_clear(&u->query);
                u->has_query = true;
                state = ST_QUERY;
            } else if (!override && c == '#') {
                sb_clear(&u->fragment);
                u->has_fragment = true;
                state = ST_FRAGMENT;
            } else if (c != -1) {
                state = ST_PATH;
                if (c != '/') {
                    p--;
                }
            } else if (override && !u->has_host) {
                TRY(path_append(ctx, u, "", 0));
            }
            break;
        case ST_PATH:
            if (c == -1 || c == '/' || (special && c == '\\') ||
                (!override && (c == '?' || c == '#'))) {
                bool slash = c == '/' || (special && c == '\\');
                if (double_dot(&buf)) {
                    path_shorten(u);
                    if (!slash) {
                        TRY(path_append(ctx, u, "", 0));
                    }
                } else if (single_dot(&buf)) {
                    if (!slash) {
                        TRY(path_append(ctx, u, "", 0));
                    }
                } else {
                    if (url_is_file(u) && u->path.len == 0 &&
                        windows_drive_letter(sb_str(&buf), buf.len, false)) {
                        buf.p[1] = ':';
                    }
                    TRY(path_append(ctx, u, sb_str(&buf), buf.len));
                }
                sb_clear(&buf);
                if (c == '?') {
                    sb_clear(&u->query);
                    u->has_query = true;
                    state = ST_QUERY;
                } else if (c == '#') {
                    sb_clear(&u->fragment);
                    u->has_fragment = true;
                    state = ST_FRAGMENT;
                }
            } else {
                TRY(pct_add(ctx, &buf, (uint8_t)c, SET_PATH));
            }
            break;
        case ST_OPAQUE_PATH:
            if (c == '?') {
                sb_clear(&u->query);
                u->has_query = true;
                state = ST_QUERY;
            } else if (c == '#') {
                sb_clear(&u->fragment);
                u->has_fragment = true;
                state = ST_FRAGMENT;
            } else if (c != -1) {
                TRY(pct_add(ctx, &u->path, (uint8_t)c, SET_C0));
            }
            break;
        case ST_QUERY:
            if (!override && c == '#') {
                sb_clear(&u->fragment);
                u->has_fragment = true;
                state = ST_FRAGMENT;
            } else if (c != -1) {
                TRY(pct_add(ctx, &u->query, (uint8_t)c, special ? SET_SPECIAL_QUERY : SET_QUERY));
            }
            break;
        case ST_FRAGMENT:
            if (c != -1) {
                TRY(pct_add(ctx, &u->fragment, (uint8_t)c, SET_FRAGMENT));
            }
            break;
        default:
            FAIL(R_FAIL);
        }
        if (p >= n) {
            break;
        }
        p++;
    }
out:
#undef FAIL
#undef TRY
#undef REMAINING_STARTS
    js_free(ctx, buf.p);
    js_free(ctx, host.p);
    return r;
}

/* ------------------------------------------------------------------------- serializing */
static int url_serialize(JSContext *ctx, const url_rec *u, sbuf *out, bool exclude_fragment) {
    char port[16];
    out->len = 0;
    if (sb_add(ctx, out, sb_str(&u->scheme), u->scheme.len) < 0 || sb_addc(ctx, out, ':') < 0) {
        return -1;
    }
    if (u->has_host) {
        if (sb_add(ctx, out, "//", 2) < 0) {
            return -1;
        }
        if (url_credentials(u)) {
            if (sb_add(ctx, out, sb_str(&u->username), u->username.len) < 0) {
                return -1;
            }
            if (u->password.len > 0 && (sb_addc(ctx, out, ':') < 0 ||
                                        sb_add(ctx, out, u->password.p, u->password.len) < 0)) {
                return -1;
            }
            if (sb_addc(ctx, out, '@') < 0) {
                return -1;
            }
        }
        if (sb_add(ctx, out, sb_str(&u->host), u->host.len) < 0) {
            return -1;
        }
        if (u->port >= 0) {
            int n = snprintf(port, sizeof(port), ":%d", (int)u->port);
            if (sb_add(ctx, out, port, (size_t)n) < 0) {
                return -1;
            }
        }
    } else if (!u->opaque_path && u->path.len > 1 && u->path.p[0] == '/' && u->path.p[1] == '/') {
        if (sb_add(ctx, out, "/.", 2) < 0) {
            return -1;
        }
    }
    if (sb_add(ctx, out, sb_str(&u->path), u->path.len) < 0) {
        return -1;
    }
    if (u->has_query &&
        (sb_addc(ctx, out, '?') < 0 || sb_add(ctx, out, sb_str(&u->query), u->query.len) < 0)) {
        return -1;
    }
    if (!exclude_fragment && u->has_fragment &&
        (sb_addc(ctx, out, '#') < 0 ||
         sb_add(ctx, out, sb_str(&u->fragment), u->fragment.len) < 0)) {
        return -1;
    }
    return 0;
}

static int url_host_port(JSContext *ctx, const url_rec *u, sbuf *out) {
    out->len = 0;
    if (sb_add(ctx, out, sb_str(&u->host), u->host.len) < 0) {
        return -1;
    }
    if (u->port >= 0) {
        char port[16];
        int n = snprintf(port, sizeof(port), ":%d", (int)u->port);
        return sb_add(ctx, out, port, (size_t)n);
    }
    return 0;
}

/* Prepares input for the parser: strips leading and trailing C0 controls and spaces when
 * `trim` (a parse without a URL to modify), and removes every tab and newline. *s and *n point into
 * the original or into *owned (js_malloc'd, caller frees). */
static int prep_input(JSContext *ctx, const char **s, size_t *n, bool trim, char **owned) {
    const char *p = *s;
    size_t len = *n;
    *owned = NULL;
    if (trim) {
        while (len > 0 && (uint8_t)p[0] <= 0x20) {
            p++;
            len--;
        }
        while (len > 0 && (uint8_t)p[len - 1] <= 0x20) {
            len--;
        }
    }
    bool has_ws = false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
            has_ws = true;
            break;
        }
    }
    if (has_ws) {
        char *c = js_malloc(ctx, len + 1);
        if (!c) {
            return -1;
        }
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
                c[o++] = p[i];
            }
        }
        *owned = c;
        p = c;
        len = o;
    }
    *s = p;
    *n = len;
    return 0;
}

/* The origin serialized into `out`. */
static int url_origin(JSContext *ctx, const url_rec *u, sbuf *out) {
    if (sb_eq(&u->scheme, "blob")) {
        sbuf path = {0};
        url_rec inner;
        url_rec_init(&inner);
        int r = R_FAIL;
        if (sb_add(ctx, &path, sb_str(&u->path), u->path.len) < 0) {
            r = R_ERR;
        } else {
            const char *s = sb_str(&path);
            size_t n = path.len;
            char *owned = NULL;
            if (prep_input(ctx, &s, &n, true, &owned) < 0) {
                r = R_ERR;
            } else {
                r = url_parse(ctx, s, n, NULL, &inner, ST_NONE);
                js_free(ctx, owned);
            }
        }
        int ret = 0;
        if (r == R_ERR) {
            ret = -1;
        } else if (r == R_OK && (sb_eq(&inner.scheme, "http") || sb_eq(&inner.scheme, "https"))) {
            ret = url_origin(ctx, &inner, out);
        } else {
            ret = sb_set(ctx, out, "null", 4);
        }
        url_rec_free(JS_GetRuntime(ctx), &inner);
        sb_free(JS_GetRuntime(ctx), &path);
        return ret;
    }
    if (!url_special(u) || url_is_file(u)) {
        return sb_set(ctx, out, "null", 4);
    }
    sbuf hp = {0};
    int ret = -1;
    if (url_host_port(ctx, u, &hp) == 0 && sb_set(ctx, out, u->scheme.p, u->scheme.len) == 0 &&
        sb_add(ctx, out, "://", 3) == 0 && sb_add(ctx, out, sb_str(&hp), hp.len) == 0) {
        ret = 0;
    }
    sb_free(JS_GetRuntime(ctx), &hp);
    return ret;
}

/* Removes trailing spaces from an opaque path when neither a query nor a fragment follows. */
static void strip_opaque_path_spaces(url_rec *u) {
    if (!u->opaque_path || u->has_fragment || u->has_query) {
        return;
    }
    while (u->path.len > 0 && u->path.p[u->path.len - 1] == ' ') {
        u->path.len--;
    }
    if (u->path.p) {
        u->path.p[u->path.len] = '\0';
    }
}

/* ------------------------------------------------------------------------- JS objects */
enum { CLS_URL, CLS_PARAMS, CLS_ITER, CLS_COUNT };
static JSClassID g_class_id[CLS_COUNT];
static JSClassID g_slot_url, g_slot_params; /* per-context slots: the two constructors */
/* the atom of Symbol.iterator (a constant of QuickJS-ng: the same in every runtime), found on
 * the URLSearchParams prototype the first time one is built */
static _Atomic uint32_t g_atom_iterator;

typedef struct url_obj {
    url_rec rec;
    JSValue params; /* URLSearchParams object, JS_UNDEFINED until `searchParams` is read */
} url_obj;

typedef struct params_pair {
    char *name; /* js_malloc'd block: name, NUL, value, NUL */
    size_t name_len;
    char *value; /* points into the name block */
    size_t value_len;
} params_pair;

typedef struct params_obj {
    params_pair *v;
    size_t count;
    size_t cap;
    url_obj *url; /* the URL whose query this is, not a reference; NULL if none (any more) */
} params_obj;

typedef struct params_iter {
    JSValue params; /* the URLSearchParams object (a reference) */
    size_t index;
    int kind; /* ITER_KEYS, ITER_VALUES, ITER_ENTRIES */
} params_iter;

enum { ITER_KEYS, ITER_VALUES, ITER_ENTRIES };

static void params_clear(JSRuntime *rt, params_obj *sp) {
    for (size_t i = 0; i < sp->count; i++) {
        js_free_rt(rt, sp->v[i].name);
    }
    sp->count = 0;
}

static void url_finalizer(JSRuntime *rt, JSValue val) {
    url_obj *u = JS_GetOpaque(val, g_class_id[CLS_URL]);
    if (!u) {
        return;
    }
    if (JS_IsObject(u->params)) {
        /* NULL when the URLSearchParams was finalized first (same GC cycle) */
        params_obj *sp = JS_GetOpaque(u->params, g_class_id[CLS_PARAMS]);
        if (sp && sp->url == u) {
            sp->url = NULL;
        }
    }
    JS_FreeValueRT(rt, u->params);
    url_rec_free(rt, &u->rec);
    js_free_rt(rt, u);
}

static void url_mark(JSRuntime *rt, JSValueConst val, JS_MarkFunc *mark_func) {
    url_obj *u = JS_GetOpaque(val, g_class_id[CLS_URL]);
    if (u) {
        JS_MarkValue(rt, u->params, mark_func);
    }
}

static void params_finalizer(JSRuntime *rt, JSValue val) {
    params_obj *sp = JS_GetOpaque(val, g_class_id[CLS_PARAMS]);
    if (!sp) {
        return;
    }
    params_clear(rt, sp);
    js_free_rt(rt, sp->v);
    js_free_rt(rt, sp);
}

static void iter_finalizer(JSRuntime *rt, JSValue val) {
    params_iter *it = JS_GetOpaque(val, g_class_id[CLS_ITER]);
    if (it) {
        JS_FreeValueRT(rt, it->params);
        js_free_rt(rt, it);
    }
}

static void iter_mark(JSRuntime *rt, JSValueConst val, JS_MarkFunc *mark_func) {
    params_iter *it = JS_GetOpaque(val, g_class_id[CLS_ITER]);
    if (it) {
        JS_MarkValue(rt, it->params, mark_func);
    }
}

static const JSClassDef g_class_defs[CLS_COUNT] = {
    {.class_name = "URL", .finalizer = url_finalizer, .gc_mark = url_mark},
    {.class_name = "URLSearchParams", .finalizer = params_finalizer},
    {.class_name = "URLSearchParams Iterator", .finalizer = iter_finalizer, .gc_mark = iter_mark},
};

static int charge(JSContext *ctx, size_t bytes) {
    return ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL + ncsl__js_gas_bytes(bytes));
}

static url_obj *url_get(JSContext *ctx, JSValueConst v, const char *what) {
    url_obj *u = g_class_id[CLS_URL] ? JS_GetOpaque(v, g_class_id[CLS_URL]) : NULL;
    if (!u) {
        JS_ThrowTypeError(ctx, "%s called on an object that is not a URL", what);
    }
    return u;
}

static params_obj *params_get(JSContext *ctx, JSValueConst v, const char *what) {
    params_obj *sp = g_class_id[CLS_PARAMS] ? JS_GetOpaque(v, g_class_id[CLS_PARAMS]) : NULL;
    if (!sp) {
        JS_ThrowTypeError(ctx,
                          "URLSearchParams.%s called on an object that is not a "
                          "URLSearchParams",
                          what);
    }
    return sp;
}

/* A WebIDL USVString argument, at most NCSL_URL_MAX_INPUT bytes. */
static int arg_usv(JSContext *ctx, JSValueConst v, ncsl__js_usv *out, const char *what) {
    if (ncsl__js_usv_get(ctx, v, out) < 0) {
        return -1;
    }
    if (out->len > NCSL_URL_MAX_INPUT) {
        ncsl__js_usv_free(ctx, out);
        JS_ThrowTypeError(ctx, "%s is longer than %zu bytes", what, NCSL_URL_MAX_INPUT);
        return -1;
    }
    if (charge(ctx, out->len) < 0) {
        ncsl__js_usv_free(ctx, out);
        return -1;
    }
    return 0;
}

/* Throws the TypeError of a URL that does not parse, quoting at most URL_ECHO_BYTES of it. */
static void throw_invalid(JSContext *ctx, int r, const char *what, const char *s, size_t n) {
    if (r == R_ERR) {
        return; /* an exception is pending */
    }
    size_t k = n > URL_ECHO_BYTES ? URL_ECHO_BYTES : n;
    while (k > 0 && k < n && ((uint8_t)s[k] & 0xC0) == 0x80) {
        k--; /* do not cut a UTF-8 sequence */
    }
    JS_ThrowTypeError(ctx, "%s%s: %.*s%s", what,
                      r == R_IDNA ? " (internationalized domain names are not supported)" : "",
                      (int)k, s, k < n ? "..." : "");
}

/* Parses `s` with an optional base string into `out` (fresh). R_OK, else the failure code with
 * a TypeError thrown (or the pending exception of R_ERR). */
static int api_parse(JSContext *ctx, const ncsl__js_usv *s, const ncsl__js_usv *base, url_rec *out,
                     bool throw) {
    url_rec b;
    url_rec_init(&b);
    url_rec_init(out);
    int r = R_OK;
    char *owned = NULL;
    if (base) {
        const char *bs = base->s;
        size_t bn = base->len;
        if (prep_input(ctx, &bs, &bn, true, &owned) < 0) {
            r = R_ERR;
            goto out;
        }
        r = url_parse(ctx, bs, bn, NULL, &b, ST_NONE);
        js_free(ctx, owned);
        owned = NULL;
        if (r != R_OK) {
            if (throw) {
                throw_invalid(ctx, r, "Invalid base URL", base->s, base->len);
            }
            goto out;
        }
    }
    const char *is = s->s;
    size_t in = s->len;
    if (prep_input(ctx, &is, &in, true, &owned) < 0) {
        r = R_ERR;
        goto out;
    }
    r = url_parse(ctx, is, in, base ? &b : NULL, out, ST_NONE);
    js_free(ctx, owned);
    if (r != R_OK && throw) {
        throw_invalid(ctx, r, "Invalid URL", s->s, s->len);
    }
out:
    url_rec_free(JS_GetRuntime(ctx), &b);
    if (r != R_OK) {
        url_rec_free(JS_GetRuntime(ctx), out);
    }
    return r;
}

/* ------------------------------------------------------------------------- form encoding */
/* Appends the UTF-8 decoding without BOM of s[0..n) (U+FFFD for each maximal invalid subpart). */
static int utf8_decode_append(JSContext *ctx, sbuf *out, const char *s, size_t n) {
    if (ncsl_utf8_valid(s, n)) {
        return sb_add(ctx, out, s, n);
    }
    size_t len = 0;
    ncsl__js_utf8_decode_replace((const uint8_t *)s, n, NULL, &len);
    if (sb_reserve(ctx, out, len) < 0) {
        return -1;
    }
    ncsl__js_utf8_decode_replace((const uint8_t *)s, n, (uint8_t *)out->p + out->len, &len);
    out->len += len;
    out->p[out->len] = '\0';
    return 0;
}

static int params_append(JSContext *ctx, params_obj *sp, const char *name, size_t nlen,
                         const char *value, size_t vlen) {
    if (sp->count == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 4;
        params_pair *v = js_realloc(ctx, sp->v, cap * sizeof(*v));
        if (!v) {
            return -1;
        }
        sp->v = v;
        sp->cap = cap;
    }
    char *block = js_malloc(ctx, nlen + vlen + 2);
    if (!block) {
        return -1;
    }
    if (nlen) {
        memcpy(block, name, nlen);
    }
    block[nlen] = '\0';
    if (vlen) {
        memcpy(block + nlen + 1, value, vlen);
    }
    block[nlen + 1 + vlen] = '\0';
    params_pair *pr = &sp->v[sp->count++];
    pr->name = block;
    pr->name_len = nlen;
    pr->value = block + nlen + 1;
    pr->value_len = vlen;
    return 0;
}

/* Decodes one name or value of the form encoding ('+' is a space) into out. */
static int form_decode(JSContext *ctx, sbuf *out, sbuf *tmp, const char *s, size_t n) {
    tmp->len = 0;
    if (sb_reserve(ctx, tmp, n) < 0) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            tmp->p[i] = ' ';
        } else {
            tmp->p[i] = s[i];
        }
    }
    char *dec = js_malloc(ctx, n + 1);
    if (!dec) {
        return -1;
    }
    size_t dn = pct_decode(tmp->p, n, dec);
    out->len = 0;
    int r = utf8_decode_append(ctx, out, dec, dn);
    js_free(ctx, dec);
    return r;
}

/* The application/x-www-form-urlencoded parser: replaces the list of sp. */
static int params_parse(JSContext *ctx, params_obj *sp, const char *s, size_t n) {
    sbuf name = {0}, value = {0}, tmp = {0};
    int ret = -1;
    params_clear(JS_GetRuntime(ctx), sp);
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != '&') {
            j++;
        }
        if (j > i) {
            const char *eq = memchr(s + i, '=', j - i);
            size_t nlen = eq ? (size_t)(eq - (s + i)) : j - i;
            const char *v = eq ? eq + 1 : s + j;
            size_t vlen = eq ? (size_t)(s + j - v) : 0;
            if (form_decode(ctx, &name, &tmp, s + i, nlen) < 0 ||
                form_decode(ctx, &value, &tmp, v, vlen) < 0 ||
                params_append(ctx, sp, sb_str(&name), name.len, sb_str(&value), value.len) < 0) {
                goto out;
            }
        }
        i = j + 1;
    }
    ret = 0;
out:
    js_free(ctx, name.p);
    js_free(ctx, value.p);
    js_free(ctx, tmp.p);
    return ret;
}

static int params_serialize(JSContext *ctx, const params_obj *sp, sbuf *out) {
    out->len = 0;
    if (sb_reserve(ctx, out, 0) < 0) {
        return -1;
    }
    for (size_t i = 0; i < sp->count; i++) {
        const params_pair *pr = &sp->v[i];
        if ((i > 0 && sb_addc(ctx, out, '&') < 0)) {
            return -1;
        }
        for (int part = 0; part < 2; part++) {
            const char *s = part ? pr->value : pr->name;
            size_t n = part ? pr->value_len : pr->name_len;
            if (part && sb_addc(ctx, out, '=') < 0) {
                return -1;
            }
            if (sb_reserve(ctx, out, n) < 0) {
                return -1;
            }
            for (size_t k = 0; k < n; k++) {
                int r = s[k] == ' ' ? sb_addc(ctx, out, '+')
                                    : pct_add(ctx, out, (uint8_t)s[k], SET_FORM);
                if (r < 0) {
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* The "update" steps: the URL's query follows the list. */
static int params_update(JSContext *ctx, params_obj *sp) {
    if (!sp->url) {
        return 0;
    }
    /* serializing walks the whole list: its bytes are the work (up to 3 out per byte in) */
    uint64_t bytes = 0;
    for (size_t i = 0; i < sp->count; i++) {
        bytes += sp->v[i].name_len + sp->v[i].value_len + 2;
    }
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(3 * bytes)) < 0) {
        return -1;
    }
    url_rec *u = &sp->url->rec;
    if (params_serialize(ctx, sp, &u->query) < 0) {
        return -1;
    }
    u->has_query = u->query.len > 0;
    if (!u->has_query) {
        strip_opaque_path_spaces(u);
    }
    return 0;
}

/* The URL's query changed: its URLSearchParams (if made) gets the list parsed from the query.
 * (The standard's search setter parses its input instead; the two differ only in the tabs and
 * newlines the URL parser drops, and like Node we keep the list equal to the query.) */
static int url_params_refresh(JSContext *ctx, url_obj *u) {
    if (!JS_IsObject(u->params)) {
        return 0;
    }
    params_obj *sp = JS_GetOpaque(u->params, g_class_id[CLS_PARAMS]);
    if (!sp || ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(u->rec.query.len)) < 0) {
        return sp ? -1 : 0;
    }
    return params_parse(ctx, sp, sb_str(&u->rec.query), u->rec.has_query ? u->rec.query.len : 0);
}

/* ------------------------------------------------------------------------- URL */
static JSValue new_instance(JSContext *ctx, JSValueConst new_target, int cls) {
    JSValue proto = JS_UNDEFINED;
    if (!JS_IsUndefined(new_target)) {
        proto = JS_GetPropertyStr(ctx, new_target, "prototype");
        if (JS_IsException(proto)) {
            return proto;
        }
    }
    if (!JS_IsObject(proto)) {
        JS_FreeValue(ctx, proto);
        proto = JS_GetClassProto(ctx, g_class_id[cls]);
    }
    JSValue obj = JS_NewObjectProtoClass(ctx, proto, g_class_id[cls]);
    JS_FreeValue(ctx, proto);
    return obj;
}

/* A URL object of `rec` (taken, even on failure). */
static JSValue url_wrap(JSContext *ctx, JSValueConst new_target, url_rec *rec) {
    JSValue obj = new_instance(ctx, new_target, CLS_URL);
    url_obj *u = JS_IsException(obj) ? NULL : js_mallocz(ctx, sizeof(*u));
    if (!u) {
        url_rec_free(JS_GetRuntime(ctx), rec);
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    u->rec = *rec;
    u->params = JS_UNDEFINED;
    JS_SetOpaque(obj, u);
    return obj;
}

/* URL(url, base), URL.parse and URL.canParse (magic) */
enum { MK_CTOR, MK_PARSE, MK_CAN_PARSE };

static JSValue url_make(JSContext *ctx, JSValueConst new_target, int argc, JSValueConst *argv,
                        int magic) {
    static const char *const names[] = {"URL", "URL.parse", "URL.canParse"};
    ncsl__js_usv s = {0}, b = {0};
    bool has_base = argc > 1 && !JS_IsUndefined(argv[1]);
    JSValue ret = JS_EXCEPTION;
    url_rec rec;

    if (charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < 1) {
        return JS_ThrowTypeError(ctx, "%s: 1 argument required (url)", names[magic]);
    }
    if (arg_usv(ctx, argv[0], &s, "URL: argument 1 (url)") < 0) {
        return JS_EXCEPTION;
    }
    if (has_base && arg_usv(ctx, argv[1], &b, "URL: argument 2 (base)") < 0) {
        goto out;
    }
    int r = api_parse(ctx, &s, has_base ? &b : NULL, &rec, magic == MK_CTOR);
    if (r == R_ERR) {
        goto out;
    }
    if (magic == MK_CAN_PARSE) {
        if (r == R_OK) {
            url_rec_free(JS_GetRuntime(ctx), &rec);
        }
        ret = JS_NewBool(ctx, r == R_OK);
    } else if (r != R_OK) {
        ret = magic == MK_PARSE ? JS_NULL : JS_EXCEPTION;
    } else {
        ret = url_wrap(ctx, magic == MK_CTOR ? new_target : JS_UNDEFINED, &rec);
    }
out:
    ncsl__js_usv_free(ctx, &s);
    ncsl__js_usv_free(ctx, &b);
    return ret;
}

static JSValue url_ctor(JSContext *ctx, JSValueConst new_target, int argc, JSValueConst *argv) {
    return url_make(ctx, new_target, argc, argv, MK_CTOR);
}

static JSValue url_static(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                          int magic) {
    (void)this_val;
    return url_make(ctx, JS_UNDEFINED, argc, argv, magic);
}

enum {
    A_HREF,
    A_ORIGIN,
    A_PROTOCOL,
    A_USERNAME,
    A_PASSWORD,
    A_HOST,
    A_HOSTNAME,
    A_PORT,
    A_PATHNAME,
    A_SEARCH,
    A_SEARCH_PARAMS,
    A_HASH,
    A_TO_STRING,
    A_TO_JSON,
};
static const char *const g_attr_names[] = {
    "URL.href",         "URL.origin",   "URL.protocol", "URL.username", "URL.password",
    "URL.host",         "URL.hostname", "URL.port",     "URL.pathname", "URL.search",
    "URL.searchParams", "URL.hash",     "URL.toString", "URL.toJSON",
};

static JSValue params_new_for(JSContext *ctx, url_obj *u);
enum { PART_URL, PART_PARAMS };
static int build_part(JSContext *ctx, int part);

static JSValue url_getter(JSContext *ctx, JSValueConst this_val, int magic) {
    url_obj *u = url_get(ctx, this_val, g_attr_names[magic]);
    if (!u || charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    const url_rec *r = &u->rec;
    sbuf tmp = {0};
    JSValue ret = JS_EXCEPTION;
    const char *s = NULL;
    size_t n = 0;
    switch (magic) {
    case A_HREF:
    case A_TO_STRING:
    case A_TO_JSON:
        if (url_serialize(ctx, r, &tmp, false) < 0) {
            goto out;
        }
        s = tmp.p;
        n = tmp.len;
        break;
    case A_ORIGIN:
        if (url_origin(ctx, r, &tmp) < 0) {
            goto out;
        }
        s = tmp.p;
        n = tmp.len;
        break;
    case A_PROTOCOL:
        if (sb_add(ctx, &tmp, sb_str(&r->scheme), r->scheme.len) < 0 ||
            sb_addc(ctx, &tmp, ':') < 0) {
            goto out;
        }
        s = tmp.p;
        n = tmp.len;
        break;
    case A_USERNAME:
        s = sb_str(&r->username);
        n = r->username.len;
        break;
    case A_PASSWORD:
        s = sb_str(&r->password);
        n = r->password.len;
        break;
    case A_HOST:
        if (r->has_host) {
            if (url_host_port(ctx, r, &tmp) < 0) {
                goto out;
            }
            s = tmp.p;
            n = tmp.len;
        }
        break;
    case A_HOSTNAME:
        if (r->has_host) {
            s = sb_str(&r->host);
            n = r->host.len;
        }
        break;
    case A_PORT:
        if (r->port >= 0) {
            char port[16];
            int k = snprintf(port, sizeof(port), "%d", (int)r->port);
            ret = JS_NewStringLen(ctx, port, (size_t)k);
            goto out;
        }
        break;
    case A_PATHNAME:
        s = sb_str(&r->path);
        n = r->path.len;
        break;
    case A_SEARCH:
    case A_HASH: {
        const sbuf *b = magic == A_SEARCH ? &r->query : &r->fragment;
        bool has = magic == A_SEARCH ? r->has_query : r->has_fragment;
        if (has && b->len > 0) {
            if (sb_addc(ctx, &tmp, magic == A_SEARCH ? '?' : '#') < 0 ||
                sb_add(ctx, &tmp, b->p, b->len) < 0) {
                goto out;
            }
            s = tmp.p;
            n = tmp.len;
        }
        break;
    }
    case A_SEARCH_PARAMS:
        if (!JS_IsObject(u->params)) {
            if (build_part(ctx, PART_PARAMS) < 0) {
                goto out;
            }
            JSValue sp = params_new_for(ctx, u);
            if (JS_IsException(sp)) {
                goto out;
            }
            u->params = sp;
        }
        ret = JS_DupValue(ctx, u->params);
        goto out;
    default:
        break;
    }
    if (ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(n)) == 0) {
        ret = JS_NewStringLen(ctx, s ? s : "", n);
    }
out:
    js_free(ctx, tmp.p);
    return ret;
}

static JSValue url_method(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                          int magic) {
    (void)argc;
    (void)argv;
    return url_getter(ctx, this_val, magic);
}

/* Runs the basic URL parser with a state override on u's record. */
static int url_reparse(JSContext *ctx, url_obj *u, const char *s, size_t n, int state) {
    char *owned = NULL;
    if (prep_input(ctx, &s, &n, false, &owned) < 0) {
        return -1;
    }
    int r = url_parse(ctx, s, n, NULL, &u->rec, state);
    js_free(ctx, owned);
    return r == R_ERR ? -1 : 0; /* a failure leaves the URL as the standard says; no error */
}

static JSValue url_setter(JSContext *ctx, JSValueConst this_val, JSValueConst val, int magic) {
    url_obj *u = url_get(ctx, this_val, g_attr_names[magic]);
    if (!u) {
        return JS_EXCEPTION;
    }
    ncsl__js_usv v;
    if (arg_usv(ctx, val, &v, g_attr_names[magic]) < 0) {
        return JS_EXCEPTION;
    }
    url_rec *r = &u->rec;
    int ret = 0;
    char *tmp = NULL;
    switch (magic) {
    case A_HREF: {
        url_rec rec;
        int pr = api_parse(ctx, &v, NULL, &rec, true);
        if (pr != R_OK) {
            ret = -1;
            break;
        }
        url_rec_free(JS_GetRuntime(ctx), r);
        *r = rec;
        ret = url_params_refresh(ctx, u);
        break;
    }
    case A_PROTOCOL:
        tmp = js_malloc(ctx, v.len + 2);
        if (!tmp) {
            ret = -1;
            break;
        }
        memcpy(tmp, v.s, v.len);
        tmp[v.len] = ':';
        ret = url_reparse(ctx, u, tmp, v.len + 1, ST_SCHEME_START);
        break;
    case A_USERNAME:
    case A_PASSWORD:
        if (!url_no_credentials_or_port(r)) {
            sbuf *dst = magic == A_USERNAME ? &r->username : &r->password;
            dst->len = 0;
            ret = pct_add_all(ctx, dst, v.s, v.len, SET_USERINFO);
        }
        break;
    case A_HOST:
    case A_HOSTNAME:
        if (!r->opaque_path) {
            ret = url_reparse(ctx, u, v.s, v.len, magic == A_HOST ? ST_HOST : ST_HOSTNAME);
        }
        break;
    case A_PORT:
        if (!url_no_credentials_or_port(r)) {
            if (v.len == 0) {
                r->port = -1;
            } else {
                ret = url_reparse(ctx, u, v.s, v.len, ST_PORT);
            }
        }
        break;
    case A_PATHNAME:
        if (!r->opaque_path) {
            sb_clear(&r->path);
            ret = url_reparse(ctx, u, v.s, v.len, ST_PATH_START);
        }
        break;
    case A_SEARCH:
        if (v.len == 0) {
            sb_clear(&r->query);
            r->has_query = false;
            strip_opaque_path_spaces(r);
        } else {
            const char *s = v.s;
            size_t n = v.len;
            if (s[0] == '?') {
                s++;
                n--;
            }
            sb_clear(&r->query);
            r->has_query = true;
            ret = url_reparse(ctx, u, s, n, ST_QUERY);
        }
        if (ret == 0) {
            ret = url_params_refresh(ctx, u);
        }
        break;
    case A_HASH:
        if (v.len == 0) {
            sb_clear(&r->fragment);
            r->has_fragment = false;
            strip_opaque_path_spaces(r);
        } else {
            const char *s = v.s;
            size_t n = v.len;
            if (s[0] == '#') {
                s++;
                n--;
            }
            sb_clear(&r->fragment);
            r->has_fragment = true;
            ret = url_reparse(ctx, u, s, n, ST_FRAGMENT);
        }
        break;
    default:
        break;
    }
    js_free(ctx, tmp);
    ncsl__js_usv_free(ctx, &v);
    return ret < 0 ? JS_EXCEPTION : JS_UNDEFINED;
}

/* ------------------------------------------------------------------------- URLSearchParams */
static JSValue params_new_for(JSContext *ctx, url_obj *u) {
    JSValue obj = JS_NewObjectClass(ctx, (int)g_class_id[CLS_PARAMS]);
    params_obj *sp = JS_IsException(obj) ? NULL : js_mallocz(ctx, sizeof(*sp));
    if (!sp) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    JS_SetOpaque(obj, sp);
    sp->url = u;
    if (params_parse(ctx, sp, sb_str(&u->rec.query), u->rec.has_query ? u->rec.query.len : 0) < 0) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    return obj;
}

/* Runs `each` on every value of the iterable `obj` (iterator method `method`), stopping early
 * when `each` returns 1. 0, or -1 with an exception. */
static int iterate(JSContext *ctx, JSValueConst obj, JSValueConst method,
                   int (*each)(JSContext *ctx, JSValueConst item, void *opaque), void *opaque) {
    JSValue iter = JS_UNDEFINED, next = JS_UNDEFINED;
    int ret = -1;
    iter = JS_Call(ctx, method, obj, 0, NULL);
    if (JS_IsException(iter)) {
        goto out;
    }
    if (!JS_IsObject(iter)) {
        JS_ThrowTypeError(ctx, "URLSearchParams: the iterator is not an object");
        goto out;
    }
    next = JS_GetPropertyStr(ctx, iter, "next");
    if (JS_IsException(next)) {
        goto out;
    }
    for (;;) {
        /* user code drives this loop: gas (and with it the deadline) per step */
        if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
            goto out;
        }
        JSValue res = JS_Call(ctx, next, iter, 0, NULL);
        if (JS_IsException(res)) {
            goto out;
        }
        if (!JS_IsObject(res)) {
            JS_FreeValue(ctx, res);
            JS_ThrowTypeError(ctx, "URLSearchParams: iterator result is not an object");
            goto out;
        }
        JSValue dv = JS_GetPropertyStr(ctx, res, "done");
        int done = JS_IsException(dv) ? -1 : JS_ToBool(ctx, dv);
        JS_FreeValue(ctx, dv);
        if (done != 0) {
            JS_FreeValue(ctx, res);
            if (done < 0) {
                goto out;
            }
            break;
        }
        JSValue item = JS_GetPropertyStr(ctx, res, "value");
        JS_FreeValue(ctx, res);
        if (JS_IsException(item)) {
            goto out;
        }
        int r = each(ctx, item, opaque);
        JS_FreeValue(ctx, item);
        if (r < 0) {
            goto out;
        }
        if (r > 0) {
            break;
        }
    }
    ret = 0;
out:
    JS_FreeValue(ctx, next);
    JS_FreeValue(ctx, iter);
    return ret;
}

typedef struct pair_collect {
    ncsl__js_usv s[2];
    int count; /* values seen, stops at 3 */
} pair_collect;

static int collect_pair_item(JSContext *ctx, JSValueConst item, void *opaque) {
    pair_collect *pc = opaque;
    if (pc->count >= 2) {
        pc->count = 3;
        return 1; /* too many: no need to look further */
    }
    if (arg_usv(ctx, item, &pc->s[pc->count], "URLSearchParams: a name or value") < 0) {
        return -1;
    }
    pc->count++;
    return 0;
}

static JSValue get_iterator_method(JSContext *ctx, JSValueConst obj) {
    return JS_GetProperty(ctx, obj, (JSAtom)atomic_load(&g_atom_iterator));
}

static int collect_pair(JSContext *ctx, JSValueConst item, void *opaque) {
    params_obj *sp = opaque;
    static const char bad[] = "URLSearchParams: argument 1 (init) must hold [name, value] pairs";
    if (!JS_IsObject(item)) {
        JS_ThrowTypeError(ctx, "%s", bad);
        return -1;
    }
    JSValue m = get_iterator_method(ctx, item);
    if (JS_IsException(m)) {
        return -1;
    }
    if (!JS_IsFunction(ctx, m)) {
        JS_FreeValue(ctx, m);
        JS_ThrowTypeError(ctx, "%s", bad);
        return -1;
    }
    pair_collect pc = {0};
    int r = iterate(ctx, item, m, collect_pair_item, &pc);
    JS_FreeValue(ctx, m);
    if (r == 0 && pc.count != 2) {
        JS_ThrowTypeError(ctx, "%s (an item has %s than 2 values)", bad,
                          pc.count > 2 ? "more" : "fewer");
        r = -1;
    }
    if (r == 0) {
        r = params_append(ctx, sp, pc.s[0].s, pc.s[0].len, pc.s[1].s, pc.s[1].len);
    }
    ncsl__js_usv_free(ctx, &pc.s[0]);
    ncsl__js_usv_free(ctx, &pc.s[1]);
    return r;
}

static int params_from_record(JSContext *ctx, params_obj *sp, JSValueConst obj) {
    JSPropertyEnum *tab = NULL;
    uint32_t len = 0;
    if (JS_GetOwnPropertyNames(ctx, &tab, &len, obj, JS_GPN_STRING_MASK | JS_GPN_SYMBOL_MASK) < 0) {
        return -1;
    }
    int ret = -1;
    for (uint32_t i = 0; i < len; i++) {
        if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
            goto out;
        }
        JSPropertyDescriptor d;
        int r = JS_GetOwnProperty(ctx, &d, obj, tab[i].atom);
        if (r < 0) {
            goto out;
        }
        if (r == 0) {
            continue;
        }
        bool enumerable = (d.flags & JS_PROP_ENUMERABLE) != 0;
        JS_FreeValue(ctx, d.getter);
        JS_FreeValue(ctx, d.setter);
        JS_FreeValue(ctx, d.value);
        if (!enumerable) {
            continue;
        }
        JSValue key = JS_AtomToValue(ctx, tab[i].atom);
        if (JS_IsException(key)) {
            goto out;
        }
        if (JS_IsSymbol(key)) {
            JS_FreeValue(ctx, key);
            JS_ThrowTypeError(ctx, "URLSearchParams: argument 1 (init) has a Symbol key");
            goto out;
        }
        ncsl__js_usv k, v;
        r = arg_usv(ctx, key, &k, "URLSearchParams: a name");
        JS_FreeValue(ctx, key);
        if (r < 0) {
            goto out;
        }
        JSValue val = JS_GetProperty(ctx, obj, tab[i].atom);
        r = JS_IsException(val) ? -1 : arg_usv(ctx, val, &v, "URLSearchParams: a value");
        JS_FreeValue(ctx, val);
        if (r < 0) {
            ncsl__js_usv_free(ctx, &k);
            goto out;
        }
        r = params_append(ctx, sp, k.s, k.len, v.s, v.len);
        ncsl__js_usv_free(ctx, &k);
        ncsl__js_usv_free(ctx, &v);
        if (r < 0) {
            goto out;
        }
    }
    ret = 0;
out:
    JS_FreePropertyEnum(ctx, tab, len);
    return ret;
}

static JSValue params_ctor(JSContext *ctx, JSValueConst new_target, int argc, JSValueConst *argv) {
    if (charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    JSValue obj = new_instance(ctx, new_target, CLS_PARAMS);
    params_obj *sp = JS_IsException(obj) ? NULL : js_mallocz(ctx, sizeof(*sp));
    if (!sp) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    JS_SetOpaque(obj, sp);
    JSValueConst init = argc > 0 ? argv[0] : JS_UNDEFINED;
    int r = 0;
    if (JS_IsUndefined(init)) {
        r = 0;
    } else if (JS_IsObject(init)) {
        JSValue m = get_iterator_method(ctx, init);
        if (JS_IsException(m)) {
            r = -1;
        } else if (JS_IsUndefined(m) || JS_IsNull(m)) {
            r = params_from_record(ctx, sp, init);
        } else if (!JS_IsFunction(ctx, m)) {
            JS_ThrowTypeError(ctx, "URLSearchParams: argument 1 (init) has a Symbol.iterator that "
                                   "is not a function");
            r = -1;
        } else {
            r = iterate(ctx, init, m, collect_pair, sp);
        }
        JS_FreeValue(ctx, m);
    } else {
        ncsl__js_usv s;
        r = arg_usv(ctx, init, &s, "URLSearchParams: argument 1 (init)");
        if (r == 0) {
            bool q = s.len > 0 && s.s[0] == '?';
            r = params_parse(ctx, sp, s.s + q, s.len - q);
            ncsl__js_usv_free(ctx, &s);
        }
    }
    if (r < 0) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    return obj;
}

static bool pair_name_is(const params_pair *pr, const ncsl__js_usv *n) {
    return pr->name_len == n->len && memcmp(pr->name, n->s, n->len) == 0;
}

static bool pair_value_is(const params_pair *pr, const ncsl__js_usv *v) {
    return pr->value_len == v->len && memcmp(pr->value, v->s, v->len) == 0;
}

enum { M_APPEND, M_DELETE, M_GET, M_GET_ALL, M_HAS, M_SET };

static JSValue params_method(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                             int magic) {
    static const char *const names[] = {"append", "delete", "get", "getAll", "has", "set"};
    static const int required[] = {2, 1, 1, 1, 1, 2};
    static const char *const arg1[] = {
        "URLSearchParams.append: argument 1 (name)", "URLSearchParams.delete: argument 1 (name)",
        "URLSearchParams.get: argument 1 (name)",    "URLSearchParams.getAll: argument 1 (name)",
        "URLSearchParams.has: argument 1 (name)",    "URLSearchParams.set: argument 1 (name)"};
    static const char *const arg2[] = {"URLSearchParams.append: argument 2 (value)",
                                       "URLSearchParams.delete: argument 2 (value)",
                                       "",
                                       "",
                                       "URLSearchParams.has: argument 2 (value)",
                                       "URLSearchParams.set: argument 2 (value)"};
    params_obj *sp = params_get(ctx, this_val, names[magic]);
    if (!sp || charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    if (argc < required[magic]) {
        return JS_ThrowTypeError(ctx, "URLSearchParams.%s: %d argument%s required", names[magic],
                                 required[magic], required[magic] > 1 ? "s" : "");
    }
    ncsl__js_usv n = {0}, v = {0};
    bool has_value =
        (magic == M_APPEND || magic == M_SET) ||
        ((magic == M_DELETE || magic == M_HAS) && argc > 1 && !JS_IsUndefined(argv[1]));
    JSValue ret = JS_EXCEPTION;
    if (arg_usv(ctx, argv[0], &n, arg1[magic]) < 0) {
        return JS_EXCEPTION;
    }
    if (has_value && arg_usv(ctx, argv[1], &v, arg2[magic]) < 0) {
        goto out;
    }
    /* the list may be long: its bytes are the work */
    if (magic != M_APPEND && ncsl__js_gas_charge(ctx, sp->count) < 0) {
        goto out;
    }
    switch (magic) {
    case M_APPEND:
        if (params_append(ctx, sp, n.s, n.len, v.s, v.len) < 0 || params_update(ctx, sp) < 0) {
            goto out;
        }
        ret = JS_UNDEFINED;
        break;
    case M_DELETE: {
        size_t o = 0;
        for (size_t i = 0; i < sp->count; i++) {
            params_pair *pr = &sp->v[i];
            if (pair_name_is(pr, &n) && (!has_value || pair_value_is(pr, &v))) {
                js_free(ctx, pr->name);
            } else {
                sp->v[o++] = *pr;
            }
        }
        sp->count = o;
        if (params_update(ctx, sp) < 0) {
            goto out;
        }
        ret = JS_UNDEFINED;
        break;
    }
    case M_GET:
        ret = JS_NULL;
        for (size_t i = 0; i < sp->count; i++) {
            if (pair_name_is(&sp->v[i], &n)) {
                ret = JS_NewStringLen(ctx, sp->v[i].value, sp->v[i].value_len);
                break;
            }
        }
        break;
    case M_GET_ALL: {
        JSValue arr = JS_NewArray(ctx);
        uint32_t k = 0;
        if (JS_IsException(arr)) {
            goto out;
        }
        for (size_t i = 0; i < sp->count; i++) {
            if (pair_name_is(&sp->v[i], &n)) {
                JSValue s = JS_NewStringLen(ctx, sp->v[i].value, sp->v[i].value_len);
                if (JS_IsException(s) || JS_SetPropertyUint32(ctx, arr, k++, s) < 0) {
                    JS_FreeValue(ctx, arr);
                    goto out;
                }
            }
        }
        ret = arr;
        break;
    }
    case M_HAS:
        ret = JS_FALSE;
        for (size_t i = 0; i < sp->count; i++) {
            if (pair_name_is(&sp->v[i], &n) && (!has_value || pair_value_is(&sp->v[i], &v))) {
                ret = JS_TRUE;
                break;
            }
        }
        break;
    case M_SET: {
        size_t first = sp->count;
        for (size_t i = 0; i < sp->count; i++) {
            if (pair_name_is(&sp->v[i], &n)) {
                first = i;
                break;
            }
        }
        if (first == sp->count) {
            if (params_append(ctx, sp, n.s, n.len, v.s, v.len) < 0) {
                goto out;
            }
        } else {
            /* a new block for the first pair, then drop the others */
            char *block = js_malloc(ctx, n.len + v.len + 2);
            if (!block) {
                goto out;
            }
            memcpy(block, n.s, n.len);
            block[n.len] = '\0';
            memcpy(block + n.len + 1, v.s, v.len);
            block[n.len + 1 + v.len] = '\0';
            js_free(ctx, sp->v[first].name);
            sp->v[first] = (params_pair){block, n.len, block + n.len + 1, v.len};
            size_t o = first + 1;
            for (size_t i = first + 1; i < sp->count; i++) {
                if (pair_name_is(&sp->v[i], &n)) {
                    js_free(ctx, sp->v[i].name);
                } else {
                    sp->v[o++] = sp->v[i];
                }
            }
            sp->count = o;
        }
        if (params_update(ctx, sp) < 0) {
            goto out;
        }
        ret = JS_UNDEFINED;
        break;
    }
    default:
        ret = JS_UNDEFINED;
        break;
    }
out:
    ncsl__js_usv_free(ctx, &n);
    ncsl__js_usv_free(ctx, &v);
    return ret;
}

/* Decodes the UTF-8 code point at s[*i] (well formed) and advances *i. */
static uint32_t utf8_next(const char *s, size_t *i) {
    const uint8_t *p = (const uint8_t *)s + *i;
    if (p[0] < 0x80) {
        *i += 1;
        return p[0];
    }
    if (p[0] < 0xE0) {
        *i += 2;
        return ((uint32_t)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
    }
    if (p[0] < 0xF0) {
        *i += 3;
        return ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
    *i += 4;
    return ((uint32_t)(p[0] & 0x07) << 18) | ((uint32_t)(p[1] & 0x3F) << 12) |
           ((uint32_t)(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
}

/* Compares two names by UTF-16 code units, as URLSearchParams.sort must. */
static int utf16_cmp(const params_pair *x, const params_pair *y) {
    size_t i = 0, j = 0;
    while (i < x->name_len && j < y->name_len) {
        uint32_t a = utf8_next(x->name, &i);
        uint32_t b = utf8_next(y->name, &j);
        if (a == b) {
            continue;
        }
        uint32_t ua = a >= 0x10000 ? 0xD800 + ((a - 0x10000) >> 10) : a;
        uint32_t ub = b >= 0x10000 ? 0xD800 + ((b - 0x10000) >> 10) : b;
        if (ua != ub) {
            return ua < ub ? -1 : 1;
        }
        /* both outside the BMP with the same high surrogate: the low ones decide */
        return ((a - 0x10000) & 0x3FF) < ((b - 0x10000) & 0x3FF) ? -1 : 1;
    }
    return (i < x->name_len) - (j < y->name_len);
}

/* stable merge sort of v[0..n) using tmp[0..n) */
static void pairs_sort(params_pair *v, params_pair *tmp, size_t n) {
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) {
                tmp[o++] = utf16_cmp(&v[b], &v[a]) < 0 ? v[b++] : v[a++];
            }
            while (a < mid) {
                tmp[o++] = v[a++];
            }
            while (b < hi) {
                tmp[o++] = v[b++];
            }
        }
        memcpy(v, tmp, n * sizeof(*v));
    }
}

enum { P_SORT, P_TO_STRING, P_FOR_EACH, P_ENTRIES, P_KEYS, P_VALUES };

static JSValue params_iter_new(JSContext *ctx, JSValueConst this_val, int kind) {
    JSValue obj = JS_NewObjectClass(ctx, (int)g_class_id[CLS_ITER]);
    params_iter *it = JS_IsException(obj) ? NULL : js_mallocz(ctx, sizeof(*it));
    if (!it) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
    }
    it->params = JS_DupValue(ctx, this_val);
    it->kind = kind;
    JS_SetOpaque(obj, it);
    return obj;
}

static JSValue params_misc(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                           int magic) {
    static const char *const names[] = {"sort", "toString", "forEach", "entries", "keys", "values"};
    params_obj *sp = params_get(ctx, this_val, names[magic]);
    if (!sp || charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    switch (magic) {
    case P_SORT: {
        if (ncsl__js_gas_charge(ctx, sp->count * 4) < 0) {
            return JS_EXCEPTION;
        }
        if (sp->count > 1) {
            params_pair *tmp = js_malloc(ctx, sp->count * sizeof(*tmp));
            if (!tmp) {
                return JS_EXCEPTION;
            }
            pairs_sort(sp->v, tmp, sp->count);
            js_free(ctx, tmp);
        }
        return params_update(ctx, sp) < 0 ? JS_EXCEPTION : JS_UNDEFINED;
    }
    case P_TO_STRING: {
        sbuf out = {0};
        JSValue ret = JS_EXCEPTION;
        if (params_serialize(ctx, sp, &out) == 0 &&
            ncsl__js_gas_charge(ctx, ncsl__js_gas_bytes(out.len)) == 0) {
            ret = JS_NewStringLen(ctx, sb_str(&out), out.len);
        }
        js_free(ctx, out.p);
        return ret;
    }
    case P_FOR_EACH: {
        if (argc < 1 || !JS_IsFunction(ctx, argv[0])) {
            return JS_ThrowTypeError(ctx, "URLSearchParams.forEach: argument 1 (callback) must "
                                          "be a function");
        }
        JSValueConst this_arg = argc > 1 ? argv[1] : JS_UNDEFINED;
        /* the callback may change the list: re-read it each round */
        for (size_t i = 0; i < sp->count; i++) {
            if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0) {
                return JS_EXCEPTION;
            }
            JSValue args[3];
            args[0] = JS_NewStringLen(ctx, sp->v[i].value, sp->v[i].value_len);
            args[1] = JS_NewStringLen(ctx, sp->v[i].name, sp->v[i].name_len);
            args[2] = JS_DupValue(ctx, this_val);
            JSValue r = JS_EXCEPTION;
            if (!JS_IsException(args[0]) && !JS_IsException(args[1])) {
                r = JS_Call(ctx, argv[0], this_arg, 3, (JSValueConst *)args);
            }
            JS_FreeValue(ctx, args[0]);
            JS_FreeValue(ctx, args[1]);
            JS_FreeValue(ctx, args[2]);
            if (JS_IsException(r)) {
                return JS_EXCEPTION;
            }
            JS_FreeValue(ctx, r);
        }
        return JS_UNDEFINED;
    }
    case P_ENTRIES:
        return params_iter_new(ctx, this_val, ITER_ENTRIES);
    case P_KEYS:
        return params_iter_new(ctx, this_val, ITER_KEYS);
    case P_VALUES:
        return params_iter_new(ctx, this_val, ITER_VALUES);
    default:
        return JS_UNDEFINED;
    }
}

static JSValue params_size_fn(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                              int magic) {
    (void)argc;
    (void)argv;
    (void)magic;
    params_obj *sp = params_get(ctx, this_val, "size");
    if (!sp) {
        return JS_EXCEPTION;
    }
    return JS_NewInt64(ctx, (int64_t)sp->count);
}

static JSValue iter_next(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                         int *pdone, int magic) {
    (void)argc;
    (void)argv;
    (void)magic;
    params_iter *it = g_class_id[CLS_ITER] ? JS_GetOpaque(this_val, g_class_id[CLS_ITER]) : NULL;
    *pdone = 1;
    if (!it) {
        return JS_ThrowTypeError(ctx, "next called on an object that is not a URLSearchParams "
                                      "Iterator");
    }
    if (charge(ctx, 0) < 0) {
        return JS_EXCEPTION;
    }
    params_obj *sp = JS_GetOpaque(it->params, g_class_id[CLS_PARAMS]);
    if (!sp || it->index >= sp->count) {
        return JS_UNDEFINED;
    }
    const params_pair *pr = &sp->v[it->index++];
    *pdone = 0;
    if (it->kind == ITER_KEYS) {
        return JS_NewStringLen(ctx, pr->name, pr->name_len);
    }
    if (it->kind == ITER_VALUES) {
        return JS_NewStringLen(ctx, pr->value, pr->value_len);
    }
    JSValue kv[2];
    kv[0] = JS_NewStringLen(ctx, pr->name, pr->name_len);
    kv[1] = JS_NewStringLen(ctx, pr->value, pr->value_len);
    if (JS_IsException(kv[0]) || JS_IsException(kv[1])) {
        JS_FreeValue(ctx, kv[0]);
        JS_FreeValue(ctx, kv[1]);
        return JS_EXCEPTION;
    }
    return JS_NewArrayFrom(ctx, 2, kv); /* takes kv */
}

/* ------------------------------------------------------------------------- classes */
#define METHOD(name, len, fn, m)                                                                   \
    {                                                                                              \
        name, JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE, JS_DEF_CFUNC, m, {     \
            .func = { len, JS_CFUNC_generic_magic, {.generic_magic = fn} }                         \
        }                                                                                          \
    }

/* The attributes of URL.prototype. Each is one function that is both the getter (called
 * without an argument) and the setter (called with one): half the function objects to make
 * on first use, and no "get href"/"set href" names to intern per context. */
static const struct {
    const char *name;
    int magic;
    bool read_only;
} g_url_attrs[] = {
    {"href", A_HREF, false},
    {"origin", A_ORIGIN, true},
    {"protocol", A_PROTOCOL, false},
    {"username", A_USERNAME, false},
    {"password", A_PASSWORD, false},
    {"host", A_HOST, false},
    {"hostname", A_HOSTNAME, false},
    {"port", A_PORT, false},
    {"pathname", A_PATHNAME, false},
    {"search", A_SEARCH, false},
    {"searchParams", A_SEARCH_PARAMS, true},
    {"hash", A_HASH, false},
};

static JSValue url_accessor(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv,
                            int magic) {
    if (argc == 0 || magic == A_ORIGIN || magic == A_SEARCH_PARAMS) {
        return url_getter(ctx, this_val, magic);
    }
    return url_setter(ctx, this_val, argv[0], magic);
}

static int define_url_attrs(JSContext *ctx, JSValueConst proto) {
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_url_attrs); i++) {
        JSValue f = JS_NewCFunction2(ctx, (JSCFunction *)(void *)url_accessor, NULL, 0,
                                     JS_CFUNC_generic_magic, g_url_attrs[i].magic);
        if (JS_IsException(f)) {
            return -1;
        }
        JSAtom atom = JS_NewAtom(ctx, g_url_attrs[i].name);
        if (atom == JS_ATOM_NULL) {
            JS_FreeValue(ctx, f);
            return -1;
        }
        JSValue set = g_url_attrs[i].read_only ? JS_UNDEFINED : JS_DupValue(ctx, f);
        int r = JS_DefinePropertyGetSet(ctx, proto, atom, f, set,
                                        JS_PROP_CONFIGURABLE | JS_PROP_ENUMERABLE);
        JS_FreeAtom(ctx, atom);
        if (r < 0) {
            return -1;
        }
    }
    return 0;
}

static const JSCFunctionListEntry g_url_proto[] = {
    METHOD("toString", 0, url_method, A_TO_STRING),
    METHOD("toJSON", 0, url_method, A_TO_JSON),
    JS_PROP_STRING_DEF("[Symbol.toStringTag]", "URL", JS_PROP_CONFIGURABLE),
};

static const JSCFunctionListEntry g_url_static[] = {
    METHOD("canParse", 1, url_static, MK_CAN_PARSE),
    METHOD("parse", 1, url_static, MK_PARSE),
};

static const JSCFunctionListEntry g_params_proto[] = {
    METHOD("append", 2, params_method, M_APPEND),
    METHOD("delete", 1, params_method, M_DELETE),
    METHOD("get", 1, params_method, M_GET),
    METHOD("getAll", 1, params_method, M_GET_ALL),
    METHOD("has", 1, params_method, M_HAS),
    METHOD("set", 2, params_method, M_SET),
    METHOD("sort", 0, params_misc, P_SORT),
    METHOD("toString", 0, params_misc, P_TO_STRING),
    METHOD("forEach", 1, params_misc, P_FOR_EACH),
    METHOD("entries", 0, params_misc, P_ENTRIES),
    METHOD("keys", 0, params_misc, P_KEYS),
    METHOD("values", 0, params_misc, P_VALUES),
    JS_ALIAS_DEF("[Symbol.iterator]", "entries"),
    JS_PROP_STRING_DEF("[Symbol.toStringTag]", "URLSearchParams", JS_PROP_CONFIGURABLE),
};

static const JSCFunctionListEntry g_iter_proto[] = {
    JS_ITERATOR_NEXT_DEF("next", 0, iter_next, 0),
    JS_PROP_STRING_DEF("[Symbol.toStringTag]", "URLSearchParams Iterator", JS_PROP_CONFIGURABLE),
};

/* Finds the atom of Symbol.iterator among the symbol keys of `proto` (made by us, so user code
 * cannot have added to it). */
static int find_iterator_atom(JSContext *ctx, JSValueConst proto) {
    if (atomic_load(&g_atom_iterator) != 0) {
        return 0;
    }
    JSPropertyEnum *tab = NULL;
    uint32_t len = 0;
    if (JS_GetOwnPropertyNames(ctx, &tab, &len, proto, JS_GPN_SYMBOL_MASK) < 0) {
        return -1;
    }
    for (uint32_t i = 0; i < len; i++) {
        const char *d = JS_AtomToCString(ctx, tab[i].atom);
        bool found = d && strcmp(d, "Symbol.iterator") == 0;
        if (d) {
            JS_FreeCString(ctx, d);
        }
        if (found) {
            /* a well-known symbol: a constant atom, never freed, the same in every runtime */
            atomic_store(&g_atom_iterator, tab[i].atom);
        }
    }
    JS_FreePropertyEnum(ctx, tab, len);
    if (atomic_load(&g_atom_iterator) == 0) {
        JS_ThrowInternalError(ctx, "URLSearchParams: Symbol.iterator not found");
        return -1;
    }
    return 0;
}

/* A prototype object with `list`; its parent is `parent` (JS_UNDEFINED: Object.prototype). */
static JSValue make_proto(JSContext *ctx, JSValueConst parent, const JSCFunctionListEntry *list,
                          int count) {
    JSValue proto = JS_IsUndefined(parent) ? JS_NewObject(ctx) : JS_NewObjectProto(ctx, parent);
    if (JS_IsException(proto)) {
        return proto;
    }
    if (JS_SetPropertyFunctionList(ctx, proto, list, count) < 0) {
        JS_FreeValue(ctx, proto);
        return JS_EXCEPTION;
    }
    return proto;
}

static JSValue make_ctor(JSContext *ctx, JSCFunction *fn, const char *name, int length,
                         JSValueConst proto) {
    JSValue ctor = JS_NewCFunction2(ctx, fn, name, length, JS_CFUNC_constructor, 0);
    if (JS_IsException(ctor) || JS_SetConstructor(ctx, ctor, proto) < 0) {
        JS_FreeValue(ctx, ctor);
        return JS_EXCEPTION;
    }
    return ctor;
}

/* Builds, in this context unless built, the URL class (part PART_URL) or URLSearchParams with its
 * iterator (PART_PARAMS): separately, so that code using only URL does not pay for the other
 * (a URL's searchParams getter builds PART_PARAMS when it first needs it). 0 or -1. */
static int build_part(JSContext *ctx, int part) {
    JSValue built = JS_UNDEFINED, proto = JS_UNDEFINED, iter_proto = JS_UNDEFINED;
    JSValue it_parent = JS_UNDEFINED, ctor = JS_UNDEFINED;
    JSClassID *slot = part == PART_URL ? &g_slot_url : &g_slot_params;
    int ret = -1;

    if (ncsl__js_slot_ensure(
            ctx, slot, part == PART_URL ? "URL constructor" : "URLSearchParams constructor") < 0) {
        return -1;
    }
    built = ncsl__js_slot_get(ctx, *slot);
    if (JS_IsObject(built)) {
        JS_FreeValue(ctx, built);
        return 0;
    }
    JS_FreeValue(ctx, built);
    for (int i = 0; i < CLS_COUNT; i++) {
        if (ncsl__js_class_ensure(ctx, &g_class_id[i], &g_class_defs[i]) < 0) {
            return -1;
        }
    }
    if (part == PART_URL) {
        proto = make_proto(ctx, JS_UNDEFINED, g_url_proto, (int)NCSL_ARRAY_LEN(g_url_proto));
        if (JS_IsException(proto) || define_url_attrs(ctx, proto) < 0) {
            goto out;
        }
        ctor = make_ctor(ctx, url_ctor, "URL", 1, proto);
        if (JS_IsException(ctor) ||
            JS_SetPropertyFunctionList(ctx, ctor, g_url_static, (int)NCSL_ARRAY_LEN(g_url_static)) <
                0) {
            goto out;
        }
        JS_SetClassProto(ctx, g_class_id[CLS_URL], proto);
    } else {
        proto = make_proto(ctx, JS_UNDEFINED, g_params_proto, (int)NCSL_ARRAY_LEN(g_params_proto));
        if (JS_IsException(proto) || find_iterator_atom(ctx, proto) < 0 ||
            ncsl__js_define_getter(ctx, proto, "size", params_size_fn, 0) < 0) {
            goto out;
        }
        it_parent = ncsl__js_iterator_proto(ctx);
        if (JS_IsException(it_parent)) {
            goto out;
        }
        iter_proto = make_proto(ctx, it_parent, g_iter_proto, (int)NCSL_ARRAY_LEN(g_iter_proto));
        if (JS_IsException(iter_proto)) {
            goto out;
        }
        ctor = make_ctor(ctx, params_ctor, "URLSearchParams", 0, proto);
        if (JS_IsException(ctor)) {
            goto out;
        }
        JS_SetClassProto(ctx, g_class_id[CLS_PARAMS], proto);
        JS_SetClassProto(ctx, g_class_id[CLS_ITER], iter_proto);
        iter_proto = JS_UNDEFINED;
    }
    proto = JS_UNDEFINED; /* taken by JS_SetClassProto */
    ncsl__js_slot_set(ctx, *slot, ctor);
    ctor = JS_UNDEFINED;
    ret = 0;
out:
    JS_FreeValue(ctx, proto);
    JS_FreeValue(ctx, iter_proto);
    JS_FreeValue(ctx, it_parent);
    JS_FreeValue(ctx, ctor);
    return ret;
}

static const char *const g_globals[] = {"URL", "URLSearchParams"};

static JSValue lazy_get(JSContext *ctx, JSValueConst this_val, int magic) {
    if (ncsl__js_gas_charge(ctx, NCSL__JS_GAS_HOST_CALL) < 0 ||
        build_part(ctx, magic == 0 ? PART_URL : PART_PARAMS) < 0) {
        return JS_EXCEPTION;
    }
    JSValue ctor = ncsl__js_slot_get(ctx, magic == 0 ? g_slot_url : g_slot_params);
    return ncsl__js_lazy_resolved(ctx, this_val, g_globals[magic], ctor);
}

static JSValue lazy_set(JSContext *ctx, JSValueConst this_val, JSValueConst v, int magic) {
    return ncsl__js_lazy_assigned(ctx, this_val, g_globals[magic], v);
}

int ncsl__js_url_init(JSContext *ctx, JSValue global) {
    for (int i = 0; i < 2; i++) {
        if (ncsl__js_lazy_define(ctx, global, g_globals[i], lazy_get, lazy_set, i) < 0) {
            return -1;
        }
    }
    return 0;
}
