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
#include <stdio.h>

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
int ncsl_cli_cmd_seal(int argc, char **argv);
int ncsl_cli_cmd_unseal(int argc, char **argv);
int ncsl_cli_cmd_verify_quote(int argc, char **argv);
int ncsl_cli_cmd_attest(int argc, char **argv);
int ncsl_cli_cmd_verify(int argc, char **argv);
int ncsl_cli_cmd_verify_receipt(int argc, char **argv);
int ncsl_cli_cmd_encrypt_secret(int argc, char **argv);
int ncsl_cli_cmd_check(int argc, char **argv);  /* cmd_check.c */
int ncsl_cli_cmd_occlum(int argc, char **argv); /* cmd_occlum.c: init, build */

/* Prints "ncsl: <message>\n" to stderr. Never pass secrets, inputs or code. */
void ncsl_cli_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parses a decimal unsigned integer in [min, max]: digits only (no sign, no spaces, no suffix,
 * no overflow). Returns false when `text` is not such a number. */
bool ncsl_cli_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Reads a whole file ("-" = stdin) of at most `max_size` bytes. On success returns a malloc'd,
 * NUL-terminated buffer (caller frees with free(), or ncsl_free_secret_str for secrets) and sets
 * *len; on failure returns NULL with errno set (EFBIG when the file is larger than max_size). */
char *ncsl_cli_read_file(const char *path, size_t max_size, size_t *len);

/* ------------------------------------------------------------------ shared option parsing */

/* One option of a subcommand: a flag (`flag` set) or an option with a value (`value` set).
 * Values are borrowed from argv. Both "--name VALUE" and "--name=VALUE" are accepted. */
typedef struct ncsl_cli_opt {
    const char *name;  /* "--label" */
    const char *alias; /* "-l" or NULL */
    const char **value;
    bool *flag;
} ncsl_cli_opt;

/*
 * Parses argv[1..] of subcommand `cmd` against `opts`; other arguments are positional, at most
 * `max_pos` of them, stored in `pos` (borrowed from argv) with their count in *npos. "-" is
 * positional (stdin) and "--" ends the options. -h/--help prints `usage` to stdout.
 * Returns 0 to go on, 1 when help was printed, -1 on bad usage (an error naming the option was
 * printed).
 */
int ncsl_cli_parse(const char *cmd, int argc, char **argv, const ncsl_cli_opt *opts, size_t nopts,
                   const char **pos, size_t max_pos, size_t *npos, void (*usage)(FILE *f));

/* ncsl_cli_parse for a command that takes exactly one FILE argument, named `what` in the error
 * ("PROOF.json"). Returns -1 to go on with *file set (borrowed from argv), else the exit status
 * to return at once (0 after --help, NCSL_CLI_EXIT_USAGE after an error). */
int ncsl_cli_parse_one_file(const char *cmd, int argc, char **argv, const ncsl_cli_opt *opts,
                            size_t nopts, void (*usage)(FILE *f), const char *what,
                            const char **file);

/* ------------------------------------------------------------------ the local TEE */

struct ncsl_tee;
struct ncsl_config;

/* Fills `cfg` (caller-owned) the way ncsld does: defaults, then `config_file` (NULL: none), then
 * the environment. False after printing why. */
bool ncsl_cli_load_config(const char *config_file, struct ncsl_config *cfg);

/*
 * Opens this installation's TEE the way ncsld does: configuration defaults, then `config_file`
 * (NULL: none), then OCCLUM_SIMULATION, then `data_dir` (NULL: the configured Server.DataDir).
 * On failure prints the reason and returns NULL. Close with ncsl_tee_close.
 */
struct ncsl_tee *ncsl_cli_open_tee(const char *config_file, const char *data_dir);

/*
 * Reads the "NCSL Simulation Root CA" a verifier pins for simulation quotes: `pem_file` when
 * given, else <data dir>/tee/sim_root_ca.pem of the installation (data_dir, else the config's).
 * Read-only: never creates an installation. Returns a malloc'd NUL-terminated PEM (caller frees)
 * with *len, or NULL after printing why.
 */
char *ncsl_cli_sim_root(const char *pem_file, const char *config_file, const char *data_dir,
                        size_t *len);

/* Parses a time for --at: RFC 3339 ("2026-11-24T12:00:00Z", optional fraction, "Z" or
 * "+HH:MM"/"-HH:MM") or whole seconds since the Unix epoch. False when `text` is neither. */
bool ncsl_cli_parse_time(const char *text, int64_t *out);

/* Writes `len` bytes to stdout; false (and an error printed) on failure. */
bool ncsl_cli_write_stdout(const void *data, size_t len);

/* Writes `len` bytes (borrowed) to `out`: NULL or "-" is stdout, else a new file of permission
 * bits `mode` that replaces `out` atomically (temporary file, fsync, rename), so a reader never
 * sees half of it. False (and an error naming the file) on failure. */
bool ncsl_cli_write_output(const char *out, const void *data, size_t len, unsigned mode);

#endif
