/*
 * Collateral loading (attest.h, "Collateral"): Intel's TCB info and QE identity JSON, their
 * signatures, the TCB signing chain and the two CRLs, from memory, a dcap-qvl bundle or a
 * directory. Everything here is untrusted input: every piece is size-bounded, every JSON field
 * is type- and range-checked (a message names the field), and nothing is verified yet: that is
 * collateral_verify.c's job, at a given time against the pinned root.
 *
 * The signed bytes. Intel signs the tcbInfo (enclaveIdentity) value exactly as it appears in the
 * PCS response body. The document is first parsed by jansson (so it is valid JSON, without
 * duplicate keys); then a small scanner finds the byte span of that top-level member's value;
 * the span is parsed again and must equal the member jansson saw. The span is what the signature
 * is checked over, and the object parsed from it is what every decision uses: what is signed is
 * what is evaluated.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "attest_int.h"

#define MAX_TCB_LEVELS 256
#define MAX_ADVISORIES 128 /* per level */
#define MAX_ADVISORY_LEN 40
#define MAX_CHAIN_CERTS 8

/* ------------------------------------------------------------------------- errors */

/* Sets `err` to NCSL_E_ATTEST_COLLATERAL with `field` and the message "<name>: <fmt...>". */
static ncsl_status coll_fail(ncsl_err *err, const char *field, const char *name, const char *fmt,
                             ...) NCSL_PRINTF(4, 5);
