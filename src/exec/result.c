/* ncsl_result: what one execution produced, read through accessors (the struct stays private). */
#include <stdlib.h>

#include "exec/exec_int.h"

bool ncsl__status_is_js_failure(ncsl_status st) {
    return st >= NCSL_E_JS_EXCEPTION && st <= NCSL_E_JS_GAS;
}

void ncsl_result_destroy(ncsl_result *r) {
    if (r) {
        ncsl_js_outcome_cleanup(&r->outcome);
        free(r);
    }
}

ncsl_status ncsl_result_status(const ncsl_result *r) {
    return r ? r->status : NCSL_E_INVALID_ARG;
}

const char *ncsl_result_json(const ncsl_result *r, size_t *len) {
    if (!r || r->status != NCSL_OK || !r->outcome.result_json) {
        if (len) {
            *len = 0;
        }
        return NULL;
    }
    if (len) {
        *len = r->outcome.result_len;
    }
    return r->outcome.result_json;
}

const char *ncsl_result_logs_json(const ncsl_result *r, size_t *len) {
    if (!r || !r->outcome.logs_json) {
        if (len) {
            *len = 2;
        }
        return "[]";
    }
    if (len) {
        *len = r->outcome.logs_len;
    }
    return r->outcome.logs_json;
}

static const char *or_empty(const char *s) {
    return s ? s : "";
}

const char *ncsl_result_error_name(const ncsl_result *r) {
    return r ? or_empty(r->outcome.error_name) : "";
}

const char *ncsl_result_error_message(const ncsl_result *r) {
    return r ? or_empty(r->outcome.error_message) : "";
}

const char *ncsl_result_error_stack(const ncsl_result *r) {
    return r ? or_empty(r->outcome.error_stack) : "";
}

const char *ncsl_result_execution_id(const ncsl_result *r) {
    return r ? r->execution_id : "";
}

uint64_t ncsl_result_execution_time_us(const ncsl_result *r) {
    return r ? r->execution_time_ns / 1000u : 0;
}

uint64_t ncsl_result_memory_used_bytes(const ncsl_result *r) {
    return r ? r->outcome.memory_used_bytes : 0;
}

uint64_t ncsl_result_gas_used(const ncsl_result *r) {
    return r ? r->outcome.gas_used : 0;
}
