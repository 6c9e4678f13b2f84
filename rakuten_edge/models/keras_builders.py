"""Keras 3 builders of the CNN models (and the frozen-CamemBERT head). Input and output names become the
ONNX names: `image`, `tokens` / `cls_embedding` -> `probs`."""

from __future__ import annotations

from ..tables import load_object
from ..tables.text_kinds import IMAGE, PROBS, TEXT_KINDS, TextKind
from .config import Fusion, ImageBranch, ModelConfig, TextBranch

# The layer that stacks the heads of a several-bag model, (batch, heads, classes); training/heads.py trains on it.
HEADS = "heads"


def text_kind_of(branch: str) -> TextKind:
    """The text kind whose Keras branches include `branch` (tables/text_kinds.py)."""
    for kind in TEXT_KINDS.values():
        if branch in kind.keras_branches:
            return kind
    built = sorted(b for k in TEXT_KINDS.values() for b in k.keras_branches)
    raise ValueError(f"Keras builders handle text branches {built}, got {branch!r}")


def _check(config: ModelConfig) -> None:
    text_kind_of(config.text.kind)
    if config.image.size < 2 ** len(config.image.filters):
        raise ValueError(f"image size {config.image.size} too small for {len(config.image.filters)} pooling blocks")
    for name, value in (
        ("text.units", config.text.units),
        ("text.sequence_length", config.text.sequence_length),
        ("num_classes", config.num_classes),
        ("text.bags", config.text.bags),
    ):
        if value < 1:
            raise ValueError(f"{name} must be positive, got {value}")
    if config.fusion.dense < 0:
        raise ValueError(f"fusion.dense must be positive, or 0 for the linear fusion, got {config.fusion.dense}")
    if config.text.dense < 0:
        raise ValueError(f"text.dense must be positive, or 0 for no text head, got {config.text.dense}")
    for name, rate in (
        ("image.dropout", config.image.dropout),
        ("text.dropout", config.text.dropout),
        ("text.dense_dropout", config.text.dense_dropout),
        ("fusion.dropout", config.fusion.dropout),
    ):
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {rate}")


def image_branch(image, cfg: ImageBranch, momentum: float = 0.99):
    from keras import layers

    x = image
    for i, filters in enumerate(cfg.filters, start=1):
        x = layers.Conv2D(filters, cfg.kernel, padding="same", activation="relu", name=f"img_conv{i}")(x)
        x = layers.BatchNormalization(momentum=momentum, name=f"img_bn{i}")(x)
        x = layers.MaxPooling2D(2, name=f"img_pool{i}")(x)
        x = layers.Dropout(cfg.dropout, name=f"img_drop{i}")(x)
    x = layers.Flatten(name="img_flatten")(x)
    return layers.Dense(cfg.dense, activation="relu", name="img_dense")(x)


def text_branch(inputs: tuple, cfg: TextBranch, momentum: float = 0.99):
    """The seed's text branches over one input: token ids (bilstm, conv1d) or the [CLS] vector (cls-conv1d)."""
    from keras import layers

    (tokens_or_cls,) = inputs
    if cfg.kind == "cls-conv1d":
        # The frozen model's head: the [CLS] vector read as a 1-channel sequence, so Conv1D finds local
        # patterns across embedding dimensions (the seed's design).
        x = layers.Reshape((-1, 1), name="txt_reshape")(tokens_or_cls)
        for i in (1, 2):
            x = layers.Conv1D(cfg.units, cfg.kernel, padding="same", activation="relu", name=f"txt_conv{i}")(x)
            x = layers.BatchNormalization(momentum=momentum, name=f"txt_conv_bn{i}")(x)
            x = layers.Dropout(cfg.dropout, name=f"txt_conv_drop{i}")(x)
        x = layers.GlobalMaxPooling1D(name="txt_pool")(x)
    else:
        x = layers.Embedding(cfg.max_tokens, cfg.embedding_dim, name="txt_embedding")(tokens_or_cls)
        if cfg.kind == "bilstm":
            # dropout (on inputs) only: recurrent_dropout would stop tf2onnx from emitting a native LSTM op.
            x = layers.Bidirectional(
                layers.LSTM(cfg.units, return_sequences=True, dropout=cfg.dropout), name="txt_bilstm1"
            )(x)
            x = layers.Bidirectional(layers.LSTM(cfg.units, dropout=cfg.dropout), name="txt_bilstm2")(x)
        else:
            x = layers.Conv1D(cfg.units, cfg.kernel, padding="same", activation="relu", name="txt_conv1")(x)
            x = layers.Conv1D(cfg.units, cfg.kernel, padding="same", activation="relu", name="txt_conv2")(x)
            x = layers.GlobalMaxPooling1D(name="txt_pool")(x)
    return text_head(x, cfg, momentum)


