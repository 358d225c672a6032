/*
 * `ncsl check`: what this machine offers NCSL and why, and whether the configuration will start
 * (docs/cli.md, docs/troubleshooting.md). Read-only: it opens no TEE and creates nothing; the
 * only program it runs is `occlum --version` (bounded in time and output).
 *
 * Everything found goes into one JSON report (printed with --json; its shape is documented in
 * docs/cli.md and only grows); the text output is rendered from the same report. Each problem is
 * a finding {level, setting, message, fix}: "error" findings make the exit status 1, "warning"
 * and "info" findings do not.
 *
 * Exit status: 0 SGX hardware is usable (inside an enclave, or an SGX device on this host for an
 * Occlum deployment); 3 simulation only (usable, not confidential); 1 a broken configuration or
 * an unusable data dir (each error names the setting and the fix); 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_occlum.h"
#include "common/common.h"
#include "config/config.h"
#include "tee/tee.h"

#define EXIT_SIMULATION 3
#define MIB ((size_t)1024 * 1024)
#define OCCLUM_JSON_MAX ((size_t)1 << 20)
#define REPORT_VERSION 1

typedef enum level { LV_INFO, LV_WARN, LV_ERROR } level;
static const char *const g_level_names[] = {"info", "warning", "error"};

typedef struct check {
    json_t *report;   /* the whole report */
    json_t *findings; /* report.findings */
    size_t errors;
    uid_t uid;
} check;

static void finding(check *c, level lv, const char *setting, const char *fix, const char *fmt, ...)
    NCSL_PRINTF(5, 6);
static void finding(check *c, level lv, const char *setting, const char *fix, const char *fmt,
                    ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *f = json_object();
    json_object_set_new(f, "level", json_string(g_level_names[lv]));
    json_object_set_new(f, "setting", setting ? json_string(setting) : json_null());
    json_object_set_new(f, "message", json_string(msg));
    json_object_set_new(f, "fix", fix && *fix ? json_string(fix) : json_null());
    json_array_append_new(c->findings, f);
    if (lv == LV_ERROR) {
        c->errors++;
    }
}

/* A string of at most `max` printable ASCII characters from untrusted bytes (device files,
 * tool output), so the report never carries control characters. */
static json_t *clean_string(const char *s, size_t len, size_t max) {
    char out[256];
    size_t o = 0;
    for (size_t i = 0; i < len && o < max && o + 1 < sizeof(out); i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    out[o] = '\0';
    return json_string(out);
}

static const char *file_type(const struct stat *st) {
    if (S_ISCHR(st->st_mode)) {
        return "char-device";
    }
    if (S_ISDIR(st->st_mode)) {
        return "directory";
    }
    if (S_ISREG(st->st_mode)) {
        return "file";
    }
    if (S_ISLNK(st->st_mode)) {
        return "symlink";
    }
    return "other";
}

static bool is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool exists_under(const char *dir, const char *rel, bool want_dir) {
    char path[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path) ||
        stat(path, &st) != 0) {
        return false;
    }
    return want_dir ? S_ISDIR(st.st_mode) : true;
}

/* ------------------------------------------------------------------ SGX devices */

/* The host's SGX devices (in-kernel driver: /dev/sgx_enclave, /dev/sgx_provision; the DCAP
 * driver's /dev/sgx/enclave; the legacy out-of-tree driver's /dev/isgx) and /dev/sgx itself,
 * which is Occlum's device inside an enclave and a directory on some hosts. */
static bool probe_devices(check *c) {
    static const char *const paths[] = {"/dev/sgx_enclave", "/dev/sgx_provision", "/dev/isgx",
                                        "/dev/sgx/enclave", "/dev/sgx/provision", "/dev/sgx"};
    json_t *devs = json_array();
    bool usable = false;
    for (size_t i = 0; i < NCSL_ARRAY_LEN(paths); i++) {
        struct stat st;
        json_t *d = json_object();
        bool exists = stat(paths[i], &st) == 0;
        bool chr = exists && S_ISCHR(st.st_mode);
        bool r = exists && access(paths[i], R_OK) == 0;
        bool w = exists && access(paths[i], W_OK) == 0;
        json_object_set_new(d, "path", json_string(paths[i]));
        json_object_set_new(d, "exists", json_boolean(exists));
        json_object_set_new(d, "type", exists ? json_string(file_type(&st)) : json_null());
        json_object_set_new(d, "readable", json_boolean(r));
        json_object_set_new(d, "writable", json_boolean(w));
        json_array_append_new(devs, d);
        bool enclave_dev = i == 0 || i == 2 || i == 3;
        if (enclave_dev && chr && r && w) {
            usable = true;
        }
        if (enclave_dev && chr && !(r && w)) {
            finding(c, LV_WARN, NULL,
                    "add the user to the device's group (often `sgx`) or adjust "
                    "its udev rule",
                    "%s exists but is not readable and writable by uid %u: enclaves cannot be "
                    "created by this user",
                    paths[i], (unsigned)c->uid);
        }
    }
    json_t *sgx = json_object();
    json_object_set_new(sgx, "devices", devs);
    json_object_set_new(sgx, "usable", json_boolean(usable));
    json_object_set_new(c->report, "sgx", sgx);
    return usable;
}

/* ------------------------------------------------------------------ enclave runtimes */

static bool probe_runtimes(check *c) {
    struct utsname u;
    const char *sysname = uname(&u) == 0 ? u.sysname : "";
    struct stat st;
    bool dev_chr = stat("/dev/sgx", &st) == 0 && S_ISCHR(st.st_mode);
    bool in_occlum = strcmp(sysname, "Occlum") == 0;
    json_t *occ = json_object();
    json_object_set_new(occ, "inside", json_boolean(in_occlum));
    json_object_set_new(occ, "sysname", clean_string(sysname, strlen(sysname), 64));
    json_object_set_new(occ, "sgxCharDevice", json_boolean(dev_chr));
    const char *env = getenv("OCCLUM");
    json_object_set_new(occ, "envOCCLUM", env ? clean_string(env, strlen(env), 16) : json_null());
    json_object_set_new(c->report, "occlum", occ);

    json_t *gr = json_object();
    bool gdir = is_dir("/dev/attestation");
    json_t *type = json_null();
    if (gdir) {
        int fd = open("/dev/attestation/attestation_type", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char buf[33];
            ssize_t n = read(fd, buf, sizeof(buf) - 1);
            close(fd);
            while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0' || buf[n - 1] == ' ')) {
                n--;
            }
            type = clean_string(buf, n > 0 ? (size_t)n : 0, 16);
        }
    }
    const char *tstr = json_string_value(type);
    json_object_set_new(gr, "inside", json_boolean(gdir));
    json_object_set_new(gr, "attestationDir", json_boolean(gdir));
    json_object_set_new(gr, "attestationType", type);
    json_object_set_new(gr, "sgx", json_boolean(gdir && tstr));
    json_object_set_new(c->report, "gramine", gr);
    if (gdir && tstr && strcmp(tstr, "none") == 0) {
        finding(c, LV_ERROR, "Tee.Type",
                "set sgx.remote_attestation = \"dcap\" in the Gramine manifest, or run with "
                "Tee.SimulationMode true",
                "inside gramine-sgx without remote attestation (attestation_type \"none\"): NCSL "
                "cannot attest");
    }
    return in_occlum;
}

