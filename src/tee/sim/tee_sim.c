/*
 * The simulation TEE backend: no hardware protection, but the same shapes as SGX, so every layer
 * above (sealing, attestation proofs, the quote verifier) runs the code paths it runs on
 * hardware. Everything it produces is marked as simulation and verifiers reject it unless told
 * otherwise (DESIGN.md section 5).
 *
 * Measurement (ncsl_tee_measurement):
 *   mr_enclave  = SHA-256 of the running executable (/proc/self/exe, read once at open), so a
 *                 rebuilt binary is another "enclave";
 *   mr_signer   = SHA-256 of the 33-byte compressed SEC1 encoding of this installation's
 *                 simulation root CA public key (the "NCSL Simulation Root CA" below plays the
 *                 enclave signer; its certificate is stored in clear, so mr_signer is known
 *                 before anything is unsealed);
 *   attributes  = flags INIT|MODE64BIT (0x5), plus DEBUG (0x2) only when opts->debug; xfrm 0x3;
 *   isv_prod_id = 0, isv_svn = 0 (there is no signed enclave configuration to take them from).
 *
 * On-disk state, in <data_dir>/tee/ (directory mode 0700, refused when group/world-writable):
 *   platform.secret      32 random bytes, mode 0600, created once (O_EXCL temp file, fsync,
 *                        link into place). The seal root: losing it loses every sealed key.
 *                        Refused when not a regular file, not ours, group/world-accessible or
 *                        not exactly 32 bytes (NCSL_E_TEE_INSECURE_FILE, message gives the fix).
 *   sim_root_ca.pem      "NCSL Simulation Root CA" (P-256, CA:TRUE pathlen 1, 10 years), clear.
 *   sim_pck_ca.pem       "NCSL Simulation PCK CA" (P-256, CA:TRUE pathlen 0), clear.
 *   sim_pck.pem          "NCSL Simulation PCK Certificate" (P-256 leaf), clear.
 *   sim_pck.key.sealed   the PCK leaf private key (DER), an NCSLSEAL blob, label
 *                        "tee/sim/pck.key", sealed with seal_key(MRSIGNER); mode 0600.
 *   sim_qe_att.key.sealed the simulated QE attestation private key, likewise, label
 *                        "tee/sim/qe_att.key".
 *   The root and intermediate CA private keys are wiped right after the chain is issued: nothing
 *   needs them again, and a key that does not exist cannot leak. sim_root_ca.pem is written
 *   last, so its presence means the set is complete; a set without it is regenerated.
 *
 * Sealing root keys: seal_key(policy) = HKDF-SHA256(ikm = platform secret, no salt,
 *   info = "ncsl-sim-seal-v1" || policy byte || (mr_enclave for MRENCLAVE | mr_signer for
 *   MRSIGNER)) -> 32 bytes.
 *
 * Quotes: the DCAP v3 byte layout (REFERENCE.md section 3) with qe_vendor_id =
 * "NCSL-SIMULATION\0" (16 bytes; Intel's QE uses 939A7233-F79C-4CA9-940A-0DB3957F0607), all SVNs
 * 0, the ISV report signed by the attestation key, a QE report (mr_enclave SHA-256("ncsl-sim-qe"))
 * binding that key with QE auth data 00..1f, signed by the PCK leaf, and cert data type 5 with
 * the PEM chain leaf, intermediate, root: the same verifier code path checks it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/crypto.h"
#include "crypto/seal.h"
#include "tee/tee_int.h"

#define SIM_SEAL_INFO "ncsl-sim-seal-v1"
#define SIM_QE_VENDOR_ID "NCSL-SIMULATION" /* + NUL = 16 bytes */
#define SIM_QE_MEASURE_TEXT "ncsl-sim-qe"
#define SIM_ROOT_FILE "sim_root_ca.pem"
#define SIM_INTER_FILE "sim_pck_ca.pem"
#define SIM_LEAF_FILE "sim_pck.pem"
#define SIM_PCK_KEY_FILE "sim_pck.key.sealed"
#define SIM_ATT_KEY_FILE "sim_qe_att.key.sealed"
#define SIM_PCK_KEY_LABEL "tee/sim/pck.key"
#define SIM_ATT_KEY_LABEL "tee/sim/qe_att.key"
#define SIM_MAX_FILE (64u * 1024u)
#define SIM_CERT_DAYS 3650
#define SIM_QE_AUTH_SIZE 32u
#define SIM_ATTR_FLAGS 0x5u /* INIT | MODE64BIT */
#define SIM_ATTR_DEBUG 0x2u
#define SIM_ATTR_XFRM 0x3u

