/*
 * The Occlum TEE backend: NCSL running as a process of an Occlum LibOS enclave (REFERENCE.md
 * section 1), talking to the enclave through the ioctls of Occlum's own /dev/sgx (opened
 * O_RDONLY once per handle; the file descriptor lives as long as the handle).
 *
 * measure:  CREATE_REPORT once at open (no target info, 64 zero bytes of report data); the
 *           report body gives MRENCLAVE, MRSIGNER, attributes, ISV product id and SVN. The
 *           enclave's identity cannot change while it runs, so later calls return that copy.
 *           A device that refuses CREATE_REPORT (ENOTTY from a character device that is not
 *           Occlum's) fails open: nothing else would work either.
 * quote:    GET_DCAP_QUOTE_SIZE, then GEN_DCAP_QUOTE into a buffer of that size. EBUSY (the
 *           quoting service is busy) is retried with exponential backoff through nanosleep
 *           (Occlum has no setitimer/alarm and signals are not a sleep primitive here), bounded
 *           by occlum_busy_tries; EIO means the host's DCAP stack is not ready
 *           (NCSL_E_TEE_UNAVAILABLE); EINVAL means the buffer was too small, so the size is asked
 *           again and the call repeated with a larger buffer (twice at most). The quote is then
 *           checked (ncsl__tee_sgx_quote_check) and cut to its own length.
 * seal_key: GET_KEY with a 512-byte sgx_key_request_t:
 *             key_name    SEAL_KEY (4); key_policy MRENCLAVE (0x1) or MRSIGNER (0x2) from the
 *                         ncsl_seal_policy;
 *             cpu_svn, isv_svn, config_svn: this enclave's current values from its own report.
 *                         Why: the key then belongs to the TCB the enclave runs on now, and an
 *                         older, vulnerable CPU microcode or enclave version cannot derive it
 *                         (Gramine does the same). The cost: after a microcode update or an
 *                         ISVSVN bump, data sealed before can only be read again by asking for
 *                         the old SVNs, which NCSL's blobs do not record yet: re-seal (migrate)
 *                         before upgrading.
 *             attribute_mask flags 0xFF0000000000000B, xfrm 0, misc_mask 0xF0000000: the
 *                         Intel SDK's default sealing masks (TSEAL_DEFAULT_*): INIT and DEBUG
 *                         (and the high reserved bits) take part, so a debug enclave never derives
 *                         a production enclave's key; MODE64BIT, PROVISION_KEY, EINITTOKEN_KEY and
 *                         XFRM (CPU features) do not, so the key survives a move to another CPU
 *                         feature set.
 *             key_id      the fixed ASCII string "ncsl-tee-occlum-keyid-v1", zero-padded: the
 *                         key must be the same on every start (the SDK's per-blob random key id
 *                         needs the request stored with each blob, which NCSL does not do), and a
 *                         key id of NCSL's own keeps it apart from other users of EGETKEY in the
 *                         same enclave.
 *           The 16-byte result becomes the 32-byte NCSL seal root through HKDF-SHA256 with info
 *           "ncsl-tee-occlum-sealkey-v1" || policy byte, then is wiped.
 * random:   getrandom(2), which Occlum answers inside the enclave.
 *
 * Every ioctl is serialized by the handle's mutex: one request at a time reaches the device
 * (Occlum does not document its dev_sgx commands as safe to run concurrently). The mutex is not
 * held while sleeping between EBUSY tries, so seal_key does not wait behind a busy quote.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "tee/tee_int.h"

/* ------------------------------------------------------------------------- the device ABI */

/* Argument structs of Occlum's /dev/sgx (IoctlCreateReportArg, IoctlGenDCAPQuoteArg,
 * IoctlGetKeyArg in occlum/occlum src/libos/src/fs/dev_fs/dev_sgx/mod.rs). */
typedef struct occlum_create_report_arg {
    const uint8_t *target_info; /* sgx_target_info_t (512 B), optional */
    const uint8_t *report_data; /* sgx_report_data_t (64 B), optional */
    uint8_t *report;            /* sgx_report_t (432 B), out */
} occlum_create_report_arg;

typedef struct occlum_gen_quote_arg {
    const uint8_t *report_data; /* 64 B */
    uint32_t *quote_len;        /* in: buffer size; Occlum v0.31 does not write it back */
    uint8_t *quote_buf;
} occlum_gen_quote_arg;

typedef struct occlum_get_key_arg {
    const uint8_t *key_request; /* sgx_key_request_t (512 B) */
    uint8_t *key;               /* sgx_key_128bit_t (16 B), out */
} occlum_get_key_arg;