static ncsl_status coll_fail(ncsl_err *err, const char *field, const char *name, const char *fmt,
                             ...) {
    char msg[sizeof(((ncsl_err *)0)->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ncsl_err_set(err, NCSL_E_ATTEST_COLLATERAL, field, "%s: %s", name, msg);
}

/* A JSON document being read: its name for messages and the error to fill. */
typedef struct jctx {
    const char *name;
    ncsl_err *err;
} jctx;

static bool jfail(jctx *c, const char *fmt, ...) NCSL_PRINTF(2, 3);
static bool jfail(jctx *c, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    coll_fail(c->err, c->name, c->name, "%s", msg);
    return false;
}

/* ------------------------------------------------------------------------- small parsers */

static int hex_val(char ch) {
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Exactly 2n hex digits (either case) into n bytes. */
static bool hex_decode(const char *s, size_t slen, uint8_t *out, size_t n) {
    if (slen != 2 * n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_val(s[2 * i]);
        int lo = hex_val(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool is_ws(uint8_t ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* [*off, *off + *len) without leading and trailing whitespace. */
static void trim(const uint8_t *p, size_t *off, size_t *len) {
    while (*len && is_ws(p[*off])) {
        (*off)++;
        (*len)--;
    }
    while (*len && is_ws(p[*off + *len - 1])) {
        (*len)--;
    }
}

/* A separate signature: 64 raw bytes, or 128 hex digits (surrounding whitespace allowed). */
static bool sig_decode(const uint8_t *p, size_t len, uint8_t out[64]) {
    if (len == 64) {
        memcpy(out, p, 64);
        return true;
    }
    size_t off = 0;
    trim(p, &off, &len);
    return hex_decode((const char *)p + off, len, out, 64);
}

static bool is_leap(int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool digits(const char *s, size_t n, int *out) {
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "YYYY-MM-DDThh:mm:ss[.fraction]Z" (what PCS serves), UTC; the fraction is ignored. */
static bool parse_date(const char *s, size_t n, int64_t *out) {
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, h, mi, se;
    if (n < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
        !digits(s + 8, 2, &d) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se)) {
        return false;
    }
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            i++;
        }
        if (i == start || i - start > 9) {
            return false;
        }
    }
    if (i + 1 != n || s[i] != 'Z') {
        return false;
    }
    if (mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && is_leap(y))) {
        return false;
    }
    *out = ncsl__attest_epoch(y, mo, d, h, mi, se);
    return true;
}

/* ------------------------------------------------------------------------- the signed span */

/* Index just past the string starting at s[i] == '"', or 0 when it does not end. */
static size_t skip_string(const char *s, size_t n, size_t i) {
    for (size_t k = i + 1; k < n; k++) {
        if (s[k] == '\\') {
            k++; /* the escaped character (for \uXXXX the hex digits are plain) */
        } else if (s[k] == '"') {
            return k + 1;
        }
    }
    return 0;
}

/* Index just past the JSON value starting at s[i], or 0. The text is valid JSON (jansson
 * parsed it), so brackets balance outside strings; this is still bounds-checked throughout. */
static size_t skip_value(const char *s, size_t n, size_t i) {
    if (i >= n) {
        return 0;
    }
    if (s[i] == '"') {
        return skip_string(s, n, i);
    }
    if (s[i] == '{' || s[i] == '[') {
        size_t depth = 0;
        size_t k = i;
        while (k < n) {
            char ch = s[k];
            if (ch == '"') {
                k = skip_string(s, n, k);
                if (!k) {
                    return 0;
                }
                continue;
            }
            if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                if (--depth == 0) {
                    return k + 1;
                }
            }
            k++;
        }
        return 0;
    }
    size_t k = i; /* number, true, false, null */
    while (k < n && s[k] != ',' && s[k] != '}' && s[k] != ']' && !is_ws((uint8_t)s[k])) {
        k++;
    }
    return k > i ? k : 0;
}

/* The byte span of the value of the top-level member `key` (its raw, unescaped spelling) of the
 * object text s[0, n). False when absent, present twice, or the text is not an object. */
static bool member_span(const char *s, size_t n, const char *key, size_t *off, size_t *len) {
    size_t klen = strlen(key);
    bool found = false;
    size_t i = 0;
    while (i < n && is_ws((uint8_t)s[i])) {
        i++;
    }
    if (i >= n || s[i] != '{') {
        return false;
    }
    i++;
    for (;;) {
        while (i < n && is_ws((uint8_t)s[i])) {
            i++;
        }
        if (i < n && s[i] == '}') {
            return found;
        }
        if (i >= n || s[i] != '"') {
            return false;
        }
        size_t kstart = i + 1;
        size_t kend = skip_string(s, n, i);
        if (!kend) {
            return false;
        }
        bool match = kend - 1 - kstart == klen && memcmp(s + kstart, key, klen) == 0;
        i = kend;
        while (i < n && is_ws((uint8_t)s[i])) {
            i++;
        }
        if (i >= n || s[i] != ':') {
            return false;
        }
        i++;
        while (i < n && is_ws((uint8_t)s[i])) {
            i++;
        }
        size_t vend = skip_value(s, n, i);
        if (!vend) {
            return false;
        }
        if (match) {
            if (found) {
                return false;
            }
            found = true;
            *off = i;
            *len = vend - i;
        }
        i = vend;
        while (i < n && is_ws((uint8_t)s[i])) {
            i++;
        }
        if (i < n && s[i] == ',') {
            i++;
            continue;
        }
        if (i < n && s[i] == '}') {
            return found;
        }
        return false;
    }
}

static json_t *load_json(const uint8_t *p, size_t len, jctx *c) {
    json_error_t je;
    json_t *root = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        jfail(c, "not valid JSON (line %d, column %d: %s)", je.line, je.column, je.text);
    }
    return root;
}

ncsl_status ncsl__attest_signed_json(const uint8_t *doc, size_t len, const char *wrapper_key,
                                     const uint8_t *sig, size_t sig_len, const char *name,
                                     uint8_t **body, size_t *body_len, uint8_t sig_out[64],
                                     ncsl_err *err) {
    ncsl_status st = NCSL_E_ATTEST_COLLATERAL;
    jctx c = {name, err};
    json_t *root = NULL;
    json_t *again = NULL;
    size_t off = 0;
    size_t n = len;

    *body = NULL;
    *body_len = 0;
    if (!doc || len == 0) {
        coll_fail(err, name, name, "is empty");
        goto out;
    }
    if (len > NCSL_ATTEST_COLLATERAL_MAX_SIZE) {
        coll_fail(err, name, name, "is %zu bytes, more than %u", len,
                  NCSL_ATTEST_COLLATERAL_MAX_SIZE);
        goto out;
    }
    root = load_json(doc, len, &c);
    if (!root) {
        goto out;
    }
    if (!json_is_object(root)) {
        jfail(&c, "is not a JSON object");
        goto out;
    }
    json_t *inner = json_object_get(root, wrapper_key);
    json_t *jsig = json_object_get(root, "signature");
    if (inner) {
        /* PCS form: {"<wrapper_key>": {...}, "signature": "<hex>"}. */
        if (sig) {
            jfail(&c, "carries its own \"signature\"; a separate signature was given as well");
            goto out;
        }
        if (!json_is_object(inner)) {
            jfail(&c, "\"%s\" is not an object", wrapper_key);
            goto out;
        }
        if (!json_is_string(jsig) ||
            !hex_decode(json_string_value(jsig), json_string_length(jsig), sig_out, 64)) {
            jfail(&c, "\"signature\" is not 128 hex digits (an ECDSA P-256 r || s)");
            goto out;
        }
        if (!member_span((const char *)doc, len, wrapper_key, &off, &n)) {
            jfail(&c, "cannot locate the signed text of \"%s\" (is its key escaped?)", wrapper_key);
            goto out;
        }
        again = load_json(doc + off, n, &c);
        if (!again || !json_equal(again, inner)) {
            jfail(&c, "the text of \"%s\" does not parse to the object itself", wrapper_key);
            goto out;
        }
    } else {
        /* The bare body: signed as it is (without surrounding whitespace). */
        if (jsig) {
            jfail(&c, "has a \"signature\" but no \"%s\" object (another kind of collateral?)",
                  wrapper_key);
            goto out;
        }
        if (!sig) {
            jfail(&c,
                  "is a bare body without a signature: give {\"%s\":{...},\"signature\":"
                  "\"<hex>\"} or the body with its signature (.sig)",
                  wrapper_key);
            goto out;
        }
        if (!sig_decode(sig, sig_len, sig_out)) {
            jfail(&c, "its signature is neither 64 bytes nor 128 hex digits (%zu bytes)", sig_len);
            goto out;
        }
        trim(doc, &off, &n);
    }
    *body = malloc(n + 1);
    if (!*body) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, name, "out of memory");
        goto out;
    }
    memcpy(*body, doc + off, n);
    (*body)[n] = '\0';
    *body_len = n;
    st = NCSL_OK;
out:
    json_decref(again);
    json_decref(root);
    return st;
}

/* ------------------------------------------------------------------------- JSON fields */

static json_t *jget(jctx *c, json_t *obj, const char *key, const char *path, json_type type) {
    static const char *const type_names[] = {"an object", "an array", "a string", "an integer",
                                             "a number",  "true",     "false",    "null"};
    json_t *v = json_object_get(obj, key);
    if (!v) {
        jfail(c, "%s%s is missing", path, key);
        return NULL;
    }
    if (json_typeof(v) != type) {
        jfail(c, "%s%s is not %s", path, key, type_names[type]);
        return NULL;
    }
    return v;
}

static bool jint(jctx *c, json_t *obj, const char *key, const char *path, int64_t min, int64_t max,
                 int64_t *out) {
    json_t *v = jget(c, obj, key, path, JSON_INTEGER);
    if (!v) {
        return false;
    }
    json_int_t x = json_integer_value(v);
    if (x < min || x > max) {
        return jfail(c, "%s%s is %lld, outside %lld..%lld", path, key, (long long)x, (long long)min,
                     (long long)max);
    }
    *out = (int64_t)x;
    return true;
}

static bool jhex(jctx *c, json_t *obj, const char *key, const char *path, uint8_t *out, size_t n) {
    json_t *v = jget(c, obj, key, path, JSON_STRING);
    if (!v) {
        return false;
    }
    if (!hex_decode(json_string_value(v), json_string_length(v), out, n)) {
        return jfail(c, "%s%s is not %zu hex digits", path, key, 2 * n);
    }
    return true;
}

static bool jdate(jctx *c, json_t *obj, const char *key, const char *path, int64_t *out, char *text,
                  size_t text_size) {
    json_t *v = jget(c, obj, key, path, JSON_STRING);
    if (!v) {
        return false;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!parse_date(s, n, out) || (text && n >= text_size)) {
        return jfail(c, "%s%s is not a date like 2025-06-19T10:56:11Z", path, key);
    }
    if (text) {
        memcpy(text, s, n);
        text[n] = '\0';
    }
    return true;
}

static const char *const g_tcb_status_names[] = {
    [NCSL_ATTEST_TCB_NONE] = "",
    [NCSL_ATTEST_TCB_UP_TO_DATE] = "UpToDate",
    [NCSL_ATTEST_TCB_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [NCSL_ATTEST_TCB_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [NCSL_ATTEST_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [NCSL_ATTEST_TCB_OUT_OF_DATE] = "OutOfDate",
    [NCSL_ATTEST_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [NCSL_ATTEST_TCB_REVOKED] = "Revoked",
};

const char *ncsl_attest_tcb_status_str(ncsl_attest_tcb_status s) {
    if ((unsigned)s >= NCSL_ARRAY_LEN(g_tcb_status_names)) {
        return "";
    }
    return g_tcb_status_names[s];
}

static bool jstatus(jctx *c, json_t *obj, const char *path, ncsl_attest_tcb_status *out) {
    json_t *v = jget(c, obj, "tcbStatus", path, JSON_STRING);
    if (!v) {
        return false;
    }
    for (size_t i = 1; i < NCSL_ARRAY_LEN(g_tcb_status_names); i++) {
        if (json_string_length(v) == strlen(g_tcb_status_names[i]) &&
            strcmp(json_string_value(v), g_tcb_status_names[i]) == 0) {
            *out = (ncsl_attest_tcb_status)i;
            return true;
        }
    }
    return jfail(c, "%stcbStatus is not a known TCB status", path);
}

/* Optional "advisoryIDs": an array of short IDs ("INTEL-SA-00615") -> "a,b,c" (owned). */
static bool jadvisories(jctx *c, json_t *level, const char *path, char **out) {
    *out = NULL;
    json_t *arr = json_object_get(level, "advisoryIDs");
    if (!arr) {
        return true;
    }
    if (!json_is_array(arr) || json_array_size(arr) > MAX_ADVISORIES) {
        return jfail(c, "%sadvisoryIDs is not an array of at most %d IDs", path, MAX_ADVISORIES);
    }
    size_t n = json_array_size(arr);
    if (n == 0) {
        return true;
    }
    char *s = malloc(n * (MAX_ADVISORY_LEN + 1));
    if (!s) {
        ncsl_err_set(c->err, NCSL_E_NOMEM, c->name, "out of memory");
        return false;
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *id = json_array_get(arr, i);
        const char *v = json_string_value(id);
        size_t len = v ? json_string_length(id) : 0;
        bool ok = len > 0 && len <= MAX_ADVISORY_LEN;
        for (size_t k = 0; ok && k < len; k++) {
            char ch = v[k];
            ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '-' || ch == '_' || ch == '.';
        }
        if (!ok) {
            free(s);
            return jfail(c, "%sadvisoryIDs[%zu] is not an ID like INTEL-SA-00615", path, i);
        }
        if (pos) {
            s[pos++] = ',';
        }
        memcpy(s + pos, v, len);
        pos += len;
    }
    s[pos] = '\0';
    *out = s;
    return true;
}

static void levels_free(ncsl__tcb_level *levels, size_t n) {
    for (size_t i = 0; levels && i < n; i++) {
        free(levels[i].advisories);
    }
    free(levels);
}

/* The parts every level has: tcbDate, tcbStatus, advisoryIDs. */
static bool level_common(jctx *c, json_t *lv, const char *path, ncsl__tcb_level *out) {
    int64_t t = 0;
    return jdate(c, lv, "tcbDate", path, &t, out->tcb_date, sizeof(out->tcb_date)) &&
           jstatus(c, lv, path, &out->status) && jadvisories(c, lv, path, &out->advisories);
}

/* The header both documents share. */
static bool common_header(jctx *c, json_t *root, int64_t *issue, int64_t *next, uint32_t *eval) {
    int64_t e = 0;
    if (!jdate(c, root, "issueDate", "", issue, NULL, 0) ||
        !jdate(c, root, "nextUpdate", "", next, NULL, 0) ||
        !jint(c, root, "tcbEvaluationDataNumber", "", 0, UINT32_MAX, &e)) {
        return false;
    }
    if (*next < *issue) {
        return jfail(c, "nextUpdate is before issueDate");
    }
    *eval = (uint32_t)e;
    return true;
}

/* tcbLevels: a non-empty array of at most MAX_TCB_LEVELS objects. */
static json_t *levels_array(jctx *c, json_t *root, size_t *n) {
    json_t *arr = jget(c, root, "tcbLevels", "", JSON_ARRAY);
    if (!arr) {
        return NULL;
    }
    *n = json_array_size(arr);
    if (*n == 0 || *n > MAX_TCB_LEVELS) {
        jfail(c, "tcbLevels has %zu levels (1..%d allowed)", *n, MAX_TCB_LEVELS);
        return NULL;
    }
    return arr;
}

/* ------------------------------------------------------------------------- TCB info */

static bool tcb_level_parse(jctx *c, json_t *lv, int version, size_t idx, ncsl__tcb_level *out) {
    char path[96];
    char sub[160];
    int64_t v = 0;
    snprintf(path, sizeof(path), "tcbLevels[%zu].", idx);
    if (!json_is_object(lv)) {
        return jfail(c, "tcbLevels[%zu] is not an object", idx);
    }
    json_t *tcb = jget(c, lv, "tcb", path, JSON_OBJECT);
    if (!tcb) {
        return false;
    }
    snprintf(sub, sizeof(sub), "%stcb.", path);
    if (version == 3) {
        json_t *comps = jget(c, tcb, "sgxtcbcomponents", sub, JSON_ARRAY);
        if (!comps) {
            return false;
        }
        if (json_array_size(comps) != NCSL__SGX_TCB_COMPONENTS) {
            return jfail(c, "%ssgxtcbcomponents has %zu entries instead of %d", sub,
                         json_array_size(comps), NCSL__SGX_TCB_COMPONENTS);
        }
        for (size_t k = 0; k < NCSL__SGX_TCB_COMPONENTS; k++) {
            char cpath[200];
            json_t *comp = json_array_get(comps, k);
            snprintf(cpath, sizeof(cpath), "%ssgxtcbcomponents[%zu].", sub, k);
            if (!json_is_object(comp)) {
                return jfail(c, "%ssgxtcbcomponents[%zu] is not an object", sub, k);
            }
            if (!jint(c, comp, "svn", cpath, 0, 255, &v)) {
                return false;
            }
            out->comp_svn[k] = (uint8_t)v;
        }
    } else {
        for (size_t k = 0; k < NCSL__SGX_TCB_COMPONENTS; k++) {
            char key[32];
            snprintf(key, sizeof(key), "sgxtcbcomp%02zusvn", k + 1);
            if (!jint(c, tcb, key, sub, 0, 255, &v)) {
                return false;
            }
            out->comp_svn[k] = (uint8_t)v;
        }
    }
    if (!jint(c, tcb, "pcesvn", sub, 0, 65535, &v)) {
        return false;
    }
    out->svn = (uint16_t)v;
    return level_common(c, lv, path, out);
}

ncsl_status ncsl__attest_tcb_info_parse(const uint8_t *body, size_t len, const char *name,
                                        ncsl__tcb_info *out, ncsl_err *err) {
    ncsl_status st = NCSL_E_ATTEST_COLLATERAL;
    jctx c = {name, err};
    json_t *root = NULL;
    int64_t v = 0;

    memset(out, 0, sizeof(*out));
    root = load_json(body, len, &c);
    if (!root) {
        goto out;
    }
    if (!json_is_object(root)) {
        jfail(&c, "the TCB info is not a JSON object");
        goto out;
    }
    json_t *id = json_object_get(root, "id");
    if (id && (!json_is_string(id) || strcmp(json_string_value(id), "SGX") != 0)) {
        jfail(&c, "the TCB info is not for SGX (id is not \"SGX\"; TDX is not supported)");
        goto out;
    }
    if (!jint(&c, root, "version", "", 0, INT_MAX, &v)) {
        goto out;
    }
    if (v != 2 && v != 3) {
        jfail(&c, "TCB info version %lld is not supported (2 or 3)", (long long)v);
        goto out;
    }
    out->version = (int)v;
    if (v == 3 && !id) {
        jfail(&c, "id is missing (a version 3 TCB info says \"SGX\" or \"TDX\")");
        goto out;
    }
    if (!common_header(&c, root, &out->issue_date, &out->next_update, &out->tcb_eval_data_number) ||
        !jhex(&c, root, "fmspc", "", out->fmspc, sizeof(out->fmspc)) ||
        !jhex(&c, root, "pceId", "", out->pce_id, sizeof(out->pce_id)) ||
        !jint(&c, root, "tcbType", "", 0, INT_MAX, &v)) {
        goto out;
    }
    if (v != 0) {
        jfail(&c, "tcbType %lld is not supported (0)", (long long)v);
        goto out;
    }
    size_t n = 0;
    json_t *arr = levels_array(&c, root, &n);
    if (!arr) {
        goto out;
    }
    out->levels = calloc(n, sizeof(*out->levels));
    if (!out->levels) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, name, "out of memory");
        goto out;
    }
    out->level_count = n;
    for (size_t i = 0; i < n; i++) {
        if (!tcb_level_parse(&c, json_array_get(arr, i), out->version, i, &out->levels[i])) {
            if (err && err->code == NCSL_E_NOMEM) {
                st = NCSL_E_NOMEM;
            }
            goto out;
        }
    }
    st = NCSL_OK;
out:
    json_decref(root);
    if (st != NCSL_OK) {
        ncsl__attest_tcb_info_cleanup(out);
    }
    return st;
}

void ncsl__attest_tcb_info_cleanup(ncsl__tcb_info *t) {
    if (t) {
        levels_free(t->levels, t->level_count);
        memset(t, 0, sizeof(*t));
    }
}

/* ------------------------------------------------------------------------- QE identity */

ncsl_status ncsl__attest_qe_identity_parse(const uint8_t *body, size_t len, const char *name,
                                           ncsl__qe_identity *out, ncsl_err *err) {
    ncsl_status st = NCSL_E_ATTEST_COLLATERAL;
    jctx c = {name, err};
    json_t *root = NULL;
    int64_t v = 0;

    memset(out, 0, sizeof(*out));
    root = load_json(body, len, &c);
    if (!root) {
        goto out;
    }
    if (!json_is_object(root)) {
        jfail(&c, "the QE identity is not a JSON object");
        goto out;
    }
    json_t *id = jget(&c, root, "id", "", JSON_STRING);
    if (!id) {
        goto out;
    }
    if (strcmp(json_string_value(id), "QE") != 0) {
        jfail(&c, "id is not \"QE\": this is the identity of another enclave (QVE, TD_QE?)");
        goto out;
    }
    if (!jint(&c, root, "version", "", 0, INT_MAX, &v)) {
        goto out;
    }
    if (v != 2) {
        jfail(&c, "QE identity version %lld is not supported (2)", (long long)v);
        goto out;
    }
    out->version = 2;
    if (!common_header(&c, root, &out->issue_date, &out->next_update, &out->tcb_eval_data_number) ||
        !jhex(&c, root, "miscselect", "", out->miscselect, 4) ||
        !jhex(&c, root, "miscselectMask", "", out->miscselect_mask, 4) ||
        !jhex(&c, root, "attributes", "", out->attributes, 16) ||
        !jhex(&c, root, "attributesMask", "", out->attributes_mask, 16) ||
        !jhex(&c, root, "mrsigner", "", out->mrsigner, 32) ||
        !jint(&c, root, "isvprodid", "", 0, 65535, &v)) {
        goto out;
    }
    out->isvprodid = (uint16_t)v;
    size_t n = 0;
    json_t *arr = levels_array(&c, root, &n);
    if (!arr) {
        goto out;
    }
    out->levels = calloc(n, sizeof(*out->levels));
    if (!out->levels) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, name, "out of memory");
        goto out;
    }
    out->level_count = n;
    for (size_t i = 0; i < n; i++) {
        char path[64];
        json_t *lv = json_array_get(arr, i);
        snprintf(path, sizeof(path), "tcbLevels[%zu].", i);
        if (!json_is_object(lv)) {
            jfail(&c, "tcbLevels[%zu] is not an object", i);
            goto out;
        }
        char sub[96];
        snprintf(sub, sizeof(sub), "%stcb.", path);
        json_t *tcb = jget(&c, lv, "tcb", path, JSON_OBJECT);
        if (!tcb || !jint(&c, tcb, "isvsvn", sub, 0, 65535, &v)) {
            goto out;
        }
        out->levels[i].svn = (uint16_t)v;
        if (!level_common(&c, lv, path, &out->levels[i])) {
            if (err && err->code == NCSL_E_NOMEM) {
                st = NCSL_E_NOMEM;
            }
            goto out;
        }
    }
    st = NCSL_OK;
out:
    json_decref(root);
    if (st != NCSL_OK) {
        ncsl__attest_qe_identity_cleanup(out);
    }
    return st;
}

void ncsl__attest_qe_identity_cleanup(ncsl__qe_identity *q) {
    if (q) {
        levels_free(q->levels, q->level_count);
        memset(q, 0, sizeof(*q));
    }
}

/* ------------------------------------------------------------------------- CRLs and chains */

/* A CRL as DER, PEM ("X509 CRL") or hex of the DER. */
static ncsl_status crl_decode(const uint8_t *data, size_t len, const char *name, X509_CRL **out,
                              int64_t *issued, int64_t *next, ncsl_err *err) {
    ncsl_status st = NCSL_E_ATTEST_COLLATERAL;
    uint8_t *der = NULL;
    size_t der_len = 0;
    BIO *bio = NULL;
    char *pem_name = NULL;
    char *pem_header = NULL;
    unsigned char *pem_data = NULL;
    long pem_len = 0;
    X509_CRL *crl = NULL;

    *out = NULL;
    if (len > NCSL_ATTEST_COLLATERAL_MAX_SIZE) {
        coll_fail(err, name, name, "is %zu bytes, more than %u", len,
                  NCSL_ATTEST_COLLATERAL_MAX_SIZE);
        goto out;
    }
    size_t off = 0;
    size_t n = len;
    trim(data, &off, &n);
    const uint8_t *p = NULL;
    if (len > 0 && data[0] == 0x30) { /* DER */
        p = data;
        der_len = len;
    } else if (n >= 10 && memcmp(data + off, "-----BEGIN", 10) == 0) {
        bio = BIO_new_mem_buf(data + off, (int)n);
        if (!bio || PEM_read_bio(bio, &pem_name, &pem_header, &pem_data, &pem_len) != 1 ||
            strcmp(pem_name, PEM_STRING_X509_CRL) != 0 || pem_header[0] != '\0' || pem_len <= 0) {
            coll_fail(err, name, name, "is not one PEM \"X509 CRL\" block");
            goto out;
        }
        p = pem_data;
        der_len = (size_t)pem_len;
    } else {
        der_len = n / 2;
        der = malloc(der_len ? der_len : 1);
        if (!der) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, name, "out of memory");
            goto out;
        }
        if (n == 0 || !hex_decode((const char *)data + off, n, der, der_len)) {
            coll_fail(err, name, name, "is not a CRL in DER, PEM or hex");
            goto out;
        }
        p = der;
    }
    const unsigned char *q = p;
    crl = d2i_X509_CRL(NULL, &q, (long)der_len);
    if (!crl || q != p + der_len) {
        coll_fail(err, name, name, "is not one DER CRL");
        goto out;
    }
    if (!ncsl__attest_asn1_epoch(X509_CRL_get0_lastUpdate(crl), issued) ||
        !X509_CRL_get0_nextUpdate(crl) ||
        !ncsl__attest_asn1_epoch(X509_CRL_get0_nextUpdate(crl), next)) {
        coll_fail(err, name, name, "has no valid lastUpdate and nextUpdate");
        goto out;
    }
    *out = crl;
    crl = NULL;
    st = NCSL_OK;
