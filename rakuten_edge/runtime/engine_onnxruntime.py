"""The onnxruntime adapter: the only module that opens an onnxruntime InferenceSession (bench/flops.py's raw GEMM
meter aside)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort

from ..tables.text_kinds import PROBS
from .engine import EngineError, EngineOptions, Feeds, Tensor

PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
DTYPES = {"tensor(float)": "float32", "tensor(int32)": "int32", "tensor(int64)": "int64"}


def providers_for(requested: list[str] | str | None) -> tuple[list[str], str | None]:
    """Map cpu/cuda (or full provider names) to what this onnxruntime has; say plainly what is missing."""
    if requested is None:
        return ["CPUExecutionProvider"], None
    names = [requested] if isinstance(requested, str) else list(requested)
    available = ort.get_available_providers()
    chosen, notes = [], []
    for name in names:
        full = PROVIDERS.get(name.lower(), name)
        if full in available:
            chosen.append(full)
        else:
            notes.append(
                f"{full} requested but not available in this onnxruntime ({', '.join(available)})"
                + ("; install onnxruntime-gpu and a CUDA driver to use the GPU" if "CUDA" in full else "")
            )
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen, ("; ".join(notes) + "; running on CPU") if notes else None


class OnnxRuntimeEngine:
    name = "onnxruntime"

    def __init__(self, graph: str | Path | bytes, options: EngineOptions):
        so = ort.SessionOptions()
        if options.threads:
            so.intra_op_num_threads = options.threads
            so.inter_op_num_threads = 1
        if not options.spin:
            # Spinning threads busy-wait between calls: right alone, wrong when decoding or another session shares
            # the cores (cnn2 int8 under 2 busy processes: 6.08 ms spinning, 2.59 ms not; benchmarks/README).
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if options.profile:
            so.enable_profiling = True
            so.profile_file_prefix = options.profile
        chosen, self.note = providers_for(options.providers)
        source = graph if isinstance(graph, bytes) else str(graph)
        try:
            self.session = ort.InferenceSession(source, so, providers=chosen)
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt models
            raise EngineError(
                f"onnxruntime cannot load {'the graph' if isinstance(graph, bytes) else graph}: "
                f"{' '.join(str(exc).split())}"[:300]
            ) from None
        self.providers = self.session.get_providers()
        self._out = [o.name for o in self.session.get_outputs()][:1] or [PROBS]

    def inputs(self) -> list[Tensor]:
        return [Tensor(i.name, list(i.shape), DTYPES.get(i.type, i.type)) for i in self.session.get_inputs()]

    def outputs(self) -> list[Tensor]:
        return [Tensor(o.name, list(o.shape), DTYPES.get(o.type, o.type)) for o in self.session.get_outputs()]

    def run(self, feeds: Feeds) -> np.ndarray:
        return self.session.run(self._out, feeds)[0]

    def close(self) -> dict:
        written = {}
        if self.session.get_session_options().enable_profiling:
            written["profile"] = self.session.end_profiling()
        return written
