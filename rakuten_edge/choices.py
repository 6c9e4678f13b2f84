"""Every closed set of choices as an enum: the CLI offers them, the library checks them once at its boundary."""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar

from .errors import UserError

E = TypeVar("E", bound=Enum)


class Preset(StrEnum):
    seed = "seed"  # the write-up's settings
    tiny = "tiny"  # same structure, cut widths: tests and quick demos


class QuantMode(StrEnum):
    auto = "auto"  # measure every recipe
    dynamic = "dynamic"
    static = "static"


class Provider(StrEnum):
    cpu = "cpu"
    cuda = "cuda"


class Precision(StrEnum):
    """Numeric precision of a graph. Lossless ones face the fp32 gates (max |Δp| ≤ 1e-4, 100% top-1 against
    native); lossy ones the int8 gates (≥ 99% top-1 agreement, weighted-F1 drop ≤ 0.5 point)."""

    fp32 = "fp32"
    int8 = "int8"

    @property
    def lossy(self) -> bool:
        return self is not Precision.fp32


def parse(kind: type[E], value: E | str, argument: str) -> E:
    """`value` as a member of `kind`, or one clear error naming the argument and the choices."""
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(m.value for m in kind)
        raise UserError(f"{argument} must be one of {choices}, got {value!r}") from None


class Framework(StrEnum):
    keras = "keras"
    torch = "torch"


class Capability(StrEnum):
    """What a model can do beyond ONNX export; formats name the capability they need."""

    litert = "litert"  # converts to LiteRT (the token-input Keras CNNs; the CamemBERT graphs mix frameworks)


class Engine(StrEnum):
    local = "local"  # threads decode images while the session runs the previous batch, on this machine
    ray = "ray"  # the same chunks as a Ray Data pipeline over an actor pool (local Ray or a cluster)


def at_least_one(record, *names: str) -> None:
    """Each named field of `record` is None or a positive count; else one error naming the argument."""
    for name in names:
        value = getattr(record, name)
        if value is not None and value < 1:
            raise UserError(f"{name} must be at least 1, got {value}")
