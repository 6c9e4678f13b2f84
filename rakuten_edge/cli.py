"""The `rakuten-edge` command: each command parses its arguments and calls one plain function."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from . import paths
from .errors import UserError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Train, export, run and benchmark the Rakuten multimodal product classifiers.")
data_app = typer.Typer(no_args_is_help=True, help="Generate or prepare challenge-format data.")
app.add_typer(data_app, name="data")


def _echo(obj) -> None:
    typer.echo(json.dumps(obj, indent=1, ensure_ascii=False, default=str))


@data_app.command("synth")
def data_synth(
    out: Path = typer.Option(paths.RAW, help="Folder to write the challenge-format files into."),
    n: int = typer.Option(2000, help="Labelled (train) products."),
    test_n: int = typer.Option(200, help="Unlabelled (test) products."),
    seed: int = typer.Option(42),
) -> None:
    """Write a synthetic catalogue in the exact challenge format."""
    from .data.synth import synth

    _echo(synth(out, n=n, test_n=test_n, seed=seed))


@data_app.command("prepare")
def data_prepare(
    raw: Path = typer.Option(paths.RAW, help="Folder holding X_train_update.csv, Y_train_CVw08PX.csv, images/."),
    out: Path = typer.Option(paths.PREPARED),
    val_size: float = typer.Option(0.2),
    seed: int = typer.Option(42),
    force: bool = typer.Option(False, help="Rebuild even when the inputs have not changed."),
) -> None:
    """Validate, clean, split 80/20 and cache the images of real or generated challenge files."""
    from .data.prepare import prepare

    _echo(prepare(raw, out, val_size=val_size, seed=seed, force=force))


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
