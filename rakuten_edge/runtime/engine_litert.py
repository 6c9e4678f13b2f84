"""The LiteRT adapter: the bundle's LiteRT flatbuffers (written by `export --litert`, hashed in the manifest like every
other file), one per precision and static batch size.

Imported only when the litert backend is asked for (`ai-edge-litert`, in the `litert` extra). LiteRT lowers the
BiLSTMs only with static shapes, so a flatbuffer has a fixed batch: f32 comes at batch 1 and 32, the rows of a larger
call run in blocks of 32 and the rest one by one; dynamic-range int8 quantizes activations per call, so it comes at
batch 1 only and runs row by row, whatever the caller's batch (answers never depend on the neighbours).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from .engine import EngineError, EngineOptions, Feeds, Tensor
from .manifest import inside, read_manifest

SECTION = "litert"  # the manifest's key: {"precisions": {precision: {batch: file}}, "gates": [...]}
PRECISIONS = {"f32": "f32", "fp32": "f32", "int8": "int8"}


class LiteRtModel:
    """Flatbuffers of one precision by batch size, run on feeds named like the bundle's ONNX inputs."""

    def __init__(self, files: dict[int, Path], names: list[str], threads: int | None = None):
        if 1 not in files:
            raise EngineError("a LiteRT precision needs its batch-1 flatbuffer")
        self.files, self.names, self.threads = files, names, threads
        self._local = threading.local()  # an Interpreter is not thread-safe: one set per calling thread
        first, self.order, _ = self._interpreter(1)
        self.input_details, self.output_details = first.get_input_details(), first.get_output_details()

    def _interpreter(self, batch: int) -> tuple:
        """(Interpreter, [(input name, tensor index, dtype)], output index) for `batch`, this thread's own."""
        cache = self._local.__dict__.setdefault("interpreters", {})
        if batch not in cache:
            try:
                it = Interpreter(model_path=str(self.files[batch]), num_threads=self.threads)
                it.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                reason = " ".join(str(exc).split())
                raise EngineError(f"litert cannot load {self.files[batch].name}: {reason}"[:300]) from None
            order = []
            for detail in it.get_input_details():
                # SavedModel signatures name tensors "serving_default_<input>:0": match on our input name.
                name = next((n for n in self.names if n in detail["name"]), None)
                if name is None:
                    raise EngineError(f"{self.files[batch].name} has an input {detail['name']!r} the bundle lacks")
                order.append((name, detail["index"], detail["dtype"]))
            cache[batch] = (it, order, it.get_output_details()[0]["index"])
        return cache[batch]

    def _call(self, batch: int, feeds: Feeds, start: int) -> np.ndarray:
        it, order, output = self._interpreter(batch)
        for name, index, dtype in order:
            it.set_tensor(index, np.ascontiguousarray(feeds[name][start : start + batch], dtype=dtype))
        it.invoke()
        return it.get_tensor(output).copy()

    def run(self, feeds: Feeds) -> np.ndarray:
        n = len(next(iter(feeds.values())))
        big = max(self.files)
        parts, at = [], 0
        while at < n:
            batch = big if n - at >= big else 1
            parts.append(self._call(batch, feeds, at))
            at += batch
        width = self.output_details[0]["shape"][-1]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, width), np.float32)


class LiteRtEngine:
    name = "litert"

    def __init__(self, graph: str | Path | bytes, options: EngineOptions):
        if isinstance(graph, bytes):
            raise EngineError("litert runs a bundle's flatbuffers: give the bundle's model file, not bytes")
        bundle = Path(graph).parent
        manifest = read_manifest(bundle, verify=False)  # the runtime's load has checked its hashes
        precision = PRECISIONS.get((options.precision or "f32").lower())
        # export --litert gates the flatbuffers before the manifest lists them: it passes the section itself
        offered = (options.extra.get(SECTION) or manifest.get(SECTION) or {}).get("precisions") or {}
        if precision not in offered:
            have = ", ".join(offered) or "none"
            raise EngineError(
                f"this bundle carries no LiteRT {options.precision or 'f32'} flatbuffers (it has: {have}); "
                "export it with --litert (a precision that failed its gates is not written)"
            )
        files = {int(b): inside(bundle, f) for b, f in offered[precision].items()}
        names = [str(i["name"]) for i in manifest["inputs"]]
        self.model = LiteRtModel(files, names, options.threads)
        self.providers = [f"LiteRT CPU {precision}"]
        self.note = None

    def inputs(self) -> list[Tensor]:
        by_index = {d["index"]: d for d in self.model.input_details}
        return [
            Tensor(name, ["batch", *by_index[i]["shape"][1:].tolist()], np.dtype(d).name)
            for name, i, d in self.model.order
        ]

    def outputs(self) -> list[Tensor]:
        d = self.model.output_details[0]
        return [Tensor("probs", ["batch", *d["shape"][1:].tolist()], np.dtype(d["dtype"]).name)]

    def run(self, feeds: Feeds) -> np.ndarray:
        return self.model.run(feeds)

    def close(self) -> dict:
        return {}
