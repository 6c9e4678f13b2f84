"""What a model's exporter module provides (the registry entry's `exporter`); export and bench call nothing else.

Native inference lives here, once: export validates against it and the bench times it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from ..models.config import ModelConfig
from ..run import Run

Feeds = dict[str, np.ndarray]
Predict = Callable[[Feeds], np.ndarray]


class Exporter(Protocol):
    def input_specs(self, config: ModelConfig) -> list[dict]:
        """[{"name", "shape", "dtype"}] of the ONNX inputs, in order (the names are the registry's INPUTS)."""

    def to_onnx(self, run: Run, dest: Path) -> None:
        """Write the run's model as one ONNX graph (inputs above -> `probs`, dynamic batch axis) to `dest`."""

    def native(self, run: Run, threads: int | None = None, device: str = "cpu") -> Predict:
        """The model in its training framework as feeds -> probabilities (compiled graphs, never eager Keras)."""

    def text_section(self, run: Run, bundle: Path) -> tuple[dict, list[str]]:
        """Copy the text preprocessing files into `bundle`; return the manifest's text section and file names."""
