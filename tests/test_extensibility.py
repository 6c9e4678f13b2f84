"""Adding a model or a format is one entry: a plugin registers a toy of each, and the CLI, training, export,
bench (in its worker processes) and the parametrized tests pick them up with no other edit."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from images import prepared_images

from rakuten_edge.models.registry import REGISTRY

TESTS = Path(__file__).parent


@pytest.fixture
def toy(monkeypatch):
    # Bench workers are fresh processes: they find the plugin through PYTHONPATH and import it by its origin.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(TESTS))
    plugin = importlib.import_module("toy_plugin")
    yield plugin
    plugin.unregister()
    sys.modules.pop("toy_plugin", None)
    assert "toy" not in REGISTRY


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}


def test_cli_offers_a_registered_model(toy):
    from rakuten_edge.cli import model_choices

    assert "toy" in [m.value for m in model_choices()]
    code = "import sys, toy_plugin; from rakuten_edge.cli import main; sys.argv = ['re', 'train', '--help']; main()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert out.returncode == 0 and "toy" in out.stdout, out.stderr[-500:]


@pytest.mark.slow  # about 11 s: trains, exports and benches the toy
def test_train_export_bench_pick_up_the_toy_model_and_format(toy, prepared_dir, tmp_path):
    from rakuten_edge.bench.core import bench
    from rakuten_edge.bench.subject import BenchOptions
    from rakuten_edge.export import export
    from rakuten_edge.runtime import load
    from rakuten_edge.training import train

    run = Path(train("toy", data=prepared_dir, out=tmp_path / "runs", preset="tiny")["run"])
    assert (run / "val_probs.npz").is_file() and (run / "vocab.txt").is_file()
    written = export(["toy"], quantize=True, runs=tmp_path / "runs", out=tmp_path / "bundles", data=prepared_dir)
    assert [r["precision"] for r in written] == ["fp32", "int8"]
    assert written[0]["parity"]["vs_native"]["passed"]
    prediction = load(written[0]["bundle"]).predict(_an_image(prepared_dir), "Piscine hors sol", top_k=2)
    assert len(prediction.top_k) == 2

    options = BenchOptions((1, 4), threads=1, repeats=5, eval_rows=32, throughput_seconds=0.1)
    result = bench(
        ["toy"],
        options,
        out=tmp_path / "bench",
        runs=tmp_path / "runs",
        bundles=tmp_path / "bundles",
        data=prepared_dir,
    )
    rows = {r["format"]: r for r in result["rows"]}
    # LiteRT needs a capability the toy does not declare; the plugin's format applies to every framework, and
    # OpenVINO's rows (the fp32 bundle on the second engine) wherever it is installed.
    from rakuten_edge.tables.engines import ENGINES

    openvino = ["openvino-f32", "openvino-bf16"] if ENGINES["openvino"].available() else []
    assert list(rows) == ["native", "onnx-fp32", "onnx-int8", *openvino, "onnx-fp32-cpu-ep"]
    for fmt, row in rows.items():
        gated = row["status"] == "❌" and "gates vs native" in row["reason"]  # the toy's int8 may drift past them
        no_bf16 = fmt == "openvino-bf16" and "no native bf16" in row["reason"]  # a CPU without bf16 says so
        assert row["status"] in ("✅", "❎") or gated or no_bf16, (fmt, row["reason"])
        assert no_bf16 or (row["p50_ms"] > 0 and row["key"] == "toy")
    # sizes of the bundle-backed rows (the toy's native weights are a file of its own, not a Keras/PyTorch one)
    assert all(rows[f]["size_mb"] > 0 for f in ("onnx-fp32", "onnx-int8", "onnx-fp32-cpu-ep"))
    # the same graph and feeds through the new format's runner give the same answers as onnx-fp32
    assert rows["onnx-fp32-cpu-ep"]["accuracy"] == rows["onnx-fp32"]["accuracy"] == rows["native"]["accuracy"]


def _an_image(prepared_dir: Path) -> Path:
    return prepared_images(prepared_dir, 1)[0]


def test_parametrized_tests_collect_the_toy_model():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "toy_plugin",
            str(TESTS / "test_parity.py"),
            str(TESTS / "test_training.py"),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=TESTS.parent,
    )
    assert out.returncode == 0, out.stdout[-1500:] + out.stderr[-1500:]
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    for test in (
        "test_fp32_matches_native",
        "test_int8_agrees_with_fp32",
        "test_run_artifacts",
        "test_runtime_tokens_equal_training_tokens",
    ):
        assert any(f"{test}[toy]" in i for i in ids), test
