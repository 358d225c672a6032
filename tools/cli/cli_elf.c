/*
 * Shared library resolution for `ncsl occlum init` (cli_elf.h): reads the ELF program headers
 * and the dynamic section of each object; nothing is executed, so a packager never runs the
 * binaries it packs (and works for an image of another libc, which the host's loader could not
 * list).
 *
 * Every offset and size read from a file is checked against the file's size before use: the
 * input may be any file the operator names (--ncsld), including a corrupt one.
 */
#include "cli_elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

#if defined(__x86_64__)
#define ELF_MACHINE EM_X86_64
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define ELF_MACHINE EM_AARCH64
#define MULTIARCH "aarch64-linux-gnu"
#else
#error "cli_elf.c: add this architecture's ELF machine and multiarch triplet"
#endif

#define MAX_FILE_SIZE ((uint64_t)2 << 30) /* 2 GiB: larger is no program we pack */
#define MAX_NEEDED 256                    /* DT_NEEDED entries of one object */
#define MAX_CONF_DIRS 64
#define MAX_CONF_DEPTH 4

/* What one object says about its dependencies. Strings are malloc'd. */
typedef struct elf_info {
    char *interp;
    char *needed[MAX_NEEDED];
    size_t n_needed;
    char *rpath;
    char *runpath;
    char *origin; /* the directory of the object's real path, for $ORIGIN */
} elf_info;

static void info_free(elf_info *e) {
    free(e->interp);
    for (size_t i = 0; i < e->n_needed; i++) {
        free(e->needed[i]);
    }
    free(e->rpath);
    free(e->runpath);
    free(e->origin);
    memset(e, 0, sizeof(*e));
}

static void set_why(char *why, size_t size, const char *fmt, ...) NCSL_PRINTF(3, 4);
static void set_why(char *why, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, size, fmt, ap);
    va_end(ap);
}

/* [off, off + len) lies inside a file of `size` bytes. */
static bool in_file(uint64_t size, uint64_t off, uint64_t len) {
    return off <= size && len <= size - off;
}

/* The file offset of virtual address `v`, through the PT_LOAD segments; false when unmapped. */
static bool vaddr_to_off(const uint8_t *map, uint64_t size, const Elf64_Ehdr *eh, uint64_t v,
                         uint64_t *off) {
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, map + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_LOAD && v >= ph.p_vaddr && v - ph.p_vaddr < ph.p_filesz &&
            in_file(size, ph.p_offset, ph.p_filesz)) {
            *off = ph.p_offset + (v - ph.p_vaddr);
            return true;
        }
    }
    return false;
}

/* A copy of the string at `idx` of the string table [str_off, str_off + str_size), or NULL when
 * it is not a NUL-terminated string inside the table. */
static char *table_string(const uint8_t *map, uint64_t str_off, uint64_t str_size, uint64_t idx) {
    if (idx >= str_size) {
        return NULL;
    }
    const char *s = (const char *)map + str_off + idx;
    const char *nul = memchr(s, '\0', (size_t)(str_size - idx));
    if (!nul || nul == s) {
        return NULL;
    }
    return ncsl_strndup(s, (size_t)(nul - s));
}

static char *dir_of_realpath(const char *path) {
    char *real = realpath(path, NULL);
    if (!real) {
        return NULL;
    }
    char *slash = strrchr(real, '/');
    if (slash == real) {
        slash[1] = '\0';
    } else if (slash) {
        *slash = '\0';
    }
    return real;
}

typedef enum elf_result {
    ELF_OK,
    ELF_FOREIGN, /* not an ELF object of this machine: a loader would skip it */
    ELF_BAD,     /* unreadable or corrupt */
} elf_result;

