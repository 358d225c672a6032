"""End-to-end tests of the `ncsl` trust commands against running daemons: `ncsl attest`,
`ncsl verify`, `ncsl verify-receipt`, and `ncsl verify-quote --collateral` on the real quotes.

Two simulation installations (two ncsld with their own data dirs) show that a proof or a receipt
of one is not accepted as the other's. Python 3 standard library only.
Run: NCSLD=... NCSL=... SGX_TESTDATA=... python3 -m unittest -v test_trust_cli
"""

import base64
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from test_e2e import Daemon, DaemonTestCase, TwoInstallationsTestCase, closed_port, run_cmd

NCSL = os.environ.get("NCSL", "")
SGX_TESTDATA = os.environ.get("SGX_TESTDATA", "")
CANONICAL = "function main(input) { return { result: input.value * 2 }; }"


def setUpModule():
    for name, path in (("NCSLD", os.environ.get("NCSLD", "")), ("NCSL", NCSL)):
        if not path or not os.access(path, os.X_OK):
            raise unittest.SkipTest("set %s to the executable to run the trust CLI tests" % name)


def ncsl(*args, stdin=b""):
    """Runs `ncsl ARGS`; returns (exit code, stdout text, stderr text)."""
    return run_cmd([NCSL, *args], stdin=stdin)


def flip_hex_digit(value, index=0):
    """`value` with the hex digit at `index` changed (still lowercase hex)."""
    c = value[index]
    return value[:index] + ("1" if c != "1" else "2") + value[index + 1:]


