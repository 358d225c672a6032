/*
 * INTERFACE TEST of the Occlum backend (src/tee/occlum/tee_occlum.c). No SGX, no Occlum.
 *
 * The stand-in: Occlum's /dev/sgx is a character device served by the Occlum LibOS inside the
 * enclave. It cannot exist here (a CUSE device could imitate it, but this kernel has no CUSE:
 * no /dev/cuse, no "cuse" in /proc/misc), so the backend's system calls go through the
 * transport seam of ncsl_tee_options (open/ioctl/close) into fake_ioctl below: a fake SGX driver
 * written from Occlum v0.31's dev_sgx source as summarized in REFERENCE.md section 1. It
 *   - accepts only the documented request numbers, and checks that the size encoded in each
 *     matches the argument struct declared HERE (independently of the backend's);
 *   - reads and writes through the pointers of those structs exactly as Occlum does
 *     (CREATE_REPORT optional target info and report data; GEN_DCAP_QUOTE's in/out length,
 *     which Occlum does not write back; GET_KEY's 512-byte key request);
 *   - answers with Occlum's errors: EBUSY a chosen number of times, EIO (DCAP not ready), EINVAL
 *     (buffer smaller than GET_DCAP_QUOTE_SIZE, bad key request), ENOSYS (unknown request);
 *   - makes its quotes with the simulation backend over the report data it was handed, so a
 *     quote that verifies (allow_simulation) with the right report data proves the bytes
 *     travelled through the ioctl arguments both ways;
 *   - derives GET_KEY's 16 bytes from the request fields (policy, the measurement it selects,
 *     SVNs, masks, key id), so the tests see which fields the backend fills.
 * The device itself is also tried for real: /dev/null (a genuine character device that is not
 * SGX) through the real system calls must give a clear ENOTTY error.
 *
 * What this cannot prove: that a real Occlum answers this way (the fake follows Occlum's source,
 * not a running enclave), that EGETKEY's real key derivation or alignment rules accept the
 * request, or that quotes from real hardware pass (test_attest_quote covers real quotes). Run
 * the backend inside Occlum on SGX hardware for that (label sgx, not built here).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest/attest.h"
#include "common/common.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "tee_test_util.h"

/* ------------------------------------------------------------------------- the fake driver */

/* Occlum's argument structs (dev_sgx/mod.rs), declared independently of the backend. */
typedef struct {
    const uint8_t *target_info;
    const uint8_t *report_data;
    uint8_t *report;
} t_create_report_arg;
typedef struct {
    const uint8_t *report_data;
    uint32_t *quote_len;
    uint8_t *quote_buf;
} t_gen_quote_arg;
typedef struct {
    const uint8_t *key_request;
    uint8_t *key;
} t_get_key_arg;

/* The request values of REFERENCE.md section 1, literally. */
#define T_CREATE_REPORT 0xC0187304ul
#define T_GET_DCAP_QUOTE_SIZE 0x80047307ul
#define T_GEN_DCAP_QUOTE 0xC0187308ul
#define T_GET_KEY 0xC010730Bul
#define T_IS_EDMM_SUPPORTED 0x80047300ul

#define FAKE_FD 4242

typedef struct fake_sgx {
    /* identity */
    ncsl_tee *sim; /* quotes come from here */
    ncsl_tee_measurement m;
    uint8_t cpu_svn[16];
    uint16_t isv_prod_id, isv_svn, config_svn;
    uint8_t cpu_secret[32]; /* stands in for the CPU's fused key */
    size_t quote_size;      /* what the simulation's quotes weigh */

    /* behaviour knobs */
    int create_report_errno;
    bool create_report_writes_nothing;
    int busy_left;  /* GEN_DCAP_QUOTE answers EBUSY this many more times */
    int size_errno; /* GET_DCAP_QUOTE_SIZE fails */
    int gen_errno;  /* GEN_DCAP_QUOTE fails */
    int undersize;  /* GET_DCAP_QUOTE_SIZE under-reports by 100 bytes this many times */
    bool undersize_always;
    uint32_t size_override; /* GET_DCAP_QUOTE_SIZE answers this when not 0 */
    uint32_t pad;           /* announce and fill this many bytes more than the quote */
    bool truncate;          /* write only the first (size - 200) bytes, announce that */
    bool wrong_report_data; /* quote over other report data */
    int key_errno;
    unsigned sleep_us; /* inside every ioctl, to expose missing serialization */

    /* observations */
    atomic_int inflight;
    atomic_int max_inflight;
    atomic_int n_open, n_close, n_create_report, n_size, n_gen, n_key, n_unknown;
    int open_flags;
    char open_path[256];
    bool create_report_target_was_null;
    bool create_report_data_was_zero;
    uint8_t last_key_request[512];
    uint8_t last_hw_key[16];
} fake_sgx;

