/*
 * The SQLite backend of the store: one database file, <data_dir>/ncsl.db (mode 0600; SQLite
 * gives its -wal and -shm files the same mode).
 *
 * Settings, on every connection:
 *   journal_mode=WAL   readers never block the writer nor the writer them;
 *   synchronous=FULL   for the WHOLE database, not only secrets and keys: in WAL mode NORMAL
 *                      survives a process crash but may lose the last commits on power loss,
 *                      and the service acknowledges a deploy or a storage commit only after it
 *                      is durable. The cost is one fsync of the WAL per commit (measured in
 *                      docs/storage.md);
 *   foreign_keys=ON    deleting a user or function cascades in the same transaction;
 *   busy timeout       (options) for locks held by another process;
 *   defensive mode, trusted_schema off, cell_size_check on, temp_store=MEMORY.
 *
 * Concurrency: a fixed pool of connections behind a mutex and a condition variable, each
 * connection used by one thread at a time (SQLITE_OPEN_NOMUTEX) and caching its prepared
 * statements. Not one connection per thread: ncsld calls in from libmicrohttpd's threads and the
 * JS workers, whose number and lifetime the store does not control; a per-thread connection
 * would need thread-exit hooks, could not be closed from ncsl_store_close, and would grow with
 * the thread count. The pool bounds descriptors and memory, and WAL lets its connections read
 * concurrently. Writers additionally take an in-process write mutex before BEGIN IMMEDIATE:
 * SQLite admits one writer at a time anyway, and waiting on a mutex is fair and immediate where
 * SQLite's busy handler sleeps and polls. The busy timeout still covers other processes.
 *
 * Every write is one BEGIN IMMEDIATE ... COMMIT transaction (IMMEDIATE: a read transaction that
 * later wants to write could fail with SQLITE_BUSY, which no timeout resolves). Multi-statement
 * reads run in one BEGIN ... COMMIT, so they see one snapshot.
 *
 * Schema: a schema_version table (one row per applied migration) and migrations applied in
 * order in one transaction at open; the file's application_id is "NCSL" so another program's
 * database is refused, not migrated.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/common.h"
#include "store/store_int.h"

#define SQ_APP_ID 0x4E43534C /* "NCSL" */
#define SQ_MAX_CONNECTIONS 64u

/* ------------------------------------------------------------------------- schema */

static const char g_schema_v1[] =
    "CREATE TABLE users ("
    " id TEXT PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))"
    ") STRICT;"
    "CREATE INDEX users_by_created ON users (created_at, id);"
    "CREATE TABLE api_keys ("
    " id TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " key_hash BLOB NOT NULL UNIQUE CHECK (length(key_hash) = 32),"
    " prefix TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " revoked_at INTEGER"
    ") STRICT;"
    "CREATE INDEX api_keys_by_user ON api_keys (user_id, created_at);"
    "CREATE TABLE functions ("
    " id TEXT PRIMARY KEY,"
    " user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL CHECK (version >= 1),"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " UNIQUE (user_id, name)"
    ") STRICT;"
    "CREATE INDEX functions_by_user ON functions (user_id, created_at, id);"
    "CREATE TABLE function_versions ("
    " function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,"
    " version INTEGER NOT NULL CHECK (version >= 1),"
    " code BLOB NOT NULL,"
    " code_size INTEGER NOT NULL,"
    " code_hash TEXT NOT NULL,"
    " description TEXT,"
    " required_secrets TEXT,"
    " limits TEXT,"
    " created_at INTEGER NOT NULL,"
    " PRIMARY KEY (function_id, version)"
    ") STRICT;"
    "CREATE TABLE secrets ("
    " user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " value BLOB NOT NULL,"
    " size INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (user_id, name)"
    ") STRICT;"
    "CREATE TABLE kv ("
    " user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,"
    " function_id TEXT NOT NULL REFERENCES functions (id) ON DELETE CASCADE,"
    " key_id BLOB NOT NULL CHECK (length(key_id) = 32),"
    " value BLOB NOT NULL,"
    " size INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL,"
    " PRIMARY KEY (function_id, key_id)"
    ") STRICT;"
    "CREATE INDEX kv_by_user ON kv (user_id);"
    "CREATE TABLE system ("
    " name TEXT PRIMARY KEY,"
    " value BLOB NOT NULL,"
    " size INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE store_meta ("
    " name TEXT PRIMARY KEY,"
    " value BLOB NOT NULL"
    ") STRICT;";

static const ncsl__store_migration g_migrations[] = {
    {1, g_schema_v1},
};

const ncsl__store_migration_set ncsl__store_sqlite_migrations = {g_migrations,
                                                                 NCSL_ARRAY_LEN(g_migrations)};

/* ------------------------------------------------------------------------- statements */

enum {
    ST_BEGIN,
    ST_BEGIN_IMMEDIATE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_META_GET,
    ST_META_PUT,
    ST_USER_INSERT,
    ST_USER_GET,
    ST_USER_LIST,
    ST_USER_DISABLE,
    ST_USER_DELETE,
    ST_KEY_INSERT,
    ST_KEY_LOOKUP,
    ST_KEY_LIST,
    ST_KEY_REVOKE,
    ST_FN_INSERT,
    ST_FNV_INSERT,
    ST_FN_LATEST,
    ST_FN_BUMP,
    ST_FN_GET,
    ST_FN_LIST,
    ST_FN_DELETE,
    ST_FN_OWNED,
    ST_FN_MATCH,
    ST_SECRET_EXISTS,
    ST_SECRET_COUNT,
    ST_SECRET_UPSERT,
    ST_SECRET_GET,
    ST_SECRET_ROWS,
    ST_SECRET_LIST,
    ST_SECRET_DELETE,
    ST_KV_GET,
    ST_KV_ROWS,
    ST_KV_UPSERT,
    ST_KV_DELETE,
    ST_KV_CLEAR,
    ST_KV_USAGE,
    ST_SYS_UPSERT,
    ST_SYS_GET,
    ST_SYS_DELETE,
    ST__COUNT
};

/* The function columns shared by ST_FN_GET (plus the code blob at FN_COL_BLOB) and ST_FN_LIST. */
#define FN_COLUMNS                                                                                 \
    "f.id, f.user_id, f.name, v.version, f.version, v.code_hash, v.code_size, v.description, "     \
    "v.required_secrets, v.limits, f.created_at, v.created_at"
#define FN_COL_BLOB 12

static const char *const g_sql[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN",
    [ST_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_META_GET] = "SELECT value FROM store_meta WHERE name = ?1",
    [ST_META_PUT] = "INSERT INTO store_meta (name, value) VALUES (?1, ?2)",
    [ST_USER_INSERT] = "INSERT INTO users (id, name, created_at, disabled) VALUES (?1, ?2, ?3, ?4)",
    [ST_USER_GET] = "SELECT id, name, created_at, disabled FROM users WHERE id = ?1",
    [ST_USER_LIST] = "SELECT id, name, created_at, disabled FROM users"
                     " WHERE (created_at, id) > (?1, ?2) ORDER BY created_at, id LIMIT ?3",
    [ST_USER_DISABLE] = "UPDATE users SET disabled = ?2 WHERE id = ?1",
    [ST_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    [ST_KEY_INSERT] = "INSERT INTO api_keys (id, user_id, key_hash, prefix, created_at, revoked_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, NULL)",
    [ST_KEY_LOOKUP] = "SELECT k.id, k.user_id, k.prefix, k.created_at, k.revoked_at, u.disabled"
                      " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?1",
    [ST_KEY_LIST] = "SELECT id, user_id, prefix, created_at, revoked_at FROM api_keys"
                    " WHERE user_id = ?1 ORDER BY created_at, id",
    [ST_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?3)"
                      " WHERE id = ?2 AND user_id = ?1",
    [ST_FN_INSERT] = "INSERT INTO functions (id, user_id, name, version, created_at, updated_at)"
                     " VALUES (?1, ?2, ?3, 1, ?4, ?4)",
    [ST_FNV_INSERT] = "INSERT INTO function_versions (function_id, version, code, code_size,"
                      " code_hash, description, required_secrets, limits, created_at)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_FN_LATEST] = "SELECT version FROM functions WHERE id = ?1 AND user_id = ?2",
    [ST_FN_BUMP] = "UPDATE functions SET version = ?3, updated_at = ?4, name = coalesce(?5, name)"
                   " WHERE id = ?1 AND user_id = ?2",
    [ST_FN_GET] = "SELECT " FN_COLUMNS ", v.code FROM functions f"
                  " JOIN function_versions v ON v.function_id = f.id"
                  " WHERE f.id = ?1 AND f.user_id = ?2"
                  " AND v.version = CASE WHEN ?3 = 0 THEN f.version ELSE ?3 END",
    [ST_FN_LIST] = "SELECT " FN_COLUMNS " FROM functions f"
                   " JOIN function_versions v ON v.function_id = f.id AND v.version = f.version"
                   " WHERE f.user_id = ?1 AND (f.created_at, f.id) > (?2, ?3)"
                   " ORDER BY f.created_at, f.id LIMIT ?4",
    [ST_FN_DELETE] = "DELETE FROM functions WHERE id = ?1 AND user_id = ?2",
    [ST_FN_OWNED] = "SELECT 1 FROM functions WHERE id = ?1 AND user_id = ?2",
    [ST_FN_MATCH] = "SELECT " FN_COLUMNS " FROM functions f"
                    " JOIN function_versions v ON v.function_id = f.id AND v.version = f.version"
                    " WHERE f.id = ?1 AND f.user_id = ?2",
    [ST_SECRET_EXISTS] = "SELECT 1 FROM secrets WHERE user_id = ?1 AND name = ?2",
    [ST_SECRET_COUNT] = "SELECT count(*) FROM secrets WHERE user_id = ?1",
    [ST_SECRET_UPSERT] =
        "INSERT INTO secrets (user_id, name, value, size, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT (user_id, name) DO UPDATE"
        " SET value = excluded.value, size = excluded.size, updated_at = excluded.updated_at",
    [ST_SECRET_GET] = "SELECT name, value, size, created_at, updated_at FROM secrets"
                      " WHERE user_id = ?1 AND name = ?2",
    [ST_SECRET_ROWS] = "SELECT name, value, size, created_at, updated_at FROM secrets"
                       " WHERE user_id = ?1 ORDER BY name",
    [ST_SECRET_LIST] = "SELECT name, size, created_at, updated_at FROM secrets"
                       " WHERE user_id = ?1 ORDER BY name",
    [ST_SECRET_DELETE] = "DELETE FROM secrets WHERE user_id = ?1 AND name = ?2",
    [ST_KV_GET] = "SELECT key_id, value, size FROM kv"
                  " WHERE function_id = ?1 AND key_id = ?2 AND user_id = ?3",
    [ST_KV_ROWS] = "SELECT key_id, value, size FROM kv WHERE function_id = ?1 AND user_id = ?2"
                   " ORDER BY key_id",
    [ST_KV_UPSERT] =
        "INSERT INTO kv (user_id, function_id, key_id, value, size, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (function_id, key_id) DO UPDATE"
        " SET value = excluded.value, size = excluded.size, updated_at = excluded.updated_at",
    [ST_KV_DELETE] = "DELETE FROM kv WHERE function_id = ?1 AND key_id = ?2",
    [ST_KV_CLEAR] = "DELETE FROM kv WHERE function_id = ?1",
    [ST_KV_USAGE] = "SELECT coalesce(sum(size), 0), count(*) FROM kv WHERE function_id = ?1",
    [ST_SYS_UPSERT] =
        "INSERT INTO system (name, value, size, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (name) DO UPDATE"
        " SET value = excluded.value, size = excluded.size, updated_at = excluded.updated_at",
    [ST_SYS_GET] = "SELECT value, size FROM system WHERE name = ?1",
    [ST_SYS_DELETE] = "DELETE FROM system WHERE name = ?1",
};

/* ------------------------------------------------------------------------- state */

typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt *stmts[ST__COUNT]; /* prepared on first use, kept until close */
} sq_conn;

