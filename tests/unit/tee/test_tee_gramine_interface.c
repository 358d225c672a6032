/*
 * INTERFACE TEST of the Gramine backend (src/tee/gramine/tee_gramine.c). No SGX, no Gramine.
 *
 * The stand-in: gramine-sgx's /dev/attestation is a pseudo-file system inside the enclave. Here
 * a temporary folder plays it, pointed to by ncsl_tee_options.gramine_dir:
 *   attestation_type           a file: "dcap" (or "none", "epid", missing, ... per test);
 *   report                     a file with a 432-byte sgx_report_t laid out as EREPORT does,
 *                              carrying the simulation backend's MRENCLAVE/MRSIGNER;
 *   keys/_sgx_mrenclave, keys/_sgx_mrsigner   16-byte files (the sealing keys);
 *   user_report_data, quote    FIFOs answered by a server thread the way Gramine answers them:
 *                              it reads what the backend wrote to user_report_data (expects 64
 *                              bytes), then writes into quote a quote over exactly those bytes,
 *                              made by the simulation backend, so a quote that verifies with
 *                              allow_simulation and carries the caller's report data proves the
 *                              bytes went out through one file and came back through the other.
 *                              The server can write in small pieces (short reads), too little,
 *                              too much, or over other report data.
 *
 * What this cannot prove: that Gramine's pseudo-files behave exactly like these FIFOs and files
 * (they are modelled on Gramine's libos/src/fs/dev/attestation.c, not run), that the real
 * _sgx_* keys come out of EGETKEY as described, or that real quotes verify (test_attest_quote
 * covers real quotes). That needs gramine-sgx on SGX hardware (label sgx, not built here).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest/attest.h"
#include "crypto/crypto.h"
#include "tee/tee.h"
#include "tee_test_util.h"

/* ------------------------------------------------------------------------- the stand-in */

typedef enum quote_mode {
    Q_GOOD = 0,
    Q_SHORT,    /* 100 bytes */
    Q_HUGE,     /* 9000 bytes: more than Gramine's 8192 */
    Q_WRONG_RD, /* a quote over other report data */
} quote_mode;

typedef struct gserver {
    char *urd_path;
    char *quote_path;
    ncsl_tee *sim;
    int serve;    /* requests to answer before the thread ends */
    size_t chunk; /* write the quote in pieces of this size (0: at once) */
    quote_mode mode;
    /* results */
    int served;
    int bad_urd;      /* requests that did not bring exactly 64 bytes */
    atomic_bool stop; /* set by gserver_join when the backend stopped asking too early */
    pthread_t th;
} gserver;

static ssize_t read_to_eof(int fd, uint8_t *buf, size_t cap) {
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0 || got + (size_t)n == cap) {
            return (ssize_t)(got + (size_t)n);
        }
        got += (size_t)n;
    }
}

static void *gserver_main(void *arg) {
    gserver *s = arg;
    ncsl_err err;
    for (int i = 0; i < s->serve; i++) {
        uint8_t rd[256];
        int fd = open(s->urd_path, O_RDONLY);
        if (fd < 0 || atomic_load(&s->stop)) {
            if (fd >= 0) {
                close(fd);
            }
            break;
        }
        ssize_t got = read_to_eof(fd, rd, sizeof(rd));
        close(fd);
        if (got != 64) {
            s->bad_urd++;
        }
        uint8_t *q = NULL;
        size_t qlen = 0;
        if (s->mode == Q_WRONG_RD) {
            rd[0] ^= 1;
        }
        if (ncsl_tee_get_quote(s->sim, rd, &q, &qlen, &err) != NCSL_OK) {
            break;
        }
        uint8_t *out = q;
        size_t out_len = qlen;
        uint8_t *huge = NULL;
        if (s->mode == Q_SHORT) {
            out_len = 100;
        } else if (s->mode == Q_HUGE) {
            huge = calloc(1, 9000);
            memcpy(huge, q, qlen);
            out = huge;
            out_len = 9000;
        }
        fd = open(s->quote_path, O_WRONLY);
        if (fd < 0 || atomic_load(&s->stop)) {
            if (fd >= 0) {
                close(fd);
            }
            free(huge);
            free(q);
            break;
        }
        size_t done = 0;
        while (done < out_len) {
            size_t n = out_len - done;
            if (s->chunk && n > s->chunk) {
                n = s->chunk;
            }
            ssize_t w = write(fd, out + done, n);
            if (w <= 0) {
                break; /* the reader gave up (EPIPE): fine for Q_HUGE */
            }
            done += (size_t)w;
            if (s->chunk) {
                usleep(100);
            }
        }
        close(fd);
        free(huge);
        free(q);
        s->served++;
    }
    return NULL;
}

