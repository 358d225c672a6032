#!/usr/bin/env python3
"""Slow and abusive HTTP clients against ncsld (Python 3 standard library only).

Each attack runs while a "normal client" (a separate process, so that the attackers' Python
threads cannot slow it down through the GIL) calls the canonical function
`function main(input){return {result: input.value*2}}` with {"value": 42} sequentially, one new
connection per call, and records every call's latency. Per attack the test asserts:
  - the attack is bounded by a timeout or a limit and gets the right answer (status, error code,
    field) or is closed, as listed below;
  - every normal call succeeded (200 and result 84) and none took longer than
    ABUSE_MAX_LATENCY_S (default 3 s: a generous bound that holds on a loaded 2-core machine and
    under ASan, so that the test is not flaky);
  - the daemon is still up and healthy afterwards.
At the end: the daemon's descriptors are back to where they were, its RSS grew by less than
128 MiB (not checked under ASan, whose quarantine holds freed memory), and it exits 0 on
SIGTERM with no sanitizer report.
It prints each attack's normal-client p50/p99/max: those are measurements for the record, not
assertions (the issue's 10 ms p99 depends on the machine and the build).

Attacks (T = Server.ConnectionTimeoutSeconds, 2 s here instead of the default 30 s so that every
timeout-bound attack ends within seconds; a normal call takes about a millisecond, so 2 s is
still a thousand times what an honest client needs):
  slowloris           headers one byte per second: closed after T (408 REQUEST_TIMEOUT once the
                      request line is complete; silently while the request line itself trickles)
  slowloris_limit     ConnectionLimit (16 here) slowloris connections: a normal client waits at
                      most T
  body_incomplete     bodies that stop (200 of them declaring 2 MiB: the address space must not
                      grow by the declared sizes) or trickle one byte per second: 408 after T
  idle_1000           1,000 idle connections with the daemon's soft open-file limit at 256 (ncsld
                      raises it to fit ConnectionLimit): served meanwhile, all closed after T
  fd_limit_low        a hard open-file limit of 200 (below ConnectionLimit): ncsld lowers the
                      connection limit to fit; 300 idle connections cause no EMFILE, and a normal
                      client gets in once the idle ones ahead of it are reaped (2 T)
  pipelined           requests pipelined on one connection: every answer, in order
  content_length_2gb  Content-Length: 2 GB: 413 at once, body unread; a chunked body without end:
                      connection closed after twice MaxBodyBytes; a little over: 413
  utf8_nul            invalid UTF-8 and NUL bytes in code, input, secrets, functionId, userId: 400
  duplicate_keys      duplicate JSON keys: 400 (the input given as JSON text: JSON.parse rules)
  huge_numbers        1e999999 and friends: 400; 1e-999999 is 0
  deep_nesting        100,000 levels of nesting in the body, the input, the input and secrets
                      given as JSON text, the trust routes' bodies: 400; 2,000 levels still work

Run: NCSLD=build/debug/src/http/ncsld python3 tests/abuse/abuse.py [--only NAME,...] [--json F]
"""

import argparse
import functools
import http.client
import json
import multiprocessing
import os
import re
import resource
import socket
import sys
import threading
import time
import types

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import test_e2e  # noqa: E402  (the Daemon class: one ncsld with a temporary data dir)
from test_e2e import Daemon  # noqa: E402

EXECUTE = "/api/v1/functions/execute-javascript"
CANON_CODE = "function main(input){return {result: input.value*2}}"
CANON_BODY = json.dumps({"code": CANON_CODE, "input": {"value": 42}}).encode()
T = 2  # Server.ConnectionTimeoutSeconds of the test daemons
SLACK = 2.5  # scheduling slack on top of T for "closed after T" (the reaper ticks every 100 ms)
MAX_LATENCY_S = float(os.environ.get("ABUSE_MAX_LATENCY_S", "3"))
SANITIZED = os.environ.get("NCSL_SANITIZED", "") in ("1", "ON", "TRUE", "true")
CONFIG = {"Server": {"ConnectionTimeoutSeconds": T}}
MAX_BODY = 2097152  # Server.MaxBodyBytes default

# Python's own json module recurses: the deep-nesting answers are small, but be safe.
sys.setrecursionlimit(20000)


