/*
 * Users and their API keys (admin key only), and "who am I" for any key.
 *
 * A new user's first API key is returned once, by POST /api/v1/users; later keys once each by
 * POST /api/v1/users/{id}/keys. The store keeps only keyed hashes, so a lost key cannot be shown
 * again: make a new one and revoke the old. Deleting a user deletes, in one transaction, their
 * keys, functions, secrets and stored values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_int.h"
#include "route_util.h"
#include "store/store.h"

static json_t *user_json(const ncsl_store_user *u) {
    json_t *o = json_object();
    char ts[40];
    ncsl_store_time_rfc3339(u->created_at_ms, ts, sizeof(ts));
    json_object_set_new(o, "id", json_string(u->id));
    json_object_set_new(o, "name", json_string(u->name ? u->name : ""));
    json_object_set_new(o, "createdAt", json_string(ts));
    json_object_set_new(o, "disabled", json_boolean(u->disabled));
    return o;
}

static json_t *key_json(const ncsl_store_api_key *k) {
    json_t *o = json_object();
    char ts[40];
    ncsl_store_time_rfc3339(k->created_at_ms, ts, sizeof(ts));
    json_object_set_new(o, "id", json_string(k->id));
    json_object_set_new(o, "userId", json_string(k->user_id));
    json_object_set_new(o, "prefix", json_string(k->prefix));
    json_object_set_new(o, "createdAt", json_string(ts));
    if (k->revoked_at_ms) {
        ncsl_store_time_rfc3339(k->revoked_at_ms, ts, sizeof(ts));
        json_object_set_new(o, "revokedAt", json_string(ts));
    } else {
        json_object_set_new(o, "revokedAt", json_null());
    }
    return o;
}

enum MHD_Result ncsl__http_route_me(http_req *r) {
    json_t *o = json_object();
    json_object_set_new(o, "admin", json_boolean(r->caller.admin));
    if (r->caller.admin) {
        json_object_set_new(o, "userId", json_null());
        json_object_set_new(o, "name", json_string("admin"));
        json_object_set_new(o, "keyId", json_null());
        return ncsl__http_answer_data(r, o);
    }
    ncsl_store_user u;
    memset(&u, 0, sizeof(u));
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_user_get(r->srv->services.store, r->caller.user_id, &u, &err);
    if (st != NCSL_OK) {
        json_decref(o);
        return ncsl__http_answer_status(r, st, &err);
    }
    json_object_set_new(o, "userId", json_string(u.id));
    json_object_set_new(o, "name", json_string(u.name ? u.name : ""));
    json_object_set_new(o, "keyId", json_string(r->caller.key_id));
    ncsl_store_user_cleanup(&u);
    return ncsl__http_answer_data(r, o);
}

enum MHD_Result ncsl__http_route_user_create(http_req *r) {
    enum MHD_Result answered = MHD_NO;
    json_t *body = ncsl__http_body_object(r, &answered);
    if (!body) {
        return answered;
    }
    const char *name = NULL;
    size_t name_len = 0;
    if (!ncsl__http_string_field(r, body, "name", true, NCSL_HTTP_MAX_NAME, &name, &name_len,
                                 &answered)) {
        json_decref(body);
        return answered;
    }
    ncsl_store *store = r->srv->services.store;
    ncsl_store_user u;
    memset(&u, 0, sizeof(u));
    ncsl_store_api_key k;
    memset(&k, 0, sizeof(k));
    char key[NCSL_STORE_API_KEY_SIZE];
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_user_create(store, name, &u, &err);
    json_decref(body);
    if (st == NCSL_OK) {
        st = ncsl_store_api_key_create(store, u.id, &k, key, &err);
        if (st != NCSL_OK) {
            ncsl_err derr;
            if (ncsl_store_user_delete(store, u.id, &derr) != NCSL_OK) { /* no keyless user */
                NCSL_LOG_ERROR("users", "user %s left without a key: %s", u.id, derr.message);
            }
        }
    }
    if (st != NCSL_OK) {
        ncsl_store_user_cleanup(&u);
        return ncsl__http_answer_status(r, st, &err);
    }
    NCSL_LOG_INFO("users", "request %s: user %s created with key %s", r->request_id, u.id, k.id);
    json_t *o = user_json(&u);
    json_object_set_new(o, "apiKey", json_string(key));
    json_object_set_new(o, "apiKeyId", json_string(k.id));
    ncsl_wipe(key, sizeof(key));
    ncsl_store_user_cleanup(&u);
    return ncsl__http_answer_json(r, 201, o);
}

