"""The catalogue CSV: validated in one streaming pass before any work, then read back chunk by chunk.

The pass checks the encoding (strict UTF-8), the challenge's columns, integer ids and unique indices, and records
each chunk's byte span, so a chunk can be re-read alone (by a resumed run, or by a Ray actor on another machine).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

COLUMNS = ("designation", "description", "productid", "imageid")


@dataclass(frozen=True)
class Row:
    index: str  # the input's first column, written back as is
    designation: str
    description: str
    productid: int
    imageid: int

    @property
    def image_name(self) -> str:
        return f"image_{self.imageid}_product_{self.productid}.jpg"


@dataclass(frozen=True)
class Span:
    number: int  # chunk number
    start: int  # byte offsets in the file
    end: int
    first_row: int  # 0-based row number of its first row
    rows: int


@dataclass(frozen=True)
class Catalogue:
    path: Path
    header: tuple[str, ...]
    rows: int
    spans: tuple[Span, ...]
    sha256: str


class _Lines:
    """Lines of a binary file decoded as strict UTF-8, counting bytes so record boundaries are known."""

    def __init__(self, f):
        self.f, self.offset, self.line = f, 0, 0

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = self.f.readline()
        if not raw:
            raise StopIteration
        self.offset += len(raw)
        self.line += 1
        try:
            return raw.decode("utf-8-sig" if self.line == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise UserError(
                f"line {self.line} is not UTF-8 ({exc.reason} at byte {exc.start}): save the catalogue as UTF-8"
            ) from None


def _positions(header: list[str], path: Path) -> dict[str, int]:
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise UserError(
            f"{path.name}: missing column(s) {', '.join(missing)} (found: {', '.join(header) or 'none'}); "
            "expected the challenge's ,designation,description,productid,imageid"
        )
    return {c: header.index(c) for c in COLUMNS}


def _row(fields: list[str], pos: dict[str, int], width: int, line: int) -> Row:
    if len(fields) != width:
        raise UserError(f"line {line}: {len(fields)} fields, the header has {width}")
    try:
        productid, imageid = int(fields[pos["productid"]]), int(fields[pos["imageid"]])
    except ValueError:
        raise UserError(f"line {line}: productid and imageid must be integers") from None
    return Row(fields[0], fields[pos["designation"]], fields[pos["description"]], productid, imageid)


def scan(path: Path, chunk_size: int) -> Catalogue:
    """Validate the whole file and cut it into chunks of `chunk_size` rows; one clear error on the first problem."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"catalogue not found: {path}")
    if chunk_size < 1:
        raise UserError(f"chunk_size must be at least 1, got {chunk_size}")
    digest, seen, spans = hashlib.sha256(), set(), []
    with open(path, "rb") as f:
        lines = _Lines(f)
        reader = csv.reader(lines)
        try:
            header = next(reader)
        except StopIteration:
            raise UserError(f"{path.name} is empty") from None
        except csv.Error as exc:
            raise UserError(f"{path.name}: not a CSV ({exc})") from None
        pos, rows, start, first = _positions(header, path), 0, lines.offset, 0
        try:
            for fields in reader:
                row = _row(fields, pos, len(header), lines.line)
                if row.index in seen:
                    raise UserError(
                        f"line {lines.line}: index {row.index!r} appears twice (the submission needs one row per index)"
                    )
                seen.add(row.index)
                rows += 1
                if rows - first == chunk_size:
                    spans.append(Span(len(spans), start, lines.offset, first, rows - first))
                    start, first = lines.offset, rows
        except csv.Error as exc:
            raise UserError(f"line {lines.line}: malformed CSV ({exc})") from None
        if rows > first:
            spans.append(Span(len(spans), start, lines.offset, first, rows - first))
        f.seek(0)
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if not rows:
        raise UserError(f"{path.name} has a header but no product")
    return Catalogue(path, tuple(header), rows, tuple(spans), digest.hexdigest())


def read_span(path: Path, header: tuple[str, ...], span: Span) -> list[Row]:
    """The rows of one chunk, read from its byte span alone (already validated by `scan`)."""
    with open(path, "rb") as f:
        f.seek(span.start)
        raw = f.read(span.end - span.start)
    pos = {c: header.index(c) for c in COLUMNS}
    # The same line splitting as `scan` (bytes split on b"\n" only), so both see the same records.
    records = csv.reader(_Lines(io.BytesIO(raw)))
    rows = [_row(fields, pos, len(header), span.first_row + i + 2) for i, fields in enumerate(records)]
    if len(rows) != span.rows:
        raise UserError(f"{path}: chunk {span.number} holds {len(rows)} rows, expected {span.rows}: the file changed")
    return rows
