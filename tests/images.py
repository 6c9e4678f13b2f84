"""Test helpers shared by several test files: crafted image bytes and the paths of prepared images."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image


def encoded(img: Image.Image, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (the IHDR rewritten, its CRC fixed): a bomb by its header."""
    data = bytearray(encoded(Image.new("L", (8, 8), 255), "PNG"))
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def prepared_image(prepared_dir: Path, split, i: int, name: str = "split_val") -> Path:
    """Row i's image in a prepared split (data prepare links it under <split>/<code>/)."""
    return (
        Path(prepared_dir)
        / name
        / str(split.prdtypecode[i])
        / f"image_{split.imageid[i]}_product_{split.productid[i]}.jpg"
    )


def prepared_images(prepared_dir: Path, n: int, name: str = "split_val") -> list[Path]:
    """The first n images of a prepared split, in a fixed order."""
    return sorted((Path(prepared_dir) / name).rglob("*.jpg"))[:n]
