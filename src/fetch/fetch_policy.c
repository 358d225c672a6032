/*
 * The pure parts of the fetch policy: allow-list patterns, the address classes a request may not
 * reach without Fetch.AllowPrivateNetworks, and the URL check run at submit and at every redirect
 * hop. The address check that really protects is the one on the resolved address right before
 * connect (fetch.c, open_socket): a name can resolve to anything, and again differently later
 * (DNS rebinding). Checking IP literals here too only makes the refusal immediate.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fetch/fetch_int.h"

/* ------------------------------------------------------------------------- patterns */
static bool label_char_ok(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A DNS name or IPv4 literal in lower case: labels of 1..63 [a-z0-9-_], at most 253 bytes. */
static bool name_ok(const char *s, size_t n) {
    if (n == 0 || n > 253) {
        return false;
    }
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0) {
                return false;
            }
            label = 0;
            continue;
        }
        if (!label_char_ok((unsigned char)s[i]) || ++label > 63) {
            return false;
        }
    }
    return label > 0;
}

static int parse_port(const char *s, uint16_t *out) {
    unsigned long v = 0;
    if (!*s || strlen(s) > 5) {
        return -1;
    }
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v == 0 || v > 65535) {
        return -1;
    }
    *out = (uint16_t)v;
    return 0;
}

int ncsl__fetch_pattern_parse(const char *s, ncsl__fetch_pattern *out, char *why, size_t why_size) {
    char buf[NCSL_FETCH_MAX_HOST_PATTERN + 2];
    memset(out, 0, sizeof(*out));
    size_t n = s ? strlen(s) : 0;
    if (n == 0) {
        snprintf(why, why_size, "must not be empty");
        return -1;
    }
    if (n > NCSL_FETCH_MAX_HOST_PATTERN) {
        snprintf(why, why_size, "is longer than %d bytes", NCSL_FETCH_MAX_HOST_PATTERN);
        return -1;
    }
    if (strchr(s, '/')) {
        snprintf(why, why_size, "expected a host (\"api.example.com\"), not a URL");
        return -1;
    }
    for (size_t i = 0; i <= n; i++) {
        buf[i] = (char)tolower((unsigned char)s[i]);
    }
    char *host = buf;
    char *port = NULL;
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close || (close[1] != '\0' && close[1] != ':')) {
            snprintf(why, why_size, "expected \"[IPv6]\" or \"[IPv6]:PORT\"");
            return -1;
        }
        *close = '\0';
        port = close[1] == ':' ? close + 2 : NULL;
        host++;
        struct in6_addr a6;
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            snprintf(why, why_size, "'%s' is not an IPv6 address", host);
            return -1;
        }
    } else {
        char *colon = strrchr(host, ':');
        if (colon && memchr(host, ':', (size_t)(colon - host))) {
            snprintf(why, why_size, "IPv6 addresses need brackets: \"[::1]\" or \"[::1]:8080\"");
            return -1;
        }
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
        if (strcmp(host, "*") == 0) {
            out->any_host = true;
        } else {
            if (strncmp(host, "*.", 2) == 0) {
                out->subdomains = true;
                host += 2;
            }
            size_t hl = strlen(host);
            if (hl > 1 && host[hl - 1] == '.') {
                host[--hl] = '\0'; /* "example.com." is example.com */
            }
            if (!name_ok(host, hl)) {
                snprintf(why, why_size,
                         "expected a host name, \"*.domain\", \"*\", an IPv4 address or "
                         "\"[IPv6]\", optionally with \":PORT\"");
                return -1;
            }
        }
    }
    if (port && parse_port(port, &out->port) < 0) {
        snprintf(why, why_size, "the port must be a number from 1 to 65535");
        return -1;
    }
    snprintf(out->host, sizeof(out->host), "%.255s", out->any_host ? "" : host);
    return 0;
}

