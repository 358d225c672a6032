/*
 * `ncsl occlum init DIR` and `ncsl occlum build DIR`: an Occlum instance that runs ncsld
 * (docs/occlum.md).
 *
 * init: runs `occlum init` in DIR when the tool is installed (posix_spawn, never a shell), then
 * writes what NCSL needs over it:
 *   DIR/Occlum.json                   the Occlum v0.31 schema, every field the parser requires,
 *                                     sized from the NCSL configuration (cli_occlum.h);
 *   DIR/image/bin/ncsld, ncsl         the programs;
 *   DIR/image/opt/occlum/glibc/lib/   every shared library they load, found like the loader
 *                                     finds them (cli_elf.c), named by soname;
 *   DIR/image/lib64/ld-linux-...      the program interpreter, only without `occlum init` (which
 *                                     installs Occlum's own glibc and loader there);
 *   DIR/image/etc/ncsl/ncsl.json      the configuration, with Server.DataDir = /ncsl-data (the
 *                                     SEFS mount) and without Server.AdminKey (the image is
 *                                     integrity-protected, not encrypted: the host can read it);
 *   DIR/image/ncsl-data, DIR/ncsl-data the data mount's target and its host-side store.
 * Without the tool the same layout is written (no Occlum glibc: the host's is copied), so the
 * image can be checked and run outside Occlum; `build` then says what to install.
 *
 * build: `occlum build --sgx-mode SIM|HW` in DIR; SIM when the configuration asks for
 * simulation (Tee.SimulationMode, Tee.Type Simulation, OCCLUM_SIMULATION=1) or --sgx-mode SIM.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_elf.h"
#include "cli_http.h"
#include "cli_occlum.h"
#include "cli_spawn.h"
#include "common/common.h"
#include "config/config.h"

#define MIB ((size_t)1024 * 1024)
#define VERSION_TIMEOUT_MS 5000u
#define VERSION_OUTPUT_MAX 4096u
#define INIT_TIMEOUT_MS 120000u
#define STATUS_FILE ".__occlum_status" /* written by `occlum init`, "built" after a build */

/* ------------------------------------------------------------------ sizing (cli_occlum.h) */

unsigned ncsl_cli_occlum_thread_stack_mb(const ncsl_config *cfg) {
    size_t bytes = cfg->js.stack_size_bytes * 2 + 4 * MIB;
    if (bytes < 8 * MIB) {
        bytes = 8 * MIB;
    }
    return (unsigned)((bytes + MIB - 1) / MIB);
}

unsigned ncsl_cli_occlum_overhead_mb(const ncsl_config *cfg) {
    return NCSL_OCCLUM_BASE_MB + NCSL_OCCLUM_HEAP_MB +
           cfg->tee.occlum.max_threads * ncsl_cli_occlum_thread_stack_mb(cfg);
}

unsigned ncsl_cli_occlum_worker_threads(const ncsl_config *cfg) {
    return NCSL_OCCLUM_WORKER_BASE_THREADS + (cfg->fetch.allowed_host_count > 0 ? 1u : 0u);
}

unsigned ncsl_cli_occlum_process_threads(const ncsl_config *cfg) {
    if (cfg->js.isolation != NCSL_ISOLATION_PROCESS) {
        return 0;
    }
    return cfg->tee.occlum.max_processes * ncsl_cli_occlum_worker_threads(cfg);
}

unsigned ncsl_cli_occlum_max_threads(const ncsl_config *cfg) {
    return cfg->tee.occlum.max_threads + NCSL_OCCLUM_SIGNING_THREADS +
           ncsl_cli_occlum_process_threads(cfg) + NCSL_OCCLUM_EXTRA_THREADS;
}

const char *ncsl_cli_occlum_install_hint(void) {
    return "install Occlum 0.31 (the `occlum` package from Occlum's apt repository, or Occlum's "
           "development docker image) with the Intel SGX SDK/PSW it needs, and put `occlum` on "
           "PATH (it lives in /opt/occlum/build/bin)";
}

/* Keeps the first line of `text` that holds a digit, printable ASCII only, into out. */
static bool first_version_line(const char *text, char *out, size_t out_size) {
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        bool digit = false;
        size_t o = 0;
        for (size_t i = 0; i < n && o + 1 < out_size && o < 80; i++) {
            unsigned char c = (unsigned char)p[i];
            if (c >= 0x20 && c < 0x7f) {
                out[o++] = (char)c;
                digit = digit || (c >= '0' && c <= '9');
            }
        }
        out[o] = '\0';
        if (digit) {
            return true;
        }
        p += n;
        p += strspn(p, "\r\n");
    }
    out[0] = '\0';
    return false;
}

/* OCCLUM_{MAJOR,MINOR,PATCH}_VERSION from occlum_version.h near the tool (Occlum's layout:
 * <prefix>/build/bin/occlum with <prefix>/include/ or, in a source tree, src/pal/include/). */
