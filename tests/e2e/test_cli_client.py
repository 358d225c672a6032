"""End-to-end tests of the `ncsl` client commands (deploy, invoke, functions, secrets, users,
keys, whoami) against a stub HTTP server and a running ncsld.

- ClientUsage: argument errors are exit 2 before anything is sent; no key on argv.
- Unreachable: a closed port, an unknown scheme, a server that never answers: exit 3 (or 2).
- AgainstAStub: what goes over the wire (method, path, bearer header, body) and how answers
  that are not success are reported (401 hint, 429 Retry-After, not JSON, too large): exit 1.
- FullFlow: a real ncsld started with NCSL_ADMIN_KEY: users create -> secrets put -> deploy ->
  invoke twice -> functions list -> secrets list (no values) -> rm.
Python 3 standard library only.
Run: NCSLD=... NCSL=... python3 -m unittest -v test_cli_client
"""

import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from test_e2e import Daemon, closed_port, run_cmd

NCSL = os.environ.get("NCSL", "")
NCSLD = os.environ.get("NCSLD", "")
ADMIN_KEY = "test-admin-key-" + os.urandom(16).hex()
CODE = """function main(input) {
    console.log("got", JSON.stringify(input));
    return { doubled: input.value * 2, keyLength: SECRETS.API_KEY.length,
             names: Object.keys(SECRETS).sort() };
}
"""


def setUpModule():
    for name, path in (("NCSLD", NCSLD), ("NCSL", NCSL)):
        if not path or not os.access(path, os.X_OK):
            raise unittest.SkipTest("set %s to the executable to run the client CLI tests" % name)