class TrustCommands(TwoInstallationsTestCase):
    """One daemon under test (self.d) and a second installation (cls.other) for foreign proofs
    and receipts."""

    TMP_PREFIX = 'ncsl-trust-cli-'

    # ------------------------------------------------------------------ helpers
    def write(self, name, content):
        path = os.path.join(self.tmp, name)
        with open(path, "wb" if isinstance(content, bytes) else "w") as f:
            if isinstance(content, (dict, list)):
                json.dump(content, f)
            else:
                f.write(content)
        return path

    def attest(self, daemon=None, nonce=None):
        """A proof fetched with `ncsl attest` from `daemon` (default: self.d)."""
        daemon = daemon or self.d
        args = ["attest", "--data-dir", daemon.data_dir]
        if nonce is not None:
            args += ["--nonce", nonce]
        rc, out, err = ncsl(*args)
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def verify(self, proof, *args, daemon=None):
        """`ncsl verify` of `proof` (a dict, or a path); returns (rc, verdict or None, stderr)."""
        path = proof if isinstance(proof, str) else self.write("proof.json", proof)
        rc, out, err = ncsl("verify", path, *args)
        return rc, (json.loads(out) if out else None), err

    def sim(self, daemon=None):
        """The options that accept simulation proofs of `daemon`'s installation."""
        return ["--allow-simulation", "--data-dir", (daemon or self.d).data_dir]

    def execute(self, daemon=None):
        r = (daemon or self.d).execute(CANONICAL, input='{"value":21}', functionId="fn-cli",
                                       userId="user-cli")
        self.assertEqual(r.status, 200, r)
        self.assertIn("receipt", r.json["data"], "executions carry no receipt yet")
        return r

    def verify_receipt(self, receipt, *args):
        path = receipt if isinstance(receipt, str) else self.write("receipt.json", receipt)
        rc, out, err = ncsl("verify-receipt", path, *args)
        return rc, (json.loads(out) if out else None), err

    # ------------------------------------------------------------------ attest
    def test_attest_with_a_nonce(self):
        nonce = os.urandom(32).hex()
        p = self.attest(nonce=nonce.upper())  # any case in, lowercase in the proof
        self.assertEqual(p["nonce"], nonce)
        self.assertEqual(p["teeType"], "simulation")
        for key in ("version", "enclaveId", "mrEnclave", "mrSigner", "isvProdId", "isvSvn",
                    "debug", "signingKey", "encryptionKey", "reportData", "quote", "timestamp"):
            self.assertIn(key, p)
        info = self.d.request("GET", "/api/v1/tee-info").json["data"]
        self.assertEqual(p["signingKey"], info["signingKey"])
        # reportData binds this nonce, recomputed here independently of the C code.
        h = hashlib.sha256(b"NCSL-ATTEST-v1" + bytes.fromhex(nonce) +
                           bytes.fromhex(p["signingKey"]) +
                           bytes.fromhex(p["encryptionKey"])).hexdigest()
        self.assertEqual(p["reportData"], h + "00" * 32)

    def test_attest_without_a_nonce_by_url_and_to_a_file(self):
        self.assertEqual(self.attest()["nonce"], "")
        out = os.path.join(self.tmp, "attest-out.json")
        rc, stdout, err = ncsl("attest", "--url", self.d.url + "/", "--nonce", "00ff",
                               "--out", out)
        self.assertEqual(rc, 0, err)
        self.assertEqual(stdout, "")
        with open(out) as f:
            p = json.load(f)
        self.assertEqual(p["nonce"], "00ff")
        rc, v, err = self.verify(out, *self.sim(), "--nonce", "00ff")
        self.assertEqual(rc, 0, (v, err))

    def test_attest_failures_are_clear(self):
        port = closed_port()
        rc, out, err = ncsl("attest", "--url", "http://127.0.0.1:%d" % port)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("ncsld does not run at http://127.0.0.1:%d" % port, err)
        # No ncsld.url in an empty data dir and nothing on the configured port: same message.
        empty = tempfile.mkdtemp(dir=self.tmp)
        cfg = self.write("attest-config.json", {"Server": {"Listen": "127.0.0.1:%d" % port}})
        rc, out, err = ncsl("attest", "--data-dir", empty, "--config", cfg)
        self.assertEqual(rc, 1)
        self.assertIn("ncsld does not run at http://127.0.0.1:%d" % port, err)
        # An error envelope: the server's code and message are shown.
        rc, out, err = ncsl("attest", "--url", self.d.url + "/no/such/prefix")
        self.assertEqual(rc, 1)
        self.assertIn("HTTP 404", err)
        self.assertIn("NOT_FOUND", err)

    def test_attest_usage_errors(self):
        url = ["--url", self.d.url]
        for args, opt in ((url + ["--nonce", "xyz"], "--nonce"),
                          (url + ["--nonce", "abc"], "--nonce"),
                          (url + ["--nonce", "ab" * 65], "--nonce"),
                          (url + ["--timeout", "0"], "--timeout"),
                          (url + ["--bogus"], "--bogus"),
                          (url + ["extra"], "extra"),
                          (url + ["--data-dir", self.d.data_dir], "--url"),
                          (["--url", "ftp://127.0.0.1/"], "--url"),
                          (url + ["--nonce"], "--nonce")):
            rc, out, err = ncsl("attest", *args)
            self.assertEqual(rc, 2, (args, err))
            self.assertEqual(out, "", args)
            self.assertIn(opt, err, args)

    # ------------------------------------------------------------------ verify
    def test_verify_simulation_proof_when_allowed(self):
        nonce = os.urandom(16).hex()
        p = self.attest(nonce=nonce)
        rc, v, err = self.verify(p, *self.sim(), "--nonce", nonce,
                                 "--expect-mrenclave", p["mrEnclave"],
                                 "--expect-mrsigner", p["mrSigner"])
        self.assertEqual(rc, 0, (v, err))
        self.assertIs(v["valid"], True)
        self.assertIsNone(v["reason"])
        self.assertEqual(v["verifiedTeeKind"], "simulation")
        self.assertEqual(v["signingKey"], p["signingKey"])
        self.assertEqual(v["nonce"], nonce)
        self.assertTrue(v["reportDataMatches"])

    def test_verify_refuses_simulation_without_the_flag(self):
        rc, v, err = self.verify(self.attest(nonce="aa"))
        self.assertEqual(rc, 1, err)
        self.assertIs(v["valid"], False)
        self.assertIn("simulation is not allowed", v["reason"])
        self.assertIn("--allow-simulation", v["reason"])
        self.assertIsNone(v["verifiedTeeKind"])

    def test_verify_rejects_a_wrong_nonce_and_a_wrong_measurement(self):
        p = self.attest(nonce="0102")
        for args in (["--nonce", "0103"], ["--nonce", ""],
                     ["--expect-mrenclave", flip_hex_digit(p["mrEnclave"], 5)],
                     ["--expect-mrsigner", "00" * 32]):
            rc, v, err = self.verify(p, *self.sim(), *args)
            self.assertEqual(rc, 1, (args, v, err))
            self.assertIs(v["valid"], False, args)
            self.assertEqual(v["failedCheck"], "expected", args)
            self.assertTrue(v["reason"], args)
        # A proof made without a nonce does not pass for one that was sent.
        rc, v, _ = self.verify(self.attest(), *self.sim(), "--nonce", "0102")
        self.assertEqual(rc, 1)

    def test_verify_rejects_tampered_proofs(self):
        p = self.attest(nonce="beef")
        rc, v, err = self.verify(p, *self.sim(), "--nonce", "beef")
        self.assertEqual(rc, 0, (v, err))  # the untampered proof passes with the same options
        raw = bytearray(base64.b64decode(p["quote"]))
        raw[200] ^= 0x01  # inside the enclave's report body
        cases = {
            "reportData": dict(p, reportData=flip_hex_digit(p["reportData"], 7)),
            "signingKey": dict(p, signingKey=flip_hex_digit(p["signingKey"], 20)),
            "encryptionKey": dict(p, encryptionKey=flip_hex_digit(p["encryptionKey"], 3)),
            "quote": dict(p, quote=base64.b64encode(bytes(raw)).decode()),
            "teeType": dict(p, teeType="sgx-occlum"),
        }
        for name, q in cases.items():
            rc, v, err = self.verify(q, *self.sim(), "--nonce", "beef")
            self.assertEqual(rc, 1, (name, v, err))
            self.assertIs(v["valid"], False, name)
            self.assertTrue(v["reason"], name)

    def test_a_proof_of_another_installation_fails_against_this_root(self):
        foreign = self.attest(daemon=self.other, nonce="77")
        rc, v, err = self.verify(foreign, *self.sim(self.other), "--nonce", "77")
        self.assertEqual(rc, 0, (v, err))  # valid against its own installation's root
        rc, v, err = self.verify(foreign, *self.sim(), "--nonce", "77")
        self.assertEqual(rc, 1, (v, err))
        self.assertIs(v["valid"], False)
        self.assertEqual(v["failedCheck"], "quote")
        self.assertIn("simulation root", v["reason"])
        # The same with the root given as a file.
        root = os.path.join(self.d.data_dir, "tee", "sim_root_ca.pem")
        rc, v, err = self.verify(foreign, "--allow-simulation", "--simulation-root", root)
        self.assertEqual(rc, 1, (v, err))

    def test_envelope_form_and_stdin(self):
        r = self.d.request("GET", "/api/v1/attestation?nonce=c0ffee")
        self.assertEqual(r.status, 200, r)
        path = self.write("envelope.json", r.raw)
        rc, v, err = self.verify(path, *self.sim(), "--nonce", "c0ffee")
        self.assertEqual(rc, 0, (v, err))
        self.assertIs(v["valid"], True)
        rc, out, err = ncsl("verify", "-", *self.sim(), "--nonce", "c0ffee", stdin=r.raw)
        self.assertEqual(rc, 0, err)
        self.assertIs(json.loads(out)["valid"], True)
        # An error response is not a proof: its code and message are shown.
        r = self.d.request("GET", "/api/v1/attestation?nonce=xyz")
        self.assertEqual(r.status, 400, r)
        rc, out, err = ncsl("verify", self.write("error.json", r.raw), *self.sim())
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("VALIDATION_ERROR", err)

    def test_unreadable_and_malformed_proofs(self):
        rc, out, err = ncsl("verify", os.path.join(self.tmp, "missing.json"))
        self.assertEqual(rc, 1)
        self.assertIn("cannot read", err)
        rc, out, err = ncsl("verify", self.write("not-json.json", "{\"version\":"))
        self.assertEqual(rc, 1)
        self.assertIn("not a JSON proof", err)
        rc, out, err = ncsl("verify", self.write("array.json", "[1]"))
        self.assertEqual(rc, 1)
        self.assertIn("JSON object", err)
        dup = '{"version":1,"version":1}'
        rc, out, err = ncsl("verify", self.write("dup.json", dup))
        self.assertEqual(rc, 1)
        self.assertIn("duplicate", err)
        p = self.attest()
        del p["quote"]
        rc, v, err = self.verify(p, *self.sim())
        self.assertEqual(rc, 1)
        self.assertEqual(v["failedCheck"], "format")
        self.assertEqual(v["field"], "quote")

    def test_verify_usage_errors_name_the_option(self):
        proof = self.write("usage-proof.json", {})
        for args, opt in ((["verify"], "PROOF.json"),
                          (["verify", proof, proof], proof),
                          (["verify", proof, "--nonce", "zz"], "--nonce"),
                          (["verify", proof, "--nonce", "ab" * 65], "--nonce"),
                          (["verify", proof, "--expect-mrenclave", "abcd"], "--expect-mrenclave"),
                          (["verify", proof, "--expect-mrsigner", "x" * 64], "--expect-mrsigner"),
                          (["verify", proof, "--at", "tomorrow"], "--at"),
                          (["verify", proof, "--data-dir", self.d.data_dir], "--allow-simulation"),
                          (["verify", proof, "--allow-simulation", "--data-dir", "a",
                            "--simulation-root", "b"], "--simulation-root"),
                          (["verify", proof, "--allow-simulation=yes"], "--allow-simulation"),
                          (["verify", proof, "--surprise"], "--surprise"),
                          (["verify-receipt"], "RECEIPT.json"),
                          (["verify-receipt", proof, "--allow-simulation"], "--proof"),
                          (["verify-receipt", proof, "--nonce", "aa"], "--proof"),
                          (["verify-receipt", proof, "--proof", proof, "--nonce", "q"], "--nonce"),
                          (["verify-receipt", "-", "--proof", "-"], "stdin"),
                          (["verify-quote", "q.bin", "--at", "soon"], "--at")):
            rc, out, err = ncsl(*args)
            self.assertEqual(rc, 2, (args, err))
            self.assertEqual(out, "", args)
            self.assertIn(opt, err, args)

    def test_help_lists_every_option(self):
        proof_opts = ["--allow-simulation", "--simulation-root", "--data-dir", "--config",
                      "--at", "--root", "--collateral"]
        expected = {
            "attest": ["--nonce", "--url", "--data-dir", "--config", "--out", "--timeout"],
            "verify": proof_opts + ["--nonce", "--expect-mrenclave", "--expect-mrsigner",
                                    "--allow-debug"],
            "verify-receipt": proof_opts + ["--proof", "--nonce", "--expect-mrenclave",
                                            "--expect-mrsigner", "--allow-debug"],
            "verify-quote": proof_opts,
        }
        for cmd, opts in expected.items():
            rc, out, err = ncsl(cmd, "--help")
            self.assertEqual(rc, 0, (cmd, err))
            for opt in opts + ["--help"]:
                self.assertIn(opt, out, (cmd, opt))
        rc, out, _ = ncsl("--help")
        for cmd in expected:
            self.assertIn("  " + cmd + " ", out)

    # ------------------------------------------------------------------ verify-receipt
    def test_receipt_of_an_execution_verifies_and_is_attested_with_the_proof(self):
        r = self.execute()
        receipt = r.json["data"]["receipt"]
        info = self.d.request("GET", "/api/v1/tee-info").json["data"]
        # The whole response, as saved from the API.
        rc, v, err = self.verify_receipt(self.write("response.json", r.raw))
        self.assertEqual(rc, 0, (v, err))
        self.assertIs(v["valid"], True)
        self.assertIs(v["signatureValid"], True)
        self.assertIs(v["attested"], False)  # no proof given: nobody vouches for the key
        self.assertIsNone(v["proof"])
        self.assertEqual(v["executionId"], r.json["data"]["executionId"])
        self.assertEqual(v["signingKey"], info["signingKey"])
        self.assertEqual(v["neoAddress"], info["neoAddress"])
        # The bare receipt and the data object, with a proof of this enclave.
        nonce = os.urandom(8).hex()
        proof = self.write("receipt-proof.json", self.attest(nonce=nonce))
        for doc in (receipt, r.json["data"]):
            rc, v, err = self.verify_receipt(doc, "--proof", proof, *self.sim(),
                                             "--nonce", nonce)
            self.assertEqual(rc, 0, (v, err))
            self.assertIs(v["valid"], True)
            self.assertIs(v["attested"], True)
            self.assertIs(v["proof"]["valid"], True)
            self.assertEqual(v["proof"]["signingKey"], receipt["signingKey"])
        # A simulation proof without --allow-simulation: the receipt is not attested.
        rc, v, err = self.verify_receipt(receipt, "--proof", proof)
        self.assertEqual(rc, 1, (v, err))
        self.assertIs(v["attested"], False)
        self.assertIn("--allow-simulation", v["reason"])

    def test_tampered_receipts_are_rejected(self):
        receipt = self.execute().json["data"]["receipt"]
        for field, value in (("outputHash", flip_hex_digit(receipt["outputHash"], 10)),
                             ("timestamp", "2020-01-01T00:00:00.000Z"),
                             ("executionId", receipt["executionId"][:-1] + "0"
                              if receipt["executionId"][-1] != "0"
                              else receipt["executionId"][:-1] + "1"),
                             ("signature", flip_hex_digit(receipt["signature"], 70))):
            rc, v, err = self.verify_receipt(dict(receipt, **{field: value}))
            self.assertEqual(rc, 1, (field, v, err))
            self.assertIs(v["valid"], False, field)
            self.assertIs(v["signatureValid"], False, field)
            self.assertTrue(v["reason"], field)
        rc, v, err = self.verify_receipt(dict(receipt, outputHash="XYZ"))
        self.assertEqual(rc, 1)
        self.assertIn("malformed", v["reason"])
        self.assertEqual(v["field"], "outputHash")

    def test_a_receipt_checked_against_another_enclaves_proof_is_not_attested(self):
        receipt = self.execute().json["data"]["receipt"]
        foreign = self.write("foreign-proof.json", self.attest(daemon=self.other))
        rc, v, err = self.verify_receipt(receipt, "--proof", foreign, *self.sim(self.other))
        self.assertEqual(rc, 1, (v, err))
        self.assertIs(v["signatureValid"], True)
        self.assertIs(v["proof"]["valid"], True)  # a good proof, of another enclave
        self.assertIs(v["attested"], False)
        self.assertIs(v["valid"], False)
        self.assertIn("not signed by the attested enclave key", v["reason"])
        # And the other daemon's own receipt is attested by its proof.
        r = self.execute(daemon=self.other)
        rc, v, err = self.verify_receipt(r.json["data"]["receipt"], "--proof", foreign,
                                         *self.sim(self.other))
        self.assertEqual(rc, 0, (v, err))
        self.assertIs(v["attested"], True)

    def test_a_failed_runs_receipt_is_read_from_the_error_response(self):
        r = self.d.execute("function main(){ throw new TypeError('nope'); }")
        self.assertEqual(r.status, 422, r)
        self.assertIn("receipt", r.json["error"].get("details", {}), "no receipt on failures")
        rc, v, err = self.verify_receipt(self.write("failed.json", r.raw))
        self.assertEqual(rc, 0, (v, err))
        self.assertIs(v["valid"], True)
        # An error response without a receipt is reported as the server's error.
        r = self.d.request("GET", "/api/v1/attestation?nonce=xyz")
        rc, out, err = ncsl("verify-receipt", self.write("no-receipt.json", r.raw))
        self.assertEqual(rc, 1)
        self.assertIn("VALIDATION_ERROR", err)

    # ------------------------------------------------------------------ verify-quote
    def test_verify_quote_of_a_simulation_quote(self):
        p = self.attest(nonce="01")
        quote = self.write("sim-quote.bin", base64.b64decode(p["quote"]))
        rc, out, err = ncsl("verify-quote", quote)
        self.assertEqual(rc, 1, err)
        v = json.loads(out)
        self.assertIn("--allow-simulation", v["reason"])
        rc, out, err = ncsl("verify-quote", quote, *self.sim())
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["teeType"], "simulation")
        rc, out, err = ncsl("verify-quote", quote, *self.sim(self.other))
        self.assertEqual(rc, 1, err)


