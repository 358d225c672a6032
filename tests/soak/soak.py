#!/usr/bin/env python3
"""Soak test of ncsld: mixed load at about 70% of the measured peak, for N minutes.

    python3 tests/soak/soak.py --ncsld build/release/src/http/ncsld            # 10 minutes
    python3 tests/soak/soak.py --ncsld build/release/src/http/ncsld --minutes 1
    ctest --test-dir build/debug -L soak            # soak_short: 60 s, in that build

It starts its own ncsld (temporary data directory, 127.0.0.1, a free port; Server.LogLevel
"warn": at "info" every request writes an access line to stderr and the log file, gigabytes in
ten minutes) and then:
  1. ramp: closed-loop clients (1, 2, 4, 8 processes) run the mix unpaced, a few seconds each;
     the best throughput is the peak. Client and daemon share the machine, so this is the peak
     of the pair: what the machine can push through ncsld, not ncsld alone;
  2. paced load: worker processes issue the mix on a fixed schedule at --fraction (0.7) of the
     peak for --minutes (10); connections are kept alive and reopened every 100 requests, so
     that accept and close are exercised too;
  3. checks, on the numbers printed at the end:
     - zero 5xx other than 503 (back-pressure, which must carry Retry-After), zero transport
       errors (refused, reset, timed out);
     - every response well formed: the JSON envelope (success, data or error{code,message},
       metadata{requestId,timestamp}) and the answer each call expects (result values,
       receipts, nonces, verdicts, error codes);
     - RSS growth under 5% from the end of warm-up (the first 20% of the paced phase, 10 s to
       120 s) to the end (medians of 5 one-second samples each);
     - no descriptor growth: /proc/PID/fd once the load has stopped and the clients have closed
       is not above what it was before the load (and stays bounded while it runs);
     - the daemon is alive and exits 0 on SIGTERM (under ASan, LeakSanitizer checks at exit).
Sanitizer builds (--sanitized, or NCSL_SANITIZED=1): ASan keeps freed memory in its quarantine
(256 MiB by default: the daemon's RSS jumps from 35 to 500 MiB during the ramp) and grows its
allocator caches and shadow memory as the heap moves, so RSS there measures ASan more than the
daemon. Measured over the 48 s after warm-up of soak_short: +0.3% in the debug build, +2.8%
under ASan with the default quarantine, +3.3% with a 16 MiB one. So under ASan the daemon runs
with a 16 MiB quarantine (RSS near the daemon's own) and the RSS bound is a sanity bound of 20%;
leaks are LeakSanitizer's job at the SIGTERM exit, which must be clean, and the 5% criterion
holds in the debug and release builds.

The mix (weights): execute (a sync function, an async one with awaits, one that throws, one
whose promise rejects, one reading SECRETS, one logging, one building and serializing 200
objects), GET /api/v1/attestation with a fresh nonce, POST /api/v1/attestation/verify of such a
proof, POST /api/v1/receipts/verify of a receipt from this run (with the proof: attested) and of
a tampered one (valid: false), GET /api/v1/tee-info, GET /healthz, and as a user of its own:
POST /api/v1/functions/{id}/invoke of a deployed function that reads a stored secret and writes
a counter per worker to its storage (each acknowledged call must have moved the counter by
exactly one), PUT /api/v1/secrets/{name} (secret writes) and GET /api/v1/secrets.
"""

import argparse
import array
import http.client
import json
import multiprocessing
import os
import random
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import test_e2e  # noqa: E402  (the Daemon class: one ncsld with a temporary data dir)

