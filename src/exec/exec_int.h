/* Internals of the exec subsystem, shared by its own files only. */
#ifndef NCSL_EXEC_INT_H
#define NCSL_EXEC_INT_H

#include <sys/types.h>

#include "exec/exec.h"
#include "fetch/fetch.h"
#include "js/js.h"
#include "keys/keys.h"

struct ncsl_result {
    ncsl_status status;
    ncsl_js_outcome outcome;
    char execution_id[37];
    uint64_t execution_time_ns;
};

/* True for the statuses that mean "the function ran and failed" (a result still exists). */
bool ncsl__status_is_js_failure(ncsl_status st);

/* Deep-copies `count` secrets (names and values); caller frees with ncsl_secrets_free. */
ncsl_status ncsl__secrets_copy(const ncsl_secret *src, size_t count, ncsl_secret **out,
                               ncsl_err *err);

/* ------------------------------------------------------------------ process isolation
 * The worker protocol between the engine (parent) and a worker process (child), over one
 * SOCK_STREAM socketpair. Every message is a frame: an 8-byte header
 *     u32 payload length (little-endian) | u8 type | 3 zero bytes
 * then the payload, a fixed sequence of fields per type:
 *     u8, u32, u64      little-endian integers
 *     bytes             u32 length, then that many bytes
 *     opt               u8 0 (absent) or 1, then bytes
 * A frame whose header or payload breaks these rules (unknown type, non-zero reserved byte, a
 * length over the reader's bound, a field running past the payload, a flag other than 0/1,
 * bytes left over, a NUL inside a key or name) is malformed: the parent then treats the worker
 * as failed, the child exits. Messages (proc_frame.c encodes and decodes each):
 *     INIT    parent -> child once (ncsl__proc_init): u32 version, u32 log level, u64 JS stack
 *             bytes, opt identity key material (NCSL_KEYS_PRIVATE_SIZE bytes, keys.h), then the
 *             fetch policy: u8 AllowPrivateNetworks, u32 MaxRequestsPerCall, u64
 *             MaxResponseBytes, u64 MaxRequestBytes, u32 TimeoutMs, u32 MaxConcurrent, u32 host
 *             count (at most NCSL_FETCH_MAX_HOSTS), count x bytes (an AllowedHosts pattern, 1 to
 *             NCSL_FETCH_MAX_HOST_PATTERN bytes, no NUL)
 *     READY   child -> parent once: u32 version
 *     JOB     parent -> child: one call (ncsl__proc_job)
 *     GET, LIST, USAGE  child -> parent while a call runs: storage reads (bytes key/prefix)
 *     ANSWER  parent -> child: u32 status, bytes field, bytes message, then for GET u8 found +
 *             bytes value, for LIST u32 count + count x bytes, for USAGE u64
 *     RESULT  child -> parent: the call's outcome; ends the call
 */
/* 2: INIT carries the identity as keys.h material and the fetch policy */
#define NCSL__PROC_VERSION 2u
#define NCSL__PROC_HEADER_SIZE 8u
#define NCSL__PROC_KEY_SIZE NCSL_KEYS_PRIVATE_SIZE
/* The largest INIT payload: its fixed fields, the key, and every host pattern at its longest. */
#define NCSL__PROC_INIT_MAX                                                                        \
    (4u + 4u + 8u + 1u + 4u + NCSL__PROC_KEY_SIZE + 1u + 4u + 8u + 8u + 4u + 4u + 4u +             \
     NCSL_FETCH_MAX_HOSTS * (4u + NCSL_FETCH_MAX_HOST_PATTERN))

typedef enum ncsl__proc_msg {
    NCSL__MSG_INIT = 1,
    NCSL__MSG_READY = 2,
    NCSL__MSG_JOB = 3,
    NCSL__MSG_GET = 4,
    NCSL__MSG_LIST = 5,
    NCSL__MSG_USAGE = 6,
    NCSL__MSG_ANSWER = 7,
    NCSL__MSG_RESULT = 8,
} ncsl__proc_msg;

