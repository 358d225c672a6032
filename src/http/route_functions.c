/*
 * The function registry: deploy (syntax-checked and compiled to bytecode at once), list, get,
 * update (a new version), delete, and invoke by id with the caller's stored secrets and the
 * function's persistent `storage`.
 *
 * Deploy compiles the code through the engine's shared bytecode cache (src/js), so the first
 * invocation loads bytecode instead of parsing; after a restart the cache refills on first use.
 * The code itself lives only sealed in the store and in the owner's GET answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "exec/exec.h"
#include "http_int.h"
#include "js/js.h"
#include "route_util.h"
#include "store/store.h"

#define MAX_DESCRIPTION 4096u
#define MIB ((size_t)1024 * 1024)

/* ------------------------------------------------------------------------- JSON views */
static json_t *function_json(const ncsl_store_function *fn, bool with_code) {
    json_t *o = json_object();
    char ts[40];
    json_object_set_new(o, "id", json_string(fn->id));
    json_object_set_new(o, "name", json_string(fn->name ? fn->name : ""));
    json_object_set_new(o, "version", json_integer(fn->version));
    json_object_set_new(o, "codeHash", json_string(fn->code_hash));
    json_object_set_new(o, "codeSize", json_integer((json_int_t)fn->code_size));
    json_object_set_new(o, "description",
                        fn->description ? json_string(fn->description) : json_null());
    json_object_set_new(o, "requiredSecrets",
                        fn->required_secrets_json
                            ? json_loads(fn->required_secrets_json, JSON_DECODE_ANY, NULL)
                            : json_null());
    json_object_set_new(o, "limits",
                        fn->limits_json ? json_loads(fn->limits_json, JSON_DECODE_ANY, NULL)
                                        : json_null());
    ncsl_store_time_rfc3339(fn->created_at_ms, ts, sizeof(ts));
    json_object_set_new(o, "createdAt", json_string(ts));
    ncsl_store_time_rfc3339(fn->updated_at_ms, ts, sizeof(ts));
    json_object_set_new(o, "updatedAt", json_string(ts));
    if (with_code && fn->code) {
        json_object_set_new(o, "code", json_stringn(fn->code, fn->code_size));
    }
    return o;
}

/* ------------------------------------------------------------------------- deploy body */
typedef struct deploy_args {
    json_t *body;
    ncsl_store_function_spec spec;
    char *required_json; /* owned */
    char *limits_json;   /* owned */
} deploy_args;

static void deploy_args_cleanup(deploy_args *a) {
    free(a->required_json);
    free(a->limits_json);
    json_decref(a->body); /* the wiping allocator clears the code */
    memset(a, 0, sizeof(*a));
}

static bool bad_field(http_req *r, const char *field, const char *message,
                      enum MHD_Result *answered) {
    *answered = ncsl__http_answer_error(r, 400, "VALIDATION_ERROR", message, field, NULL);
    return false;
}

/* requiredSecrets: an array of distinct valid secret names (at most the per-user count). */
static bool parse_required(http_req *r, json_t *v, deploy_args *a, enum MHD_Result *answered) {
    if (!v || json_is_null(v)) {
        return true;
    }
    if (!json_is_array(v)) {
        return bad_field(r, "requiredSecrets", "requiredSecrets must be an array of secret names",
                         answered);
    }
    size_t max = r->srv->cfg.limits.max_secrets_per_user;
    if (json_array_size(v) > max) {
        char msg[96];
        snprintf(msg, sizeof(msg), "requiredSecrets lists more than %zu names", max);
        return bad_field(r, "requiredSecrets", msg, answered);
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || !ncsl__http_secret_name_ok(json_string_value(e)) ||
            strlen(json_string_value(e)) != json_string_length(e)) {
            return bad_field(r, "requiredSecrets",
                             "requiredSecrets must hold secret names: 1 to 64 letters, digits or "
                             "underscores, not starting with a digit",
                             answered);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(json_string_value(json_array_get(v, j)), json_string_value(e)) == 0) {
                return bad_field(r, "requiredSecrets", "requiredSecrets names a secret twice",
                                 answered);
            }
        }
    }
    a->required_json = json_dumps(v, JSON_COMPACT);
    if (!a->required_json) {
        *answered = ncsl__http_answer_error(r, 500, "INTERNAL_ERROR", "out of memory", NULL, NULL);
        return false;
    }
    a->spec.required_secrets_json = a->required_json;
    return true;
}

