#!/usr/bin/env python3
"""Durability over HTTP (issues 4 and 7): while five clients write (storage.set through
invocations, secret puts, deploys, new users with their keys, secret deletes), ncsld is killed
with SIGKILL at a random moment, ten times. After every restart each write that was acknowledged
with a 2xx is there and intact (a deleted secret stays deleted, a new user's key works), and no
write is half applied: an invocation stores two keys in one call, so either both are there or
neither is."""
import http.client
import json
import os
import random
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_e2e import ADMIN_KEY, Daemon  # noqa: E402

ROUNDS = int(os.environ.get("NCSL_DURABILITY_ROUNDS", "10"))

PAIR = """
async function main(input) {
  if (input.op === "dump") {
    const out = {};
    for (const k of await storage.list()) out[k] = await storage.get(k);
    return out;
  }
  await storage.set("a" + input.n, input.v);
  await storage.set("b" + input.n, input.v);
  return input.n;
}
"""
SECRETS_DUMP = "function main() { return SECRETS; }"


class Writer(threading.Thread):
    """Sends one kind of write in a loop until stopped; records what was acknowledged."""

    def __init__(self, port, key, kind, prefix, fid=None):
        """kind: storage | secret | deploy | user (with the admin key) | delete (a secret put,
        then deleted: acked once the DELETE is)."""
        super().__init__(daemon=True)
        self.port, self.key, self.kind, self.prefix, self.fid = port, key, kind, prefix, fid
        self.acked = {}  # name -> value
        self.stop = threading.Event()

    def send(self, conn, method, path, body, want_data=False):
        headers = {"Authorization": "Bearer " + self.key}
        if body is not None:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                     headers=headers)
        r = conn.getresponse()
        raw = r.read()
        if want_data:
            return r.status, (json.loads(raw).get("data") if 200 <= r.status < 300 else None)
        return r.status

    def run(self):
        n = 0
        conn = None
        while not self.stop.is_set():
            n += 1
            name = "%s%d" % (self.prefix, n)
            value = "v-%s-%d" % (self.prefix, random.getrandbits(40))
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                if self.kind == "storage":
                    st = self.send(conn, "POST", "/api/v1/functions/%s/invoke" % self.fid,
                                   {"input": {"n": name, "v": value}})
                elif self.kind == "secret":
                    st = self.send(conn, "PUT", "/api/v1/secrets/" + name, {"value": value})
                elif self.kind == "user":
                    st, data = self.send(conn, "POST", "/api/v1/users", {"name": name},
                                         want_data=True)
                    value = (data or {}).get("id"), (data or {}).get("apiKey")
                elif self.kind == "delete":
                    st = self.send(conn, "PUT", "/api/v1/secrets/" + name, {"value": value})
                    if 200 <= st < 300:
                        st = self.send(conn, "DELETE", "/api/v1/secrets/" + name, None)
                else:
                    code = "function main() { return %s; }" % json.dumps(value)
                    st = self.send(conn, "POST", "/api/v1/functions",
                                   {"name": name, "code": code})
                    value = code
                if 200 <= st < 300:
                    self.acked[name] = value
            except (OSError, http.client.HTTPException):
                conn = None  # the daemon died under us: this write is unknown, not acked
                time.sleep(0.01)


