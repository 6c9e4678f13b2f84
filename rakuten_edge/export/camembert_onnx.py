"""camembert (frozen): the encoder through optimum, the Keras head through tf2onnx, composed into ONE graph
(image, input_ids, attention_mask) -> probs."""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..models.config import ModelConfig
from .keras_onnx import OPSET, convert, load_keras
from .transformer_io import ENCODER_DIR, input_specs, text_section

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


def to_onnx(run: Path, config: ModelConfig, dest: Path) -> None:
    import onnx
    from onnx import compose
    from optimum.exporters.onnx import main_export

    run = Path(run)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        main_export(str(run / ENCODER_DIR), tmp / "encoder", task="feature-extraction", opset=OPSET,
                    do_validation=False, library_name="transformers")
        encoder = _with_cls_output(onnx.load(str(tmp / "encoder" / "model.onnx")))
        head_specs = [input_specs(config)[0], {"name": "cls_embedding", "shape": ["batch", load_keras(run).inputs[1].shape[1]],
                                               "dtype": "float32"}]
        convert(load_keras(run), head_specs, tmp / "head.onnx")
        head = onnx.load(str(tmp / "head.onnx"))
    ir = min(encoder.ir_version, head.ir_version)
    encoder.ir_version = head.ir_version = ir
    for m in (encoder, head):
        dedupe_opsets(m)
    merged = compose.merge_models(encoder, head, io_map=[("cls", "cls_embedding")], prefix1="enc_", prefix2="head_")
    _rename(merged, {"enc_input_ids": "input_ids", "enc_attention_mask": "attention_mask", "head_image": "image",
                     "head_probs": "probs"})
    # Keep only the public output; inputs in the product's order.
    keep = [o for o in merged.graph.output if o.name == "probs"]
    del merged.graph.output[:]
    merged.graph.output.extend(keep)
    order = {"image": 0, "input_ids": 1, "attention_mask": 2}
    inputs = sorted(merged.graph.input, key=lambda i: order.get(i.name, 9))
    del merged.graph.input[:]
    merged.graph.input.extend(inputs)
    dedupe_opsets(merged)
    onnx.checker.check_model(merged)
    onnx.save(merged, str(dest))


@lru_cache(maxsize=2)
def _encoder(run: Path):
    from transformers import AutoModel

    return AutoModel.from_pretrained(run / ENCODER_DIR, add_pooling_layer=False).eval()


def native(run: Path, config: ModelConfig):
    """PyTorch encoder [CLS] -> Keras head predict(): the training-time path."""
    import torch

    run = Path(run)
    encoder, head = _encoder(run), load_keras(run)

    def predict(feeds: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            cls = np.concatenate([
                encoder(input_ids=torch.from_numpy(feeds["input_ids"][i : i + 64]),
                        attention_mask=torch.from_numpy(feeds["attention_mask"][i : i + 64])).last_hidden_state[:, 0].numpy()
                for i in range(0, len(feeds["input_ids"]), 64)])
        return head.predict([feeds["image"], cls], batch_size=256, verbose=0)

    return predict
