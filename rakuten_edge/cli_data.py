"""`rakuten-edge data ...` and `rakuten-edge camembert ...`: thin commands over the data and encoder helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import paths
from .cli_render import echo_json

data_app = typer.Typer(no_args_is_help=True, help="Generate or prepare challenge-format data.")
camembert_app = typer.Typer(no_args_is_help=True, help="CamemBERT helpers (offline encoders).")


@data_app.command("synth")
def data_synth(
    out: Path = typer.Option(paths.RAW, help="Folder to write the challenge-format files into."),
    n: int = typer.Option(2000, help="Labelled (train) products."),
    test_n: int = typer.Option(200, help="Unlabelled (test) products."),
    seed: int = typer.Option(42),
) -> None:
    """Write a synthetic catalogue in the exact challenge format."""
    from .data.synth import synth

    echo_json(synth(out, n=n, test_n=test_n, seed=seed))


@data_app.command("prepare")
def data_prepare(
    raw: Path = typer.Option(paths.RAW, help="Folder holding X_train_update.csv, Y_train_CVw08PX.csv, images/."),
    out: Path = typer.Option(paths.PREPARED),
    val_size: float = typer.Option(0.2),
    seed: int = typer.Option(42),
    # None: prepare's own default, so that this module (imported by every command) does not load the runtime
    image_size: Optional[int] = typer.Option(
        None, help="Side of the cached square images: 128 px for the seed's models (default), 64 for --preset tiny."
    ),
    force: bool = typer.Option(False, help="Rebuild even when the inputs have not changed."),
) -> None:
    """Validate, clean, split 80/20 and cache the images of real or generated challenge files."""
    from .data.prepare import prepare

    echo_json(prepare(raw, out, val_size=val_size, seed=seed, image_size=image_size, force=force))


@camembert_app.command("tiny")
def camembert_tiny(
    data: Path = typer.Option(paths.PREPARED, help="Prepared data: its training texts train the tokenizer."),
    out: Path = typer.Option(paths.CAMEMBERT_TINY, help="Folder to save the model and tokenizer into."),
    vocab_size: int = typer.Option(4000, help="Asked of the Unigram trainer (it may stop short)."),
    hidden: int = typer.Option(64),
    layers: int = typer.Option(2),
    heads: int = typer.Option(2),
) -> None:
    """Build a small CamemBERT offline: random weights, tokenizer trained on the corpus, save_pretrained."""
    from .models.camembert_tiny import build_tiny

    echo_json(build_tiny(data, out, vocab_size=vocab_size, hidden=hidden, layers=layers, heads=heads))
