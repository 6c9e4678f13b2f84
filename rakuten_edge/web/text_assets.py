"""What the page needs to reproduce each text kind (tables/text_kinds.py's `web_assets`): the parameters that go into
model/config.json and the files that go into model/, read through the runtime's own readers."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from ..runtime.manifest import inside
from ..runtime.ngrams import HashedNgrams, NgramSpec
from ..runtime.preprocess import TextVectorizer


def keras_vectorizer(bundle: Path, text: dict) -> tuple[dict, dict[str, bytes]]:
    """The vocabulary as JSON (the runtime's reader, so the page's ids are the runtime's by construction)."""
    length = int(text["sequence_length"])
    vocab = TextVectorizer.load(inside(bundle, text["vocabulary"]), length).vocabulary
    return {"sequence_length": length, "vocabulary": "vocab.json"}, {"vocab.json": json.dumps(vocab).encode()}


def hashed_ngrams(bundle: Path, text: dict) -> tuple[dict, dict[str, bytes]]:
    """The n-gram rule's parameters and the IDF table, checked by the runtime's loader first."""
    spec = NgramSpec.from_dict(text)
    encoder = HashedNgrams.load(spec, inside(bundle, text["idf"]))
    return {**asdict(spec), "idf": "idf.f32"}, {"idf.f32": encoder.idf.astype("<f4").tobytes()}