class Durability(unittest.TestCase):
    def test_kill_9_loses_nothing_acknowledged(self):
        d = Daemon({"Limits": {"RequestsPerSecond": 0, "MaxSecretsPerUser": 100000},
                    "Server": {"LogLevel": "warn"}})
        rng = random.Random(int(os.environ.get("NCSL_DURABILITY_SEED", time.time())))
        try:
            d.start()
            u = d.request("POST", "/api/v1/users", {"name": "durable"}).json["data"]
            key = u["apiKey"]
            pair = d.request("POST", "/api/v1/functions", {"name": "pair", "code": PAIR},
                             auth=key).json["data"]["id"]
            dump = d.request("POST", "/api/v1/functions",
                             {"name": "dump", "code": SECRETS_DUMP}, auth=key).json["data"]["id"]
            storage, secrets, deploys, users, deleted = {}, {}, {}, {}, {}
            for rnd in range(ROUNDS):
                writers = [Writer(d.port, key, "storage", "r%dn" % rnd, pair),
                           Writer(d.port, key, "secret", "R%dS" % rnd),
                           Writer(d.port, key, "deploy", "r%df" % rnd),
                           Writer(d.port, ADMIN_KEY, "user", "r%du" % rnd),
                           Writer(d.port, key, "delete", "R%dD" % rnd)]
                for w in writers:
                    w.start()
                time.sleep(rng.uniform(0.3, 1.5))
                d.stop(kill=True)  # SIGKILL mid-write
                for w in writers:
                    w.stop.set()
                    w.join(timeout=20)
                storage.update(writers[0].acked)
                secrets.update(writers[1].acked)
                deploys.update(writers[2].acked)
                users.update(writers[3].acked)
                deleted.update(writers[4].acked)
                self.assertTrue(all(len(w.acked) for w in writers),
                                "round %d: some writer got nothing acknowledged" % rnd)
                d.start()
                self.check(d, key, pair, dump, storage, secrets, deploys)
                self.check_users_and_deletes(d, users, deleted)
            print("\n%d rounds: %d storage calls, %d secret puts, %d deploys, %d users, %d "
                  "secret deletes acknowledged and found intact" % (
                      ROUNDS, len(storage), len(secrets), len(deploys), len(users),
                      len(deleted)), file=sys.stderr)
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()

    def check_users_and_deletes(self, d, users, deleted):
        for name, (uid, ukey) in users.items():
            r = d.request("GET", "/api/v1/me", auth=ukey)
            self.assertEqual(r.status, 200, "acknowledged user %s lost: %r" % (name, r))
            self.assertEqual(r.json["data"]["userId"], uid)
        for name in deleted:
            self.assertNotIn(name, self.last_secrets, "acknowledged delete of %s undone" % name)

    def check(self, d, key, pair, dump, storage, secrets, deploys):
        inv = "/api/v1/functions/%s/invoke"
        r = d.request("POST", inv % pair, {"input": {"op": "dump"}}, auth=key)
        self.assertEqual(r.status, 200, r)
        stored = r.json["data"]["result"]
        for n, v in storage.items():
            self.assertEqual(stored.get("a" + n), v, "acknowledged storage write %s lost" % n)
            self.assertEqual(stored.get("b" + n), v, "acknowledged storage write %s lost" % n)
        for k in stored:  # unacknowledged calls may or may not be there, but never halfway
            other = ("b" if k[0] == "a" else "a") + k[1:]
            self.assertEqual(stored.get(other), stored[k], "half-applied call: %s" % k)

        r = d.request("POST", inv % dump, {}, auth=key)
        self.assertEqual(r.status, 200, r)
        have = r.json["data"]["result"]
        self.last_secrets = have
        for name, v in secrets.items():
            self.assertEqual(have.get(name), v, "acknowledged secret %s lost" % name)

        names = {}
        cursor = ""
        while True:
            r = d.request("GET", "/api/v1/functions?limit=1000&cursor=" + cursor, auth=key)
            self.assertEqual(r.status, 200, r)
            for f in r.json["data"]["items"]:
                names[f["name"]] = f["id"]
            cursor = r.json["data"]["nextCursor"]
            if not cursor:
                break
        for name, code in deploys.items():
            self.assertIn(name, names, "acknowledged deploy %s lost" % name)
            r = d.request("GET", "/api/v1/functions/" + names[name], auth=key)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["data"]["code"], code)
        for name, fid in names.items():  # every function there is whole: its code reads back
            r = d.request("GET", "/api/v1/functions/" + fid, auth=key)
            self.assertEqual(r.status, 200, (name, r))


if __name__ == "__main__":
    unittest.main(verbosity=2)