out:
    X509_CRL_free(crl);
    OPENSSL_free(pem_data);
    OPENSSL_free(pem_header);
    OPENSSL_free(pem_name);
    BIO_free(bio);
    free(der);
    ERR_clear_error();
    return st;
}

static ncsl_status chain_decode(const uint8_t *data, size_t len, const char *name,
                                STACK_OF(X509) * *out, ncsl_err *err) {
    char why[160];
    if (len > NCSL_ATTEST_COLLATERAL_MAX_SIZE) {
        return coll_fail(err, name, name, "is %zu bytes, more than %u", len,
                         NCSL_ATTEST_COLLATERAL_MAX_SIZE);
    }
    if (!ncsl__attest_certs_parse(data, len, MAX_CHAIN_CERTS, out, why, sizeof(why))) {
        return coll_fail(err, name, name, "%s", why);
    }
    return NCSL_OK;
}

/* ------------------------------------------------------------------------- assembling */

/* One piece: bytes (borrowed) and its name for messages and ncsl_err.field. */
typedef struct piece {
    const uint8_t *data;
    size_t len;
    const char *name;
    const char *what; /* "the TCB info", for "is missing" messages */
} piece;

typedef struct piece_set {
    piece tcb_info, tcb_info_sig, qe_identity, qe_identity_sig;
    piece tcb_chain, qe_chain, root_crl, pck_crl;
} piece_set;

