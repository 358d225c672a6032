"""End-to-end tests of the trust layer: ncsld's trust routes and the `ncsl` trust commands.

Uses the real binaries (NCSLD, NCSL) on a temporary installation (data dir) and the real SGX
quotes in the shared test data (SGX_TESTDATA). Python 3 standard library only.
Run: NCSLD=... NCSL=... SGX_TESTDATA=... python3 -m unittest -v test_trust
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from test_e2e import Daemon, DaemonTestCase

NCSL = os.environ.get("NCSL", "")
SGX_TESTDATA = os.environ.get("SGX_TESTDATA", "")


def setUpModule():
    for name, path in (("NCSLD", os.environ.get("NCSLD", "")), ("NCSL", NCSL)):
        if not path or not os.access(path, os.X_OK):
            raise unittest.SkipTest("set %s to the executable to run the trust tests" % name)


def ncsl(*args, stdin=b"", env=None):
    """Runs `ncsl ARGS`; returns (exit code, stdout bytes, stderr text)."""
    p = subprocess.run([NCSL, *args], input=stdin, capture_output=True, timeout=60,
                       env=env)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


class SealCommands(unittest.TestCase):
    """`ncsl seal` / `ncsl unseal` on one temporary installation."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="ncsl-trust-")
        self.data = os.path.join(self.root, "data")

    def tearDown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def seal(self, plain, label, *extra, data=None):
        return ncsl("seal", "--label", label, "--data-dir", data or self.data, *extra,
                    stdin=plain)

    def unseal(self, blob, label, data=None):
        return ncsl("unseal", "--label", label, "--data-dir", data or self.data, stdin=blob)

    def test_round_trip_binary_and_policies(self):
        plain = bytes(range(256)) * 40
        for policy in ("mrsigner", "mrenclave"):
            rc, blob, err = self.seal(plain, "secret/alice/key", "--policy", policy)
            self.assertEqual(rc, 0, err)
            self.assertEqual(blob[:8], b"NCSLSEAL")
            self.assertEqual(len(blob), len(plain) + 40)
            self.assertNotIn(plain[:64], blob)
            rc, out, err = self.unseal(blob, "secret/alice/key")
            self.assertEqual(rc, 0, err)
            self.assertEqual(out, plain)

    def test_platform_secret_is_private(self):
        rc, _, err = self.seal(b"x", "a")
        self.assertEqual(rc, 0, err)
        st = os.stat(os.path.join(self.data, "tee", "platform.secret"))
        self.assertEqual(st.st_mode & 0o777, 0o600)

    def test_refuses_a_world_readable_platform_secret(self):
        rc, blob, err = self.seal(b"x", "a")
        self.assertEqual(rc, 0, err)
        os.chmod(os.path.join(self.data, "tee", "platform.secret"), 0o644)
        rc, out, err = self.unseal(blob, "a")
        self.assertEqual(rc, 1)
        self.assertEqual(out, b"")
        self.assertIn("platform.secret", err)

    def test_tampered_moved_truncated_and_foreign_blobs_fail_loudly(self):
        secret = b"wallet key 0123456789"
        rc, blob, err = self.seal(secret, "secret/alice/wallet")
        self.assertEqual(rc, 0, err)
        cases = {}
        for i in (0, 9, 12, 24, len(blob) - 1):  # magic, policy, nonce, ciphertext, tag
            b = bytearray(blob)
            b[i] ^= 0x01
            cases["flip@%d" % i] = (bytes(b), "secret/alice/wallet")
        cases["moved"] = (blob, "secret/bob/wallet")
        cases["truncated"] = (blob[:-1], "secret/alice/wallet")
        cases["short"] = (blob[:20], "secret/alice/wallet")
        for name, (b, label) in cases.items():
            rc, out, err = self.unseal(b, label)
            self.assertEqual(rc, 1, name)
            self.assertEqual(out, b"", name)
            self.assertNotIn("wallet key", err, name)
            self.assertTrue(err.strip(), name)
        other = os.path.join(self.root, "other")
        rc, out, err = self.unseal(blob, "secret/alice/wallet", data=other)
        self.assertEqual(rc, 1)
        self.assertIn("another installation", err)

    def test_usage_errors(self):
        rc, _, err = ncsl("seal", "--data-dir", self.data, stdin=b"x")
        self.assertEqual(rc, 2)
        self.assertIn("--label", err)
        rc, _, err = ncsl("seal", "--label", "a", "--policy", "nope", stdin=b"x")
        self.assertEqual(rc, 2)
        self.assertIn("--policy", err)
        rc, _, err = ncsl("unseal", "--label", "a", "--bogus")
        self.assertEqual(rc, 2)
        self.assertIn("--bogus", err)
        rc, out, _ = ncsl("seal", "--help")
        self.assertEqual(rc, 0)
        self.assertIn(b"--label", out)


