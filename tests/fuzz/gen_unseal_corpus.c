/*
 * Writes the seed corpus of the `unseal` fuzz target: real blobs sealed with ncsl_seal under the
 * target's root key and label (fuzz_seal.h), for both policies and several plaintext sizes, plus
 * one blob sealed for another label (it fails authentication). Run once by hand; the output is
 * committed in tests/fuzz/corpus/unseal/:
 *
 *   build/<dir>/tests/fuzz/gen_unseal_corpus tests/fuzz/corpus/unseal
 */
#include <stdio.h>
#include <string.h>

#include "crypto/seal.h"
#include "fuzz_seal.h"

typedef struct seed {
    const char *file;
    ncsl_seal_policy policy;
    const char *label;
    const char *plain;
} seed;

static int write_file(const char *dir, const char *name, const uint8_t *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return -1;
    }
    int rc = fwrite(data, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0) {
        rc = -1;
    }
    if (rc != 0) {
        fprintf(stderr, "%s: write failed\n", path);
    }
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
        return 2;
    }
    static const seed seeds[] = {
        {"sealed-mrenclave-empty.bin", NCSL_SEAL_POLICY_MRENCLAVE, NCSL_FUZZ_SEAL_LABEL, ""},
        {"sealed-mrenclave-text.bin", NCSL_SEAL_POLICY_MRENCLAVE, NCSL_FUZZ_SEAL_LABEL, "s3cr3t"},
        {"sealed-mrsigner-json.bin", NCSL_SEAL_POLICY_MRSIGNER, NCSL_FUZZ_SEAL_LABEL,
         "{\"API_KEY\":\"s3cr3t\",\"DB_PASSWORD\":\"hunter2\"}"},
        {"sealed-mrsigner-long.bin", NCSL_SEAL_POLICY_MRSIGNER, NCSL_FUZZ_SEAL_LABEL,
         "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
         "0123456789abcdef0123456789abcdef0123456789abcdef"},
        {"sealed-other-label.bin", NCSL_SEAL_POLICY_MRENCLAVE, "secret/other-user/API_KEY",
         "moved"},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        uint8_t *blob = NULL;
        size_t blob_len = 0;
        ncsl_err err;
        ncsl_status st = ncsl_seal(g_ncsl_fuzz_seal_root, sizeof(g_ncsl_fuzz_seal_root),
                                   seeds[i].policy, seeds[i].label, (const uint8_t *)seeds[i].plain,
                                   strlen(seeds[i].plain), &blob, &blob_len, &err);
        if (st != NCSL_OK) {
            fprintf(stderr, "%s: ncsl_seal: %s\n", seeds[i].file, err.message);
            rc = 1;
            continue;
        }
        if (write_file(argv[1], seeds[i].file, blob, blob_len) != 0) {
            rc = 1;
        }
        ncsl_seal_blob_free(blob);
    }
    return rc;
}
