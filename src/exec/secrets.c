/*
 * Per-call secrets: parsing the seed's `secrets` JSON object (name -> string) and copying
 * secrets into buffers that are wiped when freed. Limits follow the seed service: at most 100
 * secrets, 4096 bytes per value, names of 1-64 characters from [A-Za-z0-9_.-].
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "exec/exec_int.h"

#define SECRETS_MAX_COUNT 100
#define SECRET_MAX_VALUE_BYTES 4096
#define SECRET_MAX_NAME_BYTES 64

/* jansson keeps parsed strings (request bodies, secret values) in its own allocations and frees
 * them without wiping; this free wipes every block first. */
static void wiping_free(void *p) {
    if (p) {
        ncsl_wipe(p, malloc_usable_size(p));
        free(p);
    }
}

static pthread_once_t g_json_alloc_once = PTHREAD_ONCE_INIT;

static void json_alloc_install(void) {
    json_set_alloc_funcs(malloc, wiping_free);
}

void ncsl_json_use_wiping_allocator(void) {
    pthread_once(&g_json_alloc_once, json_alloc_install);
}

static bool secret_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > SECRET_MAX_NAME_BYTES) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

void ncsl_secrets_free(ncsl_secret *s, size_t count) {
    if (!s) {
        return;
    }
    for (size_t i = 0; i < count; i++) {
        free((char *)s[i].name);
        if (s[i].value) {
            ncsl_wipe((char *)s[i].value, s[i].value_len);
            free((char *)s[i].value);
        }
    }
    free(s);
}

ncsl_status ncsl__secrets_copy(const ncsl_secret *src, size_t count, ncsl_secret **out,
                               ncsl_err *err) {
    *out = NULL;
    ncsl_secret *s = calloc(count ? count : 1, sizeof(*s));
    if (!s) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        if (!src[i].name || !src[i].value) {
            ncsl_secrets_free(s, count);
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, "secrets",
                                "secret %zu has no name or value", i);
        }
        s[i].name = ncsl_strdup(src[i].name);
        s[i].value = ncsl_strndup(src[i].value, src[i].value_len);
        s[i].value_len = src[i].value_len;
        if (!s[i].name || !s[i].value) {
            ncsl_secrets_free(s, count);
            return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        }
    }
    *out = s;
    return NCSL_OK;
}

ncsl_status ncsl_secrets_parse_json(const char *json, size_t len, ncsl_secret **out, size_t *count,
                                    ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    json_error_t jerr;
    json_t *root = NULL;
    ncsl_secret *s = NULL;
    size_t n = 0;

    *out = NULL;
    *count = 0;
    ncsl_json_use_wiping_allocator();
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "secrets",
                          "secrets is not valid JSON (line %d, column %d): %s", jerr.line,
                          jerr.column, jerr.text);
        goto out;
    }
    if (!json_is_object(root)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "secrets",
                          "secrets must be a JSON object of name -> string");
        goto out;
    }
    n = json_object_size(root);
    if (n > SECRETS_MAX_COUNT) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "secrets",
                          "at most %d secrets per call, got %zu", SECRETS_MAX_COUNT, n);
        goto out;
    }
    s = calloc(n ? n : 1, sizeof(*s));
    if (!s) {
        st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
        goto out;
    }
    size_t i = 0;
    const char *name;
    json_t *val;
    json_object_foreach(root, name, val) {
        char field[64];
        snprintf(field, sizeof(field), "secrets.%.48s", name);
        if (!secret_name_ok(name)) {
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "secrets",
                              "secret names are 1-%d characters of A-Z a-z 0-9 _ . -",
                              SECRET_MAX_NAME_BYTES);
            goto out;
        }
        if (!json_is_string(val)) {
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, field, "secret values must be strings");
            goto out;
        }
        size_t vlen = json_string_length(val);
        if (vlen > SECRET_MAX_VALUE_BYTES) {
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, field,
                              "secret values are at most %d bytes, got %zu", SECRET_MAX_VALUE_BYTES,
                              vlen);
            goto out;
        }
        s[i].name = ncsl_strdup(name);
        s[i].value = ncsl_strndup(json_string_value(val), vlen);
        s[i].value_len = vlen;
        i++;
        if (!s[i - 1].name || !s[i - 1].value) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            goto out;
        }
    }
    *out = s;
    *count = n;
    s = NULL;

out:
    ncsl_secrets_free(s, n);
    json_decref(root);
    return st;
}
