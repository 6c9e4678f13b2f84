"""Each factor measured alone, on all cores: the session's throughput and batch-1 latency, the image decode rate."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

TEXT = "Piscine hors sol tubulaire avec pompe de filtration"


def _feeds(clf, images: list[Path], batch: int):
    from rakuten_edge.runtime.preprocess import load_image

    pixels = np.stack([load_image(p) for p in (images * batch)[:batch]])
    return clf.encode(pixels, [TEXT] * batch)


def model_rate(
    bundle: Path, images: list[Path], batch: int = 32, seconds: float = 3.0, forced: bool = True, **load_options
) -> float:
    """Items/s of the session alone over `batch`-row feeds built beforehand. forced: one call of `batch` rows (the
    bench's figure); else the runtime's rule (row by row for a bundle that is not batch-invariant). `load_options`
    go to `load()` (job, backend, precision, threads): the engine the bundle runs on."""
    from rakuten_edge.runtime import load

    clf = load(bundle, **load_options)
    feeds = _feeds(clf, images, batch)
    size = batch if forced else None
    clf.run(feeds, size)
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        clf.run(feeds, size)
        reps += 1
    return reps * batch / (time.perf_counter() - start)


def latency_ms(bundle: Path, images: list[Path], runs: int = 200) -> float:
    """Median batch-1 session latency (feeds built beforehand), after warm-up."""
    from rakuten_edge.runtime import load

    clf = load(bundle)
    feeds = _feeds(clf, images, 1)
    for _ in range(20):
        clf.run(feeds, 1)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        clf.run(feeds, 1)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def decode_rate(images: list[Path], workers: int) -> float:
    """Images/s of the runtime's load_image on `workers` threads."""
    from rakuten_edge.runtime.preprocess import load_image

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(load_image, images))
    return len(images) / (time.perf_counter() - start)


def decode_ms(images: list[Path]) -> float:
    """Median time of one decode from bytes in memory (what the service does with an upload)."""
    from rakuten_edge.runtime.preprocess import load_image

    blobs = [p.read_bytes() for p in images[:200]]
    times = []
    for blob in blobs:
        t0 = time.perf_counter()
        load_image(blob)
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))
