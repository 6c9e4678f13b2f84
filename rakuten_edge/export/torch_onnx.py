"""camembert-ft: the whole PyTorch module in one ONNX file (dynamic batch and sequence axes)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..models.registry import config_of, entry_of
from ..run import Run
from ..runtime.batching import run_batched
from ..tables.text_kinds import PROBS
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
    module = build_torch_model(config_of(run), encoder)
    module.load_state_dict(load_file(run.weights_path))
    return module.eval()


def to_onnx(run: Run, dest: Path) -> None:
    import torch

    module = load_module(run)
    config = config_of(run)
    specs = input_specs(config)
    # Two rows of each input, its sequence axis at max_length: the exporters trace with these.
    length = config.encoder.max_length
    args = tuple(
        torch.ones(
            [2, *(d if isinstance(d, int) else length for d in s["shape"][1:])], dtype=getattr(torch, s["dtype"])
        )
        for s in specs
    )
    names = [s["name"] for s in specs]
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence", max=4096)
    # Axis 0 is the batch everywhere; a named axis 1 is the text's sequence.
    axes = {s["name"]: {i: d for i, d in enumerate(s["shape"]) if isinstance(d, str)} for s in specs}
    dims = {"batch": batch, "sequence": seq}
    with torch.inference_mode():
        try:
            program = torch.onnx.export(
                module,
                args,
                input_names=names,
                output_names=[PROBS],
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                dynamic_shapes={n: {i: dims[d] for i, d in a.items()} for n, a in axes.items()},
            )
            program.save(str(dest), external_data=False)
        except Exception:  # noqa: BLE001 - the TorchScript exporter still handles what dynamo cannot
            torch.onnx.export(
                module,
                args,
                str(dest),
                input_names=names,
                output_names=[PROBS],
                opset_version=OPSET,
                dynamo=False,
                dynamic_axes={**axes, PROBS: {0: "batch"}},
            )


def native(run: Run, threads: int | None = None, device: str = "cpu") -> Predict:
    """The PyTorch module under inference_mode, on the GPU when asked and present (.cpu() synchronises)."""
    import torch

    torch_threads(threads)
    target = torch.device("cuda" if device == "cuda" and torch.cuda.is_available() else "cpu")
    module, names = load_module(run).to(target), entry_of(run).inputs

    def chunk_probs(chunk: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            return module(*(torch.from_numpy(chunk[n]).to(target) for n in names)).cpu().numpy()

    return lambda feeds: run_batched(chunk_probs, feeds, 64, config_of(run).num_classes)