EXECUTE = "/api/v1/functions/execute-javascript"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# name: (weight, code, input, secrets, expected status, expected result or error prefix)
FUNCTIONS = {
    "exec_sync": (25, "function main(input){return {result: input.value*2}}",
                  lambda r: {"value": r}, None, 200, lambda r: {"result": 2 * r}),
    "exec_async": (10, "async function main(i){ const v = await new Promise(r => r(i.n));"
                       " await null; return {v: v + 1}; }",
                   lambda r: {"n": r}, None, 200, lambda r: {"v": r + 1}),
    "exec_throw": (6, "function main(i){ throw new TypeError('bad ' + i.n) }",
                   lambda r: {"n": r}, None, 422, lambda r: "TypeError: bad %d" % r),
    "exec_reject": (4, "async function main(i){ await null; throw new RangeError('no ' + i.n) }",
                    lambda r: {"n": r}, None, 422, lambda r: "RangeError: no %d" % r),
    "exec_secrets": (8, "function main(i){ return {len: SECRETS.API_KEY.length, n: i.n} }",
                     lambda r: {"n": r}, {"API_KEY": "k" * 24}, 200,
                     lambda r: {"len": 24, "n": r}),
    "exec_console": (5, "function main(i){ console.log('n', i.n); console.warn('w'); "
                        "return i.n }",
                     lambda r: {"n": r}, None, 200, lambda r: r),
    "exec_json": (7, "function main(i){ const a = []; for (let k = 0; k < i.n; k++) "
                     "a.push({k, s: 'x' + k}); return JSON.parse(JSON.stringify(a)).length }",
                  lambda r: {"n": 200}, None, 200, lambda r: 200),
}
OTHER_WEIGHTS = {"attestation": 10, "attestation_verify": 5, "receipt_verify": 8,
                 "receipt_tampered": 2, "tee_info": 6, "healthz": 4,
                 # the multi-tenant routes, as the soak's user (set up by the coordinator)
                 "invoke_storage": 12, "secret_put": 2, "secrets_list": 3}

# The deployed function of "invoke_storage": a counter per worker in the function's storage
# (a write on every call) and a stored secret read through SECRETS.
STORAGE_CODE = """
async function main(input) {
  const n = ((await storage.get(input.w)) ?? 0) + 1;
  await storage.set(input.w, n);
  return { n, len: SECRETS.API_KEY.length };
}
"""
SOAK_SECRET = "s" * 40
OPS = [(name, f[0]) for name, f in FUNCTIONS.items()] + list(OTHER_WEIGHTS.items())


class Malformed(Exception):
    pass


def need(cond, what, status, raw):
    if not cond:
        raise Malformed("%s (HTTP %d: %r)" % (what, status, raw[:300]))


def check_envelope(status, raw):
    try:
        j = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Malformed("not JSON (HTTP %d: %r)" % (status, raw[:300])) from None
    need(isinstance(j, dict) and isinstance(j.get("success"), bool), "no success flag", status,
         raw)
    meta = j.get("metadata")
    need(isinstance(meta, dict) and meta.get("requestId") and
         re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", meta.get("timestamp", "")),
         "bad metadata", status, raw)
    if j["success"]:
        need(status in (200, 201) and "data" in j, "success without data or 200/201", status,
             raw)
    else:
        err = j.get("error")
        need(isinstance(err, dict) and isinstance(err.get("code"), str) and
             isinstance(err.get("message"), str) and err["message"], "bad error object", status,
             raw)
    return j


def check_receipt(rc, status, raw):
    need(isinstance(rc, dict) and all(k in rc for k in (
        "executionId", "codeHash", "inputHash", "outputHash", "signingKey", "signature")),
        "no receipt", status, raw)


