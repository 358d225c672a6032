#!/usr/bin/env python3
"""The multi-tenant service over HTTP (issue 4): auth, users and keys, the function registry,
user secrets, per-function storage, isolation between two users, quotas and limits, tampering
and persistence across restarts. Each test class starts its own ncsld (simulation TEE, SQLite in
a temporary data dir, 127.0.0.1, port 0)."""
import json
import os
import re
import sqlite3
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e  # noqa: E402
from test_e2e import ADMIN_KEY, Daemon  # noqa: E402

NCSL = os.environ.get("NCSL", "")  # the ncsl command line (encrypt-secret)

COUNTER = """
async function main(input) {
  const n = (await storage.get("count")) ?? 0;
  await storage.set("count", n + 1);
  await storage.set("last", { input, key: SECRETS.API_KEY ? SECRETS.API_KEY.length : null });
  return { count: n + 1, keys: await storage.list() };
}
"""


def data(r):
    assert r.json is not None, r
    return r.json.get("data")


class Tenants(unittest.TestCase):
    """Two users on one daemon."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon({"Limits": {"RequestsPerSecond": 0}}).start()
        cls.responses = []  # every body we saw, checked for secret values at the end

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def req(self, method, path, body=None, key=ADMIN_KEY, expect=None, **kw):
        r = self.d.request(method, path, body, auth=key, **kw)
        self.responses.append(r.raw)
        if expect is not None:
            self.assertEqual(r.status, expect, r)
        return r

    def make_user(self, name):
        r = self.req("POST", "/api/v1/users", {"name": name}, expect=201)
        u = data(r)
        self.assertRegex(u["apiKey"], r"^ncsl_[A-Za-z0-9_-]{43}$")
        self.assertRegex(u["id"], r"^[0-9a-f-]{36}$")
        return u

    def deploy(self, key, name, code, expect=201, **extra):
        body = {"name": name, "code": code}
        body.update(extra)
        return self.req("POST", "/api/v1/functions", body, key=key, expect=expect)

    # ------------------------------------------------------------------ auth
    def test_auth_required_everywhere_but_public_routes(self):
        private = [("GET", "/api/v1/me"), ("GET", "/api/v1/users"), ("POST", "/api/v1/users"),
                   ("GET", "/api/v1/functions"), ("POST", "/api/v1/functions"),
                   ("GET", "/api/v1/secrets"), ("PUT", "/api/v1/secrets/X"),
                   ("GET", "/api/v1/tee-info"),
                   ("POST", "/api/v1/functions/execute-javascript"),
                   ("POST", "/api/v1/functions/00000000-0000-4000-8000-000000000000/invoke")]
        for key in (None, "wrong", "ncsl_" + "A" * 43, ADMIN_KEY + "x"):
            for method, path in private:
                body = {} if method in ("POST", "PUT") else None
                r = self.req(method, path, body, key=key)
                self.assertEqual(r.status, 401, (key, method, path, r))
                self.assertEqual(r.json["error"]["code"], "UNAUTHORIZED")
                self.assertIn("Bearer", r.headers.get("www-authenticate", ""))
        self.req("GET", "/healthz", key=None, expect=200)
        self.req("GET", "/api/v1/attestation", key=None, expect=200)

    def test_roles(self):
        u = self.make_user("roles")
        # a user key on admin routes, the admin key on user routes: 403 with a clear message
        self.req("GET", "/api/v1/users", key=u["apiKey"], expect=403)
        self.req("POST", "/api/v1/users", {"name": "x"}, key=u["apiKey"], expect=403)
        r = self.req("GET", "/api/v1/functions", key=ADMIN_KEY, expect=403)
        self.assertIn("user's API key", r.json["error"]["message"])
        me = data(self.req("GET", "/api/v1/me", key=u["apiKey"], expect=200))
        self.assertEqual((me["userId"], me["admin"]), (u["id"], False))
        me = data(self.req("GET", "/api/v1/me", expect=200))
        self.assertTrue(me["admin"])

    def test_keys_create_list_revoke_and_user_delete(self):
        u = self.make_user("keys")
        k2 = data(self.req("POST", "/api/v1/users/%s/keys" % u["id"], expect=201))
        self.assertNotEqual(k2["apiKey"], u["apiKey"])
        self.req("GET", "/api/v1/me", key=k2["apiKey"], expect=200)
        items = data(self.req("GET", "/api/v1/users/%s/keys" % u["id"], expect=200))["items"]
        self.assertEqual(len(items), 2)
        self.assertNotIn("apiKey", json.dumps(items))  # a key is shown once, never listed
        self.req("DELETE", "/api/v1/users/%s/keys/%s" % (u["id"], k2["id"]), expect=200)
        self.req("GET", "/api/v1/me", key=k2["apiKey"], expect=401)
        self.req("GET", "/api/v1/me", key=u["apiKey"], expect=200)
        # another user's key id under this user: 404
        other = self.make_user("other")
        self.req("DELETE", "/api/v1/users/%s/keys/%s" % (u["id"], other["apiKeyId"]), expect=404)
        self.req("DELETE", "/api/v1/users/%s" % u["id"], expect=200)
        self.req("GET", "/api/v1/me", key=u["apiKey"], expect=401)
        self.req("GET", "/api/v1/users/%s" % u["id"], expect=404)
        self.req("DELETE", "/api/v1/users/%s" % u["id"], expect=404)
        names = [x["name"] for x in data(self.req("GET", "/api/v1/users?limit=1000",
                                                  expect=200))["items"]]
        self.assertIn("other", names)
        self.assertNotIn("keys", names)

    def test_user_validation(self):
        for body, field in (({}, "name"), ({"name": ""}, "name"), ({"name": 5}, "name"),
                            ({"name": "x" * 129}, "name")):
            r = self.req("POST", "/api/v1/users", body, expect=400)
            self.assertEqual(r.json["error"]["field"], field)
        self.req("GET", "/api/v1/users?limit=0", expect=400)
        self.req("GET", "/api/v1/users?cursor=garbage", expect=400)

    # ------------------------------------------------------------------ two users, isolated
    def test_two_users_are_isolated(self):
        a, b = self.make_user("alice"), self.make_user("bob")
        secret_a, secret_b = "alice-secret-7f3a9c", "bob-secret-4d2e1b"
        self.req("PUT", "/api/v1/secrets/API_KEY", {"value": secret_a}, key=a["apiKey"],
                 expect=201)
        self.req("PUT", "/api/v1/secrets/API_KEY", {"value": secret_b}, key=b["apiKey"],
                 expect=201)
        fa = data(self.deploy(a["apiKey"], "counter", COUNTER))
        fb = data(self.deploy(b["apiKey"], "counter", COUNTER))  # same name, other user: fine
        for _ in range(2):
            r = self.req("POST", "/api/v1/functions/%s/invoke" % fa["id"], {"input": {"x": 1}},
                         key=a["apiKey"], expect=200)
        self.assertEqual(data(r)["result"]["count"], 2)
        r = self.req("POST", "/api/v1/functions/%s/invoke" % fb["id"], {}, key=b["apiKey"],
                     expect=200)
        self.assertEqual(data(r)["result"]["count"], 1)  # bob's storage is his own
        # the function saw its owner's secret (its length only leaves the sandbox)
        self.assertEqual(data(r)["result"]["keys"], ["count", "last"])

        # bob tries every route on alice's function: 404, exactly as for a missing one
        fid = fa["id"]
        for method, path, body in (
                ("GET", "/api/v1/functions/%s" % fid, None),
                ("PUT", "/api/v1/functions/%s" % fid, {"code": "function main(){return 1}"}),
                ("DELETE", "/api/v1/functions/%s" % fid, None),
                ("POST", "/api/v1/functions/%s/invoke" % fid, {})):
            r = self.req(method, path, body, key=b["apiKey"], expect=404)
            self.assertEqual(r.json["error"]["code"], "NOT_FOUND")
            missing = path.replace(fid, "00000000-0000-4000-8000-000000000000")
            r2 = self.req(method, missing, body, key=b["apiKey"], expect=404)
            self.assertEqual(r.json["error"]["message"], r2.json["error"]["message"])
        self.assertNotIn(fid, json.dumps(data(self.req("GET", "/api/v1/functions",
                                                       key=b["apiKey"]))))
        # secrets: bob's list has his only, deleting "alice's" name deletes nothing of hers
        names = data(self.req("GET", "/api/v1/secrets", key=b["apiKey"], expect=200))["items"]
        self.assertEqual([s["name"] for s in names], ["API_KEY"])
        self.req("PUT", "/api/v1/secrets/ONLY_ALICE", {"value": "zzz-only-alice"},
                 key=a["apiKey"], expect=201)
        self.req("DELETE", "/api/v1/secrets/ONLY_ALICE", key=b["apiKey"], expect=404)
        names = data(self.req("GET", "/api/v1/secrets", key=a["apiKey"]))["items"]
        self.assertIn("ONLY_ALICE", [s["name"] for s in names])
        # execute-javascript: bob cannot act as alice; the admin may
        r = self.req("POST", test_e2e.EXECUTE, {"code": "function main(){return 1}",
                                                "userId": a["id"]}, key=b["apiKey"], expect=403)
        self.assertEqual(r.json["error"]["field"], "userId")
        r = self.req("POST", test_e2e.EXECUTE, {"code": "function main(){return 1}",
                                                "userId": a["id"]}, expect=200)
        self.assertEqual(data(r)["receipt"]["userId"], a["id"])
        # alice's function is untouched by all of that
        r = self.req("GET", "/api/v1/functions/%s" % fid, key=a["apiKey"], expect=200)
        self.assertEqual(data(r)["version"], 1)
        self.assertEqual(data(r)["code"], COUNTER)

        # no response and no log line ever held a secret value
        everything = b"".join(self.responses)
        for v in (secret_a, secret_b, "zzz-only-alice"):
            self.assertNotIn(v.encode(), everything)
            self.assertNotIn(v, self.d.log_file_text())
            self.assertNotIn(v, self.d.stderr_text())
        # nor does the database file (sealed), nor the code of a function
        with open(os.path.join(self.d.data_dir, "ncsl.db"), "rb") as f:
            raw = f.read()
        for v in (secret_a, secret_b, "SECRETS.API_KEY", '"count"'):
            self.assertNotIn(v.encode(), raw)

    # ------------------------------------------------------------------ function registry
    def test_deploy_validation_and_versions(self):
        u = self.make_user("deployer")
        k = u["apiKey"]
        r = self.deploy(k, "broken", "function main(x) {\n  return (1 +;\n}", expect=400)
        err = r.json["error"]
        self.assertEqual(err["field"], "code")
        self.assertEqual(err["details"]["line"], 2)
        self.assertIn("line 2", err["message"])
        self.assertGreater(err["details"]["column"], 0)
        for body, field in (({"code": "function main(){}"}, "name"),
                            ({"name": "n"}, "code"),
                            ({"name": "n", "code": 7}, "code"),
                            ({"name": "n", "code": "function main(){}",
                              "requiredSecrets": ["1bad"]}, "requiredSecrets"),
                            ({"name": "n", "code": "function main(){}",
                              "requiredSecrets": "A"}, "requiredSecrets"),
                            ({"name": "n", "code": "function main(){}",
                              "limits": {"timeoutMs": 10 ** 9}}, "limits.timeoutMs"),
                            ({"name": "n", "code": "function main(){}",
                              "limits": {"gasLimit": 10 ** 7}}, "limits.gasLimit"),
                            ({"name": "n", "code": "function main(){}",
                              "limits": {"gasLimit": 0}}, "limits.gasLimit"),
                            ({"name": "n", "code": "function main(){}",
                              "limits": {"cpu": 1}}, "limits")):
            r = self.req("POST", "/api/v1/functions", body, key=k, expect=400)
            self.assertEqual(r.json["error"]["field"], field, r)
        f = data(self.deploy(k, "v", "function main(){ return 1 }", description="first"))
        self.assertEqual(f["version"], 1)
        self.assertRegex(f["codeHash"], r"^[0-9a-f]{64}$")
        self.deploy(k, "v", "function main(){ return 1 }", expect=409)
        r = self.req("PUT", "/api/v1/functions/%s" % f["id"],
                     {"code": "function main(){ return 2 }"}, key=k, expect=200)
        self.assertEqual(data(r)["version"], 2)
        self.assertEqual(data(r)["name"], "v")
        self.assertEqual(data(r)["description"], "first")  # absent fields are kept
        r = self.req("PUT", "/api/v1/functions/%s" % f["id"],
                     {"code": "function main(){ return 2 }", "description": None}, key=k,
                     expect=200)
        self.assertEqual((data(r)["version"], data(r)["description"]), (3, None))  # null clears
        self.req("PUT", "/api/v1/functions/%s" % f["id"], {"code": "function main({"}, key=k,
                 expect=400)
        latest = data(self.req("GET", "/api/v1/functions/%s" % f["id"], key=k, expect=200))
        r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"], None, key=k, expect=200)
        self.assertEqual(data(r)["result"], 2)
        self.assertEqual(data(r)["receipt"]["codeHash"], latest["codeHash"])
        self.assertEqual(data(r)["receipt"]["functionId"], f["id"])
        self.assertEqual(data(r)["receipt"]["userId"], u["id"])
        v1 = data(self.req("GET", "/api/v1/functions/%s?version=1" % f["id"], key=k))
        self.assertEqual(v1["code"], "function main(){ return 1 }")
        self.assertEqual(v1["latestVersion"], 3)
        lst = data(self.req("GET", "/api/v1/functions?limit=1", key=k, expect=200))
        self.assertEqual(len(lst["items"]), 1)
        self.assertNotIn("code", lst["items"][0])  # code only from GET of one function
        self.req("DELETE", "/api/v1/functions/%s" % f["id"], key=k, expect=200)
        self.req("POST", "/api/v1/functions/%s/invoke" % f["id"], {}, key=k, expect=404)

    def test_required_secrets_and_limits(self):
        u = self.make_user("req")
        k = u["apiKey"]
        f = data(self.deploy(k, "needs", "function main(){ return Object.keys(SECRETS).sort() }",
                             requiredSecrets=["A", "B"]))
        r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"], {}, key=k, expect=400)
        self.assertEqual(r.json["error"]["field"], "requiredSecrets")
        self.assertIn("A, B", r.json["error"]["message"])
        self.req("PUT", "/api/v1/secrets/A", {"value": "1"}, key=k, expect=201)
        self.req("PUT", "/api/v1/secrets/C", {"value": "3"}, key=k, expect=201)
        r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"], {}, key=k, expect=400)
        self.assertIn("B", r.json["error"]["message"])
        self.assertNotIn("A", r.json["error"]["message"].split(":")[-1])
        # a per-request secret fills the gap; only the declared ones (and the request's) show
        r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"],
                     {"secrets": {"B": "2"}}, key=k, expect=200)
        self.assertEqual(data(r)["result"], ["A", "B"])
        # per-function limits: a 50 ms deadline
        f = data(self.deploy(k, "slow", "function main(){ for(;;){} }",
                             limits={"timeoutMs": 50}))
        r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"], {}, key=k)
        self.assertEqual(r.json["error"]["code"], "TIMEOUT", r)
        # gas: deterministic per code and input, reported by every call, limited per function
        work = "function main(n){ let s = 0; for (let i = 0; i < n; i++) s += i; return s }"
        f = data(self.deploy(k, "work", work, limits={"gasLimit": 5000}))
        used = []
        for n in (1000, 1000, 200000):
            r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"], {"input": n}, key=k,
                         expect=200)
            used.append(data(r)["gasUsed"])
        self.assertEqual(used[0], used[1])
        self.assertGreater(used[2], used[0])
        r = self.req("POST", "/api/v1/functions/execute-javascript",
                     {"code": work, "input": 1000}, key=k, expect=200)
        self.assertEqual(data(r)["gasUsed"], used[0])  # the same work without a deployment
        r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"], {"input": 10 ** 9}, key=k,
                     expect=422)
        self.assertEqual(r.json["error"]["code"], "GAS_LIMIT_EXCEEDED", r)
        self.assertIn("gas limit of 5000", r.json["error"]["message"])

    # ------------------------------------------------------------------ secrets
    def test_secret_limits(self):
        u = self.make_user("limits")
        k = u["apiKey"]
        for name in ("1A", "A-B", "a" * 65, "%C3%A9"):
            r = self.req("PUT", "/api/v1/secrets/" + name, {"value": "v"}, key=k, expect=400)
            self.assertEqual(r.json["error"]["field"], "name")
        r = self.req("PUT", "/api/v1/secrets/BIG", {"value": "x" * 4097}, key=k, expect=413)
        self.assertEqual(r.json["error"]["field"], "value")
        self.req("PUT", "/api/v1/secrets/FITS", {"value": "x" * 4096}, key=k, expect=201)
        self.req("PUT", "/api/v1/secrets/FITS", {"value": "y"}, key=k, expect=200)
        for body in ({}, {"value": 1}, {"value": "a", "encryptedValue": {}}):
            self.req("PUT", "/api/v1/secrets/X", body, key=k, expect=400)
        for i in range(99):
            self.req("PUT", "/api/v1/secrets/S%d" % i, {"value": "v"}, key=k, expect=201)
        r = self.req("PUT", "/api/v1/secrets/ONE_TOO_MANY", {"value": "v"}, key=k, expect=413)
        self.assertEqual(r.json["error"]["code"], "QUOTA_EXCEEDED")
        self.req("PUT", "/api/v1/secrets/S0", {"value": "replace is fine"}, key=k, expect=200)
        lst = data(self.req("GET", "/api/v1/secrets", key=k, expect=200))
        self.assertEqual((lst["count"], lst["limit"]), (100, 100))
        self.req("DELETE", "/api/v1/secrets/S0", key=k, expect=200)
        self.req("DELETE", "/api/v1/secrets/S0", key=k, expect=404)

    def test_encrypted_secret_round_trip(self):
        """{encryptedValue}: sealed by `ncsl encrypt-secret` to the attested enclave key, bound to
        the user and the name; replayed under another user or name it is refused."""
        if not NCSL:
            self.skipTest("NCSL (the ncsl command line) is not set")
        a, b = self.make_user("enc-a"), self.make_user("enc-b")
        proof = os.path.join(self.d.root, "proof.json")
        out = subprocess.run([NCSL, "attest", "--data-dir", self.d.data_dir, "--out", proof],
                             capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        value = "enc-value-9b8c7d"
        out = subprocess.run([NCSL, "encrypt-secret", "--proof", proof, "--user", a["id"],
                              "--name", "SEALED", "--allow-simulation", "--data-dir",
                              self.d.data_dir], input=value.encode(), capture_output=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        env = json.loads(out.stdout)
        self.assertNotIn(value, out.stdout.decode())
        self.req("PUT", "/api/v1/secrets/OTHER", {"encryptedValue": env}, key=a["apiKey"],
                 expect=400)  # bound to the name SEALED
        self.req("PUT", "/api/v1/secrets/SEALED", {"encryptedValue": env}, key=b["apiKey"],
                 expect=400)  # bound to user a
        r = self.req("PUT", "/api/v1/secrets/SEALED", {"encryptedValue": env}, key=a["apiKey"],
                     expect=201)
        self.assertEqual(data(r)["size"], len(value))
        f = data(self.deploy(a["apiKey"], "sealed",
                             "function main(){ return SECRETS.SEALED === %s }" % json.dumps(value)))
        r = self.req("POST", "/api/v1/functions/%s/invoke" % f["id"], {}, key=a["apiKey"],
                     expect=200)
        self.assertIs(data(r)["result"], True)
        tampered = dict(env, ciphertext=("A" if env["ciphertext"][0] != "A" else "B")
                        + env["ciphertext"][1:])
        r = self.req("PUT", "/api/v1/secrets/SEALED", {"encryptedValue": tampered},
                     key=a["apiKey"], expect=400)
        self.assertTrue(r.json["error"]["field"].startswith("encryptedValue"))

    # ------------------------------------------------------------------ storage
    def test_storage_commit_only_on_success_and_quota(self):
        u = self.make_user("storage")
        k = u["apiKey"]
        f = data(self.deploy(k, "s", """
