"""What every trainer shares: the options record, the resolved config, the splits and the staged run folder.

A trainer is `train(ctx: Context) -> metrics`; it writes into `ctx.run` (a staging folder that replaces the
run's folder only when the trainer returns), so an interrupted or failed run never leaves half a run behind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .. import paths
from ..atomic import staged_dir
from ..choices import Preset, at_least_one, parse
from ..data.prepare import check_image_size
from ..data.prepared import Split, load_split
from ..errors import UserError
from ..models.config import ModelConfig
from ..models.registry import REGISTRY, ModelEntry
from ..run import Run, run_name
from .checkpoint import Checkpoints, fingerprint


@dataclass(frozen=True)
class TrainOptions:
    data: Path = paths.PREPARED
    out: Path = paths.RUNS
    preset: Preset = Preset.seed
    epochs: int | None = None
    batch_size: int | None = None
    limit: int | None = None  # the first N training rows (N/4 validation rows)
    image_size: int | None = None  # the image branch's input side (default: the preset's); the data must match
    seed: int | None = None
    camembert: str | None = None  # encoder models: hub name or local folder
    max_length: int | None = None  # encoder models: tokens per text
    cache: Path | None = None  # frozen encoder: where [CLS] vectors are cached
    name: str | None = None  # run folder name (default: key, or key-preset)
    resume: bool = False  # go on from the last completed epoch of a killed run with the same settings

    def check(self, entry: ModelEntry) -> TrainOptions:
        at_least_one(self, "epochs", "batch_size", "limit", "max_length")
        if self.image_size is not None:
            check_image_size(self.image_size)
        # The options only some models take (each entry declares its own); the rest apply to every model.
        specific = {k for e in REGISTRY.values() for k in e.trainer_options}
        extra = sorted(k for k in specific if getattr(self, k, None) is not None and k not in entry.trainer_options)
        if extra:
            takers = [k for k, e in REGISTRY.items() if set(extra) <= set(e.trainer_options)]
            raise UserError(
                f"{', '.join(extra)} only apply to the models that declare them "
                f"({', '.join(takers) or 'none'}), not to {entry.key}"
            )
        return self


@dataclass(frozen=True)
class Context:
    entry: ModelEntry
    config: ModelConfig
    options: TrainOptions
    train: Split
    val: Split
    run: Run  # the staging folder
    data: Path
    checkpoints: Checkpoints  # the resume points beside the run's final folder
    resume: bool = False

    @property
    def data_note(self) -> str:
        return f"{len(self.train):,} train / {len(self.val):,} val rows of {self.data.resolve()}"


def load_splits(data: Path, limit: int | None, image_size: int) -> tuple[Split, Split]:
    train = load_split(data, "train").head(limit)
    val = load_split(data, "val").head(None if limit is None else max(1, math.ceil(limit / 4)))
    cached = train.pixels.shape[1]
    if cached != image_size:
        raise UserError(
            f"{data} caches {cached}px images but the model expects {image_size}px: train with --image-size "
            f"{cached}, or prepare them with `rakuten-edge data prepare --image-size {image_size} --out OTHER_FOLDER`"
        )
    return train, val


def run_training(entry: ModelEntry, options: TrainOptions) -> dict:
    """Resolve the config, load the splits, stage the run folder and call the entry's trainer in it."""
    options = options.check(entry)
    preset = parse(Preset, options.preset, "preset")
    config = (
        entry.config(preset)
        .override(epochs=options.epochs, batch_size=options.batch_size, seed=options.seed)
        .with_encoder(options.camembert, options.max_length)
        .with_image_size(options.image_size)
    )
    if config.encoder is not None:
        from ..models.camembert import check_encoder_source

        check_encoder_source(config.encoder.name_or_path)
    data = Path(options.data)
    train_split, val_split = load_splits(data, options.limit, config.image.size)
    folder = Path(options.out) / (options.name or run_name(entry.key, preset.value))
    checkpoints = Checkpoints.beside(
        folder,
        fingerprint(
            key=entry.key,
            config=config.to_dict(),
            data=data.resolve(),
            rows=(len(train_split), len(val_split)),
            labels=train_split.labels.tolist()[:1000],
        ),
    )
    if options.resume:
        checkpoints.latest()  # a point of other settings is refused now, before the trainer's frameworks load
    trainer = entry.load("trainer")
    with staged_dir(folder) as tmp:
        ctx = Context(entry, config, options, train_split, val_split, Run(tmp), data, checkpoints, options.resume)
        metrics = trainer(ctx)
    checkpoints.finish()
    return {**metrics, "run": str(folder)}
