/*
 * Shared by every subsystem: status/error helpers, logging macros, a growable byte buffer with
 * JSON string escaping, secret wiping and the monotonic clock. Depends on nothing but libc and
 * OpenSSL (for OPENSSL_cleanse and RAND_bytes).
 */
#ifndef NCSL_COMMON_H
#define NCSL_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ncsl/ncsl.h"

#define NCSL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NCSL_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ------------------------------------------------------------------------- errors */
/* Sets err (if not NULL) and returns `code`, so callers can `return ncsl_err_set(...)`.
 * `field` may be NULL. The message must never contain secrets, inputs or code. */
ncsl_status ncsl_err_set(ncsl_err *err, ncsl_status code, const char *field, const char *fmt, ...)
    NCSL_PRINTF(4, 5);
void ncsl_err_clear(ncsl_err *err);

/* Internal invariant check: logs and aborts only on a bug, never on bad input. */
#define NCSL_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            ncsl__assert_fail(#cond, __FILE__, __LINE__);                                          \
        }                                                                                          \
    } while (0)
_Noreturn void ncsl__assert_fail(const char *expr, const char *file, int line);

/* ------------------------------------------------------------------------- logging */
extern ncsl_log_level g_ncsl_log_level; /* defined in log.c; read without locking on purpose */

/* `subsys` is a short literal ("http", "js"); the rest is printf-style. Formats only when the
 * level is enabled. Never pass secrets, inputs or function source. */
void ncsl__log(ncsl_log_level level, const char *subsys, const char *func, int line,
               const char *fmt, ...) NCSL_PRINTF(5, 6);
#define NCSL_LOG_(lvl, subsys, ...)                                                                \
    do {                                                                                           \
        if ((lvl) <= g_ncsl_log_level) {                                                           \
            ncsl__log((lvl), (subsys), __func__, __LINE__, __VA_ARGS__);                           \
        }                                                                                          \
    } while (0)
#define NCSL_LOG_ERROR(subsys, ...) NCSL_LOG_(NCSL_LOG_LEVEL_ERROR, subsys, __VA_ARGS__)
#define NCSL_LOG_WARN(subsys, ...) NCSL_LOG_(NCSL_LOG_LEVEL_WARN, subsys, __VA_ARGS__)
#define NCSL_LOG_INFO(subsys, ...) NCSL_LOG_(NCSL_LOG_LEVEL_INFO, subsys, __VA_ARGS__)
#define NCSL_LOG_DEBUG(subsys, ...) NCSL_LOG_(NCSL_LOG_LEVEL_DEBUG, subsys, __VA_ARGS__)

/* ------------------------------------------------------------------------- buffer */
/* A growable byte buffer, always NUL-terminated when data != NULL. Caller-owned struct
 * (init/cleanup). A failed allocation sets `oom` and turns later appends into no-ops, so a
 * builder can append freely and check once at the end. */
typedef struct ncsl_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit; /* 0 = unlimited; appends past it set `over_limit` and are dropped */
    bool oom;
    bool over_limit;
} ncsl_buf;

void ncsl_buf_init(ncsl_buf *b, size_t limit);
void ncsl_buf_cleanup(ncsl_buf *b);        /* frees data */
void ncsl_buf_cleanup_secure(ncsl_buf *b); /* wipes, then frees data */
bool ncsl_buf_reserve(ncsl_buf *b, size_t extra);
void ncsl_buf_append(ncsl_buf *b, const void *data, size_t len);
void ncsl_buf_append_str(ncsl_buf *b, const char *s);
void ncsl_buf_printf(ncsl_buf *b, const char *fmt, ...) NCSL_PRINTF(2, 3);
/* Length (1-4) of the well-formed UTF-8 sequence at `s` (at most `avail` bytes, avail >= 1), or
 * 0 when it is not one: a stray continuation byte, an overlong form, a surrogate, a value past
 * U+10FFFF or a sequence cut by the end. */
size_t ncsl_utf8_seq_len(const void *s, size_t avail);
/* Whether `len` bytes at `s` are well-formed UTF-8 (NUL bytes included). */
bool ncsl_utf8_valid(const void *s, size_t len);

/* Appends `s` as a JSON string literal with quotes. Invalid UTF-8 becomes U+FFFD. */
void ncsl_buf_append_json_string(ncsl_buf *b, const char *s, size_t len);
/* Hands the data to the caller (caller frees with free()); the buffer is reset. */
char *ncsl_buf_steal(ncsl_buf *b, size_t *len);

/* ------------------------------------------------------------------------- misc */
/* Wipes `len` bytes in a way the compiler cannot drop. */
void ncsl_wipe(void *p, size_t len);
/* Wipes a NUL-terminated string and frees it. NULL does nothing. */
void ncsl_free_secret_str(char *s);
/* Monotonic clock in microseconds / nanoseconds. */
uint64_t ncsl_now_us(void);
uint64_t ncsl_now_ns(void);
/* Wall clock as RFC 3339 UTC with milliseconds ("2026-11-24T15:00:00.123Z"); out >= 32 bytes. */
void ncsl_time_rfc3339(char *out, size_t out_size);
/* Fills `out` (>= 37 bytes) with a random UUID v4 from the OS CSPRNG. */
ncsl_status ncsl_uuid_v4(char out[37]);
/* strdup that returns NULL on NULL. */
char *ncsl_strdup(const char *s);
/* Unpadded base64url (RFC 4648 section 5) of `len` bytes into `out` (caller-owned, at least
 * (len * 4 + 2) / 3 + 1 bytes), NUL-terminated. */
void ncsl_base64url_encode(const uint8_t *in, size_t len, char *out);
char *ncsl_strndup(const char *s, size_t n);
/* Number of online CPUs, at least 1. */
unsigned ncsl_cpu_count(void);

/* ------------------------------------------------------------------------- files (files.c) */
/* "a/b" as a new string (caller frees), NULL when out of memory. */
char *ncsl_path_join(const char *a, const char *b);
/* Writes all `len` bytes (retrying short writes and EINTR); false with errno set on failure. */
bool ncsl_write_all(int fd, const void *data, size_t len);
/* fsync of a directory, so a rename or link in it is durable. Best effort (errors ignored). */
void ncsl_fsync_dir(const char *dir);
/*
 * Reads a whole regular file of at most `max` bytes, not following a final symlink. On success
 * *buf (caller frees) holds *len bytes plus a NUL not counted. Errors, err->field = `field`:
 * NCSL_E_NOT_FOUND when it does not exist; `open_failed` when it cannot be opened otherwise;
 * `unusable` when it is not a regular file or is larger than `max`; NCSL_E_IO when reading
 * fails; NCSL_E_NOMEM.
 */
ncsl_status ncsl_read_small_file(const char *path, size_t max, ncsl_status open_failed,
                                 ncsl_status unusable, const char *field, uint8_t **buf,
                                 size_t *len, ncsl_err *err);

/*
 * Makes `path` a private directory: created with mode 0700 when missing (its parent must exist);
 * refused with `insecure` (a status of the caller's subsystem) when it is not a directory (or a
 * symlink) or is writable by group or others, the message naming the fix. NCSL_E_IO when it
 * cannot be created or examined. err->field is `field`.
 */
ncsl_status ncsl_private_dir(const char *path, ncsl_status insecure, const char *field,
                             ncsl_err *err);

#endif