typedef struct sim_state {
    char *dir; /* <data_dir>/tee */
    uint8_t secret[NCSL_TEE_SIM_SECRET_SIZE];
    ncsl_tee_measurement m;
    EVP_PKEY *pck_key; /* PCK leaf private key */
    EVP_PKEY *att_key; /* QE attestation private key */
    uint8_t att_pub[64];
    char *chain_pem; /* leaf, intermediate, root; NUL-terminated */
    size_t chain_len;
    char *root_pem; /* NUL-terminated */
    size_t root_len;
} sim_state;

static const char *sim_name(void) {
    return "simulation";
}

/* ------------------------------------------------------------------------- files */

/* Writes <dir>/<name> atomically (temp file, fsync, rename, fsync dir) with `mode`. */
static ncsl_status write_file_atomic(const char *dir, const char *name, const void *data,
                                     size_t len, mode_t mode, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    char *path = NULL;
    char tmp_name[128];
    char *tmp = NULL;
    int fd = -1;

    snprintf(tmp_name, sizeof(tmp_name), "%s.tmp.%ld", name, (long)getpid());
    path = ncsl_path_join(dir, name);
    tmp = ncsl_path_join(dir, tmp_name);
    if (!path || !tmp) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        st = ncsl_err_set(err, NCSL_E_IO, NULL, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (!ncsl_write_all(fd, data, len) || fsync(fd) != 0) {
        st = ncsl_err_set(err, NCSL_E_IO, NULL, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        st = ncsl_err_set(err, NCSL_E_IO, NULL, "cannot rename %s to %s: %s", tmp, path,
                          strerror(errno));
        goto out;
    }
    ncsl_fsync_dir(dir);
out:
    if (fd >= 0) {
        close(fd);
    }
    if (st != NCSL_OK && tmp) {
        (void)unlink(tmp);
    }
    free(tmp);
    free(path);
    return st;
}

static ncsl_status hash_executable(uint8_t out[32], ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    int fd = -1;
    EVP_MD_CTX *ctx = NULL;
    uint8_t buf[65536];
    unsigned int md_len = 0;

    fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = ncsl_err_set(err, NCSL_E_TEE, NULL, "cannot open /proc/self/exe to measure: %s",
                          strerror(errno));
        goto out;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "SHA-256 init failed");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            st = ncsl_err_set(err, NCSL_E_TEE, NULL, "cannot read /proc/self/exe: %s",
                              strerror(errno));
            goto out;
        }
        if (n == 0) {
            break;
        }
        if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
            st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "SHA-256 update failed");
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(ctx, out, &md_len) != 1 || md_len != 32) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "SHA-256 final failed");
        goto out;
    }
out:
    EVP_MD_CTX_free(ctx);
    if (fd >= 0) {
        close(fd);
    }
    ERR_clear_error();
    return st;
}

/* ------------------------------------------------------------------------- platform secret */

static ncsl_status read_secret(const char *path, uint8_t secret[NCSL_TEE_SIM_SECRET_SIZE],
                               ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP) {
            return ncsl_err_set(err, NCSL_E_TEE_INSECURE_FILE, "platform_secret",
                                "%s is a symbolic link, not a regular file; replace it with the "
                                "real file (mode 0600)",
                                path);
        }
        return ncsl_err_set(err, errno == ENOENT ? NCSL_E_NOT_FOUND : NCSL_E_IO, "platform_secret",
                            "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0) {
        st = ncsl_err_set(err, NCSL_E_IO, "platform_secret", "cannot stat %s: %s", path,
                          strerror(errno));
        goto out;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = ncsl_err_set(err, NCSL_E_TEE_INSECURE_FILE, "platform_secret",
                          "%s is not a regular file; remove it and restore the real file", path);
        goto out;
    }
    if (sb.st_uid != geteuid()) {
        st = ncsl_err_set(err, NCSL_E_TEE_INSECURE_FILE, "platform_secret",
                          "%s is owned by uid %u, not by this user (uid %u); fix: chown it", path,
                          (unsigned)sb.st_uid, (unsigned)geteuid());
        goto out;
    }
    if (sb.st_mode & 077) {
        st = ncsl_err_set(err, NCSL_E_TEE_INSECURE_FILE, "platform_secret",
                          "%s is accessible by group or others (mode %04o); fix: chmod 600 %s "
                          "(and consider the secret exposed)",
                          path, (unsigned)(sb.st_mode & 07777), path);
        goto out;
    }
    if (sb.st_size != (off_t)NCSL_TEE_SIM_SECRET_SIZE) {
        st = ncsl_err_set(err, NCSL_E_TEE_INSECURE_FILE, "platform_secret",
                          "%s has %lld bytes, not %u: it is not an NCSL platform secret; restore "
                          "it from a backup (removing it makes every sealed key unreadable)",
                          path, (long long)sb.st_size, NCSL_TEE_SIM_SECRET_SIZE);
        goto out;
    }
    size_t got = 0;
    while (got < NCSL_TEE_SIM_SECRET_SIZE) {
        ssize_t n = read(fd, secret + got, NCSL_TEE_SIM_SECRET_SIZE - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            st = ncsl_err_set(err, NCSL_E_IO, "platform_secret", "cannot read %s", path);
            goto out;
        }
        got += (size_t)n;
    }
out:
    if (st != NCSL_OK) {
        ncsl_wipe(secret, NCSL_TEE_SIM_SECRET_SIZE);
    }
    close(fd);
    return st;
}

/* Creates the secret atomically: a 0600 temp file (O_EXCL), fsync, link() into place (so a
 * concurrent creator wins cleanly), fsync the directory. Then reads whichever file won. */
static ncsl_status load_or_create_secret(const char *dir, uint8_t secret[NCSL_TEE_SIM_SECRET_SIZE],
                                         ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    char *path = ncsl_path_join(dir, NCSL_TEE_SIM_SECRET_FILE);
    char tmp_name[64];
    char *tmp = NULL;
    int fd = -1;
    uint8_t fresh[NCSL_TEE_SIM_SECRET_SIZE];

    if (!path) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    st = read_secret(path, secret, err);
    if (st != NCSL_E_NOT_FOUND) {
        goto out;
    }
    snprintf(tmp_name, sizeof(tmp_name), "%s.tmp.%ld", NCSL_TEE_SIM_SECRET_FILE, (long)getpid());
    tmp = ncsl_path_join(dir, tmp_name);
    if (!tmp) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    (void)unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        st = ncsl_err_set(err, NCSL_E_IO, "platform_secret", "cannot create %s: %s", tmp,
                          strerror(errno));
        goto out;
    }
    st = ncsl_crypto_random(fresh, sizeof(fresh), err);
    if (st != NCSL_OK) {
        goto out;
    }
    if (!ncsl_write_all(fd, fresh, sizeof(fresh)) || fsync(fd) != 0) {
        st = ncsl_err_set(err, NCSL_E_IO, "platform_secret", "cannot write %s: %s", tmp,
                          strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (link(tmp, path) != 0 && errno != EEXIST) {
        st = ncsl_err_set(err, NCSL_E_IO, "platform_secret", "cannot create %s: %s", path,
                          strerror(errno));
        goto out;
    }
    ncsl_fsync_dir(dir);
    NCSL_LOG_INFO("tee", "created a new simulation platform secret in %s", dir);
    st = read_secret(path, secret, err);
out:
    ncsl_wipe(fresh, sizeof(fresh));
    if (fd >= 0) {
        close(fd);
    }
    if (tmp) {
        (void)unlink(tmp);
    }
    free(tmp);
    free(path);
    return st;
}

/* ------------------------------------------------------------------------- keys */

static EVP_PKEY *gen_p256(void) {
    EVP_PKEY *k = EVP_EC_gen("P-256");
    ERR_clear_error();
    return k;
}

static bool is_p256(EVP_PKEY *k) {
    char group[32];
    size_t n = 0;
    bool ok = EVP_PKEY_is_a(k, "EC") &&
              EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                             &n) == 1 &&
              strcmp(group, "prime256v1") == 0;
    ERR_clear_error();
    return ok;
}

/* Raw x || y (64 bytes) of a P-256 key. */
static bool pub_raw(EVP_PKEY *k, uint8_t out[64]) {
    uint8_t pt[65];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &n) != 1 ||
        n != 65 || pt[0] != 0x04) {
        ERR_clear_error();
        return false;
    }
    memcpy(out, pt + 1, 64);
    return true;
}

/* mr_signer = SHA-256(compressed SEC1 point, 33 bytes) of `k`. */
static ncsl_status signer_measure(EVP_PKEY *k, uint8_t out[32], ncsl_err *err) {
    uint8_t xy[64];
    uint8_t comp[33];
    if (!pub_raw(k, xy)) {
        return ncsl_err_set(err, NCSL_E_TEE_STATE, NULL,
                            "the simulation root CA key is not a P-256 key");
    }
    comp[0] = (uint8_t)(0x02 | (xy[63] & 1));
    memcpy(comp + 1, xy, 32);
    return ncsl_crypto_sha256(comp, sizeof(comp), out, err);
}

/* ECDSA-P256-SHA256 over `msg` into raw r || s. */
static ncsl_status sign_raw(EVP_PKEY *k, const uint8_t *msg, size_t len, uint8_t out[64],
                            ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    ECDSA_SIG *sig = NULL;
    uint8_t der[80];
    size_t der_len = sizeof(der);
    const BIGNUM *r = NULL;
    const BIGNUM *s = NULL;

    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(ctx, der, &der_len, msg, len) != 1) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "ECDSA signing failed");
        goto out;
    }
    const unsigned char *p = der;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    if (!sig) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "ECDSA signature decoding failed");
        goto out;
    }
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "ECDSA signature encoding failed");
        goto out;
    }
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return st;
}

