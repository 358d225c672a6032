/*
 * `ncsl`: the entry point and the subcommand table. New subcommands (attest, verify, seal,
 * check, occlum...) are one row in g_commands plus one cmd_<name>.c file.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_http.h"
#include "common/common.h"

static const ncsl_cli_cmd g_commands[] = {
    {"run", "run a function's main(input) once in a fresh sandbox and print its result",
     ncsl_cli_cmd_run},
    {"seal", "seal standard input to this installation's TEE, for one record (--label)",
     ncsl_cli_cmd_seal},
    {"unseal", "unseal a blob made by 'ncsl seal' (same installation, same --label)",
     ncsl_cli_cmd_unseal},
    {"verify-quote", "verify an SGX DCAP v3 quote and print a JSON verdict",
     ncsl_cli_cmd_verify_quote},
    {"attest", "fetch an attestation proof (with your nonce) from a running ncsld",
     ncsl_cli_cmd_attest},
    {"verify", "verify an attestation proof and print a JSON verdict", ncsl_cli_cmd_verify},
    {"verify-receipt", "verify an execution receipt's signature (and, with a proof, its key)",
     ncsl_cli_cmd_verify_receipt},
    {"encrypt-secret", "verify a proof, then encrypt a secret value to the enclave it attests",
     ncsl_cli_cmd_encrypt_secret},
    {"deploy", "deploy a function to a running ncsld (or --update one)", ncsl_cli_cmd_deploy},
    {"invoke", "run a deployed function by id and print its result and receipt",
     ncsl_cli_cmd_invoke},
    {"functions", "list, show or delete your deployed functions", ncsl_cli_cmd_functions},
    {"secrets", "store, list or delete your secrets (values never on the command line)",
     ncsl_cli_cmd_secrets},
    {"users", "create, list or delete users (admin key)", ncsl_cli_cmd_users},
    {"keys", "create, list or revoke users' API keys (admin key)", ncsl_cli_cmd_keys},
    {"whoami", "show whom the API key (NCSL_API_KEY) belongs to", ncsl_cli_cmd_whoami},
    {"check", "report what TEE this machine offers and whether the configuration will start",
     ncsl_cli_cmd_check},
    {"occlum", "create (init) and build an Occlum instance that runs ncsld", ncsl_cli_cmd_occlum},
};

static void print_usage(FILE *f) {
    fprintf(f, "usage: ncsl [--help | --version] <command> [options]\n"
               "\n"
               "Runs untrusted JavaScript functions in a sandboxed QuickJS-ng context.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_commands); i++) {
        fprintf(f, "  %-15s %s\n", g_commands[i].name, g_commands[i].summary);
    }
    fprintf(f, "\n"
               "options:\n"
               "  -h, --help     show this help and exit\n"
               "  -V, --version  show the ncsl and QuickJS-ng versions and exit\n"
               "\n"
               "Run 'ncsl <command> --help' for a command's options.\n"
               "Exit status: 0 success, 1 failure, 2 bad usage, 3 ncsld could not be reached\n"
               "(the commands that talk to ncsld; they take the API key from NCSL_API_KEY).\n"
               "'ncsl check' has its own: 0 SGX hardware, 3 simulation only, 1 broken.\n");
}

void ncsl_cli_errorf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ncsl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool ncsl_cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out) {
    if (!text || !*text || strlen(text) > 20) {
        return false;
    }
    uint64_t v = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') {
            return false;
        }
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    if (v < min || v > max) {
        return false;
    }
    *out = v;
    return true;
}

char *ncsl_cli_read_file(const char *path, size_t max_size, size_t *len) {
    FILE *f = NULL;
    char *data = NULL;
    size_t used = 0;
    size_t cap = 0;
    bool is_stdin = strcmp(path, "-") == 0;
    int saved = 0;

    f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    for (;;) {
        if (cap - used < 4096 + 1) {
            size_t ncap = cap ? cap * 2 : 65536;
            if (ncap > max_size + 4096 + 1) {
                ncap = max_size + 4096 + 1;
            }
            if (ncap <= cap) {
                saved = EFBIG;
                goto fail;
            }
            char *n = realloc(data, ncap);
            if (!n) {
                saved = ENOMEM;
                goto fail;
            }
            data = n;
            cap = ncap;
        }
        size_t got = fread(data + used, 1, cap - used - 1, f);
        used += got;
        if (used > max_size) {
            saved = EFBIG;
            goto fail;
        }
        if (got == 0) {
            if (ferror(f)) {
                saved = errno ? errno : EIO;
                goto fail;
            }
            break;
        }
    }
    if (!data) {
        data = malloc(1);
        if (!data) {
            saved = ENOMEM;
            goto fail;
        }
    }
    data[used] = '\0';
    if (!is_stdin) {
        fclose(f);
    }
    *len = used;
    return data;

fail:
    if (data) {
        ncsl_wipe(data, cap);
    }
    free(data);
    if (!is_stdin) {
        fclose(f);
    }
    errno = saved;
    return NULL;
}

/* "--name VALUE" or "--name=VALUE" (or the alias): 1 matched, 0 not this option, -1 value
 * missing. */
