/*
 * Neo N3 account helpers (REFERENCE.md section 4): the single-signature verification script of a
 * public key, its script hash (RIPEMD160 of SHA-256) and the Base58Check address.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "receipt/receipt.h"

void ncsl_receipt_neo_verification_script(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE],
                                          uint8_t out[NCSL_NEO_VERIFICATION_SCRIPT_SIZE]) {
    /* PUSHDATA1 0x21 <pub>; SYSCALL 0x41 with the interop hash of System.Crypto.CheckSig. */
    static const uint8_t checksig[5] = {0x41, 0x56, 0xE7, 0xB3, 0x27};
    out[0] = 0x0C;
    out[1] = 0x21;
    memcpy(out + 2, pub, NCSL_KEYS_P256_PUB_SIZE);
    memcpy(out + 2 + NCSL_KEYS_P256_PUB_SIZE, checksig, sizeof(checksig));
}

ncsl_status ncsl_receipt_neo_script_hash(const uint8_t *script, size_t len,
                                         uint8_t out[NCSL_NEO_SCRIPT_HASH_SIZE], ncsl_err *err) {
    uint8_t sha[32];
    unsigned int n = 0;
    ncsl_status st;
    if ((!script && len) || !out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, out ? "script" : "out", "NULL buffer");
    }
    if ((st = ncsl_crypto_sha256(script, len, sha, err)) != NCSL_OK) {
        return st;
    }
    /* Fetched per call: no global state, and the provider caches the implementation. */
    EVP_MD *md = EVP_MD_fetch(NULL, "RIPEMD160", NULL);
    if (!md) {
        ERR_clear_error();
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, NULL,
                            "this OpenSSL has no RIPEMD160 in its default provider (needed for "
                            "Neo script hashes; OpenSSL 3.0.7 and later have it)");
    }
    if (EVP_Digest(sha, sizeof(sha), out, &n, md, NULL) != 1 || n != NCSL_NEO_SCRIPT_HASH_SIZE) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "RIPEMD160 failed");
    }
    EVP_MD_free(md);
    ERR_clear_error();
    return st;
}

/* Base58 (Bitcoin alphabet) of `len` bytes (borrowed) into `out` (out_size bytes, NUL
 * terminated). false when it does not fit. */
static bool base58(const uint8_t *in, size_t len, char *out, size_t out_size) {
    static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    uint8_t digits[64]; /* base-58 digits, least significant first; 25 bytes need 35 */
    size_t nd = 0, zeros = 0;
    if (len > 40) {
        return false;
    }
    while (zeros < len && in[zeros] == 0) {
        zeros++;
    }
    for (size_t i = zeros; i < len; i++) {
        unsigned carry = in[i];
        for (size_t k = 0; k < nd; k++) {
            carry += (unsigned)digits[k] << 8;
            digits[k] = (uint8_t)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            if (nd == sizeof(digits)) {
                return false;
            }
            digits[nd++] = (uint8_t)(carry % 58);
            carry /= 58;
        }
    }
    if (zeros + nd + 1 > out_size) {
        return false;
    }
    size_t o = 0;
    for (size_t i = 0; i < zeros; i++) {
        out[o++] = '1';
    }
    while (nd > 0) {
        out[o++] = alphabet[digits[--nd]];
    }
    out[o] = '\0';
    return true;
}

ncsl_status ncsl_receipt_neo_address_from_script_hash(const uint8_t hash[NCSL_NEO_SCRIPT_HASH_SIZE],
                                                      char out[NCSL_NEO_ADDRESS_SIZE],
                                                      ncsl_err *err) {
    uint8_t payload[1 + NCSL_NEO_SCRIPT_HASH_SIZE + 4];
    uint8_t h1[32], h2[32];
    ncsl_status st;
    if (!hash || !out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, hash ? "out" : "hash", "NULL buffer");
    }
    payload[0] = NCSL_NEO_ADDRESS_VERSION;
    memcpy(payload + 1, hash, NCSL_NEO_SCRIPT_HASH_SIZE);
    /* Checksum: the first 4 bytes of SHA-256(SHA-256(version || hash)). */
    if ((st = ncsl_crypto_sha256(payload, 1 + NCSL_NEO_SCRIPT_HASH_SIZE, h1, err)) != NCSL_OK ||
        (st = ncsl_crypto_sha256(h1, sizeof(h1), h2, err)) != NCSL_OK) {
        return st;
    }
    memcpy(payload + 1 + NCSL_NEO_SCRIPT_HASH_SIZE, h2, 4);
    if (!base58(payload, sizeof(payload), out, NCSL_NEO_ADDRESS_SIZE)) {
        return ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "Base58 output does not fit");
    }
    return NCSL_OK;
}

ncsl_status ncsl_receipt_neo_address(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE],
                                     char out[NCSL_NEO_ADDRESS_SIZE], ncsl_err *err) {
    uint8_t script[NCSL_NEO_VERIFICATION_SCRIPT_SIZE];
    uint8_t hash[NCSL_NEO_SCRIPT_HASH_SIZE];
    ncsl_status st;
    if (!pub || !out) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, pub ? "out" : "pub", "NULL buffer");
    }
    if ((st = ncsl_keys_p256_validate(pub, err)) != NCSL_OK) {
        return st;
    }
    ncsl_receipt_neo_verification_script(pub, script);
    if ((st = ncsl_receipt_neo_script_hash(script, sizeof(script), hash, err)) != NCSL_OK) {
        return st;
    }
    return ncsl_receipt_neo_address_from_script_hash(hash, out, err);
}