typedef struct sq_state {
    char *path;
    unsigned schema_version;
    sq_conn *conns;
    bool *in_use;
    unsigned count;
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    pthread_mutex_t write_mu;
    bool sync_ready;
} sq_state;

/* ------------------------------------------------------------------------- errors */

/* Maps a failed SQLite call on `c` (its message is read now, before anything resets it).
 * Constraint failures come back as NCSL_E_STORE_CONFLICT (unique) or NCSL_E_NOT_FOUND (a
 * missing parent row); callers that expect them set a better field and message. */
static ncsl_status sq_fail(sq_conn *c, int rc, const char *what, ncsl_err *err) {
    const char *msg = c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return ncsl_err_set(err, NCSL_E_BUSY, NULL,
                            "%s: the database stayed locked by another writer past the busy "
                            "timeout (%s)",
                            what, msg);
    case SQLITE_NOMEM:
        return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "%s: out of memory", what);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return ncsl_err_set(err, NCSL_E_STORE_INTEGRITY, NULL,
                            "%s: the database file is corrupt (%s)", what, msg);
    case SQLITE_FULL:
        return ncsl_err_set(err, NCSL_E_STORE_FULL, NULL, "%s: the disk is full (%s)", what, msg);
    case SQLITE_IOERR: {
        /* Some write paths (fsync, WAL growth) report a full disk as an I/O error. */
        int e = c && c->db ? sqlite3_system_errno(c->db) : 0;
        if (e == ENOSPC || e == EDQUOT) {
            return ncsl_err_set(err, NCSL_E_STORE_FULL, NULL, "%s: the disk is full (%s)", what,
                                strerror(e));
        }
        break;
    }
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
            return ncsl_err_set(err, NCSL_E_NOT_FOUND, NULL, "%s: a referenced record is missing",
                                what);
        }
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
            return ncsl_err_set(err, NCSL_E_STORE_CONFLICT, NULL, "%s: the record exists", what);
        }
        break;
    default:
        break;
    }
    return ncsl_err_set(err, NCSL_E_STORE, NULL, "%s failed: %s (SQLite error %d)", what, msg, rc);
}

/* ------------------------------------------------------------------------- statements */

static ncsl_status stmt_get(sq_conn *c, int id, sqlite3_stmt **q, ncsl_err *err) {
    if (!c->stmts[id]) {
        int rc = sqlite3_prepare_v3(c->db, g_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmts[id],
                                    NULL);
        if (rc != SQLITE_OK) {
            c->stmts[id] = NULL;
            *q = NULL;
            return sq_fail(c, rc, "preparing a statement", err);
        }
    }
    *q = c->stmts[id];
    return NCSL_OK;
}

static void stmt_done(sqlite3_stmt *q) {
    if (q) {
        sqlite3_reset(q);
        sqlite3_clear_bindings(q);
    }
}

/* Runs a statement that returns no rows (bound already) and resets it. */
static ncsl_status stmt_exec(sq_conn *c, sqlite3_stmt *q, const char *what, ncsl_err *err) {
    int rc = sqlite3_step(q);
    ncsl_status st = NCSL_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        st = sq_fail(c, rc, what, err);
    }
    stmt_done(q);
    return st;
}

/* Steps a statement; SQLITE_ROW and SQLITE_DONE are answers, anything else a failure (the
 * statement is then reset). */
static ncsl_status stmt_step(sq_conn *c, sqlite3_stmt *q, bool *row, const char *what,
                             ncsl_err *err) {
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
        *row = rc == SQLITE_ROW;
        return NCSL_OK;
    }
    ncsl_status st = sq_fail(c, rc, what, err);
    stmt_done(q);
    return st;
}

