"""The n-gram model's training: the IDF fitted on the training texts, then the seed's Keras training."""

from __future__ import annotations

import os

from ..models.ngram import spec_of
from ..progress import console
from ..runtime.ngrams import HashedNgrams, fit_idf
from .keras_trainer import fit_and_report
from .skeleton import Context


def train(ctx: Context) -> dict:
    config = ctx.config
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from ..models.keras_builders import build_keras_model

    keras.utils.set_random_seed(config.training.seed)
    spec = spec_of(config)
    encoder = HashedNgrams(spec, fit_idf(spec, ctx.train.texts))
    encoder.save(ctx.run.folder)
    # Training pads every row to max_features (fixed arrays); the runtime pads to the batch's longest row. The
    # graph sums weight x embedding, so the padding width does not change an answer.
    x_train, x_val = (encoder(s.texts, spec.max_features) for s in (ctx.train, ctx.val))
    console.print(f"n-grams: {spec.buckets:,} buckets, {int((x_train[1] > 0).sum(1).mean())} ids per training text")
    return fit_and_report(
        build_keras_model(config), ctx, x_train, x_val, "hashed n-gram text branch", {"buckets": spec.buckets}
    )


def untrained(run, config, texts: list[str]) -> int:
    """The bench's seed-size model with random weights (bench/untrained.py calls it through the registry)."""
    from ..models.keras_builders import build_keras_model

    model = build_keras_model(config)
    model.save(run.keras_path)
    spec = spec_of(config)
    HashedNgrams(spec, fit_idf(spec, texts)).save(run.folder)
    return int(model.count_params())