def base_env(**extra):
    """The environment without the caller's NCSL_* client settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("NCSL_URL", "NCSL_API_KEY")}
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


def ncsl(*args, key=None, url=None, stdin=b"", env=None):
    """Runs `ncsl ARGS` with NCSL_API_KEY=key and NCSL_URL=url (when given); returns (exit code,
    stdout text, stderr text)."""
    e = env if env is not None else base_env(NCSL_API_KEY=key, NCSL_URL=url)
    return run_cmd([NCSL, *args], stdin=stdin, env=e)



class ClientUsage(unittest.TestCase):
    """Mistakes on the command line: exit 2, one clear line, nothing on stdout, nothing sent
    (the URL is a closed port: had anything been sent, the exit status would be 3)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ncsl-cli-usage-")
        cls.url = "http://127.0.0.1:%d" % closed_port()
        cls.js = os.path.join(cls.tmp, "f.js")
        with open(cls.js, "w") as f:
            f.write(CODE)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def usage_error(self, *args, key="k-123", stdin=b"", want=None):
        rc, out, err = ncsl(*args, key=key, url=self.url, stdin=stdin)
        self.assertEqual(rc, 2, (args, out, err))
        self.assertEqual(out, "", args)
        self.assertEqual(err.count("\n"), 1, (args, err))
        self.assertTrue(err.startswith("ncsl: "), err)
        if want:
            self.assertIn(want, err, args)
        return err

    def test_no_api_key(self):
        for args in (["functions", "list"], ["whoami"], ["users", "create", "bob"],
                     ["invoke", "abc"], ["secrets", "list"], ["deploy", self.js, "--name", "x"]):
            err = self.usage_error(*args, key=None, want="NCSL_API_KEY")
            self.assertIn("--api-key-file", err)
        # An empty NCSL_API_KEY is no key either.
        self.usage_error("whoami", key="", want="no API key")

    def test_key_on_argv_is_refused(self):
        for args in (["whoami", "--api-key", "ncsl_SECRETKEY"],
                     ["functions", "list", "--api-key=ncsl_SECRETKEY"]):
            err = self.usage_error(*args, want="--api-key is not accepted")
            self.assertNotIn("SECRETKEY", err)
        # Refused even when a key is also in the environment.
        self.usage_error("secrets", "list", "--api-key", "x" * 40, want="not accepted")

    def test_proof_options_need_encrypt(self):
        self.usage_error("secrets", "put", "A", "--allow-simulation", stdin=b"v",
                         want="only apply with --encrypt")
        self.usage_error("secrets", "put", "A", "--encrypt", "--nonce", "00", stdin=b"v",
                         want="unknown option '--nonce'")  # the nonce is always fresh

    def test_secret_value_on_argv_is_refused(self):
        err = self.usage_error("secrets", "put", "API_KEY", "--value", "hunter2hunter2",
                               want="--value is not accepted")
        self.assertNotIn("hunter2", err)

    def test_bad_key_files(self):
        two = os.path.join(self.tmp, "two-lines.key")
        with open(two, "w") as f:
            f.write("ncsl_FIRSTPART\nncsl_SECONDPART\n")
        err = self.usage_error("whoami", "--api-key-file", two, key=None, want="printable")
        self.assertNotIn("PART", err)
        empty = os.path.join(self.tmp, "empty.key")
        open(empty, "w").close()
        self.usage_error("whoami", "--api-key-file", empty, key=None, want="empty")
        self.usage_error("whoami", "--api-key-file", os.path.join(self.tmp, "none.key"),
                         key=None, want="cannot read --api-key-file")
        # The header line cannot be split by a key in the environment either.
        self.usage_error("whoami", key="abc\r\nX-Injected: 1", want="printable")
        # stdin cannot hold both the key and the secret's value.
        self.usage_error("secrets", "put", "A", "--api-key-file", "-", key=None,
                         want="standard input")

    def test_bad_json_input(self):
        err = self.usage_error("invoke", "fn-1", "--input", '{"value": TOPSECRETTOKEN}',
                               want="--input is not valid JSON")
        self.assertNotIn("TOPSECRETTOKEN", err)  # the input is not echoed back
        bad = os.path.join(self.tmp, "bad.json")
        with open(bad, "w") as f:
            f.write("[1, 2")
        self.usage_error("invoke", "fn-1", "--input-file", bad,
                         want="--input-file is not valid JSON")
        self.usage_error("invoke", "fn-1", "--input", "1", "--input-file", bad,
                         want="cannot be used together")
        secrets = os.path.join(self.tmp, "secrets.json")
        for content, want in (('{"A": "ONE", "A": "TWO"}', "not valid JSON"),
                              ('["A"]', "not a JSON object"),
                              ('{"A": 5}', "is not a string")):
            with open(secrets, "w") as f:
                f.write(content)
            err = self.usage_error("invoke", "fn-1", "--secrets-file", secrets, want=want)
            self.assertNotIn("ONE", err)
            self.assertNotIn("TWO", err)

    def test_missing_files(self):
        missing = os.path.join(self.tmp, "missing.js")
        self.usage_error("deploy", missing, "--name", "x", want="cannot read FILE.js")
        self.usage_error("invoke", "fn-1", "--input-file", missing,
                         want="cannot read --input-file")
        self.usage_error("invoke", "fn-1", "--secrets-file", missing,
                         want="cannot read --secrets-file")
        self.usage_error("secrets", "put", "A", "--value-file", missing,
                         want="cannot read the value from " + missing)
        empty = os.path.join(self.tmp, "empty.js")
        open(empty, "w").close()
        self.usage_error("deploy", empty, "--name", "x", want="empty")

    def test_bad_arguments(self):
        self.usage_error("deploy", self.js, want="--name NAME is required")
        self.usage_error("deploy", want="missing FILE.js")
        self.usage_error("deploy", self.js, "--update", "../users", want="not an id")
        self.usage_error("deploy", self.js, "--name", "x", "--required-secrets", "A,1B",
                         want="not a secret name")
        self.usage_error("deploy", self.js, "--name", "x", "--required-secrets", "A,",
                         want="ends with a comma")
        self.usage_error("deploy", self.js, "--name", "x", "--time-limit-ms", "0",
                         want="--time-limit-ms")
        self.usage_error("invoke", want="missing ID")
        self.usage_error("invoke", "a/b", want="not an id")
        self.usage_error("invoke", "..", want="not an id")
        self.usage_error("functions", "get", "x?y=1", want="not an id")
        self.usage_error("functions", "rm", want="missing ID")
        self.usage_error("functions", "list", "--limit", "0", want="--limit")
        self.usage_error("functions", "list", "extra", want="unexpected argument")
        self.usage_error("functions", "frobnicate", want="unknown verb")
        self.usage_error("secrets", "put", "BAD-NAME", want="not a secret name")
        self.usage_error("secrets", "rm", "A" * 65, want="not a secret name")
        self.usage_error("keys", "rm", "u1", want="missing USER_ID and KEY_ID")
        self.usage_error("users", "create", "", want="NAME")
        self.usage_error("whoami", "--timeout", "601", want="--timeout")
        self.usage_error("whoami", "--url", "ftp://127.0.0.1/", want="http://")
        self.usage_error("whoami", "--url", self.url, "--data-dir", self.tmp, want="--url")
        self.usage_error("whoami", "--bogus", want="unknown option '--bogus'")

    def test_a_command_without_its_verb(self):
        for cmd in ("functions", "secrets", "users", "keys"):
            rc, out, err = ncsl(cmd, key="k", url=self.url)
            self.assertEqual(rc, 2, err)
            self.assertEqual(out, "")
            self.assertIn("usage: ncsl %s <verb>" % cmd, err)

    def test_help(self):
        for args in (["deploy", "--help"], ["invoke", "-h"], ["functions", "--help"],
                     ["secrets", "put", "--help"], ["users", "help"], ["keys", "--help"],
                     ["whoami", "--help"], ["help", "invoke"]):
            rc, out, err = ncsl(*args)
            self.assertEqual(rc, 0, (args, err))
            self.assertIn("usage: ncsl", out, args)
            self.assertEqual(err, "", args)
        rc, out, _ = ncsl("--help")
        for cmd in ("deploy", "invoke", "functions", "secrets", "users", "keys", "whoami"):
            self.assertIn("  %s " % cmd, out)


