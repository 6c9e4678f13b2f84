"""The `rakuten-edge` command: each command parses its arguments and calls one plain function."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from . import paths
from .choices import Engine, Preset, Provider, QuantMode
from .cli_render import echo_json
from .errors import UserError
from .quiet import quiet_tensorflow_import
from .serve import RAY_INGRESSES
from .tables.engines import ENGINES

# Before any TensorFlow import: its C++ start-up lines stay off the user's terminal (export --verbose shows them).
if "--verbose" not in sys.argv[1:]:
    quiet_tensorflow_import()
from .models.registry import REGISTRY  # noqa: E402


def model_choices() -> type[Enum]:
    """Choices come from the registry: registering a model is enough for every command to offer it."""
    return Enum("ModelKey", {key: key for key in REGISTRY}, type=str)


ModelKey = model_choices()
BACKEND_HELP = f"Pin the engine ({', '.join(ENGINES)}); default: the bundle's tuning for this CPU, else onnxruntime."
PRECISION_HELP = "Pin the engine's precision ({}); default: the tuned or the graph's own.".format(
    "; ".join(f"{n}: {' or '.join(p for p in e.precisions if p)}" for n, e in ENGINES.items() if any(e.precisions))
)
RAY_INGRESS_HELP = "With --engine ray, how HTTP reaches the replicas: " + "; ".join(
    f"{name}: {ingress.help}" for name, ingress in RAY_INGRESSES.items()
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Train, export, run and benchmark the Rakuten multimodal product classifiers.",
)

from .cli_data import camembert_app, data_app  # noqa: E402
from .cli_measure import bench_cmd, tune_cmd  # noqa: E402

app.add_typer(data_app, name="data")
app.add_typer(camembert_app, name="camembert")


@app.command("train")
def train_cmd(
    model: ModelKey = typer.Argument(..., help="Which model of the registry to train."),
    data: Path = typer.Option(paths.PREPARED, help="Prepared data folder."),
    out: Path = typer.Option(paths.RUNS, help="Runs root: the run goes to OUT/MODEL (OUT/MODEL-PRESET)."),
    epochs: Optional[int] = typer.Option(None, help="Default: the preset's (10 for seed)."),
    batch_size: Optional[int] = typer.Option(None, help="Default: the preset's (64 for seed)."),
    preset: Preset = typer.Option(Preset.seed, help="seed (the write-up's settings) or tiny (tests and quick demos)."),
    limit: Optional[int] = typer.Option(None, help="Use only the first N training rows (N/4 validation rows)."),
    image_size: Optional[int] = typer.Option(
        None, help="Image side in px (default: the preset's, 128 for seed); the data must be prepared at it."
    ),
    seed: Optional[int] = typer.Option(None, help="Random seed (default 42)."),
    camembert: Optional[str] = typer.Option(None, help="CamemBERT models: hub name or local folder."),
    max_length: Optional[int] = typer.Option(None, help="CamemBERT models: tokens per text (default 128)."),
    resume: bool = typer.Option(
        False, "--resume", help="Go on from the last completed epoch of a killed run with the same settings."
    ),
) -> None:
    """Train one model with the seed's settings and write its run folder."""
    from .training import train

    echo_json(
        train(
            model.value,
            data=data,
            out=out,
            preset=preset,
            epochs=epochs,
            batch_size=batch_size,
            limit=limit,
            image_size=image_size,
            seed=seed,
            camembert=camembert,
            max_length=max_length,
            resume=resume,
        )
    )


@app.command("export")
def export_cmd(
    models: Optional[list[str]] = typer.Argument(None, help="Run names or model keys; default: every trained run."),
    quantize: bool = typer.Option(False, "--quantize", help="Also write an int8 bundle beside the fp32 one."),
    quant_mode: QuantMode = typer.Option(QuantMode.auto, help="auto (measure every recipe), dynamic or static."),
    out: Path = typer.Option(paths.BUNDLES, help="Bundles root."),
    runs: Path = typer.Option(paths.RUNS, help="Runs root."),
    data: Optional[Path] = typer.Option(None, help="Prepared data for validation (default: the run's)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show the converters' own log lines."),
    tune: bool = typer.Option(False, "--tune", help="Then tune each bundle on this machine (rakuten-edge tune)."),
    litert: bool = typer.Option(False, "--litert", help="Add gated LiteRT flatbuffers to the fp32 bundle (cnn1-3)."),
) -> None:
    """Export trained runs to validated ONNX bundles (fp32, and int8 with --quantize)."""
    from .export import export

    results = export(models or None, quantize, quant_mode, out, runs, data, verbose, litert)
    if tune:
        from .tune import tune_results

        results = tune_results(results, data or paths.PREPARED)
    echo_json(results)