/* Request numbers: magic 's', _IOC(direction, 's', nr, sizeof(argument)), as Occlum v0.31
 * defines them (src/libos/src/fs/dev_fs/dev_sgx/consts.rs); values as in REFERENCE.md section 1,
 * cross-checked against the kernel's _IO* macros below. */
#define OCCLUM_SGXIOC_CREATE_REPORT 0xC0187304ul       /* nr 4, _IOWR, 24-byte argument */
#define OCCLUM_SGXIOC_GET_DCAP_QUOTE_SIZE 0x80047307ul /* nr 7, _IOR, u32 */
#define OCCLUM_SGXIOC_GEN_DCAP_QUOTE 0xC0187308ul      /* nr 8, _IOWR, 24-byte argument */
#define OCCLUM_SGXIOC_GET_KEY 0xC010730Bul             /* nr 11, _IOWR, 16-byte argument */

_Static_assert(_IOWR('s', 4, occlum_create_report_arg) == OCCLUM_SGXIOC_CREATE_REPORT,
               "CREATE_REPORT request number");
_Static_assert(_IOR('s', 7, uint32_t) == OCCLUM_SGXIOC_GET_DCAP_QUOTE_SIZE,
               "GET_DCAP_QUOTE_SIZE request number");
_Static_assert(_IOWR('s', 8, occlum_gen_quote_arg) == OCCLUM_SGXIOC_GEN_DCAP_QUOTE,
               "GEN_DCAP_QUOTE request number");
_Static_assert(_IOWR('s', 11, occlum_get_key_arg) == OCCLUM_SGXIOC_GET_KEY,
               "GET_KEY request number");

/* sgx_key_request_t (512 bytes, Intel sgx_key.h). */
#define KR_SIZE 512u
#define KR_KEY_NAME 0u
#define KR_KEY_POLICY 2u
#define KR_ISV_SVN 4u
#define KR_CPU_SVN 8u
#define KR_ATTR_MASK_FLAGS 24u
#define KR_ATTR_MASK_XFRM 32u
#define KR_KEY_ID 40u
#define KR_MISC_MASK 72u
#define KR_CONFIG_SVN 76u
#define SGX_KEYSELECT_SEAL 4u
#define SGX_KEYPOLICY_MRENCLAVE 0x1u
#define SGX_KEYPOLICY_MRSIGNER 0x2u
#define SEAL_FLAGS_MASK 0xFF0000000000000Bull /* Intel SDK TSEAL_DEFAULT_FLAGSMASK */
#define SEAL_XFRM_MASK 0x0ull
#define SEAL_MISC_MASK 0xF0000000u /* Intel SDK TSEAL_DEFAULT_MISCMASK */
#define OCCLUM_KEY_ID "ncsl-tee-occlum-keyid-v1"
#define OCCLUM_SEAL_INFO "ncsl-tee-occlum-sealkey-v1"

#define OCCLUM_BUSY_TRIES_DEFAULT 20u
#define OCCLUM_BACKOFF_MS_DEFAULT 5u
#define OCCLUM_BACKOFF_MS_MAX 500u
#define OCCLUM_EINVAL_REGROWS 2

typedef struct occlum_state {
    pthread_mutex_t lock; /* serializes every ioctl on fd */
    bool lock_ready;
    ncsl_tee_sgx_transport tr;
    int fd;
    char *device;
    ncsl__tee_sgx_identity id;
    unsigned busy_tries;
    unsigned backoff_ms;
} occlum_state;

static const char *occlum_name(void) {
    return "occlum";
}

/* ------------------------------------------------------------------------- system calls */

static int real_open(void *user, const char *path, int flags) {
    return open(path, flags);
}

static int real_ioctl(void *user, int fd, unsigned long request, void *arg) {
    return ioctl(fd, request, arg);
}

static int real_close(void *user, int fd) {
    return close(fd);
}

static const char *errno_name(int e) {
    switch (e) {
    case ENOTTY:
        return "ENOTTY";
    case ENOSYS:
        return "ENOSYS";
    case EINVAL:
        return "EINVAL";
    case EIO:
        return "EIO";
    case EBUSY:
        return "EBUSY";
    case EFAULT:
        return "EFAULT";
    case EPERM:
        return "EPERM";
    case EACCES:
        return "EACCES";
    case ENOENT:
        return "ENOENT";
    case ENODEV:
        return "ENODEV";
    case ENXIO:
        return "ENXIO";
    default:
        return "errno";
    }
}