static uint16_t rd16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static uint64_t rd64(const uint8_t *p) {
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static int fake_open(void *user, const char *path, int flags) {
    fake_sgx *f = user;
    atomic_fetch_add(&f->n_open, 1);
    f->open_flags = flags;
    snprintf(f->open_path, sizeof(f->open_path), "%s", path);
    if ((flags & O_ACCMODE) != O_RDONLY) {
        errno = EACCES; /* the backend must open the device read-only */
        return -1;
    }
    return FAKE_FD;
}

static int fake_close(void *user, int fd) {
    fake_sgx *f = user;
    assert_int_equal(fd, FAKE_FD);
    atomic_fetch_add(&f->n_close, 1);
    return 0;
}

static int dev_fail(int e) {
    errno = e;
    return -1;
}

/* EGETKEY stand-in: 16 bytes of SHA-256 over the secret and the fields EGETKEY mixes in. */
static void fake_derive(const fake_sgx *f, const uint8_t *req, uint8_t out[16]) {
    uint8_t buf[256];
    uint8_t h[32];
    size_t n = 0;
    ncsl_err err;
    uint16_t policy = rd16(req + 2);
    memcpy(buf + n, f->cpu_secret, 32);
    n += 32;
    memcpy(buf + n, req + 0, 8); /* key name, policy, isv_svn, reserved */
    n += 8;
    memcpy(buf + n, policy == 1 ? f->m.mr_enclave : f->m.mr_signer, 32);
    n += 32;
    memcpy(buf + n, req + 8, 16); /* cpu_svn */
    n += 16;
    uint64_t flags = rd64(f->m.attributes) & rd64(req + 24);
    memcpy(buf + n, &flags, 8);
    n += 8;
    memcpy(buf + n, req + 40, 32); /* key id */
    n += 32;
    memcpy(buf + n, req + 72, 6); /* misc mask, config svn */
    n += 6;
    assert_int_equal(ncsl_crypto_sha256(buf, n, h, &err), NCSL_OK);
    memcpy(out, h, 16);
}

static bool cpu_svn_le(const uint8_t *a, const uint8_t *b) {
    /* a request may name the current SVN or an older one, never a newer one */
    return memcmp(a, b, 16) <= 0;
}

static int fake_ioctl_body(fake_sgx *f, unsigned long request, void *arg) {
    ncsl_err err;
    switch (request) {
    case T_CREATE_REPORT: {
        assert_int_equal(_IOC_SIZE(request), sizeof(t_create_report_arg));
        atomic_fetch_add(&f->n_create_report, 1);
        t_create_report_arg *a = arg;
        if (!a || !a->report) {
            return dev_fail(EINVAL); /* "output pointer for report must not be null" */
        }
        if (f->create_report_errno) {
            return dev_fail(f->create_report_errno);
        }
        f->create_report_target_was_null = a->target_info == NULL;
        static const uint8_t zero[64];
        f->create_report_data_was_zero = !a->report_data || memcmp(a->report_data, zero, 64) == 0;
        if (!f->create_report_writes_nothing) {
            tt_make_report(&f->m, f->cpu_svn, f->isv_prod_id, f->isv_svn, f->config_svn,
                           a->report_data, a->report);
        }
        return 0;
    }
    case T_GET_DCAP_QUOTE_SIZE: {
        assert_int_equal(_IOC_SIZE(request), sizeof(uint32_t));
        atomic_fetch_add(&f->n_size, 1);
        if (f->size_errno) {
            return dev_fail(f->size_errno);
        }
        uint32_t size = (uint32_t)f->quote_size + f->pad;
        if (f->truncate) {
            size -= 200;
        }
        if (f->undersize_always || f->undersize > 0) {
            f->undersize--;
            size -= 100;
        }
        if (f->size_override) {
            size = f->size_override;
        }
        *(uint32_t *)arg = size;
        return 0;
    }
    case T_GEN_DCAP_QUOTE: {
        assert_int_equal(_IOC_SIZE(request), sizeof(t_gen_quote_arg));
        atomic_fetch_add(&f->n_gen, 1);
        t_gen_quote_arg *a = arg;
        if (!a || !a->quote_len || !a->quote_buf || !a->report_data) {
            return dev_fail(EFAULT);
        }
        if (f->busy_left > 0) {
            f->busy_left--;
            return dev_fail(EBUSY);
        }
        if (f->gen_errno) {
            return dev_fail(f->gen_errno);
        }
        uint32_t need = (uint32_t)f->quote_size + f->pad;
        if (f->truncate) {
            need -= 200;
        }
        if (*a->quote_len < need) {
            return dev_fail(EINVAL); /* "provided quote is too small" */
        }
        uint8_t rd[64];
        memcpy(rd, a->report_data, 64);
        if (f->wrong_report_data) {
            rd[5] ^= 0x80;
        }
        uint8_t *q = NULL;
        size_t qlen = 0;
        assert_int_equal(ncsl_tee_get_quote(f->sim, rd, &q, &qlen, &err), NCSL_OK);
        assert_int_equal(qlen, f->quote_size);
        memset(a->quote_buf, 0, need);
        memcpy(a->quote_buf, q, need < qlen ? need : qlen);
        free(q);
        /* Like Occlum v0.31: *quote_len is left as the caller set it. */
        return 0;
    }
    case T_GET_KEY: {
        assert_int_equal(_IOC_SIZE(request), sizeof(t_get_key_arg));
        atomic_fetch_add(&f->n_key, 1);
        t_get_key_arg *a = arg;
        if (!a || !a->key_request || !a->key) {
            return dev_fail(EINVAL);
        }
        if (f->key_errno) {
            return dev_fail(f->key_errno);
        }
        const uint8_t *r = a->key_request;
        memcpy(f->last_key_request, r, 512);
        uint16_t name = rd16(r), policy = rd16(r + 2);
        static const uint8_t zero[512];
        if (name != 4 || (policy != 1 && policy != 2) || rd16(r + 6) != 0 ||
            memcmp(r + 78, zero, 512 - 78) != 0 || !cpu_svn_le(r + 8, f->cpu_svn) ||
            rd16(r + 4) > f->isv_svn || rd16(r + 76) > f->config_svn) {
            return dev_fail(EINVAL); /* EGETKEY rejects reserved bits and future SVNs */
        }
        fake_derive(f, r, a->key);
        memcpy(f->last_hw_key, a->key, 16);
        return 0;
    }
    default:
        atomic_fetch_add(&f->n_unknown, 1);
        return dev_fail(ENOSYS); /* "unknown ioctl cmd for /dev/sgx" */
    }
}

static int fake_ioctl(void *user, int fd, unsigned long request, void *arg) {
    fake_sgx *f = user;
    if (fd != FAKE_FD) {
        return dev_fail(EBADF);
    }
    int now = atomic_fetch_add(&f->inflight, 1) + 1;
    int prev = atomic_load(&f->max_inflight);
    while (now > prev && !atomic_compare_exchange_weak(&f->max_inflight, &prev, now)) {
    }
    if (f->sleep_us) {
        usleep(f->sleep_us);
    }
    int rc = fake_ioctl_body(f, request, arg);
    int e = errno;
    atomic_fetch_sub(&f->inflight, 1);
    errno = e;
    return rc;
}

/* ------------------------------------------------------------------------- fixtures */

typedef struct fixture {
    char *sim_dir;
    fake_sgx f;
    ncsl_tee_sgx_transport tr;
    ncsl_tee_options o;
} fixture;

static void fake_init(fixture *fx) {
    ncsl_err err;
    memset(fx, 0, sizeof(*fx));
    fx->sim_dir = ncsl_test_tmpdir_make("ncsl-tee-occlum");
    fx->f.sim = ncsl_test_open_sim_tee(fx->sim_dir);
    assert_int_equal(ncsl_tee_measure(fx->f.sim, &fx->f.m, &err), NCSL_OK);
    for (int i = 0; i < 16; i++) {
        fx->f.cpu_svn[i] = (uint8_t)(0x10 + i);
    }
    fx->f.isv_prod_id = 0x0102;
    fx->f.isv_svn = 0x0304;
    fx->f.config_svn = 7;
    memset(fx->f.cpu_secret, 0xC5, sizeof(fx->f.cpu_secret));
    uint8_t rd[64] = {0};
    uint8_t *q = NULL;
    assert_int_equal(ncsl_tee_get_quote(fx->f.sim, rd, &q, &fx->f.quote_size, &err), NCSL_OK);
    free(q);
    fx->tr = (ncsl_tee_sgx_transport){fake_open, fake_ioctl, fake_close, &fx->f};
    ncsl_tee_options_default(&fx->o);
    fx->o.type = NCSL_TEE_OCCLUM;
    fx->o.sysname = "Occlum";
    fx->o.occlum_device = "/dev/null"; /* a real character device, so detection passes */
    fx->o.sgx_transport = &fx->tr;
    fx->o.occlum_busy_backoff_ms = 1;
}

static void fake_cleanup(fixture *fx) {
    ncsl_tee_close(fx->f.sim);
    ncsl_test_tmpdir_remove(fx->sim_dir);
}

static ncsl_tee *open_ok(fixture *fx) {
    ncsl_tee *tee = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_tee_open(&fx->o, &tee, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "open: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return tee;
}

static void rd_fill(uint8_t rd[64], uint8_t seed) {
    for (int i = 0; i < 64; i++) {
        rd[i] = (uint8_t)(seed * 31 + i);
    }
}

/* ------------------------------------------------------------------------- tests */

static void test_detection(void **unused) {
    fixture fx;
    ncsl_err err;
    ncsl_tee *tee = NULL;
    fake_init(&fx);
    char *tmp = ncsl_test_tmpdir_make("ncsl-tee-occlum-det");
    char *nodir = ncsl_test_path(tmp, "no-such-attestation");
    tt_write_file(tmp, "plain", "x", 1);
    char *plain = ncsl_test_path(tmp, "plain");

    /* Explicit Occlum outside Occlum. */
    fx.o.sysname = "Linux";
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_UNSUPPORTED);
    assert_null(tee);
    assert_non_null(strstr(err.message, "sysname is \"Linux\""));
    assert_int_equal(atomic_load(&fx.f.n_open), 0);

    /* Inside Occlum, but the device is a regular file / missing. */
    fx.o.sysname = "Occlum";
    fx.o.occlum_device = plain;
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "not a character device"));
    assert_non_null(strstr(err.message, plain));
    fx.o.occlum_device = nodir;
    fx.o.type = NCSL_TEE_AUTO;
    fx.o.data_dir = fx.sim_dir;
    fx.o.gramine_dir = nodir;
    /* Auto inside Occlum without the device: an error, not a silent simulation. */
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_UNSUPPORTED);
    assert_null(tee);
    assert_non_null(strstr(err.message, "SimulationMode"));
    assert_int_equal(atomic_load(&fx.f.n_open), 0);

    /* Auto on a plain Linux host: simulation, and the reason says why. */
    fx.o.sysname = "Linux";
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_OK);
    assert_string_equal(ncsl_tee_name(tee), "simulation");
    assert_non_null(strstr(ncsl_tee_reason(tee), "Auto: not in Occlum (sysname Linux)"));
    assert_non_null(strstr(ncsl_tee_reason(tee), "absent"));
    assert_non_null(strstr(ncsl_tee_reason(tee), "using simulation"));
    ncsl_tee_close(tee);

    /* Auto inside Occlum with a character device: Occlum. */
    fx.o.sysname = "Occlum";
    fx.o.occlum_device = "/dev/null";
    tee = open_ok(&fx);
    assert_string_equal(ncsl_tee_name(tee), "occlum");
    assert_int_equal(ncsl_tee_get_kind(tee), NCSL_TEE_KIND_HARDWARE);
    assert_non_null(strstr(ncsl_tee_reason(tee), "Auto: inside Occlum"));
    assert_string_equal(fx.f.open_path, "/dev/null");
    assert_int_equal(fx.f.open_flags & O_ACCMODE, O_RDONLY);
    ncsl_tee_close(tee);
    assert_int_equal(atomic_load(&fx.f.n_close), 1);

    /* Forced simulation wins over a detected Occlum. */
    fx.o.simulation_forced = true;
    tee = open_ok(&fx);
    assert_string_equal(ncsl_tee_name(tee), "simulation");
    assert_non_null(strstr(ncsl_tee_reason(tee), "forced"));
    ncsl_tee_close(tee);
    assert_int_equal(atomic_load(&fx.f.n_open), 1);

    free(plain);
    free(nodir);
    ncsl_test_tmpdir_remove(tmp);
    fake_cleanup(&fx);
}