static ncsl_status sim_seal_key(void *state, ncsl_seal_policy policy,
                                uint8_t key[NCSL_TEE_SEAL_KEY_SIZE], ncsl_err *err) {
    sim_state *s = state;
    uint8_t info[sizeof(SIM_SEAL_INFO) - 1 + 1 + 32];
    size_t n = sizeof(SIM_SEAL_INFO) - 1;
    memcpy(info, SIM_SEAL_INFO, n);
    info[n] = (uint8_t)policy;
    if (policy == NCSL_SEAL_POLICY_MRENCLAVE) {
        memcpy(info + n + 1, s->m.mr_enclave, 32);
    } else if (policy == NCSL_SEAL_POLICY_MRSIGNER) {
        memcpy(info + n + 1, s->m.mr_signer, 32);
    } else {
        ncsl_wipe(key, NCSL_TEE_SEAL_KEY_SIZE);
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "policy", "unknown sealing policy %d",
                            (int)policy);
    }
    return ncsl_crypto_hkdf_sha256(s->secret, sizeof(s->secret), NULL, 0, info, sizeof(info), key,
                                   NCSL_TEE_SEAL_KEY_SIZE, err);
}

/* Seals `k`'s private key (DER) with seal_key(MRSIGNER) into <dir>/<file>, mode 0600. */
static ncsl_status store_sealed_key(sim_state *s, const char *file, const char *label, EVP_PKEY *k,
                                    ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    uint8_t root[NCSL_TEE_SEAL_KEY_SIZE];
    unsigned char *der = NULL;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    int der_len = i2d_PrivateKey(k, &der);

    if (der_len <= 0) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot encode a simulation private key");
        goto out;
    }
    st = sim_seal_key(s, NCSL_SEAL_POLICY_MRSIGNER, root, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = ncsl_seal(root, sizeof(root), NCSL_SEAL_POLICY_MRSIGNER, label, der, (size_t)der_len,
                   &blob, &blob_len, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = write_file_atomic(s->dir, file, blob, blob_len, 0600, err);
out:
    ncsl_seal_blob_free(blob);
    if (der) {
        OPENSSL_clear_free(der, (size_t)der_len);
    }
    ncsl_wipe(root, sizeof(root));
    ERR_clear_error();
    return st;
}

static ncsl_status load_sealed_key(sim_state *s, const char *file, const char *label,
                                   EVP_PKEY **out, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    uint8_t root[NCSL_TEE_SEAL_KEY_SIZE];
    char *path = ncsl_path_join(s->dir, file);
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    uint8_t *der = NULL;
    size_t der_len = 0;

    *out = NULL;
    if (!path) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    st = ncsl_read_small_file(path, SIM_MAX_FILE, NCSL_E_IO, NCSL_E_TEE_STATE, NULL, &blob,
                              &blob_len, err);
    if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_TEE_STATE, NULL,
                          "%s is missing but the simulation root CA exists; the simulated PKI is "
                          "incomplete: remove %s/sim_* to create a new one",
                          path, s->dir);
    }
    if (st != NCSL_OK) {
        goto out;
    }
    st = sim_seal_key(s, NCSL_SEAL_POLICY_MRSIGNER, root, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = ncsl_unseal(root, sizeof(root), label, blob, blob_len, &der, &der_len, err);
    if (st != NCSL_OK) {
        ncsl_err_set(err, st, NULL,
                     "cannot unseal %s (%s): the file, the platform secret or the simulation "
                     "root CA certificate was changed or comes from another installation",
                     path, ncsl_status_str(st));
        goto out;
    }
    const unsigned char *p = der;
    *out = d2i_AutoPrivateKey(NULL, &p, (long)der_len);
    if (!*out || !is_p256(*out)) {
        EVP_PKEY_free(*out);
        *out = NULL;
        st =
            ncsl_err_set(err, NCSL_E_TEE_STATE, NULL, "%s does not hold a P-256 private key", path);
        goto out;
    }
out:
    ncsl_unseal_free(der, der_len);
    free(blob);
    free(path);
    ncsl_wipe(root, sizeof(root));
    ERR_clear_error();
    return st;
}

/* ------------------------------------------------------------------------- PKI */

