"""Training entry point: the registered model's trainer inside the shared skeleton (heavy imports happen there)."""

from __future__ import annotations

from ..models.registry import get_model
from .skeleton import TrainOptions, run_training

__all__ = ["TrainOptions", "train"]


def train(key: str, **options) -> dict:
    """Train registry model `key`; `options` are TrainOptions' fields (data, out, preset, epochs, ...)."""
    unknown = set(options) - set(TrainOptions.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown training option(s): {', '.join(sorted(unknown))}")
    return run_training(get_model(key), TrainOptions(**{k: v for k, v in options.items() if v is not None}))
