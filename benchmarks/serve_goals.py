"""Issue 21's goals in one run: OIP against /v1, Ray Serve against one process, reload under load, RSS over time.

    .venv/bin/python benchmarks/serve_goals.py BUNDLES_DIR IMAGES_DIR [--model cnn3-int8] [--requests 2000]
        [--out bench-results/serve-goals] [--skip ray] [--replicas 1 2] [--ray-ingress proxy haproxy]
        [--ray-env default throughput-optimized haproxy-1-thread]

BUNDLES_DIR holds several bundles (all are served; --model is /v1's default and the one loaded). Every server binds
127.0.0.1 on a free port and is stopped at the end of its part; every loop has a fixed count. Rows:
- v1 / v2: `requests` requests at concurrency 32 on /v1/predict (multipart) and on /v2/models/M/infer (binary
  extension), same server, bundle and images, alternated in two rounds;
- ray: the same /v1 load on `serve --engine ray --replicas 2 --ray-ingress I` (Ray's processes share the same
  cores), then 16 answers against the runtime's and a bad image's status;
- reload: 2,000 requests at concurrency 8 on /v1 while a new bundle is added and reloaded, then a corrupted one;
  every answer must be a 200 from the old default model;
- rss: `--rss-warmup` warm-up requests per model, then `--rss-rounds` rounds of 5,000 spread over every model on
  /v2; the server's RSS before and after each round.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import struct
import sys
import tempfile
import threading
import time
from pathlib import Path

from load import BOUNDARY, TEXT, _body, _rss_mb, _start

from rakuten_edge.machine import describe
from rakuten_edge.serve import RAY_INGRESSES

KEY = "bench"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def oip_body(image: bytes, text: str) -> tuple[bytes, dict]:
    """One product as an OIP infer request with binary BYTES inputs (what tritonclient sends)."""
    blobs = [struct.pack("<I", len(image)) + image, struct.pack("<I", len(text.encode())) + text.encode()]
    header = {
        "inputs": [
            {"name": n, "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(b)}}
            for n, b in zip(("image", "designation"), blobs)
        ],
        "outputs": [{"name": "top_k_codes", "parameters": {"binary_data": True}}],
    }
    head = json.dumps(header).encode()
    return head + b"".join(blobs), {"Inference-Header-Content-Length": str(len(head))}


def load(port: int, path: str, bodies: list, requests: int, concurrency: int, must_hold: bytes = b"") -> dict:
    """Like load.run_load, for any path and per-body headers; counts non-200 answers, and answers without
    `must_hold` (the bundle that should be answering)."""
    latencies, errors, lock, counter = [], 0, threading.Lock(), iter(range(requests))

    def worker(_):
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while (i := next_index()) is not None:
            body, headers = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"X-API-Key": KEY, **headers})
                response = conn.getresponse()
                ok = response.status == 200 and must_hold in response.read()
            except OSError:
                ok, conn = False, http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                latencies.append(time.perf_counter() - t0)
                errors += not ok

    def next_index():
        with lock:
            return next(counter, None)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "path": path,
        "requests": requests,
        "concurrency": concurrency,
        "errors": errors,
        "requests_per_s": round(requests / (time.perf_counter() - start), 1),
    }


ROLES = (  # the first pattern a process's command line holds names its role
    ("ServeReplica", "replicas"),
    ("ProxyActor", "ray proxy"),
    ("HAProxyManager", "haproxy manager"),
    ("bin/haproxy", "haproxy"),
    ("ServeController", "ray controller"),
    ("raylet", "raylet"),
    ("gcs_server", "ray gcs"),
    ("rakuten_edge.cli serve", "server / driver"),
    ("serve_goals.py", "load client"),
)


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) so far, summed by role over every process on the machine."""
    import psutil

    totals: dict[str, float] = {}
    for proc in psutil.process_iter(["cmdline", "cpu_times", "name"]):
        line = " ".join(proc.info["cmdline"] or [proc.info["name"] or ""])
        role = next((r for pattern, r in ROLES if pattern in line), "other")
        times = proc.info["cpu_times"]
        if times is not None:
            totals[role] = totals.get(role, 0.0) + times.user + times.system
    return totals