/* limits: {timeoutMs?, memoryMB?, gasLimit?}, each within the server's own limit. */
static bool parse_limits(http_req *r, json_t *v, deploy_args *a, enum MHD_Result *answered) {
    if (!v || json_is_null(v)) {
        return true;
    }
    if (!json_is_object(v)) {
        return bad_field(r, "limits", "limits must be an object {timeoutMs?, memoryMB?, gasLimit?}",
                         answered);
    }
    const ncsl_engine_options *js = &r->srv->cfg.js;
    const struct {
        const char *key;
        const char *field;
        uint64_t max;
    } known[] = {
        {"timeoutMs", "limits.timeoutMs", js->timeout_ms},
        {"memoryMB", "limits.memoryMB", js->memory_limit_bytes / MIB},
        {"gasLimit", "limits.gasLimit", js->gas_limit},
    };
    const char *key = NULL;
    json_t *val = NULL;
    json_object_foreach(v, key, val) {
        size_t k = 0;
        while (k < NCSL_ARRAY_LEN(known) && strcmp(known[k].key, key) != 0) {
            k++;
        }
        if (k == NCSL_ARRAY_LEN(known)) {
            return bad_field(r, "limits", "limits takes only timeoutMs, memoryMB and gasLimit",
                             answered);
        }
        if (!json_is_integer(val) || json_integer_value(val) < 1 ||
            (uint64_t)json_integer_value(val) > known[k].max) {
            char msg[128];
            snprintf(msg, sizeof(msg), "%s must be an integer from 1 to %llu (the server's limit)",
                     known[k].field, (unsigned long long)known[k].max);
            return bad_field(r, known[k].field, msg, answered);
        }
    }
    a->limits_json = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    if (!a->limits_json) {
        *answered = ncsl__http_answer_error(r, 500, "INTERNAL_ERROR", "out of memory", NULL, NULL);
        return false;
    }
    a->spec.limits_json = a->limits_json;
    return true;
}

/* Checks that the code compiles (and leaves its bytecode in the shared cache). */
static bool compile_code(http_req *r, const char *code, size_t len, enum MHD_Result *answered) {
    const ncsl_engine_options *js = &r->srv->cfg.js;
    ncsl_js_limits limits = {
        .memory_bytes = js->memory_limit_bytes,
        .timeout_ms = js->timeout_ms,
        .stack_bytes = js->stack_size_bytes,
        .max_output_bytes = js->max_output_bytes,
        .max_log_bytes = js->max_log_bytes,
    };
    ncsl_js_compile_info info;
    memset(&info, 0, sizeof(info));
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_js_compile(code, len, &limits, &info, &err);
    if (st == NCSL_OK) {
        return true;
    }
    if (st == NCSL_E_JS_SYNTAX) {
        char details[96];
        snprintf(details, sizeof(details), "{\"line\":%u,\"column\":%u}", info.line, info.column);
        ncsl_buf b;
        ncsl_buf_init(&b, 0);
        ncsl__http_build_error(&b, r, ncsl_status_code(st), err.message, "code", details);
        *answered = ncsl__http_answer_buf(r, 400, &b, false, NULL);
        return false;
    }
    if (st == NCSL_E_JS_STACK || st == NCSL_E_JS_MEMORY || st == NCSL_E_JS_TIMEOUT) {
        /* The compiler broke a limit: this code can never run here. The client's fault. */
        *answered =
            ncsl__http_answer_error(r, 400, ncsl_status_code(st), err.message, "code", NULL);
        return false;
    }
    *answered = ncsl__http_answer_status(r, st, &err);
    return false;
}