static bool given(const piece *p) {
    return p->data && p->len > 0;
}

static ncsl_status build(const piece_set *ps, ncsl_sgx_collateral **out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    ncsl_sgx_collateral *c = NULL;
    const piece *required[] = {&ps->tcb_info, &ps->qe_identity, &ps->tcb_chain, &ps->root_crl,
                               &ps->pck_crl};

    *out = NULL;
    for (size_t i = 0; i < NCSL_ARRAY_LEN(required); i++) {
        if (!given(required[i])) {
            return coll_fail(err, required[i]->name, required[i]->name, "is missing (%s)",
                             required[i]->what);
        }
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    snprintf(c->tcb_info_name, sizeof(c->tcb_info_name), "%s", ps->tcb_info.name);
    snprintf(c->qe_identity_name, sizeof(c->qe_identity_name), "%s", ps->qe_identity.name);
    snprintf(c->tcb_chain_name, sizeof(c->tcb_chain_name), "%s", ps->tcb_chain.name);
    snprintf(c->qe_chain_name, sizeof(c->qe_chain_name), "%s",
             given(&ps->qe_chain) ? ps->qe_chain.name : ps->tcb_chain.name);
    snprintf(c->root_crl_name, sizeof(c->root_crl_name), "%s", ps->root_crl.name);
    snprintf(c->pck_crl_name, sizeof(c->pck_crl_name), "%s", ps->pck_crl.name);

    st = ncsl__attest_signed_json(ps->tcb_info.data, ps->tcb_info.len, "tcbInfo",
                                  given(&ps->tcb_info_sig) ? ps->tcb_info_sig.data : NULL,
                                  ps->tcb_info_sig.len, ps->tcb_info.name, &c->tcb_info_body,
                                  &c->tcb_info_body_len, c->tcb_info_sig, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = ncsl__attest_tcb_info_parse(c->tcb_info_body, c->tcb_info_body_len, ps->tcb_info.name,
                                     &c->tcb_info, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = ncsl__attest_signed_json(ps->qe_identity.data, ps->qe_identity.len, "enclaveIdentity",
                                  given(&ps->qe_identity_sig) ? ps->qe_identity_sig.data : NULL,
                                  ps->qe_identity_sig.len, ps->qe_identity.name,
                                  &c->qe_identity_body, &c->qe_identity_body_len,
                                  c->qe_identity_sig, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = ncsl__attest_qe_identity_parse(c->qe_identity_body, c->qe_identity_body_len,
                                        ps->qe_identity.name, &c->qe_identity, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st =
        chain_decode(ps->tcb_chain.data, ps->tcb_chain.len, ps->tcb_chain.name, &c->tcb_chain, err);
    if (st != NCSL_OK) {
        goto out;
    }
    const piece *qc = given(&ps->qe_chain) ? &ps->qe_chain : &ps->tcb_chain;
    st = chain_decode(qc->data, qc->len, qc->name, &c->qe_chain, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = crl_decode(ps->root_crl.data, ps->root_crl.len, ps->root_crl.name, &c->root_crl,
                    &c->root_crl_issued, &c->root_crl_next_update, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = crl_decode(ps->pck_crl.data, ps->pck_crl.len, ps->pck_crl.name, &c->pck_crl,
                    &c->pck_crl_issued, &c->pck_crl_next_update, err);
    if (st != NCSL_OK) {
        goto out;
    }
    *out = c;
    c = NULL;
out:
    ncsl_attest_collateral_destroy(c);
    return st;
}

void ncsl_attest_collateral_destroy(ncsl_sgx_collateral *c) {
    if (!c) {
        return;
    }
    free(c->tcb_info_body);
    ncsl__attest_tcb_info_cleanup(&c->tcb_info);
    free(c->qe_identity_body);
    ncsl__attest_qe_identity_cleanup(&c->qe_identity);
    sk_X509_pop_free(c->tcb_chain, X509_free);
    sk_X509_pop_free(c->qe_chain, X509_free);
    X509_CRL_free(c->root_crl);
    X509_CRL_free(c->pck_crl);
    free(c);
}

ncsl_status ncsl_attest_collateral_create(const ncsl_sgx_collateral_pieces *pieces,
                                          ncsl_sgx_collateral **out, ncsl_err *err) {
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "no output collateral");
    }
    *out = NULL;
    if (!pieces) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "pieces", "no collateral pieces");
    }
    piece_set ps = {
        {pieces->tcb_info, pieces->tcb_info_len, "tcb_info", "the TCB info"},
        {pieces->tcb_info_signature, pieces->tcb_info_signature_len, "tcb_info_signature", ""},
        {pieces->qe_identity, pieces->qe_identity_len, "qe_identity", "the QE identity"},
        {pieces->qe_identity_signature, pieces->qe_identity_signature_len, "qe_identity_signature",
         ""},
        {pieces->tcb_signing_chain, pieces->tcb_signing_chain_len, "tcb_signing_chain",
         "the Intel SGX TCB Signing certificate"},
        {pieces->qe_identity_signing_chain, pieces->qe_identity_signing_chain_len,
         "qe_identity_signing_chain", ""},
        {pieces->root_ca_crl, pieces->root_ca_crl_len, "root_ca_crl", "the Intel SGX Root CA CRL"},
        {pieces->pck_ca_crl, pieces->pck_ca_crl_len, "pck_ca_crl",
         "the CRL of the PCK Processor or Platform CA"},
    };
    return build(&ps, out, err);
}

/* A string member of the bundle (optional ones may be absent). */
static bool bundle_str(jctx *c, json_t *root, const char *key, bool required, piece *p,
                       const char *what) {
    json_t *v = json_object_get(root, key);
    p->what = what;
    if (!v) {
        if (required) {
            return jfail(c, "\"%s\" is missing (%s)", key, what);
        }
        return true;
    }
    if (!json_is_string(v)) {
        return jfail(c, "\"%s\" is not a string", key);
    }
    p->data = (const uint8_t *)json_string_value(v);
    p->len = json_string_length(v);
    return true;
}

/* A dcap-qvl bundle; `prefix` names it in messages ("bundle", "sgx_quote_collateral.json"). */
static ncsl_status bundle_build(const uint8_t *json, size_t len, const char *prefix,
                                ncsl_sgx_collateral **out, ncsl_err *err) {
    ncsl_status st = NCSL_E_ATTEST_COLLATERAL;
    jctx c = {prefix, err};
    json_t *root = NULL;
    piece_set ps;
    static const char *const keys[] = {"tcb_info",
                                       "tcb_info_signature",
                                       "qe_identity",
                                       "qe_identity_signature",
                                       "tcb_info_issuer_chain",
                                       "qe_identity_issuer_chain",
                                       "root_ca_crl",
                                       "pck_crl"};
    char names[NCSL_ARRAY_LEN(keys)][64];

    memset(&ps, 0, sizeof(ps));
    if (!json || len == 0) {
        coll_fail(err, prefix, prefix, "is empty");
        goto out;
    }
    if (len > NCSL_ATTEST_COLLATERAL_MAX_SIZE) {
        coll_fail(err, prefix, prefix, "is %zu bytes, more than %u", len,
                  NCSL_ATTEST_COLLATERAL_MAX_SIZE);
        goto out;
    }
    root = load_json(json, len, &c);
    if (!root) {
        goto out;
    }
    if (!json_is_object(root)) {
        jfail(&c, "is not a JSON object");
        goto out;
    }
    piece *slots[] = {&ps.tcb_info,  &ps.tcb_info_sig, &ps.qe_identity, &ps.qe_identity_sig,
                      &ps.tcb_chain, &ps.qe_chain,     &ps.root_crl,    &ps.pck_crl};
    static const bool required[] = {true, true, true, true, true, false, true, true};
    static const char *const whats[] = {"the TCB info",
                                        "the TCB info's signature",
                                        "the QE identity",
                                        "the QE identity's signature",
                                        "the Intel SGX TCB Signing certificate",
                                        "",
                                        "the Intel SGX Root CA CRL",
                                        "the CRL of the PCK Processor or Platform CA"};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(keys); i++) {
        snprintf(names[i], sizeof(names[i]), "%s:%s", prefix, keys[i]);
        slots[i]->name = names[i];
        if (!bundle_str(&c, root, keys[i], required[i], slots[i], whats[i])) {
            goto out;
        }
    }
    st = build(&ps, out, err);
    if (st != NCSL_OK && err) {
        snprintf(err->field, sizeof(err->field), "%s", prefix); /* the file at fault */
    }
out:
    json_decref(root); /* the pieces borrowed its strings; build copied what it keeps */
    return st;
}

ncsl_status ncsl_attest_collateral_create_bundle(const uint8_t *json, size_t len,
                                                 ncsl_sgx_collateral **out, ncsl_err *err) {
    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "no output collateral");
    }
    *out = NULL;
    return bundle_build(json, len, "bundle", out, err);
}

