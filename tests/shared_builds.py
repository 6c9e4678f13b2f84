"""Building once what the whole test run shares: under pytest-xdist the workers take turns through file locks in
the run's common temp folder, and a worker waiting for one model makes another (conftest's fixtures use these)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from filelock import FileLock, Timeout


def built_once(
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
    while not _try_build(tmp_path_factory, name, build) and not done.exists():
        if not (meanwhile and meanwhile()):
            meanwhile = None
            with lock:  # the other worker is building it: wait until it is done (or failed: then build it here)
                pass
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


class Lazy(Mapping):
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


class TinyModels:
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
        return Path(built_once(self.factory, f"runs-{key}", self._train(key), self.meanwhile)[1])

    def bundles(self, key: str) -> dict[str, Path]:
        made = built_once(self.factory, f"bundles-{key}", self._export(self.run(key)), self.meanwhile)[1]
        return {precision: Path(b) for precision, b in made.items()}
