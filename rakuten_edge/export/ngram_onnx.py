"""The n-gram model's exporter: the Keras graph goes through tf2onnx like cnn1-3; its text section is the n-gram rule
and the IDF table (runtime/ngrams.py), so the runtime needs neither scikit-learn nor a vocabulary."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ..models.config import ModelConfig
from ..models.registry import config_of
from ..run import Run
from ..runtime.ngrams import NORMS, TOKENIZER, HashedNgrams
from ..tables.text_kinds import get_text_kind
from .keras_onnx import convert, load_keras, native

__all__ = ["input_specs", "native", "text_section", "to_onnx"]
KIND = "hashed-ngrams"


def input_specs(config: ModelConfig) -> list[dict]:
    return get_text_kind(KIND).specs(config.image.size, config.text.sequence_length)


def to_onnx(run: Run, dest: Path) -> None:
    convert(load_keras(run.keras_path), input_specs(config_of(run)), dest)


def text_section(run: Run, bundle: Path) -> tuple[dict, list[str]]:
    """The manifest's text section: every parameter of the rule, the tokenizer, the hash and the IDF file."""
    encoder = HashedNgrams.from_run(run.folder)
    files = encoder.save(bundle, spec_file=False)
    return {
        "kind": KIND,
        **asdict(encoder.spec),  # buckets, word_ngrams, char_ngrams, max_words, max_features, seed, norm
        "tokenizer": TOKENIZER,
        "feature_prefixes": {"word": "w:", "char": "c:"},
        "char_padding": " ",
        "hash": "zlib.crc32(utf-8 bytes, seed) % buckets",
        "weighting": NORMS[encoder.spec.norm].words,
        "keep": "largest weights, ties to the smaller id; fed in ascending id order",
        "idf": files[0],
        "idf_format": "little-endian float32, one per bucket",
        "feeds": "ngram_ids int32 [N, F], ngram_weights float32 [N, F], padded with id 0 and weight 0",
    }, files