static void bind_text(sqlite3_stmt *q, int i, const char *s) {
    if (s) {
        sqlite3_bind_text(q, i, s, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(q, i);
    }
}

static void bind_blob(sqlite3_stmt *q, int i, const void *p, size_t n) {
    /* Sizes are capped far below INT_MAX by store.c. A zero-length blob is not NULL. */
    sqlite3_bind_blob(q, i, n ? p : "", (int)n, SQLITE_STATIC);
}

/* A heap copy of a text column; NULL for SQL NULL. Sets *oom when the copy fails. */
static char *col_text(sqlite3_stmt *q, int i, bool *oom) {
    const unsigned char *t = sqlite3_column_text(q, i);
    if (!t) {
        if (sqlite3_column_type(q, i) != SQLITE_NULL) {
            *oom = true;
        }
        return NULL;
    }
    char *d = strdup((const char *)t);
    if (!d) {
        *oom = true;
    }
    return d;
}

/* A heap copy of a blob column (never NULL on success, also when empty). */
static uint8_t *col_blob(sqlite3_stmt *q, int i, size_t *len, bool *oom) {
    const void *p = sqlite3_column_blob(q, i);
    int n = sqlite3_column_bytes(q, i);
    uint8_t *d = malloc(n > 0 ? (size_t)n : 1u);
    *len = 0;
    if (!d) {
        *oom = true;
        return NULL;
    }
    if (n > 0 && p) {
        memcpy(d, p, (size_t)n);
        *len = (size_t)n;
    }
    return d;
}

/* Copies an id column into a fixed buffer (a tampered over-long id is cut, and then matches
 * nothing). */
static void col_id(sqlite3_stmt *q, int i, char out[NCSL_STORE_ID_SIZE]) {
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(out, NCSL_STORE_ID_SIZE, "%s", t ? (const char *)t : "");
}

/* A size column; a negative (tampered) value reads as UINT64_MAX, which matches no plaintext. */
static uint64_t col_size(sqlite3_stmt *q, int i) {
    sqlite3_int64 v = sqlite3_column_int64(q, i);
    return v < 0 ? UINT64_MAX : (uint64_t)v;
}

/* ------------------------------------------------------------------------- pool, transactions */

static sq_conn *pool_get(sq_state *s) {
    pthread_mutex_lock(&s->pool_mu);
    for (;;) {
        for (unsigned i = 0; i < s->count; i++) {
            if (!s->in_use[i]) {
                s->in_use[i] = true;
                pthread_mutex_unlock(&s->pool_mu);
                return &s->conns[i];
            }
        }
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    }
}

static void pool_put(sq_state *s, sq_conn *c) {
    pthread_mutex_lock(&s->pool_mu);
    s->in_use[c - s->conns] = false;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

static ncsl_status run_simple(sq_conn *c, int id, const char *what, ncsl_err *err) {
    sqlite3_stmt *q = NULL;
    ncsl_status st = stmt_get(c, id, &q, err);
    if (st == NCSL_OK) {
        st = stmt_exec(c, q, what, err);
    }
    return st;
}

/* Takes a pooled connection and opens a transaction on it: BEGIN IMMEDIATE under the write
 * mutex for `write`, a deferred (snapshot) BEGIN otherwise. */
static ncsl_status sq_enter(sq_state *s, bool write, sq_conn **out, ncsl_err *err) {
    sq_conn *c = pool_get(s);
    if (write) {
        pthread_mutex_lock(&s->write_mu);
    }
    ncsl_status st =
        run_simple(c, write ? ST_BEGIN_IMMEDIATE : ST_BEGIN, "starting a transaction", err);
    if (st != NCSL_OK) {
        if (write) {
            pthread_mutex_unlock(&s->write_mu);
        }
        pool_put(s, c);
        c = NULL;
    }
    *out = c;
    return st;
}

/* Commits when `st` is NCSL_OK, else rolls back; returns the final status and gives the
 * connection back. */
static ncsl_status sq_leave(sq_state *s, sq_conn *c, bool write, ncsl_status st, ncsl_err *err) {
    if (st == NCSL_OK) {
        st = run_simple(c, ST_COMMIT, "committing", err);
    }
    if (st != NCSL_OK && !sqlite3_get_autocommit(c->db)) {
        (void)run_simple(c, ST_ROLLBACK, "rolling back", NULL);
    }
    if (write) {
        pthread_mutex_unlock(&s->write_mu);
    }
    pool_put(s, c);
    return st;
}

/* sq_enter, then the cached statement `id` for the transaction's one or first query. On
 * failure the transaction is already left and *c is NULL. */
static ncsl_status sq_enter_stmt(sq_state *s, bool write, int id, sq_conn **c, sqlite3_stmt **q,
                                 ncsl_err *err) {
    ncsl_status st = sq_enter(s, write, c, err);
    if (st == NCSL_OK) {
        st = stmt_get(*c, id, q, err);
        if (st != NCSL_OK) {
            st = sq_leave(s, *c, write, st, err);
            *c = NULL;
        }
    }
    return st;
}

/* A pooled connection and the cached statement `id` for a read of ONE statement, without
 * BEGIN and COMMIT: in autocommit mode the statement is its own read transaction (one
 * snapshot, from its first step until its reset), which is all a single query needs and saves
 * two statements per read. The caller resets the statement (stmt_done, stmt_exec,
 * collect_rows) before sq_leave_read1. */
static ncsl_status sq_enter_read1(sq_state *s, int id, sq_conn **c, sqlite3_stmt **q,
                                  ncsl_err *err) {
    *c = pool_get(s);
    ncsl_status st = stmt_get(*c, id, q, err);
    if (st != NCSL_OK) {
        pool_put(s, *c);
        *c = NULL;
    }
    return st;
}

static ncsl_status sq_leave_read1(sq_state *s, sq_conn *c, ncsl_status st) {
    if (!sqlite3_get_autocommit(c->db)) {
        (void)run_simple(c, ST_ROLLBACK, "rolling back", NULL); /* never left open: be sure */
    }
    pool_put(s, c);
    return st;
}

/* ------------------------------------------------------------------------- reading rows */

/* Fills `out` (one element of the caller's array) from the current row of `q`; false when out
 * of memory. What it did allocate stays in `out`, for the caller's cleanup. */
typedef bool (*row_reader)(sqlite3_stmt *q, void *out);

/* The created_at and id of a page element, for the next-page cursor. */
typedef void (*row_cursor_key)(const void *item, int64_t *created_at_ms, const char **id);

static ncsl_status nomem(ncsl_err *err) {
    return ncsl_err_set(err, NCSL_E_NOMEM, NULL, "out of memory");
}

/* Steps `q` (bound already) to its end and appends every row to the array *items of `size`-byte
 * elements, growing it by doubling from `first_cap`. A slot counts in *count before its row is
 * read, so the caller's cleanup frees a half-read row too. Resets `q`. */
static ncsl_status collect_rows(sq_conn *c, sqlite3_stmt *q, const char *what, size_t size,
                                size_t first_cap, row_reader read, void **items, size_t *count,
                                ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    size_t cap = 0;
    for (;;) {
        bool row = false;
        st = stmt_step(c, q, &row, what, err);
        if (st != NCSL_OK || !row) {
            break;
        }
        if (*count == cap) {
            size_t ncap = cap ? cap * 2 : first_cap;
            void *n = realloc(*items, ncap * size);
            if (!n) {
                st = nomem(err);
                break;
            }
            *items = n;
            cap = ncap;
        }
        if (!read(q, (char *)*items + (*count)++ * size)) {
            st = nomem(err);
            break;
        }
    }
    stmt_done(q);
    return st;
}

/* Reads one page of at most `limit` rows of `q` (bound already, asking for limit + 1 rows: a
 * row past the limit means there is a next page, and sets next_cursor from the page's last
 * element) into *items, a zeroed array of `limit` `size`-byte elements allocated here. As in
 * collect_rows, *count includes a half-read row. Resets `q`. */
static ncsl_status collect_page(sq_conn *c, sqlite3_stmt *q, const char *what, size_t limit,
                                size_t size, row_reader read, row_cursor_key key, void **items,
                                size_t *count, char next_cursor[NCSL_STORE_CURSOR_SIZE],
                                ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    *items = calloc(limit, size);
    if (!*items) {
        stmt_done(q);
        return nomem(err);
    }
    for (;;) {
        bool row = false;
        st = stmt_step(c, q, &row, what, err);
        if (st != NCSL_OK || !row) {
            break;
        }
        if (*count == limit) {
            int64_t created = 0;
            const char *id = NULL;
            key((const char *)*items + (limit - 1) * size, &created, &id);
            snprintf(next_cursor, NCSL_STORE_CURSOR_SIZE, "%" PRId64 ".%s", created, id);
            break;
        }
        if (!read(q, (char *)*items + (*count)++ * size)) {
            st = nomem(err);
            break;
        }
    }
    stmt_done(q);
    return st;
}

/* Binds parameters 1..n of `q` to the texts keys[0..n-1]. */
static void bind_keys(sqlite3_stmt *q, const char *const *keys, size_t n) {
    for (size_t i = 0; i < n; i++) {
        bind_text(q, (int)i + 1, keys[i]);
    }
}

/* One statement (its own read transaction) reading the one row statement `id` finds by the text
 * parameters `keys` into `out`. No row: NCSL_E_NOT_FOUND with *found false, for the caller to give
 * a better message. */
static ncsl_status sq_read_keys(sq_state *s, int id, const char *const *keys, size_t nkeys,
                                const char *what, row_reader read, void *out, bool *found,
                                ncsl_err *err) {
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_read1(s, id, &c, &q, err);
    *found = false;
    if (st != NCSL_OK) {
        return st;
    }
    bind_keys(q, keys, nkeys);
    st = stmt_step(c, q, found, what, err);
    if (st == NCSL_OK) {
        if (!*found) {
            st = ncsl_err_set(err, NCSL_E_NOT_FOUND, NULL, "%s: no such record", what);
        } else if (!read(q, out)) {
            st = nomem(err);
        }
        stmt_done(q);
    }
    return sq_leave_read1(s, c, st);
}

/* One statement (its own read transaction) collecting every row statement `id` finds by the text
 * parameters `keys` into the growing array *items (see collect_rows). */
static ncsl_status sq_collect_keys(sq_state *s, int id, const char *const *keys, size_t nkeys,
                                   const char *what, size_t size, size_t first_cap, row_reader read,
                                   void **items, size_t *count, ncsl_err *err) {
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_read1(s, id, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_keys(q, keys, nkeys);
    st = collect_rows(c, q, what, size, first_cap, read, items, count, err);
    return sq_leave_read1(s, c, st);
}

/* A write transaction of its own running statement `id` with the text parameters `keys`
 * (a delete). No row changed: NCSL_E_NOT_FOUND with *changed false (and the transaction rolled
 * back), for the caller to give a better message. */
static ncsl_status sq_write_keys(sq_state *s, int id, const char *const *keys, size_t nkeys,
                                 const char *what, bool *changed, ncsl_err *err) {
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_stmt(s, true, id, &c, &q, err);
    *changed = false;
    if (st != NCSL_OK) {
        return st;
    }
    bind_keys(q, keys, nkeys);
    st = stmt_exec(c, q, what, err);
    if (st == NCSL_OK) {
        *changed = sqlite3_changes(c->db) != 0;
        if (!*changed) {
            st = ncsl_err_set(err, NCSL_E_NOT_FOUND, NULL, "%s: no such record", what);
        }
    }
    return sq_leave(s, c, true, st, err);
}

/* ------------------------------------------------------------------------- open and migrate */

static ncsl_status exec_sql(sq_conn *c, const char *sql, const char *what, ncsl_err *err) {
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? NCSL_OK : sq_fail(c, rc, what, err);
}

/* The single integer a query returns (ad hoc statements of the open path). */
static ncsl_status query_int(sq_conn *c, const char *sql, int64_t *out, ncsl_err *err) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &q, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(q, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    ncsl_status st = rc == SQLITE_OK ? NCSL_OK : sq_fail(c, rc, sql, err);
    sqlite3_finalize(q);
    return st;
}

static ncsl_status query_text(sq_conn *c, const char *sql, char *out, size_t out_size,
                              ncsl_err *err) {
    sqlite3_stmt *q = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &q, NULL);
    out[0] = '\0';
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(q);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(q, 0);
            snprintf(out, out_size, "%s", t ? (const char *)t : "");
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    ncsl_status st = rc == SQLITE_OK ? NCSL_OK : sq_fail(c, rc, sql, err);
    sqlite3_finalize(q);
    return st;
}

static ncsl_status conn_open(const sq_state *s, sq_conn *c, uint32_t busy_ms, ncsl_err *err) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_EXRESCODE;
    int rc = sqlite3_open_v2(s->path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        ncsl_status st = ncsl_err_set(err, NCSL_E_STORE, NULL, "cannot open the database %s: %s",
                                      s->path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        c->db = NULL;
        return st;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, (int)busy_ms);
    /* Defensive: SQL cannot corrupt the file on purpose (writable_schema and the like); no
     * schema-defined functions run with side effects. Failures here are not fatal. */
    (void)sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
    (void)sqlite3_db_config(c->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
    (void)sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL);
    return NCSL_OK;
}

/* The first look at the file, before anything is written to it (not even the journal mode):
 * an SQLite file of another program, or no SQLite file at all, is refused untouched. Checked
 * again inside the migration transaction, in case another process raced us. */
static ncsl_status conn_check_ours(const sq_state *s, sq_conn *c, int64_t *app_id, int64_t *tables,
                                   ncsl_err *err) {
    ncsl_err e2;
    ncsl_status st = query_int(c, "PRAGMA application_id", app_id, &e2);
    if (st == NCSL_OK) {
        st = query_int(c,
                       "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                       " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
                       tables, &e2);
    }
    if (st == NCSL_E_STORE_INTEGRITY) {
        return ncsl_err_set(err, NCSL_E_STORE_SCHEMA, NULL,
                            "%s is not an NCSL database (not an SQLite file, or corrupt): %s",
                            s->path, e2.message);
    }
    if (st != NCSL_OK) {
        if (err) {
            *err = e2;
        }
        return st;
    }
    if (*app_id != SQ_APP_ID && (*app_id != 0 || *tables != 0)) {
        return ncsl_err_set(err, NCSL_E_STORE_SCHEMA, NULL,
                            "%s is not an NCSL database (application_id 0x%08" PRIx64 ", %" PRId64
                            " tables): refusing to change it",
                            s->path, (uint64_t)*app_id & 0xffffffffu, *tables);
    }
    return NCSL_OK;
}

/* Per-connection settings (see the top of this file). */
static ncsl_status conn_configure(const sq_state *s, sq_conn *c, ncsl_err *err) {
    char mode[16];
    ncsl_status st = query_text(c, "PRAGMA journal_mode=WAL", mode, sizeof(mode), err);
    if (st != NCSL_OK) {
        return st;
    }
    if (strcmp(mode, "wal") != 0) {
        return ncsl_err_set(err, NCSL_E_STORE, NULL,
                            "cannot switch %s to WAL mode (journal mode is \"%s\")", s->path, mode);
    }
    return exec_sql(c,
                    "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                    " PRAGMA cell_size_check=ON;",
                    "configuring the connection", err);
}

static void conn_close(sq_conn *c) {
    for (int i = 0; i < ST__COUNT; i++) {
        sqlite3_finalize(c->stmts[i]);
        c->stmts[i] = NULL;
    }
    if (c->db) {
        sqlite3_close(c->db);
        c->db = NULL;
    }
}

static ncsl_status check_migrations(const ncsl__store_migration_set *set, ncsl_err *err) {
    if (!set || set->count == 0) {
        return ncsl_err_set(err, NCSL_E_INTERNAL, "migrations", "no schema migrations");
    }
    for (size_t i = 0; i < set->count; i++) {
        if (set->items[i].version != i + 1 || !set->items[i].sql) {
            return ncsl_err_set(err, NCSL_E_INTERNAL, "migrations",
                                "schema migrations must be numbered 1, 2, 3... in order");
        }
    }
    return NCSL_OK;
}

/* Brings the schema up to date in one write transaction (on the first connection). */
static ncsl_status migrate(sq_state *s, sq_conn *c, const ncsl__store_migration_set *set,
                           ncsl_err *err) {
    int64_t app_id = 0, tables = 0, current = 0;
    unsigned latest = set->items[set->count - 1].version;
    ncsl_status st = exec_sql(c, "BEGIN IMMEDIATE", "starting the migration", err);
    if (st != NCSL_OK) {
        return st;
    }
    st = conn_check_ours(s, c, &app_id, &tables, err);
    if (st != NCSL_OK) {
        goto out;
    }
    st = exec_sql(c,
                  "CREATE TABLE IF NOT EXISTS schema_version ("
                  " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
                  "creating the schema_version table", err);
    if (st == NCSL_OK) {
        st = query_int(c, "SELECT coalesce(max(version), 0) FROM schema_version", &current, err);
    }
    if (st != NCSL_OK) {
        goto out;
    }
    if (current < 0 || (uint64_t)current > latest) {
        st = ncsl_err_set(err, NCSL_E_STORE_SCHEMA, NULL,
                          "%s has schema version %" PRId64
                          ", newer than this build knows (%u): it was written by a newer NCSL",
                          s->path, current, latest);
        goto out;
    }
    for (size_t i = (size_t)current; i < set->count; i++) {
        char sql[128];
        ncsl_err e2;
        st = exec_sql(c, set->items[i].sql, "migration", &e2);
        if (st == NCSL_OK) {
            snprintf(sql, sizeof(sql),
                     "INSERT INTO schema_version (version, applied_at) VALUES (%u, %" PRId64 ")",
                     set->items[i].version, (int64_t)time(NULL) * 1000);
            st = exec_sql(c, sql, "recording the migration", &e2);
        }
        if (st != NCSL_OK) {
            st = ncsl_err_set(err, NCSL_E_STORE_SCHEMA, NULL,
                              "migrating %s to schema version %u failed, nothing was changed: %s",
                              s->path, set->items[i].version, e2.message);
            goto out;
        }
    }
    if (app_id != SQ_APP_ID) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", SQ_APP_ID);
        st = exec_sql(c, sql, "marking the database", err);
    }
out:
    if (st == NCSL_OK) {
        st = exec_sql(c, "COMMIT", "committing the migration", err);
    }
    if (st != NCSL_OK) {
        if (!sqlite3_get_autocommit(c->db)) {
            (void)exec_sql(c, "ROLLBACK", "rolling back the migration", NULL);
        }
    } else {
        s->schema_version = latest;
    }
    return st;
}

/* Makes the directory (0700) and the database file (0600) ourselves, so SQLite never creates
 * them with the process umask; tightens an existing file that is group/world accessible. */
static ncsl_status prepare_files(const char *dir, const char *path, ncsl_err *err) {
    struct stat sb;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return ncsl_err_set(err, NCSL_E_IO, "data_dir", "cannot create the data directory %s: %s",
                            dir, strerror(errno));
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        return ncsl_err_set(err, NCSL_E_IO, "data_dir", "%s is not a directory", dir);
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return ncsl_err_set(err, NCSL_E_IO, "data_dir", "cannot open %s: %s", path,
                            strerror(errno));
    }
    ncsl_status st = NCSL_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = ncsl_err_set(err, NCSL_E_IO, "data_dir", "%s is not a regular file", path);
    } else if ((sb.st_mode & 0077) != 0) {
        if (fchmod(fd, 0600) != 0) {
            st = ncsl_err_set(err, NCSL_E_IO, "data_dir",
                              "%s is readable by others and cannot be made private: %s", path,
                              strerror(errno));
        } else {
            NCSL_LOG_WARN("store", "%s was accessible to group/others (mode %03o); set to 0600",
                          path, (unsigned)(sb.st_mode & 0777));
        }
    }
    close(fd);
    /* Leftover -wal/-shm files keep their own mode: tighten them as well. */
    const char *suffixes[] = {"-wal", "-shm"};
    for (size_t i = 0; st == NCSL_OK && i < NCSL_ARRAY_LEN(suffixes); i++) {
        char side[4200];
        snprintf(side, sizeof(side), "%s%s", path, suffixes[i]);
        if (lstat(side, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0077) != 0 &&
            chmod(side, 0600) != 0) {
            st = ncsl_err_set(err, NCSL_E_IO, "data_dir", "cannot make %s private: %s", side,
                              strerror(errno));
        }
    }
    return st;
}