static bool add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value) {
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    bool ok = ext && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

typedef enum cert_role { CERT_ROOT, CERT_INTERMEDIATE, CERT_LEAF } cert_role;

/* Issues a certificate for `subject_key` named `cn`, signed by `issuer_key` (`issuer` NULL:
 * self-signed). Returns NULL on failure; the caller frees with X509_free. */
static X509 *make_cert(const char *cn, EVP_PKEY *subject_key, X509 *issuer, EVP_PKEY *issuer_key,
                       cert_role role) {
    X509 *cert = X509_new();
    BIGNUM *serial = BN_new();
    X509_NAME *name = X509_NAME_new();
    X509V3_CTX ctx;
    bool ok = false;
    const char *bc = role == CERT_ROOT           ? "critical,CA:TRUE,pathlen:1"
                     : role == CERT_INTERMEDIATE ? "critical,CA:TRUE,pathlen:0"
                                                 : "critical,CA:FALSE";
    const char *ku = role == CERT_LEAF ? "critical,digitalSignature,nonRepudiation"
                                       : "critical,keyCertSign,cRLSign";

    if (!cert || !serial || !name || X509_set_version(cert, X509_VERSION_3) != 1 ||
        BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
        !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
        !X509_time_adj_ex(X509_getm_notAfter(cert), SIM_CERT_DAYS, 0, NULL) ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                   (const unsigned char *)"NCSL Simulation (not Intel)", -1, -1,
                                   0) != 1 ||
        X509_set_subject_name(cert, name) != 1 ||
        X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) != 1 ||
        X509_set_pubkey(cert, subject_key) != 1) {
        goto out;
    }
    X509V3_set_ctx(&ctx, issuer ? issuer : cert, cert, NULL, NULL, 0);
    if (!add_ext(cert, &ctx, NID_basic_constraints, bc) ||
        !add_ext(cert, &ctx, NID_key_usage, ku) ||
        !add_ext(cert, &ctx, NID_subject_key_identifier, "hash") ||
        (issuer && !add_ext(cert, &ctx, NID_authority_key_identifier, "keyid:always"))) {
        goto out;
    }
    ok = X509_sign(cert, issuer_key, EVP_sha256()) > 0;
out:
    X509_NAME_free(name);
    BN_free(serial);
    if (!ok) {
        X509_free(cert);
        cert = NULL;
    }
    ERR_clear_error();
    return cert;
}

/* PEM text of `cert` (NUL-terminated, caller frees). */
static char *cert_pem(X509 *cert, size_t *len) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *out = NULL;
    char *data = NULL;
    long n = 0;
    if (bio && PEM_write_bio_X509(bio, cert) == 1) {
        n = BIO_get_mem_data(bio, &data);
        if (n > 0) {
            out = ncsl_strndup(data, (size_t)n);
            *len = (size_t)n;
        }
    }
    BIO_free(bio);
    ERR_clear_error();
    return out;
}

/* Exactly one certificate in `pem`. NULL on error; caller frees with X509_free. */
static X509 *parse_one_cert(const char *pem, size_t len) {
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    X509 *cert = NULL;
    X509 *extra = NULL;
    if (bio) {
        cert = PEM_read_bio_X509(bio, NULL, NULL, (void *)"");
        extra = cert ? PEM_read_bio_X509(bio, NULL, NULL, (void *)"") : NULL;
    }
    if (extra) {
        X509_free(cert);
        cert = NULL;
    }
    X509_free(extra);
    BIO_free(bio);
    ERR_clear_error();
    return cert;
}

static ncsl_status set_chain(sim_state *s, const char *leaf, size_t leaf_len, const char *inter,
                             size_t inter_len, const char *root, size_t root_len, ncsl_err *err) {
    s->chain_len = leaf_len + inter_len + root_len;
    s->chain_pem = malloc(s->chain_len + 1);
    s->root_pem = ncsl_strndup(root, root_len);
    if (!s->chain_pem || !s->root_pem) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    memcpy(s->chain_pem, leaf, leaf_len);
    memcpy(s->chain_pem + leaf_len, inter, inter_len);
    memcpy(s->chain_pem + leaf_len + inter_len, root, root_len);
    s->chain_pem[s->chain_len] = '\0';
    s->root_len = root_len;
    return NCSL_OK;
}

