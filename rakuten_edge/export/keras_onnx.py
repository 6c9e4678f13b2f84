"""Keras models -> ONNX through tf2onnx (BiLSTMs become native ONNX LSTM ops); the native Keras path."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from ..models.config import ModelConfig
from ..models.registry import config_of, entry_of
from ..run import Run
from ..runtime.batching import run_batched
from ..tables.text_kinds import kind_of_branch
from .contract import Predict

OPSET = 17
NATIVE_BATCH = 256  # what Keras' predict() uses here; the compiled call below keeps the same slices


def tf_threads(threads: int | None) -> None:
    """TensorFlow's thread pools; only settable before TF runs anything (a bench worker is a fresh process)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)


@lru_cache(maxsize=4)
def load_keras(path: Path):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras.saving.load_model(path)


def compiled(model):
    """The model as a compiled tf.function over a list of inputs: Keras eager calls are ~40x slower."""
    import tensorflow as tf

    call = tf.function(lambda *inputs: model(list(inputs), training=False), reduce_retracing=True)
    return lambda *arrays: call(*(tf.constant(a) for a in arrays)).numpy()


def input_specs(config: ModelConfig) -> list[dict]:
    return kind_of_branch(config.text.kind).specs(config.image.size, config.text.sequence_length)


def convert(model, specs: list[dict], dest: Path) -> None:
    """tf2onnx with a dynamic batch axis and the given input names (they become the ONNX names); named axes
    ("sequence") stay dynamic too."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    def shape(spec: dict) -> tuple:
        return (None, *(d if isinstance(d, int) else None for d in spec["shape"][1:]))

    signature = [tf.TensorSpec(shape(s), getattr(tf, s["dtype"]), name=s["name"]) for s in specs]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    onnx.save(proto, dest)


def to_onnx(run: Run, dest: Path) -> None:
    convert(load_keras(run.keras_path), input_specs(config_of(run)), dest)


def native(run: Run, threads: int | None = None, device: str = "cpu") -> Predict:
    """The Keras model as feeds -> probs through a compiled tf.function, NATIVE_BATCH rows per call."""
    tf_threads(threads)
    call, names = compiled(load_keras(run.keras_path)), entry_of(run).inputs
    width = config_of(run).num_classes
    return lambda feeds: run_batched(lambda chunk: call(*(chunk[n] for n in names)), feeds, NATIVE_BATCH, width)


def text_section(run: Run, bundle: Path) -> tuple[dict, list[str]]:
    """Copy the vocabulary into the bundle; return the manifest's text section and the files written."""
    (bundle / Run.VOCAB).write_bytes(run.vocab_path.read_bytes())
    text = config_of(run).text
    return {
        "kind": "keras-vectorizer",
        "vocabulary": Run.VOCAB,
        "sequence_length": text.sequence_length,
        "max_tokens": text.max_tokens,
        "standardize": "lower_and_strip_punctuation",
        "split": "whitespace",
    }, [Run.VOCAB]
