/*
 * Small helpers shared by the route files: reading fields of a JSON body, paging arguments and
 * the common "not found" answer. Each one that fails has answered the request already and hands
 * back the MHD result through *answered.
 */
#ifndef NCSL_HTTP_ROUTE_UTIL_H
#define NCSL_HTTP_ROUTE_UTIL_H

#include "http_int.h"

#define NCSL_HTTP_MAX_NAME 128u /* user and function names, bytes */

/* Field `name` of `obj` as a string of 1..max bytes without NUL (*value borrowed from obj).
 * Absent: false with a 400 when `required`, else true with *value NULL. */
bool ncsl__http_string_field(http_req *r, json_t *obj, const char *name, bool required, size_t max,
                             const char **value, size_t *len, enum MHD_Result *answered);

/* ?limit=1..1000 (0 when absent: the store's default) and ?cursor= (NULL when absent). */
bool ncsl__http_page_args(http_req *r, size_t *limit, const char **cursor,
                          enum MHD_Result *answered);

/* A secret name: [A-Za-z_][A-Za-z0-9_]{0,63} (names become properties of SECRETS and appear in
 * logs; route_secrets.c). */
bool ncsl__http_secret_name_ok(const char *name);

/* NCSL_E_NOT_FOUND as 404 "no such <what>" (never saying whether it exists for someone else);
 * any other status as itself. */
enum MHD_Result ncsl__http_answer_not_found_or(http_req *r, ncsl_status st, const ncsl_err *err,
                                               const char *what);

#endif