/* ncsl_tee_select (what `ncsl check` reports) picks what ncsl_tee_open picks, with the same
 * reason, and touches nothing: the fake device is never opened. */
static void test_select_without_opening(void **unused) {
    fixture fx;
    ncsl_err err;
    const char *name = NULL;
    ncsl_tee_kind kind = 0;
    char reason[NCSL_TEE_REASON_SIZE];
    fake_init(&fx);
    char *tmp = ncsl_test_tmpdir_make("ncsl-tee-occlum-sel");
    char *nodir = ncsl_test_path(tmp, "no-such-attestation");
    fx.o.gramine_dir = nodir;

    fx.o.type = NCSL_TEE_AUTO;
    assert_int_equal(ncsl_tee_select(&fx.o, &name, &kind, reason, sizeof(reason), &err), NCSL_OK);
    assert_string_equal(name, "occlum");
    assert_int_equal(kind, NCSL_TEE_KIND_HARDWARE);
    assert_non_null(strstr(reason, "Auto: inside Occlum"));

    fx.o.sysname = "Linux";
    assert_int_equal(ncsl_tee_select(&fx.o, &name, &kind, reason, sizeof(reason), &err), NCSL_OK);
    assert_string_equal(name, "simulation");
    assert_int_equal(kind, NCSL_TEE_KIND_SIMULATION);
    assert_non_null(strstr(reason, "using simulation"));

    fx.o.type = NCSL_TEE_OCCLUM;
    assert_int_equal(ncsl_tee_select(&fx.o, &name, &kind, reason, sizeof(reason), &err),
                     NCSL_E_UNSUPPORTED);
    assert_null(name);
    assert_non_null(strstr(err.message, "sysname is \"Linux\""));

    /* Auto inside Occlum without the device: the same refusal as open. */
    fx.o.type = NCSL_TEE_AUTO;
    fx.o.sysname = "Occlum";
    fx.o.occlum_device = nodir;
    assert_int_equal(ncsl_tee_select(&fx.o, &name, &kind, reason, sizeof(reason), &err),
                     NCSL_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "SimulationMode"));

    fx.o.simulation_forced = true;
    assert_int_equal(ncsl_tee_select(&fx.o, &name, &kind, reason, sizeof(reason), &err), NCSL_OK);
    assert_string_equal(name, "simulation");
    assert_non_null(strstr(reason, "forced"));

    assert_int_equal(ncsl_tee_select(&fx.o, NULL, &kind, reason, sizeof(reason), &err),
                     NCSL_E_INVALID_ARG);
    assert_int_equal(ncsl_tee_select(&fx.o, &name, &kind, reason, 0, &err), NCSL_E_INVALID_ARG);
    assert_int_equal(atomic_load(&fx.f.n_open), 0);

    free(nodir);
    ncsl_test_tmpdir_remove(tmp);
    fake_cleanup(&fx);
}

