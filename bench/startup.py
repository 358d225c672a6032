#!/usr/bin/env python3
"""ncsld start-up time: from exec to the first answered request, on an existing data directory.

Usage: startup.py NCSLD DATA_DIR [RUNS]

The data directory must already exist (a first start creates and seals the identity, which is
not what this measures). Each run starts ncsld on a free 127.0.0.1 port, polls GET /healthz
every 0.5 ms until it answers 200, then stops it. Prints the median, min and max in ms.
NCSL_ADMIN_KEY must be set as for the run that created the data directory.
"""
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(ncsld, data_dir):
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([ncsld, "--data-dir", data_dir, "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"ncsld exited with {proc.returncode} before answering")
            if time.perf_counter() - t0 > 10:
                raise SystemExit("ncsld did not answer within 10 s")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as c:
                    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Connection: close\r\n\r\n")
                    if c.recv(64).startswith(b"HTTP/1.1 200"):
                        return (time.perf_counter() - t0) * 1000
            except OSError:
                time.sleep(0.0005)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    times = [one_run(sys.argv[1], sys.argv[2]) for _ in range(runs)]
    print(f"ncsld start-up (exec to first answered request, existing data dir, {runs} runs): "
          f"median {statistics.median(times):.1f} ms [{min(times):.1f}-{max(times):.1f}]")


if __name__ == "__main__":
    main()
