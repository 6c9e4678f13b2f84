"""The engine interface: the one thing the runtime's path asks of whatever runs a graph.

`open_engine(graph, backend)` looks the backend up in tables/engines.py and opens its adapter. No other module opens
an inference session (bench/flops.py's raw GEMM meter excepted): predict, serve, the catalogue, export validation,
int8 candidate timing and the bench all come through here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import UserError
from ..tables import load_object
from ..tables.engines import DEFAULT, get_engine

Feeds = dict[str, np.ndarray]


class EngineError(UserError):
    """A graph the engine cannot open (corrupt, or not a graph it reads)."""


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: list  # ints for fixed axes, strings (or None) for dynamic ones
    dtype: str = "float32"  # numpy's name for the element type


@dataclass(frozen=True)
class EngineOptions:
    """How an engine runs: the same record for every backend (each reads what applies to it)."""

    providers: list[str] | str | None = None  # onnxruntime: cpu / cuda or full provider names
    threads: int | None = None  # intra-op threads; None = the engine's default
    spin: bool = True  # onnxruntime: busy-wait between calls (off on a shared CPU)
    profile: str | None = None  # onnxruntime: write a profile with this file prefix (benchmarks/node_profile.py)
    precision: str | None = None  # the engine's compute precision (openvino: f32 | bf16); None = the graph's own
    job: str = "latency"  # latency | throughput: the engine's performance hint (openvino)
    extra: dict = field(default_factory=dict)  # backend-specific settings, passed through


class Engine(Protocol):
    name: str
    providers: list[str]  # what actually runs it, best first (for the answer's "provider")
    note: str | None  # a fallback the user should hear about (printed once on stderr by the caller)

    def inputs(self) -> list[Tensor]: ...

    def outputs(self) -> list[Tensor]: ...

    def run(self, feeds: Feeds) -> np.ndarray:
        """The graph's first output ("probs") for `feeds`, all rows in one call."""
        ...

    def close(self) -> dict:
        """Release what the engine holds; returns what it wrote (a profile's path), if anything."""
        ...


def open_engine(graph: str | Path | bytes, backend: str = DEFAULT, options: EngineOptions | None = None) -> Engine:
    """The backend's adapter on `graph` (a file, or a serialised model). A missing backend or a graph it cannot
    read is one EngineError line."""
    entry = get_engine(backend)
    adapter = load_object(entry.adapter)
    return adapter(graph, options or EngineOptions())