async function main(input) {
  if (input.op === "set") { await storage.set(input.key, input.value); }
  if (input.op === "setThenThrow") { await storage.set(input.key, 1); throw new Error("no"); }
  if (input.op === "big") { await storage.set("big", "x".repeat(input.n)); }
  if (input.op === "clear") { await storage.clear(); }
  return { keys: await storage.list(), v: await storage.get(input.key ?? "k") };
}"""))
        inv = "/api/v1/functions/%s/invoke" % f["id"]
        r = self.req("POST", inv, {"input": {"op": "set", "key": "k", "value": {"a": [1]}}},
                     key=k, expect=200)
        self.assertEqual(data(r)["result"]["v"], {"a": [1]})
        r = self.req("POST", inv, {"input": {"op": "setThenThrow", "key": "half"}}, key=k)
        self.assertEqual(r.json["error"]["code"], "EXECUTION_ERROR")
        r = self.req("POST", inv, {"input": {"op": "get", "key": "half"}}, key=k, expect=200)
        self.assertEqual(data(r)["result"], {"keys": ["k"], "v": None})
        # a value over the per-value limit (1 MiB by default) is a JS error, nothing stored
        r = self.req("POST", inv, {"input": {"op": "big", "n": 2 * 1024 * 1024}}, key=k)
        self.assertEqual(r.status, 422, r)
        self.assertIn("limit", r.json["error"]["message"])
        r = self.req("POST", inv, {"input": {"op": "clear"}}, key=k, expect=200)
        self.assertEqual(data(r)["result"]["keys"], [])
        # execute-javascript has no deployed function: storage says so
        r = self.req("POST", test_e2e.EXECUTE,
                     {"code": "async function main(){ return await storage.get('x') }"},
                     key=k)
        self.assertIn("deployed functions", r.json["error"]["message"])


class Quotas(unittest.TestCase):
    """Small configured limits: storage quota, rate limit."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon({"Limits": {"RequestsPerSecond": 5, "Burst": 5,
                                   "StorageQuotaBytes": 4096, "MaxStorageValueBytes": 3000,
                                   "MaxSecretsPerUser": 2, "MaxSecretBytes": 10}}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def test_storage_quota_and_rate_limit(self):
        u = data(self.d.request("POST", "/api/v1/users", {"name": "q"}))
        k = u["apiKey"]
        f = data(self.d.request("POST", "/api/v1/functions", {"name": "fill", "code": """
async function main(input) {
  await storage.set("k" + input.i, "x".repeat(2100));
  return await storage.list();
}"""}, auth=k))
        inv = "/api/v1/functions/%s/invoke" % f["id"]
        r = self.d.request("POST", inv, {"input": {"i": 1}}, auth=k)
        self.assertEqual(r.status, 200, r)
        r = self.d.request("POST", inv, {"input": {"i": 2}}, auth=k)
        self.assertEqual(r.status, 422, r)  # 2 x ~2 KB over a 4 KiB quota: QuotaExceededError
        self.assertIn("quota", r.json["error"]["message"].lower())
        r = self.d.request("PUT", "/api/v1/secrets/LONG", {"value": "x" * 11}, auth=k)
        self.assertEqual(r.status, 413, r)
        # the rate limit: 5 per second with a burst of 5; the 7th at once is refused
        statuses = [self.d.request("GET", "/api/v1/me", auth=k) for _ in range(8)]
        limited = [r for r in statuses if r.status == 429]
        self.assertTrue(limited, [r.status for r in statuses])
        self.assertEqual(limited[0].json["error"]["code"], "RATE_LIMITED")
        self.assertGreaterEqual(int(limited[0].headers["retry-after"]), 1)
        # the admin is not rate limited
        for _ in range(10):
            self.assertEqual(self.d.request("GET", "/api/v1/me").status, 200)
        time.sleep(1.2)
        self.assertEqual(self.d.request("GET", "/api/v1/me", auth=k).status, 200)


