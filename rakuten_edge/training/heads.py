"""Training a model with several softmax heads (a several-bag ngram model, keras_builders.fusion_heads).

The saved and exported model answers the mean of its heads (`probs`, one output, as every bundle has). A loss on that
mean would train the heads as one wider model; the ensemble needs each head on its own loss. So `fit` runs on a view
of the same layers that ends at the stacked heads, with the mean of the per-head cross-entropies as its loss and the
accuracy of the heads' mean as its `accuracy`; the run keeps the mean-of-heads model. A model without heads trains as
itself, with Keras' own loss and metric.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
from keras import ops

from ..models.keras_builders import HEADS
from ..tables.text_kinds import PROBS


@keras.saving.register_keras_serializable(package="rakuten_edge")
def per_head_loss(y_true, heads):
    """Mean over heads of each head's sparse cross-entropy; `heads` is (batch, heads, classes)."""
    labels = ops.reshape(ops.cast(y_true, "int32"), (-1, 1))
    labels = ops.repeat(labels, ops.shape(heads)[1], axis=1)
    return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, heads), axis=1)


@keras.saving.register_keras_serializable(package="rakuten_edge")
def accuracy(y_true, heads):
    """The accuracy of the answer the saved model gives: the heads' mean."""
    return keras.metrics.sparse_categorical_accuracy(ops.reshape(y_true, (-1,)), ops.mean(heads, axis=1))


def has_heads(model) -> bool:
    return any(layer.name == HEADS for layer in model.layers)


def training_view(model) -> tuple[object, object, list]:
    """(the model `fit` trains, its loss, its metrics)."""
    if not has_heads(model):
        return model, "sparse_categorical_crossentropy", ["accuracy"]
    view = keras.Model(model.inputs, model.get_layer(HEADS).output, name=model.name)
    return view, per_head_loss, [accuracy]


def answer_model(model):
    """The model that answers: a view gets its mean back (the same layer as keras_builders.fusion_heads)."""
    if not has_heads(model) or len(model.outputs[0].shape) != 3:
        return model
    probs = keras.layers.GlobalAveragePooling1D(name=PROBS)(model.outputs[0])
    return keras.Model(model.inputs, probs, name=model.name)


def best_answer_model(best: Path, path: Path):
    """The best epoch's model as the run keeps it at `path` (the checkpoint itself, or its answer model); returned."""
    model = keras.saving.load_model(best)
    answer = answer_model(model)
    if answer is model:
        shutil.copyfile(best, path)
    else:
        answer.save(path)
    return answer
