"""Training entry point: dispatches to the registered model's trainer (heavy imports happen there)."""

from __future__ import annotations

from ..errors import UserError
from ..models.registry import get_model


def train(key: str, **options) -> dict:
    """Train registry model `key`; options are the trainer's keyword arguments (data, out, preset, ...)."""
    for name in ("epochs", "batch_size", "limit"):
        value = options.get(name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    return get_model(key).load("trainer")(key, **options)
