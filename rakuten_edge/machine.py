"""What machine the numbers come from."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8", "avx_vnni", "fma")


@lru_cache(maxsize=1)
def cpu() -> tuple[str, tuple[str, ...]]:
    """The CPU's model name and which of FLAGS it has: read from /proc/cpuinfo once per process (the runtime asks
    at every load that has a tuning file, export at every int8 recipe)."""
    name, flags = platform.processor() or platform.machine(), set()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name") and name in ("", platform.machine(), platform.processor()):
                name = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break  # every core lists the same flags, after its model name
    return name, tuple(f for f in FLAGS if f in flags)


def describe() -> dict:
    name, flags = cpu()
    memory = None
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        memory = round(int(meminfo.read_text().split()[1]) / 2**20, 1)
    return {
        "cpu": name,
        "cores": os.cpu_count(),
        "flags": list(flags),
        "memory_gib": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }
