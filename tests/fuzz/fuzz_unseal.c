/*
 * Fuzz target `unseal`: sealed-blob header parsing (ncsl_seal_blob_info) and unsealing
 * (ncsl_unseal) with a fixed root key and label. The seed corpus holds real blobs sealed with
 * them (gen_unseal_corpus.c), so mutations start past the header and the GCM check.
 */
#include <stdint.h>

#include "crypto/seal.h"
#include "fuzz.h"
#include "fuzz_seal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ncsl_err err;
    ncsl_seal_info info;
    ncsl_status info_st = ncsl_seal_blob_info(data, size, &info, &err);
    if (info_st == NCSL_OK) {
        NCSL_FUZZ_CHECK(size >= NCSL_SEAL_OVERHEAD);
        NCSL_FUZZ_CHECK(info.plain_len == size - NCSL_SEAL_OVERHEAD);
        NCSL_FUZZ_CHECK(info.version == NCSL_SEAL_VERSION);
        NCSL_FUZZ_CHECK(info.policy == NCSL_SEAL_POLICY_MRENCLAVE ||
                        info.policy == NCSL_SEAL_POLICY_MRSIGNER);
    }

    uint8_t *plain = NULL;
    size_t plain_len = 0;
    ncsl_status st = ncsl_unseal(g_ncsl_fuzz_seal_root, sizeof(g_ncsl_fuzz_seal_root),
                                 NCSL_FUZZ_SEAL_LABEL, data, size, &plain, &plain_len, &err);
    if (st == NCSL_OK) {
        NCSL_FUZZ_CHECK(info_st == NCSL_OK && plain != NULL);
        NCSL_FUZZ_CHECK(plain_len == info.plain_len);
        NCSL_FUZZ_CHECK(plain[plain_len] == '\0');
        ncsl_unseal_free(plain, plain_len);
    } else {
        NCSL_FUZZ_CHECK(plain == NULL && plain_len == 0);
        /* A header that ncsl_seal_blob_info rejects is rejected the same way here. */
        NCSL_FUZZ_CHECK(info_st == NCSL_OK || st == info_st);
    }
    return 0;
}