static bool header_version(const char *tool, char *out, size_t out_size, char *how,
                           size_t how_size) {
    char *real = realpath(tool, NULL);
    if (!real) {
        return false;
    }
    char *slash = NULL;
    for (int up = 0; up < 3 && (slash = strrchr(real, '/')) != NULL; up++) {
        *slash = '\0'; /* strip "occlum", "bin", "build" */
    }
    static const char *const rel[] = {"include/occlum_version.h",
                                      "src/pal/include/occlum_version.h"};
    bool ok = false;
    for (size_t i = 0; i < NCSL_ARRAY_LEN(rel) && !ok && slash; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/%s", real[0] ? real : "", rel[i]);
        FILE *f = fopen(path, "re");
        if (!f) {
            continue;
        }
        long v[3] = {-1, -1, -1};
        static const char *const names[] = {"OCCLUM_MAJOR_VERSION", "OCCLUM_MINOR_VERSION",
                                            "OCCLUM_PATCH_VERSION"};
        char line[256];
        int lines = 0;
        while (fgets(line, sizeof(line), f) && lines++ < 1000) {
            for (int k = 0; k < 3; k++) {
                size_t n = strlen(names[k]);
                if (strncmp(line, "#define ", 8) != 0 || strncmp(line + 8, names[k], n) != 0 ||
                    (line[8 + n] != ' ' && line[8 + n] != '\t')) {
                    continue;
                }
                char *end = NULL;
                long x = strtol(line + 8 + n, &end, 10);
                if (end != line + 8 + n && x >= 0 && x < 100000) {
                    v[k] = x;
                }
            }
        }
        fclose(f);
        if (v[0] >= 0 && v[1] >= 0 && v[2] >= 0) {
            snprintf(out, out_size, "%ld.%ld.%ld", v[0], v[1], v[2]);
            snprintf(how, how_size, "from %s", path);
            ok = true;
        }
    }
    free(real);
    return ok;
}

char *ncsl_cli_occlum_tool(char *version, size_t version_size, char *how, size_t how_size) {
    char *tool = ncsl_cli_which("occlum");
    if (!tool || !version) {
        return tool;
    }
    version[0] = '\0';
    how[0] = '\0';
    char *argv[] = {tool, (char *)"--version", NULL};
    ncsl_cli_spawn_opts o = {
        .capture = true, .max_output = VERSION_OUTPUT_MAX, .timeout_ms = VERSION_TIMEOUT_MS};
    ncsl_cli_spawn_result r;
    char why[160] = "";
    if (!ncsl_cli_spawn(argv, &o, &r)) {
        snprintf(why, sizeof(why), "`occlum --version` could not be started: %s", strerror(errno));
    } else if (r.timed_out) {
        snprintf(why, sizeof(why), "`occlum --version` did not finish within %u s (killed)",
                 VERSION_TIMEOUT_MS / 1000);
    } else if (r.exit_code == 0 && first_version_line(r.output, version, version_size)) {
        snprintf(how, how_size, "`occlum --version`");
    } else if (r.exit_code != 0) {
        snprintf(why, sizeof(why), "`occlum --version` exited with status %d", r.exit_code);
    } else {
        snprintf(why, sizeof(why), "`occlum --version` printed no version");
    }
    free(r.output);
    if (!version[0] && !header_version(tool, version, version_size, how, how_size)) {
        snprintf(how, how_size, "unknown: %s, and no occlum_version.h next to the tool", why);
    }
    return tool;
}

/* ------------------------------------------------------------------ files */

static bool mkdir_one(const char *path, mode_t mode) {
    struct stat st;
    if (mkdir(path, mode) == 0) {
        return true;
    }
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return true;
    }
    ncsl_cli_errorf("occlum init: cannot create the directory %s: %s", path,
                    errno == EEXIST ? "a file of that name exists" : strerror(errno));
    return false;
}

/* mkdir -p of `rel` (relative, '/'-separated) under `base`. */
static bool mkdirs_under(const char *base, const char *rel, mode_t mode) {
    char path[PATH_MAX];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", base, rel) >= sizeof(path)) {
        ncsl_cli_errorf("occlum init: path too long: %s/%s", base, rel);
        return false;
    }
    for (char *p = path + strlen(base) + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            bool ok = mkdir_one(path, mode);
            *p = '/';
            if (!ok) {
                return false;
            }
        }
    }
    return mkdir_one(path, mode);
}

/* Copies `src` (following symlinks) to `dst` through a temporary file and a rename, so a file of
 * an earlier init is replaced whole; mode `mode`. */
static bool copy_file(const char *src, const char *dst, mode_t mode) {
    char tmp[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.ncsl-tmp", dst) >= sizeof(tmp)) {
        ncsl_cli_errorf("occlum init: path too long: %s", dst);
        return false;
    }
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        ncsl_cli_errorf("occlum init: cannot read %s: %s", src, strerror(errno));
        return false;
    }
    unlink(tmp);
    int out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        ncsl_cli_errorf("occlum init: cannot create %s: %s", tmp, strerror(errno));
        close(in);
        return false;
    }
    char buf[65536];
    bool ok = true;
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            ncsl_cli_errorf("occlum init: cannot read %s: %s", src, strerror(errno));
            ok = false;
            break;
        }
        if (n == 0) {
            break;
        }
        if (!ncsl_write_all(out, buf, (size_t)n)) {
            ncsl_cli_errorf("occlum init: cannot write %s: %s", tmp, strerror(errno));
            ok = false;
            break;
        }
    }
    close(in);
    if (fchmod(out, mode) != 0 || close(out) != 0) {
        ok = false;
        ncsl_cli_errorf("occlum init: cannot write %s: %s", tmp, strerror(errno));
    }
    if (ok && rename(tmp, dst) != 0) {
        ncsl_cli_errorf("occlum init: cannot create %s: %s", dst, strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
    }
    return ok;
}

