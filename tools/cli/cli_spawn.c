/*
 * Running the `occlum` tool (cli_spawn.h). posix_spawn only: the same code may run where fork
 * does not exist, and an argument (a directory name) is never seen by a shell.
 *
 * A child with a deadline gets its own process group, so the deadline kills what it started too
 * (a script's `sleep` would otherwise keep the pipe open after its parent died).
 */
#include "cli_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

extern char **environ;

char *ncsl_cli_which(const char *name) {
    if (!name || !*name || strchr(name, '/')) {
        return NULL;
    }
    const char *path = getenv("PATH");
    if (!path) {
        path = "/usr/local/bin:/usr/bin:/bin";
    }
    const char *p = path;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *cand = NULL;
        if (n == 0) {
            cand = ncsl_strdup(name); /* an empty entry is the current directory */
        } else {
            cand = malloc(n + 1 + strlen(name) + 1);
            if (cand) {
                memcpy(cand, p, n);
                cand[n] = '/';
                strcpy(cand + n + 1, name);
            }
        }
        struct stat st;
        if (cand && stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
            return cand;
        }
        free(cand);
        if (!end) {
            return NULL;
        }
        p = end + 1;
    }
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void set_status(ncsl_cli_spawn_result *r, int status) {
    if (WIFEXITED(status)) {
        r->exit_code = WEXITSTATUS(status);
    } else {
        r->exit_code = -1;
        r->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
}

/* Waits for `pid` until `deadline` (ms, 0: forever); at the deadline kills its group. */
static bool wait_child(pid_t pid, int64_t deadline, bool own_group, ncsl_cli_spawn_result *r) {
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, deadline ? WNOHANG : 0);
        if (w == pid) {
            set_status(r, status);
            return true;
        }
        if (w < 0 && errno != EINTR) {
            return false;
        }
        if (w == 0 && now_ms() >= deadline) {
            kill(own_group ? -pid : pid, SIGKILL);
            r->timed_out = true;
            deadline = 0; /* now wait for it to go */
        } else if (w == 0) {
            sleep_ms(10);
        }
    }
}

/* Reads the pipe until EOF or the deadline, keeping at most max bytes. */
static void read_output(int fd, size_t max, int64_t deadline, ncsl_buf *out,
                        ncsl_cli_spawn_result *r) {
    char chunk[4096];
    for (;;) {
        int wait = -1;
        if (deadline) {
            int64_t left = deadline - now_ms();
            if (left <= 0) {
                return;
            }
            wait = left > INT32_MAX ? INT32_MAX : (int)left;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait);
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            return; /* the deadline (or poll failed: the wait below ends it) */
        }
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;
        }
        size_t keep = (size_t)n;
        if (out->len + keep > max) {
            keep = max > out->len ? max - out->len : 0;
            r->truncated = true;
        }
        ncsl_buf_append(out, chunk, keep);
    }
}

bool ncsl_cli_spawn(char *const argv[], const ncsl_cli_spawn_opts *o, ncsl_cli_spawn_result *r) {
    memset(r, 0, sizeof(*r));
    int pipefd[2] = {-1, -1};
    bool own_group = o->capture && o->timeout_ms > 0;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    bool fa_ok = false;
    bool attr_ok = false;
    bool ok = false;
    int saved = 0;
    pid_t pid = -1;
    ncsl_buf out;
    ncsl_buf_init(&out, 0);

    if (o->capture && pipe2(pipefd, O_CLOEXEC) != 0) {
        return false;
    }
    if ((saved = posix_spawn_file_actions_init(&fa)) != 0) {
        goto out;
    }
    fa_ok = true;
    if ((saved = posix_spawnattr_init(&attr)) != 0) {
        goto out;
    }
    attr_ok = true;
    saved = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (saved == 0 && o->capture) {
        /* dup2 onto 1 and 2 clears close-on-exec there; the originals close at exec */
        saved = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        if (saved == 0) {
            saved = posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
        }
    } else if (saved == 0) {
        saved = posix_spawn_file_actions_adddup2(&fa, 2, 1);
    }
    if (saved == 0 && o->cwd) {
        saved = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    }
    /* The child starts with default signal handling and an empty mask, whatever ours are. */
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (own_group) {
        flags |= POSIX_SPAWN_SETPGROUP;
        if (saved == 0) {
            saved = posix_spawnattr_setpgroup(&attr, 0);
        }
    }
    if (saved == 0) {
        saved = posix_spawnattr_setsigmask(&attr, &none);
    }
    if (saved == 0) {
        saved = posix_spawnattr_setsigdefault(&attr, &defaults);
    }
    if (saved == 0) {
        saved = posix_spawnattr_setflags(&attr, flags);
    }
    if (saved != 0) {
        goto out;
    }
    saved = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
    if (saved != 0) {
        pid = -1;
        goto out;
    }
    int64_t deadline = o->timeout_ms ? now_ms() + (int64_t)o->timeout_ms : 0;
    if (o->capture) {
        close(pipefd[1]);
        pipefd[1] = -1;
        read_output(pipefd[0], o->max_output, deadline, &out, r);
    }
    if (!wait_child(pid, deadline, own_group, r)) {
        saved = errno;
        goto out;
    }
    if (o->capture) {
        r->output = out.oom ? NULL : ncsl_buf_steal(&out, &r->output_len); /* NUL-terminated */
        if (!r->output) {
            saved = ENOMEM;
            goto out;
        }
    }
    ok = true;
out:
    if (attr_ok) {
        posix_spawnattr_destroy(&attr);
    }
    if (fa_ok) {
        posix_spawn_file_actions_destroy(&fa);
    }
    for (int i = 0; i < 2; i++) {
        if (pipefd[i] >= 0) {
            close(pipefd[i]);
        }
    }
    ncsl_buf_cleanup(&out);
    if (!ok) {
        bool timed_out = r->timed_out;
        memset(r, 0, sizeof(*r));
        r->timed_out = timed_out;
        errno = saved ? saved : EIO;
    }
    return ok;
}
