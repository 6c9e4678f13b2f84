"""The local engine: a thread pool decodes the next chunks' images while onnxruntime scores the current one.

Threads, not processes: PIL's JPEG decoder and onnxruntime both release the GIL, a thread pool leaves no orphan
worker behind when the run is killed, and nothing is pickled between processes.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..runtime.classifier import Classifier
from .chunk import ChunkResult, score_chunk, submit_decodes
from .source import Catalogue, Span, read_span

PREFETCH = 2  # chunks decoding ahead of the one being scored


def run_local(
    clf: Classifier,
    catalogue: Catalogue,
    pending: list[Span],
    images: Path,
    options,
    on_chunk: Callable[[ChunkResult], None],
) -> None:
    """`options`: the run's CatalogueOptions (top_k, batch_size, strict; workers = decode threads, default the
    cores)."""
    workers = options.workers or os.cpu_count() or 1
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="decode")
    try:
        spans = iter(pending)

        def start(span: Span):
            rows = read_span(catalogue.path, catalogue.header, span)
            return span, rows, submit_decodes(pool, clf, rows, images)

        queue = deque(start(span) for _, span in zip(range(PREFETCH), spans))
        while queue:
            span, rows, futures = queue.popleft()
            following = next(spans, None)
            if following is not None:
                queue.append(start(following))
            decoded = [f.result() for f in futures]
            on_chunk(score_chunk(clf, span.number, rows, decoded, options.top_k, options.batch_size, options.strict))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