static void test_measure_and_quote(void **unused) {
    fixture fx;
    ncsl_err err;
    fake_init(&fx);
    ncsl_tee *tee = open_ok(&fx);
    assert_int_equal(atomic_load(&fx.f.n_create_report), 1);
    assert_true(fx.f.create_report_target_was_null);
    assert_true(fx.f.create_report_data_was_zero);
    assert_string_equal(ncsl_tee_name(tee), "occlum");
    assert_non_null(strstr(ncsl_tee_reason(tee), "Tee.Type Occlum"));
    size_t root_len = 99;
    assert_null(ncsl_tee_attestation_root_pem(tee, &root_len));
    assert_int_equal(root_len, 0);

    ncsl_tee_measurement m;
    assert_int_equal(ncsl_tee_measure(tee, &m, &err), NCSL_OK);
    assert_memory_equal(m.mr_enclave, fx.f.m.mr_enclave, 32);
    assert_memory_equal(m.mr_signer, fx.f.m.mr_signer, 32);
    assert_memory_equal(m.attributes, fx.f.m.attributes, 16);
    assert_int_equal(m.isv_prod_id, 0x0102);
    assert_int_equal(m.isv_svn, 0x0304);
    assert_false(m.debug);
    assert_int_equal(atomic_load(&fx.f.n_create_report), 1); /* measured once, at open */

    uint8_t rd[64];
    rd_fill(rd, 1);
    uint8_t *q = NULL;
    size_t qlen = 0;
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_OK);
    assert_int_equal(qlen, fx.f.quote_size);
    tt_assert_sim_quote(fx.f.sim, q, qlen, rd);
    free(q);
    assert_int_equal(atomic_load(&fx.f.n_size), 1);
    assert_int_equal(atomic_load(&fx.f.n_gen), 1);

    /* A device that hands back a padded buffer: the quote is cut to its own length. */
    fx.f.pad = 300;
    rd_fill(rd, 2);
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_OK);
    assert_int_equal(qlen, fx.f.quote_size);
    tt_assert_sim_quote(fx.f.sim, q, qlen, rd);
    free(q);
    fx.f.pad = 0;

    uint8_t r1[32] = {0}, r2[32] = {0};
    assert_int_equal(ncsl_tee_random(tee, r1, sizeof(r1), &err), NCSL_OK);
    assert_int_equal(ncsl_tee_random(tee, r2, sizeof(r2), &err), NCSL_OK);
    assert_memory_not_equal(r1, r2, sizeof(r1));
    assert_int_equal(ncsl_tee_random(tee, NULL, 0, &err), NCSL_OK);
    ncsl_tee_close(tee);
    assert_int_equal(atomic_load(&fx.f.n_close), 1);
    assert_int_equal(atomic_load(&fx.f.n_unknown), 0);
    fake_cleanup(&fx);
}