# ============================================================================ worker
class Worker:
    def __init__(self, port, seed):
        self.port = port
        self.rng = random.Random(seed)
        self.conn = None
        self.uses = 0
        self.proof = None
        self.proof_nonce = None
        self.receipts = []
        self.counts = {}  # "op status" -> n
        self.lat = array.array("f")
        self.errors = []  # transport errors (first few)
        self.n_errors = 0
        self.malformed = []
        self.n_malformed = 0
        self.bad5xx = []
        names = [n for n, _ in OPS]
        weights = [w for _, w in OPS]
        self.pick = lambda: self.rng.choices(names, weights)[0]
        # the soak's user and deployed function (environment of the coordinator)
        self.user_key = os.environ.get("NCSL_SOAK_USER_KEY", "")
        self.function = os.environ.get("NCSL_SOAK_FUNCTION", "")
        self.wid = "w%d" % seed
        self.counter = None  # our storage counter, once read back

    def http(self, method, path, body=None, key=None):
        if self.conn is None or self.uses >= 100:
            if self.conn is not None:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.uses = 0
        self.uses += 1
        headers = test_e2e.auth_header(key or test_e2e.ADMIN_KEY)
        if body is not None:
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            raw = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            if (hdrs.get("connection") or "").lower() == "close":
                self.conn.close()
                self.conn = None
            return r.status, hdrs, raw
        except Exception:
            self.conn.close()
            self.conn = None
            raise

    def ensure_proof(self):
        if self.proof is None:
            self.op_attestation()

    def op_attestation(self):
        nonce = "%064x" % self.rng.getrandbits(256)
        st, h, raw = self.http("GET", "/api/v1/attestation?nonce=" + nonce)
        if st != 200:
            return st, h, raw
        j = check_envelope(st, raw)
        d = j["data"]
        need(d.get("nonce") == nonce and d.get("teeType") == "simulation" and d.get("quote"),
             "proof without our nonce", st, raw)
        self.proof, self.proof_nonce = d, nonce
        return st, h, raw

    def run_op(self, op):
        if op in FUNCTIONS:
            _, code, inp, secrets, want_status, want = FUNCTIONS[op]
            n = self.rng.randrange(1, 1000000)
            body = {"code": code, "input": inp(n)}
            if secrets:
                body["secrets"] = secrets
            st, h, raw = self.http("POST", EXECUTE, body)
            if st == 503:
                return st, h, raw
            need(st == want_status, "expected HTTP %d" % want_status, st, raw)
            j = check_envelope(st, raw)
            if want_status == 200:
                d = j["data"]
                need(d.get("result") == want(n), "wrong result", st, raw)
                need(isinstance(d.get("logs"), list) and UUID_RE.match(d.get("executionId", "")),
                     "bad data", st, raw)
                check_receipt(d.get("receipt"), st, raw)
                need(d["receipt"]["executionId"] == d["executionId"], "receipt of another run",
                     st, raw)
                if op == "exec_console":
                    need(len(d["logs"]) == 2, "logs lost", st, raw)
                self.receipts.append(d["receipt"])
                del self.receipts[:-8]
            else:
                e = j["error"]
                need(e["code"] == "EXECUTION_ERROR" and e["message"] == want(n), "wrong error",
                     st, raw)
                check_receipt((e.get("details") or {}).get("receipt"), st, raw)
            return st, h, raw
        if op == "attestation":
            return self.op_attestation()
        if op == "attestation_verify":
            self.ensure_proof()
            st, h, raw = self.http("POST", "/api/v1/attestation/verify", {
                "proof": self.proof, "allowSimulation": True, "expectedNonce": self.proof_nonce})
            if st == 200:
                d = check_envelope(st, raw)["data"]
                need(d.get("valid") is True, "our proof did not verify", st, raw)
            return st, h, raw
        if op in ("receipt_verify", "receipt_tampered"):
            self.ensure_proof()
            if not self.receipts:
                return self.run_op("exec_sync")
            rc = dict(self.rng.choice(self.receipts))
            if op == "receipt_tampered":
                rc["outputHash"] = "%064x" % self.rng.getrandbits(256)
            st, h, raw = self.http("POST", "/api/v1/receipts/verify", {
                "receipt": rc, "proof": self.proof, "allowSimulation": True})
            if st == 200:
                d = check_envelope(st, raw)["data"]
                good = op == "receipt_verify"
                need(d.get("valid") is good and d.get("signatureValid") is good and
                     d.get("attested") is good, "wrong verdict", st, raw)
            return st, h, raw
        if op == "invoke_storage":
            st, h, raw = self.http("POST", "/api/v1/functions/%s/invoke" % self.function,
                                   {"input": {"w": self.wid}}, key=self.user_key)
            if st == 200:
                d = check_envelope(st, raw)["data"]
                r = d.get("result") or {}
                need(r.get("len") == len(SOAK_SECRET), "stored secret not seen", st, raw)
                # our counter only grows by one per acknowledged call: no write lost or doubled
                need(self.counter is None or r.get("n") == self.counter + 1,
                     "storage counter went from %s to %s" % (self.counter, r.get("n")), st, raw)
                self.counter = r.get("n")
                check_receipt(d.get("receipt"), st, raw)
            elif st != 503:
                self.counter = None  # unknown whether it committed
            return st, h, raw
        if op == "secret_put":
            name = "SOAK_%d" % self.rng.randrange(8)
            st, h, raw = self.http("PUT", "/api/v1/secrets/" + name,
                                   {"value": "v%d" % self.rng.getrandbits(32)}, key=self.user_key)
            if st in (200, 201):
                need(check_envelope(st, raw)["data"].get("name") == name, "wrong put answer",
                     st, raw)
            return st, h, raw
        if op == "secrets_list":
            st, h, raw = self.http("GET", "/api/v1/secrets", key=self.user_key)
            if st == 200:
                items = check_envelope(st, raw)["data"].get("items")
                need(isinstance(items, list) and any(i.get("name") == "API_KEY" for i in items)
                     and SOAK_SECRET not in raw.decode("utf-8", "replace"),
                     "bad secret list", st, raw)
            return st, h, raw
        if op == "tee_info":
            st, h, raw = self.http("GET", "/api/v1/tee-info")
            if st == 200:
                need(check_envelope(st, raw)["data"].get("teeType") == "simulation",
                     "wrong tee-info", st, raw)
            return st, h, raw
        st, h, raw = self.http("GET", "/healthz")
        if st == 200:
            j = json.loads(raw)
            need(j.get("status") == "ok" and isinstance(j.get("completed"), int), "bad health",
                 st, raw)
        return st, h, raw

    def one(self):
        op = self.pick()
        t0 = time.perf_counter()
        try:
            st, h, raw = self.run_op(op)
            if st == 503:
                check_envelope(st, raw)
                need(re.match(r"^\d+$", h.get("retry-after", "")), "503 without Retry-After",
                     st, raw)
            elif st >= 500:
                self.bad5xx.append("%s: HTTP %d %r" % (op, st, raw[:300]))
            elif st not in (200, 201, 422):
                raise Malformed("unexpected HTTP %d: %r" % (st, raw[:300]))
            key = "%s %d" % (op, st)
        except Malformed as e:
            self.n_malformed += 1
            if len(self.malformed) < 10:
                self.malformed.append("%s: %s" % (op, e))
            key = "%s malformed" % op
        except (OSError, http.client.HTTPException) as e:
            self.n_errors += 1
            if len(self.errors) < 10:
                self.errors.append("%s: %r" % (op, e))
            key = "%s error" % op
        self.lat.append(time.perf_counter() - t0)
        self.counts[key] = self.counts.get(key, 0) + 1

    def result(self):
        if self.conn is not None:
            self.conn.close()
        return {"counts": self.counts, "lat": self.lat.tobytes(), "errors": self.errors,
                "n_errors": self.n_errors, "malformed": self.malformed,
                "n_malformed": self.n_malformed, "bad5xx": self.bad5xx[:10],
                "n_bad5xx": len(self.bad5xx)}


