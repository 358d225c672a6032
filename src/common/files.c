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