static elf_result parse_mapped(const uint8_t *map, uint64_t size, const char *path, elf_info *e,
                               char *why, size_t why_size) {
    Elf64_Ehdr eh;
    if (size < sizeof(eh) || memcmp(map, ELFMAG, SELFMAG) != 0) {
        set_why(why, why_size, "%s is not an ELF file", path);
        return ELF_FOREIGN;
    }
    memcpy(&eh, map, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_machine != ELF_MACHINE) {
        set_why(why, why_size, "%s is an ELF file for another machine (class %u, machine %u)", path,
                (unsigned)eh.e_ident[EI_CLASS], (unsigned)eh.e_machine);
        return ELF_FOREIGN;
    }
    if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
        set_why(why, why_size, "%s is neither a program nor a shared library (ELF type %u)", path,
                (unsigned)eh.e_type);
        return ELF_BAD;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
        !in_file(size, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))) {
        set_why(why, why_size, "%s: corrupt ELF program headers", path);
        return ELF_BAD;
    }
    uint64_t dyn_off = 0;
    uint64_t dyn_size = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, map + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        if (ph.p_type == PT_INTERP) {
            if (!in_file(size, ph.p_offset, ph.p_filesz) || ph.p_filesz < 2 || e->interp) {
                set_why(why, why_size, "%s: corrupt PT_INTERP", path);
                return ELF_BAD;
            }
            const char *s = (const char *)map + ph.p_offset;
            const char *nul = memchr(s, '\0', (size_t)ph.p_filesz);
            if (!nul || nul == s) {
                set_why(why, why_size, "%s: corrupt PT_INTERP", path);
                return ELF_BAD;
            }
            e->interp = ncsl_strndup(s, (size_t)(nul - s));
        } else if (ph.p_type == PT_DYNAMIC) {
            if (!in_file(size, ph.p_offset, ph.p_filesz)) {
                set_why(why, why_size, "%s: corrupt PT_DYNAMIC", path);
                return ELF_BAD;
            }
            dyn_off = ph.p_offset;
            dyn_size = ph.p_filesz;
        }
    }
    if (dyn_size == 0) {
        return ELF_OK; /* static: no libraries */
    }
    uint64_t strtab = 0;
    uint64_t strsz = 0;
    uint64_t needed_idx[MAX_NEEDED];
    size_t n_needed = 0;
    bool have_rpath = false;
    bool have_runpath = false;
    uint64_t rpath_idx = 0;
    uint64_t runpath_idx = 0;
    bool have_strtab = false;
    for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= dyn_size; off += sizeof(Elf64_Dyn)) {
        Elf64_Dyn d;
        memcpy(&d, map + dyn_off + off, sizeof(d));
        if (d.d_tag == DT_NULL) {
            break;
        }
        switch (d.d_tag) {
        case DT_NEEDED:
            if (n_needed >= MAX_NEEDED) {
                set_why(why, why_size, "%s needs more than %d libraries", path, MAX_NEEDED);
                return ELF_BAD;
            }
            needed_idx[n_needed++] = d.d_un.d_val;
            break;
        case DT_STRTAB:
            strtab = d.d_un.d_ptr;
            have_strtab = true;
            break;
        case DT_STRSZ:
            strsz = d.d_un.d_val;
            break;
        case DT_RPATH:
            rpath_idx = d.d_un.d_val;
            have_rpath = true;
            break;
        case DT_RUNPATH:
            runpath_idx = d.d_un.d_val;
            have_runpath = true;
            break;
        default:
            break;
        }
    }
    if (n_needed == 0 && !have_rpath && !have_runpath) {
        return ELF_OK;
    }
    uint64_t str_off = 0;
    if (!have_strtab || !vaddr_to_off(map, size, &eh, strtab, &str_off) ||
        !in_file(size, str_off, strsz)) {
        set_why(why, why_size, "%s: corrupt dynamic string table", path);
        return ELF_BAD;
    }
    for (size_t i = 0; i < n_needed; i++) {
        e->needed[i] = table_string(map, str_off, strsz, needed_idx[i]);
        if (!e->needed[i]) {
            set_why(why, why_size, "%s: corrupt DT_NEEDED entry", path);
            return ELF_BAD;
        }
        e->n_needed = i + 1;
    }
    if (have_rpath && !(e->rpath = table_string(map, str_off, strsz, rpath_idx))) {
        set_why(why, why_size, "%s: corrupt DT_RPATH", path);
        return ELF_BAD;
    }
    if (have_runpath && !(e->runpath = table_string(map, str_off, strsz, runpath_idx))) {
        set_why(why, why_size, "%s: corrupt DT_RUNPATH", path);
        return ELF_BAD;
    }
    return ELF_OK;
}