/* Reads and checks a deploy or update body. `create`: name and code required. */
static bool parse_deploy(http_req *r, bool create, deploy_args *a, enum MHD_Result *answered) {
    memset(a, 0, sizeof(*a));
    a->body = ncsl__http_body_object(r, answered);
    if (!a->body) {
        return false;
    }
    size_t len = 0;
    const char *code = NULL;
    if (!ncsl__http_string_field(r, a->body, "name", create, NCSL_HTTP_MAX_NAME, &a->spec.name,
                                 &len, answered) ||
        !ncsl__http_string_field(r, a->body, "code", true, r->srv->cfg.js.max_code_bytes, &code,
                                 &a->spec.code_len, answered) ||
        !ncsl__http_string_field(r, a->body, "description", false, MAX_DESCRIPTION,
                                 &a->spec.description, &len, answered) ||
        !parse_required(r, json_object_get(a->body, "requiredSecrets"), a, answered) ||
        !parse_limits(r, json_object_get(a->body, "limits"), a, answered) ||
        !compile_code(r, code, a->spec.code_len, answered)) {
        return false;
    }
    a->spec.code = code;
    return true;
}

/* ------------------------------------------------------------------------- CRUD */
enum MHD_Result ncsl__http_route_function_create(http_req *r) {
    enum MHD_Result answered = MHD_NO;
    deploy_args a;
    if (!parse_deploy(r, true, &a, &answered)) {
        deploy_args_cleanup(&a);
        return answered;
    }
    ncsl_store_function fn;
    memset(&fn, 0, sizeof(fn));
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st =
        ncsl_store_function_create(r->srv->services.store, r->caller.user_id, &a.spec, &fn, &err);
    deploy_args_cleanup(&a);
    if (st == NCSL_E_STORE_CONFLICT) {
        return ncsl__http_answer_error(r, 409, "CONFLICT", "you have a function of that name",
                                       "name", NULL);
    }
    if (st != NCSL_OK) {
        return ncsl__http_answer_status(r, st, &err);
    }
    NCSL_LOG_INFO("functions", "request %s: user %s deployed function %s version %u", r->request_id,
                  r->caller.user_id, fn.id, fn.version);
    json_t *o = function_json(&fn, false);
    ncsl_store_function_cleanup(&fn);
    return ncsl__http_answer_json(r, 201, o);
}

enum MHD_Result ncsl__http_route_function_list(http_req *r) {
    size_t limit = 0;
    const char *cursor = NULL;
    enum MHD_Result answered = MHD_NO;
    if (!ncsl__http_page_args(r, &limit, &cursor, &answered)) {
        return answered;
    }
    ncsl_store_function_page page;
    memset(&page, 0, sizeof(page));
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_function_list(r->srv->services.store, r->caller.user_id, limit,
                                              cursor, &page, &err);
    if (st != NCSL_OK) {
        ncsl_store_function_page_cleanup(&page);
        return ncsl__http_answer_status(r, st, &err);
    }
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++) {
        json_array_append_new(items, function_json(&page.items[i], false));
    }
    json_t *o = json_object();
    json_object_set_new(o, "items", items);
    json_object_set_new(o, "nextCursor", json_string(page.next_cursor));
    ncsl_store_function_page_cleanup(&page);
    return ncsl__http_answer_data(r, o);
}

/* ?version=N (0 or absent: the latest). */
static bool version_arg(http_req *r, uint32_t *version, enum MHD_Result *answered) {
    *version = 0;
    const char *v = ncsl__http_query(r, "version");
    if (!v) {
        return true;
    }
    char *end = NULL;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || v[0] == '-' || n < 1 || n > UINT32_MAX) {
        return bad_field(r, "version", "version must be a positive integer", answered);
    }
    *version = (uint32_t)n;
    return true;
}

