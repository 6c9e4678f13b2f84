"""What the one path returns, and the one policy for missing inputs: small typed records, serialised one way.

The CLI's --json, the HTTP answers and the catalogue's top-k sidecar all write `Prediction.to_dict()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Policy:
    """What a missing or unreadable image and an empty product text do.

    lenient: scored on a blank white image / as empty text, and reported as an issue of that row;
    strict: a one-line InputError naming the field. Each surface chooses: predict and serve are strict, the
    catalogue is lenient (strict with --strict), the Python API fails on a bad image but scores empty text."""

    blank_image: bool  # True: a bad image is scored on a blank one and reported
    empty_text: bool  # True: an empty text is scored as empty text and reported


STRICT = Policy(blank_image=False, empty_text=False)
LENIENT = Policy(blank_image=True, empty_text=True)
API = Policy(blank_image=False, empty_text=True)

# The issue a lenient row reports, by field (the catalogue's issues file lists them).
IMAGE_MISSING = "image missing"
EMPTY_TEXT = "empty text"


class InputError(ValueError):
    """One bad input under a strict policy: `field` is "image" or "designation", `reason` one line."""

    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


@dataclass(frozen=True)
class Decoded:
    """One decoded image: uint8 (size, size) pixels, and the issue when a blank image stands in for it."""

    pixels: np.ndarray
    issue: str | None = None


@dataclass(frozen=True)
class Candidate:
    prdtypecode: int
    category: str
    category_en: str
    probability: float

    def to_dict(self, digits: int | None = None) -> dict:
        p = self.probability if digits is None else round(self.probability, digits)
        return {
            "prdtypecode": self.prdtypecode,
            "category": self.category,
            "category_en": self.category_en,
            "probability": p,
        }


@dataclass(frozen=True)
class Prediction:
    prdtypecode: int
    category: str
    category_en: str
    probability: float
    top_k: list[Candidate] = field(default_factory=list)
    issues: tuple[str, ...] = ()  # what a lenient policy stood in for (blank image, empty text)

    def to_dict(self, digits: int | None = None) -> dict:
        out = {**self.top_k[0].to_dict(digits), "top_k": [c.to_dict(digits) for c in self.top_k]}
        if self.issues:
            out["issues"] = list(self.issues)
        return out


@dataclass(frozen=True)
class Answers:
    """The path's result for N items: probabilities (N, classes) and one Prediction per row."""

    probs: np.ndarray
    predictions: list[Prediction]
    source: dict  # Classifier.envelope(): the bundle and what ran it

    def to_dict(self) -> dict:
        """One item's answer ({bundle, provider, prdtypecode, ..., top_k}); several items' under "predictions"."""
        if len(self.predictions) == 1:
            return {**self.source, **self.predictions[0].to_dict()}
        return {**self.source, "predictions": [p.to_dict() for p in self.predictions]}
