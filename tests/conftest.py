"""Shared fixtures: one generated catalogue and its preparation for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from rakuten_edge.data.prepare import prepare  # noqa: E402
from rakuten_edge.data.synth import synth  # noqa: E402

N_PRODUCTS = 1500


@pytest.fixture(scope="session")
def raw_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw") / "raw"
    synth(out, n=N_PRODUCTS, test_n=30, seed=7)
    return out


@pytest.fixture(scope="session")
def prepared_dir(raw_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prep") / "prepared"
    prepare(raw_dir, out, seed=42)
    return out


@pytest.fixture(scope="session")
def trained_runs(prepared_dir, tmp_path_factory) -> dict[str, Path]:
    """Every registered model trained once with its tiny preset (the parity tests reuse them)."""
    from rakuten_edge.models.registry import REGISTRY
    from rakuten_edge.training import train

    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for key in REGISTRY:
        result = train(key, data=prepared_dir, out=root, preset="tiny", **TRAIN_OPTIONS.get(key, {}))
        runs[key] = Path(result["run"])
    return runs


# Per-model extra options for the tiny training (the CamemBERT models add their offline encoder).
TRAIN_OPTIONS: dict[str, dict] = {}


@pytest.fixture(scope="session")
def bundles(trained_runs, prepared_dir, tmp_path_factory) -> dict[str, dict[str, Path]]:
    """Every tiny run exported: fp32 validated against native, int8 chosen by measurement."""
    from rakuten_edge.export import export_run

    root = tmp_path_factory.mktemp("bundles")
    out = {}
    for key, run in trained_runs.items():
        results = export_run(run, root, quantize=True, quant_mode="auto", data=prepared_dir)
        out[key] = {r["precision"]: Path(r["bundle"]) for r in results}
    return out
