"""One runner per format of export/formats.py: load(subject, threads) -> predict(feeds) -> probs.

A subject is a dict: {"model": key, "run": path or None, "config": dict, "bundles": {"fp32": path, "int8": path},
"workdir": path}. Heavy imports stay inside each runner: the worker process imports only what it measures.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

Predict = Callable[[dict[str, np.ndarray]], np.ndarray]


def _config(subject):
    from ..models.config import ModelConfig

    return ModelConfig.from_dict(subject["config"])


def _tf_threads(threads: int) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def native(subject: dict, threads: int) -> Predict:
    """Keras through a compiled tf.function (never eager calls); PyTorch under inference_mode."""
    config, framework = _config(subject), subject["framework"]
    run = Path(subject["run"])
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        from ..export.torch_onnx import load_module

        module = load_module(run, json.dumps(config.to_dict(), sort_keys=True))
        # --provider cuda: native GPU timings where a GPU exists (.cpu() synchronises before the timer stops).
        device = torch.device("cuda" if subject.get("provider") == "cuda" and torch.cuda.is_available() else "cpu")
        module = module.to(device)
        names = ("image", "input_ids", "attention_mask")

        def predict(feeds):
            with torch.inference_mode():
                return module(*(torch.from_numpy(feeds[n]).to(device) for n in names)).cpu().numpy()
        return predict

    _tf_threads(threads)
    import tensorflow as tf

    from ..export.keras_onnx import load_keras

    model = load_keras(run)
    if subject["model"] == "camembert":  # frozen encoder (PyTorch, as trained) + the Keras head
        import torch

        torch.set_num_threads(threads)
        from ..export.camembert_onnx import _encoder

        encoder = _encoder(run)
        head = tf.function(lambda image, cls: model([image, cls], training=False))

        def predict(feeds):
            with torch.inference_mode():
                cls = encoder(input_ids=torch.from_numpy(feeds["input_ids"]),
                              attention_mask=torch.from_numpy(feeds["attention_mask"])).last_hidden_state[:, 0].numpy()
            return head(tf.constant(feeds["image"]), tf.constant(cls)).numpy()
        return predict

    call = tf.function(lambda image, tokens: model([image, tokens], training=False), reduce_retracing=True)
    return lambda feeds: call(tf.constant(feeds["image"]), tf.constant(feeds["tokens"])).numpy()


def _onnx(precision: str) -> Callable[[dict, int], Predict]:
    def load(subject: dict, threads: int) -> Predict:
        from ..runtime import load as load_bundle

        clf = load_bundle(subject["bundles"][precision], providers=[subject.get("provider", "cpu")], threads=threads)
        names = clf.input_names
        return lambda feeds: clf.session.run(["probs"], {n: feeds[n] for n in names})[0]
    return load


def litert_path(subject: dict, precision: str, batch: int) -> Path:
    return Path(subject["workdir"]) / f"{subject['name']}-{precision}-b{batch}.tflite"


def _litert(precision: str) -> Callable[[dict, int], Predict]:
    def load(subject: dict, threads: int) -> Predict:
        from ai_edge_litert.interpreter import Interpreter

        interpreters: dict[int, object] = {}

        def interpreter(batch: int):
            # The LSTM lowering needs static shapes: one flatbuffer per batch size, converted beforehand.
            if batch not in interpreters:
                it = Interpreter(model_path=str(litert_path(subject, precision, batch)), num_threads=threads)
                it.allocate_tensors()
                interpreters[batch] = it
            return interpreters[batch]

        def predict(feeds):
            it = interpreter(len(feeds["image"]))
            for d in it.get_input_details():
                it.set_tensor(d["index"], feeds["tokens" if "tokens" in d["name"] else "image"].astype(d["dtype"]))
            it.invoke()
            return it.get_tensor(it.get_output_details()[0]["index"]).copy()
        return predict
    return load


def convert_litert(subject: dict, precision: str, batches: list[int]) -> None:
    """Keras -> LiteRT flatbuffers (fp32, or dynamic-range int8 weights), one per static batch size.

    Through Keras' own SavedModel export: freezing a tf.function fails on the LSTMs' dropout seed state."""
    import tempfile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    from ..export.keras_onnx import load_keras

    model = load_keras(Path(subject["run"]))
    size, length = model.inputs[0].shape[1], model.inputs[1].shape[1]
    for batch in batches:
        with tempfile.TemporaryDirectory() as tmp:
            signature = [[tf.TensorSpec((batch, size, size, 1), tf.float32, name="image"),
                          tf.TensorSpec((batch, length), tf.int32, name="tokens")]]
            model.export(tmp, format="tf_saved_model", verbose=False, input_signature=signature)
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
            if precision == "int8":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
            litert_path(subject, precision, batch).write_bytes(converter.convert())


PREPARE = {"litert-fp32": lambda subject, batches: convert_litert(subject, "fp32", batches),
           "litert-int8": lambda subject, batches: convert_litert(subject, "int8", batches)}


RUNNERS: dict[str, Callable[[dict, int], Predict]] = {
    "native": native,
    "onnx-fp32": _onnx("fp32"),
    "onnx-int8": _onnx("int8"),
    "litert-fp32": _litert("fp32"),
    "litert-int8": _litert("int8"),
}


def artifact_size_mb(subject: dict, fmt: str) -> float | None:
    """Size of what a user would ship for this format."""
    if fmt.startswith("onnx-"):
        return (Path(subject["bundles"][fmt.split("-")[1]]) / "model.onnx").stat().st_size / 2**20
    if fmt.startswith("litert-"):
        path = litert_path(subject, fmt.split("-")[1], 1)
        return path.stat().st_size / 2**20 if path.is_file() else None
    run = Path(subject["run"])
    files = [run / "model.keras", run / "model.safetensors"] + list((run / "encoder").glob("*.safetensors"))
    return sum(f.stat().st_size for f in files if f.is_file()) / 2**20
