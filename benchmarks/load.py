"""Load test of `rakuten-edge serve`: a fixed number of requests at a fixed concurrency, loopback only, bounded.

    .venv/bin/python benchmarks/load.py BUNDLE IMAGES_DIR [--requests 5000] [--concurrency 1,8,32]
                                        [--windows 2,0] [--out bench-results/serve]

For each micro-batching window (0 = off) it starts the server on a free 127.0.0.1 port, sends every concurrency's
requests (multipart image + designation, images rotating), then stops it. Reports p50/p95/p99 latency, requests/s,
errors (any non-200) and the server's RSS before and after; beside them the bundle's batch-1 latency, batch-32
throughput (m) and the decode rate (d), each measured alone on all cores. The client runs on the same 2 cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from rates import TEXT, decode_ms, decode_rate, latency_ms, model_rate

BOUNDARY = "rakutenedgeload"


def _body(image: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="designation"\r\n\r\n{TEXT}\r\n'.encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + image
        + b"\r\n",
        f"--{BOUNDARY}--\r\n".encode(),
    ]
    return b"".join(parts)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(
    bundle: Path, window: float, extra: list[str], ready_s: float = 60.0, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, int]:
    """`serve BUNDLE` on a free loopback port, ready; `env` adds variables to the server's environment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rakuten_edge.cli",
            "serve",
            str(bundle),
            "--port",
            str(port),
            "--batch-window-ms",
            str(window),
            "--max-inflight",
            "256",
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    deadline = time.time() + ready_s
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not become ready")


def run_load(port: int, bodies: list[bytes], requests: int, concurrency: int) -> dict:
    latencies, errors, lock, counter = [], 0, threading.Lock(), iter(range(requests))

    def worker(_):
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/v1/predict", body=bodies[i % len(bodies)], headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                latencies.append(elapsed)
                errors += not ok

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    wall = time.perf_counter() - start
    ms = np.array(latencies)
    return {
        "requests": requests,
        "concurrency": concurrency,
        "errors": errors,
        "requests_per_s": requests / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("bundle", type=Path)
    parser.add_argument("images", type=Path)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--windows", default="2,0")
    parser.add_argument("--out", type=Path, default=Path("bench-results/serve"))
    parser.add_argument("--serve-args", default="", help="extra `rakuten-edge serve` options, e.g. --no-spin")
    args = parser.parse_args()
    images = sorted(args.images.glob("*.jpg"))[:500]
    bodies = [_body(p.read_bytes()) for p in images]
    alone = {
        "batch1_ms": latency_ms(args.bundle, images),
        "model_batch32_per_s": model_rate(args.bundle, images),
        "decode_per_s": decode_rate(images * 4, 2),
        "decode_ms": decode_ms(images),
    }
    alone["bound_per_s"] = 1 / (1 / alone["model_batch32_per_s"] + 1 / alone["decode_per_s"])
    print(json.dumps(alone), flush=True)
    rows = []
    for window in [float(w) for w in args.windows.split(",")]:
        proc, port = _start(args.bundle, window, args.serve_args.split())
        try:
            rss_start = _rss_mb(proc.pid)
            for c in [int(x) for x in args.concurrency.split(",")]:
                row = {
                    "window_ms": window,
                    "serve_args": args.serve_args,
                    **run_load(port, bodies, args.requests, c),
                    "rss_start_mb": rss_start,
                    "rss_end_mb": _rss_mb(proc.pid),
                }
                row["share_of_bound"] = row["requests_per_s"] / alone["bound_per_s"]
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            proc.terminate()
            proc.wait(30)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(
        json.dumps({"bundle": str(args.bundle), "alone": alone, "rows": rows}, indent=1)
    )


if __name__ == "__main__":
    main()
