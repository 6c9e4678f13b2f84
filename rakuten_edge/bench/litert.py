"""The LiteRT (TFLite) peer of the token-input Keras CNNs: conversion, runner and size for tables/formats.py."""

from __future__ import annotations

from pathlib import Path

from ..export.contract import Predict
from ..models.registry import entry_of
from ..run import Run
from ..tables.formats import Format
from .subject import Subject


def flatbuffer(subject: Subject, fmt: Format, batch: int) -> Path:
    return Path(subject.workdir) / f"{subject.name}-{fmt.name}-b{batch}.tflite"


def convert(subject: Subject, fmt: Format, batches: list[int]) -> None:
    """Keras -> LiteRT flatbuffers (fp32, or dynamic-range int8 weights), one per static batch size: the export's
    own conversion (export/litert.py)."""
    from ..export.litert import convert as to_flatbuffer

    for batch in batches:
        to_flatbuffer(Run(subject.run), fmt.precision.lossy, batch, flatbuffer(subject, fmt, batch))


def runner(subject: Subject, fmt: Format, threads: int) -> Predict:
    from ai_edge_litert.interpreter import Interpreter

    names = entry_of(Run(subject.run)).inputs
    interpreters: dict[int, object] = {}

    def interpreter(batch: int):
        # The LSTM lowering needs static shapes: one flatbuffer per batch size, converted beforehand.
        if batch not in interpreters:
            it = Interpreter(model_path=str(flatbuffer(subject, fmt, batch)), num_threads=threads)
            it.allocate_tensors()
            interpreters[batch] = it
        return interpreters[batch]

    def predict(feeds):
        it = interpreter(len(feeds[names[0]]))
        for detail in it.get_input_details():
            # SavedModel signatures name tensors "serving_default_<input>:0": match on our input name.
            name = next(n for n in names if n in detail["name"])
            it.set_tensor(detail["index"], feeds[name].astype(detail["dtype"]))
        it.invoke()
        return it.get_tensor(it.get_output_details()[0]["index"]).copy()

    return predict


def size(subject: Subject, fmt: Format) -> float | None:
    path = flatbuffer(subject, fmt, 1)
    return path.stat().st_size / 2**20 if path.is_file() else None
