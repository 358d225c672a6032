/* Helpers of the route files (route_util.h). */
#include "route_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ncsl__http_string_field(http_req *r, json_t *obj, const char *name, bool required, size_t max,
                             const char **value, size_t *len, enum MHD_Result *answered) {
    *value = NULL;
    *len = 0;
    json_t *v = json_object_get(obj, name);
    char msg[160];
    if (!v || json_is_null(v)) {
        if (!required) {
            return true;
        }
        snprintf(msg, sizeof(msg), "%s is required", name);
    } else if (!json_is_string(v)) {
        snprintf(msg, sizeof(msg), "%s must be a string", name);
    } else if (json_string_length(v) == 0) {
        snprintf(msg, sizeof(msg), "%s must not be empty", name);
    } else if (json_string_length(v) > max) {
        snprintf(msg, sizeof(msg), "%s is %zu bytes, the limit is %zu", name, json_string_length(v),
                 max);
    } else if (memchr(json_string_value(v), '\0', json_string_length(v))) {
        snprintf(msg, sizeof(msg), "%s must not contain NUL characters", name);
    } else {
        *value = json_string_value(v);
        *len = json_string_length(v);
        return true;
    }
    *answered = ncsl__http_answer_error(r, 400, "VALIDATION_ERROR", msg, name, NULL);
    return false;
}

bool ncsl__http_page_args(http_req *r, size_t *limit, const char **cursor,
                          enum MHD_Result *answered) {
    *limit = 0;
    *cursor = ncsl__http_query(r, "cursor");
    const char *l = ncsl__http_query(r, "limit");
    if (l) {
        char *end = NULL;
        unsigned long v = strtoul(l, &end, 10);
        if (!*l || *end || l[0] == '-' || v < 1 || v > 1000) {
            *answered =
                ncsl__http_answer_error(r, 400, "VALIDATION_ERROR",
                                        "limit must be an integer from 1 to 1000", "limit", NULL);
            return false;
        }
        *limit = v;
    }
    return true;
}

enum MHD_Result ncsl__http_answer_not_found_or(http_req *r, ncsl_status st, const ncsl_err *err,
                                               const char *what) {
    if (st == NCSL_E_NOT_FOUND) {
        char msg[96];
        snprintf(msg, sizeof(msg), "no such %s", what);
        return ncsl__http_answer_error(r, 404, "NOT_FOUND", msg, NULL, NULL);
    }
    return ncsl__http_answer_status(r, st, err);
}
