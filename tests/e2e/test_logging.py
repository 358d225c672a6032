"""ncsld's log lines (src/http/logfile.c): info lines are held and written together, at least
every 100 ms; nothing held is lost at shutdown, and held lines come out before later ones;
stderr and the log file get the same lines in the same order."""

import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_e2e  # noqa: E402
from test_e2e import Daemon  # noqa: E402


def setUpModule():
    test_e2e.setUpModule()


def tearDownModule():
    test_e2e.tearDownModule()


def access_ids(text):
    """requestIds of the access lines, in order."""
    ids = []
    for line in text.splitlines():
        entry = json.loads(line)
        if entry["msg"].startswith("access "):
            ids.append(entry["msg"].split("requestId=")[1].split()[0])
    return ids


class LoggingTest(unittest.TestCase):
    def setUp(self):
        self.d = Daemon({"Server": {"LogLevel": "info"}, "Limits": {"RequestsPerSecond": 0}})
        self.d.start()

    def tearDown(self):
        self.d.cleanup()

    def test_info_lines_written_within_the_flush_interval(self):
        rid = self.d.request("GET", "/healthz").headers["x-request-id"]
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if rid in self.d.log_file_text() and rid in self.d.stderr_text():
                return
            time.sleep(0.02)
        self.fail("the access line of %s was not written within 2 s" % rid)

    def test_order_kept_and_nothing_lost_at_shutdown(self):
        sent = []
        for _ in range(300):
            sent.append(self.d.request("GET", "/healthz").headers["x-request-id"])
        self.d.stop()  # SIGTERM: what is held is written before ncsld exits
        for text in (self.d.log_file_text(), self.d.stderr_text()):
            # (two HTTP threads log completions, so requests may swap places: compare sets)
            got = [i for i in access_ids(text) if i in set(sent)]
            self.assertEqual(sorted(sent), sorted(got), "access lines lost")
            # the held lines come out before the lines logged after them (shutdown)
            lines = text.splitlines()
            last_access = max(n for n, line in enumerate(lines) if any(i in line for i in sent))
            self.assertTrue(any("SIGTERM" in line for line in lines[last_access + 1:]))
        # both outputs carry the same lines in the same order
        self.assertEqual(self.d.log_file_text().splitlines(),
                         [line for line in self.d.stderr_text().splitlines()
                          if line.startswith("{")])


if __name__ == "__main__":
    unittest.main()
