/* The fetch tests' HTTP server (http_stub.h). */
#include "http_stub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define POLL_MS 50

typedef struct conn {
    http_stub *srv;
    int fd;
    pthread_t thread;
    bool used;
} conn;

struct http_stub {
    int lfd;
    uint16_t port;
    atomic_bool stop;
    atomic_uint accepted;
    pthread_t thread;
    pthread_mutex_t mu;
    conn conns[MAX_CONNS];
};

static bool stopping(const http_stub *s) {
    return atomic_load(&((http_stub *)s)->stop);
}

/* Writes everything, polling so that a stop interrupts a blocked client. */
static bool send_all(http_stub *s, int fd, const char *p, size_t n) {
    while (n > 0) {
        if (stopping(s)) {
            return false;
        }
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        if (poll(&pf, 1, POLL_MS) <= 0) {
            continue;
        }
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static void sleep_ms(http_stub *s, unsigned ms) {
    for (unsigned t = 0; t < ms && !stopping(s); t += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void respond(http_stub *s, int fd, int status, const char *extra_headers, const char *body,
                    size_t body_len) {
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n", status,
                     status == 200 ? "OK" : "Something", body_len, extra_headers);
    if (send_all(s, fd, head, (size_t)n)) {
        send_all(s, fd, body, body_len);
    }
}

/* Reads one request (headers and a Content-Length body) into buf. Returns its length or -1. */
static ssize_t read_request(http_stub *s, int fd, char *buf, size_t cap, size_t *head_len) {
    size_t len = 0;
    size_t need = 0;
    while (len < cap - 1 && !stopping(s)) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, POLL_MS) <= 0) {
            continue;
        }
        ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
        if (r <= 0) {
            return -1;
        }
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && !need) {
            *head_len = (size_t)(end - buf) + 4;
            const char *cl = strcasestr(buf, "\r\ncontent-length:");
            size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
            need = *head_len + body;
        }
        if (need && len >= need) {
            return (ssize_t)len;
        }
    }
    return -1;
}

#define REQ_MAX ((size_t)1 << 16)

static void handle_request(http_stub *s, int fd, const char *req, ssize_t n, size_t head_len);

static void handle(http_stub *s, int fd) {
    char *req = malloc(REQ_MAX + 1);
    size_t head_len = 0;
    ssize_t n = req ? read_request(s, fd, req, REQ_MAX + 1, &head_len) : -1;
    if (n >= 0) {
        handle_request(s, fd, req, n, head_len);
    }
    free(req);
}