/* One ioctl under the lock; EINTR is repeated. Returns 0 or the errno. */
static int dev_ioctl(occlum_state *s, unsigned long request, void *arg) {
    int rc, e = 0;
    pthread_mutex_lock(&s->lock);
    do {
        errno = 0;
        rc = s->tr.ioctl(s->tr.user, s->fd, request, arg);
        e = errno;
    } while (rc < 0 && e == EINTR);
    pthread_mutex_unlock(&s->lock);
    if (rc < 0) {
        return e ? e : EIO; /* a transport that fails without errno still fails */
    }
    return 0;
}

/* The error for a failed ioctl `op`, with what each errno means for Occlum's /dev/sgx. */
static ncsl_status ioctl_error(const occlum_state *s, const char *op, int e, ncsl_err *err) {
    switch (e) {
    case ENOTTY:
        return ncsl_err_set(err, NCSL_E_TEE, "occlum_device",
                            "%s: %s failed with ENOTTY: this character device does not answer SGX "
                            "ioctls, it is not Occlum's /dev/sgx",
                            s->device, op);
    case ENOSYS:
        return ncsl_err_set(err, NCSL_E_TEE, "occlum_device",
                            "%s: %s failed with ENOSYS: the device does not implement this SGX "
                            "command (an Occlum built without DCAP support, or not Occlum's "
                            "/dev/sgx)",
                            s->device, op);
    case EIO:
        return ncsl_err_set(err, NCSL_E_TEE_UNAVAILABLE, NULL,
                            "%s: %s failed with EIO: DCAP quoting is not ready in this enclave "
                            "(Occlum found no working DCAP quote generator: check the host's SGX "
                            "DCAP driver, quote provider library and PCCS configuration)",
                            s->device, op);
    default:
        return ncsl_err_set(err, NCSL_E_TEE, NULL, "%s: %s failed: %s (%s %d)", s->device, op,
                            strerror(e), errno_name(e), e);
    }
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* dev_ioctl, repeated while the quoting service answers EBUSY: at most s->busy_tries calls,
 * sleeping s->backoff_ms, then twice as long each time (at most OCCLUM_BACKOFF_MS_MAX) in
 * between. Returns 0 or the errno; EBUSY after the last try. */
static int dev_ioctl_busy(occlum_state *s, unsigned long request, void *arg) {
    unsigned delay_ms = s->backoff_ms;
    for (unsigned tries = 1;; tries++) {
        int e = dev_ioctl(s, request, arg);
        if (e != EBUSY || tries >= s->busy_tries) {
            return e;
        }
        NCSL_LOG_DEBUG("tee", "Occlum quoting service busy (try %u of %u), retrying in %u ms",
                       tries, s->busy_tries, delay_ms);
        sleep_ms(delay_ms);
        delay_ms = delay_ms >= OCCLUM_BACKOFF_MS_MAX / 2 ? OCCLUM_BACKOFF_MS_MAX : delay_ms * 2;
    }
}

static ncsl_status busy_error(const occlum_state *s, const char *op, ncsl_err *err) {
    return ncsl_err_set(err, NCSL_E_TEE_UNAVAILABLE, NULL,
                        "%s: %s: the quoting service stayed busy (EBUSY) through %u tries; retry "
                        "later",
                        s->device, op, s->busy_tries);
}

/* ------------------------------------------------------------------------- ops */

static void occlum_close(void *state) {
    occlum_state *s = state;
    if (!s) {
        return;
    }
    if (s->fd >= 0) {
        (void)s->tr.close(s->tr.user, s->fd);
    }
    if (s->lock_ready) {
        pthread_mutex_destroy(&s->lock);
    }
    free(s->device);
    ncsl_wipe(s, sizeof(*s));
    free(s);
}

static ncsl_status occlum_open(const ncsl_tee_options *opts, void **state, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    occlum_state *s = NULL;
    const char *device = opts->occlum_device ? opts->occlum_device : NCSL_TEE_OCCLUM_DEVICE_DEFAULT;
    _Alignas(512) uint8_t report[NCSL_TEE_SGX_REPORT_SIZE];
    _Alignas(64) uint8_t zero_data[NCSL_TEE_REPORT_DATA_SIZE];

    *state = NULL;
    s = calloc(1, sizeof(*s));
    if (!s) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (Occlum state)");
    }
    s->fd = -1;
    if (opts->sgx_transport) {
        s->tr = *opts->sgx_transport;
        if (!s->tr.open || !s->tr.ioctl || !s->tr.close) {
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "sgx_transport",
                              "the SGX transport lacks open, ioctl or close");
            goto out;
        }
    } else {
        s->tr = (ncsl_tee_sgx_transport){real_open, real_ioctl, real_close, NULL};
    }
    s->busy_tries = opts->occlum_busy_tries ? opts->occlum_busy_tries : OCCLUM_BUSY_TRIES_DEFAULT;
    s->backoff_ms =
        opts->occlum_busy_backoff_ms ? opts->occlum_busy_backoff_ms : OCCLUM_BACKOFF_MS_DEFAULT;
    if (s->backoff_ms > OCCLUM_BACKOFF_MS_MAX) {
        s->backoff_ms = OCCLUM_BACKOFF_MS_MAX;
    }
    s->device = ncsl_strdup(device);
    if (!s->device) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        st = ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "cannot create the Occlum device lock");
        goto out;
    }
    s->lock_ready = true;
    errno = 0;
    s->fd = s->tr.open(s->tr.user, device, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        int e = errno ? errno : EIO;
        st = ncsl_err_set(err, NCSL_E_TEE, "occlum_device", "cannot open %s: %s", device,
                          strerror(e));
        goto out;
    }

    /* The enclave's own report: its identity, and the SVNs the seal key request needs. */
    memset(report, 0, sizeof(report));
    memset(zero_data, 0, sizeof(zero_data));
    occlum_create_report_arg ra = {.target_info = NULL, .report_data = zero_data, .report = report};
    int e = dev_ioctl(s, OCCLUM_SGXIOC_CREATE_REPORT, &ra);
    if (e != 0) {
        st = ioctl_error(s, "CREATE_REPORT", e, err);
        goto out;
    }
    char what[128];
    snprintf(what, sizeof(what), "%.100s (CREATE_REPORT)", device);
    st = ncsl__tee_sgx_report_decode(report, what, &s->id, err);
    if (st != NCSL_OK) {
        goto out;
    }
    *state = s;
    s = NULL;
