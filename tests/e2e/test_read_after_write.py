#!/usr/bin/env python3
"""Read-after-write over HTTP with the store's function cache (docs/storage.md): an invocation
right after an acknowledged update runs the new code, right after a delete answers 404, a revoked
key or a deleted user's key is refused on the very next request, invocations racing updates never
run code older than the last acknowledged update, and a second ncsld on the same data directory
(its own cache, like another node) sees the first one's updates and deletes at once."""
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_e2e import ADMIN_KEY, Daemon  # noqa: E402


def code(n):
    return "function main(input) { return { v: %d, x: input.x }; }" % n


class ReadAfterWrite(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon({"Limits": {"RequestsPerSecond": 0}}).start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def req(self, method, path, body=None, key=ADMIN_KEY, expect=None, d=None):
        r = (d or self.d).request(method, path, body, auth=key)
        if expect is not None:
            self.assertEqual(r.status, expect, r)
        return r

    def user(self, name):
        return self.req("POST", "/api/v1/users", {"name": name}, expect=201).json["data"]

    def deploy(self, key, name, n):
        r = self.req("POST", "/api/v1/functions", {"name": name, "code": code(n)}, key=key,
                     expect=201)
        return r.json["data"]["id"]

    def invoke(self, key, fid, expect=200, d=None):
        r = self.req("POST", "/api/v1/functions/%s/invoke" % fid, {"input": {"x": 1}}, key=key,
                     expect=expect, d=d)
        return r.json["data"]["result"]["v"] if expect == 200 else r

    def test_update_then_invoke_runs_new_code(self):
        u = self.user("update")
        fid = self.deploy(u["apiKey"], "f", 1)
        for _ in range(3):  # warm: later invocations come from the cache
            self.assertEqual(self.invoke(u["apiKey"], fid), 1)
        for n in range(2, 12):
            self.req("PUT", "/api/v1/functions/%s" % fid, {"code": code(n)}, key=u["apiKey"],
                     expect=200)
            self.assertEqual(self.invoke(u["apiKey"], fid), n)
            self.assertEqual(self.invoke(u["apiKey"], fid), n)
        # GET answers the new code and version too.
        got = self.req("GET", "/api/v1/functions/%s" % fid, key=u["apiKey"], expect=200)
        self.assertEqual(got.json["data"]["code"], code(11))
        self.assertEqual(got.json["data"]["version"], 11)

    def test_delete_then_invoke_is_404(self):
        u = self.user("delete")
        fid = self.deploy(u["apiKey"], "f", 1)
        self.assertEqual(self.invoke(u["apiKey"], fid), 1)
        self.assertEqual(self.invoke(u["apiKey"], fid), 1)
        self.req("DELETE", "/api/v1/functions/%s" % fid, key=u["apiKey"], expect=200)
        r = self.invoke(u["apiKey"], fid, expect=404)
        self.assertEqual(r.json["error"]["code"], "NOT_FOUND")
        self.req("GET", "/api/v1/functions/%s" % fid, key=u["apiKey"], expect=404)

    def test_revoke_then_next_request_is_401(self):
        u = self.user("revoke")
        fid = self.deploy(u["apiKey"], "f", 1)
        k2 = self.req("POST", "/api/v1/users/%s/keys" % u["id"], expect=201).json["data"]
        self.assertEqual(self.invoke(k2["apiKey"], fid), 1)
        self.assertEqual(self.invoke(k2["apiKey"], fid), 1)
        self.req("DELETE", "/api/v1/users/%s/keys/%s" % (u["id"], k2["id"]), expect=200)
        self.invoke(k2["apiKey"], fid, expect=401)
        self.assertEqual(self.invoke(u["apiKey"], fid), 1)  # the other key still works
        # Deleting the user: their key and their functions are gone on the next request.
        self.req("DELETE", "/api/v1/users/%s" % u["id"], expect=200)
        self.invoke(u["apiKey"], fid, expect=401)

    def test_invocations_racing_updates_never_run_older_code(self):
        u = self.user("race")
        key = u["apiKey"]
        fid = self.deploy(key, "f", 1)
        acked = [1]
        stop = threading.Event()
        bad = []
        count = [0]

        def invoker():
            while not stop.is_set():
                floor = acked[0]
                r = self.d.request("POST", "/api/v1/functions/%s/invoke" % fid, {"input": {}},
                                   auth=key)
                if r.status != 200:
                    bad.append(r)
                    continue
                v = r.json["data"]["result"]["v"]
                if v < floor:
                    bad.append((v, floor))
                count[0] += 1

        threads = [threading.Thread(target=invoker) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for n in range(2, 16):
                self.req("PUT", "/api/v1/functions/%s" % fid, {"code": code(n)}, key=key,
                         expect=200)
                acked[0] = n
                self.assertEqual(self.invoke(key, fid), n)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(bad, [])
        self.assertGreater(count[0], 0)


class TwoDaemonsOneDatabase(unittest.TestCase):
    """Each ncsld has its own cache; the store checks a cached function against the database on
    every read, so one daemon's writes reach the other's next invocation."""

    @classmethod
    def setUpClass(cls):
        cls.a = Daemon({"Limits": {"RequestsPerSecond": 0}}).start()
        cls.b = Daemon({"Limits": {"RequestsPerSecond": 0}})
        cls.b.data_dir = cls.a.data_dir  # the same database and sealing root
        cls.b.start()

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()
        cls.a.cleanup()

    def test_other_daemon_sees_update_and_delete(self):
        u = self.a.request("POST", "/api/v1/users", {"name": "two"}).json["data"]
        key = u["apiKey"]
        r = self.a.request("POST", "/api/v1/functions", {"name": "f", "code": code(1)}, auth=key)
        self.assertEqual(r.status, 201, r)
        fid = r.json["data"]["id"]
        path = "/api/v1/functions/%s/invoke" % fid
        for d in (self.a, self.b, self.a, self.b):  # both caches warm
            self.assertEqual(d.request("POST", path, {"input": {}}, auth=key)
                             .json["data"]["result"]["v"], 1)
        r = self.a.request("PUT", "/api/v1/functions/%s" % fid, {"code": code(2)}, auth=key)
        self.assertEqual(r.status, 200, r)
        r = self.b.request("POST", path, {"input": {}}, auth=key)
        self.assertEqual(r.json["data"]["result"]["v"], 2, r)
        self.assertEqual(self.b.request("DELETE", "/api/v1/functions/%s" % fid, auth=key).status,
                         200)
        self.assertEqual(self.a.request("POST", path, {"input": {}}, auth=key).status, 404)
        # A key revoked through one daemon is refused by the other on the next request.
        k2 = self.a.request("POST", "/api/v1/users/%s/keys" % u["id"]).json["data"]
        self.assertEqual(self.b.request("GET", "/api/v1/me", auth=k2["apiKey"]).status, 200)
        self.assertEqual(self.a.request("DELETE", "/api/v1/users/%s/keys/%s"
                                        % (u["id"], k2["id"])).status, 200)
        self.assertEqual(self.b.request("GET", "/api/v1/me", auth=k2["apiKey"]).status, 401)


if __name__ == "__main__":
    unittest.main()
