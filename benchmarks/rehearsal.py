"""A full challenge-scale rehearsal: every step a user with the real files meets, at the real size, timed.

    .venv/bin/python benchmarks/rehearsal.py [--scale 1.0] [--work /tmp/rakuten-rehearsal] [--out bench-results]

Steps, each the CLI in a fresh process: generate 84,916 labelled + 13,812 test products in the challenge format,
`data prepare`, `train cnn3` for one epoch with the seed settings, `export cnn3 --quantize`, score the 13,812 test
products with `predict --csv` (the int8 bundle when its gates passed, else fp32). Per step: wall time, peak RSS
(the largest process of the step, its pool workers included: wait4's ru_maxrss) and the whole process tree's
largest summed RSS (sampled every 0.2 s), and the disk of the step's output. `--scale 0.125` runs the same at an
eighth, so that two runs show how each step grows (the table prints per-product rates). Writes
OUT/rehearsal-SCALE.json and .md. Not part of `make test`: the full run takes about an hour here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "rakuten_edge"]
TRAIN_N, TEST_N = 84_916, 13_812  # the challenge's X_train / X_test rows


@dataclass(frozen=True)
class Step:
    name: str
    products: int
    wall_s: float
    peak_rss_mb: float  # the largest single process
    tree_rss_mb: float  # the process tree's largest sum
    disk_mb: float  # the step's output folder
    cpu_s: float  # user + system, children included


def _tree_rss(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.Error:
        return 0.0


SEEN: set[tuple[int, int]] = set()  # (device, inode) counted by an earlier step


def _disk_mb(path: Path) -> float:
    """New disk of a step's output: `data prepare` hard-links the JPEGs into class folders (same disk), so a file
    already counted by an earlier step (same inode) is not counted again."""
    total = 0
    for f in [path] if path.is_file() else path.rglob("*") if path.exists() else []:
        st = f.stat()
        if f.is_file() and (st.st_dev, st.st_ino) not in SEEN:
            SEEN.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total / 2**20


def run_step(name: str, products: int, argv: list[str], output: Path, log: Path) -> Step:
    """Run one CLI step in its own process; raise with the log's tail when it fails."""
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(CLI + argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        peak, done = [0.0], threading.Event()

        def sample():
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise SystemExit(f"step {name} failed (exit {os.waitstatus_to_exitcode(status)}):\n" + "\n".join(tail))
    step = Step(
        name,
        products,
        round(wall, 1),
        round(usage.ru_maxrss / 1024, 1),
        round(peak[0] / 2**20, 1),
        round(_disk_mb(output), 1),
        round(usage.ru_utime + usage.ru_stime, 1),
    )
    print(json.dumps(asdict(step)), flush=True)
    return step


def rehearse(work: Path, scale: float) -> list[Step]:
    n, test_n = round(TRAIN_N * scale), round(TEST_N * scale)
    raw, prepared, runs, bundles = work / "raw", work / "prepared", work / "runs", work / "bundles"
    logs = work / "logs"
    if work.exists():
        shutil.rmtree(work)
    logs.mkdir(parents=True)
    steps = [
        run_step(
            "generate",
            n + test_n,
            ["data", "synth", "--out", str(raw), "--n", str(n), "--test-n", str(test_n)],
            raw,
            logs / "generate.log",
        ),
        run_step(
            "data prepare", n, ["data", "prepare", "--raw", str(raw), "--out", str(prepared)], prepared, logs / "p.log"
        ),
        run_step(
            "train cnn3, 1 epoch",
            n,
            ["train", "cnn3", "--data", str(prepared), "--out", str(runs), "--epochs", "1"],
            runs,
            logs / "train.log",
        ),
        run_step(
            "export --quantize",
            round(n * 0.2),  # validation runs over split_val
            ["export", "cnn3", "--quantize", "--runs", str(runs), "--out", str(bundles)],
            bundles,
            logs / "export.log",
        ),
    ]
    from rakuten_edge.bundles import best_bundle

    bundle = best_bundle(bundles)  # the int8 bundle when its gates passed, else fp32: the CLI's own choice
    steps.append(
        run_step(
            f"score {test_n:,} test products ({bundle.name})",
            test_n,
            [
                "predict",
                "--csv",
                str(raw / "X_test_update.csv"),
                "--images",
                str(raw / "images" / "image_test"),
                "--out",
                str(work / "predictions.csv"),
                "--bundle",
                str(bundle),
            ],
            work / "predictions.csv",
            logs / "score.log",
        )
    )
    return steps


def table(steps: list[Step], scale: float) -> str:
    lines = [
        f"Rehearsal at scale {scale:g} ({round(TRAIN_N * scale):,} + {round(TEST_N * scale):,} products)",
        "",
        "| step | products | wall | per 1,000 products | CPU | peak RSS (largest process) | peak RSS (tree) | disk |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in steps:
        lines.append(
            f"| {s.name} | {s.products:,} | {s.wall_s / 60:.1f} min | {1000 * s.wall_s / s.products:.1f} s | "
            f"{s.cpu_s / 60:.1f} min | {s.peak_rss_mb / 1024:.2f} GiB | {s.tree_rss_mb / 1024:.2f} GiB | "
            f"{s.disk_mb:,.0f} MB |"
        )
    total = sum(s.wall_s for s in steps)
    lines += ["", f"Total wall time {total / 60:.1f} min; disk {sum(s.disk_mb for s in steps):,.0f} MB."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the challenge's size")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rakuten-rehearsal"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = parser.parse_args()
    if not 0 < args.scale <= 1:
        raise SystemExit("--scale must be in (0, 1]")
    steps = rehearse(args.work, args.scale)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"rehearsal-{args.scale:g}"
    stem.with_suffix(".json").write_text(json.dumps([asdict(s) for s in steps], indent=1))
    stem.with_suffix(".md").write_text(table(steps, args.scale))
    print(table(steps, args.scale))


if __name__ == "__main__":
    main()