/* ------------------------------------------------------------------------- directory */

/* Reads dir/file into a malloc'd buffer (*data, caller frees). A missing file leaves *data NULL
 * and returns NCSL_OK: the caller decides whether it was required. */
static ncsl_status read_file(const char *dir, const char *file, uint8_t **data, size_t *len,
                             ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    char path[PATH_MAX];
    int fd = -1;
    uint8_t *buf = NULL;
    struct stat sb;

    *data = NULL;
    *len = 0;
    int n = snprintf(path, sizeof(path), "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof(path)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "dir", "collateral directory path too long");
    }
    /* O_NONBLOCK: a FIFO planted in the directory must not hang the open. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) {
            return NCSL_OK;
        }
        return ncsl_err_set(err, NCSL_E_IO, file, "collateral %s: cannot open: %s", file,
                            strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = ncsl_err_set(err, NCSL_E_IO, file, "collateral %s: not a regular file", file);
        goto out;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > NCSL_ATTEST_COLLATERAL_MAX_SIZE) {
        st = coll_fail(err, file, file, "is larger than %u bytes", NCSL_ATTEST_COLLATERAL_MAX_SIZE);
        goto out;
    }
    size_t cap = (size_t)sb.st_size + 1; /* +1: detects a file that grew while being read */
    buf = malloc(cap);
    if (!buf) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, file, "out of memory");
        goto out;
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            st = ncsl_err_set(err, NCSL_E_IO, file, "collateral %s: read failed: %s", file,
                              strerror(errno));
            goto out;
        }
        if (r == 0) {
            break;
        }
        got += (size_t)r;
        if (got == cap) {
            st =
                ncsl_err_set(err, NCSL_E_IO, file, "collateral %s: changed while being read", file);
            goto out;
        }
    }
    *data = buf;
    *len = got;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return st;
}

