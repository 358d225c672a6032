/*
 * Fuzz target `receipt`: the receipt parser and verifier (src/receipt) on untrusted receipt JSON.
 * Seeds are real receipts from ncsld, so mutations start from valid signatures. A receipt that
 * parses must survive a round trip (to JSON and back: same fields, same signed bytes), and a
 * verified one must still verify after the round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "receipt/receipt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ncsl_receipt r;
    memset(&r, 0, sizeof(r));
    ncsl_err err;
    ncsl_status st = ncsl_receipt_verify_text((const char *)data, size, NULL, &r, &err);
    if (st != NCSL_OK && !r.execution_id) {
        return 0; /* did not parse: nothing more to check */
    }
    json_t *j = NULL;
    NCSL_FUZZ_CHECK(ncsl_receipt_to_json(&r, &j, &err) == NCSL_OK);
    ncsl_receipt back;
    memset(&back, 0, sizeof(back));
    NCSL_FUZZ_CHECK(ncsl_receipt_from_json(j, &back, &err) == NCSL_OK);
    uint8_t *m1 = NULL;
    uint8_t *m2 = NULL;
    size_t l1 = 0;
    size_t l2 = 0;
    NCSL_FUZZ_CHECK(ncsl_receipt_encode(&r, &m1, &l1, &err) == NCSL_OK);
    NCSL_FUZZ_CHECK(ncsl_receipt_encode(&back, &m2, &l2, &err) == NCSL_OK);
    NCSL_FUZZ_CHECK(l1 == l2 && memcmp(m1, m2, l1) == 0);
    NCSL_FUZZ_CHECK(memcmp(r.signature, back.signature, sizeof(r.signature)) == 0);
    NCSL_FUZZ_CHECK((ncsl_receipt_verify(&back, NULL, &err) == NCSL_OK) == (st == NCSL_OK));
    free(m1);
    free(m2);
    json_decref(j);
    ncsl_receipt_cleanup(&back);
    ncsl_receipt_cleanup(&r);
    return 0;
}
