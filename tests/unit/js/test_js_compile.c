/*
 * Deploy-time compilation (ncsl_js_compile) and the process-wide bytecode cache: syntax errors
 * with their positions, compile once / run from the cache, several threads at once, eviction
 * under the bounds, and hostile sources that must end in a clean error.
 *
 * The cache is global: every test starts from an empty cache with the default bounds and checks
 * counter deltas; sources carry a per-test tag so that they never collide.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "js/js.h"

#define MIB ((size_t)1 << 20)

static ncsl_js_limits test_limits(void) {
    ncsl_js_limits l = {
        .memory_bytes = 256 * MIB,
        .timeout_ms = 20000, /* sanitizer builds parse 1 MiB slowly */
        .stack_bytes = 512 * 1024,
        .max_output_bytes = MIB,
        .max_log_bytes = 4096,
    };
    return l;
}

static ncsl_js_bc_cache_stats stats(void) {
    ncsl_js_bc_cache_stats s;
    ncsl_js_bc_cache_get_stats(&s);
    return s;
}

static ncsl_status run_code(ncsl_js_runtime *rt, const char *code, const char *input,
                            ncsl_js_outcome *o) {
    ncsl_js_call call = {
        .code = code,
        .code_len = strlen(code),
        .input_json = input,
        .input_len = input ? strlen(input) : 0,
        .limits = test_limits(),
    };
    ncsl_err err;
    ncsl_status st = ncsl_js_run(rt, &call, o, &err);
    if (st != NCSL_OK) {
        fprintf(stderr, "run: %s\n", err.message);
    }
    return st;
}

/* A source of `target` bytes or a little more: `head`, `unit` repeated, `tail`. Caller frees. */
static char *repeat_source(const char *head, const char *unit, size_t target, const char *tail) {
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    size_t n = (target + ul - 1) / ul;
    char *s = malloc(hl + n * ul + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++) {
        memcpy(s + hl + i * ul, unit, ul);
    }
    memcpy(s + hl + n * ul, tail, tl + 1);
    return s;
}

static int setup_cache(void **state) {
    ncsl_js_bc_cache_configure(0, 0);
    ncsl_js_bc_cache_clear();
    return 0;
}

/* ------------------------------------------------------------------------- syntax errors */
typedef struct syntax_case {
    const char *name;
    const char *code;
    uint32_t line, column;
    const char *message; /* exact err.message */
} syntax_case;

static const syntax_case g_syntax[] = {
    {"first line", "x = );", 1, 5,
     "SyntaxError: unexpected token in expression: ')' (line 1, column 5)"},
    {"later line", "function main() {\n  var a = 1;\n  return a +;\n}", 3, 13,
     "SyntaxError: unexpected token in expression: ';' (line 3, column 13)"},
    {"unterminated string", "function main() {\n\n  var s = 'abc\n  return s;\n}", 3, 11,
     "SyntaxError: unexpected end of string (line 3, column 11)"},
    {"unexpected end", "function main(input) {\n  return input;\n", 3, 1,
     "SyntaxError: unexpected end of input (line 3, column 1)"},
    {"unterminated comment", "function main() {}\n/* never closed", 2, 1,
     "SyntaxError: unexpected end of comment (line 2, column 1)"},
    {"missing semicolon", "function main() {\n  foo(a, b));\n}", 2, 12,
     "SyntaxError: expecting ';' (line 2, column 12)"},
    /* QuickJS notices the redeclaration at the token after the name */
    {"redeclaration", "let x = 1;\nlet x = 2;\nfunction main() {}", 2, 7,
     "SyntaxError: invalid redefinition of lexical identifier (line 2, column 7)"},
    /* columns count characters, not UTF-8 bytes */
    {"non-ASCII column", "var s = '\xc3\xa9\xe2\x82\xac'; )", 1, 15,
     "SyntaxError: unexpected token in expression: ')' (line 1, column 15)"},
    {"CRLF lines", "var a = 1;\r\nvar b = 2;\r\nb = );", 3, 5,
     "SyntaxError: unexpected token in expression: ')' (line 3, column 5)"},
    {"tab counts one", "\tx )", 1, 4, "SyntaxError: expecting ';' (line 1, column 4)"},
    /* QuickJS gives no position for errors inside a regular expression literal */
    {"bad regexp", "function main() {\n  return /(/.test('');\n}", 0, 0,
     "SyntaxError: expecting ')'"},
};

