#!/usr/bin/env python3
"""Measures the registry under the attacks of issue 13 (docs/benchmarks.md, "Registry").
Not part of the test suite; the tests (registry/tests/it/hardening.rs) assert only bounds.

    bench/registry-attack.py [--registry PATH] [--idle 500] [--uploads 32]

From nothing, on loopback, with the release binary (default: target/release/threatpack-registry,
or $CARGO_TARGET_DIR/release/threatpack-registry):
  1. starts `threatpack-registry --data TMP --listen 127.0.0.1:0` on a fresh data directory
     and reads its address from stdout; its resident memory (VmRSS, /proc) is sampled
     every 20 ms from then on;
  2. unauthenticated uploads: UPLOADS connections (default 32) each send
     `PUT /api/v1/packs/acme/web/1.0.0` with `Content-Length: 60000000` and no token, then
     60,000,000 - 1 bytes as fast as the server takes them, and stay open. It prints the RSS
     before and at the peak, and how many got an answer (and which status);
  3. idle connections: IDLE connections (default 500) connect and send nothing. Meanwhile
     200 `GET /api/v1/ready` requests (`/api/v1/health` if the binary has no `/ready`), one at
     a time, each on a fresh connection, are timed from connect to the whole answer. It
     prints the p50, p99 and max latency, and how many of the idle connections the server
     had closed 2 s after its header timeout;
  4. stops the server with SIGTERM and deletes its data directory.
Needs: python3. The same machine runs the server and this script.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def resident_bytes(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Sampler(threading.Thread):
    """The peak RSS of a process since the last reset."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.running = True

    def run(self):
        while self.running:
            try:
                self.peak = max(self.peak, resident_bytes(self.pid))
            except OSError:
                return
            time.sleep(0.02)

    def reset(self):
        self.peak = resident_bytes(self.pid)


def start(binary, data):
    process = subprocess.Popen(
        [binary, "--data", data, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in process.stdout:
        if line.startswith("listening on http://"):
            host, port = line.strip().removeprefix("listening on http://").rsplit(":", 1)
            return process, (host, int(port))
    sys.exit("error: the registry did not start")


def read_status(sock, timeout):
    sock.settimeout(timeout)
    answer = b""
    try:
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    except OSError:
        return None
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def upload(address, size, held, statuses):
    sock = socket.create_connection(address)
    head = (
        f"PUT /api/v1/packs/acme/web/1.0.0 HTTP/1.1\r\nHost: {address[0]}\r\n"
        f"X-Threatpack-Signature: eA==\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    sock.sendall(head)
    chunk = b"\x1f" * (1 << 20)
    sent = 0
    sock.settimeout(10)
    try:
        while sent < size - 1:
            piece = chunk[: min(len(chunk), size - 1 - sent)]
            sock.sendall(piece)
            sent += len(piece)
    except OSError:
        pass
    statuses.append(read_status(sock, 5))
    held.append(sock)


def timed_get(address, path):
    started = time.perf_counter()
    sock = socket.create_connection(address, timeout=30)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    sock.settimeout(30)
    answer = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    sock.close()
    return time.perf_counter() - started, answer.split(b" ", 2)[1].decode()


def closed(sock):
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def main():
    parser = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    parser.add_argument("--registry", default=os.path.join(target, "release", "threatpack-registry"))
    parser.add_argument("--idle", type=int, default=500)
    parser.add_argument("--uploads", type=int, default=32)
    parser.add_argument("--header-timeout", type=float, default=10.0,
                        help="the server's header timeout, to know when to look (default 10)")
    arguments = parser.parse_args()

    data = tempfile.mkdtemp(prefix="threatpack-bench-attack.")
    process, address = start(arguments.registry, data)
    try:
        sampler = Sampler(process.pid)
        sampler.start()
        time.sleep(0.5)
        idle_rss = resident_bytes(process.pid)
        sampler.reset()
        held, statuses = [], []
        threads = [
            threading.Thread(target=upload, args=(address, 60_000_000, held, statuses))
            for _ in range(arguments.uploads)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        time.sleep(0.5)
        print(f"unauthenticated uploads: {arguments.uploads} x 60 MB, held open")
        print(f"  RSS idle {idle_rss / 2**20:.1f} MiB, peak {sampler.peak / 2**20:.1f} MiB "
              f"(+{(sampler.peak - idle_rss) / 2**20:.1f} MiB), all sent or refused in {elapsed:.1f} s")
        counts = {}
        for status in statuses:
            counts[status] = counts.get(status, 0) + 1
        print(f"  answers: {counts}")
        for sock in held:
            sock.close()

        path = "/api/v1/ready"
        if timed_get(address, path)[1] != "200":
            path = "/api/v1/health"
        idle = [socket.create_connection(address) for _ in range(arguments.idle)]
        opened_at = time.perf_counter()
        latencies, failures = [], 0
        for _ in range(200):
            latency, status = timed_get(address, path)
            if status == "200":
                latencies.append(latency)
            else:
                failures += 1
        latencies.sort()
        took = time.perf_counter() - opened_at
        print(f"{path} with {arguments.idle} idle connections open: 200 requests in {took:.1f} s, "
              f"{failures} not 200")
        if latencies:
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            print(f"  latency p50 {statistics.median(latencies) * 1000:.2f} ms, "
                  f"p99 {p99 * 1000:.2f} ms, max {latencies[-1] * 1000:.2f} ms")
        wait = arguments.header_timeout + 2 - (time.perf_counter() - opened_at)
        if wait > 0:
            time.sleep(wait)
        closed_count = sum(closed(sock) for sock in idle)
        print(f"  idle connections closed by the server {arguments.header_timeout + 2:.0f} s "
              f"after opening: {closed_count} of {arguments.idle}")
        for sock in idle:
            sock.close()
        sampler.running = False
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
