"""LiteRT flatbuffers of a Keras run: one conversion path for the bench's peer rows and for `export --litert`, which
writes them into the fp32 bundle after the same gates as every other candidate (runtime/engine_litert.py runs them).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from ..choices import Capability
from ..gates import gate
from ..models.registry import config_of, entry_of
from ..progress import console
from ..run import Run
from ..runtime.engine import EngineError, EngineOptions, open_engine
from ..runtime.manifest import MODEL
from ..tables.engines import ENGINES
from .keras_onnx import load_keras, tf_threads

SECTION = "litert"
BATCHES = {"f32": (1, 32), "int8": (1,)}  # int8 quantizes activations per call: row by row (engine_litert.py)


def convert(run: Run, lossy: bool, batch: int, dest: Path) -> Path:
    """Keras -> one LiteRT flatbuffer at a static batch (fp32, or dynamic-range int8 weights).

    Through Keras' own SavedModel export: freezing a tf.function fails on the LSTMs' dropout seed state."""
    tf_threads(None)
    import tensorflow as tf

    model, specs = load_keras(run.keras_path), entry_of(run).exporter_module().input_specs(config_of(run))
    with tempfile.TemporaryDirectory() as tmp:
        signature = [[tf.TensorSpec((batch, *s["shape"][1:]), getattr(tf, s["dtype"]), name=s["name"]) for s in specs]]
        model.export(tmp, format="tf_saved_model", verbose=False, input_signature=signature)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if lossy:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        dest.write_bytes(converter.convert())
    return dest


def litert_section(run: Run, bundle: Path, feeds: dict, reference: np.ndarray, labels: np.ndarray):
    """Convert each precision, gate it against the fp32 bundle's answers on the validation rows, keep what passed.
    `bundle` is the staged bundle, its manifest written (the adapter reads the input names there). Returns the
    manifest section (precisions kept, every gate row) and the files written (relative to `bundle`)."""
    entry = ENGINES["litert"]
    kept, gates, files = {}, [], []
    (bundle / SECTION).mkdir(exist_ok=True)
    for precision, batches in BATCHES.items():
        lossy = entry.lossy(precision)
        written = {b: convert(run, lossy, b, bundle / SECTION / f"{precision}-b{b}.tflite") for b in batches}
        section = {"precisions": {precision: {str(b): f"{SECTION}/{p.name}" for b, p in written.items()}}}
        try:
            options = EngineOptions(precision=precision, extra={SECTION: section})
            probs = open_engine(bundle / MODEL, "litert", options).run(feeds)
            check = gate(probs, reference, labels, lossy)
            row = {"precision": precision, **check.figures(), "passed": check.passed, "why": check.why}
        except EngineError as exc:
            row = {"precision": precision, "passed": False, "why": str(exc)}
        gates.append(row)
        console.print(f"  litert {precision}: {'passed' if row['passed'] else 'refused: ' + row['why']}")
        if row["passed"]:
            kept[precision] = section["precisions"][precision]
            files += kept[precision].values()
        else:
            for path in written.values():
                path.unlink()
    return {"precisions": kept, "gates": gates}, files


def litert_extra(run: Run, bundle: Path, feeds: dict, probs: np.ndarray, labels: np.ndarray) -> tuple[dict, list[str]]:
    """`export --litert`: the manifest's section and files, for models whose registry entry offers LiteRT."""
    if Capability.litert not in entry_of(run).capabilities:
        console.print(f"  litert: not offered for {run.key} (its registry entry lacks the litert capability)")
        return {}, []
    section, files = litert_section(run, bundle, feeds, probs, labels)
    return {SECTION: section}, files