def text_head(x, cfg: TextBranch, momentum: float = 0.99, suffix: str = ""):
    """Dense -> BN -> Dropout: how every text branch ends before the fusion (`cfg.dense == 0`: nothing, the branch's
    features go straight to the fusion; with the linear fusion, ngram's bag is then a linear model of its n-grams)."""
    from keras import layers

    if not cfg.dense:
        return x
    x = layers.Dense(cfg.dense, activation="relu", name=f"txt_dense{suffix}")(x)
    x = layers.BatchNormalization(momentum=momentum, name=f"txt_bn{suffix}")(x)
    return layers.Dropout(cfg.dense_dropout, name=f"txt_drop{suffix}")(x)


def fusion_head(image_features, text_features, cfg: Fusion, num_classes: int, momentum: float = 0.99, suffix=""):
    """Concatenate -> [Dense -> BN] -> Dropout -> softmax; `cfg.dense == 0` is the linear fusion (no hidden layer)."""
    from keras import layers

    x = layers.Concatenate(name=f"fusion_concat{suffix}")([image_features, text_features])
    if cfg.dense:
        x = layers.Dense(cfg.dense, activation="relu", name=f"fusion_dense{suffix}")(x)
        x = layers.BatchNormalization(momentum=momentum, name=f"fusion_bn{suffix}")(x)
    x = layers.Dropout(cfg.dropout, name=f"fusion_drop{suffix}")(x)
    return layers.Dense(num_classes, activation="softmax", name=f"{PROBS}{suffix}")(x)


def fusion_heads(image_features, text_features: tuple, cfg: Fusion, num_classes: int, momentum: float = 0.99):
    """One fusion head per text feature set (a branch with several bags), all on the same image features; `probs` is
    the mean of their probabilities. The heads stack into the `heads` layer, (batch, heads, classes), which is what
    training/heads.py trains: each head on its own loss, so they stay an ensemble rather than one wider model."""
    from keras import layers

    rows = []
    for k, text in enumerate(text_features, start=1):
        probs = fusion_head(image_features, text, cfg, num_classes, momentum, suffix=f"_{k}")
        rows.append(layers.Reshape((1, num_classes), name=f"{PROBS}_{k}_row")(probs))
    heads = layers.Concatenate(axis=1, name=HEADS)(rows)
    return layers.GlobalAveragePooling1D(name=PROBS)(heads)


def build_keras_model(config: ModelConfig, cls_dim: int | None = None):
    """(image, *text inputs) -> probs: the text kind's table entry builds the text inputs and branch
    ((image, tokens), (image, cls_embedding) for the frozen-CamemBERT head, (image, ngram_ids, ngram_weights))."""
    _check(config)
    import keras

    kind = text_kind_of(config.text.kind)
    # --- inputs
    image = keras.Input((config.image.size, config.image.size, 1), dtype="float32", name=IMAGE)
    text = tuple(load_object(kind.keras_input)(config, cls_dim))

    # --- branches
    momentum = config.batch_norm_momentum
    image_features = image_branch(image, config.image, momentum)
    text_features = load_object(kind.keras_branch)(text, config.text, momentum)

    # --- fusion and output
    if isinstance(text_features, tuple):  # several bags, one head each
        probs = fusion_heads(image_features, text_features, config.fusion, config.num_classes, momentum)
    elif config.text.bags != 1:
        raise ValueError(f"the {config.text.kind} branch builds one bag; text.bags must be 1, got {config.text.bags}")
    else:
        probs = fusion_head(image_features, text_features, config.fusion, config.num_classes, momentum)
    return keras.Model(inputs=[image, *text], outputs=probs, name=config.key)


def token_input(config: ModelConfig, cls_dim: int | None = None):
    """keras-vectorizer: the int32 token ids, named after the kind's ONNX input."""
    import keras

    (name,) = TEXT_KINDS["keras-vectorizer"].text_inputs
    return (keras.Input((config.text.sequence_length,), dtype="int32", name=name),)


def cls_input(config: ModelConfig, cls_dim: int | None = None):
    """hf-tokenizer, frozen encoder: the head reads the encoder's [CLS] vector (the encoder runs before it)."""
    import keras

    if not cls_dim:
        raise ValueError(f"the {config.text.kind} head needs cls_dim (the encoder's hidden size)")
    return (keras.Input((cls_dim,), dtype="float32", name="cls_embedding"),)


def layers_of(model) -> list[str]:
    """Layer class names, used by the structure tests."""
    return [type(layer).__name__ for layer in model.layers]