static void sq_close(void *state) {
    sq_state *s = state;
    if (!s) {
        return;
    }
    for (unsigned i = 0; s->conns && i < s->count; i++) {
        conn_close(&s->conns[i]);
    }
    if (s->sync_ready) {
        pthread_mutex_destroy(&s->pool_mu);
        pthread_cond_destroy(&s->pool_cv);
        pthread_mutex_destroy(&s->write_mu);
    }
    free(s->conns);
    free(s->in_use);
    free(s->path);
    free(s);
}

static ncsl_status sq_open(const ncsl_store_options *opts, void **state, ncsl_err *err) {
    ncsl_status st = NCSL_OK;
    const char *dir = opts->data_dir;
    const ncsl__store_migration_set *set =
        opts->test_migrations ? (const ncsl__store_migration_set *)opts->test_migrations
                              : &ncsl__store_sqlite_migrations;
    sq_state *s = NULL;

    *state = NULL;
    if (sqlite3_threadsafe() == 0) {
        return ncsl_err_set(err, NCSL_E_UNSUPPORTED, NULL,
                            "this SQLite library was built without thread support");
    }
    st = check_migrations(set, err);
    if (st != NCSL_OK) {
        return st;
    }
    if (opts->connections == 0 || opts->connections > SQ_MAX_CONNECTIONS) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "connections", "connections must be 1..%u",
                            SQ_MAX_CONNECTIONS);
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        return nomem(err);
    }
    size_t plen = strlen(dir) + sizeof("/" NCSL_STORE_DB_FILE);
    s->path = malloc(plen);
    s->count = opts->connections;
    s->conns = calloc(s->count, sizeof(*s->conns));
    s->in_use = calloc(s->count, sizeof(*s->in_use));
    if (!s->path || !s->conns || !s->in_use) {
        st = nomem(err);
        goto out;
    }
    snprintf(s->path, plen, "%s/%s", dir, NCSL_STORE_DB_FILE);
    if (pthread_mutex_init(&s->pool_mu, NULL) != 0) {
        st = ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "pthread_mutex_init failed");
        goto out;
    }
    if (pthread_cond_init(&s->pool_cv, NULL) != 0) {
        pthread_mutex_destroy(&s->pool_mu);
        st = ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "pthread_cond_init failed");
        goto out;
    }
    if (pthread_mutex_init(&s->write_mu, NULL) != 0) {
        pthread_mutex_destroy(&s->pool_mu);
        pthread_cond_destroy(&s->pool_cv);
        st = ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "pthread_mutex_init failed");
        goto out;
    }
    s->sync_ready = true;

    st = prepare_files(dir, s->path, err);
    if (st != NCSL_OK) {
        goto out;
    }
    int64_t app_id = 0, tables = 0;
    st = conn_open(s, &s->conns[0], opts->busy_timeout_ms, err);
    if (st == NCSL_OK) {
        st = conn_check_ours(s, &s->conns[0], &app_id, &tables, err);
    }
    if (st == NCSL_OK) {
        st = conn_configure(s, &s->conns[0], err);
    }
    if (st == NCSL_OK) {
        st = migrate(s, &s->conns[0], set, err);
    }
    for (unsigned i = 1; st == NCSL_OK && i < s->count; i++) {
        st = conn_open(s, &s->conns[i], opts->busy_timeout_ms, err);
        if (st == NCSL_OK) {
            st = conn_configure(s, &s->conns[i], err);
        }
    }