static elf_result elf_read(const char *path, elf_info *e, char *why, size_t why_size) {
    memset(e, 0, sizeof(*e));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_why(why, why_size, "cannot open %s: %s", path, strerror(errno));
        return errno == ENOENT ? ELF_FOREIGN : ELF_BAD;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        set_why(why, why_size, "%s is not a regular file", path);
        close(fd);
        return ELF_FOREIGN;
    }
    if ((uint64_t)st.st_size > MAX_FILE_SIZE || st.st_size == 0) {
        set_why(why, why_size, "%s: size %lld is not that of a program", path,
                (long long)st.st_size);
        close(fd);
        return ELF_BAD;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        set_why(why, why_size, "cannot read %s: %s", path, strerror(errno));
        return ELF_BAD;
    }
    elf_result r = parse_mapped(map, (uint64_t)st.st_size, path, e, why, why_size);
    munmap(map, (size_t)st.st_size);
    if (r == ELF_OK) {
        e->origin = dir_of_realpath(path);
        if (!e->origin) {
            set_why(why, why_size, "cannot resolve %s: %s", path, strerror(errno));
            r = ELF_BAD;
        }
    }
    if (r != ELF_OK) {
        info_free(e);
    }
    return r;
}

/* ------------------------------------------------------------------------- search paths */

typedef struct search_ctx {
    char *conf_dirs[MAX_CONF_DIRS]; /* /etc/ld.so.conf */
    size_t n_conf;
    const char *prefer_dir;
} search_ctx;

static void conf_add_dir(search_ctx *c, const char *dir, size_t n) {
    if (n == 0 || dir[0] != '/' || c->n_conf >= MAX_CONF_DIRS) {
        return;
    }
    char *d = ncsl_strndup(dir, n);
    if (d) {
        c->conf_dirs[c->n_conf++] = d;
    }
}

/* One ld.so.conf file: directories, and "include GLOB" lines (relative globs are relative to
 * the including file's directory, as ldconfig has it). */
static void conf_read(search_ctx *c, const char *path, int depth) {
    if (depth > MAX_CONF_DEPTH) {
        return;
    }
    FILE *f = fopen(path, "re");
    if (!f) {
        return;
    }
    char line[1024];
    while (fgets(line, sizeof(line), f)) {
        char *hash = strchr(line, '#');
        if (hash) {
            *hash = '\0';
        }
        char *p = line + strspn(line, " \t\r\n");
        size_t n = strcspn(p, " \t\r\n");
        if (n == 0) {
            continue;
        }
        if (n == 7 && strncmp(p, "include", 7) == 0) {
            char *pat = p + 7 + strspn(p + 7, " \t");
            pat[strcspn(pat, " \t\r\n")] = '\0';
            char full[1024];
            if (pat[0] == '/') {
                snprintf(full, sizeof(full), "%s", pat);
            } else {
                char *dir = ncsl_strdup(path);
                char *slash = dir ? strrchr(dir, '/') : NULL;
                if (slash) {
                    *slash = '\0';
                }
                snprintf(full, sizeof(full), "%s/%s", dir && slash ? dir : ".", pat);
                free(dir);
            }
            glob_t g;
            if (glob(full, 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++) {
                    conf_read(c, g.gl_pathv[i], depth + 1);
                }
            }
            globfree(&g);
        } else if (!(n == 5 && strncmp(p, "hwcap", 5) == 0)) {
            conf_add_dir(c, p, n);
        }
    }
    fclose(f);
}