ncsl_status ncsl_attest_collateral_load_dir(const char *dir, ncsl_sgx_collateral **out,
                                            ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    /* Read in this order; a pair of names means "the first, or else the second". */
    enum { TCB, TCB_SIG, QE, QE_SIG, TCB_CHAIN, QE_CHAIN, ROOT_CRL, PCK_CRL, NPIECES };
    static const char *const files[NPIECES][2] = {
        [TCB] = {"tcb_info.json", NULL},
        [TCB_SIG] = {"tcb_info.sig", NULL},
        [QE] = {"qe_identity.json", NULL},
        [QE_SIG] = {"qe_identity.sig", NULL},
        [TCB_CHAIN] = {"tcb_signing_chain.pem", "tcb_signing_cert.der"},
        [QE_CHAIN] = {"qe_identity_issuer_chain.pem", NULL},
        [ROOT_CRL] = {"root_ca_crl.der", "root_ca_crl.pem"},
        [PCK_CRL] = {"pck_ca_crl.der", "pck_ca_crl.pem"},
    };
    uint8_t *data[NPIECES] = {0};
    size_t lens[NPIECES] = {0};
    const char *names[NPIECES] = {0};
    uint8_t *bundle = NULL;
    size_t bundle_len = 0;

    if (!out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "out", "no output collateral");
    }
    *out = NULL;
    if (!dir || !*dir) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "dir", "no collateral directory");
    }
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        return ncsl_err_set(err, NCSL_E_IO, "dir", "collateral directory: %s", strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode)) {
        return ncsl_err_set(err, NCSL_E_IO, "dir", "collateral directory: not a directory");
    }
    st = read_file(dir, "sgx_quote_collateral.json", &bundle, &bundle_len, err);
    if (st != NCSL_OK) {
        goto out;
    }
    if (bundle) {
        st = bundle_build(bundle, bundle_len, "sgx_quote_collateral.json", out, err);
        goto out;
    }
    for (size_t i = 0; i < NPIECES; i++) {
        for (size_t k = 0; k < 2 && files[i][k] && !data[i]; k++) {
            names[i] = files[i][k];
            st = read_file(dir, files[i][k], &data[i], &lens[i], err);
            if (st != NCSL_OK) {
                goto out;
            }
        }
        if (!data[i]) {
            names[i] = files[i][0];
        }
    }
    piece_set ps = {
        {data[TCB], lens[TCB], names[TCB], "the TCB info"},
        {data[TCB_SIG], lens[TCB_SIG], names[TCB_SIG], ""},
        {data[QE], lens[QE], names[QE], "the QE identity"},
        {data[QE_SIG], lens[QE_SIG], names[QE_SIG], ""},
        {data[TCB_CHAIN], lens[TCB_CHAIN], names[TCB_CHAIN],
         "the Intel SGX TCB Signing certificate; tcb_signing_cert.der may stand in for it"},
        {data[QE_CHAIN], lens[QE_CHAIN], names[QE_CHAIN], ""},
        {data[ROOT_CRL], lens[ROOT_CRL], names[ROOT_CRL],
         "the Intel SGX Root CA CRL; root_ca_crl.pem may stand in for it"},
        {data[PCK_CRL], lens[PCK_CRL], names[PCK_CRL],
         "the CRL of the PCK Processor or Platform CA; pck_ca_crl.pem may stand in for it"},
    };
    /* An empty file counts as missing for required pieces (build says so); an empty optional
     * signature would silently turn into "no signature", so it is an error here. */
    if ((data[TCB_SIG] && lens[TCB_SIG] == 0) || (data[QE_SIG] && lens[QE_SIG] == 0)) {
        const char *f = data[TCB_SIG] && lens[TCB_SIG] == 0 ? names[TCB_SIG] : names[QE_SIG];
        st = coll_fail(err, f, f, "is empty");
        goto out;
    }
    st = build(&ps, out, err);
