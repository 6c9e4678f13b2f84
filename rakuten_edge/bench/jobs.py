"""The bench's processes seen from the parent: the feeds every row shares, the offline conversions, and one
worker process per measured row (bench/worker.py is the other side)."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..choices import Precision
from ..pools import json_worker
from ..run import Run
from ..tables.formats import Format
from .subject import BenchOptions, Job, Subject


def write_feeds(subject: Subject, data: Path | None, eval_rows: int | None, batch: int, path: Path) -> None:
    """Validation feeds through the fp32 bundle's own preprocessing (labels when the data is there)."""
    from ..data.prepared import load_split
    from ..runtime import load

    clf = load(subject.bundles[Precision.fp32.value])
    arrays = {}
    if data is not None and not Run(subject.run).untrained:
        val = load_split(data, "val").head(eval_rows)
        feeds = clf.encode(val.pixels, val.texts)
        arrays["labels"] = val.labels
    else:
        from .untrained import sample

        rows = sample(max(batch, 64), clf.image_size, 4)
        feeds = clf.encode(rows.pixels, rows.texts)
    arrays.update({f"feed_{k}": v for k, v in feeds.items()})
    np.savez(path, **arrays)


def run_worker(job: Job, workdir: Path, timeout: float) -> dict:
    spec = job.write(workdir / f"job-{job.subject.name}-{job.format}-{len(job.prepare)}.json")
    env = {**os.environ, "RAKUTEN_BENCH_T0": repr(time.time()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return json_worker("rakuten_edge.bench.worker", str(spec), env, timeout)


def convert_all(subject: Subject, formats: list[Format], options: BenchOptions, workdir: Path) -> dict[str, str]:
    """Offline conversions before any row is timed, one process per conversion function (not counted in any cold
    start): format name -> why it failed, for the formats whose conversion failed."""
    groups: dict[str, list[str]] = {}
    for fmt in formats:
        if fmt.prepare and (fmt.from_bundle is None or fmt.from_bundle.value in subject.bundles):
            groups.setdefault(fmt.prepare, []).append(fmt.name)
    failed: dict[str, str] = {}
    for names in groups.values():
        batches = [1, options.batch_sizes[1]]
        job = Job(subject, names[0], options.threads, batches[1], options.repeats, "", 0.0, prepare=batches)
        done = run_worker(replace(job, convert=names), workdir, options.timeout)
        failed.update(done.get("failed", {}) if done.get("ok") else dict.fromkeys(names, done.get("error")))
    return failed
