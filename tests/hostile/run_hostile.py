#!/usr/bin/env python3
"""The hostile-workload suite: functions that try to break out of the sandbox or break it down,
run against one ncsld over HTTP (Python 3 standard library only).

Usage: run_hostile.py PATH/TO/ncsld [--sanitized] [--cases DIR] [-k SUBSTRING]...

--sanitized (or NCSL_SANITIZED=1): the daemon is an ASan/UBSan build; it gets a longer deadline
(SANITIZED_TIMEOUT_MS), a known ASAN_OPTIONS quarantine and an allowance in the RSS check (see
RSS_TOLERANCE_MIB).

One daemon is started with small, explicit limits (limits() below). Every tests/hostile/cases/*.js
file is one hostile function; its header (`// key: value` comment lines at the top, ending at
the first line that is not a comment) says what must happen:

  // expect: CODE          the error code (TIMEOUT, MEMORY_LIMIT, STACK_OVERFLOW,
                           OUTPUT_TOO_LARGE, EXECUTION_ERROR, VALIDATION_ERROR...) or OK (success)
  // result: JSON          with OK: the result, compared structurally
  // input: JSON           the request's input
  // secrets: JSON         the request's secrets
  // name: TEXT            with an error: error.details.name
  // message-has: TEXT     with an error: error.message contains TEXT
  // logs-have: TEXT       some captured log message contains TEXT (repeatable)
  // absent: TEXT          TEXT appears nowhere in the raw response (repeatable)
  // max-ms: N             must answer within N ms (default: the deadline + MARGIN_S)
  // phase: plant|probe    cross-call cases: every plant runs on every worker, then every probe
                           does (see run_phase)
  // deploy: true          deployed by a user of its own and run through POST
                           /api/v1/functions/{id}/invoke (so it has `storage`, with the small
                           quota of limits()), instead of execute-javascript

For every case the driver checks, besides the header: the answer comes within the deadline plus
a margin; the body is valid UTF-8 JSON of bounded size; the daemon is still up (the process and
GET /healthz); the canonical normal call succeeds right after; and, while the hostile call is
still running, a normal call on another worker succeeds (for cases that run long enough to tell).
Independent cases run PARALLEL at a time; the daemon has PARALLEL + 1 workers, so one is always
free for the normal calls.

After the suite: the daemon's RSS (VmRSS) must be back near the baseline measured after warm-up
(RSS_TOLERANCE_MIB, see there), and the daemon must exit cleanly on SIGTERM (under ASan: with no
sanitizer report, leaks included).

Prints a table (case, expected, got, ms, checks) and, last, "N passed, M failed". Exits 1 when
any case or global check failed.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# ----------------------------------------------------------------------------- limits
# The deadline. Memory bombs must fill the heap well before it (or they would answer TIMEOUT),
# also on a loaded machine: the slowest take about 0.7 s in a debug build with three cases in
# flight on two busy cores. Sanitized builds run QuickJS several times slower: a longer one.
TIMEOUT_MS = 2000
SANITIZED_TIMEOUT_MS = 3000
MEMORY_MB = 32
STACK_KB = 512
MAX_OUTPUT_BYTES = 65536
MAX_LOG_BYTES = 16384
PARALLEL = 3  # hostile calls in flight at once
WORKERS = PARALLEL + 1


STORAGE_QUOTA = 256 * 1024  # bytes per function, for the storage abuse cases
STORAGE_MAX_VALUE = 64 * 1024


def limits():
    return {
        "Server": {"QueueSize": 64, "HttpThreads": 8, "LogLevel": "warn",
                   "ConnectionTimeoutSeconds": 60},
        "Limits": {"RequestsPerSecond": 0, "StorageQuotaBytes": STORAGE_QUOTA,
                   "MaxStorageValueBytes": STORAGE_MAX_VALUE},
        "JavaScript": {"Workers": WORKERS, "TimeoutMs": TIMEOUT_MS, "MaxMemoryMB": MEMORY_MB,
                       "MaxStackKB": STACK_KB, "MaxOutputBytes": MAX_OUTPUT_BYTES,
                       "MaxLogBytes": MAX_LOG_BYTES},
    }

# A failure answer carries the error's name, message (4 KiB) and stack (16 KiB) plus the logs;
# logs are at most MAX_LOG_BYTES of messages, each byte at most 6 once JSON-escaped (\u00XX).
MAX_RESPONSE_BYTES = MAX_OUTPUT_BYTES + 6 * MAX_LOG_BYTES + 6 * (4096 + 16384 + 128) + 4096
# Every answer must come within the deadline plus this (the "deadline + 1 s").
MARGIN_S = 1.0
# RSS after the suite versus after warm-up. The sandbox gives a call's heap back to the system
# when the call ends (fixed glibc mmap threshold, malloc_trim after large calls: see
# src/js/js_runtime.c), so what the suite may leave on top is arena fragmentation and the JS
# runtimes' own caches (atoms, shapes, bytecode), measured at a few MiB. 16 MiB is half of one
# call's heap limit: a leak of one call heap, or of a little per case (over 100 cases), is above.
# ASan's allocator is another matter: it keeps a quarantine of freed blocks (capped below through
# ASAN_OPTIONS), its size-class regions with their shadow (1/8 of all memory ever used) and a
# stack depot that only grows (one record per distinct allocation stack; hostile recursion makes
# many). Measured: +80 to +110 MiB after one run. Sanitized builds get that allowance on top;
# there, leaks are LeakSanitizer's to find (its report at exit fails the suite).
RSS_TOLERANCE_MIB = 16
ASAN_QUARANTINE_MIB = 16
ASAN_ALLOWANCE_MIB = 144  # on top of RSS_TOLERANCE_MIB, the quarantine included
NORMAL_CODE = "function main(input){return {result: input.value*2}}"
NORMAL_INPUT = {"value": 42}
NORMAL_RESULT = {"result": 84}
EXECUTE = "/api/v1/functions/execute-javascript"
ADMIN_KEY = "ncsl_admin_hostile_" + "h" * 32  # NCSL_ADMIN_KEY of the daemon under test
START_TIMEOUT_S = 30.0

HEADER_KEYS = {"expect", "result", "input", "secrets", "name", "message-has", "logs-have",
               "absent", "max-ms", "phase", "deploy"}
REPEATABLE = {"logs-have", "absent"}
ERROR_HTTP = {"VALIDATION_ERROR": 400, "SYNTAX_ERROR": 400, "QUOTA_EXCEEDED": 413}  # others: 422


# ----------------------------------------------------------------------------- cases
class Case:
    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8") as f:
            self.code = f.read()
        self.h = {k: [] for k in REPEATABLE}
        for line in self.code.splitlines():
            if not line.startswith("//"):
                break
            key, sep, value = line[2:].strip().partition(":")
            key = key.strip()
            if not sep or key not in HEADER_KEYS:
                continue  # the description
            value = value.strip()
            if key in REPEATABLE:
                self.h[key].append(value)
            elif key in self.h:
                raise ValueError("%s: duplicate header key %r" % (path, key))
            else:
                self.h[key] = value
        if "expect" not in self.h:
            raise ValueError("%s: no 'expect' header" % path)
        for key in ("result", "input", "secrets"):
            if key in self.h:
                try:
                    self.h[key + "_json"] = json.loads(self.h[key])
                except json.JSONDecodeError as e:
                    raise ValueError("%s: header %r is not JSON: %s" % (path, key, e)) from None
        if self.h.get("phase") not in (None, "plant", "probe"):
            raise ValueError("%s: phase must be plant or probe" % path)

    @property
    def expect(self):
        return self.h["expect"]


def load_cases(cases_dir, filters):
    cases = []
    for fn in sorted(os.listdir(cases_dir)):
        if fn.endswith(".js") and (not filters or any(f in fn for f in filters)):
            cases.append(Case(os.path.join(cases_dir, fn)))
    return cases


# ----------------------------------------------------------------------------- daemon
class Response:
    def __init__(self, status, raw, elapsed, t_end):
        self.status = status
        self.raw = raw
        self.elapsed = elapsed
        self.t_end = t_end
        self.json = None
        self.decode_error = None
        try:
            self.json = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            self.decode_error = "%s: %s" % (type(e).__name__, e)

    def code(self):
        """OK, the error code, or a description of what came back."""
        if not isinstance(self.json, dict):
            return "HTTP %d (not JSON)" % self.status
        if self.json.get("success") is True:
            return "OK"
        err = self.json.get("error")
        if isinstance(err, dict) and isinstance(err.get("code"), str):
            return err["code"]
        return "HTTP %d (no code)" % self.status

    def __repr__(self):
        return "<HTTP %d in %.2fs: %r>" % (self.status, self.elapsed, self.raw[:400])


class Daemon:
    def __init__(self, ncsld, sanitized):
        self.ncsld = ncsld
        self.sanitized = sanitized
        self.root = tempfile.mkdtemp(prefix="ncsl-hostile-")
        self.data_dir = os.path.join(self.root, "data")
        os.mkdir(self.data_dir)
        self.stderr_path = os.path.join(self.root, "stderr.log")
        self.config_path = os.path.join(self.root, "config.json")
        with open(self.config_path, "w") as f:
            json.dump(limits(), f)
        self.proc = None
        self.port = None
        self._user_lock = threading.Lock()
        self._user_key = None  # the user that deploys the `deploy: true` cases
        self._stderr = None

    def start(self):
        env = dict(os.environ)
        env["NCSL_ADMIN_KEY"] = ADMIN_KEY
        if self.sanitized:
            # keep the quarantine at a known size so that the RSS check means something
            opts = env.get("ASAN_OPTIONS", "")
            env["ASAN_OPTIONS"] = (opts + ":" if opts else "") + \
                "quarantine_size_mb=%d" % ASAN_QUARANTINE_MIB
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.ncsld, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr, env=env,
            start_new_session=True)
        url_file = os.path.join(self.data_dir, "ncsld.url")
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.port is None:
            if self.proc.poll() is not None:
                raise RuntimeError("ncsld exited with %s during start-up:\n%s"
                                   % (self.proc.returncode, self.stderr_text()[-4000:]))
            try:
                with open(url_file) as f:
                    m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/?", f.read().strip())
                if m:
                    self.port = int(m.group(1))
            except FileNotFoundError:
                pass
            if self.port is None:
                if time.monotonic() > deadline:
                    raise RuntimeError("ncsld wrote no URL within %.0f s" % START_TIMEOUT_S)
                time.sleep(0.05)
        while not self.healthy():
            if time.monotonic() > deadline:
                raise RuntimeError("GET /healthz never answered 200")
            time.sleep(0.05)

    def stop(self, grace=30.0):
        """SIGTERM, wait; SIGKILL the group if needed. Returns the exit status (None if killed)."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    rc = self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=10)
            else:
                rc = self.proc.returncode
            self.proc = None
        if self._stderr:
            self._stderr.close()
            self._stderr = None
        return rc

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS in /proc/%d/status" % self.proc.pid)

    def request(self, method, path, body=None, timeout=60, key=ADMIN_KEY):
        headers = {"Authorization": "Bearer " + key}
        if body is not None:
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            raw = r.read()
            t1 = time.monotonic()
            return Response(r.status, raw, t1 - t0, t1)
        finally:
            conn.close()

    def healthy(self):
        try:
            return self.request("GET", "/healthz", timeout=5).status == 200
        except OSError:
            return False

    def invoke_deployed(self, case, timeout=60):
        """Deploys the case as a function of the suite's user (made on first use) and invokes
        it, with the case's input and secrets."""
        with self._user_lock:
            if self._user_key is None:
                r = self.request("POST", "/api/v1/users", {"name": "hostile"})
                if r.status != 201:
                    raise RuntimeError("cannot create the suite's user: %r" % r)
                self._user_key = r.json["data"]["apiKey"]
        r = self.request("POST", "/api/v1/functions", {"name": case.name, "code": case.code},
                         key=self._user_key)
        if r.status != 201:
            return r  # a deploy-time error is the case's answer
        body = {}
        if case.h.get("input_json") is not None:
            body["input"] = case.h["input_json"]
        if case.h.get("secrets_json") is not None:
            body["secrets"] = case.h["secrets_json"]
        return self.request("POST", "/api/v1/functions/%s/invoke" % r.json["data"]["id"], body,
                            timeout=timeout, key=self._user_key)

    def execute(self, code, input=None, secrets=None, timeout=60):
        body = {"code": code}
        if input is not None:
            body["input"] = input
        if secrets is not None:
            body["secrets"] = secrets
        return self.request("POST", EXECUTE, body, timeout=timeout)

    def normal_call(self):
        """The canonical call. Returns None when it succeeded, else what went wrong."""
        try:
            r = self.execute(NORMAL_CODE, input=NORMAL_INPUT, timeout=30)
        except OSError as e:
            return "normal call failed: %s" % e
        if r.status != 200 or not isinstance(r.json, dict) or \
                r.json.get("data", {}).get("result") != NORMAL_RESULT:
            return "normal call answered %r" % r
        return None


