"""`ncsl check` and `ncsl occlum init|build` end to end (issue 8, items 1-3).

No SGX and no real `occlum` tool are needed: this machine is checked as what it is (simulation
only, skipped where SGX or Gramine is present), broken configurations and data dirs are built in
temporary directories, and the `occlum` tool is a fake script on PATH that records how it was
run. The generated Occlum.json is checked field by field against the Occlum 0.31 schema
(REFERENCE.md section 1) and against the values derived from each configuration, and the
binaries copied into image/ are run from there.

Python 3 standard library only. Run: NCSLD=... NCSL=... python3 -m unittest -v test_check_occlum
"""

import json
import os
import shutil
import stat
import struct
import subprocess
import tempfile
import time
import unittest

NCSL = os.environ.get("NCSL", "")
NCSLD = os.environ.get("NCSLD", "")
NOBODY = 65534
PLAIN_PATH = "/usr/bin:/bin"
LIB_DIR = "image/opt/occlum/glibc/lib"

# The documented top-level keys of `ncsl check --json` (docs/cli.md); the shape only grows.
REPORT_KEYS = {"version", "ncslVersion", "config", "sgx", "occlum", "gramine", "occlumTool",
               "instance", "dataDir", "memory", "threads", "unusedSettings", "nodeJsPath", "tee",
               "verdict", "exitCode", "summary", "findings"}


def setUpModule():
    for name, path in (("NCSLD", NCSLD), ("NCSL", NCSL)):
        if not path or not os.access(path, os.X_OK):
            raise unittest.SkipTest("set %s to the executable" % name)


