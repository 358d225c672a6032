/*
 * Fuzz target `proof`: the attestation-proof verifier (src/proof) on untrusted proof JSON. The
 * seeds are real simulation proofs of one throwaway installation whose "NCSL Simulation Root CA"
 * is pinned below with simulation allowed, so mutations that keep the quote intact reach the
 * checks after it (teeType, reportData binding, enclaveId, measurement). Time is fixed, so
 * results do not change with the clock.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "proof/proof.h"

#define FUZZ_PROOF_AT_TIME INT64_C(1798761600) /* 2027-01-01T00:00:00Z */

/* The seeds' installation root (a public certificate; its private key no longer exists). */
static const char kSimRoot[] = "-----BEGIN CERTIFICATE-----\n"
                               "MIIB0jCCAXmgAwIBAgIQbzhE4NtuuvjZ0lLSxHCaKjAKBggqhkjOPQQDAjBIMSAw\n"
                               "HgYDVQQDDBdOQ1NMIFNpbXVsYXRpb24gUm9vdCBDQTEkMCIGA1UECgwbTkNTTCBT\n"
                               "aW11bGF0aW9uIChub3QgSW50ZWwpMB4XDTI2MTEyNDE2NDIwMFoXDTM2MTEyMTE3\n"
                               "NDIwMFowSDEgMB4GA1UEAwwXTkNTTCBTaW11bGF0aW9uIFJvb3QgQ0ExJDAiBgNV\n"
                               "BAoMG05DU0wgU2ltdWxhdGlvbiAobm90IEludGVsKTBZMBMGByqGSM49AgEGCCqG\n"
                               "SM49AwEHA0IABFMGh/Q2H9DTS+4WM72+QUwHvNo0Rj5oVsnzjoPV1yXqHViIbyry\n"
                               "+ZrWEmusoCvcH1Sz+VpuJkIELdozE+jXmbSjRTBDMBIGA1UdEwEB/wQIMAYBAf8C\n"
                               "AQEwDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBSFqLdehDEjT9E4DGr1g77Peahn\n"
                               "dDAKBggqhkjOPQQDAgNHADBEAiBcYWhn5SdV7E7sV7e2OQMS/lvMGvi9Use2+ViB\n"
                               "DkEj/AIgMhGZf0A2S0cPDs9e2FrP3d6OsgwtbFpixPHHzcEt16Q=\n"
                               "-----END CERTIFICATE-----\n";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    ncsl_fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ncsl_proof_verify_opts opts;
    ncsl_proof_verify_opts_default(&opts);
    opts.quote.at_time = FUZZ_PROOF_AT_TIME;
    opts.quote.allow_simulation = true;
    opts.quote.simulation_root_pem = kSimRoot;
    opts.quote.simulation_root_pem_len = sizeof(kSimRoot) - 1;

    ncsl_proof_verdict v;
    ncsl_err err;
    ncsl_status st = ncsl_proof_verify_text((const char *)data, size, &opts, &v, &err);
    if (st == NCSL_OK) {
        /* Valid means every check passed, and nothing here can make a hardware verdict. */
        NCSL_FUZZ_CHECK(v.valid && v.failed_check == NCSL_PROOF_CHECK_NONE);
        NCSL_FUZZ_CHECK(v.quote.valid && v.quote.tee_kind == NCSL_ATTEST_TEE_SIMULATION);
        NCSL_FUZZ_CHECK(strcmp(v.tee_type, "simulation") == 0);
        NCSL_FUZZ_CHECK(v.report_data_matches && v.tee_type_matches && v.enclave_id_matches &&
                        v.measurement_matches);
    } else {
        NCSL_FUZZ_CHECK(!v.valid && v.failed_check != NCSL_PROOF_CHECK_NONE);
        NCSL_FUZZ_CHECK(v.reason[0] != '\0');
        NCSL_FUZZ_CHECK(v.quote.tee_kind != NCSL_ATTEST_TEE_SGX_HARDWARE || !v.quote.valid ||
                        v.failed_check != NCSL_PROOF_CHECK_QUOTE);
    }
    json_t *j = ncsl_proof_verdict_to_json(&v);
    NCSL_FUZZ_CHECK(j != NULL);
    json_decref(j);
    return 0;
}