/* ------------------------------------------------------------------ the occlum tool */

static void probe_tool(check *c, bool in_occlum) {
    json_t *t = json_object();
    char version[96] = "";
    char how[256] = "";
    char *tool =
        in_occlum ? NULL : ncsl_cli_occlum_tool(version, sizeof(version), how, sizeof(how));
    json_object_set_new(t, "found", json_boolean(tool != NULL));
    json_object_set_new(t, "path", tool ? json_string(tool) : json_null());
    json_object_set_new(t, "version", version[0] ? json_string(version) : json_null());
    json_object_set_new(t, "versionSource", tool && how[0] ? json_string(how) : json_null());
    json_object_set_new(c->report, "occlumTool", t);
    free(tool);
}

/* ------------------------------------------------------------------ the instance dir */

/* "1024MB" -> MB (KB rounded up, GB scaled); false when not Occlum's size syntax. */
static bool parse_size_mb(const char *s, unsigned long long *mb) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || end == s || errno || v > (1ull << 40)) {
        return false;
    }
    while (*end == ' ') {
        end++;
    }
    if (strcmp(end, "MB") == 0) {
        *mb = v;
    } else if (strcmp(end, "GB") == 0) {
        *mb = v * 1024;
    } else if (strcmp(end, "KB") == 0) {
        *mb = (v + 1023) / 1024;
    } else if (strcmp(end, "B") == 0) {
        *mb = (v + MIB - 1) / MIB;
    } else {
        return false;
    }
    return true;
}

/* Occlum.json of an instance: present, JSON, the fields Occlum's parser requires, and limits at
 * least what the configuration needs. */
static void check_occlum_json(check *c, json_t *inst, const char *dir, const ncsl_config *cfg,
                              level lv) {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/Occlum.json", dir);
    char fix[PATH_MAX + 128];
    snprintf(fix, sizeof(fix), "run `ncsl occlum init %s --force` to (re)write it", dir);
    struct stat st;
    bool present = stat(path, &st) == 0 && S_ISREG(st.st_mode);
    json_object_set_new(inst, "occlumJson", json_boolean(present));
    json_object_set_new(inst, "occlumJsonValid", json_false());
    if (!present) {
        finding(c, lv, "Tee.Occlum.InstanceDir", fix,
                "%s has no Occlum.json: not an Occlum instance", dir);
        return;
    }
    if ((size_t)st.st_size > OCCLUM_JSON_MAX) {
        finding(c, lv, "Tee.Occlum.InstanceDir", fix, "%s is larger than 1 MiB", path);
        return;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        finding(c, lv, "Tee.Occlum.InstanceDir", fix, "%s is not a JSON object (line %d: %s)", path,
                jerr.line, jerr.text);
        return;
    }
    if (!json_is_object(doc)) {
        finding(c, lv, "Tee.Occlum.InstanceDir", fix, "%s is not a JSON object", path);
        json_decref(doc);
        return;
    }
    static const char *const required[] = {"resource_limits", "process", "entry_points", "env",
                                           "metadata",        "feature", "mount"};
    char missing[160] = "";
    for (size_t i = 0; i < NCSL_ARRAY_LEN(required); i++) {
        if (!json_object_get(doc, required[i])) {
            size_t n = strlen(missing);
            snprintf(missing + n, sizeof(missing) - n, "%s%s", n ? ", " : "", required[i]);
        }
    }
    if (missing[0]) {
        finding(c, lv, "Tee.Occlum.InstanceDir", fix,
                "%s lacks field(s) that Occlum 0.31 requires: %s", path, missing);
        json_decref(doc);
        return;
    }
    json_object_set_new(inst, "occlumJsonValid", json_true());
    json_t *rl = json_object_get(doc, "resource_limits");
    unsigned long long us = 0;
    json_t *threads = json_object_get(rl, "max_num_of_threads");
    const char *uss = json_string_value(json_object_get(rl, "user_space_size"));
    bool us_ok = parse_size_mb(uss, &us);
    json_object_set_new(inst, "userSpaceMB", us_ok ? json_integer((json_int_t)us) : json_null());
    json_object_set_new(inst, "maxNumOfThreads",
                        json_is_integer(threads) ? json_incref(threads) : json_null());
    char rebuild[PATH_MAX * 2 + 128];
    snprintf(rebuild, sizeof(rebuild),
             "run `ncsl occlum init %s --force` with this configuration, then `ncsl occlum build "
             "%s`",
             dir, dir);
    if (!us_ok) {
        finding(c, lv, "Tee.Occlum.InstanceDir", rebuild,
                "%s: resource_limits.user_space_size is not a size such as \"1024MB\"", path);
    } else if (us < cfg->tee.occlum.max_memory_mb) {
        finding(c, lv, "Tee.Occlum.MaxMemoryMB", rebuild,
                "%s gives the enclave %lluMB (resource_limits.user_space_size), less than "
                "Tee.Occlum.MaxMemoryMB (%u MB)",
                path, us, cfg->tee.occlum.max_memory_mb);
    }
    unsigned need = ncsl_cli_occlum_max_threads(cfg);
    if (!json_is_integer(threads) || json_integer_value(threads) < (json_int_t)need) {
        finding(c, lv, "Tee.Occlum.MaxThreads", rebuild,
                "%s allows %lld threads (resource_limits.max_num_of_threads); this configuration "
                "needs %u (Tee.Occlum.MaxThreads %u + %u signing + %u in worker processes + %u)",
                path, json_is_integer(threads) ? (long long)json_integer_value(threads) : -1LL,
                need, cfg->tee.occlum.max_threads, NCSL_OCCLUM_SIGNING_THREADS,
                ncsl_cli_occlum_process_threads(cfg), NCSL_OCCLUM_EXTRA_THREADS);
    }
    json_decref(doc);
}