class Unreachable(unittest.TestCase):
    """No ncsld at the address: exit 3 with a message naming the address and where it came
    from."""

    def test_connection_refused_is_exit_3(self):
        port = closed_port()
        url = "http://127.0.0.1:%d" % port
        for args in (["whoami", "--url", url], ["functions", "list", "--url", url + "/"],
                     ["users", "list", "--url", url], ["secrets", "rm", "A", "--url", url]):
            rc, out, err = ncsl(*args, key="k-123")
            self.assertEqual(rc, 3, (args, err))
            self.assertEqual(out, "")
            self.assertIn("ncsld does not run at %s (connection refused; the address is from "
                          "--url)" % url, err)
        # From NCSL_URL.
        rc, out, err = ncsl("whoami", key="k-123", url=url)
        self.assertEqual(rc, 3, err)
        self.assertIn("the address is from NCSL_URL", err)
        # From an installation's ncsld.url (--data-dir beats NCSL_URL).
        tmp = tempfile.mkdtemp(prefix="ncsl-cli-unreach-")
        try:
            with open(os.path.join(tmp, "ncsld.url"), "w") as f:
                f.write(url + "\n")
            rc, out, err = ncsl("whoami", "--data-dir", tmp, key="k-123",
                                url="http://127.0.0.1:1")
            self.assertEqual(rc, 3, err)
            self.assertIn("ncsld does not run at %s" % url, err)
            self.assertIn(os.path.join(tmp, "ncsld.url"), err)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        # A secret value read from stdin is not sent anywhere when nothing listens.
        rc, out, err = ncsl("secrets", "put", "A", "--url", url, key="k-123",
                            stdin=b"the-value")
        self.assertEqual(rc, 3, err)
        self.assertNotIn("the-value", err)

    def test_a_server_that_never_answers_is_exit_3(self):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", 0))
            s.listen(1)  # the kernel completes the handshake; nobody ever answers
            url = "http://127.0.0.1:%d" % s.getsockname()[1]
            rc, out, err = ncsl("whoami", "--url", url, "--timeout", "1", key="k-123")
            self.assertEqual(rc, 3, err)
            self.assertIn("no answer from %s/api/v1/me within 1 s" % url, err)
        finally:
            s.close()