def run(args, env=None, cwd=None, user=None, timeout=60):
    """Runs `ncsl ARGS`; returns (exit code, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.pop("OCCLUM_SIMULATION", None)
    full_env["PATH"] = PLAIN_PATH
    full_env.update(env or {})
    if user is not None:
        # LeakSanitizer's stop-the-world needs ptrace, which an unprivileged user may not have
        full_env["ASAN_OPTIONS"] = full_env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"

    def drop():
        os.setgroups([])
        os.setgid(user)
        os.setuid(user)

    p = subprocess.run([NCSL, *args], capture_output=True, timeout=timeout, env=full_env,
                       cwd=cwd, preexec_fn=drop if user is not None else None)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def read_text(path):
    with open(path) as f:
        return f.read()


def load_json(path):
    with open(path) as f:
        return json.load(f)


def host_has_tee():
    return any(os.path.exists(p) for p in ("/dev/sgx_enclave", "/dev/sgx/enclave", "/dev/isgx",
                                           "/dev/attestation"))


def loader_list(loader, program, library_path=None):
    """{soname: resolved path} as the dynamic loader lists them (what `ldd` prints)."""
    args = [loader]
    if library_path:
        args += ["--library-path", library_path]
    out = subprocess.run(args + ["--list", program], capture_output=True, check=True,
                         timeout=60).stdout.decode()
    libs = {}
    for line in out.splitlines():
        parts = line.split()
        if not parts or parts[0].startswith("linux-vdso"):
            continue
        if "=>" in parts:
            libs[os.path.basename(parts[0])] = parts[parts.index("=>") + 1]
        else:
            libs[os.path.basename(parts[0])] = parts[0]
    return libs


def program_interpreter(path):
    """PT_INTERP of a 64-bit little-endian ELF program."""
    with open(path, "rb") as f:
        data = f.read()
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data,
                                                                 phoff + i * phentsize)
        if p_type == 3:  # PT_INTERP
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    raise AssertionError("%s has no PT_INTERP" % path)


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="ncsl-check-occlum-")
        os.chmod(self.tmp, 0o755)  # the uid-dropping tests walk into it
        self.fake_dir = os.path.join(self.tmp, "fakebin")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def config(self, doc, name="config.json"):
        p = self.path(name)
        with open(p, "w") as f:
            json.dump(doc, f)
        os.chmod(p, 0o644)
        return p

    def check(self, *args, env=None, user=None, cwd=None):
        """`ncsl check --json ARGS` -> (exit code, report, stderr)."""
        rc, out, err = run(["check", "--json", *args], env=env, user=user, cwd=cwd or self.tmp)
        self.assertTrue(out, "no report; stderr: " + err)
        report = json.loads(out)
        self.assertEqual(report["exitCode"], rc)
        return rc, report, err

    def errors(self, report, setting=None):
        return [f for f in report["findings"] if f["level"] == "error" and
                (setting is None or f["setting"] == setting)]

    def assert_error(self, report, setting, *words):
        """One error finding names `setting`, its message holds `words`, and it has a fix."""
        found = self.errors(report, setting)
        self.assertTrue(found, "no error for %s in %s" % (setting, report["findings"]))
        text = " ".join(f["message"] + " " + (f["fix"] or "") for f in found)
        for w in words:
            self.assertIn(w, text)
        for f in found:
            self.assertTrue(f["fix"], f)

    def fake_occlum(self, script):
        """An `occlum` on PATH that runs `script` (sh); returns the PATH to use."""
        os.makedirs(self.fake_dir, exist_ok=True)
        p = os.path.join(self.fake_dir, "occlum")
        with open(p, "w") as f:
            f.write("#!/bin/sh\n" + script)
        os.chmod(p, 0o755)
        return self.fake_dir + ":" + PLAIN_PATH

    def init(self, inst, *args, env=None, rc_want=0):
        rc, out, err = run(["occlum", "init", inst, "--ncsld", NCSLD, *args], env=env,
                           cwd=self.tmp)
        self.assertEqual(rc, rc_want, out + err)
        return out, err


# ---------------------------------------------------------------------------------- ncsl check

class TestCheck(Base):
    def test_this_machine_is_simulation_only(self):
        if host_has_tee():
            self.skipTest("this host has SGX or Gramine: not a simulation-only machine")
        rc, out, err = run(["check"], cwd=self.tmp)
        self.assertEqual(rc, 3, out + err)
        self.assertIn("Verdict: simulation only (usable, not confidential)", out)
        self.assertIn("no usable SGX device", out)
        self.assertIn("Tee.Type Auto -> simulation", out)
        self.assertIn("/dev/sgx_enclave       absent", out)
        rc, r, _ = self.check()
        self.assertEqual(rc, 3)
        self.assertTrue(REPORT_KEYS <= set(r), REPORT_KEYS - set(r))
        self.assertEqual(r["version"], 1)
        self.assertEqual(r["verdict"], "simulation")
        self.assertFalse(r["sgx"]["usable"])
        self.assertEqual([d["path"] for d in r["sgx"]["devices"]][:3],
                         ["/dev/sgx_enclave", "/dev/sgx_provision", "/dev/isgx"])
        for d in r["sgx"]["devices"]:
            self.assertEqual(set(d), {"path", "exists", "type", "readable", "writable"})
        self.assertFalse(r["occlum"]["inside"])
        self.assertEqual(r["occlum"]["sysname"], os.uname().sysname)
        self.assertFalse(r["gramine"]["inside"])
        self.assertFalse(r["occlumTool"]["found"])
        self.assertIsNone(r["occlumTool"]["version"])
        self.assertEqual(r["tee"]["configured"]["backend"], "simulation")
        self.assertEqual(r["tee"]["configured"]["kind"], "simulation")
        self.assertIn("using simulation", r["tee"]["configured"]["reason"])
        self.assertEqual(r["tee"]["auto"]["backend"], "simulation")
        self.assertFalse(r["tee"]["simulationForced"])
        self.assertEqual(self.errors(r), [])
        # defaults: nothing set, the data dir and the instance do not exist yet
        self.assertFalse(r["instance"]["exists"])
        self.assertFalse(r["instance"]["explicit"])
        self.assertFalse(r["dataDir"]["exists"])
        self.assertTrue(r["dataDir"]["creatable"])
        self.assertEqual(r["memory"], {"teeMaxMemoryMB": 1024, "jsMaxMemoryMB": 512,
                                       "overheadMB": 352, "threadStackMB": 8, "requiredMB": 864,
                                       "ok": True})
        self.assertEqual(r["threads"]["maxThreads"], 32)
        # MaxThreads + the identity key's signing thread + Occlum/helpers; no worker processes
        self.assertEqual(r["threads"]["occlumMaxNumOfThreads"], 32 + 1 + 8)
        self.assertEqual(r["threads"]["processThreads"], 0)
        self.assertEqual(r["threads"]["signingThreads"], 1)
        self.assertLessEqual(r["threads"]["daemonThreads"], 32)
        self.assertFalse(r["nodeJsPath"]["set"])
        # read-only: nothing was created
        self.assertEqual(sorted(os.listdir(self.tmp)), [])

    def test_forced_simulation_says_so(self):
        if host_has_tee():
            self.skipTest("this host has SGX or Gramine")
        cfg = self.config({"Tee": {"SimulationMode": True}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(rc, 3)
        self.assertEqual(r["tee"]["forcedBy"], ["Tee.SimulationMode"])
        self.assertIn("forced by Tee.SimulationMode", r["summary"])
        self.assertIn("forced", r["tee"]["auto"]["reason"])
        rc, r, _ = self.check(env={"OCCLUM_SIMULATION": "1"})
        self.assertEqual(rc, 3)
        self.assertEqual(r["tee"]["forcedBy"], ["OCCLUM_SIMULATION"])

    def test_config_errors_name_the_setting(self):
        cases = [
            ({"Tee": {"Occlum": {"MaxMemoryMB": "lots"}}}, "Tee.Occlum.MaxMemoryMB"),
            ({"Tee": {"Occlum": {"Bogus": 1}}}, "Tee.Occlum.Bogus"),
            ({"JavaScript": {"MaxMemoryMB": 2048}}, "JavaScript.MaxMemoryMB"),  # > 1024
            ({"Tee": {"Type": "Occlum"}}, "Tee.Type"),  # not inside Occlum
        ]
        for doc, setting in cases:
            with self.subTest(setting=setting):
                rc, r, _ = self.check("--config", self.config(doc))
                self.assertEqual(rc, 1)
                self.assertEqual(r["verdict"], "broken")
                self.assert_error(r, setting)
        # not JSON at all / no such file
        bad = self.path("bad.json")
        with open(bad, "w") as f:
            f.write("{not json")
        rc, r, _ = self.check("--config", bad)
        self.assertEqual(rc, 1)
        self.assertFalse(r["config"]["loaded"])
        self.assertIn("invalid JSON", r["config"]["error"])
        rc, r, _ = self.check("--config", self.path("missing.json"))
        self.assertEqual(rc, 1)
        self.assertIn("cannot open", r["config"]["error"])

    def test_missing_instance_dir(self):
        inst = self.path("nowhere", "inst")
        cfg = self.config({"Tee": {"Occlum": {"InstanceDir": inst}}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(rc, 1)
        self.assertTrue(r["instance"]["explicit"])
        self.assert_error(r, "Tee.Occlum.InstanceDir", inst, "does not exist",
                          "ncsl occlum init " + inst)
        rc, out, _ = run(["check", "--config", cfg], cwd=self.tmp)
        self.assertEqual(rc, 1)
        self.assertIn("error   Tee.Occlum.InstanceDir: %s does not exist" % inst, out)
        self.assertIn("fix: run `ncsl occlum init %s`" % inst, out)

    def test_instance_not_built_then_built(self):
        inst = self.path("inst")
        self.init(inst, "--no-occlum")
        cfg = self.config({"Tee": {"Occlum": {"InstanceDir": inst}}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(rc, 1)
        self.assertTrue(r["instance"]["valid"])
        self.assertFalse(r["instance"]["built"])
        self.assert_error(r, "Tee.Occlum.InstanceDir", "is not built", "ncsl occlum build " + inst,
                          "install Occlum")
        os.makedirs(os.path.join(inst, "build", "bin"))  # what `occlum build` leaves
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(self.errors(r), [])
        self.assertTrue(r["instance"]["built"])
        self.assertEqual(r["instance"]["userSpaceMB"], 1024)
        self.assertEqual(r["instance"]["maxNumOfThreads"], 41)
        if not host_has_tee():
            self.assertEqual(rc, 3)

    def test_broken_occlum_json(self):
        inst = self.path("inst")
        self.init(inst, "--no-occlum")
        os.makedirs(os.path.join(inst, "build", "bin"))
        cfg = self.config({"Tee": {"Occlum": {"InstanceDir": inst}}})
        oj = os.path.join(inst, "Occlum.json")
        good = load_json(oj)

        def write(doc_or_text):
            with open(oj, "w") as f:
                f.write(doc_or_text if isinstance(doc_or_text, str) else json.dumps(doc_or_text))

        write("{\"resource_limits\": ")
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(rc, 1)
        self.assert_error(r, "Tee.Occlum.InstanceDir", "not a JSON object", "--force")
        write({k: v for k, v in good.items() if k not in ("feature", "metadata")})
        rc, r, _ = self.check("--config", cfg)
        self.assert_error(r, "Tee.Occlum.InstanceDir", "metadata", "feature")
        small = json.loads(json.dumps(good))
        small["resource_limits"]["user_space_size"] = "512MB"
        small["resource_limits"]["max_num_of_threads"] = 8
        write(small)
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(rc, 1)
        self.assert_error(r, "Tee.Occlum.MaxMemoryMB", "512MB", "1024 MB", "--force")
        self.assert_error(r, "Tee.Occlum.MaxThreads", "allows 8 threads", "needs 41",
                          "32 + 1 signing + 0 in worker processes + 8")
        write(good)
        os.remove(os.path.join(inst, "image", "bin", "ncsld"))
        rc, r, _ = self.check("--config", cfg)
        self.assert_error(r, "Tee.Occlum.InstanceDir", "image/bin/ncsld is missing")

    def test_default_instance_dir_is_advice_only(self):
        # Not set in the file: a broken ./occlum_instance warns, never fails the check.
        os.makedirs(self.path("occlum_instance"))
        rc, r, _ = self.check()
        self.assertEqual(self.errors(r), [])
        self.assertTrue(any(f["level"] == "warning" and
                            f["setting"] == "Tee.Occlum.InstanceDir" for f in r["findings"]))

    def test_data_dir_problems(self):
        dd = self.path("data")
        os.mkdir(dd)
        os.chmod(dd, 0o777)
        rc, r, _ = self.check("--data-dir", dd)
        self.assertEqual(rc, 1)
        self.assert_error(r, "--data-dir", dd, "writable by group or others", "chmod 700 " + dd)
        self.assertTrue(r["dataDir"]["groupOrWorldWritable"])
        # the same through the configuration names Server.DataDir
        rc, r, _ = self.check("--config", self.config({"Server": {"DataDir": dd}}))
        self.assert_error(r, "Server.DataDir", "writable by group or others")
        os.chmod(dd, 0o700)
        rc, r, _ = self.check("--data-dir", dd)
        self.assertEqual(self.errors(r), [])
        self.assertEqual(r["dataDir"]["mode"], "0700")
        self.assertTrue(r["dataDir"]["ownedByUs"] and r["dataDir"]["writable"])
        # files ncsld refuses at start
        os.mkdir(os.path.join(dd, "tee"), 0o700)
        secret = os.path.join(dd, "tee", "platform.secret")
        with open(secret, "wb") as f:
            f.write(b"\1" * 32)
        os.chmod(secret, 0o644)
        rc, r, _ = self.check("--data-dir", dd)
        self.assert_error(r, "--data-dir", "platform.secret", "chmod 600")
        os.chmod(secret, 0o600)
        with open(secret, "wb") as f:
            f.write(b"\1" * 31)
        rc, r, _ = self.check("--data-dir", dd)
        self.assert_error(r, "--data-dir", "31 bytes, not 32")
        os.remove(secret)
        key = os.path.join(dd, "admin.key")
        with open(key, "w") as f:
            f.write("ncsl_admin_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
        os.chmod(key, 0o640)
        rc, r, _ = self.check("--data-dir", dd)
        self.assert_error(r, "--data-dir", "admin.key", "chmod 600 " + key)
        os.chmod(key, 0o600)
        rc, r, _ = self.check("--data-dir", dd)
        self.assertEqual(self.errors(r), [])
        # a file, a path through a file, a directory of another user
        afile = self.path("afile")
        open(afile, "w").close()
        rc, r, _ = self.check("--data-dir", afile)
        self.assert_error(r, "--data-dir", "is not a directory")
        rc, r, _ = self.check("--data-dir", os.path.join(afile, "data"))
        self.assertEqual(rc, 1)
        self.assert_error(r, "--data-dir", "cannot be created", afile)
        os.chown(dd, NOBODY, NOBODY)
        rc, r, _ = self.check("--data-dir", dd)
        self.assertEqual(rc, 1)
        self.assert_error(r, "--data-dir", "owned by uid %d" % NOBODY, "chown")

    def test_permission_denied_for_another_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run the check as another user")
        # A data dir and an instance of root's, checked by nobody.
        dd = self.path("data")
        os.mkdir(dd, 0o755)
        inst = self.path("inst")
        self.init(inst, "--no-occlum")
        os.chmod(inst, 0o700)
        cfg = self.config({"Server": {"DataDir": dd}, "Tee": {"Occlum": {"InstanceDir": inst}}})
        rc, r, err = self.check("--config", cfg, user=NOBODY)
        self.assertEqual(rc, 1, err)
        self.assert_error(r, "Server.DataDir", "permission denied", "not writable by uid %d" % NOBODY)
        self.assert_error(r, "Server.DataDir", "owned by uid 0")
        self.assert_error(r, "Tee.Occlum.InstanceDir", "permission denied",
                          "not readable by uid %d" % NOBODY, "chown -R %d" % NOBODY)
        # a data dir to be created under a parent nobody cannot write
        rc, r, _ = self.check("--data-dir", os.path.join(dd, "sub"), user=NOBODY)
        self.assert_error(r, "--data-dir", "cannot be created", "permission denied", dd)

    def test_memory_too_small(self):
        cfg = self.config({"Tee": {"Occlum": {"MaxMemoryMB": 600}}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(rc, 1)
        self.assertFalse(r["memory"]["ok"])
        self.assert_error(r, "Tee.Occlum.MaxMemoryMB", "600 MB cannot hold",
                          "JavaScript.MaxMemoryMB (512 MB)", "352 MB", "at least 864",
                          "at most 248")
        # fewer threads and a smaller JS heap fit in the same 600 MB
        cfg = self.config({"Tee": {"Occlum": {"MaxMemoryMB": 600, "MaxThreads": 8}},
                           "JavaScript": {"MaxMemoryMB": 256}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(self.errors(r), [])
        self.assertEqual(r["memory"]["requiredMB"], 256 + 96 + 8 * 8)
        # bigger JS stacks mean bigger thread stacks
        cfg = self.config({"Tee": {"Occlum": {"MaxMemoryMB": 1024}},
                           "JavaScript": {"MaxStackKB": 8192}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(r["memory"]["threadStackMB"], 20)
        self.assert_error(r, "Tee.Occlum.MaxMemoryMB", "32 threads x 20 MB stack")

    def test_threads_with_worker_processes(self):
        # each worker process runs 2 threads, 3 when its calls may fetch; the daemon runs one
        # supervisor per worker and no fetch I/O thread (it runs no JavaScript)
        for fetch, per in (([], 2), (["api.example.com"], 3)):
            with self.subTest(fetch=fetch):
                cfg = self.config({"JavaScript": {"Isolation": "process"},
                                   "Server": {"HttpThreads": 27},
                                   "Tee": {"Occlum": {"MaxProcesses": 4}},
                                   "Fetch": {"AllowedHosts": fetch}})
                rc, r, out = self.check("--config", cfg)
                t = r["threads"]
                self.assertEqual(self.errors(r), [])  # 1 + 27 + 4 = 32 fits MaxThreads
                self.assertTrue(t["ok"])
                self.assertEqual(t["isolation"], "process")
                self.assertEqual(t["daemonThreads"], 1 + 27 + 4)
                self.assertEqual(t["workerProcessThreads"], per)
                self.assertEqual(t["processThreads"], 4 * per)
                self.assertEqual(t["occlumMaxNumOfThreads"], 32 + 1 + 4 * per + 8)
                rc, text, _ = run(["check", "--config", cfg], cwd=self.tmp)
                self.assertIn("32 of Tee.Occlum.MaxThreads 32 (HTTP 27, 4 worker process "
                              "supervisors); Occlum max_num_of_threads %d (= 32 + 1 signing + 4 "
                              "worker processes x %d + 8 Occlum/helpers)"
                              % (32 + 1 + 4 * per + 8, per), text)
        # an instance made for thread mode is too small for worker processes
        inst = self.path("inst")
        self.init(inst, "--no-occlum")
        os.makedirs(os.path.join(inst, "build", "bin"))
        cfg = self.config({"JavaScript": {"Isolation": "process"},
                           "Tee": {"Occlum": {"InstanceDir": inst, "MaxProcesses": 16}}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(r["instance"]["maxNumOfThreads"], 41)
        self.assert_error(r, "Tee.Occlum.MaxThreads", "allows 41 threads", "needs 73",
                          "32 + 1 signing + 32 in worker processes + 8")

    def test_node_js_path(self):
        cfg = self.config({"Tee": {"Occlum": {"NodeJsPath": "/nonexistent/bin/node"}}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(rc, 1)
        self.assertEqual(r["nodeJsPath"], {"set": True, "path": "/nonexistent/bin/node",
                                           "used": False, "exists": False})
        self.assert_error(r, "Tee.Occlum.NodeJsPath", "/nonexistent/bin/node does not exist",
                          "QuickJS-ng", "remove Tee.Occlum.NodeJsPath")
        cfg = self.config({"Tee": {"Occlum": {"NodeJsPath": "/bin/sh", "TempDir": "/tmp"}}})
        rc, r, _ = self.check("--config", cfg)
        self.assertEqual(self.errors(r), [])
        self.assertTrue(r["nodeJsPath"]["exists"])
        infos = {f["setting"]: f for f in r["findings"] if f["level"] == "info"}
        self.assertIn("accepted but unused", infos["Tee.Occlum.NodeJsPath"]["message"])
        self.assertIn("Tee.Occlum.TempDir", infos)
        self.assertEqual({u["setting"] for u in r["unusedSettings"]},
                         {"Tee.Occlum.NodeJsPath", "Tee.Occlum.TempDir"})

    def test_usage(self):
        for args in (["check", "--bogus"], ["check", "extra"], ["check", "--data-dir", ""],
                     ["check", "--config"], ["check", "--json=yes"]):
            rc, out, err = run(args, cwd=self.tmp)
            self.assertEqual(rc, 2, args)
            self.assertEqual(out, "")
            self.assertTrue(err.startswith("ncsl: check"), err)
        rc, out, _ = run(["check", "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("Exit status: 0 SGX hardware", out)
        rc, out, _ = run(["help", "check"])
        self.assertEqual(rc, 0)
        self.assertIn("usage: ncsl check", out)

    def test_occlum_tool_version(self):
        path = self.fake_occlum('[ "$1" = --version ] && echo "occlum 0.31.0" && exit 0\nexit 9\n')
        rc, r, _ = self.check(env={"PATH": path})
        self.assertTrue(r["occlumTool"]["found"])
        self.assertEqual(r["occlumTool"]["path"], os.path.join(self.fake_dir, "occlum"))
        self.assertEqual(r["occlumTool"]["version"], "occlum 0.31.0")
        self.assertEqual(r["occlumTool"]["versionSource"], "`occlum --version`")
        # Occlum's real script has no --version: the version header next to it is read.
        prefix = self.path("opt-occlum")
        os.makedirs(os.path.join(prefix, "build", "bin"))
        os.makedirs(os.path.join(prefix, "include"))
        with open(os.path.join(prefix, "include", "occlum_version.h"), "w") as f:
            f.write("#define OCCLUM_MAJOR_VERSION 0\n#define OCCLUM_MINOR_VERSION 31\n"
                    "#define OCCLUM_PATCH_VERSION 2\n")
        tool = os.path.join(prefix, "build", "bin", "occlum")
        with open(tool, "w") as f:
            f.write("#!/bin/sh\necho 'Error: unknown sub-command --version' >&2\nexit 1\n")
        os.chmod(tool, 0o755)
        rc, r, _ = self.check(env={"PATH": os.path.dirname(tool) + ":" + PLAIN_PATH})
        self.assertEqual(r["occlumTool"]["version"], "0.31.2")
        self.assertIn("occlum_version.h", r["occlumTool"]["versionSource"])

    def test_hostile_occlum_tool(self):
        # Hangs (with a child holding the pipe): killed at the deadline, nothing left running.
        marker = "ncsl-test-%d" % os.getpid()
        path = self.fake_occlum("sh -c 'sleep 60; : %s' &\nsleep 60\n" % marker)
        t0 = time.monotonic()
        rc, r, _ = self.check(env={"PATH": path})
        self.assertLess(time.monotonic() - t0, 20)
        self.assertIsNone(r["occlumTool"]["version"])
        self.assertIn("did not finish", r["occlumTool"]["versionSource"])
        time.sleep(0.3)
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True).stdout.decode()
        self.assertNotIn(marker, ps)
        # Floods megabytes of control characters: bounded, and nothing unprintable gets out.
        path = self.fake_occlum("head -c 3000000 /dev/urandom\nprintf '\\033[31m9.9\\n'\n")
        rc, r, _ = self.check(env={"PATH": path})
        v = r["occlumTool"]["version"] or ""
        self.assertLessEqual(len(v), 80)
        self.assertTrue(all(0x20 <= ord(ch) < 0x7f for ch in v), repr(v))
        rc, out, _ = run(["check"], env={"PATH": path}, cwd=self.tmp)
        self.assertNotIn("\033", out)


# ---------------------------------------------------------------------------------- occlum init

def size_mb(n):
    return "%dMB" % n


class TestOcclumInit(Base):
    def expected(self, cfg):
        """The Occlum.json values documented in docs/occlum.md for a configuration."""
        occ = cfg.get("Tee", {}).get("Occlum", {})
        js = cfg.get("JavaScript", {})
        mem = occ.get("MaxMemoryMB", 1024)
        threads = occ.get("MaxThreads", 32)
        procs = occ.get("MaxProcesses", 16)
        stack_kb = js.get("MaxStackKB", 1024)
        stack_mb = max(8, -(-(2 * stack_kb * 1024 + 4 * 1024 * 1024) // (1024 * 1024)))
        # the daemon's budget, its signing thread, the worker processes' own threads (2 each, 3
        # when fetch is on; none in thread mode) and Occlum's init process and helpers
        workers = 0
        if js.get("Isolation", "thread").lower() == "process":
            workers = procs * (3 if cfg.get("Fetch", {}).get("AllowedHosts") else 2)
        debug = cfg.get("Tee", {}).get("Debug", False) or occ.get("EnableDebugMode", False)
        sim = cfg.get("Tee", {}).get("SimulationMode", False) or \
            cfg.get("Tee", {}).get("Type", "") == "Simulation"
        return mem, threads + 1 + workers + 8, stack_mb, debug, sim

    def assert_occlum_json(self, doc, cfg):
        """Every field of the Occlum 0.31 schema, its type and its derived value."""
        mem, max_threads, stack_mb, debug, sim = self.expected(cfg)
        self.assertEqual(list(doc), ["resource_limits", "process", "entry_points", "env",
                                     "metadata", "feature", "mount"])
        rl = doc["resource_limits"]
        self.assertEqual(set(rl), {"user_space_size", "kernel_space_heap_size",
                                   "kernel_space_stack_size", "max_num_of_threads"})
        self.assertEqual(rl["user_space_size"], size_mb(mem))
        self.assertEqual(rl["kernel_space_heap_size"], "64MB")
        self.assertEqual(rl["kernel_space_stack_size"], "1MB")
        self.assertIs(type(rl["max_num_of_threads"]), int)
        self.assertEqual(rl["max_num_of_threads"], max_threads)
        pr = doc["process"]
        self.assertEqual(set(pr), {"default_stack_size", "default_heap_size", "default_mmap_size"})
        self.assertEqual(pr["default_stack_size"], size_mb(stack_mb))
        self.assertEqual(pr["default_heap_size"], "32MB")
        self.assertEqual(pr["default_mmap_size"], "100MB")
        for v in list(rl.values()) + list(pr.values()):
            if isinstance(v, str):
                self.assertRegex(v, r"^[1-9][0-9]*MB$")
        self.assertEqual(doc["entry_points"], ["/bin/ncsld"])  # never the CLI: see docs
        env = doc["env"]
        self.assertEqual(set(env), {"default", "untrusted"})
        want_env = ["OCCLUM=yes", "HOME=/root", "PATH=/bin"] + (["OCCLUM_SIMULATION=1"] if sim
                                                               else [])
        self.assertEqual(env["default"], want_env)
        self.assertEqual(env["untrusted"], [])  # nothing the host can choose, no secrets
        md = doc["metadata"]
        self.assertEqual(set(md), {"product_id", "version_number", "debuggable", "enable_kss",
                                   "family_id", "ext_prod_id"})
        self.assertIs(type(md["product_id"]), int)
        self.assertIs(type(md["version_number"]), int)
        self.assertEqual((md["product_id"], md["version_number"]), (0, 0))
        self.assertIs(md["debuggable"], debug)
        self.assertIs(md["enable_kss"], False)
        for k in ("family_id", "ext_prod_id"):
            self.assertEqual(md[k], {"high": "0x0", "low": "0x0"})
        self.assertEqual(doc["feature"], {"amx": 0, "pkru": 0, "io_uring": 0,
                                          "enable_edmm": False, "enable_posix_shm": False})
        for k in ("amx", "pkru", "io_uring"):
            self.assertIs(type(doc["feature"][k]), int)
        mounts = doc["mount"]
        self.assertEqual(mounts[0], {
            "target": "/", "type": "unionfs", "options": {"layers": [
                {"target": "/", "type": "sefs", "source": "./build/mount/__ROOT",
                 "options": {"MAC": ""}},
                {"target": "/", "type": "sefs", "source": "./run/mount/__ROOT"}]}})
        self.assertEqual(mounts[1:], [
            {"target": "/ncsl-data", "type": "sefs", "source": "./ncsl-data"},
            {"target": "/proc", "type": "procfs"},
            {"target": "/dev", "type": "devfs"}])
        for m in mounts:
            self.assertIn(m["type"], {"unionfs", "sefs", "hostfs", "ramfs", "procfs", "devfs"})
            self.assertNotEqual(m["type"], "hostfs")

    def assert_layout(self, inst, with_loader=True):
        for d in ("image/bin", "image/etc/ncsl", "image/ncsl-data", "image/tmp", "image/dev",
                  "image/proc", "image/root", LIB_DIR, "ncsl-data"):
            self.assertTrue(os.path.isdir(os.path.join(inst, d)), d)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(inst, "ncsl-data")).st_mode), 0o700)
        for b in ("ncsld", "ncsl"):
            p = os.path.join(inst, "image", "bin", b)
            self.assertTrue(os.access(p, os.X_OK), p)
        with open(os.path.join(inst, "image", "bin", "ncsld"), "rb") as a, \
                open(NCSLD, "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual(read_text(os.path.join(inst, "image/etc/hosts")),
                         "127.0.0.1   localhost\n")
        interp = program_interpreter(NCSLD)
        self.assertEqual(os.path.exists(os.path.join(inst, "image" + interp)), with_loader)

    def test_default_config(self):
        inst = self.path("inst")
        out, err = self.init(inst)
        # no occlum here: it says so, and falls back to writing the layout alone
        self.assertIn("occlum tool is not on PATH", err)
        self.assertIn("install Occlum", err)
        self.assertIn("not run (occlum is not installed)", out)
        self.assertIn("ncsl occlum build " + inst, out)
        self.assert_layout(inst)
        self.assert_occlum_json(load_json(os.path.join(inst, "Occlum.json")), {})
        self.assertEqual(load_json(os.path.join(inst, "image/etc/ncsl/ncsl.json")),
                         {"Server": {"DataDir": "/ncsl-data"}})
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(inst, "Occlum.json")).st_mode), 0o644)

    def test_configs(self):
        configs = {
            "simulation": {"Tee": {"SimulationMode": True}},
            "sim-type": {"Tee": {"Type": "Simulation"}},
            "debug": {"Tee": {"Debug": True}},
            "debug-occlum": {"Tee": {"Occlum": {"EnableDebugMode": True}}},
            "processes": {"JavaScript": {"Isolation": "process"},
                          "Tee": {"Occlum": {"MaxProcesses": 6}}},
            "processes-fetch": {"JavaScript": {"Isolation": "Process"},
                                "Fetch": {"AllowedHosts": ["api.example.com"]}},
            "big": {"Tee": {"Occlum": {"MaxMemoryMB": 8192, "MaxThreads": 200,
                                       "MaxProcesses": 40}},
                    "JavaScript": {"MaxMemoryMB": 2048, "MaxStackKB": 8192},
                    "Server": {"Listen": "127.0.0.1:9999", "AdminKey": "k" * 40}},
        }
        for name, cfg in configs.items():
            with self.subTest(config=name):
                inst = self.path("inst-" + name)
                out, err = self.init(inst, "--no-occlum", "--config", self.config(cfg))
                self.assertNotIn("occlum tool is not on PATH", err)  # --no-occlum: quiet
                self.assertIn("not run (--no-occlum)", out)
                self.assert_layout(inst)
                doc = load_json(os.path.join(inst, "Occlum.json"))
                self.assert_occlum_json(doc, cfg)
                image_cfg = load_json(os.path.join(inst, "image/etc/ncsl/ncsl.json"))
                want = json.loads(json.dumps(cfg))
                want.setdefault("Server", {})
                want["Server"].pop("AdminKey", None)
                want["Server"]["DataDir"] = "/ncsl-data"
                self.assertEqual(image_cfg, want)
                if "AdminKey" in cfg.get("Server", {}):
                    self.assertIn("Server.AdminKey was left out", err)
                    self.assertNotIn("k" * 40, read_text(os.path.join(
                        inst, "image/etc/ncsl/ncsl.json")))
                if name.startswith("sim"):
                    self.assertIn("--sgx-mode SIM", out)
        # the image's configuration is one ncsld accepts
        rc, r, _ = self.check("--config", self.path("inst-big/image/etc/ncsl/ncsl.json"),
                              "--data-dir", self.path("inst-big/ncsl-data"))
        self.assertTrue(r["config"]["loaded"], r["config"])

    def test_binaries_run_from_the_image(self):
        inst = self.path("inst")
        self.init(inst, "--no-occlum")
        libdir = os.path.join(inst, LIB_DIR)
        ncsld = os.path.join(inst, "image/bin/ncsld")
        p = subprocess.run([ncsld, "--version"], capture_output=True, timeout=60,
                           env={"LD_LIBRARY_PATH": libdir, "PATH": PLAIN_PATH})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.decode().startswith("ncsld "), p.stdout)
        # through the image's own loader: every library resolves inside the image
        loader = os.path.join(inst, "image" + program_interpreter(NCSLD))
        for prog in ("ncsld", "ncsl"):
            path = os.path.join(inst, "image/bin", prog)
            libs = loader_list(loader, path, libdir)
            for soname, where in libs.items():
                if soname == os.path.basename(program_interpreter(NCSLD)) and \
                        where == program_interpreter(NCSLD):
                    continue  # the interpreter itself, listed by its absolute path
                self.assertTrue(os.path.realpath(where).startswith(os.path.realpath(inst)),
                                "%s of %s resolves outside the image: %s" % (soname, prog, where))
            p = subprocess.run([loader, "--library-path", libdir, path, "--version"],
                               capture_output=True, timeout=60, env={"PATH": PLAIN_PATH})
            self.assertEqual(p.returncode, 0, p.stderr)
        # exactly what the host's loader lists for the originals (ldd's answer), no more
        want = set(loader_list(program_interpreter(NCSLD), NCSLD)) | \
            set(loader_list(program_interpreter(NCSL), NCSL))
        self.assertEqual(set(os.listdir(libdir)), want)

    def test_refuses_a_non_empty_dir(self):
        inst = self.path("inst")
        os.mkdir(inst)
        keep = os.path.join(inst, "notes.txt")
        with open(keep, "w") as f:
            f.write("mine")
        out, err = self.init(inst, "--no-occlum", rc_want=1)
        self.assertIn("is not empty", err)
        self.assertIn("--force", err)
        self.assertEqual(os.listdir(inst), ["notes.txt"])
        self.init(inst, "--no-occlum", "--force")
        self.assertEqual(read_text(keep), "mine")
        self.assertTrue(os.path.exists(os.path.join(inst, "Occlum.json")))
        # again over itself, with another configuration: replaced whole
        self.init(inst, "--no-occlum", "--force", "--config",
                  self.config({"Tee": {"Occlum": {"MaxMemoryMB": 2048}}}))
        doc = load_json(os.path.join(inst, "Occlum.json"))
        self.assertEqual(doc["resource_limits"]["user_space_size"], "2048MB")
        self.assertEqual([n for n in os.listdir(os.path.join(inst, "image/bin"))
                          if "tmp" in n], [])
        # a file where DIR should be
        afile = self.path("afile")
        open(afile, "w").close()
        out, err = self.init(afile, "--no-occlum", rc_want=1)
        self.assertIn("not a directory", err)

    def test_hostile_programs_and_usage(self):
        inst = self.path("inst")
        text = self.path("script.sh")
        with open(text, "w") as f:
            f.write("#!/bin/sh\necho hi\n")
        os.chmod(text, 0o755)
        trunc = self.path("truncated")
        with open(NCSLD, "rb") as f, open(trunc, "wb") as g:
            g.write(f.read(200))
        os.chmod(trunc, 0o755)
        garbage = self.path("garbage")
        with open(NCSLD, "rb") as f:
            data = bytearray(f.read(4096))
        data[32:40] = b"\xff" * 8  # e_phoff far outside the file
        with open(garbage, "wb") as g:
            g.write(data)
        os.chmod(garbage, 0o755)
        for prog, want in ((text, "not an ELF file"), (trunc, "corrupt ELF program headers"),
                           (garbage, "corrupt ELF program headers"), (self.tmp, "not an executable"),
                           (self.path("none"), "not an executable")):
            with self.subTest(prog=prog):
                rc, out, err = run(["occlum", "init", inst, "--no-occlum", "--ncsld", prog],
                                   cwd=self.tmp)
                self.assertEqual(rc, 1, err)
                self.assertIn(want, err)
                self.assertFalse(os.path.exists(inst))  # nothing written before the checks
        for args in (["occlum"], ["occlum", "frob"], ["occlum", "init"],
                     ["occlum", "init", inst, "--bogus"], ["occlum", "init", inst, "x"],
                     ["occlum", "build"], ["occlum", "build", inst, "--sgx-mode", "TURBO"],
                     ["occlum", "init", ""]):
            with self.subTest(args=args):
                rc, out, err = run(args, cwd=self.tmp)
                self.assertEqual(rc, 2, err)
        rc, out, _ = run(["occlum", "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("init DIR", out)
        rc, out, _ = run(["occlum", "init", "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--no-occlum", out)

    def test_with_the_occlum_tool(self):
        """A fake `occlum` stands in for the real one: init runs it in DIR, NCSL's files go over
        what it made, and Occlum's glibc (what it installed) is kept."""
        log = self.path("occlum.log")
        path = self.fake_occlum(
            'echo "$(pwd) $*" >> %s\n'
            'case "$1" in\n'
            '--version) echo "occlum 0.31.0";;\n'
            'init) mkdir -p image/bin image/lib64 image/opt/occlum/glibc/lib\n'
            '      echo OCCLUM-GLIBC > image/opt/occlum/glibc/lib/libc.so.6\n'
            '      echo OCCLUM-LOADER > image/lib64/ld-linux-x86-64.so.2\n'
            '      echo \'{"template": true}\' > Occlum.json\n'
            '      echo initialized > .__occlum_status\n'
            '      echo "$(pwd) initialized as an Occlum instance";;\n'
            'build) [ -n "$FAIL_BUILD" ] && exit 7; mkdir -p build/bin; echo built > '
            '.__occlum_status;;\n'
            'esac\n' % log)
        inst = self.path("inst")
        out, err = self.init(inst, "--config", self.config({"Tee": {"SimulationMode": True}}),
                             env={"PATH": path})
        self.assertIn("initialized as an Occlum instance", err)  # occlum's output: stderr
        self.assertIn("done (version occlum 0.31.0)", out)
        calls = read_text(log).splitlines()
        self.assertIn("%s init" % os.path.realpath(inst), calls)
        self.assert_occlum_json(load_json(os.path.join(inst, "Occlum.json")),
                                {"Tee": {"SimulationMode": True}})
        self.assertEqual(read_text(os.path.join(inst, LIB_DIR, "libc.so.6")), "OCCLUM-GLIBC\n")
        self.assertEqual(read_text(os.path.join(inst, "image/lib64/ld-linux-x86-64.so.2")),
                         "OCCLUM-LOADER\n")
        self.assertIn("of Occlum's glibc kept", out)
        self.assertTrue(os.path.exists(os.path.join(inst, LIB_DIR, "libjansson.so.4")))
        # a second init --force does not run `occlum init` again
        n = len(read_text(log).splitlines())
        out, err = self.init(inst, "--force", env={"PATH": path})
        self.assertIn("already an Occlum instance", err)
        self.assertFalse(any(l.endswith(" init") for l in read_text(log).splitlines()[n:]))

        # build: SIM from the configuration, HW by default, --sgx-mode wins
        cfg_sim = self.config({"Tee": {"SimulationMode": True}}, "sim.json")
        for args, mode in ((["--config", cfg_sim], "SIM"), ([], "HW"),
                           (["--sgx-mode", "sim"], "SIM"),
                           (["--config", cfg_sim, "--sgx-mode", "HW"], "HW")):
            with self.subTest(args=args):
                rc, out, err = run(["occlum", "build", inst, *args], env={"PATH": path},
                                   cwd=self.tmp)
                self.assertEqual(rc, 0, err)
                self.assertIn("built %s (SGX mode %s)" % (inst, mode), out)
                self.assertEqual(read_text(log).splitlines()[-1],
                                 "%s build --sgx-mode %s" % (os.path.realpath(inst), mode))
                if args[-1:] == ["HW"]:
                    self.assertIn("still say \"simulation\"", err)
        # --sign-key: passed on as an absolute path (occlum runs in DIR); a missing key is usage
        with open(self.path("key.pem"), "w") as f:
            f.write("not really a key")
        rc, out, err = run(["occlum", "build", inst, "--sign-key", "key.pem"], env={"PATH": path},
                           cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertEqual(read_text(log).splitlines()[-1], "%s build --sgx-mode HW --sign-key %s"
                         % (os.path.realpath(inst), os.path.realpath(self.path("key.pem"))))
        rc, out, err = run(["occlum", "build", inst, "--sign-key", "nokey.pem"],
                           env={"PATH": path}, cwd=self.tmp)
        self.assertEqual(rc, 2)
        self.assertIn("--sign-key", err)
        rc, out, err = run(["occlum", "build", inst], env={"PATH": path, "FAIL_BUILD": "1"},
                           cwd=self.tmp)
        self.assertEqual(rc, 1)
        self.assertIn("failed (exit status 7)", err)
        # built: `ncsl check` agrees
        cfg = self.config({"Tee": {"Occlum": {"InstanceDir": inst}}}, "inst.json")
        rc, r, _ = self.check("--config", cfg, env={"PATH": path})
        self.assertTrue(r["instance"]["built"], r["instance"])
        self.assertEqual(self.errors(r), [])
        self.assertEqual(r["occlumTool"]["version"], "occlum 0.31.0")
        # an instance made without occlum cannot be built by it
        bare = self.path("bare")
        self.init(bare, "--no-occlum", env={"PATH": path})
        rc, out, err = run(["occlum", "build", bare], env={"PATH": path}, cwd=self.tmp)
        self.assertEqual(rc, 1)
        self.assertIn("made without `occlum init`", err)
        self.assertIn("ncsl occlum init %s --force" % bare, err)

    def test_build_without_the_tool(self):
        if shutil.which("occlum", path=PLAIN_PATH):
            self.skipTest("occlum is installed in " + PLAIN_PATH)
        inst = self.path("inst")
        self.init(inst, "--no-occlum")
        rc, out, err = run(["occlum", "build", inst], cwd=self.tmp)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("the occlum tool is not installed", err)
        self.assertIn("install Occlum 0.31", err)
        self.assertIn("/opt/occlum/build/bin", err)
        rc, out, err = run(["occlum", "build", self.path("nothing")], cwd=self.tmp)
        self.assertEqual(rc, 1)
        self.assertIn("run 'ncsl occlum init", err)


if __name__ == "__main__":
    unittest.main()