out:
    occlum_close(s);
    return st;
}

static ncsl_status occlum_measure(void *state, ncsl_tee_measurement *out, ncsl_err *err) {
    const occlum_state *s = state;
    *out = s->id.m;
    return NCSL_OK;
}

static ncsl_status occlum_quote(void *state, const uint8_t report_data[NCSL_TEE_REPORT_DATA_SIZE],
                                uint8_t **quote, size_t *len, ncsl_err *err) {
    occlum_state *s = state;
    ncsl_status st = NCSL_OK;
    uint8_t *buf = NULL;
    uint32_t size = 0;
    _Alignas(64) uint8_t rd[NCSL_TEE_REPORT_DATA_SIZE];
    int regrows = 0;

    *quote = NULL;
    *len = 0;
    memcpy(rd, report_data, sizeof(rd));
    for (;;) {
        /* The size first (again after EINVAL: the quote grew). */
        uint32_t want = 0;
        int e = dev_ioctl_busy(s, OCCLUM_SGXIOC_GET_DCAP_QUOTE_SIZE, &want);
        if (e == EBUSY) {
            st = busy_error(s, "GET_DCAP_QUOTE_SIZE", err);
            goto out;
        }
        if (e != 0) {
            st = ioctl_error(s, "GET_DCAP_QUOTE_SIZE", e, err);
            goto out;
        }
        if (want < NCSL_TEE_SGX_QUOTE_FIXED_SIZE || want > NCSL_TEE_SGX_QUOTE_MAX_SIZE) {
            st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                              "%s: GET_DCAP_QUOTE_SIZE answered %u bytes, not a plausible DCAP "
                              "quote size (%u to %u)",
                              s->device, want, NCSL_TEE_SGX_QUOTE_FIXED_SIZE,
                              NCSL_TEE_SGX_QUOTE_MAX_SIZE);
            goto out;
        }
        if (want <= size && regrows > 0) {
            st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                              "%s: GEN_DCAP_QUOTE rejected a %u-byte buffer as too small (EINVAL) "
                              "although GET_DCAP_QUOTE_SIZE asks for %u bytes",
                              s->device, size, want);
            goto out;
        }
        free(buf);
        size = want;
        buf = calloc(1, size);
        if (!buf) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory (quote)");
            goto out;
        }
        uint32_t qlen = size;
        occlum_gen_quote_arg qa = {.report_data = rd, .quote_len = &qlen, .quote_buf = buf};
        e = dev_ioctl_busy(s, OCCLUM_SGXIOC_GEN_DCAP_QUOTE, &qa);
        if (e == 0) {
            if (qlen == 0 || qlen > size) {
                st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                                  "%s: GEN_DCAP_QUOTE reported a quote of %u bytes for a %u-byte "
                                  "buffer",
                                  s->device, qlen, size);
                goto out;
            }
            *len = qlen;
            break;
        }
        if (e == EBUSY) {
            st = busy_error(s, "GEN_DCAP_QUOTE", err);
            goto out;
        }
        if (e != EINVAL) {
            st = ioctl_error(s, "GEN_DCAP_QUOTE", e, err);
            goto out;
        }
        /* EINVAL: the buffer is too small for the quote; ask for the size again. */
        if (++regrows > OCCLUM_EINVAL_REGROWS) {
            st = ncsl_err_set(err, NCSL_E_TEE, NULL,
                              "%s: GEN_DCAP_QUOTE kept answering EINVAL (buffer too small) after "
                              "%d larger buffers",
                              s->device, OCCLUM_EINVAL_REGROWS);
            goto out;
        }
    }
    st = ncsl__tee_sgx_quote_check(buf, len, rd, &s->id, s->device, err);
    if (st != NCSL_OK) {
        *len = 0;
        goto out;
    }
    *quote = buf;
    buf = NULL;