# ----------------------------------------------------------------------------- checks
class Outcome:
    def __init__(self, case):
        self.case = case
        self.got = "-"
        self.ms = 0.0
        self.problems = []
        self.notes = []

    @property
    def ok(self):
        return not self.problems


def deadline_s(case):
    if "max-ms" in case.h:
        return int(case.h["max-ms"]) / 1000.0
    return TIMEOUT_MS / 1000.0 + MARGIN_S


def check_response(case, r, out):
    """Checks one hostile call's answer against the header and the general rules."""
    out.got = r.code()
    out.ms = r.elapsed * 1000.0
    p = out.problems
    if r.elapsed > deadline_s(case):
        p.append("answered after %.0f ms (limit %.0f ms)" % (out.ms, deadline_s(case) * 1000))
    if r.decode_error:
        p.append("body is not UTF-8 JSON (%s): %r" % (r.decode_error, r.raw[:300]))
        return
    if len(r.raw) > MAX_RESPONSE_BYTES:
        p.append("response is %d bytes (bound %d)" % (len(r.raw), MAX_RESPONSE_BYTES))
    if out.got != case.expect:
        msg = ""
        if isinstance(r.json, dict) and isinstance(r.json.get("error"), dict):
            msg = ": " + str(r.json["error"].get("message"))[:300]
        p.append("expected %s, got %s%s" % (case.expect, out.got, msg))
        return
    data = r.json.get("data") if r.json.get("success") else \
        (r.json.get("error") or {}).get("details")
    if case.expect == "OK":
        if r.status != 200:
            p.append("success with HTTP %d" % r.status)
        if "result_json" in case.h and data.get("result") != case.h["result_json"]:
            p.append("result %s, expected %s" % (json.dumps(data.get("result"))[:300],
                                                 case.h["result"]))
    else:
        want_http = ERROR_HTTP.get(case.expect, 422)
        if r.status != want_http:
            p.append("HTTP %d, expected %d" % (r.status, want_http))
        err = r.json.get("error") or {}
        if not isinstance(err.get("message"), str) or not err["message"]:
            p.append("error without a message")
        if "message-has" in case.h and case.h["message-has"] not in str(err.get("message")):
            p.append("message %r lacks %r" % (str(err.get("message"))[:200], case.h["message-has"]))
        if "name" in case.h:
            name = (data or {}).get("name") if isinstance(data, dict) else None
            if name != case.h["name"]:
                p.append("error name %r, expected %r" % (name, case.h["name"]))
    logs = data.get("logs") if isinstance(data, dict) else None
    if logs is not None:
        if not isinstance(logs, list):
            p.append("logs is not a list")
        else:
            total = sum(len(str(e.get("message", "")).encode("utf-8", "surrogatepass"))
                        for e in logs if isinstance(e, dict))
            # the limit counts message bytes; the final truncation marker comes on top
            if total > MAX_LOG_BYTES + 128:
                p.append("logs hold %d bytes (limit %d)" % (total, MAX_LOG_BYTES))
            for want in case.h["logs-have"]:
                if not any(want in str(e.get("message", "")) for e in logs if isinstance(e, dict)):
                    p.append("no log message contains %r" % want)
    elif case.h["logs-have"]:
        p.append("no logs in the answer")
    for text in case.h["absent"]:
        if text.encode() in r.raw:
            p.append("the response contains %r" % text)


