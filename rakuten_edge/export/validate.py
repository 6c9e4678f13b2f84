"""Export validates itself (optimum's way): names, then shapes, then closeness; every failure collected."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..gates import MAX_ABS_DIFF
from ..tables.text_kinds import PROBS


@dataclass
class Validation:
    rows: int = 0
    max_abs_diff: float = float("nan")
    agreement: float = float("nan")
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "max_abs_diff": self.max_abs_diff,
            "top1_agreement": self.agreement,
            "passed": self.ok,
            "failures": self.failures,
        }


def validate(
    engine,
    expected_inputs: list[dict],
    feeds: dict[str, np.ndarray],
    onnx_probs: np.ndarray,
    native_probs: np.ndarray,
    row_ids: np.ndarray,
    atol: float | None = MAX_ABS_DIFF,
    min_agreement: float = 1.0,
) -> Validation:
    """Check an engine's graph (runtime/engine.py) against the native model. atol=None skips the closeness bound
    (int8)."""
    v = Validation(rows=len(native_probs))
    # --- names
    got_in, got_out = [i.name for i in engine.inputs()], [o.name for o in engine.outputs()]
    want_in = [spec["name"] for spec in expected_inputs]
    if sorted(got_in) != sorted(want_in):
        v.failures.append(f"input names {got_in} != expected {want_in}")
    if got_out != [PROBS]:
        v.failures.append(f"output names {got_out} != [{PROBS!r}]")
    # --- shapes
    for spec in expected_inputs:
        match = [i for i in engine.inputs() if i.name == spec["name"]]
        if match:
            fixed_got = [d if isinstance(d, int) else None for d in match[0].shape]
            fixed_want = [d if isinstance(d, int) else None for d in spec["shape"]]
            if len(fixed_got) != len(fixed_want) or any(
                w is not None and g != w for g, w in zip(fixed_got, fixed_want)
            ):
                v.failures.append(f"input {spec['name']} shape {match[0].shape} != expected {spec['shape']}")
            if isinstance(match[0].shape[0], int):
                v.failures.append(
                    f"input {spec['name']} has a fixed batch axis ({match[0].shape[0]}), expected dynamic"
                )
    if onnx_probs.shape != native_probs.shape:
        v.failures.append(f"output shape {onnx_probs.shape} != native {native_probs.shape}")
        return v
    # --- closeness
    diff = np.abs(onnx_probs.astype(np.float64) - native_probs.astype(np.float64))
    v.max_abs_diff = float(diff.max()) if diff.size else 0.0
    top_onnx, top_native = onnx_probs.argmax(1), native_probs.argmax(1)
    v.agreement = float((top_onnx == top_native).mean()) if len(top_native) else 1.0
    if atol is not None and v.max_abs_diff > atol:
        worst = np.argsort(-diff.max(1))[:5]
        v.failures.append(
            f"max |Δp| {v.max_abs_diff:.2e} > {atol:.0e} (worst rows: "
            + ", ".join(f"{row_ids[i]} Δ={diff[i].max():.1e}" for i in worst)
            + ")"
        )
    if v.agreement < min_agreement:
        bad = np.flatnonzero(top_onnx != top_native)
        v.failures.append(
            f"top-1 agreement {v.agreement:.4f} < {min_agreement}: "
            + ", ".join(f"product {row_ids[i]} native {top_native[i]} onnx {top_onnx[i]}" for i in bad)
        )
    return v