/* First open: a new root, intermediate and leaf, and a QE attestation key. */
static ncsl_status pki_create(sim_state *s, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    EVP_PKEY *root_key = NULL;
    EVP_PKEY *inter_key = NULL;
    X509 *root = NULL;
    X509 *inter = NULL;
    X509 *leaf = NULL;
    char *root_pem = NULL;
    char *inter_pem = NULL;
    char *leaf_pem = NULL;
    size_t root_len = 0;
    size_t inter_len = 0;
    size_t leaf_len = 0;

    root_key = gen_p256();
    inter_key = gen_p256();
    s->pck_key = gen_p256();
    s->att_key = gen_p256();
    if (!root_key || !inter_key || !s->pck_key || !s->att_key) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "P-256 key generation failed");
        goto out;
    }
    root = make_cert("NCSL Simulation Root CA", root_key, NULL, root_key, CERT_ROOT);
    inter = root ? make_cert("NCSL Simulation PCK CA", inter_key, root, root_key, CERT_INTERMEDIATE)
                 : NULL;
    leaf = inter ? make_cert("NCSL Simulation PCK Certificate", s->pck_key, inter, inter_key,
                             CERT_LEAF)
                 : NULL;
    if (!leaf) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "issuing the simulation certificates failed");
        goto out;
    }
    root_pem = cert_pem(root, &root_len);
    inter_pem = cert_pem(inter, &inter_len);
    leaf_pem = cert_pem(leaf, &leaf_len);
    if (!root_pem || !inter_pem || !leaf_pem) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (PEM)");
        goto out;
    }
    st = signer_measure(root_key, s->m.mr_signer, err);
    if (st != NCSL_OK) {
        goto out;
    }
    /* Keys first, then the certificates; the root last: it marks the set complete. */
    if ((st = store_sealed_key(s, SIM_PCK_KEY_FILE, SIM_PCK_KEY_LABEL, s->pck_key, err)) !=
            NCSL_OK ||
        (st = store_sealed_key(s, SIM_ATT_KEY_FILE, SIM_ATT_KEY_LABEL, s->att_key, err)) !=
            NCSL_OK ||
        (st = write_file_atomic(s->dir, SIM_LEAF_FILE, leaf_pem, leaf_len, 0644, err)) != NCSL_OK ||
        (st = write_file_atomic(s->dir, SIM_INTER_FILE, inter_pem, inter_len, 0644, err)) !=
            NCSL_OK ||
        (st = write_file_atomic(s->dir, SIM_ROOT_FILE, root_pem, root_len, 0644, err)) != NCSL_OK) {
        goto out;
    }
    st = set_chain(s, leaf_pem, leaf_len, inter_pem, inter_len, root_pem, root_len, err);
    NCSL_LOG_INFO("tee", "created a new simulated PKI (NCSL Simulation Root CA) in %s", s->dir);
out:
    free(leaf_pem);
    free(inter_pem);
    free(root_pem);
    X509_free(leaf);
    X509_free(inter);
    X509_free(root);
    EVP_PKEY_free(inter_key); /* the CA private keys are never stored: see the header comment */
    EVP_PKEY_free(root_key);
    ERR_clear_error();
    return st;
}

/* Reads one PEM file holding exactly one certificate. */
static ncsl_status load_cert_file(sim_state *s, const char *file, char **pem, size_t *len,
                                  X509 **cert, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    char *path = ncsl_path_join(s->dir, file);
    uint8_t *data = NULL;
    *pem = NULL;
    *cert = NULL;
    if (!path) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    st = ncsl_read_small_file(path, SIM_MAX_FILE, NCSL_E_IO, NCSL_E_TEE_STATE, NULL, &data, len,
                              err);
    if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_TEE_STATE, NULL,
                          "%s is missing but the simulation root CA exists; the simulated PKI is "
                          "incomplete: remove %s/sim_* to create a new one",
                          path, s->dir);
    }
    if (st != NCSL_OK) {
        goto out;
    }
    *cert = parse_one_cert((const char *)data, *len);
    if (!*cert) {
        st = ncsl_err_set(err, NCSL_E_TEE_STATE, NULL, "%s is not exactly one PEM certificate",
                          path);
        goto out;
    }
    *pem = (char *)data;
    data = NULL;
out:
    free(data);
    free(path);
    return st;
}

/* Later opens: the certificates in clear, the keys unsealed, and their consistency. */
static ncsl_status pki_load(sim_state *s, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    char *pem[3] = {NULL, NULL, NULL}; /* root, intermediate, leaf */
    size_t len[3] = {0, 0, 0};
    X509 *cert[3] = {NULL, NULL, NULL};
    static const char *const files[3] = {SIM_ROOT_FILE, SIM_INTER_FILE, SIM_LEAF_FILE};

    for (size_t i = 0; i < 3; i++) {
        st = load_cert_file(s, files[i], &pem[i], &len[i], &cert[i], err);
        if (st != NCSL_OK) {
            goto out;
        }
    }
    EVP_PKEY *root_pub = X509_get0_pubkey(cert[0]);
    if (!root_pub || !is_p256(root_pub)) {
        st = ncsl_err_set(err, NCSL_E_TEE_STATE, NULL,
                          "%s/" SIM_ROOT_FILE " does not hold a P-256 key", s->dir);
        goto out;
    }
    st = signer_measure(root_pub, s->m.mr_signer, err);
    if (st != NCSL_OK) {
        goto out;
    }
    if ((st = load_sealed_key(s, SIM_PCK_KEY_FILE, SIM_PCK_KEY_LABEL, &s->pck_key, err)) !=
            NCSL_OK ||
        (st = load_sealed_key(s, SIM_ATT_KEY_FILE, SIM_ATT_KEY_LABEL, &s->att_key, err)) !=
            NCSL_OK) {
        goto out;
    }
    EVP_PKEY *leaf_pub = X509_get0_pubkey(cert[2]);
    if (!leaf_pub || EVP_PKEY_eq(leaf_pub, s->pck_key) != 1) {
        st = ncsl_err_set(err, NCSL_E_TEE_STATE, NULL,
                          "%s/" SIM_LEAF_FILE " does not match the sealed PCK key; remove "
                          "%s/sim_* to create a new simulated PKI",
                          s->dir, s->dir);
        goto out;
    }
    st = set_chain(s, pem[2], len[2], pem[1], len[1], pem[0], len[0], err);
out:
    for (size_t i = 0; i < 3; i++) {
        X509_free(cert[i]);
        free(pem[i]);
    }
    ERR_clear_error();
    return st;
}

