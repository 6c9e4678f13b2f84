"""The one table of models: the CLI, the trainers, the exporters, the bench and the tests loop over it.

Adding a model is one `@register_model` function returning its presets (timm's way).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .. import paths
from ..errors import UserError
from .config import TINY_FUSION, TINY_IMAGE, Encoder, ModelConfig, TextBranch, Training


@dataclass(frozen=True)
class ModelEntry:
    key: str
    title: str
    framework: str                   # keras | torch: which trainer, exporter and native bench path
    inputs: tuple[str, ...]          # ONNX input names, in order
    presets: dict[str, ModelConfig] = field(default_factory=dict)
    trainer: str = ""                # "module:function", imported only when a model is trained
    exporter: str = ""               # module with to_onnx(), native() and text_section()

    def config(self, preset: str = "seed") -> ModelConfig:
        if preset not in self.presets:
            raise UserError(f"unknown preset {preset!r} for {self.key} (choose {', '.join(self.presets)})")
        return self.presets[preset]

    def load(self, what: str) -> Callable:
        module, _, name = getattr(self, what).partition(":")
        return getattr(importlib.import_module(module), name)

    def exporter_module(self):
        return importlib.import_module(self.exporter)


REGISTRY: dict[str, ModelEntry] = {}


def register_model(key: str, title: str, framework: str, inputs: tuple[str, ...], trainer: str, exporter: str):
    def wrap(presets_fn: Callable[[], dict[str, ModelConfig]]):
        REGISTRY[key] = ModelEntry(key, title, framework, inputs, presets_fn(), trainer, exporter)
        return presets_fn
    return wrap


def get_model(key: str) -> ModelEntry:
    if key not in REGISTRY:
        raise UserError(f"unknown model {key!r} (choose {', '.join(REGISTRY)})")
    return REGISTRY[key]


KERAS_TRAINER = "rakuten_edge.training.keras_trainer:train"
KERAS_EXPORTER = "rakuten_edge.export.keras_onnx"


def _presets(key: str, seed_text: TextBranch, tiny_text: TextBranch, training: Training = Training(),
             encoder: Encoder | None = None) -> dict[str, ModelConfig]:
    # tiny: a few hundred steps, where val_loss still swings with the BatchNorm statistics while accuracy
    # climbs (a clean CI run stopped at epoch 2 of a rising curve); it watches val_accuracy and runs all epochs.
    seed = ModelConfig(key=key, preset="seed", text=seed_text, training=training, encoder=encoder)
    tiny = replace(seed, preset="tiny", image=TINY_IMAGE, text=tiny_text, fusion=TINY_FUSION,
                   training=replace(training, epochs=4, batch_size=32, monitor="val_accuracy", early_stopping_patience=10),
                   batch_norm_momentum=0.9)
    return {"seed": seed, "tiny": tiny}


@register_model("cnn1", "CNN 1 (BiLSTM)", "keras", ("image", "tokens"), KERAS_TRAINER, KERAS_EXPORTER)
def cnn1() -> dict[str, ModelConfig]:
    # The seed fixes 100 tokens and two BiLSTMs; vocabulary, embedding and units are our choice.
    return _presets("cnn1",
                    TextBranch("bilstm", max_tokens=10_000, sequence_length=100, embedding_dim=64, units=64),
                    TextBranch("bilstm", max_tokens=2_000, sequence_length=40, embedding_dim=16, units=16, dense=32))


@register_model("cnn2", "CNN 2 (Conv1D)", "keras", ("image", "tokens"), KERAS_TRAINER, KERAS_EXPORTER)
def cnn2() -> dict[str, ModelConfig]:
    return _presets("cnn2",
                    TextBranch("conv1d", max_tokens=10_000, sequence_length=300, embedding_dim=64, units=128, kernel=5),
                    TextBranch("conv1d", max_tokens=2_000, sequence_length=80, embedding_dim=16, units=16, kernel=3,
                               dense=32),
                    Training(schedule="cosine"))


@register_model("cnn3", "CNN 3 (enhanced BiLSTM)", "keras", ("image", "tokens"), KERAS_TRAINER, KERAS_EXPORTER)
def cnn3() -> dict[str, ModelConfig]:
    # The seed's best: 150 tokens, max_tokens 12,000, embedding 80, 2x BiLSTM(80) with dropout.
    return _presets("cnn3",
                    TextBranch("bilstm", max_tokens=12_000, sequence_length=150, embedding_dim=80, units=80),
                    TextBranch("bilstm", max_tokens=2_000, sequence_length=60, embedding_dim=16, units=16, dense=32))


CAMEMBERT_INPUTS = ("image", "input_ids", "attention_mask")
TINY_ENCODER = Encoder(name_or_path=str(paths.CAMEMBERT_TINY), max_length=64, batch_size=64)


@register_model("camembert", "CamemBERT frozen [CLS] + CNN head", "keras", CAMEMBERT_INPUTS,
                "rakuten_edge.training.camembert_frozen:train", "rakuten_edge.export.camembert_onnx")
def camembert() -> dict[str, ModelConfig]:
    # Several Conv1D -> BN -> Dropout over the [CLS] vector, then global max pooling (the seed's head).
    presets = _presets("camembert", TextBranch("cls-conv1d", units=64, kernel=5, dense=128),
                       TextBranch("cls-conv1d", units=8, kernel=3, dense=32), encoder=Encoder())
    # A frozen tiny random encoder gives weak text features: 4 epochs left the head barely above the
    # majority class on some runs; 8 (a few seconds more) learn reliably.
    tiny = replace(presets["tiny"], encoder=TINY_ENCODER, training=replace(presets["tiny"].training, epochs=8))
    return {**presets, "tiny": tiny}


@register_model("camembert-ft", "CamemBERT fine-tuned end to end", "torch", CAMEMBERT_INPUTS,
                "rakuten_edge.training.torch_trainer:train", "rakuten_edge.export.torch_onnx")
def camembert_ft() -> dict[str, ModelConfig]:
    presets = _presets("camembert-ft", TextBranch("cls-dense", dense=128), TextBranch("cls-dense", dense=32),
                       encoder=Encoder())
    # A fresh head needs a larger step than tiny fine-tuning of the encoder does in a few epochs.
    tiny = replace(presets["tiny"], encoder=TINY_ENCODER,
                   training=replace(presets["tiny"].training, encoder_learning_rate=1e-4))
    return {**presets, "tiny": tiny}
