"""Finding exported bundles and picking the default one (light: manifest reading only)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .choices import Precision
from .errors import UserError
from .runtime.manifest import MANIFEST, read_manifest


def list_bundles(root: Path) -> list[Path]:
    return sorted(p.parent for p in Path(root).glob(f"*/{MANIFEST}") if not p.parent.name.startswith("."))


def _precision(manifest: dict) -> Precision:
    try:
        return Precision(manifest.get("precision"))
    except ValueError:
        raise UserError(f"bundle of an unknown precision {manifest.get('precision')!r}") from None


def best_bundle(root: Path, accept: Callable[[dict], bool] = lambda manifest: True, what: str = "bundle") -> Path:
    """Highest weighted F1 of the lossless (fp32) export; that run's lossy (int8) bundle when it passed its gates.
    `accept` narrows the choice to the bundles a consumer can run (the web page: its text kinds)."""
    manifests = {b: m for b in list_bundles(root) if accept(m := read_manifest(b, verify=False))}
    bundles = list(manifests)
    if not bundles:
        raise UserError(f"no {what} in {root}: run `rakuten-edge export` (after `rakuten-edge train cnn3`) first")
    fp32 = {b: m for b, m in manifests.items() if not _precision(m).lossy}
    if not fp32:
        return bundles[0]
    best = max(fp32, key=lambda b: fp32[b]["parity"]["onnx"]["weighted_f1"])
    for b, m in manifests.items():
        if m["run"] == fp32[best]["run"] and _precision(m).lossy and m.get("quantization", {}).get("passed"):
            return b
    return best
