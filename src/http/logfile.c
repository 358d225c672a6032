/*
 * ncsld's log sink: every JSON line goes to stderr and to <data dir>/log/ncsl.log. One mutex
 * keeps lines whole and in the same order in both; the file is O_APPEND so external log
 * rotation by copy-truncate keeps working. The sink state is process-wide, like the sink itself.
 *
 * Info and debug lines (one access line per request at the default level) are gathered in a
 * buffer and written together: two writes per request cost about 12 us of a request's CPU. The
 * buffer goes out when it fills, before any warning or error line (which is written at once, so
 * order is kept), and at least every 100 ms (ncsl_http_log_flush from the main thread's loop).
 * So a crash or kill -9 can lose at most the last ~100 ms of info lines; warnings and errors are
 * never held back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http.h"

#define LOG_BUF_SIZE ((size_t)64 << 10)

static pthread_mutex_t g_log_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_log_fd = -1;            /* guarded by g_log_mu */
static char g_log_buf[LOG_BUF_SIZE]; /* held info/debug lines, each with its newline */
static size_t g_log_buf_len;         /* guarded by g_log_mu */

static void write_all(int fd, const struct iovec *iov_in, int n) {
    struct iovec iov[2];
    memcpy(iov, iov_in, sizeof(struct iovec) * (size_t)n);
    int i = 0;
    while (i < n) {
        ssize_t w = writev(fd, iov + i, n - i);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return; /* a log write failure must not take the daemon down */
        }
        size_t left = (size_t)w;
        while (i < n && left >= iov[i].iov_len) {
            left -= iov[i].iov_len;
            i++;
        }
        if (i < n) {
            iov[i].iov_base = (char *)iov[i].iov_base + left;
            iov[i].iov_len -= left;
        }
    }
}

/* Writes the held lines to both outputs. With g_log_mu held. */
static void flush_locked(void) {
    if (g_log_buf_len == 0) {
        return;
    }
    struct iovec iov[1] = {{g_log_buf, g_log_buf_len}};
    write_all(STDERR_FILENO, iov, 1);
    if (g_log_fd >= 0) {
        write_all(g_log_fd, iov, 1);
    }
    g_log_buf_len = 0;
}

static void log_sink(void *user, ncsl_log_level level, const char *line, size_t len) {
    (void)user;
    pthread_mutex_lock(&g_log_mu);
    if (level > NCSL_LOG_LEVEL_WARN && len + 1 <= LOG_BUF_SIZE) { /* info, debug */
        if (g_log_buf_len + len + 1 > LOG_BUF_SIZE) {
            flush_locked();
        }
        memcpy(g_log_buf + g_log_buf_len, line, len);
        g_log_buf[g_log_buf_len + len] = '\n';
        g_log_buf_len += len + 1;
    } else {
        flush_locked(); /* earlier lines first */
        struct iovec iov[2] = {{(void *)line, len}, {(void *)"\n", 1}};
        write_all(STDERR_FILENO, iov, 2);
        if (g_log_fd >= 0) {
            write_all(g_log_fd, iov, 2);
        }
    }
    pthread_mutex_unlock(&g_log_mu);
}

void ncsl_http_log_flush(void) {
    pthread_mutex_lock(&g_log_mu);
    flush_locked();
    pthread_mutex_unlock(&g_log_mu);
}

ncsl_status ncsl_http_mkdirs(const char *path, ncsl_err *err) {
    char tmp[NCSL_CONFIG_PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s", path);
    if (n <= 0 || (size_t)n >= sizeof(tmp)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "Server.DataDir", "path too long");
    }
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                return ncsl_err_set(err, NCSL_E_IO, "Server.DataDir", "cannot create %s: %s", tmp,
                                    strerror(errno));
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        return ncsl_err_set(err, NCSL_E_IO, "Server.DataDir", "cannot create %s: %s", tmp,
                            strerror(errno));
    }
    struct stat sb;
    if (stat(tmp, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        return ncsl_err_set(err, NCSL_E_IO, "Server.DataDir", "%s is not a directory", tmp);
    }
    return NCSL_OK;
}

ncsl_status ncsl_http_log_open(const char *data_dir, ncsl_err *err) {
    char dir[NCSL_CONFIG_PATH_MAX];
    char file[NCSL_CONFIG_PATH_MAX + 16];
    if ((size_t)snprintf(dir, sizeof(dir), "%s/log", data_dir) >= sizeof(dir)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "Server.DataDir", "path too long");
    }
    ncsl_status st = ncsl_http_mkdirs(dir, err);
    if (st != NCSL_OK) {
        return st;
    }
    snprintf(file, sizeof(file), "%s/ncsl.log", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        return ncsl_err_set(err, NCSL_E_IO, "Server.DataDir", "cannot open %s: %s", file,
                            strerror(errno));
    }
    pthread_mutex_lock(&g_log_mu);
    if (g_log_fd >= 0) {
        close(g_log_fd);
    }
    g_log_fd = fd;
    pthread_mutex_unlock(&g_log_mu);
    ncsl_log_set_sink(log_sink, NULL);
    return NCSL_OK;
}

void ncsl_http_log_close(void) {
    ncsl_log_set_sink(NULL, NULL);
    pthread_mutex_lock(&g_log_mu);
    flush_locked();
    if (g_log_fd >= 0) {
        close(g_log_fd);
        g_log_fd = -1;
    }
    pthread_mutex_unlock(&g_log_mu);
}