static void test_quote_busy_retry(void **unused) {
    fixture fx;
    ncsl_err err;
    fake_init(&fx);
    fx.o.occlum_busy_backoff_ms = 4;
    ncsl_tee *tee = open_ok(&fx);
    uint8_t rd[64];
    rd_fill(rd, 3);
    uint8_t *q = NULL;
    size_t qlen = 0;

    /* Busy three times, then a quote: 4 calls, sleeps of 4 + 8 + 16 ms in between. */
    fx.f.busy_left = 3;
    uint64_t t0 = ncsl_now_us();
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_OK);
    uint64_t took_us = ncsl_now_us() - t0;
    assert_int_equal(atomic_load(&fx.f.n_gen), 4);
    assert_true(took_us >= 28000);
    tt_assert_sim_quote(fx.f.sim, q, qlen, rd);
    free(q);
    ncsl_tee_close(tee);

    /* Busy for good: bounded by occlum_busy_tries, then NCSL_E_TEE_UNAVAILABLE. */
    fx.o.occlum_busy_tries = 5;
    fx.o.occlum_busy_backoff_ms = 1;
    tee = open_ok(&fx);
    atomic_store(&fx.f.n_gen, 0);
    fx.f.busy_left = 1000;
    q = (uint8_t *)1;
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE_UNAVAILABLE);
    assert_null(q);
    assert_int_equal(qlen, 0);
    assert_int_equal(atomic_load(&fx.f.n_gen), 5);
    assert_non_null(strstr(err.message, "EBUSY"));
    assert_non_null(strstr(err.message, "5 tries"));
    assert_int_equal(ncsl_status_http(err.code), 503);
    ncsl_tee_close(tee);
    fake_cleanup(&fx);
}

