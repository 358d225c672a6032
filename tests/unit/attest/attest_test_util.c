/* Helpers shared by the collateral tests (attest_test_util.h). */
#include "attest_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#ifndef NCSL_SGX_TESTDATA
#error "NCSL_SGX_TESTDATA must name the testdata/sgx folder"
#endif

uint8_t *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t cap = 0;
    size_t n = 0;
    for (;;) {
        if (n + 1 >= cap) {
            cap = cap ? cap * 2 : 8192;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0) {
            break;
        }
        n += r;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

uint8_t *tu_read_collateral(const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof(path), "%s/collateral/%s", NCSL_SGX_TESTDATA, name);
    uint8_t *p = tu_read_file(path, len);
    if (!p) {
        fail_msg("cannot read test data %s", path);
    }
    return p;
}

uint8_t *tu_read_quote(const char *name, size_t *len) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", NCSL_SGX_TESTDATA, name);
    uint8_t *p = tu_read_file(path, len);
    if (!p) {
        fail_msg("cannot read test data %s", path);
    }
    return p;
}

int64_t tu_utc(int year, int month, int day, int hour, int min, int sec) {
    /* Days from the civil date (proleptic Gregorian), written independently of the library's. */
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    int64_t days = 0;
    for (int y = 1970; y < year; y++) {
        days += (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 366 : 365;
    }
    days += before[month - 1] + day - 1;
    if (month > 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) {
        days++;
    }
    return days * 86400 + hour * 3600 + min * 60 + sec;
}

char *tu_replace(const char *s, size_t len, const char *old, const char *repl, size_t *out_len) {
    size_t ol = strlen(old);
    size_t rl = strlen(repl);
    const char *hit = NULL;
    for (size_t i = 0; i + ol <= len; i++) {
        if (memcmp(s + i, old, ol) == 0) {
            hit = s + i;
            break;
        }
    }
    if (!hit) {
        fail_msg("tu_replace: \"%s\" not found", old);
    }
    size_t pre = (size_t)(hit - s);
    size_t n = len - ol + rl;
    char *out = malloc(n + 1);
    assert_non_null(out);
    memcpy(out, s, pre);
    memcpy(out + pre, repl, rl);
    memcpy(out + pre + rl, hit + ol, len - pre - ol);
    out[n] = '\0';
    if (out_len) {
        *out_len = n;
    }
    return out;
}

void tu_hex(const uint8_t *p, size_t n, char *out) {
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

char *tu_tcb_info_json(int version, const char *fmspc, const char *pce_id, const char *issue,
                       const char *next, const tu_level *levels, size_t n) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    fprintf(f, "{");
    if (version == 3) {
        fprintf(f, "\"id\":\"SGX\",");
    }
    fprintf(f,
            "\"version\":%d,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\",\"fmspc\":\"%s\","
            "\"pceId\":\"%s\",\"tcbType\":0,\"tcbEvaluationDataNumber\":17,\"tcbLevels\":[",
            version, issue, next, fmspc, pce_id);
    for (size_t i = 0; i < n; i++) {
        const tu_level *l = &levels[i];
        fprintf(f, "%s{\"tcb\":{", i ? "," : "");
        if (version == 3) {
            int nc = l->ncomp ? l->ncomp : 16;
            fprintf(f, "\"sgxtcbcomponents\":[");
            for (int k = 0; k < nc; k++) {
                fprintf(f, "%s{\"svn\":%u}", k ? "," : "", k < 16 ? l->comp[k] : 0u);
            }
            fprintf(f, "],");
        } else {
            for (int k = 0; k < 16; k++) {
                fprintf(f, "\"sgxtcbcomp%02dsvn\":%u,", k + 1, l->comp[k]);
            }
        }
        fprintf(f, "\"pcesvn\":%d},\"tcbDate\":\"2024-03-13T00:00:00Z\",\"tcbStatus\":\"%s\"",
                l->pcesvn, l->status);
        if (l->advisories) {
            fprintf(f, ",\"advisoryIDs\":%s", l->advisories);
        }
        fprintf(f, "}");
    }
    fprintf(f, "]}");
    assert_int_equal(fclose(f), 0);
    return buf;
}

char *tu_qe_identity_json(const char *id, const char *issue, const char *next,
                          const char *miscselect, const char *miscselect_mask,
                          const char *attributes, const char *attributes_mask, const char *mrsigner,
                          int isvprodid, const tu_qe_level *levels, size_t n) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    assert_non_null(f);
    fprintf(f,
            "{\"id\":\"%s\",\"version\":2,\"issueDate\":\"%s\",\"nextUpdate\":\"%s\","
            "\"tcbEvaluationDataNumber\":17,\"miscselect\":\"%s\",\"miscselectMask\":\"%s\","
            "\"attributes\":\"%s\",\"attributesMask\":\"%s\",\"mrsigner\":\"%s\","
            "\"isvprodid\":%d,\"tcbLevels\":[",
            id, issue, next, miscselect, miscselect_mask, attributes, attributes_mask, mrsigner,
            isvprodid);
    for (size_t i = 0; i < n; i++) {
        fprintf(f,
                "%s{\"tcb\":{\"isvsvn\":%d},\"tcbDate\":\"2024-03-13T00:00:00Z\","
                "\"tcbStatus\":\"%s\"",
                i ? "," : "", levels[i].isvsvn, levels[i].status);
        if (levels[i].advisories) {
            fprintf(f, ",\"advisoryIDs\":%s", levels[i].advisories);
        }
        fprintf(f, "}");
    }
    fprintf(f, "]}");
    assert_int_equal(fclose(f), 0);
    return buf;
}
