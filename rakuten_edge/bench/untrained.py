"""Seed-size models with random weights, exported like trained ones: latency does not depend on training.

CamemBERT here is base-size (hidden 768, 12 layers, 12 heads, vocabulary 32,005) at sequence 128, with a
tokenizer trained offline on generated text (no hub). Accuracy columns stay empty for these rows.
Each registry entry names its builder (`untrained`): (run, config, texts) -> parameter count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.prepared import Split
from ..data.synth import make_products
from ..export.quantize import Selection
from ..models.registry import REGISTRY
from ..progress import console
from ..run import Run
from ..runtime.preprocess import TextVectorizer, product_text

BASE = {"vocab_size": 32_005, "hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072}


def sample(n: int, size: int, seed: int) -> Split:
    products = make_products(n, seed)
    rng = np.random.default_rng(seed)
    texts = [product_text(p.designation, p.description) for p in products]
    return Split(
        "synthetic",
        np.arange(n),
        np.arange(n),
        texts,
        np.zeros(n, np.int64),
        rng.integers(0, 27, n).astype(np.int32),
        rng.integers(0, 256, (n, size, size), dtype=np.uint8),
    )


def keras_tokens(run: Run, config, texts: list[str]) -> int:
    from ..models.keras_builders import build_keras_model

    model = build_keras_model(config)
    model.save(run.keras_path)
    TextVectorizer.adapt(texts, config.text.max_tokens, config.text.sequence_length).save(run.vocab_path)
    return int(model.count_params())


def _base_encoder(run: Run, config):
    from ..models.camembert_tiny import random_encoder, train_tokenizer

    tokenizer = train_tokenizer(sample(400, 8, 3).texts, 2000)
    encoder = random_encoder(
        tokenizer,
        BASE["vocab_size"],
        BASE["hidden"],
        BASE["layers"],
        BASE["heads"],
        BASE["intermediate"],
        config.encoder.max_length,
    )
    run.encoder_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(run.encoder_dir)
    tokenizer.backend_tokenizer.save(str(run.tokenizer_path))
    return encoder


def camembert_frozen(run: Run, config, texts: list[str]) -> int:
    from ..models.keras_builders import build_keras_model

    encoder = _base_encoder(run, config)
    encoder.save_pretrained(run.encoder_dir, safe_serialization=True)
    head = build_keras_model(config, cls_dim=BASE["hidden"])
    head.save(run.keras_path)
    return int(head.count_params() + sum(p.numel() for p in encoder.parameters()))


def camembert_finetuned(run: Run, config, texts: list[str]) -> int:
    from safetensors.torch import save_file

    from ..models.torch_fusion import build_torch_model

    encoder = _base_encoder(run, config)
    module = build_torch_model(config, encoder).eval()
    encoder.config.save_pretrained(run.encoder_dir)
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, run.weights_path)
    return int(sum(p.numel() for p in module.parameters()))


def build(root: Path, keys: list[str], bundles: Path, litert: bool = False) -> list[Run]:
    """Build, save and export (fp32 + int8, recipe by latency; `litert`: gated LiteRT flatbuffers too) each model;
    returns the runs."""
    import keras

    from ..export.pipeline import export_run

    runs = []
    val, calib = sample(64, 128, 1), sample(32, 128, 2)
    for key in keys:
        entry, run = REGISTRY[key], Run(Path(root) / f"{key}-untrained")
        config = entry.config("seed")
        console.print(f"[bold]{key}[/]: building the seed-size model with random weights")
        keras.utils.set_random_seed(0)
        run.write_config(config)
        parameters = entry.load("untrained")(run, config, val.texts + calib.texts)
        run.write_metrics({"key": key, "untrained": True, "parameters": parameters})
        export_run(run, bundles, quantize=True, sample=(val, calib), select=Selection.fastest, litert=litert)
        runs.append(run)
    return runs
