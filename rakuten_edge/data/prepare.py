"""`rakuten-edge data prepare`: validated, cleaned, split data with every image decoded once and cached."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from ..atomic import staged_dir
from ..categories import code_to_index, labels_table
from ..errors import UserError
from ..pools import process_pool
from ..progress import progress_bar
from ..runtime.preprocess import IMAGE_SIZE, PREPROCESS_VERSION, load_image, product_text
from .raw import RawRow, read_train
from .synth import X_TRAIN, Y_TRAIN

SPLITS = ("split_train", "split_val")
DATA_FILE, PIXELS_FILE, LABELS_FILE, STAMP_FILE = "data.csv", "images.npy", "labels.json", "prepare.json"
COLUMNS = ("productid", "imageid", "text", "prdtypecode", "label")


def _fingerprint(raw: Path, val_size: float, seed: int, image_size: int, n_rows: int) -> str:
    h = hashlib.sha256(f"{PREPROCESS_VERSION}|{val_size}|{seed}|{image_size}|{n_rows}".encode())
    for name in (X_TRAIN, Y_TRAIN):
        with open(raw / name, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _decode(args: tuple[list[str], int]) -> np.ndarray:
    paths, size = args
    return np.stack([load_image(p, size) for p in paths])


def decode_images(paths: list[Path], size: int, label: str, workers: int | None = None) -> np.ndarray:
    """Decode in a process pool whose workers die with this process (a kill leaves no orphan behind)."""
    chunks = [([str(p) for p in paths[k : k + 256]], size) for k in range(0, len(paths), 256)]
    out = []
    with progress_bar() as bar, process_pool(workers) as pool:
        task = bar.add_task(label, total=len(paths))
        for block in pool.map(_decode, chunks):
            out.append(block)
            bar.advance(task, len(block))
    return np.concatenate(out) if out else np.zeros((0, size, size), np.uint8)


def split_indices(n: int, val_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's random (not stratified) 80/20 split, reproducible for a seed."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(n * val_size))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _link(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # same disk: no copy of 84,916 JPEGs
    except OSError:
        shutil.copy2(src, dst)


def _write_split(folder: Path, rows: list[RawRow], texts: list[str], pixels: np.ndarray) -> None:
    index = code_to_index()
    folder.mkdir(parents=True)
    with open(folder / DATA_FILE, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for r, text in zip(rows, texts):
            writer.writerow([r.productid, r.imageid, text, r.prdtypecode, index[r.prdtypecode]])
    np.save(folder / PIXELS_FILE, pixels)
    for code in sorted({r.prdtypecode for r in rows}):
        (folder / str(code)).mkdir()
    for r in rows:
        _link(r.image_path, folder / str(r.prdtypecode) / r.image_path.name)


# Three pooling blocks need 8 px; above 512 px a catalogue's cache stops fitting in memory (84,916 x 512^2 = 22 GB).
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 8, 512


def check_image_size(size: int) -> int:
    """The one bound on a cached image's side, for `data prepare --image-size` and `train --image-size` alike."""
    if not MIN_IMAGE_SIZE <= size <= MAX_IMAGE_SIZE:
        raise UserError(f"image size must be between {MIN_IMAGE_SIZE} and {MAX_IMAGE_SIZE} px, got {size}")
    return size


def prepare(
    raw: str | Path,
    out: str | Path,
    val_size: float = 0.2,
    seed: int = 42,
    image_size: int | None = None,
    force: bool = False,
) -> dict:
    """Validate the raw files, clean the text, split 80/20 and cache the grayscale pixels (image_size square, by
    default the runtime's IMAGE_SIZE)."""
    image_size = IMAGE_SIZE if image_size is None else image_size
    if not 0.0 < val_size < 1.0:
        raise UserError(f"val_size must be between 0 and 1, got {val_size}")
    check_image_size(image_size)
    raw, out = Path(raw), Path(out)
    start = time.perf_counter()
    rows = read_train(raw)
    fingerprint = _fingerprint(raw, val_size, seed, image_size, len(rows))
    stamp = out / STAMP_FILE
    if not force and stamp.is_file() and json.loads(stamp.read_text()).get("fingerprint") == fingerprint:
        return {**json.loads(stamp.read_text()), "skipped": True}

    texts = [product_text(r.designation, r.description) for r in rows]
    pixels = decode_images([r.image_path for r in rows], image_size, "decoding images")
    train_idx, val_idx = split_indices(len(rows), val_size, seed)
    summary = {
        "fingerprint": fingerprint,
        "raw": str(raw.resolve()),
        "rows": len(rows),
        "train": len(train_idx),
        "val": len(val_idx),
        "val_size": val_size,
        "seed": seed,
        "image_size": image_size,
        "preprocess_version": PREPROCESS_VERSION,
        "empty_text": sum(not t for t in texts),
    }
    # Built beside `out` and swapped in whole: an interrupted run leaves the previous preparation intact.
    with staged_dir(out) as tmp:
        for name, idx in zip(SPLITS, (train_idx, val_idx)):
            _write_split(tmp / name, [rows[i] for i in idx], [texts[i] for i in idx], pixels[idx])
        (tmp / LABELS_FILE).write_text(json.dumps(labels_table(), ensure_ascii=False, indent=1), encoding="utf-8")
        summary["seconds"] = round(time.perf_counter() - start, 1)
        (tmp / STAMP_FILE).write_text(json.dumps(summary, indent=1))
    return {**summary, "skipped": False}