static void gserver_start(gserver *s, int serve, quote_mode mode, size_t chunk) {
    s->serve = serve;
    s->mode = mode;
    s->chunk = chunk;
    s->served = 0;
    s->bad_urd = 0;
    atomic_store(&s->stop, false);
    assert_int_equal(pthread_create(&s->th, NULL, gserver_main, s), 0);
}

/* Joins the server. A server still waiting 2 s after the backend is done means the backend asked
 * fewer times than expected: it is woken (its FIFOs opened from this side), and the count below
 * fails, instead of the test hanging. */
static void gserver_join(gserver *s) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 2;
    if (pthread_timedjoin_np(s->th, NULL, &deadline) != 0) {
        atomic_store(&s->stop, true);
        while (pthread_tryjoin_np(s->th, NULL) != 0) {
            int a = open(s->urd_path, O_WRONLY | O_NONBLOCK);
            int b = open(s->quote_path, O_RDONLY | O_NONBLOCK);
            usleep(10000);
            if (a >= 0) {
                close(a);
            }
            if (b >= 0) {
                close(b);
            }
        }
    }
    assert_int_equal(s->served, s->serve);
    assert_int_equal(s->bad_urd, 0);
}

typedef struct fixture {
    char *sim_dir;
    char *dir; /* the stand-in /dev/attestation */
    ncsl_tee *sim;
    ncsl_tee_measurement sim_m;
    uint8_t report[432];
    uint8_t key_enclave[16];
    uint8_t key_signer[16];
    gserver srv;
    ncsl_tee_options o;
} fixture;

static void fx_init(fixture *fx) {
    ncsl_err err;
    memset(fx, 0, sizeof(*fx));
    fx->sim_dir = ncsl_test_tmpdir_make("ncsl-tee-gramine-sim");
    fx->dir = ncsl_test_tmpdir_make("ncsl-tee-gramine-att");
    fx->sim = ncsl_test_open_sim_tee(fx->sim_dir);
    assert_int_equal(ncsl_tee_measure(fx->sim, &fx->sim_m, &err), NCSL_OK);
    uint8_t cpu_svn[16];
    for (int i = 0; i < 16; i++) {
        cpu_svn[i] = (uint8_t)(i + 1);
    }
    tt_make_report(&fx->sim_m, cpu_svn, 0x0A0B, 0x0C0D, 3, NULL, fx->report);
    for (int i = 0; i < 16; i++) {
        fx->key_enclave[i] = (uint8_t)(0xE0 + i);
        fx->key_signer[i] = (uint8_t)(0x50 + i);
    }
    tt_write_file(fx->dir, "attestation_type", "dcap", 4);
    tt_write_file(fx->dir, "report", fx->report, sizeof(fx->report));
    char *keys = ncsl_test_path(fx->dir, "keys");
    assert_int_equal(mkdir(keys, 0700), 0);
    free(keys);
    tt_write_file(fx->dir, "keys/_sgx_mrenclave", fx->key_enclave, 16);
    tt_write_file(fx->dir, "keys/_sgx_mrsigner", fx->key_signer, 16);
    fx->srv.urd_path = ncsl_test_path(fx->dir, "user_report_data");
    fx->srv.quote_path = ncsl_test_path(fx->dir, "quote");
    assert_int_equal(mkfifo(fx->srv.urd_path, 0600), 0);
    assert_int_equal(mkfifo(fx->srv.quote_path, 0600), 0);
    fx->srv.sim = fx->sim;
    ncsl_tee_options_default(&fx->o);
    fx->o.type = NCSL_TEE_GRAMINE;
    fx->o.gramine_dir = fx->dir;
    fx->o.data_dir = fx->sim_dir;
    fx->o.sysname = "Linux";
}

