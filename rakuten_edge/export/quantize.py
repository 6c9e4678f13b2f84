"""int8 recipes, measured rather than assumed: `auto` tries every candidate on this machine and keeps the
fastest whose top-1 agreement with fp32 is >= 99% and whose weighted-F1 drop is <= 0.5 point."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from ..choices import QuantMode
from ..errors import UserError
from ..gates import MAX_F1_DROP, MIN_AGREEMENT
from ..reports import classification_report
from ..runtime.batching import batch1_ms, batched
from ..runtime.engine import EngineOptions, open_engine

# Quantized by the dynamic recipes; Conv stays float (ConvInteger is slower than float Conv on CPU).
# Gather quantizes the embedding tables: without it CamemBERT base's 32,005 x 768 word embeddings stay
# float and int8 is 1/2.4 of the fp32 size instead of 1/4 (measured: 180 vs 109 MB, same latency).
DYNAMIC_OPS = ["MatMul", "Gemm", "LSTM", "Attention", "Gather"]
STATIC_OPS = ["Conv", "MatMul", "Gemm", "Gather"]


# Without VNNI (avx512_vnni, avx_vnni, AMX), onnxruntime's u8 x s8 kernels add pairs of products in int16
# (vpmaddubsw) and saturate: onnxruntime's quantization docs give 7-bit weights (reduce_range) as the fix for
# non-VNNI CPUs. Seen here on an AMD EPYC with avx2 only: the tiny cnn3's int8 agreed with fp32 on 92.7% of rows.
VNNI_FLAGS = {"avx512_vnni", "avx_vnni", "amx_int8"}


def reduce_range() -> bool:
    """Whether this CPU needs 7-bit weights for int8 to stay faithful (no VNNI)."""
    from ..machine import cpu

    return not VNNI_FLAGS & set(cpu()[1])


class Selection(StrEnum):
    gated = "gated"  # the fastest recipe that passes the agreement/F1 gates, else the most faithful one
    fastest = "fastest"  # the fastest, gates reported but not applied (models with random weights)


class FeedReader:
    """onnxruntime's CalibrationDataReader over a dict of arrays, a few rows at a time."""

    def __init__(self, feeds: dict[str, np.ndarray], batch: int = 8):
        self._batches = batched(feeds, batch)

    def get_next(self):
        return next(self._batches, None)

    def rewind(self):  # pragma: no cover - part of the reader protocol, unused by MinMax calibration
        pass


def _dynamic(weight: str, ops: list[str] | None = None, seven_bit: bool | None = None) -> Callable:
    """`seven_bit`: None follows the machine (reduce_range()); False forces 8-bit weights."""

    def apply(src: Path, dst: Path, calib: dict) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(
            src,
            dst,
            weight_type=getattr(QuantType, weight),
            op_types_to_quantize=ops or DYNAMIC_OPS,
            reduce_range=reduce_range() if seven_bit is None else seven_bit,
        )

    return apply


def first_conv(src: Path) -> list[str]:
    """The image branch's first convolution: one input channel, so int8 gains little there (K = 9 per output)."""
    return [n.name for n in _graph(src).node if n.op_type == "Conv"][:1]


def head(src: Path) -> list[str]:
    """The classifier head (the last dense layer before the softmax): its errors move the argmax directly."""
    return [n.name for n in _graph(src).node if n.op_type in ("MatMul", "Gemm")][-1:]


def _static(per_channel: bool, ops: list[str] | None = None, keep_float: tuple[Callable, ...] = ()) -> Callable:
    def apply(src: Path, dst: Path, calib: dict) -> None:
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

        reader = type("Reader", (FeedReader, CalibrationDataReader), {})(calib)
        quantize_static(
            src,
            dst,
            reader,
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=ops or STATIC_OPS,
            nodes_to_exclude=[name for pick in keep_float for name in pick(src)],
            reduce_range=reduce_range(),
        )

    return apply


def _mixed(src: Path, dst: Path, calib: dict) -> None:
    """Static QDQ for the convolutions and dense layers, then dynamic QUInt8 for the recurrent part."""
    with tempfile.TemporaryDirectory() as tmp:
        mid = Path(tmp) / "static.onnx"
        _static(True)(src, mid, calib)
        _dynamic("QUInt8", ["LSTM"])(mid, dst, calib)


@dataclass(frozen=True)
class Recipe:
    name: str
    apply: Callable[[Path, Path, dict], None]
    batch_invariant: bool  # static scales are fixed; dynamic ones follow the other rows of the batch
    modes: tuple[QuantMode, ...]  # which quantization modes include it
    needs: str = ""  # an op the graph must contain for the recipe to make sense
    without_vnni_only: bool = False  # an 8-bit-weight alternative, measured only where 7-bit is the default

    def reduce_range(self) -> bool:
        return reduce_range() and not self.without_vnni_only


