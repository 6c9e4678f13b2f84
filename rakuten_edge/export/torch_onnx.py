"""camembert-ft: the whole PyTorch module in one ONNX file (dynamic batch and sequence axes)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..models.config import ModelConfig
from .keras_onnx import OPSET
from .transformer_io import ENCODER_DIR, input_specs, text_section

__all__ = ["input_specs", "native", "text_section", "to_onnx", "load_module"]
WEIGHTS = "model.safetensors"


@lru_cache(maxsize=2)
def load_module(run: Path, config_json: str):
    """Rebuild the module from config + safetensors (no pickle anywhere)."""
    import json

    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel

    from ..models.torch_fusion import build_torch_model

    config = ModelConfig.from_dict(json.loads(config_json))
    encoder = AutoModel.from_config(AutoConfig.from_pretrained(run / ENCODER_DIR), add_pooling_layer=False)
    module = build_torch_model(config, encoder)
    module.load_state_dict(load_file(run / WEIGHTS))
    return module.eval()


def _module(run: Path, config: ModelConfig):
    import json

    return load_module(Path(run), json.dumps(config.to_dict(), sort_keys=True))


def to_onnx(run: Path, config: ModelConfig, dest: Path) -> None:
    import torch

    module = _module(run, config)
    size, length = config.image.size, config.encoder.max_length
    args = (torch.zeros(2, size, size, 1), torch.ones(2, length, dtype=torch.int64), torch.ones(2, length, dtype=torch.int64))
    names = ["image", "input_ids", "attention_mask"]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", max=4096)
    with torch.inference_mode():
        try:
            program = torch.onnx.export(module, args, input_names=names, output_names=["probs"], opset_version=OPSET,
                                        dynamo=True, external_data=False,
                                        dynamic_shapes={"image": {0: batch}, "input_ids": {0: batch, 1: seq},
                                                        "attention_mask": {0: batch, 1: seq}})
            program.save(str(dest), external_data=False)
        except Exception:  # noqa: BLE001 - the TorchScript exporter still handles what dynamo cannot
            torch.onnx.export(module, args, str(dest), input_names=names, output_names=["probs"], opset_version=OPSET,
                              dynamo=False, dynamic_axes={"image": {0: "batch"}, "input_ids": {0: "batch", 1: "sequence"},
                                                          "attention_mask": {0: "batch", 1: "sequence"},
                                                          "probs": {0: "batch"}})


def native(run: Path, config: ModelConfig):
    """The PyTorch module under inference_mode."""
    import torch

    module = _module(run, config)

    def predict(feeds: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return np.concatenate([
                module(*(torch.from_numpy(feeds[k][i : i + 64]) for k in ("image", "input_ids", "attention_mask"))).numpy()
                for i in range(0, len(feeds["image"]), 64)])

    return predict
