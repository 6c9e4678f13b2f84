"""What machine the numbers come from."""

from __future__ import annotations

import os
import platform
from pathlib import Path

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8", "avx_vnni", "fma")


def describe() -> dict:
    cpu, flags = platform.processor() or platform.machine(), set()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name") and cpu in ("", platform.machine(), platform.processor()):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    memory = None
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        memory = round(int(meminfo.read_text().split()[1]) / 2**20, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "flags": [f for f in FLAGS if f in flags],
        "memory_gib": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }
