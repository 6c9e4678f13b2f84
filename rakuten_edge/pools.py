"""Process pools whose workers die with their parent.

A `data prepare --force` killed with SIGKILL left its two decoding workers alive, orphaned, for over an hour: a
ProcessPoolExecutor worker waits on its call queue and never learns that the parent is gone. Each worker here asks
the kernel (Linux prctl PR_SET_PDEATHSIG) for SIGKILL when its parent dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        # no prctl: the pool still works, only without this guarantee
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def process_pool(workers: int | None = None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers or os.cpu_count() or 1, initializer=_die_with_parent, initargs=(os.getpid(),))


def json_worker(module: str, spec: str, env: dict, timeout: float) -> dict:
    """`python -m module spec` in a fresh process (a measured row, a tune candidate): its last JSON line, or
    {"ok": False, "error": one line} when it timed out or printed none."""
    import json
    import subprocess

    try:
        proc = subprocess.run(
            [sys.executable, "-m", module, spec], capture_output=True, text=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "error": f"worker exited {proc.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])
