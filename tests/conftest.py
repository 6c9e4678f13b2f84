"""Shared fixtures: one generated catalogue and its preparation for the whole session."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from filelock import FileLock, Timeout

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if os.environ.get("PYTEST_XDIST_WORKER") is not None:
    # make test's two workers on two cores: one compute thread each in TensorFlow and PyTorch (OpenMP), for the
    # worker and the commands it starts. Two threads per worker made each spin for a core the other one holds.
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

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


def _built_once(
    tmp_path_factory, name: str, build: Callable[[Path], object], meanwhile: Callable[[], bool] | None = None
) -> tuple[Path, object]:
    """`build(folder)` once per test run; returns the folder and what build returned (JSON). Under pytest-xdist
    the workers share the first one's output (a file lock in the run's common temp folder): the catalogue, its
    preparation and the tiny CamemBERT (18 + 3 + 19 s on the AMD EPYC without AVX-512) and each trained model are
    made once, by whichever worker asks first. While another worker holds the lock, `meanwhile()` may build
    something else this run needs (it returns False when there is nothing left); then the worker waits. Tests only
    read what is shared."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        out = tmp_path_factory.mktemp(name) / name
        return out, build(out)
    out, done, lock = _shared(tmp_path_factory, name)
    while not done.exists():
        try:
            lock.acquire(timeout=0 if meanwhile else -1)
        except Timeout:
            if not meanwhile():
                meanwhile = None
            continue
        try:
            if not done.exists():
                done.write_text(json.dumps(build(out), default=str))
        finally:
            lock.release()
    return out, json.loads(done.read_text())


def _shared(tmp_path_factory, name: str) -> tuple[Path, Path, FileLock]:
    root = tmp_path_factory.getbasetemp().parent / "shared"  # pytest-N/shared, beside every worker's popen-gwK/
    root.mkdir(exist_ok=True)
    return root / name, root / f"{name}.done.json", FileLock(str(root / f"{name}.lock"))


def _try_build(tmp_path_factory, name: str, build: Callable[[Path], object]) -> bool:
    """Build `name` now if nobody has built it or is building it; whether this call built it."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return False
    out, done, lock = _shared(tmp_path_factory, name)
    if done.exists():
        return False
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return False
    try:
        if done.exists():
            return False
        done.write_text(json.dumps(build(out), default=str))
        return True
    finally:
        lock.release()


def _built(tmp_path_factory, name: str):
    """What `name`'s build returned, if some worker has finished it."""
    _, done, _ = _shared(tmp_path_factory, name)
    return json.loads(done.read_text()) if done.exists() else None


def _parametrized_keys(session) -> list[str]:
    """The registered models some collected test is parametrized over: what this run will train and export."""
    from rakuten_edge.models.registry import REGISTRY

    params = [v for item in session.items for v in getattr(getattr(item, "callspec", None), "params", {}).values()]
    seen = {v for v in params if isinstance(v, str)}
    return [key for key in REGISTRY if key in seen]


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


class _TinyModels:
    """Every registered model with its tiny preset, trained, then exported (fp32 validated against native, int8
    chosen by measurement), each on first use. A worker waiting for one that the other worker is making trains or
    exports another that this run's tests are parametrized over, instead of idling (make test's two workers)."""

    def __init__(self, request, prepared_dir: Path, tiny_camembert: Path, embedding_cache: Path, tmp_path_factory):
        from rakuten_edge.models.registry import REGISTRY

        self.prepared, self.factory = prepared_dir, tmp_path_factory
        # Each entry declares the options it takes: encoder models get the offline encoder and the shared cache.
        offered = {"camembert": str(tiny_camembert), "cache": embedding_cache}
        self.options = {k: {o: v for o, v in offered.items() if o in e.trainer_options} for k, e in REGISTRY.items()}
        self.wanted = _parametrized_keys(request.session)

    def _train(self, key: str) -> Callable[[Path], str]:
        from rakuten_edge.training import train

        return lambda out: train(key, data=self.prepared, out=out, preset="tiny", **self.options[key])["run"]

    def _export(self, run: Path) -> Callable[[Path], dict[str, str]]:
        from rakuten_edge.export import export_run

        def export(out: Path) -> dict[str, str]:
            results = export_run(run, out, quantize=True, quant_mode="auto", data=self.prepared)
            return {r["precision"]: r["bundle"] for r in results}

        return export

    def meanwhile(self) -> bool:
        if any(_try_build(self.factory, f"runs-{key}", self._train(key)) for key in self.wanted):
            return True
        runs = {key: _built(self.factory, f"runs-{key}") for key in self.wanted}
        return any(
            _try_build(self.factory, f"bundles-{key}", self._export(Path(run)))
            for key, run in runs.items()
            if run is not None
        )

    def run(self, key: str) -> Path:
        return Path(_built_once(self.factory, f"runs-{key}", self._train(key), self.meanwhile)[1])

    def bundles(self, key: str) -> dict[str, Path]:
        made = _built_once(self.factory, f"bundles-{key}", self._export(self.run(key)), self.meanwhile)[1]
        return {precision: Path(b) for precision, b in made.items()}


@pytest.fixture(scope="session")
def tiny_models(request, prepared_dir, tiny_camembert, embedding_cache, tmp_path_factory) -> _TinyModels:
    return _TinyModels(request, prepared_dir, tiny_camembert, embedding_cache, tmp_path_factory)


@pytest.fixture(scope="session")
def trained_runs(tiny_models) -> Mapping[str, Path]:
    """Every registered model with its tiny preset, trained on first use (the parity tests reuse them)."""
    from rakuten_edge.models.registry import REGISTRY

    return _Lazy(REGISTRY, tiny_models.run)


@pytest.fixture(scope="session")
def bundles(tiny_models) -> Mapping[str, dict[str, Path]]:
    """Every tiny run exported on first use: fp32 validated against native, int8 chosen by measurement."""
    from rakuten_edge.models.registry import REGISTRY

    return _Lazy(REGISTRY, tiny_models.bundles)


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


SLOW_FIXTURES = {"trained_runs", "bundles", "tiny_models", "tiny_camembert", "toy_bundle"}
# `make test` runs two pytest-xdist workers (--dist loadgroup). The trained models are shared between them (each made
# once; see _TinyModels). Ray clusters start one at a time, on one worker: the tests marked `ray`. A module whose
# module-scoped fixture is costly (a bench of seven formats, a browser, a server, a LiteRT conversion) keeps its tests
# on one worker with its own `xdist_group` mark; cheap module fixtures (test_parity's validation split) leave their
# tests free: grouping test_parity chained five trainings on one worker.
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
