/*
 * TEST BUILDS ONLY (CMake option NCSL_TEST_HOOKS, on in the debug and asan-ubsan presets, off in
 * release): host functions that break the process on purpose, so tests can show what a crash
 * of the engine costs. Never compiled into a release build.
 */
#ifndef NCSL_JS_TEST_HOOKS_H
#define NCSL_JS_TEST_HOOKS_H

#ifdef NCSL_TEST_HOOKS
/* Adds the global `ncslTest` to every context created from now on in this process:
 *   ncslTest.crash()  raises SIGSEGV (the process dies)
 *   ncslTest.hang()   blocks in C forever (no JS deadline can end it)
 * Process isolation installs it in worker processes only, and only when the environment has
 * NCSL_TEST_CRASH_HOOK=1. */
void ncsl_js_test_hooks_install(void);
#endif

#endif
