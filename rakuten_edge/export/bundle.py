"""Writing self-describing bundles: model.onnx + manifest.json + vocabulary/tokenizer."""

from __future__ import annotations

import json
import shutil
import time
from importlib import metadata
from pathlib import Path

from ..categories import labels_table
from ..runtime.manifest import MANIFEST, MODEL, SCHEMA_VERSION, sha256
from ..runtime.preprocess import PREPROCESS_VERSION, WHITE_THRESHOLD

TOOLS = (
    "rakuten-edge",
    "tensorflow-cpu",
    "keras",
    "tf2onnx",
    "onnx",
    "onnxruntime",
    "torch",
    "transformers",
    "optimum",
    "optimum-onnx",
    "tokenizers",
    "numpy",
    "pillow",
)


def tool_versions() -> dict[str, str]:
    versions = {}
    for name in TOOLS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def stamp_onnx(src: Path, dst: Path, key: str, precision: str) -> None:
    """Copy the graph with the class names in its metadata, so the .onnx file alone stays readable."""
    import onnx

    model = onnx.load(str(src))
    labels = labels_table()
    props = {
        "rakuten_edge.model": key,
        "rakuten_edge.precision": precision,
        "class_names": json.dumps([f"{r['prdtypecode']}: {r['name_fr']}" for r in labels], ensure_ascii=False),
        "prdtypecodes": json.dumps([r["prdtypecode"] for r in labels]),
    }
    del model.metadata_props[:]
    onnx.helper.set_model_props(model, props)
    onnx.save(model, str(dst))


def image_section(size: int) -> dict:
    return {
        "size": size,
        "mode": "L",
        "draft": "jpeg draft decode at >= size",
        "crop": f"white border (< {WHITE_THRESHOLD})",
        "pad": "square, white",
        "resample": "bilinear",
        "scale": "x / 255 (float32)",
        "layout": "NHWC, 1 channel",
        "preprocess_version": PREPROCESS_VERSION,
    }


def write_manifest(bundle: Path, base: dict, files: list[str]) -> dict:
    manifest = {
        "schema_version": SCHEMA_VERSION,
        **base,
        "labels": labels_table(),
        "tools": tool_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "files": {name: sha256(bundle / name) for name in [MODEL, *files]},
    }
    (bundle / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False, default=float), encoding="utf-8")
    return manifest


def copy_files(src_bundle: Path, dst_bundle: Path, files: list[str]) -> None:
    for name in files:
        shutil.copy2(src_bundle / name, dst_bundle / name)