out:
    if (st != NCSL_OK) {
        sq_close(s);
        return st;
    }
    *state = s;
    return NCSL_OK;
}

static const char *sq_location(void *state) {
    return ((sq_state *)state)->path;
}

static unsigned sq_schema_version(void *state) {
    return ((sq_state *)state)->schema_version;
}

static ncsl_status sq_check(void *state, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    char first[256];
    int64_t fk = 0;
    ncsl_status st = sq_enter(s, false, &c, err);
    if (st != NCSL_OK) {
        return st;
    }
    st = query_text(c, "PRAGMA integrity_check", first, sizeof(first), err);
    if (st == NCSL_OK && strcmp(first, "ok") != 0) {
        st = ncsl_err_set(err, NCSL_E_STORE_INTEGRITY, NULL,
                          "SQLite integrity check of %s failed: %s", s->path, first);
    }
    if (st == NCSL_OK) {
        st = query_int(c, "SELECT count(*) FROM pragma_foreign_key_check", &fk, err);
    }
    if (st == NCSL_OK && fk != 0) {
        st = ncsl_err_set(err, NCSL_E_STORE_INTEGRITY, NULL,
                          "%s has %" PRId64 " rows whose parent record is missing", s->path, fk);
    }
    return sq_leave(s, c, false, st, err);
}

ncsl_status ncsl__store_sqlite_pragma(void *state, const char *pragma, char *out, size_t out_size,
                                      ncsl_err *err) {
    static const char *const allowed[] = {"journal_mode", "synchronous", "foreign_keys",
                                          "busy_timeout", "application_id"};
    sq_state *s = state;
    bool ok = false;
    for (size_t i = 0; i < NCSL_ARRAY_LEN(allowed); i++) {
        ok = ok || strcmp(pragma, allowed[i]) == 0;
    }
    if (!ok) {
        return ncsl_err_set(err, NCSL_E_INVALID_ARG, "pragma", "not a pragma the test may read");
    }
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA %s", pragma);
    sq_conn *c = pool_get(s);
    ncsl_status st = query_text(c, sql, out, out_size, err);
    pool_put(s, c);
    return st;
}

/* ------------------------------------------------------------------------- meta */

/* A sealed value: its blob and, for the tables that record it, its plaintext size. */
typedef struct sq_blob_row {
    uint8_t *blob;
    size_t blob_len;
    uint64_t size;
} sq_blob_row;

/* Column 0: the blob. */
static bool read_blob(sqlite3_stmt *q, void *out) {
    sq_blob_row *r = out;
    bool oom = false;
    r->blob = col_blob(q, 0, &r->blob_len, &oom);
    return !oom;
}

/* Column 0: the blob, column 1: the size. */
static bool read_blob_size(sqlite3_stmt *q, void *out) {
    sq_blob_row *r = out;
    r->size = col_size(q, 1);
    return read_blob(q, out);
}

static ncsl_status sq_meta_get(void *state, const char *name, uint8_t **blob, size_t *len,
                               ncsl_err *err) {
    sq_blob_row r = {0};
    bool found = false;
    ncsl_status st = sq_read_keys(state, ST_META_GET, (const char *[]){name}, 1,
                                  "reading store metadata", read_blob, &r, &found, err);
    if (found) {
        *blob = r.blob;
        *len = r.blob_len;
    } else if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, NULL, "no store record %s", name);
    }
    return st;
}

static ncsl_status sq_meta_put_new(void *state, const char *name, const uint8_t *blob, size_t len,
                                   ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_stmt(s, true, ST_META_PUT, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, name);
    bind_blob(q, 2, blob, len);
    st = stmt_exec(c, q, "writing store metadata", err);
    return sq_leave(s, c, true, st, err);
}

/* ------------------------------------------------------------------------- users */

static bool read_user(sqlite3_stmt *q, void *out) {
    ncsl_store_user *u = out;
    bool oom = false;
    memset(u, 0, sizeof(*u));
    col_id(q, 0, u->id);
    u->name = col_text(q, 1, &oom);
    u->created_at_ms = sqlite3_column_int64(q, 2);
    u->disabled = sqlite3_column_int(q, 3) != 0;
    if (!u->name && !oom) {
        u->name = strdup("");
        oom = !u->name;
    }
    return !oom;
}

static ncsl_status sq_user_insert(void *state, const ncsl_store_user *u, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_stmt(s, true, ST_USER_INSERT, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, u->id);
    bind_text(q, 2, u->name);
    sqlite3_bind_int64(q, 3, u->created_at_ms);
    sqlite3_bind_int(q, 4, u->disabled ? 1 : 0);
    st = stmt_exec(c, q, "creating a user", err);
    return sq_leave(s, c, true, st, err);
}

static ncsl_status sq_user_get(void *state, const char *id, ncsl_store_user *out, ncsl_err *err) {
    bool found = false;
    ncsl_status st = sq_read_keys(state, ST_USER_GET, (const char *[]){id}, 1, "reading a user",
                                  read_user, out, &found, err);
    if (st == NCSL_E_NOT_FOUND && !found) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "id", "no user %s", id);
    }
    return st;
}

/* Binds a cursor as two parameters (first page: before every row). */
static void bind_cursor(sqlite3_stmt *q, int i, const ncsl__store_cursor *after) {
    if (after && after->set) {
        sqlite3_bind_int64(q, i, after->created_at_ms);
        bind_text(q, i + 1, after->id);
    } else {
        sqlite3_bind_int64(q, i, INT64_MIN);
        bind_text(q, i + 1, "");
    }
}

static void user_cursor_key(const void *item, int64_t *created_at_ms, const char **id) {
    const ncsl_store_user *u = item;
    *created_at_ms = u->created_at_ms;
    *id = u->id;
}

static ncsl_status sq_user_list(void *state, size_t limit, const ncsl__store_cursor *after,
                                ncsl_store_user_page *out, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    void *items = NULL;
    ncsl_status st = sq_enter_stmt(s, false, ST_USER_LIST, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_cursor(q, 1, after);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)limit + 1); /* one more: is there a next page */
    st = collect_page(c, q, "listing users", limit, sizeof(*out->items), read_user, user_cursor_key,
                      &items, &out->count, out->next_cursor, err);
    out->items = items;
    return sq_leave(s, c, false, st, err);
}

static ncsl_status sq_user_set_disabled(void *state, const char *id, bool disabled, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_stmt(s, true, ST_USER_DISABLE, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, id);
    sqlite3_bind_int(q, 2, disabled ? 1 : 0);
    st = stmt_exec(c, q, "updating a user", err);
    if (st == NCSL_OK && sqlite3_changes(c->db) == 0) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "id", "no user %s", id);
    }
    return sq_leave(s, c, true, st, err);
}

