#!/usr/bin/env python3
"""A full disk (issue 7): ncsld's data dir on a small tmpfs that a filler file then fills up.
Every kind of write answers 507 INSUFFICIENT_STORAGE (never 500, never corruption), reads keep
working, nothing half-written shows up, and once space returns writes succeed again and
everything acknowledged survives a restart.

Mounting a tmpfs needs root (CAP_SYS_ADMIN), which the README's test command has on a fresh
machine; elsewhere the test is skipped with the reason."""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_e2e import Daemon  # noqa: E402

SIZE = "8m"
COUNTER = """
async function main(input) {
  const n = (await storage.get("n")) ?? 0;
  if (input && input.write) await storage.set("n", n + 1);
  return n;
}
"""


def fill(path):
    """Writes zeros to `path` until the file system says it is full."""
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError:
            pass
        try:  # the last few bytes too
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass


class DiskFull(unittest.TestCase):
    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="ncsl-diskfull-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % SIZE, "tmpfs",
                            self.mnt], capture_output=True)
        if r.returncode != 0:
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs (needs root): %s" % r.stderr.decode().strip())

    def tearDown(self):
        subprocess.run(["umount", "-l", self.mnt], capture_output=True)
        os.rmdir(self.mnt)

    def test_writes_answer_507_and_recover(self):
        d = Daemon({"Limits": {"RequestsPerSecond": 0}})
        d.data_dir = os.path.join(self.mnt, "data")
        os.mkdir(d.data_dir, 0o700)
        filler = os.path.join(self.mnt, "filler")
        try:
            d.start()
            u = d.request("POST", "/api/v1/users", {"name": "full"}).json["data"]
            k = u["apiKey"]
            self.assertEqual(d.request("PUT", "/api/v1/secrets/KEEP", {"value": "kept"},
                                       auth=k).status, 201)
            f = d.request("POST", "/api/v1/functions", {"name": "c", "code": COUNTER},
                          auth=k).json["data"]
            inv = "/api/v1/functions/%s/invoke" % f["id"]
            r = d.request("POST", inv, {"input": {"write": True}}, auth=k)
            self.assertEqual((r.status, r.json["data"]["result"]), (200, 0), r)

            fill(filler)
            writes = [
                ("PUT", "/api/v1/secrets/BIG", {"value": "x" * 4096}),
                ("POST", "/api/v1/functions", {"name": "big", "code": "function main(){return '%s'}"
                                               % ("y" * 200000)}),
                ("POST", "/api/v1/users", {"name": "z" * 128}),
                ("POST", inv, {"input": {"write": True}}),
            ]
            for i in range(3):  # every write, several times: the store must stay consistent
                for method, path, body in writes:
                    if path == "/api/v1/users":
                        r = d.request(method, path, body)  # the admin key
                    else:
                        r = d.request(method, path, body, auth=k)
                    self.assertEqual(r.status, 507, (method, path, r))
                    self.assertEqual(r.json["error"]["code"], "INSUFFICIENT_STORAGE")
                    self.assertIn("disk is full", r.json["error"]["message"])
            # reads still work, and no failed write shows up
            r = d.request("POST", inv, {}, auth=k)
            self.assertEqual((r.status, r.json["data"]["result"]), (200, 1), r)
            names = [s["name"] for s in d.request("GET", "/api/v1/secrets",
                                                  auth=k).json["data"]["items"]]
            self.assertEqual(names, ["KEEP"])
            fns = d.request("GET", "/api/v1/functions", auth=k).json["data"]["items"]
            self.assertEqual([x["name"] for x in fns], ["c"])
            self.assertEqual(d.request("GET", "/healthz", auth=None).status, 200)

            os.unlink(filler)  # space returns: writes work again, no restart needed
            self.assertEqual(d.request("PUT", "/api/v1/secrets/BIG", {"value": "x" * 4096},
                                       auth=k).status, 201)
            r = d.request("POST", inv, {"input": {"write": True}}, auth=k)
            self.assertEqual((r.status, r.json["data"]["result"]), (200, 1), r)
            self.assertEqual(d.stop(), 0)

            d.start()  # and all of it is on disk, intact
            r = d.request("POST", inv, {}, auth=k)
            self.assertEqual((r.status, r.json["data"]["result"]), (200, 2), r)
            names = [s["name"] for s in d.request("GET", "/api/v1/secrets",
                                                  auth=k).json["data"]["items"]]
            self.assertEqual(names, ["BIG", "KEEP"])
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
