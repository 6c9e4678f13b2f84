"""Bench targets a model declares on its registry entry; bench/report.py checks them against measured rows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Check(StrEnum):
    int8_speedup = "int8_speedup"  # native p50 / int8 p50 >= threshold
    int8_vs_peer = "int8_vs_peer"  # int8 p50 <= the peer format's p50
    int8_size = "int8_size"  # fp32 size / int8 size >= threshold
    f1_drop = "f1_drop"  # fp32 weighted F1 - int8 weighted F1 <= threshold
    cold_start = "cold_start"  # min(fp32, int8) cold start <= threshold seconds


@dataclass(frozen=True)
class Target:
    check: Check
    text: str
    threshold: float = 0.0
    peer: str = ""  # int8_vs_peer: the format compared with
    min_fp32_mb: float = 0.0  # only checked on graphs at least this large (targets stated for base-size models)


F1_DROP = Target(Check.f1_drop, "int8 costs ≤ 0.5 point of weighted F1", 0.005)
# A CamemBERT fp32 graph this large is base-size (435 MB); the tiny test encoders are ~1.5 MB.
BASE_SIZE_MB = 300
