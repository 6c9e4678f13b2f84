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


def inside(bundle: Path, name: str) -> Path:
    """`bundle / name`, refused when the name would reach outside the bundle (absolute, `..`, links out)."""
    candidate = Path(name)
    # a NUL byte would make the OS calls below raise ValueError; no real file name holds one
    if "\x00" in name or candidate.is_absolute() or ".." in candidate.parts or not name.strip():
        raise BundleError(f"{bundle}: the manifest names {name!r}, a path outside the bundle")
    resolved = (bundle / candidate).resolve()
    if not resolved.is_relative_to(bundle.resolve()):
        raise BundleError(f"{bundle}: {name!r} resolves outside the bundle")
    return bundle / candidate


def shown(name: str) -> str:
    """A file name as an error shows it: as is, or quoted when it holds characters that would break the line."""
    return name if name.isprintable() else repr(name)


def read_manifest(bundle: str | Path, verify: bool = True) -> dict:
    bundle = Path(bundle)
    path = bundle / MANIFEST
    if not path.is_file():
        raise BundleError(f"{bundle} is not a bundle: no {MANIFEST}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise BundleError(f"{path}: unreadable manifest ({type(exc).__name__}: {exc})"[:300]) from None
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: the manifest is {type(manifest).__name__}, not a JSON object")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(
            f"{path}: schema version {manifest.get('schema_version')!r}, this runtime reads {SCHEMA_VERSION}"
        )
    files = manifest.get("files", {})
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise BundleError(f"{path}: 'files' must map file names to sha256 strings")
    for name in files:
        inside(bundle, name)
    if verify:
        for name, expected in files.items():
            file = bundle / name
            if not file.is_file():
                raise BundleError(f"{bundle}: {shown(name)} is missing")
            if sha256(file) != expected:
                raise BundleError(
                    f"{bundle}: {shown(name)} does not match its sha256 in the manifest (tampered or truncated)"
                )
    return manifest
