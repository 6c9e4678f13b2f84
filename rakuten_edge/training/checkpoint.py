"""Resume points: after every epoch a trainer leaves what `train MODEL --resume` needs beside the run folder.

`runs/.cnn3.resume/` holds `epoch-K/` (the model with its optimizer, the trainer's state: history, early-stopping
and plateau counters, the best score, random states) and `best.*` (the best epoch so far). An epoch folder is
written under a temporary name and renamed when complete, so a kill at any point leaves the previous epoch's
point whole. The folder survives the staging folder a kill removes, and goes when the run completes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..progress import console

STATE = "state.json"


def fingerprint(**parts) -> str:
    """What must not change between a killed run and its resumption: config, data, rows."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpoints:
    folder: Path
    fingerprint: str

    @classmethod
    def beside(cls, run_folder: Path, fingerprint: str) -> Checkpoints:
        run_folder = Path(run_folder)
        return cls(run_folder.with_name(f".{run_folder.name}.resume"), fingerprint)

    def best(self, suffix: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.folder / f"best{suffix}"

    def _epochs(self) -> list[tuple[int, Path]]:
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("epoch-*"):
            suffix = path.name.removeprefix("epoch-")
            if suffix.isdigit() and (path / STATE).is_file():
                found.append((int(suffix), path))
        return sorted(found)

    def latest(self) -> tuple[dict, Path] | None:
        """The last complete epoch's state and folder, or None; refuses a point written for another run."""
        epochs = self._epochs()
        if not epochs:
            return None
        path = epochs[-1][1]
        try:
            state = json.loads((path / STATE).read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"resume point {path} is unreadable ({exc}); remove {self.folder} to start over") from None
        if state.get("fingerprint") != self.fingerprint:
            raise UserError(
                f"resume point {self.folder} was written by a run with other settings or data; "
                "train without resume (it starts over) or remove that folder"
            )
        return state, path

    def start(self, resume: bool) -> tuple[dict, Path] | None:
        """What to resume from (resume=True), or a clean slate (resume=False drops any old point)."""
        if not resume:
            shutil.rmtree(self.folder, ignore_errors=True)
            return None
        point = self.latest()
        if point is None:
            console.print(f"nothing to resume in {self.folder}: starting from epoch 1")
        else:
            console.print(f"resuming after epoch {point[0]['epoch']} from {point[1]}")
        return point

    def save(self, epoch: int, state: dict, write: Callable[[Path], None]) -> None:
        """Write epoch `epoch`'s point: `write(folder)` puts the model files in, then the state goes last."""
        tmp = self.folder / f".epoch-{epoch}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        write(tmp)
        (tmp / STATE).write_text(json.dumps({**state, "epoch": epoch, "fingerprint": self.fingerprint}))
        final = self.folder / f"epoch-{epoch}"
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for older, path in self._epochs():
            if older < epoch:
                shutil.rmtree(path, ignore_errors=True)

    def finish(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
