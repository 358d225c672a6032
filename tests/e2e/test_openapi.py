"""The OpenAPI contract, live: every route of ncsld answered with good and bad input, each answer
recorded (method, route template, status, Content-Type, headers, body) and checked by
tests/interop/openapi_contract.js against docs/openapi.json: an answer whose status the document
does not list for its route, or whose body does not match the schema of that status, fails; so
does a route of server.c's table missing from the document, or the other way round.

Also shown here: that the check can fail (a copy of the document with a field removed from a
schema, a status removed from a route, a route removed or invented: each is refused), and that
GET /api/v1/openapi.json serves exactly docs/openapi.json.

Three daemons (127.0.0.1, port 0): the main one; one with a tiny rate limit (429); one with one
worker and a queue of one (503 when full) that is then drained (GET /readyz 503 while draining).
Needs NCSL_NODE and the npm packages of tests/interop (scripts/bootstrap.sh installs them).
"""

import copy
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e  # noqa: E402
from test_e2e import ADMIN_KEY, EXECUTE, Daemon  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SPEC = os.path.join(ROOT, "docs", "openapi.json")
SERVER_C = os.path.join(ROOT, "src", "http", "server.c")
CONTRACT = os.path.join(ROOT, "tests", "interop", "openapi_contract.js")
NODE = os.environ.get("NCSL_NODE", "")

# Errors of these operations cannot be produced from the test's own host: /metrics answers 401
# and 403 only to clients that are not on a loopback address; /healthz and the document itself
# have no error answer but 408.
EXEMPT_ERRORS = "GET /metrics,GET /healthz,GET /api/v1/openapi.json"

SLOW = "function main(){ const t = Date.now(); while (Date.now() - t < %d) {} return 1; }"


def setUpModule():
    test_e2e.setUpModule()
    if not NODE or not os.access(NODE, os.X_OK):
        raise AssertionError("NCSL_NODE must name node (scripts/bootstrap.sh installs it; CMake "
                             "finds it)")


def tearDownModule():
    test_e2e.tearDownModule()


class Recorder:
    """Sends requests to a daemon and keeps what came back, for the contract check."""

    def __init__(self, daemon, records):
        self.d = daemon
        self.records = records

    def add(self, method, route, r):
        self.records.append({
            "method": method, "route": route, "status": r.status,
            "contentType": r.headers.get("content-type", ""), "headers": r.headers,
            "body": r.raw.decode("utf-8", "replace")})

    def call(self, method, path, route, body=None, key=ADMIN_KEY, headers=None, expect=None,
             code=None):
        r = self.d.request(method, path, body, headers=headers, auth=key)
        self.add(method, route, r)
        if expect is not None and r.status != expect:
            raise AssertionError("%s %s: expected %d, got %r" % (method, path, expect, r))
        if code is not None:
            got = (r.json or {}).get("error", {}).get("code")
            if got != code:
                raise AssertionError("%s %s: expected error %s, got %r" % (method, path, code, r))
        return r


