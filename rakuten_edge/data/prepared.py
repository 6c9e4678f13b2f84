"""Reading a prepared folder back (training, evaluation, export validation)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from .prepare import DATA_FILE, PIXELS_FILE, SPLITS


@dataclass(frozen=True)
class Split:
    name: str
    productid: np.ndarray
    imageid: np.ndarray
    texts: list[str]
    prdtypecode: np.ndarray
    labels: np.ndarray
    pixels: np.ndarray  # uint8 (N, size, size)

    def __len__(self) -> int:
        return len(self.labels)

    def head(self, n: int | None) -> Split:
        if n is None or n >= len(self):
            return self
        return Split(
            self.name,
            self.productid[:n],
            self.imageid[:n],
            self.texts[:n],
            self.prdtypecode[:n],
            self.labels[:n],
            self.pixels[:n],
        )


def load_split(prepared: str | Path, split: str) -> Split:
    name = split if split.startswith("split_") else f"split_{split}"
    if name not in SPLITS:
        raise UserError(f"unknown split {split!r} (choose train or val)")
    folder = Path(prepared) / name
    if not (folder / DATA_FILE).is_file() or not (folder / PIXELS_FILE).is_file():
        raise UserError(f"no prepared data in {folder}: run `rakuten-edge data prepare` first")
    with open(folder / DATA_FILE, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    pixels = np.load(folder / PIXELS_FILE)
    if len(pixels) != len(rows):
        raise UserError(f"{folder}: {len(rows)} rows but {len(pixels)} cached images; re-run `data prepare --force`")
    as_int = lambda key: np.array([int(r[key]) for r in rows], dtype=np.int64)  # noqa: E731
    return Split(
        name,
        as_int("productid"),
        as_int("imageid"),
        [r["text"] for r in rows],
        as_int("prdtypecode"),
        as_int("label").astype(np.int32),
        pixels,
    )
