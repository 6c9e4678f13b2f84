"""`rakuten-edge train camembert`: frozen CamemBERT [CLS] features (computed once, cached) + the seed's
Conv1D head, fused with the shared image branch and trained with the seed's Keras settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

from .. import paths
from ..errors import UserError
from .keras_trainer import fit_and_report
from .skeleton import Context


def train(ctx: Context) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from ..models.camembert import check_max_length, fingerprint, load_encoder, text_encoder
    from ..models.cls_cache import cls_embeddings
    from ..models.keras_builders import build_keras_model

    settings, run = ctx.config.encoder, ctx.run
    encoder, tokenizer = load_encoder(settings.name_or_path)
    check_max_length(encoder, settings.max_length)
    # The run carries its encoder, so export and bench need nothing outside the run folder.
    encoder.save_pretrained(run.encoder_dir, safe_serialization=True)
    tokenizer.save_pretrained(run.encoder_dir)
    ids = text_encoder(tokenizer, run.encoder_dir, settings.max_length)
    model_id = fingerprint(encoder, run.tokenizer_path, settings.max_length)
    cache = Path(ctx.options.cache or paths.CACHE)
    t0 = time.perf_counter()
    x_train, train_hits = cls_embeddings(
        encoder, ids, ctx.train.texts, settings.batch_size, cache, model_id, "embedding train"
    )
    x_val, val_hits = cls_embeddings(encoder, ids, ctx.val.texts, settings.batch_size, cache, model_id, "embedding val")
    embed_seconds, hits = time.perf_counter() - t0, train_hits + val_hits
    embedded = len(ctx.train) + len(ctx.val) - hits
    if not (x_train.shape[1] == x_val.shape[1] == encoder.config.hidden_size):
        raise UserError("embedding width differs from the encoder's hidden size")

    keras.utils.set_random_seed(ctx.config.training.seed)
    extra = {
        "encoder": settings.name_or_path,
        "encoder_id": model_id,
        "embedding_cache_hits": hits,
        "embedded_texts": embedded,
        "embedding_texts_per_s": round(embedded / embed_seconds, 1) if embedded else None,
    }
    model = build_keras_model(ctx.config, cls_dim=encoder.config.hidden_size)
    return fit_and_report(model, ctx, x_train, x_val, f"frozen encoder {settings.name_or_path} + head", extra)
