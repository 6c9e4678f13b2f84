"""One tune candidate in a fresh process: load it through the runtime's path, answer the gate rows as it will run,
then time the job. Prints one JSON line; the probabilities go to the spec's .npy file.

    python -m rakuten_edge.tune.worker spec.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from ..runtime.batching import batch1_ms, rows
from ..runtime.classifier import Classifier


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    setting = spec["setting"]
    start = time.perf_counter()
    clf = Classifier(
        spec["bundle"],
        backend=setting["backend"],
        precision=setting["precision"],
        threads=setting["threads"],
        job=spec["job"],
        refuse_failed=False,  # a candidate that failed last time is measured and gated again, not skipped
    )
    feeds = dict(np.load(spec["feeds"]))
    load_s = time.perf_counter() - start
    np.save(spec["probs"], clf.run(feeds))  # the gate rows, under the runtime's batching rule
    n = rows(feeds)
    if spec["job"] == "latency":
        times = batch1_ms(clf.run, feeds, spec["runs"])
        result = {"p50_ms": round(float(np.median(times)), 3), "p95_ms": round(float(np.percentile(times, 95)), 3)}
    else:
        # Batches as the catalogue sends them; a graph that is not batch-invariant runs them row by row.
        batch = {k: np.concatenate([v] * (spec["batch"] // n + 1))[: spec["batch"]] for k, v in feeds.items()}
        clf.run(batch)
        reps = max(2, spec["runs"] // 10)
        t0 = time.perf_counter()
        for _ in range(reps):
            clf.run(batch)
        result = {"items_per_s": round(reps * spec["batch"] / (time.perf_counter() - t0), 1)}
    print(json.dumps({**result, "load_s": round(load_s, 3), "provider": clf.providers[0]}))


if __name__ == "__main__":
    main(sys.argv[1])