/* An encoder: with data == NULL it only counts (so a frame is sized first and allocated once:
 * no realloc leaves copies of secrets behind). */
typedef struct ncsl__wr {
    uint8_t *data;
    size_t len;
} ncsl__wr;

void ncsl__wr_u8(ncsl__wr *w, uint8_t v);
void ncsl__wr_u32(ncsl__wr *w, uint32_t v);
void ncsl__wr_u64(ncsl__wr *w, uint64_t v);
void ncsl__wr_bytes(ncsl__wr *w, const void *p, size_t n); /* n must fit u32 */
void ncsl__wr_opt(ncsl__wr *w, const void *p, size_t n);   /* p NULL: absent */

/* A decoder over one payload: any read past the end, or a bad flag, sets `bad`; later reads
 * return zeros. */
typedef struct ncsl__rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    bool bad;
} ncsl__rd;

uint8_t ncsl__rd_u8(ncsl__rd *r);
uint32_t ncsl__rd_u32(ncsl__rd *r);
uint64_t ncsl__rd_u64(ncsl__rd *r);
/* Borrowed pointer into the payload (NULL with *n 0 when bad); longer than `max`: bad. */
const uint8_t *ncsl__rd_bytes(ncsl__rd *r, size_t *n, size_t max);
/* opt: *present false when absent. */
const uint8_t *ncsl__rd_opt(ncsl__rd *r, size_t *n, size_t max, bool *present);
/* bytes as a new NUL-terminated string; bad when it holds a NUL or is longer than max. Caller
 * frees. NULL on bad (or out of memory: *oom). */
char *ncsl__rd_str(ncsl__rd *r, size_t max, bool *oom);
/* True when nothing was bad and every byte was read. */
bool ncsl__rd_done(const ncsl__rd *r);

/* A frame: header + `payload_len` bytes, allocated at once (caller frees with
 * ncsl__proc_frame_free, which wipes). */
uint8_t *ncsl__proc_frame_new(ncsl__proc_msg type, size_t payload_len, ncsl__wr *w);
void ncsl__proc_frame_free(void *frame, size_t len);

/* Writes `len` bytes. deadline_ns (ncsl_now_ns clock) 0: block; else the descriptor must be
 * non-blocking and the write gives up at the deadline. NCSL_E_IO with a message on failure. */
ncsl_status ncsl__proc_write(int fd, const void *p, size_t len, uint64_t deadline_ns,
                             ncsl_err *err);
/* Reads one frame whose payload may be at most `max_payload` bytes. The payload buffer grows
 * with the bytes that actually arrive (a header announcing a huge frame allocates nothing big).
 * NCSL_OK: *type, *payload (caller frees with ncsl__proc_frame_free(*payload, *len); NULL when
 * empty) and *len set. NCSL_E_SHUTDOWN: end of file before a frame began. NCSL_E_IO: end of file
 * inside a frame, a read error or the deadline; NCSL_E_INVALID_ARG: a malformed header;
 * NCSL_E_PAYLOAD_TOO_LARGE: over max_payload. */
ncsl_status ncsl__proc_read_frame(int fd, size_t max_payload, uint64_t deadline_ns, uint8_t *type,
                                  uint8_t **payload, size_t *len, ncsl_err *err);

/* INIT as the parent sends it and the child reads it. */
typedef struct ncsl__proc_init {
    uint32_t log_level;
    uint64_t stack_bytes; /* the JS stack limit of every call: sizes the child's call thread */
    const uint8_t *key;   /* NCSL__PROC_KEY_SIZE bytes of identity material; NULL: none */
    ncsl_fetch_policy fetch;
} ncsl__proc_init;

/* Encodes INIT (fields borrowed). */
void ncsl__proc_init_encode(ncsl__wr *w, const ncsl__proc_init *m);
/* Decodes an INIT payload (borrowed) into *m: m->key points into the payload; m->fetch's hosts
 * are allocated (release them with ncsl_fetch_policy_cleanup, whatever the result). Checks the
 * layout, the version, the log level, a stack of 1 byte to 64 MiB, the key's size, the flag,
 * the host count and each pattern's size and bytes; ncsl_fetch_configure checks the rest.
 * NCSL_E_INVALID_ARG when malformed, NCSL_E_NOMEM. */
