"""Runners and sizes of the native and ONNX formats, addressed from tables/formats.py by "module:function".

A runner is (subject, format, threads) -> predict(feeds) -> probs. Heavy imports stay inside each: a worker
process imports only what it measures.
"""

from __future__ import annotations

from pathlib import Path

from ..export.contract import Predict
from ..models.registry import entry_of
from ..run import Run
from ..tables.formats import Format, bundle_format
from .subject import Subject


def native(subject: Subject, fmt: Format, threads: int) -> Predict:
    """The exporter's own native path (the one export validates against), with the bench's threads."""
    run = Run(subject.run)
    return entry_of(run).exporter_module().native(run, threads=threads, device=subject.provider)


def onnx(subject: Subject, fmt: Format, threads: int) -> Predict:
    """The runtime's Classifier on the run's bundle of the format's precision, on the format's engine (onnxruntime
    unless it names another), engine calls only."""
    from ..runtime import load

    providers = [fmt.provider or subject.provider]
    engine = {"backend": fmt.backend, "precision": fmt.engine_precision} if fmt.backend else {}
    bundle = subject.bundles[fmt.from_bundle.value]
    clf = load(bundle, providers=providers, threads=threads, spin=subject.spin, **engine)
    names = clf.input_names
    return lambda feeds: clf.engine.run({n: feeds[n] for n in names})


def native_size(subject: Subject, fmt: Format) -> float | None:
    files = Run(subject.run).model_files()
    return sum(f.stat().st_size for f in files) / 2**20 if files else None


def bundle_size(subject: Subject, fmt: Format) -> float | None:
    folder = subject.bundles.get(fmt.from_bundle.value)
    if folder is None:
        return None
    return (Path(folder) / bundle_format(fmt.from_bundle).artifact).stat().st_size / 2**20
