#!/usr/bin/env python3
"""Runs every tests/js/*.js file through `ncsl run` and checks the outcome its header states.

Usage: run_js_tests.py PATH/TO/ncsl [NAME_SUBSTRING...]

Each test file starts with `// key: value` comment lines (the header ends at the first line that
is not such a comment):
  // expect: JSON            main() succeeds; its result equals JSON (structurally)
  // expect-logs: JSON       the captured logs ([{"level","message"}...]) equal JSON (runs --json)
  // expect-error: CODE      the call fails: exit status 1, stderr has "error: CODE: ..."
  // expect-stderr: TEXT     stderr contains TEXT (may be repeated)
  // input: JSON             passed as --input
  // secrets: JSON           passed as --secrets
  // timeout-ms: N           passed as --timeout-ms
  // memory-mb: N            passed as --memory-mb
  // gas-limit: N            passed as --gas-limit
  // max-seconds: N          the whole run must end within N seconds (default: timeout + 10)
Prints one line per file and, last, exactly "N passed, M failed". Exits 1 when any test failed.
"""

import json
import os
import subprocess
import sys
import time

HEADER_KEYS = {
    "expect", "expect-logs", "expect-error", "expect-stderr", "input", "secrets", "timeout-ms",
    "memory-mb", "gas-limit", "max-seconds",
}


def parse_header(path):
    """Returns (dict key -> value, or list for expect-stderr). Raises ValueError on a bad header."""
    header = {"expect-stderr": []}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.startswith("//"):
                break
            body = line[2:].strip()
            key, sep, value = body.partition(":")
            key = key.strip()
            if not sep or key not in HEADER_KEYS:
                continue  # a plain comment (the description)
            value = value.strip()
            if key == "expect-stderr":
                header[key].append(value)
            elif key in header:
                raise ValueError("duplicate header key %r" % key)
            else:
                header[key] = value
    if ("expect" in header) == ("expect-error" in header):
        raise ValueError("exactly one of 'expect' and 'expect-error' is required")
    for key in ("expect", "expect-logs", "input", "secrets"):
        if key in header:
            try:
                json.loads(header[key])
            except json.JSONDecodeError as e:
                raise ValueError("header %r is not JSON: %s" % (key, e)) from None
    return header


# NCSL_JS_WRAPPER="valgrind --error-exitcode=99 ..." runs every `ncsl run` under a checker: time
# limits are then scaled by WRAPPER_SLOWDOWN (a checker is that much slower) and exit status 99
# means the checker found an error.
WRAPPER = os.environ.get("NCSL_JS_WRAPPER", "").split()
WRAPPER_SLOWDOWN = 60 if WRAPPER else 1
WRAPPER_ERROR_EXIT = 99


def run_one(ncsl, path):
    """Runs one file. Returns None on success or a string saying what went wrong."""
    try:
        h = parse_header(path)
    except ValueError as e:
        return "bad header: %s" % e
    want_json = "expect-logs" in h
    cmd = WRAPPER + [ncsl, "run", path]
    if want_json:
        cmd.append("--json")
    for key, flag in (("input", "--input"), ("secrets", "--secrets"),
                      ("timeout-ms", "--timeout-ms"), ("memory-mb", "--memory-mb"),
                      ("gas-limit", "--gas-limit")):
        if key in h:
            cmd += [flag, h[key]]
    timeout_s = int(h.get("timeout-ms", "5000")) / 1000.0
    limit = float(h.get("max-seconds", timeout_s + 10)) * WRAPPER_SLOWDOWN
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=limit + 30)
    except subprocess.TimeoutExpired:
        return "did not finish within %.0f s" % (limit + 30)
    elapsed = time.monotonic() - start
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    ctx = "\n    exit=%d\n    stdout=%r\n    stderr=%r" % (p.returncode, out[:2000], err[:2000])
    if p.returncode < 0:
        return "killed by signal %d%s" % (-p.returncode, ctx)
    if WRAPPER and p.returncode == WRAPPER_ERROR_EXIT:
        return "%s reported errors%s" % (WRAPPER[0], "\n    stderr=%r" % err[-6000:])
    if elapsed > limit:
        return "took %.2f s, limit %.2f s%s" % (elapsed, limit, ctx)

    if "expect-error" in h:
        code = h["expect-error"]
        if p.returncode != 1:
            return "expected exit 1 with %s%s" % (code, ctx)
        if out.strip():
            return "expected nothing on stdout on failure%s" % ctx
        if not any(line.startswith("error: %s: " % code) or line == "error: %s:" % code
                   for line in err.splitlines()):
            return "expected a line 'error: %s: ...' on stderr%s" % (code, ctx)
    else:
        if p.returncode != 0:
            return "expected exit 0%s" % ctx
        if not out.endswith("\n") or out.count("\n") != 1:
            return "expected exactly one line of JSON on stdout%s" % ctx
        try:
            got = json.loads(out)
        except json.JSONDecodeError as e:
            return "stdout is not JSON (%s)%s" % (e, ctx)
        expected = json.loads(h["expect"])
        if want_json:
            if not isinstance(got, dict):
                return "--json output is not an object%s" % ctx
            missing = [k for k in ("result", "logs", "executionId", "executionTimeMs",
                                   "memoryUsedBytes") if k not in got]
            if missing:
                return "--json output lacks %s%s" % (", ".join(missing), ctx)
            result, logs = got["result"], got["logs"]
            want_logs = json.loads(h["expect-logs"])
            if logs != want_logs:
                return "logs differ:\n    want %s\n    got  %s" % (
                    json.dumps(want_logs), json.dumps(logs))
        else:
            result = got
        if result != expected:
            return "result differs:\n    want %s\n    got  %s%s" % (
                json.dumps(expected, sort_keys=True), json.dumps(result, sort_keys=True), ctx)
    for text in h["expect-stderr"]:
        if text not in err:
            return "expected %r on stderr%s" % (text, ctx)
    return None


def main(argv):
    if len(argv) < 2:
        print("usage: %s PATH/TO/ncsl [NAME_SUBSTRING...]" % argv[0], file=sys.stderr)
        return 2
    ncsl = argv[1]
    if not os.access(ncsl, os.X_OK):
        print("error: %s is not an executable" % ncsl, file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    files = sorted(f for f in os.listdir(here) if f.endswith(".js"))
    if len(argv) > 2:
        files = [f for f in files if any(s in f for s in argv[2:])]
    passed = failed = 0
    for name in files:
        t0 = time.monotonic()
        problem = run_one(ncsl, os.path.join(here, name))
        dt = time.monotonic() - t0
        if problem is None:
            passed += 1
            print("ok   %-32s %6.2f s" % (name, dt))
        else:
            failed += 1
            print("FAIL %-32s %6.2f s: %s" % (name, dt, problem))
        sys.stdout.flush()
    if not files:
        print("no test files found", file=sys.stderr)
        failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
