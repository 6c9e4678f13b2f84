"""Shared fixtures: one generated catalogue and its preparation for the whole session."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
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


def _built_once(tmp_path_factory, name: str, build: Callable[[Path], object]) -> tuple[Path, object]:
    """`build(folder)` once per test run; returns the folder and what build returned (JSON). Under pytest-xdist
    the workers share the first one's output (a file lock in the run's common temp folder): the catalogue, its
    preparation and the tiny CamemBERT (18 + 3 + 19 s on the AMD EPYC without AVX-512) and each trained model are
    made once, by whichever worker asks first, while the other waits (and the builder has both cores meanwhile).
    Tests only read what is shared."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        out = tmp_path_factory.mktemp(name) / name
        return out, build(out)
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "shared"  # pytest-N/shared, beside every worker's popen-gwK/
    root.mkdir(exist_ok=True)
    out, done = root / name, root / f"{name}.done.json"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            done.write_text(json.dumps(build(out), default=str))
    return out, json.loads(done.read_text())


class _Lazy(Mapping):
    """key -> value, each made on first use (`make(key)`), so a worker makes only what its tests ask for."""

    def __init__(self, keys, make: Callable[[str], object]):
        self._keys, self._make, self._made = list(keys), make, {}

    def __getitem__(self, key: str):
        if key not in self._keys:
            raise KeyError(key)
        if key not in self._made:
            self._made[key] = self._make(key)
        return self._made[key]

    def __iter__(self):
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@pytest.fixture(scope="session")
def raw_dir(n_products, tmp_path_factory) -> Path:
    folder, _ = _built_once(tmp_path_factory, "raw", lambda out: synth(out, n=n_products, test_n=30, seed=7))
    return folder


@pytest.fixture(scope="session")
def prepared_dir(raw_dir, tmp_path_factory) -> Path:
    # every model trains here with --preset tiny
    folder, _ = _built_once(
        tmp_path_factory, "prepared", lambda out: prepare(raw_dir, out, seed=42, image_size=TINY_IMAGE.size)
    )
    return folder


@pytest.fixture(scope="session")
def tiny_camembert(prepared_dir, tmp_path_factory) -> Path:
    """A small CamemBERT built offline from the generated corpus (no model hub here)."""
    from rakuten_edge.models.camembert_tiny import build_tiny

    folder, _ = _built_once(
        tmp_path_factory, "camembert-tiny", lambda out: build_tiny(prepared_dir, out, vocab_size=2000)
    )
    return folder


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory) -> Path:
    # shared like the trained models: the camembert run fills it, test_camembert's rerun expects its hits
    folder, _ = _built_once(tmp_path_factory, "cache", lambda out: out.mkdir(parents=True))
    return folder


@pytest.fixture(scope="session")
def trained_runs(prepared_dir, tiny_camembert, embedding_cache, tmp_path_factory) -> Mapping[str, Path]:
    """Every registered model with its tiny preset, trained on first use (the parity tests reuse them)."""
    from rakuten_edge.models.registry import REGISTRY
    from rakuten_edge.training import train

    # Each entry declares the options it takes: encoder models get the offline encoder and the shared cache.
    offered = {"camembert": str(tiny_camembert), "cache": embedding_cache}

    def make(key: str) -> Path:
        options = {k: v for k, v in offered.items() if k in REGISTRY[key].trainer_options}
        _, run = _built_once(
            tmp_path_factory,
            f"runs-{key}",
            lambda out: train(key, data=prepared_dir, out=out, preset="tiny", **options)["run"],
        )
        return Path(run)

    return _Lazy(REGISTRY, make)


@pytest.fixture(scope="session")
def bundles(trained_runs, prepared_dir, tmp_path_factory) -> Mapping[str, dict[str, Path]]:
    """Every tiny run exported on first use: fp32 validated against native, int8 chosen by measurement."""
    from rakuten_edge.export import export_run

    def make(key: str) -> dict[str, Path]:
        def export(out: Path) -> dict[str, str]:
            results = export_run(trained_runs[key], out, quantize=True, quant_mode="auto", data=prepared_dir)
            return {r["precision"]: r["bundle"] for r in results}

        return {
            precision: Path(b) for precision, b in _built_once(tmp_path_factory, f"bundles-{key}", export)[1].items()
        }

    return _Lazy(trained_runs, make)


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
# `make test` runs two pytest-xdist workers (--dist loadgroup). The trained models are shared between them (each made
# once, by the first worker to ask). Ray clusters start one at a time, on one worker: the tests marked `ray`.
# A module-scoped fixture is made once per worker that runs one of its tests: the tests sharing one stay together
# (test_bench's fixture, one bench of cnn2's seven formats, ran on both workers: 76 s made twice).
RAY_GROUP = "ray"


def pytest_itemcollected(item):
    # here, not in pytest_collection_modifyitems: xdist's worker reads the groups in that hook, before ours ran
    if item.get_closest_marker("ray"):
        item.add_marker(pytest.mark.xdist_group(RAY_GROUP))
        return
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    if any(d.scope == "module" for defs in definitions.values() for d in defs):
        item.add_marker(pytest.mark.xdist_group(item.module.__name__))


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
