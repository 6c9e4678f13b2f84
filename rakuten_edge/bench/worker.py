"""One (model, format) measurement in a fresh process: `python -m rakuten_edge.bench.worker JOB.json`.

Cold start is counted from the parent's spawn time (RAKUTEN_BENCH_T0) to the end of the first prediction,
so it includes interpreter start, imports, loading and the first call. Prints one JSON line.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from dataclasses import replace

import numpy as np

from ..runtime.batching import batch1_ms, batched, run_batched, step_for
from .subject import Job


def probs_path(feeds: str, fmt: str) -> str:
    """Where a row's validation probabilities go, beside the feeds (removed with the bench's work folder)."""
    return f"{feeds}.{fmt}.probs.npy"


def _rows(feeds: dict, idx) -> dict:
    return {k: np.ascontiguousarray(v[idx]) for k, v in feeds.items()}


def _format(job: Job):
    # Entries registered outside the package (plugins, tests) are seen here only once their module is imported.
    for module in job.subject.plugins:
        importlib.import_module(module)
    from ..tables import load_object
    from ..tables.formats import get_format

    return get_format(job.format), load_object


def convert(job: Job) -> dict[str, str]:
    """Each format's offline conversion in turn; a failing one is reported by name and the others still run."""
    failed = {}
    for name in job.convert:
        fmt, load_object = _format(replace(job, format=name))
        try:
            load_object(fmt.prepare)(job.subject, fmt, job.prepare)
        except Exception as exc:  # noqa: BLE001 - that format's ❌ row says it
            failed[name] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return failed


def measure(job: Job) -> dict:
    fmt, load_object = _format(job)
    t0 = float(os.environ.get("RAKUTEN_BENCH_T0", time.time()))
    with np.load(job.feeds) as z:
        feeds = {k[len("feed_") :]: z[k] for k in z.files if k.startswith("feed_")}
        labels = z["labels"] if "labels" in z.files else None
    n = len(next(iter(feeds.values())))
    predict = load_object(fmt.runner)(job.subject, fmt, job.threads)
    width = predict(next(batched(feeds, 1))).shape[-1]
    result = {"cold_start_s": time.time() - t0}

    # The runtime's one batch-1 timing (rotating rows, 10 warm-up calls), as export's and tune's
    times = batch1_ms(predict, feeds, job.repeats, warm=min(10, job.repeats))
    result.update(p50_ms=float(np.percentile(times, 50)), p95_ms=float(np.percentile(times, 95)), runs=len(times))

    chunk = _rows(feeds, np.arange(job.batch) % n)
    predict(chunk)
    reps, start = 0, time.perf_counter()
    while reps < 3 or (time.perf_counter() - start < job.throughput_seconds and reps < 200):
        predict(chunk)
        reps += 1
    result["throughput_per_s"] = reps * job.batch / (time.perf_counter() - start)

    if labels is not None:
        from ..reports import classification_report

        # The runtime's rule (row by row unless batch-invariant); static-shape artefacts always row by row.
        step = step_for(job.batch_invariant, 1 if fmt.static_batch else None)
        probs = run_batched(predict, feeds, step, width)
        np.save(probs_path(job.feeds, fmt.name), probs)  # the parent gates this row against the reference's
        s = classification_report(labels, probs.argmax(1))["summary"]
        result.update(accuracy=s["accuracy"], weighted_f1=s["weighted_f1"], eval_rows=n)
    result["peak_memory_mb"] = peak_memory_mb()
    return result


def peak_memory_mb() -> float:
    """This process's peak RSS. VmHWM resets at exec; ru_maxrss does not (Linux carries the parent's over)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    job = Job.read(sys.argv[1])
    try:
        if job.prepare:
            out = {"ok": True, "failed": convert(job)}
        else:
            out = {"ok": True, **measure(job)}
    except Exception as exc:  # noqa: BLE001 - reported as a ❌ row by the parent
        out = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:300],
            "traceback": traceback.format_exc()[-2000:],
        }
    sys.stdout.write("\n" + json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
