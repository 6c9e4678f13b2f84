"""`rakuten-edge web BUNDLE --out site/`: a static site that classifies products in the browser (onnxruntime-web).

The site is self-contained: `index.html`, `app.js` + `preprocess.js` (the Python runtime's preprocessing, step for
step), `model/` (the bundle's ONNX file, its text kind's files: a vocabulary as JSON or an IDF table; the labels and
the text tables Python's own cleaning uses) and `ort/` (onnxruntime-web's wasm runtime). It works offline from any
static host.

onnxruntime-web is the npm package pinned in `web/package.json` (lock file beside it); `make setup` installs it
once into `web/node_modules/` with `npm ci`, and this command only copies from there (or from the folder
RAKUTEN_EDGE_ORT_WEB names): nothing is downloaded when a site is built or opened.
"""

from __future__ import annotations

import html.entities
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..atomic import staged_dir
from ..bundles import best_bundle
from ..errors import UserError
from ..runtime.classifier import manifest_format
from ..runtime.manifest import inside, read_manifest
from ..tables import load_object
from ..tables.text_kinds import PROBS, get_text_kind, web_kinds

ORT_VERSION = "1.30.0"
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.mjs")
SITE_FILES = ("index.html", "app.js", "preprocess.js")
REPO_ORT = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "onnxruntime-web" / "dist"


@dataclass(frozen=True)
class Site:
    out: Path
    bundle: Path
    files: int
    bytes: int

    def as_dict(self) -> dict:
        return {"out": str(self.out), "bundle": str(self.bundle), "files": self.files, "mb": round(self.bytes / 1e6, 1)}


def ort_dir() -> Path:
    """Where onnxruntime-web's files are copied from; a clear error when they are not there."""
    folder = Path(os.environ.get("RAKUTEN_EDGE_ORT_WEB") or REPO_ORT)
    missing = [name for name in ORT_FILES if not (folder / name).is_file()]
    if missing:
        raise UserError(
            f"onnxruntime-web {ORT_VERSION} not found in {folder} (missing {', '.join(missing)}): run `make setup` "
            "(npm ci in web/) once, or point RAKUTEN_EDGE_ORT_WEB at its dist/ folder"
        )
    return folder


def text_tables() -> dict:
    """Python's own tables behind clean_text, for preprocess.js: html.unescape's entities and invalid references,
    cp1252 for the mojibake repair, and what `\\s` means to Python's re."""
    from ..runtime import preprocess

    cp1252 = {}
    for b in range(256):
        try:
            cp1252[bytes([b]).decode("cp1252")] = b
        except UnicodeDecodeError:
            continue
    return {
        "html5": html.entities.html5,
        "invalid_charrefs": {str(k): v for k, v in html._invalid_charrefs.items()},  # type: ignore[attr-defined]
        "invalid_codepoints": sorted(html._invalid_codepoints),  # type: ignore[attr-defined]
        "cp1252_encode": cp1252,
        "continuation": [ord(c) for c in preprocess._CONTINUATION],
        "whitespace": [c for c in range(sys.maxunicode + 1) if chr(c).isspace()],
    }


def _model_config(bundle: Path, manifest: dict) -> dict:
    text = manifest["preprocessing"]["text"]
    if not runs_in_page(manifest):
        raise UserError(
            f"{bundle}: the page runs bundles whose text preprocessing is {_web_kinds()} ({_web_models()}); "
            f"this one uses {text.get('kind')!r}"
        )
    image_spec, *text_specs = manifest["inputs"]
    return {
        "bundle": bundle.name,
        "format": manifest.get("format"),
        "image_size": int(manifest["preprocessing"]["image"]["size"]),
        "image_input": image_spec["name"],
        "text_kind": text["kind"],
        "text_inputs": [{"name": s["name"], "dtype": s["dtype"]} for s in text_specs],
        "output": PROBS,
        "labels": manifest["labels"],
    }


def runs_in_page(manifest: dict) -> bool:
    """Whether the page mirrors the bundle's text preprocessing (the text-kind table's `web`)."""
    return manifest.get("preprocessing", {}).get("text", {}).get("kind") in {k.name for k in web_kinds()}


def _web_kinds() -> str:
    return ", ".join(k.name for k in web_kinds())


def _web_models() -> str:
    from ..models.registry import REGISTRY

    return ", ".join(key for key, entry in REGISTRY.items() if entry.text.web)


def build_site(bundle: str | Path | None, out: str | Path, bundles: Path = paths.BUNDLES) -> Site:
    """Write the static site for `bundle` (default: the best bundle the page can run) into `out`, replaced whole
    and only once complete."""
    if bundle is None:
        bundle = best_bundle(bundles, runs_in_page, f"bundle of a model the page runs ({_web_models()})")
    bundle, out = Path(bundle), Path(out)
    manifest = read_manifest(bundle)  # hashes verified: the page gets the files the export validated
    config = _model_config(bundle, manifest)
    ort = ort_dir()
    text = manifest["preprocessing"]["text"]
    config["text"], text_files = load_object(get_text_kind(text["kind"]).web_assets)(bundle, text)
    artifact = inside(bundle, manifest_format(bundle, manifest).artifact)
    site_src = Path(__file__).parent / "site"
    with staged_dir(out) as tmp:
        for name in SITE_FILES:
            shutil.copyfile(site_src / name, tmp / name)
        (tmp / "model").mkdir()
        (tmp / "ort").mkdir()
        shutil.copyfile(artifact, tmp / "model" / "model.onnx")
        (tmp / "model" / "config.json").write_text(json.dumps(config, ensure_ascii=False))
        for name, data in text_files.items():
            (tmp / "model" / name).write_bytes(data)
        (tmp / "model" / "text-tables.json").write_text(json.dumps(text_tables()))
        for name in ORT_FILES:
            shutil.copyfile(ort / name, tmp / "ort" / name)
    files = [p for p in out.rglob("*") if p.is_file()]
    return Site(out, bundle, len(files), sum(p.stat().st_size for p in files))