static void check_instance(check *c, const ncsl_config *cfg, bool explicit_dir, bool in_occlum,
                           bool tool_found) {
    const char *dir = cfg->tee.occlum.instance_dir;
    json_t *inst = json_object();
    json_object_set_new(c->report, "instance", inst);
    json_object_set_new(inst, "dir", json_string(dir));
    bool explicit_use = explicit_dir || cfg->tee.type == NCSL_TEE_OCCLUM;
    json_object_set_new(inst, "explicit", json_boolean(explicit_use));
    json_object_set_new(inst, "valid", json_false());
    json_object_set_new(inst, "built", json_false());
    if (in_occlum) {
        json_object_set_new(inst, "checked", json_false());
        return; /* a host path: not visible from inside the enclave */
    }
    json_object_set_new(inst, "checked", json_true());
    /* Missing or broken matters when the operator points at an instance (the setting is in the
     * file, or Tee.Type is Occlum); the default dir is only advice until then. */
    level lv = explicit_use ? LV_ERROR : LV_INFO;
    char fix[PATH_MAX * 2 + 256];
    struct stat st;
    bool exists = stat(dir, &st) == 0;
    json_object_set_new(inst, "exists", json_boolean(exists));
    if (!exists) {
        if (explicit_use) {
            snprintf(fix, sizeof(fix),
                     "run `ncsl occlum init %s` (then `ncsl occlum build %s`), or set "
                     "Tee.Occlum.InstanceDir to your instance",
                     dir, dir);
        } else {
            snprintf(fix, sizeof(fix), "to deploy on Occlum: `ncsl occlum init %s`", dir);
        }
        finding(c, lv, "Tee.Occlum.InstanceDir", fix, "%s does not exist%s", dir,
                errno == ENOENT ? "" : " (cannot be examined)");
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        finding(c, explicit_use ? LV_ERROR : LV_WARN, "Tee.Occlum.InstanceDir",
                "remove it, or set Tee.Occlum.InstanceDir to your instance",
                "%s is not a directory", dir);
        return;
    }
    bool readable = access(dir, R_OK | X_OK) == 0;
    bool writable = access(dir, W_OK | X_OK) == 0;
    json_object_set_new(inst, "readable", json_boolean(readable));
    json_object_set_new(inst, "writable", json_boolean(writable));
    if (!readable) {
        snprintf(fix, sizeof(fix), "chown -R %u %s (or chmod u+rx, or run as its owner, uid %u)",
                 (unsigned)c->uid, dir, (unsigned)st.st_uid);
        finding(c, explicit_use ? LV_ERROR : LV_WARN, "Tee.Occlum.InstanceDir", fix,
                "permission denied: %s is not readable by uid %u", dir, (unsigned)c->uid);
        return;
    }
    if (!writable) {
        snprintf(fix, sizeof(fix), "chown -R %u %s (or run occlum as its owner, uid %u)",
                 (unsigned)c->uid, dir, (unsigned)st.st_uid);
        finding(c, explicit_use ? LV_ERROR : LV_WARN, "Tee.Occlum.InstanceDir", fix,
                "permission denied: %s is not writable by uid %u (`occlum build` and `occlum run` "
                "write build/ and run/ there)",
                dir, (unsigned)c->uid);
    }
    size_t before = c->errors;
    check_occlum_json(c, inst, dir, cfg, explicit_use ? LV_ERROR : LV_WARN);
    bool image = exists_under(dir, "image", true);
    bool build = exists_under(dir, "build", true);
    bool signed_enclave = exists_under(dir, "build/lib/libocclum-libos.signed.so", false);
    bool build_bin = exists_under(dir, "build/bin", true);
    bool has_ncsld = exists_under(dir, "image/bin/ncsld", false);
    json_object_set_new(inst, "imageDir", json_boolean(image));
    json_object_set_new(inst, "buildDir", json_boolean(build));
    json_object_set_new(inst, "buildBin", json_boolean(build_bin));
    json_object_set_new(inst, "signedEnclave", json_boolean(signed_enclave));
    json_object_set_new(inst, "imageHasNcsld", json_boolean(has_ncsld));
    bool valid = json_is_true(json_object_get(inst, "occlumJsonValid")) && image;
    bool built = valid && build && (build_bin || signed_enclave);
    json_object_set_new(inst, "valid", json_boolean(valid));
    json_object_set_new(inst, "built", json_boolean(built));
    if (!has_ncsld && json_is_true(json_object_get(inst, "occlumJson"))) {
        snprintf(fix, sizeof(fix), "run `ncsl occlum init %s --force`", dir);
        finding(c, explicit_use ? LV_ERROR : LV_WARN, "Tee.Occlum.InstanceDir", fix,
                "%s/image/bin/ncsld is missing: the instance does not hold ncsld", dir);
    }
    if (valid && !built && c->errors == before) {
        if (tool_found) {
            snprintf(fix, sizeof(fix), "run `ncsl occlum build %s`", dir);
        } else {
            snprintf(fix, sizeof(fix), "run `ncsl occlum build %s` (it needs Occlum: %s)", dir,
                     ncsl_cli_occlum_install_hint());
        }
        finding(c, lv == LV_ERROR ? LV_ERROR : LV_WARN, "Tee.Occlum.InstanceDir", fix,
                "%s is not built (no build/ with build/bin or "
                "build/lib/libocclum-libos.signed.so)",
                dir);
    }
}

/* ------------------------------------------------------------------ the data dir */

/* The nearest existing ancestor of `path` into out ("." for a relative path's start). */
static void existing_ancestor(const char *path, char *out, size_t out_size) {
    snprintf(out, out_size, "%s", path);
    for (;;) {
        char *slash = strrchr(out, '/');
        while (slash && slash > out && slash[1] == '\0') { /* trailing slashes */
            *slash = '\0';
            slash = strrchr(out, '/');
        }
        if (!slash) {
            snprintf(out, out_size, ".");
            return;
        }
        if (slash == out) {
            out[1] = '\0';
            return;
        }
        *slash = '\0';
        struct stat st;
        if (stat(out, &st) == 0) {
            return;
        }
    }
}

/* A file of the data dir that ncsld refuses when others can read it (mode & 077) or it is not
 * ours; absent is fine. */
