"""The small typed records the bench passes around and to its worker processes (as JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..choices import Provider


@dataclass(frozen=True)
class BenchOptions:
    batch_sizes: tuple[int, int] = (1, 32)  # latency at the first, throughput at the second
    threads: int = 2
    provider: Provider = Provider.cpu
    repeats: int = 100
    formats: tuple[str, ...] | None = None  # None: every format of the table
    eval_rows: int | None = None
    throughput_seconds: float = 2.0
    timeout: float = 900.0
    load: int = 0  # busy processes running beside each measured row (a shared CPU: decoding, other jobs)
    spin: bool = True  # onnxruntime threads busy-wait between calls (other runtimes have no such switch)


@dataclass(frozen=True)
class Subject:
    """One run under test: its model, its bundles by precision, and where conversions may write."""

    name: str
    key: str
    run: str
    bundles: dict[str, str]
    workdir: str
    provider: str = "cpu"
    spin: bool = True  # BenchOptions.spin, for the ONNX runners
    plugins: tuple[str, ...] = ()  # modules a worker imports to see the same registry and formats


@dataclass(frozen=True)
class Job:
    """What one worker process does: prepare (convert) or measure one (subject, format)."""

    subject: Subject
    format: str
    threads: int
    batch: int
    repeats: int
    feeds: str
    throughput_seconds: float
    batch_invariant: bool = True
    eval_batch: int | None = None
    prepare: list[int] = field(default_factory=list)
    # A conversion job converts every format named here in its one process: LiteRT's fp32 and
    # int8 share one TensorFlow import (7.1 s on the AMD EPYC without AVX-512).
    convert: list[str] = field(default_factory=list)

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self)))
        return path

    @classmethod
    def read(cls, path: str | Path) -> Job:
        raw = json.loads(Path(path).read_text())
        subject = raw.pop("subject")
        return cls(subject=Subject(**{**subject, "plugins": tuple(subject["plugins"])}), **raw)
