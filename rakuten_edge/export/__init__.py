"""Export: runs -> validated ONNX bundles (pipeline.py). Kept light: the edge runtime imports formats.py."""

from __future__ import annotations

__all__ = ["export", "export_run", "find_runs"]


def __getattr__(name: str):
    if name in ("export", "export_run"):
        from . import pipeline

        return getattr(pipeline, name)
    if name == "find_runs":
        from ..run import find_runs

        return find_runs
    raise AttributeError(name)