static void test_syntax_errors(void **state) {
    ncsl_js_runtime *rt = NULL;
    assert_int_equal(ncsl_js_runtime_create(&rt, NULL), NCSL_OK);
    for (size_t i = 0; i < sizeof(g_syntax) / sizeof(g_syntax[0]); i++) {
        const syntax_case *c = &g_syntax[i];
        ncsl_js_compile_info info;
        ncsl_err err;
        ncsl_js_limits l = test_limits();
        ncsl_js_bc_cache_stats before = stats();
        ncsl_status st = ncsl_js_compile(c->code, strlen(c->code), &l, &info, &err);
        fprintf(stderr, "case %-22s -> %d %s\n", c->name, (int)st, err.message);
        assert_int_equal(st, NCSL_E_JS_SYNTAX);
        assert_int_equal(err.code, NCSL_E_JS_SYNTAX);
        assert_string_equal(err.field, "code");
        assert_string_equal(err.message, c->message);
        assert_int_equal(info.line, c->line);
        assert_int_equal(info.column, c->column);
        assert_int_equal(info.bytecode_bytes, 0);
        assert_false(info.cached);
        /* a failure is not cached: it compiles (and fails) again */
        ncsl_js_bc_cache_stats after = stats();
        assert_int_equal(after.compiles, before.compiles + 1);
        assert_int_equal(after.entries, before.entries);
        /* and ncsl_js_run agrees */
        ncsl_js_outcome o;
        ncsl_js_call call = {.code = c->code, .code_len = strlen(c->code), .limits = l};
        assert_int_equal(ncsl_js_run(rt, &call, &o, NULL), NCSL_E_JS_SYNTAX);
        assert_string_equal(o.error_name, "SyntaxError");
        ncsl_js_outcome_cleanup(&o);
    }
    ncsl_js_runtime_destroy(rt);
}

/* A message longer than ncsl_err.message is cut, but the position always survives. */
static void test_syntax_long_token(void **state) {
    char *code = repeat_source("var s = 1;\nfoo(", "a", 4000, " b);");
    ncsl_js_compile_info info;
    ncsl_err err;
    ncsl_status st = ncsl_js_compile(code, strlen(code), NULL, &info, &err);
    assert_int_equal(st, NCSL_E_JS_SYNTAX);
    assert_int_equal(info.line, 2);
    assert_int_equal(info.column, 4006);
    const char *suffix = "(line 2, column 4006)";
    size_t ml = strlen(err.message), sl = strlen(suffix);
    assert_true(ml > sl && strcmp(err.message + ml - sl, suffix) == 0);
    assert_true(strncmp(err.message, "SyntaxError: ", 13) == 0);
    free(code);
}

