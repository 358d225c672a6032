/*
 * Running other programs from `ncsl` (the `occlum` tool): found on PATH, started with
 * posix_spawn (never fork or system(): Occlum has no fork, and no shell ever parses an argument),
 * standard input /dev/null, optionally with a deadline and a bounded capture of the output.
 */
#ifndef NCSL_CLI_SPAWN_H
#define NCSL_CLI_SPAWN_H

#include <stdbool.h>
#include <stddef.h>

/* The first executable regular file called `name` in $PATH (a name without '/'; an empty PATH
 * entry is the current directory, as execvp has it). Returns a malloc'd path (caller frees), or
 * NULL when there is none. */
char *ncsl_cli_which(const char *name);

typedef struct ncsl_cli_spawn_opts {
    const char *cwd; /* the child's working directory (borrowed); NULL: ours */
    /* Capture the child's standard output and error (together) into the result, at most
     * max_output bytes (the rest is read and dropped, so the child never blocks on a full pipe).
     * false: the child writes to our standard error (both streams: our standard output is the
     * command's answer). */
    bool capture;
    size_t max_output;
    /* 0: wait as long as the child runs. Else, after this many milliseconds (monotonic clock) the
     * child's process group is killed (SIGKILL) and the result says timed_out. Only with capture
     * (a child with a deadline gets its own process group, which an interactive child must not
     * have: it would lose the terminal). */
    unsigned timeout_ms;
} ncsl_cli_spawn_opts;

typedef struct ncsl_cli_spawn_result {
    int exit_code;   /* the exit status, or -1 when a signal ended the child */
    int term_signal; /* that signal, else 0 */
    bool timed_out;  /* killed at the deadline */
    bool truncated;  /* more output than max_output */
    char *output;    /* capture: NUL-terminated (caller frees with free()); else NULL */
    size_t output_len;
} ncsl_cli_spawn_result;

/*
 * Runs argv[0] (a path, e.g. from ncsl_cli_which) with the arguments argv (NULL-terminated,
 * borrowed) and our environment, and waits for it to end. Returns false with errno set when it
 * could not be started (or waited for); *r is then zeroed. `o` is borrowed.
 */
bool ncsl_cli_spawn(char *const argv[], const ncsl_cli_spawn_opts *o, ncsl_cli_spawn_result *r);

#endif
