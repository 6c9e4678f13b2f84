"""The bundles one server serves, by model name (the bundle's folder name) and version (its export stamp).

`serve` takes bundles or folders of bundles. A reload (`POST /admin/reload` behind the API key, or SIGHUP) rescans
them: a new or changed bundle is loaded, hash-checked and warmed up beside the old one, then swapped in; a removed one
is retired; a broken one is refused with a log line and the old version keeps answering. A request holds the slot it
started with, so in-flight requests finish on the old version; an old slot's batcher stops once they have.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..bundles import list_bundles
from ..errors import UserError
from ..runtime.classifier import Classifier
from ..runtime.manifest import MANIFEST, read_manifest
from ..runtime.preprocess import blank_image
from .oip import version_of


@dataclass
class Slot:
    clf: Classifier
    name: str
    version: str
    files: dict  # the manifest's file hashes: a reload swaps the slot when they change
    batcher: object = None
    inflight: int = 0


@dataclass
class Options:
    threads: int | None = None
    spin: bool = False
    backend: str | None = None
    precision: str | None = None


def bundle_folders(sources: list[Path]) -> list[Path]:
    """Each source is a bundle folder, or a folder of bundles (hidden staging folders skipped)."""
    found: list[Path] = []
    for source in sources:
        if (source / MANIFEST).is_file():
            found.append(source)
        elif source.is_dir():
            found += list_bundles(source)
        else:
            raise UserError(f"{source} is neither a bundle nor a folder of bundles")
    names = [f.name for f in found]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise UserError(f"two bundles named {', '.join(duplicated)}: model names must be unique")
    return found


def thread_budget(models: int, threads: int | None) -> int:
    """One budget per process: the cores shared by the models, so several models on 2 cores never ask for more."""
    return threads or max(1, (os.cpu_count() or 1) // max(1, models))


@dataclass
class Models:
    sources: list[Path]
    options: Options
    make_batcher: Callable[[Classifier, str, str], object]  # (clf, name, version) -> a started MicroBatcher
    slots: dict[str, Slot] = field(default_factory=dict)
    default: str = ""
    lock: asyncio.Lock | None = None

    def load(self, folder: Path, budget: int) -> Slot:
        o = self.options
        clf = Classifier(folder, threads=budget, spin=o.spin, backend=o.backend, precision=o.precision)
        return Slot(clf, folder.name, version_of(clf.manifest), dict(clf.manifest["files"]))

    def load_all(self, default: Path | None = None) -> None:
        """At start-up: every bundle must load (a bad one stops the server before it serves)."""
        folders = bundle_folders(self.sources)
        if not folders:
            raise UserError(f"no bundle in {', '.join(map(str, self.sources))}")
        budget = thread_budget(len(folders), self.options.threads)
        self.slots = {f.name: self.load(f, budget) for f in folders}
        self.default = default.name if default is not None and default.name in self.slots else folders[0].name

    def get(self, name: str | None = None) -> Slot:
        slot = self.slots.get(name or self.default)
        if slot is None:
            raise KeyError(name)
        return slot

    async def start(self) -> None:
        self.lock = asyncio.Lock()
        for slot in self.slots.values():
            await self._warm(slot)

    async def _warm(self, slot: Slot) -> None:
        slot.batcher = self.make_batcher(slot.clf, slot.name, slot.version)
        # the first session call allocates: not a client's wait
        await slot.batcher.submit(blank_image(slot.clf.image_size), "warm up")

    async def reload(self) -> dict:
        """Rescan the sources; returns what was loaded, retired and refused (one line each)."""
        async with self.lock:
            loaded, retired, refused = [], [], []
            try:
                folders = {f.name: f for f in bundle_folders(self.sources)}
            except UserError as exc:
                return {"loaded": [], "retired": [], "refused": [str(exc)]}
            budget = thread_budget(len(folders), self.options.threads)
            for name, folder in folders.items():
                old = self.slots.get(name)
                try:
                    files = read_manifest(folder, verify=False).get("files")
                    if old is not None and files == old.files:
                        continue
                    slot = await asyncio.get_running_loop().run_in_executor(None, self.load, folder, budget)
                    await self._warm(slot)
                except Exception as exc:  # noqa: BLE001 - a broken bundle is refused; the old version stays
                    line = f"{name}: refused ({' '.join(str(exc).split())})"[:300]
                    print(f"reload: {line}", file=sys.stderr, flush=True)
                    refused.append(line)
                    continue
                self.slots[name] = slot
                loaded.append(f"{name} {slot.version}")
                if old is not None:
                    asyncio.get_running_loop().create_task(self._retire(old))
            for name in [n for n in self.slots if n not in folders and n != self.default]:
                retired.append(name)
                asyncio.get_running_loop().create_task(self._retire(self.slots.pop(name)))
            return {"loaded": loaded, "retired": retired, "refused": refused}

    async def _retire(self, slot: Slot) -> None:
        """Stop an old slot's batcher once the requests that hold it have their answers."""
        while slot.inflight:
            await asyncio.sleep(0.05)
        await slot.batcher.stop()

    async def stop(self) -> None:
        for slot in self.slots.values():
            if slot.batcher is not None:
                await slot.batcher.stop()