static void check_private_file(check *c, const char *setting, const char *dir, const char *name,
                               const char *what, off_t want_size) {
    char path[PATH_MAX];
    char fix[PATH_MAX * 2 + 64];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (lstat(path, &st) != 0) {
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        finding(c, LV_ERROR, setting, "remove it (it is not NCSL's)",
                "%s (%s) is not a regular file", path, what);
    } else if (st.st_uid != c->uid) {
        snprintf(fix, sizeof(fix), "chown %u %s", (unsigned)c->uid, path);
        finding(c, LV_ERROR, setting, fix, "%s (%s) is owned by uid %u, not by uid %u", path, what,
                (unsigned)st.st_uid, (unsigned)c->uid);
    } else if (st.st_mode & 077) {
        snprintf(fix, sizeof(fix), "chmod 600 %s", path);
        finding(c, LV_ERROR, setting, fix,
                "%s (%s) is accessible by group or others (mode %04o): ncsld refuses it", path,
                what, (unsigned)(st.st_mode & 07777));
    } else if (want_size > 0 && st.st_size != want_size) {
        finding(c, LV_ERROR, setting,
                "restore it from a backup: without it nothing sealed by this installation can be "
                "unsealed",
                "%s (%s) is %lld bytes, not %lld", path, what, (long long)st.st_size,
                (long long)want_size);
    }
}

static void check_data_dir(check *c, const char *dir, const char *setting) {
    json_t *d = json_object();
    json_object_set_new(c->report, "dataDir", d);
    json_object_set_new(d, "path", json_string(dir));
    json_object_set_new(d, "setting", json_string(setting));
    char fix[PATH_MAX * 2 + 256];
    struct stat st;
    if (stat(dir, &st) != 0) {
        int e = errno == ENOTDIR ? ENOENT : errno; /* a file in the path: cannot be created */
        json_object_set_new(d, "exists", json_false());
        char anc[PATH_MAX];
        existing_ancestor(dir, anc, sizeof(anc));
        bool can_create = e == ENOENT && is_dir(anc) && access(anc, W_OK | X_OK) == 0;
        json_object_set_new(d, "creatable", json_boolean(can_create));
        if (can_create) {
            finding(c, LV_INFO, setting, NULL,
                    "%s does not exist yet: ncsld creates it (mode 0700) on first start", dir);
            return;
        }
        snprintf(fix, sizeof(fix),
                 "create it (mkdir -m 700 -p %s, owned by uid %u), or set %s to a directory this "
                 "user can write",
                 dir, (unsigned)c->uid, setting);
        if (e != ENOENT) {
            finding(c, LV_ERROR, setting, fix, "%s cannot be examined: %s", dir, strerror(e));
        } else if (!is_dir(anc)) {
            finding(c, LV_ERROR, setting, fix,
                    "%s does not exist and cannot be created: %s is not a directory", dir, anc);
        } else {
            finding(c, LV_ERROR, setting, fix,
                    "%s does not exist and cannot be created: permission denied (%s is not "
                    "writable by uid %u)",
                    dir, anc, (unsigned)c->uid);
        }
        return;
    }
    json_object_set_new(d, "exists", json_true());
    json_object_set_new(d, "type", json_string(file_type(&st)));
    if (!S_ISDIR(st.st_mode)) {
        snprintf(fix, sizeof(fix), "remove it, or set %s to a directory", setting);
        finding(c, LV_ERROR, setting, fix, "%s is not a directory", dir);
        return;
    }
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    bool owned = st.st_uid == c->uid;
    bool gw = (st.st_mode & 022) != 0;
    bool writable = access(dir, W_OK | X_OK) == 0;
    bool readable = access(dir, R_OK | X_OK) == 0;
    json_object_set_new(d, "mode", json_string(mode));
    json_object_set_new(d, "owner", json_integer((json_int_t)st.st_uid));
    json_object_set_new(d, "ownedByUs", json_boolean(owned));
    json_object_set_new(d, "groupOrWorldWritable", json_boolean(gw));
    json_object_set_new(d, "readable", json_boolean(readable));
    json_object_set_new(d, "writable", json_boolean(writable));
    if (!owned) {
        snprintf(fix, sizeof(fix), "chown -R %u %s, or run ncsld as uid %u", (unsigned)c->uid, dir,
                 (unsigned)st.st_uid);
        finding(c, LV_ERROR, setting, fix,
                "%s is owned by uid %u, not by uid %u (who runs this): its sealed state belongs to "
                "another user",
                dir, (unsigned)st.st_uid, (unsigned)c->uid);
    }
    if (gw) {
        snprintf(fix, sizeof(fix), "chmod 700 %s", dir);
        finding(c, LV_ERROR, setting, fix,
                "%s is writable by group or others (mode %s): anyone could replace the sealed "
                "state",
                dir, mode);
    } else if (st.st_mode & 077) {
        snprintf(fix, sizeof(fix), "chmod 700 %s", dir);
        finding(c, LV_WARN, setting, fix, "%s is readable by group or others (mode %s)", dir, mode);
    }
    if (!writable || !readable) {
        snprintf(fix, sizeof(fix), "chmod u+rwx %s (or chown %u %s)", dir, (unsigned)c->uid, dir);
        finding(c, LV_ERROR, setting, fix, "permission denied: %s is not %s by uid %u", dir,
                !readable ? "readable" : "writable", (unsigned)c->uid);
        return;
    }
    /* What ncsld itself refuses at start (src/tee/sim, src/http/auth.c). */
    char sub[PATH_MAX];
    snprintf(sub, sizeof(sub), "%s/tee", dir);
    if (lstat(sub, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            finding(c, LV_ERROR, setting, "remove it (a symlink or a file is refused)",
                    "%s is not a directory", sub);
        } else if (st.st_mode & 022) {
            snprintf(fix, sizeof(fix), "chmod 700 %s", sub);
            finding(c, LV_ERROR, setting, fix,
                    "%s is writable by group or others (mode %04o): the simulation TEE refuses it",
                    sub, (unsigned)(st.st_mode & 07777));
        } else {
            check_private_file(c, setting, sub, "platform.secret", "the simulation TEE's seal root",
                               32);
        }
    }
    check_private_file(c, setting, dir, "admin.key", "the admin API key", 0);
    snprintf(sub, sizeof(sub), "%s/log", dir);
    if (is_dir(sub) && access(sub, W_OK | X_OK) != 0) {
        snprintf(fix, sizeof(fix), "chmod u+rwx %s (or chown %u %s)", sub, (unsigned)c->uid, sub);
        finding(c, LV_ERROR, setting, fix, "permission denied: %s is not writable by uid %u", sub,
                (unsigned)c->uid);
    }
}

