"""The one table of formats: export writes the bundle formats, the bench measures every row.

Adding a format is one entry here plus its runner in bench/runners.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str
    precision: str
    bundle: bool                   # written by `rakuten-edge export` as bundles/<run>-<precision>/
    frameworks: tuple[str, ...]    # which model frameworks it applies to
    description: str


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("native", "fp32", False, ("keras", "torch"),
           "Keras through predict()/tf.function, PyTorch under inference_mode: the training framework itself"),
    Format("onnx-fp32", "fp32", True, ("keras", "torch"), "ONNX, float32 weights, onnxruntime"),
    Format("onnx-int8", "int8", True, ("keras", "torch"), "ONNX, int8 (recipe chosen by measurement), onnxruntime"),
    Format("litert-fp32", "fp32", False, ("keras",), "LiteRT (TFLite) float32: the edge peer for Keras models"),
    Format("litert-int8", "int8", False, ("keras",), "LiteRT (TFLite) dynamic-range int8"),
)}

BUNDLE_FORMATS = [f for f in FORMATS.values() if f.bundle]


def bundle_name(run_name: str, fmt: Format) -> str:
    return f"{run_name}-{fmt.precision}"
