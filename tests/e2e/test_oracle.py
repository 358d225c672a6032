"""The issue's "done means" as a test: a user deploys examples/oracle.js, which fetches a JSON API
with a secret header, signs what it read with Neo.keys.get("oracle") and returns the signature and
the key's address; neon-core (tests/interop/verify_signed.js) accepts them off-line.

The price API is an HTTP server this test starts on 127.0.0.1 (it checks the secret header); the
daemon's config allows that host and private networks (loopback), as an operator would allow a
real API's host. Also: the key is the same after a restart, another function (same code) or
another user gets another key, and the secret never shows in an answer or the log.
"""

import http.server
import json
import os
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import test_e2e  # noqa: E402
from test_e2e import ADMIN_KEY, Daemon  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ORACLE = os.path.join(ROOT, "examples", "oracle.js")
VERIFIER = os.path.join(ROOT, "tests", "interop", "verify_signed.js")
NODE = os.environ.get("NCSL_NODE", "")
API_KEY = "price-api-key-7f3c9a51e2"  # the secret the price API wants


def setUpModule():
    test_e2e.setUpModule()


def tearDownModule():
    test_e2e.tearDownModule()


def data(r):
    return r.json["data"]


class PriceAPI(http.server.BaseHTTPRequestHandler):
    seen_keys = []

    def do_GET(self):
        key = self.headers.get("x-api-key")
        PriceAPI.seen_keys.append(key)
        if key != API_KEY:
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"pair": "NEO-USD", "price": 12.34, "ts": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Oracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.api = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PriceAPI)
        cls.api.daemon_threads = True
        threading.Thread(target=cls.api.serve_forever, daemon=True).start()
        cls.api_url = "http://127.0.0.1:%d/v1/price?pair=NEO-USD" % cls.api.server_address[1]
        cls.d = Daemon({"Limits": {"RequestsPerSecond": 0},
                        "Fetch": {"AllowedHosts": ["127.0.0.1"],
                                  "AllowPrivateNetworks": True}}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()
        cls.api.shutdown()
        cls.api.server_close()

    def req(self, method, path, body=None, key=ADMIN_KEY, expect=None):
        r = self.d.request(method, path, body, auth=key)
        if expect is not None:
            self.assertEqual(r.status, expect, r)
        self.assertNotIn(API_KEY, r.raw.decode("utf-8", "replace"))
        return r

    def user(self, name):
        u = data(self.req("POST", "/api/v1/users", {"name": name}, expect=201))
        self.req("PUT", "/api/v1/secrets/PRICE_API_KEY", {"value": API_KEY}, key=u["apiKey"],
                 expect=201)
        return u

    def deploy(self, key, name):
        with open(ORACLE) as f:
            code = f.read()
        return data(self.req("POST", "/api/v1/functions",
                             {"name": name, "code": code, "requiredSecrets": ["PRICE_API_KEY"]},
                             key=key, expect=201))

    def invoke(self, key, fid):
        r = self.req("POST", "/api/v1/functions/%s/invoke" % fid, {"input": {"url": self.api_url}},
                     key=key, expect=200)
        return data(r)["result"]

    def verify(self, results):
        if not NODE:
            self.fail("node was not found when CMake ran: run scripts/bootstrap.sh, re-run cmake")
        p = subprocess.run([NODE, VERIFIER], input=json.dumps(results).encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("%d passed, 0 failed" % len(results), out)

    def test_signed_price_checked_by_neon_core(self):
        alice, bob = self.user("alice"), self.user("bob")
        f1 = self.deploy(alice["apiKey"], "oracle")
        f2 = self.deploy(alice["apiKey"], "oracle-2")  # same code, another function
        fb = self.deploy(bob["apiKey"], "oracle")
        r1 = self.invoke(alice["apiKey"], f1["id"])
        self.assertEqual(json.loads(r1["message"]),
                         {"pair": "NEO-USD", "price": 12.34, "source": self.api_url})
        self.assertEqual(PriceAPI.seen_keys[-1], API_KEY)  # the secret header reached the API
        self.assertRegex(r1["address"], r"^N[1-9A-HJ-NP-Za-km-z]{33}$")
        r1b = self.invoke(alice["apiKey"], f1["id"])
        self.assertEqual(r1b["publicKey"], r1["publicKey"])  # the same key on every call
        r2 = self.invoke(alice["apiKey"], f2["id"])
        rb = self.invoke(bob["apiKey"], fb["id"])
        self.assertEqual(len({r1["publicKey"], r2["publicKey"], rb["publicKey"]}), 3)
        self.verify([r1, r1b, r2, rb])

        # after a restart: the same key (derived from the sealed identity, nothing else stored)
        self.d.stop()
        self.d.start()
        again = self.invoke(alice["apiKey"], f1["id"])
        self.assertEqual((again["publicKey"], again["address"]), (r1["publicKey"], r1["address"]))
        self.verify([again])
        self.assertNotIn(API_KEY, self.d.log_file_text() + self.d.stderr_text())

    def test_wrong_secret_is_a_clear_error(self):
        carol = self.user("carol")
        f = self.deploy(carol["apiKey"], "oracle")
        r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"],
                     {"input": {"url": self.api_url}, "secrets": {"PRICE_API_KEY": "wrong"}},
                     key=carol["apiKey"], expect=422)
        self.assertEqual(r.json["error"]["code"], "EXECUTION_ERROR")
        self.assertIn("the price API answered 401", r.json["error"]["message"])


if __name__ == "__main__":
    unittest.main()
