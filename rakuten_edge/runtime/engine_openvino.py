"""The OpenVINO adapter: reads the bundle's ONNX graph directly (no conversion step, no extra artefact).

Imported only when the openvino backend is asked for (`pip install 'rakuten-edge[openvino]'`). Precision hint f32 or
bf16 (bf16 only where the CPU computes it: AMX or avx512_bf16), performance hint LATENCY or THROUGHPUT, and the
process's thread budget as INFERENCE_NUM_THREADS. Measured choices per CPU live in the bundle's tuning file.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import openvino as ov

from .engine import EngineError, EngineOptions, Feeds, Tensor

PRECISIONS = {"f32": "f32", "fp32": "f32", "bf16": "bf16"}
HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT"}


def cpu_precisions() -> set[str]:
    """What OpenVINO's CPU plugin computes natively here: {"f32"} plus "bf16" on AMX / avx512_bf16 machines."""
    caps = set(ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    return {"f32"} | ({"bf16"} if "BF16" in caps else set())


class OpenVinoEngine:
    name = "openvino"

    def __init__(self, graph: str | Path | bytes, options: EngineOptions):
        precision = PRECISIONS.get((options.precision or "f32").lower())
        if precision is None:
            raise EngineError(f"openvino precision must be f32 or bf16, got {options.precision!r}")
        if precision not in cpu_precisions():
            # OpenVINO would quietly run f32 instead: say so rather than report a bf16 that never ran.
            raise EngineError(f"this CPU has no native {precision} in OpenVINO (it offers {sorted(cpu_precisions())})")
        config = {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": HINTS.get(options.job, "LATENCY")}
        if options.threads:
            config["INFERENCE_NUM_THREADS"] = int(options.threads)
        core = ov.Core()
        try:
            model = core.read_model(graph if isinstance(graph, bytes) else str(graph))
            self.compiled = core.compile_model(model, "CPU", config)
        except Exception as exc:  # noqa: BLE001 - OpenVINO raises RuntimeError with multi-line text
            raise EngineError(f"openvino cannot load the graph: {' '.join(str(exc).split())}"[:300]) from None
        self.providers = [f"OpenVINO CPU {precision}"]
        self.note = None
        self._local = threading.local()  # an infer request is not thread-safe: one per calling thread
        self._output = self.compiled.outputs[0]

    @staticmethod
    def _tensor(port) -> Tensor:
        shape = [d.get_length() if d.is_static else "?" for d in port.get_partial_shape()]
        return Tensor(port.get_any_name(), shape, np.dtype(port.get_element_type().to_dtype()).name)

    def inputs(self) -> list[Tensor]:
        return [self._tensor(p) for p in self.compiled.inputs]

    def outputs(self) -> list[Tensor]:
        return [self._tensor(p) for p in self.compiled.outputs]

    def run(self, feeds: Feeds) -> np.ndarray:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        result = request.infer(feeds)
        return np.array(result[self._output], dtype=np.float32, copy=True)

    def close(self) -> dict:
        return {}