class Restart(unittest.TestCase):
    """The admin key on first start, persistence across restarts, and tampering."""

    def test_generated_admin_key_persistence_and_tamper(self):
        d = Daemon({"Limits": {"RequestsPerSecond": 0}})
        try:
            d.start(env={"NCSL_ADMIN_KEY": None})
            path = os.path.join(d.data_dir, "admin.key")
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path) as f:
                admin = f.read().strip()
            self.assertRegex(admin, r"^ncsl_admin_[A-Za-z0-9_-]{43}$")
            self.assertIn(admin, d.stderr_text())  # printed once (stdout goes to the same file)
            self.assertNotIn(admin, d.log_file_text())
            self.assertEqual(d.request("GET", "/api/v1/me", auth=ADMIN_KEY).status, 401)
            u = data(d.request("POST", "/api/v1/users", {"name": "p"}, auth=admin))
            k = u["apiKey"]
            self.assertEqual(d.request("PUT", "/api/v1/secrets/API_KEY",
                                       {"value": "persist-me"}, auth=k).status, 201)
            f = data(d.request("POST", "/api/v1/functions", {"name": "c", "code": COUNTER},
                               auth=k))
            inv = "/api/v1/functions/%s/invoke" % f["id"]
            self.assertEqual(data(d.request("POST", inv, {}, auth=k))["result"]["count"], 1)
            self.assertEqual(d.stop(), 0)

            d.start(env={"NCSL_ADMIN_KEY": None})
            self.assertNotIn(admin, d.stderr_text())  # printed on the first start only
            r = d.request("POST", inv, {}, auth=k)
            self.assertEqual(data(r)["result"], {"count": 2, "keys": ["count", "last"]})
            self.assertEqual(d.request("GET", "/api/v1/me", auth=admin).status, 200)
            self.assertEqual(d.stop(), 0)

            # tamper with the sealed secret in the database file: a clear integrity error
            db = sqlite3.connect(os.path.join(d.data_dir, "ncsl.db"))
            (blob,) = db.execute("SELECT value FROM secrets WHERE name = 'API_KEY'").fetchone()
            flipped = bytearray(blob)
            flipped[-5] ^= 1
            db.execute("UPDATE secrets SET value = ? WHERE name = 'API_KEY'", (bytes(flipped),))
            db.commit()
            db.close()
            d.start(env={"NCSL_ADMIN_KEY": None})
            r = d.request("POST", inv, {}, auth=k)
            self.assertEqual(r.status, 500, r)
            self.assertEqual(r.json["error"]["code"], "INTEGRITY_ERROR")
            self.assertIn("API_KEY", r.json["error"]["message"])
            self.assertNotIn("persist-me", r.raw.decode())
            self.assertEqual(d.request("GET", "/healthz", auth=None).status, 200)  # still up
            # replacing the secret heals it
            self.assertEqual(d.request("PUT", "/api/v1/secrets/API_KEY", {"value": "v2"},
                                       auth=k).status, 200)
            self.assertEqual(d.request("POST", inv, {}, auth=k).status, 200)
        finally:
            d.cleanup()

    def test_bad_admin_keys_are_refused(self):
        d = Daemon()
        try:
            with self.assertRaises(AssertionError):
                d.start(env={"NCSL_ADMIN_KEY": "short"})
            self.assertIn("NCSL_ADMIN_KEY", d.stderr_text())
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
