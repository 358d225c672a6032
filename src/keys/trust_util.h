/*
 * Internal helpers shared by the three "trust" subsystems (keys, proof, receipt): strict JSON
 * field readers, canonical timestamps, strict base64 and UTF-8 checks. They live in ncsl_keys
 * because proof and receipt both link it. Not for other subsystems (candidates to move to
 * common/crypto once someone else needs them).
 *
 * Every JSON reader takes the status to report (NCSL_E_PROOF_MALFORMED,
 * NCSL_E_RECEIPT_MALFORMED) and sets ncsl_err.field to the JSON field name, so the caller's error
 * names what is wrong. Messages never repeat the field's value.
 */
#ifndef NCSL_KEYS_TRUST_UTIL_H
#define NCSL_KEYS_TRUST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ncsl/ncsl.h"

/* RFC 3339 UTC with exactly three fraction digits: "2026-11-24T15:00:00.123Z" (24 chars). */
#define NCSL__TRUST_TIME_LEN 24u
/* Last millisecond that format can hold: 9999-12-31T23:59:59.999Z. */
#define NCSL__TRUST_TIME_MAX_MS 253402300799999ull

/* `obj` must be a JSON object whose keys are all in `allowed` (n names); else `bad` with
 * field = the first unknown key (truncated to fit) or "" when `obj` is not an object. */
ncsl_status ncsl__trust_json_only_keys(const json_t *obj, const char *const *allowed, size_t n,
                                       ncsl_status bad, ncsl_err *err);

/* The member `name` of `obj` as a string: *s and *len borrowed from `obj` (UTF-8, no NUL bytes
 * inside), with min_len <= *len <= max_len bytes. Missing, not a string, NUL inside or wrong
 * length: `bad`, field = name. */
ncsl_status ncsl__trust_json_string(const json_t *obj, const char *name, size_t min_len,
                                    size_t max_len, const char **s, size_t *len, ncsl_status bad,
                                    ncsl_err *err);

/* The member `name` as lowercase hex of exactly `len` bytes, decoded into `out` (caller-owned).
 * Uppercase, odd length, wrong length or a non-hex character: `bad`, field = name. */
ncsl_status ncsl__trust_json_hex(const json_t *obj, const char *name, uint8_t *out, size_t len,
                                 ncsl_status bad, ncsl_err *err);

/* As ncsl__trust_json_hex for 0..max bytes ("" is zero bytes); *out_len gets the count. */
ncsl_status ncsl__trust_json_hex_var(const json_t *obj, const char *name, uint8_t *out, size_t max,
                                     size_t *out_len, ncsl_status bad, ncsl_err *err);

/* The member `name` as a JSON integer in [min, max]; `bad`, field = name otherwise. */
ncsl_status ncsl__trust_json_int(const json_t *obj, const char *name, long long min, long long max,
                                 long long *out, ncsl_status bad, ncsl_err *err);

/* The member `name` as a JSON boolean; `bad`, field = name otherwise. */
ncsl_status ncsl__trust_json_bool(const json_t *obj, const char *name, bool *out, ncsl_status bad,
                                  ncsl_err *err);

/* Sets `name` in `obj` to the lowercase hex of `len` bytes at `p`. false when out of memory. */
bool ncsl__trust_json_set_hex(json_t *obj, const char *name, const uint8_t *p, size_t len);

/* Wall clock, milliseconds since the Unix epoch (UTC). */
uint64_t ncsl__trust_now_ms(void);
/* Formats `ms` (<= NCSL__TRUST_TIME_MAX_MS) as above into `out` (caller-owned, >= 25 bytes).
 * false when out of range. */
bool ncsl__trust_time_format(uint64_t ms, char *out, size_t out_size);
/* Parses exactly the format above (len == 24, valid calendar date, no leap second) into *ms.
 * Anything else (other offsets, missing or extra fraction digits, lowercase t/z): false. */
bool ncsl__trust_time_parse(const char *s, size_t len, uint64_t *ms);

/* True when `len` bytes at `s` are well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF)
 * without NUL bytes. */
bool ncsl__trust_utf8_valid(const char *s, size_t len);

/* Standard base64 (RFC 4648 section 4, with padding, no line breaks). Returns a NUL-terminated
 * string the caller frees with free(), or NULL when out of memory. */
char *ncsl__trust_base64_encode(const uint8_t *p, size_t len);
/* Strict decoding of `len` characters at `s`: the standard alphabet only, length a multiple of
 * 4, padding only at the end, unused bits zero (so each byte string has one encoding). On
 * success *out (caller frees with free(); never NULL) holds *out_len bytes. Returns
 * NCSL_E_INVALID_ARG for bad input (message gives the offset), NCSL_E_NOMEM. */
ncsl_status ncsl__trust_base64_decode(const char *s, size_t len, uint8_t **out, size_t *out_len,
                                      ncsl_err *err);

#endif /* NCSL_KEYS_TRUST_UTIL_H */
