"""Model configuration as frozen dataclasses; the seed's settings are the defaults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ImageBranch:
    """Grayscale image CNN shared by all five models: Conv2D -> BN -> MaxPool -> Dropout blocks, Flatten, Dense."""

    size: int = 128
    filters: tuple[int, ...] = (32, 64, 128)
    kernel: int = 3
    dropout: float = 0.25
    dense: int = 128


@dataclass(frozen=True)
class TextBranch:
    kind: str = "bilstm"  # bilstm | conv1d | cls-conv1d | cls-dense
    max_tokens: int = 10_000  # vocabulary incl. padding and OOV (Keras' max_tokens)
    sequence_length: int = 100
    embedding_dim: int = 64
    units: int = 64  # LSTM units per direction, or Conv1D filters
    kernel: int = 5  # Conv1D kernel width
    dropout: float = 0.2  # inside the LSTMs / after each Conv1D
    dense: int = 128  # the text head's Dense -> BN -> Dropout; 0: none, the branch's features go to the fusion
    dense_dropout: float = 0.3
    ngram_norm: str = "joint"  # ngram-bag only: runtime/ngrams.py's `norm` (joint | per-kind)
    # ngram-bag only: independent bags (each its own embedding and softmax head, trained on its own loss); the
    # answer is the mean of the heads' probabilities (keras_builders.fusion_heads, training/heads.py)
    bags: int = 1


@dataclass(frozen=True)
class Fusion:
    """Image and text features concatenated -> Dense(dense) -> BN -> Dropout -> softmax (the seed's); dense = 0 is the
    linear fusion, the features straight into the softmax after the dropout."""

    dense: int = 256
    dropout: float = 0.5


@dataclass(frozen=True)
class Training:
    epochs: int = 10
    batch_size: int = 64
    learning_rate: float = 1e-3
    schedule: str = "plateau"  # plateau (ReduceLROnPlateau) | cosine (CosineDecay)
    # EarlyStopping, ReduceLROnPlateau and the best checkpoint all watch it. cnn3, 8,000 real texts, 3 seeds (Intel Xeon
    # with AMX): val_loss 0.6073 ± 0.0046, val_accuracy 0.6096 ± 0.0032, within the spread: the seed's stays.
    monitor: str = "val_loss"
    early_stopping_patience: int = 3
    plateau_factor: float = 0.5
    plateau_patience: int = 2
    encoder_learning_rate: float = 2e-5  # camembert-ft only: see training/torch_trainer.py
    seed: int = 42
    # BatchNorm statistics recomputed over this many training rows after each epoch (0: Keras' moving averages
    # alone). Not a seed setting but a better estimate of the same quantity: see training/bn_statistics.py. cnn3, 8,000
    # real texts, 3 seeds (Intel Xeon with AMX): 0.6073 ± 0.0046 with it, 0.5517 ± 0.0229 without.
    bn_statistics_rows: int = 1024
    # Training-call kernels of the Keras models (the saved model is stock either way): TensorFlow's fused batch norm
    # (training/fused_bn.py) and, where the CPU computes bfloat16 natively, bfloat16 convolutions (bf16_conv.py).
    # Switches so that benchmarks/real_text.py can show each one's effect on accuracy (variants *-off). cnn3, 8,000
    # real texts, 3 seeds, Intel Xeon with AMX: both on 0.6073 ± 0.0046, float32 convolutions 0.5971 ± 0.0047, Keras'
    # batch norm 0.6029 ± 0.0061: neither lowers accuracy, so both stay on (benchmarks/README, "Real text").
    fused_batch_norms: bool = True
    bf16_convolutions: bool = True


@dataclass(frozen=True)
class Encoder:
    """The CamemBERT encoder of the two transformer models."""

    name_or_path: str = "camembert-base"
    max_length: int = 128
    batch_size: int = 32  # embedding batch of the frozen model


@dataclass(frozen=True)
class ModelConfig:
    key: str
    preset: str
    num_classes: int = 27
    image: ImageBranch = field(default_factory=ImageBranch)
    text: TextBranch = field(default_factory=TextBranch)
    fusion: Fusion = field(default_factory=Fusion)
    training: Training = field(default_factory=Training)
    encoder: Encoder | None = None
    # Keras' default. A tiny run takes a few hundred steps, too few for 0.99 moving averages to converge
    # (inference then predicts one class): the tiny preset uses 0.9.
    batch_norm_momentum: float = 0.99

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        image = dict(d["image"], filters=tuple(d["image"]["filters"]))
        return cls(
            key=d["key"],
            preset=d["preset"],
            num_classes=d["num_classes"],
            image=ImageBranch(**image),
            text=TextBranch(**d["text"]),
            fusion=Fusion(**d["fusion"]),
            training=Training(**d["training"]),
            encoder=Encoder(**d["encoder"]) if d.get("encoder") else None,
            batch_norm_momentum=d.get("batch_norm_momentum", 0.99),
        )

    def with_encoder(self, name_or_path: str | None = None, max_length: int | None = None) -> ModelConfig:
        """A copy whose encoder settings reflect the CLI's --camembert / --max-length (recorded in the run)."""
        if self.encoder is None:
            return self
        changes = {k: v for k, v in (("name_or_path", name_or_path), ("max_length", max_length)) if v is not None}
        return dataclasses.replace(self, encoder=dataclasses.replace(self.encoder, **changes)) if changes else self

    def with_image_size(self, size: int | None) -> ModelConfig:
        """A copy whose image branch reads `size` px images (the CLI's --image-size; recorded in the run)."""
        return self if size is None else dataclasses.replace(self, image=dataclasses.replace(self.image, size=size))

    def override(self, **training) -> ModelConfig:
        """A copy with training settings replaced (CLI flags); None values are ignored."""
        changes = {k: v for k, v in training.items() if v is not None}
        return dataclasses.replace(self, training=dataclasses.replace(self.training, **changes)) if changes else self


# The tiny preset: same structure, widths cut so that a test trains in seconds on 2 cores, and 32 px images
# (`data prepare --image-size 32`): a tiny cnn2 training step of 32 rows took 265 ms at 128 px, 74 at 64, 28 at 32;
# cnn3's 117 ms at 64, 63 at 32 (AMD EPYC without AVX-512, fused batch norms).
TINY_IMAGE = ImageBranch(size=32, filters=(8, 16, 16), dense=32)
TINY_FUSION = Fusion(dense=32, dropout=0.3)