/* `dir` with $ORIGIN / ${ORIGIN} replaced by `origin`, into out (false when too long). */
static bool expand_origin(const char *dir, size_t n, const char *origin, char *out,
                          size_t out_size) {
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t tok = 0;
        if (strncmp(dir + i, "$ORIGIN", 7) == 0 && i + 7 <= n) {
            tok = 7;
        } else if (strncmp(dir + i, "${ORIGIN}", 9) == 0 && i + 9 <= n) {
            tok = 9;
        }
        if (tok) {
            size_t ol = strlen(origin);
            if (o + ol >= out_size) {
                return false;
            }
            memcpy(out + o, origin, ol);
            o += ol;
            i += tok;
            continue;
        }
        if (o + 1 >= out_size) {
            return false;
        }
        out[o++] = dir[i++];
    }
    out[o] = '\0';
    return true;
}

/* Looks for `name` in the colon-separated `list`; on success *found is the malloc'd path. A
 * candidate that is no ELF object of this machine is skipped, as by the loader. */
static elf_result try_list(const char *list, const char *origin, const char *name, char **found,
                           elf_info *info, char *why, size_t why_size) {
    if (!list) {
        return ELF_FOREIGN;
    }
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char dir[2048];
        if (n > 0 && expand_origin(p, n, origin ? origin : ".", dir, sizeof(dir))) {
            char cand[2304];
            if ((size_t)snprintf(cand, sizeof(cand), "%s/%s", dir, name) < sizeof(cand)) {
                elf_result r = elf_read(cand, info, why, why_size);
                if (r == ELF_OK) {
                    *found = ncsl_strdup(cand);
                    if (!*found) {
                        info_free(info);
                        set_why(why, why_size, "out of memory");
                        return ELF_BAD;
                    }
                    return ELF_OK;
                }
                if (r == ELF_BAD) {
                    return r;
                }
            }
        }
        if (!end) {
            return ELF_FOREIGN;
        }
        p = end + 1;
    }
}

static const char *const g_default_dirs =
    "/lib/" MULTIARCH ":/usr/lib/" MULTIARCH ":/lib64:/usr/lib64:/lib:/usr/lib";

/* The loader's search for `name`, needed by `obj` (whose program is `prog`). */
static elf_result search(const search_ctx *c, const elf_info *obj, const elf_info *prog,
                         const char *name, char **found, elf_info *info, char *why,
                         size_t why_size) {
    elf_result r = try_list(c->prefer_dir, NULL, name, found, info, why, why_size);
    if (r == ELF_FOREIGN && !obj->runpath) {
        r = try_list(obj->rpath, obj->origin, name, found, info, why, why_size);
        if (r == ELF_FOREIGN && prog != obj && !prog->runpath) {
            r = try_list(prog->rpath, prog->origin, name, found, info, why, why_size);
        }
    }
    if (r == ELF_FOREIGN) {
        r = try_list(getenv("LD_LIBRARY_PATH"), obj->origin, name, found, info, why, why_size);
    }
    if (r == ELF_FOREIGN) {
        r = try_list(obj->runpath, obj->origin, name, found, info, why, why_size);
    }
    for (size_t i = 0; r == ELF_FOREIGN && i < c->n_conf; i++) {
        r = try_list(c->conf_dirs[i], NULL, name, found, info, why, why_size);
    }
    if (r == ELF_FOREIGN) {
        r = try_list(g_default_dirs, NULL, name, found, info, why, why_size);
    }
    return r;
}

/* ------------------------------------------------------------------------- resolve */

void ncsl_cli_elf_deps_free(ncsl_cli_elf_deps *d) {
    if (!d) {
        return;
    }
    free(d->interp);
    for (size_t i = 0; i < d->count; i++) {
        free(d->libs[i].soname);
        free(d->libs[i].path);
    }
    memset(d, 0, sizeof(*d));
}

