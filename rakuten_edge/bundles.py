"""Finding exported bundles and picking the default one (light: manifest reading only)."""

from __future__ import annotations

from pathlib import Path

from .errors import UserError
from .runtime.manifest import MANIFEST, read_manifest


def list_bundles(root: Path) -> list[Path]:
    return sorted(p.parent for p in Path(root).glob(f"*/{MANIFEST}") if not p.parent.name.startswith("."))


def best_bundle(root: Path) -> Path:
    """Highest weighted F1 of the fp32 export; that run's int8 bundle when it passed its gates."""
    bundles = list_bundles(root)
    if not bundles:
        raise UserError(f"no bundle in {root}: run `rakuten-edge export` (after `rakuten-edge train cnn3`) first")
    manifests = {b: read_manifest(b, verify=False) for b in bundles}
    fp32 = {b: m for b, m in manifests.items() if m["precision"] == "fp32"}
    if not fp32:
        return bundles[0]
    best = max(fp32, key=lambda b: fp32[b]["parity"]["onnx"]["weighted_f1"])
    for b, m in manifests.items():
        if m["run"] == fp32[best]["run"] and m["precision"] == "int8" and m.get("quantization", {}).get("passed"):
            return b
    return best
