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
from ..gates import gate
from ..machine import describe
from ..pools import json_worker
from ..progress import console
from ..runtime.classifier import Classifier
from ..runtime.tuning import JOBS, EngineSetting, cpu_signature, write_tuning
from ..tables.engines import DEFAULT, ENGINES

THROUGHPUT_BATCH = 32


def settings(threads: list[int], manifest: dict | None = None) -> list[EngineSetting]:
    """Every engine installed here (and, for one that runs artefacts of its own, carried by the bundle) × the
    precisions its table entry offers × the thread counts."""
    found = []
    for entry in ENGINES.values():
        if not entry.available():
            continue
        precisions = entry.precisions
        if entry.bundle_section:  # only what the bundle carries (a precision that failed export's gates is absent)
            carried = ((manifest or {}).get(entry.bundle_section) or {}).get("precisions") or {}
            precisions = tuple(p for p in precisions if p in carried)
        for precision in precisions:
            found += [EngineSetting(entry.name, precision, t) for t in threads]
    return found


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
            for setting in settings(threads or sorted({1, cores}), ref_clf.manifest):
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
                    lossy = ENGINES[setting.backend].lossy(setting.precision)
                    check = gate(np.load(work / "probs.npy"), reference, val.labels, lossy)
                    row.update(check.figures(), passed=check.passed, why=check.why)
                table.append(row)
            passing = [r for r in table if r["passed"]]
            key = "p50_ms" if job == "latency" else "items_per_s"
            best = (min if job == "latency" else max)(passing, key=lambda r: r[key]) if passing else None
            winner = {"candidate": best["candidate"], key: best[key]} if best else None
            path = write_tuning(bundle, ref_clf.manifest, job, winner, table, machine)
            out[job] = {"winner": best["label"] if best else None, "table": table}
        out["tuning_file"] = str(path)
    return out


def tune_results(results: list[dict], data: Path) -> list[dict]:
    """`export --tune`: tune every bundle just written, here, and say so in each result (the tuning holds for this
    machine's CPU only; run `rakuten-edge tune` again where the bundle runs)."""
    out = []
    for result in results:
        tuned = tune(result["bundle"], JOBS, data)
        winners = {job: tuned[job]["winner"] for job in JOBS}
        console.print(f"  tuned {Path(result['bundle']).name} on {tuned['cpu']}: {winners}", highlight=False)
        out.append({**result, "tuned": {"cpu": tuned["cpu"], **winners}})
    return out