def check_daemon(d, out):
    """After a case: the daemon is up and the next normal call succeeds."""
    if not d.alive():
        out.problems.append("the daemon died (exit %s)" % d.proc.returncode)
        return
    if not d.healthy():
        out.problems.append("GET /healthz failed")
    err = d.normal_call()
    if err:
        out.problems.append("after the case: " + err)


def run_case(d, case):
    """One hostile call, with a normal call on another worker while it runs."""
    out = Outcome(case)
    box = {}

    def hostile():
        try:
            if case.h.get("deploy") == "true":
                box["r"] = d.invoke_deployed(case, timeout=deadline_s(case) + 30)
            else:
                box["r"] = d.execute(case.code, input=case.h.get("input_json"),
                                     secrets=case.h.get("secrets_json"),
                                     timeout=deadline_s(case) + 30)
        except Exception as e:  # reported below
            box["e"] = e

    t = threading.Thread(target=hostile)
    t.start()
    t.join(0.25)
    if t.is_alive():
        # the hostile call is still in flight: a normal call must get through meanwhile
        t0 = time.monotonic()
        err = d.normal_call()
        t1 = time.monotonic()
        if err:
            out.problems.append("during the case: " + err)
        elif t.is_alive():
            out.notes.append("normal call during the case: %.0f ms" % ((t1 - t0) * 1000))
        else:
            # it was in flight when we started; it counts only if it ended first
            r = box.get("r")
            if r is not None and r.t_end > t1:
                out.notes.append("normal call during the case: %.0f ms" % ((t1 - t0) * 1000))
    t.join(deadline_s(case) + 60)
    if t.is_alive():
        out.problems.append("the hostile call never returned")
        return out
    if "e" in box:
        out.problems.append("request failed: %s: %s" % (type(box["e"]).__name__, box["e"]))
    else:
        check_response(case, box["r"], out)
    check_daemon(d, out)
    return out