ncsl_status ncsl__proc_init_decode(const uint8_t *p, size_t len, ncsl__proc_init *m, ncsl_err *err);

/* One call as the child runs it: everything owned (secret values wiped by cleanup). */
typedef struct ncsl__proc_job {
    char *code;
    size_t code_len;
    char *input; /* NULL: null */
    size_t input_len;
    ncsl_secret *secrets;
    size_t secret_count;
    char *function_id;
    char *user_id;
    ncsl_js_limits limits;
    bool has_storage;
    size_t max_key_bytes;
    size_t max_value_bytes;
    uint64_t quota_bytes;
} ncsl__proc_job;

/* Encodes a call (borrowed fields) as a JOB payload. */
void ncsl__proc_job_encode(ncsl__wr *w, const ncsl_js_call *call);
/* Decodes a JOB payload into *job (cleanup whatever the result). NCSL_E_INVALID_ARG when
 * malformed, NCSL_E_NOMEM. */
ncsl_status ncsl__proc_job_decode(const uint8_t *p, size_t len, ncsl__proc_job *job, ncsl_err *err);
void ncsl__proc_job_cleanup(ncsl__proc_job *job);

/* RESULT: the status ncsl_js_run returned, its err, and the outcome (borrowed). */
void ncsl__proc_result_encode(ncsl__wr *w, ncsl_status st, const ncsl_err *err,
                              const ncsl_js_outcome *o);
/* Decodes a RESULT into *st, *err and *o (o is always initialised; free it with
 * ncsl_js_outcome_cleanup). Beyond the layout it checks that the status is one ncsl_js_run may
 * return, that only NCSL_OK carries a result and storage writes, and that writes are well
 * formed (type, key present for SET/REMOVE without NUL, value for SET). NCSL_E_INVALID_ARG when
 * not, NCSL_E_NOMEM. */
ncsl_status ncsl__proc_result_decode(const uint8_t *p, size_t len, ncsl_status *st,
                                     ncsl_err *call_err, ncsl_js_outcome *o, ncsl_err *err);

/* ------------------------------------------------------------------ worker processes (proc.c) */
typedef struct ncsl__proc_worker ncsl__proc_worker;

/* Starts a worker process (`exe` borrowed) and waits until it is ready: its call thread gets a
 * stack for `stack_bytes` of JS stack; frames from it may be at most `max_payload` bytes. On
 * success the caller stops it with ncsl__proc_worker_stop. */
ncsl_status ncsl__proc_worker_start(const char *exe, size_t stack_bytes, size_t max_payload,
                                    unsigned index, ncsl__proc_worker **out, ncsl_err *err);
/* Closes the socket and reaps the process (waitpid): one that does not exit by itself within a
 * grace period (short when `failed`) is killed with SIGKILL first. Frees `w`; NULL does
 * nothing. */
void ncsl__proc_worker_stop(ncsl__proc_worker *w, bool failed, unsigned index);
pid_t ncsl__proc_worker_pid(const ncsl__proc_worker *w);
/* Runs one call (borrowed; call->storage, when set, answers the worker's storage reads on this
 * thread) in the worker. NCSL_OK: the worker answered; *st, *call_err and *out are what
 * ncsl_js_run gave in the worker (free *out with ncsl_js_outcome_cleanup). Anything else: the
 * worker failed (died, sent a malformed frame, gave no answer within `hard_ms`, not counting
 * the time the storage hooks took); err says how, *out is empty and the caller stops it. */
ncsl_status ncsl__proc_worker_run(ncsl__proc_worker *w, const ncsl_js_call *call, uint64_t hard_ms,
                                  ncsl_status *st, ncsl_js_outcome *out, ncsl_err *call_err,
                                  ncsl_err *err);

#endif
