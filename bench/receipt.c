/*
 * Receipt benchmark: microseconds to sign one receipt (copy the fields, encode, SHA-256, ECDSA
 * P-256, low-S) and to verify one (encode, decompress the key, ECDSA verify), each timed per
 * operation; plus the JSON paths an API uses (sign + render, parse + verify). Prints the median
 * and the 10th/90th percentiles of --runs timed operations after a warm-up.
 *
 *   build/release/bench/ncsl_bench_receipt [--runs N]
 */
#include "receipt/receipt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "bench_stats.h"
#include "common/common.h"
#include "crypto/crypto.h"
#include "keys/keys.h"

static void report(const char *name, double *v, int n) {
    bench_sort(v, (size_t)n);
    printf("%-22s %10.2f %10.2f %10.2f\n", name, v[n / 2], v[n / 10], v[n - 1 - n / 10]);
}

static bool fill_input(ncsl_receipt_input *in, int i, char *id, size_t id_size) {
    memset(in, 0, sizeof(*in));
    snprintf(id, id_size, "00000000-0000-4000-8000-%012d", i);
    in->execution_id = id;
    in->function_id = "price-oracle";
    in->user_id = "user-42";
    in->timestamp_ms = 1795532400123ull + (uint64_t)i;
    return ncsl_crypto_sha256("function main(input) { return input; }", 39, in->code_hash, NULL) ==
               NCSL_OK &&
           ncsl_crypto_sha256(id, strlen(id), in->input_hash, NULL) == NCSL_OK &&
           ncsl_crypto_sha256("{\"ok\":true}", 11, in->output_hash, NULL) == NCSL_OK;
}

int main(int argc, char **argv) {
    int runs = 5001;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--runs N]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 10 || runs > 1000000) {
        fprintf(stderr, "--runs must be 10..1000000\n");
        return 2;
    }
    ncsl_keys *keys = NULL;
    ncsl_err err;
    if (ncsl_keys_create_ephemeral(NULL, &keys, &err) != NCSL_OK) {
        fprintf(stderr, "keys: %s\n", err.message);
        return 1;
    }
    double *sign = calloc((size_t)runs, sizeof(double));
    double *verify = calloc((size_t)runs, sizeof(double));
    double *sign_json = calloc((size_t)runs, sizeof(double));
    double *verify_json = calloc((size_t)runs, sizeof(double));
    int rc = 1;
    if (!sign || !verify || !sign_json || !verify_json) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    for (int i = -200; i < runs; i++) { /* the first 200 are a warm-up */
        char id[64];
        ncsl_receipt_input in;
        ncsl_receipt r;
        json_t *j = NULL;
        if (!fill_input(&in, i < 0 ? -i : i, id, sizeof(id))) {
            fprintf(stderr, "sha256 failed\n");
            goto out;
        }

        uint64_t t0 = ncsl_now_ns();
        ncsl_status st = ncsl_receipt_sign(keys, &in, &r, &err);
        uint64_t t1 = ncsl_now_ns();
        if (st != NCSL_OK) {
            fprintf(stderr, "sign: %s\n", err.message);
            goto out;
        }
        st = ncsl_receipt_verify(&r, NULL, &err);
        uint64_t t2 = ncsl_now_ns();
        if (st != NCSL_OK) {
            fprintf(stderr, "verify: %s\n", err.message);
            ncsl_receipt_cleanup(&r);
            goto out;
        }
        st = ncsl_receipt_to_json(&r, &j, &err);
        uint64_t t3 = ncsl_now_ns();
        ncsl_receipt_cleanup(&r);
        if (st != NCSL_OK) {
            fprintf(stderr, "json: %s\n", err.message);
            goto out;
        }
        st = ncsl_receipt_verify_json(j, NULL, NULL, &err);
        uint64_t t4 = ncsl_now_ns();
        json_decref(j);
        if (st != NCSL_OK) {
            fprintf(stderr, "verify json: %s\n", err.message);
            goto out;
        }
        if (i >= 0) {
            sign[i] = (double)(t1 - t0) / 1000.0;
            verify[i] = (double)(t2 - t1) / 1000.0;
            sign_json[i] = (double)(t3 - t0 - (t2 - t1)) / 1000.0;
            verify_json[i] = (double)(t4 - t3) / 1000.0;
        }
    }
    printf("ncsl %s, %s; %d timed operations each, microseconds\n", ncsl_version(),
           OpenSSL_version(OPENSSL_VERSION), runs);
    printf("%-22s %10s %10s %10s\n", "operation", "median", "p10", "p90");
    report("sign", sign, runs);
    report("verify", verify, runs);
    report("sign + to JSON", sign_json, runs);
    report("verify from JSON", verify_json, runs);
    rc = 0;
out:
    free(sign);
    free(verify);
    free(sign_json);
    free(verify_json);
    ncsl_keys_destroy(keys);
    return rc;
}
