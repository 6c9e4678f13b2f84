"""The measuring commands: `bench` (every model in every format) and `tune` (the engine choice for this CPU)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import paths
from .choices import Provider
from .cli_render import echo_json
from .errors import UserError
from .tables.formats import FORMATS


def tune_cmd(
    bundle: Path = typer.Argument(..., help="The bundle folder to tune."),
    job: Optional[str] = typer.Option(None, help="latency (predict, serve) or throughput (catalogue); default both."),
    data: Path = typer.Option(paths.PREPARED, help="Prepared data: the gate rows come from its split_val."),
    rows: int = typer.Option(256, help="Validation rows every candidate must answer like onnxruntime does."),
    runs: int = typer.Option(50, help="Timed batch-1 calls per candidate (a tenth as many batches for throughput)."),
    threads: Optional[str] = typer.Option(None, help="Thread counts to try, comma-separated (default: 1 and cores)."),
) -> None:
    """Measure every engine × precision × threads here, gate each, record the fastest that passed for this CPU."""
    from .runtime.tuning import JOBS
    from .tune import tune

    try:
        counts = [int(t) for t in threads.split(",")] if threads else None
    except ValueError:
        raise UserError(f"--threads must look like 1,2, got {threads!r}") from None
    if counts is not None and min(counts) < 1:
        raise UserError(f"--threads must be at least 1, got {threads!r}")
    result = tune(bundle, (job,) if job else JOBS, data, rows, runs, counts)
    echo_json(
        {k: v for k, v in result.items() if k not in JOBS} | {j: result[j]["winner"] for j in JOBS if j in result}
    )


def bench_cmd(
    targets: Optional[list[str]] = typer.Argument(None, help="Bundles, run names or model keys; default: every run."),
    batch_sizes: str = typer.Option("1,32", help="1,N: latency at batch 1, throughput at batch N."),
    threads: int = typer.Option(2, help="Intra-op threads for every format."),
    provider: Provider = typer.Option(Provider.cpu, help="cpu or cuda (ONNX formats; says so when CUDA is missing)."),
    repeats: int = typer.Option(100, help="Timed batch-1 runs per row (after warm-up)."),
    out: Path = typer.Option(Path("bench-results"), help="Where results.{json,csv,md} and latency.png go."),
    untrained: bool = typer.Option(
        False, "--untrained", help="Seed-size models with random weights (base-size CamemBERT)."
    ),
    formats: Optional[str] = typer.Option(None, help="Comma-separated subset of: " + ", ".join(FORMATS)),
    data: Path = typer.Option(paths.PREPARED, help="Prepared data (accuracy columns)."),
    runs: Path = typer.Option(paths.RUNS, help="Runs root."),
    bundles: Path = typer.Option(paths.BUNDLES, help="Bundles root."),
    eval_rows: Optional[int] = typer.Option(None, help="Validation rows for the accuracy columns (default: all)."),
    load: int = typer.Option(0, help="Busy processes running beside every measured row (a shared CPU)."),
    spin: bool = typer.Option(True, "--spin/--no-spin", help="onnxruntime threads busy-wait between calls."),
) -> None:
    """Latency, throughput, size, cold start, memory and accuracy of every model in every format."""
    from .bench.core import bench
    from .bench.subject import BenchOptions

    try:
        sizes = tuple(int(x) for x in batch_sizes.split(","))
    except ValueError:
        raise UserError(f"--batch-sizes must look like 1,32, got {batch_sizes!r}") from None
    chosen = tuple(formats.split(",")) if formats else None
    options = BenchOptions(sizes, threads, provider, repeats, chosen, eval_rows, load=load, spin=spin)
    bench(targets or None, options, out, untrained, runs=runs, bundles=bundles, data=data)
    typer.echo(f"results written to {out}/ (results.json, results.csv, results.md, physical_limit.md, latency.png)")