@app.command("predict")
def predict_cmd(
    image: Optional[Path] = typer.Argument(None, help="Product image (JPEG, PNG, ...); not with --csv."),
    text: Optional[str] = typer.Argument(None, help="The product's designation (title); not with --csv."),
    description: Optional[str] = typer.Option(None, help="The product's description."),
    bundle: Optional[Path] = typer.Option(None, help="Bundle folder; default: the best exported bundle."),
    top_k: Optional[int] = typer.Option(None, help="Categories per product (default 3; 1 with --csv)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    provider: Optional[Provider] = typer.Option(None, help="cpu (default) or cuda."),
    csv: Optional[Path] = typer.Option(None, help="A catalogue CSV (,designation,description,productid,imageid)."),
    images: Optional[Path] = typer.Option(None, help="With --csv: folder of image_{imageid}_product_{productid}.jpg"),
    out: Optional[Path] = typer.Option(None, help="With --csv: the submission file to write (,prdtypecode)."),
    batch_size: Optional[int] = typer.Option(None, help="With --csv: rows per session call."),
    chunk_size: int = typer.Option(256, help="With --csv: rows per chunk (decoding, saving, resuming)."),
    engine: Engine = typer.Option(Engine.local, help="With --csv: local threads, or a Ray Data pipeline."),
    workers: Optional[int] = typer.Option(None, help="With --csv: decode threads (local) or actors (ray)."),
    threads: Optional[int] = typer.Option(None, help="onnxruntime threads per session."),
    ray_address: Optional[str] = typer.Option(None, help="With --engine ray: a cluster (default RAY_ADDRESS)."),
    strict: bool = typer.Option(False, "--strict", help="With --csv: a bad row is an error, not an issue."),
    spin: bool = typer.Option(True, "--spin/--no-spin", help="With --csv: onnxruntime threads busy-wait."),
    backend: Optional[str] = typer.Option(None, help=BACKEND_HELP),
    precision: Optional[str] = typer.Option(None, help=PRECISION_HELP),
) -> None:
    """Classify one product, or with --csv a whole catalogue into a challenge submission file."""
    providers = [provider.value] if provider else None
    if csv is not None:
        if image is not None or text is not None:
            raise UserError("give either IMAGE TEXT or --csv, not both")
        if images is None or out is None:
            raise UserError("--csv needs --images (the images folder) and --out (the submission file)")
        from .catalogue import CatalogueOptions, score_catalogue

        options = CatalogueOptions(
            top_k or 1,
            batch_size,
            chunk_size,
            engine,
            strict,
            workers,
            threads,
            ray_address,
            providers,
            spin=spin,
            backend=backend,
            precision=precision,
        )
        echo_json(score_catalogue(csv, images, out, bundle, options).to_dict())
        return
    if image is None or text is None:
        raise UserError("give IMAGE and TEXT (one product), or --csv with --images and --out (a catalogue)")
    from .predict import predict

    result = predict(image, text, description, bundle, top_k or 3, providers, backend, precision)
    if as_json:
        echo_json(result)
        return
    from .cli_render import prediction_table

    prediction_table(result)


@app.command("serve")
def serve_cmd(
    bundles: Optional[list[Path]] = typer.Argument(
        None, help="Bundle folders or folders of bundles; /v1 answers with the first. Default: bundles/, best first."
    ),
    host: str = typer.Option("127.0.0.1", help="Address to bind (loopback unless told otherwise)."),
    port: int = typer.Option(8000),
    threads: Optional[int] = typer.Option(None, help="onnxruntime threads (default: the cores)."),
    api_key: Optional[str] = typer.Option(None, envvar="RAKUTEN_API_KEY", help="Required on /v1/ when set."),
    max_body_mb: float = typer.Option(10.0, help="Larger request bodies get 413."),
    batch_window_ms: float = typer.Option(2.0, help="Micro-batching window; 0 turns it off."),
    max_inflight: int = typer.Option(64, help="Prediction requests at once before 503."),
    spin: bool = typer.Option(False, "--spin/--no-spin", help="onnxruntime threads busy-wait between calls."),
    backend: Optional[str] = typer.Option(None, help=BACKEND_HELP),
    precision: Optional[str] = typer.Option(None, help=PRECISION_HELP),
    engine: Engine = typer.Option(Engine.local, help="local: this process; ray: a Ray Serve deployment."),
    replicas: int = typer.Option(2, help="With --engine ray: replicas (actors) of the app."),
    ray_address: Optional[str] = typer.Option(None, help="With --engine ray: a cluster (default: a local Ray)."),
    autoscaling: Optional[str] = typer.Option(
        None, help="With --engine ray: Ray Serve's autoscaling_config as JSON, e.g. '{\"max_replicas\": 8}'."
    ),
    ray_ingress: str = typer.Option("proxy", help=RAY_INGRESS_HELP),
) -> None:
    """Serve bundles over HTTP (FastAPI): /v1 (the default model), /v2 (Open Inference Protocol), /metrics."""
    from .serve import RayOptions, ServeOptions, serve

    options = ServeOptions(
        host,
        port,
        threads,
        api_key,
        max_body_mb,
        batch_window_ms,
        max_inflight=max_inflight,
        spin=spin,
        backend=backend,
        precision=precision,
    )
    serve(bundles or None, options, RayOptions.of(engine, replicas, ray_address, autoscaling, ray_ingress))


@app.command("web")
def web_cmd(
    bundle: Optional[Path] = typer.Argument(None, help="Bundle folder; default: the best cnn bundle."),
    out: Path = typer.Option(Path("site"), help="Where the static site goes (replaced whole)."),
) -> None:
    """A static site that classifies products in the browser with onnxruntime-web (serve it from any host)."""
    from .web import build_site

    echo_json(build_site(bundle, out).as_dict())


@app.command("evaluate")
def evaluate_cmd(
    bundles: Optional[list[Path]] = typer.Argument(None, help="Bundle folders; default: every exported bundle."),
    data: Path = typer.Option(paths.PREPARED, help="Prepared data folder (its split_val is evaluated)."),
    out: Path = typer.Option(Path("evaluations"), help="Where reports go (one folder per bundle)."),
    runs: Path = typer.Option(paths.RUNS, help="Runs root, for the native reports to compare against."),
) -> None:
    """Classification reports of bundles on split_val, compared with the native runs' reports."""
    from .cli_render import evaluation_table
    from .evaluate import evaluate

    evaluation_table(evaluate(bundles or None, data=data, out=out, runs=runs))
    typer.echo(f"reports written under {out}/")


app.command("bench")(bench_cmd)
app.command("tune")(tune_cmd)


def main() -> None:
    try:
        app(standalone_mode=False)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        # Typer vendors click: its usage errors carry show() and exit_code (2).
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
