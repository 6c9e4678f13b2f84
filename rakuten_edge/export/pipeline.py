"""`rakuten-edge export`: runs -> validated fp32 bundles, and int8 bundles chosen by measurement."""

from __future__ import annotations

import contextlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import paths
from ..atomic import staged_dir
from ..choices import Precision, QuantMode, parse
from ..data.prepared import Split, load_split
from ..errors import UserError
from ..models.registry import config_of, entry_of
from ..progress import console, quiet_converters
from ..reports import classification_report
from ..run import Run, find_runs
from ..runtime.batching import Feeds, run_batched, step_for
from ..runtime.classifier import Classifier
from ..runtime.engine import open_engine
from ..tables.formats import Format, bundle_format, bundle_name
from ..tables.text_kinds import PROBS
from .bundle import copy_files, image_section, stamp_onnx, write_manifest
from .litert import litert_extra
from .quantize import Selection, choose
from .validate import validate

VALIDATION_ROWS, CALIBRATION_ROWS = 512, 128


@dataclass(frozen=True)
class ExportResult:
    """One written bundle, as the command prints it."""

    bundle: str
    precision: str
    parity: dict
    size_mb: float
    recipe: str | None = None
    passed: bool | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Fp32Export:
    """What the int8 half needs of the fp32 half."""

    result: ExportResult
    folder: Path
    manifest: dict
    text_files: list[str]
    feeds: Feeds
    probs: np.ndarray


def _summary(labels: np.ndarray, probs: np.ndarray) -> dict:
    s = classification_report(labels, probs.argmax(1))["summary"]
    return {"accuracy": s["accuracy"], "weighted_f1": s["weighted_f1"]}


def _size_mb(folder: Path, fmt: Format) -> float:
    return round((folder / fmt.artifact).stat().st_size / 2**20, 3)


def export_run(
    run: Run | Path,
    out: Path = paths.BUNDLES,
    quantize: bool = False,
    quant_mode: QuantMode | str = QuantMode.auto,
    data: Path | None = None,
    rows: int = VALIDATION_ROWS,
    sample: tuple[Split, Split] | None = None,
    select: Selection = Selection.gated,
    verbose: bool = False,
    litert: bool = False,
) -> list[dict]:
    """Export one run. `sample` (validation, calibration) replaces the prepared data (the untrained bench);
    select=fastest picks the int8 recipe by latency alone (random weights make accuracy gates meaningless);
    verbose lets the converters' own logging through."""
    run = run if isinstance(run, Run) else Run(run)
    quant_mode = parse(QuantMode, quant_mode, "quant_mode")
    entry = entry_of(run)
    exporter = entry.exporter_module()
    if sample:
        val, calib_split = sample
    else:
        data = Path(data or run.data_dir or paths.PREPARED)
        val = load_split(data, "val").head(rows)
        calib_split = load_split(data, "train").head(CALIBRATION_ROWS)
    config = config_of(run)
    metrics = run.metrics
    base = {
        "model_key": config.key,
        "title": entry.title,
        "run": run.name,
        "inputs": exporter.input_specs(config),
        "outputs": [{"name": PROBS, "shape": ["batch", config.num_classes], "dtype": "float32"}],
        "training": {k: metrics.get(k) for k in ("accuracy", "weighted_f1", "macro_f1", "best_epoch", "data")},
    }
    with tempfile.TemporaryDirectory(prefix="rakuten-export-") as work:
        work = Path(work)
        console.print(f"[bold]{run.name}[/]: converting to ONNX")
        # Converters (torch.onnx, optimum, tf2onnx) print progress on stdout: keep stdout for the result.
        with contextlib.redirect_stdout(sys.stderr), quiet_converters(verbose):
            exporter.to_onnx(run, work / "raw.onnx")
        fp32 = _export_fp32(run, exporter, work / "raw.onnx", Path(out), base, val, litert)
        results = [fp32.result]
        if quantize:
            with quiet_converters(verbose):
                results.append(_export_int8(run, work, Path(out), fp32, val, calib_split, quant_mode, select))
    return [r.to_dict() for r in results]


