/*
 * `ncsl run FILE.js`: runs main(input) of one file once, in a fresh sandbox, on a one-worker
 * engine, and prints the result.
 *
 * Limits come from the configuration defaults, then the --config file, then OCCLUM_SIMULATION,
 * then the flags. Output: the result's JSON and a newline on stdout (or, with --json, the whole
 * result object); captured console lines on stderr, one each, prefixed by level (unless
 * --quiet). A failed call exits 1 with "error: CODE: message" on stderr (plus the JS error's
 * name and stack when the function threw); bad usage exits 2 naming the option.
 *
 * Neo.keys derives from the identity keys of --data-dir, else of the configured data directory
 * when it has them (loaded as ncsld loads them, never created here), else from ephemeral keys
 * made for this run, with a note on stderr when the function used them; --user-id and
 * --function-id set the ids it derives for (as a deployed function's owner and id would).
 *
 * Secrets given with --secrets are wiped from the argument vector once parsed (so they no longer
 * show in /proc/PID/cmdline); --secrets-file keeps them out of it entirely. No secret, input or
 * code is ever printed by this command, except what the function itself writes to its console.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "config/config.h"
#include "exec/exec.h"
#include "fetch/fetch.h"
#include "js/js.h"
#include "keys/keys.h"
#include "tee/tee.h"

#define MIB ((uint64_t)1024 * 1024)
#define SECRETS_FILE_MAX ((size_t)1 << 20)

typedef struct run_opts {
    const char *file;
    const char *input;      /* --input (borrowed from argv) */
    const char *input_file; /* --input-file */
    char *secrets_arg;      /* --secrets (argv memory: wiped after parsing) */
    const char *secrets_file;
    const char *config_file;
    const char *data_dir; /* --data-dir: whose identity keys Neo.keys uses */
    const char *user_id;  /* --user-id, --function-id: what Neo.keys derives for */
    const char *function_id;
    uint64_t timeout_ms; /* 0 = not given */
    uint64_t gas_limit;  /* 0 = not given */
    uint64_t memory_mb;  /* 0 = not given */
    int log_level;
    bool json;
    bool quiet;
} run_opts;

static void run_usage(FILE *f) {
    fprintf(
        f,
        "usage: ncsl run [options] FILE.js\n"
        "\n"
        "Runs main(input) of FILE.js ('-' reads the code from stdin) once in a fresh sandbox and\n"
        "prints its result as JSON on stdout. Console output goes to stderr, one line each,\n"
        "prefixed by its level.\n"
        "\n"
        "options:\n"
        "  --input JSON          the input passed to main (any JSON value; default null)\n"
        "  --input-file FILE     read the input JSON from FILE ('-' = stdin)\n"
        "  --secrets JSON        a JSON object of name -> string, the global SECRETS\n"
        "  --secrets-file FILE   read the secrets object from FILE (keeps them out of ps)\n"
        "  --timeout-ms N        wall-clock limit, 1..86400000 ms (default 5000)\n"
        "  --gas-limit N         gas limit, 1000..10^12 (default 1000000; docs/javascript.md)\n"
        "  --memory-mb N         JS heap limit, 1..65536 MiB (default 512)\n"
        "  --config FILE         NCSL configuration file (its JavaScript section sets limits)\n"
        "  --data-dir DIR        the installation whose identity keys Neo.keys derives from\n"
        "                        (default: the configured Server.DataDir when it has keys;\n"
        "                        otherwise ephemeral keys, different on every run)\n"
        "  --user-id ID          run as this user (Neo.keys derives per user; default \"\")\n"
        "  --function-id ID      run as this function (Neo.keys derives per function;\n"
        "                        default \"\")\n"
        "  --json                print the whole result object: {result, logs, executionId,\n"
        "                        executionTimeMs, memoryUsedBytes, gasUsed}\n"
        "  -q, --quiet           do not print the function's console output\n"
        "  --log-level LEVEL     library log level: error, warn (default), info, debug\n"
        "  -h, --help            show this help and exit\n"
        "\n"
        "Exit status: 0 the function succeeded; 1 it failed (stderr: 'error: CODE: message',\n"
        "CODE one of EXECUTION_ERROR, TIMEOUT, MEMORY_LIMIT, STACK_OVERFLOW, OUTPUT_TOO_LARGE,\n"
        "SYNTAX_ERROR, VALIDATION_ERROR...); 2 bad usage.\n");
}

/* Matches "--name VALUE" and "--name=VALUE". Advances *i past the value. Returns 1 when the
 * option matched (and *value is set), 0 when it is another option, -1 when the value is
 * missing (an error was printed). */
