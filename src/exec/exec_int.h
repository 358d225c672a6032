/* Internals of the exec subsystem, shared by its own files only. */
#ifndef NCSL_EXEC_INT_H
#define NCSL_EXEC_INT_H

#include "exec/exec.h"
#include "js/js.h"

struct ncsl_result {
    ncsl_status status;
    ncsl_js_outcome outcome;
    char execution_id[37];
    uint64_t execution_time_ns;
};

/* True for the statuses that mean "the function ran and failed" (a result still exists). */
bool ncsl__status_is_js_failure(ncsl_status st);

/* Deep-copies `count` secrets (names and values); caller frees with ncsl_secrets_free. */
ncsl_status ncsl__secrets_copy(const ncsl_secret *src, size_t count, ncsl_secret **out,
                               ncsl_err *err);

#endif
