"""The page in headless Chromium: cold load and per-product latency of each bundle, and the site's size.

    .venv/bin/python benchmarks/web.py BUNDLE [BUNDLE ...] --raw data/raw [--n 50] [--out bench-results/web]

Each bundle gets its own site and a fresh Chromium profile. Cold load: from navigation start to the model being
ready (HTML, onnxruntime-web's 14 MB wasm from loopback, compile, model, session), as the page measures it, over
`--loads` fresh profiles. Latency: what the page shows per product (decode, preprocessing, inference), on the first
N training products of `--raw`, after one warm-up product.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
from pathlib import Path

from rakuten_edge.web import build_site
from rakuten_edge.web.browser import Page, missing_tools


def products(raw: Path, n: int) -> list[tuple[Path, str, str]]:
    with open(raw / "X_train_update.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[: n + 1]
    folder = raw / "images" / "image_train"
    return [
        (folder / f"image_{r['imageid']}_product_{r['productid']}.jpg", r["designation"], r["description"])
        for r in rows
    ]


def measure(bundle: Path, raw: Path, n: int, loads: int, work: Path) -> dict:
    site = build_site(bundle, work / bundle.name)
    cold = []
    for i in range(loads):
        with Page(site.out, work / f"profile-{bundle.name}-{i}") as page:
            cold.append(page.load_ms)
            if i == loads - 1:
                items = products(raw, n)
                page.classify(*items[0])  # warm-up
                ms = [page.classify(*item).ms for item in items[1:]]
    return {
        "bundle": bundle.name,
        "site_mb": round(site.bytes / 1e6, 1),
        "model_mb": round((site.out / "model" / "model.onnx").stat().st_size / 1e6, 2),
        "cold_load_ms_median": round(statistics.median(cold), 0),
        "cold_loads": [round(c) for c in cold],
        "latency_ms_p50": round(statistics.median(ms), 1),
        "latency_ms_p90": round(sorted(ms)[int(0.9 * (len(ms) - 1))], 1),
        "products": len(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundles", nargs="+", type=Path)
    parser.add_argument("--raw", type=Path, default=Path("data/raw"))
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--loads", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-results/web"))
    args = parser.parse_args()
    if reason := missing_tools():
        raise SystemExit(f"cannot drive the page here: {reason}")
    with tempfile.TemporaryDirectory() as work:
        rows = [measure(b, args.raw, args.n, args.loads, Path(work)) for b in args.bundles]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "web.json").write_text(json.dumps(rows, indent=1))
    print("| bundle | site MB | model MB | cold load ms (median) | per product p50 / p90 ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['bundle']} | {r['site_mb']} | {r['model_mb']} | {r['cold_load_ms_median']:.0f} | "
            f"{r['latency_ms_p50']} / {r['latency_ms_p90']} |"
        )


if __name__ == "__main__":
    main()