enum MHD_Result ncsl__http_route_function_get(http_req *r) {
    uint32_t version = 0;
    enum MHD_Result answered = MHD_NO;
    if (!version_arg(r, &version, &answered)) {
        return answered;
    }
    ncsl_store_function fn;
    memset(&fn, 0, sizeof(fn));
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_function_get(r->srv->services.store, r->caller.user_id,
                                             r->params[0], version, &fn, &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "function");
    }
    json_t *o = function_json(&fn, true);
    json_object_set_new(o, "latestVersion", json_integer(fn.latest_version));
    ncsl_store_function_cleanup(&fn);
    return ncsl__http_answer_data(r, o);
}

enum MHD_Result ncsl__http_route_function_update(http_req *r) {
    enum MHD_Result answered = MHD_NO;
    deploy_args a;
    if (!parse_deploy(r, false, &a, &answered)) {
        deploy_args_cleanup(&a);
        return answered;
    }
    /* Fields the body leaves out keep their value (null clears one): changing the code must
     * not silently drop the function's requiredSecrets, and with them its secret scoping. */
    ncsl_store *store = r->srv->services.store;
    ncsl_store_function cur;
    memset(&cur, 0, sizeof(cur));
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st = ncsl_store_function_get(store, r->caller.user_id, r->params[0], 0, &cur, &err);
    if (st != NCSL_OK) {
        deploy_args_cleanup(&a);
        return ncsl__http_answer_not_found_or(r, st, &err, "function");
    }
    if (!json_object_get(a.body, "description")) {
        a.spec.description = cur.description;
    }
    if (!json_object_get(a.body, "requiredSecrets")) {
        a.spec.required_secrets_json = cur.required_secrets_json;
    }
    if (!json_object_get(a.body, "limits")) {
        a.spec.limits_json = cur.limits_json;
    }
    ncsl_store_function fn;
    memset(&fn, 0, sizeof(fn));
    st = ncsl_store_function_update(store, r->caller.user_id, r->params[0], &a.spec, &fn, &err);
    deploy_args_cleanup(&a);
    ncsl_store_function_cleanup(&cur);
    if (st == NCSL_E_STORE_CONFLICT) {
        return ncsl__http_answer_error(r, 409, "CONFLICT", "you have a function of that name",
                                       "name", NULL);
    }
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "function");
    }
    NCSL_LOG_INFO("functions", "request %s: user %s updated function %s to version %u",
                  r->request_id, r->caller.user_id, fn.id, fn.version);
    json_t *o = function_json(&fn, false);
    ncsl_store_function_cleanup(&fn);
    return ncsl__http_answer_data(r, o);
}

enum MHD_Result ncsl__http_route_function_delete(http_req *r) {
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_status st =
        ncsl_store_function_delete(r->srv->services.store, r->caller.user_id, r->params[0], &err);
    if (st != NCSL_OK) {
        return ncsl__http_answer_not_found_or(r, st, &err, "function");
    }
    NCSL_LOG_INFO("functions", "request %s: user %s deleted function %s", r->request_id,
                  r->caller.user_id, r->params[0]);
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->params[0]));
    json_object_set_new(o, "deleted", json_true());
    return ncsl__http_answer_data(r, o);
}

/* ------------------------------------------------------------------------- invoke */
/* What an invocation holds until the engine has copied it: wiped and freed in one place. */
typedef struct invoke_ctx {
    ncsl_http_exec_body eb;
    ncsl_store_function fn;
    ncsl_secret *stored; /* from the store (owned: ncsl_store_secrets_free) */
    size_t stored_count;
    ncsl_secret *merged; /* borrowed pointers into stored and eb */
    size_t merged_count;
    json_t *required; /* the function's requiredSecrets array, or NULL */
} invoke_ctx;