def run_contract(spec_path, records_path=None, coverage=True):
    argv = [NODE, CONTRACT, "--spec", spec_path, "--server-c", SERVER_C]
    if records_path:
        argv += ["--records", records_path]
        if coverage:
            argv += ["--require-coverage", "--exempt-errors", EXEMPT_ERRORS]
    p = subprocess.run(argv, capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


class Contract(unittest.TestCase):
    records = []

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ncsl-openapi-")
        cls.d = Daemon({"Limits": {"RequestsPerSecond": 0, "MaxSecretsPerUser": 3,
                                   "MaxSecretBytes": 64},
                        "Server": {"MaxBodyBytes": 65536},
                        "JavaScript": {"TimeoutMs": 1500}}).start()
        cls.rec = Recorder(cls.d, cls.records)
        cls.exercise_main()
        cls.exercise_rate_limit()
        cls.exercise_busy_and_drain()
        cls.records_path = os.path.join(cls.tmp, "records.jsonl")
        with open(cls.records_path, "w") as f:
            for r in cls.records:
                f.write(json.dumps(r) + "\n")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()  # SIGTERM: a clean exit (under ASan: no leak, no error report)
        stderr = cls.d.stderr_text()
        cls.d.cleanup()
        for p in os.listdir(cls.tmp):
            os.unlink(os.path.join(cls.tmp, p))
        os.rmdir(cls.tmp)
        if rc != 0:
            raise AssertionError("ncsld exited with %s; stderr:\n%s" % (rc, stderr[-4000:]))

    # ------------------------------------------------------------------ the exercise
    @classmethod
    def exercise_main(cls):
        c = cls.rec.call
        J = {"Content-Type": "application/json"}
        # operations
        c("GET", "/healthz", "/healthz", key=None, expect=200)
        c("HEAD", "/healthz", "/healthz", key=None, expect=200)
        c("GET", "/readyz", "/readyz", key=None, expect=200)
        c("GET", "/metrics", "/metrics", key=None, expect=200)
        c("GET", "/metrics", "/metrics", key="wrong-key", expect=200)  # loopback: open
        c("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", key=None, expect=200)
        # unmatched paths and methods
        c("GET", "/nope", "unmatched", expect=404, code="NOT_FOUND")
        c("GET", "/api/v1/functions/a/b/c", "unmatched", expect=404)
        c("DELETE", "/api/v1/secrets", "unmatched", expect=405, code="METHOD_NOT_ALLOWED")
        c("POST", "/metrics", "unmatched", {}, expect=405)
        c("PATCH", "/api/v1/users/x", "unmatched", {}, expect=405)

        # users and keys (admin)
        u = c("POST", "/api/v1/users", "/api/v1/users", {"name": "alice"}, expect=201).json["data"]
        key = u["apiKey"]
        other = c("POST", "/api/v1/users", "/api/v1/users", {"name": "bob"},
                  expect=201).json["data"]
        c("POST", "/api/v1/users", "/api/v1/users", {"name": ""}, expect=400)
        c("POST", "/api/v1/users", "/api/v1/users", {"name": 5}, expect=400)
        c("POST", "/api/v1/users", "/api/v1/users", "{", headers=J, expect=400)
        c("POST", "/api/v1/users", "/api/v1/users", "name=x",
          headers={"Content-Type": "text/plain"}, expect=415)
        c("POST", "/api/v1/users", "/api/v1/users", {"name": "x"}, key=key, expect=403)
        c("POST", "/api/v1/users", "/api/v1/users", {"name": "x"}, key=None, expect=401)
        c("POST", "/api/v1/users", "/api/v1/users", {"name": "x" * 70000}, expect=413)
        c("GET", "/api/v1/users?limit=1", "/api/v1/users", expect=200)
        c("GET", "/api/v1/users?limit=0", "/api/v1/users", expect=400)
        c("GET", "/api/v1/users?cursor=garbage", "/api/v1/users", expect=400)
        c("GET", "/api/v1/users", "/api/v1/users", key=key, expect=403)
        c("GET", "/api/v1/users/" + u["id"], "/api/v1/users/{id}", expect=200)
        c("GET", "/api/v1/users/nobody", "/api/v1/users/{id}", expect=404)
        c("GET", "/api/v1/users/" + u["id"], "/api/v1/users/{id}", key="ncsl_" + "A" * 43,
          expect=401)
        k2 = c("POST", "/api/v1/users/%s/keys" % u["id"], "/api/v1/users/{id}/keys",
               expect=201).json["data"]
        c("POST", "/api/v1/users/nobody/keys", "/api/v1/users/{id}/keys", expect=404)
        c("POST", "/api/v1/users/%s/keys" % u["id"], "/api/v1/users/{id}/keys", "x",
          headers={"Content-Type": "text/plain"}, expect=415)
        c("GET", "/api/v1/users/%s/keys" % u["id"], "/api/v1/users/{id}/keys", expect=200)
        c("GET", "/api/v1/users/nobody/keys", "/api/v1/users/{id}/keys", expect=404)
        c("DELETE", "/api/v1/users/%s/keys/%s" % (u["id"], k2["id"]),
          "/api/v1/users/{id}/keys/{keyId}", expect=200)
        c("DELETE", "/api/v1/users/%s/keys/%s" % (u["id"], other["apiKeyId"]),
          "/api/v1/users/{id}/keys/{keyId}", expect=404)
        c("DELETE", "/api/v1/users/%s/keys/x" % u["id"], "/api/v1/users/{id}/keys/{keyId}",
          key=key, expect=403)
        c("GET", "/api/v1/me", "/api/v1/me", expect=200)
        c("GET", "/api/v1/me", "/api/v1/me", key=key, expect=200)
        c("GET", "/api/v1/me", "/api/v1/me", key=k2["apiKey"], expect=401)  # revoked

        # execution
        ex = c("POST", EXECUTE, EXECUTE,
               {"code": "function main(i){ console.log('hi', i); return {v: i.v * 2}; }",
                "input": {"v": 21}}, expect=200).json["data"]
        c("POST", EXECUTE, EXECUTE, {"code": "function main(){ return 1; }", "input": "[1,2]",
                                     "secrets": "{\"A\":\"b\"}", "userId": u["id"]},
          key=key, expect=200)
        c("POST", EXECUTE, EXECUTE, {"code": "function main(){ throw new TypeError('no'); }"},
          expect=422, code="EXECUTION_ERROR")
        c("POST", EXECUTE, EXECUTE, {"code": "function main(){ for(;;){} }"}, expect=422,
          code="TIMEOUT")
        c("POST", EXECUTE, EXECUTE, {"code": "function main(){ return 1n; }"}, expect=422)
        c("POST", EXECUTE, EXECUTE, {"code": "function main( {"}, expect=400,
          code="SYNTAX_ERROR")
        c("POST", EXECUTE, EXECUTE, {"code": "var x = 1;"}, expect=400)
        c("POST", EXECUTE, EXECUTE, {"input": 1}, expect=400, code="VALIDATION_ERROR")
        c("POST", EXECUTE, EXECUTE, {"code": "function main(){}", "secrets": {"K": 5}},
          expect=400)
        c("POST", EXECUTE, EXECUTE, "[]", headers=J, expect=400)
        c("POST", EXECUTE, EXECUTE, "code", headers={"Content-Type": "text/plain"}, expect=415)
        c("POST", EXECUTE, EXECUTE, {"code": "x", "input": "p" * 70000}, expect=413)
        c("POST", EXECUTE, EXECUTE, {"code": "function main(){}"}, key=None, expect=401)
        c("POST", EXECUTE, EXECUTE, {"code": "function main(){}", "userId": other["id"]},
          key=key, expect=403)

        # trust
        c("GET", "/api/v1/tee-info", "/api/v1/tee-info", expect=200)
        c("GET", "/api/v1/tee-info", "/api/v1/tee-info", key=key, expect=200)
        c("GET", "/api/v1/tee-info", "/api/v1/tee-info", key=None, expect=401)
        nonce = "00112233445566778899aabbccddeeff"
        proof = c("GET", "/api/v1/attestation?nonce=" + nonce, "/api/v1/attestation", key=None,
                  expect=200).json["data"]
        c("GET", "/api/v1/attestation", "/api/v1/attestation", key=None, expect=200)
        c("GET", "/api/v1/attestation?nonce=xyz", "/api/v1/attestation", key=None, expect=400)
        c("GET", "/api/v1/attestation?nonce=" + "ab" * 65, "/api/v1/attestation", key=None,
          expect=400)
        V = "/api/v1/attestation/verify"
        r = c("POST", V, V, {"proof": proof, "allowSimulation": True, "expectedNonce": nonce},
              key=None, expect=200)
        assert r.json["data"]["valid"] is True, r
        r = c("POST", V, V, {"proof": proof, "allowSimulation": True, "expectedNonce": "ff"},
              key=None, expect=200)
        assert r.json["data"]["valid"] is False, r
        r = c("POST", V, V, {"proof": proof}, key=None, expect=200)  # simulation not allowed
        assert r.json["data"]["valid"] is False, r
        c("POST", V, V, {"proof": {"version": 1}}, key=None, expect=400)
        c("POST", V, V, {"allowSimulation": True}, key=None, expect=400)
        c("POST", V, V, {"proof": proof, "bogus": 1}, key=None, expect=400)
        c("POST", V, V, {"proof": proof, "allowDebug": "yes"}, key=None, expect=400)
        c("POST", V, V, "{}", headers={"Content-Type": "text/plain"}, key=None, expect=415)
        R = "/api/v1/receipts/verify"
        r = c("POST", R, R, {"receipt": ex["receipt"], "proof": proof, "allowSimulation": True},
              key=None, expect=200)
        assert r.json["data"]["valid"] is True and r.json["data"]["attested"] is True, r
        r = c("POST", R, R, {"receipt": ex["receipt"]}, key=None, expect=200)
        assert r.json["data"]["valid"] is True and r.json["data"]["proof"] is None, r
        bad = dict(ex["receipt"], outputHash="00" * 32)
        r = c("POST", R, R, {"receipt": bad}, key=None, expect=200)
        assert r.json["data"]["valid"] is False, r
        c("POST", R, R, {"receipt": {"executionId": "x"}}, key=None, expect=400)
        c("POST", R, R, {"proof": proof}, key=None, expect=400)
        c("POST", R, R, {"receipt": ex["receipt"], "proof": 5}, key=None, expect=400)

        # functions (user key)
        F = "/api/v1/functions"
        code = ("async function main(input){ const n = (await storage.get('n')) ?? 0;"
                " await storage.set('n', n + 1); return {n: n + 1, input}; }")
        fn = c("POST", F, F, {"name": "counter", "code": code, "description": "counts",
                              "limits": {"timeoutMs": 1000, "gasLimit": 100000}},
               key=key, expect=201).json["data"]
        fn2 = c("POST", F, F, {"name": "needs", "code": "function main(){ return SECRETS.A; }",
                               "requiredSecrets": ["A"]}, key=key, expect=201).json["data"]
        c("POST", F, F, {"name": "counter", "code": code}, key=key, expect=409, code="CONFLICT")
        r = c("POST", F, F, {"name": "bad", "code": "function main( {"}, key=key, expect=400,
              code="SYNTAX_ERROR")
        assert set(r.json["error"]["details"]) == {"line", "column"}, r
        c("POST", F, F, {"name": "bad", "code": "x", "limits": {"timeoutMs": 10 ** 9}}, key=key,
          expect=400)
        c("POST", F, F, {"name": "bad", "code": "x", "requiredSecrets": ["1x"]}, key=key,
          expect=400)
        c("POST", F, F, {"name": "x", "code": "x"}, expect=403)  # the admin has no functions
        c("POST", F, F, {"name": "x", "code": "x"}, key=None, expect=401)
        c("GET", F + "?limit=1", F, key=key, expect=200)
        c("GET", F + "?limit=abc", F, key=key, expect=400)
        c("GET", F, F, expect=403)
        FI = F + "/{id}"
        c("GET", "%s/%s" % (F, fn["id"]), FI, key=key, expect=200)
        c("GET", "%s/%s?version=1" % (F, fn["id"]), FI, key=key, expect=200)
        c("GET", "%s/%s?version=abc" % (F, fn["id"]), FI, key=key, expect=400)
        c("GET", "%s/%s" % (F, fn["id"]), FI, key=other["apiKey"], expect=404)
        c("PUT", "%s/%s" % (F, fn["id"]), FI, {"code": code + " ", "description": None},
          key=key, expect=200)
        c("PUT", "%s/%s" % (F, fn["id"]), FI, {"name": "needs", "code": code}, key=key,
          expect=409)
        c("PUT", "%s/%s" % (F, fn["id"]), FI, {"description": "no code"}, key=key, expect=400)
        c("PUT", "%s/nope" % F, FI, {"code": code}, key=key, expect=404)
        FV = F + "/{id}/invoke"
        r = c("POST", "%s/%s/invoke" % (F, fn["id"]), FV, {"input": {"a": 1}}, key=key,
              expect=200)
        assert r.json["data"]["result"]["n"] == 1, r
        c("POST", "%s/%s/invoke" % (F, fn["id"]), FV, key=key, expect=200)  # no body
        c("POST", "%s/%s/invoke" % (F, fn2["id"]), FV, {}, key=key, expect=400)  # A missing
        c("POST", "%s/%s/invoke" % (F, fn2["id"]), FV, {"secrets": {"A": "x"}}, key=key,
          expect=200)
        thrower = c("POST", F, F, {"name": "thrower", "code": "function main(){ throw 1; }"},
                    key=key, expect=201).json["data"]
        c("POST", "%s/%s/invoke" % (F, thrower["id"]), FV, {}, key=key, expect=422)
        c("POST", "%s/nope/invoke" % F, FV, {}, key=key, expect=404)
        c("POST", "%s/%s/invoke" % (F, fn["id"]), FV, {"input": "{"}, key=key, expect=400)
        c("DELETE", "%s/%s" % (F, thrower["id"]), FI, key=key, expect=200)
        c("DELETE", "%s/%s" % (F, thrower["id"]), FI, key=key, expect=404)

        # secrets (user key; at most 3, at most 64 bytes)
        S = "/api/v1/secrets/{name}"
        c("PUT", "/api/v1/secrets/A", S, {"value": "one"}, key=key, expect=201)
        c("PUT", "/api/v1/secrets/A", S, {"value": "two"}, key=key, expect=200)
        c("PUT", "/api/v1/secrets/B", S, {"value": "b"}, key=key, expect=201)
        c("PUT", "/api/v1/secrets/C", S, {"value": "c"}, key=key, expect=201)
        c("PUT", "/api/v1/secrets/D", S, {"value": "d"}, key=key, expect=413,
          code="QUOTA_EXCEEDED")
        c("PUT", "/api/v1/secrets/A", S, {"value": "v" * 65}, key=key, expect=413,
          code="PAYLOAD_TOO_LARGE")
        c("PUT", "/api/v1/secrets/1bad", S, {"value": "x"}, key=key, expect=400)
        c("PUT", "/api/v1/secrets/A", S, {"value": "x", "encryptedValue": {}}, key=key,
          expect=400)
        c("PUT", "/api/v1/secrets/A", S, {"encryptedValue": {"alg": "x"}}, key=key, expect=400)
        c("PUT", "/api/v1/secrets/A", S, {"value": 5}, key=key, expect=400)
        c("PUT", "/api/v1/secrets/A", S, {"value": "x"}, expect=403)
        c("GET", "/api/v1/secrets", "/api/v1/secrets", key=key, expect=200)
        c("GET", "/api/v1/secrets", "/api/v1/secrets", key=None, expect=401)
        c("DELETE", "/api/v1/secrets/C", S, key=key, expect=200)
        c("DELETE", "/api/v1/secrets/C", S, key=key, expect=404)
        c("DELETE", "/api/v1/secrets/1bad", S, key=key, expect=400)

        # deleting a user
        c("DELETE", "/api/v1/users/" + other["id"], "/api/v1/users/{id}", expect=200)
        c("DELETE", "/api/v1/users/" + other["id"], "/api/v1/users/{id}", expect=404)
        c("DELETE", "/api/v1/users/" + u["id"], "/api/v1/users/{id}", key=key, expect=403)
        c("GET", "/metrics", "/metrics", key=None, expect=200)  # now with counts in it

    @classmethod
    def exercise_rate_limit(cls):
        d = Daemon({"Limits": {"RequestsPerSecond": 1, "Burst": 2}}).start()
        try:
            rec = Recorder(d, cls.records)
            u = rec.call("POST", "/api/v1/users", "/api/v1/users", {"name": "busy"},
                         expect=201).json["data"]
            statuses = [rec.call("GET", "/api/v1/me", "/api/v1/me", key=u["apiKey"]).status
                        for _ in range(5)]
            assert 429 in statuses and 200 in statuses, statuses
            rec.call("PUT", "/api/v1/secrets/X", "/api/v1/secrets/{name}", {"value": "x"},
                     key=u["apiKey"], expect=429, code="RATE_LIMITED")
        finally:
            d.cleanup()

    @classmethod
    def exercise_busy_and_drain(cls):
        d = Daemon({"JavaScript": {"Workers": 1, "TimeoutMs": 20000},
                    "Server": {"QueueSize": 1, "ShutdownGraceSeconds": 20}}).start()
        try:
            rec = Recorder(d, cls.records)
            # one running, one queued: the next is refused with 503 (Retry-After)
            results = []
            lock = threading.Lock()

            def slow(ms):
                r = d.request("POST", EXECUTE, {"code": SLOW % ms})
                with lock:
                    results.append(r)
                    rec.add("POST", EXECUTE, r)

            threads = [threading.Thread(target=slow, args=(2000,)) for _ in range(4)]
            for t in threads:
                t.start()
                time.sleep(0.25)
            for t in threads:
                t.join(60)
            statuses = sorted(r.status for r in results)
            assert statuses.count(503) >= 1 and statuses.count(200) >= 1, statuses

            # draining: a connection opened before SIGTERM asks /readyz while a call runs
            conn = http.client.HTTPConnection(d.host, d.port, timeout=30)
            conn.request("GET", "/readyz")
            first = conn.getresponse()
            first.read()
            assert first.status == 200, first.status
            t = threading.Thread(target=slow, args=(3000,))
            t.start()
            time.sleep(0.5)
            os.killpg(d.proc.pid, signal.SIGTERM)
            time.sleep(0.5)
            conn.request("GET", "/readyz")
            r = conn.getresponse()
            raw = r.read()
            resp = test_e2e.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, raw, 0)
            conn.close()
            rec.add("GET", "/readyz", resp)
            assert resp.status == 503, resp
            assert resp.json["failed"] == ["draining"], resp
            t.join(60)
            assert d.proc.wait(timeout=30) == 0
        finally:
            d.cleanup()

    # ------------------------------------------------------------------ the checks
    def test_document_and_route_table(self):
        rc, out = run_contract(SPEC)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"(?m)^[1-9]\d* passed, 0 failed$")

    def test_live_answers_match_the_document(self):
        rc, out = run_contract(SPEC, self.records_path)
        self.assertEqual(rc, 0, out[-6000:])
        self.assertIn("%d records checked" % len(self.records), out)

    def test_served_document_is_the_file(self):
        r = self.d.request("GET", "/api/v1/openapi.json", auth=None)
        self.assertEqual(r.status, 200)
        with open(SPEC, "rb") as f:
            self.assertEqual(r.raw, f.read())
        self.assertEqual(r.headers["content-type"], "application/json")

    # ------------------------------------------------------------------ the check can fail
    def mutated(self, change):
        with open(SPEC) as f:
            doc = json.load(f)
        change(doc)
        path = os.path.join(self.tmp, "mutated.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def assertRefused(self, change, expected, records=True):
        rc, out = run_contract(self.mutated(change), self.records_path if records else None)
        self.assertEqual(rc, 1, out[-3000:])
        self.assertIn(expected, out)

    def test_refuses_a_schema_without_a_field_the_server_sends(self):
        def drop_gas(doc):
            s = doc["components"]["schemas"]["ExecuteResult"]
            del s["properties"]["gasUsed"]
            s["required"].remove("gasUsed")
        self.assertRefused(drop_gas,
                           'must NOT have additional properties {"additionalProperty":"gasUsed"}')

    def test_refuses_a_required_field_the_server_does_not_send(self):
        def need_more(doc):
            s = doc["components"]["schemas"]["User"]
            s["properties"]["email"] = {"type": "string"}
            s["required"].append("email")
        self.assertRefused(need_more, "must have required property 'email'")

    def test_refuses_a_wrong_type(self):
        def wrong(doc):
            doc["components"]["schemas"]["Health"]["properties"]["workers"] = {"type": "string"}
        self.assertRefused(wrong, "must be string")

    def test_refuses_an_undocumented_status(self):
        def drop_404(doc):
            del doc["paths"]["/api/v1/users/{id}"]["get"]["responses"]["404"]
        self.assertRefused(drop_404, "GET /api/v1/users/{id} -> 404: status 404 is documented")

    def test_refuses_a_route_missing_from_the_document(self):
        def drop_route(doc):
            del doc["paths"]["/readyz"]
        self.assertRefused(drop_route, "route GET /readyz (server.c) is in the document",
                           records=False)

    def test_refuses_a_route_the_server_does_not_have(self):
        def add_route(doc):
            doc["paths"]["/api/v1/extra"] = copy.deepcopy(doc["paths"]["/healthz"])
            doc["paths"]["/api/v1/extra"]["get"]["operationId"] = "extra"
        self.assertRefused(add_route, "operation GET /api/v1/extra (document) is in server.c",
                           records=False)

    def test_refuses_a_wrong_content_type(self):
        def json_metrics(doc):
            ok = doc["paths"]["/metrics"]["get"]["responses"]["200"]
            ok["content"] = {"application/json": {"schema": {"type": "object"}}}
        self.assertRefused(json_metrics, "Content-Type text/plain; version=0.0.4")

    def test_refuses_a_missing_declared_header(self):
        def want_header(doc):
            doc["components"]["responses"]["NotFound"]["headers"] = {
                "X-Never": {"schema": {"type": "string"}}}
        self.assertRefused(want_header, "header X-Never is present")


if __name__ == "__main__":
    unittest.main()
