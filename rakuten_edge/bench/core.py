"""`rakuten-edge bench`: every model in every format, one row each; a failing format never stops the table."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import paths
from ..errors import UserError
from ..export import find_runs
from ..export.formats import FORMATS, bundle_name
from ..models.registry import REGISTRY
from ..progress import console
from ..runtime.manifest import read_manifest
from .machine import describe
from .runners import PREPARE, artifact_size_mb

COLUMNS = ["model", "format", "status", "reason", "size_mb", "accuracy", "weighted_f1", "p50_ms", "p95_ms",
           "throughput_per_s", "cold_start_s", "peak_memory_mb", "speedup_vs_native"]


def applies(fmt: str, key: str) -> bool:
    entry = REGISTRY[key]
    if entry.framework not in FORMATS[fmt].frameworks:
        return False
    # LiteRT is the peer of the token-input Keras CNNs only (the CamemBERT graphs mix frameworks).
    return not fmt.startswith("litert") or entry.inputs == ("image", "tokens")


def _subject(run: Path, bundles_root: Path, workdir: Path) -> dict:
    config = json.loads((run / "config.json").read_text())
    bundles = {}
    for fmt in ("onnx-fp32", "onnx-int8"):
        folder = Path(bundles_root) / bundle_name(run.name, FORMATS[fmt])
        if (folder / "manifest.json").is_file():
            bundles[FORMATS[fmt].precision] = str(folder)
    return {"model": config["key"], "framework": REGISTRY[config["key"]].framework, "run": str(run),
            "config": config, "bundles": bundles, "workdir": str(workdir), "name": run.name}


def _feeds(subject: dict, data: Path | None, eval_rows: int | None, batch: int, path: Path) -> None:
    """Validation feeds through the fp32 bundle's own preprocessing (labels when the data is there)."""
    from ..data.prepared import load_split
    from ..runtime import load

    clf = load(subject["bundles"]["fp32"])
    arrays = {}
    if data is not None and not json.loads((Path(subject["run"]) / "metrics.json").read_text()).get("untrained"):
        val = load_split(data, "val").head(eval_rows)
        feeds = clf.inputs(val.pixels, val.texts)
        arrays["labels"] = val.labels
    else:
        from .untrained import _sample

        sample = _sample(max(batch, 64), clf.image_size, 4)
        feeds = clf.inputs(sample.pixels, sample.texts)
    arrays.update({f"feed_{k}": v for k, v in feeds.items()})
    np.savez(path, **arrays)


