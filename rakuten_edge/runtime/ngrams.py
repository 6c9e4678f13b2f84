"""Hashed word and character n-grams with TF-IDF weights: the text features of the `ngram` model.

Numpy and the standard library only: training and the edge runtime call the same code. The manifest records every
parameter (`spec()`), and the rule is written so that it can be re-implemented exactly elsewhere:

1. tokens: Keras' `lower_and_strip_punctuation` + whitespace split (preprocess.keras_tokens: ASCII lower-casing,
   Keras' punctuation set removed, split on ASCII whitespace), the first `max_words` tokens kept;
2. features: word n-grams for n in `word_ngrams` (tokens joined by one space, prefixed "w:") and character n-grams
   for n in `char_ngrams` of each token padded with one space on each side (Unicode code points, prefixed "c:"),
   in that order;
3. id = zlib.crc32(UTF-8 bytes of the feature, `seed`) mod `buckets` (CRC-32/ISO-HDLC, the one zlib and PNG use; a
   lone surrogate is encoded as U+FFFD, as a browser's TextEncoder does);
4. term frequency = occurrences per id (colliding features add up); weight = (1 + ln tf) * idf[id], where
   idf = ln((1 + n) / (1 + df)) + 1 over the n training texts (scikit-learn's smooth, sublinear TF-IDF);
5. `norm` "joint": at most `max_features` ids per text, the largest weights, ties to the smaller id; the kept weights
   are divided by their L2 norm. `norm` "per-kind": the weights of step 4 are computed for the word and for the
   character n-grams apart (tf counted within the kind), each kind's weights are divided by that kind's L2 norm,
   and an id's weight is the sum over the kinds; then at most `max_features` ids are kept as above, not divided
   again. An empty text has no ids. (A manifest without `norm` means "joint", the rule before it existed.)
6. feeds: `ngram_ids` int32 [N, F] in ascending id order and `ngram_weights` float32 [N, F], padded with id 0 and
   weight 0 to the longest row of the batch (F ≥ 1). The graph sums weight x embedding, so padding adds exactly 0.
"""

from __future__ import annotations

import json
import math
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .preprocess import keras_tokens

IDF_FILE, SPEC_FILE = "ngram_idf.f32", "ngram.json"
TOKENIZER = "keras lower_and_strip_punctuation, whitespace split"


# "per-kind" gives the words and the characters one unit of length each; joint, the ~10x more numerous character
# n-grams outweigh the words. Logistic regression on these features, 20,000 real texts, split seed 0, uncapped
# (AMD EPYC, 2026-12-01): joint 0.7413, per-kind 0.7500, TF-IDF word 1-2 grams 0.7430.
@dataclass(frozen=True)
class Norm:
    per_kind: bool  # each kind (word, char) L2-normalised apart and summed per id; else the kept ids, jointly
    words: str  # the manifest's words for the weighting


NORMS = {
    "joint": Norm(False, "(1 + ln tf) * idf, idf = ln((1 + n) / (1 + df)) + 1, L2-normalised over the kept ids"),
    "per-kind": Norm(
        True,
        "(1 + ln tf) * idf, idf = ln((1 + n) / (1 + df)) + 1, tf counted and L2-normalised within each kind (word, "
        "char), summed per id; the kept ids not normalised again",
    ),
}


