/*
 * Helpers shared by the TEE interface tests (test_tee_occlum_interface.c,
 * test_tee_gramine_interface.c). Every function asserts (cmocka) instead of returning errors.
 * The generic ones (temporary directories, files, a simulation TEE) are in ncsl_test_util.h.
 */
#ifndef NCSL_TEE_TEST_UTIL_H
#define NCSL_TEE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ncsl_test_util.h"
#include "tee/tee.h"

/* Writes `len` bytes to <dir>/<name>, replacing whatever is there (a FIFO too) by a new regular
 * file with mode 0600. */
void tt_write_file(const char *dir, const char *name, const void *data, size_t len);

/* Fills a 432-byte sgx_report_t the way EREPORT lays it out (body at 0: cpu_svn @0,
 * attributes @48, mr_enclave @64, mr_signer @128, isv_prod_id @256, isv_svn @258,
 * config_svn @260, report_data @320; key_id @384 and mac @416 get filler bytes). The offsets
 * are written out here from REFERENCE.md section 3, independently of the library's. */
void tt_make_report(const ncsl_tee_measurement *m, const uint8_t cpu_svn[16], uint16_t isv_prod_id,
                    uint16_t isv_svn, uint16_t config_svn, const uint8_t report_data[64],
                    uint8_t out[432]);

/* Asserts that `quote` verifies as a simulation quote of `sim`'s installation, carries
 * `report_data` and `sim`'s MRENCLAVE/MRSIGNER. */
void tt_assert_sim_quote(ncsl_tee *sim, const uint8_t *quote, size_t len,
                         const uint8_t report_data[64]);

/* HKDF-SHA256(ikm, no salt, info = prefix || policy byte) -> 32 bytes, for checking how the
 * backends expand a hardware sealing key. */
void tt_expected_seal_key(const uint8_t *ikm, size_t ikm_len, const char *prefix, uint8_t policy,
                          uint8_t out[32]);

#endif
