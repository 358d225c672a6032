/*
 * keys: the enclave's identity keys (DESIGN.md section 6) and the P-256 helpers everyone who
 * checks their signatures needs.
 *
 * Two keys make an enclave identity:
 *   - a P-256 (secp256r1, Neo N3's curve) ECDSA key that signs receipts; its public half is
 *     published as the 33-byte compressed SEC1 point ("signingKey");
 *   - an X25519 key that clients encrypt secrets to; its public half is the 32-byte RFC 7748
 *     u-coordinate ("encryptionKey").
 * Both are made on first start inside this process (in production, inside the enclave) from the
 * TEE's random generator, sealed to the TEE and stored; later starts unseal the same keys. The
 * private halves never leave an ncsl_keys (there is no getter, only sign and ECDH) except through
 * ncsl_keys_private_export, which hands them to the daemon's own worker processes (below).
 *
 * ---------------------------------------------------------------------------------------------
 * On disk: <data_dir>/keys/identity.sealed (directory mode 0700, file mode 0600), one NCSLSEAL
 * blob (src/crypto/seal.h) made with the TEE's seal key for the chosen policy (default
 * MRENCLAVE) and the label NCSL_KEYS_SEAL_LABEL ("enclave/identity-keys/v1") as AAD. Created
 * once: temp file (O_EXCL, 0600), fsync, link() into place (so two processes starting at once
 * agree on one identity: the loser loads the winner's file), fsync the directory.
 *
 * The sealed plaintext, version 1 (141 bytes, a contract like the blob format):
 *   offset size
 *   0      8    magic     "NCSLKEYS" (ASCII, no NUL)
 *   8      1    version   0x01
 *   9      3    reserved  00 00 00
 *   12     32   P-256 private scalar d, big-endian, 1 <= d < n
 *   44     32   X25519 private key (RFC 7748 raw 32 bytes, unclamped as drawn)
 *   76     33   P-256 public key, compressed SEC1 (02|03 || x)
 *   109    32   X25519 public key
 * Loading recomputes both public keys from the private ones and requires them to equal the
 * stored ones.
 *
 * A file that exists but cannot be used (unreadable, tampered, sealed by another enclave build
 * under MRENCLAVE, by another installation, or inconsistent) is NCSL_E_KEYS_STATE and is never
 * replaced: an identity that silently changes would invalidate every proof and receipt clients
 * hold. The message names the file and the way out (restore it, or remove it to make a new
 * identity on purpose).
 * ---------------------------------------------------------------------------------------------
 *
 * Thread safety: load/create and destroy are not thread-safe against other calls on the same
 * handle; every other function may be called concurrently (each call uses its own OpenSSL
 * contexts over the immutable keys, as openssl-threads(7) allows; the signing key's pool of
 * precomputed nonces has its own lock, which a signer never waits for).
 */
#ifndef NCSL_KEYS_H
#define NCSL_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/seal.h" /* ncsl_seal_policy */
#include "ncsl/ncsl.h"
#include "tee/tee.h"

#define NCSL_KEYS_P256_PUB_SIZE 33u   /* compressed SEC1 point */
#define NCSL_KEYS_P256_POINT_SIZE 65u /* uncompressed SEC1 point: 04 || x || y */
#define NCSL_KEYS_P256_SIG_SIZE 64u   /* raw r || s, each 32 bytes big-endian */
#define NCSL_KEYS_X25519_SIZE 32u
#define NCSL_KEYS_DIR "keys"
#define NCSL_KEYS_FILE "identity.sealed"
#define NCSL_KEYS_SEAL_LABEL "enclave/identity-keys/v1"
#define NCSL_KEYS_RECORD_MAGIC "NCSLKEYS"
#define NCSL_KEYS_RECORD_VERSION 1u
#define NCSL_KEYS_RECORD_SIZE 141u

typedef struct ncsl_keys ncsl_keys;

/* Options for ncsl_keys_load_or_create. Caller-owned; fill with ncsl_keys_options_default. */
typedef struct ncsl_keys_options {
    /* Sealing policy for a new file, and the policy an existing file must have been sealed
     * with (a mismatch is NCSL_E_KEYS_STATE, never a silent downgrade). Default MRENCLAVE: only
     * this exact enclave build can unseal, so a new build starts without the old identity
     * (loudly); MRSIGNER keeps the identity across builds from the same signer. */
    ncsl_seal_policy policy;
    /* Create the keys when the file does not exist (default true). false: NCSL_E_NOT_FOUND. */
    bool create;
} ncsl_keys_options;

/* Defaults: MRENCLAVE, create. `opts` is borrowed. */
void ncsl_keys_options_default(ncsl_keys_options *opts);

