"""A bundle's tuning file: the measured best engine per CPU and job, beside the manifest and outside its hashes.

`rakuten-edge tune BUNDLE` writes it (tune.py); `load(bundle, job=...)` reads it. The bundle's identity does not change
when it is tuned, and one file holds the tunings of several CPUs, each keyed by its signature (model name + ISA
flags). A file from another CPU, a stale one (the bundle's files changed since) or a corrupt one is a note on stderr
and the portable default, never a different answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..machine import cpu

TUNING = "tuning.json"
SCHEMA = 1
JOBS = ("latency", "throughput")  # predict and serve ask for latency, the catalogue for throughput


@dataclass(frozen=True)
class EngineSetting:
    """One way to run a bundle: the engine, its compute precision and its threads."""

    backend: str
    precision: str | None = None  # the engine's precision (openvino: f32 | bf16); None = the graph's own
    threads: int | None = None

    @property
    def label(self) -> str:
        return f"{self.backend}/{self.precision or 'graph'}/{self.threads or 'auto'}t"


def cpu_signature(machine: dict | None = None) -> str:
    """The CPU a tuning holds for: its model name and the ISA flags that change which kernels run."""
    name, flags = (machine["cpu"], machine["flags"]) if machine else cpu()
    return f"{name} [{' '.join(flags)}]"


def bundle_identity(manifest: dict) -> str:
    """A digest of the bundle's hashed files: a tuning is stale once any of them changes."""
    return hashlib.sha256(json.dumps(manifest.get("files", {}), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Choice:
    candidate: EngineSetting
    source: str  # "pinned" | "tuned" | "default"
    note: str | None = None  # why a tuning was not used (printed once on stderr)
    refused: str | None = None  # a pin this CPU's tuning table saw fail its gates, and why


def read_tunings(bundle: Path) -> dict:
    """The tuning file as a dict ({} when absent); ValueError with one line when it is corrupt."""
    path = Path(bundle) / TUNING
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{path}: unreadable ({type(exc).__name__})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("cpus"), dict):
        raise ValueError(f"{path}: not a tuning file of schema {SCHEMA}")
    return data


def choose(bundle: Path, manifest: dict, job: str, pinned: EngineSetting | None, default: EngineSetting) -> Choice:
    """The user's pin (with its refusal, where this CPU's tuning table saw it fail its gates); else the recorded
    winner for this CPU and job; else the portable default. The tuning file is read once."""
    try:
        data = read_tunings(bundle)
    except ValueError as exc:
        if pinned is not None:
            return Choice(pinned, "pinned")
        return Choice(default, "default", f"{exc}; running the default {default.label}")
    if pinned is not None:
        return Choice(pinned, "pinned", refused=_failed_gates(data, pinned, job))
    if not data:
        return Choice(default, "default")
    if data.get("bundle") != bundle_identity(manifest):
        return Choice(
            default,
            "default",
            f"{bundle / TUNING} was measured on other files of this bundle (stale); "
            f"running the default {default.label}: run `rakuten-edge tune` again",
        )
    entry = data["cpus"].get(cpu_signature())
    winner = (entry or {}).get("jobs", {}).get(job, {}).get("winner") if isinstance(entry, dict) else None
    if not winner:
        known = ", ".join(data["cpus"]) or "none"
        return Choice(
            default,
            "default",
            f"{bundle / TUNING} holds no {job} tuning for this CPU ({cpu_signature()}; "
            f"tuned: {known}); running the default {default.label}",
        )
    try:
        return Choice(EngineSetting(**winner["candidate"]), "tuned")
    except (TypeError, KeyError) as exc:
        return Choice(default, "default", f"{bundle / TUNING}: malformed winner ({exc}); running the default")


def _failed_gates(data: dict, candidate: EngineSetting, job: str) -> str | None:
    """Why this CPU's tuning table refused `candidate` for `job` (None when it passed, or was never measured)."""
    entry = data.get("cpus", {}).get(cpu_signature()) or {}
    for row in entry.get("jobs", {}).get(job, {}).get("table", []):
        if row.get("candidate") == asdict(candidate) and row.get("passed") is False:
            return str(row.get("why") or "gates failed")
    return None


def write_tuning(bundle: Path, manifest: dict, job: str, winner: dict | None, table: list[dict], machine: dict) -> Path:
    """Add (or replace) this CPU's `job` tuning; other CPUs' entries are kept. Written whole, then renamed."""
    path = Path(bundle) / TUNING
    try:
        data = read_tunings(bundle)
    except ValueError:
        data = {}
    if data.get("bundle") != bundle_identity(manifest):
        data = {}  # measured on other files: none of it holds any more
    data = {"schema": SCHEMA, "bundle": bundle_identity(manifest), "cpus": data.get("cpus", {})}
    entry = data["cpus"].setdefault(cpu_signature(machine), {"machine": machine, "jobs": {}})
    entry["jobs"][job] = {"winner": winner, "table": table}
    tmp = path.with_name(f".{TUNING}.tmp")
    tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


def as_dict(candidate: EngineSetting) -> dict:
    return asdict(candidate)
