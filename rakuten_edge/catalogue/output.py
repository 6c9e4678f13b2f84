"""The output files, written so a catalogue run can be killed at any point and resumed.

Each finished chunk leaves its part files in `<out>.parts/` (each part written to a temporary name, then renamed);
a rerun with the same arguments (same catalogue bytes, bundle, options) skips the chunks already there. When every
chunk is done the final files are assembled beside the target and renamed into place, sidecars first, the
predictions file last; then the parts go.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .chunk import ISSUES_HEADER, ChunkResult

SUBMISSION_HEADER = ",prdtypecode\n"
KINDS = {"predictions": ".csv", "top_k": ".jsonl", "issues": ".csv"}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class Outputs:
    out: Path
    top_k: int

    @property
    def parts(self) -> Path:
        return self.out.with_name(f".{self.out.name}.parts")

    @property
    def issues_path(self) -> Path:
        return self.out.with_name(f"{self.out.name}.issues.csv")

    @property
    def top_k_path(self) -> Path:
        return self.out.with_name(f"{self.out.stem}.topk.jsonl")

    # ------------------------------------------------------------------------------------------ resume
    def open(self, fingerprint: dict) -> set[int]:
        """Prepare the parts folder; return the chunks a previous run with the same fingerprint finished."""
        meta = self.parts / "meta.json"
        if meta.is_file():
            try:
                same = json.loads(meta.read_text()) == fingerprint
            except (json.JSONDecodeError, UnicodeDecodeError):
                same = False
            if same:
                return {int(p.stem.split("-")[1]) for p in self.parts.glob("chunk-*.done")}
            shutil.rmtree(self.parts)  # another catalogue or other options: start afresh
        self.parts.mkdir(parents=True, exist_ok=True)
        _write_atomic(meta, json.dumps(fingerprint, sort_keys=True))
        return set()

    def _part(self, number: int, kind: str) -> Path:
        return self.parts / f"chunk-{number:06d}-{kind}{KINDS[kind]}"

    def save(self, result: ChunkResult) -> None:
        for kind in KINDS:
            _write_atomic(self._part(result.number, kind), getattr(result, kind))
        # The marker comes last: a chunk counts as done only once all of its parts are on disk.
        _write_atomic(self.parts / f"chunk-{result.number:06d}.done", f"{result.rows} {result.issue_count}\n")

    def counts(self, number: int) -> tuple[int, int]:
        rows, issues = (self.parts / f"chunk-{number:06d}.done").read_text().split()
        return int(rows), int(issues)

    # --------------------------------------------------------------------------------------- assembly
    def finish(self, chunks: int) -> list[Path]:
        """Concatenate the parts in input order into the final files, swapped in atomically."""
        targets = {"issues": (self.issues_path, ISSUES_HEADER), "predictions": (self.out, SUBMISSION_HEADER)}
        if self.top_k > 1:
            targets = {"top_k": (self.top_k_path, ""), **targets}
        staged = []
        for kind, (path, header) in targets.items():
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(header)
                for number in range(chunks):
                    f.write(self._part(number, kind).read_text(encoding="utf-8"))
            staged.append((tmp, path))
        for tmp, path in staged:  # sidecars first, the submission file last
            os.replace(tmp, path)
        shutil.rmtree(self.parts, ignore_errors=True)
        return [path for _, path in staged]