class _Stub(http.server.BaseHTTPRequestHandler):
    """Records each request; answers by path prefix."""

    seen = []

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        _Stub.seen.append({"method": self.command, "path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": body})
        status, extra, payload = 200, {}, None
        if self.path.startswith("/unauth/"):
            status, payload = 401, {"success": False, "error": {
                "code": "UNAUTHORIZED", "message": "missing or invalid API key"}}
            extra["WWW-Authenticate"] = 'Bearer realm="ncsl"'
        elif self.path.startswith("/limited/"):
            status, payload = 429, {"success": False, "error": {
                "code": "RATE_LIMITED", "message": "too many requests\nX-Forged: 1"}}
            extra["Retry-After"] = "7"
        elif self.path.startswith("/html/"):
            raw = b"<html>nope</html>"
        elif self.path.startswith("/big/"):
            raw = b"[" + b"0," * (9 << 20) + b"0]"
        elif self.path.startswith("/notfound/"):
            status, payload = 404, {"success": False, "error": {
                "code": "NOT_FOUND", "message": "no such function", "field": "id"}}
        elif self.path.startswith("/redirect/"):
            status, raw = 307, b""
            extra["Location"] = "http://127.0.0.1:1/stolen"
        elif self.path.startswith("/api/v1/functions/keep-1") and self.command == "GET":
            payload = {"success": True, "data": {
                "echo": True, "id": "keep-1", "name": "n", "code": "old", "description": "kept",
                "requiredSecrets": ["A"], "limits": {"timeoutMs": 9}}}
        else:
            payload = {"success": True, "data": {"echo": True, "result": {"x": 1},
                                                 "logs": [], "apiKey": "ncsl_fresh"},
                       "metadata": {"requestId": "r", "timestamp": "t"}}
        if payload is not None:
            raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(raw)
        except OSError:
            pass  # the client gave up, as it should for /big/

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args):
        pass