class _StubHandler(http.server.BaseHTTPRequestHandler):
    """Answers that a real ncsld never gives, by path prefix."""

    def do_GET(self):
        if self.path.startswith("/big/"):
            body = b"{" + b" " * (2 << 20) + b"}"
        elif self.path.startswith("/html/"):
            body = b"<html>not json</html>"
        elif self.path.startswith("/other-nonce/"):
            body = json.dumps({"success": True, "data": {"nonce": "ff"}}).encode()
        else:
            body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up, as it should for /big/

    def log_message(self, *args):
        pass


class AttestAgainstMisbehavingServers(unittest.TestCase):
    """`ncsl attest` bounds what it waits for and reads, and checks what it got is a proof for
    the nonce it sent (a stub HTTP server, and a socket that never answers)."""

    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = "http://127.0.0.1:%d" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_oversized_non_json_and_foreign_answers_fail(self):
        for prefix, message in (("/big", "larger than"), ("/html", "not an ncsld response"),
                                ("/other-nonce", "another nonce")):
            rc, out, err = ncsl("attest", "--url", self.url + prefix, "--nonce", "aa")
            self.assertEqual(rc, 1, (prefix, err))
            self.assertEqual(out, "", prefix)
            self.assertIn(message, err, prefix)

    def test_a_server_that_never_answers_times_out(self):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", 0))
            s.listen(1)  # the kernel completes the handshake; nobody ever answers
            url = "http://127.0.0.1:%d" % s.getsockname()[1]
            rc, out, err = ncsl("attest", "--url", url, "--timeout", "1")
            self.assertEqual(rc, 1, err)
            self.assertIn("no answer from %s/api/v1/attestation within 1 s" % url, err)
        finally:
            s.close()


