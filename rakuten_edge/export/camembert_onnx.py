"""camembert (frozen): the encoder through optimum, the Keras head through tf2onnx, composed into ONE graph
(image, input_ids, attention_mask) -> probs."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..models.registry import config_of, entry_of
from ..run import Run
from ..runtime.batching import run_batched
from ..tables.text_kinds import IMAGE, PROBS
from .contract import Predict
from .keras_onnx import NATIVE_BATCH, OPSET, compiled, convert, load_keras, tf_threads
from .transformer_io import input_specs, text_section, torch_threads

__all__ = ["input_specs", "native", "text_section", "to_onnx"]


def _with_cls_output(encoder):
    """Append last_hidden_state[:, 0] as the encoder graph's only output, named `cls`."""
    import onnx
    from onnx import TensorProto, helper

    graph = encoder.graph
    hidden = next(o.name for o in graph.output if o.name == "last_hidden_state")
    graph.initializer.append(helper.make_tensor("cls_index", TensorProto.INT64, [], [0]))
    graph.node.append(helper.make_node("Gather", [hidden, "cls_index"], ["cls"], axis=1, name="cls_gather"))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("cls", TensorProto.FLOAT, ["batch", None]))
    return onnx.shape_inference.infer_shapes(encoder)


def _rename(model, mapping: dict[str, str]) -> None:
    for value in list(model.graph.input) + list(model.graph.output):
        value.name = mapping.get(value.name, value.name)
    for node in model.graph.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]


def dedupe_opsets(model) -> None:
    """One opset import per domain (the highest): merged graphs repeat them, and quantization trips on it."""
    best: dict[str, int] = {}
    for imp in model.opset_import:
        best[imp.domain] = max(best.get(imp.domain, 0), imp.version)
    del model.opset_import[:]
    for domain, version in sorted(best.items()):
        model.opset_import.add(domain=domain, version=version)


def to_onnx(run: Run, dest: Path) -> None:
    import onnx
    from onnx import compose
    from optimum.exporters.onnx import main_export

    head_model, kind = load_keras(run.keras_path), entry_of(run).text
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        main_export(
            str(run.encoder_dir),
            tmp / "encoder",
            task="feature-extraction",
            opset=OPSET,
            do_validation=False,
            library_name="transformers",
        )
        encoder = _with_cls_output(onnx.load(str(tmp / "encoder" / "model.onnx")))
        cls_spec = {"name": "cls_embedding", "shape": ["batch", head_model.inputs[1].shape[1]], "dtype": "float32"}
        convert(head_model, [input_specs(config_of(run))[0], cls_spec], tmp / "head.onnx")
        head = onnx.load(str(tmp / "head.onnx"))
    ir = min(encoder.ir_version, head.ir_version)
    encoder.ir_version = head.ir_version = ir
    for m in (encoder, head):
        dedupe_opsets(m)
    merged = compose.merge_models(encoder, head, io_map=[("cls", "cls_embedding")], prefix1="enc_", prefix2="head_")
    _rename(
        merged,
        {**{f"enc_{n}": n for n in kind.text_inputs}, f"head_{IMAGE}": IMAGE, f"head_{PROBS}": PROBS},
    )
    # Keep only the public output; inputs in the product's order.
    keep = [o for o in merged.graph.output if o.name == PROBS]
    del merged.graph.output[:]
    merged.graph.output.extend(keep)
    order = {name: i for i, name in enumerate(kind.inputs)}
    inputs = sorted(merged.graph.input, key=lambda i: order.get(i.name, 9))
    del merged.graph.input[:]
    merged.graph.input.extend(inputs)
    dedupe_opsets(merged)
    onnx.checker.check_model(merged)
    onnx.save(merged, str(dest))


@lru_cache(maxsize=2)
def load_encoder(encoder_dir: Path):
    from transformers import AutoModel

    return AutoModel.from_pretrained(encoder_dir, add_pooling_layer=False).eval()


def native(run: Run, threads: int | None = None, device: str = "cpu") -> Predict:
    """The training-time path: the PyTorch encoder's [CLS] vector, then the Keras head as a compiled call."""
    import torch

    tf_threads(threads)
    torch_threads(threads)
    encoder, head = load_encoder(run.encoder_dir), compiled(load_keras(run.keras_path))
    kind = entry_of(run).text
    width = config_of(run).num_classes

    def chunk_probs(chunk: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            ids, mask = (torch.from_numpy(chunk[k]) for k in kind.text_inputs)
            cls = encoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0].numpy()
        return head(chunk[IMAGE], cls)

    # 64 rows per encoder call: base-size attention over 128 tokens peaks at a few hundred MB per 64 rows.
    return lambda feeds: run_batched(chunk_probs, feeds, min(64, NATIVE_BATCH), width)