/* ------------------------------------------------------------------------- ops */

static void sim_close(void *state) {
    sim_state *s = state;
    if (!s) {
        return;
    }
    ncsl_wipe(s->secret, sizeof(s->secret));
    EVP_PKEY_free(s->pck_key); /* OpenSSL clears EC private scalars on free */
    EVP_PKEY_free(s->att_key);
    free(s->chain_pem);
    free(s->root_pem);
    free(s->dir);
    ncsl_wipe(s, sizeof(*s));
    free(s);
}

static ncsl_status sim_open(const ncsl_tee_options *opts, void **state, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    sim_state *s = NULL;
    char *root_path = NULL;
    const char *data_dir = opts->data_dir ? opts->data_dir : "./ncsl-data";
    struct stat sb;

    *state = NULL;
    s = calloc(1, sizeof(*s));
    if (!s) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    s->dir = ncsl_path_join(data_dir, NCSL_TEE_SIM_DIR);
    root_path = s->dir ? ncsl_path_join(s->dir, SIM_ROOT_FILE) : NULL;
    if (!root_path) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
        st = ncsl_err_set(err, NCSL_E_IO, "data_dir", "cannot create the data directory %s: %s",
                          data_dir, strerror(errno));
        goto out;
    }
    if ((st = ncsl_private_dir(s->dir, NCSL_E_TEE_INSECURE_FILE, "data_dir", err)) != NCSL_OK ||
        (st = hash_executable(s->m.mr_enclave, err)) != NCSL_OK ||
        (st = load_or_create_secret(s->dir, s->secret, err)) != NCSL_OK) {
        goto out;
    }
    s->m.debug = opts->debug;
    uint64_t flags = SIM_ATTR_FLAGS | (opts->debug ? SIM_ATTR_DEBUG : 0);
    uint64_t xfrm = SIM_ATTR_XFRM;
    for (int i = 0; i < 8; i++) {
        s->m.attributes[i] = (uint8_t)(flags >> (8 * i));
        s->m.attributes[8 + i] = (uint8_t)(xfrm >> (8 * i));
    }
    s->m.isv_prod_id = 0;
    s->m.isv_svn = 0;
    if (lstat(root_path, &sb) == 0) {
        st = pki_load(s, err);
    } else if (errno == ENOENT) {
        st = pki_create(s, err);
    } else {
        st = ncsl_err_set(err, NCSL_E_IO, NULL, "cannot stat %s: %s", root_path, strerror(errno));
    }
    if (st != NCSL_OK) {
        goto out;
    }
    if (!pub_raw(s->att_key, s->att_pub)) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot read the attestation public key");
        goto out;
    }
    *state = s;
    s = NULL;
out:
    free(root_path);
    sim_close(s);
    return st;
}

static ncsl_status sim_measure(void *state, ncsl_tee_measurement *out, ncsl_err *err) {
    sim_state *s = state;
    *out = s->m;
    return NCSL_OK;
}

static ncsl_status sim_random(void *state, void *buf, size_t len, ncsl_err *err) {
    return ncsl_crypto_random(buf, len, err);
}

static const char *sim_root_pem(void *state, size_t *len) {
    sim_state *s = state;
    if (len) {
        *len = s->root_len;
    }
    return s->root_pem;
}

static void put_le16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

/* Quote offsets (REFERENCE.md section 3); report-body fields relative to the body. */
#define Q_REPORT 48u
#define Q_SIG_LEN 432u
#define Q_ISV_SIG 436u
#define Q_ATT_KEY 500u
#define Q_QE_REPORT 564u
#define Q_QE_SIG 948u
#define Q_QE_AUTH 1012u
#define Q_REPORT_BODY_SIZE 384u
#define RB_ATTRIBUTES 48u
#define RB_MR_ENCLAVE 64u
#define RB_MR_SIGNER 128u
#define RB_ISV_PROD_ID 256u
#define RB_ISV_SVN 258u
#define RB_REPORT_DATA 320u

