"""Batching, written once: slicing feeds, and the rule that decides how many rows run together."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

Feeds = dict[str, np.ndarray]
# Batch-invariant graphs run this many rows per session call (measured: no gain past 64 on 2 cores).
DEFAULT_BATCH = 64


def rows(feeds: Feeds) -> int:
    return len(next(iter(feeds.values()))) if feeds else 0


def batched(feeds: Feeds, step: int) -> Iterator[Feeds]:
    """Consecutive slices of `step` rows of every feed (the last one may be shorter)."""
    if step < 1:
        raise ValueError(f"step must be at least 1, got {step}")
    n = rows(feeds)
    for start in range(0, n, step):
        yield {k: v[start : start + step] for k, v in feeds.items()}


def step_for(batch_invariant: bool, batch_size: int | None = None) -> int:
    """Rows per call. Dynamic int8 quantizes activations per batch, so a row's answer would depend on its
    neighbours: such graphs run row by row unless the caller asks for a batch size explicitly."""
    if batch_size:
        return batch_size
    return DEFAULT_BATCH if batch_invariant else 1


def run_batched(predict, feeds: Feeds, step: int, width: int) -> np.ndarray:
    """`predict` over `feeds` in slices of `step`, concatenated; an empty input gives (0, width)."""
    out = [predict(chunk) for chunk in batched(feeds, step)]
    return np.concatenate(out) if out else np.zeros((0, width), np.float32)


def batch1_ms(predict, feeds: Feeds, runs: int, warm: int = 5) -> list[float]:
    """Milliseconds of `predict` on single rows, rotating over the feeds' rows, after `warm` calls: the one way the
    run stage is timed at batch 1 (int8 candidates at export, tune)."""
    import time

    singles = list(batched(feeds, 1))
    order = [singles[i % len(singles)] for i in range(runs)]
    for row in order[:warm]:
        predict(row)
    times = []
    for row in order:
        t0 = time.perf_counter()
        predict(row)
        times.append((time.perf_counter() - t0) * 1000)
    return times