static void invoke_ctx_cleanup(void *p) {
    invoke_ctx *c = p;
    free(c->merged);
    ncsl_store_secrets_free(c->stored, c->stored_count);
    ncsl_http_exec_body_cleanup(&c->eb);
    ncsl_store_function_cleanup(&c->fn);
    json_decref(c->required);
    memset(c, 0, sizeof(*c));
}

/* SECRETS = the stored ones, overridden by those of the request. */
static bool merge_secrets(invoke_ctx *c) {
    size_t n = c->stored_count + c->eb.secret_count;
    if (n == 0) {
        return true;
    }
    c->merged = calloc(n, sizeof(*c->merged));
    if (!c->merged) {
        return false;
    }
    for (size_t i = 0; i < c->eb.secret_count; i++) {
        c->merged[c->merged_count++] = c->eb.secrets[i];
    }
    for (size_t i = 0; i < c->stored_count; i++) {
        bool overridden = false;
        for (size_t j = 0; j < c->eb.secret_count && !overridden; j++) {
            overridden = strcmp(c->eb.secrets[j].name, c->stored[i].name) == 0;
        }
        if (!overridden) {
            c->merged[c->merged_count++] = c->stored[i];
        }
    }
    return true;
}

/* 400 naming the required secrets that neither the store nor the request has. */
static bool check_required(http_req *r, invoke_ctx *c, enum MHD_Result *answered) {
    if (!c->required) {
        return true;
    }
    ncsl_buf missing;
    ncsl_buf_init(&missing, 4096);
    size_t count = 0;
    for (size_t i = 0; i < json_array_size(c->required); i++) {
        const char *name = json_string_value(json_array_get(c->required, i));
        bool found = false;
        for (size_t j = 0; j < c->merged_count && !found; j++) {
            found = strcmp(c->merged[j].name, name) == 0;
        }
        if (!found) {
            ncsl_buf_printf(&missing, "%s%s", count++ ? ", " : "", name);
        }
    }
    if (count == 0) {
        ncsl_buf_cleanup(&missing);
        return true;
    }
    char msg[480];
    snprintf(msg, sizeof(msg), "the function requires secret%s you have not stored: %.380s",
             count > 1 ? "s" : "", missing.data ? missing.data : "");
    ncsl_buf_cleanup(&missing);
    *answered = ncsl__http_answer_error(r, 400, "VALIDATION_ERROR", msg, "requiredSecrets", NULL);
    return false;
}

static void limits_of(const ncsl_store_function *fn, ncsl_exec_request *req) {
    uint32_t *timeout_ms = &req->timeout_ms;
    size_t *memory = &req->memory_limit_bytes;
    *timeout_ms = 0;
    *memory = 0;
    req->gas_limit = 0;
    json_t *l = fn->limits_json ? json_loads(fn->limits_json, 0, NULL) : NULL;
    json_t *t = json_object_get(l, "timeoutMs");
    json_t *m = json_object_get(l, "memoryMB");
    json_t *g = json_object_get(l, "gasLimit");
    if (json_is_integer(g) && json_integer_value(g) > 0) {
        req->gas_limit = (uint64_t)json_integer_value(g);
    }
    if (json_is_integer(t) && json_integer_value(t) > 0) {
        *timeout_ms = (uint32_t)json_integer_value(t);
    }
    if (json_is_integer(m) && json_integer_value(m) > 0) {
        *memory = (size_t)json_integer_value(m) * MIB;
    }
    json_decref(l);
}