bool ncsl__fetch_host_allowed(const ncsl__fetch_pattern *pats, size_t count, const char *host,
                              unsigned port) {
    size_t hl = strlen(host);
    for (size_t i = 0; i < count; i++) {
        const ncsl__fetch_pattern *p = &pats[i];
        if (p->port && p->port != port) {
            continue;
        }
        if (p->any_host) {
            return true;
        }
        size_t pl = strlen(p->host);
        if (p->subdomains) {
            if (hl > pl + 1 && host[hl - pl - 1] == '.' && strcmp(host + hl - pl, p->host) == 0) {
                return true;
            }
        } else if (strcmp(host, p->host) == 0) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------- addresses */
static const char *v4_kind(const uint8_t b[4]) {
    uint32_t a = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    static const struct {
        uint32_t net;
        unsigned bits;
        const char *kind;
    } nets[] = {
        {0x00000000u, 8, "unspecified"}, /* 0.0.0.0/8, "this network" */
        {0x0A000000u, 8, "private"},
        {0x64400000u, 10, "shared (carrier-grade NAT)"}, /* 100.64/10 */
        {0x7F000000u, 8, "loopback"},
        {0xA9FE0000u, 16, "link-local"}, /* 169.254/16, cloud metadata services */
        {0xAC100000u, 12, "private"},    /* 172.16/12 */
        {0xC0000000u, 24, "reserved"},   /* 192.0.0/24, IETF protocol assignments */
        {0xC0A80000u, 16, "private"},    /* 192.168/16 */
        {0xC6120000u, 15, "reserved"},   /* 198.18/15, benchmarking */
        {0xE0000000u, 4, "multicast"},
        {0xF0000000u, 4, "reserved"}, /* 240/4 and the broadcast address */
    };
    for (size_t i = 0; i < NCSL_ARRAY_LEN(nets); i++) {
        uint32_t mask = 0xFFFFFFFFu << (32 - nets[i].bits);
        if ((a & mask) == nets[i].net) {
            return nets[i].kind;
        }
    }
    return NULL;
}

static const char *v6_kind(const uint8_t b[16]) {
    static const uint8_t zero[16];
    if (memcmp(b, zero, 16) == 0) {
        return "unspecified";
    }
    if (memcmp(b, zero, 15) == 0 && b[15] == 1) {
        return "loopback";
    }
    if (memcmp(b, zero, 10) == 0 && b[10] == 0xFF && b[11] == 0xFF) {
        return v4_kind(b + 12); /* IPv4-mapped: the kernel connects to the IPv4 address */
    }
    if (memcmp(b, zero, 12) == 0) {
        const char *k = v4_kind(b + 12); /* IPv4-compatible (deprecated) */
        return k ? k : "reserved";
    }
    static const uint8_t nat64[12] = {0x00, 0x64, 0xFF, 0x9B};
    if (memcmp(b, nat64, 12) == 0) {
        return v4_kind(b + 12); /* well-known NAT64 prefix: the IPv4 address behind it */
    }
    if (b[0] == 0x20 && b[1] == 0x02) {
        return v4_kind(b + 2); /* 6to4 */
    }
    if ((b[0] & 0xFE) == 0xFC) {
        return "private (unique local)"; /* fc00::/7 */
    }
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) {
        return "link-local"; /* fe80::/10 */
    }
    if (b[0] == 0xFE && (b[1] & 0xC0) == 0xC0) {
        return "private (site-local)"; /* fec0::/10, deprecated */
    }
    if (b[0] == 0xFF) {
        return "multicast";
    }
    static const uint8_t discard[8] = {0x01, 0x00};
    if (memcmp(b, discard, 8) == 0) {
        return "reserved"; /* 100::/64 */
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) {
        return "reserved"; /* 2001:db8::/32, documentation */
    }
    return NULL;
}

const char *ncsl__fetch_addr_kind(const struct sockaddr *sa) {
    if (!sa) {
        return "non-IP";
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        uint8_t b[4];
        memcpy(b, &in->sin_addr, 4);
        return v4_kind(b);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return v6_kind(in6->sin6_addr.s6_addr);
    }
    return "non-IP";
}

const char *ncsl__fetch_literal_kind(const char *host, bool *is_ip) {
    uint8_t b[16];
    *is_ip = false;
    if (inet_pton(AF_INET, host, b) == 1) {
        *is_ip = true;
        return v4_kind(b);
    }
    if (inet_pton(AF_INET6, host, b) == 1) {
        *is_ip = true;
        return v6_kind(b);
    }
    return NULL;
}

void ncsl__fetch_addr_text(const struct sockaddr *sa, char *out, size_t out_size) {
    const void *a = NULL;
    if (sa && sa->sa_family == AF_INET) {
        a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    } else if (sa && sa->sa_family == AF_INET6) {
        a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    }
    if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)out_size)) {
        snprintf(out, out_size, "(a non-IP address)");
    }
}

