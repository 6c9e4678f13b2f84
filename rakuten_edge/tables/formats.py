"""The one table of formats. Export writes the bundle formats, the runtime loads them, the bench measures every
row: each reads what it needs from the entry, so adding a format is one entry here (plus its runner module).

Light on purpose: the edge runtime imports this table, so it holds names and "module:function" strings only.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace

from ..choices import Capability, Framework, Precision
from ..errors import UserError
from .engines import ENGINES

RUNNERS = "rakuten_edge.bench.runners"
LITERT = "rakuten_edge.bench.litert"
ALL_FRAMEWORKS = (Framework.keras, Framework.torch)


@dataclass(frozen=True)
class Format:
    name: str
    precision: Precision
    description: str
    runner: str  # "module:function" (subject, format, threads) -> predict(feeds) -> probs, in a bench worker
    size: str  # "module:function" (subject, format) -> MB of what a user ships, or None when absent
    bundle: bool = False  # export writes it as bundles/<run>-<precision>/ and the runtime loads it
    from_bundle: Precision | None = None  # the bench runs the run's bundle of this precision
    frameworks: tuple[Framework, ...] = ALL_FRAMEWORKS
    requires: frozenset[Capability] = frozenset()  # model capabilities the format needs
    prepare: str = ""  # "module:function" (subject, format, batches): offline conversion before the timed process
    static_batch: bool = False  # one artefact per batch size: accuracy is evaluated row by row
    reference: bool = False  # the bench's "× native" column divides by this format's latency
    provider: str = ""  # onnxruntime execution provider it pins ("" = the caller's choice)
    artifact: str = "model.onnx"  # bundle formats: the graph file inside the bundle
    backend: str = ""  # a bundle run on another engine of tables/engines.py ("" = onnxruntime)
    engine_precision: str | None = None  # that engine's precision (openvino: f32 | bf16)
    origin: str = field(default="", compare=False)  # the module that registered it (bench workers import it)

    def applies(self, entry) -> bool:
        """Whether this format has a row for the registry entry `entry` (and its engine is installed here)."""
        installed = not self.backend or ENGINES[self.backend].available()
        return entry.framework in self.frameworks and self.requires <= entry.capabilities and installed

    @property
    def lossy(self) -> bool:
        """Faces the lossy gates: a lossy graph, or a lossy engine precision (OpenVINO's bf16)."""
        return self.precision.lossy or bool(self.backend and ENGINES[self.backend].lossy(self.engine_precision))


FORMATS: dict[str, Format] = {}


def register_format(fmt: Format) -> Format:
    fmt = replace(fmt, origin=fmt.origin or sys._getframe(1).f_globals.get("__name__", ""))
    FORMATS[fmt.name] = fmt
    return fmt


def unregister_format(name: str) -> None:
    FORMATS.pop(name, None)


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise UserError(f"unknown format {name!r} (choose {', '.join(FORMATS)})")
    return FORMATS[name]


def bundle_format(precision: Precision | str) -> Format:
    """The format export writes for `precision` (the one a bundle of that precision holds)."""
    for fmt in FORMATS.values():
        if fmt.bundle and fmt.precision == precision:
            return fmt
    raise UserError(f"no bundle format for precision {precision!r}")


def bundle_formats() -> list[Format]:
    return [f for f in FORMATS.values() if f.bundle]


def bundle_name(run_name: str, fmt: Format) -> str:
    return f"{run_name}-{fmt.precision.value}"


# LiteRT converts only the token-input Keras CNNs (the CamemBERT graphs mix frameworks), one static batch each.
_LITERT = {
    "runner": f"{LITERT}:runner",
    "size": f"{LITERT}:size",
    "frameworks": (Framework.keras,),
    "requires": frozenset({Capability.litert}),
    "prepare": f"{LITERT}:convert",
    "static_batch": True,
}

for _fmt in (
    Format(
        "native",
        Precision.fp32,
        "Keras through a compiled tf.function, PyTorch under inference_mode: the training framework itself",
        f"{RUNNERS}:native",
        f"{RUNNERS}:native_size",
        reference=True,
    ),
    Format(
        "onnx-fp32",
        Precision.fp32,
        "ONNX, float32 weights, onnxruntime",
        f"{RUNNERS}:onnx",
        f"{RUNNERS}:bundle_size",
        bundle=True,
        from_bundle=Precision.fp32,
    ),
    Format(
        "onnx-int8",
        Precision.int8,
        "ONNX, int8 (recipe chosen by measurement), onnxruntime",
        f"{RUNNERS}:onnx",
        f"{RUNNERS}:bundle_size",
        bundle=True,
        from_bundle=Precision.int8,
    ),
    # The fp32 bundle's graph on OpenVINO, as `--backend openvino` runs it (issue 20: bf16 on AMX ran cnn2 4.9x faster
    # than onnxruntime at batch 32 on an Intel Xeon; BiLSTMs 14-17x slower at batch 1). Rows only where it is installed.
    *(
        Format(
            f"openvino-{p}",
            Precision.fp32,
            f"the fp32 bundle's ONNX graph on OpenVINO, {p} compute",
            f"{RUNNERS}:onnx",
            f"{RUNNERS}:bundle_size",
            from_bundle=Precision.fp32,
            backend="openvino",
            engine_precision=p,
        )
        for p in ("f32", "bf16")
    ),
    Format("litert-fp32", Precision.fp32, "LiteRT (TFLite) float32: the edge peer for Keras models", **_LITERT),
    Format("litert-int8", Precision.int8, "LiteRT (TFLite) dynamic-range int8", **_LITERT),
):
    register_format(_fmt)
