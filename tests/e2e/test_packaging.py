"""packaging/gramine: the manifest templates are valid TOML with the keys docs/gramine.md
describes and a secure setup needs, they render with Jinja (when jinja2 is installed), their
library list covers what `ldd ncsld` loads, and packaging/gramine/ncsl.json loads in `ncsl check`
and fits the manifest's threads and memory. No Gramine is needed: nothing here runs an enclave.
"""

import copy
import json
import os
import pathlib
import shutil
import subprocess
import tomllib
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GRAMINE = ROOT / "packaging" / "gramine"
NCSLD_TEMPLATE = GRAMINE / "ncsld.manifest.template"
CHECK_TEMPLATE = GRAMINE / "ncsl-check.manifest.template"
CONFIG = GRAMINE / "ncsl.json"
CONFIG_IN_ENCLAVE = "/etc/ncsl/ncsl.json"
GRAMINE_HELPER_THREADS = 3  # IPC, async, TLS handshake (Gramine's manifest documentation)
SIGNING_THREADS = 1  # the identity key's signing-nonce thread (src/keys/presign.c)
# What the C library files of Gramine's runtime directory provide, and sanitizer runtimes
# (the asan build's ncsld links them; a deployment uses the release build).
NOT_TRUSTED_FROM_HOST = ("linux-vdso", "libc.so", "libm.so", "libresolv.so", "ld-linux",
                         "libasan.so", "libubsan.so", "liblsan.so", "libstdc++.so", "libgcc_s.so")


