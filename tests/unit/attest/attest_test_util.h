/*
 * Helpers shared by the collateral tests: files, UTC times, and builders of TCB info and QE
 * identity JSON text (the builders write the same compact form Intel's PCS serves).
 */
#ifndef NCSL_ATTEST_TEST_UTIL_H
#define NCSL_ATTEST_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The whole file plus a NUL after it (not counted in *len); NULL when it cannot be read. Caller
 * frees with free(). */
uint8_t *tu_read_file(const char *path, size_t *len);
/* A file of the testdata's collateral/ folder; fails the test when missing. */
uint8_t *tu_read_collateral(const char *name, size_t *len);
/* A quote file of the testdata folder; fails the test when missing. */
uint8_t *tu_read_quote(const char *name, size_t *len);

/* Seconds since the epoch for a UTC date. */
int64_t tu_utc(int year, int month, int day, int hour, int min, int sec);

/* A malloc'd copy of `s` (length `len`) with the first `old` replaced by `repl`; fails the test
 * when `old` is not there. *out_len (may be NULL) gets the new length. */
char *tu_replace(const char *s, size_t len, const char *old, const char *repl, size_t *out_len);

/* Lowercase hex of `n` bytes into `out` (2n + 1 bytes). */
void tu_hex(const uint8_t *p, size_t n, char *out);

/* One level of a synthetic TCB info. */
typedef struct tu_level {
    uint8_t comp[16];
    int ncomp; /* components written (v3); 0 means 16 */
    int pcesvn;
    const char *status;
    const char *advisories; /* JSON array text such as ["INTEL-SA-1"], or NULL */
} tu_level;

/* Compact tcbInfo text (version 2 or 3). Caller frees with free(). */
char *tu_tcb_info_json(int version, const char *fmspc, const char *pce_id, const char *issue,
                       const char *next, const tu_level *levels, size_t n);

typedef struct tu_qe_level {
    int isvsvn;
    const char *status;
    const char *advisories;
} tu_qe_level;

/* Compact enclaveIdentity text (version 2). Caller frees with free(). */
char *tu_qe_identity_json(const char *id, const char *issue, const char *next,
                          const char *miscselect, const char *miscselect_mask,
                          const char *attributes, const char *attributes_mask, const char *mrsigner,
                          int isvprodid, const tu_qe_level *levels, size_t n);

#endif