static int opt_value(int argc, char **argv, int *i, const char *name, char **value) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) {
        return 0;
    }
    if (a[n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (a[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        ncsl_cli_errorf("option %s needs a value (see 'ncsl run --help')", name);
        return -1;
    }
    (*i)++;
    *value = argv[*i];
    return 1;
}

/* Returns -1 on error, 0 to go on, 1 when --help was printed. */
static int parse_args(int argc, char **argv, run_opts *o) {
    bool no_more_options = false;
    memset(o, 0, sizeof(*o));
    o->log_level = NCSL_LOG_LEVEL_WARN;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        char *v = NULL;
        int m;
        if (no_more_options || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->file) {
                ncsl_cli_errorf("run takes one FILE, got '%s' and '%s'", o->file, a);
                return -1;
            }
            o->file = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            no_more_options = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            run_usage(stdout);
            return 1;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = true;
            continue;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            o->quiet = true;
            continue;
        }
        if ((m = opt_value(argc, argv, &i, "--input", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->input = v;
        } else if ((m = opt_value(argc, argv, &i, "--input-file", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->input_file = v;
        } else if ((m = opt_value(argc, argv, &i, "--secrets", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->secrets_arg = v;
        } else if ((m = opt_value(argc, argv, &i, "--secrets-file", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->secrets_file = v;
        } else if ((m = opt_value(argc, argv, &i, "--config", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->config_file = v;
        } else if ((m = opt_value(argc, argv, &i, "--data-dir", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->data_dir = v;
        } else if ((m = opt_value(argc, argv, &i, "--user-id", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->user_id = v;
        } else if ((m = opt_value(argc, argv, &i, "--function-id", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->function_id = v;
        } else if ((m = opt_value(argc, argv, &i, "--timeout-ms", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            if (!ncsl_cli_parse_u64(v, 1, 86400000, &o->timeout_ms)) {
                ncsl_cli_errorf("--timeout-ms: '%s' is not a whole number of milliseconds in "
                                "1..86400000",
                                v);
                return -1;
            }
        } else if ((m = opt_value(argc, argv, &i, "--gas-limit", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            if (!ncsl_cli_parse_u64(v, 1000, 1000000000000ull, &o->gas_limit)) {
                ncsl_cli_errorf("--gas-limit: '%s' is not a whole number in 1000..10^12", v);
                return -1;
            }
        } else if ((m = opt_value(argc, argv, &i, "--memory-mb", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            if (!ncsl_cli_parse_u64(v, 1, 65536, &o->memory_mb)) {
                ncsl_cli_errorf("--memory-mb: '%s' is not a whole number of MiB in 1..65536", v);
                return -1;
            }
        } else if ((m = opt_value(argc, argv, &i, "--log-level", &v)) != 0) {
            if (m < 0) {
                return -1;
            }
            o->log_level = ncsl_log_level_parse(v);
            if (o->log_level < 0) {
                ncsl_cli_errorf("--log-level: '%s' is not one of error, warn, info, debug", v);
                return -1;
            }
        } else {
            ncsl_cli_errorf("run: unknown option '%s' (see 'ncsl run --help')", a);
            return -1;
        }
    }
    if (!o->file) {
        ncsl_cli_errorf("run: missing FILE.js (see 'ncsl run --help')");
        return -1;
    }
    if (o->input && o->input_file) {
        ncsl_cli_errorf("--input and --input-file cannot be used together");
        return -1;
    }
    if (o->secrets_arg && o->secrets_file) {
        ncsl_cli_errorf("--secrets and --secrets-file cannot be used together");
        return -1;
    }
    int from_stdin = (strcmp(o->file, "-") == 0) + (o->input_file && !strcmp(o->input_file, "-")) +
                     (o->secrets_file && !strcmp(o->secrets_file, "-"));
    if (from_stdin > 1) {
        ncsl_cli_errorf("only one of FILE, --input-file and --secrets-file can be '-' (stdin)");
        return -1;
    }
    return 0;
}

/* Checks that `text` is one JSON value. jansson's message quotes the offending token ("near
 * 'abc'"), which may be part of the input: only the reason before it and the position are kept. */
static bool json_text_ok(const char *what, const char *text, size_t len) {
    json_error_t jerr;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (v) {
        json_decref(v);
        return true;
    }
    char *near = strstr(jerr.text, " near ");
    if (near) {
        *near = '\0';
    }
    ncsl_cli_errorf("%s is not valid JSON: %s (line %d, column %d)", what, jerr.text, jerr.line,
                    jerr.column);
    return false;
}

static char *read_or_complain(const char *what, const char *path, size_t max, size_t *len) {
    char *data = ncsl_cli_read_file(path, max, len);
    if (!data) {
        if (errno == EFBIG) {
            ncsl_cli_errorf("%s '%s' is larger than its limit of %zu bytes", what, path, max);
        } else {
            ncsl_cli_errorf("cannot read %s '%s': %s", what, path, strerror(errno));
        }
    }
    return data;
}

/* Writes one log message on stderr, with newlines escaped so each entry is one line. */
static void print_log_message(const char *level, const char *msg, size_t len) {
    fprintf(stderr, "[%s] ", level);
    for (size_t i = 0; i < len; i++) {
        char c = msg[i];
        if (c == '\n') {
            fputs("\\n", stderr);
        } else if (c == '\r') {
            fputs("\\r", stderr);
        } else if (c == '\0') {
            fputs("\\0", stderr);
        } else {
            fputc(c, stderr);
        }
    }
    fputc('\n', stderr);
}

static void print_logs(const ncsl_result *r) {
    size_t len = 0;
    const char *logs = ncsl_result_logs_json(r, &len);
    if (!logs || len == 0) {
        return;
    }
    json_t *arr = json_loadb(logs, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *level = json_string_value(json_object_get(e, "level"));
        json_t *m = json_object_get(e, "message");
        if (json_is_string(m)) {
            print_log_message(level ? level : "log", json_string_value(m), json_string_length(m));
        }
    }
    json_decref(arr);
}

static void print_error(ncsl_status st, const ncsl_result *r, const ncsl_err *err) {
    const char *name = r ? ncsl_result_error_name(r) : "";
    const char *msg = r ? ncsl_result_error_message(r) : "";
    const char *stack = r ? ncsl_result_error_stack(r) : "";
    name = name ? name : "";
    msg = msg ? msg : "";
    stack = stack ? stack : "";
    if (!*msg) {
        msg = err->message[0] ? err->message : ncsl_status_str(st);
    }
    fprintf(stderr, "error: %s: ", ncsl_status_code(st));
    if (*name) {
        fprintf(stderr, "%s: ", name);
    }
    fprintf(stderr, "%s\n", msg);
    if (*stack) {
        size_t n = strlen(stack);
        fprintf(stderr, "%s%s", stack, stack[n - 1] == '\n' ? "" : "\n");
    }
}

static void print_json_result(const ncsl_result *r) {
    size_t rlen = 0;
    size_t llen = 0;
    const char *res = ncsl_result_json(r, &rlen);
    const char *logs = ncsl_result_logs_json(r, &llen);
    fputs("{\"result\":", stdout);
    fwrite(res ? res : "null", 1, res ? rlen : 4, stdout);
    fputs(",\"logs\":", stdout);
    fwrite(logs ? logs : "[]", 1, logs ? llen : 2, stdout);
    uint64_t us = ncsl_result_execution_time_us(r);
    printf(",\"executionId\":\"%s\",\"executionTimeMs\":%llu.%03llu,\"memoryUsedBytes\":%llu,"
           "\"gasUsed\":%llu}\n",
           ncsl_result_execution_id(r), (unsigned long long)(us / 1000),
           (unsigned long long)(us % 1000), (unsigned long long)ncsl_result_memory_used_bytes(r),
           (unsigned long long)ncsl_result_gas_used(r));
}

/* Builds the engine options: defaults, the config file, the environment, the flags. */
static int load_config(const run_opts *o, ncsl_config *cfg) {
    ncsl_err err = {0};
    ncsl_config_defaults(cfg);
    if (o->config_file && ncsl_config_load_file(cfg, o->config_file, &err) != NCSL_OK) {
        ncsl_cli_errorf("--config %s: %s%s%s", o->config_file, err.field, err.field[0] ? ": " : "",
                        err.message);
        return -1;
    }
    ncsl_config_apply_env(cfg, NULL);
    if (o->timeout_ms) {
        cfg->js.timeout_ms = (uint32_t)o->timeout_ms;
        cfg->set_mask |= NCSL_CONFIG_SET_TIMEOUT;
    }
    if (o->memory_mb) {
        cfg->js.memory_limit_bytes = (size_t)(o->memory_mb * MIB);
    }
    if (o->gas_limit) {
        cfg->js.gas_limit = o->gas_limit;
    }
    cfg->js.workers = 1;
    cfg->set_mask |= NCSL_CONFIG_SET_WORKERS;
    if (ncsl_config_finalize(cfg, &err) != NCSL_OK) {
        const char *flag = "";
        if (strcmp(err.field, "JavaScript.TimeoutMs") == 0 && o->timeout_ms) {
            flag = "--timeout-ms: ";
        } else if (strcmp(err.field, "JavaScript.MaxMemoryMB") == 0 && o->memory_mb) {
            flag = "--memory-mb: ";
        }
        ncsl_cli_errorf("%s%s%s%s", flag, err.field, err.field[0] ? ": " : "", err.message);
        return -1;
    }
    cfg->js.workers = 1;
    if (cfg->js.queue_size == 0) {
        cfg->js.queue_size = 1;
    }
    return 0;
}

/* The identity keys Neo.keys derives from, the way ncsld loads them (MRSIGNER, never created
 * here): those of --data-dir (which must have them), else those of the configured data dir when
 * it has them, else ephemeral keys (*ephemeral; `why` says why, for the note printed when the
 * function used them). Returns 0, or after printing an error NCSL_CLI_EXIT_USAGE (--data-dir
 * has no keys) or NCSL_CLI_EXIT_FAIL (they cannot be loaded); *tee and *keys are to be closed
 * either way. */
static int load_identity(const run_opts *o, const ncsl_config *cfg, ncsl_tee **tee,
                         ncsl_keys **keys, bool *ephemeral, char *why, size_t why_size) {
    ncsl_err err = {0};
    const char *dir = o->data_dir ? o->data_dir : cfg->server.data_dir;
    char path[NCSL_CONFIG_PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s/%s", dir, NCSL_KEYS_DIR, NCSL_KEYS_FILE);
    *ephemeral = false;
    if (access(path, F_OK) == 0) {
        ncsl_keys_options ko;
        ncsl_keys_options_default(&ko);
        ko.policy = NCSL_SEAL_POLICY_MRSIGNER;
        ko.create = false;
        *tee = ncsl_cli_open_tee(o->config_file, dir);
        if (*tee && ncsl_keys_load_or_create(*tee, dir, &ko, keys, &err) == NCSL_OK) {
            return 0;
        }
        if (o->data_dir) {
            if (*tee) {
                ncsl_cli_errorf("--data-dir %s: cannot load its identity keys: %s", dir,
                                err.message);
            }
            return NCSL_CLI_EXIT_FAIL;
        }
        /* a long reason is cut: the note is informative only */
        int n = snprintf(why, why_size, "the identity keys in %s cannot be loaded: ", dir);
        if (n >= 0 && (size_t)n < why_size) {
            snprintf(why + n, why_size - (size_t)n, "%.200s",
                     *tee ? err.message : "the TEE does not open");
        }
    } else if (o->data_dir) {
        ncsl_cli_errorf("--data-dir %s has no identity keys (%s): start ncsld with this data "
                        "directory once, or leave --data-dir out to use ephemeral keys",
                        dir, path);
        return NCSL_CLI_EXIT_USAGE;
    } else {
        snprintf(why, why_size, "%s has no identity keys", dir);
    }
    if (ncsl_keys_create_ephemeral(NULL, keys, &err) != NCSL_OK) {
        ncsl_cli_errorf("cannot make ephemeral identity keys: %s", err.message);
        return NCSL_CLI_EXIT_FAIL;
    }
    *ephemeral = true;
    return 0;
}

int ncsl_cli_cmd_run(int argc, char **argv) {
    int rc = NCSL_CLI_EXIT_USAGE;
    run_opts o;
    ncsl_config *cfg = NULL;
    char *code = NULL;
    size_t code_len = 0;
    char *input_buf = NULL; /* from --input-file */
    const char *input = NULL;
    size_t input_len = 0;
    char *secrets_buf = NULL; /* from --secrets-file */
    size_t secrets_len = 0;
    ncsl_secret *secrets = NULL;
    size_t secret_count = 0;
    ncsl_engine *engine = NULL;
    ncsl_result *result = NULL;
    ncsl_tee *tee = NULL;
    ncsl_keys *keys = NULL;
    bool ephemeral = false;
    char why[NCSL_CONFIG_PATH_MAX + 256] = "";
    ncsl_err err = {0};

    int p = parse_args(argc, argv, &o);
    if (p != 0) {
        rc = p > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
        goto out;
    }
    ncsl_log_set_level((ncsl_log_level)o.log_level);
    /* Parsed JSON may hold secrets: make jansson wipe what it frees before parsing anything. */
    ncsl_json_use_wiping_allocator();

    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        ncsl_cli_errorf("out of memory");
        rc = NCSL_CLI_EXIT_FAIL;
        goto out;
    }
    if (load_config(&o, cfg) != 0) {
        goto out;
    }

    /* Secrets first, so that they leave argv as early as possible. */
    if (o.secrets_arg || o.secrets_file) {
        const char *text = o.secrets_arg;
        const char *what = o.secrets_arg ? "--secrets" : "--secrets-file";
        if (o.secrets_file) {
            secrets_buf =
                read_or_complain("--secrets-file", o.secrets_file, SECRETS_FILE_MAX, &secrets_len);
            if (!secrets_buf) {
                goto out;
            }
            text = secrets_buf;
        } else {
            secrets_len = strlen(text);
        }
        ncsl_status st = ncsl_secrets_parse_json(text, secrets_len, &secrets, &secret_count, &err);
        if (o.secrets_arg) {
            ncsl_wipe(o.secrets_arg, secrets_len); /* out of /proc/PID/cmdline */
        }
        if (st != NCSL_OK) {
            /* The library's message names the field, never a value. */
            ncsl_cli_errorf("%s: %s%s%s", what, err.field, err.field[0] ? ": " : "", err.message);
            goto out;
        }
    }

    if (o.input_file) {
        input_buf =
            read_or_complain("--input-file", o.input_file, cfg->js.max_input_bytes, &input_len);
        if (!input_buf) {
            goto out;
        }
        input = input_buf;
    } else if (o.input) {
        input = o.input;
        input_len = strlen(input);
    }
    if (input && !json_text_ok(o.input_file ? "--input-file" : "--input", input, input_len)) {
        goto out;
    }

    code = read_or_complain("FILE", o.file, cfg->js.max_code_bytes, &code_len);
    if (!code) {
        goto out;
    }
    if (code_len == 0) {
        ncsl_cli_errorf("'%s' is empty: it must define function main(input)", o.file);
        goto out;
    }

    int irc = load_identity(&o, cfg, &tee, &keys, &ephemeral, why, sizeof(why));
    if (irc != 0) {
        rc = irc;
        goto out;
    }
    ncsl_js_set_identity_keys(keys);
    uint64_t derived_before = ncsl_js_identity_key_derivations();

    if (ncsl_fetch_configure_from_config(cfg, &err) != NCSL_OK) {
        ncsl_cli_errorf("config: %s: %s", err.field, err.message); /* the Fetch section */
        goto out;
    }
    rc = NCSL_CLI_EXIT_FAIL;
    ncsl_status st = ncsl_engine_create(&cfg->js, &engine, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "error: %s: cannot start the engine: %s%s%s\n", ncsl_status_code(st),
                err.field, err.field[0] ? ": " : "", err.message);
        goto out;
    }
    ncsl_exec_request req = {
        .code = code,
        .code_len = code_len,
        .input_json = input,
        .input_len = input_len,
        .secrets = secrets,
        .secret_count = secret_count,
        .function_id = o.function_id ? o.function_id : "",
        .user_id = o.user_id ? o.user_id : "",
    };
    st = ncsl_engine_execute(engine, &req, &result, &err);
    if (result && !o.quiet) {
        print_logs(result);
    }
    if (ephemeral && !o.quiet && ncsl_js_identity_key_derivations() != derived_before) {
        fprintf(stderr,
                "ncsl: note: Neo.keys used ephemeral keys (%s): they differ on every run; pass "
                "--data-dir of an installation to use its keys\n",
                why);
    }
    if (st != NCSL_OK) {
        print_error(st, result, &err);
        goto out;
    }
    if (o.json) {
        print_json_result(result);
    } else {
        size_t len = 0;
        const char *json = ncsl_result_json(result, &len);
        fwrite(json ? json : "null", 1, json ? len : 4, stdout);
        fputc('\n', stdout);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "error: INTERNAL_ERROR: cannot write the result: %s\n", strerror(errno));
        goto out;
    }
    rc = NCSL_CLI_EXIT_OK;

out:
    ncsl_result_destroy(result);
    ncsl_engine_destroy(engine);
    ncsl_fetch_shutdown();           /* after the engine: no call fetches any more */
    ncsl_js_set_identity_keys(NULL); /* after the engine: no call runs any more */
    ncsl_keys_destroy(keys);
    ncsl_tee_close(tee);
    ncsl_secrets_free(secrets, secret_count);
    if (secrets_buf) {
        ncsl_wipe(secrets_buf, secrets_len);
        free(secrets_buf);
    }
    if (input_buf) {
        ncsl_wipe(input_buf, input_len);
        free(input_buf);
    }
    free(code);
    free(cfg);
    return rc;
}