static bool known(const ncsl_cli_elf_deps *d, const char *soname) {
    for (size_t i = 0; i < d->count; i++) {
        if (strcmp(d->libs[i].soname, soname) == 0) {
            return true;
        }
    }
    return false;
}

/* Resolves the needs of `obj` (and, depth first through the queue in `out`, of what it loads
 * later): appends the new libraries to `out`; their own needs are handled when the caller's
 * loop reaches them. */
static bool resolve_needs(const search_ctx *c, const elf_info *obj, const elf_info *prog,
                          const char *obj_path, ncsl_cli_elf_deps *out, char *why,
                          size_t why_size) {
    for (size_t i = 0; i < obj->n_needed; i++) {
        const char *name = obj->needed[i];
        const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        if (known(out, base)) {
            continue;
        }
        if (out->count >= NCSL_CLI_ELF_MAX_LIBS) {
            set_why(why, why_size, "more than %d libraries", NCSL_CLI_ELF_MAX_LIBS);
            return false;
        }
        char *found = NULL;
        elf_info info;
        elf_result r = ELF_FOREIGN;
        if (strchr(name, '/')) {
            r = elf_read(name, &info, why, why_size); /* a path: used as it is */
            found = r == ELF_OK ? ncsl_strdup(name) : NULL;
        } else {
            r = search(c, obj, prog, name, &found, &info, why, why_size);
        }
        if (r == ELF_BAD) {
            return false;
        }
        if (r != ELF_OK || !found) {
            if (r == ELF_OK) {
                info_free(&info);
            }
            set_why(why, why_size,
                    "%s (needed by %s) not found in RPATH/RUNPATH, LD_LIBRARY_PATH, "
                    "/etc/ld.so.conf or the standard directories",
                    name, obj_path);
            return false;
        }
        info_free(&info); /* read again when its turn comes */
        out->libs[out->count].soname = ncsl_strdup(base);
        out->libs[out->count].path = found;
        if (!out->libs[out->count].soname) {
            free(found);
            set_why(why, why_size, "out of memory");
            return false;
        }
        out->count++;
    }
    return true;
}

bool ncsl_cli_elf_resolve(const char *const *programs, size_t count, const char *prefer_dir,
                          ncsl_cli_elf_deps *out, char *why, size_t why_size) {
    bool ok = false;
    search_ctx c;
    memset(&c, 0, sizeof(c));
    memset(out, 0, sizeof(*out));
    c.prefer_dir = prefer_dir;
    conf_read(&c, "/etc/ld.so.conf", 0);

    for (size_t p = 0; p < count; p++) {
        elf_info prog;
        if (elf_read(programs[p], &prog, why, why_size) != ELF_OK) {
            goto out;
        }
        if (!prog.interp && prog.n_needed > 0) {
            set_why(why, why_size, "%s has no program interpreter: not a program", programs[p]);
            info_free(&prog);
            goto out;
        }
        if (!out->interp && prog.interp && !(out->interp = ncsl_strdup(prog.interp))) {
            info_free(&prog);
            set_why(why, why_size, "out of memory");
            goto out;
        }
        size_t first = out->count;
        bool step = resolve_needs(&c, &prog, &prog, programs[p], out, why, why_size);
        /* Breadth first: each library found, in order, adds what it needs. */
        for (size_t i = first; step && i < out->count; i++) {
            elf_info lib;
            if (elf_read(out->libs[i].path, &lib, why, why_size) != ELF_OK) {
                step = false;
                break;
            }
            step = resolve_needs(&c, &lib, &prog, out->libs[i].path, out, why, why_size);
            info_free(&lib);
        }
        info_free(&prog);
        if (!step) {
            goto out;
        }
    }
    ok = true;
out:
    for (size_t i = 0; i < c.n_conf; i++) {
        free(c.conf_dirs[i]);
    }
    return ok;
}