def run_phase(d, cases):
    """Cross-call cases. Each `plant` runs WORKERS times at once, each copy holding its worker
    for a moment, so every worker has run every plant; then each `probe` runs the same way, so
    each probe runs on every worker after the plants."""
    outcomes = []
    for phase in ("plant", "probe"):
        for case in [c for c in cases if c.h.get("phase") == phase]:
            with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
                futs = [ex.submit(d.execute, case.code, case.h.get("input_json"),
                                  case.h.get("secrets_json"), deadline_s(case) + 30)
                        for _ in range(WORKERS)]
                outs = []
                for f in futs:
                    out = Outcome(case)
                    try:
                        check_response(case, f.result(), out)
                    except Exception as e:
                        out.problems.append("request failed: %s" % e)
                    outs.append(out)
            merged = max(outs, key=lambda o: (len(o.problems), o.ms))
            merged.notes.append("ran %d times at once" % WORKERS)
            check_daemon(d, merged)
            outcomes.append(merged)
    return outcomes


def warm_up(d):
    """Normal calls, then one call per worker that uses the whole memory limit, each holding its
    worker so that every worker runs one: the baseline is then the state after large calls."""
    for _ in range(20):
        err = d.normal_call()
        if err:
            raise RuntimeError("warm-up: " + err)
    fill = """function main() {
        const t = Date.now(); const hoard = [];
        try { for (;;) hoard.push(new Uint8Array(1 << 20).fill(7)); } catch (e) {}
        hoard.length = 0; while (Date.now() - t < 300) {}
        return 1; }"""
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
        rs = list(ex.map(lambda _: d.execute(fill), range(WORKERS)))
    for r in rs:
        if r.code() not in ("OK", "MEMORY_LIMIT"):
            raise RuntimeError("warm-up fill answered %r" % r)
    for _ in range(20):
        err = d.normal_call()
        if err:
            raise RuntimeError("warm-up: " + err)


