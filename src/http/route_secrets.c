/*
 * User secrets: PUT (plain or encrypted to the enclave), list (names, sizes and dates only) and
 * delete. No route ever returns a value, and no log line holds one: values go from the parsed
 * body (wiped when freed, see ncsl_json_use_wiping_allocator) straight into the store's seal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/exec.h"
#include "http_int.h"
#include "keys/envelope.h"
#include "route_util.h"
#include "store/store.h"

/* [A-Za-z_][A-Za-z0-9_]{0,63}: names become JS property names of SECRETS and appear in logs. */
bool ncsl__http_secret_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 64 || (name[0] >= '0' && name[0] <= '9')) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static enum MHD_Result answer_bad_name(http_req *r) {
    return ncsl__http_answer_error(
        r, 400, "VALIDATION_ERROR",
        "a secret name is 1 to 64 letters, digits or underscores, not starting with a digit",
        "name", NULL);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum MHD_Result ncsl__http_route_secret_put(http_req *r) {
    const char *name = r->params[0];
    if (!ncsl__http_secret_name_ok(name)) {
        ncsl_buf_cleanup_secure(&r->body);
        return answer_bad_name(r);
    }
    enum MHD_Result answered = MHD_NO;
    json_t *body = ncsl__http_body_object(r, &answered);
    if (!body) {
        return answered;
    }
    const ncsl_config_limits *lim = &r->srv->cfg.limits;
    json_t *plain = json_object_get(body, "value");
    json_t *sealed = json_object_get(body, "encryptedValue");
    const char *value = NULL;
    size_t value_len = 0;
    char *opened = NULL;
    size_t opened_len = 0;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = NCSL_OK;
    if ((plain != NULL) == (sealed != NULL)) {
        json_decref(body);
        return ncsl__http_answer_error(r, 400, "VALIDATION_ERROR",
                                       "send exactly one of value (a string) and encryptedValue "
                                       "(an envelope to the enclave's encryption key)",
                                       "value", NULL);
    }
    if (plain) {
        if (!json_is_string(plain)) {
            json_decref(body);
            return ncsl__http_answer_error(r, 400, "VALIDATION_ERROR", "value must be a string",
                                           "value", NULL);
        }
        value = json_string_value(plain);
        value_len = json_string_length(plain);
    } else {
        if (!r->srv->services.keys) {
            json_decref(body);
            return ncsl__http_answer_error(r, 503, "SERVICE_UNAVAILABLE",
                                           "this server has no enclave keys to open "
                                           "encryptedValue with",
                                           "encryptedValue", NULL);
        }
        st = ncsl_keys_envelope_open(r->srv->services.keys, sealed, r->caller.user_id, name,
                                     lim->max_secret_bytes, &opened, &opened_len, &err);
        if (st != NCSL_OK) {
            json_decref(body);
            return ncsl__http_answer_status(r, st, &err);
        }
        value = opened;
        value_len = opened_len;
    }
    if (value_len > lim->max_secret_bytes) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the secret is %zu bytes, the limit is %zu", value_len,
                 lim->max_secret_bytes);
        ncsl_keys_envelope_free(opened, opened_len);
        json_decref(body);
        return ncsl__http_answer_error(r, 413, "PAYLOAD_TOO_LARGE", msg,
                                       plain ? "value" : "encryptedValue", NULL);
    }
    bool created = false;
    st = ncsl_store_secret_put(r->srv->services.store, r->caller.user_id, name, value, value_len,
                               lim->max_secrets_per_user, &created, &err);
    ncsl_keys_envelope_free(opened, opened_len);
    json_decref(body); /* wipes the value (wiping allocator) */
    if (st == NCSL_E_STORE_QUOTA) {
        char msg[128];
        snprintf(msg, sizeof(msg), "a user may keep at most %u secrets", lim->max_secrets_per_user);
        return ncsl__http_answer_error(r, 413, "QUOTA_EXCEEDED", msg, "name", NULL);
    }
    if (st != NCSL_OK) {
        return ncsl__http_answer_status(r, st, &err);
    }
    NCSL_LOG_INFO("secrets", "request %s: user %s %s secret %s (%zu bytes%s)", r->request_id,
                  r->caller.user_id, created ? "created" : "replaced", name, value_len,
                  sealed ? ", from an envelope" : "");
    char ts[40];
    ncsl_store_time_rfc3339(now_ms(), ts, sizeof(ts));
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "size", json_integer((json_int_t)value_len));
    json_object_set_new(o, "created", json_boolean(created));
    json_object_set_new(o, "updatedAt", json_string(ts));
    return ncsl__http_answer_json(r, created ? 201 : 200, o);
}

enum MHD_Result ncsl__http_route_secret_list(http_req *r) {
    ncsl_store_secret_info *items = NULL;
    size_t count = 0;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st =
        ncsl_store_secret_list(r->srv->services.store, r->caller.user_id, &items, &count, &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_status(r, st, &err);
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < count; i++) {
        char c[40];
        char u[40];
        ncsl_store_time_rfc3339(items[i].created_at_ms, c, sizeof(c));
        ncsl_store_time_rfc3339(items[i].updated_at_ms, u, sizeof(u));
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(items[i].name));
        json_object_set_new(o, "size", json_integer((json_int_t)items[i].size));
        json_object_set_new(o, "createdAt", json_string(c));
        json_object_set_new(o, "updatedAt", json_string(u));
        json_array_append_new(arr, o);
    }
    ncsl_store_secret_info_free(items, count);
    json_t *o = json_object();
    json_object_set_new(o, "items", arr);
    json_object_set_new(o, "count", json_integer((json_int_t)count));
    json_object_set_new(o, "limit",
                        json_integer((json_int_t)r->srv->cfg.limits.max_secrets_per_user));
    return ncsl__http_answer_data(r, o);
}

enum MHD_Result ncsl__http_route_secret_delete(http_req *r) {
    const char *name = r->params[0];
    if (!ncsl__http_secret_name_ok(name)) {
        return answer_bad_name(r);
    }
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st =
        ncsl_store_secret_delete(r->srv->services.store, r->caller.user_id, name, &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "secret");
    }
    NCSL_LOG_INFO("secrets", "request %s: user %s deleted secret %s", r->request_id,
                  r->caller.user_id, name);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "deleted", json_true());
    return ncsl__http_answer_data(r, o);
}
