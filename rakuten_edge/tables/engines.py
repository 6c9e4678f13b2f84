"""The one table of inference engines: what runs a bundle's graph behind the runtime's one path.

An engine is an adapter (runtime/engine.py's `Engine`): open a graph, report its inputs and outputs, run feeds to
probabilities. onnxruntime is the light runtime's only hard dependency; another engine is an entry here plus its
adapter module, imported only when asked for.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ..errors import UserError

DEFAULT = "onnxruntime"


@dataclass(frozen=True)
class EngineEntry:
    name: str
    adapter: str  # "module:Class" implementing runtime.engine.Engine
    modules: tuple[str, ...]  # the Python packages it needs (checked before the adapter is imported)
    extra: str  # the project's extra that installs it ("" = a core dependency)
    description: str = ""
    precisions: tuple[str | None, ...] = (None,)  # what tune tries (None: the graph's own precision)
    lossy_precisions: frozenset[str] = frozenset()  # those that face the lossy (int8) gates
    bundle_section: str = ""  # the manifest section the bundle must carry for this engine ("" = the ONNX graph)

    def lossy(self, precision: str | None) -> bool:
        return precision in self.lossy_precisions

    def available(self) -> bool:
        return not self.missing()

    def missing(self) -> list[str]:
        return [m for m in self.modules if importlib.util.find_spec(m) is None]


ENGINES: dict[str, EngineEntry] = {}


def register_engine(entry: EngineEntry) -> EngineEntry:
    ENGINES[entry.name] = entry
    return entry


def get_engine(name: object) -> EngineEntry:
    if not isinstance(name, str) or name not in ENGINES:
        raise UserError(f"unknown backend {name!r} (choose {', '.join(ENGINES)})")
    entry = ENGINES[name]
    missing = entry.missing()
    if missing:
        how = f"pip install 'rakuten-edge[{entry.extra}]'" if entry.extra else f"pip install {' '.join(missing)}"
        names = " and ".join(repr(m) for m in missing)
        raise UserError(f"backend {name!r} needs the Python package {names}, not installed here: {how}")
    return entry


register_engine(
    EngineEntry(
        "onnxruntime",
        "rakuten_edge.runtime.engine_onnxruntime:OnnxRuntimeEngine",
        ("onnxruntime",),
        "",
        "onnxruntime's CPU (or CUDA) execution provider: the portable default",
    )
)
register_engine(
    EngineEntry(
        "openvino",
        "rakuten_edge.runtime.engine_openvino:OpenVinoEngine",
        ("openvino",),
        "openvino",
        "Intel's OpenVINO on the CPU, reading the ONNX graph itself; f32 or bf16 (AMX / avx512_bf16 machines)",
        precisions=("f32", "bf16"),
        lossy_precisions=frozenset({"bf16"}),
    )
)
register_engine(
    EngineEntry(
        "litert",
        "rakuten_edge.runtime.engine_litert:LiteRtEngine",
        ("ai_edge_litert",),
        "litert",
        "Google's LiteRT on the bundle's own flatbuffers (`export --litert`): f32 at batch 1 and 32, int8 row by row",
        precisions=("f32", "int8"),
        lossy_precisions=frozenset({"int8"}),
        bundle_section="litert",
    )
)
register_engine(
    EngineEntry(
        "split",
        "rakuten_edge.runtime.engine_split:SplitEngine",
        ("openvino", "onnx"),
        "openvino",
        "the graph cut where the image tower ends: the tower on OpenVINO (f32 or bf16), the rest on onnxruntime",
        precisions=("f32", "bf16"),
        lossy_precisions=frozenset({"bf16"}),
    )
)