def worker_main(port, seed, seconds, rate, done_counter, out):
    """Closed loop (rate None) or paced at `rate` requests per second for `seconds`."""
    w = Worker(port, seed)
    start = time.monotonic()
    end = start + seconds
    next_t = start
    interval = 1.0 / rate if rate else 0.0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if rate:
            if now < next_t:
                time.sleep(min(next_t - now, end - now))
                continue
            # Behind by more than a second (a stall): drop the backlog instead of bursting.
            if now - next_t > 1.0:
                next_t = now
            next_t += interval
        w.one()
        done_counter.value += 1
    out.send(w.result())
    out.close()


# ============================================================================ coordinator
def setup_tenant(d):
    """The soak's user, a stored secret and the deployed storage function; the workers find
    them in the environment (they are spawned after this)."""
    r = d.request("POST", "/api/v1/users", {"name": "soak"})
    if r.status != 201:
        raise RuntimeError("cannot create the soak's user: %r" % r)
    key = r.json["data"]["apiKey"]
    r = d.request("PUT", "/api/v1/secrets/API_KEY", {"value": SOAK_SECRET}, auth=key)
    if r.status != 201:
        raise RuntimeError("cannot store the soak's secret: %r" % r)
    r = d.request("POST", "/api/v1/functions", {"name": "counter", "code": STORAGE_CODE},
                  auth=key)
    if r.status != 201:
        raise RuntimeError("cannot deploy the soak's function: %r" % r)
    os.environ["NCSL_SOAK_USER_KEY"] = key
    os.environ["NCSL_SOAK_FUNCTION"] = r.json["data"]["id"]

