"""Keras models -> ONNX through tf2onnx (BiLSTMs become native ONNX LSTM ops)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..models.config import ModelConfig
from ..training.artifacts import MODEL_KERAS, VOCAB

OPSET = 17


@lru_cache(maxsize=4)
def load_keras(run: Path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras.saving.load_model(run / MODEL_KERAS)


def input_specs(config: ModelConfig) -> list[dict]:
    size = config.image.size
    return [{"name": "image", "shape": ["batch", size, size, 1], "dtype": "float32"},
            {"name": "tokens", "shape": ["batch", config.text.sequence_length], "dtype": "int32"}]


def convert(model, specs: list[dict], dest: Path) -> None:
    """tf2onnx with a dynamic batch axis and the given input names (they become the ONNX names)."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    signature = [tf.TensorSpec((None, *spec["shape"][1:]), getattr(tf, spec["dtype"]), name=spec["name"]) for spec in specs]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    onnx.save(proto, dest)


def to_onnx(run: Path, config: ModelConfig, dest: Path) -> None:
    convert(load_keras(Path(run)), input_specs(config), dest)


def native(run: Path, config: ModelConfig):
    """The native model as feeds -> probs, through predict() (a compiled tf.function, not eager calls)."""
    model = load_keras(Path(run))

    def predict(feeds: dict[str, np.ndarray]) -> np.ndarray:
        return model.predict([feeds["image"], feeds["tokens"]], batch_size=256, verbose=0)

    return predict


def text_section(run: Path, config: ModelConfig, bundle: Path) -> tuple[dict, list[str]]:
    """Copy the vocabulary into the bundle; return the manifest's text section and the files written."""
    (bundle / VOCAB).write_bytes((Path(run) / VOCAB).read_bytes())
    return {"kind": "keras-vectorizer", "vocabulary": VOCAB, "sequence_length": config.text.sequence_length,
            "max_tokens": config.text.max_tokens, "standardize": "lower_and_strip_punctuation",
            "split": "whitespace"}, [VOCAB]
