"""The runtime's text encoders, one per text kind (tables/text_kinds.py names them): texts -> the graph's text feeds.

Each is (bundle, manifest text section) -> (list[str] -> arrays, in the order of the kind's text_inputs).
"""

from __future__ import annotations

from pathlib import Path

from .manifest import inside
from .ngrams import HashedNgrams, NgramSpec
from .preprocess import TextVectorizer, TransformerTextEncoder


def keras_vectorizer(bundle: Path, text: dict):
    vectorizer = TextVectorizer.load(inside(bundle, text["vocabulary"]), int(text["sequence_length"]))
    return lambda texts: (vectorizer(texts),)


def hf_tokenizer(bundle: Path, text: dict):
    encoder = TransformerTextEncoder(
        inside(bundle, text["tokenizer"]), int(text["max_length"]), int(text["pad_id"]), str(text["pad_token"])
    )
    return encoder.arrays


def hashed_ngrams(bundle: Path, text: dict):
    return HashedNgrams.load(NgramSpec.from_dict(text), inside(bundle, text["idf"]))