/* ------------------------------------------------------------------------- compile then run */
static void test_compile_then_run_hits(void **state) {
    const char *code = "// compile then run\nfunction main(i) { return { twice: i.v * 2 }; }";
    ncsl_js_compile_info info;
    ncsl_err err;
    ncsl_js_bc_cache_stats s0 = stats();
    assert_int_equal(ncsl_js_compile(code, strlen(code), NULL, &info, &err), NCSL_OK);
    assert_int_equal(err.code, NCSL_OK);
    assert_false(info.cached);
    assert_true(info.bytecode_bytes > 0);
    assert_int_equal(info.line, 0);
    ncsl_js_bc_cache_stats s1 = stats();
    assert_int_equal(s1.compiles, s0.compiles + 1);
    assert_int_equal(s1.misses, s0.misses + 1);
    assert_int_equal(s1.entries, s0.entries + 1);
    assert_true(s1.bytes >= s0.bytes + info.bytecode_bytes);

    /* the first run in a fresh runtime loads the bytecode: a hit, nothing compiled */
    ncsl_js_runtime *rt = NULL;
    assert_int_equal(ncsl_js_runtime_create(&rt, NULL), NCSL_OK);
    ncsl_js_outcome o;
    assert_int_equal(run_code(rt, code, "{\"v\":21}", &o), NCSL_OK);
    assert_string_equal(o.result_json, "{\"twice\":42}");
    ncsl_js_outcome_cleanup(&o);
    ncsl_js_bc_cache_stats s2 = stats();
    assert_int_equal(s2.compiles, s1.compiles);
    assert_int_equal(s2.hits, s1.hits + 1);
    assert_int_equal(s2.misses, s1.misses);

    /* compiling again finds it */
    ncsl_js_compile_info again;
    assert_int_equal(ncsl_js_compile(code, strlen(code), NULL, &again, NULL), NCSL_OK);
    assert_true(again.cached);
    assert_int_equal(again.bytecode_bytes, info.bytecode_bytes);
    assert_memory_equal(again.code_hash, info.code_hash, 32);
    assert_int_equal(stats().compiles, s1.compiles);

    /* a run of new code compiles once, then hits */
    const char *code2 = "// run only\nconst main = (i) => i + 1;";
    assert_int_equal(run_code(rt, code2, "1", &o), NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(run_code(rt, code2, "2", &o), NCSL_OK);
    assert_string_equal(o.result_json, "3");
    ncsl_js_outcome_cleanup(&o);
    ncsl_js_bc_cache_stats s3 = stats();
    assert_int_equal(s3.compiles, s2.compiles + 1);
    assert_int_equal(s3.hits, s2.hits + 1 + 1); /* the compile above and the second run */
    ncsl_js_runtime_destroy(rt);
}

static void test_compile_args(void **state) {
    ncsl_js_compile_info info;
    ncsl_err err;
    assert_int_equal(ncsl_js_compile(NULL, 3, NULL, &info, &err), NCSL_E_INVALID_ARG);
    assert_string_equal(err.field, "code");
    /* the empty source compiles (whether it has main is decided by running it) */
    static const uint8_t empty_sha256[32] = {0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14,
                                             0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
                                             0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c,
                                             0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
    assert_int_equal(ncsl_js_compile(NULL, 0, NULL, &info, NULL), NCSL_OK);
    assert_memory_equal(info.code_hash, empty_sha256, 32);
    /* info and err may be NULL; code need not be NUL-terminated */
    const char code[] = "function main() { return 5; }XXXX";
    assert_int_equal(ncsl_js_compile(code, sizeof(code) - 5, NULL, NULL, NULL), NCSL_OK);
    ncsl_js_runtime *rt = NULL;
    assert_int_equal(ncsl_js_runtime_create(&rt, NULL), NCSL_OK);
    uint64_t compiles = stats().compiles;
    ncsl_js_call call = {.code = code, .code_len = sizeof(code) - 5, .limits = test_limits()};
    ncsl_js_outcome o;
    assert_int_equal(ncsl_js_run(rt, &call, &o, NULL), NCSL_OK);
    assert_string_equal(o.result_json, "5");
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(stats().compiles, compiles);
    ncsl_js_runtime_destroy(rt);
    ncsl_js_bc_cache_get_stats(NULL);
}

/* ------------------------------------------------------------------------- eviction */
/* A distinct source whose bytecode is a few KiB: `n` functions plus main returning `tag`. */
static char *sized_source(int tag, int n) {
    char *s = malloc((size_t)n * 80 + 128);
    assert_non_null(s);
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        off += (size_t)sprintf(s + off, "function f%d_%d(a) { return a * %d + 'x%d'; }\n", tag, i,
                               i, i);
    }
    sprintf(s + off, "function main() { return %d; }", tag);
    return s;
}

static void test_eviction_bytes(void **state) {
    enum { N = 12 };
    char *src[N];
    ncsl_js_compile_info info[N];
    for (int i = 0; i < N; i++) {
        src[i] = sized_source(1000 + i, 40);
    }
    /* measure one entry, then allow about four of them */
    assert_int_equal(ncsl_js_compile(src[0], strlen(src[0]), NULL, &info[0], NULL), NCSL_OK);
    size_t one = stats().bytes;
    assert_true(one > info[0].bytecode_bytes);
    ncsl_js_bc_cache_clear();
    size_t max = one * 4 + one / 2;
    ncsl_js_bc_cache_configure(0, max);
    ncsl_js_bc_cache_stats s0 = stats();
    assert_int_equal(s0.max_bytes, max);
    assert_int_equal(s0.entries, 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(ncsl_js_compile(src[i], strlen(src[i]), NULL, &info[i], NULL), NCSL_OK);
        ncsl_js_bc_cache_stats s = stats();
        assert_true(s.bytes <= max);
        assert_true(s.entries <= 4);
    }
    ncsl_js_bc_cache_stats s1 = stats();
    assert_int_equal(s1.entries, 4);
    assert_int_equal(s1.evictions, s0.evictions + N - 4);

    /* least recently used goes first: touch the oldest survivor (N-4) with a run, add one more,
     * and N-3 is the one evicted */
    ncsl_js_runtime *rt = NULL;
    assert_int_equal(ncsl_js_runtime_create(&rt, NULL), NCSL_OK);
    ncsl_js_outcome o;
    assert_int_equal(run_code(rt, src[N - 4], NULL, &o), NCSL_OK);
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(stats().compiles, s1.compiles);
    char *extra = sized_source(2000, 40);
    assert_int_equal(ncsl_js_compile(extra, strlen(extra), NULL, NULL, NULL), NCSL_OK);
    ncsl_js_compile_info again;
    assert_int_equal(ncsl_js_compile(src[N - 4], strlen(src[N - 4]), NULL, &again, NULL), NCSL_OK);
    assert_true(again.cached);
    assert_int_equal(ncsl_js_compile(src[N - 3], strlen(src[N - 3]), NULL, &again, NULL), NCSL_OK);
    assert_false(again.cached);
    /* an evicted source still runs: it is compiled again */
    uint64_t compiles = stats().compiles;
    assert_int_equal(run_code(rt, src[0], NULL, &o), NCSL_OK);
    assert_string_equal(o.result_json, "1000");
    ncsl_js_outcome_cleanup(&o);
    assert_int_equal(stats().compiles, compiles + 1);

    /* bytecode over a quarter of the bound is never cached (and never flushes the others) */
    char *big = sized_source(3000, 200);
    size_t entries = stats().entries;
    assert_int_equal(ncsl_js_compile(big, strlen(big), NULL, &again, NULL), NCSL_OK);
    assert_true(again.bytecode_bytes > max / 4);
    assert_int_equal(stats().entries, entries);
    assert_int_equal(ncsl_js_compile(big, strlen(big), NULL, &again, NULL), NCSL_OK);
    assert_false(again.cached);
    assert_int_equal(run_code(rt, big, NULL, &o), NCSL_OK);
    assert_string_equal(o.result_json, "3000");
    ncsl_js_outcome_cleanup(&o);

    /* shrinking the bounds evicts at once */
    ncsl_js_bc_cache_configure(2, 0);
    assert_int_equal(stats().entries, 2);
    assert_int_equal(stats().max_entries, 2);
    ncsl_js_bc_cache_configure(0, 0);

    ncsl_js_runtime_destroy(rt);
    free(big);
    free(extra);
    for (int i = 0; i < N; i++) {
        free(src[i]);
    }
}

static void test_eviction_entries(void **state) {
    ncsl_js_bc_cache_configure(3, 0);
    for (int i = 0; i < 10; i++) {
        char code[96];
        snprintf(code, sizeof(code), "function main() { return %d; } // entries", i);
        assert_int_equal(ncsl_js_compile(code, strlen(code), NULL, NULL, NULL), NCSL_OK);
        assert_true(stats().entries <= 3);
    }
    assert_int_equal(stats().entries, 3);
    ncsl_js_bc_cache_configure(0, 0);
    assert_int_equal(stats().max_entries, 1024);
    assert_int_equal(stats().max_bytes, 32 * MIB);
}

/* ------------------------------------------------------------------------- threads */
#define THREADS 4
#define SOURCES 6
#define ROUNDS 30

typedef struct thread_arg {
    int id;
    int failures;
} thread_arg;

static void source_text(char *buf, size_t size, int k) {
    snprintf(buf, size, "// shared %d\nfunction main(i) { return [i, %d]; }", k, k);
}

/* Every thread runs all sources in its own runtime; even threads also deploy-compile them, and
 * thread 0 keeps shrinking and clearing the cache under the others. */
static void *thread_main(void *p) {
    thread_arg *a = p;
    ncsl_js_runtime *rt = NULL;
    if (ncsl_js_runtime_create(&rt, NULL) != NCSL_OK) {
        a->failures++;
        return NULL;
    }
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < SOURCES; k++) {
            char code[128], input[32], expect[64];
            source_text(code, sizeof(code), (k + a->id) % SOURCES);
            if (a->id % 2 == 0) {
                ncsl_js_compile_info info;
                a->failures += ncsl_js_compile(code, strlen(code), NULL, &info, NULL) != NCSL_OK;
            }
            snprintf(input, sizeof(input), "%d", a->id * 1000 + r);
            snprintf(expect, sizeof(expect), "[%s,%d]", input, (k + a->id) % SOURCES);
            ncsl_js_call call = {.code = code,
                                 .code_len = strlen(code),
                                 .input_json = input,
                                 .input_len = strlen(input),
                                 .limits = test_limits()};
            ncsl_js_outcome o;
            ncsl_status st = ncsl_js_run(rt, &call, &o, NULL);
            a->failures += st != NCSL_OK || strcmp(o.result_json, expect) != 0;
            ncsl_js_outcome_cleanup(&o);
        }
        if (a->id == 0) {
            ncsl_js_bc_cache_configure(r % 2 ? 2 : 0, 0);
            if (r % 5 == 0) {
                ncsl_js_bc_cache_clear();
            }
        }
    }
    ncsl_js_runtime_destroy(rt);
    return NULL;
}

