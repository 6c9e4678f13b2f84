"""Shared by the two CamemBERT exporters: their inputs and the tokenizer they ship."""

from __future__ import annotations

import json
from pathlib import Path

from ..models.config import ModelConfig

ENCODER_DIR, TOKENIZER_JSON = "encoder", "tokenizer.json"


def input_specs(config: ModelConfig) -> list[dict]:
    """Batch and sequence axes are dynamic in the graph; the runtime pads to the manifest's max_length."""
    size = config.image.size
    return [{"name": "image", "shape": ["batch", size, size, 1], "dtype": "float32"},
            {"name": "input_ids", "shape": ["batch", "sequence"], "dtype": "int64"},
            {"name": "attention_mask", "shape": ["batch", "sequence"], "dtype": "int64"}]


def text_section(run: Path, config: ModelConfig, bundle: Path) -> tuple[dict, list[str]]:
    """Ship the run's tokenizer.json; the runtime pads/truncates to max_length with the pad token below."""
    src = Path(run) / ENCODER_DIR
    (bundle / TOKENIZER_JSON).write_bytes((src / TOKENIZER_JSON).read_bytes())
    special = json.loads((src / "special_tokens_map.json").read_text())
    pad_token = special["pad_token"] if isinstance(special["pad_token"], str) else special["pad_token"]["content"]
    pad_id = json.loads((src / "config.json").read_text())["pad_token_id"]
    return {"kind": "hf-tokenizer", "tokenizer": TOKENIZER_JSON, "max_length": config.encoder.max_length,
            "pad_id": pad_id, "pad_token": pad_token, "encoder": config.encoder.name_or_path}, [TOKENIZER_JSON]
