"""`rakuten-edge train camembert`: frozen CamemBERT [CLS] features (computed once, cached) + the seed's
Conv1D head, fused with the shared image branch and trained with the seed's Keras settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .. import paths
from ..atomic import staged_dir
from ..errors import UserError
from ..models.registry import get_model
from .artifacts import run_name
from .keras_trainer import fit_and_report, load_splits

ENCODER_DIR = "encoder"


def train(key: str, data: Path = paths.PREPARED, out: Path = paths.RUNS, preset: str = "seed",
          epochs: int | None = None, batch_size: int | None = None, limit: int | None = None,
          seed: int | None = None, camembert: str | None = None, max_length: int | None = None, cache: Path = paths.CACHE, name: str | None = None) -> dict:
    entry = get_model(key)
    config = entry.config(preset).override(epochs=epochs, batch_size=batch_size, seed=seed).with_encoder(camembert, max_length)
    encoder_cfg = config.encoder
    name_or_path = encoder_cfg.name_or_path
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from ..models.camembert import check_max_length, cls_embeddings, fingerprint, load_encoder, text_encoder
    from ..models.keras_builders import build_keras_model

    train_split, val_split = load_splits(Path(data), limit, config.image.size)
    encoder, tokenizer = load_encoder(name_or_path)
    check_max_length(encoder, encoder_cfg.max_length)
    folder = Path(out) / (name or run_name(key, preset))
    with staged_dir(folder) as tmp:
        # The run carries its encoder, so export and bench need nothing outside the run folder.
        encoder.save_pretrained(tmp / ENCODER_DIR, safe_serialization=True)
        tokenizer.save_pretrained(tmp / ENCODER_DIR)
        ids = text_encoder(tokenizer, tmp / ENCODER_DIR, encoder_cfg.max_length)
        model_id = fingerprint(encoder, tmp / ENCODER_DIR / "tokenizer.json", encoder_cfg.max_length)
        t0 = time.perf_counter()
        x_train = cls_embeddings(encoder, ids, train_split.texts, encoder_cfg.batch_size, Path(cache), model_id, "embedding train")
        hits = cls_embeddings.last_hits
        x_val = cls_embeddings(encoder, ids, val_split.texts, encoder_cfg.batch_size, Path(cache), model_id, "embedding val")
        hits += cls_embeddings.last_hits
        embed_seconds = time.perf_counter() - t0
        embedded = len(train_split) + len(val_split) - hits
        if not (x_train.shape[1] == x_val.shape[1] == encoder.config.hidden_size):
            raise UserError("embedding width differs from the encoder's hidden size")

        keras.utils.set_random_seed(config.training.seed)
        extra = {"encoder": name_or_path, "encoder_id": model_id, "embedding_cache_hits": hits, "embedded_texts": embedded,
                 "embedding_texts_per_s": round(embedded / embed_seconds, 1) if embedded else None}
        metrics = fit_and_report(build_keras_model(config, cls_dim=encoder.config.hidden_size), config, tmp, Path(data),
                                 train_split, val_split, x_train, x_val, f"frozen encoder {name_or_path} + head", extra)
    return {**metrics, "run": str(folder)}
