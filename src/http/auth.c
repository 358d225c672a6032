/*
 * Who may call what: the admin key, Bearer authentication of every request, and the per-user
 * rate limit.
 *
 * Two kinds of key. The admin key (one per installation) manages users; the server keeps only
 * its SHA-256 and compares in constant time. User keys ("ncsl_..."), made by the admin for a
 * user, are looked up in the store by their keyed hash (src/store), so neither the database nor
 * this process holds them in clear. Every failure to authenticate answers the same 401, whatever
 * the reason (absent, malformed, unknown, revoked, disabled user): the log line says which.
 *
 * Rate limit: a token bucket per user id (Limits.RequestsPerSecond refill, Limits.Burst size),
 * taken on every authenticated user request before its body is read. A bucket that has refilled
 * completely is the same as no bucket, so such buckets are dropped as their hash chain is walked:
 * the table holds only users active within the last Burst / RequestsPerSecond seconds.
 *
 * Operations routes (ACCESS_LOCAL, GET /metrics): open to a peer on a loopback address (a
 * Prometheus or agent on the same host, like /healthz for a local supervisor), otherwise only
 * with the admin key. What they show holds no secret and nothing of any one user.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "http_int.h"
#include "store/store.h"

/* ------------------------------------------------------------------------- admin key */
static bool admin_key_ok(const char *key, size_t len) {
    if (len < NCSL_HTTP_ADMIN_KEY_MIN || len >= NCSL_HTTP_ADMIN_KEY_SIZE) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!isgraph((unsigned char)key[i])) {
            return false;
        }
    }
    return true;
}

static ncsl_status admin_key_take(const char *key, size_t len, const char *field,
                                  char out[NCSL_HTTP_ADMIN_KEY_SIZE], ncsl_err *err) {
    if (!admin_key_ok(key, len)) {
        return ncsl_err_set(err, NCSL_E_CONFIG, field,
                            "the admin key must be %u to %u printable characters without spaces",
                            NCSL_HTTP_ADMIN_KEY_MIN, NCSL_HTTP_ADMIN_KEY_SIZE - 1);
    }
    memcpy(out, key, len);
    out[len] = '\0';
    return NCSL_OK;
}

/* Writes a new key to `path` through a temporary file and a rename, so a crash never leaves a
 * half-written key that a later start would read. */
static ncsl_status admin_key_write(const char *data_dir, const char *path, const char *key,
                                   ncsl_err *err) {
    char tmp[NCSL_CONFIG_PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s/.admin.key.tmp", data_dir);
    (void)unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return ncsl_err_set(err, NCSL_E_IO, "admin.key", "cannot create %s: %s", tmp,
                            strerror(errno));
    }
    size_t len = strlen(key);
    bool ok = ncsl_write_all(fd, key, len) && ncsl_write_all(fd, "\n", 1) && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        (void)unlink(tmp);
        return ncsl_err_set(err, NCSL_E_IO, "admin.key", "cannot write %s: %s", path, strerror(e));
    }
    ncsl_fsync_dir(data_dir);
    return NCSL_OK;
}