def measured(run) -> dict:
    """`run()`'s row, with where the CPU went meanwhile (seconds by role; 2 cores give 2 s per second)."""
    before, start = cpu_seconds(), time.perf_counter()
    row = run()
    after, wall = cpu_seconds(), time.perf_counter() - start
    spent = {k: round(after.get(k, 0) - before.get(k, 0), 1) for k in after}
    return {**row, "wall_s": round(wall, 1), "cpu_s": {k: v for k, v in sorted(spent.items()) if v >= 0.5}}


def post(port: int, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", path, headers={"X-API-Key": KEY})
    return json.loads(conn.getresponse().read())


def protocols(args, folder: Path, multipart: list, binary: list) -> list[dict]:
    proc, port = _start(folder / args.model, 2.0, ["--api-key", KEY])
    try:
        load(port, "/v1/predict", multipart, 200, 32)  # warm-up
        rows = []
        for _ in range(2):  # alternated, so a drift of the machine hits both
            rows.append(measured(lambda: load(port, "/v1/predict", multipart, args.requests, 32)))
            rows.append(measured(lambda: load(port, f"/v2/models/{args.model}/infer", binary, args.requests, 32)))
        return rows
    finally:
        proc.terminate()
        proc.wait(30)


# Ray Serve's own switches, one row each (its docs: "Enable High Throughput on Ray Serve"); the server and Ray's
# processes it starts inherit them. Direct ingress stays off here: `--ray-ingress haproxy` is the served way to it.
RAY_ENVS = {
    "default": {},
    "throughput-optimized": {"RAY_SERVE_THROUGHPUT_OPTIMIZED": "1", "RAY_SERVE_ENABLE_DIRECT_INGRESS": "0"},
    "haproxy-1-thread": {"RAY_SERVE_HAPROXY_NBTHREAD": "1"},  # Ray's default runs HAProxy on 4 threads
}


def answers(port: int, bundle: Path, raw: list) -> dict:
    """The server's /v1 answers against the runtime's on the same products, and a bad image's status and body."""
    from rakuten_edge.runtime import load as load_bundle

    clf, same = load_bundle(bundle), 0
    for image, _ in raw[:16]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("POST", "/v1/predict", body=_body(image), headers={"X-API-Key": KEY, **MULTIPART})
        got = json.loads(conn.getresponse().read())
        best = clf.prediction(clf.predict_proba([image], [TEXT])[0], 3)
        same += got["prdtypecode"] == best.prdtypecode and abs(got["probability"] - best.probability) <= 1e-5
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/predict", body=_body(b"not an image"), headers={"X-API-Key": KEY, **MULTIPART})
    bad = conn.getresponse()
    return {"same_answers": f"{same}/{min(16, len(raw))}", "bad_image": f"{bad.status} {bad.read()[:120].decode()}"}


def ray_rows(args, folder: Path, multipart: list, raw: list) -> list[dict]:
    rows = []
    for ingress in args.ray_ingress:
        for variant in args.ray_env:
            for replicas in args.replicas:
                extra = ["--api-key", KEY, "--engine", "ray", "--replicas", str(replicas), "--ray-ingress", ingress]
                proc, port = _start(folder / args.model, 2.0, extra, ready_s=300, env=RAY_ENVS[variant])
                try:
                    load(port, "/v1/predict", multipart, 200, 32)
                    row = measured(lambda port=port: load(port, "/v1/predict", multipart, args.requests, 32))
                    checks = answers(port, folder / args.model, raw)
                finally:
                    stopping = time.perf_counter()
                    proc.terminate()
                    proc.wait(120)
                stop_s = round(time.perf_counter() - stopping, 1)
                engine = f"ray, {replicas} replicas, {ingress}, {variant}"
                rows.append({"engine": engine, **row, **checks, "stop_s": stop_s})
    return rows


def reload_row(args, folder: Path, multipart: list) -> dict:
    """2,000 requests at concurrency 8 spanning two reloads: a new bundle, then a corrupted one."""
    extra = next(p for p in folder.iterdir() if p.name != args.model and (p / "manifest.json").is_file())
    with tempfile.TemporaryDirectory() as tmp:
        served = Path(tmp) / "bundles"
        served.mkdir()
        shutil.copytree(folder / args.model, served / args.model)
        proc, port = _start(served, 2.0, ["--api-key", KEY])
        answers: dict = {}

        def reloads():
            time.sleep(3)
            shutil.copytree(extra, served / "added")
            answers["added"] = post(port, "/admin/reload")
            time.sleep(3)
            shutil.copytree(extra, served / "corrupted")
            model = served / "corrupted" / "model.onnx"
            model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
            answers["corrupted"] = post(port, "/admin/reload")

        thread = threading.Thread(target=reloads)
        try:
            thread.start()
            row = load(port, "/v1/predict", multipart, 2000, 8, str(served / args.model).encode())
            thread.join()
        finally:
            proc.terminate()
            proc.wait(30)
    return {**row, "reloads": answers}


def rss_row(args, folder: Path, binary: list) -> dict:
    proc, port = _start(folder, 2.0, ["--api-key", KEY])
    names = sorted(p.name for p in folder.iterdir() if (p / "manifest.json").is_file())
    try:
        for name in names:
            load(port, f"/v2/models/{name}/infer", binary, args.rss_warmup, 8)
        rss, rows = [round(_rss_mb(proc.pid), 1)], []
        for _ in range(args.rss_rounds):  # RSS after each round: warm-up growth levels off, a leak keeps climbing
            rows += [load(port, f"/v2/models/{n}/infer", binary, 5000 // len(names), 8) for n in names]
            rss.append(round(_rss_mb(proc.pid), 1))
        return {
            "models": names,
            "requests": sum(r["requests"] for r in rows),
            "errors": sum(r["errors"] for r in rows),
            "rss_before_mb": rss[0],
            "rss_after_mb": rss[-1],
            "rss_by_round_mb": rss,
        }
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", type=Path)
    parser.add_argument("images", type=Path)
    parser.add_argument("--model", default="cnn3-int8")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--replicas", type=int, nargs="+", default=[2], help="Ray Serve rows, one per count")
    parser.add_argument("--ray-env", nargs="+", default=["default"], choices=sorted(RAY_ENVS))
    parser.add_argument("--ray-ingress", nargs="+", default=["proxy", "haproxy"], choices=sorted(RAY_INGRESSES))
    parser.add_argument("--skip", nargs="*", default=[], choices=["protocols", "ray", "reload", "rss"])
    parser.add_argument("--rss-warmup", type=int, default=500, help="rss: warm-up requests per model")
    parser.add_argument("--rss-rounds", type=int, default=1, help="rss: rounds of 5,000 requests, RSS after each")
    parser.add_argument("--out", type=Path, default=Path("bench-results/serve-goals"))
    args = parser.parse_args()
    if not (args.bundles / args.model / "manifest.json").is_file():
        parser.error(f"{args.bundles}/{args.model} is not a bundle")
    images = sorted(args.images.glob("*.jpg"))[:200]
    if not images:
        parser.error(f"no .jpg in {args.images}")
    texts = ["Piscine tubulaire ronde", "Lot de 3 figurines Pop", "Coque de protection iPhone", "Jeu de société"]
    raw = [(p.read_bytes(), texts[i % 4]) for i, p in enumerate(images)]
    multipart = [(_body(image), MULTIPART) for image, _ in raw]
    binary = [oip_body(image, text) for image, text in raw]
    report = {"machine": describe(), "bundles": str(args.bundles), "model": args.model}
    parts = {
        "protocols": lambda: protocols(args, args.bundles, multipart, binary),
        "ray": lambda: ray_rows(args, args.bundles, multipart, raw),
        "reload": lambda: reload_row(args, args.bundles, multipart),
        "rss": lambda: rss_row(args, args.bundles, binary),
    }
    for name, part in parts.items():
        if name not in args.skip:
            report[name] = part()
            print(json.dumps({name: report[name]}), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "goals.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    sys.exit(main())