def _run_worker(spec: dict, workdir: Path, timeout: float) -> dict:
    spec_path = workdir / f"spec-{spec['subject']['name']}-{spec['format']}.json"
    spec_path.write_text(json.dumps(spec))
    env = {**os.environ, "RAKUTEN_BENCH_T0": repr(time.time()), "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        proc = subprocess.run([sys.executable, "-m", "rakuten_edge.bench.worker", str(spec_path)], capture_output=True,
                              text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "error": f"worker exited {proc.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])


def bench(targets: list[str] | None = None, batch_sizes: tuple[int, int] = (1, 32), threads: int = 2,
          provider: str = "cpu", repeats: int = 100, out: Path = Path("bench-results"), untrained: bool = False,
          formats: list[str] | None = None, runs: Path = paths.RUNS, bundles: Path = paths.BUNDLES,
          data: Path | None = paths.PREPARED, eval_rows: int | None = None, throughput_seconds: float = 2.0,
          timeout: float = 900.0) -> dict:
    if batch_sizes[0] != 1 or len(batch_sizes) != 2 or batch_sizes[1] < 2:
        raise UserError("--batch-sizes must be 1,N with N >= 2 (latency at batch 1, throughput at N)")
    unknown = [f for f in formats or [] if f not in FORMATS]
    if unknown:
        raise UserError(f"unknown format(s) {', '.join(unknown)} (choose {', '.join(FORMATS)})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # Feeds, LiteRT flatbuffers and (with --untrained) ~2 GB of seed-size runs and bundles live here.
    workdir = Path(tempfile.mkdtemp(prefix="rakuten-bench-"))
    try:
        return _bench(targets, batch_sizes, threads, provider, repeats, out, untrained, formats, runs, bundles, data,
                      eval_rows, throughput_seconds, timeout, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _bench(targets, batch_sizes, threads, provider, repeats, out, untrained, formats, runs, bundles, data, eval_rows,
           throughput_seconds, timeout, workdir: Path) -> dict:
    if untrained:
        from .untrained import build

        keys = [t for t in targets or REGISTRY if t in REGISTRY] or list(REGISTRY)
        run_dirs = build(workdir / "runs", keys, workdir / "bundles")
        bundles_root = workdir / "bundles"
    else:
        run_dirs, bundles_root = _targets(targets, runs, bundles), bundles
    machine = describe()
    rows = []
    for run in run_dirs:
        subject = {**_subject(run, bundles_root, workdir), "provider": provider}
        feeds_path = workdir / f"feeds-{run.name}.npz"
        feeds_error = None
        if "fp32" in subject["bundles"]:
            _feeds(subject, None if untrained else data, eval_rows, batch_sizes[1], feeds_path)
        else:
            feeds_error = f"no fp32 bundle in {bundles_root}: run `rakuten-edge export --quantize` first"
        native_p50 = None
        for fmt in [f for f in FORMATS if (not formats or f in formats) and applies(f, subject["model"])]:
            row = {"model": run.name, "format": fmt}
            precision = FORMATS[fmt].precision
            manifest = None
            if FORMATS[fmt].bundle:
                if precision not in subject["bundles"]:
                    rows.append({**row, "status": "❌", "reason": f"no {precision} bundle (run `rakuten-edge export --quantize`)"})
                    continue
                manifest = read_manifest(subject["bundles"][precision], verify=False)
            if feeds_error:
                rows.append({**row, "status": "❌", "reason": feeds_error})
                continue
            console.print(f"bench {run.name} / {fmt} …")
            spec = {"subject": subject, "format": fmt, "threads": threads, "batch": batch_sizes[1], "repeats": repeats,
                    "feeds": str(feeds_path), "throughput_seconds": throughput_seconds, "provider": provider,
                    "batch_invariant": (manifest or {}).get("batch_invariant", True)}
            if fmt in PREPARE:  # offline conversion, in its own process, not counted in the cold start
                prepared = _run_worker({**spec, "prepare": [1, batch_sizes[1]]}, workdir, timeout)
                if not prepared.get("ok"):
                    rows.append({**row, "status": "❌", "reason": f"conversion failed: {prepared.get('error')}"})
                    continue
                spec["eval_batch"] = 1  # static-shape flatbuffers: evaluate row by row
            result = _run_worker(spec, workdir, timeout)
            if not result.get("ok"):
                rows.append({**row, "status": "❌", "reason": result.get("error", "unknown error")})
                continue
            size = artifact_size_mb(subject, fmt)
            status, reason = "✅", ""
            quant = (manifest or {}).get("quantization")
            if quant and not quant.get("passed") and quant.get("select") != "fastest":
                best = max((c for c in quant["candidates"] if "agreement" in c), key=lambda c: c["agreement"])
                status, reason = "❎", f"int8 gates not met (best agreement {best['agreement']:.2%})"
            elif quant:
                reason = f"recipe {quant['chosen']}" + (" (latency-only, untrained)" if quant.get("select") == "fastest" else "")
            row.update(status=status, reason=reason, size_mb=size, **{k: result.get(k) for k in COLUMNS if k in result})
            if fmt == "native":
                native_p50 = row["p50_ms"]
            row["speedup_vs_native"] = native_p50 / row["p50_ms"] if native_p50 and row.get("p50_ms") else None
            rows.append(row)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine, "threads": threads,
              "batch_sizes": list(batch_sizes), "repeats": repeats, "provider": provider, "untrained": untrained,
              "rows": [{c: r.get(c) for c in COLUMNS} for r in rows],
              "physical_limit": _physical_limit(run_dirs, bundles_root, rows, threads)}
    from .report import write_outputs

    write_outputs(result, out)
    return result


def _physical_limit(run_dirs: list[Path], bundles_root: Path, rows: list[dict], threads: int) -> dict:
    """FLOPs per item from each fp32 graph, this machine's GEMM peak, and each row's share of it."""
    from .flops import count_flops, efficiency, gemm_peak

    flops = {}
    for run in run_dirs:
        fp32 = Path(bundles_root) / bundle_name(run.name, FORMATS["onnx-fp32"])
        if (fp32 / "manifest.json").is_file():
            text = read_manifest(fp32, verify=False)["preprocessing"]["text"]
            flops[run.name] = count_flops(fp32 / "model.onnx", int(text.get("sequence_length") or text["max_length"]))["total"]
    if not flops:
        return {}
    peaks = gemm_peak(threads)
    return {"gflop_per_item": {k: v / 1e9 for k, v in flops.items()}, "peak_gflops": peaks,
            "rows": efficiency(rows, flops, peaks)}


def _targets(targets: list[str] | None, runs: Path, bundles: Path) -> list[Path]:
    """Runs named by run name, model key or bundle folder; default: every trained run."""
    if not targets:
        return find_runs(runs)
    names = []
    for t in targets:
        path = Path(t)
        if (path / "manifest.json").is_file():
            names.append(read_manifest(path, verify=False)["run"])
        else:
            names.append(t)
    return find_runs(runs, names)


