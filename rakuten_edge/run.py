"""A training run's folder: one object knows its layout, so no module spells a file name of it twice."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .errors import UserError


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False, default=str), encoding="utf-8")


def run_name(key: str, preset: str) -> str:
    return key if preset == "seed" else f"{key}-{preset}"


@dataclass(frozen=True)
class Run:
    """`runs/<name>/`: config, metrics and the model's files. Pure paths and JSON: no framework import."""

    folder: Path

    CONFIG = "config.json"
    METRICS = "metrics.json"
    KERAS = "model.keras"
    WEIGHTS = "model.safetensors"
    VOCAB = "vocab.txt"
    ENCODER = "encoder"
    TOKENIZER = "tokenizer.json"
    VAL_PROBS = "val_probs.npz"
    REPORT = "report.json"

    def __post_init__(self):
        object.__setattr__(self, "folder", Path(self.folder))

    @property
    def name(self) -> str:
        return self.folder.name

    # ------------------------------------------------------------------------------------------ files
    @property
    def keras_path(self) -> Path:
        return self.folder / self.KERAS

    @property
    def weights_path(self) -> Path:
        return self.folder / self.WEIGHTS

    @property
    def vocab_path(self) -> Path:
        return self.folder / self.VOCAB

    @property
    def encoder_dir(self) -> Path:
        return self.folder / self.ENCODER

    @property
    def tokenizer_path(self) -> Path:
        return self.encoder_dir / self.TOKENIZER

    @property
    def val_probs_path(self) -> Path:
        return self.folder / self.VAL_PROBS

    @property
    def report_path(self) -> Path:
        return self.folder / self.REPORT

    def model_files(self) -> list[Path]:
        """What a user would ship of the native model (for the bench's size column)."""
        files = [self.keras_path, self.weights_path, *sorted(self.encoder_dir.glob("*.safetensors"))]
        return [f for f in files if f.is_file()]

    # ----------------------------------------------------------------------------------------- config
    def _json(self, name: str) -> dict:
        path = self.folder / name
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{self.folder} is not a run: no {name}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: unreadable ({exc})") from None
        if not isinstance(value, dict):
            raise UserError(f"{path}: expected a JSON object")
        return value

    @cached_property
    def config_dict(self) -> dict:
        return self._json(self.CONFIG)

    @cached_property
    def metrics(self) -> dict:
        return self._json(self.METRICS)

    @property
    def key(self) -> str:
        return self.config_dict["key"]

    @property
    def untrained(self) -> bool:
        return bool(self.metrics.get("untrained"))

    @property
    def data_dir(self) -> Path | None:
        value = self.metrics.get("data_dir")
        return Path(value) if value else None

    def write_config(self, config) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        write_json(self.folder / self.CONFIG, config.to_dict())

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.folder / self.METRICS, metrics)


def find_runs(runs: Path, wanted: list[str] | None = None) -> list[Run]:
    """Trained runs under `runs`, filtered by run name or model key."""
    found = [Run(p.parent) for p in sorted(Path(runs).glob(f"*/{Run.METRICS}")) if not p.parent.name.startswith(".")]
    if wanted:
        unknown = set(wanted) - {r.name for r in found} - {r.key for r in found}
        if unknown:
            first = sorted(unknown)[0]
            raise UserError(
                f"no trained run for {', '.join(sorted(unknown))} in {runs}: run `rakuten-edge train {first}` first"
            )
        found = [r for r in found if r.name in wanted or r.key in wanted]
    if not found:
        raise UserError(f"no trained run in {runs}: run `rakuten-edge train cnn3` first")
    return found
