"""A physical-limit estimate: FLOPs counted from the ONNX graph, the machine's achievable GEMM rate measured
through onnxruntime, and each format's efficiency against it."""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from ..choices import Precision
from ..run import Run
from ..runtime.manifest import read_manifest
from ..tables.engines import ENGINES
from ..tables.formats import FORMATS, bundle_format, bundle_name
from ..tables.text_kinds import sequence_length
from .subject import BenchOptions

COUNTED = ("Conv", "MatMul", "Gemm", "LSTM")


def _dummy_feeds(session, batch: int, sequence: int) -> dict[str, np.ndarray]:
    feeds = {}
    for inp in session.get_inputs():
        shape = [d if isinstance(d, int) else (batch if i == 0 else sequence) for i, d in enumerate(inp.shape)]
        dtype = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(int64)": np.int64}[inp.type]
        feeds[inp.name] = np.ones(shape, dtype=dtype)
    return feeds


def count_flops(onnx_path: Path, sequence: int, batch: int = 1) -> dict[str, float]:
    """Multiply-adds x2 of Conv, MatMul, Gemm and LSTM nodes for one batch (other ops are negligible).

    Shapes are read by running the graph once in onnxruntime with every counted node's inputs exposed as
    outputs: static shape inference loses track inside the exporters' dynamic reshapes."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(onnx_path))
    initializers = {t.name: list(t.dims) for t in model.graph.initializer}
    nodes = [n for n in model.graph.node if n.op_type in COUNTED]
    wanted = sorted(
        {name for n in nodes for name in list(n.input) + [n.output[0]] if name and name not in initializers}
    )
    existing = {o.name for o in model.graph.output}
    model.graph.output.extend([onnx.ValueInfoProto(name=name) for name in wanted if name not in existing])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, _dummy_feeds(session, batch, sequence))
    shapes = {**initializers, **{name: list(v.shape) for name, v in zip(names, values)}}
    flops: dict[str, float] = {}
    for node in nodes:
        ins = [shapes.get(n) for n in node.input]
        out = shapes.get(node.output[0])
        if node.op_type == "Conv":
            w = ins[1]  # (out channels, in channels / group, *kernel)
            value = 2 * np.prod(out) * w[1] * np.prod(w[2:])
        elif node.op_type == "MatMul":
            value = 2 * np.prod(out) * ins[0][-1]
        elif node.op_type == "Gemm":
            trans_a = next((a.i for a in node.attribute if a.name == "transA"), 0)
            value = 2 * np.prod(out) * (ins[0][0] if trans_a else ins[0][-1])
        else:  # LSTM: X (seq, batch, input), W (dirs, 4*hidden, input), R (dirs, 4*hidden, hidden)
            seq, bat, width = ins[0]
            dirs, gates, hidden = ins[2]
            value = 2 * seq * bat * dirs * gates * (width + hidden)
        flops[node.op_type] = flops.get(node.op_type, 0.0) + float(value)
    flops["total"] = sum(flops.values())
    return flops


def _matmul_graph(path: Path, n: int) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((n, n)).astype(np.float32), "B")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["Y"])],
        "gemm",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [n, n])],
        [weight],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def gemm_peak(threads: int = 2, n: int = 1024, seconds: float = 2.0) -> dict[str, float | str]:
    """Achievable GFLOP/s of an n x n x n GEMM in onnxruntime: fp32, and int8 (dynamic QUInt8/QInt8); and bf16 where
    an engine computes it natively here ("bf16", with "bf16_engine" naming the engine)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    peaks = {}
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _matmul_graph(fp32, n)
        variants = {"fp32": fp32}
        for name, qtype in (("int8_quint8", QuantType.QUInt8), ("int8_qint8", QuantType.QInt8)):
            variants[name] = Path(tmp) / f"{name}.onnx"
            quantize_dynamic(fp32, variants[name], weight_type=qtype)
        a = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
        for name, path in variants.items():
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            peaks[name] = 2 * n**3 / _median_s(partial(session.run, None, {"A": a}), seconds) / 1e9
        bf16 = _bf16_seconds(fp32, a, threads, seconds)
        if bf16:
            peaks["bf16"] = 2 * n**3 / bf16[1] / 1e9
            peaks["bf16_engine"] = bf16[0]
    peaks["int8"] = max(peaks.pop("int8_quint8"), peaks.pop("int8_qint8"))
    return peaks


def _median_s(call, seconds: float) -> float:
    call()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _bf16_seconds(graph: Path, a: np.ndarray, threads: int, seconds: float) -> tuple[str, float] | None:
    """The same GEMM in bfloat16 on the first installed engine that computes it natively here (OpenVINO on AMX or
    avx512_bf16), through the engine table; None elsewhere. On such a CPU the fp32 peak understates the machine."""
    from ..runtime.engine import EngineError, EngineOptions, open_engine

    for entry in ENGINES.values():
        if "bf16" not in entry.precisions or entry.bundle_section or not entry.available():
            continue
        try:  # an engine that cannot run this graph in bf16 here (no native bf16; split: no image tower) says so
            engine = open_engine(graph, entry.name, EngineOptions(threads=threads, precision="bf16"))
        except EngineError:
            continue
        return entry.name, _median_s(partial(engine.run, {"A": a}), seconds)
    return None


def efficiency(rows: list[dict], flops_by_model: dict[str, float], peaks: dict[str, float | str]) -> list[dict]:
    """Achieved GFLOP/s at batch 1 and at the throughput batch, as a share of the matching precision's peak."""
    out = []
    for r in rows:
        total = flops_by_model.get(r["model"])
        if not total or not r.get("p50_ms"):
            continue
        fmt = FORMATS[r["format"]]
        # an engine's own precision (OpenVINO's bf16) against its own peak where measured, else the graph's
        peak = peaks.get(fmt.engine_precision or "", peaks[fmt.precision.value])
        b1 = total / (r["p50_ms"] / 1000) / 1e9
        bn = total * r["throughput_per_s"] / 1e9 if r.get("throughput_per_s") else None
        out.append(
            {
                "model": r["model"],
                "format": r["format"],
                "gflop_per_item": total / 1e9,
                "gflops_batch1": b1,
                "gflops_batchN": bn,
                "peak_gflops": peak,
                "efficiency_batch1": b1 / peak,
                "efficiency_batchN": bn / peak if bn else None,
            }
        )
    return out


def physical_limit(run_list: list[Run], bundles_root: Path, rows: list[dict], options: BenchOptions) -> dict:
    """FLOPs per item from each fp32 graph, this machine's GEMM peak, and each row's share of it. The peak is timed
    as long as each row's throughput: 2 s by default; the tests' quick bench asks 0.3 s, and its GEMM peak took 1.3 s
    instead of 6.3 (AMD EPYC without AVX-512)."""
    fmt, flops = bundle_format(Precision.fp32), {}
    for run in run_list:
        fp32 = Path(bundles_root) / bundle_name(run.name, fmt)
        if (fp32 / "manifest.json").is_file():
            text = read_manifest(fp32, verify=False)["preprocessing"]["text"]
            length = sequence_length(text)
            flops[run.name] = count_flops(fp32 / fmt.artifact, length)["total"]
    if not flops:
        return {}
    peaks = gemm_peak(options.threads, seconds=options.throughput_seconds)
    return {
        "gflop_per_item": {k: v / 1e9 for k, v in flops.items()},
        "peak_gflops": peaks,
        "rows": efficiency(rows, flops, peaks),
    }
