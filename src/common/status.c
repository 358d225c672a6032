/* Status codes: API code strings, descriptions and HTTP mapping (one table, one place). */
#include <stdio.h>
#include <string.h>

#include "common.h"

typedef struct status_info {
    ncsl_status st;
    const char *code; /* the API's error code (REFERENCE.md section 5) */
    const char *text;
    int http;
} status_info;

/* Execution failures caused by the function itself are 422: the request was well-formed, the
 * function failed. Limits the caller broke before running (body too large) are 413. */
static const status_info g_status_table[] = {
    {NCSL_OK, "OK", "success", 200},
    {NCSL_E_INVALID_ARG, "VALIDATION_ERROR", "invalid argument", 400},
    {NCSL_E_NOMEM, "INTERNAL_ERROR", "out of memory", 500},
    {NCSL_E_IO, "INTERNAL_ERROR", "input/output error", 500},
    {NCSL_E_INTERNAL, "INTERNAL_ERROR", "internal error", 500},
    {NCSL_E_BUSY, "SERVICE_UNAVAILABLE", "server busy, retry later", 503},
    {NCSL_E_SHUTDOWN, "SERVICE_UNAVAILABLE", "shutting down", 503},
    {NCSL_E_NOT_FOUND, "NOT_FOUND", "not found", 404},
    {NCSL_E_UNSUPPORTED, "UNSUPPORTED", "not supported", 501},
    {NCSL_E_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "payload too large", 413},
    {NCSL_E_CONFIG, "CONFIG_ERROR", "invalid configuration", 500},
    {NCSL_E_JS_EXCEPTION, "EXECUTION_ERROR", "the function threw an error", 422},
    {NCSL_E_JS_TIMEOUT, "TIMEOUT", "the function ran past its time limit", 422},
    {NCSL_E_JS_MEMORY, "MEMORY_LIMIT", "the function ran out of its memory limit", 422},
    {NCSL_E_JS_STACK, "STACK_OVERFLOW", "the function overflowed its stack limit", 422},
    {NCSL_E_JS_OUTPUT_TOO_LARGE, "OUTPUT_TOO_LARGE", "the function's result is too large", 422},
    {NCSL_E_JS_SYNTAX, "SYNTAX_ERROR", "the function's code does not parse", 400},
    {NCSL_E_JS_NO_MAIN, "VALIDATION_ERROR", "the code defines no function main", 400},
    {NCSL_E_JS_GAS, "GAS_LIMIT_EXCEEDED", "the function used more gas than its gas limit", 422},
    {NCSL_E_JS_BAD_RESULT, "EXECUTION_ERROR", "the function's result is not JSON-serializable",
     422},
    {NCSL_E_ATTEST_MALFORMED, "ATTESTATION_FAILED", "the attestation quote is malformed", 422},
    {NCSL_E_ATTEST_UNSUPPORTED, "ATTESTATION_FAILED", "the attestation quote type is not supported",
     422},
    {NCSL_E_ATTEST_SIGNATURE, "ATTESTATION_FAILED",
     "an attestation quote signature does not verify", 422},
    {NCSL_E_ATTEST_CHAIN, "ATTESTATION_FAILED",
     "the attestation certificate chain does not verify to the pinned root", 422},
    {NCSL_E_ATTEST_COLLATERAL, "ATTESTATION_FAILED",
     "the attestation collateral is missing, malformed, not Intel's or for another platform", 422},
    {NCSL_E_ATTEST_COLLATERAL_EXPIRED, "ATTESTATION_FAILED",
     "the attestation collateral is outside its validity window", 422},
    {NCSL_E_ATTEST_REVOKED, "ATTESTATION_FAILED",
     "an attestation certificate or the platform's TCB level is revoked", 422},
    {NCSL_E_ATTEST_TCB, "ATTESTATION_FAILED",
     "the platform's TCB or Quoting Enclave is not covered by the collateral", 422},
    {NCSL_E_CRYPTO, "INTERNAL_ERROR", "a cryptographic operation failed", 500},
    {NCSL_E_SEAL_MALFORMED, "INTERNAL_ERROR", "sealed data is malformed", 500},
    {NCSL_E_SEAL_VERSION, "INTERNAL_ERROR", "sealed data has an unknown format version", 500},
    {NCSL_E_SEAL_POLICY, "INTERNAL_ERROR", "sealed data names an unknown sealing policy", 500},
    {NCSL_E_SEAL_INTEGRITY, "INTERNAL_ERROR", "sealed data failed authentication", 500},
    {NCSL_E_TEE, "TEE_ERROR", "a trusted execution environment operation failed", 500},
    {NCSL_E_TEE_INSECURE_FILE, "TEE_ERROR",
     "a TEE state file is unsafe (permissions, type or size)", 500},
    {NCSL_E_TEE_STATE, "TEE_ERROR", "the TEE state on disk is incomplete or corrupt", 500},
    {NCSL_E_TEE_UNAVAILABLE, "SERVICE_UNAVAILABLE",
     "the TEE's quoting service is not ready or busy, retry later", 503},
    {NCSL_E_KEYS_STATE, "TEE_ERROR",
     "the sealed enclave identity keys cannot be used (tampered, foreign or corrupt)", 500},
    {NCSL_E_KEY_INVALID, "VALIDATION_ERROR", "a public key is invalid", 400},
    {NCSL_E_SIGNATURE_INVALID, "SIGNATURE_INVALID", "a signature does not verify", 422},
    {NCSL_E_PROOF_MALFORMED, "VALIDATION_ERROR", "the attestation proof is malformed", 400},
    {NCSL_E_PROOF_INVALID, "ATTESTATION_FAILED", "the attestation proof was rejected", 422},
    {NCSL_E_RECEIPT_MALFORMED, "VALIDATION_ERROR", "the receipt is malformed", 400},
    {NCSL_E_RECEIPT_INVALID, "RECEIPT_INVALID", "the receipt does not verify", 422},
    {NCSL_E_STORE, "INTERNAL_ERROR", "a database operation failed", 500},
    {NCSL_E_STORE_INTEGRITY, "INTEGRITY_ERROR",
     "stored data failed its integrity check (tampered with or corrupt)", 500},
    {NCSL_E_STORE_CONFLICT, "CONFLICT", "the record already exists", 409},
    {NCSL_E_STORE_QUOTA, "QUOTA_EXCEEDED", "a storage quota or count limit would be exceeded", 413},
    {NCSL_E_STORE_SCHEMA, "INTERNAL_ERROR",
     "the database is not an NCSL database or has an unknown schema", 500},
    {NCSL_E_STORE_FOREIGN, "INTERNAL_ERROR",
     "the database was sealed by another installation or enclave", 500},
    {NCSL_E_STORE_FULL, "INSUFFICIENT_STORAGE",
     "the disk holding the database is full: nothing was written", 507},
};

static const status_info *status_find(ncsl_status st) {
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_status_table); i++) {
        if (g_status_table[i].st == st) {
            return &g_status_table[i];
        }
    }
    return NULL;
}

const char *ncsl_status_code(ncsl_status st) {
    const status_info *i = status_find(st);
    return i ? i->code : "INTERNAL_ERROR";
}

const char *ncsl_status_str(ncsl_status st) {
    const status_info *i = status_find(st);
    return i ? i->text : "unknown status";
}

int ncsl_status_http(ncsl_status st) {
    const status_info *i = status_find(st);
    return i ? i->http : 500;
}

const char *ncsl_version(void) {
    return NCSL_VERSION;
}

const char *ncsl_quickjs_version(void) {
    return NCSL_QJS_VERSION;
}

ncsl_status ncsl_err_set(ncsl_err *err, ncsl_status code, const char *field, const char *fmt, ...) {
    if (err) {
        err->code = code;
        snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

void ncsl_err_clear(ncsl_err *err) {
    if (err) {
        err->code = NCSL_OK;
        err->field[0] = '\0';
        err->message[0] = '\0';
    }
}