out:
    for (size_t i = 0; i < NPIECES; i++) {
        free(data[i]);
    }
    free(bundle);
    return st;
}

/* ------------------------------------------------------------------------- info */

void ncsl_attest_collateral_get_info(const ncsl_sgx_collateral *c, ncsl_sgx_collateral_info *out) {
    if (!out) {
        return;
    }
    memset(out, 0, sizeof(*out));
    if (!c) {
        return;
    }
    memcpy(out->fmspc, c->tcb_info.fmspc, sizeof(out->fmspc));
    memcpy(out->pce_id, c->tcb_info.pce_id, sizeof(out->pce_id));
    out->tcb_info_version = c->tcb_info.version;
    out->tcb_eval_data_number = c->tcb_info.tcb_eval_data_number;
    out->tcb_info_issued = c->tcb_info.issue_date;
    out->tcb_info_next_update = c->tcb_info.next_update;
    out->qe_identity_issued = c->qe_identity.issue_date;
    out->qe_identity_next_update = c->qe_identity.next_update;
    out->root_crl_issued = c->root_crl_issued;
    out->root_crl_next_update = c->root_crl_next_update;
    out->pck_crl_issued = c->pck_crl_issued;
    out->pck_crl_next_update = c->pck_crl_next_update;
    X509_NAME *issuer = X509_CRL_get_issuer(c->pck_crl);
    int i = issuer ? X509_NAME_get_index_by_NID(issuer, NID_commonName, -1) : -1;
    if (i >= 0) {
        const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, i));
        int n = cn ? ASN1_STRING_length(cn) : 0;
        if (n > 0 && (size_t)n < sizeof(out->pck_crl_issuer_cn)) {
            memcpy(out->pck_crl_issuer_cn, ASN1_STRING_get0_data(cn), (size_t)n);
        }
    }
    int64_t from = out->tcb_info_issued;
    int64_t until = out->tcb_info_next_update;
    const int64_t issued[] = {out->qe_identity_issued, out->root_crl_issued, out->pck_crl_issued};
    const int64_t nexts[] = {out->qe_identity_next_update, out->root_crl_next_update,
                             out->pck_crl_next_update};
    for (size_t k = 0; k < NCSL_ARRAY_LEN(issued); k++) {
        from = issued[k] > from ? issued[k] : from;
        until = nexts[k] < until ? nexts[k] : until;
    }
    /* The signing certificates must be valid too. */
    X509 *signers[] = {sk_X509_value(c->tcb_chain, 0), sk_X509_value(c->qe_chain, 0)};
    for (size_t k = 0; k < NCSL_ARRAY_LEN(signers); k++) {
        int64_t nb = 0;
        int64_t na = 0;
        if (signers[k] && ncsl__attest_asn1_epoch(X509_get0_notBefore(signers[k]), &nb) &&
            ncsl__attest_asn1_epoch(X509_get0_notAfter(signers[k]), &na)) {
            from = nb > from ? nb : from;
            until = na < until ? na : until;
        }
    }
    out->valid_from = from;
    out->valid_until = until;
    ERR_clear_error();
}
