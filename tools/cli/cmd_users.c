/*
 * Users and their API keys on a running ncsld (admin key), and who a key belongs to:
 *   ncsl users create NAME | list | get ID | rm ID
 *   ncsl keys create USER_ID | list USER_ID | rm USER_ID KEY_ID
 *   ncsl whoami
 * A new key (users create, keys create) is printed once, on stdout only: ncsld keeps only its
 * hash, so it cannot be shown again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_http.h"
#include "common/common.h"

#define PATH_MAX_LEN 512

/* ------------------------------------------------------------------ usages */

static void users_create_usage(FILE *f) {
    fprintf(f, "usage: ncsl users create NAME [options]\n"
               "\n"
               "Creates a user (POST /api/v1/users) and prints it with its first API key\n"
               "(apiKey), which is shown only this once. Needs the admin key.\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void users_list_usage(FILE *f) {
    fprintf(f, "usage: ncsl users list [--limit N] [--cursor C] [options]\n"
               "\n"
               "Lists the users (GET /api/v1/users). Needs the admin key.\n"
               "\n"
               "options:\n"
               "  --limit N     at most N per page (1..1000)\n"
               "  --cursor C    the page after C (nextCursor of the previous page)\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void users_get_usage(FILE *f) {
    fprintf(f, "usage: ncsl users get ID [options]\n"
               "\n"
               "Shows user ID (GET /api/v1/users/ID). Needs the admin key.\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void users_rm_usage(FILE *f) {
    fprintf(f, "usage: ncsl users rm ID [options]\n"
               "\n"
               "Deletes user ID (DELETE /api/v1/users/ID); its keys stop working. Needs the\n"
               "admin key.\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void keys_create_usage(FILE *f) {
    fprintf(f, "usage: ncsl keys create USER_ID [options]\n"
               "\n"
               "Creates another API key for user USER_ID (POST /api/v1/users/USER_ID/keys) and\n"
               "prints it (apiKey), only this once. Needs the admin key.\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void keys_list_usage(FILE *f) {
    fprintf(f, "usage: ncsl keys list USER_ID [options]\n"
               "\n"
               "Lists user USER_ID's keys (GET /api/v1/users/USER_ID/keys): ids, prefixes and\n"
               "dates, never the keys. Needs the admin key.\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void keys_rm_usage(FILE *f) {
    fprintf(f, "usage: ncsl keys rm USER_ID KEY_ID [options]\n"
               "\n"
               "Revokes key KEY_ID of user USER_ID (DELETE /api/v1/users/USER_ID/keys/KEY_ID).\n"
               "Needs the admin key.\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void whoami_usage(FILE *f) {
    fprintf(f, "usage: ncsl whoami [options]\n"
               "\n"
               "Shows whom the API key belongs to (GET /api/v1/me): userId, name, admin, keyId.\n"
               "A quick check that NCSL_API_KEY and the URL are right.\n"
               "\n");
    ncsl_cli_client_usage(f);
}

/* ------------------------------------------------------------------ one call */

/* A verb that sends one request to <prefix>[/ID1]<suffix>[/ID2], the ids being the verb's
 * `nids` positional arguments (`labels`). With `name_body`, the single positional is a name
 * sent as {"name": NAME} instead. `new_key`: the answer holds an apiKey to keep. */
typedef struct one_call {
    const char *method;
    const char *prefix;
    const char *suffix;
    size_t nids;
    const char *labels[2];
    bool name_body;
    bool new_key;
    void (*usage)(FILE *f);
} one_call;

static int run_one(const char *cmd, int argc, char **argv, const one_call *oc) {
    ncsl_cli_client_args ca;
    memset(&ca, 0, sizeof(ca));
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    size_t want = oc->name_body ? 1 : oc->nids;
    char names[64];
    snprintf(names, sizeof(names), "%s%s%s", want ? oc->labels[0] : "", want > 1 ? " and " : "",
             want > 1 ? oc->labels[1] : "");
    int rc = ncsl_cli_client_parse(cmd, argc, argv, &ca, NULL, 0, pos, want, want, &npos, names,
                                   oc->usage);
    if (rc >= 0) {
        return rc;
    }
    json_t *body = NULL;
    if (oc->name_body) {
        if (!*pos[0] || strlen(pos[0]) > 256) {
            ncsl_cli_errorf("%s: NAME must be 1..256 characters", cmd);
            return NCSL_CLI_EXIT_USAGE;
        }
        body = json_pack("{s:s}", "name", pos[0]);
        if (!body) {
            ncsl_cli_errorf("%s: NAME is not UTF-8 text", cmd);
            return NCSL_CLI_EXIT_USAGE;
        }
    }
    for (size_t i = 0; i < oc->nids; i++) {
        if (!ncsl_cli_client_id_ok(cmd, oc->labels[i], pos[i])) {
            return NCSL_CLI_EXIT_USAGE;
        }
    }
    /* Ids are checked above to be safe path segments. */
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "%s%s%s%s%s%s", oc->prefix, oc->nids ? "/" : "",
             oc->nids ? pos[0] : "", oc->suffix, oc->nids > 1 ? "/" : "",
             oc->nids > 1 ? pos[1] : "");
    ncsl_cli_client c;
    memset(&c, 0, sizeof(c));
    json_t *doc = NULL;
    json_t *data = NULL;
    rc = ncsl_cli_client_open(&c, cmd, &ca, false);
    if (rc == 0) {
        rc = ncsl_cli_client_call(&c, oc->method, path, body, 0, &doc, &data);
    }
    if (rc == 0) {
        rc = ncsl_cli_client_print(data);
        if (rc == 0 && oc->new_key && json_is_string(json_object_get(data, "apiKey"))) {
            ncsl_cli_errorf("%s: keep apiKey now, e.g. in a file of mode 0600 for "
                            "--api-key-file: ncsld cannot show it again",
                            cmd);
        }
    }
    json_decref(doc);
    json_decref(body);
    ncsl_cli_client_close(&c);
    return rc;
}

/* ------------------------------------------------------------------ users */

static int users_create(const char *cmd, int argc, char **argv) {
    static const one_call oc = {"POST", "/api/v1/users",   "", 0, {"NAME", NULL}, true,
                                true,   users_create_usage};
    return run_one(cmd, argc, argv, &oc);
}

static int users_list(const char *cmd, int argc, char **argv) {
    return ncsl_cli_client_list(cmd, argc, argv, "/api/v1/users", users_list_usage);
}

static int users_get(const char *cmd, int argc, char **argv) {
    static const one_call oc = {"GET",        "/api/v1/users", "",    1,
                                {"ID", NULL}, false,           false, users_get_usage};
    return run_one(cmd, argc, argv, &oc);
}

static int users_rm(const char *cmd, int argc, char **argv) {
    static const one_call oc = {"DELETE",     "/api/v1/users", "",    1,
                                {"ID", NULL}, false,           false, users_rm_usage};
    return run_one(cmd, argc, argv, &oc);
}

int ncsl_cli_cmd_users(int argc, char **argv) {
    static const ncsl_cli_verb verbs[] = {
        {"create", "NAME", "create a user and print its first API key (once)", users_create},
        {"list", "", "list the users", users_list},
        {"get", "ID", "show one user", users_get},
        {"rm", "ID", "delete a user", users_rm},
    };
    return ncsl_cli_client_dispatch("users",
                                    "Manages the users of a running ncsld (needs the admin key).",
                                    argc, argv, verbs, NCSL_ARRAY_LEN(verbs));
}

/* ------------------------------------------------------------------ keys */

static int keys_create(const char *cmd, int argc, char **argv) {
    static const one_call oc = {"POST", "/api/v1/users",  "/keys", 1, {"USER_ID", NULL}, false,
                                true,   keys_create_usage};
    return run_one(cmd, argc, argv, &oc);
}

static int keys_list(const char *cmd, int argc, char **argv) {
    static const one_call oc = {"GET", "/api/v1/users", "/keys",        1, {"USER_ID", NULL},
                                false, false,           keys_list_usage};
    return run_one(cmd, argc, argv, &oc);
}

static int keys_rm(const char *cmd, int argc, char **argv) {
    static const one_call oc = {"DELETE", "/api/v1/users", "/keys",      2, {"USER_ID", "KEY_ID"},
                                false,    false,           keys_rm_usage};
    return run_one(cmd, argc, argv, &oc);
}

int ncsl_cli_cmd_keys(int argc, char **argv) {
    static const ncsl_cli_verb verbs[] = {
        {"create", "USER_ID", "create another API key for a user (printed once)", keys_create},
        {"list", "USER_ID", "list a user's keys (never the keys themselves)", keys_list},
        {"rm", "USER_ID KEY_ID", "revoke a key", keys_rm},
    };
    return ncsl_cli_client_dispatch(
        "keys", "Manages users' API keys on a running ncsld (needs the admin key).", argc, argv,
        verbs, NCSL_ARRAY_LEN(verbs));
}

/* ------------------------------------------------------------------ whoami */

int ncsl_cli_cmd_whoami(int argc, char **argv) {
    static const one_call oc = {"GET",        "/api/v1/me", "",    0,
                                {NULL, NULL}, false,        false, whoami_usage};
    return run_one("whoami", argc, argv, &oc);
}