ncsl_status ncsl_http_admin_key_load(const ncsl_config *cfg, const char *env_value,
                                     char out[NCSL_HTTP_ADMIN_KEY_SIZE],
                                     ncsl_http_admin_source *source, ncsl_err *err) {
    out[0] = '\0';
    if (env_value && *env_value) {
        *source = NCSL_ADMIN_KEY_FROM_ENV;
        return admin_key_take(env_value, strlen(env_value), "NCSL_ADMIN_KEY", out, err);
    }
    if (cfg->server.admin_key[0]) {
        *source = NCSL_ADMIN_KEY_FROM_CONFIG;
        return admin_key_take(cfg->server.admin_key, strlen(cfg->server.admin_key),
                              "Server.AdminKey", out, err);
    }
    const char *dir = cfg->server.data_dir;
    char path[NCSL_CONFIG_PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/%s", dir, NCSL_HTTP_ADMIN_KEY_FILE);
    uint8_t *buf = NULL;
    size_t len = 0;
    ncsl_status st =
        ncsl_read_small_file(path, 4096, NCSL_E_IO, NCSL_E_CONFIG, "admin.key", &buf, &len, err);
    if (st == NCSL_OK) {
        struct stat sb;
        if (stat(path, &sb) == 0 && (sb.st_mode & 077) != 0) {
            ncsl_wipe(buf, len);
            free(buf);
            return ncsl_err_set(err, NCSL_E_IO, "admin.key",
                                "%s is readable by other users (mode %03o): chmod 600 it", path,
                                (unsigned)(sb.st_mode & 0777));
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
            len--;
        }
        *source = NCSL_ADMIN_KEY_FROM_FILE;
        st = admin_key_take((const char *)buf, len, "admin.key", out, err);
        ncsl_wipe(buf, len);
        free(buf);
        return st;
    }
    if (st != NCSL_E_NOT_FOUND) {
        return st;
    }
    /* First start: make one. 256 random bits, like user keys. */
    uint8_t raw[32];
    st = ncsl_crypto_random(raw, sizeof(raw), err);
    if (st != NCSL_OK) {
        return st;
    }
    static const char prefix[] = "ncsl_admin_";
    memcpy(out, prefix, sizeof(prefix) - 1);
    ncsl_base64url_encode(raw, sizeof(raw), out + sizeof(prefix) - 1);
    ncsl_wipe(raw, sizeof(raw));
    *source = NCSL_ADMIN_KEY_GENERATED;
    st = admin_key_write(dir, path, out, err);
    if (st != NCSL_OK) {
        ncsl_wipe(out, NCSL_HTTP_ADMIN_KEY_SIZE);
    }
    return st;
}

/* ------------------------------------------------------------------------- rate limit */
#define RATE_SLOTS 4096u

typedef struct rate_bucket {
    struct rate_bucket *next;
    char user_id[NCSL_HTTP_ID_SIZE];
    double tokens;
    uint64_t last_us;
} rate_bucket;

struct http_rate {
    pthread_mutex_t mu;
    double per_us; /* tokens refilled per microsecond */
    double burst;
    rate_bucket *slots[RATE_SLOTS];
};

http_rate *ncsl__http_rate_create(unsigned per_second, unsigned burst) {
    if (per_second == 0) {
        return NULL;
    }
    http_rate *rate = calloc(1, sizeof(*rate));
    if (!rate) {
        return NULL;
    }
    pthread_mutex_init(&rate->mu, NULL);
    rate->per_us = (double)per_second / 1e6;
    rate->burst = burst > 0 ? (double)burst : 1.0;
    return rate;
}

void ncsl__http_rate_destroy(http_rate *rate) {
    if (!rate) {
        return;
    }
    for (size_t i = 0; i < RATE_SLOTS; i++) {
        rate_bucket *b = rate->slots[i];
        while (b) {
            rate_bucket *next = b->next;
            free(b);
            b = next;
        }
    }
    pthread_mutex_destroy(&rate->mu);
    free(rate);
}

static uint32_t rate_slot(const char *id) {
    uint32_t h = 2166136261u; /* FNV-1a: ids are random UUIDs, anything spreads them */
    for (; *id; id++) {
        h = (h ^ (uint8_t)*id) * 16777619u;
    }
    return h % RATE_SLOTS;
}

bool ncsl__http_rate_take(http_rate *rate, const char *user_id, unsigned *retry_after_s) {
    *retry_after_s = 0;
    if (!rate) {
        return true;
    }
    uint64_t now = ncsl_now_us();
    bool allowed = true;
    pthread_mutex_lock(&rate->mu);
    rate_bucket **link = &rate->slots[rate_slot(user_id)];
    rate_bucket *found = NULL;
    while (*link) {
        rate_bucket *b = *link;
        double tokens = b->tokens + (double)(now - b->last_us) * rate->per_us;
        if (strcmp(b->user_id, user_id) == 0) {
            b->tokens = tokens < rate->burst ? tokens : rate->burst;
            b->last_us = now;
            found = b;
            link = &b->next;
        } else if (tokens >= rate->burst) {
            *link = b->next; /* full again: the same as absent */
            free(b);
        } else {
            link = &b->next;
        }
    }
    if (!found) {
        found = calloc(1, sizeof(*found));
        if (!found) {
            pthread_mutex_unlock(&rate->mu);
            return true; /* out of memory: fail open, the engine's queue still bounds load */
        }
        snprintf(found->user_id, sizeof(found->user_id), "%s", user_id);
        found->tokens = rate->burst;
        found->last_us = now;
        uint32_t slot = rate_slot(user_id);
        found->next = rate->slots[slot];
        rate->slots[slot] = found;
    }
    if (found->tokens >= 1.0) {
        found->tokens -= 1.0;
    } else {
        allowed = false;
        double wait_us = (1.0 - found->tokens) / rate->per_us;
        unsigned s = (unsigned)(wait_us / 1e6);
        *retry_after_s = s + 1; /* round up: a client that waits this long gets through */
    }
    pthread_mutex_unlock(&rate->mu);
    return allowed;
}

/* ------------------------------------------------------------------------- authentication */
static enum MHD_Result answer_unauthorized(http_req *r, const char *message) {
    return ncsl__http_answer_error(r, 401, "UNAUTHORIZED", message, "Authorization", NULL);
}

/* The token of "Authorization: Bearer <token>" (borrowed from MHD), NULL when absent or not a
 * Bearer credential. */
static const char *bearer_token(http_req *r) {
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        return NULL;
    }
    h += 7;
    while (*h == ' ') {
        h++;
    }
    return *h ? h : NULL;
}

