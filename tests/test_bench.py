"""A quick bench on the tiny bundles: every column and file, failures as ❌ rows, plausible numbers."""

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from rakuten_edge.bench.core import COLUMNS, bench
from rakuten_edge.bench.flops import count_flops
from rakuten_edge.bench.subject import BenchOptions
from rakuten_edge.models.config import TINY_IMAGE
from rakuten_edge.tables.engines import ENGINES

pytestmark = pytest.mark.xdist_group("bench")  # one bench of cnn2's seven formats (76 s), on one worker


@pytest.fixture(scope="module")
def bench_result(trained_runs, bundles, prepared_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    runs, out_bundles = root / "runs", root / "bundles"
    shutil.copytree(trained_runs["cnn2"], runs / trained_runs["cnn2"].name)
    for path in bundles["cnn2"].values():
        shutil.copytree(path, out_bundles / path.name)
    # a broken int8 bundle: its row must fail alone
    onnx_file = out_bundles / bundles["cnn2"]["int8"].name / "model.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes()[:-100])
    import tempfile

    # A temp folder of its own: the other pytest-xdist worker may run a bench of its own meanwhile.
    private = root / "tmp"
    private.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", str(private))
        options = BenchOptions((1, 8), threads=2, repeats=10, eval_rows=64, throughput_seconds=0.3)
        result = bench(None, options, out=root / "out", runs=runs, bundles=out_bundles, data=prepared_dir)
    result["leftover"] = list(private.iterdir())
    return result, root / "out"


@pytest.mark.slow  # a trained model (tiny preset)
def test_every_format_gets_a_row(bench_result):
    result, out = bench_result
    from rakuten_edge.models.registry import REGISTRY
    from rakuten_edge.tables.formats import FORMATS

    formats = [r["format"] for r in result["rows"]]
    assert formats == [f.name for f in FORMATS.values() if f.applies(REGISTRY["cnn2"])]
    assert {"native", "onnx-fp32", "onnx-int8", "litert-fp32", "litert-int8"} <= set(formats)
    # OpenVINO's rows wherever it is installed (make setup installs it): the same bundle on the second engine
    assert {"openvino-f32", "openvino-bf16"} <= set(formats) or not ENGINES["openvino"].available()
    assert all(set(COLUMNS) == set(r) for r in result["rows"])
    for name in ("results.json", "results.csv", "results.md", "latency.png", "physical_limit.md"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert json.loads((out / "results.json").read_text())["machine"]["cores"] >= 1
    assert not result["leftover"], "the bench's work folder (feeds, flatbuffers) must be removed"


@pytest.mark.slow  # a trained model (tiny preset)
def test_failing_format_is_a_cross_row_and_the_rest_runs(bench_result):
    rows = {r["format"]: r for r in bench_result[0]["rows"]}
    assert rows["onnx-int8"]["status"] == "❌" and "sha256" in rows["onnx-int8"]["reason"]
    for fmt in ("native", "onnx-fp32", "litert-fp32"):
        assert rows[fmt]["status"] == "✅", (fmt, rows[fmt]["reason"])
    # a lossy peer ran, and is ✅ only within the int8 gates against native (else ❌ with the figures)
    peer = rows["litert-int8"]
    assert peer["p50_ms"] and (peer["status"] == "✅" or "gates vs native: top-1 agreement" in peer["reason"]), peer


@pytest.mark.slow  # a trained model (tiny preset)
def test_numbers_are_plausible(bench_result):
    rows = [r for r in bench_result[0]["rows"] if r["status"] == "✅"]
    for r in rows:
        assert 0 < r["p50_ms"] <= r["p95_ms"]
        assert r["throughput_per_s"] > 0 and r["cold_start_s"] > 0 and r["peak_memory_mb"] > 0 and r["size_mb"] > 0
        assert 0 <= r["accuracy"] <= 1 and 0 <= r["weighted_f1"] <= 1
    by = {r["format"]: r for r in rows}
    assert by["native"]["speedup_vs_native"] == pytest.approx(1.0)
    assert by["onnx-fp32"]["accuracy"] == by["native"]["accuracy"]  # same model, same answers
    limit = bench_result[0]["physical_limit"]
    assert limit["peak_gflops"]["fp32"] > 0 and all(0 < r["efficiency_batch1"] < 1 for r in limit["rows"])
    # the bf16 matrix peak, exactly where an installed engine computes bf16 natively (OpenVINO on AMX/avx512_bf16)
    native = ENGINES["openvino"].available() and "bf16" in _openvino_precisions()
    assert ("bf16" in limit["peak_gflops"]) == native and limit["peak_gflops"].get("bf16", 1) > 0


@pytest.mark.slow  # a trained model (tiny preset)
def test_conv_flops_counted_exactly(bundles):
    # tiny image branch: 8, 16, 16 filters of 3x3 on s, s/2, s/4 px ("same" padding)
    s = TINY_IMAGE.size
    expected = 2 * 9 * (s * s * 8 * 1 + (s // 2) ** 2 * 16 * 8 + (s // 4) ** 2 * 16 * 16)
    flops = count_flops(bundles["cnn2"]["fp32"] / "model.onnx", sequence=80)
    assert flops["Conv"] == pytest.approx(expected + 2 * 80 * 16 * 16 * 3 * 2, rel=1e-6)  # + the two Conv1D


def test_bench_bad_arguments_exit_2(tmp_path):
    # The runs folder is empty too: each argument must be refused first, with a line that names it.
    cases = {
        ("--batch-sizes", "8,1"): "batch_sizes must be (1, N)",
        ("--formats", "onnx-fp16"): "unknown format(s) onnx-fp16",
        ("--batch-sizes", "x"): "--batch-sizes must look like 1,32",
        ("--load", "-1"): "load must be between 0 and",
    }
    for args, reason in cases.items():
        cli = subprocess.run(
            [sys.executable, "-m", "rakuten_edge.cli", "bench", "--runs", str(tmp_path), *args],
            capture_output=True,
            text=True,
        )
        lines = cli.stderr.strip().splitlines()
        assert cli.returncode == 2 and len(lines) == 1 and reason in lines[0], (args, cli.stderr)


def test_targets_are_checked_from_the_rows():
    from rakuten_edge.bench.report import targets

    def row(model, fmt, p50, size=1.0, f1=None, cold=1.0):
        key = {"cnn3": "cnn3", "camembert-ft-untrained": "camembert-ft", "camembert-tiny": "camembert"}[model]
        return {
            "model": model,
            "key": key,
            "format": fmt,
            "p50_ms": p50,
            "size_mb": size,
            "weighted_f1": f1,
            "cold_start_s": cold,
        }

    result = {
        "rows": [
            row("cnn3", "native", 10.0),
            row("cnn3", "onnx-fp32", 4.0, 20, 0.80, 0.3),
            row("cnn3", "onnx-int8", 2.0, 6, 0.797, 0.4),
            row("cnn3", "litert-int8", 3.0),
            row("camembert-ft-untrained", "native", 100.0),
            row("camembert-ft-untrained", "onnx-fp32", 50.0, 440),
            row("camembert-tiny", "native", 2.0),
            row("camembert-tiny", "onnx-fp32", 1.0, 1.5),
            row("camembert-tiny", "onnx-int8", 1.0, 0.5),
            row("camembert-ft-untrained", "onnx-int8", 30.0, 110),
        ]
    }
    got = {(c["model"], c["target"]): c["met"] for c in targets(result)}
    assert got[("cnn3", "int8 ≥ 3× faster than native Keras")] is True
    assert got[("cnn3", "int8 not slower than LiteRT int8")] is True
    assert got[("cnn3", "int8 costs ≤ 0.5 point of weighted F1")] is True
    assert got[("cnn3", "runtime cold start ≤ 0.5 s")] is True
    assert got[("camembert-ft-untrained", "int8 ≥ 4× faster than PyTorch eager")] is False  # 3.33x
    assert got[("camembert-ft-untrained", "int8 ≤ 1/3.5 of the fp32 size")] is True  # 1/4
    assert not [k for k in got if k[0] == "camembert-tiny"]  # base-size targets do not apply to a tiny encoder


def test_peak_memory_is_this_process_not_the_parent():
    code = "from rakuten_edge.bench.worker import peak_memory_mb; print(peak_memory_mb())"
    ballast = bytearray(600 * 2**20)  # the parent holds 600 MB: a fresh child must not report it
    ballast[::4096] = b"x" * len(ballast[::4096])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 0 < float(out.stdout) < 500


@pytest.mark.slow  # a trained model (tiny preset)
def test_rows_under_load_record_it_and_leave_no_load_behind(trained_runs, bundles, prepared_dir, tmp_path):
    """`--load N`: N busy processes beside each measured row, gone afterwards; `--no-spin` reaches the session."""
    import psutil

    from rakuten_edge.bench.load import SPIN
    from rakuten_edge.bench.report import header_line

    runs, out_bundles = tmp_path / "runs", tmp_path / "bundles"
    shutil.copytree(trained_runs["cnn2"], runs / trained_runs["cnn2"].name)
    shutil.copytree(bundles["cnn2"]["fp32"], out_bundles / bundles["cnn2"]["fp32"].name)
    options = BenchOptions((1, 4), repeats=5, eval_rows=16, throughput_seconds=0.2, formats=("onnx-fp32",), load=2)
    result = bench(
        None, replace(options, spin=False), out=tmp_path / "out", runs=runs, bundles=out_bundles, data=prepared_dir
    )
    assert [r["status"] for r in result["rows"]] == ["✅"] and result["rows"][0]["p50_ms"] > 0
    assert result["load"] == 2 and result["spin"] is False
    assert "under load: 2 busy processes" in header_line(result) and "spinning off" in header_line(result)
    spinning = [p for p in psutil.process_iter(["cmdline"]) if SPIN in " ".join(p.info["cmdline"] or [])]
    assert spinning == []


def test_readme_sections_not_measured_this_time_keep_their_text(tmp_path):
    from rakuten_edge.bench.report import README_END, README_START, update_readme

    readme = tmp_path / "README.md"
    block = "### A title\n\nold table A\n\n### B title\n\nold table B\n"
    readme.write_text(f"intro\n{README_START}\n{block}{README_END}\nafter\n", encoding="utf-8")
    update_readme(readme, [("B title", None), ("A title", None), ("C title", None)])
    text = readme.read_text(encoding="utf-8")
    assert "old table A" in text and "old table B" in text and "C title" not in text
    assert text.index("B title") < text.index("A title")  # the sections' order, not the old one
    assert text.startswith("intro\n") and text.endswith("after\n")


def test_every_row_is_gated_against_the_reference(tmp_path):
    """A peer whose answers drift past its precision's gates is ❌ with the figures; one within them keeps ✅."""
    import numpy as np

    from rakuten_edge.bench.core import _gate_rows
    from rakuten_edge.bench.worker import probs_path
    from rakuten_edge.tables.formats import FORMATS

    rng = np.random.default_rng(0)
    ref = rng.dirichlet(np.ones(27), 200).astype(np.float32)
    labels = ref.argmax(1)
    feeds = tmp_path / "feeds.npz"
    np.savez(feeds, labels=labels)
    broken = np.roll(ref, 1, axis=1)  # every top-1 moves: like LiteRT int8 on the trained cnn3 (0.28 accuracy)
    answers = {
        "native": ref,
        "onnx-fp32": ref + 1e-6,
        "onnx-int8": ref,
        "litert-fp32": ref,
        "litert-int8": broken,
        "openvino-f32": ref + 2e-4,  # lossless: held to max |Δp| <= 1e-4
        "openvino-bf16": ref + 2e-4,  # bf16 is lossy (the engine table says so): held to agreement and F1
    }
    formats = [FORMATS[name] for name in answers]
    for name, probs in answers.items():
        np.save(probs_path(str(feeds), name), probs)
    rows = [{"format": name, "status": "✅", "reason": ""} for name in answers]
    _gate_rows(rows, formats, feeds)
    status = {r["format"]: (r["status"], r["reason"]) for r in rows}
    assert status["litert-int8"][0] == "❌" and "top-1 agreement 0.00% (≥ 99%)" in status["litert-int8"][1]
    assert all(status[f] == ("✅", "") for f in ("native", "onnx-fp32", "onnx-int8", "litert-fp32")), status
    assert status["openvino-f32"][0] == "❌" and "max |Δp| 2.0e-04" in status["openvino-f32"][1]
    assert status["openvino-bf16"] == ("✅", ""), status
    # a lossless row is held to max |Δp| <= 1e-4, not to agreement alone
    np.save(probs_path(str(feeds), "litert-fp32"), ref + 1e-3)
    rows = [{"format": name, "status": "✅", "reason": ""} for name in answers]
    _gate_rows(rows, formats, feeds)
    assert rows[3]["status"] == "❌" and "max |Δp| 1.0e-03" in rows[3]["reason"]


def _converts(subject, fmt, batches) -> None:
    Path(subject.workdir, f"{fmt.name}.tflite").write_text(repr(batches))


def _crashes(subject, fmt, batches) -> None:
    raise RuntimeError("the converter crashed\nwith a second line")


def test_one_conversion_process_converts_each_format_and_names_the_failing_one(tmp_path):
    # The bench converts every format of one conversion function in one process (LiteRT's fp32 and int8 share a
    # TensorFlow import); a format whose conversion fails gets its own ❌ reason, and the others still convert.
    from rakuten_edge.bench.subject import Job, Subject
    from rakuten_edge.bench.worker import convert
    from rakuten_edge.choices import Precision
    from rakuten_edge.tables.formats import Format, register_format, unregister_format

    names = {"conv-a": "test_bench:_converts", "conv-bad": "test_bench:_crashes", "conv-b": "test_bench:_converts"}
    for name, prepare in names.items():
        register_format(Format(name, Precision.fp32, "a test's conversion", "x:runner", "x:size", prepare=prepare))
    try:
        subject = Subject("m", "cnn2", str(tmp_path), {}, str(tmp_path))
        failed = convert(Job(subject, "conv-a", 1, 8, 1, "", 0.0, prepare=[1, 8], convert=list(names)))
    finally:
        for name in names:
            unregister_format(name)
    assert failed == {"conv-bad": "RuntimeError: the converter crashed"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv-a.tflite", "conv-b.tflite"]
    assert (tmp_path / "conv-b.tflite").read_text() == "[1, 8]"


def _openvino_precisions() -> set[str]:
    from rakuten_edge.runtime.engine_openvino import cpu_precisions

    return cpu_precisions()