class AgainstAStub(unittest.TestCase):
    """What the commands send, and how they report answers that are not a success."""

    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = "http://127.0.0.1:%d" % cls.server.server_address[1]
        cls.tmp = tempfile.mkdtemp(prefix="ncsl-cli-stub-")

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        _Stub.seen.clear()

    def run_ok(self, *args, prefix="", stdin=b"", key="ncsl_stubkey"):
        rc, out, err = ncsl(*args, key=key, url=self.url + prefix, stdin=stdin)
        self.assertEqual(rc, 0, (args, err))
        return json.loads(out), err

    def test_requests_on_the_wire(self):
        js = os.path.join(self.tmp, "f.js")
        with open(js, "w") as f:
            f.write(CODE)
        secrets = os.path.join(self.tmp, "s.json")
        with open(secrets, "w") as f:
            json.dump({"EXTRA": "per-call"}, f)
        key_file = os.path.join(self.tmp, "k")
        with open(key_file, "w") as f:
            f.write("  ncsl_fromfile \n")
        cases = [
            (["deploy", js, "--name", "double", "--description", "d",
              "--required-secrets", "API_KEY,OTHER", "--time-limit-ms", "1500"],
             "POST", "/api/v1/functions",
             {"name": "double", "code": CODE, "description": "d",
              "requiredSecrets": ["API_KEY", "OTHER"], "limits": {"timeoutMs": 1500}}),
            # --update first reads what it must keep (GET), then replaces (PUT).
            (["deploy", js, "--update", "fn-1", "--required-secrets", ""],
             "PUT", "/api/v1/functions/fn-1", {"code": CODE, "requiredSecrets": []}),
            (["deploy", js, "--update", "keep-1"],
             "PUT", "/api/v1/functions/keep-1",
             {"code": CODE, "description": "kept", "requiredSecrets": ["A"],
              "limits": {"timeoutMs": 9}}),
            # The input goes as the JSON text given, which ncsld parses.
            (["invoke", "fn-1", "--input", '{"value": 21,  "f": 1.50}',
              "--secrets-file", secrets],
             "POST", "/api/v1/functions/fn-1/invoke",
             {"input": '{"value": 21,  "f": 1.50}', "secrets": {"EXTRA": "per-call"}}),
            (["invoke", "fn-1"], "POST", "/api/v1/functions/fn-1/invoke", {}),
            (["functions", "list", "--limit", "5", "--cursor", "a b&c"], "GET",
             "/api/v1/functions?limit=5&cursor=a%20b%26c", None),
            (["functions", "get", "fn-1"], "GET", "/api/v1/functions/fn-1", None),
            (["functions", "rm", "fn-1"], "DELETE", "/api/v1/functions/fn-1", None),
            (["secrets", "list"], "GET", "/api/v1/secrets", None),
            (["secrets", "rm", "API_KEY"], "DELETE", "/api/v1/secrets/API_KEY", None),
            (["users", "create", "alice"], "POST", "/api/v1/users", {"name": "alice"}),
            (["users", "list"], "GET", "/api/v1/users", None),
            (["users", "get", "u-1"], "GET", "/api/v1/users/u-1", None),
            (["users", "rm", "u-1"], "DELETE", "/api/v1/users/u-1", None),
            (["keys", "create", "u-1"], "POST", "/api/v1/users/u-1/keys", None),
            (["keys", "list", "u-1"], "GET", "/api/v1/users/u-1/keys", None),
            (["keys", "rm", "u-1", "k-2"], "DELETE", "/api/v1/users/u-1/keys/k-2", None),
            (["whoami"], "GET", "/api/v1/me", None),
        ]
        for args, method, path, body in cases:
            _Stub.seen.clear()
            data, _ = self.run_ok(*args)
            self.assertIs(data["echo"], True, args)
            if "--update" in args:
                self.assertEqual([(r["method"], r["path"]) for r in _Stub.seen[:-1]],
                                 [("GET", path)], args)
            else:
                self.assertEqual(len(_Stub.seen), 1, args)
            req = _Stub.seen[-1]
            self.assertEqual((req["method"], req["path"]), (method, path), args)
            self.assertEqual(req["headers"].get("authorization"), "Bearer ncsl_stubkey", args)
            self.assertNotIn("stubkey", req["path"])
            if body is None:
                self.assertEqual(req["body"], b"", args)
            else:
                self.assertEqual(req["headers"].get("content-type"), "application/json", args)
                self.assertEqual(json.loads(req["body"]), body, args)
        # The key from a file, trimmed.
        _Stub.seen.clear()
        rc, out, err = ncsl("whoami", "--api-key-file", key_file,
                            env=base_env(NCSL_URL=self.url))
        self.assertEqual(rc, 0, err)
        self.assertEqual(_Stub.seen[0]["headers"]["authorization"], "Bearer ncsl_fromfile")

    def test_secret_values_from_stdin_and_files(self):
        for stdin, extra, want in ((b"v4lue\n", [], "v4lue\n"),  # bytes as they are
                                   (b"v4lue\n", ["--strip-newline"], "v4lue"),
                                   (b"v4lue\r\n", ["--strip-newline"], "v4lue"),
                                   (b"two\nlines\n", ["--strip-newline"], "two\nlines")):
            _Stub.seen.clear()
            self.run_ok("secrets", "put", "API_KEY", *extra, stdin=stdin)
            req = _Stub.seen[0]
            self.assertEqual((req["method"], req["path"]), ("PUT", "/api/v1/secrets/API_KEY"))
            self.assertEqual(json.loads(req["body"]), {"value": want})
        path = os.path.join(self.tmp, "value")
        with open(path, "wb") as f:
            f.write(b"from-a-file\n")
        _Stub.seen.clear()
        self.run_ok("secrets", "put", "OTHER", "--value-file", path, "--strip-newline")
        self.assertEqual(json.loads(_Stub.seen[0]["body"]), {"value": "from-a-file"})
        # Nothing to store: refused before sending.
        for stdin, extra in ((b"", []), (b"\n", ["--strip-newline"])):
            _Stub.seen.clear()
            rc, out, err = ncsl("secrets", "put", "A", *extra, key="k", url=self.url,
                                stdin=stdin)
            self.assertEqual(rc, 2, err)
            self.assertIn("empty", err)
            self.assertEqual(_Stub.seen, [])
        rc, out, err = ncsl("secrets", "put", "A", key="k", url=self.url, stdin=b"\xff\xfe")
        self.assertEqual(rc, 2, err)
        self.assertIn("not UTF-8", err)

    def test_result_only_and_new_key_note(self):
        rc, out, err = ncsl("invoke", "fn-1", "--result-only", key="k", url=self.url)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out), {"x": 1})
        rc, out, err = ncsl("users", "create", "bob", key="k", url=self.url)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["apiKey"], "ncsl_fresh")
        self.assertIn("keep apiKey now", err)
        self.assertNotIn("ncsl_fresh", err)

    def test_error_answers_are_one_line_and_exit_1(self):
        for prefix, args, want in (
                ("/notfound", ["invoke", "fn-1"],
                 "ncsl: invoke: HTTP 404 NOT_FOUND: no such function (field id)"),
                ("/unauth", ["functions", "list"],
                 "ncsl: functions list: HTTP 401 UNAUTHORIZED: missing or invalid API key "
                 "(set NCSL_API_KEY"),
                ("/limited", ["secrets", "list"],
                 "HTTP 429 RATE_LIMITED: too many requests?X-Forged: 1 (retry after 7 s)"),
                ("/html", ["whoami"], "not an ncsld response"),
                ("/big", ["functions", "list"], "larger than"),
                ("/redirect", ["whoami"], "HTTP 307")):
            rc, out, err = ncsl(*args, key="k", url=self.url + prefix)
            self.assertEqual(rc, 1, (prefix, err))
            self.assertEqual(out, "", prefix)
            self.assertEqual(err.count("\n"), 1, (prefix, err))
            self.assertIn(want, err, prefix)
        # The redirect was not followed (it would carry the key elsewhere).
        self.assertFalse([s for s in _Stub.seen if "stolen" in s["path"]])


