"""`rakuten-edge export`: runs -> validated fp32 bundles, and int8 bundles chosen by measurement."""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from .. import paths
from ..atomic import staged_dir
from ..data.prepared import Split, load_split
from ..errors import UserError
from ..models.config import ModelConfig
from ..models.registry import get_model
from ..progress import console
from ..reports import classification_report
from ..runtime.classifier import Classifier
from ..runtime.manifest import MODEL
from .bundle import copy_files, image_section, stamp_onnx, write_manifest
from .formats import FORMATS, bundle_name
from .quantize import choose
from .validate import validate

VALIDATION_ROWS, CALIBRATION_ROWS = 512, 128


def find_runs(runs: Path, models: list[str] | None = None) -> list[Path]:
    """Trained runs under `runs`, filtered by run name or model key."""
    found = sorted(p.parent for p in Path(runs).glob("*/metrics.json") if not p.parent.name.startswith("."))
    if models:
        wanted = set(models)
        unknown = wanted - {p.name for p in found} - {json.loads((p / "config.json").read_text())["key"] for p in found}
        if unknown:
            raise UserError(f"no trained run for {', '.join(sorted(unknown))} in {runs}: "
                            f"run `rakuten-edge train {sorted(unknown)[0]}` first")
        found = [p for p in found if p.name in wanted or json.loads((p / "config.json").read_text())["key"] in wanted]
    if not found:
        raise UserError(f"no trained run in {runs}: run `rakuten-edge train cnn3` first")
    return found


def _summary(labels: np.ndarray, probs: np.ndarray) -> dict:
    s = classification_report(labels, probs.argmax(1))["summary"]
    return {"accuracy": s["accuracy"], "weighted_f1": s["weighted_f1"]}


def export_run(run: Path, out: Path = paths.BUNDLES, quantize: bool = False, quant_mode: str = "auto",
               data: Path | None = None, rows: int = VALIDATION_ROWS, sample: tuple[Split, Split] | None = None,
               select: str = "gated") -> list[dict]:
    """Export one run. `sample` (validation, calibration) replaces the prepared data (the untrained bench);
    select="fastest" picks the int8 recipe by latency alone (random weights make accuracy gates meaningless)."""
    run = Path(run)
    config = ModelConfig.from_dict(json.loads((run / "config.json").read_text()))
    metrics = json.loads((run / "metrics.json").read_text())
    entry = get_model(config.key)
    exporter = entry.exporter_module()
    if sample:
        val, calib_split = sample
    else:
        data = Path(data or metrics.get("data_dir") or paths.PREPARED)
        val = load_split(data, "val").head(rows)
        calib_split = load_split(data, "train").head(CALIBRATION_ROWS)
    base = {"model_key": config.key, "title": entry.title, "run": run.name, "inputs": exporter.input_specs(config),
            "outputs": [{"name": "probs", "shape": ["batch", config.num_classes], "dtype": "float32"}],
            "training": {k: metrics.get(k) for k in ("accuracy", "weighted_f1", "macro_f1", "best_epoch", "data")}}
    with tempfile.TemporaryDirectory(prefix="rakuten-export-") as work:
        work = Path(work)
        console.print(f"[bold]{run.name}[/]: converting to ONNX")
        # Converters (torch.onnx, optimum, tf2onnx) print progress to stdout: keep stdout for the result.
        with contextlib.redirect_stdout(sys.stderr):
            exporter.to_onnx(run, config, work / "raw.onnx")
        fp32 = _export_fp32(run, config, exporter, work / "raw.onnx", Path(out), base, val)
        results = [fp32["result"]]
        if quantize:
            results.append(_export_int8(run, config, work, Path(out), fp32, val, calib_split, quant_mode, select))
    return results


def _export_fp32(run: Path, config: ModelConfig, exporter, onnx_path: Path, out: Path, base: dict, val: Split) -> dict:
    """Write the fp32 bundle, then validate it through the runtime itself against the native model."""
    fmt = FORMATS["onnx-fp32"]
    folder = out / bundle_name(run.name, fmt)
    with staged_dir(folder) as tmp:
        stamp_onnx(onnx_path, tmp / MODEL, config.key, "fp32")
        text, text_files = exporter.text_section(run, config, tmp)
        manifest = {**base, "format": fmt.name, "precision": "fp32", "batch_invariant": True,
                    "preprocessing": {"image": image_section(config.image.size), "text": text}}
        write_manifest(tmp, manifest, text_files)
        clf = Classifier(tmp)
        feeds = clf.inputs(val.pixels, val.texts)
        onnx_probs = clf.run(feeds)
        native_probs = exporter.native(run, config)(feeds)
        check = validate(clf.session, base["inputs"], feeds, onnx_probs, native_probs, val.productid)
        if not check.ok:
            raise UserError(f"{run.name}: fp32 export failed validation: " + " | ".join(check.failures))
        parity = {"vs_native": check.to_dict(), "onnx": _summary(val.labels, onnx_probs),
                  "native": _summary(val.labels, native_probs)}
        write_manifest(tmp, {**manifest, "parity": parity}, text_files)
        console.print(f"  fp32: max |Δp| {check.max_abs_diff:.2e}, top-1 agreement {check.agreement:.2%} "
                      f"on {check.rows} validation rows")
    result = {"bundle": str(folder), "precision": "fp32", "parity": parity,
              "size_mb": round((folder / MODEL).stat().st_size / 2**20, 3)}
    return {"result": result, "folder": folder, "manifest": manifest, "text_files": text_files, "feeds": feeds,
            "probs": onnx_probs}


