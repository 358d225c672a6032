/*
 * Helpers shared by the cmocka unit tests: temporary directories, whole-file reads and writes,
 * byte flips and a simulation TEE on a data directory. Every function asserts (cmocka) instead
 * of returning errors, so only call them from the test process (never from a forked child).
 */
#ifndef NCSL_TEST_UTIL_H
#define NCSL_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ncsl/ncsl.h"
#include "tee/tee.h"

/* A new private (0700) directory under $TMPDIR, or the system's temporary directory, whose name
 * starts with `tag` (borrowed). Caller frees the string; remove the tree with ncsl_test_rmtree. */
char *ncsl_test_tmpdir_make(const char *tag);
/* Removes `path` (borrowed) and everything below it; symbolic links are removed, never followed.
 * A missing path is not an error. */
void ncsl_test_rmtree(const char *path);
/* ncsl_test_rmtree(dir), then frees `dir` (a string from ncsl_test_tmpdir_make). NULL is
 * ignored. */
void ncsl_test_tmpdir_remove(char *dir);
/* "<dir>/<name>" (both borrowed); caller frees. */
char *ncsl_test_path(const char *dir, const char *name);

/* The whole file at `path` (borrowed), NUL-terminated one byte past *len; caller frees. Asserts
 * that the file can be read. */
uint8_t *ncsl_test_read_file(const char *path, size_t *len);
/* The same, but NULL with *len 0 when the file cannot be opened (does not exist). */
uint8_t *ncsl_test_read_file_if_exists(const char *path, size_t *len);
/* Writes `len` bytes of `data` (borrowed) to `path`, truncating an existing file (its mode is
 * kept) or creating a new one with mode 0600. */
void ncsl_test_write_file(const char *path, const void *data, size_t len);

/* A copy of `data` (borrowed, `len` bytes) with byte `off` XORed with `mask`; caller frees. */
uint8_t *ncsl_test_flipped_copy(const uint8_t *data, size_t len, size_t off, uint8_t mask);
/* True when `needle` (n bytes) occurs in `hay` (hay_len bytes); a NULL `hay` contains nothing. */
bool ncsl_test_mem_contains(const uint8_t *hay, size_t hay_len, const void *needle, size_t n);

/* A simulation TEE on `data_dir` (borrowed; its state in <data_dir>/tee). Asserts NCSL_OK,
 * printing the error first when it is not. Caller closes it with ncsl_tee_close. */
ncsl_tee *ncsl_test_open_sim_tee(const char *data_dir);
/* Opens a simulation TEE on `data_dir` with the DEBUG attribute set or not and asserts that the
 * status is `expect`, printing the error when it is not. `err` (caller-owned) is filled. Returns
 * the handle (caller closes it), or what ncsl_tee_open left when it failed. */
ncsl_tee *ncsl_test_open_sim_tee_expect(const char *data_dir, bool debug, ncsl_status expect,
                                        ncsl_err *err);

#endif