@unittest.skipUnless(SGX_TESTDATA and os.path.isdir(SGX_TESTDATA), "SGX_TESTDATA not set")
class CollateralOption(unittest.TestCase):
    """--collateral DIR on the real Phala quote and its collateral (valid 2025-06-19 to
    2025-07-19, so checked as of 2025-07-01)."""

    AT = "2025-07-01T00:00:00Z"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="ncsl-collateral-")
        src = os.path.join(SGX_TESTDATA, "collateral")
        cls.quote = os.path.join(SGX_TESTDATA, "quote-phala-1.bin")
        cls.bundle = os.path.join(cls.tmp, "bundle")
        os.mkdir(cls.bundle)
        shutil.copy(os.path.join(src, "phala-sgx_quote_collateral.json"),
                    os.path.join(cls.bundle, "sgx_quote_collateral.json"))
        cls.files = os.path.join(cls.tmp, "files")
        os.mkdir(cls.files)
        for theirs, ours in (("phala-tcb_info.json", "tcb_info.json"),
                             ("phala-tcb_info.sig", "tcb_info.sig"),
                             ("phala-qe_identity.json", "qe_identity.json"),
                             ("phala-qe_identity.sig", "qe_identity.sig"),
                             ("phala-tcb_info_issuer_chain.pem", "tcb_signing_chain.pem"),
                             ("phala-root_ca_crl.der", "root_ca_crl.der"),
                             ("phala-pck_processor_ca_crl.der", "pck_ca_crl.der")):
            shutil.copy(os.path.join(src, theirs), os.path.join(cls.files, ours))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_tcb_status_is_reported_for_both_layouts(self):
        for d in (self.bundle, self.files):
            rc, out, err = ncsl("verify-quote", self.quote, "--collateral", d, "--at", self.AT)
            self.assertEqual(rc, 0, (d, out, err))
            v = json.loads(out)
            self.assertIs(v["valid"], True)
            self.assertIs(v["collateralChecked"], True)
            self.assertEqual(v["tcbStatus"], "ConfigurationAndSWHardeningNeeded")
            self.assertEqual(v["qeTcbStatus"], "UpToDate")
            self.assertEqual(v["advisoryIds"], ["INTEL-SA-00289", "INTEL-SA-00615"])
            self.assertIs(v["collateralExpired"], False)
        # Without collateral the TCB is not judged and not reported.
        rc, out, err = ncsl("verify-quote", self.quote, "--at", self.AT)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("tcbStatus", json.loads(out))

    def test_expired_missing_and_tampered_collateral_fail(self):
        rc, out, err = ncsl("verify-quote", self.quote, "--collateral", self.bundle,
                            "--at", "2026-11-24T00:00:00Z")
        self.assertEqual(rc, 1, err)
        v = json.loads(out)
        self.assertIs(v["valid"], False)
        self.assertIs(v["collateralExpired"], True)
        self.assertIn("expired", v["reason"])
        rc, out, err = ncsl("verify-quote", self.quote, "--collateral",
                            os.path.join(self.tmp, "none"))
        self.assertEqual(rc, 1)
        self.assertIn("--collateral", err)
        partial = os.path.join(self.tmp, "partial")
        shutil.copytree(self.files, partial, dirs_exist_ok=True)
        os.unlink(os.path.join(partial, "pck_ca_crl.der"))
        rc, out, err = ncsl("verify-quote", self.quote, "--collateral", partial, "--at", self.AT)
        self.assertEqual(rc, 1)
        self.assertIn("pck_ca_crl", err)
        tampered = os.path.join(self.tmp, "tampered")
        shutil.copytree(self.files, tampered, dirs_exist_ok=True)
        path = os.path.join(tampered, "tcb_info.json")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("\"tcbEvaluationDataNumber\":17",
                                 "\"tcbEvaluationDataNumber\":18", 1))
        with open(path) as f:
            self.assertNotEqual(text, f.read())
        rc, out, err = ncsl("verify-quote", self.quote, "--collateral", tampered, "--at", self.AT)
        self.assertEqual(rc, 1, (out, err))
        self.assertIs(json.loads(out)["valid"], False)

    def test_verify_and_verify_receipt_take_the_option(self):
        # A hardware proof needs an enclave; here the option's loading is what is checked.
        rc, out, err = ncsl("verify", os.path.join(self.tmp, "missing.json"), "--collateral",
                            self.bundle)
        self.assertEqual(rc, 1)
        self.assertIn("cannot read", err)
        proof = os.path.join(self.tmp, "p.json")
        with open(proof, "w") as f:
            f.write("{}")
        rc, out, err = ncsl("verify", proof, "--collateral", os.path.join(self.tmp, "none"))
        self.assertEqual(rc, 1)
        self.assertIn("--collateral", err)
        rc, out, err = ncsl("verify", proof, "--collateral", self.bundle)
        self.assertEqual(rc, 1)
        v = json.loads(out)
        self.assertEqual(v["failedCheck"], "format")
        self.assertIn("tcbStatus", v)


if __name__ == "__main__":
    unittest.main()
