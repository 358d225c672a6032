/*
 * Fuzz target `collateral`: the DCAP collateral loader (src/attest/collateral.c) on an untrusted
 * bundle (Phala's sgx_quote_collateral.json layout): the signed-range scanner, the TCB info and
 * QE identity parsers, hex, CRLs and PEM chains. Loading checks no signature (verification
 * does), so every well-formed mutation must load and report sane info.
 */
#include <stdint.h>
#include <string.h>

#include "attest/attest.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ncsl_sgx_collateral *c = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_attest_collateral_create_bundle(data, size, &c, &err);
    if (st == NCSL_OK) {
        NCSL_FUZZ_CHECK(c != NULL);
        ncsl_sgx_collateral_info info;
        memset(&info, 0, sizeof(info));
        ncsl_attest_collateral_get_info(c, &info);
        NCSL_FUZZ_CHECK(info.tcb_info_version == 2 || info.tcb_info_version == 3);
        ncsl_attest_collateral_destroy(c);
    } else {
        NCSL_FUZZ_CHECK(c == NULL);
        NCSL_FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
    }
    return 0;
}