# ============================================================================ normal client
def _normal_client(port, stop, ready, out):
    """Runs in its own process: canonical calls until `stop`, then sends the results."""
    lat, failures = [], []
    while not stop.is_set():
        t0 = time.perf_counter()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", EXECUTE, body=CANON_BODY,
                      headers={"Content-Type": "application/json",
                               **test_e2e.auth_header(test_e2e.ADMIN_KEY)})
            r = c.getresponse()
            raw = r.read()
            c.close()
            ok = r.status == 200 and json.loads(raw)["data"]["result"] == {"result": 84}
            if not ok:
                failures.append("HTTP %d %r" % (r.status, raw[:200]))
        except Exception as e:  # noqa: BLE001 (any failure of a normal call is reported)
            failures.append(repr(e))
        lat.append(time.perf_counter() - t0)
        if len(lat) == 20:
            ready.set()
    ready.set()
    out.send((lat, len(failures), failures[:5]))
    out.close()


class NormalClient:
    def __init__(self, port):
        ctx = multiprocessing.get_context("spawn")
        self.stop_ev = ctx.Event()
        self.ready = ctx.Event()
        self.rx, tx = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_normal_client, args=(port, self.stop_ev, self.ready, tx),
                                daemon=True)

    def __enter__(self):
        self.proc.start()
        if not self.ready.wait(30):
            raise AssertionError("the normal client made no 20 calls within 30 s")
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        if self.rx.poll(60):
            self.lat, self.nfail, self.failures = self.rx.recv()
        else:
            self.lat, self.nfail, self.failures = [], -1, ["no results from the normal client"]
        self.proc.join(10)
        return False

    def stats(self):
        s = sorted(self.lat)
        if not s:
            return {"calls": 0}

        def pct(p):
            return s[min(len(s) - 1, int(p * len(s)))] * 1000.0

        return {"calls": len(s), "failed": self.nfail, "p50_ms": round(pct(0.50), 3),
                "p99_ms": round(pct(0.99), 3), "max_ms": round(s[-1] * 1000.0, 3)}

    def check(self):
        if self.nfail:
            raise AssertionError("%s normal calls failed, e.g. %s" % (self.nfail, self.failures))
        if not self.lat:
            raise AssertionError("the normal client made no calls")
        worst = max(self.lat)
        if worst > MAX_LATENCY_S:
            raise AssertionError("a normal call took %.3f s (bound %.1f s)" % (worst,
                                                                                MAX_LATENCY_S))