static ncsl_status sq_user_delete(void *state, const char *id, ncsl_err *err) {
    bool changed = false;
    ncsl_status st = sq_write_keys(state, ST_USER_DELETE, (const char *[]){id}, 1,
                                   "deleting a user", &changed, err);
    if (st == NCSL_E_NOT_FOUND && !changed) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "id", "no user %s", id);
    }
    return st;
}

/* ------------------------------------------------------------------------- API keys */

static bool read_key(sqlite3_stmt *q, void *out) {
    ncsl_store_api_key *k = out;
    memset(k, 0, sizeof(*k));
    col_id(q, 0, k->id);
    col_id(q, 1, k->user_id);
    const unsigned char *p = sqlite3_column_text(q, 2);
    snprintf(k->prefix, sizeof(k->prefix), "%s", p ? (const char *)p : "");
    k->created_at_ms = sqlite3_column_int64(q, 3);
    k->revoked_at_ms = sqlite3_column_type(q, 4) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 4);
    return true; /* nothing allocated */
}

static ncsl_status sq_key_insert(void *state, const ncsl_store_api_key *k,
                                 const uint8_t hash[NCSL__STORE_HASH_SIZE], ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_stmt(s, true, ST_KEY_INSERT, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, k->id);
    bind_text(q, 2, k->user_id);
    bind_blob(q, 3, hash, NCSL__STORE_HASH_SIZE);
    bind_text(q, 4, k->prefix);
    sqlite3_bind_int64(q, 5, k->created_at_ms);
    st = stmt_exec(c, q, "creating an API key", err);
    if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "user_id", "no user %s", k->user_id);
    }
    return sq_leave(s, c, true, st, err);
}

static ncsl_status sq_key_lookup(void *state, const uint8_t hash[NCSL__STORE_HASH_SIZE],
                                 ncsl_store_api_key *out, bool *user_disabled, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    bool row = false;
    ncsl_status st = sq_enter_read1(s, ST_KEY_LOOKUP, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_blob(q, 1, hash, NCSL__STORE_HASH_SIZE);
    st = stmt_step(c, q, &row, "looking up an API key", err);
    if (st == NCSL_OK) {
        if (!row) {
            st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "key", "unknown API key");
        } else {
            read_key(q, out);
            *user_disabled = sqlite3_column_int(q, 5) != 0;
        }
        stmt_done(q);
    }
    return sq_leave_read1(s, c, st);
}

static ncsl_status sq_key_list(void *state, const char *user_id, ncsl_store_api_key **items,
                               size_t *count, ncsl_err *err) {
    void *rows = *items;
    ncsl_status st =
        sq_collect_keys(state, ST_KEY_LIST, (const char *[]){user_id}, 1, "listing API keys",
                        sizeof(**items), 8, read_key, &rows, count, err);
    *items = rows;
    return st;
}

static ncsl_status sq_key_revoke(void *state, const char *user_id, const char *key_id,
                                 int64_t now_ms, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_stmt(s, true, ST_KEY_REVOKE, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, user_id);
    bind_text(q, 2, key_id);
    sqlite3_bind_int64(q, 3, now_ms);
    st = stmt_exec(c, q, "revoking an API key", err);
    if (st == NCSL_OK && sqlite3_changes(c->db) == 0) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "key_id", "no API key %s", key_id);
    }
    return sq_leave(s, c, true, st, err);
}

/* ------------------------------------------------------------------------- functions */

static bool read_fn(sqlite3_stmt *q, void *out) {
    ncsl_store_function *f = out;
    bool oom = false;
    memset(f, 0, sizeof(*f));
    col_id(q, 0, f->id);
    col_id(q, 1, f->user_id);
    f->name = col_text(q, 2, &oom);
    f->version = (uint32_t)sqlite3_column_int64(q, 3);
    f->latest_version = (uint32_t)sqlite3_column_int64(q, 4);
    const unsigned char *h = sqlite3_column_text(q, 5);
    snprintf(f->code_hash, sizeof(f->code_hash), "%s", h ? (const char *)h : "");
    uint64_t size = col_size(q, 6);
    f->code_size = size > SIZE_MAX ? SIZE_MAX : (size_t)size;
    f->description = col_text(q, 7, &oom);
    f->required_secrets_json = col_text(q, 8, &oom);
    f->limits_json = col_text(q, 9, &oom);
    f->created_at_ms = sqlite3_column_int64(q, 10);
    f->updated_at_ms = sqlite3_column_int64(q, 11);
    if (!f->name && !oom) {
        f->name = strdup("");
        oom = !f->name;
    }
    return !oom;
}

static ncsl_status insert_version(sq_conn *c, const ncsl__store_fn_row *row, ncsl_err *err) {
    const ncsl_store_function *m = &row->meta;
    sqlite3_stmt *q = NULL;
    ncsl_status st = stmt_get(c, ST_FNV_INSERT, &q, err);
    if (st == NCSL_OK) {
        bind_text(q, 1, m->id);
        sqlite3_bind_int64(q, 2, m->version);
        bind_blob(q, 3, row->blob, row->blob_len);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)m->code_size);
        bind_text(q, 5, m->code_hash);
        bind_text(q, 6, m->description);
        bind_text(q, 7, m->required_secrets_json);
        bind_text(q, 8, m->limits_json);
        sqlite3_bind_int64(q, 9, m->updated_at_ms);
        st = stmt_exec(c, q, "storing a function version", err);
    }
    return st;
}

static ncsl_status sq_fn_insert(void *state, const ncsl__store_fn_row *row, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    const ncsl_store_function *m = &row->meta;
    ncsl_status st = sq_enter_stmt(s, true, ST_FN_INSERT, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, m->id);
    bind_text(q, 2, m->user_id);
    bind_text(q, 3, m->name);
    sqlite3_bind_int64(q, 4, m->created_at_ms);
    st = stmt_exec(c, q, "creating a function", err);
    if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "user_id", "no user %s", m->user_id);
    } else if (st == NCSL_E_STORE_CONFLICT) {
        st = ncsl_err_set(err, NCSL_E_STORE_CONFLICT, "name",
                          "a function with this name exists already");
    }
    if (st == NCSL_OK) {
        st = insert_version(c, row, err);
    }
    return sq_leave(s, c, true, st, err);
}

static ncsl_status sq_fn_add_version(void *state, const ncsl__store_fn_row *row, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    bool found = false;
    const ncsl_store_function *m = &row->meta;
    ncsl_status st = sq_enter_stmt(s, true, ST_FN_LATEST, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, m->id);
    bind_text(q, 2, m->user_id);
    st = stmt_step(c, q, &found, "reading a function", err);
    if (st == NCSL_OK) {
        int64_t latest = found ? sqlite3_column_int64(q, 0) : 0;
        stmt_done(q);
        if (!found) {
            st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "id", "no function %s", m->id);
        } else if (latest + 1 != (int64_t)m->version) {
            st = ncsl_err_set(err, NCSL_E_STORE_CONFLICT, "version",
                              "function %s changed meanwhile (version %" PRId64 ")", m->id, latest);
        }
    }
    if (st == NCSL_OK) {
        st = stmt_get(c, ST_FN_BUMP, &q, err);
    }
    if (st == NCSL_OK) {
        bind_text(q, 1, m->id);
        bind_text(q, 2, m->user_id);
        sqlite3_bind_int64(q, 3, m->version);
        sqlite3_bind_int64(q, 4, m->updated_at_ms);
        bind_text(q, 5, m->name);
        st = stmt_exec(c, q, "updating a function", err);
        if (st == NCSL_E_STORE_CONFLICT) {
            st = ncsl_err_set(err, NCSL_E_STORE_CONFLICT, "name",
                              "a function with this name exists already");
        }
    }
    if (st == NCSL_OK) {
        st = insert_version(c, row, err);
    }
    return sq_leave(s, c, true, st, err);
}

static ncsl_status sq_fn_get(void *state, const char *user_id, const char *id, uint32_t version,
                             ncsl__store_fn_row *out, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    bool row = false;
    ncsl_status st = sq_enter_read1(s, ST_FN_GET, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, id);
    bind_text(q, 2, user_id);
    sqlite3_bind_int64(q, 3, version);
    st = stmt_step(c, q, &row, "reading a function", err);
    if (st == NCSL_OK) {
        bool oom = false;
        if (!row) {
            st = version ? ncsl_err_set(err, NCSL_E_NOT_FOUND, "version",
                                        "no version %u of function %s", version, id)
                         : ncsl_err_set(err, NCSL_E_NOT_FOUND, "id", "no function %s", id);
        } else {
            oom = !read_fn(q, &out->meta);
            out->blob = col_blob(q, FN_COL_BLOB, &out->blob_len, &oom);
            if (oom) {
                st = nomem(err);
            }
        }
        stmt_done(q);
    }
    return sq_leave_read1(s, c, st);
}

static void fn_cursor_key(const void *item, int64_t *created_at_ms, const char **id) {
    const ncsl_store_function *f = item;
    *created_at_ms = f->created_at_ms;
    *id = f->id;
}

