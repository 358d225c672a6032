/*
 * The execute-javascript request body: {code, input, secrets, functionId, userId}, exactly as
 * the seed guide sends it (input and secrets may be JSON strings or JSON values). Errors name
 * the field and never quote the body: jansson's "near '...'" fragment is cut off because it may
 * hold part of a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define MAX_ID_BYTES 256

/* jansson's text, without the "near '<token>'" part that could echo request data. */
static void json_error_text(const json_error_t *jerr, char *out, size_t size) {
    snprintf(out, size, "%s", jerr->text);
    char *near = strstr(out, " near ");
    if (near) {
        *near = '\0';
    }
}

bool ncsl_http_content_type_is_json(const char *value) {
    if (!value) {
        return false;
    }
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    static const char kType[] = "application/json";
    size_t n = sizeof(kType) - 1;
    if (strncasecmp(value, kType, n) != 0) {
        return false;
    }
    const char *rest = value + n;
    while (*rest == ' ' || *rest == '\t') {
        rest++;
    }
    return *rest == '\0' || *rest == ';';
}

static void wipe_json_string(json_t *v) {
    if (json_is_string(v)) {
        /* jansson frees without wiping: clear the value in place first. */
        ncsl_wipe((char *)json_string_value(v), json_string_length(v));
    }
}

static void wipe_secret_values(json_t *obj) {
    const char *k = NULL;
    json_t *v = NULL;
    json_object_foreach(obj, k, v) {
        wipe_json_string(v);
    }
}

void ncsl_http_exec_body_cleanup(ncsl_http_exec_body *b) {
    if (!b) {
        return;
    }
    if (b->secrets) {
        free(b->secrets); /* names/values are borrowed from the documents below */
    }
    if (b->secrets_doc) {
        wipe_secret_values(b->secrets_doc);
        json_decref(b->secrets_doc);
    }
    if (b->root) {
        json_t *s = json_object_get(b->root, "secrets");
        if (json_is_object(s)) {
            wipe_secret_values(s);
        } else {
            wipe_json_string(s);
        }
        json_decref(b->root);
    }
    free(b->input_owned);
    memset(b, 0, sizeof(*b));
}

static ncsl_status opt_string(json_t *root, const char *name, const char **out, ncsl_err *err) {
    json_t *v = json_object_get(root, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return NCSL_OK;
    }
    if (!json_is_string(v)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, name, "%s must be a string", name);
    }
    if (json_string_length(v) > MAX_ID_BYTES) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, name, "%s must be at most %d bytes", name,
                            MAX_ID_BYTES);
    }
    *out = json_string_value(v);
    return NCSL_OK;
}

static ncsl_status parse_secrets(ncsl_http_exec_body *b, json_t *v, ncsl_err *err) {
    if (!v || json_is_null(v)) {
        return NCSL_OK;
    }
    json_t *obj = v;
    if (json_is_string(v)) {
        json_error_t jerr;
        b->secrets_doc =
            json_loadb(json_string_value(v), json_string_length(v), JSON_REJECT_DUPLICATES, &jerr);
        if (!b->secrets_doc) {
            char text[160];
            json_error_text(&jerr, text, sizeof(text));
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, "secrets",
                                "secrets is not valid JSON (line %d, column %d: %s)", jerr.line,
                                jerr.column, text);
        }
        obj = b->secrets_doc;
    }
    if (!json_is_object(obj)) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "secrets",
                            "secrets must be an object of name -> string (or its JSON text)");
    }
    size_t n = json_object_size(obj);
    if (n == 0) {
        return NCSL_OK;
    }
    b->secrets = calloc(n, sizeof(*b->secrets));
    if (!b->secrets) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    const char *name = NULL;
    json_t *val = NULL;
    json_object_foreach(obj, name, val) {
        if (!json_is_string(val)) {
            char field[64];
            snprintf(field, sizeof(field), "secrets.%s", name);
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, field, "secret %.40s must be a string",
                                name);
        }
        if (*name == '\0') {
            return ncsl_err_set(err, NCSL_E_INVALID_ARG, "secrets",
                                "secret names must not be empty");
        }
        ncsl_secret *s = &b->secrets[b->secret_count++];
        s->name = name;
        s->value = json_string_value(val);
        s->value_len = json_string_length(val);
    }
    return NCSL_OK;
}

static ncsl_status parse_body(const char *body, size_t len, bool invoke, ncsl_http_exec_body *out,
                              ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    out->root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!out->root) {
        char text[160];
        json_error_text(&jerr, text, sizeof(text));
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "body",
                          "the body is not valid JSON (line %d, column %d: %s)", jerr.line,
                          jerr.column, text);
        goto out;
    }
    if (!json_is_object(out->root)) {
        st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "body", "the body must be a JSON object");
        goto out;
    }

    /* invoke: the deployed function's code runs; code, functionId and userId are not read. */
    json_t *code = invoke ? NULL : json_object_get(out->root, "code");
    if (!invoke) {
        if (!code || json_is_null(code)) {
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "code", "code is required");
            goto out;
        }
        if (!json_is_string(code)) {
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "code", "code must be a string");
            goto out;
        }
        if (json_string_length(code) == 0) {
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "code", "code must not be empty");
            goto out;
        }
        out->code = json_string_value(code);
        out->code_len = json_string_length(code);
    }

    json_t *input = json_object_get(out->root, "input");
    if (json_is_string(input)) {
        /* The seed sends the input as JSON text: it must parse. */
        json_t *probe =
            json_loadb(json_string_value(input), json_string_length(input), JSON_DECODE_ANY, &jerr);
        if (!probe) {
            char text[160];
            json_error_text(&jerr, text, sizeof(text));
            st = ncsl_err_set(err, NCSL_E_INVALID_ARG, "input",
                              "input is a string but not valid JSON (line %d, column %d: %s)",
                              jerr.line, jerr.column, text);
            goto out;
        }
        json_decref(probe);
        out->input_json = json_string_value(input);
        out->input_len = json_string_length(input);
    } else if (input && !json_is_null(input)) {
        out->input_owned = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!out->input_owned) {
            st = ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
            goto out;
        }
        out->input_json = out->input_owned;
        out->input_len = strlen(out->input_owned);
    }

    st = parse_secrets(out, json_object_get(out->root, "secrets"), err);
    if (st != NCSL_OK) {
        goto out;
    }
    if (!invoke) {
        st = opt_string(out->root, "functionId", &out->function_id, err);
        if (st != NCSL_OK) {
            goto out;
        }
        st = opt_string(out->root, "userId", &out->user_id, err);
    }
out:
    if (st != NCSL_OK) {
        ncsl_http_exec_body_cleanup(out);
    }
    return st;
}

ncsl_status ncsl_http_parse_execute(const char *body, size_t len, ncsl_http_exec_body *out,
                                    ncsl_err *err) {
    return parse_body(body, len, false, out, err);
}

ncsl_status ncsl_http_parse_invoke(const char *body, size_t len, ncsl_http_exec_body *out,
                                   ncsl_err *err) {
    if (len == 0) {
        body = "{}"; /* POST with no body: no input, no secrets */
        len = 2;
    }
    return parse_body(body, len, true, out, err);
}