STATIC = (QuantMode.auto, QuantMode.static)
RECIPES = [
    Recipe("dynamic-qint8", _dynamic("QInt8"), False, (QuantMode.auto, QuantMode.dynamic)),
    Recipe("dynamic-quint8", _dynamic("QUInt8"), False, (QuantMode.auto, QuantMode.dynamic)),
    Recipe("static-qdq-per-tensor", _static(False), True, (QuantMode.auto, QuantMode.static)),
    Recipe("static-qdq-per-channel", _static(True), True, (QuantMode.auto, QuantMode.static)),
    Recipe("static-qdq+dynamic-lstm-quint8", _mixed, False, (QuantMode.auto,), needs="LSTM"),
    # Per-node choices: layers kept in float where int8 costs agreement (the head) or buys little (conv 1).
    Recipe("static-qdq-per-channel-conv1-float", _static(True, keep_float=(first_conv,)), True, STATIC, needs="Conv"),
    Recipe("static-qdq-per-channel-head-float", _static(True, keep_float=(head,)), True, STATIC),
    # 7-bit weights are onnxruntime's advice without VNNI, and they fixed the tiny cnn3 (92.7% -> 99.3% agreement),
    # but on a cnn3 trained on 8,000 real texts (same AMD EPYC, avx2 only) they cost agreement: dynamic QInt8 84.6%
    # with 7-bit weights, 89.5% with 8-bit; QUInt8 81.1% against 90.2%. So on such machines both are measured.
    *(
        Recipe(
            f"dynamic-{weight.lower()}-8bit-weights",
            _dynamic(weight, seven_bit=False),
            False,
            (QuantMode.auto, QuantMode.dynamic),
            without_vnni_only=True,
        )
        for weight in ("QInt8", "QUInt8")
    ),
]


def preprocess(src: Path, dst: Path) -> str:
    """onnxruntime's quantization pre-processing; symbolic shape inference fails on these graphs, so skipped."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(src, dst, skip_symbolic_shape=True)
        return "quant_pre_process(skip_symbolic_shape=True)"
    except Exception as exc:  # noqa: BLE001 - fall back to the raw graph, and say so in the table
        shutil.copy(src, dst)
        return f"pre-processing skipped ({type(exc).__name__}: {exc})"[:200]


def latency_ms(path: Path, feeds: dict[str, np.ndarray], threads: int = 2, runs: int = 30) -> float:
    """Median batch-1 latency, after warm-up, over rotating rows."""
    engine = open_engine(path, options=EngineOptions(threads=threads))
    times = batch1_ms(engine.run, feeds, runs)
    return float(np.median(times))


def _graph(path: Path):
    import onnx

    return onnx.load(str(path), load_external_data=False).graph


def _ops(path: Path) -> set[str]:
    return {node.op_type for node in _graph(path).node}


def choose(
    fp32: Path,
    workdir: Path,
    calib: dict[str, np.ndarray],
    feeds: dict[str, np.ndarray],
    labels: np.ndarray,
    fp32_probs: np.ndarray,
    mode: QuantMode,
    run_probs: Callable[[Path, bool], np.ndarray],
    select: Selection = Selection.gated,
) -> tuple[Path, dict]:
    """Quantize with every candidate of `mode`, measure, and return the chosen model and the table."""
    pre = workdir / "preprocessed.onnx"
    pre_note = preprocess(fp32, pre)
    ops = _ops(pre)
    fp32_f1 = classification_report(labels, fp32_probs.argmax(1))["summary"]["weighted_f1"]
    fp32_ms = latency_ms(fp32, feeds)
    table = []
    for recipe in RECIPES:
        if mode not in recipe.modes or (recipe.needs and recipe.needs not in ops):
            continue
        if recipe.without_vnni_only and not reduce_range():
            continue
        out = workdir / f"{recipe.name}.onnx"
        row = {"recipe": recipe.name, "batch_invariant": recipe.batch_invariant, "reduce_range": recipe.reduce_range()}
        try:
            recipe.apply(pre, out, calib)
            probs = run_probs(out, recipe.batch_invariant)
            f1 = classification_report(labels, probs.argmax(1))["summary"]["weighted_f1"]
            row.update(
                latency_ms=round(latency_ms(out, feeds), 3),
                size_mb=round(out.stat().st_size / 2**20, 3),
                agreement=round(float((probs.argmax(1) == fp32_probs.argmax(1)).mean()), 4),
                weighted_f1=f1,
                f1_drop=round(fp32_f1 - f1, 4),
            )
            row["speedup_vs_fp32"] = round(fp32_ms / row["latency_ms"], 2)
            row["passed"] = row["agreement"] >= MIN_AGREEMENT and row["f1_drop"] <= MAX_F1_DROP
        except Exception as exc:  # noqa: BLE001 - a failing recipe is a row of the table, not the end of export
            row.update(passed=False, error=f"{type(exc).__name__}: {exc}"[:300])
        table.append(row)
    measured = [r for r in table if "error" not in r]
    if not measured:
        raise UserError("every int8 recipe failed: " + "; ".join(f"{r['recipe']}: {r['error']}" for r in table))
    passing = [r for r in measured if r["passed"]]
    if select == Selection.fastest:
        chosen = min(measured, key=lambda r: r["latency_ms"])
    elif passing:
        chosen = min(passing, key=lambda r: r["latency_ms"])
    else:
        chosen = max(measured, key=lambda r: (r["agreement"], -r["latency_ms"]))
    summary = {
        "mode": QuantMode(mode).value,
        "select": Selection(select).value,
        "chosen": chosen["recipe"],
        "passed": chosen["passed"],
        "preprocessing": pre_note,
        "criteria": {"min_agreement": MIN_AGREEMENT, "max_weighted_f1_drop": MAX_F1_DROP},
        "fp32": {
            "latency_ms": round(fp32_ms, 3),
            "size_mb": round(fp32.stat().st_size / 2**20, 3),
            "weighted_f1": fp32_f1,
        },
        "candidates": table,
        "batch_invariant": chosen["batch_invariant"],
        "reduce_range": chosen["reduce_range"],  # 7-bit weights (the export machine had no VNNI)
        "threads": 2,
    }
    return workdir / f"{chosen['recipe']}.onnx", summary
