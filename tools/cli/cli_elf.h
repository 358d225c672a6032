/*
 * The shared libraries a dynamically linked program loads, found the way the dynamic loader (and
 * so `ldd`) finds them, without running anything: `ncsl occlum init` copies them into the image.
 *
 * Each object's DT_NEEDED entries are looked up, breadth first, in: the object's DT_RPATH (when
 * it has no DT_RUNPATH) and the program's, LD_LIBRARY_PATH, the object's DT_RUNPATH ($ORIGIN
 * expanded), the directories of /etc/ld.so.conf (with its includes), then the standard
 * directories (/lib/<multiarch>, /usr/lib/<multiarch>, /lib64, /usr/lib64, /lib, /usr/lib).
 * A candidate counts only when it is an ELF file of this machine's class and architecture, as
 * for the loader. Each soname is resolved once (the first found wins). `prefer_dir`, when given,
 * is searched before everything else (Occlum's own glibc in /opt/occlum/glibc/lib, as Occlum's
 * copy_bom does).
 *
 * Only 64-bit little-endian ELF files of the machine NCSL was built for are understood; anything
 * else (a script, a truncated or corrupt file, another architecture) is an error naming the file.
 */
#ifndef NCSL_CLI_ELF_H
#define NCSL_CLI_ELF_H

#include <stdbool.h>
#include <stddef.h>

#define NCSL_CLI_ELF_MAX_LIBS 512

typedef struct ncsl_cli_elf_lib {
    char *soname; /* the DT_NEEDED name ("libc.so.6"): the file name in the image */
    char *path;   /* where it was found (may be a symlink; open() follows it) */
} ncsl_cli_elf_lib;

typedef struct ncsl_cli_elf_deps {
    char *interp; /* PT_INTERP of the first program ("/lib64/ld-linux-x86-64.so.2"), or NULL */
    ncsl_cli_elf_lib libs[NCSL_CLI_ELF_MAX_LIBS];
    size_t count;
} ncsl_cli_elf_deps;

/*
 * Resolves the libraries of `count` programs (`programs` borrowed) into *out (caller-owned; free
 * with ncsl_cli_elf_deps_free even on failure). Returns false with a message in `why` (a library
 * not found names the library and who needs it; a bad file names the file).
 */
bool ncsl_cli_elf_resolve(const char *const *programs, size_t count, const char *prefer_dir,
                          ncsl_cli_elf_deps *out, char *why, size_t why_size);

void ncsl_cli_elf_deps_free(ncsl_cli_elf_deps *d);

#endif
