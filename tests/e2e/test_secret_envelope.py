"""End-to-end tests of `ncsl encrypt-secret` (docs/secrets.md) against a running ncsld: a proof
fetched with `ncsl attest` is verified, the value is encrypted to the key it attests, and the
envelope has the documented shape. Proofs that do not verify (tampered, another installation's,
stale nonce, simulation without --allow-simulation) are refused before any value is read.

The known-answer vector of docs/secrets.md is recomputed with Python's `cryptography` package
when it is installed (an independent implementation of the format); everything else uses the
Python 3 standard library only.
Run: NCSLD=... NCSL=... python3 -m unittest -v test_secret_envelope
(The HTTP round trip through PUT /api/v1/secrets lives with the secrets route's tests.)
"""

import base64
import json
import os
import pty
import re
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from test_e2e import Daemon, TwoInstallationsTestCase, run_cmd

NCSL = os.environ.get("NCSL", "")
USER = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
VALUE = "correct horse battery staple"
ALG = "ncsl-x25519-hkdf-sha256-aes256gcm-v1"

# docs/secrets.md, section "Worked example" (also tests/unit/keys/test_envelope.c).
KAT = {
    "enclave_priv": "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    "eph_priv": "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    "nonce": "000102030405060708090a0b",
    "user": USER,
    "name": "API_KEY",
    "value": b"s3cr3t-value",
    "shared": "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
    "key": "7e86e434708190003f19a6fcc9f69a6c247efed79457fa15fb8e31ef8f57db62",
    "envelope": {
        "alg": ALG,
        "encryptionKey": "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
        "ephemeralKey": "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
        "nonce": "000102030405060708090a0b",
        "ciphertext": "uvIDsH8vs0l+CzrChY9snNU3z0OpTp6x+4bfsQ==",
    },
}


def setUpModule():
    for name, path in (("NCSLD", os.environ.get("NCSLD", "")), ("NCSL", NCSL)):
        if not path or not os.access(path, os.X_OK):
            raise unittest.SkipTest("set %s to the executable to run these tests" % name)


def ncsl(*args, stdin=b""):
    """Runs `ncsl ARGS`; returns (exit code, stdout text, stderr text)."""
    return run_cmd([NCSL, *args], stdin=stdin)


