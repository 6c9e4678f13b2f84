"""`rakuten-edge tune BUNDLE`: measure every engine × precision × thread setting available on this machine, gate each
one against the bundle's own onnxruntime answers, and record the fastest that passed for this CPU and job.

Each candidate runs in a fresh process (worker.py), as it will run in predict, serve or the catalogue: the runtime's
one path, row by row where the graph is not batch-invariant. The reference is the bundle's graph on onnxruntime, which
passed the export's gates against the native model.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .. import paths
from ..errors import UserError
from ..machine import describe
from ..pools import json_worker
from ..progress import console
from ..reports import classification_report
from ..runtime.classifier import Classifier
from ..runtime.tuning import JOBS, EngineSetting, cpu_signature, write_tuning
from ..tables.engines import DEFAULT, ENGINES

# The gates of every lossless candidate (today's fp32 export gates) and of every lossy one (the int8 gates).
MAX_ABS_DIFF, MIN_AGREEMENT, MAX_F1_DROP = 1e-4, 0.99, 0.005
THROUGHPUT_BATCH = 32


def settings(threads: list[int]) -> list[EngineSetting]:
    """Every engine installed here × the precisions its table entry offers × the thread counts."""
    found = []
    for entry in ENGINES.values():
        if not entry.available():
            continue
        for precision in entry.precisions:
            found += [EngineSetting(entry.name, precision, t) for t in threads]
    return found


def _gate(setting: EngineSetting, probs: np.ndarray, ref: np.ndarray, labels: np.ndarray) -> tuple[bool, str, dict]:
    agreement = float((probs.argmax(1) == ref.argmax(1)).mean())
    diff = float(np.abs(probs.astype(np.float64) - ref).max()) if len(ref) else 0.0
    f1 = classification_report(labels, probs.argmax(1))["summary"]["weighted_f1"]
    f1_ref = classification_report(labels, ref.argmax(1))["summary"]["weighted_f1"]
    figures = {"agreement": round(agreement, 4), "max_abs_diff": diff, "f1_drop": round(f1_ref - f1, 4)}
    if ENGINES[setting.backend].lossy(setting.precision):
        ok = agreement >= MIN_AGREEMENT and f1_ref - f1 <= MAX_F1_DROP
        why = "" if ok else f"agreement {agreement:.2%} (≥ {MIN_AGREEMENT:.0%}), wF1 drop {f1_ref - f1:+.4f} (≤ 0.005)"
    else:
        ok = diff <= MAX_ABS_DIFF and agreement == 1.0
        why = "" if ok else f"max |Δp| {diff:.1e} (≤ 1e-4), top-1 agreement {agreement:.2%} (100%)"
    return ok, why, figures


def _worker(spec: dict, work: Path, timeout: float) -> dict:
    spec_path = work / "spec.json"
    spec_path.write_text(json.dumps(spec))
    result = json_worker("rakuten_edge.tune.worker", str(spec_path), dict(os.environ), timeout)
    return {"error": result["error"]} if result.get("ok") is False else result


def tune(
    bundle: str | Path,
    jobs: tuple[str, ...] = JOBS,
    data: Path = paths.PREPARED,
    rows: int = 256,
    runs: int = 50,
    threads: list[int] | None = None,
    timeout: float = 300.0,
) -> dict:
    """Measure, gate and record. Returns {job: {"winner", "table"}} and the tuning file's path."""
    from ..data.prepared import load_split

    if rows < 1 or runs < 1:
        raise UserError(f"rows and runs must be at least 1, got {rows} and {runs}")
    bad = [j for j in jobs if j not in JOBS]
    if bad:
        raise UserError(f"job must be one of {', '.join(JOBS)}, got {', '.join(bad)}")
    bundle = Path(bundle)
    ref_clf = Classifier(bundle, backend=DEFAULT)
    val = load_split(data, "val").head(rows)
    feeds = ref_clf.encode(val.pixels, val.texts)
    reference = ref_clf.run(feeds).astype(np.float64)
    cores = os.cpu_count() or 1
    machine = describe()
    out: dict = {"cpu": cpu_signature(machine), "bundle": str(bundle)}
    with tempfile.TemporaryDirectory(prefix="rakuten-tune-") as tmp:
        work = Path(tmp)
        np.savez(work / "feeds.npz", **feeds)
        for job in jobs:
            table = []
            for setting in settings(threads or sorted({1, cores})):
                spec = {
                    "bundle": str(bundle),
                    "setting": asdict(setting),
                    "job": job,
                    "runs": runs,
                    "batch": THROUGHPUT_BATCH,
                    "feeds": str(work / "feeds.npz"),
                    "probs": str(work / "probs.npy"),
                }
                console.print(f"  {job}: {setting.label}", highlight=False)
                result = _worker(spec, work, timeout)
                row = {"candidate": asdict(setting), "label": setting.label, **result}
                if "error" in result:
                    row.update(passed=False, why=result["error"])
                else:
                    ok, why, figures = _gate(setting, np.load(work / "probs.npy"), reference, val.labels)
                    row.update(figures, passed=ok, why=why)
                table.append(row)
            passing = [r for r in table if r["passed"]]
            key = "p50_ms" if job == "latency" else "items_per_s"
            best = (min if job == "latency" else max)(passing, key=lambda r: r[key]) if passing else None
            winner = {"candidate": best["candidate"], key: best[key]} if best else None
            path = write_tuning(bundle, ref_clf.manifest, job, winner, table, machine)
            out[job] = {"winner": best["label"] if best else None, "table": table}
        out["tuning_file"] = str(path)
    return out
