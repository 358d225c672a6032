#!/usr/bin/env python3
"""ncsld with process isolation (JavaScript.Isolation "process", DESIGN.md section 7): calls run
in worker processes (ncsld --exec-worker); a call that crashes its worker (ncslTest.crash(), a
test-build host function, NCSL_TEST_HOOKS) is answered 500 INTERNAL_ERROR while concurrent calls
succeed, the worker is reaped and replaced, and the daemon keeps serving. fetch() works in the
workers under the daemon's Fetch policy, against a server this test starts on 127.0.0.1, and
answers (and refuses) exactly as a daemon in thread mode with the same policy."""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e  # noqa: E402
from test_e2e import ADMIN_KEY, Daemon  # noqa: E402
from test_fetch import Upstream, catch_code  # noqa: E402

# Set by CMake when the build has the test hooks (debug, asan-ubsan); a release build has none.
HOOKS = os.environ.get("NCSL_TEST_HOOKS") == "1"
PROCESSES = 2
CONFIG = {"JavaScript": {"Isolation": "process"},
          "Tee": {"Occlum": {"MaxProcesses": PROCESSES}},
          "Limits": {"RequestsPerSecond": 0}}


def setUpModule():
    test_e2e.setUpModule()


def children(pid):
    """(pid, state, cmdline) of the daemon's child processes."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(name), fields[0], [c.decode() for c in cmd if c]))
    return out


def workers(pid):
    return [c for c in children(pid) if c[1] != "Z" and "--exec-worker" in c[2]]


class ProcessIsolation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(CONFIG)
        try:
            cls.d.start(env={"NCSL_TEST_CRASH_HOOK": "1"})
        except Exception:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def wait_workers(self, n, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            w = workers(self.d.proc.pid)
            if len(w) == n:
                return w
            time.sleep(0.05)
        self.fail("worker processes: %r" % children(self.d.proc.pid))

    def assertNoZombies(self):
        # the supervisor reaps a dead worker right after answering its call
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            z = [c for c in children(self.d.proc.pid) if c[1] == "Z"]
            if not z:
                return
            time.sleep(0.05)
        self.fail("zombies: %r" % z)

    def test_calls_run_in_worker_processes(self):
        w = self.wait_workers(PROCESSES)
        self.assertEqual(w[0][2][1:], ["--exec-worker", "3"])  # no secret on the command line
        r = self.d.execute("function main(i) { return { r: i.value * 2, k: SECRETS.K, "
                           "pub: Neo.keys.get('a').publicKey.length }; }",
                           input={"value": 21}, secrets={"K": "s3cr3t"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["data"]["result"], {"r": 42, "k": "s3cr3t", "pub": 66})
        # limits still hold inside the worker
        r = self.d.execute("function main() { while (true) {} }", limits={"timeoutMs": 200})
        self.assertEqual(r.status, 422, r)
        self.assertEqual(r.json["error"]["code"], "TIMEOUT")
        for pid, _, _ in workers(self.d.proc.pid):
            with open("/proc/%d/environ" % pid, "rb") as f:
                self.assertNotIn(b"s3cr3t", f.read())

    def test_storage_of_a_deployed_function(self):
        r = self.d.request("POST", "/api/v1/users", {"name": "proc"})
        self.assertEqual(r.status, 201, r)
        key = r.json["data"]["apiKey"]
        code = ("async function main() { const n = (await storage.get('n')) ?? 0;"
                " await storage.set('n', n + 1); return { n: n + 1, keys: await storage.list() }; }")
        r = self.d.request("POST", "/api/v1/functions", {"name": "counter", "code": code}, auth=key)
        self.assertEqual(r.status, 201, r)
        fid = r.json["data"]["id"]
        for n in (1, 2, 3):
            r = self.d.request("POST", "/api/v1/functions/%s/invoke" % fid, {}, auth=key)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["data"]["result"], {"n": n, "keys": ["n"]})

    @unittest.skipUnless(HOOKS, "the build has no test hooks (NCSL_TEST_HOOKS)")
    def test_crash_costs_one_call(self):
        before = {p for p, _, _ in self.wait_workers(PROCESSES)}
        results = {}

        def call(i):
            if i == 5:
                results[i] = self.d.execute("function main() { ncslTest.crash(); }")
            else:
                results[i] = self.d.execute(
                    "async function main(i) { await null; let s = 0;"
                    " for (let k = 0; k < 20000; k++) s += k; return i; }", input=i)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for i, r in sorted(results.items()):
            if i == 5:
                self.assertEqual(r.status, 500, r)
                self.assertEqual(r.json["error"]["code"], "INTERNAL_ERROR", r)
            else:
                self.assertEqual(r.status, 200, (i, r))
                self.assertEqual(r.json["data"]["result"], i)
        self.assertEqual(len(results), 12)
        after = {p for p, _, _ in self.wait_workers(PROCESSES)}
        self.assertEqual(len(before - after), 1, (before, after))  # exactly one was replaced
        self.assertNoZombies()
        self.assertEqual(self.d.request("GET", "/readyz", auth=None).status, 200)
        deadline = time.monotonic() + 20  # the replacement counts once it said READY
        while True:
            h = self.d.request("GET", "/healthz", auth=None)
            if h.json["workers"] == PROCESSES or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(h.json["workers"], PROCESSES, h)
        r = self.d.execute("function main() { return 'still here'; }")
        self.assertEqual(r.status, 200, r)
        # the supervisor logs how the worker ended (SIGSEGV; a sanitizer build may abort or be
        # killed after the grace period while it writes its report)
        self.assertRegex(self.d.log_file_text(),
                         r"worker process \d+ \(pid \d+\) (killed by signal|exited with status)")

    @unittest.skipIf(HOOKS, "the build has the test hooks")
    def test_no_crash_hook_without_test_hooks(self):
        r = self.d.execute("function main() { return typeof ncslTest; }")
        self.assertEqual(r.json["data"]["result"], "undefined", r)


class ProcessFetch(unittest.TestCase):
    """The same Fetch policy in a process-mode and a thread-mode daemon: the same answers."""
    FETCH = {"AllowedHosts": ["127.0.0.1"], "AllowPrivateNetworks": True,
             "MaxRequestsPerCall": 3, "TimeoutMs": 5000}

    @classmethod
    def setUpClass(cls):
        cls.up = Upstream().start()
        cls.dp = Daemon(dict(CONFIG, Fetch=cls.FETCH))
        cls.dt = Daemon({"Fetch": cls.FETCH, "Limits": {"RequestsPerSecond": 0}})
        try:
            cls.dp.start()
            cls.dt.start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.dp.cleanup()
        cls.dt.cleanup()
        cls.up.stop()

    def both(self, code, **kw):
        """The result of `code` in the process-mode daemon, checked equal to thread mode's."""
        out = []
        for d in (self.dp, self.dt):
            r = d.execute(code, **kw)
            self.assertEqual(r.status, 200, r)
            out.append(r.json["data"]["result"])
        self.assertEqual(out[0], out[1])
        return out[0]

    def test_fetch_works_in_a_worker_process(self):
        self.assertEqual(len(workers(self.dp.proc.pid)), PROCESSES)
        before = len(self.up.requests_to("/json"))
        code = """
async function main(input) {
  const r = await fetch(input.url, { headers: { "X-Api-Key": SECRETS.K } });
  return { status: r.status, type: r.headers.get("content-type"),
           upstream: r.headers.get("x-upstream"), price: (await r.json()).price };
}"""
        res = self.both(code, input={"url": self.up.base + "/json"}, secrets={"K": "k-proc-1"})
        self.assertEqual(res, {"status": 200, "type": "application/json", "upstream": "yes",
                               "price": 42.5})
        seen = self.up.requests_to("/json")
        self.assertEqual(len(seen) - before, 2)  # one from each daemon
        self.assertEqual(seen[-1][2].get("x-api-key"), "k-proc-1")
        res = self.both(catch_code('"%s/redirect-ok"' % self.up.base))
        self.assertTrue(res["ok"], res)

    def test_refusals_are_the_same(self):
        cases = [
            ('"http://evil.example.com/steal"',
             "fetch: host 'evil.example.com' (port 80) is not in Fetch.AllowedHosts"),
            ('"%s/redirect-evil"' % self.up.base,
             "fetch: redirect from '127.0.0.1' refused: host 'evil.example.com' (port 80) is "
             "not in Fetch.AllowedHosts"),
            ('"http://10.1.2.3/"', "fetch: host '10.1.2.3' (port 80) is not in "
                                   "Fetch.AllowedHosts"),
        ]
        for url, message in cases:
            with self.subTest(url=url):
                res = self.both(catch_code(url))
                self.assertEqual(res, {"ok": False, "name": "TypeError", "message": message})
        self.assertEqual(self.up.requests_to("/steal"), [])
        # Fetch.MaxRequestsPerCall (3) holds in a worker as in a thread
        code = ("async function main(i) { let n = 0; try { for (;;) {"
                " await (await fetch(i.url)).text(); n++; } } catch (e) { return [n, e.message]; } }")
        res = self.both(code, input={"url": self.up.base + "/text"})
        self.assertEqual(res[0], 3)
        self.assertIn("Fetch.MaxRequestsPerCall", res[1])


class ProcessShutdown(unittest.TestCase):
    def test_sigterm_stops_workers(self):
        d = Daemon(CONFIG)
        try:
            d.start()
            pids = [p for p, _, _ in workers(d.proc.pid)]
            self.assertEqual(len(pids), PROCESSES)
            r = d.execute("function main() { return 1; }")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(d.stop(), 0, d.stderr_text()[-2000:])
            for p in pids:
                self.assertFalse(os.path.exists("/proc/%d" % p) and
                                 open("/proc/%d/stat" % p).read().split()[2] != "Z", p)
        finally:
            d.cleanup()

    def test_bad_isolation_is_a_config_error(self):
        d = Daemon({"JavaScript": {"Isolation": "fork"}})
        try:
            with self.assertRaises(AssertionError) as cm:
                d.start()
            self.assertIn("JavaScript.Isolation", str(cm.exception))
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