/*
 * Loads the identity keys from <data_dir>/keys/identity.sealed, or makes and stores them when
 * the file does not exist (see the format above). `tee` is borrowed for the call (its seal key
 * and random generator); `data_dir` (borrowed; NULL: "./ncsl-data") is the same directory the
 * TEE uses; `opts` (NULL: defaults) is borrowed.
 * On success the caller frees *out with ncsl_keys_destroy.
 * Errors: NCSL_E_INVALID_ARG; NCSL_E_KEYS_STATE (the file exists but cannot be used: the message
 * names it and the way out); NCSL_E_NOT_FOUND (missing and opts->create is false);
 * NCSL_E_TEE_INSECURE_FILE (<data_dir>/keys is not a directory or is group/world-writable);
 * NCSL_E_IO; NCSL_E_NOMEM; NCSL_E_CRYPTO; errors of ncsl_tee_seal_key / ncsl_tee_random.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_load_or_create(ncsl_tee *tee, const char *data_dir,
                                                    const ncsl_keys_options *opts, ncsl_keys **out,
                                                    ncsl_err *err);

/*
 * A fresh identity that is never stored (tests, benchmarks, tools). Randomness from `tee`
 * (borrowed for the call) or, when it is NULL, OpenSSL's CSPRNG. Caller frees *out with
 * ncsl_keys_destroy. Errors: NCSL_E_INVALID_ARG, NCSL_E_NOMEM, NCSL_E_CRYPTO, TEE errors.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_create_ephemeral(ncsl_tee *tee, ncsl_keys **out,
                                                      ncsl_err *err);

/* Stops the signing key's background thread (if it runs), wipes the private keys and the
 * precomputed nonces, and frees the handle. NULL does nothing. */
void ncsl_keys_destroy(ncsl_keys *keys);

/* True when ncsl_keys_load_or_create made new keys (first start) rather than loading them. */
bool ncsl_keys_created(const ncsl_keys *keys);
/* The sealed file's path (borrowed from the handle; "" for ephemeral keys). */
const char *ncsl_keys_path(const ncsl_keys *keys);
/* The sealing policy of the file (MRENCLAVE for ephemeral keys). */
ncsl_seal_policy ncsl_keys_policy(const ncsl_keys *keys);

/* The P-256 signing public key, 33-byte compressed SEC1, into `out` (caller-owned). */
void ncsl_keys_signing_pub_compressed(const ncsl_keys *keys, uint8_t out[NCSL_KEYS_P256_PUB_SIZE]);
/* The X25519 encryption public key into `out` (caller-owned). */
void ncsl_keys_encryption_pub(const ncsl_keys *keys, uint8_t out[NCSL_KEYS_X25519_SIZE]);

/*
 * ECDSA P-256 with SHA-256 over `len` bytes at `msg` (borrowed; NULL only when len is 0; the
 * message is hashed here, pass it raw). Writes the signature as raw r || s (64 bytes, each half
 * big-endian, zero-padded) into `sig` (caller-owned). s is normalized to the low half (s <= n/2),
 * so each signature has one canonical form; verifiers (ours, Neo's) accept either half.
 * The nonce comes from a pool precomputed by a background thread when one is ready (each used
 * once, then wiped), else it is made here (see ncsl_keys_presign_stats); the first call starts
 * that thread. Thread-safe; never waits for the pool. Errors: NCSL_E_INVALID_ARG,
 * NCSL_E_CRYPTO.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_sign(const ncsl_keys *keys, const void *msg, size_t len,
                                          uint8_t sig[NCSL_KEYS_P256_SIG_SIZE], ncsl_err *err);

/*
 * Counters of the signing key's pool of precomputed ECDSA nonces (docs/receipts.md, "Signing
 * speed"): ncsl_keys_sign takes a nonce from the pool when one is ready, else signs the normal
 * way. A background thread (started by the first signature) refills the pool.
 */
typedef struct ncsl_keys_presign_stats {
    uint64_t used;        /* signatures made with a precomputed nonce */
    uint64_t fallbacks;   /* signatures made the normal way (pool off, empty, or busy) */
    uint64_t made;        /* nonces precomputed by the background thread */
    uint64_t made_cpu_ns; /* CPU time the background thread spent precomputing them */
    size_t available;     /* ready in the pool now */
    size_t capacity;      /* pool size (0: off) */
    bool running;         /* the background thread runs */
} ncsl_keys_presign_stats;

/* A snapshot of the counters into `out` (caller-owned). Thread-safe. */
void ncsl_keys_presign_stats_get(const ncsl_keys *keys, ncsl_keys_presign_stats *out);

