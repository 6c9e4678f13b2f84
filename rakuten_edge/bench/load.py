"""A fixed CPU load beside a measured row: `--load N` busy processes, started before the row's worker and killed
after it, so that a row measures what a model gets on a shared machine (a catalogue decoding images, a service
beside other jobs). A busy loop is the simplest load that never sleeps: it takes a core whenever the scheduler
lets it, as an image decoder in full flight does."""

from __future__ import annotations

import contextlib
import subprocess
import sys

SPIN = "while True: pass"


@contextlib.contextmanager
def busy_processes(n: int):
    procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(n)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()