out:
    free(buf);
    return st;
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

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

static ncsl_status occlum_seal_key(void *state, ncsl_seal_policy policy,
                                   uint8_t key[NCSL_TEE_SEAL_KEY_SIZE], ncsl_err *err) {
    occlum_state *s = state;
    ncsl_status st = NCSL_OK;
    _Alignas(512) uint8_t req[KR_SIZE];
    _Alignas(16) uint8_t hw[NCSL_TEE_SGX_HW_KEY_SIZE];
    uint16_t key_policy = 0;

    if (policy == NCSL_SEAL_POLICY_MRENCLAVE) {
        key_policy = SGX_KEYPOLICY_MRENCLAVE;
    } else if (policy == NCSL_SEAL_POLICY_MRSIGNER) {
        key_policy = SGX_KEYPOLICY_MRSIGNER;
    } else {
        ncsl_wipe(key, NCSL_TEE_SEAL_KEY_SIZE);
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "policy", "unknown sealing policy %d",
                            (int)policy);
    }
    memset(req, 0, sizeof(req));
    memset(hw, 0, sizeof(hw));
    put_le16(req + KR_KEY_NAME, SGX_KEYSELECT_SEAL);
    put_le16(req + KR_KEY_POLICY, key_policy);
    put_le16(req + KR_ISV_SVN, s->id.m.isv_svn);
    memcpy(req + KR_CPU_SVN, s->id.cpu_svn, sizeof(s->id.cpu_svn));
    put_le64(req + KR_ATTR_MASK_FLAGS, SEAL_FLAGS_MASK);
    put_le64(req + KR_ATTR_MASK_XFRM, SEAL_XFRM_MASK);
    memcpy(req + KR_KEY_ID, OCCLUM_KEY_ID, sizeof(OCCLUM_KEY_ID) - 1);
    put_le32(req + KR_MISC_MASK, SEAL_MISC_MASK);
    put_le16(req + KR_CONFIG_SVN, s->id.config_svn);

    occlum_get_key_arg ka = {.key_request = req, .key = hw};
    int e = dev_ioctl(s, OCCLUM_SGXIOC_GET_KEY, &ka);
    if (e != 0) {
        ncsl_wipe(key, NCSL_TEE_SEAL_KEY_SIZE);
        st = ioctl_error(s, "GET_KEY", e, err);
        goto out;
    }
    st = ncsl__tee_sgx_expand_seal_key(OCCLUM_SEAL_INFO, hw, policy, key, err);
out:
    ncsl_wipe(hw, sizeof(hw));
    return st;
}

static ncsl_status occlum_random(void *state, void *buf, size_t len, ncsl_err *err) {
    return ncsl__tee_getrandom(buf, len, err);
}

const ncsl_tee_ops ncsl__tee_occlum_ops = {
    .kind = NCSL_TEE_KIND_HARDWARE,
    .name = occlum_name,
    .open = occlum_open,
    .close = occlum_close,
    .measure = occlum_measure,
    .quote = occlum_quote,
    .seal_key = occlum_seal_key,
    .random = occlum_random,
    .attestation_root_pem = NULL, /* quotes chain to Intel's root */
};
