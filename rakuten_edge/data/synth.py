"""`rakuten-edge data synth`: a catalogue in the exact challenge format, with the real class mix and quirks."""

from __future__ import annotations

import csv
import html
import html.entities
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..categories import categories
from ..errors import UserError
from ..pools import process_pool
from ..progress import progress_bar
from .drawing import draw_product
from .lexicon import LEXICON
from .longtail import reference, roughen, tail_word
from .phrases import BRANDS, GENERIC, GENERIC_DE, GENERIC_EN, HTML_WRAPS, SENTENCES

X_TRAIN, Y_TRAIN, X_TEST = "X_train_update.csv", "Y_train_CVw08PX.csv", "X_test_update.csv"
IMAGE_DIRS = {"train": "images/image_train", "test": "images/image_test"}
# Measured on the real rows (seed-models.md).
P_EMPTY_DESCRIPTION, P_HTML_TAGS, P_FOREIGN, P_PLACEHOLDER = 0.35, 0.16, 0.03, 0.02
# Applied to more rows than the targets (40% and 1%) because rows with nothing to escape show no quirk.
P_ENTITIES, P_MOJIBAKE = 0.48, 0.025
P_LABEL_NOISE, P_WEAK_TEXT = 0.02, 0.20
P_OWN_LOOK, P_RELATED_LOOK = 0.62, 0.23
# The long tail (longtail.py), tuned on 1,700 generated rows against the real figures (see tests/test_textstats.py):
# tail words per title / per description sentence (Poisson means), and the share of roughened words.
TAIL_TITLE, TAIL_SENTENCE, P_REFERENCE, P_TYPO, P_ACCENTLESS = 2.0, 4.0, 0.05, 0.005, 0.08
SENTENCE_GENERIC = (2, 6)  # generic filler words per description sentence (high end excluded)


@dataclass(frozen=True)
class Product:
    row: int
    prdtypecode: int  # the label written to Y (after label noise)
    designation: str
    description: str
    productid: int
    imageid: int
    look_code: int  # whose look the image borrows


def image_name(imageid: int, productid: int) -> str:
    return f"image_{imageid}_product_{productid}.jpg"


def class_counts(n: int) -> dict[int, int]:
    """Largest-remainder allocation of n rows over the real class proportions."""
    cats = categories()
    total = sum(c.train_count for c in cats)
    exact = np.array([n * c.train_count / total for c in cats])
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts))[: n - counts.sum()]:
        counts[i] += 1
    return {c.prdtypecode: int(k) for c, k in zip(cats, counts)}


def _pick(rng: np.random.Generator, words: tuple[str, ...], k: int) -> list[str]:
    return [words[i] for i in rng.integers(0, len(words), k)]


def _source(code: int, rng: np.random.Generator) -> int:
    related = LEXICON[code].related
    return int(related[rng.integers(len(related))]) if related and rng.random() < 0.25 else code


def _entities(text: str) -> str:
    # The real rows escape accents as named entities and quotes/plus as numeric ones.
    out = html.escape(text, quote=False).replace("'", "&#39;").replace("+", "&#43;")
    return "".join(
        f"&{html.entities.codepoint2name[ord(ch)]};"
        if ord(ch) > 127 and ord(ch) in html.entities.codepoint2name
        else ch
        for ch in out
    )


def _text(code: int, rng: np.random.Generator) -> tuple[str, str]:
    entry = LEXICON[code]
    foreign = rng.random() < P_FOREIGN
    if foreign:
        lang_words = entry.en if rng.random() < 0.5 else entry.de
        generic = GENERIC_EN if lang_words is entry.en else GENERIC_DE
        designation = " ".join(_pick(rng, lang_words, 2) + _pick(rng, generic, int(rng.integers(2, 5))))
        description = " ".join(_pick(rng, lang_words + generic, int(rng.integers(5, 40)))) if rng.random() < 0.6 else ""
        return designation.capitalize(), description

    weak = rng.random() < P_WEAK_TEXT  # a title with no category word: only the image can tell
    parts: list[str] = []
    if rng.random() < 0.4:
        parts.append(BRANDS[rng.integers(len(BRANDS))])
    if not weak:
        parts += _pick(rng, LEXICON[_source(code, rng)].nouns, 1)
        parts += _pick(rng, LEXICON[_source(code, rng)].words, int(rng.integers(1, 4)))
    parts += _pick(rng, GENERIC, int(rng.integers(3, 9)))
    parts += [tail_word(rng, code) for _ in range(rng.poisson(TAIL_TITLE))]
    if rng.random() < 0.5:
        parts.append(reference(rng))
    parts = roughen(rng, parts, P_TYPO, P_ACCENTLESS)
    if rng.random() < 0.5:
        parts.append(f"{int(rng.integers(1, 200))} {['cm', 'pièces', 'ml', 'ans', 'x'][rng.integers(5)]}")
    if rng.random() < 0.3:  # seller references lengthen real titles (median 66 characters)
        parts.append(f"Réf. {chr(65 + int(rng.integers(26)))}{int(rng.integers(100, 99999))}")
    designation = " ".join(parts)[:250]
    designation = designation[:1].upper() + designation[1:]

    r = rng.random()
    if r < P_EMPTY_DESCRIPTION:
        return designation, ""
    if r < P_EMPTY_DESCRIPTION + P_PLACEHOLDER:
        return designation, ["nc", "NC", "N/C", "."][rng.integers(4)]
    target = float(np.clip(rng.lognormal(np.log(640), 0.75), 40, 6000))
    sentences, length = [], 0
    while length < target:
        if rng.random() < 0.3:
            sentence = SENTENCES[rng.integers(len(SENTENCES))]
        else:
            words = _pick(rng, GENERIC, int(rng.integers(*SENTENCE_GENERIC)))
            if not weak or rng.random() < 0.3:
                words += _pick(rng, LEXICON[_source(code, rng)].words, int(rng.integers(1, 3)))
            words += [tail_word(rng, code) for _ in range(rng.poisson(TAIL_SENTENCE))]
            if rng.random() < P_REFERENCE:
                words.append(reference(rng))
            words = roughen(rng, words, P_TYPO, P_ACCENTLESS)
            rng.shuffle(words)
            sentence = " ".join(words).capitalize() + "."
        sentences.append(sentence)
        length += len(sentence) + 1
    if rng.random() < P_HTML_TAGS / (1 - P_EMPTY_DESCRIPTION):
        sentences = [HTML_WRAPS[rng.integers(len(HTML_WRAPS))].format(s) for s in sentences]
    return designation, " ".join(sentences)


