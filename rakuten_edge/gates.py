"""The accuracy gates, written once: export's int8 choice, `tune` and every bench row (peers included) apply them.

Lossless candidates (fp32 on any engine) face the fp32 gates: max |Δp| ≤ 1e-4 and 100% top-1 agreement with the
reference. Lossy ones (int8, bf16) face the int8 gates: ≥ 99% top-1 agreement and a weighted-F1 drop ≤ 0.5 point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reports import classification_report

MAX_ABS_DIFF = 1e-4
MIN_AGREEMENT, MAX_F1_DROP = 0.99, 0.005


@dataclass(frozen=True)
class Gate:
    passed: bool
    why: str  # "" when passed: else the figures that failed, one line
    agreement: float
    max_abs_diff: float
    f1_drop: float

    def figures(self) -> dict:
        return {"agreement": round(self.agreement, 4), "max_abs_diff": self.max_abs_diff, "f1_drop": self.f1_drop}


def gate(probs: np.ndarray, reference: np.ndarray, labels: np.ndarray, lossy: bool) -> Gate:
    """`probs` against `reference` (same rows), with the labels for the weighted F1."""
    if probs.shape != reference.shape:
        return Gate(False, f"output shape {probs.shape} != reference {reference.shape}", 0.0, float("inf"), 1.0)
    agreement = float((probs.argmax(1) == reference.argmax(1)).mean()) if len(probs) else 1.0
    diff = float(np.abs(probs.astype(np.float64) - reference.astype(np.float64)).max()) if len(probs) else 0.0
    f1 = classification_report(labels, probs.argmax(1))["summary"]["weighted_f1"]
    f1_ref = classification_report(labels, reference.argmax(1))["summary"]["weighted_f1"]
    drop = round(f1_ref - f1, 4)
    if lossy:
        ok = agreement >= MIN_AGREEMENT and drop <= MAX_F1_DROP
        top1 = f"top-1 agreement {agreement:.2%} (≥ {MIN_AGREEMENT:.0%})"
        why = f"{top1}, weighted-F1 drop {drop:+.4f} (≤ {MAX_F1_DROP})"
    else:
        ok = diff <= MAX_ABS_DIFF and agreement == 1.0
        why = f"max |Δp| {diff:.1e} (≤ {MAX_ABS_DIFF:.0e}), top-1 agreement {agreement:.2%} (100%)"
    return Gate(ok, "" if ok else why, agreement, diff, drop)