def print_table(outcomes):
    w = max([len(o.case.name) for o in outcomes] + [4])
    print("%-*s  %-16s  %-16s  %7s  %s" % (w, "case", "expected", "got", "ms", "checks"))
    print("%s  %s  %s  %s  %s" % ("-" * w, "-" * 16, "-" * 16, "-" * 7, "-" * 30))
    for o in outcomes:
        status = "ok" if o.ok else "FAIL: " + "; ".join(o.problems)
        if o.notes and o.ok:
            status += " (" + "; ".join(o.notes) + ")"
        print("%-*s  %-16s  %-16s  %7.0f  %s" % (w, o.case.name, o.case.expect, o.got, o.ms,
                                                  status))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ncsld")
    ap.add_argument("--sanitized", action="store_true",
                    default=os.environ.get("NCSL_SANITIZED") == "1",
                    help="the daemon is an ASan/UBSan build")
    ap.add_argument("--cases", default=os.path.join(HERE, "cases"))
    ap.add_argument("-k", action="append", default=[], help="only cases whose file name has this")
    args = ap.parse_args()
    global TIMEOUT_MS
    if args.sanitized:
        TIMEOUT_MS = SANITIZED_TIMEOUT_MS

    cases = load_cases(args.cases, args.k)
    if not cases:
        print("no cases")
        return 1
    started = time.monotonic()
    d = Daemon(args.ncsld, args.sanitized)
    global_problems = []
    outcomes = []
    try:
        d.start()
        warm_up(d)
        baseline = d.rss_kib()
        print("baseline RSS after warm-up: %.1f MiB" % (baseline / 1024.0))

        outcomes += run_phase(d, [c for c in cases if "phase" in c.h])
        independent = [c for c in cases if "phase" not in c.h]
        with concurrent.futures.ThreadPoolExecutor(PARALLEL) as ex:
            outcomes += list(ex.map(lambda c: run_case(d, c), independent))

        if not d.alive():
            global_problems.append("the daemon is not running after the suite")
        else:
            err = d.normal_call()
            if err:
                global_problems.append("after the suite: " + err)
            # let the workers finish recycling, then compare with the baseline
            time.sleep(0.5)
            rss = d.rss_kib()
            tolerance = RSS_TOLERANCE_MIB + (ASAN_ALLOWANCE_MIB if args.sanitized else 0)
            growth = (rss - baseline) / 1024.0
            print("RSS after the suite: %.1f MiB (%+.1f MiB; tolerance %d MiB)"
                  % (rss / 1024.0, growth, tolerance))
            if growth > tolerance:
                global_problems.append("RSS grew by %.1f MiB (tolerance %d MiB)"
                                       % (growth, tolerance))
        rc = d.stop()
        if rc != 0:
            global_problems.append("ncsld exited with %s on SIGTERM" % rc)
        text = d.stderr_text()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if marker in text:
                global_problems.append("sanitizer report in ncsld's output:\n" + text[-6000:])
                break
    except Exception as e:
        global_problems.append("%s: %s\n%s" % (type(e).__name__, e, d.stderr_text()[-4000:]))
    finally:
        d.cleanup()

    order = {c.name: i for i, c in enumerate(cases)}
    outcomes.sort(key=lambda o: order[o.case.name])
    print_table(outcomes)
    for gp in global_problems:
        print("FAIL: " + gp)
    failed = sum(1 for o in outcomes if not o.ok)
    print("suite time: %.1f s" % (time.monotonic() - started))
    print("%d passed, %d failed" % (len(outcomes) - failed, failed + len(global_problems)))
    return 1 if failed or global_problems else 0


if __name__ == "__main__":
    sys.exit(main())