static void fx_cleanup(fixture *fx) {
    ncsl_tee_close(fx->sim);
    free(fx->srv.urd_path);
    free(fx->srv.quote_path);
    ncsl_test_tmpdir_remove(fx->dir);
    ncsl_test_tmpdir_remove(fx->sim_dir);
}

static ncsl_tee *open_ok(const ncsl_tee_options *o) {
    ncsl_tee *tee = NULL;
    ncsl_err err;
    ncsl_status st = ncsl_tee_open(o, &tee, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "open: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return tee;
}

static void rd_fill(uint8_t rd[64], uint8_t seed) {
    for (int i = 0; i < 64; i++) {
        rd[i] = (uint8_t)(seed * 17 + i * 3);
    }
}

/* ------------------------------------------------------------------------- tests */

static void test_measure_quote_seal(void **unused) {
    fixture fx;
    ncsl_err err;
    fx_init(&fx);
    ncsl_tee *tee = open_ok(&fx.o);
    assert_string_equal(ncsl_tee_name(tee), "gramine");
    assert_int_equal(ncsl_tee_get_kind(tee), NCSL_TEE_KIND_HARDWARE);
    assert_non_null(strstr(ncsl_tee_reason(tee), "Tee.Type Gramine"));
    assert_null(ncsl_tee_attestation_root_pem(tee, NULL));

    ncsl_tee_measurement m;
    assert_int_equal(ncsl_tee_measure(tee, &m, &err), NCSL_OK);
    assert_memory_equal(m.mr_enclave, fx.sim_m.mr_enclave, 32);
    assert_memory_equal(m.mr_signer, fx.sim_m.mr_signer, 32);
    assert_memory_equal(m.attributes, fx.sim_m.attributes, 16);
    assert_int_equal(m.isv_prod_id, 0x0A0B);
    assert_int_equal(m.isv_svn, 0x0C0D);
    assert_false(m.debug);

    /* Two quotes: one written at once, one in small pieces (short reads). */
    gserver_start(&fx.srv, 2, Q_GOOD, 0);
    for (int i = 0; i < 2; i++) {
        uint8_t rd[64];
        rd_fill(rd, (uint8_t)i);
        uint8_t *q = NULL;
        size_t qlen = 0;
        assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_OK);
        tt_assert_sim_quote(fx.sim, q, qlen, rd);
        free(q);
        fx.srv.chunk = 97;
    }
    gserver_join(&fx.srv);

    /* Seal keys: HKDF of the 16-byte files, one per policy. */
    uint8_t k[32], want[32];
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, k, &err), NCSL_OK);
    tt_expected_seal_key(fx.key_enclave, 16, "ncsl-tee-gramine-sealkey-v1", 1, want);
    assert_memory_equal(k, want, 32);
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRSIGNER, k, &err), NCSL_OK);
    tt_expected_seal_key(fx.key_signer, 16, "ncsl-tee-gramine-sealkey-v1", 2, want);
    assert_memory_equal(k, want, 32);
    assert_int_equal(ncsl_tee_seal_key(tee, (ncsl_seal_policy)0, k, &err), NCSL_E_INVALID_ARG);

    uint8_t r1[16] = {0}, r2[16] = {0};
    assert_int_equal(ncsl_tee_random(tee, r1, sizeof(r1), &err), NCSL_OK);
    assert_int_equal(ncsl_tee_random(tee, r2, sizeof(r2), &err), NCSL_OK);
    assert_memory_not_equal(r1, r2, sizeof(r1));
    ncsl_tee_close(tee);

    /* Auto finds it too (no Occlum: sysname Linux). */
    fx.o.type = NCSL_TEE_AUTO;
    tee = open_ok(&fx.o);
    assert_string_equal(ncsl_tee_name(tee), "gramine");
    assert_non_null(strstr(ncsl_tee_reason(tee), "inside gramine-sgx"));
    ncsl_tee_close(tee);
    fx_cleanup(&fx);
}

