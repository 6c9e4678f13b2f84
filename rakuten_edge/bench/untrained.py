"""Seed-size models with random weights, exported like trained ones: latency does not depend on training.

CamemBERT here is base-size (hidden 768, 12 layers, 12 heads, vocabulary 32,005) at sequence 128, with a
tokenizer trained offline on generated text (no hub). Accuracy columns stay empty for these rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data.prepared import Split
from ..data.synth import make_products
from ..models.registry import REGISTRY
from ..progress import console
from ..runtime.preprocess import TextVectorizer, product_text

BASE = {"vocab_size": 32_005, "hidden": 768, "layers": 12, "heads": 12, "intermediate": 3072}


def _sample(n: int, size: int, seed: int) -> Split:
    products = make_products(n, seed)
    rng = np.random.default_rng(seed)
    texts = [product_text(p.designation, p.description) for p in products]
    return Split("synthetic", np.arange(n), np.arange(n), texts, np.zeros(n, np.int64),
                 rng.integers(0, 27, n).astype(np.int32), rng.integers(0, 256, (n, size, size), dtype=np.uint8))


def _write_run(run: Path, config, extra: dict) -> None:
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(config.to_dict(), indent=1))
    (run / "metrics.json").write_text(json.dumps({"key": config.key, "untrained": True, **extra}, indent=1))


def build(root: Path, keys: list[str], bundles: Path) -> list[Path]:
    """Build, save and export (fp32 + int8, recipe by latency) each model; returns the run folders."""
    import keras
    from safetensors.torch import save_file

    from ..export import export_run
    from ..models.camembert import random_encoder, train_tokenizer
    from ..models.keras_builders import build_keras_model
    from ..models.torch_fusion import build_torch_model

    runs = []
    val, calib = _sample(64, 128, 1), _sample(32, 128, 2)
    for key in keys:
        config = REGISTRY[key].config("seed")
        run = Path(root) / f"{key}-untrained"
        console.print(f"[bold]{key}[/]: building the seed-size model with random weights")
        keras.utils.set_random_seed(0)
        if REGISTRY[key].inputs == ("image", "tokens"):
            model = build_keras_model(config)
            _write_run(run, config, {"parameters": int(model.count_params())})
            model.save(run / "model.keras")
            TextVectorizer.adapt(val.texts + calib.texts, config.text.max_tokens, config.text.sequence_length).save(run / "vocab.txt")
        else:
            tokenizer = train_tokenizer([t for t in _sample(400, 8, 3).texts], 2000)
            encoder = random_encoder(tokenizer, BASE["vocab_size"], BASE["hidden"], BASE["layers"], BASE["heads"],
                                     BASE["intermediate"], config.encoder.max_length)
            enc_dir = run / "encoder"
            enc_dir.mkdir(parents=True, exist_ok=True)
            tokenizer.save_pretrained(enc_dir)
            tokenizer.backend_tokenizer.save(str(enc_dir / "tokenizer.json"))
            if REGISTRY[key].framework == "torch":
                module = build_torch_model(config, encoder).eval()
                encoder.config.save_pretrained(enc_dir)
                _write_run(run, config, {"parameters": int(sum(p.numel() for p in module.parameters()))})
                save_file({k: v.contiguous() for k, v in module.state_dict().items()}, run / "model.safetensors")
            else:
                encoder.save_pretrained(enc_dir, safe_serialization=True)
                head = build_keras_model(config, cls_dim=BASE["hidden"])
                _write_run(run, config, {"parameters": int(head.count_params() + sum(p.numel() for p in encoder.parameters()))})
                head.save(run / "model.keras")
        export_run(run, bundles, quantize=True, sample=(val, calib), select="fastest")
        runs.append(run)
    return runs
