"""Shared fixtures: one generated catalogue and its preparation for the whole session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from rakuten_edge.data.prepare import prepare  # noqa: E402
from rakuten_edge.data.synth import synth  # noqa: E402
from rakuten_edge.models.config import TINY_IMAGE  # noqa: E402

N_PRODUCTS = 1500
# Without a slow test in the session nothing trains: a few hundred products cover every class and cost 5 s, not 25.
N_PRODUCTS_FAST = 300


@pytest.fixture(scope="session")
def n_products(request) -> int:
    """Products in the generated catalogue of this session."""
    slow = any(item.get_closest_marker("slow") for item in request.session.items)
    return N_PRODUCTS if slow else N_PRODUCTS_FAST


@pytest.fixture(scope="session")
def raw_dir(n_products, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("raw") / "raw"
    synth(out, n=n_products, test_n=30, seed=7)
    return out


@pytest.fixture(scope="session")
def prepared_dir(raw_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prep") / "prepared"
    prepare(raw_dir, out, seed=42, image_size=TINY_IMAGE.size)  # every model trains here with --preset tiny
    return out


@pytest.fixture(scope="session")
def tiny_camembert(prepared_dir, tmp_path_factory) -> Path:
    """A small CamemBERT built offline from the generated corpus (no model hub here)."""
    from rakuten_edge.models.camembert_tiny import build_tiny

    out = tmp_path_factory.mktemp("camembert") / "camembert-tiny"
    build_tiny(prepared_dir, out, vocab_size=2000)
    return out


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def trained_runs(prepared_dir, tiny_camembert, embedding_cache, tmp_path_factory) -> dict[str, Path]:
    """Every registered model trained once with its tiny preset (the parity tests reuse them)."""
    from rakuten_edge.models.registry import REGISTRY
    from rakuten_edge.training import train

    # Each entry declares the options it takes: encoder models get the offline encoder and the shared cache.
    offered = {"camembert": str(tiny_camembert), "cache": embedding_cache}
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for key, entry in REGISTRY.items():
        options = {k: v for k, v in offered.items() if k in entry.trainer_options}
        result = train(key, data=prepared_dir, out=root, preset="tiny", **options)
        runs[key] = Path(result["run"])
    return runs


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


@pytest.fixture(scope="session")
def toy_bundle(prepared_dir, tmp_path_factory) -> Path:
    """The toy model (tests/toy_plugin.py: a hand-written ONNX graph) trained and exported: a real bundle in
    seconds, for the tests of engines and serving protocols."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    import toy_plugin

    from rakuten_edge.export import export
    from rakuten_edge.training import train

    root = tmp_path_factory.mktemp("toy")
    try:
        train("toy", data=prepared_dir, out=root / "runs", preset="tiny")
        written = export(["toy"], runs=root / "runs", out=root / "bundles", data=prepared_dir)
    finally:
        toy_plugin.unregister()  # the bundle needs no registry entry: other tests see the usual models
        sys.modules.pop("toy_plugin", None)  # a later import registers it again (tests/test_extensibility.py)
    return Path(written[0]["bundle"])


SLOW_FIXTURES = {"trained_runs", "bundles", "tiny_camembert", "toy_bundle"}
# `make test` runs two pytest-xdist workers (--dist loadgroup). Every test of the trained models goes to one of
# them, so the six tiny models train once; Ray clusters start on that worker too, one at a time.
TRAINED_GROUP, TRAINED_FIXTURES = "trained", {"trained_runs", "bundles"}


def pytest_itemcollected(item):
    # here, not in pytest_collection_modifyitems: xdist's worker reads the groups in that hook, before ours ran
    if TRAINED_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("ray"):
        item.add_marker(pytest.mark.xdist_group(TRAINED_GROUP))


def pytest_collection_modifyitems(items):
    """Slow tests carry an explicit `slow` marker. A test that asks for a trained model without one is an error
    here, so the fast tier never starts training by accident."""
    unmarked = [
        item.nodeid
        for item in items
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("slow")
    ]
    if unmarked:
        raise pytest.UsageError(
            f"these tests use a trained-model fixture ({', '.join(sorted(SLOW_FIXTURES))}) without "
            f"@pytest.mark.slow: {', '.join(unmarked)}"
        )
