/*
 * What `ncsl occlum init|build` (cmd_occlum.c) and `ncsl check` (cmd_check.c) share: the sizing
 * rules that turn an NCSL configuration into Occlum resource limits, the image layout, and the
 * `occlum` tool's discovery. docs/occlum.md documents every number here.
 */
#ifndef NCSL_CLI_OCCLUM_H
#define NCSL_CLI_OCCLUM_H

#include <stdbool.h>
#include <stddef.h>

struct ncsl_config;

/* Inside the enclave (the image): */
#define NCSL_OCCLUM_DATA_MOUNT "/ncsl-data"           /* SEFS mount: Server.DataDir inside */
#define NCSL_OCCLUM_CONFIG_PATH "/etc/ncsl/ncsl.json" /* the config ncsld reads */
#define NCSL_OCCLUM_LIB_DIR "/opt/occlum/glibc/lib"   /* where Occlum's glibc loader looks */
/* In the instance dir: the host side of the data mount (encrypted by Occlum's SEFS; outside
 * run/, which `occlum build` deletes, so the data survives rebuilds). */
#define NCSL_OCCLUM_DATA_SOURCE "./ncsl-data"

/* Occlum's memory outside any JS heap: code and libraries, SQLite's cache, HTTP buffers (64 MB),
 * plus the process heap Occlum.json gives brk (process.default_heap_size, 32 MB). */
#define NCSL_OCCLUM_BASE_MB 64u
#define NCSL_OCCLUM_HEAP_MB 32u
/*
 * Threads (docs/occlum.md, section 3). Occlum counts every thread of every process of the
 * instance against max_num_of_threads:
 *   - the daemon's threads that the configuration sizes within Tee.Occlum.MaxThreads: main, HTTP
 *     pool, JS workers (or, with JavaScript.Isolation "process", one supervisor per worker
 *     process), the fetch I/O thread;
 *   - the signing-nonce thread of each signing key (src/keys/presign.c), started by the first
 *     signature: ncsld signs receipts with one key, the identity's;
 *   - with JavaScript.Isolation "process", Tee.Occlum.MaxProcesses worker processes of
 *     ncsl_cli_occlum_worker_threads each;
 *   - EXTRA: Occlum's init process and libraries' helper threads (libcurl resolves names on a
 *     thread of its own).
 */
#define NCSL_OCCLUM_EXTRA_THREADS 8u
#define NCSL_OCCLUM_SIGNING_THREADS 1u
/* A worker process: its main thread and the thread that runs calls (src/exec/proc.c). */
#define NCSL_OCCLUM_WORKER_BASE_THREADS 2u
#define NCSL_OCCLUM_KERNEL_HEAP_MB 64u
#define NCSL_OCCLUM_KERNEL_STACK_MB 1u

/* The stack of one daemon thread in MB (a JS worker's: twice JavaScript.MaxStackKB plus 4 MB
 * for the C frames, at least 8 MB, as src/exec/engine.c sizes it). */
unsigned ncsl_cli_occlum_thread_stack_mb(const struct ncsl_config *cfg);
/* What Tee.Occlum.MaxMemoryMB must hold besides one call's JavaScript.MaxMemoryMB:
 * BASE + HEAP + MaxThreads thread stacks. */
unsigned ncsl_cli_occlum_overhead_mb(const struct ncsl_config *cfg);
/* The threads of one worker process: WORKER_BASE, plus its fetch I/O thread when
 * Fetch.AllowedHosts is not empty (its calls may fetch). */
unsigned ncsl_cli_occlum_worker_threads(const struct ncsl_config *cfg);
/* The threads of all worker processes: MaxProcesses x ncsl_cli_occlum_worker_threads with
 * JavaScript.Isolation "process", 0 in thread mode (none run). */
unsigned ncsl_cli_occlum_process_threads(const struct ncsl_config *cfg);
/* Occlum.json resource_limits.max_num_of_threads: MaxThreads + SIGNING + the worker processes'
 * threads + EXTRA. */
unsigned ncsl_cli_occlum_max_threads(const struct ncsl_config *cfg);

/*
 * The `occlum` tool: its path on PATH (malloc'd, caller frees) or NULL. When `version` is given
 * and the tool exists, its version goes there (NUL-terminated, "" when unknown) and `how` says
 * where it came from or why it is unknown: `occlum --version` (run with posix_spawn, at most 5 s
 * and 4 KiB of output), else OCCLUM_*_VERSION in <prefix>/include/occlum_version.h next to the
 * tool (Occlum's own script reads its version there).
 */
char *ncsl_cli_occlum_tool(char *version, size_t version_size, char *how, size_t how_size);

/* What to tell someone who needs the `occlum` tool (one sentence, static). */
const char *ncsl_cli_occlum_install_hint(void);

#endif