def _quirks(text: str, entities: bool, mojibake: bool) -> str:
    if entities:
        text = _entities(text)
    if mojibake:
        text = text.encode("utf-8").decode("latin-1")
    return text


def make_products(n: int, seed: int, first_row: int = 0, stream: int = 0) -> list[Product]:
    rng = np.random.default_rng([seed, stream])
    codes = np.array([code for code, k in class_counts(n).items() for _ in range(k)])
    rng.shuffle(codes)
    # Distinct ids drawn by index (numpy samples a large range without building it): materializing the 613 million
    # candidate product ids cost 4.7 GB and 19 s for any n.
    productids = 10_000_000 + 7 * rng.choice((4_300_000_000 - 10_000_000) // 7, size=n, replace=False)
    imageids = 100_000_000 + 3 * rng.choice((1_400_000_000 - 100_000_000) // 3, size=n, replace=False)
    all_codes = [c.prdtypecode for c in categories()]
    products = []
    for i, code in enumerate(codes.tolist()):
        designation, description = _text(code, rng)
        entities, mojibake = rng.random() < P_ENTITIES, rng.random() < P_MOJIBAKE
        designation = _quirks(designation, entities, mojibake)
        description = _quirks(description, entities, mojibake)
        r = rng.random()
        related = LEXICON[code].related
        look_code = (
            code
            if r < P_OWN_LOOK or not related
            else (
                int(related[rng.integers(len(related))])
                if r < P_OWN_LOOK + P_RELATED_LOOK
                else int(rng.choice(all_codes))
            )
        )
        label = code
        if rng.random() < P_LABEL_NOISE:
            label = (
                int(related[rng.integers(len(related))])
                if related and rng.random() < 0.7
                else int(rng.choice(all_codes))
            )
        products.append(
            Product(first_row + i, label, designation, description, int(productids[i]), int(imageids[i]), look_code)
        )
    return products


def _draw_chunk(args: tuple[Path, int, int, list[tuple[int, int, int, int]]]) -> int:
    folder, seed, stream, items = args
    from .lexicon import LEXICON as lex  # noqa: N811 - re-imported in the worker process

    for row, look_code, imageid, productid in items:
        img = draw_product(lex[look_code].look, np.random.default_rng([seed, stream, 1, row]))
        # Real product images are 500x500 progressive JPEGs (99.8% of 15,811 checked), median 23 KB; quality 70
        # progressive lands the generated ones at 23.9 KB median (baseline quality 85 gave 38 KB).
        img.save(folder / image_name(imageid, productid), quality=70, progressive=True, optimize=True)
    return len(items)


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


def synth(out: Path, n: int = 2000, test_n: int = 200, seed: int = 42, workers: int | None = None) -> dict:
    """Write X_train_update.csv, Y_train_CVw08PX.csv, X_test_update.csv and the JPEGs under `out`."""
    if n < 27:
        raise UserError(f"n must be at least 27 (one product per class), got {n}")
    if test_n < 0:
        raise UserError(f"test_n must be zero or positive, got {test_n}")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / X_TRAIN).exists():
        raise UserError(f"{out} exists, is not empty and holds no {X_TRAIN}: refusing to write into it")
    start = time.perf_counter()
    train = make_products(n, seed, 0, stream=0)
    test = make_products(test_n, seed, n, stream=1) if test_n else []
    # Write into a sibling temp folder and swap at the end: an interrupted run leaves no half catalogue.
    tmp = out.with_name(out.name + ".tmp-synth")
    shutil.rmtree(tmp, ignore_errors=True)
    for split, products, stream in (("train", train, 0), ("test", test, 1)):
        folder = tmp / IMAGE_DIRS[split]
        folder.mkdir(parents=True)
        items = [(p.row, p.look_code, p.imageid, p.productid) for p in products]
        chunks = [(folder, seed, stream, items[k : k + 64]) for k in range(0, len(items), 64)]
        workers = workers or min(os.cpu_count() or 1, 8)
        with progress_bar() as bar, process_pool(workers) as pool:
            task = bar.add_task(f"drawing {split} images", total=len(items))
            for done in pool.map(_draw_chunk, chunks):
                bar.advance(task, done)
    _write_csv(
        tmp / X_TRAIN,
        ["", "designation", "description", "productid", "imageid"],
        [[p.row, p.designation, p.description, p.productid, p.imageid] for p in train],
    )
    _write_csv(tmp / Y_TRAIN, ["", "prdtypecode"], [[p.row, p.prdtypecode] for p in train])
    _write_csv(
        tmp / X_TEST,
        ["", "designation", "description", "productid", "imageid"],
        [[p.row, p.designation, p.description, p.productid, p.imageid] for p in test],
    )
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return {"out": str(out), "train": n, "test": test_n, "seconds": round(time.perf_counter() - start, 1)}
