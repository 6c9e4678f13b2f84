"""Engines behind the one path: OpenVINO answers like onnxruntime, `tune` records a gated winner per CPU and job,
`load` follows it, and every bad case (missing backend, foreign or corrupt tuning file, a pinned candidate that
failed its gates) is one line or a noted fall back to the default, never a traceback or a silently other answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rakuten_edge.runtime import BundleError, load
from rakuten_edge.runtime.tuning import TUNING, cpu_signature

TESTS = Path(__file__).parent
pytestmark = pytest.mark.slow  # trains and exports the toy model, then a worker process per candidate


@pytest.fixture
def bundle(toy_bundle, tmp_path):
    """A private copy: the tests below write tuning files into it."""
    import shutil

    copy = tmp_path / toy_bundle.name
    shutil.copytree(toy_bundle, copy)
    return copy


@pytest.mark.parametrize("backend", ["openvino", "split"])
def test_openvino_answers_like_onnxruntime(bundle, prepared_dir, backend):
    """OpenVINO on the whole graph, and the split engine (the image tower on OpenVINO, the rest on onnxruntime)."""
    pytest.importorskip("openvino")
    from rakuten_edge.data.prepared import load_split

    val = load_split(prepared_dir, "val").head(64)
    ort_clf, ov_clf = load(bundle), load(bundle, backend=backend, precision="f32")
    assert ov_clf.providers[0].startswith("OpenVINO") and ov_clf.choice == "pinned"
    a = ort_clf.run(ort_clf.encode(val.pixels, val.texts))
    b = ov_clf.run(ov_clf.encode(val.pixels, val.texts))
    assert np.abs(a - b).max() <= 1e-5 and (a.argmax(1) == b.argmax(1)).all()


def test_tune_records_a_gated_winner_and_load_follows_it(bundle, prepared_dir, capsys):
    from rakuten_edge.tune import tune

    result = tune(bundle, ("latency",), prepared_dir, rows=32, runs=5, threads=[1])
    table = result["latency"]["table"]
    labels = {r["label"] for r in table}
    assert "onnxruntime/graph/1t" in labels and all(("p50_ms" in r) or r["why"] for r in table)
    assert any(r["passed"] for r in table) and result["latency"]["winner"] in {r["label"] for r in table if r["passed"]}
    data = json.loads((bundle / TUNING).read_text())
    assert list(data["cpus"]) == [cpu_signature()]
    winner = data["cpus"][cpu_signature()]["jobs"]["latency"]["winner"]["candidate"]
    clf = load(bundle, job="latency")
    assert clf.choice == "tuned" and clf.candidate.backend == winner["backend"]
    # a job that was not tuned runs the default, and says why
    assert load(bundle, job="throughput").choice == "default"
    assert "no throughput tuning for this CPU" in capsys.readouterr().err
    # the manifest's hashes are untouched: the bundle's identity does not change when it is tuned
    assert TUNING not in json.loads((bundle / "manifest.json").read_text())["files"]


def _tuning(bundle: Path, signature: str, candidate: dict, passed: bool = True) -> None:
    from rakuten_edge.runtime.manifest import read_manifest
    from rakuten_edge.runtime.tuning import bundle_identity

    row = {"candidate": candidate, "passed": passed, "why": "" if passed else "agreement 91.00% (≥ 99%)"}
    jobs = {"latency": {"winner": {"candidate": candidate} if passed else None, "table": [row]}}
    data = {"schema": 1, "bundle": bundle_identity(read_manifest(bundle)), "cpus": {signature: {"jobs": jobs}}}
    (bundle / TUNING).write_text(json.dumps(data))


def test_foreign_corrupt_or_stale_tuning_falls_back_with_a_note(bundle, capsys):
    ov = {"backend": "openvino", "precision": "f32", "threads": 1}
    _tuning(bundle, "Some Other CPU [avx2]", ov)
    assert load(bundle).choice == "default"
    assert "no latency tuning for this CPU" in capsys.readouterr().err
    (bundle / TUNING).write_text("{not json")
    assert load(bundle).choice == "default"
    assert "unreadable" in capsys.readouterr().err
    _tuning(bundle, cpu_signature(), ov)
    data = json.loads((bundle / TUNING).read_text())
    (bundle / TUNING).write_text(json.dumps({**data, "bundle": "0" * 16}))
    assert load(bundle).choice == "default"
    assert "stale" in capsys.readouterr().err


def test_a_tuned_backend_missing_here_falls_back(bundle, capsys):
    _tuning(bundle, cpu_signature(), {"backend": "no-such-engine", "precision": None, "threads": 1})
    clf = load(bundle)
    assert clf.choice == "default" and clf.candidate.backend == "onnxruntime"
    assert "cannot run here" in capsys.readouterr().err


def test_pinned_failures_are_one_line(bundle, prepared_dir):
    with pytest.raises(BundleError, match="unknown backend 'nope'"):
        load(bundle, backend="nope")
    _tuning(bundle, cpu_signature(), {"backend": "onnxruntime", "precision": None, "threads": 1}, passed=False)
    with pytest.raises(BundleError, match="failed its gates on this CPU"):
        load(bundle, backend="onnxruntime", threads=1)
    image = next((prepared_dir / "split_val").rglob("*.jpg"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "rakuten_edge.cli",
            "predict",
            str(image),
            "Piscine",
            "--bundle",
            str(bundle),
            "--backend",
            "nope",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    lines = cli.stderr.strip().splitlines()
    assert cli.returncode == 2 and len(lines) == 1 and "unknown backend 'nope'" in lines[0], cli.stderr


def test_a_retune_measures_again_a_candidate_that_failed_before(bundle, prepared_dir, tmp_path, capsys):
    """`tune` again (what the refusal tells the user to do) measures and gates every candidate afresh: a verdict
    recorded for this CPU must not stop its worker, or a failed candidate could never pass again."""
    from rakuten_edge.data.prepared import load_split
    from rakuten_edge.tune.worker import main

    candidate = {"backend": "onnxruntime", "precision": None, "threads": 1}
    _tuning(bundle, cpu_signature(), candidate, passed=False)
    val = load_split(prepared_dir, "val").head(8)
    clf = load(bundle)
    np.savez(tmp_path / "feeds.npz", **clf.encode(val.pixels, val.texts))
    spec = {"bundle": str(bundle), "setting": candidate, "job": "latency", "runs": 3, "batch": 4}
    spec |= {"feeds": str(tmp_path / "feeds.npz"), "probs": str(tmp_path / "probs.npy")}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    capsys.readouterr()
    main(str(tmp_path / "spec.json"))
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["p50_ms"] > 0 and np.load(tmp_path / "probs.npy").shape == (8, len(clf.labels))
