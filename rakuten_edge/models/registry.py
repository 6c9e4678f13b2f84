"""The one table of models: the CLI, the trainers, the exporters, the bench and the tests loop over it.

Adding a model is one `@register_model` function returning its presets (timm's way).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .. import paths
from ..choices import Capability, Framework, Preset, parse
from ..errors import UserError
from ..tables import load_object
from ..tables.text_kinds import TextKind, get_text_kind
from .config import TINY_FUSION, TINY_IMAGE, Encoder, Fusion, ModelConfig, TextBranch, Training
from .targets import BASE_SIZE_MB, F1_DROP, Check, Target


@dataclass(frozen=True)
class ModelEntry:
    """What a model is: everything the CLI, trainers, export, bench and tests need to know about it."""

    key: str
    title: str
    framework: Framework  # which native path: Keras or PyTorch
    text_kind: str  # a key of tables/text_kinds.py: how the model reads its text (and its ONNX inputs)
    presets: dict[str, ModelConfig] = field(default_factory=dict)
    trainer: str = ""  # "module:function", imported only when a model is trained
    exporter: str = ""  # module implementing export.contract.Exporter
    untrained: str = ""  # "module:function" building a seed-size run with random weights (the bench)
    capabilities: frozenset[Capability] = frozenset()
    trainer_options: tuple[str, ...] = ()  # keyword options beyond the common ones (camembert, max_length, ...)
    targets: tuple[Target, ...] = (F1_DROP,)
    origin: str = ""  # the module that registered it: bench workers import it to see the same table

    @property
    def text(self) -> TextKind:
        return get_text_kind(self.text_kind)

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.text.inputs

    def config(self, preset: Preset | str = Preset.seed) -> ModelConfig:
        preset = parse(Preset, preset, "preset")
        if preset.value not in self.presets:
            raise UserError(f"preset {preset.value!r} is not defined for {self.key} (choose {', '.join(self.presets)})")
        return self.presets[preset.value]

    def load(self, what: str) -> Callable:
        return load_object(getattr(self, what))

    def exporter_module(self):
        return importlib.import_module(self.exporter)


REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    key: str,
    title: str,
    framework: Framework,
    text_kind: str,
    trainer: str,
    exporter: str,
    untrained: str,
    **declared,
):
    """Decorate a function returning the model's presets; `declared` sets the entry's other fields."""

    def wrap(presets_fn: Callable[[], dict[str, ModelConfig]]):
        REGISTRY[key] = ModelEntry(
            key,
            title,
            Framework(framework),
            get_text_kind(text_kind).name,
            presets_fn(),
            trainer,
            exporter,
            untrained,
            origin=presets_fn.__module__,
            **declared,
        )
        return presets_fn

    return wrap


def unregister_model(key: str) -> None:
    REGISTRY.pop(key, None)


def get_model(key: str) -> ModelEntry:
    if key not in REGISTRY:
        raise UserError(f"unknown model {key!r} (choose {', '.join(REGISTRY)})")
    return REGISTRY[key]


def entry_of(run) -> ModelEntry:
    """The registry entry of a run (a run.Run: the folder object knows its key, not the model code)."""
    return get_model(run.key)


def config_of(run) -> ModelConfig:
    """The ModelConfig a run was trained with."""
    return ModelConfig.from_dict(run.config_dict)


KERAS_TRAINER = "rakuten_edge.training.keras_trainer:train"
KERAS_EXPORTER = "rakuten_edge.export.keras_onnx"
KERAS_UNTRAINED = "rakuten_edge.bench.untrained:keras_tokens"
TOKEN_CNN = {
    "capabilities": frozenset({Capability.litert}),
    "targets": (
        Target(Check.int8_speedup, "int8 ≥ 3× faster than native Keras", 3.0),
        Target(Check.int8_vs_peer, "int8 not slower than LiteRT int8", peer="litert-int8"),
        F1_DROP,
    ),
}
ENCODER_OPTIONS = ("camembert", "max_length")


def _transformer_targets(speedup_text: str) -> tuple[Target, ...]:
    return (
        Target(Check.int8_speedup, speedup_text, 4.0, min_fp32_mb=BASE_SIZE_MB),
        Target(Check.int8_size, "int8 ≤ 1/3.5 of the fp32 size", 3.5, min_fp32_mb=BASE_SIZE_MB),
        F1_DROP,
    )


def _presets(
    key: str,
    seed_text: TextBranch,
    tiny_text: TextBranch,
    training: Training = Training(),
    encoder: Encoder | None = None,
) -> dict[str, ModelConfig]:
    # tiny: a few hundred steps, where val_loss still swings with the BatchNorm statistics while accuracy
    # climbs (a clean CI run stopped at epoch 2 of a rising curve); it watches val_accuracy and runs all epochs.
    # Learning rate 3e-3: on 32 px images at 1e-3 cnn1-3 ended their 4 epochs at 0.18-0.21 training accuracy
    # (majority 0.13); at 3e-3 0.35-0.37 (validation 0.44-0.49; ngram 0.51, camembert 0.39, camembert-ft 0.37).
    seed = ModelConfig(key=key, preset="seed", text=seed_text, training=training, encoder=encoder)
    tiny = replace(
        seed,
        preset="tiny",
        image=TINY_IMAGE,
        text=tiny_text,
        fusion=TINY_FUSION,
        training=replace(
            training,
            epochs=4,
            batch_size=32,
            learning_rate=3e-3,
            monitor="val_accuracy",
            early_stopping_patience=10,
        ),
        batch_norm_momentum=0.9,
    )
    return {"seed": seed, "tiny": tiny}


@register_model(
    "cnn1", "CNN 1 (BiLSTM)", "keras", "keras-vectorizer", KERAS_TRAINER, KERAS_EXPORTER, KERAS_UNTRAINED, **TOKEN_CNN
)
def cnn1() -> dict[str, ModelConfig]:
    # The seed fixes 100 tokens and two BiLSTMs; vocabulary, embedding and units are our choice.
    return _presets(
        "cnn1",
        TextBranch("bilstm", max_tokens=10_000, sequence_length=100, embedding_dim=64, units=64),
        TextBranch("bilstm", max_tokens=2_000, sequence_length=40, embedding_dim=16, units=16, dense=32),
    )


@register_model(
    "cnn2", "CNN 2 (Conv1D)", "keras", "keras-vectorizer", KERAS_TRAINER, KERAS_EXPORTER, KERAS_UNTRAINED, **TOKEN_CNN
)
def cnn2() -> dict[str, ModelConfig]:
    return _presets(
        "cnn2",
        TextBranch("conv1d", max_tokens=10_000, sequence_length=300, embedding_dim=64, units=128, kernel=5),
        TextBranch("conv1d", max_tokens=2_000, sequence_length=80, embedding_dim=16, units=16, kernel=3, dense=32),
        Training(schedule="cosine"),
    )


@register_model(
    "cnn3",
    "CNN 3 (enhanced BiLSTM)",
    "keras",
    "keras-vectorizer",
    KERAS_TRAINER,
    KERAS_EXPORTER,
    KERAS_UNTRAINED,
    capabilities=TOKEN_CNN["capabilities"],
    targets=(*TOKEN_CNN["targets"], Target(Check.cold_start, "runtime cold start ≤ 0.5 s", 0.5)),
)
def cnn3() -> dict[str, ModelConfig]:
    # The seed's best: 150 tokens, max_tokens 12,000, embedding 80, 2x BiLSTM(80) with dropout.
    return _presets(
        "cnn3",
        TextBranch("bilstm", max_tokens=12_000, sequence_length=150, embedding_dim=80, units=80),
        TextBranch("bilstm", max_tokens=2_000, sequence_length=60, embedding_dim=16, units=16, dense=32),
    )


TINY_ENCODER = Encoder(name_or_path=str(paths.CAMEMBERT_TINY), max_length=64, batch_size=64)


@register_model(
    "camembert",
    "CamemBERT frozen [CLS] + CNN head",
    "keras",
    "hf-tokenizer",
    "rakuten_edge.training.camembert_frozen:train",
    "rakuten_edge.export.camembert_onnx",
    "rakuten_edge.bench.untrained:camembert_frozen",
    trainer_options=(*ENCODER_OPTIONS, "cache"),
    targets=_transformer_targets("int8 ≥ 4× faster than native (PyTorch encoder + Keras head)"),
)
def camembert() -> dict[str, ModelConfig]:
    # Several Conv1D -> BN -> Dropout over the [CLS] vector, then global max pooling (the seed's head).
    presets = _presets(
        "camembert",
        TextBranch("cls-conv1d", units=64, kernel=5, dense=128),
        TextBranch("cls-conv1d", units=8, kernel=3, dense=32),
        encoder=Encoder(),
    )
    # A frozen tiny random encoder gives weak text features: 4 epochs left the head barely above the
    # majority class on some runs; 8 (a few seconds more) learn reliably.
    tiny = replace(presets["tiny"], encoder=TINY_ENCODER, training=replace(presets["tiny"].training, epochs=8))
    return {**presets, "tiny": tiny}


@register_model(
    "camembert-ft",
    "CamemBERT fine-tuned end to end",
    "torch",
    "hf-tokenizer",
    "rakuten_edge.training.torch_trainer:train",
    "rakuten_edge.export.torch_onnx",
    "rakuten_edge.bench.untrained:camembert_finetuned",
    trainer_options=ENCODER_OPTIONS,
    targets=_transformer_targets("int8 ≥ 4× faster than PyTorch eager"),
)
def camembert_ft() -> dict[str, ModelConfig]:
    presets = _presets(
        "camembert-ft", TextBranch("cls-dense", dense=128), TextBranch("cls-dense", dense=32), encoder=Encoder()
    )
    # A fresh head needs a larger step than tiny fine-tuning of the encoder does in a few epochs.
    tiny = replace(
        presets["tiny"], encoder=TINY_ENCODER, training=replace(presets["tiny"].training, encoder_learning_rate=1e-4)
    )
    return {**presets, "tiny": tiny}


@register_model(
    "ngram",
    "Hashed n-grams (TF-IDF bag) + image CNN",
    "keras",
    "hashed-ngrams",
    "rakuten_edge.training.ngram_trainer:train",
    "rakuten_edge.export.ngram_onnx",
    "rakuten_edge.training.ngram_trainer:untrained",
)
def ngram() -> dict[str, ModelConfig]:
    # Beyond the seed (models/ngram.py argues the design): max_tokens is the number of hash buckets and
    # sequence_length the n-grams kept per text. Real text, blank images, split seeds 0 / 1 / 2 (benchmarks/README
    # "Real text"), against TF-IDF + LR's 0.6694 / 0.6881 / 0.6688 at 8,000 rows and 0.7430 / 0.7273 / 0.7343 at 20,000:
    # - dropout acts on the bag: text-only, 0.2 gave 0.6581 / 0.6781 / 0.6581, 0.7 0.6781 / 0.6919 / 0.6775 (8,000);
    # - with hidden text (128) and fusion (256) layers, the whole model: 0.6500 / 0.6681 / 0.6619 (8,000);
    # - no hidden layer (a linear model of the bag and the image features), Adam 3e-3, ReduceLROnPlateau (the preset
    #   until 2026-12-02): 0.6831 / 0.7087 / 0.6906 at 8,000 (AMD EPYC), 0.7332 / 0.7345 / 0.7372 at 20,000, level
    #   with TF-IDF; words and characters normalised apart, batch 256, Adam 1e-2 annealed over 15 epochs, the last
    #   epoch: 0.7402 +- 0.0058 at 20,000 (Intel Xeon with AMX);
    # - the same with three bags, each its own embedding and softmax head on its own loss, the answer their mean
    #   (AMD EPYC without AVX-512, 32 px blank images): 0.6950 / 0.7019 / 0.6894 at 8,000 (+2.0 over TF-IDF),
    #   0.7472 / 0.7418 / 0.7422 at 20,000 (+0.9), 65,536 x 64 tables, 49 MB fp32;
    # - the same with 262,144 buckets and 32 columns (this preset; AMD EPYC with AVX-512, 32 px): 0.6906 / 0.7150 /
    #   0.6919 at 8,000 (+2.4), 0.7555 / 0.7370 / 0.7460 at 20,000 (+1.1); int8 gates passed. Fewer collisions
    #   (models/ngram.py); a linear head has rank <= 27, so 32 columns lose no expressiveness. Costs: a 112 MB bundle
    #   (int8 28 MB); 5 epochs on generated data learn slower.
    # The monitored `loss` is the training loss: under the annealed step its lowest is about the last epoch, and no
    # epoch is picked on the validation rows (val_loss turned at epoch 5-7 while accuracy climbed to 12-15).
    # The image branch, on generated multimodal data (7,500, 5 epochs), with images against blank: one bag 0.8127 +-
    # 0.0061 against 0.8094 (AMD EPYC), 0.8158 +- 0.0048 against 0.8089 (Intel Xeon with AMX); three 65,536 x 64 bags
    # 0.8073 +- 0.0037 against 0.8053 +- 0.0024 (AMD EPYC with AVX-512); this preset 0.7876 +- 0.0027 against 0.7804.
    presets = _presets(
        "ngram",
        TextBranch("ngram-bag", 262_144, 1024, 32, dropout=0.7, dense=0, ngram_norm="per-kind", bags=3),
        TextBranch("ngram-bag", max_tokens=4096, sequence_length=256, embedding_dim=16, dense=32, bags=2),
        Training(learning_rate=3e-3),
    )
    training = Training(15, 256, 1e-2, "cosine", monitor="loss", early_stopping_patience=15)
    # The tiny preset keeps its small hidden layers and its step (the suite's tiny figures and gates were set with
    # them); the builders' dense = 0 paths have their own tests (tests/test_models.py). Its two bags take every suite
    # path (training on the heads, export, runtime, page) through a model with heads.
    return {**presets, "seed": replace(presets["seed"], fusion=Fusion(dense=0), training=training)}