typedef struct worker {
    ncsl_tee *tee;
    ncsl_tee *sim;
    int id;
    int ok;
} worker;

static void *quote_worker(void *arg) {
    worker *w = arg;
    ncsl_err err;
    for (int i = 0; i < 4; i++) {
        uint8_t rd[64];
        rd_fill(rd, (uint8_t)(100 + w->id * 8 + i));
        uint8_t *q = NULL;
        size_t qlen = 0;
        if (ncsl_tee_get_quote(w->tee, rd, &q, &qlen, &err) == NCSL_OK && qlen > 432 &&
            memcmp(q + 48 + 320, rd, 64) == 0) {
            w->ok++;
        } else {
            fprintf(stderr, "worker %d: %s\n", w->id, err.message);
        }
        uint8_t k[32];
        if (ncsl_tee_seal_key(w->tee, NCSL_SEAL_POLICY_MRENCLAVE, k, &err) == NCSL_OK) {
            w->ok++;
        }
        free(q);
    }
    return NULL;
}

static void test_concurrency(void **unused) {
    fixture fx;
    fx_init(&fx);
    /* Two handles on the same files: the lock must be per process, not per handle. */
    ncsl_tee *a = open_ok(&fx.o);
    ncsl_tee *b = open_ok(&fx.o);
    gserver_start(&fx.srv, 16, Q_GOOD, 211);
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){i < 2 ? a : b, fx.sim, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, quote_worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    gserver_join(&fx.srv); /* every request brought exactly 64 bytes */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(w[i].ok, 8);
    }
    ncsl_tee_close(a);
    ncsl_tee_close(b);
    fx_cleanup(&fx);
}

static void test_attestation_type(void **unused) {
    fixture fx;
    ncsl_err err;
    ncsl_tee *tee = NULL;
    fx_init(&fx);
    char *type_path = ncsl_test_path(fx.dir, "attestation_type");

    /* gramine-direct: the folder without attestation_type. */
    assert_int_equal(unlink(type_path), 0);
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_UNSUPPORTED);
    assert_null(tee);
    assert_non_null(strstr(err.message, "gramine-direct"));
    fx.o.type = NCSL_TEE_AUTO; /* no enclave there: Auto falls back to simulation */
    tee = open_ok(&fx.o);
    assert_string_equal(ncsl_tee_name(tee), "simulation");
    assert_non_null(strstr(ncsl_tee_reason(tee), "gramine-direct"));
    ncsl_tee_close(tee);
    fx.o.type = NCSL_TEE_GRAMINE;

    /* An SGX enclave without DCAP remote attestation: refused, under Auto too. */
    static const struct {
        const char *content;
        const char *expect;
    } refused[] = {
        {"none", "sgx.remote_attestation = \"dcap\""},
        {"epid", "DCAP quotes only"},
        {"tdx", "unknown attestation_type"},
        {"", "unknown attestation_type"},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        tt_write_file(fx.dir, "attestation_type", refused[i].content, strlen(refused[i].content));
        for (int pass = 0; pass < 2; pass++) {
            fx.o.type = pass == 0 ? NCSL_TEE_GRAMINE : NCSL_TEE_AUTO;
            assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_UNSUPPORTED);
            assert_null(tee);
            assert_non_null(strstr(err.message, refused[i].expect));
        }
    }
    fx.o.type = NCSL_TEE_GRAMINE;

    /* Gramine's own answer has no newline, but a hand-made one may. */
    tt_write_file(fx.dir, "attestation_type", "dcap\n", 5);
    tee = open_ok(&fx.o);
    ncsl_tee_close(tee);

    /* No folder at all. */
    char *missing = ncsl_test_path(fx.dir, "nothing-here");
    fx.o.gramine_dir = missing;
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "does not exist"));
    free(missing);
    free(type_path);
    fx_cleanup(&fx);
}

