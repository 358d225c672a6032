/*
 * OpenSSL helpers for quote verification: raw P-256 keys and signatures (the quote's encoding)
 * to OpenSSL's, the PEM chain reader, the PCK SGX extension, the built-in Intel root, and UTC
 * time conversions for collateral.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

bool ncsl__attest_certs_parse(const uint8_t *data, size_t len, int max, STACK_OF(X509) * *out,
                              char *why, size_t why_size) {
    bool ok = false;
    BIO *bio = NULL;
    STACK_OF(X509) *certs = NULL;
    X509 *cert = NULL;

    *out = NULL;
    if (!data || len == 0 || len > INT_MAX) {
        snprintf(why, why_size, "no certificate data");
        goto out;
    }
    certs = sk_X509_new_null();
    if (!certs) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    if (data[0] == 0x30) { /* a DER SEQUENCE: exactly one certificate, nothing after it */
        const unsigned char *p = data;
        cert = d2i_X509(NULL, &p, (long)len);
        if (!cert || p != data + len) {
            snprintf(why, why_size, "not one DER certificate");
            goto out;
        }
        if (!sk_X509_push(certs, cert)) {
            snprintf(why, why_size, "out of memory");
            goto out;
        }
        cert = NULL;
    } else {
        bio = BIO_new_mem_buf(data, (int)len);
        if (!bio) {
            snprintf(why, why_size, "out of memory");
            goto out;
        }
        for (;;) {
            bool end = false;
            cert = read_one_cert(bio, &end);
            if (!cert) {
                if (end) {
                    break;
                }
                snprintf(why, why_size, "PEM certificate %d does not parse",
                         sk_X509_num(certs) + 1);
                goto out;
            }
            if (sk_X509_num(certs) >= max) {
                snprintf(why, why_size, "more than %d certificates", max);
                goto out;
            }
            if (!sk_X509_push(certs, cert)) {
                snprintf(why, why_size, "out of memory");
                goto out;
            }
            cert = NULL;
        }
        if (sk_X509_num(certs) == 0) {
            snprintf(why, why_size, "no PEM certificate");
            goto out;
        }
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

/* The SGX extension's OIDs all start with this; the suffix says which field. */
#define SGX_EXT_OID "1.2.840.113741.1.13.1"

/* The dotted text of `obj` after "SGX_EXT_OID." (e.g. "2.17"), or NULL for another OID. */
static const char *sgx_oid_suffix(const ASN1_OBJECT *obj, char *buf, size_t buf_size) {
    static const char prefix[] = SGX_EXT_OID ".";
    int n = OBJ_obj2txt(buf, (int)buf_size, obj, 1);
    if (n <= 0 || (size_t)n >= buf_size || strncmp(buf, prefix, sizeof(prefix) - 1) != 0) {
        return NULL;
    }
    return buf + sizeof(prefix) - 1;
}

/* An ASN1_TYPE that is a SEQUENCE, decoded (caller frees with sk_ASN1_TYPE_pop_free). */
static STACK_OF(ASN1_TYPE) * seq_of(const ASN1_TYPE *t) {
    if (!t || t->type != V_ASN1_SEQUENCE || !t->value.sequence) {
        return NULL;
    }
    const unsigned char *p = ASN1_STRING_get0_data(t->value.sequence);
    long n = ASN1_STRING_length(t->value.sequence);
    const unsigned char *end = p + n;
    STACK_OF(ASN1_TYPE) *s = d2i_ASN1_SEQUENCE_ANY(NULL, &p, n);
    if (s && p != end) {
        sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
        s = NULL;
    }
    return s;
}

/* Integer value of `t` in [0, max]. */
static bool int_in(const ASN1_TYPE *t, int64_t max, int64_t *v) {
    return t->type == V_ASN1_INTEGER && ASN1_INTEGER_get_int64(v, t->value.integer) == 1 &&
           *v >= 0 && *v <= max;
}

/* Entry `i` of an SGX extension SEQUENCE as an (OID, value) pair: returns the pair (the caller
 * frees it with sk_ASN1_TYPE_pop_free), with *val borrowed from it and *sfx the OID's suffix
 * under the SGX arc (in `oid`; NULL when outside the arc). NULL when the entry is not a pair. */
static STACK_OF(ASN1_TYPE) * oid_pair_at(STACK_OF(ASN1_TYPE) * seq, int i, const ASN1_TYPE **val,
                                         const char **sfx, char *oid, size_t oid_size) {
    STACK_OF(ASN1_TYPE) *pair = seq_of(sk_ASN1_TYPE_value(seq, i));
    if (!pair || sk_ASN1_TYPE_num(pair) != 2 ||
        sk_ASN1_TYPE_value(pair, 0)->type != V_ASN1_OBJECT) {
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        return NULL;
    }
    *val = sk_ASN1_TYPE_value(pair, 1);
    *sfx = sgx_oid_suffix(sk_ASN1_TYPE_value(pair, 0)->value.object, oid, oid_size);
    return pair;
}

/* The TCB sequence (.2): components .2.1-.2.16, PCESVN .2.17, CPUSVN .2.18, each exactly once. */
static bool pck_tcb_parse(const ASN1_TYPE *t, ncsl__pck_ext *out, char *why, size_t why_size) {
    bool ok = false;
    STACK_OF(ASN1_TYPE) *tcb = seq_of(t);
    STACK_OF(ASN1_TYPE) *pair = NULL;
    uint32_t seen = 0;
    char oid[96];

    if (!tcb) {
        snprintf(why, why_size, "SGX extension: the TCB is not a SEQUENCE");
        goto out;
    }
    for (int i = 0; i < sk_ASN1_TYPE_num(tcb); i++) {
        const ASN1_TYPE *val = NULL;
        const char *sfx = NULL;
        pair = oid_pair_at(tcb, i, &val, &sfx, oid, sizeof(oid));
        if (!pair) {
            snprintf(why, why_size, "SGX extension: TCB entry %d is not (OID, value)", i);
            goto out;
        }
        long n = 0;
        char *end = NULL;
        if (sfx && strncmp(sfx, "2.", 2) == 0) {
            n = strtol(sfx + 2, &end, 10);
        }
        if (!end || *end != '\0' || n < 1 || n > 18) {
            sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
            pair = NULL;
            continue; /* a field this verifier does not use */
        }
        if (seen & (1u << n)) {
            snprintf(why, why_size, "SGX extension: TCB field %ld appears twice", n);
            goto out;
        }
        seen |= 1u << n;
        int64_t v = 0;
        if (n <= NCSL__SGX_TCB_COMPONENTS) {
            if (!int_in(val, 255, &v)) {
                snprintf(why, why_size, "SGX extension: TCB component %ld is not in 0..255", n);
                goto out;
            }
            out->comp_svn[n - 1] = (uint8_t)v;
        } else if (n == 17) {
            if (!int_in(val, 65535, &v)) {
                snprintf(why, why_size, "SGX extension: PCESVN is not in 0..65535");
                goto out;
            }
            out->pce_svn = (uint16_t)v;
        } else {
            if (val->type != V_ASN1_OCTET_STRING ||
                ASN1_STRING_length(val->value.octet_string) != 16) {
                snprintf(why, why_size, "SGX extension: CPUSVN is not 16 bytes");
                goto out;
            }
            memcpy(out->cpu_svn, ASN1_STRING_get0_data(val->value.octet_string), 16);
        }
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        pair = NULL;
    }
    if (seen != 0x7fffeu) { /* bits 1..18 */
        snprintf(why, why_size, "SGX extension: the TCB lacks a component, PCESVN or CPUSVN");
        goto out;
    }
    ok = true;
out:
    sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(tcb, ASN1_TYPE_free);
    return ok;
}

bool ncsl__attest_pck_ext_parse(X509 *cert, ncsl__pck_ext *out, char *why, size_t why_size) {
    bool ok = false;
    ASN1_OBJECT *sgx_oid = NULL;
    STACK_OF(ASN1_TYPE) *outer = NULL;
    STACK_OF(ASN1_TYPE) *pair = NULL;
    unsigned seen = 0; /* bit 2 TCB, 3 PCE-ID, 4 FMSPC */
    char oid[96];

    memset(out, 0, sizeof(*out));
    sgx_oid = OBJ_txt2obj(SGX_EXT_OID, 1);
    if (!sgx_oid) {
        snprintf(why, why_size, "out of memory");
        goto out;
    }
    int idx = X509_get_ext_by_OBJ(cert, sgx_oid, -1);
    if (idx < 0) {
        snprintf(why, why_size, "the PCK certificate has no SGX extension");
        goto out;
    }
    if (X509_get_ext_by_OBJ(cert, sgx_oid, idx) >= 0) {
        snprintf(why, why_size, "the PCK certificate has two SGX extensions");
        goto out;
    }
    ASN1_OCTET_STRING *data = X509_EXTENSION_get_data(X509_get_ext(cert, idx));
    if (!data) {
        snprintf(why, why_size, "SGX extension: no data");
        goto out;
    }
    const unsigned char *p = ASN1_STRING_get0_data(data);
    const unsigned char *end = p + ASN1_STRING_length(data);
    outer = d2i_ASN1_SEQUENCE_ANY(NULL, &p, ASN1_STRING_length(data));
    if (!outer || p != end) {
        snprintf(why, why_size, "SGX extension: not a DER SEQUENCE");
        goto out;
    }
    for (int i = 0; i < sk_ASN1_TYPE_num(outer); i++) {
        const ASN1_TYPE *val = NULL;
        const char *sfx = NULL;
        pair = oid_pair_at(outer, i, &val, &sfx, oid, sizeof(oid));
        if (!pair) {
            snprintf(why, why_size, "SGX extension: entry %d is not (OID, value)", i);
            goto out;
        }
        unsigned bit = 0;
        if (sfx && strcmp(sfx, "2") == 0) {
            bit = 2;
        } else if (sfx && strcmp(sfx, "3") == 0) {
            bit = 3;
        } else if (sfx && strcmp(sfx, "4") == 0) {
            bit = 4;
        }
        if (bit && (seen & (1u << bit))) {
            snprintf(why, why_size, "SGX extension: field %s appears twice", sfx);
            goto out;
        }
        seen |= bit ? 1u << bit : 0;
        if (bit == 2) {
            if (!pck_tcb_parse(val, out, why, why_size)) {
                goto out;
            }
        } else if (bit == 3 || bit == 4) {
            int want = bit == 3 ? 2 : 6;
            if (val->type != V_ASN1_OCTET_STRING ||
                ASN1_STRING_length(val->value.octet_string) != want) {
                snprintf(why, why_size, "SGX extension: %s is not %d bytes",
                         bit == 3 ? "PCE-ID" : "FMSPC", want);
                goto out;
            }
            memcpy(bit == 3 ? out->pce_id : out->fmspc,
                   ASN1_STRING_get0_data(val->value.octet_string), (size_t)want);
        }
        sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
        pair = NULL;
    }
    if (seen != 0x1cu) {
        snprintf(why, why_size, "SGX extension: the %s is missing",
                 !(seen & 4u)   ? "TCB"
                 : !(seen & 8u) ? "PCE-ID"
                                : "FMSPC");
        goto out;
    }
    ok = true;
out:
    if (!ok) {
        memset(out, 0, sizeof(*out));
    }
    sk_ASN1_TYPE_pop_free(pair, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(outer, ASN1_TYPE_free);
    ASN1_OBJECT_free(sgx_oid);
    ERR_clear_error();
    return ok;
}

int64_t ncsl__attest_epoch(int64_t year, int month, int day, int hour, int min, int sec) {
    /* Days from 1970-01-01 in the proleptic Gregorian calendar (eras of 400 years). */
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + (int64_t)hour * 3600 + (int64_t)min * 60 + sec;
}

void ncsl__attest_fmt_time(int64_t t, char *out, size_t out_size) {
    struct tm tm;
    time_t tt = (time_t)t;
    if ((int64_t)tt != t || !gmtime_r(&tt, &tm)) {
        snprintf(out, out_size, "@%lld", (long long)t);
        return;
    }
    snprintf(out, out_size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

bool ncsl__attest_asn1_epoch(const ASN1_TIME *t, int64_t *out) {
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) {
        ERR_clear_error();
        return false;
    }
    *out = ncsl__attest_epoch((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                              tm.tm_min, tm.tm_sec);
    return true;
}
