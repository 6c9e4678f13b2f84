"""The bundle manifest: everything the runtime needs, so that it needs no training code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import UserError

SCHEMA_VERSION = 1
MANIFEST, MODEL = "manifest.json", "model.onnx"


class BundleError(UserError):
    """A bundle that is missing, tampered with, truncated or of an unknown schema."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(bundle: str | Path, verify: bool = True) -> dict:
    bundle = Path(bundle)
    path = bundle / MANIFEST
    if not path.is_file():
        raise BundleError(f"{bundle} is not a bundle: no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{path}: unreadable manifest ({exc})") from None
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(f"{path}: schema version {manifest.get('schema_version')!r}, this runtime reads {SCHEMA_VERSION}")
    if verify:
        for name, expected in manifest.get("files", {}).items():
            file = bundle / name
            if not file.is_file():
                raise BundleError(f"{bundle}: {name} is missing")
            if sha256(file) != expected:
                raise BundleError(f"{bundle}: {name} does not match its sha256 in the manifest (tampered or truncated)")
        if MODEL not in manifest.get("files", {}):
            raise BundleError(f"{path}: the manifest lists no {MODEL}")
    return manifest