static ncsl_status sq_fn_list(void *state, const char *user_id, size_t limit,
                              const ncsl__store_cursor *after, ncsl_store_function_page *out,
                              ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    void *items = NULL;
    ncsl_status st = sq_enter_stmt(s, false, ST_FN_LIST, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, user_id);
    bind_cursor(q, 2, after);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)limit + 1);
    st = collect_page(c, q, "listing functions", limit, sizeof(*out->items), read_fn, fn_cursor_key,
                      &items, &out->count, out->next_cursor, err);
    out->items = items;
    return sq_leave(s, c, false, st, err);
}

static ncsl_status sq_fn_delete(void *state, const char *user_id, const char *id, ncsl_err *err) {
    bool changed = false;
    ncsl_status st = sq_write_keys(state, ST_FN_DELETE, (const char *[]){id, user_id}, 2,
                                   "deleting a function", &changed, err);
    if (st == NCSL_E_NOT_FOUND && !changed) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "id", "no function %s", id);
    }
    return st;
}

/* Text column i equals s (SQL NULL equals only NULL; a column SQLite cannot give is unequal). */
static bool col_text_eq(sqlite3_stmt *q, int i, const char *s) {
    const unsigned char *t = sqlite3_column_text(q, i);
    if (!t) {
        return !s && sqlite3_column_type(q, i) == SQLITE_NULL;
    }
    return s && strcmp((const char *)t, s) == 0;
}

static ncsl_status sq_fn_match(void *state, const char *user_id, const char *id,
                               const ncsl_store_function *m, bool *same, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    bool row = false;
    *same = false;
    ncsl_status st = sq_enter_read1(s, ST_FN_MATCH, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, id);
    bind_text(q, 2, user_id);
    st = stmt_step(c, q, &row, "reading a function", err);
    if (st == NCSL_OK) {
        if (!row) {
            st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "id", "no function %s", id);
        } else {
            /* The columns read_fn turns into the record, compared as read_fn reads them. */
            const unsigned char *name = sqlite3_column_text(q, 2);
            const unsigned char *hash = sqlite3_column_text(q, 5);
            uint64_t size = col_size(q, 6);
            *same = m->name && strcmp(name ? (const char *)name : "", m->name) == 0 &&
                    (uint32_t)sqlite3_column_int64(q, 3) == m->version &&
                    (uint32_t)sqlite3_column_int64(q, 4) == m->latest_version &&
                    strcmp(hash ? (const char *)hash : "", m->code_hash) == 0 &&
                    (size > SIZE_MAX ? SIZE_MAX : (size_t)size) == m->code_size &&
                    col_text_eq(q, 7, m->description) &&
                    col_text_eq(q, 8, m->required_secrets_json) &&
                    col_text_eq(q, 9, m->limits_json) &&
                    sqlite3_column_int64(q, 10) == m->created_at_ms &&
                    sqlite3_column_int64(q, 11) == m->updated_at_ms;
        }
        stmt_done(q);
    }
    return sq_leave_read1(s, c, st);
}

/* ------------------------------------------------------------------------- secrets */

static ncsl_status count_query(sq_conn *c, int id, const char *key, const char *what, int64_t *out,
                               ncsl_err *err) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    ncsl_status st = stmt_get(c, id, &q, err);
    if (st == NCSL_OK) {
        bind_text(q, 1, key);
        st = stmt_step(c, q, &row, what, err);
    }
    if (st == NCSL_OK) {
        *out = row ? sqlite3_column_int64(q, 0) : 0;
        stmt_done(q);
    }
    return st;
}

static ncsl_status sq_secret_put(void *state, const char *user_id, const char *name,
                                 const uint8_t *blob, size_t blob_len, uint64_t size,
                                 int64_t now_ms, size_t max_count, bool *created, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    bool exists = false;
    ncsl_status st = sq_enter_stmt(s, true, ST_SECRET_EXISTS, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, user_id);
    bind_text(q, 2, name);
    st = stmt_step(c, q, &exists, "reading a secret", err);
    if (st == NCSL_OK) {
        stmt_done(q);
    }
    if (st == NCSL_OK && !exists && max_count > 0) {
        int64_t n = 0;
        st = count_query(c, ST_SECRET_COUNT, user_id, "counting secrets", &n, err);
        if (st == NCSL_OK && n >= (int64_t)max_count) {
            st = ncsl_err_set(err, NCSL_E_STORE_QUOTA, "name",
                              "the user has %" PRId64 " secrets, the limit is %zu", n, max_count);
        }
    }
    if (st == NCSL_OK) {
        st = stmt_get(c, ST_SECRET_UPSERT, &q, err);
    }
    if (st == NCSL_OK) {
        bind_text(q, 1, user_id);
        bind_text(q, 2, name);
        bind_blob(q, 3, blob, blob_len);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)size);
        sqlite3_bind_int64(q, 5, now_ms);
        st = stmt_exec(c, q, "storing a secret", err);
        if (st == NCSL_E_NOT_FOUND) {
            st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "user_id", "no user %s", user_id);
        }
    }
    if (created) {
        *created = st == NCSL_OK && !exists;
    }
    return sq_leave(s, c, true, st, err);
}

static bool read_secret_row(sqlite3_stmt *q, void *out) {
    ncsl__store_secret_row *r = out;
    bool oom = false;
    memset(r, 0, sizeof(*r));
    r->name = col_text(q, 0, &oom);
    r->blob = col_blob(q, 1, &r->blob_len, &oom);
    r->size = col_size(q, 2);
    r->created_at_ms = sqlite3_column_int64(q, 3);
    r->updated_at_ms = sqlite3_column_int64(q, 4);
    if (!r->name && !oom) {
        r->name = strdup("");
        oom = !r->name;
    }
    return !oom;
}

static ncsl_status sq_secret_get(void *state, const char *user_id, const char *name,
                                 ncsl__store_secret_row *out, ncsl_err *err) {
    bool found = false;
    ncsl_status st = sq_read_keys(state, ST_SECRET_GET, (const char *[]){user_id, name}, 2,
                                  "reading a secret", read_secret_row, out, &found, err);
    if (st == NCSL_E_NOT_FOUND && !found) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "name", "no secret named \"%s\"", name);
    }
    return st;
}

static ncsl_status sq_secret_rows(void *state, const char *user_id, ncsl__store_secret_row **rows,
                                  size_t *count, ncsl_err *err) {
    void *items = *rows;
    ncsl_status st =
        sq_collect_keys(state, ST_SECRET_ROWS, (const char *[]){user_id}, 1, "reading secrets",
                        sizeof(**rows), 16, read_secret_row, &items, count, err);
    *rows = items;
    return st;
}

/* A secret's metadata; a NULL name (out of memory or a tampered row) fails. */
static bool read_secret_info(sqlite3_stmt *q, void *out) {
    ncsl_store_secret_info *it = out;
    bool oom = false;
    it->name = col_text(q, 0, &oom);
    uint64_t size = col_size(q, 1);
    it->size = size > SIZE_MAX ? SIZE_MAX : (size_t)size;
    it->created_at_ms = sqlite3_column_int64(q, 2);
    it->updated_at_ms = sqlite3_column_int64(q, 3);
    return !oom && it->name;
}

static ncsl_status sq_secret_list(void *state, const char *user_id, ncsl_store_secret_info **items,
                                  size_t *count, ncsl_err *err) {
    void *rows = *items;
    ncsl_status st =
        sq_collect_keys(state, ST_SECRET_LIST, (const char *[]){user_id}, 1, "listing secrets",
                        sizeof(**items), 16, read_secret_info, &rows, count, err);
    *items = rows;
    return st;
}

static ncsl_status sq_secret_delete(void *state, const char *user_id, const char *name,
                                    ncsl_err *err) {
    bool changed = false;
    ncsl_status st = sq_write_keys(state, ST_SECRET_DELETE, (const char *[]){user_id, name}, 2,
                                   "deleting a secret", &changed, err);
    if (st == NCSL_E_NOT_FOUND && !changed) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "name", "no secret named \"%s\"", name);
    }
    return st;
}

static ncsl_status sq_secret_count(void *state, const char *user_id, size_t *count, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    int64_t n = 0;
    ncsl_status st = sq_enter(s, false, &c, err);
    if (st != NCSL_OK) {
        return st;
    }
    st = count_query(c, ST_SECRET_COUNT, user_id, "counting secrets", &n, err);
    *count = st == NCSL_OK && n > 0 ? (size_t)n : 0;
    return sq_leave(s, c, false, st, err);
}

/* ------------------------------------------------------------------------- storage */

static ncsl_status fn_owned(sq_conn *c, const char *user_id, const char *function_id,
                            ncsl_err *err) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    ncsl_status st = stmt_get(c, ST_FN_OWNED, &q, err);
    if (st == NCSL_OK) {
        bind_text(q, 1, function_id);
        bind_text(q, 2, user_id);
        st = stmt_step(c, q, &row, "reading a function", err);
    }
    if (st == NCSL_OK) {
        stmt_done(q);
        if (!row) {
            st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "function_id", "no function %s", function_id);
        }
    }
    return st;
}

/* sq_enter, then fn_owned; on failure the transaction is already left and *c is NULL. */
static ncsl_status sq_enter_fn(sq_state *s, bool write, const char *user_id,
                               const char *function_id, sq_conn **c, ncsl_err *err) {
    ncsl_status st = sq_enter(s, write, c, err);
    if (st == NCSL_OK) {
        st = fn_owned(*c, user_id, function_id, err);
        if (st != NCSL_OK) {
            st = sq_leave(s, *c, write, st, err);
            *c = NULL;
        }
    }
    return st;
}