static ncsl_status sim_quote(void *state, const uint8_t report_data[NCSL_TEE_REPORT_DATA_SIZE],
                             uint8_t **quote, size_t *len, ncsl_err *err) {
    sim_state *s = state;
    ncsl_status st = NCSL_OK;
    uint8_t *q = NULL;
    uint8_t binding[64 + SIM_QE_AUTH_SIZE];
    size_t sig_len = 64 + 64 + 384 + 64 + 2 + SIM_QE_AUTH_SIZE + 2 + 4 + s->chain_len;
    size_t total = Q_ISV_SIG + sig_len;

    *quote = NULL;
    *len = 0;
    if (s->chain_len > UINT32_MAX - 4096) {
        return ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "certificate chain too long");
    }
    q = calloc(1, total);
    if (!q) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (quote)");
    }
    /* Header. */
    put_le16(q + 0, 3);
    put_le16(q + 2, 2);
    memcpy(q + 12, SIM_QE_VENDOR_ID, sizeof(SIM_QE_VENDOR_ID)); /* 15 chars + NUL */
    /* ISV report body. */
    uint8_t *rb = q + Q_REPORT;
    memcpy(rb + RB_ATTRIBUTES, s->m.attributes, 16);
    memcpy(rb + RB_MR_ENCLAVE, s->m.mr_enclave, 32);
    memcpy(rb + RB_MR_SIGNER, s->m.mr_signer, 32);
    put_le16(rb + RB_ISV_PROD_ID, s->m.isv_prod_id);
    put_le16(rb + RB_ISV_SVN, s->m.isv_svn);
    memcpy(rb + RB_REPORT_DATA, report_data, 64);
    /* Signature data. */
    put_le32(q + Q_SIG_LEN, (uint32_t)sig_len);
    st = sign_raw(s->att_key, q, Q_SIG_LEN, q + Q_ISV_SIG, err);
    if (st != NCSL_OK) {
        goto out;
    }
    memcpy(q + Q_ATT_KEY, s->att_pub, 64);
    /* QE report: a simulated Quoting Enclave vouching for the attestation key. */
    uint8_t *qe = q + Q_QE_REPORT;
    uint8_t *auth = q + Q_QE_AUTH + 2;
    for (unsigned i = 0; i < SIM_QE_AUTH_SIZE; i++) {
        auth[i] = (uint8_t)i;
    }
    memcpy(qe + RB_ATTRIBUTES, s->m.attributes, 16);
    qe[RB_ATTRIBUTES] &= (uint8_t)~SIM_ATTR_DEBUG;
    if ((st = ncsl_crypto_sha256(SIM_QE_MEASURE_TEXT, strlen(SIM_QE_MEASURE_TEXT),
                                 qe + RB_MR_ENCLAVE, err)) != NCSL_OK) {
        goto out;
    }
    memcpy(binding, s->att_pub, 64);
    memcpy(binding + 64, auth, SIM_QE_AUTH_SIZE);
    if ((st = ncsl_crypto_sha256(binding, sizeof(binding), qe + RB_REPORT_DATA, err)) != NCSL_OK ||
        (st = sign_raw(s->pck_key, qe, Q_REPORT_BODY_SIZE, q + Q_QE_SIG, err)) != NCSL_OK) {
        goto out;
    }
    put_le16(q + Q_QE_AUTH, SIM_QE_AUTH_SIZE);
    uint8_t *cert = auth + SIM_QE_AUTH_SIZE;
    put_le16(cert, 5);
    put_le32(cert + 2, (uint32_t)s->chain_len);
    memcpy(cert + 6, s->chain_pem, s->chain_len);
    *quote = q;
    *len = total;
    q = NULL;
out:
    free(q);
    return st;
}

const ncsl_tee_ops ncsl__tee_sim_ops = {
    .kind = NCSL_TEE_KIND_SIMULATION,
    .name = sim_name,
    .open = sim_open,
    .close = sim_close,
    .measure = sim_measure,
    .quote = sim_quote,
    .seal_key = sim_seal_key,
    .random = sim_random,
    .attestation_root_pem = sim_root_pem,
};

ncsl_status ncsl__tee_sim_test_private_scalar(ncsl_tee *tee, ncsl__tee_sim_key which,
                                              uint8_t out[32], ncsl_err *err) {
    sim_state *s = ncsl__tee_state(tee);
    BIGNUM *priv = NULL;
    ncsl_status st = NCSL_OK;
    if (!s || ncsl_tee_get_ops(tee) != &ncsl__tee_sim_ops) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "tee", "not a simulation handle");
    }
    EVP_PKEY *k = which == NCSL__TEE_SIM_KEY_PCK ? s->pck_key : s->att_key;
    if (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_PRIV_KEY, &priv) != 1 ||
        BN_bn2binpad(priv, out, 32) != 32) {
        st = ncsl_err_set(err, NCSL_E_CRYPTO, NULL, "cannot read the private key");
    }
    BN_clear_free(priv);
    ERR_clear_error();
    return st;
}
