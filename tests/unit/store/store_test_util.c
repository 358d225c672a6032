/* Helpers shared by the store tests (see store_test_util.h). */
#include "store_test_util.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

char *stu_tmp_dir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    if (!base || !*base) {
        base = P_tmpdir;
    }
    snprintf(tmpl, sizeof(tmpl), "%s/%s-XXXXXX", base, tag);
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

char *stu_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void stu_rm_rf(const char *path) {
    struct stat sb;
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
                char *sub = stu_path(path, e->d_name);
                stu_rm_rf(sub);
                free(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

ncsl_tee *stu_open_tee(const char *data_dir) {
    ncsl_tee_options o;
    ncsl_tee *tee = NULL;
    ncsl_err err;
    ncsl_tee_options_default(&o);
    o.type = NCSL_TEE_SIMULATION;
    o.data_dir = data_dir;
    ncsl_status st = ncsl_tee_open(&o, &tee, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "tee open: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return tee;
}

ncsl_store *stu_open_store(ncsl_tee *tee, const char *data_dir, const ncsl_store_options *opts) {
    ncsl_store_options o;
    ncsl_store *s = NULL;
    ncsl_err err;
    if (opts) {
        o = *opts;
    } else {
        ncsl_store_options_default(&o);
    }
    o.data_dir = data_dir;
    ncsl_status st = ncsl_store_open(tee, &o, &s, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "store open: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    return s;
}

uint8_t *stu_slurp(const char *path, size_t *len) {
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

bool stu_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t n) {
    return hay && n <= hay_len && memmem(hay, hay_len, needle, n) != NULL;
}

bool stu_db_files_contain(const char *dir, const void *needle, size_t n) {
    static const char *const names[] = {"ncsl.db", "ncsl.db-wal", "ncsl.db-shm"};
    bool found = false;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char *p = stu_path(dir, names[i]);
        size_t len = 0;
        uint8_t *data = stu_slurp(p, &len);
        found = found || stu_contains(data, len, needle, n);
        free(data);
        free(p);
    }
    return found;
}

sqlite3 *stu_raw_open(const char *dir) {
    char *p = stu_path(dir, "ncsl.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    free(p);
    return db;
}

void stu_raw_exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        fprintf(stderr, "raw SQL failed: %s: %s\n", sql, msg ? msg : "?");
    }
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

int64_t stu_raw_int(sqlite3 *db, const char *sql) {
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

void stu_user(ncsl_store *s, const char *name, char id[NCSL_STORE_ID_SIZE]) {
    ncsl_store_user u;
    ncsl_err err;
    ncsl_status st = ncsl_store_user_create(s, name, &u, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "user create: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    memcpy(id, u.id, NCSL_STORE_ID_SIZE);
    ncsl_store_user_cleanup(&u);
}

void stu_function(ncsl_store *s, const char *user_id, const char *name, const char *code,
                  char id[NCSL_STORE_ID_SIZE]) {
    ncsl_store_function_spec spec = {.name = name, .code = code, .code_len = strlen(code)};
    ncsl_store_function f;
    ncsl_err err;
    ncsl_status st = ncsl_store_function_create(s, user_id, &spec, &f, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "function create: %s\n", err.message);
    }
    assert_int_equal(st, NCSL_OK);
    memcpy(id, f.id, NCSL_STORE_ID_SIZE);
    ncsl_store_function_cleanup(&f);
}