/* ------------------------------------------------------------------------- URLs */
/* A host for messages: printable ASCII only, bounded. */
static void host_for_message(const char *host, char *out, size_t n) {
    size_t j = 0;
    for (size_t i = 0; host[i] && j + 1 < n && i < 100; i++) {
        unsigned char c = (unsigned char)host[i];
        out[j++] = c >= 0x20 && c < 0x7F && c != '\'' ? (char)c : '?';
    }
    out[j] = '\0';
}

int ncsl__fetch_url_check(const char *url, const ncsl__fetch_pattern *pats, size_t count,
                          bool allow_private, const char *what, ncsl__fetch_url *out, char *msg,
                          size_t msg_size) {
    int rc = -1;
    CURLU *u = NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *password = NULL;
    char *normalized = NULL;
    char shown[128];

    memset(out, 0, sizeof(*out));
    /* a scheme other than http(s) gets its own message, whatever curl thinks of the rest */
    size_t sl = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (sl > 0 && url[sl] == ':' && isalpha((unsigned char)url[0]) &&
        !(sl == 4 && strncasecmp(url, "http", 4) == 0) &&
        !(sl == 5 && strncasecmp(url, "https", 5) == 0)) {
        char scheme_text[32];
        snprintf(scheme_text, sizeof(scheme_text), "%.*s", (int)(sl < 20 ? sl : 20), url);
        host_for_message(scheme_text, shown, sizeof(shown));
        snprintf(msg, msg_size, "fetch: %s uses the scheme '%s'; only http and https are allowed",
                 what, shown);
        goto out;
    }
    u = curl_url();
    if (!u) {
        snprintf(msg, msg_size, "fetch: out of memory");
        goto out;
    }
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        snprintf(msg, msg_size, "fetch: %s is not a valid absolute URL (%s)", what,
                 curl_url_strerror(uc));
        goto out;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        host_for_message(scheme ? scheme : "", shown, sizeof(shown));
        snprintf(msg, msg_size, "fetch: %s uses the scheme '%s'; only http and https are allowed",
                 what, shown);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK) {
        snprintf(msg, msg_size,
                 "fetch: %s contains credentials (user:password@); send them in a header", what);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0]) {
        snprintf(msg, msg_size, "fetch: %s has no host", what);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        snprintf(msg, msg_size, "fetch: %s has no usable port", what);
        goto out;
    }
    /* the host as matched: lower case, IPv6 without brackets, no trailing dot */
    const char *h = host;
    size_t hl = strlen(h);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= sizeof(out->host)) {
        snprintf(msg, msg_size, "fetch: the host of %s is too long", what);
        goto out;
    }
    for (size_t i = 0; i < hl; i++) {
        out->host[i] = (char)tolower((unsigned char)h[i]);
    }
    out->host[hl] = '\0';
    if (hl > 1 && out->host[hl - 1] == '.') {
        out->host[hl - 1] = '\0';
    }
    out->port = (unsigned)strtoul(port, NULL, 10);
    out->https = strcmp(scheme, "https") == 0;
    host_for_message(out->host, shown, sizeof(shown));
    if (!ncsl__fetch_host_allowed(pats, count, out->host, out->port)) {
        if (count == 0) {
            snprintf(msg, msg_size,
                     "fetch: host '%s' is not in Fetch.AllowedHosts (fetch is off: the operator "
                     "allows no host)",
                     shown);
        } else {
            snprintf(msg, msg_size, "fetch: host '%s' (port %u) is not in Fetch.AllowedHosts",
                     shown, out->port);
        }
        goto out;
    }
    if (!allow_private) {
        bool is_ip = false;
        const char *kind = ncsl__fetch_literal_kind(out->host, &is_ip);
        if (kind) {
            snprintf(msg, msg_size,
                     "fetch: %s is %s %s address (Fetch.AllowPrivateNetworks is off)", shown,
                     strchr("aeiou", kind[0]) ? "an" : "a", kind);
            goto out;
        }
    }
    /* what is sent and reported: the normalized URL without its fragment */
    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
    if (curl_url_get(u, CURLUPART_URL, &normalized, 0) != CURLUE_OK) {
        snprintf(msg, msg_size, "fetch: %s cannot be normalized", what);
        goto out;
    }
    out->url = strdup(normalized);
    if (!out->url) {
        snprintf(msg, msg_size, "fetch: out of memory");
        goto out;
    }
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    if (user) {
        ncsl_wipe(user, strlen(user));
    }
    if (password) {
        ncsl_wipe(password, strlen(password));
    }
    curl_free(user);
    curl_free(password);
    curl_free(normalized);
    curl_url_cleanup(u);
    return rc;
}
