"""A model and a format registered from outside the package, as a plugin would: nothing else is edited.

Importing this module registers them (bench workers import it because the entries name it as their origin);
`-p toy_plugin` loads it into a pytest run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rakuten_edge.choices import Precision
from rakuten_edge.export.keras_onnx import input_specs, text_section  # noqa: F401 - part of the exporter contract
from rakuten_edge.models.config import TINY_IMAGE, ModelConfig, TextBranch
from rakuten_edge.models.registry import config_of, register_model, unregister_model
from rakuten_edge.run import Run
from rakuten_edge.runtime.batching import run_batched
from rakuten_edge.runtime.preprocess import TextVectorizer
from rakuten_edge.tables.formats import Format, register_format, unregister_format

KEY, FORMAT = "toy", "onnx-fp32-cpu-ep"
WEIGHTS = "toy.npz"


@register_model(
    KEY,
    "Toy (mean pixel + mean token id, linear)",
    "keras",
    "keras-vectorizer",
    f"{__name__}:train",
    __name__,
    f"{__name__}:untrained",
)
def presets() -> dict[str, ModelConfig]:
    text = TextBranch("bilstm", max_tokens=500, sequence_length=20)
    return {"seed": ModelConfig(KEY, "seed", text=text), "tiny": ModelConfig(KEY, "tiny", image=TINY_IMAGE, text=text)}


# A new execution-provider format is one entry: the ONNX runner, the fp32 bundle, a pinned provider.
register_format(
    Format(
        FORMAT,
        Precision.fp32,
        "ONNX fp32 pinned to an execution provider (stand-in for a new EP)",
        "rakuten_edge.bench.runners:onnx",
        "rakuten_edge.bench.runners:bundle_size",
        from_bundle=Precision.fp32,
        provider="CPUExecutionProvider",
    )
)


def unregister() -> None:
    unregister_model(KEY)
    unregister_format(FORMAT)


def _features(image: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    return np.stack([image.mean(axis=(1, 2, 3)), tokens.astype(np.float32).mean(axis=1) / 100.0], axis=1)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def _weights(run: Run) -> tuple[np.ndarray, np.ndarray]:
    with np.load(run.folder / WEIGHTS) as z:
        return z["w"], z["b"]


def _save_weights(run: Run, config: ModelConfig, texts: list[str]) -> None:
    rng = np.random.default_rng(config.training.seed)
    w = rng.normal(0, 3, (2, config.num_classes)).astype(np.float32)
    np.savez(run.folder / WEIGHTS, w=w, b=rng.normal(0, 1, config.num_classes).astype(np.float32))
    TextVectorizer.adapt(texts, config.text.max_tokens, config.text.sequence_length).save(run.vocab_path)


def train(ctx) -> dict:
    from rakuten_edge.runtime.preprocess import image_tensor
    from rakuten_edge.training.artifacts import write_run_artifacts

    ctx.run.write_config(ctx.config)
    _save_weights(ctx.run, ctx.config, ctx.train.texts)
    vectorizer = TextVectorizer.load(ctx.run.vocab_path, ctx.config.text.sequence_length)
    probs = native(ctx.run)({"image": image_tensor(ctx.val.pixels), "tokens": vectorizer(ctx.val.texts)})
    history = {"loss": [1.0], "accuracy": [0.1], "val_loss": [1.0], "val_accuracy": [0.1]}
    extra = {"epochs_run": 1, "best_epoch": 1, "train_samples_per_s": 1.0, "data_dir": str(ctx.data.resolve())}
    return write_run_artifacts(
        ctx.run.folder, ctx.config, history, ctx.val.labels, probs, ctx.val.productid, ctx.data_note, extra
    )


def untrained(run: Run, config: ModelConfig, texts: list[str]) -> int:
    _save_weights(run, config, texts)
    return 2 * config.num_classes + config.num_classes


def to_onnx(run: Run, dest: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w, b = _weights(run)
    c = config_of(run)
    nodes = [
        helper.make_node("ReduceMean", ["image", "img_axes"], ["img_mean"], keepdims=0),
        helper.make_node("Cast", ["tokens"], ["tok_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["tok_f", "tok_axes"], ["tok_mean"], keepdims=1),
        helper.make_node("Div", ["tok_mean", "hundred"], ["tok_scaled"]),
        helper.make_node("Concat", ["img_mean", "tok_scaled"], ["features"], axis=1),
        helper.make_node("MatMul", ["features", "w"], ["logits_raw"]),
        helper.make_node("Add", ["logits_raw", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=1),
    ]
    inits = [
        numpy_helper.from_array(np.array([1, 2], np.int64), "img_axes"),
        numpy_helper.from_array(np.array([1], np.int64), "tok_axes"),
        numpy_helper.from_array(np.array(100.0, np.float32), "hundred"),
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(b, "b"),
    ]
    size = c.image.size
    graph = helper.make_graph(
        nodes,
        "toy",
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", size, size, 1]),
            helper.make_tensor_value_info("tokens", TensorProto.INT32, ["batch", c.text.sequence_length]),
        ],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", c.num_classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, str(dest))


def native(run: Run, threads: int | None = None, device: str = "cpu"):
    w, b = _weights(run)

    def chunk_probs(chunk):
        return _softmax(_features(chunk["image"], chunk["tokens"]) @ w + b)

    return lambda feeds: run_batched(chunk_probs, feeds, 256, config_of(run).num_classes)


def pytest_configure(config) -> None:
    """Loaded with `-p toy_plugin`: the registration above already ran at import."""