/* ------------------------------------------------------------------ limits */

static void check_limits(check *c, const ncsl_config *cfg) {
    unsigned tee_mb = cfg->tee.occlum.max_memory_mb;
    unsigned js_mb = (unsigned)((cfg->js.memory_limit_bytes + MIB - 1) / MIB);
    unsigned stack_mb = ncsl_cli_occlum_thread_stack_mb(cfg);
    unsigned overhead = ncsl_cli_occlum_overhead_mb(cfg);
    unsigned long long need = (unsigned long long)js_mb + overhead;
    json_t *m = json_object();
    json_object_set_new(m, "teeMaxMemoryMB", json_integer(tee_mb));
    json_object_set_new(m, "jsMaxMemoryMB", json_integer(js_mb));
    json_object_set_new(m, "overheadMB", json_integer(overhead));
    json_object_set_new(m, "threadStackMB", json_integer(stack_mb));
    json_object_set_new(m, "requiredMB", json_integer((json_int_t)need));
    json_object_set_new(m, "ok", json_boolean(need <= tee_mb));
    json_object_set_new(c->report, "memory", m);
    if (need > tee_mb) {
        char fix[256];
        if (tee_mb > overhead) {
            snprintf(fix, sizeof(fix),
                     "set Tee.Occlum.MaxMemoryMB to at least %llu, or lower JavaScript.MaxMemoryMB "
                     "to at most %u (or Tee.Occlum.MaxThreads)",
                     need, tee_mb - overhead);
        } else {
            snprintf(fix, sizeof(fix),
                     "set Tee.Occlum.MaxMemoryMB to at least %llu (or lower Tee.Occlum.MaxThreads)",
                     need);
        }
        finding(c, LV_ERROR, "Tee.Occlum.MaxMemoryMB", fix,
                "%u MB cannot hold JavaScript.MaxMemoryMB (%u MB) plus NCSL's own memory (%u MB: "
                "%u MB base + %u MB heap + %u threads x %u MB stack)",
                tee_mb, js_mb, overhead, NCSL_OCCLUM_BASE_MB, NCSL_OCCLUM_HEAP_MB,
                cfg->tee.occlum.max_threads, stack_mb);
    }

    /* Threads: the configuration already sized what it derives to fit (ncsl_config_finalize);
     * this is the account of it (cli_occlum.h). Within MaxThreads: main, HTTP pool, and JS
     * workers plus the fetch I/O thread, or one supervisor per worker process (the daemon then
     * runs no JavaScript, so it never fetches). Beyond it: the signing-nonce thread and the
     * worker processes' own threads. */
    bool procs = cfg->js.isolation == NCSL_ISOLATION_PROCESS;
    unsigned h = cfg->server.http_threads;
    unsigned w = cfg->js.workers;
    unsigned mw = cfg->js.max_workers > w ? cfg->js.max_workers : w;
    unsigned daemon = procs ? 1 + h + cfg->tee.occlum.max_processes : 1 + h + mw + 1;
    json_t *t = json_object();
    json_object_set_new(t, "maxThreads", json_integer(cfg->tee.occlum.max_threads));
    json_object_set_new(t, "httpThreads", json_integer(h));
    json_object_set_new(t, "workers", json_integer(w));
    json_object_set_new(t, "maxWorkers", json_integer(mw));
    json_object_set_new(t, "daemonThreads", json_integer(daemon));
    json_object_set_new(t, "maxProcesses", json_integer(cfg->tee.occlum.max_processes));
    json_object_set_new(t, "isolation", json_string(procs ? "process" : "thread"));
    json_object_set_new(t, "signingThreads", json_integer(NCSL_OCCLUM_SIGNING_THREADS));
    json_object_set_new(t, "workerProcessThreads",
                        json_integer(procs ? ncsl_cli_occlum_worker_threads(cfg) : 0));
    json_object_set_new(t, "processThreads", json_integer(ncsl_cli_occlum_process_threads(cfg)));
    json_object_set_new(t, "extraThreads", json_integer(NCSL_OCCLUM_EXTRA_THREADS));
    json_object_set_new(t, "occlumMaxNumOfThreads", json_integer(ncsl_cli_occlum_max_threads(cfg)));
    json_object_set_new(t, "ok", json_boolean(daemon <= cfg->tee.occlum.max_threads));
    json_object_set_new(c->report, "threads", t);
    if (daemon > cfg->tee.occlum.max_threads && procs) {
        finding(c, LV_ERROR, "Tee.Occlum.MaxThreads",
                "raise Tee.Occlum.MaxThreads, or lower Server.HttpThreads / "
                "Tee.Occlum.MaxProcesses",
                "%u threads (1 main + %u HTTP + %u worker process supervisors) exceed "
                "Tee.Occlum.MaxThreads (%u)",
                daemon, h, cfg->tee.occlum.max_processes, cfg->tee.occlum.max_threads);
    } else if (daemon > cfg->tee.occlum.max_threads) {
        finding(c, LV_ERROR, "Tee.Occlum.MaxThreads",
                "raise Tee.Occlum.MaxThreads, or lower Server.HttpThreads / JavaScript.Workers",
                "%u threads (1 main + %u HTTP + up to %u JavaScript workers + 1 fetch I/O) exceed "
                "Tee.Occlum.MaxThreads (%u)",
                daemon, h, mw, cfg->tee.occlum.max_threads);
    }
    for (size_t i = 0; i < cfg->note_count; i++) {
        finding(c, LV_INFO, NULL, NULL, "%s", cfg->notes[i]);
    }
}

