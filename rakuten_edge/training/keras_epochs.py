"""Keras training that can stop after any epoch and go on exactly as if it had not: epoch-seeded batch orders and a
callback that saves, then restores, everything `fit` keeps between epochs."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ..runtime.preprocess import image_tensor
from .checkpoint import Checkpoints

MODEL_FILE, SEEDS_FILE = "model.keras", "seed_generators.npz"


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """Epoch `epoch`'s row order depends on (seed, epoch) only, so a resumed run meets the same batches."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def text_arrays(text) -> tuple[np.ndarray, ...]:
    """A model's text inputs as a tuple: one array (token ids, [CLS] vectors) or several (n-gram ids and weights)."""
    return tuple(text) if isinstance(text, (tuple, list)) else (text,)


def train_batches(pixels: np.ndarray, text, labels: np.ndarray, batch: int, seed: int, epochs: range):
    """A dataset of `len(epochs)` epochs of batches, each epoch in its own order; `fit` needs steps_per_epoch."""
    import tensorflow as tf

    texts = text_arrays(text)
    orders = np.stack([epoch_order(len(labels), seed, e) for e in epochs]).astype(np.int64)

    def gather(rows):
        # The same arithmetic as the runtime (image_tensor): float32(x) / 255 with a channel axis.
        return image_tensor(pixels[rows]), *(t[rows] for t in texts), labels[rows].astype(np.int64)

    def load(rows):
        px, *tx, y = tf.numpy_function(gather, [rows], [tf.float32, *(t.dtype for t in texts), tf.int64])
        px.set_shape((None, *pixels.shape[1:], 1))
        for tensor, array in zip(tx, texts):
            tensor.set_shape((None, *array.shape[1:]))
        y.set_shape((None,))
        return (px, *tx), y

    ds = tf.data.Dataset.from_tensor_slices(orders)
    ds = ds.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch))
    return ds.map(load, num_parallel_calls=1).prefetch(2), math.ceil(len(labels) / batch)


def _seed_states(model) -> list:
    # Dropout's seed generators are model variables that model.save() leaves out (checked with Keras 3.15).
    return [v for v in model.non_trainable_variables if "seed_generator" in v.path]


def load_point(folder: Path):
    import keras

    from . import heads  # noqa: F401  (registers the per-head loss a several-bag model's points are compiled with)

    model = keras.saving.load_model(folder / MODEL_FILE)
    seeds = np.load(folder / SEEDS_FILE)
    for i, variable in enumerate(_seed_states(model)):
        variable.assign(seeds[f"s{i}"])
    return model


def resume_callback(checkpoints: Checkpoints, state: dict | None, early, best, plateau, progress):
    """Saves after each epoch; on a resumed run, puts the saved counters back after `fit` has reset them."""
    import keras

    watched = {"early": (early, ("wait", "best", "best_epoch")), "best": (best, ("best",))}
    if plateau is not None:
        watched["plateau"] = (plateau, ("wait", "best", "cooldown_counter"))

    class Resume(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.history: dict[str, list[float]] = dict((state or {}).get("history", {}))

        def on_train_begin(self, logs=None):  # runs after the callbacks listed before it reset themselves
            self.t0 = time.perf_counter()
            if state is None:
                return
            for name, (callback, fields) in watched.items():
                for field in fields:
                    setattr(callback, field, state["callbacks"][name][field])
            progress.rates = list(state["rates"])

        def on_epoch_end(self, epoch, logs=None):
            for key, value in (logs or {}).items():
                self.history.setdefault(key, []).append(float(value))
            snapshot = {
                "history": self.history,
                "stopped": bool(self.model.stop_training),  # EarlyStopping, listed earlier, has decided
                "seconds": (state or {}).get("seconds", 0.0) + time.perf_counter() - self.t0,
                "rates": progress.rates,
                "callbacks": {
                    name: {field: _plain(getattr(cb, field)) for field in fields}
                    for name, (cb, fields) in watched.items()
                },
            }

            def write(folder: Path) -> None:
                self.model.save(folder / MODEL_FILE)
                np.savez(folder / SEEDS_FILE, **{f"s{i}": v.numpy() for i, v in enumerate(_seed_states(self.model))})

            checkpoints.save(epoch + 1, snapshot, write)

    return Resume()


def _plain(value):
    return float(value) if isinstance(value, (float, np.floating)) else int(value) if value is not None else None
