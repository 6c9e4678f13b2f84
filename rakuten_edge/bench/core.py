"""`rakuten-edge bench`: every model in every format, one row each; a failing format never stops the table."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import paths
from ..choices import Precision, Provider, parse
from ..errors import UserError
from ..machine import describe
from ..models.registry import REGISTRY, entry_of
from ..progress import console
from ..run import Run, find_runs
from ..runtime.manifest import read_manifest
from ..tables import load_object
from ..tables.formats import FORMATS, Format, bundle_formats, bundle_name
from .flops import physical_limit
from .jobs import convert_all, run_worker, write_feeds
from .load import busy_processes
from .subject import BenchOptions, Job, Subject

COLUMNS = [
    "model",
    "key",
    "format",
    "status",
    "reason",
    "size_mb",
    "accuracy",
    "weighted_f1",
    "p50_ms",
    "p95_ms",
    "throughput_per_s",
    "cold_start_s",
    "peak_memory_mb",
    "speedup_vs_native",
]


def plugins() -> tuple[str, ...]:
    """Every module that registered a model or a format: workers import them to see the same tables."""
    origins = [e.origin for e in REGISTRY.values()] + [f.origin for f in FORMATS.values()]
    return tuple(dict.fromkeys(o for o in origins if o and o != "__main__"))


def subject_of(run: Run, bundles_root: Path, workdir: Path, provider: Provider, spin: bool = True) -> Subject:
    bundles = {}
    for fmt in bundle_formats():
        folder = Path(bundles_root) / bundle_name(run.name, fmt)
        if (folder / "manifest.json").is_file():
            bundles[fmt.precision.value] = str(folder)
    return Subject(run.name, run.key, str(run.folder), bundles, str(workdir), provider.value, spin, plugins())


def check_options(options: BenchOptions) -> BenchOptions:
    sizes = tuple(options.batch_sizes)
    if len(sizes) != 2 or sizes[0] != 1 or sizes[1] < 2:
        raise UserError("batch_sizes must be (1, N) with N >= 2 (latency at batch 1, throughput at N)")
    if options.threads < 1 or options.repeats < 1:
        raise UserError("threads and repeats must be at least 1")
    if not 0 <= options.load <= 4 * (os.cpu_count() or 1):
        raise UserError(f"load must be between 0 and {4 * (os.cpu_count() or 1)} busy processes, got {options.load}")
    unknown = [f for f in options.formats or () if f not in FORMATS]
    if unknown:
        raise UserError(f"unknown format(s) {', '.join(unknown)} (choose {', '.join(FORMATS)})")
    return replace(options, batch_sizes=sizes, provider=parse(Provider, options.provider, "provider"))


def bench(
    targets: list[str] | None = None,
    options: BenchOptions = BenchOptions(),
    out: Path = Path("bench-results"),
    untrained: bool = False,
    runs: Path = paths.RUNS,
    bundles: Path = paths.BUNDLES,
    data: Path | None = paths.PREPARED,
) -> dict:
    options = check_options(options)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # Feeds, LiteRT flatbuffers and (with untrained) ~2 GB of seed-size runs and bundles live here.
    workdir = Path(tempfile.mkdtemp(prefix="rakuten-bench-"))
    try:
        if untrained:
            from .untrained import build

            keys = [t for t in targets or REGISTRY if t in REGISTRY] or list(REGISTRY)
            run_list, bundles_root = build(workdir / "runs", keys, workdir / "bundles"), workdir / "bundles"
        else:
            run_list, bundles_root = _targets(targets, runs, bundles), Path(bundles)
        rows = []
        for run in run_list:
            rows += _bench_run(run, bundles_root, workdir, options, None if untrained else data)
        result = {
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": describe(),
            "threads": options.threads,
            "batch_sizes": list(options.batch_sizes),
            "repeats": options.repeats,
            "provider": options.provider.value,
            "load": options.load,
            "spin": options.spin,
            "untrained": untrained,
            "rows": [{c: r.get(c) for c in COLUMNS} for r in rows],
            "physical_limit": physical_limit(run_list, bundles_root, rows, options),
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    from .report import write_outputs

    write_outputs(result, out)
    return result


def _bench_run(run: Run, bundles_root: Path, workdir: Path, options: BenchOptions, data: Path | None) -> list[dict]:
    subject = subject_of(run, bundles_root, workdir, options.provider, options.spin)
    feeds_path = workdir / f"feeds-{run.name}.npz"
    feeds_error = None
    if Precision.fp32.value in subject.bundles:
        write_feeds(subject, data, options.eval_rows, options.batch_sizes[1], feeds_path)
    else:
        feeds_error = f"no fp32 bundle in {bundles_root}: run `rakuten-edge export --quantize` first"
    rows, native_p50 = [], None
    chosen = [f for f in FORMATS.values() if (not options.formats or f.name in options.formats)]
    measured = [f for f in chosen if f.applies(entry_of(run))]
    conversions = {} if feeds_error else convert_all(subject, measured, options, workdir)
    for fmt in measured:
        row = {"model": run.name, "key": run.key, "format": fmt.name}
        row.update(_bench_format(subject, fmt, options, feeds_path, feeds_error, workdir, conversions))
        if row["status"] != "❌":
            if fmt.reference:
                native_p50 = row["p50_ms"]
            row["speedup_vs_native"] = native_p50 / row["p50_ms"] if native_p50 and row.get("p50_ms") else None
        rows.append(row)
    if not feeds_error:
        _gate_rows(rows, measured, feeds_path)
    return rows


def _gate_rows(rows: list[dict], formats: list[Format], feeds_path: Path) -> None:
    """Every row, peers included, against the reference row's answers on the same validation rows, with the gates
    of its precision (gates.py). A row past them is ❌ with the figures, never ✅ (a row with random weights is not
    gated: it has no labels)."""
    from ..gates import gate
    from .worker import probs_path

    reference = next((f for f in formats if f.reference), None)
    ref_path = Path(probs_path(str(feeds_path), reference.name)) if reference else None
    if ref_path is None or not ref_path.is_file():
        return
    with np.load(feeds_path) as z:
        labels = z["labels"] if "labels" in z.files else None
    if labels is None:
        return
    ref = np.load(ref_path)
    for row, fmt in zip(rows, formats):
        path = Path(probs_path(str(feeds_path), fmt.name))
        if fmt.reference or row["status"] == "❌" or not path.is_file():
            continue
        check = gate(np.load(path), ref, labels, fmt.lossy)
        if not check.passed:
            row["status"], row["reason"] = "❌", f"gates vs {reference.name}: {check.why}"


def _bench_format(
    subject: Subject,
    fmt: Format,
    options: BenchOptions,
    feeds_path: Path,
    feeds_error: str | None,
    workdir: Path,
    conversions: dict[str, str],
) -> dict:
    manifest = None
    if fmt.from_bundle is not None:
        if fmt.from_bundle.value not in subject.bundles:
            return {
                "status": "❌",
                "reason": f"no {fmt.from_bundle.value} bundle (run `rakuten-edge export --quantize`)",
            }
        manifest = read_manifest(subject.bundles[fmt.from_bundle.value], verify=False)
    if feeds_error:
        return {"status": "❌", "reason": feeds_error}
    console.print(f"bench {subject.name} / {fmt.name} …")
    job = Job(
        subject,
        fmt.name,
        options.threads,
        options.batch_sizes[1],
        options.repeats,
        str(feeds_path),
        options.throughput_seconds,
        (manifest or {}).get("batch_invariant", True),
    )
    if fmt.name in conversions:
        return {"status": "❌", "reason": f"conversion failed: {conversions[fmt.name]}"}
    with busy_processes(options.load):
        result = run_worker(job, workdir, options.timeout)
    if not result.get("ok"):
        return {"status": "❌", "reason": result.get("error", "unknown error")}
    status, reason = "✅", ""
    quant = (manifest or {}).get("quantization")
    if quant and not quant.get("passed") and quant.get("select") != "fastest":
        best = max((c for c in quant["candidates"] if "agreement" in c), key=lambda c: c["agreement"])
        status, reason = "❎", f"int8 gates not met (best agreement {best['agreement']:.2%})"
    elif quant:
        reason = f"recipe {quant['chosen']}" + (
            " (latency-only, untrained)" if quant.get("select") == "fastest" else ""
        )
    size = load_object(fmt.size)(subject, fmt)
    return {"status": status, "reason": reason, "size_mb": size, **{k: result[k] for k in COLUMNS if k in result}}


def _targets(targets: list[str] | None, runs: Path, bundles: Path) -> list[Run]:
    """Runs named by run name, model key or bundle folder; default: every trained run."""
    if not targets:
        return find_runs(runs)
    names = [read_manifest(t, verify=False)["run"] if (Path(t) / "manifest.json").is_file() else t for t in targets]
    return find_runs(runs, names)
