"""GET /metrics and GET /readyz of a running ncsld (docs/operations.md).

The exposition is read with a strict parser of the Prometheus text format 0.0.4 written here
(metric and label name syntax, escapes, HELP/TYPE once per family and before its samples, the
samples of a family together, no duplicate series, histograms cumulative with +Inf equal to
_count); then the values are checked against what the test did: executions by outcome code, the
latency histogram, receipts, proofs, rate-limited requests, requests by route template, the
bytecode cache, the JS heap gauge. No user id, function id, function name or request path ever
appears in the output.
"""

import math
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e  # noqa: E402
from test_e2e import EXECUTE, Daemon  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_C = os.path.join(os.path.dirname(os.path.dirname(HERE)), "src", "http", "server.c")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def setUpModule():
    test_e2e.setUpModule()


def tearDownModule():
    test_e2e.tearDownModule()


class ExpositionError(AssertionError):
    pass


def _parse_labels(text, pos, line_no):
    """Parses {a="x",b="y"} from text[pos] == '{'; returns (dict, index after '}')."""
    labels = {}
    pos += 1
    while True:
        if text[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME.match(text, pos)
        if not m:
            raise ExpositionError("line %d: bad label name at %r" % (line_no, text[pos:]))
        name = m.group(0)
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ExpositionError("line %d: expected =\" after label %s" % (line_no, name))
        pos += 2
        value = []
        while True:
            ch = text[pos]
            if ch == "\\":
                nxt = text[pos + 1]
                if nxt not in ('\\', '"', "n"):
                    raise ExpositionError("line %d: bad escape \\%s" % (line_no, nxt))
                value.append("\n" if nxt == "n" else nxt)
                pos += 2
            elif ch == '"':
                pos += 1
                break
            elif ch == "\n":
                raise ExpositionError("line %d: newline in a label value" % line_no)
            else:
                value.append(ch)
                pos += 1
        if name in labels:
            raise ExpositionError("line %d: label %s twice" % (line_no, name))
        labels[name] = "".join(value)
        if text[pos] == ",":
            pos += 1
        elif text[pos] != "}":
            raise ExpositionError("line %d: expected , or } after a label" % line_no)


def _value(s, line_no):
    if s in ("+Inf", "-Inf", "NaN"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ExpositionError("line %d: bad value %r" % (line_no, s))
    return float(s)


def parse_exposition(text):
    """Returns {family: {"type", "help", "samples": [(name, labels, value)]}}; raises
    ExpositionError on anything the format does not allow."""
    if not text.endswith("\n"):
        raise ExpositionError("the exposition must end with a newline")
    families = {}
    order = []
    current = None
    seen_series = set()
    for line_no, line in enumerate(text[:-1].split("\n"), 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise ExpositionError("line %d: bad metric name %r" % (line_no, name))
                fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
                if fam["samples"]:
                    raise ExpositionError("line %d: %s after samples of %s" % (line_no, parts[1],
                                                                               name))
                key = parts[1].lower()
                if fam[key] is not None:
                    raise ExpositionError("line %d: second %s for %s" % (line_no, parts[1], name))
                rest = parts[3] if len(parts) > 3 else ""
                if key == "type" and rest not in TYPES:
                    raise ExpositionError("line %d: unknown type %r" % (line_no, rest))
                if key == "help" and re.search(r"\\[^\\n]", rest):
                    raise ExpositionError("line %d: bad escape in HELP" % line_no)
                fam[key] = rest
                if name not in order:
                    order.append(name)
                current = name
            continue
        m = METRIC_NAME.match(line)
        if not m:
            raise ExpositionError("line %d: no metric name: %r" % (line_no, line))
        name = m.group(0)
        pos = m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _parse_labels(line + "\n", pos, line_no)
        rest = line[pos:]
        if not rest.startswith(" "):
            raise ExpositionError("line %d: expected a space before the value" % line_no)
        fields = rest.split()
        if len(fields) not in (1, 2):
            raise ExpositionError("line %d: expected value [timestamp]" % line_no)
        value = _value(fields[0], line_no)
        fam_name = name
        if current and families[current]["type"] in ("histogram", "summary"):
            for suffix in ("_bucket", "_sum", "_count"):
                if name == current + suffix:
                    fam_name = current
        if fam_name != current:
            if fam_name in families and families[fam_name]["samples"]:
                raise ExpositionError("line %d: samples of %s are not together" % (line_no,
                                                                                   fam_name))
            if fam_name not in families or families[fam_name]["type"] is None:
                raise ExpositionError("line %d: sample of %s without a TYPE" % (line_no, name))
            current = fam_name
        series = (name, tuple(sorted(labels.items())))
        if series in seen_series:
            raise ExpositionError("line %d: duplicate series %s" % (line_no, series))
        seen_series.add(series)
        fam = families[fam_name]
        if fam["type"] == "counter" and not (value >= 0 and name.endswith("_total")):
            raise ExpositionError("line %d: counter %s must end in _total and be >= 0"
                                  % (line_no, name))
        fam["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["type"] is None or fam["help"] is None:
            raise ExpositionError("%s lacks TYPE or HELP" % name)
        if fam["type"] == "histogram":
            _check_histogram(name, fam["samples"])
    return families


def _check_histogram(name, samples):
    groups = {}
    for sname, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            if "le" not in labels:
                raise ExpositionError("%s: a bucket without le" % name)
            g["buckets"].append((_value(labels["le"], 0), value))
        elif sname == name + "_sum":
            g["sum"] = value
        elif sname == name + "_count":
            g["count"] = value
    for g in groups.values():
        les = [le for le, _ in g["buckets"]]
        if not les or les[-1] != math.inf or les != sorted(les):
            raise ExpositionError("%s: buckets must be sorted and end with +Inf" % name)
        counts = [c for _, c in g["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise ExpositionError("%s: buckets are not cumulative" % name)
        if g["count"] is None or g["sum"] is None or g["count"] != counts[-1]:
            raise ExpositionError("%s: _count must equal the +Inf bucket, _sum present" % name)


def value_of(fams, family, sample=None, **labels):
    for name, lab, value in fams[family]["samples"]:
        if name == (sample or family) and all(lab.get(k) == v for k, v in labels.items()):
            if len(lab) == len(labels) or sample is not None:
                return value
    return None


def route_templates():
    with open(SERVER_C) as f:
        text = f.read()
    table = text[text.index("static const http_route g_routes[] = {"):]
    table = table[:table.index("};")]
    return set(re.findall(r'\{"[A-Z]+", "([^"]+)"', table))


class ParserSelfTest(unittest.TestCase):
    """The parser refuses what the format refuses (else the checks below prove nothing)."""

    GOOD = ("# HELP a_total x\n# TYPE a_total counter\na_total{k=\"v\\\"\\\\\\n\"} 1\n"
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
            "h_sum 3.5\nh_count 2\n")

    def test_good(self):
        fams = parse_exposition(self.GOOD)
        self.assertEqual(fams["a_total"]["samples"][0][1]["k"], "v\"\\\n")

    def test_bad(self):
        bad = [
            "x 1",                                                   # no final newline
            "# TYPE a counter\na 1\n",                                # counter without _total
            "a_total 1\n",                                            # no TYPE
            "# HELP a x\n# TYPE a gauge\na{k=\"v} 1\n",               # unterminated value
            "# HELP a x\n# TYPE a gauge\na{k=\"\\t\"} 1\n",           # bad escape
            "# HELP a x\n# TYPE a gauge\na 1\na 2\n",                 # duplicate series
            "# HELP a x\n# TYPE a gauge\na one\n",                    # bad value
            "# HELP a x\n# TYPE a gauge\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na{x=\"1\"} 1\n",
            "# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n",      # TYPE twice
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
            "h_sum 1\nh_count 1\n",                                   # not cumulative
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
            "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
            "# HELP 1a x\n# TYPE 1a gauge\n1a 1\n",                   # bad name
            "# HELP a x\n# TYPE a wibble\na 1\n",                     # bad type
        ]
        for text in bad:
            with self.assertRaises(ExpositionError, msg=repr(text)):
                parse_exposition(text)


class Metrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon({"Limits": {"RequestsPerSecond": 2, "Burst": 2},
                        "JavaScript": {"TimeoutMs": 400}}).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()  # SIGTERM: a clean exit (under ASan: no leak, no error report)
        stderr = cls.d.stderr_text()
        cls.d.cleanup()
        if rc != 0:
            raise AssertionError("ncsld exited with %s; stderr:\n%s" % (rc, stderr[-4000:]))

    def scrape(self):
        r = self.d.request("GET", "/metrics", auth=None)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], CONTENT_TYPE)
        text = r.raw.decode("utf-8")
        return text, parse_exposition(text)

    def test_metrics_follow_what_happened(self):
        t0 = time.time()
        _, before = self.scrape()
        for fam in ("ncsl_executions_total", "ncsl_execution_duration_seconds",
                    "ncsl_engine_queue_depth", "ncsl_engine_busy_workers",
                    "ncsl_engine_waiting_workers", "ncsl_engine_workers", "ncsl_js_heap_bytes",
                    "ncsl_receipts_signed_total", "ncsl_attestation_proofs_total",
                    "ncsl_http_requests_total", "ncsl_rate_limited_total",
                    "ncsl_store_errors_total", "ncsl_bytecode_cache_hits_total",
                    "ncsl_bytecode_cache_misses_total", "ncsl_bytecode_cache_entries",
                    "ncsl_bytecode_cache_bytes", "ncsl_fetch_requests_in_flight",
                    "ncsl_start_time_seconds", "ncsl_uptime_seconds", "ncsl_build_info",
                    "ncsl_ready"):
            self.assertIn(fam, before)
        self.assertEqual(before["ncsl_execution_duration_seconds"]["type"], "histogram")
        self.assertIn("not a sum", before["ncsl_js_heap_bytes"]["help"])
        health = self.d.request("GET", "/healthz", auth=None).json
        info = before["ncsl_build_info"]["samples"][0]
        self.assertEqual(info[1], {"version": health["version"], "quickjs": health["quickjs"],
                                   "tee": health["tee"]})
        self.assertEqual(info[2], 1)
        start = value_of(before, "ncsl_start_time_seconds")
        self.assertLess(abs(start - t0), 60)
        self.assertEqual(value_of(before, "ncsl_ready"), 1)
        self.assertGreater(value_of(before, "ncsl_engine_workers"), 0)
        for kind in ("full", "integrity", "other"):
            self.assertEqual(value_of(before, "ncsl_store_errors_total", kind=kind), 0)

        code = "function main(i){ return {twice: i * 2}; }"
        for i in range(2):
            self.assertEqual(self.d.execute(code, input=i).status, 200)
        self.assertEqual(self.d.execute("function main(){ for(;;){} }").status, 422)
        self.assertEqual(self.d.execute("function main(){ throw new Error('x'); }").status, 422)
        for _ in range(2):
            self.assertEqual(self.d.request("GET", "/api/v1/attestation?nonce=ab",
                                            auth=None).status, 200)
        secret_path = "/zzz-never-a-label-7f3a"
        self.assertEqual(self.d.request("GET", secret_path).status, 404)
        user = self.d.request("POST", "/api/v1/users", {"name": "metrics-user-9c1e"}).json["data"]
        fn = self.d.request("POST", "/api/v1/functions",
                            {"name": "metrics-fn-4b2d", "code": code},
                            auth=user["apiKey"]).json["data"]
        limited = 0
        for _ in range(6):  # 2 per second, burst 2: some are refused
            r = self.d.request("POST", "/api/v1/functions/%s/invoke" % fn["id"], {"input": 3},
                               auth=user["apiKey"])
            self.assertIn(r.status, (200, 429), r)
            limited += r.status == 429
        self.assertGreater(limited, 0)
        invoked = 6 - limited

        text, after = self.scrape()

        def delta(family, sample=None, **labels):
            return (value_of(after, family, sample, **labels) or 0) - \
                (value_of(before, family, sample, **labels) or 0)

        self.assertEqual(delta("ncsl_executions_total", code="OK"), 2 + invoked)
        self.assertEqual(delta("ncsl_executions_total", code="TIMEOUT"), 1)
        self.assertEqual(delta("ncsl_executions_total", code="EXECUTION_ERROR"), 1)
        h = "ncsl_execution_duration_seconds"
        self.assertEqual(delta(h, h + "_count"), 4 + invoked)
        self.assertGreaterEqual(delta(h, h + "_sum"), 0.4)  # the timeout alone
        self.assertGreaterEqual(delta(h, h + "_bucket", le="+Inf"), 4 + invoked)
        # the timed-out call (400 ms) lies above the 0.25 s bucket, the others need not
        self.assertLessEqual(delta(h, h + "_bucket", le="0.25"), 4 + invoked - 1)
        self.assertGreaterEqual(delta(h, h + "_bucket", le="0.5"), 1)
        self.assertEqual(delta("ncsl_receipts_signed_total"), 4 + invoked)
        self.assertEqual(delta("ncsl_attestation_proofs_total"), 2)
        self.assertEqual(delta("ncsl_rate_limited_total"), limited)
        ex = dict(method="POST", route="/api/v1/functions/execute-javascript")
        self.assertEqual(delta("ncsl_http_requests_total", code="200", **ex), 2)
        self.assertEqual(delta("ncsl_http_requests_total", code="422", **ex), 2)
        inv = dict(method="POST", route="/api/v1/functions/{id}/invoke")
        self.assertEqual(delta("ncsl_http_requests_total", code="429", **inv), limited)
        self.assertEqual(delta("ncsl_http_requests_total", code="404", method="any",
                               route="unmatched"), 1)
        self.assertGreaterEqual(delta("ncsl_bytecode_cache_hits_total"), 1)  # code ran twice
        self.assertGreaterEqual(value_of(after, "ncsl_bytecode_cache_entries"), 1)
        self.assertGreater(value_of(after, "ncsl_bytecode_cache_bytes"), 0)
        self.assertGreater(value_of(after, "ncsl_js_heap_bytes"), 0)
        self.assertLessEqual(value_of(after, "ncsl_js_heap_bytes"),
                             value_of(after, "ncsl_js_heap_limit_bytes"))
        self.assertEqual(value_of(after, "ncsl_engine_busy_workers"), 0)
        self.assertEqual(value_of(after, "ncsl_engine_queue_depth"), 0)
        self.assertEqual(value_of(after, "ncsl_fetch_requests_in_flight"), 0)
        self.assertGreater(value_of(after, "ncsl_uptime_seconds"), 0)

        # bounded labels: route templates only; nothing of a user or a request
        templates = route_templates() | {"unmatched"}
        for _, labels, _ in after["ncsl_http_requests_total"]["samples"]:
            self.assertIn(labels["route"], templates)
        for private in (user["id"], user["apiKey"], user["name"], fn["id"], fn["name"],
                        secret_path, test_e2e.ADMIN_KEY):
            self.assertNotIn(private, text)

    def test_head_and_method(self):
        r = self.d.request("HEAD", "/metrics", auth=None)
        self.assertEqual((r.status, r.raw), (200, b""))
        r = self.d.request("POST", "/metrics", {}, auth=None)
        self.assertEqual(r.status, 405)
        self.assertEqual(r.headers.get("allow"), "GET, HEAD")

    def test_readyz(self):
        r = self.d.request("GET", "/readyz", auth=None)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["ready"], True)
        self.assertEqual(r.json["failed"], [])
        self.assertEqual({k: v["ok"] for k, v in r.json["checks"].items()},
                         {"keys": True, "store": True, "engine": True, "draining": True})
        self.assertGreater(r.json["workers"], 0)
        self.assertEqual(self.d.request("GET", "/healthz", auth=None).json["status"], "ok")


if __name__ == "__main__":
    unittest.main()