enum MHD_Result ncsl__http_route_user_list(http_req *r) {
    size_t limit = 0;
    const char *cursor = NULL;
    enum MHD_Result answered = MHD_NO;
    if (!ncsl__http_page_args(r, &limit, &cursor, &answered)) {
        return answered;
    }
    ncsl_store_user_page page;
    memset(&page, 0, sizeof(page));
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_user_list(r->srv->services.store, limit, cursor, &page, &err);
    if (st != NCSL_OK) {
        ncsl_store_user_page_cleanup(&page);
        return ncsl__http_answer_status(r, st, &err);
    }
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++) {
        json_array_append_new(items, user_json(&page.items[i]));
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "nextCursor", json_string(page.next_cursor));
    ncsl_store_user_page_cleanup(&page);
    return ncsl__http_answer_data(r, o);
}

enum MHD_Result ncsl__http_route_user_get(http_req *r) {
    ncsl_store_user u;
    memset(&u, 0, sizeof(u));
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_user_get(r->srv->services.store, r->params[0], &u, &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "user");
    }
    json_t *o = user_json(&u);
    ncsl_store_user_cleanup(&u);
    return ncsl__http_answer_data(r, o);
}

enum MHD_Result ncsl__http_route_user_delete(http_req *r) {
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_user_delete(r->srv->services.store, r->params[0], &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "user");
    }
    NCSL_LOG_INFO("users", "request %s: user %s deleted", r->request_id, r->params[0]);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->params[0]));
    json_object_set_new(o, "deleted", json_true());
    return ncsl__http_answer_data(r, o);
}

enum MHD_Result ncsl__http_route_key_create(http_req *r) {
    ncsl_buf_cleanup_secure(&r->body); /* no body expected; any is ignored */
    ncsl_store_api_key k;
    memset(&k, 0, sizeof(k));
    char key[NCSL_STORE_API_KEY_SIZE];
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_api_key_create(r->srv->services.store, r->params[0], &k, key, &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "user");
    }
    NCSL_LOG_INFO("users", "request %s: key %s created for user %s", r->request_id, k.id,
                  k.user_id);
    json_t *o = key_json(&k);
    json_object_set_new(o, "apiKey", json_string(key));
    ncsl_wipe(key, sizeof(key));
    return ncsl__http_answer_json(r, 201, o);
}

enum MHD_Result ncsl__http_route_key_list(http_req *r) {
    ncsl_store *store = r->srv->services.store;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_store_user u;
    memset(&u, 0, sizeof(u));
    ncsl_status st = ncsl_store_user_get(store, r->params[0], &u, &err);
    ncsl_store_user_cleanup(&u);
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "user");
    }
    ncsl_store_api_key *keys = NULL;
    size_t count = 0;
    st = ncsl_store_api_key_list(store, r->params[0], &keys, &count, &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_status(r, st, &err);
    }
    json_t *items = json_array();
    for (size_t i = 0; i < count; i++) {
        json_array_append_new(items, key_json(&keys[i]));
    }
    free(keys);
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    return ncsl__http_answer_data(r, o);
}

enum MHD_Result ncsl__http_route_key_revoke(http_req *r) {
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st =
        ncsl_store_api_key_revoke(r->srv->services.store, r->params[0], r->params[1], &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "API key");
    }
    NCSL_LOG_INFO("users", "request %s: key %s of user %s revoked", r->request_id, r->params[1],
                  r->params[0]);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->params[1]));
    json_object_set_new(o, "revoked", json_true());
    return ncsl__http_answer_data(r, o);
}