/*
 * X25519 (RFC 7748) between the identity's encryption key and `peer_pub` (borrowed, 32 bytes):
 * the raw 32-byte shared secret into `shared` (caller-owned; a secret: derive a key from it with
 * HKDF and wipe it). A peer key that gives the all-zero secret (a small-order point) is
 * refused with NCSL_E_KEY_INVALID (field "peer_pub"). On failure `shared` is wiped.
 * Thread-safe. Errors: NCSL_E_INVALID_ARG, NCSL_E_KEY_INVALID, NCSL_E_CRYPTO.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_ecdh(const ncsl_keys *keys,
                                          const uint8_t peer_pub[NCSL_KEYS_X25519_SIZE],
                                          uint8_t shared[NCSL_KEYS_X25519_SIZE], ncsl_err *err);

/* ----------------------------------------------------------------- hand-off to a worker process */
/*
 * The identity's private material, for a worker process of the same daemon that must act as the
 * identity (src/exec/proc.c: Neo.keys derives from it). The bytes go over a socketpair to the
 * child, never into argv, the environment, a file or a log; both sides wipe every copy
 * (ncsl_wipe, i.e. OPENSSL_cleanse) as soon as the handle exists. Nothing else may call these.
 *
 * The material (NCSL_KEYS_PRIVATE_SIZE = 173 bytes) is the sealed record above, version 1
 * (141 bytes: magic, version, reserved, d, x, both public keys), then SHA-256 of those 141
 * bytes. Import checks what loading the sealed file checks (size, magic, version and reserved
 * bytes, 1 <= d < n, the public keys recomputed from d and x equal the ones carried) and the
 * checksum, which also covers the X25519 bits no public key depends on (clamping ignores them;
 * Neo.keys derivations do not).
 */
#define NCSL_KEYS_PRIVATE_SIZE (NCSL_KEYS_RECORD_SIZE + 32u)

/*
 * Writes the material of `keys` (borrowed) into `buf` (caller-owned, *len bytes; a secret: the
 * caller wipes it with ncsl_wipe after use). On NCSL_OK *len is NCSL_KEYS_PRIVATE_SIZE. Errors:
 * NCSL_E_INVALID_ARG (a NULL argument; field "buf" when *len is too small: *len is then set to
 * NCSL_KEYS_PRIVATE_SIZE and nothing is written), NCSL_E_CRYPTO (buf wiped, *len 0).
 * Thread-safe.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_private_export(const ncsl_keys *keys, uint8_t *buf,
                                                    size_t *len, ncsl_err *err);

/*
 * A handle made from material written by ncsl_keys_private_export (`buf`, `len` bytes,
 * borrowed; not wiped here: the caller wipes it). The handle signs, derives (Neo.keys) and does
 * ECDH exactly as the exporting one; like ephemeral keys it has no file (path "", created false,
 * policy MRENCLAVE), and its signing thread starts only with its first signature. Caller frees
 * *out with ncsl_keys_destroy. Errors, none of which quote the material: NCSL_E_INVALID_ARG
 * (field "buf": NULL, wrong length, magic, version or reserved bytes), NCSL_E_KEY_INVALID (field
 * "buf": the checksum does not match, the scalar is out of range, or the public keys do not
 * match the private ones), NCSL_E_NOMEM.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_private_import(const uint8_t *buf, size_t len, ncsl_keys **out,
                                                    ncsl_err *err);

/* ----------------------------------------------------------------------- derived P-256 keys */
/*
 * Per-(user, function, name) P-256 keys derived from the identity (JavaScript's Neo.keys): the
 * same inputs give the same key on every call, after a restart and in every process that loads
 * the same sealed identity; different inputs give independent keys. The derivation is a contract
 * (docs/javascript.md, "Neo"); changing it changes every function's keys:
 *
 *   IKM  = d || x              the identity's P-256 scalar (32 bytes, big-endian) and X25519
 *                              private key (32 bytes): the sealed secrets of the identity
 *   salt = "NCSL/neo-keys/v1"  (ASCII, 16 bytes)
 *   info = "NCSL neo.keys P-256" (ASCII, 19 bytes)
 *          || u32be(len(user_id)) || user_id || u32be(len(function_id)) || function_id
 *          || u32be(len(name)) || name || u8(counter)
 *   k    = HKDF-SHA256(IKM, salt, info, 32 bytes), for counter = 0, 1, 2... until
 *          1 <= k < n (the P-256 order; a draw is out of range with probability about 2^-32)
 *
 * The private key is k (big-endian). A derived key lives in its handle only: no getter exists.
 */
#define NCSL_KEYS_DERIVE_SALT "NCSL/neo-keys/v1"
#define NCSL_KEYS_DERIVE_INFO "NCSL neo.keys P-256"
#define NCSL_KEYS_DERIVE_NAME_MAX 64u /* name: 1..64 characters of [A-Za-z0-9_.-] */
#define NCSL_KEYS_DERIVE_ID_MAX 1024u /* user_id, function_id: 0..1024 bytes */

