/*
 * OpenSSL helpers for quote verification: raw P-256 keys and signatures (the quote's encoding)
 * to OpenSSL's, the PEM chain reader, the PCK SGX extension, and the built-in Intel root.
 */
#include <limits.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include "attest_int.h"

/*
 * Intel SGX Root CA, the current certificate (valid 2018-05-21 to 2049-12-31, SHA-256
 * fingerprint 44:A0:19:6B:2B:99:F8:89:B8:E1:49:E9:5B:80:7A:35:0E:74:24:96:43:99:E8:85:A7:CB:B8:CC:
 * FA:B6:74:D3). A public certificate, published by Intel at
 * https://certificates.trustedservices.intel.com/Intel_SGX_Provisioning_Certification_RootCA.pem
 */
static const char g_intel_sgx_root_ca_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw\n"
    "aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv\n"
    "cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ\n"
    "BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG\n"
    "A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0\n"
    "aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT\n"
    "AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7\n"
    "1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB\n"
    "uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ\n"
    "MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50\n"
    "ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV\n"
    "Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI\n"
    "KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg\n"
    "AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=\n"
    "-----END CERTIFICATE-----\n";

const char *ncsl_attest_intel_root_ca_pem(size_t *len) {
    if (len) {
        *len = sizeof(g_intel_sgx_root_ca_pem) - 1;
    }
    return g_intel_sgx_root_ca_pem;
}

EVP_PKEY *ncsl__attest_p256_from_raw(const uint8_t xy[64]) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY_CTX *check = NULL;
    uint8_t point[65];
    char group[] = "prime256v1";

    point[0] = 0x04; /* uncompressed */
    memcpy(point + 1, xy, 64);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)),
        OSSL_PARAM_construct_end(),
    };
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
        goto out;
    }
    /* fromdata already rejects points off the curve; check again, explicitly. */
    check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (!check || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
        goto out;
    }
out:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return pkey;
}

bool ncsl__attest_pkey_is_p256(const EVP_PKEY *pkey) {
    char name[64];
    size_t name_len = 0;
    if (!pkey || !EVP_PKEY_is_a(pkey, "EC")) {
        return false;
    }
    if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &name_len) != 1) {
        ERR_clear_error();
        return false;
    }
    return strcmp(name, "prime256v1") == 0;
}

int ncsl__attest_ecdsa_verify_raw(EVP_PKEY *pkey, const uint8_t *msg, size_t msg_len,
                                  const uint8_t rs[64]) {
    int rc = -1;
    ECDSA_SIG *sig = NULL;
    BIGNUM *r = NULL;
    BIGNUM *s = NULL;
    unsigned char *der = NULL;
    EVP_MD_CTX *mctx = NULL;

    sig = ECDSA_SIG_new();
    r = BN_bin2bn(rs, 32, NULL);
    s = BN_bin2bn(rs + 32, 32, NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        goto out;
    }
    r = NULL; /* owned by sig now */
    s = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    if (der_len <= 0) {
        goto out;
    }
    mctx = EVP_MD_CTX_new();
    if (!mctx || EVP_DigestVerifyInit(mctx, NULL, EVP_sha256(), NULL, pkey) != 1) {
        goto out;
    }
    /* 1 is a valid signature; anything else (0, or < 0 for r or s out of range) is not. */
    rc = EVP_DigestVerify(mctx, der, (size_t)der_len, msg, msg_len) == 1 ? 1 : 0;
out:
    EVP_MD_CTX_free(mctx);
    OPENSSL_free(der);
    BN_free(s);
    BN_free(r);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return rc;
}

/*
 * Reads one "CERTIFICATE" PEM block strictly: no headers (so never an encrypted block, never a
 * pass-phrase prompt), and the base64 body must be exactly one DER certificate with no bytes
 * after it. Returns the certificate (caller frees with X509_free), or NULL with *end set when
 * the input has no further block, or NULL with *end clear on a malformed block.
 */
static X509 *read_one_cert(BIO *bio, bool *end) {
    char *name = NULL;
    char *header = NULL;
    unsigned char *data = NULL;
    long data_len = 0;
    X509 *cert = NULL;

    *end = false;
    ERR_clear_error();
    if (PEM_read_bio(bio, &name, &header, &data, &data_len) != 1) {
        unsigned long e = ERR_peek_last_error();
        *end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
        goto out;
    }
    if (strcmp(name, PEM_STRING_X509) != 0 || header[0] != '\0' || data_len <= 0) {
        goto out;
    }
    const unsigned char *p = data;
    cert = d2i_X509(NULL, &p, data_len);
    if (cert && p != data + data_len) { /* trailing bytes after the certificate */
        X509_free(cert);
        cert = NULL;
    }
out:
    OPENSSL_free(data);
    OPENSSL_free(header);
    OPENSSL_free(name);
    ERR_clear_error();
    return cert;
}