static bool write_json(json_t *doc, const char *path, mode_t mode) {
    char *text = json_dumps(doc, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
    if (!text) {
        ncsl_cli_errorf("occlum init: out of memory");
        return false;
    }
    size_t n = strlen(text);
    text[n] = '\0';
    char tmp[PATH_MAX];
    bool ok = (size_t)snprintf(tmp, sizeof(tmp), "%s.ncsl-tmp", path) < sizeof(tmp);
    int fd = -1;
    if (ok) {
        unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    }
    ok = fd >= 0 && ncsl_write_all(fd, text, n) && ncsl_write_all(fd, "\n", 1) &&
         fchmod(fd, mode) == 0;
    if (fd >= 0 && close(fd) != 0) {
        ok = false;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = false;
    }
    if (!ok) {
        ncsl_cli_errorf("occlum init: cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(text);
    return ok;
}

/* "dir/rel" into out; false (after saying so) when it does not fit. */
static bool join_path(char *out, size_t size, const char *dir, const char *rel) {
    if ((size_t)snprintf(out, size, "%s/%s", dir, rel) >= size) {
        ncsl_cli_errorf("occlum init: path too long: %s/%s", dir, rel);
        return false;
    }
    return true;
}

static bool path_exists(const char *dir, const char *rel) {
    char path[PATH_MAX];
    struct stat st;
    return (size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) < sizeof(path) &&
           lstat(path, &st) == 0;
}

/* ------------------------------------------------------------------ Occlum.json */

static json_t *size_mb(unsigned mb) {
    char s[32];
    snprintf(s, sizeof(s), "%uMB", mb);
    return json_string(s);
}

static json_t *mount(const char *type, const char *target, const char *source) {
    json_t *m = json_object();
    json_object_set_new(m, "target", json_string(target));
    json_object_set_new(m, "type", json_string(type));
    if (source) {
        json_object_set_new(m, "source", json_string(source));
    }
    return m;
}

static bool simulation_configured(const ncsl_config *cfg) {
    return cfg->tee.simulation_mode || cfg->simulation_forced_by_env ||
           cfg->tee.type == NCSL_TEE_SIMULATION;
}

/* Occlum.json (REFERENCE.md section 1: every field is required by Occlum's parser). */
static json_t *occlum_json(const ncsl_config *cfg) {
    json_t *doc = json_object();

    json_t *rl = json_object();
    json_object_set_new(rl, "user_space_size", size_mb(cfg->tee.occlum.max_memory_mb));
    json_object_set_new(rl, "kernel_space_heap_size", size_mb(NCSL_OCCLUM_KERNEL_HEAP_MB));
    json_object_set_new(rl, "kernel_space_stack_size", size_mb(NCSL_OCCLUM_KERNEL_STACK_MB));
    json_object_set_new(rl, "max_num_of_threads", json_integer(ncsl_cli_occlum_max_threads(cfg)));
    json_object_set_new(doc, "resource_limits", rl);

    json_t *proc = json_object();
    json_object_set_new(proc, "default_stack_size", size_mb(ncsl_cli_occlum_thread_stack_mb(cfg)));
    json_object_set_new(proc, "default_heap_size", size_mb(NCSL_OCCLUM_HEAP_MB));
    /* obsolete in Occlum 0.31 but still required by its parser */
    json_object_set_new(proc, "default_mmap_size", size_mb(100));
    json_object_set_new(doc, "process", proc);

    /* only the daemon may be started from the host: with /bin/ncsl as an entry point, the host
     * could run `ncsl unseal`, `seal` or `run` inside the enclave, with its seal key and identity
     * (an unsealing, sealing and Neo.keys signing oracle for any user) */
    json_t *entry = json_array();
    json_array_append_new(entry, json_string("/bin/ncsld"));
    json_object_set_new(doc, "entry_points", entry);

    /* env.default is part of the measured configuration (trusted); env.untrusted lists what the
     * host may pass in (and override defaults with) at `occlum run`: nothing, so neither
     * OCCLUM_SIMULATION nor NCSL_ADMIN_KEY can be chosen by whoever starts the enclave. */
    json_t *env = json_object();
    json_t *def = json_array();
    json_array_append_new(def, json_string("OCCLUM=yes"));
    json_array_append_new(def, json_string("HOME=/root"));
    json_array_append_new(def, json_string("PATH=/bin"));
    if (simulation_configured(cfg)) {
        json_array_append_new(def, json_string("OCCLUM_SIMULATION=1"));
    }
    json_object_set_new(env, "default", def);
    json_object_set_new(env, "untrusted", json_array());
    json_object_set_new(doc, "env", env);

    json_t *md = json_object();
    json_object_set_new(md, "product_id", json_integer(0));
    json_object_set_new(md, "version_number", json_integer(0));
    json_object_set_new(md, "debuggable",
                        json_boolean(cfg->tee.debug || cfg->tee.occlum.enable_debug_mode));
    json_object_set_new(md, "enable_kss", json_false());
    json_t *fam = json_object();
    json_object_set_new(fam, "high", json_string("0x0"));
    json_object_set_new(fam, "low", json_string("0x0"));
    json_object_set_new(md, "family_id", fam);
    json_t *ext = json_object();
    json_object_set_new(ext, "high", json_string("0x0"));
    json_object_set_new(ext, "low", json_string("0x0"));
    json_object_set_new(md, "ext_prod_id", ext);
    json_object_set_new(doc, "metadata", md);

    json_t *feat = json_object();
    json_object_set_new(feat, "amx", json_integer(0));
    json_object_set_new(feat, "pkru", json_integer(0));
    json_object_set_new(feat, "io_uring", json_integer(0));
    json_object_set_new(feat, "enable_edmm", json_false());
    json_object_set_new(feat, "enable_posix_shm", json_false());
    json_object_set_new(doc, "feature", feat);

    /* The root: Occlum's union of the measured, integrity-only image (read-only, its MAC filled
     * in by `occlum build`) and an encrypted writable layer. Then the data dir on a SEFS mount of
     * its own (encrypted, outside run/ so it survives rebuilds), /proc and /dev (Occlum's
     * /dev/sgx). No hostfs: nothing of the host's file system is visible inside. */
    json_t *mounts = json_array();
    json_t *root = mount("unionfs", "/", NULL);
    json_t *ropts = json_object();
    json_t *layers = json_array();
    json_t *ro = mount("sefs", "/", "./build/mount/__ROOT");
    json_t *roopts = json_object();
    json_object_set_new(roopts, "MAC", json_string(""));
    json_object_set_new(ro, "options", roopts);
    json_array_append_new(layers, ro);
    json_array_append_new(layers, mount("sefs", "/", "./run/mount/__ROOT"));
    json_object_set_new(ropts, "layers", layers);
    json_object_set_new(root, "options", ropts);
    json_array_append_new(mounts, root);
    json_array_append_new(mounts, mount("sefs", NCSL_OCCLUM_DATA_MOUNT, NCSL_OCCLUM_DATA_SOURCE));
    json_array_append_new(mounts, mount("procfs", "/proc", NULL));
    json_array_append_new(mounts, mount("devfs", "/dev", NULL));
    json_object_set_new(doc, "mount", mounts);
    return doc;
}

/* The configuration for inside the image: the file's own settings, the data dir on the SEFS
 * mount, no admin key. NULL after printing why. */
static json_t *image_config(const char *config_file, bool *dropped_admin_key) {
    json_t *root = NULL;
    *dropped_admin_key = false;
    if (config_file) {
        json_error_t jerr;
        root = json_load_file(config_file, JSON_REJECT_DUPLICATES, &jerr);
        if (!root || !json_is_object(root)) {
            ncsl_cli_errorf("occlum init: cannot read %s: %s", config_file,
                            root ? "not a JSON object" : jerr.text);
            json_decref(root);
            return NULL;
        }
    } else {
        root = json_object();
    }
    json_t *server = json_object_get(root, "Server");
    if (!server) {
        server = json_object();
        json_object_set_new(root, "Server", server);
    }
    if (json_object_get(server, "AdminKey")) {
        json_object_del(server, "AdminKey");
        *dropped_admin_key = true;
    }
    json_object_set_new(server, "DataDir", json_string(NCSL_OCCLUM_DATA_MOUNT));
    return root;
}

/* ------------------------------------------------------------------ occlum init */

typedef struct init_args {
    const char *config;
    const char *ncsld;
    const char *ncsl;
    bool no_occlum;
    bool force;
} init_args;

static void init_usage(FILE *f) {
    fprintf(f, "usage: ncsl occlum init DIR [--config FILE] [--no-occlum] [--force]\n"
               "                           [--ncsld PATH] [--ncsl PATH]\n"
               "\n"
               "Creates an Occlum instance for ncsld in DIR: runs `occlum init` there when the\n"
               "occlum tool is on PATH, writes DIR/Occlum.json from the NCSL configuration\n"
               "(memory, threads, debug flag, env, a SEFS mount for the data dir) and copies\n"
               "ncsld, ncsl, every shared library they load and the configuration into\n"
               "DIR/image. Then: 'ncsl occlum build DIR'. See docs/occlum.md.\n"
               "\n"
               "options:\n"
               "  --config FILE   NCSL configuration (default: built-in defaults); copied into\n"
               "                  the image as " NCSL_OCCLUM_CONFIG_PATH " with Server.DataDir\n"
               "                  " NCSL_OCCLUM_DATA_MOUNT " and without Server.AdminKey\n"
               "  --no-occlum     do not run `occlum init` even when occlum is installed (the\n"
               "                  layout is written alone, with the host's C library)\n"
               "  --force         write into DIR even when it is not empty (NCSL's files are\n"
               "                  replaced, others are kept)\n"
               "  --ncsld PATH    the ncsld to pack (default: next to this ncsl, else on PATH)\n"
               "  --ncsl PATH     the ncsl to pack (default: this one)\n"
               "  -h, --help      show this help and exit\n"
               "\n"
               "Exit status: 0 created; 1 failed (the message says why); 2 bad usage.\n");
}

/* The ncsld to pack: --ncsld, else next to this program, else on PATH. Malloc'd or NULL. */
static char *find_ncsld(const char *given) {
    if (given) {
        return ncsl_strdup(given);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash && (size_t)(slash - self) + sizeof("/ncsld") <= sizeof(self)) {
            strcpy(slash, "/ncsld");
            if (access(self, X_OK) == 0) {
                return ncsl_strdup(self);
            }
        }
    }
    return ncsl_cli_which("ncsld");
}

/* DIR holds nothing (an empty directory). False after printing why it cannot be read. */
static bool dir_is_empty(const char *dir, bool *empty) {
    DIR *d = opendir(dir);
    if (!d) {
        ncsl_cli_errorf("occlum init: cannot read the directory %s: %s", dir, strerror(errno));
        return false;
    }
    *empty = true;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            *empty = false;
            break;
        }
    }
    closedir(d);
    return true;
}

