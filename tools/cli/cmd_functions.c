/*
 * Deployed functions on a running ncsld (user key):
 *   ncsl deploy FILE.js --name N [--description D] [--required-secrets A,B] [--update ID]
 *   ncsl invoke ID [--input JSON | --input-file F] [--secrets-file F] [--result-only]
 *   ncsl functions list | get ID | rm ID
 * The answer's data is printed as indented JSON. Inputs are checked here (JSON, names, ids)
 * so a mistake is a usage error before anything is sent; the server checks everything again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli_http.h"
#include "common/common.h"

/* Larger than any code or input limit ncsld is likely configured with: ncsld says what its
 * own limit is (PAYLOAD_TOO_LARGE). */
#define CODE_FILE_MAX ((size_t)16 << 20)
#define INPUT_FILE_MAX ((size_t)16 << 20)
#define SECRETS_FILE_MAX ((size_t)1 << 20)
/* Answers carrying code (functions get) or a result plus logs and a receipt (invoke). */
#define BIG_ANSWER_MAX ((size_t)64 << 20)
#define PATH_MAX_LEN 512

/* ------------------------------------------------------------------ deploy */

typedef struct deploy_args {
    ncsl_cli_client_args c;
    const char *name;
    const char *description;
    const char *required;
    const char *update;
    const char *time_limit;
    const char *memory_limit;
    const char *gas_limit;
} deploy_args;

static void deploy_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl deploy FILE.js --name NAME [options]\n"
            "       ncsl deploy FILE.js --update ID [--name NAME] [options]\n"
            "\n"
            "Deploys the function in FILE.js ('-' = stdin) to ncsld (POST /api/v1/functions), or\n"
            "replaces the code of function ID (PUT /api/v1/functions/ID; its version goes up),\n"
            "and prints the function's id, name, code hash and version. Needs a user's key.\n"
            "\n"
            "options:\n"
            "  --name NAME               the function's name (required for a new function)\n"
            "  --description TEXT        a description\n"
            "  --required-secrets A,B    the secrets the function needs: it sees only these,\n"
            "                            and an invocation fails early when one is missing\n"
            "                            ('' = none; default: all your secrets)\n"
            "  --update ID               replace the code of function ID instead of creating\n"
            "                            one; the description, required secrets and limits\n"
            "                            not given here are kept\n"
            "  --time-limit-ms N         the function's wall-time limit per call\n"
            "  --memory-limit-mb N       the function's memory limit per call\n"
            "  --gas-limit N             the function's gas limit per call (docs/javascript.md)\n"
            "\n");
    ncsl_cli_client_usage(f);
}

