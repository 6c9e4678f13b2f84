"""Shared by the two CamemBERT exporters: their inputs and the tokenizer they ship."""

from __future__ import annotations

import json
from pathlib import Path

from ..models.config import ModelConfig
from ..models.registry import config_of
from ..run import Run
from ..tables.text_kinds import kind_of_branch


def input_specs(config: ModelConfig) -> list[dict]:
    """Batch and sequence axes are dynamic in the graph; the runtime pads to the manifest's max_length."""
    return kind_of_branch(config.text.kind).specs(config.image.size, config.encoder.max_length)


def text_section(run: Run, bundle: Path) -> tuple[dict, list[str]]:
    """Ship the run's tokenizer.json; the runtime pads/truncates to max_length with the pad token below."""
    (bundle / Run.TOKENIZER).write_bytes(run.tokenizer_path.read_bytes())
    special = json.loads((run.encoder_dir / "special_tokens_map.json").read_text())
    pad_token = special["pad_token"] if isinstance(special["pad_token"], str) else special["pad_token"]["content"]
    pad_id = json.loads((run.encoder_dir / "config.json").read_text())["pad_token_id"]
    encoder = config_of(run).encoder
    return {
        "kind": "hf-tokenizer",
        "tokenizer": Run.TOKENIZER,
        "max_length": encoder.max_length,
        "pad_id": pad_id,
        "pad_token": pad_token,
        "encoder": encoder.name_or_path,
    }, [Run.TOKENIZER]


def torch_threads(threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)
