/* Helpers shared by the unit tests; see ncsl_test_util.h. */
#include "ncsl_test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

char *ncsl_test_tmpdir_make(const char *tag) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    if (!base || !*base) {
        base = P_tmpdir;
    }
    int n = snprintf(tmpl, sizeof(tmpl), "%s/%s-XXXXXX", base, tag);
    assert_true(n > 0 && (size_t)n < sizeof(tmpl));
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *out = strdup(d);
    assert_non_null(out);
    return out;
}

char *ncsl_test_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void ncsl_test_rmtree(const char *path) {
    struct stat sb;
    /* lstat: a link to a directory is unlinked, not descended into. */
    if (lstat(path, &sb) != 0) {
        return;
    }
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
                    continue;
                }
                char *sub = ncsl_test_path(path, e->d_name);
                ncsl_test_rmtree(sub);
                free(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void ncsl_test_tmpdir_remove(char *dir) {
    if (dir) {
        ncsl_test_rmtree(dir);
        free(dir);
    }
}

uint8_t *ncsl_test_read_file_if_exists(const char *path, size_t *len) {
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    uint8_t *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

uint8_t *ncsl_test_read_file(const char *path, size_t *len) {
    uint8_t *buf = ncsl_test_read_file_if_exists(path, len);
    if (!buf) {
        fprintf(stderr, "cannot read %s\n", path);
    }
    assert_non_null(buf);
    return buf;
}

void ncsl_test_write_file(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, "cannot write %s\n", path);
    }
    assert_true(fd >= 0);
    if (len > 0) {
        assert_int_equal(write(fd, data, len), (ssize_t)len);
    }
    assert_int_equal(close(fd), 0);
}

uint8_t *ncsl_test_flipped_copy(const uint8_t *data, size_t len, size_t off, uint8_t mask) {
    assert_true(off < len);
    uint8_t *b = malloc(len);
    assert_non_null(b);
    memcpy(b, data, len);
    b[off] ^= mask;
    return b;
}

bool ncsl_test_mem_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t n) {
    return hay && n <= hay_len && memmem(hay, hay_len, needle, n) != NULL;
}

ncsl_tee *ncsl_test_open_sim_tee_expect(const char *data_dir, bool debug, ncsl_status expect,
                                        ncsl_err *err) {
    ncsl_tee_options o;
    ncsl_tee *tee = NULL;
    ncsl_tee_options_default(&o);
    o.type = NCSL_TEE_SIMULATION;
    o.data_dir = data_dir;
    o.debug = debug;
    ncsl_status st = ncsl_tee_open(&o, &tee, err);
    if (st != expect) {
        fprintf(stderr, "simulation TEE open: %d %s\n", (int)st, err->message);
    }
    assert_int_equal(st, expect);
    return tee;
}

ncsl_tee *ncsl_test_open_sim_tee(const char *data_dir) {
    ncsl_err err;
    return ncsl_test_open_sim_tee_expect(data_dir, false, NCSL_OK, &err);
}