static int match_opt(const char *cmd, int argc, char **argv, int *i, const ncsl_cli_opt *o) {
    const char *a = argv[*i];
    const char *names[2] = {o->name, o->alias};
    for (size_t k = 0; k < 2; k++) {
        const char *name = names[k];
        if (!name) {
            continue;
        }
        size_t n = strlen(name);
        if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '=')) {
            continue;
        }
        if (o->flag) {
            if (a[n] == '=') {
                ncsl_cli_errorf("%s: option %s takes no value", cmd, name);
                return -1;
            }
            *o->flag = true;
            return 1;
        }
        if (a[n] == '=') {
            *o->value = a + n + 1;
            return 1;
        }
        if (*i + 1 >= argc) {
            ncsl_cli_errorf("%s: option %s needs a value (see 'ncsl %s --help')", cmd, name, cmd);
            return -1;
        }
        (*i)++;
        *o->value = argv[*i];
        return 1;
    }
    return 0;
}

int ncsl_cli_parse(const char *cmd, int argc, char **argv, const ncsl_cli_opt *opts, size_t nopts,
                   const char **pos, size_t max_pos, size_t *npos, void (*usage)(FILE *f)) {
    bool options_done = false;
    *npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || strcmp(a, "-") == 0) {
            if (*npos >= max_pos) {
                ncsl_cli_errorf("%s: unexpected argument '%s' (see 'ncsl %s --help')", cmd, a, cmd);
                return -1;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 1;
        }
        int m = 0;
        for (size_t k = 0; k < nopts && m == 0; k++) {
            m = match_opt(cmd, argc, argv, &i, &opts[k]);
        }
        if (m < 0) {
            return -1;
        }
        if (m == 0) {
            ncsl_cli_errorf("%s: unknown option '%s' (see 'ncsl %s --help')", cmd, a, cmd);
            return -1;
        }
    }
    return 0;
}

int ncsl_cli_parse_one_file(const char *cmd, int argc, char **argv, const ncsl_cli_opt *opts,
                            size_t nopts, void (*usage)(FILE *f), const char *what,
                            const char **file) {
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_parse(cmd, argc, argv, opts, nopts, pos, 1, &npos, usage);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    if (npos != 1) {
        ncsl_cli_errorf("%s: missing %s (see 'ncsl %s --help')", cmd, what, cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    *file = pos[0];
    return -1;
}

bool ncsl_cli_parse_time(const char *text, int64_t *out) {
    uint64_t secs = 0;
    if (ncsl_cli_parse_u64(text, 0, (uint64_t)INT64_MAX, &secs)) {
        *out = (int64_t)secs;
        return true;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int consumed = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
        consumed != 19) {
        return false;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60) {
        return false;
    }
    const char *p = text + consumed;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return false;
        }
        while (*p >= '0' && *p <= '9') {
            p++; /* fractions of a second do not matter for certificate validity */
        }
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = 0;
        int om = 0;
        int n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59) {
            return false;
        }
        offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p != '\0') {
        return false;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) {
        return false;
    }
    *out = (int64_t)t - offset;
    return true;
}

bool ncsl_cli_write_stdout(const void *data, size_t len) {
    if ((len > 0 && fwrite(data, 1, len, stdout) != len) || fflush(stdout) != 0) {
        ncsl_cli_errorf("cannot write to standard output: %s", strerror(errno));
        return false;
    }
    return true;
}

bool ncsl_cli_write_output(const char *out, const void *data, size_t len, unsigned mode) {
    if (!out || strcmp(out, "-") == 0) {
        return ncsl_cli_write_stdout(data, len);
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", out, (long)getpid()) >= (int)sizeof(tmp)) {
        ncsl_cli_errorf("--out: the path is too long");
        return false;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0) {
        ncsl_cli_errorf("cannot create %s: %s", tmp, strerror(errno));
        return false;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            ncsl_cli_errorf("cannot write %s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return false;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, out) != 0) {
        ncsl_cli_errorf("cannot write %s: %s", out, strerror(errno));
        unlink(tmp);
        return false;
    }
    return true;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        print_usage(stderr);
        return NCSL_CLI_EXIT_USAGE;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "help") == 0) {
        if (argc > 2 && strcmp(arg, "help") == 0) {
            /* `ncsl help run` == `ncsl run --help` */
            for (size_t i = 0; i < NCSL_ARRAY_LEN(g_commands); i++) {
                if (strcmp(argv[2], g_commands[i].name) == 0) {
                    char *sub[] = {argv[2], (char *)"--help", NULL};
                    return g_commands[i].run(2, sub);
                }
            }
            ncsl_cli_errorf("unknown command '%s' (see 'ncsl --help')", argv[2]);
            return NCSL_CLI_EXIT_USAGE;
        }
        print_usage(stdout);
        return NCSL_CLI_EXIT_OK;
    }
    if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0 || strcmp(arg, "version") == 0) {
        printf("ncsl %s\nQuickJS-ng %s\n", ncsl_version(), ncsl_quickjs_version());
        return NCSL_CLI_EXIT_OK;
    }
    if (arg[0] == '-') {
        ncsl_cli_errorf("unknown option '%s' (see 'ncsl --help')", arg);
        return NCSL_CLI_EXIT_USAGE;
    }
    /* The library's info lines (TEE chosen, files created) are for daemons, not for a command
     * whose output is its answer; `run` has --log-level to see them. */
    ncsl_log_set_level(NCSL_LOG_LEVEL_WARN);
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_commands); i++) {
        if (strcmp(arg, g_commands[i].name) == 0) {
            return g_commands[i].run(argc - 1, argv + 1);
        }
    }
    ncsl_cli_errorf("unknown command '%s' (see 'ncsl --help')", arg);
    return NCSL_CLI_EXIT_USAGE;
}