def _export_fp32(run: Run, exporter, onnx_path: Path, out: Path, base: dict, val: Split, litert=False) -> Fp32Export:
    """Write the fp32 bundle, then validate it through the runtime itself against the native model."""
    fmt = bundle_format(Precision.fp32)
    folder = out / bundle_name(run.name, fmt)
    with staged_dir(folder) as tmp:
        stamp_onnx(onnx_path, tmp / fmt.artifact, run.key, fmt.precision.value)
        text, text_files = exporter.text_section(run, tmp)
        manifest = {
            **base,
            "format": fmt.name,
            "precision": fmt.precision.value,
            "batch_invariant": True,
            "preprocessing": {"image": image_section(config_of(run).image.size), "text": text},
        }
        write_manifest(tmp, manifest, text_files)
        clf = Classifier(tmp)
        feeds = clf.encode(val.pixels, val.texts)
        onnx_probs = clf.run(feeds)
        native_probs = exporter.native(run)(feeds)
        check = validate(clf.engine, base["inputs"], feeds, onnx_probs, native_probs, val.productid)
        if not check.ok:
            raise UserError(f"{run.name}: fp32 export failed validation: " + " | ".join(check.failures))
        parity = {
            "vs_native": check.to_dict(),
            "onnx": _summary(val.labels, onnx_probs),
            "native": _summary(val.labels, native_probs),
        }
        extra, extra_files = litert_extra(run, tmp, feeds, onnx_probs, val.labels) if litert else ({}, [])
        write_manifest(tmp, {**manifest, "parity": parity, **extra}, text_files + extra_files)
        console.print(
            f"  fp32: max |Δp| {check.max_abs_diff:.2e}, top-1 agreement {check.agreement:.2%} "
            f"on {check.rows} validation rows"
        )
    result = ExportResult(str(folder), fmt.precision.value, parity, _size_mb(folder, fmt))
    return Fp32Export(result, folder, manifest, text_files, feeds, onnx_probs)


def onnx_probs(path: Path, feeds: Feeds, batch_invariant: bool) -> np.ndarray:
    """Probabilities of an ONNX file under the runtime's batching rule."""
    engine = open_engine(path)
    width = engine.outputs()[0].shape[-1]
    return run_batched(engine.run, feeds, step_for(batch_invariant), width)


def _export_int8(
    run: Run,
    work: Path,
    out: Path,
    fp32: Fp32Export,
    val: Split,
    calib_split: Split,
    quant_mode: QuantMode,
    select: Selection,
) -> ExportResult:
    """Measure every candidate recipe, write the chosen one as its own bundle with the candidate table."""
    calib = Classifier(fp32.folder).encode(calib_split.pixels, calib_split.texts)
    console.print(f"  int8: measuring {quant_mode.value} recipes")
    chosen, table = choose(
        work / "raw.onnx",
        work,
        calib,
        fp32.feeds,
        val.labels,
        fp32.probs,
        quant_mode,
        lambda path, invariant: onnx_probs(path, fp32.feeds, invariant),
        select=select,
    )
    fmt = bundle_format(Precision.int8)
    folder = out / bundle_name(run.name, fmt)
    with staged_dir(folder) as tmp:
        stamp_onnx(chosen, tmp / fmt.artifact, run.key, fmt.precision.value)
        copy_files(fp32.folder, tmp, fp32.text_files)
        int8_probs = onnx_probs(tmp / fmt.artifact, fp32.feeds, table["batch_invariant"])
        agreement = float((int8_probs.argmax(1) == fp32.probs.argmax(1)).mean())
        ours, ref = _summary(val.labels, int8_probs), _summary(val.labels, fp32.probs)
        parity = {
            "vs_fp32": {
                "rows": len(val),
                "top1_agreement": agreement,
                "max_abs_diff": float(np.abs(int8_probs - fp32.probs).max()),
                "accuracy_change": ours["accuracy"] - ref["accuracy"],
                "weighted_f1_change": ours["weighted_f1"] - ref["weighted_f1"],
            },
            "onnx": ours,
            "fp32": ref,
        }
        write_manifest(
            tmp,
            {
                **fp32.manifest,
                "format": fmt.name,
                "precision": fmt.precision.value,
                "batch_invariant": table["batch_invariant"],
                "parity": parity,
                "quantization": table,
            },
            fp32.text_files,
        )
    size = _size_mb(folder, fmt)
    status = "passed" if table["passed"] else "did NOT pass the gates"
    console.print(
        f"  int8: {table['chosen']} ({status}): agreement {agreement:.2%}, weighted F1 "
        f"{parity['vs_fp32']['weighted_f1_change']:+.4f}, {fp32.result.size_mb:.2f} MB -> {size:.2f} MB"
    )
    return ExportResult(str(folder), fmt.precision.value, parity, size, table["chosen"], table["passed"])


def export(
    models: list[str] | None = None,
    quantize: bool = False,
    quant_mode: QuantMode | str = QuantMode.auto,
    out: Path = paths.BUNDLES,
    runs: Path = paths.RUNS,
    data: Path | None = None,
    verbose: bool = False,
    litert: bool = False,
) -> list[dict]:
    """Export every trained run (or those named by run name or model key); `litert` adds gated LiteRT flatbuffers.

    A run that fails does not stop the others: they are all written, then one error names the failures."""
    quant_mode = parse(QuantMode, quant_mode, "quant_mode")
    results, failures = [], []
    for run in find_runs(runs, models):
        try:
            results += export_run(run, out, quantize, quant_mode, data, verbose=verbose, litert=litert)
        except Exception as exc:  # noqa: BLE001 - a corrupt run or a converter error: report it, go on
            reason = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            console.print(f"[red]{run.name}: export failed[/]: {reason}")
            failures.append(f"{run.name}: {reason}")
    if failures:
        done = ", ".join(Path(r["bundle"]).name for r in results) or "none"
        raise UserError(f"{len(failures)} export(s) failed ({' | '.join(failures)}); written: {done}")
    return results