enum MHD_Result ncsl__http_route_function_invoke(http_req *r) {
    ncsl_http_server *srv = r->srv;
    ncsl_store *store = srv->services.store;
    enum MHD_Result answered = MHD_NO;
    invoke_ctx c;
    memset(&c, 0, sizeof(c));
    ncsl_err err;
    ncsl_err_clear(&err);
    const char *data = r->body.data ? r->body.data : "";
    ncsl_status st = ncsl_http_parse_invoke(data, r->body.len, &c.eb, &err);
    ncsl_buf_cleanup_secure(&r->body);
    if (st != NCSL_OK) {
        return ncsl__http_answer_status(r, st, &err);
    }
    st = ncsl_store_function_get(store, r->caller.user_id, r->params[0], 0, &c.fn, &err);
    if (st != NCSL_OK) {
        invoke_ctx_cleanup(&c);
        return ncsl__http_answer_not_found_or(r, st, &err, "function");
    }
    const char **names = NULL;
    size_t name_count = 0;
    if (c.fn.required_secrets_json) {
        c.required = json_loads(c.fn.required_secrets_json, 0, NULL);
        name_count = json_array_size(c.required);
        names = name_count ? calloc(name_count, sizeof(*names)) : NULL;
        for (size_t i = 0; names && i < name_count; i++) {
            names[i] = json_string_value(json_array_get(c.required, i));
        }
        if (!json_is_array(c.required) || (name_count && !names)) {
            free(names);
            invoke_ctx_cleanup(&c);
            return ncsl__http_answer_error(r, 500, "INTERNAL_ERROR",
                                           "the function's requiredSecrets cannot be read", NULL,
                                           NULL);
        }
    }
    /* Declared requiredSecrets select what SECRETS gets; no declaration: all of them. A
     * declaration of no names gives none (name_count 0 with a non-NULL list). */
    static const char *const kNone[1] = {NULL};
    st = ncsl_store_secret_load(store, r->caller.user_id,
                                c.required ? (names ? names : kNone) : NULL, name_count, &c.stored,
                                &c.stored_count, &err);
    free(names);
    if (st != NCSL_OK) {
        invoke_ctx_cleanup(&c);
        return ncsl__http_answer_status(r, st, &err);
    }
    if (!merge_secrets(&c)) {
        invoke_ctx_cleanup(&c);
        return ncsl__http_answer_error(r, 500, "INTERNAL_ERROR", "out of memory", NULL, NULL);
    }
    if (!check_required(r, &c, &answered)) {
        invoke_ctx_cleanup(&c);
        return answered;
    }

    /* The receipt names the deployed code by the hash the store checked it against. */
    if (srv->services.keys) {
        ncsl_err herr;
        size_t hash_len = 0;
        bool ok = ncsl_crypto_hex_decode(c.fn.code_hash, strlen(c.fn.code_hash), r->code_hash,
                                         sizeof(r->code_hash), &hash_len, &herr) == NCSL_OK &&
                  hash_len == sizeof(r->code_hash);
        if (ok && ncsl_crypto_sha256(c.eb.input_json ? c.eb.input_json : "null",
                                     c.eb.input_json ? c.eb.input_len : 4, r->input_hash,
                                     &herr) == NCSL_OK) {
            r->function_id = ncsl_strdup(c.fn.id);
            r->user_id = ncsl_strdup(r->caller.user_id);
            r->receipt_wanted = r->function_id && r->user_id;
        }
    }
    r->storage = ncsl__http_storage_new(srv, r->caller.user_id, c.fn.id);
    if (!r->storage) {
        invoke_ctx_cleanup(&c);
        return ncsl__http_answer_error(r, 500, "INTERNAL_ERROR", "out of memory", NULL, NULL);
    }
    ncsl_exec_request req = {
        .code = c.fn.code,
        .code_len = c.fn.code_size,
        .input_json = c.eb.input_json,
        .input_len = c.eb.input_len,
        .secrets = c.merged,
        .secret_count = c.merged_count,
        .function_id = c.fn.id,
        .user_id = r->caller.user_id,
        .storage = r->storage,
    };
    limits_of(&c.fn, &req);
    return ncsl__http_submit(r, &req, invoke_ctx_cleanup, &c);
}

