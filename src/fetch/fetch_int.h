/*
 * Internals of src/fetch shared by its files and its unit tests: the policy's pure parts (host
 * patterns, address classes, URL checks), with no I/O and no global state.
 */
#ifndef NCSL_FETCH_INT_H
#define NCSL_FETCH_INT_H

#include <sys/socket.h>

#include "fetch/fetch.h"

/* One parsed entry of Fetch.AllowedHosts. */
typedef struct ncsl__fetch_pattern {
    char host[256];  /* lower case, no trailing dot; IPv6 without brackets; "" when any_host */
    bool any_host;   /* "*" */
    bool subdomains; /* "*.host": strict subdomains of host (not host itself) */
    uint16_t port;   /* 0 = any port */
} ncsl__fetch_pattern;

/* Parses one allow-list entry. Returns 0, or -1 with a reason in `why` (e.g. "the port must be a
 * number from 1 to 65535"). */
int ncsl__fetch_pattern_parse(const char *s, ncsl__fetch_pattern *out, char *why, size_t why_size);

/* Whether `host` (lower case, no brackets, no trailing dot) on `port` matches one of the
 * patterns. */
bool ncsl__fetch_host_allowed(const ncsl__fetch_pattern *pats, size_t count, const char *host,
                              unsigned port);

/* The class of an address a request must not reach without Fetch.AllowPrivateNetworks
 * ("loopback", "private", "link-local", "multicast", "unspecified", "shared (carrier-grade
 * NAT)", "reserved", "unique local", "site-local"), or NULL for a public address. IPv4-mapped,
 * IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) IPv6 addresses are judged by the
 * IPv4 address they carry. Families other than AF_INET/AF_INET6 are "non-IP". */
const char *ncsl__fetch_addr_kind(const struct sockaddr *sa);

/* The same for an IP literal ("10.0.0.1", "::1"); *is_ip false (and NULL returned) when `host`
 * is not an IP literal. */
const char *ncsl__fetch_literal_kind(const char *host, bool *is_ip);

/* Numeric text of an address ("127.0.0.1", "::1"). */
void ncsl__fetch_addr_text(const struct sockaddr *sa, char *out, size_t out_size);

/* A URL checked against the policy. */
typedef struct ncsl__fetch_url {
    char *url;      /* malloc'd normalized URL without fragment (caller frees) */
    char host[256]; /* lower case, IPv6 without brackets, no trailing dot */
    unsigned port;  /* the effective port */
    bool https;
} ncsl__fetch_url;

/*
 * Parses `url` and checks it: absolute http(s) URL, no user:password@, host in the patterns,
 * and, when !allow_private, an IP-literal host that is a public address. Returns 0 (out filled),
 * or -1 with the TypeError text in `msg` ("fetch: host 'x' is not in Fetch.AllowedHosts", ...).
 * `what` names the URL in messages ("argument 1 (url)", "the redirect target").
 */
int ncsl__fetch_url_check(const char *url, const ncsl__fetch_pattern *pats, size_t count,
                          bool allow_private, const char *what, ncsl__fetch_url *out, char *msg,
                          size_t msg_size);

#endif