static bool is_admin_key(const ncsl_http_server *srv, const char *token) {
    if (!srv->has_admin) {
        return false;
    }
    uint8_t hash[32];
    if (ncsl_crypto_sha256(token, strlen(token), hash, NULL) != NCSL_OK) {
        return false;
    }
    return CRYPTO_memcmp(hash, srv->admin_hash, sizeof(hash)) == 0;
}

bool ncsl__http_addr_is_loopback(const struct sockaddr *sa) {
    if (!sa) {
        return false;
    }
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127u;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
            return true;
        }
        /* An IPv4 client of a dual-stack socket: ::ffff:127.x.y.z. */
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127u;
    }
    return false;
}

static bool peer_is_loopback(http_req *r) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return ci && ncsl__http_addr_is_loopback(ci->client_addr);
}

ncsl_status ncsl__http_authorize(http_req *r, http_access access, enum MHD_Result *answered) {
    ncsl_http_server *srv = r->srv;
    memset(&r->caller, 0, sizeof(r->caller));
    if (access == ACCESS_PUBLIC || (access == ACCESS_LOCAL && peer_is_loopback(r))) {
        return NCSL_OK;
    }
    if (access != ACCESS_ANY && access != ACCESS_LOCAL && !srv->services.store) {
        *answered = ncsl__http_answer_error(r, 503, "SERVICE_UNAVAILABLE",
                                            "this server has no store: users, functions and "
                                            "secrets are unavailable",
                                            NULL, NULL);
        return NCSL_E_UNSUPPORTED;
    }
    const char *token = bearer_token(r);
    if (!token) {
        *answered = answer_unauthorized(
            r, "this endpoint needs an API key: send \"Authorization: Bearer <key>\"");
        return NCSL_E_INVALID_ARG;
    }
    if (strlen(token) >= 256) {
        *answered = answer_unauthorized(r, "the API key is not valid");
        return NCSL_E_INVALID_ARG;
    }
    /* User keys first: they are the common caller, and the store turns away anything not
     * shaped like one ("ncsl_" and 43 base64url characters) before hashing it, so the admin
     * key costs a string check more and a user key saves the admin key's SHA-256. A token the
     * store does not know is then compared with the admin key, in constant time as before. */
    ncsl_status st = NCSL_E_NOT_FOUND;
    ncsl_err err;
    ncsl_err_clear(&err);
    ncsl_store_api_key key;
    if (srv->services.store) {
        st = ncsl_store_api_key_lookup(srv->services.store, token, &key, &err);
    }
    if (st == NCSL_OK) {
        r->caller.authenticated = true;
        snprintf(r->caller.user_id, sizeof(r->caller.user_id), "%s", key.user_id);
        snprintf(r->caller.key_id, sizeof(r->caller.key_id), "%s", key.id);
    } else if (is_admin_key(srv, token)) {
        r->caller.authenticated = true;
        r->caller.admin = true;
    } else if (st == NCSL_E_NOT_FOUND) {
        if (srv->services.store) {
            NCSL_LOG_INFO("auth", "request %s: key refused: %s", r->request_id, err.message);
        }
        *answered = answer_unauthorized(r, "the API key is not valid");
        return st;
    } else {
        NCSL_LOG_ERROR("auth", "request %s: key lookup failed: %s", r->request_id, err.message);
        *answered = ncsl__http_answer_status(r, st, &err);
        return st;
    }

    if ((access == ACCESS_ADMIN || access == ACCESS_LOCAL) && !r->caller.admin) {
        *answered = ncsl__http_answer_error(r, 403, "FORBIDDEN",
                                            access == ACCESS_LOCAL
                                                ? "this endpoint needs the admin key (or a "
                                                  "connection from the same host)"
                                                : "this endpoint needs the admin key",
                                            "Authorization", NULL);
        return NCSL_E_INVALID_ARG;
    }
    if (access == ACCESS_USER && r->caller.admin) {
        *answered = ncsl__http_answer_error(
            r, 403, "FORBIDDEN",
            "the admin key manages users and has no functions or secrets of its own: use a "
            "user's API key (POST /api/v1/users makes one)",
            "Authorization", NULL);
        return NCSL_E_INVALID_ARG;
    }
    if (!r->caller.admin &&
        !ncsl__http_rate_take(srv->rate, r->caller.user_id, &r->retry_after_s)) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "too many requests: at most %u per second (burst %u); retry in %u s",
                 srv->cfg.limits.requests_per_second, srv->cfg.limits.burst, r->retry_after_s);
        ncsl__http_metrics_inc(&srv->metrics.rate_limited);
        *answered = ncsl__http_answer_error(r, 429, "RATE_LIMITED", msg, NULL, NULL);
        return NCSL_E_BUSY;
    }
    return NCSL_OK;
}
