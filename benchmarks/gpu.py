"""GPU rows of the transformer models, prepared to run in one go on a lent GPU machine (benchmarks/README).

    python3 benchmarks/gpu.py --device cuda --out gpu.json           # base size, capped at 5 minutes
    .venv/bin/python benchmarks/gpu.py --device cpu --size tiny --out /tmp/gpu-cpu.json   # the fast tier's check

Needs only torch, transformers, numpy and the project's own source (PYTHONPATH=.): no TensorFlow, no onnxruntime-gpu.
Random weights (latency does not depend on training). Rows, each written to the JSON as soon as it is measured:
camembert-ft inference (batch 1 latency, batch 32/256 throughput; fp32 and bf16 autocast), its fine-tuning step
(batch 32/64, bf16 autocast as the torch trainer uses it on CUDA), the frozen camembert's [CLS] extraction (the part
that dominates; the Keras head is left out: no TensorFlow there), and ONNX on the GPU only if a CUDA onnxruntime is
there. The same rows run on the machine's CPU cores after the GPU rows.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (hidden, layers, heads, intermediate, sequence): camembert-base, and a tiny one for the CPU check of the script.
SIZES = {"base": (768, 12, 12, 3072, 128), "tiny": (32, 2, 2, 64, 16)}
BATCHES = {
    "base": {"latency": 1, "throughput": (32, 256), "train": (32, 64)},
    "tiny": {"latency": 1, "throughput": (4,), "train": (4,)},
}
VOCAB = 32_005  # camembert-base's vocabulary


@dataclass
class Row:
    model: str
    job: str  # inference | fine-tune step | [CLS] features | onnx
    device: str
    precision: str  # fp32 | bf16-autocast
    batch: int
    value: float | None = None  # ms per batch (batch 1) or items/s
    unit: str = ""
    note: str = ""


@dataclass
class Report:
    machine: dict
    size: str
    rows: list[Row] = field(default_factory=list)

    def write(self, out: Path) -> None:
        tmp = out.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"machine": self.machine, "size": self.size, "rows": [asdict(r) for r in self.rows]}, indent=1)
        )
        tmp.replace(out)  # whole after every row: a run cut short keeps what it measured


def machine(torch) -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__, "cpu_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        import transformers

        info["transformers"] = transformers.__version__
    except ImportError:
        pass
    return info


def models(size: str, device):
    """camembert-ft (the project's own module) around a random CamemBERT of the given size, and that encoder."""
    from transformers import CamembertConfig, CamembertModel

    from rakuten_edge.models.registry import REGISTRY
    from rakuten_edge.models.torch_fusion import build_torch_model

    hidden, layers, heads, inter, _ = SIZES[size]
    cfg = CamembertConfig(
        vocab_size=VOCAB,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=inter,
        max_position_embeddings=514,
    )
    encoder = CamembertModel(cfg, add_pooling_layer=False)
    config = REGISTRY["camembert-ft"].config("tiny" if size == "tiny" else "seed")
    return build_torch_model(config, encoder).to(device), config


def inputs(torch, batch: int, size: str, image: int, device):
    seq = SIZES[size][4]
    return (
        torch.rand(batch, image, image, 1, device=device),
        torch.randint(5, VOCAB, (batch, seq), device=device),
        torch.ones(batch, seq, dtype=torch.int64, device=device),
    )


def timed(torch, fn, device, warm: int, runs: int) -> float:
    """Seconds per call: warm-up calls first; CUDA synchronised around the timed ones."""
    for _ in range(warm):
        fn()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(runs):
        fn()
    sync()
    return (time.perf_counter() - t0) / runs


def measure(torch, size: str, device, report: Report, out: Path, deadline: float, runs: int) -> None:
    model, config = models(size, device)
    image = config.image.size
    b = BATCHES[size]
    kind = device.type

    def add(row: Row, fn, batch: int, per_item: bool) -> None:
        if time.monotonic() > deadline:
            row.note = "not measured: over the run's time cap"
        else:
            # The CPU rows of base size take seconds per call: fewer of them, so the GPU run stays under its cap.
            cpu = device.type == "cpu"
            seconds = timed(torch, fn, device, warm=1 if cpu else 3, runs=max(2, runs // 5) if cpu else runs)
            row.value, row.unit = (
                (round(batch / seconds, 1), "items/s") if per_item else (round(seconds * 1000, 3), "ms")
            )
        report.rows.append(row)
        report.write(out)

    for precision in ("fp32", "bf16-autocast"):
        cast = torch.autocast(kind, dtype=torch.bfloat16, enabled=precision != "fp32")
        model.eval()
        for batch in (b["latency"], *b["throughput"]):
            x = inputs(torch, batch, size, image, device)

            def infer(x=x, cast=cast):
                with torch.inference_mode(), cast:
                    return model(*x)

            add(Row("camembert-ft", "inference", kind, precision, batch), infer, batch, batch > 1)
        encoder = model.encoder
        for batch in b["throughput"]:
            x = inputs(torch, batch, size, image, device)

            def cls(x=x, cast=cast, encoder=encoder):
                with torch.inference_mode(), cast:
                    return encoder(input_ids=x[1], attention_mask=x[2]).last_hidden_state[:, 0]

            add(Row("camembert", "[CLS] features", kind, precision, batch), cls, batch, True)
    # The trainer's step: bf16 autocast on CUDA (fp32 on the CPU, as the trainer does there), Adam, fp32 loss.
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-5)
    loss_fn = torch.nn.CrossEntropyLoss()
    precision = "bf16-autocast" if kind == "cuda" else "fp32"
    model.train()
    for batch in b["train"]:
        x = inputs(torch, batch, size, image, device)
        y = torch.randint(0, config.num_classes, (batch,), device=device)

        def step(x=x, y=y):
            with torch.autocast(kind, dtype=torch.bfloat16, enabled=kind == "cuda"):
                loss = loss_fn(model.logits(*x).float(), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        add(Row("camembert-ft", "fine-tune step", kind, precision, batch), step, batch, True)


def onnx_row(device: str) -> Row:
    """ONNX on the GPU only through a CUDA-capable onnxruntime already there (onnxruntime-gpu is far over the 64 MiB a
    call may carry); otherwise the row names its reason."""
    row = Row("camembert-ft", "onnx", device, "fp32", 1)
    try:
        import onnxruntime as ort
    except ImportError:
        row.note = "not measured: no onnxruntime on this machine"
        return row
    providers = ort.get_available_providers()
    if "CUDAExecutionProvider" not in providers:
        row.note = (
            f"not measured: onnxruntime {ort.__version__} here has no CUDAExecutionProvider "
            f"({', '.join(providers)}); onnxruntime-gpu is far over the 64 MiB a call may carry"
        )
    else:
        row.note = "CUDAExecutionProvider present: run `rakuten-edge bench --provider cuda` on an exported bundle"
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--size", choices=tuple(SIZES), default="base")
    parser.add_argument("--out", type=Path, default=Path("gpu.json"))
    parser.add_argument("--cap-s", type=float, default=300.0, help="stop measuring after this many seconds")
    parser.add_argument("--runs", type=int, default=20, help="timed calls per row")
    parser.add_argument(
        "--cpu-rows",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the GPU rows, the same rows on the machine's CPU cores",
    )
    args = parser.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device (use --device cpu for the CPU rows)", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.cap_s
    report = Report(machine(torch), args.size)
    torch.manual_seed(0)
    devices = [args.device] + (["cpu"] if args.device == "cuda" and args.cpu_rows else [])
    for name in devices:
        measure(torch, args.size, torch.device(name), report, args.out, deadline, args.runs)
    report.rows.append(onnx_row(args.device))
    report.write(args.out)
    for r in report.rows:
        value = f"{r.value} {r.unit}" if r.value is not None else r.note
        print(f"{r.model:13} {r.job:15} {r.device:4} {r.precision:13} batch {r.batch:3}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