bool ncsl__attest_pem_chain_parse(const char *pem, size_t len, STACK_OF(X509) * *out, char *why,
                                  size_t why_size) {
    bool ok = false;
    BIO *bio = NULL;
    STACK_OF(X509) *certs = NULL;
    X509 *cert = NULL;
    const int max_certs = 3;

    *out = NULL;
    if (len == 0 || len > INT_MAX) {
        snprintf(why, why_size, "certificate data size %zu is out of range", len);
        goto out;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    certs = sk_X509_new_null();
    if (!bio || !certs) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    for (;;) {
        bool end = false;
        cert = read_one_cert(bio, &end);
        if (!cert) {
            if (end) {
                break; /* no more certificates */
            }
            snprintf(why, why_size, "certificate %d does not parse", sk_X509_num(certs) + 1);
            goto out;
        }
        if (sk_X509_num(certs) >= max_certs) {
            snprintf(why, why_size, "more than %d certificates", max_certs);
            goto out;
        }
        if (!sk_X509_push(certs, cert)) {
            snprintf(why, why_size, "out of memory");
            goto out;
        }
        cert = NULL;
    }
    if (sk_X509_num(certs) != max_certs) {
        snprintf(why, why_size, "%d certificates instead of 3 (leaf, intermediate CA, root CA)",
                 sk_X509_num(certs));
        goto out;
    }
    *out = certs;
    certs = NULL;
    ok = true;
out:
    X509_free(cert);
    sk_X509_pop_free(certs, X509_free);
    BIO_free(bio);
    ERR_clear_error();
    return ok;
}

bool ncsl__attest_pck_fmspc(X509 *cert, uint8_t fmspc[6]) {
    bool ok = false;
    ASN1_OBJECT *sgx_oid = NULL;
    ASN1_OBJECT *fmspc_oid = NULL;
    STACK_OF(ASN1_TYPE) *outer = NULL;
    STACK_OF(ASN1_TYPE) *inner = NULL;

    sgx_oid = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
    fmspc_oid = OBJ_txt2obj("1.2.840.113741.1.13.1.4", 1);
    if (!sgx_oid || !fmspc_oid) {
        goto out;
    }
    int idx = X509_get_ext_by_OBJ(cert, sgx_oid, -1);
    X509_EXTENSION *ext = idx >= 0 ? X509_get_ext(cert, idx) : NULL;
    ASN1_OCTET_STRING *data = ext ? X509_EXTENSION_get_data(ext) : NULL;
    if (!data) {
        goto out;
    }
    const unsigned char *p = ASN1_STRING_get0_data(data);
    outer = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(data));
    if (!outer) {
        goto out;
    }
    for (int i = 0; i < sk_ASN1_TYPE_num(outer) && !ok; i++) {
        const ASN1_TYPE *t = sk_ASN1_TYPE_value(outer, i);
        if (t->type != V_ASN1_SEQUENCE) {
            continue;
        }
        const unsigned char *q = ASN1_STRING_get0_data(t->value.sequence);
        inner = d2i_ASN1_SEQUENCE_ANY(NULL, &q, ASN1_STRING_length(t->value.sequence));
        if (inner && sk_ASN1_TYPE_num(inner) == 2) {
            const ASN1_TYPE *k = sk_ASN1_TYPE_value(inner, 0);
            const ASN1_TYPE *v = sk_ASN1_TYPE_value(inner, 1);
            if (k->type == V_ASN1_OBJECT && OBJ_cmp(k->value.object, fmspc_oid) == 0 &&
                v->type == V_ASN1_OCTET_STRING && ASN1_STRING_length(v->value.octet_string) == 6) {
                memcpy(fmspc, ASN1_STRING_get0_data(v->value.octet_string), 6);
                ok = true;
            }
        }
        sk_ASN1_TYPE_pop_free(inner, ASN1_TYPE_free);
        inner = NULL;
    }
out:
    sk_ASN1_TYPE_pop_free(inner, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(outer, ASN1_TYPE_free);
    ASN1_OBJECT_free(fmspc_oid);
    ASN1_OBJECT_free(sgx_oid);
    ERR_clear_error();
    return ok;
}