static void test_quote_errors(void **unused) {
    fixture fx;
    ncsl_err err;
    fake_init(&fx);
    ncsl_tee *tee = open_ok(&fx);
    uint8_t rd[64];
    rd_fill(rd, 4);
    uint8_t *q = NULL;
    size_t qlen = 0;

    /* EIO: DCAP not ready, from either call. */
    fx.f.size_errno = EIO;
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE_UNAVAILABLE);
    assert_non_null(strstr(err.message, "GET_DCAP_QUOTE_SIZE"));
    assert_non_null(strstr(err.message, "not ready"));
    fx.f.size_errno = 0;
    fx.f.gen_errno = EIO;
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE_UNAVAILABLE);
    assert_non_null(strstr(err.message, "GEN_DCAP_QUOTE"));
    assert_null(q);
    /* ENOSYS: an Occlum without DCAP. */
    fx.f.gen_errno = ENOSYS;
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "ENOSYS"));
    assert_non_null(strstr(err.message, "DCAP"));
    fx.f.gen_errno = 0;

    /* EINVAL once (the size grew between the calls): asked again, then a quote. */
    fx.f.undersize = 1;
    atomic_store(&fx.f.n_size, 0);
    atomic_store(&fx.f.n_gen, 0);
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_OK);
    assert_int_equal(atomic_load(&fx.f.n_size), 2);
    assert_int_equal(atomic_load(&fx.f.n_gen), 2);
    tt_assert_sim_quote(fx.f.sim, q, qlen, rd);
    free(q);
    q = NULL;
    /* EINVAL although the buffer has the announced size: an error, not a loop. */
    fx.f.undersize_always = true;
    atomic_store(&fx.f.n_gen, 0);
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "EINVAL"));
    assert_true(atomic_load(&fx.f.n_gen) <= 3);
    fx.f.undersize_always = false;
    fx.f.undersize = 0;

    /* Sizes that cannot be a quote. */
    static const uint32_t odd_sizes[] = {1, 435, 0x40000000u};
    for (size_t i = 0; i < sizeof(odd_sizes) / sizeof(odd_sizes[0]); i++) {
        fx.f.size_override = odd_sizes[i];
        assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE);
        assert_non_null(strstr(err.message, "plausible"));
        assert_null(q);
    }
    fx.f.size_override = 0;

    /* A quote cut short, a quote over other report data. */
    fx.f.truncate = true;
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "truncated"));
    assert_null(q);
    assert_int_equal(qlen, 0);
    fx.f.truncate = false;
    fx.f.wrong_report_data = true;
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "other report data"));
    fx.f.wrong_report_data = false;

    /* And back to normal. */
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_OK);
    free(q);
    ncsl_tee_close(tee);
    fake_cleanup(&fx);
}