static void handle_request(http_stub *s, int fd, const char *req, ssize_t n, size_t head_len) {
    char method[16] = "", path[2048] = "";
    if (sscanf(req, "%15s %2047s", method, path) != 2) {
        return;
    }
    if (!strcmp(path, "/json")) {
        static const char b[] = "{\"ok\":true,\"n\":42}";
        respond(s, fd, 200, "Content-Type: application/json\r\n", b, sizeof(b) - 1);
    } else if (!strcmp(path, "/echo")) {
        /* "METHOD PATH\n" + header lines (without the request line) + "\n" + body */
        char *out = malloc((size_t)n + 4096);
        if (!out) {
            return;
        }
        const char *hdrs = strstr(req, "\r\n") + 2;
        int k = snprintf(out, 4096, "%s %s\n", method, path);
        size_t hl = head_len - (size_t)(hdrs - req); /* with the blank line */
        for (size_t i = 0; i < hl; i++) {
            if (hdrs[i] != '\r') {
                out[k++] = hdrs[i];
            }
        }
        memcpy(out + k, req + head_len, (size_t)n - head_len);
        k += (int)((size_t)n - head_len);
        respond(s, fd, 200, "Content-Type: text/plain\r\n", out, (size_t)k);
        free(out);
    } else if (!strncmp(path, "/slow", 5)) {
        const char *q = strstr(path, "ms=");
        sleep_ms(s, q ? (unsigned)atoi(q + 3) : 1000);
        respond(s, fd, 200, "", "slow", 4);
    } else if (!strcmp(path, "/hang")) {
        while (!stopping(s)) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            if (poll(&pf, 1, POLL_MS) > 0) {
                char c;
                if (recv(fd, &c, 1, 0) <= 0) {
                    return; /* the client gave up */
                }
            }
        }
    } else if (!strcmp(path, "/big") || !strcmp(path, "/big-cl")) {
        const char *h = !strcmp(path, "/big") ? "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                                              : "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n"
                                                "Connection: close\r\n\r\n";
        if (!send_all(s, fd, h, strlen(h))) {
            return;
        }
        static char chunk[64 << 10];
        memset(chunk, 'x', sizeof(chunk));
        while (send_all(s, fd, chunk, sizeof(chunk))) {
        }
    } else if (!strncmp(path, "/redirect?to=", 13)) {
        char h[2200];
        snprintf(h, sizeof(h), "Location: %s\r\n", path + 13);
        respond(s, fd, 302, h, "", 0);
    } else if (!strcmp(path, "/see-other")) {
        respond(s, fd, 303, "Location: /echo\r\n", "", 0);
    } else if (!strncmp(path, "/chain/", 7)) {
        int left = atoi(path + 7);
        if (left <= 0) {
            respond(s, fd, 200, "", "end", 3);
        } else {
            char h[64];
            snprintf(h, sizeof(h), "Location: /chain/%d\r\n", left - 1);
            respond(s, fd, 302, h, "", 0);
        }
    } else if (!strcmp(path, "/headers")) {
        respond(s, fd, 200,
                "X-Multi: one\r\nx-multi: two\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
                "X-Folded: first\r\n  second\r\nX-Empty:\r\nX-Spaces:   padded   \r\n",
                "h", 1);
    } else if (!strncmp(path, "/status/", 8)) {
        respond(s, fd, atoi(path + 8), "", "status", 6);
    } else {
        respond(s, fd, 404, "", "not found", 9);
    }
}

static void *conn_main(void *arg) {
    conn *c = arg;
    handle(c->srv, c->fd);
    shutdown(c->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg) {
    http_stub *s = arg;
    while (!stopping(s)) {
        struct pollfd pf = {.fd = s->lfd, .events = POLLIN};
        if (poll(&pf, 1, POLL_MS) <= 0) {
            continue;
        }
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        pthread_mutex_lock(&s->mu);
        conn *c = NULL;
        for (int i = 0; i < MAX_CONNS && !c; i++) {
            if (!s->conns[i].used) {
                c = &s->conns[i];
            } else if (pthread_tryjoin_np(s->conns[i].thread, NULL) == 0) {
                close(s->conns[i].fd);
                c = &s->conns[i];
            }
        }
        if (c) {
            c->srv = s;
            c->fd = fd;
            c->used = pthread_create(&c->thread, NULL, conn_main, c) == 0;
        }
        pthread_mutex_unlock(&s->mu);
        if (!c || !c->used) {
            close(fd);
        }
        atomic_fetch_add(&s->accepted, 1);
    }
    return NULL;
}

http_stub *http_stub_start(void) {
    http_stub *s = calloc(1, sizeof(*s));
    if (!s) {
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(s->lfd, 128) != 0 || getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0 ||
        pthread_create(&s->thread, NULL, accept_main, s) != 0) {
        if (s->lfd >= 0) {
            close(s->lfd);
        }
        free(s);
        return NULL;
    }
    s->port = ntohs(a.sin_port);
    return s;
}

uint16_t http_stub_port(const http_stub *s) {
    return s->port;
}

unsigned http_stub_connections(const http_stub *s) {
    return atomic_load(&((http_stub *)s)->accepted);
}

void http_stub_stop(http_stub *s) {
    if (!s) {
        return;
    }
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < MAX_CONNS; i++) {
        if (s->conns[i].used) {
            pthread_join(s->conns[i].thread, NULL);
            close(s->conns[i].fd);
        }
    }
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