class FullFlow(unittest.TestCase):
    """A real ncsld (admin key from NCSL_ADMIN_KEY): a new user's whole first session."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ncsl-cli-flow-")
        cls.d = Daemon()
        try:
            cls.d.start(env={"NCSL_ADMIN_KEY": ADMIN_KEY})
        except Exception:
            cls.d.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        me = cls.d.request("GET", "/api/v1/me",
                           headers={"Authorization": "Bearer " + ADMIN_KEY})
        if me.status == 404:
            cls.d.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise unittest.SkipTest("this ncsld has no GET /api/v1/me yet (404)")

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def write(self, name, content, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        return path

    def run_ok(self, *args, key, stdin=b""):
        rc, out, err = ncsl(*args, key=key, url=self.d.url, stdin=stdin)
        self.assertEqual(rc, 0, (args, err))
        return json.loads(out) if out.strip() else None

    def fails(self, *args, key, rc=1, want=None):
        code, out, err = ncsl(*args, key=key, url=self.d.url)
        self.assertEqual(code, rc, (args, out, err))
        self.assertEqual(out, "", args)
        if want:
            self.assertIn(want, err, args)
        return err

    def new_user(self, name):
        u = self.run_ok("users", "create", name, key=ADMIN_KEY)
        self.assertRegex(u["apiKey"], r"^ncsl_[A-Za-z0-9_-]{43}$")
        return u

    def test_a_new_users_first_session(self):
        value = "s3cr3t-" + os.urandom(8).hex()
        me = self.run_ok("whoami", key=ADMIN_KEY)
        self.assertIs(me["admin"], True)
        # users create (admin) -> the user's key, kept in a 0600 file.
        alice = self.new_user("alice")
        key = alice["apiKey"]
        key_file = self.write("alice.key", key + "\n")
        self.assertEqual(self.run_ok("whoami", key=key)["userId"], alice["id"])
        rc, out, err = ncsl("whoami", "--api-key-file", key_file, "--data-dir", self.d.data_dir,
                            env=base_env())
        self.assertEqual(rc, 0, err)  # found through the installation's ncsld.url
        self.assertEqual(json.loads(out)["name"], "alice")
        # secrets put: from stdin and from a file; never echoed.
        put = self.run_ok("secrets", "put", "API_KEY", "--strip-newline", key=key,
                          stdin=(value + "\n").encode())
        self.assertEqual(put["name"], "API_KEY")
        self.assertEqual(put["size"], len(value))
        self.run_ok("secrets", "put", "OTHER", "--value-file", self.write("other", "o"),
                    key=key)
        # deploy, then invoke twice.
        js = self.write("double.js", CODE)
        fn = self.run_ok("deploy", js, "--name", "double", "--description", "doubles",
                         "--required-secrets", "API_KEY", key=key)
        self.assertEqual(fn["name"], "double")
        self.assertEqual(fn["version"], 1)
        runs = []
        for v in (21, 50):
            data = self.run_ok("invoke", fn["id"], "--input", '{"value": %d}' % v, key=key)
            self.assertEqual(data["result"]["doubled"], 2 * v)
            self.assertEqual(data["result"]["keyLength"], len(value))
            self.assertEqual(data["result"]["names"], ["API_KEY"])  # only what it declared
            self.assertEqual([(m["level"], m["message"]) for m in data["logs"]],
                             [("log", 'got {"value":%d}' % v)])
            self.assertIn("receipt", data)
            self.assertEqual(data["receipt"]["functionId"], fn["id"])
            self.assertNotIn(value, json.dumps(data))
            runs.append(data)
        self.assertNotEqual(runs[0]["executionId"], runs[1]["executionId"])
        self.assertNotEqual(runs[0]["receipt"]["inputHash"], runs[1]["receipt"]["inputHash"])
        # --result-only, input from a file, a per-call secret.
        inp = self.write("in.json", '{"value": 4}')
        sec = self.write("sec.json", json.dumps({"API_KEY": "xy"}))
        res = self.run_ok("invoke", fn["id"], "--input-file", inp, "--secrets-file", sec,
                          "--result-only", key=key)
        self.assertEqual(res, {"doubled": 8, "keyLength": 2, "names": ["API_KEY"]})
        # functions list / get.
        listed = self.run_ok("functions", "list", key=key)
        self.assertEqual([f["id"] for f in listed["items"]], [fn["id"]])
        rc, out, err = ncsl("functions", "get", fn["id"], "--code", key=key, url=self.d.url)
        self.assertEqual((rc, out), (0, CODE), err)
        # deploy --update: a new version.
        upd = self.run_ok("deploy", js, "--update", fn["id"], key=key)
        self.assertEqual(upd["version"], 2)
        got = self.run_ok("functions", "get", fn["id"], key=key)
        self.assertEqual((got["description"], got["requiredSecrets"]), ("doubles", ["API_KEY"]))
        # secrets list: names and sizes, never values.
        rc, out, err = ncsl("secrets", "list", key=key, url=self.d.url)
        self.assertEqual(rc, 0, err)
        self.assertNotIn(value, out)
        names = sorted(s["name"] for s in json.loads(out)["items"])
        self.assertEqual(names, ["API_KEY", "OTHER"])
        # rm: a missing required secret fails the invocation; a deleted function is 404.
        self.assertEqual(self.run_ok("secrets", "rm", "API_KEY", key=key)["deleted"], True)
        self.fails("invoke", fn["id"], "--input", '{"value": 1}', key=key,
                   want="(field requiredSecrets)")
        self.assertEqual(self.run_ok("functions", "rm", fn["id"], key=key)["deleted"], True)
        self.fails("functions", "get", fn["id"], key=key, want="HTTP 404 NOT_FOUND")
        self.fails("invoke", fn["id"], key=key, want="HTTP 404 NOT_FOUND")
        self.assertEqual(self.run_ok("functions", "list", key=key)["items"], [])
        self.assertEqual(self.run_ok("users", "rm", alice["id"], key=ADMIN_KEY)["deleted"], True)
        self.fails("whoami", key=key, want="HTTP 401 UNAUTHORIZED")

    def test_secrets_put_encrypt(self):
        dave = self.new_user("dave")
        key = dave["apiKey"]
        value = "enc-" + os.urandom(8).hex()
        # A simulation proof is refused unless allowed: nothing is stored.
        rc, out, err = ncsl("secrets", "put", "ENC", "--encrypt", key=key, url=self.d.url,
                            stdin=value.encode())
        self.assertEqual(rc, 1, err)
        self.assertIn("refusing to encrypt", err)
        self.assertNotIn(value, err)
        self.assertEqual(self.run_ok("secrets", "list", key=key)["items"], [])
        # Allowed, pinned to this installation's simulation root (found with --data-dir, which
        # also finds ncsld through its ncsld.url).
        rc, out, err = ncsl("secrets", "put", "ENC", "--encrypt", "--allow-simulation",
                            "--data-dir", self.d.data_dir, env=base_env(NCSL_API_KEY=key),
                            stdin=value.encode())
        self.assertEqual(rc, 0, err)
        self.assertIn("simulation", err)  # the warning that the host could read it
        self.assertNotIn(value, out + err)
        self.assertEqual(json.loads(out)["size"], len(value))
        # The enclave decrypted it for dave's functions.
        fn = self.run_ok("deploy", self.write("enc.js", "function main() { return SECRETS.ENC; }"),
                         "--name", "enc", key=key)
        self.assertEqual(self.run_ok("invoke", fn["id"], "--result-only", key=key), value)
        # Not for the admin key: secrets belong to users.
        rc, out, err = ncsl("secrets", "put", "ENC", "--encrypt", "--allow-simulation",
                            "--data-dir", self.d.data_dir, env=base_env(NCSL_API_KEY=ADMIN_KEY),
                            stdin=b"x")
        self.assertEqual(rc, 1, err)
        self.assertIn("use a user's key", err)

    def test_keys_and_access_errors(self):
        bob = self.new_user("bob")
        extra = self.run_ok("keys", "create", bob["id"], key=ADMIN_KEY)
        self.assertRegex(extra["apiKey"], r"^ncsl_")
        self.assertEqual(self.run_ok("whoami", key=extra["apiKey"])["userId"], bob["id"])
        keys = self.run_ok("keys", "list", bob["id"], key=ADMIN_KEY)["items"]
        self.assertEqual(len(keys), 2)
        self.assertNotIn(extra["apiKey"], json.dumps(keys))
        self.run_ok("keys", "rm", bob["id"], extra["id"], key=ADMIN_KEY)
        self.fails("whoami", key=extra["apiKey"], want="set NCSL_API_KEY")
        # A wrong key: 401 with the hint; a user's key on admin routes, the admin key on user
        # routes: 403; another user's function: 404.
        self.fails("functions", "list", key="ncsl_" + "A" * 43,
                   want="HTTP 401 UNAUTHORIZED")
        self.fails("users", "list", key=bob["apiKey"], want="HTTP 403")
        self.fails("functions", "list", key=ADMIN_KEY, want="HTTP 403")
        carol = self.new_user("carol")
        fn = self.run_ok("deploy", self.write("c.js", CODE), "--name", "c",
                         key=carol["apiKey"])
        self.fails("invoke", fn["id"], key=bob["apiKey"], want="HTTP 404 NOT_FOUND")
        self.fails("functions", "rm", fn["id"], key=bob["apiKey"], want="HTTP 404")
        # A syntax error names the field, exit 1.
        self.fails("deploy", self.write("bad.js", "function main( {"), "--name", "bad",
                   key=carol["apiKey"], want="(field code)")
        users = self.run_ok("users", "list", key=ADMIN_KEY)["items"]
        self.assertTrue({"bob", "carol"} <= {u["name"] for u in users})


if __name__ == "__main__":
    unittest.main()