typedef struct ncsl_keys_derived ncsl_keys_derived;

/*
 * Derives the key of (`user_id`, `function_id`, `name`) from `keys` (all borrowed; the ids may be
 * NULL, meaning ""; they are bytes, compared exactly). On success the caller frees *out with
 * ncsl_keys_derived_destroy; it does not depend on `keys` afterwards. Thread-safe.
 * Errors: NCSL_E_INVALID_ARG (field "name": empty, too long or a character outside
 * [A-Za-z0-9_.-]; field "user_id"/"function_id": longer than NCSL_KEYS_DERIVE_ID_MAX),
 * NCSL_E_NOMEM, NCSL_E_CRYPTO.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_derive_p256(const ncsl_keys *keys, const char *user_id,
                                                 const char *function_id, const char *name,
                                                 ncsl_keys_derived **out, ncsl_err *err);

/* Wipes the private key and frees the handle. NULL does nothing. */
void ncsl_keys_derived_destroy(ncsl_keys_derived *k);

/* The derived key's public key, 33-byte compressed SEC1, into `out` (caller-owned). */
void ncsl_keys_derived_pub(const ncsl_keys_derived *k, uint8_t out[NCSL_KEYS_P256_PUB_SIZE]);

/* ECDSA P-256/SHA-256 over `len` bytes at `msg` (hashed here), exactly as ncsl_keys_sign: raw
 * r || s with low s into `sig` (caller-owned). Thread-safe. NCSL_E_INVALID_ARG, NCSL_E_CRYPTO. */
NCSL_NODISCARD ncsl_status ncsl_keys_derived_sign(const ncsl_keys_derived *k, const void *msg,
                                                  size_t len, uint8_t sig[NCSL_KEYS_P256_SIG_SIZE],
                                                  ncsl_err *err);

/* Verifies `sig` (raw r || s, either half of s) over `msg` with the derived key's public key, as
 * ncsl_keys_p256_verify does: NCSL_OK, NCSL_E_SIGNATURE_INVALID, NCSL_E_INVALID_ARG,
 * NCSL_E_CRYPTO. Thread-safe. */
NCSL_NODISCARD ncsl_status ncsl_keys_derived_verify(const ncsl_keys_derived *k, const void *msg,
                                                    size_t len,
                                                    const uint8_t sig[NCSL_KEYS_P256_SIG_SIZE],
                                                    ncsl_err *err);

/* ----------------------------------------------------------------------- P-256 helpers */

/*
 * Verifies a raw r || s ECDSA P-256/SHA-256 signature (`sig`, borrowed, 64 bytes) over `len`
 * bytes at `msg` (borrowed, hashed here) with the compressed public key `pub` (borrowed, 33
 * bytes). Both halves of s are accepted (as Neo's CryptoLib does); r and s must be in [1, n-1].
 * Returns NCSL_OK only when the signature verifies; NCSL_E_SIGNATURE_INVALID when it does not;
 * NCSL_E_KEY_INVALID (field "pub") when `pub` is not a valid compressed point;
 * NCSL_E_INVALID_ARG, NCSL_E_CRYPTO. Thread-safe.
 */
NCSL_NODISCARD ncsl_status ncsl_keys_p256_verify(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE],
                                                 const void *msg, size_t len,
                                                 const uint8_t sig[NCSL_KEYS_P256_SIG_SIZE],
                                                 ncsl_err *err);

/* Checks that `pub` (borrowed, 33 bytes) is a compressed SEC1 point (prefix 02 or 03) on P-256.
 * NCSL_OK or NCSL_E_KEY_INVALID (field "pub"). */
NCSL_NODISCARD ncsl_status ncsl_keys_p256_validate(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE],
                                                   ncsl_err *err);

/* Decompresses a compressed point (`pub`, borrowed, validated as above) into the 65-byte
 * uncompressed form 04 || x || y (`out`, caller-owned). NCSL_E_KEY_INVALID (field "pub"). */
NCSL_NODISCARD ncsl_status ncsl_keys_p256_decompress(const uint8_t pub[NCSL_KEYS_P256_PUB_SIZE],
                                                     uint8_t out[NCSL_KEYS_P256_POINT_SIZE],
                                                     ncsl_err *err);

/* Compresses an uncompressed point (`point`, borrowed, 04 || x || y, checked to be on P-256)
 * into 33 bytes (`out`, caller-owned). NCSL_E_KEY_INVALID (field "point"). */
NCSL_NODISCARD ncsl_status ncsl_keys_p256_compress(const uint8_t point[NCSL_KEYS_P256_POINT_SIZE],
                                                   uint8_t out[NCSL_KEYS_P256_PUB_SIZE],
                                                   ncsl_err *err);

#endif /* NCSL_KEYS_H */