/* ------------------------------------------------------------------------- storage hooks */
typedef struct storage_ctx {
    ncsl_storage_hooks hooks; /* first: the hooks pointer is the context's */
    ncsl_store *store;
    http_metrics *metrics; /* store failures of the call's storage (never answered by a route) */
    char user_id[NCSL_HTTP_ID_SIZE];
    char function_id[NCSL_HTTP_ID_SIZE];
} storage_ctx;

static ncsl_status hook_get(void *user, const char *key, char **value, size_t *value_len,
                            bool *found, ncsl_err *err) {
    storage_ctx *s = user;
    uint8_t *v = NULL;
    ncsl_status st =
        ncsl_store_kv_get(s->store, s->user_id, s->function_id, key, &v, value_len, found, err);
    *value = (char *)v;
    ncsl__http_metrics_store_status(s->metrics, st);
    return st;
}

static ncsl_status hook_list(void *user, const char *prefix, char ***keys, size_t *count,
                             ncsl_err *err) {
    storage_ctx *s = user;
    ncsl_status st =
        ncsl_store_kv_list(s->store, s->user_id, s->function_id, prefix, keys, count, err);
    ncsl__http_metrics_store_status(s->metrics, st);
    return st;
}

static ncsl_status hook_usage(void *user, uint64_t *bytes, ncsl_err *err) {
    storage_ctx *s = user;
    size_t entries = 0;
    ncsl_status st =
        ncsl_store_kv_usage(s->store, s->user_id, s->function_id, bytes, &entries, err);
    ncsl__http_metrics_store_status(s->metrics, st);
    return st;
}

static ncsl_status hook_commit(void *user, const ncsl_storage_write *writes, size_t count,
                               ncsl_err *err) {
    storage_ctx *s = user;
    ncsl_store_kv_op *ops = count ? calloc(count, sizeof(*ops)) : NULL;
    if (count && !ops) {
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        ops[i].type = writes[i].type == NCSL_STORAGE_SET      ? NCSL_STORE_KV_SET
                      : writes[i].type == NCSL_STORAGE_REMOVE ? NCSL_STORE_KV_REMOVE
                                                              : NCSL_STORE_KV_CLEAR;
        ops[i].key = writes[i].key;
        ops[i].value = writes[i].value;
        ops[i].value_len = writes[i].value_len;
    }
    ncsl_status st = ncsl_store_kv_commit(s->store, s->user_id, s->function_id, ops, count,
                                          s->hooks.quota_bytes, err);
    free(ops);
    ncsl__http_metrics_store_status(s->metrics, st);
    return st;
}

static void hook_free_value(char *value, size_t len) {
    ncsl_store_value_free((uint8_t *)value, len);
}

ncsl_storage_hooks *ncsl__http_storage_new(ncsl_http_server *srv, const char *user_id,
                                           const char *function_id) {
    storage_ctx *s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    s->store = srv->services.store;
    s->metrics = &srv->metrics;
    snprintf(s->user_id, sizeof(s->user_id), "%s", user_id);
    snprintf(s->function_id, sizeof(s->function_id), "%s", function_id);
    s->hooks = (ncsl_storage_hooks){
        .user = s,
        .get = hook_get,
        .list = hook_list,
        .usage = hook_usage,
        .commit = hook_commit,
        .free_value = hook_free_value,
        .free_keys = ncsl_store_kv_keys_free,
        .max_key_bytes = srv->cfg.limits.max_storage_key_bytes,
        .max_value_bytes = srv->cfg.limits.max_storage_value_bytes,
        .quota_bytes = srv->cfg.limits.storage_quota_bytes,
    };
    return &s->hooks;
}

void ncsl__http_storage_free(ncsl_storage_hooks *hooks) {
    free(hooks); /* the hooks are the first member of their storage_ctx */
}
