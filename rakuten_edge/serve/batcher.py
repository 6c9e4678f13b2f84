"""Micro-batching: products that arrive within a few milliseconds run as one session call, off the event loop.

The runtime's rule still decides how a batch is run: a batch-invariant bundle in one call, a dynamic-int8 bundle
row by row (its answers would otherwise depend on the neighbours), so batching never changes an answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

from ..runtime.classifier import Classifier
from .metrics import ModelMetrics


class MicroBatcher:
    def __init__(
        self,
        clf: Classifier,
        pool: Executor,
        metrics: ModelMetrics,
        window_ms: float = 2.0,
        max_batch: int = 32,
        inflight: Callable[[], int] = lambda: 1 << 30,
    ):
        """`inflight()` counts the requests being served: when the batch already holds all of them, waiting longer
        cannot add a product, so it runs at once (at concurrency 1 the window costs nothing)."""
        self.clf, self.pool, self.metrics, self.inflight = clf, pool, metrics, inflight
        self.window, self.max_batch = window_ms / 1000.0, max(1, max_batch)
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    async def submit(self, pixels: np.ndarray, text: str) -> np.ndarray:
        """Probabilities of one product (uint8 pixels from load_image, cleaned text)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        await self.queue.put((pixels, text, future, loop.time()))
        return await future

    async def _collect(self) -> list:
        items = [await self.queue.get()]
        if self.window <= 0:  # batching off: one product per session call
            return items
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.window
        while len(items) < self.max_batch:
            if not self.queue.empty():
                items.append(self.queue.get_nowait())
                continue
            remaining = deadline - loop.time()
            # Wait only while some request in flight has not reached the queue yet (it is still being decoded).
            if remaining <= 0 or len(items) >= self.inflight():
                break
            try:
                items.append(await asyncio.wait_for(self.queue.get(), remaining))
            except TimeoutError:
                break
        return items

    def _run(self, pixels: np.ndarray, texts: list[str]) -> np.ndarray:
        return self.clf.run(self.clf.encode(pixels, texts))

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = await self._collect()
            # One session call at a time, using every core through onnxruntime's own threads; requests queue
            # meanwhile and form the next batch.
            start = loop.time()
            try:
                probs = await loop.run_in_executor(
                    self.pool, self._run, np.stack([i[0] for i in items]), [i[1] for i in items]
                )
            except Exception as exc:  # noqa: BLE001 - handed to each waiting request, the loop goes on
                for _, _, future, _ in items:
                    if not future.done():
                        future.set_exception(exc)
                continue
            finally:
                self.metrics.batch(len(items), [start - i[3] for i in items], loop.time() - start)
            for (_, _, future, _), row in zip(items, probs):
                if not future.done():
                    future.set_result(row)