@unittest.skipUnless(SGX_TESTDATA and os.path.isdir(SGX_TESTDATA), "SGX_TESTDATA not set")
class VerifyQuoteCommand(unittest.TestCase):
    """`ncsl verify-quote` on the genuine quotes and their expected values."""

    @classmethod
    def setUpClass(cls):
        with open(os.path.join(SGX_TESTDATA, "expected.json")) as f:
            cls.expected = json.load(f)

    def quotes(self):
        names = sorted(n for n in os.listdir(SGX_TESTDATA)
                       if n.startswith("quote-") and n.endswith(".bin"))
        self.assertGreaterEqual(len(names), 13)
        return names

    def test_every_genuine_quote_verifies_with_its_expected_identity(self):
        for name in self.quotes():
            rc, out, err = ncsl("verify-quote", os.path.join(SGX_TESTDATA, name))
            v = json.loads(out)
            if "tampered" in name:
                self.assertEqual(rc, 1, name)
                self.assertFalse(v["valid"], name)
                self.assertTrue(v["reason"], name)
                self.assertIsNone(v["teeType"], name)
                continue
            self.assertEqual(rc, 0, (name, v))
            self.assertTrue(v["valid"], name)
            self.assertEqual(v["teeType"], "sgx")
            e = self.expected[name]
            self.assertEqual(v["mrEnclave"], e["mrenclave"], name)
            self.assertEqual(v["mrSigner"], e["mrsigner"], name)
            self.assertEqual(v["reportData"], e["report_data"], name)
            self.assertEqual(v["isvProdId"], e["isvprodid"], name)
            self.assertEqual(v["isvSvn"], e["isvsvn"], name)
            self.assertEqual(v["debug"], e["debug"], name)

    def test_as_of_before_the_pck_was_issued_fails(self):
        name = os.path.join(SGX_TESTDATA, "quote-phala-1.bin")
        rc, out, _ = ncsl("verify-quote", "--at", "2000-01-01T00:00:00Z", name)
        self.assertEqual(rc, 1)
        v = json.loads(out)
        self.assertFalse(v["valid"])
        self.assertEqual(v["failedStep"], "pck-certificate-chain")

    def test_bad_usage(self):
        rc, _, err = ncsl("verify-quote", "--at", "yesterday", "x.bin")
        self.assertEqual(rc, 2)
        self.assertIn("--at", err)
        rc, _, err = ncsl("verify-quote")
        self.assertEqual(rc, 2)
        rc, _, err = ncsl("verify-quote", "/nonexistent/quote.bin")
        self.assertEqual(rc, 1)
        self.assertIn("cannot read", err)


class TeeInfoRoute(DaemonTestCase):
    def test_tee_info_says_simulation(self):
        r = self.d.request("GET", "/api/v1/tee-info")
        self.assertEqual(r.status, 200, r)
        d = r.json["data"]
        self.assertEqual(d["teeType"], "simulation")
        self.assertIs(d["hardware"], False)
        self.assertRegex(d["mrEnclave"], r"^[0-9a-f]{64}$")
        self.assertRegex(d["mrSigner"], r"^[0-9a-f]{64}$")
        self.assertIn("simulation", d["warning"])
        self.assertMetadata(r)
        r = self.d.request("POST", "/api/v1/tee-info", {})
        self.assertEqual(r.status, 405, r)
        self.assertEqual(r.headers.get("allow"), "GET, HEAD")


if __name__ == "__main__":
    unittest.main()