# ============================================================================ raw HTTP helpers
def connect(d, timeout=10):
    s = socket.create_connection((d.host, d.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def post_head(path, length=None, ctype="application/json", extra=""):
    h = "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n" % (path, ctype)
    h += "Authorization: Bearer %s\r\n" % test_e2e.ADMIN_KEY
    if length is not None:
        h += "Content-Length: %d\r\n" % length
    return (h + extra + "\r\n").encode()


def post_req(path, body, extra=""):
    return post_head(path, len(body), extra=extra) + body


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.raw = status, headers, body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError, RecursionError):
            self.json = None

    def __repr__(self):
        return "<HTTP %d %r>" % (self.status, self.raw[:300])


class Reader:
    """Reads HTTP/1.1 responses (Content-Length framed, as ncsld and MHD send them)."""

    def __init__(self, sock):
        self.s, self.buf, self.eof = sock, b"", False

    def _fill(self):
        c = self.s.recv(65536)
        if not c:
            self.eof = True
            raise EOFError("connection closed")
        self.buf += c

    def response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return Resp(status, headers, body)

    def closed_after(self, timeout):
        """True when the peer closes within `timeout` (data before the close is skipped)."""
        self.s.settimeout(timeout)
        try:
            while True:
                self._fill()
        except EOFError:
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def expect_error(r, status, code, field=None):
    assert r.status == status, "expected %d, got %r" % (status, r)
    assert isinstance(r.json, dict) and r.json.get("success") is False, r
    err = r.json.get("error") or {}
    assert err.get("code") == code, "expected %s, got %r" % (code, r)
    if field is not None:
        assert err.get("field") == field, "expected field %s, got %r" % (field, r)
    meta = r.json.get("metadata") or {}
    assert meta.get("requestId") and meta.get("timestamp"), r


def fd_count(d):
    return len(os.listdir("/proc/%d/fd" % d.proc.pid))


def proc_status_kib(d, key):
    with open("/proc/%d/status" % d.proc.pid) as f:
        for ln in f:
            if ln.startswith(key + ":"):
                return int(ln.split()[1])
    return 0


def rss_kib(d):
    return proc_status_kib(d, "VmRSS")


def vm_kib(d):
    return proc_status_kib(d, "VmSize")


def until(deadline_s, fn):
    """Runs fn() repeatedly for deadline_s seconds (at least once); returns the call count."""
    n, end = 0, time.monotonic() + deadline_s
    while True:
        fn()
        n += 1
        if time.monotonic() >= end:
            return n


# ============================================================================ attacks
def slow_sender(socks, payloads, on_close, stop_after, t0=None):
    """Sends one byte per second on every socket until each is closed by the server (or
    stop_after seconds pass). Calls on_close(i, received_bytes, seconds since t0) for each
    close (t0: when the requests began; default now)."""
    t0 = time.monotonic() if t0 is None else t0
    pos = [0] * len(socks)
    got = [b""] * len(socks)
    open_ = set(range(len(socks)))
    while open_ and time.monotonic() - t0 < stop_after:
        for i in sorted(open_):
            s = socks[i]
            try:
                if pos[i] < len(payloads[i]):
                    s.send(payloads[i][pos[i]:pos[i] + 1])
                    pos[i] += 1
            except OSError:
                pass  # closed under us: the read below sees it
            s.setblocking(False)
            try:
                while True:
                    c = s.recv(65536)
                    if not c:
                        open_.discard(i)
                        on_close(i, got[i], time.monotonic() - t0)
                        break
                    got[i] += c
            except BlockingIOError:
                pass
            except OSError:
                open_.discard(i)
                on_close(i, got[i], time.monotonic() - t0)
            s.setblocking(True)
        # one byte per second, checking for closes every 100 ms in between
        for _ in range(10):
            if not open_:
                break
            time.sleep(0.1)
            for i in sorted(open_):
                s = socks[i]
                s.setblocking(False)
                try:
                    c = s.recv(65536)
                    if not c:
                        open_.discard(i)
                        on_close(i, got[i], time.monotonic() - t0)
                    else:
                        got[i] += c
                except BlockingIOError:
                    pass
                except OSError:
                    open_.discard(i)
                    on_close(i, got[i], time.monotonic() - t0)
                s.setblocking(True)
    return open_


def parse_408(raw):
    r = Reader(None)
    r.buf = raw
    resp = r.response()
    expect_error(resp, 408, "REQUEST_TIMEOUT")
    return resp


def attack_slowloris(d):
    """40 connections: 20 trickle the request line, 20 send it and trickle the headers."""
    n = 40
    socks = [connect(d) for _ in range(n)]
    line = b"GET /healthz HTTP/1.1\r\n"
    payloads = []
    for i in range(n):
        if i % 2 == 0:
            payloads.append(line + b"Host: x\r\n" + b"X-Slow: " + b"a" * 200)
        else:
            socks[i].sendall(line)  # request line at once, headers one byte per second
            payloads.append(b"Host: x\r\nX-Slow: " + b"a" * 200)
    closes = {}
    left = slow_sender(socks, payloads, lambda i, raw, t: closes.__setitem__(i, (raw, t)),
                       T + SLACK + 3)
    for s in socks:
        s.close()
    assert not left, "%d slowloris connections still open after %.1f s" % (len(left),
                                                                           T + SLACK + 3)
    worst = max(t for _, t in closes.values())
    assert worst <= T + SLACK, "a slowloris connection lived %.2f s (T = %d s)" % (worst, T)
    for i, (raw, t) in closes.items():
        if i % 2 == 1:
            parse_408(raw)  # the request had started: 408
        else:
            assert raw == b"", "no answer expected before the request line, got %r" % raw[:100]
    return "%d connections closed after %.1f-%.1f s (408 for the %d past the request line)" % (
        n, min(t for _, t in closes.values()), worst, n // 2)


def attack_slowloris_limit(d_limit, limit):
    """`limit` slowloris connections fill ConnectionLimit; a normal client must still get in
    within T (the reaper frees the slots)."""
    socks = [connect(d_limit) for _ in range(limit)]
    for s in socks:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            for s in socks:
                try:
                    s.send(b"a")
                except OSError:
                    pass
            stop.wait(0.5)

    th = threading.Thread(target=trickle, daemon=True)
    th.start()
    time.sleep(0.3)  # every slot taken
    t0 = time.monotonic()
    try:
        r = d_limit.request("POST", EXECUTE, CANON_BODY,
                            headers={"Content-Type": "application/json"}, timeout=T + 20)
    finally:
        waited = time.monotonic() - t0
        stop.set()
        th.join(5)
        for s in socks:
            s.close()
    assert r.status == 200 and r.json["data"]["result"] == {"result": 84}, r
    assert waited <= T + SLACK + 1, "the normal client waited %.2f s" % waited
    return "%d slots held by slowloris; a normal call got in after %.2f s" % (limit, waited)


def attack_body_incomplete(d):
    """200 bodies that declare MaxBodyBytes and stop after 10 bytes, 10 that trickle one byte
    per second. The declared size must not be allocated up front (200 x 2 MiB)."""
    n_stop, n_trickle = 200, 10
    vm0 = vm_kib(d)
    t0 = time.monotonic()
    socks = [connect(d) for _ in range(n_stop + n_trickle)]
    payloads = []
    for i, s in enumerate(socks):
        s.sendall(post_head(EXECUTE, MAX_BODY if i < n_stop else 1000) + b'{"code": "')
        payloads.append(b"" if i < n_stop else b"x" * 1000)
    time.sleep(0.5)
    vm_growth = (vm_kib(d) - vm0) / 1024.0
    assert vm_growth < 128, "the daemon's address space grew %.0f MiB for %d bodies that " \
        "declared 2 MiB and sent 10 bytes" % (vm_growth, n_stop)
    closes = {}
    left = slow_sender(socks, payloads, lambda i, raw, t: closes.__setitem__(i, (raw, t)),
                       T + SLACK + 3, t0)
    for s in socks:
        s.close()
    assert not left, "%d incomplete bodies still open" % len(left)
    worst = max(t for _, t in closes.values())
    assert worst <= T + SLACK, "an incomplete body lived %.2f s (T = %d s)" % (worst, T)
    for raw, _ in closes.values():
        parse_408(raw)
    return ("%d stalled bodies (2 MiB declared, 10 B sent; address space +%.0f MiB) and %d "
            "trickled: 408 REQUEST_TIMEOUT after %.1f-%.1f s" % (
                n_stop, vm_growth, n_trickle, min(t for _, t in closes.values()), worst))


def attack_idle(d_idle, n):
    """n idle connections (opened, nothing sent)."""
    socks = []
    t_open = time.monotonic()
    for _ in range(n):
        socks.append(connect(d_idle))
    # Wait until the daemon holds them all (accept is asynchronous).
    deadline = time.monotonic() + 10
    while fd_count(d_idle) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    held = fd_count(d_idle)
    assert held >= n, "the daemon holds only %d descriptors for %d connections" % (held, n)
    # Served while they are open (the normal client runs throughout; make sure of one call here).
    r = d_idle.request("GET", "/healthz", timeout=10)
    assert r.status == 200, r
    closed_by = []
    for s in socks:
        rd = Reader(s)
        left = max(0.1, t_open + T + SLACK + 2 - time.monotonic())
        assert rd.closed_after(left), "an idle connection outlived T + %.1f s" % (SLACK + 2)
        closed_by.append(time.monotonic() - t_open)
        s.close()
    return "%d idle connections held (daemon fds %d), all closed by the server after <= %.1f s" % (
        n, held, max(closed_by))


def attack_fd_limit_low(d_low, nofile):
    """The daemon's hard open-file limit is `nofile`, far below ConnectionLimit (1024): ncsld
    lowers the connection limit to fit, so 300 idle connections never exhaust its descriptors
    (no EMFILE), and a normal call gets in once the reaper has freed slots for the idle
    connections queued ahead of it (two rounds of T: 128 slots, 300 connections before it)."""
    log = d_low.stderr_text()
    m = re.search(r"Server.ConnectionLimit lowered from 1024 to (\d+)", log)
    assert m, "no warning that ConnectionLimit was lowered"
    fit = int(m.group(1))
    assert 0 < fit < nofile, "ConnectionLimit lowered to %d with %d descriptors" % (fit, nofile)
    socks = [connect(d_low) for _ in range(300)]
    time.sleep(0.5)
    held = fd_count(d_low)
    t0 = time.monotonic()
    r = d_low.request("GET", "/healthz", timeout=T + SLACK + 5)
    waited = time.monotonic() - t0
    for s in socks:
        s.close()
    assert r.status == 200, r
    assert held <= nofile, "%d descriptors open with a limit of %d" % (held, nofile)
    assert waited <= 2 * T + SLACK + 1, "the normal call waited %.2f s" % waited
    log = d_low.stderr_text()
    assert "Too many open files" not in log, "EMFILE: " + log[-500:]
    return ("hard limit %d: ConnectionLimit lowered to %d; 300 idle connections held %d "
            "descriptors, no EMFILE; a normal call got in after %.2f s" % (nofile, fit, held,
                                                                             waited))


def attack_pipelined(d, seconds):
    """On each connection: 8 executes, 8 /healthz, 2 unknown paths, pipelined in one write."""
    get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    nope = b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
    seq = []
    for i in range(8):
        seq.append(("exec", post_req(EXECUTE, CANON_BODY)))
        seq.append(("health", get))
        if i % 4 == 3:
            seq.append(("404", nope))
    seq.append(("health", b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    blob = b"".join(p for _, p in seq)
    count = [0]

    def once():
        s = connect(d)
        s.sendall(blob)
        rd = Reader(s)
        for kind, _ in seq:
            r = rd.response()
            if kind == "exec":
                assert r.status == 200 and r.json["data"]["result"] == {"result": 84}, r
            elif kind == "health":
                assert r.status == 200 and r.json["status"] in ("ok", "draining"), r
            else:
                expect_error(r, 404, "NOT_FOUND")
        assert rd.closed_after(5), "no close after Connection: close"
        s.close()
        count[0] += 1

    until(seconds, once)
    return "%d connections x %d pipelined requests: every answer, in order" % (count[0], len(seq))


def attack_content_length(d, seconds):
    head = post_head(EXECUTE, 2 * 1024 * 1024 * 1024)
    junk = b"[" * 65536
    count = [0]
    worst = [0.0]

    def once():
        t0 = time.monotonic()
        s = connect(d)
        s.sendall(head)
        try:
            s.sendall(junk)  # the server may already have closed: fine
        except OSError:
            pass
        rd = Reader(s)
        r = rd.response()
        expect_error(r, 413, "PAYLOAD_TOO_LARGE", "body")
        assert rd.closed_after(5), "the connection stayed open after the 413"
        s.close()
        worst[0] = max(worst[0], time.monotonic() - t0)
        count[0] += 1

    until(seconds, once)
    assert worst[0] < 5, "a 2 GB Content-Length took %.2f s to refuse" % worst[0]

    # A chunked body without end: cut after twice MaxBodyBytes.
    s = connect(d)
    s.sendall(post_head(EXECUTE, None, extra="Transfer-Encoding: chunked\r\n"))
    chunk = b"10000\r\n" + b" " * 65536 + b"\r\n"
    sent, t0 = 0, time.monotonic()
    try:
        while time.monotonic() - t0 < 20:
            s.sendall(chunk)
            sent += 65536
    except OSError:
        pass
    cut_s = time.monotonic() - t0
    s.close()
    assert cut_s < 20, "a chunked body without end was still read after 20 s (%d MiB)" % (
        sent >> 20)
    assert sent < 2 * MAX_BODY + 64 * 1024 * 1024, "read %d MiB before closing" % (sent >> 20)

    # A chunked body a little too large still gets its 413 when it ends.
    s = connect(d)
    s.sendall(post_head(EXECUTE, None, extra="Transfer-Encoding: chunked\r\n"))
    body = b'{"code": "' + b"x" * (MAX_BODY + 4096) + b'"}'
    for i in range(0, len(body), 65536):
        part = body[i:i + 65536]
        s.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
    s.sendall(b"0\r\n\r\n")
    r = Reader(s).response()
    s.close()
    expect_error(r, 413, "PAYLOAD_TOO_LARGE", "body")
    return ("%d x Content-Length 2 GiB: 413 at once (worst %.0f ms), body unread; endless chunked "
            "body: closed after %.1f MiB / %.2f s; chunked MaxBodyBytes+4 KiB: 413"
            % (count[0], worst[0] * 1000, sent / 1048576.0, cut_s))


def run_table(d, seconds, table):
    """Posts every (path, body, check) of `table` in a loop for `seconds`."""
    count = [0]

    def once():
        for path, body, check in table:
            s = connect(d)
            s.sendall(post_req(path, body))
            r = Reader(s).response()
            s.close()
            try:
                check(r)
            except AssertionError as e:
                raise AssertionError("%s %r...: %s" % (path, body[:80], e)) from None
            count[0] += 1

    until(seconds, once)
    return count[0]


def err400(field):
    return lambda r: expect_error(r, 400, "VALIDATION_ERROR", field)


def ok_result(expected):
    def check(r):
        assert r.status == 200, r
        assert r.json["data"]["result"] == expected, r
    return check


def attack_utf8_nul(d, seconds):
    pre = b'{"code": "function main(i){return 1}"'
    table = [
        (EXECUTE, b'{"code": "function main(){return \'\xff\xfe\'}"}', err400("body")),
        (EXECUTE, b'{"code": "function main(){return 1}\x00"}', err400("body")),
        (EXECUTE, b'{"code": "function main(){return 1}\\u0000"}', err400("body")),
        (EXECUTE, pre + b', "input": {"a": "\xc3\x28"}}', err400("body")),
        (EXECUTE, pre + b', "input": {"a": "x\\u0000y"}}', err400("body")),
        (EXECUTE, pre + b', "input": "\\"\xed\xa0\x80\\""}', err400("body")),
        (EXECUTE, pre + b', "input": "\\"x\\\\u0000y\\""}', err400("input")),
        (EXECUTE, pre + b', "input": "\\"\\\\ud800\\""}', err400("input")),
        (EXECUTE, pre + b', "secrets": {"K": "\xf8\x88\x80\x80\x80"}}', err400("body")),
        (EXECUTE, pre + b', "secrets": {"K": "v\\u0000"}}', err400("body")),
        (EXECUTE, pre + b', "secrets": {"K\\u0000": "v"}}', err400("body")),
        (EXECUTE, pre + b', "secrets": "{\\"K\\": \\"v\\\\u0000\\"}"}', err400("secrets")),
        (EXECUTE, pre + b', "functionId": "\xc0\xaf"}', err400("body")),
        (EXECUTE, pre + b', "functionId": "f\\u0000"}', err400("body")),
        (EXECUTE, pre + b', "functionId": "\\udc00"}', err400("body")),
        (EXECUTE, pre + b', "userId": "u\x00"}', err400("body")),
        ("/api/v1/attestation/verify", b'{"proof": "\xff"}', err400("body")),
        ("/api/v1/receipts/verify", b'{"receipt": "\\u0000"}', err400("body")),
    ]
    n = run_table(d, seconds, table)
    return "%d requests (%d kinds): 400 VALIDATION_ERROR naming body/input/secrets" % (
        n, len(table))


def attack_duplicate_keys(d, seconds):
    code = b'"code": "function main(i){return i}"'
    table = [
        (EXECUTE, b'{' + code + b', ' + code + b'}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": {"a": 1, "a": 2}}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": {"x": [{"a": 1, "b": 2, "a": 3}]}}', err400("body")),
        (EXECUTE, b'{' + code + b', "secrets": {"K": "1", "K": "2"}}', err400("body")),
        (EXECUTE, b'{' + code + b', "secrets": "{\\"K\\": \\"1\\", \\"K\\": \\"2\\"}"}',
         err400("secrets")),
        (EXECUTE, b'{' + code + b', "functionId": "a", "functionId": "b"}', err400("body")),
        # The input as JSON text goes to the function as it is: JSON.parse keeps the last value.
        (EXECUTE, b'{' + code + b', "input": "{\\"a\\": 1, \\"a\\": 2}"}', ok_result({"a": 2})),
        ("/api/v1/receipts/verify", b'{"receipt": {}, "receipt": {}}', err400("body")),
    ]
    n = run_table(d, seconds, table)
    return "%d requests (%d kinds): 400 VALIDATION_ERROR; duplicate keys in input text: " \
           "last wins (JSON.parse)" % (n, len(table))


def attack_huge_numbers(d, seconds):
    code = b'"code": "function main(i){return i}"'
    table = [
        (EXECUTE, b'{' + code + b', "input": {"v": 1e999999}}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": {"v": -1e999999}}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": [1E+999999999999999999999]}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": "1e999999"}', err400("input")),
        (EXECUTE, b'{' + code + b', "input": {"v": 123456789012345678901234567890}}',
         err400("body")),
        (EXECUTE, b'{' + code + b', "x": 1e999999}', err400("body")),
        (EXECUTE, b'{' + code + b', "secrets": {"K": 1e999999}}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": {"v": 1e-999999}}', ok_result({"v": 0})),
        (EXECUTE, b'{"code": "function main(){return [1e999999, -1e999999]}"}',
         ok_result([None, None])),
        ("/api/v1/attestation/verify", b'{"proof": 1e999999}', err400("body")),
    ]
    n = run_table(d, seconds, table)
    return "%d requests (%d kinds): 400 VALIDATION_ERROR; 1e-999999 is 0; Infinity from JS " \
           "is null" % (n, len(table))


def deep_echo(r):
    assert r.status == 200, r
    assert r.raw.count(b"[") >= 2000, "the 2,000-level input did not come back: %r" % r


def attack_deep_nesting(d, seconds):
    depth = 100000
    arr = b"[" * depth + b"]" * depth
    obj = b'{"a":' * depth + b"1" + b"}" * depth
    code = b'"code": "function main(i){return i}"'
    text = json.dumps("[" * depth + "]" * depth).encode()
    sec_text = json.dumps('{"K": ' + "[" * depth + "]" * depth + "}").encode()
    ok2000 = b"[" * 2000 + b"]" * 2000
    table = [
        (EXECUTE, arr, err400("body")),
        (EXECUTE, b'{' + code + b', "x": ' + arr + b'}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": ' + arr + b'}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": ' + obj + b'}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": ' + text + b'}', err400("input")),
        (EXECUTE, b'{' + code + b', "secrets": ' + sec_text + b'}', err400("secrets")),
        (EXECUTE, b'{' + code + b', "secrets": {"K": ' + arr + b'}}', err400("body")),
        ("/api/v1/attestation/verify", b'{"proof": ' + arr + b'}', err400("body")),
        ("/api/v1/receipts/verify", b'{"receipt": ' + obj + b'}', err400("body")),
        (EXECUTE, b'{' + code + b', "input": ' + ok2000 + b'}', deep_echo),
    ]
    n = run_table(d, seconds, table)
    return "%d requests (%d kinds): 100,000 levels: 400 VALIDATION_ERROR (jansson's depth " \
           "limit, 2,048); 2,000 levels: 200" % (n, len(table))


# ============================================================================ driver
def raise_own_fd_limit(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def start_daemon(config, nofile=None, hard=False):
    """A daemon; with `nofile`, started with that soft open-file limit (and, with `hard`, that
    hard limit too), set in the child only."""
    d = Daemon(config)
    orig = test_e2e.subprocess
    if nofile is not None:
        def limit():
            h = nofile if hard else resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, h))

        shim = types.SimpleNamespace(**{k: getattr(orig, k) for k in dir(orig)
                                        if not k.startswith("__")})
        shim.Popen = functools.partial(orig.Popen, preexec_fn=limit)
        test_e2e.subprocess = shim  # Daemon.start's Popen, with the limit in the child
    try:
        d.start()
    finally:
        test_e2e.subprocess = orig
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated attack names")
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="duration of each request-flood attack (default 2)")
    ap.add_argument("--json", default="", help="write the measurements to this file")
    args = ap.parse_args()
    if not test_e2e.NCSLD or not os.access(test_e2e.NCSLD, os.X_OK):
        print("abuse: set NCSLD to the ncsld executable", file=sys.stderr)
        return 2
    only = set(filter(None, args.only.split(",")))
    sec = args.seconds
    n_idle = 1000
    have = raise_own_fd_limit(n_idle + 200)
    if have < n_idle + 100:
        n_idle = max(100, have - 100)
        print("abuse: only %d descriptors: idle_1000 opens %d connections" % (have, n_idle))

    results, failed = [], 0
    daemons = []
    try:
        d = start_daemon(CONFIG)
        daemons.append(d)
        fd0, rss0 = fd_count(d), rss_kib(d)
        attacks = [
            ("slowloris", d, lambda: attack_slowloris(d)),
            ("slowloris_limit", None, None),
            ("body_incomplete", d, lambda: attack_body_incomplete(d)),
            ("idle_1000", None, None),
            ("fd_limit_low", None, None),
            ("pipelined", d, lambda: attack_pipelined(d, sec)),
            ("content_length_2gb", d, lambda: attack_content_length(d, sec)),
            ("utf8_nul", d, lambda: attack_utf8_nul(d, sec)),
            ("duplicate_keys", d, lambda: attack_duplicate_keys(d, sec)),
            ("huge_numbers", d, lambda: attack_huge_numbers(d, sec)),
            ("deep_nesting", d, lambda: attack_deep_nesting(d, sec)),
        ]
        for name, target, fn in attacks:
            if only and name not in only:
                continue
            extra = None
            if name == "slowloris_limit":
                limit = 16
                extra = start_daemon({"Server": {"ConnectionTimeoutSeconds": T,
                                                 "ConnectionLimit": limit}})
                target, fn = extra, (lambda e=extra, n=limit: attack_slowloris_limit(e, n))
            elif name == "idle_1000":
                # Soft open-file limit 256 (below ConnectionLimit 1024): ncsld must raise it.
                extra = start_daemon({"Server": {"ConnectionTimeoutSeconds": T}}, nofile=256)
                target, fn = extra, (lambda e=extra: attack_idle(e, n_idle))
            elif name == "fd_limit_low":
                extra = start_daemon({"Server": {"ConnectionTimeoutSeconds": T}}, nofile=200,
                                     hard=True)
                target, fn = extra, (lambda e=extra: attack_fd_limit_low(e, 200))
            if extra:
                daemons.append(extra)
            row = {"attack": name}
            t0 = time.monotonic()
            try:
                # slowloris_limit and fd_limit_low block everyone for up to T by design (every
                # connection slot is taken): their own bound applies.
                nc = NormalClient(target.port)
                try:
                    with nc:
                        row["behaviour"] = fn()
                finally:
                    row["normal"] = nc.stats() if hasattr(nc, "lat") else {}
                if name not in ("slowloris_limit", "fd_limit_low"):
                    nc.check()
                assert target.proc.poll() is None, "ncsld exited (%s)" % target.proc.returncode
                h = target.request("GET", "/healthz", timeout=10)
                assert h.status == 200, h
                row["ok"] = True
            except Exception as e:  # noqa: BLE001 (reported, and the run fails)
                row["ok"] = False
                row["error"] = "%s: %s" % (type(e).__name__, e)
                # The daemon's side of it: its last warnings and errors.
                warn = [ln for ln in target.stderr_text().splitlines()
                        if '"level":"warn"' in ln or '"level":"error"' in ln]
                if warn:
                    row["error"] += "\n    daemon: " + "\n    daemon: ".join(warn[-6:])
                failed += 1
            row["seconds"] = round(time.monotonic() - t0, 1)
            results.append(row)
            print("%-20s %-4s %5.1fs  normal %s\n    %s" % (
                name, "ok" if row["ok"] else "FAIL", row["seconds"],
                json.dumps(row.get("normal", {})), row.get("behaviour") or row.get("error")),
                flush=True)
            if extra:
                extra.cleanup()
                daemons.remove(extra)

        # Nothing left behind: descriptors back to the baseline, memory bounded.
        time.sleep(0.5)
        fd1, rss1 = fd_count(d), rss_kib(d)
        print("daemon: fds %d -> %d, RSS %.1f -> %.1f MiB%s" % (
            fd0, fd1, rss0 / 1024.0, rss1 / 1024.0, " (ASan build)" if SANITIZED else ""))
        if d.proc.poll() is not None:
            print("FAIL: ncsld exited")
            failed += 1
        if fd1 > fd0 + 4:
            print("FAIL: descriptors grew from %d to %d" % (fd0, fd1))
            failed += 1
        # ASan's quarantine and shadow memory hold freed memory: bound the plain builds only.
        if not SANITIZED and rss1 > rss0 + 128 * 1024:
            print("FAIL: RSS grew from %.1f to %.1f MiB" % (rss0 / 1024.0, rss1 / 1024.0))
            failed += 1
        # A clean exit on SIGTERM (under ASan: LeakSanitizer runs at exit and fails it).
        rc = d.stop()
        if rc != 0:
            print("FAIL: ncsld exited with %s on SIGTERM" % rc)
            failed += 1
        bad = [ln for ln in d.stderr_text().splitlines()
               if "AddressSanitizer" in ln or "LeakSanitizer" in ln or "runtime error:" in ln]
        if bad:
            print("FAIL: sanitizer reports:\n  " + "\n  ".join(bad[:10]))
            failed += 1
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"results": results, "fds": [fd0, fd1], "rss_kib": [rss0, rss1]}, f,
                          indent=1)
    finally:
        for x in daemons:
            x.cleanup()
    print("abuse: %s" % ("%d failed" % failed if failed else "all passed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