def _probs(path: Path, feeds: dict[str, np.ndarray], batch_invariant: bool) -> np.ndarray:
    """Probabilities of an ONNX file; dynamic-int8 graphs row by row (their output depends on the batch)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    n, step = len(next(iter(feeds.values()))), 64 if batch_invariant else 1
    return np.concatenate([session.run(["probs"], {k: v[i : i + step] for k, v in feeds.items()})[0]
                           for i in range(0, n, step)])


def _export_int8(run: Path, config: ModelConfig, work: Path, out: Path, fp32: dict, val: Split, calib_split: Split,
                 quant_mode: str, select: str) -> dict:
    """Measure every candidate recipe, write the chosen one as its own bundle with the candidate table."""
    calib = Classifier(fp32["folder"]).inputs(calib_split.pixels, calib_split.texts)
    feeds, fp32_probs = fp32["feeds"], fp32["probs"]
    console.print(f"  int8: measuring {quant_mode} recipes")
    chosen, table = choose(work / "raw.onnx", work, calib, feeds, val.labels, fp32_probs, quant_mode,
                           lambda path, invariant: _probs(path, feeds, invariant), select=select)
    fmt = FORMATS["onnx-int8"]
    folder = out / bundle_name(run.name, fmt)
    with staged_dir(folder) as tmp:
        stamp_onnx(chosen, tmp / MODEL, config.key, "int8")
        copy_files(fp32["folder"], tmp, fp32["text_files"])
        int8_probs = _probs(tmp / MODEL, feeds, table["batch_invariant"])
        agreement = float((int8_probs.argmax(1) == fp32_probs.argmax(1)).mean())
        ours, ref = _summary(val.labels, int8_probs), _summary(val.labels, fp32_probs)
        parity = {"vs_fp32": {"rows": len(val), "top1_agreement": agreement,
                              "max_abs_diff": float(np.abs(int8_probs - fp32_probs).max()),
                              "accuracy_change": ours["accuracy"] - ref["accuracy"],
                              "weighted_f1_change": ours["weighted_f1"] - ref["weighted_f1"]},
                  "onnx": ours, "fp32": ref}
        write_manifest(tmp, {**fp32["manifest"], "format": fmt.name, "precision": "int8",
                             "batch_invariant": table["batch_invariant"], "parity": parity, "quantization": table},
                       fp32["text_files"])
    size = round((folder / MODEL).stat().st_size / 2**20, 3)
    status = "passed" if table["passed"] else "did NOT pass the gates"
    console.print(f"  int8: {table['chosen']} ({status}): agreement {agreement:.2%}, weighted F1 "
                  f"{parity['vs_fp32']['weighted_f1_change']:+.4f}, {fp32['result']['size_mb']:.2f} MB -> {size:.2f} MB")
    return {"bundle": str(folder), "precision": "int8", "parity": parity, "recipe": table["chosen"],
            "passed": table["passed"], "size_mb": size}


def export(models: list[str] | None = None, quantize: bool = False, quant_mode: str = "auto",
           out: Path = paths.BUNDLES, runs: Path = paths.RUNS, data: Path | None = None) -> list[dict]:
    """Export every trained run (or those named by run name or model key).

    A run that fails does not stop the others: they are all written, then one error names the failures."""
    results, failures = [], []
    for run in find_runs(runs, models):
        try:
            results += export_run(run, out, quantize, quant_mode, data)
        except Exception as exc:  # noqa: BLE001 - a corrupt run or a converter error: report it, go on
            reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            console.print(f"[red]{run.name}: export failed[/]: {reason}")
            failures.append(f"{run.name}: {reason}")
    if failures:
        done = ", ".join(Path(r["bundle"]).name for r in results) or "none"
        raise UserError(f"{len(failures)} export(s) failed ({' | '.join(failures)}); written: {done}")
    return results
