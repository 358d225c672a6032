/*
 * The `ncsl` command line: a table of subcommands (cli.c) and the helpers they share. Each
 * subcommand is one file (cmd_<name>.c) with one entry point. Subcommands use the public API
 * (ncsl/ncsl.h) and the library's internal headers (exec.h, config.h), never the daemon's code.
 *
 * Exit statuses: 0 success, 1 the operation failed (the function failed, an I/O error...),
 * 2 bad usage (unknown option, bad value, missing file).
 */
#ifndef NCSL_CLI_H
#define NCSL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NCSL_CLI_EXIT_OK 0
#define NCSL_CLI_EXIT_FAIL 1
#define NCSL_CLI_EXIT_USAGE 2

/* One subcommand. `argv[0]` is the subcommand's name; returns the exit status. */
typedef struct ncsl_cli_cmd {
    const char *name;
    const char *summary; /* one line, for `ncsl --help` */
    int (*run)(int argc, char **argv);
} ncsl_cli_cmd;

int ncsl_cli_cmd_run(int argc, char **argv);

/* Prints "ncsl: <message>\n" to stderr. Never pass secrets, inputs or code. */
void ncsl_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal unsigned integer in [min, max]: digits only (no sign, no spaces, no suffix,
 * no overflow). Returns false when `text` is not such a number. */
bool ncsl_cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Reads a whole file ("-" = stdin) of at most `max_size` bytes. On success returns a malloc'd,
 * NUL-terminated buffer (caller frees with free(), or ncsl_free_secret_str for secrets) and sets
 * *len; on failure returns NULL with errno set (EFBIG when the file is larger than max_size). */
char *ncsl_cli_read_file(const char *path, size_t max_size, size_t *len);

#endif
