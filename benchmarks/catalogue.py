"""Catalogue scoring at 20,000 products: what limits it, memory at 2,000 vs 20,000, local vs Ray.

    .venv/bin/python benchmarks/catalogue.py [--n 20000] [--work /tmp/rakuten-catalogue] [--out bench-results/catalogue]

Measured alone, each on all cores: m = the seed-size cnn3 bundle's batch-32 throughput (feeds prepared beforehand),
d = the image decode rate (the runtime's load_image on a thread pool). Then end to end with the local engine, fp32
and int8, and the Ray engine; peak RSS of the whole command (a fresh process each) at 2,000 and 20,000 rows.
The model has random weights (seed size): throughput does not depend on training.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from rates import decode_rate, model_rate

HERE = Path(__file__).resolve().parent
SCORE = """
import json, sys, time
from rakuten_edge.bench.worker import peak_memory_mb
from rakuten_edge.catalogue import CatalogueOptions, score_catalogue
t0 = time.perf_counter()
s = score_catalogue(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4],
                    CatalogueOptions(engine=sys.argv[5], top_k=3, progress=False))
print(json.dumps({**s.to_dict(), "wall_s": time.perf_counter() - t0, "peak_rss_mb": peak_memory_mb()}))
"""


def _catalogue(work: Path, n: int) -> tuple[Path, Path]:
    from rakuten_edge.data.synth import synth

    raw = work / "raw"
    if not (raw / "X_test_update.csv").is_file():
        synth(raw, n=27, test_n=n, seed=11)
    return raw / "X_test_update.csv", raw / "images" / "image_test"


def _head(csv_path: Path, rows: int, dest: Path) -> Path:
    with open(csv_path, newline="", encoding="utf-8") as f:
        lines = list(csv.reader(f))[: rows + 1]
    with open(dest, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(lines)
    return dest


def _bundles(work: Path) -> dict[str, Path]:
    from rakuten_edge.bench.untrained import build
    from rakuten_edge.choices import Precision
    from rakuten_edge.tables.formats import bundle_format, bundle_name

    root = work / "bundles"
    # The bundle names the export writes, from the format table (one per precision).
    folders = {p.value: root / bundle_name("cnn3-untrained", bundle_format(p)) for p in Precision}
    if not all((f / "manifest.json").is_file() for f in folders.values()):
        build(work / "runs", ["cnn3"], root)
    return folders


def _score(csv_path: Path, images: Path, bundle: Path, out: Path, engine: str) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-c", SCORE, str(csv_path), str(images), str(out), str(bundle), engine],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ray_init_seconds() -> float:
    code = (
        "import os, time; t = time.perf_counter(); import ray; ray.init(num_cpus=os.cpu_count(), "
        "include_dashboard=False, log_to_driver=False, logging_level='ERROR'); print(time.perf_counter() - t); "
        "ray.shutdown()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/rakuten-catalogue"))
    parser.add_argument("--out", type=Path, default=Path("bench-results/catalogue"))
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    csv_path, images = _catalogue(args.work, args.n)
    bundles = _bundles(args.work)
    files = sorted(images.glob("*.jpg"))
    result = {
        "products": args.n,
        "cores": cores,
        "image_kb_median": float(np.median([f.stat().st_size for f in files[:2000]]) / 1024),
    }
    result["decode_per_s"] = {w: decode_rate(files[:4000], w) for w in (1, cores)}
    d = result["decode_per_s"][cores]
    small = _head(csv_path, 2000, args.work / "catalogue-2000.csv")
    for precision, bundle in bundles.items():
        forced, m = model_rate(bundle, files), model_rate(bundle, files, forced=False)
        bound = 1 / (1 / m + 1 / d)  # m: what the runtime may do (row by row when not batch-invariant)
        full = _score(csv_path, images, bundle, args.out / f"local-{precision}" / "p.csv", "local")
        two = _score(small, images, bundle, args.out / f"local-{precision}-2000" / "p.csv", "local")
        result[precision] = {
            "model_batch32_forced_per_s": forced,
            "model_runtime_rule_per_s": m,
            "bound_per_s": bound,
            "end_to_end_per_s": full["items_per_s"],
            "share_of_bound": full["items_per_s"] / bound,
            "wall_s": full["wall_s"],
            "peak_rss_mb_20000": full["peak_rss_mb"],
            "peak_rss_mb_2000": two["peak_rss_mb"],
        }
        print(precision, json.dumps(result[precision]), flush=True)
    if not args.skip_ray:
        result["ray_init_s"] = _ray_init_seconds()
        ray = _score(csv_path, images, bundles["fp32"], args.out / "ray-fp32" / "p.csv", "ray")
        result["ray_fp32"] = {
            "wall_s": ray["wall_s"],
            "scoring_s": ray["seconds"],
            "items_per_s": ray["items_per_s"],
            "peak_rss_mb_driver": ray["peak_rss_mb"],
        }
        same = (args.out / "ray-fp32" / "p.csv").read_bytes() == (args.out / "local-fp32" / "p.csv").read_bytes()
        result["ray_fp32"]["same_file_as_local"] = same
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "catalogue.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
