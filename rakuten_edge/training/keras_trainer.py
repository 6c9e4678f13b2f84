"""The seed's Keras training, from the cached pixels: cnn1/cnn2/cnn3, and the frozen-CamemBERT head."""

from __future__ import annotations

import math
import os
import time

import numpy as np

from ..errors import UserError
from ..models.config import ModelConfig
from ..progress import console, progress_bar
from ..runtime.preprocess import TextVectorizer, image_tensor
from .artifacts import write_run_artifacts
from .bf16_conv import bf16_convolutions
from .bn_statistics import recompute_callback, statistics_rows
from .fused_bn import fuse_batch_norms
from .keras_epochs import load_point, resume_callback, text_arrays, train_batches
from .skeleton import Context


def _dataset(pixels: np.ndarray, text, labels: np.ndarray, batch: int):
    """Validation batches, in row order."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(((pixels, *text_arrays(text)), labels))

    def to_inputs(inputs, y):
        # The same arithmetic as runtime.preprocess.image_tensor: float32(x) / 255, then a channel axis.
        px, *txt = inputs
        return (tf.cast(px, tf.float32)[..., None] / 255.0, *txt), y

    return ds.batch(batch).map(to_inputs, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _progress_callback(n_train: int, epochs: int, batch: int):
    import keras

    class RichProgress(keras.callbacks.Callback):
        """A rich bar over all steps, and the training throughput of each epoch."""

        def on_train_begin(self, logs=None):
            self.bar = progress_bar()
            self.bar.start()
            self.task = self.bar.add_task("training", total=epochs * math.ceil(n_train / batch))
            self.rates: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t0, self.t_train = time.perf_counter(), None

        def on_train_batch_end(self, batch_index, logs=None):
            self.bar.advance(self.task)

        def on_test_begin(self, logs=None):
            if self.t_train is None:
                self.t_train = time.perf_counter() - self.t0

        def on_epoch_end(self, epoch, logs=None):
            rate = n_train / (self.t_train or time.perf_counter() - self.t0)
            self.rates.append(rate)
            logs = logs or {}
            self.bar.console.print(
                f"epoch {epoch + 1}: loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f} "
                f"val_loss {logs.get('val_loss', 0):.4f} val_acc {logs.get('val_accuracy', 0):.4f} "
                f"— {rate:,.0f} samples/s"
            )

        def on_train_end(self, logs=None):
            self.bar.stop()

    return RichProgress()


def fit_keras(
    model,
    config: ModelConfig,
    ctx: Context,
    train_inputs: tuple,
    y_train: np.ndarray,
    val_inputs: tuple,
    y_val: np.ndarray,
) -> tuple[object, dict[str, list[float]], dict]:
    """Compile and fit with the seed's settings; returns the best-epoch model, the history and timings.

    After every epoch a resume point goes beside the run folder; `ctx.resume` starts from the last one."""
    import keras

    from .heads import best_answer_model, training_view

    t = config.training
    steps = math.ceil(len(y_train) / t.batch_size)
    if t.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(t.learning_rate, decay_steps=max(1, t.epochs * steps))
    elif t.schedule == "plateau":
        lr = t.learning_rate
    else:
        raise UserError(f"unknown learning-rate schedule {t.schedule!r} (plateau or cosine)")
    point = ctx.checkpoints.start(ctx.resume)
    state, start_epoch = (point[0], point[0]["epoch"]) if point else (None, 0)
    if point:
        model = load_point(point[1])
    else:
        model, loss, metrics = training_view(model)  # the model itself, or the view of its heads (heads.py)
        model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=metrics)
    # Training calls only, the saved model stays stock. cnn3 seed steps (benchmarks/train_speed.py): stock 69.9
    # samples/s, fused batch norms 93.7, + bfloat16 convolutions 114.7 (see fused_bn.py, bf16_conv.py).
    if t.fused_batch_norms:
        fuse_batch_norms(model)
    bf16_convolutions(model, None if t.bf16_convolutions else False)  # None: where this CPU has native bfloat16
    build_training_variables(model, train_inputs, y_train)
    best = ctx.checkpoints.best(".keras")
    # The direction said, not guessed: Keras guesses it from the metric's name, and the heads' accuracy is a function.
    watch = {"monitor": t.monitor, "mode": "min" if "loss" in t.monitor else "max"}
    early = keras.callbacks.EarlyStopping(**watch, patience=t.early_stopping_patience)
    keep_best = keras.callbacks.ModelCheckpoint(best, **watch, save_best_only=True)
    plateau = (
        keras.callbacks.ReduceLROnPlateau(**watch, factor=t.plateau_factor, patience=t.plateau_patience)
        if t.schedule == "plateau"
        else None
    )
    progress = _progress_callback(len(y_train), t.epochs - start_epoch, t.batch_size)
    resume = resume_callback(ctx.checkpoints, state, early, keep_best, plateau, progress)
    statistics = None
    if t.bn_statistics_rows > 0:
        rows = statistics_rows(len(y_train), t.bn_statistics_rows, t.seed)
        texts = text_arrays(train_inputs[1])
        statistics = recompute_callback([image_tensor(train_inputs[0][rows]), *(t[rows] for t in texts)], steps)
    # `statistics` acts after an epoch's last step, before validation, so every callback watching val_* sees it.
    callbacks = [c for c in (statistics, early, keep_best, plateau, progress, resume) if c is not None]
    start = time.perf_counter()
    if start_epoch < t.epochs and not (state or {}).get("stopped"):
        train_ds, steps = train_batches(*train_inputs, y_train, t.batch_size, t.seed, range(start_epoch, t.epochs))
        val_ds = _dataset(*val_inputs, y_val, 256)
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=t.epochs,
            initial_epoch=start_epoch,
            steps_per_epoch=steps,
            callbacks=callbacks,
            verbose=0,
            shuffle=False,  # train_batches orders each epoch itself
        )
    seconds = time.perf_counter() - start + (state or {}).get("seconds", 0.0)
    history = resume.history
    monitored = history[t.monitor]
    best_epoch = int(np.argmin(monitored) if "loss" in t.monitor else np.argmax(monitored)) + 1
    model = best_answer_model(best, ctx.run.keras_path)
    timing = {
        "epochs_run": len(monitored),
        "best_epoch": best_epoch,
        "train_seconds": round(seconds, 1),
        "train_samples_per_s": round(float(np.median(progress.rates)), 1),
        "resumed_after_epoch": start_epoch or None,
    }
    return model, history, timing


def build_training_variables(model, inputs: tuple, labels: np.ndarray) -> None:
    """The optimizer's slots and the metrics' totals, made now rather than inside the first traced step.

    Without a distribution strategy, Keras' TensorFlow trainer leaves them to that trace; a `tf.function` that creates
    variables is traced twice (once creating them, once without). That second trace cost tiny cnn3 10.7 of its 27 s
    of tracing (AMD EPYC, 2 cores). `_symbolic_build` is what Keras itself calls under a strategy: one row's shapes
    and dtypes, no data, no step, and what is built already (a resumed model's optimizer) is left as it is."""
    row = (image_tensor(inputs[0][:1]), *(t[:1] for t in text_arrays(inputs[1])))
    model._symbolic_build(data_batch=(row, labels[:1]))


def predict_probs(model, pixels: np.ndarray, text, batch: int = 256) -> np.ndarray:
    """Validation probabilities through `predict` (a compiled tf.function, never eager calls)."""
    return model.predict([image_tensor(pixels), *text_arrays(text)], batch_size=batch, verbose=0)


def fit_and_report(model, ctx: Context, x_train, x_val, what: str, extra: dict) -> dict:
    """Fit with the seed's settings, predict split_val, write every run artefact; returns the metrics."""
    config, folder = ctx.config, ctx.run.folder
    console.print(
        f"[bold]{config.key}[/] ({config.preset}): {what}, {model.count_params():,} trainable-graph "
        f"parameters, {len(ctx.train):,} train / {len(ctx.val):,} val rows"
    )
    model, history, timing = fit_keras(
        model, config, ctx, (ctx.train.pixels, x_train), ctx.train.labels, (ctx.val.pixels, x_val), ctx.val.labels
    )
    probs = predict_probs(model, ctx.val.pixels, x_val)
    return write_run_artifacts(
        folder,
        config,
        history,
        ctx.val.labels,
        probs,
        ctx.val.productid,
        ctx.data_note,
        {**timing, "parameters": int(model.count_params()), **extra, "data_dir": str(ctx.data.resolve())},
    )


def train(ctx: Context) -> dict:
    """cnn1/cnn2/cnn3: the vocabulary adapted on the training texts, then the seed's Keras training."""
    config = ctx.config
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from ..models.keras_builders import build_keras_model

    keras.utils.set_random_seed(config.training.seed)
    vectorizer = TextVectorizer.adapt(ctx.train.texts, config.text.max_tokens, config.text.sequence_length)
    vectorizer.save(ctx.run.vocab_path)
    return fit_and_report(
        build_keras_model(config),
        ctx,
        vectorizer(ctx.train.texts),
        vectorizer(ctx.val.texts),
        "token text branch",
        {"vocabulary": len(vectorizer.vocabulary)},
    )