static void test_threads(void **state) {
    pthread_t t[THREADS];
    thread_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (thread_arg){.id = i};
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    ncsl_js_bc_cache_configure(0, 0);
    /* one compile serves every thread: with a roomy cache, each source compiles once */
    ncsl_js_bc_cache_clear();
    uint64_t compiles = stats().compiles;
    for (int i = 0; i < THREADS; i++) {
        args[i] = (thread_arg){.id = i + 10};
        assert_int_equal(pthread_create(&t[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    /* two threads may race on the first compile of a source; never more than one each */
    uint64_t done = stats().compiles - compiles;
    assert_true(done >= SOURCES && done <= (uint64_t)SOURCES * THREADS);
    assert_int_equal(stats().entries, SOURCES);
}

/* ------------------------------------------------------------------------- hostile sources */
typedef struct hostile_case {
    const char *name;
    const char *head, *unit, *tail;
    size_t bytes;
    int limits; /* 0 default, 1 small memory, 2 and 3 short deadlines */
    ncsl_status status;
    ncsl_status alt; /* also accepted: where the parser notices a stack overflow decides whether
                      * it throws it or a SyntaxError in its place; NCSL_OK = none */
} hostile_case;

static const hostile_case g_hostile[] = {
    {"nested brackets", "var a = ", "[", "", MIB, 0, NCSL_E_JS_STACK, NCSL_E_JS_SYNTAX},
    {"nested parens", "var a = ", "(", "", MIB, 0, NCSL_E_JS_STACK, NCSL_E_JS_SYNTAX},
    {"nested blocks", "", "{", "", MIB, 0, NCSL_E_JS_STACK, NCSL_E_JS_SYNTAX},
    {"nested functions", "", "function f(){", "", MIB, 0, NCSL_E_JS_STACK, NCSL_E_JS_SYNTAX},
    {"nested arrows", "var f = ", "()=>", "1", MIB, 0, NCSL_E_JS_STACK, NCSL_E_JS_SYNTAX},
    {"nested templates", "var t = ", "`${", "", MIB, 0, NCSL_E_JS_STACK, NCSL_E_JS_SYNTAX},
    {"nested regexp groups", "var r = /", "(", "/;", MIB, 0, NCSL_E_JS_SYNTAX, NCSL_OK},
    {"1 MiB of tokens", "var x = 0;\n", "x += 1;\n", "function main() { return x; }", MIB, 0,
     NCSL_OK, NCSL_OK},
    {"long expression", "var x = ", "1+", "1; function main() { return x; }", MIB, 0, NCSL_OK,
     NCSL_OK},
    {"huge regexp literal", "var r = /", "ab", "/; function main() { return r.source.length; }",
     MIB, 0, NCSL_OK, NCSL_OK},
    {"huge string literal", "var s = '", "ab", "'; function main() { return s.length; }", MIB, 0,
     NCSL_OK, NCSL_OK},
    /* a scope of many names parses in quadratic time (seconds per MiB): the deadline ends it */
    {"many variables", NULL, NULL, NULL, 64 << 10, 0, NCSL_OK, NCSL_OK},
    {"many variables, 1 MiB", NULL, NULL, NULL, MIB, 3, NCSL_E_JS_TIMEOUT, NCSL_OK},
    {"1 MiB under 2 MiB memory", "var x = 0;\n", "x += 1;\n", "", MIB, 1, NCSL_E_JS_MEMORY,
     NCSL_OK},
    {"1 MiB under 1 ms", "var x = 0;\n", "x += 1;\n", "", MIB, 2, NCSL_E_JS_TIMEOUT, NCSL_OK},
};

static ncsl_js_limits hostile_limits(int which) {
    ncsl_js_limits l = test_limits();
    l.stack_bytes = 256 * 1024;
    if (which == 1) {
        l.memory_bytes = 2 * MIB;
    } else if (which == 2) {
        l.timeout_ms = 1;
    } else if (which == 3) {
        l.timeout_ms = 300;
    }
    return l;
}

/* `var v0=1,v1=1,...` of `bytes`: a scope with many names */
static char *many_variables(size_t bytes) {
    char *s = malloc(bytes + 64);
    assert_non_null(s);
    size_t off = (size_t)sprintf(s, "var v0=1");
    for (int i = 1; off < bytes; i++) {
        off += (size_t)sprintf(s + off, ",v%d=1", i);
    }
    sprintf(s + off, "; function main() { return 1; }");
    return s;
}

static void check_healthy(void) {
    const char *code = "// healthy\nfunction main(i) { return i * 2; }";
    ncsl_js_bc_cache_clear();
    ncsl_js_compile_info info;
    assert_int_equal(ncsl_js_compile(code, strlen(code), NULL, &info, NULL), NCSL_OK);
    ncsl_js_runtime *rt = NULL;
    assert_int_equal(ncsl_js_runtime_create(&rt, NULL), NCSL_OK);
    ncsl_js_outcome o;
    assert_int_equal(run_code(rt, code, "21", &o), NCSL_OK);
    assert_string_equal(o.result_json, "42");
    ncsl_js_outcome_cleanup(&o);
    ncsl_js_runtime_destroy(rt);
}

static void test_hostile(void **state) {
    for (size_t i = 0; i < sizeof(g_hostile) / sizeof(g_hostile[0]); i++) {
        const hostile_case *c = &g_hostile[i];
        char *code =
            c->head ? repeat_source(c->head, c->unit, c->bytes, c->tail) : many_variables(c->bytes);
        ncsl_js_limits l = hostile_limits(c->limits);
        ncsl_js_compile_info info;
        ncsl_err err;
        ncsl_status st = ncsl_js_compile(code, strlen(code), &l, &info, &err);
        fprintf(stderr, "case %-26s -> %d in %llu us, %zu B bytecode: %s\n", c->name, (int)st,
                (unsigned long long)info.compile_us, info.bytecode_bytes, err.message);
        if (c->alt == NCSL_OK || st != c->alt) {
            assert_int_equal(st, c->status);
        }
        if (st == NCSL_E_JS_TIMEOUT) {
            /* the parser never polls: the allocator notices the deadline, a little late */
            assert_true(info.compile_us < (uint64_t)l.timeout_ms * 1000 + 3000000);
        }
        if (st != NCSL_OK) {
            assert_string_equal(err.field, "code");
            assert_int_equal(info.bytecode_bytes, 0);
        } else if (strstr(code, "main")) {
            /* what compiled also runs, from the cache */
            ncsl_js_runtime *rt = NULL;
            assert_int_equal(ncsl_js_runtime_create(&rt, NULL), NCSL_OK);
            uint64_t compiles = stats().compiles;
            ncsl_js_outcome o;
            ncsl_js_call call = {.code = code, .code_len = strlen(code), .limits = l};
            call.limits.memory_bytes = 256 * MIB;
            assert_int_equal(ncsl_js_run(rt, &call, &o, NULL), NCSL_OK);
            ncsl_js_outcome_cleanup(&o);
            if (info.bytecode_bytes <= stats().max_bytes / 4) {
                assert_int_equal(stats().compiles, compiles);
            }
            ncsl_js_runtime_destroy(rt);
        }
        free(code);
        check_healthy();
    }
}

/* A thread with a small C stack: the stack limit is cut to what it can afford, so deep nesting
 * ends in NCSL_E_JS_STACK instead of overflowing the thread. */
static void *small_stack_main(void *p) {
    ncsl_status *st = p;
    char *code = repeat_source("var a = ", "[", 200000, "");
    ncsl_js_limits l = test_limits();
    l.stack_bytes = 8 * MIB; /* far more than the thread has */
    ncsl_err err;
    *st = ncsl_js_compile(code, strlen(code), &l, NULL, &err);
    free(code);
    return NULL;
}

static void test_small_thread_stack(void **state) {
    pthread_attr_t attr;
    pthread_t t;
    ncsl_status st = NCSL_OK;
    assert_int_equal(pthread_attr_init(&attr), 0);
    assert_int_equal(pthread_attr_setstacksize(&attr, 512 * 1024), 0);
    assert_int_equal(pthread_create(&t, &attr, small_stack_main, &st), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    assert_int_equal(st, NCSL_E_JS_STACK);
    check_healthy();
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_syntax_errors, setup_cache),
        cmocka_unit_test_setup(test_syntax_long_token, setup_cache),
        cmocka_unit_test_setup(test_compile_then_run_hits, setup_cache),
        cmocka_unit_test_setup(test_compile_args, setup_cache),
        cmocka_unit_test_setup(test_eviction_bytes, setup_cache),
        cmocka_unit_test_setup(test_eviction_entries, setup_cache),
        cmocka_unit_test_setup(test_threads, setup_cache),
        cmocka_unit_test_setup(test_hostile, setup_cache),
        cmocka_unit_test_setup(test_small_thread_stack, setup_cache),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ncsl_js_bc_cache_clear(); /* nothing left for the leak checker */
    return rc;
}
