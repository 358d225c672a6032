/*
 * Small file-system helpers shared by the subsystems that keep private state in the data dir
 * (the simulation TEE, the identity keys): path joining, complete writes, durable renames and
 * private directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

char *ncsl_path_join(const char *a, const char *b) {
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p) {
        snprintf(p, n, "%s/%s", a, b);
    }
    return p;
}

bool ncsl_write_all(int fd, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

void ncsl_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

ncsl_status ncsl_read_small_file(const char *path, size_t max, ncsl_status open_failed,
                                 ncsl_status unusable, const char *field, uint8_t **buf,
                                 size_t *len, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    struct stat sb;
    uint8_t *data = NULL;
    size_t got = 0;

    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return ncsl_err_set(err, NCSL_E_NOT_FOUND, field, "%s does not exist", path);
        }
        return ncsl_err_set(err, open_failed, field, "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > (uint64_t)max) {
        st = ncsl_err_set(err, unusable, field, "%s is not a regular file of at most %zu bytes",
                          path, max);
        goto out;
    }
    data = malloc((size_t)sb.st_size + 1);
    if (!data) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t n = read(fd, data + got, (size_t)sb.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            st = ncsl_err_set(err, NCSL_E_IO, field, "cannot read %s", path);
            goto out;
        }
        got += (size_t)n;
    }
    data[got] = 0;
    *buf = data;
    *len = got;
    data = NULL;
out:
    free(data);
    close(fd);
    return st;
}

ncsl_status ncsl_private_dir(const char *path, ncsl_status insecure, const char *field,
                             ncsl_err *err) {
    struct stat st;
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        return ncsl_err_set(err, NCSL_E_IO, field, "cannot create directory %s: %s", path,
                            strerror(errno));
    }
    if (lstat(path, &st) != 0) {
        return ncsl_err_set(err, NCSL_E_IO, field, "cannot stat %s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return ncsl_err_set(err, insecure, field,
                            "%s is not a directory (a symlink or a file); remove it", path);
    }
    if (st.st_mode & 022) {
        return ncsl_err_set(err, insecure, field,
                            "%s is writable by group or others (mode %04o); fix: chmod 700 %s",
                            path, (unsigned)(st.st_mode & 07777), path);
    }
    return NCSL_OK;
}