/* The seed's Tee.Occlum.NodeJsPath and the other settings this build accepts but does not use. */
static void check_unused(check *c, const ncsl_config *cfg) {
    const char *node = cfg->tee.occlum.node_js_path;
    json_t *n = json_object();
    json_object_set_new(n, "set", json_boolean(node[0] != '\0'));
    json_object_set_new(n, "path", node[0] ? json_string(node) : json_null());
    json_object_set_new(n, "used", json_false());
    json_t *unused = json_array();
    for (size_t i = 0; i < cfg->unused_count; i++) {
        json_t *u = json_object();
        json_object_set_new(u, "setting", json_string(cfg->unused[i]));
        json_object_set_new(u, "reason", json_string(ncsl_config_unused_reason(cfg->unused[i])));
        json_array_append_new(unused, u);
        if (strcmp(cfg->unused[i], "Tee.Occlum.NodeJsPath") != 0) {
            finding(c, LV_INFO, cfg->unused[i], NULL, "accepted but unused: %s",
                    ncsl_config_unused_reason(cfg->unused[i]));
        }
    }
    json_object_set_new(c->report, "unusedSettings", unused);
    if (node[0]) {
        struct stat st;
        bool exists = stat(node, &st) == 0;
        json_object_set_new(n, "exists", json_boolean(exists));
        if (!exists) {
            finding(c, LV_ERROR, "Tee.Occlum.NodeJsPath",
                    "remove Tee.Occlum.NodeJsPath from the configuration (NCSL needs no Node.js)",
                    "%s does not exist; NCSL never runs Node.js (its JavaScript engine, "
                    "QuickJS-ng, is built in), so the setting is not needed",
                    node);
        } else {
            finding(c, LV_INFO, "Tee.Occlum.NodeJsPath",
                    "remove it from the configuration to silence this",
                    "%s is accepted but unused: the JavaScript engine (QuickJS-ng) is built in",
                    node);
        }
    } else {
        json_object_set_new(n, "exists", json_null());
    }
    json_object_set_new(c->report, "nodeJsPath", n);
}

/* ------------------------------------------------------------------ the TEE backend */

/* Which backend the configuration picks, and which Auto would; returns the configured pick's
 * kind (0 when it cannot start). */
static ncsl_tee_kind check_tee(check *c, const ncsl_config *cfg) {
    json_t *t = json_object();
    json_object_set_new(c->report, "tee", t);
    json_object_set_new(t, "configuredType", json_string(ncsl_tee_type_name(cfg->tee.type)));
    json_t *forced = json_array();
    if (cfg->tee.simulation_mode) {
        json_array_append_new(forced, json_string("Tee.SimulationMode"));
    }
    if (cfg->simulation_forced_by_env) {
        json_array_append_new(forced, json_string("OCCLUM_SIMULATION"));
    }
    json_object_set_new(t, "simulationForced", json_boolean(json_array_size(forced) > 0));
    json_object_set_new(t, "forcedBy", forced);

    ncsl_tee_options o;
    ncsl_tee_options_from_config(&o, cfg);
    const char *names[2] = {NULL, NULL};
    ncsl_tee_kind kinds[2] = {0, 0};
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            o.type = NCSL_TEE_AUTO; /* what Auto picks (forcing still applies) */
        }
        char reason[NCSL_TEE_REASON_SIZE];
        ncsl_err err;
        ncsl_err_clear(&err);
        json_t *sel = json_object();
        if (ncsl_tee_select(&o, &names[pass], &kinds[pass], reason, sizeof(reason), &err) ==
            NCSL_OK) {
            json_object_set_new(sel, "backend", json_string(names[pass]));
            json_object_set_new(
                sel, "kind",
                json_string(kinds[pass] == NCSL_TEE_KIND_HARDWARE ? "hardware" : "simulation"));
            json_object_set_new(sel, "reason", json_string(reason));
            json_object_set_new(sel, "error", json_null());
        } else {
            names[pass] = NULL;
            kinds[pass] = 0;
            json_object_set_new(sel, "backend", json_null());
            json_object_set_new(sel, "kind", json_null());
            json_object_set_new(sel, "reason", json_null());
            json_object_set_new(sel, "error", json_string(err.message));
            if (pass == 0) {
                finding(c, LV_ERROR, "Tee.Type",
                        "set Tee.Type to Auto (or Simulation), or run ncsld where that TEE is",
                        "%s", err.message);
            }
        }
        json_object_set_new(t, pass == 0 ? "configured" : "auto", sel);
    }
    return kinds[0];
}

/* ------------------------------------------------------------------ text output */

static const char *str_or(json_t *obj, const char *key, const char *dflt) {
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : dflt;
}

/* The integer member `key` of `o` (0 when absent). */
static long long num(const json_t *o, const char *key) {
    return (long long)json_integer_value(json_object_get(o, key));
}

static bool yes(json_t *obj, const char *key) {
    return json_is_true(json_object_get(obj, key));
}

