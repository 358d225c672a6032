/*
 * Replay driver: a `main` for the fuzz targets without libFuzzer. Runs LLVMFuzzerInitialize (when
 * the target defines it) and then LLVMFuzzerTestOneInput once on every file given, directly or as
 * a member of a directory given (not recursive; names starting with '.' are skipped), in name
 * order. Each input is copied into a buffer of exactly its size, so sanitizers see overreads.
 *
 *   replay_<name> DIR|FILE...
 *
 * Exit status 0 when every input ran (a broken contract or a sanitizer report aborts), 1 when a
 * path cannot be read or no input was found.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Targets without an initializer leave this NULL. */
#pragma weak LLVMFuzzerInitialize

static int run_file(const char *path, size_t *count) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            uint8_t *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                fprintf(stderr, "replay: %s: out of memory\n", path);
                rc = -1;
                goto out;
            }
            buf = nbuf;
            cap = ncap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            break;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        rc = -1;
        goto out;
    }
    /* An exact-size copy: a read past the input is then a heap overflow ASan reports. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        fprintf(stderr, "replay: %s: out of memory\n", path);
        rc = -1;
        goto out;
    }
    if (len) {
        memcpy(exact, buf, len);
    }
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
    (void)LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    (*count)++;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char **nn = realloc(names, (n + 1) * sizeof(*names));
        if (!nn) {
            rc = -1;
            goto out;
        }
        names = nn;
        size_t plen = strlen(dir) + 1 + strlen(e->d_name) + 1;
        names[n] = malloc(plen);
        if (!names[n]) {
            rc = -1;
            goto out;
        }
        snprintf(names[n], plen, "%s/%s", dir, e->d_name);
        n++;
    }
    if (n > 1) {
        qsort(names, n, sizeof(*names), name_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(names[i], count) != 0) {
                rc = -1;
            }
        }
    }
out:
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    closedir(d);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) {
        (void)LLVMFuzzerInitialize(&argc, &argv);
    }
    size_t count = 0;
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            failed = 1;
        } else if (S_ISDIR(st.st_mode)) {
            failed |= run_dir(argv[i], &count) != 0;
        } else {
            failed |= run_file(argv[i], &count) != 0;
        }
    }
    printf("replay: %zu inputs ran\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    return failed ? 1 : 0;
}