static void test_seal_key(void **unused) {
    fixture fx;
    ncsl_err err;
    fake_init(&fx);
    ncsl_tee *tee = open_ok(&fx);
    uint8_t k_enc[32], k_sig[32], again[32], want[32];

    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, k_enc, &err), NCSL_OK);
    const uint8_t *r = fx.f.last_key_request;
    assert_int_equal(rd16(r + 0), 4);      /* SEAL_KEY */
    assert_int_equal(rd16(r + 2), 0x1);    /* MRENCLAVE */
    assert_int_equal(rd16(r + 4), 0x0304); /* own isv_svn */
    assert_memory_equal(r + 8, fx.f.cpu_svn, 16);
    assert_true(rd64(r + 24) == 0xFF0000000000000Bull); /* SDK default flags mask */
    assert_true(rd64(r + 32) == 0);                     /* xfrm not bound */
    assert_memory_equal(r + 40, "ncsl-tee-occlum-keyid-v1", 24);
    assert_int_equal(rd32(r + 72), 0xF0000000u);
    assert_int_equal(rd16(r + 76), 7); /* own config_svn */
    tt_expected_seal_key(fx.f.last_hw_key, 16, "ncsl-tee-occlum-sealkey-v1", 1, want);
    assert_memory_equal(k_enc, want, 32);

    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRSIGNER, k_sig, &err), NCSL_OK);
    assert_int_equal(rd16(fx.f.last_key_request + 2), 0x2);
    tt_expected_seal_key(fx.f.last_hw_key, 16, "ncsl-tee-occlum-sealkey-v1", 2, want);
    assert_memory_equal(k_sig, want, 32);
    assert_memory_not_equal(k_enc, k_sig, 32);

    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, again, &err), NCSL_OK);
    assert_memory_equal(k_enc, again, 32);
    assert_int_equal(ncsl_tee_seal_key(tee, (ncsl_seal_policy)9, again, &err), NCSL_E_INVALID_ARG);
    ncsl_tee_close(tee);

    /* Another enclave of the same signer: other MRENCLAVE key, same MRSIGNER key. */
    fx.f.m.mr_enclave[0] ^= 0xff;
    tee = open_ok(&fx);
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, again, &err), NCSL_OK);
    assert_memory_not_equal(k_enc, again, 32);
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRSIGNER, again, &err), NCSL_OK);
    assert_memory_equal(k_sig, again, 32);

    /* GET_KEY refused: an error, and no key bytes left behind. */
    fx.f.key_errno = EINVAL;
    memset(again, 0xAA, sizeof(again));
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRSIGNER, again, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "GET_KEY"));
    static const uint8_t zero[32];
    assert_memory_equal(again, zero, 32);
    ncsl_tee_close(tee);
    fake_cleanup(&fx);
}