static void print_text(json_t *r) {
    printf("NCSL platform check (ncsl %s)\n\n", ncsl_version());
    printf("SGX devices\n");
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(json_object_get(r, "sgx"), "devices"), i, d) {
        if (!yes(d, "exists")) {
            printf("  %-22s absent\n", str_or(d, "path", ""));
        } else {
            printf("  %-22s %s, %s\n", str_or(d, "path", ""), str_or(d, "type", "?"),
                   yes(d, "readable") && yes(d, "writable") ? "read/write for us"
                   : yes(d, "readable")                     ? "read-only for us"
                                                            : "no access for us");
        }
    }
    json_t *occ = json_object_get(r, "occlum");
    json_t *gr = json_object_get(r, "gramine");
    printf("\nEnclave runtime\n");
    printf("  %-22s %s (uname sysname \"%s\"; /dev/sgx %s a character device)\n", "Occlum",
           yes(occ, "inside") ? "inside" : "not inside", str_or(occ, "sysname", ""),
           yes(occ, "sgxCharDevice") ? "is" : "is not");
    if (!yes(gr, "attestationDir")) {
        printf("  %-22s not inside (/dev/attestation absent)\n", "Gramine");
    } else {
        printf("  %-22s inside (attestation_type %s)\n", "Gramine",
               str_or(gr, "attestationType", "absent: gramine-direct, no SGX"));
    }
    json_t *tool = json_object_get(r, "occlumTool");
    printf("\n%-24s ", "occlum tool");
    if (yes(tool, "found")) {
        printf("%s, version %s (%s)\n", str_or(tool, "path", ""), str_or(tool, "version", "?"),
               str_or(tool, "versionSource", ""));
    } else if (yes(occ, "inside")) {
        printf("not looked for (inside Occlum)\n");
    } else {
        printf("not found on PATH\n");
    }
    json_t *inst = json_object_get(r, "instance");
    if (inst) {
        printf("%-24s %s: ", "Occlum instance", str_or(inst, "dir", ""));
        if (!yes(inst, "checked")) {
            printf("not checked (a host path, not visible inside the enclave)\n");
        } else if (!yes(inst, "exists")) {
            printf("does not exist\n");
        } else {
            printf("%s, %s\n", yes(inst, "valid") ? "valid Occlum.json and image/" : "not valid",
                   yes(inst, "built") ? "built" : "not built");
        }
    }
    json_t *dd = json_object_get(r, "dataDir");
    if (dd) {
        printf("%-24s %s: ", "Data dir", str_or(dd, "path", ""));
        if (!yes(dd, "exists")) {
            printf("does not exist%s\n",
                   yes(dd, "creatable") ? " (ncsld creates it)" : ", cannot be created");
        } else if (!json_object_get(dd, "mode")) {
            printf("%s\n", str_or(dd, "type", "?"));
        } else {
            printf("mode %s, %s, %s\n", str_or(dd, "mode", "?"),
                   yes(dd, "ownedByUs") ? "ours" : "NOT ours",
                   yes(dd, "writable") ? "writable" : "NOT writable");
        }
    }
    json_t *m = json_object_get(r, "memory");
    if (m) {
        printf("%-24s Tee.Occlum.MaxMemoryMB %lld %s JavaScript.MaxMemoryMB %lld + overhead %lld "
               "= %lld MB\n",
               "Memory", (long long)json_integer_value(json_object_get(m, "teeMaxMemoryMB")),
               yes(m, "ok") ? ">=" : "<",
               (long long)json_integer_value(json_object_get(m, "jsMaxMemoryMB")),
               (long long)json_integer_value(json_object_get(m, "overheadMB")),
               (long long)json_integer_value(json_object_get(m, "requiredMB")));
    }
    json_t *t = json_object_get(r, "threads");
    if (t) {
        const char *iso = json_string_value(json_object_get(t, "isolation"));
        if (iso && strcmp(iso, "process") == 0) {
            printf("%-24s %lld of Tee.Occlum.MaxThreads %lld (HTTP %lld, %lld worker process "
                   "supervisors); Occlum max_num_of_threads %lld (= %lld + %lld signing + %lld "
                   "worker processes x %lld + %lld Occlum/helpers)\n",
                   "Threads", num(t, "daemonThreads"), num(t, "maxThreads"), num(t, "httpThreads"),
                   num(t, "maxProcesses"), num(t, "occlumMaxNumOfThreads"), num(t, "maxThreads"),
                   num(t, "signingThreads"), num(t, "maxProcesses"), num(t, "workerProcessThreads"),
                   num(t, "extraThreads"));
        } else {
            printf("%-24s %lld of Tee.Occlum.MaxThreads %lld (HTTP %lld, JS workers %lld..%lld); "
                   "Occlum max_num_of_threads %lld (= %lld + %lld signing + %lld Occlum/helpers)\n",
                   "Threads", num(t, "daemonThreads"), num(t, "maxThreads"), num(t, "httpThreads"),
                   num(t, "workers"), num(t, "maxWorkers"), num(t, "occlumMaxNumOfThreads"),
                   num(t, "maxThreads"), num(t, "signingThreads"), num(t, "extraThreads"));
        }
    }
    json_t *nj = json_object_get(r, "nodeJsPath");
    if (nj) {
        printf("%-24s %s\n", "Tee.Occlum.NodeJsPath",
               !yes(nj, "set")     ? "not set (not needed: QuickJS-ng is built in)"
               : yes(nj, "exists") ? "set, unused (QuickJS-ng is built in)"
                                   : "set to a path that does not exist (unused)");
    }
    json_t *tee = json_object_get(r, "tee");
    if (tee) {
        json_t *cf = json_object_get(tee, "configured");
        json_t *au = json_object_get(tee, "auto");
        printf("%-24s Tee.Type %s -> %s: %s\n", "TEE backend", str_or(tee, "configuredType", "?"),
               str_or(cf, "backend", "cannot start"),
               str_or(cf, "reason", str_or(cf, "error", "")));
        if (strcmp(str_or(tee, "configuredType", ""), "Auto") != 0) {
            printf("%-24s Tee.Type Auto would pick %s: %s\n", "", str_or(au, "backend", "nothing"),
                   str_or(au, "reason", str_or(au, "error", "")));
        }
    }
    json_t *fs = json_object_get(r, "findings");
    if (json_array_size(fs) > 0) {
        printf("\nFindings\n");
        json_t *f;
        json_array_foreach(fs, i, f) {
            const char *setting = str_or(f, "setting", NULL);
            printf("  %-7s %s%s%s\n", str_or(f, "level", ""), setting ? setting : "",
                   setting ? ": " : "", str_or(f, "message", ""));
            if (str_or(f, "fix", NULL)) {
                printf("          fix: %s\n", str_or(f, "fix", ""));
            }
        }
    }
    printf("\nVerdict: %s\n", str_or(r, "summary", ""));
    printf("Exit status %lld (0 SGX hardware usable, 3 simulation only, 1 broken)\n",
           (long long)json_integer_value(json_object_get(r, "exitCode")));
}

/* ------------------------------------------------------------------ the command */

static void check_usage(FILE *f) {
    fprintf(f, "usage: ncsl check [--config FILE] [--data-dir DIR] [--json]\n"
               "\n"
               "Reports what this machine offers NCSL and why: the SGX devices, whether this runs\n"
               "inside Occlum or Gramine, the occlum tool and its version, the configured Occlum\n"
               "instance (Tee.Occlum.InstanceDir), the data dir's permissions, the memory and\n"
               "thread settings against their limits, Tee.Occlum.NodeJsPath, and the TEE backend\n"
               "that Tee.Type (and Auto) picks. Every problem names the setting and the fix.\n"
               "Read-only: nothing is created. See docs/troubleshooting.md.\n"
               "\n"
               "options:\n"
               "  --config FILE   NCSL configuration (default: built-in defaults)\n"
               "  --data-dir DIR  the data dir to check (default: the config's Server.DataDir)\n"
               "  --json          print the report as one JSON object (shape: docs/cli.md)\n"
               "  -h, --help      show this help and exit\n"
               "\n"
               "Exit status: 0 SGX hardware is usable; 3 simulation only (usable, not\n"
               "confidential); 1 a broken configuration or an unusable data dir; 2 bad usage.\n");
}

/* Whether the configuration file itself sets Tee.Occlum.InstanceDir (the default is advice
 * only). */
static bool file_sets_instance_dir(const char *config) {
    if (!config) {
        return false;
    }
    json_t *root = json_load_file(config, 0, NULL);
    json_t *v =
        json_object_get(json_object_get(json_object_get(root, "Tee"), "Occlum"), "InstanceDir");
    bool set = v != NULL;
    json_decref(root);
    return set;
}

