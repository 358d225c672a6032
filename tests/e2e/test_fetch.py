#!/usr/bin/env python3
"""fetch() end to end (issue 5, item 3): ncsld and `ncsl run` against an HTTP server this test
starts on 127.0.0.1 (an ephemeral port, one thread per request, stopped at the end and by a
watchdog). One daemon allows 127.0.0.1 with Fetch.AllowPrivateNetworks; another allows hosts but
not private networks, a third allows nothing (the default): each refusal is a TypeError with its
reason, hostile servers (never answering, 1 GB) are cut at their limit while other calls keep
running, and 16 calls awaiting a 1 s fetch run concurrently."""
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e  # noqa: E402,F401
from test_e2e import Daemon, run_cmd  # noqa: E402

NCSL = os.environ.get("NCSL", "")
SECRET = "sk-fetch-e2e-7c1d93f0a4"
ONE_GB = 1 << 30


# ------------------------------------------------------------------------------ the server
class Upstream(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # 16 calls connect at once (the default backlog of 5 drops SYNs)

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.stop_event = threading.Event()
        self.seen = []  # (method, path, headers (lower-case names), body)
        self.seen_lock = threading.Lock()
        self.big_sent = 0
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        # whatever happens to the test, the server stops by itself
        self.watchdog = threading.Timer(900, self.stop)
        self.watchdog.daemon = True

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.server_address[1]

    def start(self):
        self.thread.start()
        self.watchdog.start()
        return self

    def stop(self):
        self.stop_event.set()
        self.shutdown()
        self.server_close()
        self.watchdog.cancel()

    def record(self, method, path, headers, body):
        with self.seen_lock:
            self.seen.append((method, path, headers, body))

    def requests_to(self, path):
        with self.seen_lock:
            return [s for s in self.seen if s[1] == path]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection, the body ends with it

    def log_message(self, fmt, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, ctype="application/json", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _route(self):
        srv = self.server
        body = self._body()
        headers = {}
        for k, v in self.headers.items():  # repeated lines joined, as HTTP allows
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        srv.record(self.command, self.path, headers, body)
        if self.path == "/json":
            self._send(200, json.dumps({"price": 42.5, "symbol": "NEO"}).encode(),
                       extra={"X-Upstream": "yes"})
        elif self.path == "/text":
            self._send(200, b"plain text, not JSON", ctype="text/plain")
        elif self.path == "/echo":
            self._send(200, json.dumps({"method": self.command, "headers": headers,
                                        "body": body.decode("utf-8", "replace")}).encode())
        elif self.path == "/slow":
            if not srv.stop_event.wait(1.0):
                self._send(200, b'{"slow":true}')
        elif self.path == "/hang":
            # never answers: waits until the client goes away or the server stops
            self.connection.settimeout(0.2)
            while not srv.stop_event.is_set():
                try:
                    if self.connection.recv(1) == b"":
                        return
                except socket.timeout:
                    continue
                except OSError:
                    return
        elif self.path == "/big":
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while srv.big_sent < ONE_GB and not srv.stop_event.is_set():
                    self.wfile.write(chunk)
                    srv.big_sent += len(chunk)
            except OSError:
                return  # the client stopped reading: expected
        elif self.path == "/redirect-evil":
            self._send(302, b"", extra={"Location": "http://evil.example.com/steal"})
        elif self.path == "/redirect-ok":
            self._send(302, b"", extra={"Location": srv.base + "/json"})
        elif self.path == "/redirect-metadata":
            self._send(302, b"", extra={"Location": "http://169.254.169.254/latest/meta-data/"})
        else:
            self._send(404, b'{"error":"not found"}')

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _route


# ------------------------------------------------------------------------------ helpers
def result(test, r):
    """The result of a successful execute-javascript call."""
    test.assertEqual(r.status, 200, r)
    test.assertIs(r.json.get("success"), True, r)
    return r.json["data"]["result"]


CATCH = """
async function main(input) {
  try {
    const r = await fetch(%s);
    return { ok: true, status: r.status, body: await r.text() };
  } catch (e) {
    return { ok: false, name: e.name, message: e.message };
  }
}
"""


def catch_code(args_js):
    return CATCH % args_js


class FetchAllowed(unittest.TestCase):
    """A daemon that allows 127.0.0.1, private networks included (the test server)."""

    @classmethod
    def setUpClass(cls):
        cls.up = Upstream().start()
        cls.d = Daemon({
            "JavaScript": {"Workers": 2, "TimeoutMs": 8000},
            "Fetch": {"AllowedHosts": ["127.0.0.1"], "AllowPrivateNetworks": True,
                      "MaxRequestsPerCall": 4, "MaxResponseBytes": 1 << 20,
                      "TimeoutMs": 2000},
        })
        try:
            cls.d.start()
        except Exception:
            cls.up.stop()
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.up.stop()

    def run_js(self, code, timeout=30, **kw):
        return result(self, self.d.execute(code, timeout=timeout, **kw))

    def normal_call_is_fast(self):
        r = self.d.execute("function main(x) { return x.a + x.b; }", input={"a": 2, "b": 3})
        self.assertEqual(result(self, r), 5)
        self.assertLess(r.elapsed, 1.0, r)

    def while_running(self, code, check):
        """Runs `code` in the background; calls check() repeatedly meanwhile; returns its result."""
        out = {}

        def bg():
            out["r"] = self.d.execute(code, timeout=60)

        t = threading.Thread(target=bg)
        t.start()
        time.sleep(0.3)
        n = 0
        while t.is_alive() and n < 10:
            check()
            n += 1
            time.sleep(0.1)
        t.join(60)
        self.assertFalse(t.is_alive())
        self.assertGreater(n, 0, "the hostile call ended before the others could run")
        return result(self, out["r"]), out["r"]

    # -------------------------------------------------------------- the documented example
    def test_json_api_with_secret_header(self):
        code = """
async function main(input) {
  const r = await fetch(input.url, { headers: { "X-Api-Key": SECRETS.API_KEY,
                                                Accept: "application/json" } });
  const data = await r.json();
  return { status: r.status, ok: r.ok, statusText: r.statusText, url: r.url,
           redirected: r.redirected, type: r.headers.get("content-type"),
           upstream: r.headers.get("x-upstream"), price: data.price, used: r.bodyUsed };
}"""
        res = self.run_js(code, input={"url": self.up.base + "/json"},
                          secrets={"API_KEY": SECRET})
        self.assertEqual(res, {"status": 200, "ok": True, "statusText": "OK",
                               "url": self.up.base + "/json", "redirected": False,
                               "type": "application/json", "upstream": "yes", "price": 42.5,
                               "used": True})
        seen = self.up.requests_to("/json")
        self.assertTrue(any(s[2].get("x-api-key") == SECRET for s in seen), seen)
        # the secret reached the server, never the logs
        time.sleep(0.2)
        self.assertNotIn(SECRET, self.d.log_file_text())
        self.assertNotIn(SECRET, self.d.stderr_text())

    def test_methods_headers_and_bodies(self):
        code = """
async function main(input) {
  const u = input.base + "/echo";
  const post = await (await fetch(u, { method: "post", body: "héllo",
                                       headers: [["X-One", "1"], ["x-one", "2"]] })).json();
  const bytes = await (await fetch(u, { method: "PUT",
      body: new Uint8Array([104, 105]), headers: new Headers({ "Content-Type": "x/y" }) })).json();
  const del = await (await fetch(u, { method: "DELETE" })).json();
  const head = await fetch(input.base + "/json", { method: "HEAD" });
  return { post, bytes, del: del.method, head: [head.status, await head.text()] };
}"""
        res = self.run_js(code, input={"base": self.up.base})
        self.assertEqual(res["post"]["method"], "POST")  # upper-cased
        self.assertEqual(res["post"]["body"], "héllo")
        self.assertEqual(res["post"]["headers"]["x-one"], "1, 2")
        self.assertEqual(res["post"]["headers"]["content-type"], "text/plain;charset=UTF-8")
        self.assertEqual(res["bytes"]["method"], "PUT")
        self.assertEqual(res["bytes"]["body"], "hi")
        self.assertEqual(res["bytes"]["headers"]["content-type"], "x/y")
        self.assertEqual(res["del"], "DELETE")
        self.assertEqual(res["head"], [200, ""])

    def test_response_api(self):
        code = """
async function main(input) {
  const r = await fetch(input.base + "/json");
  const out = { keys: [...r.headers.keys()], has: r.headers.has("X-UPSTREAM") };
  out.entries = [];
  r.headers.forEach((v, k) => out.entries.push(k));
  const buf = await r.arrayBuffer();
  out.bytes = buf.byteLength;
  try { await r.text(); } catch (e) { out.twice = e.name + ": " + e.message; }
  try { r.headers.set("x", "y"); } catch (e) { out.immutable = e.name; }
  const missing = await fetch(input.base + "/nope");
  out.missing = [missing.status, missing.ok];
  try { await (await fetch(input.base + "/text")).json(); }
  catch (e) { out.badJson = e.name; }
  return out;
}"""
        res = self.run_js(code, input={"base": self.up.base})
        self.assertIn("content-type", res["keys"])
        self.assertEqual(res["keys"], sorted(res["keys"]))
        self.assertTrue(res["has"])
        self.assertEqual(res["entries"], res["keys"])
        self.assertEqual(res["bytes"], len(json.dumps({"price": 42.5, "symbol": "NEO"})))
        self.assertEqual(res["twice"], "TypeError: Response.text: body already used")
        self.assertEqual(res["immutable"], "TypeError")
        self.assertEqual(res["missing"], [404, False])
        self.assertEqual(res["badJson"], "SyntaxError")

    # -------------------------------------------------------------- redirects
    def test_redirects(self):
        res = self.run_js(catch_code('"%s/redirect-ok"' % self.up.base))
        self.assertTrue(res["ok"], res)
        code = """
async function main(input) {
  const r = await fetch(input.base + "/redirect-ok");
  const m = await fetch(input.base + "/redirect-ok", { redirect: "manual" });
  let e = null;
  try { await fetch(input.base + "/redirect-ok", { redirect: "error" }); }
  catch (x) { e = x.name + ": " + x.message; }
  return { redirected: r.redirected, url: r.url, manual: [m.status, m.headers.get("location")],
           error: e };
}"""
        res = self.run_js(code, input={"base": self.up.base})
        self.assertTrue(res["redirected"])
        self.assertEqual(res["url"], self.up.base + "/json")
        self.assertEqual(res["manual"], [302, self.up.base + "/json"])
        self.assertIn("init.redirect is \"error\"", res["error"])
        self.assertTrue(res["error"].startswith("TypeError: fetch: "))

    def test_redirect_to_a_disallowed_host(self):
        res = self.run_js(catch_code('"%s/redirect-evil"' % self.up.base))
        self.assertEqual(res["ok"], False)
        self.assertEqual(res["name"], "TypeError")
        self.assertEqual(res["message"], "fetch: redirect from '127.0.0.1' refused: host "
                                         "'evil.example.com' (port 80) is not in "
                                         "Fetch.AllowedHosts")
        res = self.run_js(catch_code('"%s/redirect-metadata"' % self.up.base))
        self.assertIn("'169.254.169.254' (port 80) is not in Fetch.AllowedHosts", res["message"])

    # -------------------------------------------------------------- hostile servers
    def test_never_answers_is_cut_at_timeout(self):
        code = catch_code('"%s/hang"' % self.up.base)
        t0 = time.monotonic()
        res, r = self.while_running(code, self.normal_call_is_fast)
        took = time.monotonic() - t0
        self.assertFalse(res["ok"])
        self.assertEqual(res["name"], "TypeError")
        self.assertEqual(res["message"], "fetch: no complete response from '127.0.0.1' within "
                                         "Fetch.TimeoutMs (2000 ms)")
        self.assertGreater(took, 1.8)
        self.assertLess(took, 6.0)

    def test_one_gigabyte_is_cut_at_max_response_bytes(self):
        rss_before = self.rss_kib()
        self.up.big_sent = 0
        code = catch_code('"%s/big"' % self.up.base)
        # four 1 GB streams at once: each is cut at the cap, other calls run meanwhile
        out = []

        def bg():
            out.append(self.d.execute(code, timeout=60))

        threads = [threading.Thread(target=bg) for _ in range(4)]
        for t in threads:
            t.start()
        self.normal_call_is_fast()
        for t in threads:
            t.join(60)
        for r in out:
            res = result(self, r)
            self.assertFalse(res["ok"], res)
            self.assertEqual(res["message"], "fetch: the response is larger than "
                                             "Fetch.MaxResponseBytes (1048576)")
            self.assertLess(r.elapsed, 10)
        self.assertLess(self.up.big_sent, 256 << 20, "the stream was not cut")
        rss_after = self.rss_kib()
        if rss_before and rss_after:
            self.assertLess(rss_after - rss_before, 128 << 10, "ncsld grew by %d KiB"
                            % (rss_after - rss_before))
        self.normal_call_is_fast()

    def rss_kib(self):
        try:
            with open("/proc/%d/status" % self.d.proc.pid) as f:
                m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
                return int(m.group(1)) if m else 0
        except OSError:
            return 0

    # -------------------------------------------------------------- per-call limits
    def test_max_requests_per_call(self):
        code = """
async function main(input) {
  const got = [];
  for (let i = 0; i < 6; i++) {
    try { got.push((await fetch(input.base + "/json")).status); }
    catch (e) { got.push(e.name + ": " + e.message); }
  }
  return got;
}"""
        res = self.run_js(code, input={"base": self.up.base})
        self.assertEqual(res[:4], [200, 200, 200, 200])
        self.assertEqual(res[4], "TypeError: fetch: this call already made 4 requests "
                                 "(Fetch.MaxRequestsPerCall)")
        self.assertEqual(res[5], res[4])

    def test_bad_arguments(self):
        base = self.up.base
        cases = [
            ("", "fetch: argument 1 (url) must be a string or a URL object"),
            ("42", "fetch: argument 1 (url) must be a string or a URL object"),
            ('"/relative"', "fetch: argument 1 (url) is not a valid absolute URL"),
            ('"ftp://127.0.0.1/"', "only http and https are allowed"),
            ('"%s/json", 5' % base, "fetch: argument 2 (init) must be an object"),
            ('"%s/json", {method: "CONNECT"}' % base, "fetch: init.method 'CONNECT' is forbidden"),
            ('"%s/json", {method: "TRACE"}' % base, "forbidden"),
            ('"%s/json", {method: "GET", body: "x"}' % base,
             "fetch: a GET request cannot have a body"),
            ('"%s/json", {body: "x"}' % base, "fetch: a GET request cannot have a body"),
            ('"%s/json", {redirect: "sometimes"}' % base,
             'fetch: init.redirect must be "follow", "error" or "manual"'),
            ('"%s/json", {headers: {"bad name": "v"}}' % base, "is not a valid header name"),
            ('"%s/json", {headers: {"x": "a\\r\\nb"}}' % base, "contains a NUL, CR or LF"),
            ('"%s/json", {headers: 7}' % base, "fetch: init.headers must be"),
            ('"%s/json", {headers: [["a"]]}' % base, "must be a [name, value] pair"),
            ('"%s/json", {headers: {Host: "evil"}}' % base, "header 'host' cannot be set"),
            ('"%s/echo", {method: "POST", body: {}}' % base, "fetch: init.body must be"),
            ('"%s/echo", {method: "POST", body: "x".repeat(2000000)}' % base,
             "is larger than Fetch.MaxRequestBytes (1048576)"),
            ('"http://user:pw@127.0.0.1/"', "credentials"),
        ]
        for args, want in cases:
            res = self.run_js(catch_code(args))
            self.assertEqual(res.get("name"), "TypeError", (args, res))
            self.assertIn(want, res["message"], args)

    # -------------------------------------------------------------- concurrency
    def test_sixteen_calls_waiting_for_slow_fetches(self):
        code = """
async function main(input) {
  const r = await fetch(input.url);
  return (await r.json()).slow;
}"""
        out = []
        lock = threading.Lock()

        def one():
            r = self.d.execute(code, input={"url": self.up.base + "/slow"}, timeout=60)
            with lock:
                out.append(r)

        threads = [threading.Thread(target=one) for _ in range(16)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        took = time.monotonic() - t0
        self.assertEqual(len(out), 16)
        for r in out:
            self.assertIs(result(self, r), True)
        print("\n16 calls awaiting a 1 s fetch took %.2f s (2 workers)" % took, file=sys.stderr)
        self.assertLess(took, 4.0, "16 calls waiting for a 1 s fetch took %.1f s" % took)


class FetchRefused(unittest.TestCase):
    """Hosts allowed, private networks not: 127.0.0.1 and 169.254.169.254 are refused by address;
    and a daemon with the default config (fetch off)."""

    @classmethod
    def setUpClass(cls):
        cls.up = Upstream().start()
        cls.config = {"JavaScript": {"Workers": 2},
                      "Fetch": {"AllowedHosts": ["127.0.0.1", "169.254.169.254", "localhost",
                                                 "*.example.net"]}}
        cls.d = Daemon(cls.config)
        cls.off = Daemon({})
        try:
            cls.d.start()
            cls.off.start()
        except Exception:
            cls.up.stop()
            cls.d.cleanup()
            cls.off.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.off.cleanup()
        cls.up.stop()

    def refused(self, d, args):
        res = result(self, d.execute(catch_code(args)))
        self.assertFalse(res["ok"], res)
        self.assertEqual(res["name"], "TypeError", res)
        return res["message"]

    def test_private_addresses_refused(self):
        port = self.up.server_address[1]
        before = len(self.up.seen)
        self.assertEqual(self.refused(self.d, '"http://127.0.0.1:%d/json"' % port),
                         "fetch: 127.0.0.1 is a loopback address (Fetch.AllowPrivateNetworks "
                         "is off)")
        self.assertEqual(self.refused(self.d, '"http://169.254.169.254/latest/meta-data/"'),
                         "fetch: 169.254.169.254 is a link-local address "
                         "(Fetch.AllowPrivateNetworks is off)")
        # allowed by name, but the name resolves to loopback: refused at connect
        msg = self.refused(self.d, '"http://localhost:%d/json"' % port)
        self.assertRegex(msg, r"^fetch: host 'localhost' resolves to (127\.0\.0\.1|::1), a "
                              r"loopback address \(Fetch\.AllowPrivateNetworks is off\)$")
        self.assertEqual(len(self.up.seen), before, "a refused request reached the server")

    def test_disallowed_host(self):
        self.assertEqual(self.refused(self.d, '"https://example.com/"'),
                         "fetch: host 'example.com' (port 443) is not in Fetch.AllowedHosts")
        self.assertIn("is not in Fetch.AllowedHosts",
                      self.refused(self.d, '"https://example.net/"'))  # "*." is subdomains only

    def test_fetch_off_by_default(self):
        self.assertIn("fetch is off", self.refused(self.off, '"%s/json"' % self.up.base))
        # and the daemon says so in its log
        self.assertIn("fetch off", self.off.log_file_text())

    def test_ncsl_run_uses_the_config(self):
        if not NCSL:
            self.skipTest("set NCSL to the ncsl executable")
        with tempfile.TemporaryDirectory() as tmp:
            cfg = os.path.join(tmp, "config.json")
            fn = os.path.join(tmp, "f.js")
            with open(cfg, "w") as f:
                json.dump(self.config, f)
            with open(fn, "w") as f:
                f.write('async function main() { return (await fetch("%s/json")).status; }'
                        % self.up.base)
            rc, out, err = run_cmd([NCSL, "run", "--config", cfg, fn], timeout=60)
            self.assertEqual(rc, 1, (out, err))
            self.assertIn("TypeError: fetch: 127.0.0.1 is a loopback address", err)
            # allowed: works, and the call's deadline cuts a server that never answers
            allowed = dict(self.config)
            allowed["Fetch"] = dict(allowed["Fetch"], AllowPrivateNetworks=True)
            with open(cfg, "w") as f:
                json.dump(allowed, f)
            rc, out, err = run_cmd([NCSL, "run", "--config", cfg, fn], timeout=60)
            self.assertEqual((rc, out.strip()), (0, "200"), err)
            with open(fn, "w") as f:
                f.write('async function main() { return (await fetch("%s/hang")).status; }'
                        % self.up.base)
            t0 = time.monotonic()
            rc, out, err = run_cmd([NCSL, "run", "--config", cfg, "--timeout-ms", "1000", fn],
                                   timeout=60)
            self.assertEqual(rc, 1, (out, err))
            self.assertIn("error: TIMEOUT", err)
            self.assertLess(time.monotonic() - t0, 5.0)
            # a bad Fetch section is refused naming the setting
            with open(cfg, "w") as f:
                json.dump({"Fetch": {"AllowedHosts": ["http://x"]}}, f)
            rc, out, err = run_cmd([NCSL, "run", "--config", cfg, fn], timeout=60)
            self.assertEqual(rc, 2, (out, err))
            self.assertIn("Fetch.AllowedHosts[0]", err)


if __name__ == "__main__":
    unittest.main()