/* The C library's own files: with Occlum's layout (`occlum init` ran) Occlum's glibc build must
 * serve them, never the host's copy. */
static bool is_glibc_core(const char *soname) {
    static const char *const names[] = {
        "libc.so.6",   "libm.so.6",      "libpthread.so.0",      "libdl.so.2",
        "librt.so.1",  "libresolv.so.2", "libutil.so.1",         "libanl.so.1",
        "libnsl.so.1", "libmvec.so.1",   "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1",
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(names); i++) {
        if (strcmp(soname, names[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_executable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Runs `occlum init` in dir; the tool's output goes to our standard error. */
static bool run_occlum_init(const char *tool, const char *dir) {
    char *argv[] = {(char *)tool, (char *)"init", NULL};
    ncsl_cli_spawn_opts o = {.cwd = dir};
    ncsl_cli_spawn_result r;
    if (!ncsl_cli_spawn(argv, &o, &r)) {
        ncsl_cli_errorf("occlum init: cannot run %s: %s", tool, strerror(errno));
        return false;
    }
    if (r.exit_code != 0) {
        ncsl_cli_errorf("occlum init: `occlum init` in %s failed (%s %d); its output is above", dir,
                        r.exit_code < 0 ? "signal" : "exit status",
                        r.exit_code < 0 ? r.term_signal : r.exit_code);
        return false;
    }
    return true;
}

static int occlum_init(const char *cmd, int argc, char **argv) {
    init_args a;
    memset(&a, 0, sizeof(a));
    const ncsl_cli_opt opts[] = {
        {"--config", NULL, &a.config, NULL}, {"--ncsld", NULL, &a.ncsld, NULL},
        {"--ncsl", NULL, &a.ncsl, NULL},     {"--no-occlum", NULL, NULL, &a.no_occlum},
        {"--force", NULL, NULL, &a.force},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc = ncsl_cli_parse(cmd, argc, argv, opts, NCSL_ARRAY_LEN(opts), pos, 1, &npos, init_usage);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    if (npos != 1 || !*pos[0]) {
        ncsl_cli_errorf("%s: missing DIR, the instance directory (see 'ncsl %s --help')", cmd, cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    const char *dir = pos[0];
    if (strlen(dir) > PATH_MAX - 128) {
        ncsl_cli_errorf("%s: DIR is too long", cmd);
        return NCSL_CLI_EXIT_USAGE;
    }

    int exit_code = NCSL_CLI_EXIT_FAIL;
    char *ncsld = NULL;
    char *ncsl = NULL;
    char *tool = NULL;
    json_t *icfg = NULL;
    json_t *ojson = NULL;
    ncsl_cli_elf_deps *deps = calloc(1, sizeof(*deps));
    char version[96] = "";
    char how[256] = "";
    char why[512] = "";
    char path[PATH_MAX];
    char src_path[PATH_MAX];
    ncsl_config *cfg = calloc(1, sizeof(*cfg)); /* large: not on the stack */
    if (!deps || !cfg) {
        ncsl_cli_errorf("%s: out of memory", cmd);
        goto out;
    }
    if (!ncsl_cli_load_config(a.config, cfg)) {
        goto out;
    }

    ncsld = find_ncsld(a.ncsld);
    ncsl = a.ncsl ? ncsl_strdup(a.ncsl) : realpath("/proc/self/exe", NULL);
    if (!ncsld) {
        ncsl_cli_errorf("%s: ncsld is neither next to this ncsl nor on PATH: pass --ncsld PATH",
                        cmd);
        goto out;
    }
    if (!ncsl) {
        ncsl_cli_errorf("%s: cannot find this program's path: pass --ncsl PATH", cmd);
        goto out;
    }
    if (!is_executable_file(ncsld) || !is_executable_file(ncsl)) {
        ncsl_cli_errorf("%s: %s is not an executable file", cmd,
                        is_executable_file(ncsld) ? ncsl : ncsld);
        goto out;
    }

    if (!a.no_occlum) {
        tool = ncsl_cli_occlum_tool(version, sizeof(version), how, sizeof(how));
        if (!tool) {
            fprintf(stderr,
                    "ncsl: %s: note: the occlum tool is not on PATH: writing the instance layout "
                    "without `occlum init` (pass --no-occlum to say that this is intended). "
                    "`ncsl occlum build` will need it: %s.\n",
                    cmd, ncsl_cli_occlum_install_hint());
        }
    }
    struct stat st;
    const char *prefer = tool && stat(NCSL_OCCLUM_LIB_DIR, &st) == 0 && S_ISDIR(st.st_mode)
                             ? NCSL_OCCLUM_LIB_DIR
                             : NULL;
    const char *progs[2] = {ncsld, ncsl};
    if (!ncsl_cli_elf_resolve(progs, 2, prefer, deps, why, sizeof(why))) {
        ncsl_cli_errorf("%s: cannot list the shared libraries to copy: %s", cmd, why);
        goto out;
    }
    bool dropped_admin_key = false;
    if (!(icfg = image_config(a.config, &dropped_admin_key)) || !(ojson = occlum_json(cfg))) {
        goto out;
    }

    /* DIR: new, empty, or --force. */
    if (lstat(dir, &st) == 0) {
        bool empty = false;
        if (!S_ISDIR(st.st_mode)) {
            ncsl_cli_errorf("%s: %s exists and is not a directory", cmd, dir);
            goto out;
        }
        if (!dir_is_empty(dir, &empty)) {
            goto out;
        }
        if (!empty && !a.force) {
            ncsl_cli_errorf(
                "%s: %s is not empty: pass --force to write NCSL's files into it anyway "
                "(Occlum.json and NCSL's files in image/ are replaced, other files are "
                "kept), or choose a new directory",
                cmd, dir);
            goto out;
        }
    } else if (errno != ENOENT || mkdir(dir, 0755) != 0) {
        ncsl_cli_errorf("%s: cannot create %s: %s", cmd, dir, strerror(errno));
        goto out;
    }

    if (tool) {
        if (path_exists(dir, STATUS_FILE)) {
            fprintf(stderr,
                    "ncsl: %s: %s is already an Occlum instance: `occlum init` not run "
                    "again\n",
                    cmd, dir);
        } else if (!run_occlum_init(tool, dir)) {
            goto out;
        }
    }
    bool occlum_layout = path_exists(dir, STATUS_FILE);
    if (occlum_layout && path_exists(dir, "Occlum.yaml")) {
        fprintf(stderr,
                "ncsl: %s: warning: this occlum (%s) made an Occlum.yaml: it may read that file, "
                "not the Occlum.json NCSL writes (the Occlum 0.31 schema). Carry the settings "
                "over or use Occlum 0.31.\n",
                cmd, version[0] ? version : "unknown version");
    }

    static const char *const dirs[] = {
        "image/bin",
        "image/lib64",
        "image/etc/ncsl",
        "image/root",
        "image/tmp",
        "image/dev",
        "image/proc",
        "image" NCSL_OCCLUM_DATA_MOUNT,
        "image/host",
        "image/lib",
        "image" NCSL_OCCLUM_LIB_DIR,
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(dirs); i++) {
        if (!mkdirs_under(dir, dirs[i], 0755)) {
            goto out;
        }
    }
    if (!mkdirs_under(dir, NCSL_OCCLUM_DATA_SOURCE + 2, 0700)) {
        goto out;
    }
    if (!path_exists(dir, "image/etc/hosts")) {
        snprintf(path, sizeof(path), "%s/image/etc/hosts", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        static const char hosts[] = "127.0.0.1   localhost\n";
        if (fd < 0 || !ncsl_write_all(fd, hosts, sizeof(hosts) - 1) || close(fd) != 0) {
            ncsl_cli_errorf("%s: cannot write %s: %s", cmd, path, strerror(errno));
            goto out;
        }
    }

    snprintf(path, sizeof(path), "%s/image/bin/ncsld", dir);
    if (!copy_file(ncsld, path, 0755)) {
        goto out;
    }
    snprintf(path, sizeof(path), "%s/image/bin/ncsl", dir);
    if (!copy_file(ncsl, path, 0755)) {
        goto out;
    }
    size_t copied = 0;
    size_t kept = 0;
    for (size_t i = 0; i < deps->count; i++) {
        snprintf(src_path, sizeof(src_path), "image%s/%s", NCSL_OCCLUM_LIB_DIR,
                 deps->libs[i].soname);
        if (occlum_layout && is_glibc_core(deps->libs[i].soname) && path_exists(dir, src_path)) {
            kept++; /* Occlum's glibc, installed by `occlum init` */
            continue;
        }
        if (!join_path(path, sizeof(path), dir, src_path) ||
            !copy_file(deps->libs[i].path, path, 0755)) {
            goto out;
        }
        copied++;
    }
    if (deps->interp && deps->interp[0] == '/') {
        snprintf(src_path, sizeof(src_path), "image%s", deps->interp);
        if (!occlum_layout) {
            char *slash = strrchr(src_path, '/');
            *slash = '\0';
            if (!mkdirs_under(dir, src_path, 0755)) {
                goto out;
            }
            *slash = '/';
            if (!join_path(path, sizeof(path), dir, src_path) ||
                !copy_file(deps->interp, path, 0755)) {
                goto out;
            }
        } else if (!path_exists(dir, src_path)) {
            fprintf(stderr,
                    "ncsl: %s: warning: %s/%s is missing: `occlum init` should have installed "
                    "Occlum's glibc loader there\n",
                    cmd, dir, src_path);
        }
    }

    snprintf(path, sizeof(path), "%s/image%s", dir, NCSL_OCCLUM_CONFIG_PATH);
    if (!write_json(icfg, path, 0644)) {
        goto out;
    }
    if (dropped_admin_key) {
        fprintf(stderr,
                "ncsl: %s: note: Server.AdminKey was left out of the image's configuration: the "
                "image is integrity-protected, not encrypted, so the host could read it. ncsld "
                "makes an admin key inside the enclave on first start (printed once).\n",
                cmd);
    }
    snprintf(path, sizeof(path), "%s/Occlum.json", dir);
    if (!write_json(ojson, path, 0644)) {
        goto out;
    }

    json_t *rl = json_object_get(ojson, "resource_limits");
    printf("Occlum instance for ncsld: %s\n", dir);
    if (!tool) {
        printf("  %-28s not run (%s); the host's C library is in the image\n", "occlum init",
               a.no_occlum ? "--no-occlum" : "occlum is not installed");
    } else {
        printf("  %-28s %s (version %s)\n", "occlum init", occlum_layout ? "done" : "not done",
               version[0] ? version : "unknown");
    }
    printf("  %-28s user_space_size %s, max_num_of_threads %lld, debuggable %s\n", "Occlum.json",
           json_string_value(json_object_get(rl, "user_space_size")),
           (long long)json_integer_value(json_object_get(rl, "max_num_of_threads")),
           cfg->tee.debug || cfg->tee.occlum.enable_debug_mode ? "true" : "false");
    printf("  %-28s ncsld (from %s), ncsl (from %s)\n", "image/bin", ncsld, ncsl);
    printf("  %-28s %zu libraries copied", "image" NCSL_OCCLUM_LIB_DIR, copied);
    if (kept) {
        printf(", %zu of Occlum's glibc kept", kept);
    }
    printf("\n  %-28s the configuration (Server.DataDir %s)\n", "image" NCSL_OCCLUM_CONFIG_PATH,
           NCSL_OCCLUM_DATA_MOUNT);
    printf("  %-28s the data dir's encrypted store (SEFS, mounted at %s)\n", "ncsl-data",
           NCSL_OCCLUM_DATA_MOUNT);
    printf("next:\n  ncsl occlum build %s%s\n  cd %s && occlum run /bin/ncsld --config %s\n", dir,
           simulation_configured(cfg) ? " --sgx-mode SIM" : "", dir, NCSL_OCCLUM_CONFIG_PATH);
    fflush(stdout);
    exit_code = NCSL_CLI_EXIT_OK;
out:
    if (deps) {
        ncsl_cli_elf_deps_free(deps);
    }
    free(deps);
    free(cfg);
    free(ncsld);
    free(ncsl);
    free(tool);
    json_decref(icfg);
    json_decref(ojson);
    return exit_code;
}

/* ------------------------------------------------------------------ occlum build */

static void build_usage(FILE *f) {
    fprintf(f,
            "usage: ncsl occlum build DIR [--sgx-mode SIM|HW] [--sign-key FILE] [--config FILE]\n"
            "\n"
            "Builds and signs the Occlum instance in DIR (made by 'ncsl occlum init') with\n"
            "`occlum build`, which needs Occlum and the Intel SGX SDK installed.\n"
            "\n"
            "options:\n"
            "  --sgx-mode SIM|HW  Occlum's SGX mode (default: SIM when the configuration\n"
            "                     asks for simulation: Tee.SimulationMode, Tee.Type\n"
            "                     Simulation or OCCLUM_SIMULATION=1; else HW)\n"
            "  --sign-key FILE    sign the enclave with this RSA-3072 key (PEM); default:\n"
            "                     Occlum's development key, which is public: production\n"
            "                     enclaves must use their own\n"
            "  --config FILE      the NCSL configuration used by 'occlum init'\n"
            "  -h, --help         show this help and exit\n"
            "\n"
            "Exit status: 0 built; 1 failed (occlum missing, DIR not an instance, the build\n"
            "failed); 2 bad usage.\n");
}

static int occlum_build(const char *cmd, int argc, char **argv) {
    const char *mode_arg = NULL;
    const char *config = NULL;
    const char *sign_key = NULL;
    const ncsl_cli_opt opts[] = {
        {"--sgx-mode", NULL, &mode_arg, NULL},
        {"--config", NULL, &config, NULL},
        {"--sign-key", NULL, &sign_key, NULL},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc =
        ncsl_cli_parse(cmd, argc, argv, opts, NCSL_ARRAY_LEN(opts), pos, 1, &npos, build_usage);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    if (npos != 1 || !*pos[0]) {
        ncsl_cli_errorf("%s: missing DIR, the instance directory (see 'ncsl %s --help')", cmd, cmd);
        return NCSL_CLI_EXIT_USAGE;
    }
    if (sign_key && access(sign_key, R_OK) != 0) {
        ncsl_cli_errorf("%s: --sign-key: cannot read %s: %s", cmd, sign_key, strerror(errno));
        return NCSL_CLI_EXIT_USAGE;
    }
    /* occlum runs in DIR: a relative key path must not change meaning */
    char key_path[PATH_MAX] = "";
    if (sign_key && !realpath(sign_key, key_path)) {
        ncsl_cli_errorf("%s: --sign-key: cannot resolve %s: %s", cmd, sign_key, strerror(errno));
        return NCSL_CLI_EXIT_USAGE;
    }
    if (mode_arg && strcasecmp(mode_arg, "SIM") != 0 && strcasecmp(mode_arg, "HW") != 0) {
        ncsl_cli_errorf("%s: --sgx-mode: expected SIM or HW, got '%.40s'", cmd, mode_arg);
        return NCSL_CLI_EXIT_USAGE;
    }
    const char *dir = pos[0];
    ncsl_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        ncsl_cli_errorf("%s: out of memory", cmd);
        return NCSL_CLI_EXIT_FAIL;
    }
    if (!ncsl_cli_load_config(config, cfg)) {
        free(cfg);
        return NCSL_CLI_EXIT_FAIL;
    }
    bool sim_cfg = simulation_configured(cfg);
    free(cfg);
    const char *mode =
        mode_arg ? (strcasecmp(mode_arg, "SIM") == 0 ? "SIM" : "HW") : (sim_cfg ? "SIM" : "HW");

    struct stat st;
    const char *missing = NULL;
    if (stat(dir, &st) != 0) {
        missing = strerror(errno);
    } else if (!S_ISDIR(st.st_mode)) {
        missing = "not a directory";
    } else if (!path_exists(dir, "Occlum.json")) {
        missing = "no Occlum.json";
    } else if (!path_exists(dir, "image/bin/ncsld")) {
        missing = "no image/bin/ncsld";
    }
    if (missing) {
        ncsl_cli_errorf("%s: %s is not an Occlum instance for ncsld (%s): run 'ncsl occlum init "
                        "%s' first",
                        cmd, dir, missing, dir);
        return NCSL_CLI_EXIT_FAIL;
    }
    char *tool = ncsl_cli_which("occlum");
    if (!tool) {
        ncsl_cli_errorf("%s: the occlum tool is not installed (no `occlum` on PATH), so %s cannot "
                        "be built here: %s; then run 'ncsl occlum init %s --force' (to add "
                        "Occlum's glibc) and 'ncsl occlum build %s' again",
                        cmd, dir, ncsl_cli_occlum_install_hint(), dir, dir);
        return NCSL_CLI_EXIT_FAIL;
    }
    if (!path_exists(dir, STATUS_FILE)) {
        ncsl_cli_errorf("%s: %s was made without `occlum init` (--no-occlum, or occlum was not "
                        "installed then): run 'ncsl occlum init %s --force' now that occlum is "
                        "installed, then build again",
                        cmd, dir, dir);
        free(tool);
        return NCSL_CLI_EXIT_FAIL;
    }
    if (sim_cfg && strcmp(mode, "HW") == 0) {
        fprintf(stderr,
                "ncsl: %s: warning: the configuration forces NCSL's simulation TEE: on SGX "
                "hardware its proofs still say \"simulation\"\n",
                cmd);
    }
    char *args[] = {tool,         (char *)"build",      (char *)"--sgx-mode",
                    (char *)mode, (char *)"--sign-key", key_path,
                    NULL};
    if (!sign_key) {
        args[4] = NULL; /* Occlum's default (development) key */
    }
    ncsl_cli_spawn_opts o = {.cwd = dir};
    ncsl_cli_spawn_result r;
    int exit_code = NCSL_CLI_EXIT_FAIL;
    if (!ncsl_cli_spawn(args, &o, &r)) {
        ncsl_cli_errorf("%s: cannot run %s: %s", cmd, tool, strerror(errno));
    } else if (r.exit_code != 0) {
        ncsl_cli_errorf("%s: `occlum build --sgx-mode %s` in %s failed (%s %d); its output is "
                        "above",
                        cmd, mode, dir, r.exit_code < 0 ? "signal" : "exit status",
                        r.exit_code < 0 ? r.term_signal : r.exit_code);
    } else {
        printf("built %s (SGX mode %s)\nrun: cd %s && occlum run /bin/ncsld --config %s\n", dir,
               mode, dir, NCSL_OCCLUM_CONFIG_PATH);
        exit_code = NCSL_CLI_EXIT_OK;
    }
    free(tool);
    return exit_code;
}

int ncsl_cli_cmd_occlum(int argc, char **argv) {
    static const ncsl_cli_verb verbs[] = {
        {"init", "DIR", "create an Occlum instance for ncsld in DIR", occlum_init},
        {"build", "DIR", "build and sign it with `occlum build`", occlum_build},
    };
    return ncsl_cli_client_dispatch("occlum",
                                    "Packages ncsld as an Occlum instance (docs/occlum.md).", argc,
                                    argv, verbs, NCSL_ARRAY_LEN(verbs));
}
