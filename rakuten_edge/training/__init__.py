"""Training entry point: dispatches to the registered model's trainer (heavy imports happen there)."""

from __future__ import annotations

from ..errors import UserError
from ..models.registry import get_model


def train(key: str, **options) -> dict:
    """Train registry model `key`; options are the trainer's keyword arguments (data, out, preset, ...)."""
    for name in ("epochs", "batch_size", "limit", "max_length"):
        value = options.get(name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    entry = get_model(key)
    extra = {k for k in ("camembert", "max_length", "cache") if options.get(k) is not None}
    if extra and entry.inputs == ("image", "tokens"):
        raise UserError(f"{', '.join('--' + k.replace('_', '-') for k in sorted(extra))} only apply to the CamemBERT models")
    return entry.load("trainer")(key, **options)
