"""Reading the challenge's files as published: X_train_update.csv, Y_train_CVw08PX.csv, images/image_train/."""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from ..categories import code_to_index
from ..errors import UserError
from .synth import IMAGE_DIRS, X_TRAIN, Y_TRAIN, image_name

csv.field_size_limit(sys.maxsize)  # real descriptions run to tens of thousands of characters
X_COLUMNS = ("designation", "description", "productid", "imageid")


@dataclass(frozen=True)
class RawRow:
    row: str
    designation: str
    description: str
    productid: int
    imageid: int
    prdtypecode: int
    image_path: Path


def _read(path: Path, needed: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.is_file():
        raise UserError(f"missing file {path}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in needed if c not in header]
        if missing:
            found = ", ".join(h or "<index>" for h in header)
            raise UserError(f"{path.name}: missing column(s) {', '.join(missing)} (found: {found})")
        try:
            return list(reader)
        except csv.Error as exc:
            raise UserError(f"{path.name}: not a readable CSV ({exc})") from None


def _examples(items: list, limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" … ({len(items)} in all)" if len(items) > limit else "")


def image_folder(raw: Path, split: str = "train") -> Path:
    for candidate in (raw / IMAGE_DIRS[split], raw / Path(IMAGE_DIRS[split]).name):
        if candidate.is_dir():
            return candidate
    raise UserError(f"no image folder: expected {raw / IMAGE_DIRS[split]}")


def read_train(raw: str | Path) -> list[RawRow]:
    """Every labelled row, validated; all problems found are reported together in one UserError."""
    raw = Path(raw)
    if not raw.is_dir():
        raise UserError(f"raw data folder not found: {raw}")
    xs = _read(raw / X_TRAIN, X_COLUMNS)
    ys = _read(raw / Y_TRAIN, ("prdtypecode",))
    images = image_folder(raw)
    index_key = ""  # the unnamed first column holds the row index in both files
    problems: list[str] = []
    if len(xs) != len(ys):
        problems.append(f"{X_TRAIN} has {len(xs)} rows but {Y_TRAIN} has {len(ys)}")
    codes = code_to_index()
    labels: dict[str, str] = {y.get(index_key, str(i)): y["prdtypecode"] for i, y in enumerate(ys)}
    bad_ids, unknown, missing_images, no_label = [], [], [], []
    seen_products: dict[int, str] = {}
    duplicates = []
    rows = []
    present = {p.name for p in images.iterdir()}
    for i, x in enumerate(xs):
        row = x.get(index_key, str(i))
        try:
            productid, imageid = int(x["productid"]), int(x["imageid"])
        except (TypeError, ValueError):
            bad_ids.append(row)
            continue
        if productid in seen_products:
            duplicates.append(f"{productid} (rows {seen_products[productid]}, {row})")
        seen_products[productid] = row
        if row not in labels:
            no_label.append(row)
            continue
        try:
            code = int(float(labels[row]))
        except ValueError:
            code = None
        if code not in codes:
            unknown.append(f"row {row}: {labels[row]!r}")
            continue
        name = image_name(imageid, productid)
        if name not in present:
            missing_images.append(name)
        rows.append(
            RawRow(row, x["designation"] or "", x["description"] or "", productid, imageid, code, images / name)
        )
    for what, items in (
        ("non-integer productid/imageid in rows", bad_ids),
        ("duplicate productid", duplicates),
        (f"rows without a label in {Y_TRAIN}", no_label),
        ("unknown prdtypecode", unknown),
        (f"missing image(s) in {images}", missing_images),
    ):
        if items:
            problems.append(f"{what}: {_examples(items)}")
    if problems:
        raise UserError("invalid raw data: " + "; ".join(problems))
    if not rows:
        raise UserError(f"{X_TRAIN} holds no rows")
    return rows