int ncsl_cli_cmd_check(int argc, char **argv) {
    const char *config = NULL;
    const char *data_dir = NULL;
    bool as_json = false;
    const ncsl_cli_opt opts[] = {
        {"--config", NULL, &config, NULL},
        {"--data-dir", NULL, &data_dir, NULL},
        {"--json", NULL, NULL, &as_json},
    };
    const char *pos[1];
    size_t npos = 0;
    int rc =
        ncsl_cli_parse("check", argc, argv, opts, NCSL_ARRAY_LEN(opts), pos, 0, &npos, check_usage);
    if (rc != 0) {
        return rc > 0 ? NCSL_CLI_EXIT_OK : NCSL_CLI_EXIT_USAGE;
    }
    if (data_dir && (!*data_dir || strlen(data_dir) >= NCSL_CONFIG_PATH_MAX)) {
        ncsl_cli_errorf("check: --data-dir: expected a directory path");
        return NCSL_CLI_EXIT_USAGE;
    }

    check c;
    memset(&c, 0, sizeof(c));
    c.uid = geteuid();
    c.report = json_object();
    c.findings = json_array();
    ncsl_config *cfg = calloc(1, sizeof(*cfg));
    if (!c.report || !c.findings || !cfg) {
        ncsl_cli_errorf("check: out of memory");
        json_decref(c.report);
        json_decref(c.findings);
        free(cfg);
        return NCSL_CLI_EXIT_FAIL;
    }
    json_object_set_new(c.report, "version", json_integer(REPORT_VERSION));
    json_object_set_new(c.report, "ncslVersion", json_string(ncsl_version()));

    /* The configuration as ncsld reads it: defaults, the file, the environment, cross-checks. */
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_config_defaults(cfg);
    bool cfg_ok = !config || ncsl_config_load_file(cfg, config, &err) == NCSL_OK;
    if (cfg_ok) {
        ncsl_config_apply_env(cfg, NULL);
        cfg_ok = ncsl_config_finalize(cfg, &err) == NCSL_OK;
    }
    json_t *jc = json_object();
    json_object_set_new(jc, "file", config ? json_string(config) : json_null());
    json_object_set_new(jc, "loaded", json_boolean(cfg_ok));
    json_object_set_new(jc, "error", cfg_ok ? json_null() : json_string(err.message));
    json_object_set_new(c.report, "config", jc);
    if (!cfg_ok) {
        char fix[128];
        snprintf(fix, sizeof(fix), "correct %s in %s (docs/configuration.md)",
                 err.field[0] ? err.field : "the file", config ? config : "the configuration");
        finding(&c, LV_ERROR, err.field[0] ? err.field : (config ? "--config" : NULL), fix, "%s",
                err.message);
        /* The platform is still worth reporting: probe it with the defaults. */
        ncsl_config_defaults(cfg);
        ncsl_config_apply_env(cfg, NULL);
        ncsl_err_clear(&err);
        if (ncsl_config_finalize(cfg, &err) != NCSL_OK) {
            finding(&c, LV_ERROR, err.field, NULL, "%s", err.message);
        }
    }

    bool hw_host = probe_devices(&c);
    bool in_occlum = probe_runtimes(&c);
    probe_tool(&c, in_occlum);
    bool tool_found = yes(json_object_get(c.report, "occlumTool"), "found");
    if (cfg_ok) {
        check_instance(&c, cfg, file_sets_instance_dir(config), in_occlum, tool_found);
    }
    if (cfg_ok || data_dir) {
        check_data_dir(&c, data_dir ? data_dir : cfg->server.data_dir,
                       data_dir ? "--data-dir" : "Server.DataDir");
    }
    if (cfg_ok) {
        check_limits(&c, cfg);
        check_unused(&c, cfg);
    }
    ncsl_tee_kind kind = check_tee(&c, cfg);
    json_t *forced_by = json_object_get(json_object_get(c.report, "tee"), "forcedBy");

    /* The verdict. */
    const char *verdict = NULL;
    char summary[512];
    int exit_code = EXIT_SIMULATION;
    if (c.errors > 0) {
        verdict = "broken";
        exit_code = NCSL_CLI_EXIT_FAIL;
        snprintf(summary, sizeof(summary),
                 "broken: %zu error(s) above (a setting that stops ncsld or the Occlum deployment, "
                 "or an unsafe data dir); each names the setting and the fix",
                 c.errors);
    } else if (kind == NCSL_TEE_KIND_HARDWARE) {
        verdict = "hardware";
        exit_code = NCSL_CLI_EXIT_OK;
        snprintf(
            summary, sizeof(summary),
            "SGX hardware: ncsld here runs in an enclave and its proofs are hardware quotes "
            "(%s)",
            str_or(json_object_get(json_object_get(c.report, "tee"), "configured"), "reason", ""));
    } else if (json_array_size(forced_by) > 0) {
        verdict = "simulation";
        snprintf(summary, sizeof(summary),
                 "simulation only (usable, not confidential): simulation is forced by %s%s%s",
                 json_string_value(json_array_get(forced_by, 0)),
                 json_array_size(forced_by) > 1 ? " and " : "",
                 json_array_size(forced_by) > 1 ? json_string_value(json_array_get(forced_by, 1))
                                                : "");
    } else if (hw_host && !in_occlum) {
        verdict = "hardware";
        exit_code = NCSL_CLI_EXIT_OK;
        snprintf(summary, sizeof(summary),
                 "SGX hardware is usable on this host: run ncsld inside Occlum (`ncsl occlum "
                 "init`, `ncsl occlum build`, docs/occlum.md) for confidential execution; started "
                 "directly on the host, ncsld uses the simulation TEE");
    } else {
        verdict = "simulation";
        snprintf(summary, sizeof(summary),
                 "simulation only (usable, not confidential): no usable SGX device on this host "
                 "(/dev/sgx_enclave, /dev/sgx/enclave, /dev/isgx) and not inside an enclave "
                 "(Occlum or gramine-sgx); ncsld uses the simulation TEE, whose proofs verifiers "
                 "reject unless they allow simulation");
    }
    json_object_set_new(c.report, "verdict", json_string(verdict));
    json_object_set_new(c.report, "exitCode", json_integer(exit_code));
    json_object_set_new(c.report, "summary", json_string(summary));
    json_object_set_new(c.report, "findings", c.findings);

    if (as_json) {
        char *text = json_dumps(c.report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text || !ncsl_cli_write_stdout(text, strlen(text)) ||
            !ncsl_cli_write_stdout("\n", 1)) {
            exit_code = NCSL_CLI_EXIT_FAIL;
        }
        free(text);
    } else {
        print_text(c.report);
        fflush(stdout);
    }
    json_decref(c.report);
    free(cfg);
    return exit_code;
}