static bool read_kv_row(sqlite3_stmt *q, void *out) {
    ncsl__store_kv_row *r = out;
    bool oom = false;
    memset(r, 0, sizeof(*r));
    const void *id = sqlite3_column_blob(q, 0);
    if (id && sqlite3_column_bytes(q, 0) == NCSL__STORE_HASH_SIZE) {
        memcpy(r->key_id, id, NCSL__STORE_HASH_SIZE);
    }
    r->blob = col_blob(q, 1, &r->blob_len, &oom);
    r->size = col_size(q, 2);
    return !oom;
}

static ncsl_status sq_kv_get(void *state, const char *user_id, const char *function_id,
                             const uint8_t key_id[NCSL__STORE_HASH_SIZE], ncsl__store_kv_row *out,
                             ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    bool row = false;
    ncsl_status st = sq_enter_fn(s, false, user_id, function_id, &c, err);
    if (st != NCSL_OK) {
        return st;
    }
    st = stmt_get(c, ST_KV_GET, &q, err);
    if (st == NCSL_OK) {
        bind_text(q, 1, function_id);
        bind_blob(q, 2, key_id, NCSL__STORE_HASH_SIZE);
        bind_text(q, 3, user_id);
        st = stmt_step(c, q, &row, "reading a stored value", err);
    }
    if (st == NCSL_OK) {
        if (row && !read_kv_row(q, out)) {
            st = nomem(err);
        }
        stmt_done(q);
    }
    return sq_leave(s, c, false, st, err);
}

static ncsl_status sq_kv_rows(void *state, const char *user_id, const char *function_id,
                              ncsl__store_kv_row **rows, size_t *count, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    void *items = *rows;
    ncsl_status st = sq_enter_fn(s, false, user_id, function_id, &c, err);
    if (st != NCSL_OK) {
        return st;
    }
    st = stmt_get(c, ST_KV_ROWS, &q, err);
    if (st == NCSL_OK) {
        bind_text(q, 1, function_id);
        bind_text(q, 2, user_id);
        st = collect_rows(c, q, "reading stored values", sizeof(**rows), 16, read_kv_row, &items,
                          count, err);
        *rows = items;
    }
    return sq_leave(s, c, false, st, err);
}

static ncsl_status usage_query(sq_conn *c, const char *function_id, uint64_t *bytes, size_t *count,
                               ncsl_err *err) {
    sqlite3_stmt *q = NULL;
    bool row = false;
    ncsl_status st = stmt_get(c, ST_KV_USAGE, &q, err);
    if (st == NCSL_OK) {
        bind_text(q, 1, function_id);
        st = stmt_step(c, q, &row, "measuring stored values", err);
    }
    if (st == NCSL_OK) {
        sqlite3_int64 b = row ? sqlite3_column_int64(q, 0) : 0;
        sqlite3_int64 n = row ? sqlite3_column_int64(q, 1) : 0;
        *bytes = b > 0 ? (uint64_t)b : 0;
        if (count) {
            *count = n > 0 ? (size_t)n : 0;
        }
        stmt_done(q);
    }
    return st;
}

static ncsl_status sq_kv_commit(void *state, const char *user_id, const char *function_id,
                                const ncsl__store_kv_write *w, size_t count, uint64_t quota,
                                int64_t now_ms, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    uint64_t before = 0, after = 0;
    ncsl_status st = sq_enter_fn(s, true, user_id, function_id, &c, err);
    if (st != NCSL_OK) {
        return st;
    }
    if (quota > 0) {
        st = usage_query(c, function_id, &before, NULL, err);
    }
    for (size_t i = 0; st == NCSL_OK && i < count; i++) {
        sqlite3_stmt *q = NULL;
        switch (w[i].type) {
        case NCSL_STORE_KV_SET:
            st = stmt_get(c, ST_KV_UPSERT, &q, err);
            if (st == NCSL_OK) {
                bind_text(q, 1, user_id);
                bind_text(q, 2, function_id);
                bind_blob(q, 3, w[i].key_id, NCSL__STORE_HASH_SIZE);
                bind_blob(q, 4, w[i].blob, w[i].blob_len);
                sqlite3_bind_int64(q, 5, (sqlite3_int64)w[i].size);
                sqlite3_bind_int64(q, 6, now_ms);
                st = stmt_exec(c, q, "storing a value", err);
            }
            break;
        case NCSL_STORE_KV_REMOVE:
            st = stmt_get(c, ST_KV_DELETE, &q, err);
            if (st == NCSL_OK) {
                bind_text(q, 1, function_id);
                bind_blob(q, 2, w[i].key_id, NCSL__STORE_HASH_SIZE);
                st = stmt_exec(c, q, "removing a value", err);
            }
            break;
        case NCSL_STORE_KV_CLEAR:
            st = stmt_get(c, ST_KV_CLEAR, &q, err);
            if (st == NCSL_OK) {
                bind_text(q, 1, function_id);
                st = stmt_exec(c, q, "clearing values", err);
            }
            break;
        default:
            st = ncsl_err_set(err, NCSL_E_INTERNAL, NULL, "unknown storage operation");
            break;
        }
    }
    if (st == NCSL_OK && quota > 0) {
        st = usage_query(c, function_id, &after, NULL, err);
        if (st == NCSL_OK && after > quota && after > before) {
            st = ncsl_err_set(err, NCSL_E_STORE_QUOTA, "quota",
                              "storage quota of function %s exceeded: the writes would make it "
                              "%" PRIu64 " bytes, the quota is %" PRIu64 " bytes",
                              function_id, after, quota);
        }
    }
    return sq_leave(s, c, true, st, err);
}

static ncsl_status sq_kv_usage(void *state, const char *user_id, const char *function_id,
                               uint64_t *bytes, size_t *count, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    ncsl_status st = sq_enter_fn(s, false, user_id, function_id, &c, err);
    if (st != NCSL_OK) {
        return st;
    }
    st = usage_query(c, function_id, bytes, count, err);
    return sq_leave(s, c, false, st, err);
}

/* ------------------------------------------------------------------------- system */

static ncsl_status sq_system_put(void *state, const char *name, const uint8_t *blob,
                                 size_t blob_len, uint64_t size, int64_t now_ms, ncsl_err *err) {
    sq_state *s = state;
    sq_conn *c = NULL;
    sqlite3_stmt *q = NULL;
    ncsl_status st = sq_enter_stmt(s, true, ST_SYS_UPSERT, &c, &q, err);
    if (st != NCSL_OK) {
        return st;
    }
    bind_text(q, 1, name);
    bind_blob(q, 2, blob, blob_len);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)size);
    sqlite3_bind_int64(q, 4, now_ms);
    st = stmt_exec(c, q, "storing a system record", err);
    return sq_leave(s, c, true, st, err);
}

static ncsl_status sq_system_get(void *state, const char *name, uint8_t **blob, size_t *blob_len,
                                 uint64_t *size, ncsl_err *err) {
    sq_blob_row r = {0};
    bool found = false;
    ncsl_status st = sq_read_keys(state, ST_SYS_GET, (const char *[]){name}, 1,
                                  "reading a system record", read_blob_size, &r, &found, err);
    if (found) {
        *blob = r.blob;
        *blob_len = r.blob_len;
        *size = r.size;
    } else if (st == NCSL_E_NOT_FOUND) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "name", "no system record \"%s\"", name);
    }
    return st;
}

static ncsl_status sq_system_delete(void *state, const char *name, ncsl_err *err) {
    bool changed = false;
    ncsl_status st = sq_write_keys(state, ST_SYS_DELETE, (const char *[]){name}, 1,
                                   "deleting a system record", &changed, err);
    if (st == NCSL_E_NOT_FOUND && !changed) {
        st = ncsl_err_set(err, NCSL_E_NOT_FOUND, "name", "no system record \"%s\"", name);
    }
    return st;
}

/* ------------------------------------------------------------------------- ops table */

const ncsl__store_backend_ops ncsl__store_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .location = sq_location,
    .schema_version = sq_schema_version,
    .check = sq_check,
    .meta_get = sq_meta_get,
    .meta_put_new = sq_meta_put_new,
    .user_insert = sq_user_insert,
    .user_get = sq_user_get,
    .user_list = sq_user_list,
    .user_set_disabled = sq_user_set_disabled,
    .user_delete = sq_user_delete,
    .key_insert = sq_key_insert,
    .key_lookup = sq_key_lookup,
    .key_list = sq_key_list,
    .key_revoke = sq_key_revoke,
    .fn_insert = sq_fn_insert,
    .fn_add_version = sq_fn_add_version,
    .fn_get = sq_fn_get,
    .fn_list = sq_fn_list,
    .fn_delete = sq_fn_delete,
    .fn_match = sq_fn_match,
    .secret_put = sq_secret_put,
    .secret_get = sq_secret_get,
    .secret_rows = sq_secret_rows,
    .secret_list = sq_secret_list,
    .secret_delete = sq_secret_delete,
    .secret_count = sq_secret_count,
    .kv_get = sq_kv_get,
    .kv_rows = sq_kv_rows,
    .kv_commit = sq_kv_commit,
    .kv_usage = sq_kv_usage,
    .system_put = sq_system_put,
    .system_get = sq_system_get,
    .system_delete = sq_system_delete,
};
