"""Synthetic product photos: a category-dependent silhouette and texture, clutter, noise, white padding."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .lexicon import Look

CANVAS = 500


def _texture(kind: str, w: int, h: int, tone: int, rng: np.random.Generator) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    period = float(rng.uniform(7, 14))
    # Only the chosen pattern is computed (building all eleven took 21 of a product's 27 ms); none draws randomness.
    patterns = {
        "plain": lambda: np.zeros((h, w), np.float32),
        "hlines": lambda: np.where((y % period) < period / 3, 1.0, -0.3),
        "vlines": lambda: np.where((x % period) < period / 3, 1.0, -0.3),
        "diag": lambda: np.where(((x + y) % period) < period / 2, 1.0, -1.0),
        "stripes": lambda: np.where(((x - y) % (2 * period)) < period, 1.0, -1.0),
        "dots": lambda: np.where(
            ((x % period) - period / 2) ** 2 + ((y % period) - period / 2) ** 2 < (period / 4) ** 2, -1.5, 0.2
        ),
        "grid": lambda: np.where(((x % period) < 2) | ((y % period) < 2), -1.2, 0.3),
        "checker": lambda: np.where(((x // period) + (y // period)) % 2 == 0, 1.0, -1.0),
        "waves": lambda: np.sin(y / period * 2 + np.sin(x / (3 * period)) * 3),
        "woodgrain": lambda: np.sin((y + 6 * np.sin(x / (4 * period))) / 2.5),
        "text": lambda: np.where(((y % period) < 3) & (np.sin(x / 3 + y) > -0.3), -1.5, 0.2),
    }
    pattern = patterns[kind]()
    return np.clip(tone + 40 * pattern + rng.normal(0, 6, (h, w)), 0, 235).astype(np.uint8)


def _silhouette(shape: str, w: int, h: int, rng: np.random.Generator) -> Image.Image:
    mask = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(mask)
    j = lambda a, b: int(rng.uniform(a, b))  # noqa: E731 - tiny local helper for jittered coordinates
    if shape in ("book", "case", "screen", "frame", "paper", "box"):
        d.rectangle([0, 0, w - 1, h - 1], fill=255)
        if shape == "paper":
            d.polygon([(w - w // 4, 0), (w, 0), (w, h // 4)], fill=0)
        if shape == "frame":
            d.rectangle([w // 5, h // 5, w - w // 5, h - h // 5], fill=0)
    elif shape == "stack":
        rows = j(3, 6)
        for r in range(rows):
            off = j(0, w // 8)
            d.rectangle([off, r * h // rows, w - 1 - j(0, w // 8), (r + 1) * h // rows - 3], fill=255)
    elif shape in ("pad", "console"):
        d.rounded_rectangle([0, h // 6, w - 1, h - 1], radius=min(w, h) // 3, fill=255)
    elif shape == "figure":
        d.ellipse([w // 3, 0, 2 * w // 3, h // 3], fill=255)
        d.polygon([(w // 4, h // 3), (3 * w // 4, h // 3), (w - 1, h - 1), (0, h - 1)], fill=255)
    elif shape == "cards":
        for k in range(3):
            dx = k * w // 6
            d.polygon(
                [(dx, h // 8 * k), (dx + w // 2, h // 8 * k), (dx + w // 2 + w // 8, h - 1), (dx + w // 8, h - 1)],
                fill=255,
            )
    elif shape == "blob":
        for _ in range(4):
            cx, cy, r = j(w // 4, 3 * w // 4), j(h // 4, 3 * h // 4), j(min(w, h) // 6, min(w, h) // 3)
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif shape == "drone":
        t = max(3, min(w, h) // 12)
        d.line([(0, 0), (w - 1, h - 1)], fill=255, width=t)
        d.line([(0, h - 1), (w - 1, 0)], fill=255, width=t)
        r = min(w, h) // 6
        for cx, cy in ((r, r), (w - r, r), (r, h - r), (w - r, h - r)):
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    elif shape == "arc":
        d.pieslice([0, 0, w - 1, 2 * h], 180, 360, fill=255)
        d.pieslice([w // 4, h // 2, 3 * w // 4, 2 * h - h // 2], 180, 360, fill=0)
    elif shape == "sock":
        d.polygon(
            [(w // 4, 0), (w // 2, 0), (w // 2, 2 * h // 3), (w - 1, 2 * h // 3), (w - 1, h - 1), (w // 4, h - 1)],
            fill=255,
        )
    elif shape == "stroller":
        d.pieslice([0, 0, w - 1, h], 180, 360, fill=255)
        r = w // 8
        for cx in (w // 4, 3 * w // 4):
            d.ellipse([cx - r, h - 2 * r - 1, cx + r, h - 1], fill=255)
        d.rectangle([w // 8, h // 2 - 4, 7 * w // 8, h // 2 + 8], fill=255)
    elif shape == "chair":
        t = max(4, w // 14)
        d.rectangle([0, h // 2, w - 1, h // 2 + 2 * t], fill=255)
        d.rectangle([0, 0, t * 2, h - 1], fill=255)
        d.rectangle([w - 1 - t, h // 2, w - 1, h - 1], fill=255)
    elif shape == "fabric":
        pts = [(int(x), int(h // 8 * np.sin(x / w * 6.28 * 2) + h // 8)) for x in np.linspace(0, w - 1, 16)]
        d.polygon(pts + [(w - 1, h - 1), (0, h - 1)], fill=255)
    elif shape == "jar":
        d.rounded_rectangle([0, h // 5, w - 1, h - 1], radius=w // 6, fill=255)
        d.rectangle([w // 6, 0, w - w // 6, h // 5], fill=255)
    elif shape == "bowl":
        d.chord([0, -h, w - 1, h - 1], 0, 180, fill=255)
    elif shape == "ring":
        d.ellipse([0, 0, w - 1, h - 1], fill=255)
        d.ellipse([w // 8, h // 6, w - w // 8, h - h // 6], fill=120)
    elif shape == "tool":
        d.rectangle([0, h // 3, 2 * w // 3, 2 * h // 3], fill=255)
        d.rectangle([2 * w // 3 - 1, 0, w - 1, h - 1], fill=255)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return mask


def draw_product(look: Look, rng: np.random.Generator) -> Image.Image:
    """One 500x500 RGB product photo on white padding."""
    # Bounding box: median around 375 px, about one in ten filling the whole square (the real figures).
    full = rng.random() < 0.09
    box = CANVAS if full else int(np.clip(rng.normal(390, 60), 150, CANVAS))
    aspect = look.aspect * float(rng.uniform(0.85, 1.15))
    w, h = (box, max(40, int(box * aspect))) if aspect <= 1 else (max(40, int(box / aspect)), box)
    w, h = min(w, CANVAS), min(h, CANVAS)
    if full:  # a photo with its own (non-white) background filling the square
        w = h = CANVAS

    background = np.full((h, w), int(rng.uniform(185, 238)) if full else 255, np.uint8)
    tone = int(np.clip(look.tone + rng.normal(0, 25), 10, 220))
    texture = _texture(look.texture, w, h, tone, rng)
    mask = np.asarray(_silhouette(look.shape, w, h, rng))
    gray = np.where(mask > 0, np.where(mask == 255, texture, (texture * 0.6 + 90).astype(np.uint8)), background)

    img = Image.fromarray(gray.astype(np.uint8))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 4))):  # clutter: labels, price tags, props
        cx, cy, r = int(rng.uniform(0, w)), int(rng.uniform(0, h)), int(rng.uniform(5, max(6, w // 6)))
        fill = int(rng.uniform(0, 230))
        (d.ellipse if rng.random() < 0.5 else d.rectangle)([cx - r, cy - r, cx + r, cy + r], fill=fill)

    noisy = np.asarray(img, np.float32) + rng.normal(0, 8, (h, w))
    tint = rng.uniform(0.75, 1.0, 3)
    rgb = np.clip(noisy[..., None] * tint[None, None, :], 0, 255).astype(np.uint8)
    canvas = Image.new("RGB", (CANVAS, CANVAS), (255, 255, 255))
    canvas.paste(Image.fromarray(rgb), (int(rng.integers(0, CANVAS - w + 1)), int(rng.integers(0, CANVAS - h + 1))))
    return canvas
