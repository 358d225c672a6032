"""End-to-end tests of ncsld over real HTTP on 127.0.0.1 (Python 3 standard library only).

Each test class starts its own daemon (`$NCSLD --data-dir TMP --listen 127.0.0.1:0 --config
FILE`) in its own process group with a temporary data directory, waits for TMP/ncsld.url and
GET /healthz, and tears it down afterwards (SIGTERM, then SIGKILL of the whole group if it does
not exit). Run: NCSLD=build/.../ncsld python3 -m unittest -v test_e2e
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

NCSLD = os.environ.get("NCSLD", "")
EXECUTE = "/api/v1/functions/execute-javascript"
START_TIMEOUT_S = 10.0

# Every daemon this module started, so that nothing outlives the test run.
_LIVE = []


def setUpModule():
    if not NCSLD or not os.access(NCSLD, os.X_OK):
        raise unittest.SkipTest("set NCSLD to the ncsld executable to run the e2e tests")


def tearDownModule():
    for d in list(_LIVE):
        d.stop(kill=True)


class Response:
    def __init__(self, status, headers, raw, elapsed):
        self.status = status
        self.headers = headers  # lower-case name -> value
        self.raw = raw
        self.elapsed = elapsed
        try:
            self.json = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            self.json = None

    def __repr__(self):
        return "<HTTP %d in %.2fs: %s>" % (self.status, self.elapsed, self.raw[:600])


# The admin key every test daemon starts with (NCSL_ADMIN_KEY); requests carry it unless a test
# passes its own Authorization header (or auth=None for none at all).
ADMIN_KEY = "ncsl_admin_test_" + "k" * 32


def auth_header(key):
    return {"Authorization": "Bearer " + key}


class Daemon:
    """One ncsld process with its own temporary data directory and config file."""

    def __init__(self, config=None):
        self.root = tempfile.mkdtemp(prefix="ncsl-e2e-")
        self.data_dir = os.path.join(self.root, "data")
        os.mkdir(self.data_dir)
        self.stderr_path = os.path.join(self.root, "stderr.log")
        self.config_path = os.path.join(self.root, "config.json")
        with open(self.config_path, "w") as f:
            json.dump(config or {}, f)
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None
        self.url = None

    # ----------------------------------------------------------------- life cycle
    def start(self, env=None):
        try:  # a file left by a killed daemon must not be read as the new one's address
            os.unlink(os.path.join(self.data_dir, "ncsld.url"))
        except FileNotFoundError:
            pass
        self._stderr = open(self.stderr_path, "wb")
        environ = dict(os.environ)
        environ["NCSL_ADMIN_KEY"] = ADMIN_KEY
        environ.update(env or {})
        environ = {k: v for k, v in environ.items() if v is not None}
        self.proc = subprocess.Popen(
            [NCSLD, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
             "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr, env=environ,
            start_new_session=True)  # own process group: killpg reaches every child
        _LIVE.append(self)
        try:
            self._wait_ready()
        except Exception:
            self.stop(kill=True)
            raise
        return self

    def _wait_ready(self):
        url_file = os.path.join(self.data_dir, "ncsld.url")
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("ncsld exited with %s during start-up; stderr:\n%s"
                                     % (self.proc.returncode, self.stderr_text()[-4000:]))
            try:
                with open(url_file) as f:
                    text = f.read().strip()
            except FileNotFoundError:
                text = ""
            m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/?", text)
            if m:
                self.port = int(m.group(1))
                self.url = text
                break
            if time.monotonic() > deadline:
                raise AssertionError("ncsld wrote no URL to %s within %.0f s (got %r); stderr:\n%s"
                                     % (url_file, START_TIMEOUT_S, text,
                                        self.stderr_text()[-4000:]))
            time.sleep(0.05)
        while True:
            try:
                if self.request("GET", "/healthz", timeout=2).status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("GET /healthz never answered 200 within %.0f s"
                                     % START_TIMEOUT_S)
            time.sleep(0.05)

    def stop(self, kill=False, grace=20.0):
        """SIGTERM (or SIGKILL), wait, then SIGKILL the process group. Returns the exit code."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.poll() is None:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
            else:
                # Reap anything the daemon may have left in its group.
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            rc = self.proc.returncode
        if getattr(self, "_stderr", None):
            self._stderr.close()
            self._stderr = None
        if self in _LIVE:
            _LIVE.remove(self)
        return rc

    def cleanup(self):
        self.stop(kill=True)
        shutil.rmtree(self.root, ignore_errors=True)

    # ----------------------------------------------------------------- inspection
    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_file_text(self):
        path = os.path.join(self.data_dir, "log", "ncsl.log")
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # ----------------------------------------------------------------- HTTP
    def request(self, method, path, body=None, headers=None, timeout=30, auth=ADMIN_KEY):
        h = auth_header(auth) if auth else {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif isinstance(body, str):
            body = body.encode()
        h.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        t0 = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            raw = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
            return Response(r.status, hdrs, raw, time.monotonic() - t0)
        finally:
            conn.close()

    def execute(self, code, input=None, secrets=None, timeout=30, **extra):
        body = {"code": code}
        if input is not None:
            body["input"] = input
        if secrets is not None:
            body["secrets"] = secrets
        body.update(extra)
        return self.request("POST", EXECUTE, body, timeout=timeout)


def run_cmd(argv, stdin=b"", env=None, timeout=60):
    """Runs a command; returns (exit code, stdout text, stderr text)."""
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def closed_port():
    """A local TCP port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DaemonTestCase(unittest.TestCase):
    """Starts one daemon for the class (CONFIG) and stops it afterwards."""

    CONFIG = {}

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(cls.CONFIG)
        try:
            cls.d.start()
        except Exception:
            cls.d.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    # helpers
    def assertSuccess(self, r, result=None):
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json, dict, r)
        self.assertIs(r.json.get("success"), True, r)
        data = r.json.get("data")
        self.assertIsInstance(data, dict, r)
        for key in ("result", "logs", "executionId", "executionTimeMs", "memoryUsedBytes"):
            self.assertIn(key, data, r)
        self.assertIsInstance(data["logs"], list, r)
        self.assertRegex(data["executionId"],
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
        self.assertMetadata(r)
        if result is not None:
            self.assertEqual(data["result"], result, r)
        return data

    def assertMetadata(self, r):
        meta = r.json.get("metadata")
        self.assertIsInstance(meta, dict, r)
        self.assertTrue(meta.get("requestId"), r)
        self.assertRegex(meta.get("timestamp", ""), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", r)

    def assertError(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r)
        self.assertIsInstance(r.json, dict, r)
        self.assertIs(r.json.get("success"), False, r)
        err = r.json.get("error")
        self.assertIsInstance(err, dict, r)
        self.assertEqual(err.get("code"), code, r)
        self.assertIsInstance(err.get("message"), str, r)
        self.assertTrue(err["message"], r)
        if field is not None:
            self.assertEqual(err.get("field"), field, r)
        self.assertMetadata(r)
        return err

    def assertHealthy(self):
        self.assertIsNone(self.d.proc.poll(), "ncsld exited")
        self.assertEqual(self.d.request("GET", "/healthz", timeout=5).status, 200)


SEED_CODE = "function main(input) { return { result: input.value * 2 }; }"
NORMAL_CODE = "function main(input) { return { sum: input.a + input.b }; }"


# ============================================================================ execute
class TestExecute(DaemonTestCase):
    CONFIG = {"JavaScript": {"Workers": 2, "TimeoutMs": 3000}}

    def test_seed_guide_request(self):
        # The seed guide's request, verbatim: input and secrets as JSON strings.
        r = self.d.request("POST", EXECUTE, {
            "code": SEED_CODE,
            "input": "{ \"value\": 42 }",
            "secrets": "{}",
            "functionId": "test-function",
            "userId": "test-user",
        })
        self.assertSuccess(r, {"result": 84})

    def test_input_as_json_value(self):
        r = self.d.execute(SEED_CODE, input={"value": 42}, secrets={},
                           functionId="f", userId="u")
        self.assertSuccess(r, {"result": 84})

    def test_input_omitted_is_null(self):
        r = self.d.execute("function main(input) { return input === null; }")
        self.assertSuccess(r, True)

    def test_async_main(self):
        code = """async function main(input) {
            const v = await new Promise((res) => res(input.value));
            await null;
            return { result: v * 2, async: true };
        }"""
        self.assertSuccess(self.d.execute(code, input={"value": 21}),
                           {"result": 42, "async": True})

    def test_secrets_visible(self):
        code = """function main() {
            return { k: SECRETS.API_KEY, names: Object.keys(SECRETS).sort(),
                     frozen: Object.isFrozen(SECRETS) };
        }"""
        want = {"k": "abc123", "names": ["API_KEY", "OTHER"], "frozen": True}
        self.assertSuccess(self.d.execute(code, secrets={"API_KEY": "abc123", "OTHER": "x"}), want)
        # The same secrets as a JSON string.
        self.assertSuccess(
            self.d.execute(code, secrets=json.dumps({"API_KEY": "abc123", "OTHER": "x"})), want)

    def test_console_captured(self):
        code = """function main() {
            console.log("hello", 1);
            console.info("i");
            console.warn("w");
            console.error("e");
            return 7;
        }"""
        data = self.assertSuccess(self.d.execute(code), 7)
        self.assertEqual(data["logs"], [
            {"level": "log", "message": "hello 1"},
            {"level": "info", "message": "i"},
            {"level": "warn", "message": "w"},
            {"level": "error", "message": "e"},
        ])

    def test_thrown_error_is_422(self):
        r = self.d.execute("function main() { console.log('before'); throw new TypeError('bad thing'); }")
        err = self.assertError(r, 422, "EXECUTION_ERROR")
        self.assertIn("bad thing", err["message"] + json.dumps(err.get("details")), r)

    def test_fresh_context_per_call(self):
        code = """function main() {
            const seen = typeof globalThis.leaked;
            const proto = typeof [].polluted;
            globalThis.leaked = 1;
            Array.prototype.polluted = 1;
            return seen + "/" + proto;
        }"""
        for _ in range(4):
            self.assertSuccess(self.d.execute(code), "undefined/undefined")

    def test_request_ids_differ(self):
        a = self.assertSuccess(self.d.execute(SEED_CODE, input={"value": 1}))
        b = self.assertSuccess(self.d.execute(SEED_CODE, input={"value": 1}))
        self.assertNotEqual(a["executionId"], b["executionId"])


# ============================================================================ limits
LIMIT_TIMEOUT_MS = 1000
LIMIT_LOG_BYTES = 16384


class TestLimits(DaemonTestCase):
    """Each hostile function breaks one limit while a normal call on another thread succeeds."""

    CONFIG = {
        "Server": {"QueueSize": 16, "HttpThreads": 8},
        "JavaScript": {"Workers": 2, "TimeoutMs": LIMIT_TIMEOUT_MS, "MaxMemoryMB": 512,
                       "MaxOutputBytes": 1048576, "MaxLogBytes": LIMIT_LOG_BYTES,
                       "MaxStackKB": 1024},
    }

    def hostile(self, code, want_code, want_status=422):
        """Runs `code` in a thread while a normal call runs; checks both. Returns the response."""
        box = {}

        def run():
            try:
                box["r"] = self.d.execute(code, timeout=60)
            except Exception as e:  # reported below
                box["e"] = e

        t = threading.Thread(target=run)
        t.start()
        try:
            time.sleep(0.2)  # let the hostile call start first
            normal = self.d.execute(NORMAL_CODE, input={"a": 2, "b": 3}, timeout=30)
            self.assertSuccess(normal, {"sum": 5})
        finally:
            t.join(60)
        self.assertFalse(t.is_alive(), "the hostile call never returned")
        self.assertNotIn("e", box, box.get("e"))
        r = box["r"]
        limit_s = LIMIT_TIMEOUT_MS / 1000.0 + 1.0
        self.assertLessEqual(r.elapsed, limit_s, "took %.2f s, limit %.2f s: %r"
                             % (r.elapsed, limit_s, r))
        if want_code is not None:
            self.assertError(r, want_status, want_code)
        self.assertHealthy()
        # And the daemon still runs ordinary calls afterwards.
        self.assertSuccess(self.d.execute(NORMAL_CODE, input={"a": 1, "b": 1}), {"sum": 2})
        return r

    def test_infinite_loop(self):
        self.hostile("function main() { while (true) {} }", "TIMEOUT")

    def test_never_settling_promise(self):
        self.hostile("async function main() { await new Promise(() => {}); }", "TIMEOUT")

    def test_memory_bomb(self):
        # Large chunks reach the 512 MB limit in a few allocations, so the memory limit (not the
        # 1 s deadline) ends it in every build, ASan's slow fills included. The element-by-element
        # bomb runs in the unit tests with a small limit.
        self.hostile("""function main() {
            const hoard = [];
            for (;;) hoard.push(new Uint8Array(16 * 1024 * 1024).fill(1, 0, 1));
        }""", "MEMORY_LIMIT")

    def test_deep_recursion(self):
        self.hostile("function f(n) { return f(n + 1) + 1; } function main() { return f(0); }",
                     "STACK_OVERFLOW")

    def test_huge_result(self):
        # 100 MB fits the 512 MB heap, so the string exists; the output limit (1 MiB) refuses it.
        self.hostile("function main() { return 'x'.repeat(100 * 1024 * 1024); }",
                     "OUTPUT_TOO_LARGE")

    def test_cyclic_result(self):
        self.hostile("function main() { const a = {}; a.self = a; return a; }", "EXECUTION_ERROR")

    def test_log_flood(self):
        # 20 MB of console output against a 16 KiB log limit: captured logs stay bounded.
        r = self.hostile("""function main() {
            const line = 'y'.repeat(100);
            for (let i = 0; i < 200000; i++) console.log(line);
            return 'done';
        }""", None)
        self.assertIn(r.status, (200, 422), r)
        if r.status == 200:
            data = self.assertSuccess(r, "done")
            total = sum(len(e.get("message", "")) for e in data["logs"])
            self.assertLessEqual(total, LIMIT_LOG_BYTES + 1024,
                                 "%d bytes of logs over a %d byte limit" % (total, LIMIT_LOG_BYTES))
        else:
            self.assertError(r, 422, r.json["error"]["code"])
        self.assertLess(len(r.raw), 4 * LIMIT_LOG_BYTES + 65536, "response not bounded")

    def test_endless_log_flood(self):
        self.hostile("function main() { for (;;) console.log('z'.repeat(1000)); }", "TIMEOUT")


# ============================================================================ malformed
MAX_BODY = 65536


class TestMalformed(DaemonTestCase):
    CONFIG = {"Server": {"MaxBodyBytes": MAX_BODY}, "JavaScript": {"Workers": 1}}

    def post_raw(self, body, content_type="application/json"):
        headers = {"Content-Type": content_type} if content_type else {}
        return self.d.request("POST", EXECUTE, body, headers=headers)

    def test_malformed_json(self):
        self.assertError(self.post_raw('{"code": "function main(){}"'), 400, "VALIDATION_ERROR",
                         "body")

    def test_body_not_an_object(self):
        self.assertError(self.post_raw('["code"]'), 400, "VALIDATION_ERROR", "body")

    def test_empty_body(self):
        self.assertError(self.post_raw(""), 400, "VALIDATION_ERROR", "body")

    def test_missing_code(self):
        self.assertError(self.post_raw('{"input": {}}'), 400, "VALIDATION_ERROR", "code")

    def test_code_wrong_type(self):
        self.assertError(self.post_raw('{"code": 5}'), 400, "VALIDATION_ERROR", "code")

    def test_input_string_not_json(self):
        r = self.post_raw(json.dumps({"code": SEED_CODE, "input": "{not json"}))
        self.assertError(r, 400, "VALIDATION_ERROR", "input")

    def test_secrets_string_not_object(self):
        r = self.post_raw(json.dumps({"code": SEED_CODE, "secrets": "[1, 2]"}))
        self.assertError(r, 400, "VALIDATION_ERROR", "secrets")

    def test_secrets_array(self):
        r = self.post_raw(json.dumps({"code": SEED_CODE, "secrets": ["a"]}))
        self.assertError(r, 400, "VALIDATION_ERROR", "secrets")

    def test_secrets_value_not_string(self):
        r = self.post_raw(json.dumps({"code": SEED_CODE, "secrets": {"K": 5}}))
        err = self.assertError(r, 400, "VALIDATION_ERROR")
        self.assertTrue(str(err.get("field", "")).startswith("secrets"), r)

    def test_function_id_wrong_type(self):
        r = self.post_raw(json.dumps({"code": SEED_CODE, "functionId": 5}))
        self.assertError(r, 400, "VALIDATION_ERROR", "functionId")

    def test_user_id_wrong_type(self):
        r = self.post_raw(json.dumps({"code": SEED_CODE, "userId": ["u"]}))
        self.assertError(r, 400, "VALIDATION_ERROR", "userId")

    def test_body_too_large(self):
        body = json.dumps({"code": SEED_CODE, "input": {"pad": "p" * (MAX_BODY + 10)}})
        self.assertError(self.post_raw(body), 413, "PAYLOAD_TOO_LARGE")
        self.assertHealthy()

    def test_huge_content_length_refused_without_body(self):
        # Announce 2 GB, send no body: the daemon must answer 413 from the headers alone.
        s = socket.create_connection((self.d.host, self.d.port), timeout=10)
        try:
            s.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                       "Content-Type: application/json\r\nContent-Length: 2147483648\r\n\r\n"
                       % (EXECUTE, ADMIN_KEY)).encode())
            t0 = time.monotonic()
            data = b""
            while b"\r\n\r\n" not in data and time.monotonic() - t0 < 10:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        status_line = data.split(b"\r\n", 1)[0].decode("latin-1")
        self.assertRegex(status_line, r"^HTTP/1\.[01] 413\b", data[:500])
        self.assertHealthy()

    def test_wrong_content_type(self):
        r = self.post_raw(json.dumps({"code": SEED_CODE}), content_type="text/plain")
        self.assertEqual(r.status, 415, r)
        self.assertIs((r.json or {}).get("success"), False, r)

    def test_content_type_with_charset_accepted(self):
        r = self.post_raw(json.dumps({"code": SEED_CODE, "input": {"value": 1}}),
                          content_type="application/json; charset=utf-8")
        self.assertSuccess(r, {"result": 2})

    def test_unknown_path(self):
        self.assertError(self.d.request("GET", "/api/v1/nope"), 404, "NOT_FOUND")
        self.assertError(self.d.request("POST", "/nope", {"code": "x"}), 404, "NOT_FOUND")

    def test_wrong_method(self):
        r = self.d.request("GET", EXECUTE)
        self.assertEqual(r.status, 405, r)
        self.assertIn("POST", r.headers.get("allow", ""), r)
        self.assertIs((r.json or {}).get("success"), False, r)

    def test_still_healthy(self):
        self.assertHealthy()


# ============================================================================ back-pressure
SLOW_CODE = """function main() {
    const end = Date.now() + 1000;
    let n = 0;
    while (Date.now() < end) n++;
    return n > 0;
}"""


class TestBackPressure(DaemonTestCase):
    CONFIG = {"Server": {"QueueSize": 1, "HttpThreads": 8},
              "JavaScript": {"Workers": 1, "TimeoutMs": 5000}}

    def test_queue_full_gives_503(self):
        n = 6
        results = [None] * n
        barrier = threading.Barrier(n)

        def run(i):
            try:
                barrier.wait(10)
                results[i] = self.d.execute(SLOW_CODE, timeout=30)
            except Exception as e:
                results[i] = e

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(40)
        self.assertFalse(any(t.is_alive() for t in threads), "a request hung")
        self.assertLess(time.monotonic() - t0, 20)
        for r in results:
            self.assertIsInstance(r, Response, r)
            self.assertIn(r.status, (200, 503), r)
            if r.status == 200:
                self.assertSuccess(r, True)
            else:
                self.assertError(r, 503, "SERVICE_UNAVAILABLE")
                self.assertRegex(r.headers.get("retry-after", ""), r"^\d+$", r)
        busy = [r for r in results if r.status == 503]
        ok = [r for r in results if r.status == 200]
        self.assertGreaterEqual(len(busy), 1, results)
        self.assertGreaterEqual(len(ok), 1, results)
        # Once the burst is over, the daemon serves again.
        self.assertSuccess(self.d.execute(SEED_CODE, input={"value": 2}), {"result": 4})


# ============================================================================ no secrets in logs
SECRET_MARK = "S3CR3T-7f3a9c2e41d8"
INPUT_MARK = "INPUT-51be2d90aa7c"
CODE_MARK = "CODE-c0ffee4b1d22"


class TestNoSecretsInLogs(DaemonTestCase):
    CONFIG = {"Server": {"LogLevel": "debug"},
              "JavaScript": {"Workers": 1, "TimeoutMs": 500, "MaxMemoryMB": 32}}

    def test_logs_never_hold_secrets_inputs_or_code(self):
        secrets = {"TOKEN": SECRET_MARK}
        inp = {"v": INPUT_MARK}
        cases = [
            # success, with the secret and input echoed to the console and the result
            ("// %s\nfunction main(input) { console.log(SECRETS.TOKEN, input.v, '%s');"
             " return [SECRETS.TOKEN, input.v]; }" % (CODE_MARK, CODE_MARK), 200),
            # thrown error whose message holds all three
            ("function main(input) { throw new Error(SECRETS.TOKEN + input.v + '%s'); }"
             % CODE_MARK, 422),
            # rejected promise with a string
            ("async function main(input) { throw SECRETS.TOKEN + '%s' + input.v; }" % CODE_MARK,
             422),
            # timeout
            ("function main(input) { const s = '%s' + SECRETS.TOKEN; while (true) {} }"
             % CODE_MARK, 422),
            # memory limit
            ("function main(input) { const a = ['%s']; for (;;) a.push(SECRETS.TOKEN.repeat(1000)); }"
             % CODE_MARK, 422),
            # syntax error right at the marker
            ("function main(input) { return %s %s; }" % (CODE_MARK, SECRET_MARK), None),
            # cyclic result
            ("function main(input) { const o = {k: SECRETS.TOKEN, m: '%s'}; o.o = o; return o; }"
             % CODE_MARK, 422),
        ]
        for code, want in cases:
            for sec, inpv in ((secrets, inp), (json.dumps(secrets), json.dumps(inp))):
                r = self.d.execute(code, input=inpv, secrets=sec, functionId="fn-1", userId="u-1")
                if want is not None:
                    self.assertEqual(r.status, want, r)
                else:
                    self.assertGreaterEqual(r.status, 400, r)
        # Malformed requests that carry the marks.
        bad = [
            '{"code": "%s", "secrets": {"TOKEN": "%s"}, "input": "%s' % (CODE_MARK, SECRET_MARK,
                                                                          INPUT_MARK),
            json.dumps({"code": CODE_MARK, "secrets": {"TOKEN": SECRET_MARK, "N": 5},
                        "input": INPUT_MARK}),
            json.dumps({"code": CODE_MARK, "secrets": "{\"TOKEN\": \"%s\"" % SECRET_MARK,
                        "input": "{" + INPUT_MARK}),
            json.dumps({"code": 1, "secrets": {SECRET_MARK: SECRET_MARK}}),
        ]
        for body in bad:
            r = self.d.request("POST", EXECUTE, body, headers={"Content-Type": "application/json"})
            self.assertEqual(r.status, 400, r)
        self.assertHealthy()
        # Stop the daemon so that every log line is flushed, then read both logs.
        rc = self.d.stop()
        self.assertEqual(rc, 0)
        stderr = self.d.stderr_text()
        logfile = self.d.log_file_text()
        self.assertTrue(logfile.strip(), "the log file is empty")
        for line in logfile.splitlines():
            if line.strip():
                json.loads(line)  # JSON lines
        for name, text in (("stderr", stderr), ("log/ncsl.log", logfile)):
            for mark in (SECRET_MARK, INPUT_MARK, CODE_MARK):
                self.assertNotIn(mark, text, "%s contains %s" % (name, mark))


# ============================================================================ SIGTERM
class TestSigtermDrain(unittest.TestCase):
    def test_sigterm_drains_in_flight_calls(self):
        d = Daemon({"JavaScript": {"Workers": 1, "TimeoutMs": 5000},
                    "Server": {"ShutdownGraceSeconds": 10}})
        try:
            d.start()
            box = {}

            def run():
                try:
                    box["r"] = d.execute(SLOW_CODE, timeout=30)
                except Exception as e:
                    box["e"] = e

            t = threading.Thread(target=run)
            t.start()
            time.sleep(0.3)  # the call is now running
            os.kill(d.proc.pid, signal.SIGTERM)
            time.sleep(0.3)
            # While draining, the daemon takes no new work: refused, or at most a 503.
            try:
                late = d.execute(SEED_CODE, input={"value": 1}, timeout=5)
                self.assertEqual(late.status, 503, late)
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                pass
            t.join(30)
            self.assertFalse(t.is_alive())
            self.assertNotIn("e", box, box.get("e"))
            r = box["r"]
            self.assertEqual(r.status, 200, r)
            self.assertIs(r.json["success"], True, r)
            self.assertIs(r.json["data"]["result"], True, r)
            try:
                rc = d.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.fail("ncsld did not exit within 15 s of SIGTERM")
            self.assertEqual(rc, 0, d.stderr_text()[-3000:])
            with self.assertRaises(OSError):
                socket.create_connection((d.host, d.port), timeout=2).close()
        finally:
            d.cleanup()

    def test_sigterm_idle_exits_zero(self):
        d = Daemon({})
        try:
            d.start()
            t0 = time.monotonic()
            self.assertEqual(d.stop(grace=15), 0, d.stderr_text()[-3000:])
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            d.cleanup()

class TwoInstallationsTestCase(DaemonTestCase):
    """The daemon under test (cls.d), a second installation (cls.other) for foreign proofs,
    receipts and envelopes, and a scratch directory (cls.tmp) whose name starts with TMP_PREFIX."""

    TMP_PREFIX = "ncsl-two-"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix=cls.TMP_PREFIX)
        cls.other = Daemon()
        try:
            cls.other.start()
        except Exception:
            cls.other.cleanup()
            super().tearDownClass()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.other.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()


if __name__ == "__main__":
    unittest.main()
