/*
 * `ncsl`: the entry point and the subcommand table. New subcommands (attest, verify, seal,
 * check, occlum...) are one row in g_commands plus one cmd_<name>.c file.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"

static const ncsl_cli_cmd g_commands[] = {
    {"run", "run a function's main(input) once in a fresh sandbox and print its result",
     ncsl_cli_cmd_run},
};

static void print_usage(FILE *f) {
    fprintf(f, "usage: ncsl [--help | --version] <command> [options]\n"
               "\n"
               "Runs untrusted JavaScript functions in a sandboxed QuickJS-ng context.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_commands); i++) {
        fprintf(f, "  %-10s %s\n", g_commands[i].name, g_commands[i].summary);
    }
    fprintf(f, "\n"
               "options:\n"
               "  -h, --help     show this help and exit\n"
               "  -V, --version  show the ncsl and QuickJS-ng versions and exit\n"
               "\n"
               "Run 'ncsl <command> --help' for a command's options.\n"
               "Exit status: 0 success, 1 failure, 2 bad usage.\n");
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
    for (size_t i = 0; i < NCSL_ARRAY_LEN(g_commands); i++) {
        if (strcmp(arg, g_commands[i].name) == 0) {
            return g_commands[i].run(argc - 1, argv + 1);
        }
    }
    ncsl_cli_errorf("unknown command '%s' (see 'ncsl --help')", arg);
    return NCSL_CLI_EXIT_USAGE;
}