def load(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def size_bytes(text):
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if not isinstance(text, str) or not text:
        return None
    scale = units.get(text[-1], 1)
    digits = text[:-1] if text[-1] in units else text
    return int(digits) * scale if digits.isdigit() else None


def insecure_keys(node, prefix=""):
    if isinstance(node, dict):
        for k, v in node.items():
            name = f"{prefix}.{k}" if prefix else k
            if "insecure__" in k:
                yield name
            yield from insecure_keys(v, name)


def problems(m, entry, argv, min_threads):
    """Every way manifest `m` (parsed TOML) falls short; [] when it is fine."""
    out = []
    loader, sgx = m.get("loader", {}), m.get("sgx", {})
    mounts = m.get("fs", {}).get("mounts", [])
    trusted = set(sgx.get("trusted_files", []))
    if not str(loader.get("entrypoint", "")).startswith("file:"):
        out.append("loader.entrypoint")
    if m.get("libos", {}).get("entrypoint") != entry:
        out.append("libos.entrypoint")
    if loader.get("argv") != argv:
        out.append("loader.argv")
    env = loader.get("env", {})
    if not isinstance(env.get("LD_LIBRARY_PATH"), str):
        out.append("loader.env.LD_LIBRARY_PATH")
    for name, value in env.items():
        if not isinstance(value, str) or name in ("NCSL_ADMIN_KEY", "OCCLUM_SIMULATION"):
            out.append(f"loader.env.{name}")
    out += list(insecure_keys(m))
    if not any(x.get("path") == entry for x in mounts):
        out.append("fs.mounts: no mount for " + entry)
    if not any(x.get("path") == CONFIG_IN_ENCLAVE for x in mounts):
        out.append("fs.mounts: no mount for the configuration")
    data_dir = json.loads(CONFIG.read_text())["Server"]["DataDir"]
    if not any(x.get("type") == "encrypted" and x.get("path", "").rstrip("/") == data_dir
               and x.get("key_name") in ("_sgx_mrenclave", "_sgx_mrsigner") for x in mounts):
        out.append("fs.mounts: the data dir is not an encrypted mount with an SGX sealing key")
    for x in mounts:
        if x.get("type", "chroot") == "chroot" and "arch_libdir" not in x.get("uri", "") and \
                x.get("uri") not in trusted and x.get("uri", "") + "/" not in trusted:
            out.append("sgx.trusted_files: lacks " + x.get("uri", "?"))
    size = size_bytes(sgx.get("enclave_size"))
    if not size or size & (size - 1):
        out.append("sgx.enclave_size: not a power of two")
    if sgx.get("debug") is not False:
        out.append("sgx.debug")
    if sgx.get("remote_attestation") != "dcap":
        out.append("sgx.remote_attestation")
    for key in ("isvprodid", "isvsvn"):
        if not isinstance(sgx.get(key), int) or not 0 <= sgx[key] <= 0xFFFF:
            out.append("sgx." + key)
    if not isinstance(sgx.get("max_threads"), int) or sgx["max_threads"] < min_threads:
        out.append(f"sgx.max_threads: below {min_threads}")
    if sgx.get("file_check_policy", "strict") != "strict":
        out.append("sgx.file_check_policy")
    return out


def ncsld_min_threads():
    cfg = json.loads(CONFIG.read_text())
    return (cfg["Tee"]["Occlum"]["MaxThreads"] + SIGNING_THREADS + GRAMINE_HELPER_THREADS +
            cfg["Fetch"]["MaxConcurrent"])


NCSLD_ARGV = ["ncsld", "--config", CONFIG_IN_ENCLAVE]
CHECK_ARGV = ["ncsl", "check", "--config", CONFIG_IN_ENCLAVE]


class GramineTemplates(unittest.TestCase):
    def test_ncsld_template(self):
        m = load(NCSLD_TEMPLATE)
        self.assertEqual(problems(m, "/usr/local/bin/ncsld", NCSLD_ARGV, ncsld_min_threads()), [])

    def test_check_template(self):
        m = load(CHECK_TEMPLATE)
        self.assertEqual(problems(m, "/usr/local/bin/ncsl", CHECK_ARGV,
                                  1 + GRAMINE_HELPER_THREADS), [])

    def test_problems_are_found(self):
        base = load(NCSLD_TEMPLATE)
        mutations = {
            "sgx.debug": lambda m: m["sgx"].update(debug=True),
            "sgx.remote_attestation": lambda m: m["sgx"].update(remote_attestation="none"),
            "sgx.enclave_size": lambda m: m["sgx"].update(enclave_size="3G"),
            "sgx.max_threads": lambda m: m["sgx"].update(max_threads=8),
            "loader.insecure__use_cmdline_argv":
                lambda m: m["loader"].update(insecure__use_cmdline_argv=True),
            "loader.argv": lambda m: m["loader"].update(argv=["ncsld", "--data-dir", "/tmp"]),
            "loader.env.NCSL_ADMIN_KEY":
                lambda m: m["loader"]["env"].update(NCSL_ADMIN_KEY={"passthrough": True}),
            "fs.mounts: the data dir": lambda m: m["fs"].update(
                mounts=[x for x in m["fs"]["mounts"] if x.get("type") != "encrypted"]),
            "sgx.trusted_files: lacks": lambda m: m["sgx"].update(
                trusted_files=[t for t in m["sgx"]["trusted_files"] if "ncsld" not in t]),
        }
        for name, mutate in mutations.items():
            m = copy.deepcopy(base)
            mutate(m)
            found = problems(m, "/usr/local/bin/ncsld", NCSLD_ARGV, ncsld_min_threads())
            self.assertTrue(any(p.startswith(name) for p in found), f"{name}: {found}")

    def test_memory_fits(self):
        # The manifest's budget (docs/gramine.md): JS heaps of up to MaxThreads - 3 workers
        # and 8 MiB per thread must leave 512 MiB for Gramine, ncsld and its libraries.
        cfg = json.loads(CONFIG.read_text())
        m = load(NCSLD_TEMPLATE)
        max_workers = cfg["Tee"]["Occlum"]["MaxThreads"] - 3
        need = (max_workers * cfg["JavaScript"]["MaxMemoryMB"] +
                m["sgx"]["max_threads"] * 8 + 512) << 20
        self.assertLessEqual(need, size_bytes(m["sgx"]["enclave_size"]))

    def test_templates_render(self):
        try:
            import jinja2
        except ImportError:
            self.skipTest("jinja2 is not installed")

        class Gramine:  # what gramine-manifest provides to templates
            libos = "/usr/lib/x86_64-linux-gnu/gramine/libsysdb.so"

            @staticmethod
            def runtimedir():
                return "/usr/lib/x86_64-linux-gnu/gramine/runtime/glibc"

        env = jinja2.Environment(undefined=jinja2.StrictUndefined)
        for path in (NCSLD_TEMPLATE, CHECK_TEMPLATE):
            with self.subTest(path=path.name):
                text = env.from_string(path.read_text()).render(
                    gramine=Gramine, ncsld="/opt/ncsl/bin/ncsld", ncsl="/opt/ncsl/bin/ncsl")
                self.assertNotIn("{{", text)
                m = tomllib.loads(text)
                uris = {x["path"]: x["uri"] for x in m["fs"]["mounts"]}
                self.assertEqual(uris["/lib"], "file:" + Gramine.runtimedir())
                self.assertEqual(uris["/etc/ncsl/ncsl.json"], "file:ncsl.json")  # the default
                self.assertEqual(uris["/ncsl-data/"], "file:ncsl-data/")
                binary = m["libos"]["entrypoint"]
                self.assertEqual(uris[binary], "file:/opt/ncsl/bin/" + binary.rsplit("/")[-1])
                self.assertIn(uris[binary], m["sgx"]["trusted_files"])

    def test_libraries_cover_ldd(self):
        ncsld = os.environ.get("NCSLD")
        if not ncsld or not shutil.which("ldd"):
            self.skipTest("needs NCSLD and ldd")
        out = subprocess.run(["ldd", ncsld], capture_output=True, text=True, check=True).stdout
        loaded = {line.split()[0] for line in out.splitlines() if line.strip()}
        needed = {n for n in loaded if not n.startswith(NOT_TRUSTED_FROM_HOST) and "/" not in n}
        listed = {t.rsplit("/", 1)[-1] for t in load(NCSLD_TEMPLATE)["sgx"]["trusted_files"]}
        self.assertEqual(needed - listed, set(), "add these to sgx.trusted_files")

    def test_config_loads(self):
        ncsl = os.environ.get("NCSL")
        if not ncsl:
            self.skipTest("needs NCSL")
        r = subprocess.run([ncsl, "check", "--config", str(CONFIG), "--json"],
                           capture_output=True, text=True, timeout=60)
        report = json.loads(r.stdout)
        self.assertTrue(report["config"]["loaded"], report["config"])
        self.assertEqual(report["tee"]["configuredType"], "Gramine")
        self.assertTrue(report["threads"]["ok"] and report["memory"]["ok"])
        sgx = load(NCSLD_TEMPLATE)["sgx"]
        self.assertEqual(report["threads"]["signingThreads"], SIGNING_THREADS)
        self.assertGreaterEqual(sgx["max_threads"], report["threads"]["daemonThreads"] +
                                SIGNING_THREADS + GRAMINE_HELPER_THREADS +
                                json.loads(CONFIG.read_text())["Fetch"]["MaxConcurrent"])
        if not os.path.exists("/dev/attestation"):  # outside Gramine: refused, never simulated
            self.assertEqual(r.returncode, 1)
            self.assertIn("/dev/attestation", report["tee"]["configured"]["error"])


if __name__ == "__main__":
    unittest.main()
