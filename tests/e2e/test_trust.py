"""End-to-end tests of the trust layer: ncsld's trust routes and the `ncsl` trust commands.

Uses the real binaries (NCSLD, NCSL) on a temporary installation (data dir) and the real SGX
quotes in the shared test data (SGX_TESTDATA). Python 3 standard library only.
Run: NCSLD=... NCSL=... SGX_TESTDATA=... python3 -m unittest -v test_trust
"""

import hashlib
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


CANONICAL = "function main(input) { return { result: input.value * 2 }; }"


class AttestationAndReceipts(DaemonTestCase):
    """GET /api/v1/attestation, POST /api/v1/attestation/verify, receipts on executions and
    POST /api/v1/receipts/verify, all against one simulation daemon."""

    def proof(self, nonce=None):
        path = "/api/v1/attestation" + ("?nonce=" + nonce if nonce is not None else "")
        r = self.d.request("GET", path)
        self.assertEqual(r.status, 200, r)
        self.assertMetadata(r)
        return r.json["data"]

    def verify(self, proof, **opts):
        r = self.d.request("POST", "/api/v1/attestation/verify", dict(proof=proof, **opts))
        return r

    def test_proof_shape_and_binding(self):
        nonce = os.urandom(32).hex()
        p = self.proof(nonce)
        for key in ("version", "teeType", "enclaveId", "mrEnclave", "mrSigner", "isvProdId",
                    "isvSvn", "debug", "nonce", "signingKey", "encryptionKey", "reportData",
                    "quote", "timestamp"):
            self.assertIn(key, p)
        self.assertEqual(p["teeType"], "simulation")
        self.assertEqual(p["nonce"], nonce)
        self.assertRegex(p["signingKey"], r"^0[23][0-9a-f]{64}$")
        self.assertRegex(p["encryptionKey"], r"^[0-9a-f]{64}$")
        # reportData = SHA-256("NCSL-ATTEST-v1" || nonce || signingKey || encryptionKey) || 0^32,
        # recomputed here independently of the C code.
        h = hashlib.sha256(b"NCSL-ATTEST-v1" + bytes.fromhex(nonce) +
                           bytes.fromhex(p["signingKey"]) +
                           bytes.fromhex(p["encryptionKey"])).hexdigest()
        self.assertEqual(p["reportData"], h + "00" * 32)
        info = self.d.request("GET", "/api/v1/tee-info").json["data"]
        self.assertEqual(info["signingKey"], p["signingKey"])
        self.assertEqual(info["mrEnclave"], p["mrEnclave"])
        self.assertRegex(info["neoAddress"], r"^N[1-9A-HJ-NP-Za-km-z]{33}$")
        self.assertEqual(self.proof()["nonce"], "")

    def test_simulation_proof_needs_explicit_permission(self):
        p = self.proof("aa")
        r = self.verify(p)
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.json["data"]["valid"], False)
        self.assertIn("simulation", r.json["data"]["reason"])
        r = self.verify(p, allowSimulation=True, expectedNonce="aa")
        self.assertIs(r.json["data"]["valid"], True, r)
        self.assertEqual(r.json["data"]["verifiedTeeKind"], "simulation")
        r = self.verify(p, allowSimulation=True, expectedNonce="bb")
        self.assertIs(r.json["data"]["valid"], False, r)
        r = self.verify(p, allowSimulation=True, expectedMrEnclave="00" * 32)
        self.assertIs(r.json["data"]["valid"], False, r)

    def test_tampered_proofs_are_rejected(self):
        p = self.proof("0102")
        def flip_hex(v):
            return ("1" if v[0] != "1" else "2") + v[1:]
        for field in ("reportData", "signingKey", "encryptionKey", "mrEnclave", "nonce"):
            q = dict(p)
            q[field] = flip_hex(q[field])
            r = self.verify(q, allowSimulation=True)
            if r.status == 400:  # e.g. a signingKey that is no longer a curve point
                self.assertTrue(r.json["error"]["field"].startswith("proof."), r)
                continue
            self.assertIs(r.json["data"]["valid"], False, (field, r))
        import base64
        raw = bytearray(base64.b64decode(p["quote"]))
        raw[200] ^= 1
        q = dict(p, quote=base64.b64encode(bytes(raw)).decode())
        self.assertIs(self.verify(q, allowSimulation=True).json["data"]["valid"], False)
        q = dict(p, teeType="sgx-occlum")
        self.assertIs(self.verify(q, allowSimulation=True).json["data"]["valid"], False)

    def test_bad_requests_name_the_field(self):
        cases = [
            ("/api/v1/attestation?nonce=xyz", None, "nonce"),
            ("/api/v1/attestation?nonce=" + "ab" * 65, None, "nonce"),
            ("/api/v1/attestation/verify", {}, "proof"),
            ("/api/v1/attestation/verify", {"proof": {}, "allowSimulation": "yes"},
             "allowSimulation"),
            ("/api/v1/attestation/verify", {"proof": {}, "surprise": 1}, "surprise"),
            ("/api/v1/attestation/verify", {"proof": {"version": 1}}, None),
            ("/api/v1/receipts/verify", {}, "receipt"),
            ("/api/v1/receipts/verify", {"receipt": {"executionId": 5}}, None),
        ]
        for path, body, field in cases:
            r = self.d.request("GET" if body is None else "POST", path, body)
            self.assertEqual(r.status, 400, (path, body, r))
            self.assertEqual(r.json["error"]["code"], "VALIDATION_ERROR")
            if field:
                self.assertEqual(r.json["error"]["field"], field, r)
            else:
                self.assertRegex(r.json["error"]["field"], r"^(proof|receipt)\.", r)

    def test_every_execution_carries_a_verifiable_receipt(self):
        proof = self.proof("cafe")
        inp = '{"value":42}'
        r = self.d.execute(CANONICAL, input=inp, functionId="fn-1", userId="user-1")
        data = self.assertSuccess(r, {"result": 84})
        rc = data["receipt"]
        self.assertEqual(rc["executionId"], data["executionId"])
        self.assertEqual(rc["functionId"], "fn-1")
        self.assertEqual(rc["userId"], "user-1")
        self.assertEqual(rc["codeHash"], hashlib.sha256(CANONICAL.encode()).hexdigest())
        self.assertEqual(rc["inputHash"], hashlib.sha256(inp.encode()).hexdigest())
        # outputHash covers the exact bytes of data.result in the response.
        raw = r.raw.decode()
        start = raw.index('"result":') + len('"result":')
        end = raw.index(',"logs":')
        self.assertEqual(rc["outputHash"], hashlib.sha256(raw[start:end].encode()).hexdigest())
        self.assertEqual(rc["signingKey"], proof["signingKey"])
        self.assertRegex(rc["signature"], r"^[0-9a-f]{128}$")

        v = self.d.request("POST", "/api/v1/receipts/verify",
                           {"receipt": rc, "proof": proof, "allowSimulation": True})
        self.assertEqual(v.status, 200, v)
        self.assertIs(v.json["data"]["valid"], True, v)
        self.assertIs(v.json["data"]["attested"], True, v)
        v = self.d.request("POST", "/api/v1/receipts/verify", {"receipt": rc})
        self.assertIs(v.json["data"]["valid"], True, v)
        self.assertIs(v.json["data"]["attested"], False, v)
        for field, value in (("outputHash", "00" * 32), ("timestamp", "2020-01-01T00:00:00.000Z"),
                             ("userId", "user-2"), ("functionId", "")):
            bad = dict(rc, **{field: value})
            v = self.d.request("POST", "/api/v1/receipts/verify", {"receipt": bad})
            self.assertEqual(v.status, 200, v)
            self.assertIs(v.json["data"]["valid"], False, (field, v))

    def test_neon_core_verifies_a_live_receipt(self):
        """An independent implementation (@cityofzion/neon-core, tests/interop) checks a receipt
        from this daemon: the rebuilt message, the signature as Neo's verifyWithECDsa(..., 23)
        does, and the Neo address of the signing key."""
        node = os.environ.get("NCSL_NODE", "")
        script = os.environ.get("NEO_INTEROP", "")
        self.assertTrue(node and os.access(node, os.X_OK),
                        "node not found: run scripts/bootstrap.sh (it installs nodejs)")
        r = self.d.execute(CANONICAL, input={"value": 1}, functionId="prix-été",
                           userId="用户-🙂")
        self.assertSuccess(r, {"result": 2})
        info = self.d.request("GET", "/api/v1/tee-info").json["data"]
        case = {"case": "live ncsld receipt", "receipt": r.json["data"]["receipt"],
                "neoAddress": info["neoAddress"]}
        p = subprocess.run([node, script, "--input", "-"], input=json.dumps(case).encode(),
                           capture_output=True, timeout=120)
        out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertRegex(out, r"\b[1-9]\d* passed, 0 failed")

    def test_failed_runs_are_signed_too(self):
        r = self.d.execute("function main(){ throw new TypeError('nope'); }")
        self.assertEqual(r.status, 422, r)
        err = r.json["error"]
        rc = err["details"]["receipt"]
        text = "%s: %s" % (err["code"], err["message"])
        self.assertEqual(rc["outputHash"], hashlib.sha256(text.encode()).hexdigest())
        self.assertEqual(rc["inputHash"], hashlib.sha256(b"null").hexdigest())
        v = self.d.request("POST", "/api/v1/receipts/verify", {"receipt": rc})
        self.assertIs(v.json["data"]["valid"], True, v)


class IdentitySurvivesRestart(unittest.TestCase):
    def test_same_keys_after_a_restart_and_a_tampered_key_file_stops_the_daemon(self):
        d = Daemon()
        try:
            d.start()
            first = d.request("GET", "/api/v1/tee-info").json["data"]
            self.assertEqual(d.stop(), 0)
            d.start()
            second = d.request("GET", "/api/v1/tee-info").json["data"]
            self.assertEqual(first["signingKey"], second["signingKey"])
            self.assertEqual(first["encryptionKey"], second["encryptionKey"])
            self.assertEqual(d.stop(), 0)
            path = os.path.join(d.data_dir, "keys", "identity.sealed")
            self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
            with open(path, "rb") as f:
                blob = bytearray(f.read())
            blob[-1] ^= 1
            with open(path, "wb") as f:
                f.write(blob)
            with self.assertRaises(AssertionError) as ctx:
                d.start()
            self.assertIn("identity", str(ctx.exception))
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