class EncryptSecret(TwoInstallationsTestCase):
    """One daemon under test (self.d) and a second installation (cls.other)."""

    TMP_PREFIX = 'ncsl-envelope-cli-'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.nonce = os.urandom(16).hex()
        rc, out, err = ncsl("attest", "--data-dir", cls.d.data_dir, "--nonce", cls.nonce)
        assert rc == 0, err
        cls.proof = json.loads(out)
    # ------------------------------------------------------------------ helpers
    def write(self, name, content):
        path = os.path.join(self.tmp, name)
        if isinstance(content, (dict, list)):
            content = json.dumps(content)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        return path

    def sim(self, daemon=None):
        return ["--allow-simulation", "--data-dir", (daemon or self.d).data_dir]

    def encrypt(self, *args, proof=None, stdin=b"", name="API_KEY", user=USER):
        """`ncsl encrypt-secret` with the proof (default: self.proof) and `args`."""
        path = proof if isinstance(proof, str) else self.write("proof.json", proof or self.proof)
        return ncsl("encrypt-secret", "--proof", path, "--user", user, "--name", name, *args,
                    stdin=stdin)

    def assertEnvelope(self, env, value_len, proof=None):
        self.assertEqual(list(env), ["alg", "encryptionKey", "ephemeralKey", "nonce",
                                     "ciphertext"])
        self.assertEqual(env["alg"], ALG)
        self.assertEqual(env["encryptionKey"], (proof or self.proof)["encryptionKey"])
        self.assertRegex(env["ephemeralKey"], r"^[0-9a-f]{64}$")
        self.assertNotEqual(env["ephemeralKey"], env["encryptionKey"])
        self.assertRegex(env["nonce"], r"^[0-9a-f]{24}$")
        ct = base64.b64decode(env["ciphertext"], validate=True)
        self.assertEqual(base64.b64encode(ct).decode(), env["ciphertext"])  # canonical
        self.assertEqual(len(ct), value_len + 16)

    def assertRefused(self, rc, out, err, *phrases, code=1):
        self.assertEqual(rc, code, err)
        self.assertEqual(out, "")
        for p in phrases:
            self.assertIn(p, err)
        self.assertNotIn(VALUE, err)

    # ------------------------------------------------------------------ success
    def test_envelope_from_a_file(self):
        value = self.write("value.txt", VALUE)
        rc, out, err = self.encrypt("--value-file", value, "--nonce", self.nonce, *self.sim())
        self.assertEqual(rc, 0, err)
        env = json.loads(out)
        self.assertEnvelope(env, len(VALUE))
        self.assertNotIn(VALUE, out + err)
        # The key is the one the daemon publishes, and simulation is called out.
        info = self.d.request("GET", "/api/v1/tee-info").json["data"]
        self.assertEqual(env["encryptionKey"], info["encryptionKey"])
        self.assertIn("simulation TEE", err)
        # A fresh one-time key and nonce every time.
        rc, out2, err = self.encrypt("--value-file", value, *self.sim())
        self.assertEqual(rc, 0, err)
        env2 = json.loads(out2)
        self.assertNotEqual(env["ephemeralKey"], env2["ephemeralKey"])
        self.assertNotEqual(env["ciphertext"], env2["ciphertext"])

    def test_envelope_from_stdin_and_the_response_envelope(self):
        # The proof as GET /api/v1/attestation answers it (the API envelope) works too.
        r = self.d.request("GET", "/api/v1/attestation")
        self.assertEqual(r.status, 200)
        path = self.write("proof-response.json", r.json)
        rc, out, err = self.encrypt(*self.sim(), proof=path, stdin=VALUE.encode() + b"\n")
        self.assertEqual(rc, 0, err)
        self.assertEnvelope(json.loads(out), len(VALUE) + 1, proof=r.json["data"])  # newline kept
        for stdin, n in ((b"abc\n", 3), (b"abc\r\n", 3), (b"abc\n\n", 4), (b"abc", 3)):
            rc, out, err = self.encrypt("--strip-newline", *self.sim(), proof=path, stdin=stdin)
            self.assertEqual(rc, 0, err)
            self.assertEnvelope(json.loads(out), n, proof=r.json["data"])
        # UTF-8 beyond ASCII; the largest value by default is 4096 bytes.
        utf8 = "p\u00e4ss \u2713 \U0001f511".encode()
        rc, out, err = self.encrypt(*self.sim(), stdin=utf8)
        self.assertEqual(rc, 0, err)
        self.assertEnvelope(json.loads(out), len(utf8))
        rc, out, err = self.encrypt(*self.sim(), stdin=b"v" * 4096)
        self.assertEqual(rc, 0, err)
        self.assertEnvelope(json.loads(out), 4096)

    def test_body_option(self):
        rc, out, err = self.encrypt("--body", *self.sim(), stdin=VALUE.encode())
        self.assertEqual(rc, 0, err)
        body = json.loads(out)
        self.assertEqual(list(body), ["encryptedValue"])
        self.assertEnvelope(body["encryptedValue"], len(VALUE))

    def test_value_from_a_terminal_is_not_echoed(self):
        master, slave = pty.openpty()
        path = self.write("proof-tty.json", self.proof)
        p = subprocess.Popen([NCSL, "encrypt-secret", "--proof", path, "--user", USER,
                              "--name", "TTY", *self.sim()],
                             stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(slave)
        try:
            # Type only once the prompt is there (echo is off by then).
            err = b""
            deadline = time.monotonic() + 30
            while b"secret value" not in err and time.monotonic() < deadline:
                r, _, _ = select.select([p.stderr], [], [], 1)
                if r:
                    chunk = os.read(p.stderr.fileno(), 4096)
                    if not chunk:
                        break
                    err += chunk
            self.assertIn(b"input hidden", err)
            os.write(master, b"tty-s3cret\n")
            out, rest = p.communicate(timeout=30)
            err += rest
            echoed = b""
            while select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                echoed += chunk
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(master)
        self.assertEqual(p.returncode, 0, err)
        self.assertNotIn(b"tty-s3cret", echoed + err + out)
        self.assertEnvelope(json.loads(out), len("tty-s3cret"))  # the line end is not included

    # ------------------------------------------------------------------ refused proofs
    def test_simulation_needs_the_flag(self):
        value = self.write("value-sim.txt", VALUE)
        rc, out, err = self.encrypt("--value-file", value)
        self.assertRefused(rc, out, err, "not valid, refusing to encrypt", "--allow-simulation")

    def test_tampered_proofs_are_refused(self):
        value = self.write("value-tamper.txt", VALUE)
        # An attacker's encryption key substituted into a genuine proof: reportData no longer
        # matches, so nothing is encrypted to the attacker.
        for field in ("encryptionKey", "signingKey", "reportData", "mrEnclave", "nonce"):
            p = dict(self.proof)
            v = p[field] or "00"
            p[field] = ("1" if v[0] != "1" else "2") + v[1:]
            rc, out, err = self.encrypt("--value-file", value, *self.sim(), proof=p)
            self.assertRefused(rc, out, err, "not valid, refusing to encrypt")
        # The quote itself changed.
        p = dict(self.proof)
        q = bytearray(base64.b64decode(p["quote"]))
        q[100] ^= 1
        p["quote"] = base64.b64encode(bytes(q)).decode()
        rc, out, err = self.encrypt("--value-file", value, *self.sim(), proof=p)
        self.assertRefused(rc, out, err, "not valid, refusing to encrypt")
        # A field missing, not JSON, not a proof at all.
        p = dict(self.proof)
        del p["encryptionKey"]
        rc, out, err = self.encrypt("--value-file", value, *self.sim(), proof=p)
        self.assertRefused(rc, out, err, "not valid", "encryptionKey")
        rc, out, err = self.encrypt("--value-file", value, *self.sim(),
                                    proof=self.write("junk.json", "{not json"))
        self.assertRefused(rc, out, err, "not a JSON proof")

    def test_other_installation_and_stale_nonce_are_refused(self):
        value = self.write("value-other.txt", VALUE)
        rc, out, err = ncsl("attest", "--data-dir", self.other.data_dir)
        self.assertEqual(rc, 0, err)
        foreign = json.loads(out)
        # Checked against our installation's simulation root: refused.
        rc, out, err = self.encrypt("--value-file", value, *self.sim(), proof=foreign)
        self.assertRefused(rc, out, err, "not valid, refusing to encrypt")
        # Against its own, accepted (and made for its key, not ours).
        rc, out, err = self.encrypt("--value-file", value, *self.sim(self.other), proof=foreign)
        self.assertEqual(rc, 0, err)
        self.assertEnvelope(json.loads(out), len(VALUE), proof=foreign)
        # A proof for another nonce than the one expected.
        rc, out, err = self.encrypt("--value-file", value, "--nonce", "00" * 16, *self.sim())
        self.assertRefused(rc, out, err, "not valid, refusing to encrypt", "nonce")

    def test_proof_is_checked_before_the_value_is_read(self):
        missing = os.path.join(self.tmp, "no-such-value")
        rc, out, err = self.encrypt("--value-file", missing)  # no --allow-simulation
        self.assertRefused(rc, out, err, "refusing to encrypt")
        self.assertNotIn("no-such-value", err)
        rc, out, err = self.encrypt("--value-file", missing, *self.sim())
        self.assertRefused(rc, out, err, "cannot read the value", "no-such-value")

    # ------------------------------------------------------------------ refused values
    def test_bad_values(self):
        big = self.write("big.txt", b"v" * 4097)
        cases = (
            (["--value-file", big], b"", "more than 4096"),
            (["--value-file", big, "--max-size", "100"], b"", "larger than 100"),
            ([], b"", "is empty"),
            (["--strip-newline"], b"\n", "is empty"),
            ([], b"\xff\xfe" + VALUE.encode(), "UTF-8"),
            ([], VALUE.encode() + b"\x00x", "UTF-8"),
        )
        for args, stdin, phrase in cases:
            rc, out, err = self.encrypt(*args, *self.sim(), stdin=stdin)
            self.assertRefused(rc, out, err, phrase)
        # A larger limit lets a larger value through.
        rc, out, err = self.encrypt("--value-file", big, "--max-size", "8192", *self.sim())
        self.assertEqual(rc, 0, err)
        self.assertEnvelope(json.loads(out), 4097)

    def test_usage_errors(self):
        p = self.write("proof-usage.json", self.proof)
        good = ["--proof", p, "--user", USER, "--name", "API_KEY"]
        cases = (
            (["--user", USER, "--name", "A"], "--proof"),
            (["--proof", p, "--name", "A"], "--user"),
            (["--proof", p, "--user", USER], "--name"),
            (["--proof", p, "--user", "alice", "--name", "A"], "--user"),
            (["--proof", p, "--user", "ncsl_" + "A" * 43, "--name", "A"], "--user"),
            (["--proof", p, "--user", USER + "0", "--name", "A"], "--user"),
            (["--proof", p, "--user", USER, "--name", "1ABC"], "--name"),
            (["--proof", p, "--user", USER, "--name", "A-B"], "--name"),
            (["--proof", p, "--user", USER, "--name", "A" * 65], "--name"),
            (["--proof", p, "--user", USER, "--name", ""], "--name"),
            (good + ["--max-size", "0"], "--max-size"),
            (good + ["--max-size", "16777217"], "--max-size"),
            (good + ["--max-size", "-1"], "--max-size"),
            (good + ["--nonce", "xyz"], "--nonce"),
            (good + ["--data-dir", self.d.data_dir], "--allow-simulation"),
            (good + ["extra"], "extra"),
            (good + ["--value", VALUE], "--value"),
            (["--proof", "-", "--user", USER, "--name", "A"], "stdin"),
        )
        for args, phrase in cases:
            rc, out, err = ncsl("encrypt-secret", *args)
            self.assertEqual(rc, 2, (args, err))
            self.assertEqual(out, "", args)
            self.assertIn(phrase, err, args)
            self.assertNotIn(VALUE, err)
        # An uppercase UUID is the same user.
        rc, out, err = ncsl("encrypt-secret", "--proof", p, "--user", USER.upper(), "--name", "A",
                            *self.sim(), stdin=VALUE.encode())
        self.assertEqual(rc, 0, err)
        # Listed in `ncsl --help`.
        rc, out, err = ncsl("--help")
        self.assertIn("encrypt-secret", out)


class DocumentedVector(unittest.TestCase):
    """docs/secrets.md's worked example, recomputed by an independent implementation."""

    def test_known_answer_vector(self):
        try:
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric.x25519 import (X25519PrivateKey,
                                                                          X25519PublicKey)
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
            from cryptography.hazmat.primitives.kdf.hkdf import HKDF
        except ImportError:
            self.skipTest("Python's cryptography package is not installed")

        def raw(pub):
            return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

        enclave = X25519PrivateKey.from_private_bytes(bytes.fromhex(KAT["enclave_priv"]))
        eph = X25519PrivateKey.from_private_bytes(bytes.fromhex(KAT["eph_priv"]))
        enc_pub, eph_pub = raw(enclave.public_key()), raw(eph.public_key())
        shared = eph.exchange(X25519PublicKey.from_public_bytes(enc_pub))
        self.assertEqual(shared.hex(), KAT["shared"])
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + enc_pub,
                   info=ALG.encode()).derive(shared)
        self.assertEqual(key.hex(), KAT["key"])
        aad = (b"ncsl-secret-v1\x00" + KAT["user"].encode() + b"\x00" + KAT["name"].encode())
        nonce = bytes.fromhex(KAT["nonce"])
        ct = AESGCM(key).encrypt(nonce, KAT["value"], aad)
        env = {"alg": ALG, "encryptionKey": enc_pub.hex(), "ephemeralKey": eph_pub.hex(),
               "nonce": nonce.hex(), "ciphertext": base64.b64encode(ct).decode()}
        self.assertEqual(env, KAT["envelope"])
        # The enclave's side: the same key from its private key and the ephemeral public key.
        shared2 = enclave.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        self.assertEqual(AESGCM(key).decrypt(nonce, ct, aad), KAT["value"])
        self.assertEqual(shared2, shared)
        # The docs show the same envelope.
        docs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                            "secrets.md")
        with open(docs) as f:
            text = f.read()
        for k, v in KAT["envelope"].items():
            self.assertRegex(text, re.escape('"%s": "%s"' % (k, v)))
        for k in ("shared", "key"):
            self.assertIn(KAT[k], text)


if __name__ == "__main__":
    unittest.main()