def run_workers(ctx, port, n, seconds, rate_each, seed, on_tick=None):
    procs, pipes, counters = [], [], []
    for i in range(n):
        rx, tx = ctx.Pipe(duplex=False)
        c = ctx.Value("Q", 0, lock=False)
        p = ctx.Process(target=worker_main, args=(port, seed * 1000 + i, seconds, rate_each, c,
                                                  tx), daemon=True)
        procs.append(p)
        pipes.append(rx)
        counters.append(c)
    t0 = time.monotonic()
    for p in procs:
        p.start()
    while any(p.is_alive() for p in procs) and not all(rx.poll() for rx in pipes):
        if on_tick:
            on_tick(time.monotonic() - t0, sum(c.value for c in counters))
        time.sleep(1.0)
    results = []
    for rx in pipes:
        if not rx.poll(seconds + 60):
            raise RuntimeError("a load worker sent no results")
        results.append(rx.recv())
    for p in procs:
        p.join(10)
    return results, time.monotonic() - t0


def merge(results):
    m = {"counts": {}, "lat": array.array("f"), "errors": [], "n_errors": 0, "malformed": [],
         "n_malformed": 0, "bad5xx": [], "n_bad5xx": 0}
    for r in results:
        for k, v in r["counts"].items():
            m["counts"][k] = m["counts"].get(k, 0) + v
        lat = array.array("f")
        lat.frombytes(r["lat"])
        m["lat"].extend(lat)
        for k in ("errors", "malformed", "bad5xx"):
            m[k].extend(r[k])
        for k in ("n_errors", "n_malformed", "n_bad5xx"):
            m[k] += r[k]
    m["total"] = sum(m["counts"].values())
    return m


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0.0
    return sorted_vals[min(len(sorted_vals) - 1, int(p * len(sorted_vals)))] * 1000.0


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def proc_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def median(v):
    s = sorted(v)
    return s[len(s) // 2] if s else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ncsld", default=os.environ.get("NCSLD", ""),
                    help="the ncsld executable (default: $NCSLD)")
    ap.add_argument("--minutes", type=float, default=10.0, help="paced phase (default 10)")
    ap.add_argument("--fraction", type=float, default=0.7, help="of the peak (default 0.7)")
    ap.add_argument("--workers", type=int, default=4, help="paced load processes (default 4)")
    ap.add_argument("--ramp-step", type=float, default=0.0,
                    help="seconds per ramp step (default: 3, or 2 for runs under 5 minutes)")
    ap.add_argument("--sanitized", action="store_true",
                    default=os.environ.get("NCSL_SANITIZED", "") in ("1", "ON", "TRUE", "true"),
                    help="the daemon is an ASan build (see the RSS criterion above)")
    ap.add_argument("--json", default="", help="write the numbers to this file")
    args = ap.parse_args()
    if not args.ncsld or not os.access(args.ncsld, os.X_OK):
        print("soak: give the ncsld executable with --ncsld or $NCSLD", file=sys.stderr)
        return 2
    test_e2e.NCSLD = args.ncsld
    seconds = args.minutes * 60.0
    step = args.ramp_step or (3.0 if seconds >= 300 else 2.0)
    warmup = min(120.0, max(10.0, 0.2 * seconds))
    rss_limit = 0.20 if args.sanitized else 0.05
    if args.sanitized:
        # A small quarantine (see the header); keep the caller's other options.
        opts = os.environ.get("ASAN_OPTIONS", "")
        os.environ["ASAN_OPTIONS"] = (opts + ":" if opts else "") + "quarantine_size_mb=16"
    ctx = multiprocessing.get_context("spawn")

    d = test_e2e.Daemon({"Server": {"LogLevel": "warn"}, "Limits": {"RequestsPerSecond": 0}})
    failures = []
    report = {"ncsld": os.path.basename(args.ncsld), "sanitized": args.sanitized}
    try:
        d.start()
        setup_tenant(d)
        pid = d.proc.pid
        fd_idle0 = proc_fds(pid)
        rss_start = proc_rss_kib(pid)
        print("soak: ncsld pid %d on port %d: RSS %.1f MiB, %d fds" % (
            pid, d.port, rss_start / 1024.0, fd_idle0), flush=True)

        # 1. ramp
        peak, peak_c = 0.0, 1
        for i, c in enumerate((1, 2, 4, 8)):
            res, el = run_workers(ctx, d.port, c, step, None, 100 + i)
            m = merge(res)
            rate = m["total"] / el
            print("soak: ramp %d clients: %d requests, %.0f req/s (5xx %d, errors %d, "
                  "malformed %d)" % (c, m["total"], rate, m["n_bad5xx"], m["n_errors"],
                                     m["n_malformed"]), flush=True)
            for k in ("bad5xx", "errors", "malformed"):
                failures.extend("ramp: " + x for x in m[k][:3])
            if rate > peak:
                peak, peak_c = rate, c
        target = args.fraction * peak
        nworkers = max(args.workers, peak_c)
        report["ramp"] = {"peak_rps": round(peak, 1), "peak_clients": peak_c}
        print("soak: peak %.0f req/s (%d clients): pacing %d workers at %.0f req/s for %.0f s "
              "(warm-up %.0f s)" % (peak, peak_c, nworkers, target, seconds, warmup), flush=True)

        # 2. paced load, sampling RSS and descriptors every second
        samples = []  # (t, rss_kib, fds, requests)
        last_print = [0.0]

        def tick(t, done):
            try:
                samples.append((t, proc_rss_kib(pid), proc_fds(pid), done))
            except (FileNotFoundError, ProcessLookupError):
                return
            if t - last_print[0] >= 30 or len(samples) == 1:
                last_print[0] = t
                print("soak: %4.0f s  %8d requests  RSS %.1f MiB  fds %d" % (
                    t, done, samples[-1][1] / 1024.0, samples[-1][2]), flush=True)

        res, elapsed = run_workers(ctx, d.port, nworkers, seconds, target / nworkers, 7, tick)
        m = merge(res)
        time.sleep(1.0)  # the clients have closed: let the daemon reap their sockets
        alive = d.proc.poll() is None
        fd_idle1 = proc_fds(pid) if alive else -1
        rss_after = proc_rss_kib(pid) if alive else 0

        # 3. numbers and checks
        lat = sorted(m["lat"])
        statuses = {}
        for k, v in m["counts"].items():
            st = k.rsplit(" ", 1)[1]
            statuses[st] = statuses.get(st, 0) + v
        warm = [s for s in samples if warmup - 5 <= s[0] <= warmup]
        tail = samples[-5:]
        rss_warm = median([s[1] for s in warm]) if warm else 0
        rss_end = median([s[1] for s in tail]) if tail else 0
        rss_max_after = max([s[1] for s in samples if s[0] >= warmup] or [0])
        fd_max = max([s[2] for s in samples] or [0])
        growth = (rss_end - rss_warm) / rss_warm if rss_warm else 0.0
        report.update({
            "minutes": args.minutes, "requests": m["total"],
            "rps": round(m["total"] / elapsed, 1), "target_rps": round(target, 1),
            "workers": nworkers, "latency_ms": {"p50": round(pct(lat, 0.5), 3),
                                                "p99": round(pct(lat, 0.99), 3),
                                                "max": round(pct(lat, 1.0), 3)},
            "statuses": statuses, "by_op": dict(sorted(m["counts"].items())),
            "rss_mib": {"start": round(rss_start / 1024.0, 1),
                        "warm": round(rss_warm / 1024.0, 1), "end": round(rss_end / 1024.0, 1),
                        "max_after_warmup": round(rss_max_after / 1024.0, 1),
                        "after_load": round(rss_after / 1024.0, 1),
                        "growth_pct": round(100 * growth, 2)},
            "fds": {"idle_before": fd_idle0, "idle_after": fd_idle1, "max_during": fd_max},
            "transport_errors": m["n_errors"], "malformed": m["n_malformed"],
            "bad_5xx": m["n_bad5xx"]})
        if not alive:
            failures.append("ncsld died (exit %s)" % d.proc.returncode)
        if m["n_bad5xx"]:
            failures.append("%d 5xx other than 503, e.g. %s" % (m["n_bad5xx"], m["bad5xx"][:3]))
        if m["n_errors"]:
            failures.append("%d transport errors, e.g. %s" % (m["n_errors"], m["errors"][:3]))
        if m["n_malformed"]:
            failures.append("%d malformed answers, e.g. %s" % (m["n_malformed"],
                                                                m["malformed"][:3]))
        if not warm or len(samples) < 10:
            failures.append("too few RSS samples (%d)" % len(samples))
        elif growth >= rss_limit:
            failures.append("RSS grew %.2f%% after warm-up (%.1f -> %.1f MiB; limit %.0f%%)" % (
                100 * growth, rss_warm / 1024.0, rss_end / 1024.0, 100 * rss_limit))
        if alive and fd_idle1 > fd_idle0:
            failures.append("descriptors grew: %d idle before the load, %d after" % (
                fd_idle0, fd_idle1))
        if fd_max > fd_idle0 + nworkers + 16:
            failures.append("up to %d descriptors with %d clients (idle: %d)" % (
                fd_max, nworkers, fd_idle0))
        if m["total"] < 0.5 * target * seconds:
            failures.append("only %d requests of the %.0f scheduled" % (m["total"],
                                                                          target * seconds))
        rc = d.stop()  # SIGTERM: a clean drain, and LeakSanitizer's check under ASan
        report["exit_code"] = rc
        if alive and rc != 0:
            failures.append("ncsld exited with %s on SIGTERM" % rc)
        bad = [ln for ln in d.stderr_text().splitlines()
               if "AddressSanitizer" in ln or "LeakSanitizer" in ln or "runtime error:" in ln]
        if bad:
            failures.append("sanitizer reports: %s" % bad[:5])
    finally:
        d.cleanup()

    print("soak: %d requests in %.0f s = %.1f req/s (target %.1f); latency p50 %.2f ms, "
          "p99 %.2f ms" % (report.get("requests", 0), seconds, report.get("rps", 0),
                           report.get("target_rps", 0),
                           report.get("latency_ms", {}).get("p50", 0),
                           report.get("latency_ms", {}).get("p99", 0)))
    print("soak: statuses %s" % json.dumps(report.get("statuses", {}), sort_keys=True))
    print("soak: RSS %s" % json.dumps(report.get("rss_mib", {})))
    print("soak: fds %s" % json.dumps(report.get("fds", {})))
    print("soak: by op %s" % json.dumps(report.get("by_op", {})))
    report["failures"] = failures
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    for x in failures:
        print("soak: FAIL: %s" % x)
    print("soak: %s" % ("FAILED" if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