@dataclass(frozen=True)
class NgramSpec:
    buckets: int = 65_536
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (3, 5)
    max_words: int = 256
    max_features: int = 1024
    seed: int = 0
    norm: str = "joint"

    def __post_init__(self):
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {self.norm!r}")
        for name, (low, high) in (("word_ngrams", self.word_ngrams), ("char_ngrams", self.char_ngrams)):
            if not 1 <= low <= high:
                raise ValueError(f"{name} must be (low, high) with 1 <= low <= high, got {(low, high)}")
        for name in ("buckets", "max_words", "max_features"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @classmethod
    def from_dict(cls, d: dict) -> NgramSpec:
        return cls(
            int(d["buckets"]),
            tuple(int(x) for x in d["word_ngrams"]),
            tuple(int(x) for x in d["char_ngrams"]),
            int(d["max_words"]),
            int(d["max_features"]),
            int(d["seed"]),
            str(d.get("norm", "joint")),
        )

    def features(self, text: str) -> list[str]:
        tokens = keras_tokens(text)[: self.max_words]
        out = []
        for n in range(self.word_ngrams[0], self.word_ngrams[1] + 1):
            out += ["w:" + " ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
        for token in tokens:
            padded = f" {token} "
            for n in range(self.char_ngrams[0], self.char_ngrams[1] + 1):
                out += ["c:" + padded[i : i + n] for i in range(len(padded) - n + 1)]
        return out

    def counts(self, text: str) -> Counter[int]:
        # One Counter straight from the features: the runtime's path for "joint". Summing kind_counts' two instead
        # took 0.48-0.76 ms a real text against 0.30-0.49 this way (interleaved runs, AMD EPYC without AVX-512).
        seed, buckets = self.seed, self.buckets
        return Counter(zlib.crc32(utf8(f), seed) % buckets for f in self.features(text))

    def kind_counts(self, text: str) -> tuple[Counter[int], Counter[int]]:
        """Occurrences per id of the word n-grams, then of the character n-grams."""
        seed, buckets = self.seed, self.buckets
        out: tuple[Counter[int], Counter[int]] = (Counter(), Counter())
        for f in self.features(text):
            out[f[0] == "c"][zlib.crc32(utf8(f), seed) % buckets] += 1
        return out


def utf8(feature: str) -> bytes:
    """UTF-8 bytes, a lone surrogate (text that came through JSON's \\ud800) as U+FFFD: what a browser's
    TextEncoder writes, so the page hashes the same bytes."""
    try:
        return feature.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in feature).encode("utf-8")


def fit_idf(spec: NgramSpec, texts: Iterable[str]) -> np.ndarray:
    """Smooth IDF per bucket over the training texts (float32, what the bundle stores)."""
    df = np.zeros(spec.buckets, np.int64)
    n = 0
    for text in texts:
        n += 1
        df[list(spec.counts(text))] += 1
    return (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)


class HashedNgrams:
    """texts -> (ngram_ids int32 [N, F], ngram_weights float32 [N, F])."""

    def __init__(self, spec: NgramSpec, idf: np.ndarray):
        if idf.shape != (spec.buckets,):
            raise ValueError(f"idf holds {idf.shape} values, the spec has {spec.buckets} buckets")
        self.spec, self.idf = spec, idf.astype(np.float32)
        self.per_kind = NORMS[spec.norm].per_kind

    def _weights(self, counts: Counter[int]) -> dict[int, float]:
        return {i: (1.0 + math.log(tf)) * float(self.idf[i]) for i, tf in counts.items()}

    def row(self, text: str) -> tuple[list[int], list[float]]:
        if self.per_kind:
            weighted: dict[int, float] = {}
            for counts in self.spec.kind_counts(text):
                kind = self._weights(counts)
                length = math.sqrt(sum(w * w for w in kind.values()))
                for i, w in kind.items():
                    weighted[i] = weighted.get(i, 0.0) + w / length
        else:
            weighted = self._weights(self.spec.counts(text))
        kept = sorted(weighted.items(), key=lambda iw: (-iw[1], iw[0]))[: self.spec.max_features]
        norm = 1.0 if self.per_kind else math.sqrt(sum(w * w for _, w in kept))
        kept.sort()
        return [i for i, _ in kept], [w / norm if norm else 0.0 for _, w in kept]

    def __call__(self, texts: Iterable[str], width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        rows = [self.row(t) for t in texts]
        width = width or max([1, *(len(ids) for ids, _ in rows)])
        ids, weights = np.zeros((len(rows), width), np.int32), np.zeros((len(rows), width), np.float32)
        for r, (i, w) in enumerate(rows):
            ids[r, : len(i)], weights[r, : len(w)] = i, w
        return ids, weights

    def save(self, folder: Path, spec_file: bool = True) -> list[str]:
        """The IDF (little-endian float32) and, for a run folder, the spec (JSON) into `folder`; returns the names.
        A bundle keeps the spec in its manifest instead."""
        (folder / IDF_FILE).write_bytes(self.idf.astype("<f4").tobytes())
        if spec_file:
            (folder / SPEC_FILE).write_text(json.dumps(asdict(self.spec), indent=1), encoding="utf-8")
        return [IDF_FILE, SPEC_FILE] if spec_file else [IDF_FILE]

    @classmethod
    def from_run(cls, folder: Path) -> HashedNgrams:
        spec = NgramSpec.from_dict(json.loads((folder / SPEC_FILE).read_text(encoding="utf-8")))
        return cls.load(spec, folder / IDF_FILE)

    @classmethod
    def load(cls, spec: NgramSpec, idf_path: Path) -> HashedNgrams:
        idf = np.frombuffer(idf_path.read_bytes(), "<f4")
        if len(idf) != spec.buckets:
            raise ValueError(f"{idf_path.name} holds {len(idf)} values, the spec has {spec.buckets} buckets")
        return cls(spec, idf.astype(np.float32))
