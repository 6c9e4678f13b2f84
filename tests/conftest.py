"""Shared fixtures: one generated catalogue and its preparation for the whole session."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("PYTEST_XDIST_WORKER") is not None:
    # make test's two workers on two cores: one compute thread each in TensorFlow and PyTorch (OpenMP), for the
    # worker and the commands it starts. Two threads per worker made each spin for a core the other one holds.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

from rakuten_edge.data.prepare import prepare  # noqa: E402
from rakuten_edge.data.synth import synth  # noqa: E402
from rakuten_edge.models.config import TINY_IMAGE  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from shared_builds import Lazy, TinyModels, built_once  # noqa: E402

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
    folder, _ = built_once(tmp_path_factory, "raw", lambda out: synth(out, n=n_products, test_n=30, seed=7))
    return folder


@pytest.fixture(scope="session")
def prepared_dir(raw_dir, tmp_path_factory) -> Path:
    # every model trains here with --preset tiny
    folder, _ = built_once(
        tmp_path_factory, "prepared", lambda out: prepare(raw_dir, out, seed=42, image_size=TINY_IMAGE.size)
    )
    return folder


@pytest.fixture(scope="session")
def tiny_camembert(prepared_dir, tmp_path_factory) -> Path:
    """A small CamemBERT built offline from the generated corpus (no model hub here)."""
    from rakuten_edge.models.camembert_tiny import build_tiny

    folder, _ = built_once(
        tmp_path_factory, "camembert-tiny", lambda out: build_tiny(prepared_dir, out, vocab_size=2000)
    )
    return folder


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory) -> Path:
    # shared like the trained models: the camembert run fills it, test_camembert's rerun expects its hits
    folder, _ = built_once(tmp_path_factory, "cache", lambda out: out.mkdir(parents=True))
    return folder


@pytest.fixture(scope="session")
def tiny_models(request, prepared_dir, tiny_camembert, embedding_cache, tmp_path_factory) -> TinyModels:
    return TinyModels(request, prepared_dir, tiny_camembert, embedding_cache, tmp_path_factory)


@pytest.fixture(scope="session")
def trained_runs(tiny_models) -> Mapping[str, Path]:
    """Every registered model with its tiny preset, trained on first use (the parity tests reuse them)."""
    from rakuten_edge.models.registry import REGISTRY

    return Lazy(REGISTRY, tiny_models.run)


@pytest.fixture(scope="session")
def bundles(tiny_models) -> Mapping[str, dict[str, Path]]:
    """Every tiny run exported on first use: fp32 validated against native, int8 chosen by measurement."""
    from rakuten_edge.models.registry import REGISTRY

    return Lazy(REGISTRY, tiny_models.bundles)


@pytest.fixture(scope="session")
def toy_bundle(prepared_dir, tmp_path_factory) -> Path:
    """The toy model (tests/toy_plugin.py: a hand-written ONNX graph) trained and exported: a real bundle in
    seconds, for the tests of engines and serving protocols."""
    import toy_plugin  # tests/ is on sys.path (above)

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


SLOW_FIXTURES = {"trained_runs", "bundles", "tiny_models", "tiny_camembert", "toy_bundle"}
# `make test` runs two pytest-xdist workers (--dist loadgroup). The trained models are shared between them (each made
# once; see shared_builds.TinyModels). Ray clusters start one at a time, on one worker: the tests marked `ray`. A
# module whose module-scoped fixture is costly (a bench of seven formats, a browser, a server, a LiteRT conversion)
# keeps its tests on one worker with its own `xdist_group` mark; cheap module fixtures (test_parity's validation
# split) leave their tests free: grouping test_parity chained five trainings on one worker.
RAY_GROUP = "ray"


def pytest_itemcollected(item):
    # here, not in pytest_collection_modifyitems: xdist's worker reads the groups in that hook, before ours ran
    if item.get_closest_marker("ray"):
        item.add_marker(pytest.mark.xdist_group(RAY_GROUP))


def pytest_collection_modifyitems(items):
    """Slow tests carry an explicit `slow` marker. A test that asks for a trained model without one is an error
    here, so the fast tier never starts training by accident. Slow tests run first (a stable sort): the workers
    end on short tests, not one of them on a 50 s resume test while the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
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
