"""benchmarks/gpu.py cannot rot between GPU loans: its CPU mode runs every row at tiny size here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu.py"


@pytest.fixture(scope="module")
def gpu():
    spec = importlib.util.spec_from_file_location("gpu_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_cpu_mode_measures_every_torch_row(gpu, tmp_path):
    out = tmp_path / "gpu.json"
    assert gpu.main(["--device", "cpu", "--size", "tiny", "--out", str(out), "--runs", "2"]) == 0
    result = json.loads(out.read_text())
    torch_rows = [r for r in result["rows"] if r["job"] != "onnx"]
    jobs = {(r["model"], r["job"], r["precision"]) for r in torch_rows}
    assert {("camembert-ft", "inference", "fp32"), ("camembert-ft", "inference", "bf16-autocast")} <= jobs
    assert {("camembert", "[CLS] features", "fp32"), ("camembert-ft", "fine-tune step", "fp32")} <= jobs
    assert all(r["value"] and r["value"] > 0 and r["unit"] in ("ms", "items/s") for r in torch_rows), torch_rows
    (onnx,) = [r for r in result["rows"] if r["job"] == "onnx"]
    assert onnx["note"], onnx  # measured or not, the row says why


def test_gpu_mode_without_cuda_is_one_line(gpu, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the refusal, on any machine
    assert gpu.main(["--device", "cuda", "--out", str(tmp_path / "gpu.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CUDA device" in err[0]
    assert not (tmp_path / "gpu.json").exists()