static void test_bad_report(void **unused) {
    fixture fx;
    ncsl_err err;
    ncsl_tee *tee = NULL;
    fx_init(&fx);
    char *report_path = ncsl_test_path(fx.dir, "report");

    tt_write_file(fx.dir, "report", fx.report, 431);
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "431 bytes"));
    assert_null(tee);
    uint8_t big[433];
    memcpy(big, fx.report, 432);
    big[432] = 0;
    tt_write_file(fx.dir, "report", big, sizeof(big));
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "more than 432"));
    uint8_t zero[432] = {0};
    tt_write_file(fx.dir, "report", zero, sizeof(zero));
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "did not return an SGX enclave report"));
    assert_int_equal(unlink(report_path), 0);
    assert_int_equal(ncsl_tee_open(&fx.o, &tee, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "missing"));
    assert_null(tee);
    free(report_path);
    fx_cleanup(&fx);
}

static void test_bad_keys(void **unused) {
    fixture fx;
    ncsl_err err;
    fx_init(&fx);
    ncsl_tee *tee = open_ok(&fx.o);
    uint8_t k[32];
    static const uint8_t zero[32];

    tt_write_file(fx.dir, "keys/_sgx_mrenclave", fx.key_enclave, 8);
    memset(k, 0xAA, sizeof(k));
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, k, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "8 bytes"));
    assert_memory_equal(k, zero, 32);
    tt_write_file(fx.dir, "keys/_sgx_mrenclave", "", 0); /* Gramine: a key that is not set */
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, k, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "0 bytes"));
    uint8_t long_key[17] = {0};
    tt_write_file(fx.dir, "keys/_sgx_mrenclave", long_key, sizeof(long_key));
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRENCLAVE, k, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "more than 16"));
    char *signer = ncsl_test_path(fx.dir, "keys/_sgx_mrsigner");
    assert_int_equal(unlink(signer), 0);
    assert_int_equal(ncsl_tee_seal_key(tee, NCSL_SEAL_POLICY_MRSIGNER, k, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "_sgx_mrsigner is missing"));
    assert_memory_equal(k, zero, 32);
    free(signer);
    ncsl_tee_close(tee);
    fx_cleanup(&fx);
}

static void test_bad_quotes(void **unused) {
    fixture fx;
    ncsl_err err;
    fx_init(&fx);
    ncsl_tee *tee = open_ok(&fx.o);
    uint8_t rd[64];
    rd_fill(rd, 9);
    uint8_t *q = NULL;
    size_t qlen = 0;

    static const struct {
        quote_mode mode;
        const char *expect;
    } cases[] = {
        {Q_SHORT, "too short"},
        {Q_HUGE, "more than 8192"},
        {Q_WRONG_RD, "other report data"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gserver_start(&fx.srv, 1, cases[i].mode, 0);
        q = (uint8_t *)1;
        assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE);
        assert_null(q);
        assert_int_equal(qlen, 0);
        assert_non_null(strstr(err.message, cases[i].expect));
        gserver_join(&fx.srv);
    }
    /* And a good one afterwards: nothing stale is left behind. */
    gserver_start(&fx.srv, 1, Q_GOOD, 0);
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_OK);
    tt_assert_sim_quote(fx.sim, q, qlen, rd);
    free(q);
    gserver_join(&fx.srv);

    /* The quote file missing (an enclave without remote attestation); user_report_data a
     * plain file so the write succeeds. */
    assert_int_equal(unlink(fx.srv.quote_path), 0);
    assert_int_equal(unlink(fx.srv.urd_path), 0);
    tt_write_file(fx.dir, "user_report_data", "", 0);
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "quote is missing"));
    /* user_report_data missing. */
    assert_int_equal(unlink(fx.srv.urd_path), 0);
    assert_int_equal(ncsl_tee_get_quote(tee, rd, &q, &qlen, &err), NCSL_E_TEE);
    assert_non_null(strstr(err.message, "user_report_data"));
    assert_null(q);
    ncsl_tee_close(tee);
    fx_cleanup(&fx);
}

int main(void) {
    /* A server write into a FIFO the backend already closed must not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_measure_quote_seal), cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_attestation_type),   cmocka_unit_test(test_bad_report),
        cmocka_unit_test(test_bad_keys),           cmocka_unit_test(test_bad_quotes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
