"""Tune on this CPU, then check that `load()` follows the tuning: for each seed-size token model (random weights), its
fp32 and int8 bundles are tuned for latency and throughput (every engine × precision × threads installed here, each
candidate in a fresh process, gated against the bundle's own onnxruntime answers); then the recorded winner is loaded
in a fresh process through `load(bundle, job=...)` and the runtime's path, timed the same way, and compared with the
fastest gate-passing candidate of the same run.

The comparison alternates, in fresh processes, `load(bundle, job=...)` and the fastest candidate pinned by hand
(backend, precision, threads), `--rounds` times, and reports the median of the per-round ratios with their range:
one measurement of each, minutes apart, swung 0.66-1.44x for the same engine on a VM with ~20% steal.

    .venv/bin/python benchmarks/tune_goals.py --prepared data/prepared --out bench-results/tune [--models cnn2] \
        [--rounds 5]

The gate rows come from `--prepared` (any prepared split: with random weights only the engines' agreement matters).
Prints the CPU, writes results.json and results.md under --out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

CHECK = """
import json, sys, time, numpy as np
from rakuten_edge.runtime import load
from rakuten_edge.runtime.batching import batch1_ms
bundle, job, feeds_path, pinned = sys.argv[1:5]
# "{}": what load() picks for the job from the tuning file; else the candidate pinned by backend, precision, threads
clf = load(bundle, job=job, **json.loads(pinned))
feeds = dict(np.load(feeds_path))
if job == "latency":
    value = float(np.median(batch1_ms(clf.run, feeds, 200)))
else:
    n = len(next(iter(feeds.values())))
    batch = {k: np.concatenate([v] * (32 // n + 1))[:32] for k, v in feeds.items()}
    clf.run(batch)
    t0 = time.perf_counter()
    for _ in range(20):
        clf.run(batch)
    value = 20 * 32 / (time.perf_counter() - t0)
print(json.dumps({"value": value, "choice": clf.choice, "engine": clf.candidate.label}))
"""


def _check(bundle: Path, job: str, feeds_path: Path, pinned: dict) -> dict:
    """One fresh process: the bundle loaded for the job (pinned or as tuned), timed through the runtime's path."""
    args = [sys.executable, "-c", CHECK, str(bundle), job, str(feeds_path), json.dumps(pinned)]
    check = subprocess.run(args, capture_output=True, text=True)
    return json.loads(check.stdout.strip().splitlines()[-1]) if check.returncode == 0 else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("bench-results/tune"))
    parser.add_argument("--models", nargs="+", default=["cnn1", "cnn2", "cnn3"])
    parser.add_argument("--rows", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import numpy as np

    from rakuten_edge.bench.untrained import build
    from rakuten_edge.choices import Precision
    from rakuten_edge.data.prepared import load_split
    from rakuten_edge.machine import describe
    from rakuten_edge.runtime import load
    from rakuten_edge.runtime.tuning import JOBS
    from rakuten_edge.tables.formats import bundle_format, bundle_name
    from rakuten_edge.tune import tune

    args.out.mkdir(parents=True, exist_ok=True)
    bundles = args.out / "bundles"
    missing = [m for m in args.models if not (bundles / f"{m}-untrained-int8" / "manifest.json").is_file()]
    if missing:
        build(args.out / "runs", missing, bundles, litert=True)  # LiteRT's flatbuffers where they pass their gates
    machine = describe()
    print(f"CPU: {machine['cpu']} ({' '.join(machine['flags'])}), {machine['cores']} cores", flush=True)
    rows = []
    val = load_split(args.prepared, "val").head(args.rows)
    for model in args.models:
        for precision in Precision:
            bundle = bundles / bundle_name(f"{model}-untrained", bundle_format(precision))
            tuned = tune(bundle, JOBS, args.prepared, rows=args.rows)
            feeds_path = args.out / "feeds.npz"
            clf = load(bundle)
            np.savez(feeds_path, **clf.encode(val.pixels, val.texts))
            for job in JOBS:
                key = "p50_ms" if job == "latency" else "items_per_s"
                passing = [r for r in tuned[job]["table"] if r.get("passed")]
                best = (min if job == "latency" else max)(passing, key=lambda r: r[key]) if passing else None
                ratios, got, pinned = [], {}, {}
                for _ in range(args.rounds if best else 0):  # alternating, so both meet the same neighbours
                    got = _check(bundle, job, feeds_path, {})
                    pinned = _check(bundle, job, feeds_path, best["candidate"])
                    if got and pinned:
                        faster = got["value"] / pinned["value"]  # items/s: higher is faster; ms: lower is
                        ratios.append(1 / faster if job == "latency" else faster)
                row = {
                    "model": model,
                    "bundle": bundle.name,
                    "job": job,
                    "best": best and best["label"],
                    "best_value": best and best[key],
                    "loaded": got.get("engine"),
                    "loaded_value": got.get("value"),
                    "pinned_value": pinned.get("value"),
                    "ratio": statistics.median(ratios) if ratios else None,
                    "ratio_range": [min(ratios), max(ratios)] if ratios else None,
                    "refused": [f"{r['label']}: {r['why']}" for r in tuned[job]["table"] if not r.get("passed")],
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    (args.out / "results.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
    lines = [
        f"CPU: {machine['cpu']} ({' '.join(machine['flags'])}), {machine['cores']} cores",
        "",
        f"| bundle | job | fastest passing candidate (tune) | its figure | load() picked | last round: load() / "
        f"pinned | speed ratio, median of {args.rounds} (range) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        unit = "ms" if r["job"] == "latency" else "items/s"
        best = f"{r['best_value']:.3f} {unit}" if r["best_value"] else "-"
        got = f"{r['loaded_value']:.3f} / {r['pinned_value']:.3f} {unit}" if r["loaded_value"] else "-"
        ratio = f"{r['ratio']:.2f}× ({r['ratio_range'][0]:.2f}-{r['ratio_range'][1]:.2f})" if r["ratio"] else "-"
        lines.append(f"| {r['bundle']} | {r['job']} | {r['best']} | {best} | {r['loaded']} | {got} | {ratio} |")
    (args.out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