/* "A,B" -> ["A","B"] (names checked); "" -> []. NULL after printing why. */
static json_t *parse_names(const char *cmd, const char *list) {
    json_t *arr = json_array();
    const char *p = list;
    while (arr && *p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char name[128];
        if (n >= sizeof(name)) {
            n = sizeof(name) - 1; /* too long for a name: the check below says so */
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (!ncsl_cli_client_secret_name_ok(cmd, "--required-secrets: name", name) ||
            json_array_append_new(arr, json_string(name)) != 0) {
            json_decref(arr);
            return NULL;
        }
        p += comma ? (size_t)(comma - p) + 1 : strlen(p);
        if (comma && !*p) {
            ncsl_cli_errorf("%s: --required-secrets ends with a comma", cmd);
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Adds {"timeoutMs","memoryMB","gasLimit"} from the options when given. False after printing
 * why. */
static bool add_limits(const char *cmd, const deploy_args *a, json_t *body) {
    if (!a->time_limit && !a->memory_limit && !a->gas_limit) {
        return true;
    }
    json_t *limits = json_object();
    if (!limits) {
        ncsl_cli_errorf("%s: out of memory", cmd);
        return false;
    }
    uint64_t v = 0;
    bool ok = true;
    if (ok && a->time_limit) {
        ok = ncsl_cli_parse_u64(a->time_limit, 1, 3600u * 1000u, &v);
        if (!ok) {
            ncsl_cli_errorf("%s: --time-limit-ms '%s' is not a number of milliseconds in "
                            "1..3600000",
                            cmd, a->time_limit);
        } else {
            json_object_set_new(limits, "timeoutMs", json_integer((json_int_t)v));
        }
    }
    if (ok && a->memory_limit) {
        ok = ncsl_cli_parse_u64(a->memory_limit, 1, 1u << 20, &v);
        if (!ok) {
            ncsl_cli_errorf("%s: --memory-limit-mb '%s' is not a number of MiB in 1..1048576", cmd,
                            a->memory_limit);
        } else {
            json_object_set_new(limits, "memoryMB", json_integer((json_int_t)v));
        }
    }
    if (ok && a->gas_limit) {
        ok = ncsl_cli_parse_u64(a->gas_limit, 1, 1000000000000ull, &v);
        if (!ok) {
            ncsl_cli_errorf("%s: --gas-limit '%s' is not a whole number in 1..10^12", cmd,
                            a->gas_limit);
        } else {
            json_object_set_new(limits, "gasLimit", json_integer((json_int_t)v));
        }
    }
    if (!ok) {
        json_decref(limits);
        return false;
    }
    if (json_object_set_new(body, "limits", limits) != 0) { /* takes `limits` even then */
        ncsl_cli_errorf("%s: out of memory", cmd);
        return false;
    }
    return true;
}

/* Sets body[key] = string `s`; false (printed) when `s` is not UTF-8 text or out of memory. */
static bool set_text(const char *cmd, json_t *body, const char *key, const char *what,
                     const char *s, size_t len) {
    json_t *v = json_stringn(s, len);
    if (!v) {
        ncsl_cli_errorf("%s: %s is not UTF-8 text", cmd, what);
        return false;
    }
    if (json_object_set_new(body, key, v) != 0) {
        ncsl_cli_errorf("%s: out of memory", cmd);
        return false;
    }
    return true;
}

/*
 * For --update: copies the function's current description, requiredSecrets and limits into
 * `body` where the command line does not set them, so replacing the code keeps them (PUT
 * replaces what it is not given; losing requiredSecrets would hand the function every secret).
 * Returns 0 or the exit status after printing why.
 */
static int keep_current(ncsl_cli_client *c, const char *path, json_t *body) {
    json_t *doc = NULL;
    json_t *cur = NULL;
    int rc = ncsl_cli_client_call(c, "GET", path, NULL, BIG_ANSWER_MAX, &doc, &cur);
    if (rc != 0) {
        return rc;
    }
    static const char *const keys[] = {"description", "requiredSecrets", "limits"};
    for (size_t i = 0; i < NCSL_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(cur, keys[i]);
        if (v && !json_is_null(v) && !json_object_get(body, keys[i]) &&
            json_object_set(body, keys[i], v) != 0) {
            ncsl_cli_errorf("%s: out of memory", c->cmd);
            rc = NCSL_CLI_EXIT_FAIL;
            break;
        }
    }
    json_decref(doc);
    return rc;
}

int ncsl_cli_cmd_deploy(int argc, char **argv) {
    const char *cmd = "deploy";
    deploy_args a;
    memset(&a, 0, sizeof(a));
    const ncsl_cli_opt opts[] = {
        {"--name", NULL, &a.name, NULL},
        {"--description", NULL, &a.description, NULL},
        {"--required-secrets", NULL, &a.required, NULL},
        {"--update", NULL, &a.update, NULL},
        {"--time-limit-ms", NULL, &a.time_limit, NULL},
        {"--memory-limit-mb", NULL, &a.memory_limit, NULL},
        {"--gas-limit", NULL, &a.gas_limit, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_client_parse(cmd, argc, argv, &a.c, opts, NCSL_ARRAY_LEN(opts), pos, 1, 1,
                                   &npos, "FILE.js", deploy_usage);
    if (rc >= 0) {
        return rc;
    }
    if (!a.update && !a.name) {
        ncsl_cli_errorf("%s: --name NAME is required for a new function (or --update ID)", cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    if (a.update && !ncsl_cli_client_id_ok(cmd, "--update", a.update)) {
        return NCSL_CLI_EXIT_USAGE;
    }
    if (a.name && !*a.name) {
        ncsl_cli_errorf("%s: --name is empty", cmd);
        return NCSL_CLI_EXIT_USAGE;
    }

    ncsl_cli_client c;
    memset(&c, 0, sizeof(c));
    json_t *body = json_object();
    json_t *doc = NULL;
    json_t *data = NULL;
    char *code = NULL;
    size_t code_len = 0;
    rc = NCSL_CLI_EXIT_USAGE;
    if (!body) {
        ncsl_cli_errorf("%s: out of memory", cmd);
        rc = NCSL_CLI_EXIT_FAIL;
        goto out;
    }
    code = ncsl_cli_client_read(cmd, "FILE.js", pos[0], CODE_FILE_MAX, &code_len);
    if (!code) {
        goto out;
    }
    if (code_len == 0) {
        ncsl_cli_errorf("%s: '%s' is empty: it must define function main(input)", cmd, pos[0]);
        goto out;
    }
    if (!set_text(cmd, body, "code", "FILE.js", code, code_len) ||
        (a.name && !set_text(cmd, body, "name", "--name", a.name, strlen(a.name))) ||
        (a.description && !set_text(cmd, body, "description", "--description", a.description,
                                    strlen(a.description))) ||
        !add_limits(cmd, &a, body)) {
        goto out;
    }
    if (a.required) {
        json_t *names = parse_names(cmd, a.required);
        if (!names) {
            goto out;
        }
        json_object_set_new(body, "requiredSecrets", names);
    }
    rc = ncsl_cli_client_open(&c, cmd, &a.c, strcmp(pos[0], "-") == 0);
    if (rc != 0) {
        goto out;
    }
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "/api/v1/functions%s%s", a.update ? "/" : "",
             a.update ? a.update : "");
    if (a.update) {
        rc = keep_current(&c, path, body);
        if (rc != 0) {
            goto out;
        }
    }
    rc = ncsl_cli_client_call(&c, a.update ? "PUT" : "POST", path, body, 0, &doc, &data);
    if (rc == 0) {
        rc = ncsl_cli_client_print(data);
    }
out:
    json_decref(doc);
    json_decref(body);
    free(code);
    ncsl_cli_client_close(&c);
    return rc;
}

/* ------------------------------------------------------------------ invoke */

typedef struct invoke_args {
    ncsl_cli_client_args c;
    const char *input;
    const char *input_file;
    const char *secrets_file;
    bool result_only;
} invoke_args;

static void invoke_usage(FILE *f) {
    fprintf(f, "usage: ncsl invoke ID [options]\n"
               "\n"
               "Runs deployed function ID once (POST /api/v1/functions/ID/invoke) and prints\n"
               "the answer: result, logs, executionId, executionTimeMs, memoryUsedBytes and the\n"
               "signed receipt. Needs a user's key; stored secrets reach the function as\n"
               "SECRETS, and --secrets-file adds (or overrides) secrets for this call only.\n"
               "\n"
               "options:\n"
               "  --input JSON          the input passed to main (any JSON value; default null)\n"
               "  --input-file FILE     read the input JSON from FILE ('-' = stdin)\n"
               "  --secrets-file FILE   a JSON object of name -> string for this call\n"
               "                        ('-' = stdin)\n"
               "  --result-only         print only the function's result\n"
               "\n");
    ncsl_cli_client_usage(f);
}

/* Checks that `text` is one JSON value. jansson's message quotes the offending token, which
 * may be part of the input: only the reason before it and the position are kept. */
static bool json_text_ok(const char *cmd, const char *what, const char *text, size_t len) {
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (v) {
        json_decref(v);
        return true;
    }
    char *near = strstr(jerr.text, " near ");
    if (near) {
        *near = '\0';
    }
    ncsl_cli_errorf("%s: %s is not valid JSON: %s (line %d, column %d)", cmd, what, jerr.text,
                    jerr.line, jerr.column);
    return false;
}

/* The secrets file: a JSON object of name -> string. New reference or NULL after printing. */
static json_t *read_secrets(const char *cmd, const char *path) {
    size_t len = 0;
    char *text = ncsl_cli_client_read(cmd, "--secrets-file", path, SECRETS_FILE_MAX, &len);
    if (!text) {
        return NULL;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    ncsl_wipe(text, len);
    free(text);
    if (!obj) {
        /* No jansson text here: it could quote a secret. */
        ncsl_cli_errorf("%s: --secrets-file '%s' is not valid JSON (line %d, column %d)", cmd, path,
                        jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(obj)) {
        ncsl_cli_errorf("%s: --secrets-file '%s' is not a JSON object of name -> string", cmd,
                        path);
        json_decref(obj);
        return NULL;
    }
    const char *name = NULL;
    json_t *value = NULL;
    json_object_foreach(obj, name, value) {
        if (!json_is_string(value)) {
            ncsl_cli_errorf("%s: --secrets-file '%s': the value of '%.64s' is not a string", cmd,
                            path, name);
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

int ncsl_cli_cmd_invoke(int argc, char **argv) {
    const char *cmd = "invoke";
    invoke_args a;
    memset(&a, 0, sizeof(a));
    const ncsl_cli_opt opts[] = {
        {"--input", NULL, &a.input, NULL},
        {"--input-file", NULL, &a.input_file, NULL},
        {"--secrets-file", NULL, &a.secrets_file, NULL},
        {"--result-only", NULL, NULL, &a.result_only},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_client_parse(cmd, argc, argv, &a.c, opts, NCSL_ARRAY_LEN(opts), pos, 1, 1,
                                   &npos, "ID", invoke_usage);
    if (rc >= 0) {
        return rc;
    }
    if (!ncsl_cli_client_id_ok(cmd, "ID", pos[0])) {
        return NCSL_CLI_EXIT_USAGE;
    }
    if (a.input && a.input_file) {
        ncsl_cli_errorf("%s: --input and --input-file cannot be used together", cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    bool input_stdin = a.input_file && strcmp(a.input_file, "-") == 0;
    bool secrets_stdin = a.secrets_file && strcmp(a.secrets_file, "-") == 0;
    if (input_stdin && secrets_stdin) {
        ncsl_cli_errorf("%s: only one of --input-file and --secrets-file can be '-' (stdin)", cmd);
        return NCSL_CLI_EXIT_USAGE;
    }

    ncsl_cli_client c;
    memset(&c, 0, sizeof(c));
    json_t *body = json_object();
    json_t *doc = NULL;
    json_t *data = NULL;
    char *input_buf = NULL;
    rc = NCSL_CLI_EXIT_USAGE;
    if (!body) {
        ncsl_cli_errorf("%s: out of memory", cmd);
        rc = NCSL_CLI_EXIT_FAIL;
        goto out;
    }
    const char *input = a.input;
    size_t input_len = a.input ? strlen(a.input) : 0;
    if (a.input_file) {
        input_buf =
            ncsl_cli_client_read(cmd, "--input-file", a.input_file, INPUT_FILE_MAX, &input_len);
        if (!input_buf) {
            goto out;
        }
        input = input_buf;
    }
    if (input) {
        const char *what = a.input_file ? "--input-file" : "--input";
        if (!json_text_ok(cmd, what, input, input_len)) {
            goto out;
        }
        /* Sent as the JSON text given, which ncsld parses: the receipt's input hash covers
         * exactly these bytes. */
        if (!set_text(cmd, body, "input", what, input, input_len)) {
            goto out;
        }
    }
    if (a.secrets_file) {
        json_t *secrets = read_secrets(cmd, a.secrets_file);
        if (!secrets) {
            goto out;
        }
        json_object_set_new(body, "secrets", secrets);
    }
    rc = ncsl_cli_client_open(&c, cmd, &a.c, input_stdin || secrets_stdin);
    if (rc != 0) {
        goto out;
    }
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "/api/v1/functions/%s/invoke", pos[0]);
    rc = ncsl_cli_client_call(&c, "POST", path, body, BIG_ANSWER_MAX, &doc, &data);
    if (rc == 0) {
        json_t *result = json_object_get(data, "result");
        rc = ncsl_cli_client_print(a.result_only ? (result ? result : json_null()) : data);
    }
out:
    json_decref(doc);
    json_decref(body);
    ncsl_free_secret_str(input_buf);
    ncsl_cli_client_close(&c);
    return rc;
}

/* ------------------------------------------------------------------ functions */

static void list_usage(FILE *f) {
    fprintf(f, "usage: ncsl functions list [--limit N] [--cursor C] [options]\n"
               "\n"
               "Lists your functions (GET /api/v1/functions): id, name, code hash, version,\n"
               "description, dates. When nextCursor is not empty, pass it as --cursor for the\n"
               "next page.\n"
               "\n"
               "options:\n"
               "  --limit N     at most N per page (1..1000)\n"
               "  --cursor C    the page after C (nextCursor of the previous page)\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void get_usage(FILE *f) {
    fprintf(f, "usage: ncsl functions get ID [--code] [options]\n"
               "\n"
               "Prints function ID (GET /api/v1/functions/ID) with its code, required secrets and\n"
               "limits.\n"
               "\n"
               "options:\n"
               "  --code   print only the code, as text (e.g. to edit and deploy --update)\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static void rm_usage(FILE *f) {
    fprintf(f, "usage: ncsl functions rm ID [options]\n"
               "\n"
               "Deletes function ID (DELETE /api/v1/functions/ID).\n"
               "\n");
    ncsl_cli_client_usage(f);
}

static int functions_list(const char *cmd, int argc, char **argv) {
    return ncsl_cli_client_list(cmd, argc, argv, "/api/v1/functions", list_usage);
}

/* get or rm of one function. */
static int functions_one(const char *cmd, int argc, char **argv, bool rm) {
    ncsl_cli_client_args ca;
    memset(&ca, 0, sizeof(ca));
    bool code_only = false;
    const ncsl_cli_opt opts[] = {{"--code", NULL, NULL, &code_only}};
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_client_parse(cmd, argc, argv, &ca, opts, rm ? 0 : NCSL_ARRAY_LEN(opts), pos,
                                   1, 1, &npos, "ID", rm ? rm_usage : get_usage);
    if (rc >= 0) {
        return rc;
    }
    if (!ncsl_cli_client_id_ok(cmd, "ID", pos[0])) {
        return NCSL_CLI_EXIT_USAGE;
    }
    ncsl_cli_client c;
    memset(&c, 0, sizeof(c));
    json_t *doc = NULL;
    json_t *data = NULL;
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof(path), "/api/v1/functions/%s", pos[0]);
    rc = ncsl_cli_client_open(&c, cmd, &ca, false);
    if (rc == 0) {
        rc = ncsl_cli_client_call(&c, rm ? "DELETE" : "GET", path, NULL, BIG_ANSWER_MAX, &doc,
                                  &data);
    }
    if (rc == 0 && code_only) {
        json_t *code = json_object_get(data, "code");
        if (!json_is_string(code)) {
            ncsl_cli_errorf("%s: the answer has no \"code\" string", cmd);
            rc = NCSL_CLI_EXIT_FAIL;
        } else if (!ncsl_cli_write_stdout(json_string_value(code), json_string_length(code))) {
            rc = NCSL_CLI_EXIT_FAIL;
        }
    } else if (rc == 0) {
        rc = ncsl_cli_client_print(data);
    }
    json_decref(doc);
    ncsl_cli_client_close(&c);
    return rc;
}

static int functions_get(const char *cmd, int argc, char **argv) {
    return functions_one(cmd, argc, argv, false);
}

static int functions_rm(const char *cmd, int argc, char **argv) {
    return functions_one(cmd, argc, argv, true);
}

int ncsl_cli_cmd_functions(int argc, char **argv) {
    static const ncsl_cli_verb verbs[] = {
        {"list", "", "list your deployed functions", functions_list},
        {"get", "ID", "show one function, with its code", functions_get},
        {"rm", "ID", "delete a function", functions_rm},
    };
    return ncsl_cli_client_dispatch(
        "functions", "Manages your functions on a running ncsld (deploy with 'ncsl deploy').", argc,
        argv, verbs, NCSL_ARRAY_LEN(verbs));
}