static void test_open_failures(void **unused) {
    fixture fx;
    ncsl_err err;
    ncsl_tee *tee = NULL;
    fake_init(&fx);

    /* A character device that is not SGX, through the real system calls. */
    ncsl_tee_options o = fx.o;
    o.sgx_transport = NULL;
    assert_int_equal(ncsl_tee_open(&o, &tee, &err), NCSL_E_TEE);
    assert_null(tee);
    assert_non_null(strstr(err.message, "/dev/null"));
    assert_non_null(strstr(err.message, "ENOTTY"));
    assert_non_null(strstr(err.message, "not Occlum's /dev/sgx"));

    /* The fake device: an unknown request is ENOSYS to it, CREATE_REPORT refused, a report
     * that is all zeros. Each fails open, and the device is closed again. */
    fx.f.create_report_errno = ENOSYS;
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "CREATE_REPORT"));
    assert_non_null(strstr(err.message, "ENOSYS"));
    fx.f.create_report_errno = EPERM;
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "EPERM"));
    fx.f.create_report_errno = 0;
    fx.f.create_report_writes_nothing = true;
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "did not return an SGX enclave report"));
    assert_null(tee);
    assert_int_equal(atomic_load(&fx.f.n_open), 3);
    assert_int_equal(atomic_load(&fx.f.n_close), 3);
    fx.f.create_report_writes_nothing = false;

    int dummy = 0;
    assert_int_equal(fake_ioctl(&fx.f, FAKE_FD, T_IS_EDMM_SUPPORTED, &dummy), -1);
    assert_int_equal(errno, ENOSYS); /* the fake itself answers like Occlum */

    /* A transport without functions is a caller error. */
    ncsl_tee_sgx_transport broken = {NULL, fake_ioctl, fake_close, &fx.f};
    o = fx.o;
    o.sgx_transport = &broken;
    assert_int_equal(ncsl_tee_open(&o, &tee, &err), NCSL_E_INVALID_ARG);
    fake_cleanup(&fx);
}

typedef struct worker {
    ncsl_tee *tee;
    fake_sgx *f;
    int id;
    int ok;
} worker;

static void *quote_worker(void *arg) {
    worker *w = arg;
    ncsl_err err;
    for (int i = 0; i < 4; i++) {
        uint8_t rd[64];
        rd_fill(rd, (uint8_t)(w->id * 16 + i));
        uint8_t *q = NULL;
        size_t qlen = 0;
        if (ncsl_tee_get_quote(w->tee, rd, &q, &qlen, &err) == NCSL_OK && qlen > 432 &&
            memcmp(q + 48 + 320, rd, 64) == 0) {
            w->ok++;
        }
        uint8_t k[32];
        if (ncsl_tee_seal_key(w->tee, NCSL_SEAL_POLICY_MRSIGNER, k, &err) == NCSL_OK) {
            w->ok++;
        }
        free(q);
    }
    return NULL;
}

static void test_concurrency(void **unused) {
    fixture fx;
    fake_init(&fx);
    fx.f.sleep_us = 500;
    ncsl_tee *tee = open_ok(&fx);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){tee, &fx.f, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, quote_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].ok, 8);
    }
    assert_int_equal(atomic_load(&fx.f.max_inflight), 1); /* the device never saw two at once */
    ncsl_tee_close(tee);
    fake_cleanup(&fx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detection),        cmocka_unit_test(test_measure_and_quote),
        cmocka_unit_test(test_quote_busy_retry), cmocka_unit_test(test_quote_errors),
        cmocka_unit_test(test_seal_key),         cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_concurrency),      cmocka_unit_test(test_select_without_opening),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
