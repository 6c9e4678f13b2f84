"""camembert-ft: the whole PyTorch module in one ONNX file (dynamic batch and sequence axes)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..run import Run
from ..runtime.batching import run_batched
from .contract import Predict
from .keras_onnx import OPSET
from .transformer_io import input_specs, text_section, torch_threads

__all__ = ["input_specs", "native", "text_section", "to_onnx", "load_module"]


@lru_cache(maxsize=2)
def load_module(run: Run):
    """Rebuild the module from config + safetensors (no pickle anywhere)."""
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel

    from ..models.torch_fusion import build_torch_model

    encoder = AutoModel.from_config(AutoConfig.from_pretrained(run.encoder_dir), add_pooling_layer=False)
    module = build_torch_model(run.config, encoder)
    module.load_state_dict(load_file(run.weights_path))
    return module.eval()


def to_onnx(run: Run, dest: Path) -> None:
    import torch

    module = load_module(run)
    config = run.config
    size, length = config.image.size, config.encoder.max_length
    args = (
        torch.zeros(2, size, size, 1),
        torch.ones(2, length, dtype=torch.int64),
        torch.ones(2, length, dtype=torch.int64),
    )
    names = ["image", "input_ids", "attention_mask"]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", max=4096)
    with torch.inference_mode():
        try:
            program = torch.onnx.export(
                module,
                args,
                input_names=names,
                output_names=["probs"],
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                dynamic_shapes={
                    "image": {0: batch},
                    "input_ids": {0: batch, 1: seq},
                    "attention_mask": {0: batch, 1: seq},
                },
            )
            program.save(str(dest), external_data=False)
        except Exception:  # noqa: BLE001 - the TorchScript exporter still handles what dynamo cannot
            torch.onnx.export(
                module,
                args,
                str(dest),
                input_names=names,
                output_names=["probs"],
                opset_version=OPSET,
                dynamo=False,
                dynamic_axes={
                    "image": {0: "batch"},
                    "input_ids": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "probs": {0: "batch"},
                },
            )


def native(run: Run, threads: int | None = None, device: str = "cpu") -> Predict:
    """The PyTorch module under inference_mode, on the GPU when asked and present (.cpu() synchronises)."""
    import torch

    torch_threads(threads)
    target = torch.device("cuda" if device == "cuda" and torch.cuda.is_available() else "cpu")
    module, names = load_module(run).to(target), run.entry.inputs

    def chunk_probs(chunk: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return module(*(torch.from_numpy(chunk[n]).to(target) for n in names)).cpu().numpy()

    return lambda feeds: run_batched(chunk_probs, feeds, 64, run.config.num_classes)
