"""Atomic folder writes: build beside the target, swap in only when complete."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
from pathlib import Path


@contextlib.contextmanager
def staged_dir(folder: Path):
    """Yield a temporary sibling folder; on success it replaces `folder`, on any failure it is removed, so
    an interrupted or failed run never leaves a half-written result where a good one was."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    _remove_stale(folder)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(folder: Path) -> None:
    """Staging folders of runs that were killed (their process is gone): nothing else would ever remove them."""
    for stale in folder.parent.glob(f".{glob.escape(folder.name)}.*-*"):
        suffix = stale.name.rsplit("-", 1)[-1]
        if suffix.isdigit() and int(suffix) != os.getpid() and not _alive(int(suffix)):
            shutil.rmtree(stale, ignore_errors=True)
